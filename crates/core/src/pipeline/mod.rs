//! The stages put together the way the CLI and the bundler plugin call them:
//! find the files, read the graph and checkpoint, freeze, optimize, quantize, emit.
//! The tools' flags, as the CLI and the binding pass them, are in `requests.rs`.

mod requests;

use std::path::{Path, PathBuf};

use crate::checkpoint::Checkpoint;
use crate::emit::{self, tfjs, tfjs::Signature, tfjs::TfjsOptions, ModelDir};
use crate::error::{Error, ErrorKind, Result};
use crate::freeze::{self, FreezeOptions, FrozenGraph};
use crate::graph::{self, Encoding};
use crate::opcheck::{self, OpCheck};
use crate::optimize::{self, OptimizeOptions, OptimizedGraph, Rewrite};
use crate::proto::{GraphDef, MetaGraphDef};
use crate::quantize::{self, GraphMode, QuantizationReport, QuantizeMode, QuantizeOptions};
use crate::{savedmodel, source};

pub use requests::{ConvertRequest, FreezeOutcome, FreezeRequest, ModelFlags, OptimizeRequest, QuantizeRequest};

/// A model as read from disk, not yet transformed.
pub struct LoadedModel {
    pub graph: GraphDef,
    /// The meta graph without its `graph_def` (signatures, collections, saver).
    pub meta: Option<MetaGraphDef>,
    pub checkpoint: Option<Checkpoint>,
    /// The file `graph` came from, for messages.
    pub graph_file: PathBuf,
}

/// What to read, in `freeze_graph`'s terms. A graph comes from
/// `input_meta_graph`, else `input_graph`, else the `.meta` beside the checkpoint.
#[derive(Debug, Clone, Default)]
pub struct ModelFiles {
    pub input_graph: Option<PathBuf>,
    /// `Some(true)` binary, `Some(false)` text, `None` decided by the file.
    pub input_binary: Option<bool>,
    /// A checkpoint prefix, one of its files, or a training directory.
    pub input_checkpoint: Option<PathBuf>,
    pub input_meta_graph: Option<PathBuf>,
    /// A SavedModel directory: the graph, signatures and variables come from it.
    pub saved_model: Option<PathBuf>,
    /// The SavedModel signature to freeze (`--signature_name`; default
    /// [`crate::savedmodel::DEFAULT_SIGNATURE`]).
    pub signature_name: Option<String>,
    /// The tag set of the SavedModel meta graph to read; empty: the one tagged `serve`.
    pub saved_model_tags: Vec<String>,
}

impl ModelFiles {
    /// The files for a path as a user names it in an import: a checkpoint prefix,
    /// training directory or graph file, with an optional graph to pair.
    pub fn from_source(path: &Path, graph: Option<&Path>) -> Result<ModelFiles> {
        let found = source::resolve(path, graph)?;
        Ok(ModelFiles {
            input_graph: found.graph,
            input_binary: None,
            input_checkpoint: found.checkpoint,
            input_meta_graph: found.meta_graph,
            saved_model: found.saved_model,
            signature_name: None,
            saved_model_tags: Vec::new(),
        })
    }
}

pub fn load(files: &ModelFiles) -> Result<LoadedModel> {
    let encoding = match files.input_binary {
        Some(true) => Encoding::Binary,
        Some(false) => Encoding::Text,
        None => Encoding::Auto,
    };
    let checkpoint = match &files.input_checkpoint {
        Some(path) => {
            let (prefix, _) = source::resolve_checkpoint(path)?;
            Some(Checkpoint::open(&prefix)?)
        }
        None => None,
    };
    let beside_checkpoint = checkpoint
        .as_ref()
        .map(|c| source::with_suffix(c.prefix(), ".meta"))
        .filter(|meta| meta.is_file() && files.input_graph.is_none());
    let meta_file = files.input_meta_graph.clone().or(beside_checkpoint);

    let (graph, meta, graph_file) = match (meta_file, &files.input_graph) {
        (Some(meta_file), _) => {
            let mut meta = graph::read_meta_graph(&meta_file, encoding)?;
            let graph = meta.graph_def.take().unwrap_or_default();
            (graph, Some(meta), meta_file)
        }
        (None, Some(graph_file)) => (graph::read_graph_def(graph_file, encoding)?, None, graph_file.clone()),
        // A checkpoint whose .meta is missing (or not written yet: a Saver writes
        // it last) is a missing file, which a dev server waits for.
        (None, None) => {
            return Err(match &checkpoint {
                Some(checkpoint) => Error::new(
                    ErrorKind::FileNotFound,
                    "no graph: the checkpoint has no .meta beside it; give --input_graph or --input_meta_graph",
                )
                .in_file(source::with_suffix(checkpoint.prefix(), ".meta")),
                None => Error::new(
                    ErrorKind::InvalidArgument,
                    "no graph: give --input_graph or --input_meta_graph, or a checkpoint with a .meta beside it",
                ),
            })
        }
    };
    Ok(LoadedModel { graph, meta, checkpoint, graph_file })
}

/// Loads and freezes; graph-level errors name the graph file.
pub fn freeze(files: &ModelFiles, options: &FreezeOptions) -> Result<FrozenGraph> {
    if let Some(dir) = &files.saved_model {
        return freeze_saved_model(dir, files, options);
    }
    let model = load(files)?;
    let graph_file = model.graph_file.clone();
    let frozen = freeze::freeze(model.graph, model.meta.as_ref(), model.checkpoint.as_ref(), options)
        .map_err(|e| e.or_file(&graph_file))?;
    Ok(FrozenGraph { graph_file: Some(graph_file), ..frozen })
}

/// A SavedModel signature frozen: its outputs (named by their keys) unless
/// others are named, its captured variables keyed through the object graph,
/// valued from `input_checkpoint` when one is paired, else from `variables/`.
fn freeze_saved_model(dir: &Path, files: &ModelFiles, options: &FreezeOptions) -> Result<FrozenGraph> {
    let checkpoint = match &files.input_checkpoint {
        Some(path) => Some(Checkpoint::open(source::resolve_checkpoint(path)?.0)?),
        None => None,
    };
    let prepared = savedmodel::prepare(dir, &files.saved_model_tags, files.signature_name.as_deref(), checkpoint)?;
    let mut options = options.clone();
    if options.output_node_names.is_empty() {
        options.output_node_names = prepared.outputs.clone();
    }
    options.checkpoint_keys.extend(prepared.checkpoint_keys);
    let frozen = freeze::freeze(prepared.graph, Some(&prepared.meta), prepared.checkpoint.as_ref(), &options)
        .map_err(|e| e.or_file(&prepared.graph_file))?;
    Ok(FrozenGraph { graph_file: Some(prepared.graph_file), ..frozen })
}

/// The outputs [`freeze`] would infer for a model, without freezing it.
pub fn infer_outputs(files: &ModelFiles) -> Result<freeze::InferredOutputs> {
    let model = load(files)?;
    freeze::infer_outputs(&model.graph, model.meta.as_ref()).map_err(|e| e.or_file(&model.graph_file))
}

/// Freezes and writes a binary (or text) GraphDef atomically. A binary one
/// gets each weight read from the checkpoint as it is written, so the
/// returned graph's [`FrozenGraph::deferred`] constants hold no bytes.
pub fn freeze_to_file(
    files: &ModelFiles,
    options: &FreezeOptions,
    output: &Path,
    as_text: bool,
) -> Result<(FrozenGraph, u64)> {
    if as_text {
        let frozen = freeze(files, options)?;
        let bytes = emit::write_graph_text(&frozen.graph, output)?;
        return Ok((frozen, bytes));
    }
    // Weights go from the checkpoint to the file one tensor at a time.
    let frozen = freeze(files, &FreezeOptions { defer_values: true, ..options.clone() })?;
    let checkpoint = match (&frozen.checkpoint, frozen.deferred.is_empty()) {
        (Some(prefix), false) => Some(Checkpoint::open(prefix)?),
        _ => None,
    };
    let read = |key: &str| -> Result<bytes::Bytes> {
        let value = checkpoint.as_ref().map(|c| c.read(key)).transpose()?.map(|t| t.data);
        match value {
            Some(crate::tensor::TensorData::Raw(bytes)) => Ok(bytes),
            _ => Err(Error::new(
                ErrorKind::Internal,
                format!("deferred value \"{key}\" is no numeric checkpoint tensor"),
            )),
        }
    };
    let deferred = emit::Deferred { nodes: &frozen.deferred, read: &read };
    let bytes = emit::write_graph_def_deferred(&frozen.graph, Some(&deferred), output)?;
    Ok((frozen, bytes))
}

// ---- the whole pipeline: read → freeze → optimize → quantize → emit ---------

/// What `convert` emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// A TensorFlow.js graph model: `model.json` plus weight shards.
    #[default]
    Tfjs,
    /// A TFLite flatbuffer, `model.tflite` (float32 weights).
    Tflite,
    /// A frozen binary GraphDef (with `Dequantize` nodes when quantized).
    Pb,
}

impl OutputFormat {
    /// Every format with its name, as `--format` and `format=` take them.
    pub const NAMES: [(OutputFormat, &'static str); 3] =
        [(OutputFormat::Tfjs, "tfjs"), (OutputFormat::Tflite, "tflite"), (OutputFormat::Pb, "pb")];

    pub fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(format, _)| *format == self).map_or("", |(_, name)| name)
    }
}

impl std::str::FromStr for OutputFormat {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match OutputFormat::NAMES.iter().find(|(_, name)| *name == text) {
            Some((format, _)) => Ok(*format),
            None => {
                let names: Vec<String> = OutputFormat::NAMES.iter().map(|(_, name)| name.to_string()).collect();
                let expected = crate::error::quoted_list(&names).replace('"', "");
                Err(Error::new(ErrorKind::InvalidArgument, format!("unknown format \"{text}\" (expected {expected})")))
            }
        }
    }
}

/// What to do about ops TensorFlow.js cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpCheckMode {
    #[default]
    Error,
    Warn,
    Off,
}

impl std::str::FromStr for OpCheckMode {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "error" => Ok(OpCheckMode::Error),
            "warn" => Ok(OpCheckMode::Warn),
            "off" => Ok(OpCheckMode::Off),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown op check \"{text}\" (expected error, warn or off)"),
            )),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    pub freeze: FreezeOptions,
    /// Input node names (`--input_names`); empty keeps the graph's placeholders.
    pub input_names: Vec<String>,
    /// Dtypes of the inputs (`--placeholder_type_enum`): one, or one per input.
    pub placeholder_type_enum: Vec<crate::proto::DataType>,
    /// Placeholders fixed to values (`--placeholder_to_const_names`).
    pub training_flags: Vec<(String, crate::training::ConstantValue)>,
    pub quantize: Option<QuantizeOptions>,
    pub format: OutputFormat,
    pub tfjs: TfjsOptions,
    pub op_check: OpCheckMode,
    pub tflite: emit::tflite::TfliteOptions,
}

/// A converted model, in memory.
#[derive(Debug, Clone)]
pub struct Converted {
    /// `(file name, bytes)`: `model.json` then its shards, `model.tflite` or
    /// `model.pb`; empty when they were written into a directory instead.
    pub files: Vec<(String, Vec<u8>)>,
    /// `(file name, bytes written)` of the files [`convert_to_dir`] wrote.
    pub written: Vec<(String, u64)>,
    pub signature: Signature,
    /// Bytes of the weights as emitted.
    pub weight_bytes: u64,
    /// Bytes the same weights take as float32 (before quantization).
    pub float32_weight_bytes: u64,
    pub report: Option<QuantizationReport>,
    pub warnings: Vec<String>,
    pub op_check: OpCheck,
    /// One line per rewrite made: the optimizer's [`Rewrite`]s, then the
    /// TF.js ones ([`emit::tfjs_graph::TfjsRewrite`]).
    pub applied: Vec<String>,
    pub variables: usize,
    pub node_count: usize,
    /// How the outputs were chosen, when nobody named them.
    pub inferred: Option<freeze::InferredOutputs>,
    /// One line per structural rewrite freezing made (input pipelines, forward loops).
    pub rewrites: Vec<String>,
    /// The checkpoint prefix the weights came from.
    pub checkpoint: Option<PathBuf>,
    /// A calibration model's measured tensors, in the order of its range outputs.
    pub calibration_tensors: Vec<String>,
}

pub fn convert(files: &ModelFiles, options: &ConvertOptions) -> Result<Converted> {
    convert_into(files, options, None)
}

/// [`convert`], writing a TF.js model's shards into `dir` as they are made.
fn convert_into(files: &ModelFiles, options: &ConvertOptions, dir: Option<&mut ModelDir>) -> Result<Converted> {
    let frozen = freeze(files, &options.freeze)?;
    let graph_file = frozen.graph_file.clone();
    // An error about a node (an op no format holds, say) names the file it is in.
    convert_frozen(frozen, options, dir).map_err(|e| match &graph_file {
        Some(file) => e.or_file(file),
        None => e,
    })
}

fn convert_frozen(frozen: FrozenGraph, options: &ConvertOptions, dir: Option<&mut ModelDir>) -> Result<Converted> {
    let variables = frozen.variables.len();
    let (inferred, rewrites, checkpoint) = (frozen.inferred, frozen.rewrites, frozen.checkpoint);
    let table_initializers = frozen.table_initializers.clone();
    let mut optimized = optimize_frozen(frozen.graph, &frozen.outputs, &table_initializers, options)?;
    let mut applied: Vec<String> = optimized.applied.iter().map(ToString::to_string).collect();
    if options.format == OutputFormat::Tfjs {
        let protected = optimized.inputs.iter().chain(&optimized.outputs).chain(&table_initializers).cloned().collect();
        let (rewrites, warnings) = emit::tfjs_graph::rewrite(&mut optimized.graph, &protected);
        applied.extend(rewrites.iter().map(ToString::to_string));
        optimized.warnings.extend(warnings);
    }
    let mut warnings = optimized.warnings;
    let integer = options.quantize.as_ref().is_some_and(|q| q.mode == QuantizeMode::Int8Full);
    if integer {
        require_integer_options(options)?;
    }
    // Full integer quantizes the float model as it writes it.
    let weights = match &options.quantize {
        Some(q) if !integer => Some(quantize::quantize(&optimized.graph, q)?),
        _ => None,
    };
    let signature = tfjs::signature_of(&optimized.graph, &optimized.inputs, &optimized.outputs);
    let op_check = opcheck::check_ops(&optimized.graph);

    // Known before the emitters, which may consume the graph.
    let float32_bytes =
        weights.as_ref().map_or_else(|| float32_weight_bytes(&optimized.graph), |w| w.report.bytes_before);
    let node_count = optimized.graph.node.len();
    let mut calibration_tensors = Vec::new();
    let (files, weight_bytes) = match options.format {
        OutputFormat::Tfjs => {
            if options.op_check != OpCheckMode::Off {
                let loops = opcheck::loops_writing_tensor_lists(&optimized.graph);
                if let Some(first) = loops.first() {
                    let message = format!(
                        "TF2 control flow: TensorFlow.js {} frees the tensors a while_v2 loop stores in a TensorList, \
                         and {} could not be lowered to TF1 frames, so it cannot run in TF.js; train \
                         under tf.compat.v1.disable_v2_behavior() (v1 control flow, which TF.js runs), or convert with \
                         format=pb",
                        opcheck::tfjs_converter_version(),
                        crate::error::quoted_list(&loops),
                    );
                    if options.op_check == OpCheckMode::Warn {
                        warnings.push(message);
                    } else {
                        return Err(Error::new(ErrorKind::UnsupportedOp, message).about(first));
                    }
                }
                let checked = opcheck::require_supported(&op_check, options.op_check == OpCheckMode::Warn);
                let cut = opcheck::cut_points(&optimized.graph, &op_check);
                warnings.extend(checked.map_err(|mut e| {
                    if !cut.is_empty() {
                        e.message.push_str(&format!(
                            "; an app decodes its own input: start the model after it with input_names={}",
                            cut.join(",")
                        ));
                    }
                    match (&inferred, e.subject.clone()) {
                        (Some(inferred), Some(node)) => inferred.explain(e, &optimized.graph.node, &node),
                        _ => e,
                    }
                })?);
            }
            let tfjs_options = TfjsOptions { initializers: table_initializers.clone(), ..options.tfjs.clone() };
            let graph = std::mem::take(&mut optimized.graph);
            let (weights, signature) = (weights.as_ref(), &signature);
            let streamed = dir.is_some();
            let model = match dir {
                Some(dir) => tfjs::into_tfjs_dir(graph, weights, signature, &tfjs_options, dir)?,
                None => tfjs::into_tfjs(graph, weights, signature, &tfjs_options)?,
            };
            warnings.extend(model.warnings);
            let mut files = Vec::new();
            if !streamed {
                files.push(("model.json".to_string(), model.model_json));
                files.extend(model.shards);
            }
            (files, model.weight_bytes)
        }
        OutputFormat::Tflite => {
            let graph = std::mem::take(&mut optimized.graph);
            let model = emit::tflite::to_tflite(graph, &signature, weights.as_ref(), &options.tflite)?;
            calibration_tensors = model.measured;
            (vec![(emit::tflite::TFLITE_FILE.to_string(), model.bytes)], model.weight_bytes)
        }
        OutputFormat::Pb => {
            let graph = match &weights {
                Some(weights) => emit::dequantize_into_graph(&optimized.graph, weights)?,
                None => optimized.graph.clone(),
            };
            let bytes =
                weights.as_ref().map_or_else(|| float32_weight_bytes(&optimized.graph), |w| w.report.bytes_after);
            (vec![("model.pb".to_string(), emit::encode_graph_def(&graph)?)], bytes)
        }
    };
    Ok(Converted {
        files,
        written: Vec::new(),
        signature,
        weight_bytes,
        float32_weight_bytes: float32_bytes,
        report: weights.map(|w| w.report),
        warnings,
        op_check,
        applied,
        variables,
        node_count,
        inferred,
        rewrites,
        checkpoint,
        calibration_tensors,
    })
}

/// The optimizer run on a frozen graph with the conversion's inputs, keeping
/// its lookup tables' initializers.
fn optimize_frozen(
    graph: GraphDef,
    outputs: &[String],
    table_initializers: &[String],
    options: &ConvertOptions,
) -> Result<OptimizedGraph> {
    let optimize_options = OptimizeOptions {
        input_names: options.input_names.clone(),
        output_names: outputs.to_vec(),
        keep: table_initializers.to_vec(),
        placeholder_type_enum: options.placeholder_type_enum.clone(),
        training_flags: options.training_flags.clone(),
        decode_quantized_weights: options.format != OutputFormat::Pb,
        ..Default::default()
    };
    let mut optimized = optimize::optimize(graph, &optimize_options)?;
    if !table_initializers.is_empty() {
        optimized.applied.push(Rewrite::KeptTableInitializers { names: table_initializers.to_vec() });
    }
    Ok(optimized)
}

/// The float model calibration measures, and the signature its samples must feed.
pub struct Calibration {
    pub signature: Signature,
    pub model: emit::tflite::CalibrationModel,
}

/// Calibration for `quantize=int8-full`, in the core: the model is frozen
/// and optimized as [`convert`] would, and built as a float `.tflite` to run
/// samples on ([`emit::tflite::CalibrationModel::measure`]), which measures
/// each activation's range by the tensor names the int8 model takes them by.
pub fn calibration(files: &ModelFiles, options: &ConvertOptions) -> Result<Calibration> {
    let frozen = freeze(files, &options.freeze)?;
    let graph_file = frozen.graph_file.clone();
    let built =
        optimize_frozen(frozen.graph, &frozen.outputs, &frozen.table_initializers, options).and_then(|optimized| {
            let signature = tfjs::signature_of(&optimized.graph, &optimized.inputs, &optimized.outputs);
            let model = emit::tflite::CalibrationModel::new(optimized.graph, &signature)?;
            Ok(Calibration { signature, model })
        });
    built.map_err(|e| match &graph_file {
        Some(file) => e.or_file(file),
        None => e,
    })
}

/// `quantize=int8-full` writes a `.tflite`, and needs the ranges calibration measured.
fn require_integer_options(options: &ConvertOptions) -> Result<()> {
    if options.format != OutputFormat::Tflite {
        let message = "quantize=int8-full makes a full-integer .tflite: it takes format=tflite";
        return Err(Error::new(ErrorKind::InvalidArgument, message.to_string()));
    }
    if options.tflite.integer.is_none() {
        let message = "quantize=int8-full needs calibration data to measure activation ranges on: name it with the \
                       calibration option (--calibration): a folder of PNG/JPEG images, an .npy, an .npz or a module";
        return Err(Error::new(ErrorKind::InvalidArgument, message.to_string()));
    }
    Ok(())
}

/// Converts and writes the files into `dir` as [`emit::write_model_dir`]
/// does: the directory (created if missing) is replaced in one step, so on
/// failure it is unchanged and on success it holds this model's files
/// (`model.json` and its shards, `model.tflite` or `model.pb`), no earlier
/// model's, and whatever else it held. A TF.js model's shards are written as
/// they are made, so they are never all in memory; the result lists the
/// files in [`Converted::written`] and holds none.
pub fn convert_to_dir(files: &ModelFiles, options: &ConvertOptions, dir: &Path) -> Result<Converted> {
    let mut out = emit::ModelDir::create(dir)?;
    let mut converted = convert_into(files, options, Some(&mut out))?;
    for (name, bytes) in std::mem::take(&mut converted.files) {
        out.write(&name, &bytes)?;
    }
    converted.written = out.commit()?;
    Ok(converted)
}

/// Bytes of every `Const` as TensorFlow stores it (float32 weights at 4
/// bytes), from shapes and dtypes alone: nothing is decoded.
fn float32_weight_bytes(graph: &GraphDef) -> u64 {
    graph
        .node
        .iter()
        .filter(|n| n.op == "Const")
        .filter_map(|n| graph::attr_tensor(n, "value"))
        .filter_map(crate::tensor::decoded_byte_len)
        .fold(0u64, u64::saturating_add)
}

/// `optimize_for_inference` on a graph file (binary, or text when `binary` is false).
pub fn optimize_file(input: &Path, output: &Path, binary: bool, options: &OptimizeOptions) -> Result<OptimizedGraph> {
    let encoding = if binary { Encoding::Binary } else { Encoding::Text };
    let graph = graph::read_graph_def(input, encoding)?;
    let optimized = optimize::optimize(graph, options).map_err(|e| e.or_file(input))?;
    if binary {
        emit::write_graph_def(&optimized.graph, output)?;
    } else {
        emit::write_graph_text(&optimized.graph, output)?;
    }
    Ok(optimized)
}

/// `quantize_graph` on a frozen graph file, written as a TensorFlow-loadable
/// GraphDef: TensorFlow's quantized kernels (`eightbit`), compact weights
/// with `Dequantize` nodes, or rounded float32 weights. `outputs` are the
/// nodes an eightbit graph keeps (all its sinks when empty).
pub fn quantize_file(
    input: &Path,
    output: &Path,
    mode: GraphMode,
    minimum_size: usize,
    outputs: &[String],
) -> Result<QuantizationReport> {
    let graph = graph::read_graph_def(input, Encoding::Auto)?;
    let (quantized, report) = match mode {
        GraphMode::Eightbit => emit::eightbit_graph(&graph, outputs).map_err(|e| e.or_file(input))?,
        GraphMode::Weights(mode) => {
            let weights =
                quantize::quantize(&graph, &QuantizeOptions { mode, minimum_size }).map_err(|e| e.or_file(input))?;
            (emit::dequantize_into_graph(&graph, &weights).map_err(|e| e.or_file(input))?, weights.report)
        }
        GraphMode::WeightsRounded => {
            let options = QuantizeOptions { mode: quantize::QuantizeMode::Uint8, minimum_size };
            let weights = quantize::quantize(&graph, &options).map_err(|e| e.or_file(input))?;
            (emit::rounded_into_graph(&graph, &weights).map_err(|e| e.or_file(input))?, weights.report)
        }
    };
    emit::write_graph_def(&quantized, output)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{NodeDef, TensorProto};
    use crate::tensor::shape_proto;

    #[test]
    fn weight_bytes_come_from_shapes_without_decoding() {
        let mut node = NodeDef { name: "w".into(), op: "Const".into(), ..Default::default() };
        let value = TensorProto {
            dtype: crate::proto::DataType::DtFloat as i32,
            tensor_shape: Some(shape_proto(&[1 << 40])),
            float_val: vec![1.0],
            ..Default::default()
        };
        node.attr.insert("value".into(), graph::tensor_attr(value));
        let graph = GraphDef { node: vec![node], ..Default::default() };
        assert_eq!(float32_weight_bytes(&graph), 4 << 40);
    }
}
