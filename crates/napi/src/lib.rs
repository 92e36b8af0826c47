//! Node.js binding of tfmodel-core: converts arguments, runs each call as an
//! async task on libuv's worker pool, and turns core errors into JS `Error`s
//! whose `code` is the core's stable error code. Defaults, parsing and
//! message wording live in the core; this crate only moves values across.
//!
//! Long, and flat on purpose: most of it is the JS object types of each call
//! (field declarations with their docs, which become the generated `.d.cts`),
//! grouped by tool in the order the README lists them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use napi::bindgen_prelude::JsObjectValue;
use napi::bindgen_prelude::{AsyncTask, Buffer};
use napi::{Env, JsValue, Status, Task};
use napi_derive::napi;
use tfmodel_core::checkpoint::{objects, Checkpoint};
use tfmodel_core::emit::tflite as core_tflite;
use tfmodel_core::freeze::InferredOutputs;
use tfmodel_core::optimize::OptimizedGraph;
use tfmodel_core::pipeline::{self as core, Converted, FreezeOutcome, ModelFlags};
use tfmodel_core::quantize::{QuantizationReport, QuantizeMode, QuantizeOptions};
use tfmodel_core::tensor::{Tensor, TensorData};
use tfmodel_core::{dtype, source, Error};

type CoreResult<T> = std::result::Result<T, Error>;

/// Runs `work` off the JS thread; `convert` builds the JS value on it.
pub struct Job<T: Send + 'static, J> {
    work: Option<Box<dyn FnOnce() -> CoreResult<T> + Send>>,
    convert: fn(T) -> J,
}

impl<T: Send + 'static, J: napi::bindgen_prelude::ToNapiValue + napi::bindgen_prelude::TypeName> Task for Job<T, J> {
    type Output = CoreResult<T>;
    type JsValue = J;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let work = self.work.take().ok_or_else(|| napi::Error::from_reason("task ran twice"))?;
        Ok(catch_panics(work))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<J> {
        match output {
            Ok(value) => Ok((self.convert)(value)),
            Err(error) => Err(js_error(&env, &error)),
        }
    }
}

/// A panic must not cross the FFI boundary: it becomes an `INTERNAL_ERROR`
/// carrying the panic's message.
fn catch_panics<T>(work: impl FnOnce() -> CoreResult<T>) -> CoreResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
        .unwrap_or_else(|payload| Err(Error::from_panic(payload.as_ref())))
}

fn job<T: Send + 'static, J>(
    work: impl FnOnce() -> CoreResult<T> + Send + 'static,
    convert: fn(T) -> J,
) -> AsyncTask<Job<T, J>>
where
    J: napi::bindgen_prelude::ToNapiValue + napi::bindgen_prelude::TypeName,
{
    AsyncTask::new(Job { work: Some(Box::new(work)), convert })
}

/// A JS `Error` carrying `code`, `file`, `subject`, `suggestions` and `outputsToName`.
fn js_error(env: &Env, error: &Error) -> napi::Error {
    let build = || -> napi::Result<napi::Error> {
        let mut object = env.create_error(napi::Error::new(Status::GenericFailure, error.to_string()))?;
        object.set_named_property("code", error.code())?;
        if let Some(file) = &error.file {
            object.set_named_property("file", file.to_string_lossy().as_ref())?;
        }
        if let Some(subject) = &error.subject {
            object.set_named_property("subject", subject.as_str())?;
        }
        object.set_named_property("suggestions", error.suggestions.clone())?;
        object.set_named_property("outputsToName", error.outputs_to_name.to_vec())?;
        Ok(napi::Error::from(object.to_unknown()))
    };
    build().unwrap_or_else(|e| e)
}

fn path_string(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

// ---- inspect ---------------------------------------------------------------

#[napi(object)]
pub struct TensorEntry {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<i64>,
    /// Bytes stored in the checkpoint.
    pub bytes: i64,
    pub partitioned: bool,
    /// Where an object-based checkpoint's object graph puts this tensor.
    pub object: Option<ObjectPathJs>,
}

/// A tensor's place in `_CHECKPOINTABLE_OBJECT_GRAPH`.
#[napi(object)]
pub struct ObjectPathJs {
    /// Attribute names from the root object, `/`-joined (`model/first/w`).
    pub path: String,
    /// The object's attribute holding the tensor (`VARIABLE_VALUE`).
    pub attribute: String,
    /// The value's name in Python (a `tf.Variable`'s), which objects may share.
    pub full_name: String,
}

/// Checkpoint key → object path, empty for a name-based checkpoint.
fn object_paths(checkpoint: &Checkpoint) -> CoreResult<BTreeMap<String, ObjectPathJs>> {
    let Some(graph) = objects::object_graph(checkpoint)? else { return Ok(BTreeMap::new()) };
    Ok(objects::object_paths(&graph)
        .into_iter()
        .map(|(key, o)| (key, ObjectPathJs { path: o.path, attribute: o.attribute, full_name: o.full_name }))
        .collect())
}

#[napi(object)]
pub struct CheckpointInfo {
    /// The resolved checkpoint prefix.
    pub prefix: String,
    /// The `.index` and every data shard.
    pub files: Vec<String>,
    pub tensors: Vec<TensorEntry>,
}

/// Lists a checkpoint's tensors, like TensorFlow's `inspect_checkpoint`.
/// `source`: a prefix, one of its files, or a training directory.
#[napi(ts_return_type = "Promise<CheckpointInfo>")]
pub fn inspect(source: String) -> AsyncTask<Job<CheckpointInfo, CheckpointInfo>> {
    job(
        move || {
            let checkpoint = open_checkpoint(&source)?;
            let mut files = vec![path_string(&checkpoint.index_path())];
            files.extend(checkpoint.data_paths().iter().map(|p| path_string(p)));
            let mut paths = object_paths(&checkpoint)?;
            let tensors = checkpoint
                .tensors()
                .map(|t| TensorEntry {
                    name: t.name.clone(),
                    dtype: dtype::name(t.dtype).to_string(),
                    shape: t.shape.clone(),
                    bytes: t.size as i64,
                    partitioned: t.partitioned,
                    object: paths.remove(&t.name),
                })
                .collect();
            Ok(CheckpointInfo { prefix: path_string(checkpoint.prefix()), files, tensors })
        },
        |info| info,
    )
}

/// One input or output of a SavedModel signature.
#[napi(object)]
pub struct SignatureTensorJs {
    /// The argument name or output key.
    pub key: String,
    /// The graph tensor it is bound to.
    pub tensor: String,
    pub dtype: String,
    /// `null` when even the rank is unknown; `-1` for an unknown dim.
    pub shape: Option<Vec<i64>>,
}

#[napi(object)]
pub struct SignatureInfoJs {
    pub name: String,
    pub method_name: String,
    pub inputs: Vec<SignatureTensorJs>,
    pub outputs: Vec<SignatureTensorJs>,
}

#[napi(object)]
pub struct SavedModelInfo {
    /// The `saved_model.pb` (or `.pbtxt`) read.
    pub graph_file: String,
    /// The tag set of the meta graph read, and of every meta graph in the file.
    pub tags: Vec<String>,
    pub tag_sets: Vec<Vec<String>>,
    pub signatures: Vec<SignatureInfoJs>,
    /// The variables' checkpoint entries (`variables/variables`).
    pub variables: Vec<TensorEntry>,
}

/// A SavedModel's signatures and variables, like `saved_model_cli show --all`.
#[napi(ts_return_type = "Promise<SavedModelInfo>")]
pub fn inspect_saved_model(dir: String, tags: Option<Vec<String>>) -> AsyncTask<Job<SavedModelInfo, SavedModelInfo>> {
    job(
        move || {
            let model = tfmodel_core::savedmodel::read(Path::new(&dir), &tags.unwrap_or_default())?;
            let tensor = |t: &tfmodel_core::savedmodel::SignatureTensor| SignatureTensorJs {
                key: t.key.clone(),
                tensor: t.tensor.clone(),
                dtype: dtype::name(t.dtype).to_string(),
                shape: t.shape.clone(),
            };
            let signatures = model
                .signatures()
                .iter()
                .map(|s| SignatureInfoJs {
                    name: s.name.clone(),
                    method_name: s.method_name.clone(),
                    inputs: s.inputs.iter().map(tensor).collect(),
                    outputs: s.outputs.iter().map(tensor).collect(),
                })
                .collect();
            let sizes =
                |key: &str| model.checkpoint.as_ref().and_then(|c| c.get(key)).map(|t| (t.size as i64, t.partitioned));
            let mut paths = match &model.checkpoint {
                Some(checkpoint) => object_paths(checkpoint)?,
                None => BTreeMap::new(),
            };
            let variables = model
                .variables()
                .into_iter()
                .map(|v| {
                    let (bytes, partitioned) = sizes(&v.checkpoint_key).unwrap_or_default();
                    TensorEntry {
                        object: paths.remove(&v.checkpoint_key),
                        name: v.checkpoint_key,
                        dtype: dtype::name(v.dtype).to_string(),
                        shape: v.shape,
                        bytes,
                        partitioned,
                    }
                })
                .collect();
            let tags = model.meta.meta_info_def.as_ref().map(|i| i.tags.clone()).unwrap_or_default();
            Ok(SavedModelInfo {
                graph_file: path_string(&model.graph_file),
                tags,
                tag_sets: model.tag_sets,
                signatures,
                variables,
            })
        },
        |info| info,
    )
}

fn open_checkpoint(source: &str) -> CoreResult<Checkpoint> {
    let (prefix, _) = source::resolve_checkpoint(Path::new(source))?;
    Checkpoint::open(prefix)
}

#[napi(object)]
pub struct TensorValue {
    pub name: String,
    pub dtype: String,
    pub shape: Vec<i64>,
    /// Little-endian element bytes (numeric dtypes).
    pub data: Option<Buffer>,
    /// One buffer per element (string dtype).
    pub strings: Option<Vec<Buffer>>,
}

/// Reads one tensor's value (`inspect_checkpoint --tensor_name`).
#[napi(ts_return_type = "Promise<TensorValue>")]
pub fn read_tensor(source: String, name: String) -> AsyncTask<Job<(String, Tensor), TensorValue>> {
    job(
        move || {
            let tensor = open_checkpoint(&source)?.read(&name)?;
            Ok((name, tensor))
        },
        |(name, tensor)| {
            let (data, strings) = match tensor.data {
                TensorData::Raw(bytes) => (Some(Buffer::from(bytes.to_vec())), None),
                TensorData::Strings(items) => (None, Some(items.iter().map(|s| Buffer::from(s.to_vec())).collect())),
            };
            TensorValue { name, dtype: dtype::name(tensor.dtype).to_string(), shape: tensor.shape, data, strings }
        },
    )
}

// ---- freeze ----------------------------------------------------------------

/// `freeze_graph`'s flags. Unset fields take TensorFlow's defaults.
#[napi(object)]
pub struct FreezeRequest {
    /// A checkpoint prefix, training directory or graph file, as an import names it.
    pub source: Option<String>,
    pub input_graph: Option<String>,
    pub input_binary: Option<bool>,
    pub input_checkpoint: Option<String>,
    pub input_meta_graph: Option<String>,
    /// The SavedModel signature to freeze (`--signature_name`; default `serving_default`).
    pub signature_name: Option<String>,
    /// The tag set of the SavedModel meta graph to read (`--saved_model_tags`; default: the one tagged `serve`).
    pub saved_model_tags: Option<Vec<String>>,
    /// Where to write the frozen GraphDef; without it the bytes are returned.
    pub output_graph: Option<String>,
    /// Write text format instead of binary.
    pub output_as_text: Option<bool>,
    pub output_node_names: Option<Vec<String>>,
    pub clear_devices: Option<bool>,
    pub variable_names_whitelist: Option<Vec<String>>,
    pub variable_names_blacklist: Option<Vec<String>>,
    /// Freeze with the `ExponentialMovingAverage` shadow variables.
    pub use_ema: Option<bool>,
}

#[napi(object)]
pub struct FrozenVariableEntry {
    pub node: String,
    pub checkpoint_key: String,
    pub dtype: String,
    pub shape: Vec<i64>,
}

#[napi(object)]
pub struct FreezeResult {
    pub output_node_names: Vec<String>,
    pub input_names: Vec<String>,
    pub node_count: u32,
    pub variables: Vec<FrozenVariableEntry>,
    /// The path written, when `outputGraph` was given.
    pub output_graph: Option<String>,
    pub bytes: i64,
    /// The binary GraphDef, when no `outputGraph` was given.
    pub graph: Option<Buffer>,
    /// How the outputs were chosen, when none were named.
    pub inference: Option<OutputInference>,
    /// One line per structural rewrite freezing made (input pipelines, forward loops).
    pub rewrites: Vec<String>,
    /// The checkpoint prefix the values came from.
    pub checkpoint: Option<String>,
}

#[napi(object)]
pub struct InferredOutputJs {
    pub name: String,
    pub op: String,
    /// Why it is an output, in a few words.
    pub why: String,
}

#[napi(object)]
pub struct SetAsideJs {
    pub name: String,
    pub why: String,
}

#[napi(object)]
pub struct OutputInference {
    pub outputs: Vec<InferredOutputJs>,
    /// Losses, labels and metrics left out.
    pub set_aside: Vec<SetAsideJs>,
}

fn inference_js(inferred: InferredOutputs) -> OutputInference {
    OutputInference {
        outputs: inferred
            .outputs
            .into_iter()
            .map(|o| InferredOutputJs { name: o.name, op: o.op, why: o.why })
            .collect(),
        set_aside: inferred.set_aside.into_iter().map(|(name, why)| SetAsideJs { name, why }).collect(),
    }
}

/// Freezes a graph with its checkpoint, like TensorFlow's `freeze_graph`.
#[napi(ts_return_type = "Promise<FreezeResult>")]
pub fn freeze(request: FreezeRequest) -> AsyncTask<Job<FreezeOutcome, FreezeResult>> {
    let request = core::FreezeRequest {
        model: model_flags!(request),
        output_graph: path(request.output_graph),
        output_as_text: request.output_as_text,
        output_node_names: request.output_node_names,
        clear_devices: request.clear_devices,
        variable_names_whitelist: request.variable_names_whitelist,
        variable_names_blacklist: request.variable_names_blacklist,
        use_ema: request.use_ema,
    };
    job(move || request.run(), freeze_result)
}

/// The model-file fields `FreezeRequest` and `ConvertRequest` share, as the
/// core's [`ModelFlags`]: written once for both (the structs differ, the
/// fields do not).
macro_rules! model_flags {
    ($request:expr) => {
        ModelFlags {
            source: path($request.source),
            input_graph: path($request.input_graph),
            input_binary: $request.input_binary,
            input_checkpoint: path($request.input_checkpoint),
            input_meta_graph: path($request.input_meta_graph),
            signature_name: $request.signature_name,
            saved_model_tags: $request.saved_model_tags.unwrap_or_default(),
        }
    };
}
use model_flags;

fn path(path: Option<String>) -> Option<PathBuf> {
    path.map(PathBuf::from)
}

fn freeze_result(outcome: FreezeOutcome) -> FreezeResult {
    let FreezeOutcome { frozen, output_graph, bytes, graph } = outcome;
    FreezeResult {
        output_node_names: frozen.outputs,
        input_names: frozen.inputs,
        node_count: frozen.graph.node.len() as u32,
        variables: frozen
            .variables
            .into_iter()
            .map(|v| FrozenVariableEntry {
                node: v.node,
                checkpoint_key: v.checkpoint_key,
                dtype: dtype::name(v.dtype).to_string(),
                shape: v.shape,
            })
            .collect(),
        output_graph: output_graph.as_deref().map(path_string),
        bytes: bytes as i64,
        graph: graph.map(Buffer::from),
        inference: frozen.inferred.map(inference_js),
        rewrites: frozen.rewrites,
        checkpoint: frozen.checkpoint.as_deref().map(path_string),
    }
}

// ---- convert: the whole pipeline ---------------------------------------------

/// A model to convert and how. Unset fields take the core's defaults.
#[napi(object)]
pub struct ConvertRequest {
    /// A checkpoint prefix, training directory or graph file, as an import names it.
    pub source: Option<String>,
    /// A GraphDef to pair with a checkpoint saved without a `.meta`.
    pub input_graph: Option<String>,
    pub input_binary: Option<bool>,
    pub input_checkpoint: Option<String>,
    pub input_meta_graph: Option<String>,
    /// The SavedModel signature to convert (default `serving_default`).
    pub signature_name: Option<String>,
    /// The tag set of the SavedModel meta graph to read (default: the one tagged `serve`).
    pub saved_model_tags: Option<Vec<String>>,
    pub output_node_names: Option<Vec<String>>,
    pub input_names: Option<Vec<String>>,
    /// `uint8`, `float16` or `int8` weights, or `int8-full` (a `.tflite` with `calibration_ranges`); unset keeps float32.
    pub quantize: Option<String>,
    /// Tensors with fewer elements stay float (default 1024).
    pub quantize_minimum_size: Option<u32>,
    /// `tfjs` (default), `tflite` or `pb`.
    pub format: Option<String>,
    pub shard_size: Option<u32>,
    /// Name shards `<stem>-<hash>.bin` by their content (a bundler's assets).
    pub hashed_shard_stem: Option<String>,
    /// `error` (default), `warn` or `off`.
    pub op_check: Option<String>,
    /// Also write the files into this directory.
    pub output_dir: Option<String>,
    /// `name=value` pairs fixing placeholders (`is_training=false`, `keep_prob=1.0`).
    pub placeholder_to_const_names: Option<Vec<String>>,
    /// DataType numbers of the inputs: one, or one per input.
    pub placeholder_type_enum: Option<Vec<i32>>,
    /// Freeze with the `ExponentialMovingAverage` shadow variables.
    pub use_ema: Option<bool>,
    /// `quantize: 'int8-full'`: `[min, max]` of each activation, by tensor name.
    pub calibration_ranges: Option<HashMap<String, Vec<f64>>>,
    /// Write the float calibration model (every activation an output).
    pub calibration_outputs: Option<bool>,
}

#[napi(object)]
pub struct OutputFile {
    pub name: String,
    pub data: Buffer,
}

/// A file written into the output directory.
#[napi(object)]
pub struct WrittenFile {
    pub name: String,
    pub bytes: i64,
}

#[napi(object)]
#[derive(Clone)]
pub struct TensorSpecJs {
    pub name: String,
    /// The TF.js dtype (`float32`, `int32`, `bool`, `string`, `complex64`), or
    /// `unknown` when it could not be inferred (never a guess).
    pub dtype: String,
    /// `-1` for unknown dims; absent when the rank is unknown.
    pub shape: Option<Vec<i64>>,
}

#[napi(object)]
pub struct SignatureJs {
    pub inputs: Vec<TensorSpecJs>,
    pub outputs: Vec<TensorSpecJs>,
}

#[napi(object)]
pub struct TensorQuantization {
    pub name: String,
    pub shape: Vec<i64>,
    pub elements: i64,
    pub max_abs_error: f64,
    pub mean_error: f64,
    /// Signal-to-quantization-noise ratio in dB (Infinity when exact).
    pub sqnr_db: f64,
}

#[napi(object)]
pub struct QuantizationReportJs {
    pub mode: String,
    pub bytes_before: i64,
    pub bytes_after: i64,
    pub tensors: Vec<TensorQuantization>,
    /// `name: reason` for float tensors left unquantized on purpose.
    pub skipped: Vec<String>,
    /// An eightbit graph's quantized kernels, by op.
    pub quantized_ops: Vec<OpCount>,
    /// `node (Op): reason` for each op of a quantizable type an eightbit graph keeps float.
    pub float_ops: Vec<String>,
}

#[napi(object)]
pub struct OpCount {
    pub op: String,
    pub count: u32,
}

#[napi(object)]
pub struct ConvertResult {
    /// The entry file first (`model.json` or `model.pb`), then the weight shards it names.
    /// The files, when no output directory was named.
    pub files: Vec<OutputFile>,
    /// The files written into the output directory (a TF.js model's shards
    /// are written as they are made, never all held).
    pub written: Vec<WrittenFile>,
    pub signature: SignatureJs,
    pub weight_bytes: i64,
    pub float32_weight_bytes: i64,
    pub quantization: Option<QuantizationReportJs>,
    pub warnings: Vec<String>,
    /// The graph has control flow or dynamic ops: TF.js must run it with `executeAsync`.
    pub execute_async: bool,
    pub dynamic_ops: Vec<String>,
    /// `node (Op)` for every node TF.js cannot run (only when the op check warns or is off).
    pub unsupported_ops: Vec<String>,
    /// One line per rewrite the optimizer made.
    pub applied: Vec<String>,
    pub variables: u32,
    pub node_count: u32,
    /// How the outputs were chosen, when none were named.
    pub inference: Option<OutputInference>,
    /// One line per structural rewrite freezing made (input pipelines, forward loops).
    pub rewrites: Vec<String>,
    /// The checkpoint prefix the weights came from.
    pub checkpoint: Option<String>,
    /// A calibration model's measured tensors, in the order of its range outputs.
    pub calibration_tensors: Vec<String>,
}

/// Reads, freezes, optimizes, quantizes and emits a model (TF.js graph model or frozen .pb).
#[napi(ts_return_type = "Promise<ConvertResult>")]
pub fn convert(request: ConvertRequest) -> AsyncTask<Job<Converted, ConvertResult>> {
    let request = core_request(request);
    job(move || request.run(), convert_result)
}

/// One input's calibration samples, stacked along the first axis.
#[napi(object)]
pub struct CalibrationInput {
    pub name: String,
    /// `float32`, `int32` or `uint8`: what `data` holds.
    pub dtype: String,
    /// `[samples, ...one sample's shape]`.
    pub shape: Vec<u32>,
    /// The values, little-endian.
    pub data: Buffer,
}

#[napi(object)]
pub struct CalibrationResult {
    /// `[min, max]` of each activation, by tensor name; absent when the model
    /// holds an op the core's interpreter does not run (see `unsupported`).
    pub ranges: Option<HashMap<String, Vec<f64>>>,
    pub samples: u32,
    /// The op that kept the core from measuring, when it could not.
    pub unsupported: Option<String>,
}

/// The float model `quantize: 'int8-full'` is calibrated on, built once by
/// `calibrator()`; `measure` runs it on samples in the core.
#[napi]
pub struct Calibrator {
    model: Arc<core_tflite::CalibrationModel>,
    inputs: Vec<TensorSpecJs>,
}

#[napi]
impl Calibrator {
    /// What the samples must feed.
    #[napi(getter)]
    pub fn inputs(&self) -> Vec<TensorSpecJs> {
        self.inputs.clone()
    }

    /// The activation ranges over `inputs`, each input's samples stacked along the first axis.
    #[napi(ts_return_type = "Promise<CalibrationResult>")]
    pub fn measure(
        &self,
        inputs: Vec<CalibrationInput>,
    ) -> AsyncTask<Job<core_tflite::Measurement, CalibrationResult>> {
        // Copied here (the buffers belong to JavaScript), decoded off the JS thread.
        let raw: Vec<(String, String, Vec<usize>, Vec<u8>)> = inputs
            .into_iter()
            .map(|input| {
                (input.name, input.dtype, input.shape.iter().map(|&d| d as usize).collect(), input.data.to_vec())
            })
            .collect();
        let model = Arc::clone(&self.model);
        job(
            move || {
                let samples = raw.into_iter().map(|(name, dtype, shape, bytes)| {
                    let words = |b: &[u8]| b.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect::<Vec<_>>();
                    let data = match dtype.as_str() {
                        "float32" => {
                            core_tflite::SampleData::F32(words(&bytes).into_iter().map(f32::from_le_bytes).collect())
                        }
                        "int32" => {
                            core_tflite::SampleData::I32(words(&bytes).into_iter().map(i32::from_le_bytes).collect())
                        }
                        "uint8" => core_tflite::SampleData::U8(bytes),
                        other => {
                            let message = format!(
                                "calibration samples for input \"{name}\" are {other}: float32, int32 or uint8"
                            );
                            return Err(Error::new(tfmodel_core::ErrorKind::DtypeMismatch, message).about(&name));
                        }
                    };
                    Ok(core_tflite::InputSamples { name, shape, data })
                });
                model.measure(&samples.collect::<CoreResult<Vec<_>>>()?)
            },
            calibration_result,
        )
    }
}

/// Freezes, optimizes and builds the float model int8-full calibration runs in the core.
#[napi(ts_return_type = "Promise<Calibrator>")]
pub fn calibrator(request: ConvertRequest) -> AsyncTask<Job<core::Calibration, Calibrator>> {
    let request = core_request(request);
    job(
        move || request.calibration(),
        |calibration| Calibrator {
            inputs: calibration.signature.inputs.iter().map(tensor_spec_js).collect(),
            model: Arc::new(calibration.model),
        },
    )
}

fn calibration_result(measured: core_tflite::Measurement) -> CalibrationResult {
    match measured {
        core_tflite::Measurement::Ranges { ranges, samples } => {
            let ranges = ranges.into_iter().map(|(name, (lo, hi))| (name, vec![f64::from(lo), f64::from(hi)]));
            CalibrationResult { ranges: Some(ranges.collect()), samples: samples as u32, unsupported: None }
        }
        core_tflite::Measurement::Unsupported(reason) => {
            CalibrationResult { ranges: None, samples: 0, unsupported: Some(reason) }
        }
    }
}

fn tensor_spec_js(s: &tfmodel_core::emit::tfjs::TensorSpec) -> TensorSpecJs {
    TensorSpecJs { name: s.name.clone(), dtype: s.tfjs_dtype().to_string(), shape: s.shape.clone() }
}

fn core_request(request: ConvertRequest) -> core::ConvertRequest {
    core::ConvertRequest {
        model: model_flags!(request),
        output_node_names: request.output_node_names,
        input_names: request.input_names,
        quantize: request.quantize,
        quantize_minimum_size: request.quantize_minimum_size.map(|n| n as usize),
        format: request.format,
        shard_size: request.shard_size.map(|n| n as usize),
        hashed_shard_stem: request.hashed_shard_stem,
        op_check: request.op_check,
        output_dir: path(request.output_dir),
        placeholder_to_const_names: request.placeholder_to_const_names,
        placeholder_type_enum: request.placeholder_type_enum,
        use_ema: request.use_ema,
        calibration_ranges: request.calibration_ranges.map(|ranges| {
            ranges
                .into_iter()
                .map(|(name, range)| {
                    let bound = |k: usize| range.get(k).map_or(f32::NAN, |&v| v as f32);
                    (name, (bound(0), bound(1)))
                })
                .collect()
        }),
        calibration_outputs: request.calibration_outputs,
    }
}

fn convert_result(converted: Converted) -> ConvertResult {
    let spec = tensor_spec_js;
    ConvertResult {
        signature: SignatureJs {
            inputs: converted.signature.inputs.iter().map(spec).collect(),
            outputs: converted.signature.outputs.iter().map(spec).collect(),
        },
        files: converted.files.into_iter().map(|(name, data)| OutputFile { name, data: Buffer::from(data) }).collect(),
        written: converted.written.into_iter().map(|(name, bytes)| WrittenFile { name, bytes: bytes as i64 }).collect(),
        weight_bytes: converted.weight_bytes as i64,
        float32_weight_bytes: converted.float32_weight_bytes as i64,
        quantization: converted.report.map(report_js),
        warnings: converted.warnings,
        execute_async: converted.op_check.needs_execute_async,
        dynamic_ops: converted.op_check.dynamic_ops,
        unsupported_ops: converted.op_check.unsupported.iter().map(ToString::to_string).collect(),
        applied: converted.applied,
        variables: converted.variables as u32,
        node_count: converted.node_count as u32,
        inference: converted.inferred.map(inference_js),
        rewrites: converted.rewrites,
        checkpoint: converted.checkpoint.as_deref().map(path_string),
        calibration_tensors: converted.calibration_tensors,
    }
}

fn report_js(r: QuantizationReport) -> QuantizationReportJs {
    let (quantized_ops, float_ops) = match &r.eightbit {
        Some(ops) => (
            ops.quantized.iter().map(|(op, &count)| OpCount { op: op.clone(), count: count as u32 }).collect(),
            ops.kept_float.iter().map(ToString::to_string).collect(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    QuantizationReportJs {
        mode: if r.eightbit.is_some() { "eightbit".to_string() } else { r.mode.name().to_string() },
        quantized_ops,
        float_ops,
        bytes_before: r.bytes_before as i64,
        bytes_after: r.bytes_after as i64,
        tensors: r
            .tensors
            .into_iter()
            .map(|t| TensorQuantization {
                name: t.name,
                shape: t.shape,
                elements: t.elements as i64,
                max_abs_error: t.max_abs_error,
                mean_error: t.mean_error,
                sqnr_db: t.sqnr_db,
            })
            .collect(),
        skipped: r.skipped.iter().map(ToString::to_string).collect(),
    }
}

/// Up to three of `known` closest to `name`, best first: the core's one rule
/// for "did you mean", shared by the CLI's flags and the plugin's options.
#[napi]
pub fn closest_names(name: String, known: Vec<String>) -> Vec<String> {
    tfmodel_core::names::closest(&name, known.iter().map(String::as_str))
}

/// The outputs a conversion would infer (and why), without converting.
#[napi(ts_return_type = "Promise<OutputInference>")]
pub fn infer_outputs(source: String, graph: Option<String>) -> AsyncTask<Job<InferredOutputs, OutputInference>> {
    job(
        move || {
            core::infer_outputs(&core::ModelFiles::from_source(Path::new(&source), graph.as_deref().map(Path::new))?)
        },
        inference_js,
    )
}

/// What a path as an import writes it names: its kind and source path.
#[napi(object)]
pub struct IdentifiedSource {
    /// `checkpoint`, `directory`, `graph` or `saved_model`.
    pub kind: String,
    /// The checkpoint prefix for one of its files; else the path itself.
    pub source: String,
}

/// What `path` names, from names and existence alone; `null` for no model.
/// Synchronous: a bundler asks it for every relative import.
#[napi]
pub fn identify_source(path: String) -> Option<IdentifiedSource> {
    source::identify(Path::new(&path))
        .map(|(kind, source)| IdentifiedSource { kind: kind.name().to_string(), source: path_string(&source) })
}

/// Whether `path` is spelled as a model file would be (`.ckpt`, `.pb`, a
/// checkpoint file's suffix, `.keras`), whether or not it exists.
#[napi]
pub fn looks_like_model(path: String) -> bool {
    source::looks_like_model(Path::new(&path))
}

/// What `path` names; for no model, the core's error: FILE_NOT_FOUND suggesting
/// the model sources beside it (an import that meant a model but misspelled
/// it), or UNSUPPORTED_FORMAT for a Keras file or a V1 checkpoint.
#[napi]
pub fn require_source(env: Env, path: String) -> napi::Result<IdentifiedSource> {
    identify_source(path.clone()).ok_or_else(|| js_error(&env, &source::unresolved(Path::new(&path))))
}

/// The files a model import is read from, as one resolution.
#[napi(object)]
pub struct ModelFilesJs {
    /// The graph, `.meta`, `.index`, every data shard and the state file:
    /// what a bundler watches and hashes for its cache.
    pub files: Vec<String>,
    /// The checkpoint prefix those files are of (a training directory's
    /// newest checkpoint), to convert exactly what was hashed.
    pub checkpoint: Option<String>,
}

#[napi(ts_return_type = "Promise<ModelFilesJs>")]
pub fn model_files_of(source: String, graph: Option<String>) -> AsyncTask<Job<ResolvedFiles, ModelFilesJs>> {
    job(
        move || {
            let found = source::resolve(Path::new(&source), graph.as_deref().map(Path::new))?;
            Ok((found.files()?, found.checkpoint))
        },
        |(files, checkpoint)| ModelFilesJs {
            files: files.iter().map(|p| path_string(p)).collect(),
            checkpoint: checkpoint.as_deref().map(path_string),
        },
    )
}

type ResolvedFiles = (Vec<PathBuf>, Option<PathBuf>);

// ---- optimize and quantize on graph files ------------------------------------

/// `optimize_for_inference`'s flags.
#[napi(object)]
pub struct OptimizeRequest {
    pub input: String,
    pub output: String,
    /// Binary input and output (default true).
    pub frozen_graph: Option<bool>,
    pub input_names: Option<Vec<String>>,
    pub output_names: Vec<String>,
    /// DataType numbers of the input placeholders: one, or one per input.
    pub placeholder_type_enum: Option<Vec<i32>>,
    /// `name=true|false` pairs for bool placeholders such as `is_training`.
    pub placeholder_to_const_names: Option<Vec<String>>,
}

#[napi(object)]
pub struct OptimizeResult {
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub applied: Vec<String>,
    pub warnings: Vec<String>,
    pub node_count: u32,
}

/// Rewrites a frozen graph file for inference, like TensorFlow's `optimize_for_inference`.
#[napi(ts_return_type = "Promise<OptimizeResult>")]
pub fn optimize(request: OptimizeRequest) -> AsyncTask<Job<OptimizedGraph, OptimizeResult>> {
    let request = core::OptimizeRequest {
        input: PathBuf::from(request.input),
        output: PathBuf::from(request.output),
        frozen_graph: request.frozen_graph,
        input_names: request.input_names,
        output_names: request.output_names,
        placeholder_type_enum: request.placeholder_type_enum,
        placeholder_to_const_names: request.placeholder_to_const_names,
    };
    job(
        move || request.run(),
        |optimized| OptimizeResult {
            node_count: optimized.graph.node.len() as u32,
            inputs: optimized.inputs,
            outputs: optimized.outputs,
            applied: optimized.applied.iter().map(ToString::to_string).collect(),
            warnings: optimized.warnings,
        },
    )
}

/// Quantizes a frozen graph file's weights into a TensorFlow-loadable GraphDef.
#[napi(ts_return_type = "Promise<QuantizationReportJs>")]
pub fn quantize_graph(
    input: String,
    output: String,
    mode: String,
    minimum_size: Option<u32>,
    output_node_names: Option<Vec<String>>,
) -> AsyncTask<Job<QuantizationReport, QuantizationReportJs>> {
    let request = core::QuantizeRequest {
        input: PathBuf::from(input),
        output: PathBuf::from(output),
        mode,
        minimum_size: minimum_size.map(|n| n as usize),
        output_names: output_node_names,
    };
    job(move || request.run(), report_js)
}

/// Every error code the core can return, for documentation and tests.
#[napi]
pub fn error_codes() -> Vec<String> {
    tfmodel_core::ErrorKind::ALL.iter().map(|k| k.code().to_string()).collect()
}

// ---- the core's names and defaults, for the TypeScript side -----------------
// The TS types derive from these enums in the generated declarations, and its
// defaults from `defaults()`: the names are the core's, checked by the tests.

/// A quantization mode as imports and flags name it ([`QuantizeMode::name`]).
#[napi(string_enum)]
#[allow(non_camel_case_types)]
pub enum QuantizeModeName {
    uint8,
    float16,
    int8,
    #[napi(value = "int8-full")]
    int8_full,
}

impl From<QuantizeMode> for QuantizeModeName {
    fn from(mode: QuantizeMode) -> Self {
        match mode {
            QuantizeMode::Uint8 => QuantizeModeName::uint8,
            QuantizeMode::Float16 => QuantizeModeName::float16,
            QuantizeMode::Int8 => QuantizeModeName::int8,
            QuantizeMode::Int8Full => QuantizeModeName::int8_full,
        }
    }
}

/// What `convert` emits ([`core::OutputFormat`]).
#[napi(string_enum)]
#[allow(non_camel_case_types)]
pub enum OutputFormatName {
    tfjs,
    tflite,
    pb,
}

impl From<core::OutputFormat> for OutputFormatName {
    fn from(format: core::OutputFormat) -> Self {
        match format {
            core::OutputFormat::Tfjs => OutputFormatName::tfjs,
            core::OutputFormat::Tflite => OutputFormatName::tflite,
            core::OutputFormat::Pb => OutputFormatName::pb,
        }
    }
}

/// The stable code of a core error ([`tfmodel_core::ErrorKind::code`]).
#[napi(string_enum)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum ErrorCode {
    FILE_NOT_FOUND,
    IO_ERROR,
    INDEX_TRUNCATED,
    INDEX_CORRUPT,
    CRC_MISMATCH,
    SHARD_MISSING,
    SHARD_TRUNCATED,
    UNSUPPORTED_FORMAT,
    GRAPH_EMPTY,
    GRAPH_INVALID,
    GRAPH_TOO_LARGE,
    TENSOR_NOT_FOUND,
    UNKNOWN_NODE,
    VARIABLE_MISSING,
    SHAPE_MISMATCH,
    DTYPE_MISMATCH,
    UNSUPPORTED_DTYPE,
    UNSUPPORTED_OP,
    CHECKPOINT_NOT_FOUND,
    NO_OUTPUTS,
    UNKNOWN_SIGNATURE,
    INVALID_ARGUMENT,
    INTERNAL_ERROR,
}

impl From<tfmodel_core::ErrorKind> for ErrorCode {
    fn from(kind: tfmodel_core::ErrorKind) -> Self {
        use tfmodel_core::ErrorKind as K;
        match kind {
            K::FileNotFound => ErrorCode::FILE_NOT_FOUND,
            K::Io => ErrorCode::IO_ERROR,
            K::IndexTruncated => ErrorCode::INDEX_TRUNCATED,
            K::IndexCorrupt => ErrorCode::INDEX_CORRUPT,
            K::CrcMismatch => ErrorCode::CRC_MISMATCH,
            K::ShardMissing => ErrorCode::SHARD_MISSING,
            K::ShardTruncated => ErrorCode::SHARD_TRUNCATED,
            K::UnsupportedFormat => ErrorCode::UNSUPPORTED_FORMAT,
            K::GraphEmpty => ErrorCode::GRAPH_EMPTY,
            K::GraphInvalid => ErrorCode::GRAPH_INVALID,
            K::GraphTooLarge => ErrorCode::GRAPH_TOO_LARGE,
            K::TensorNotFound => ErrorCode::TENSOR_NOT_FOUND,
            K::UnknownNode => ErrorCode::UNKNOWN_NODE,
            K::VariableMissing => ErrorCode::VARIABLE_MISSING,
            K::ShapeMismatch => ErrorCode::SHAPE_MISMATCH,
            K::DtypeMismatch => ErrorCode::DTYPE_MISMATCH,
            K::UnsupportedDtype => ErrorCode::UNSUPPORTED_DTYPE,
            K::UnsupportedOp => ErrorCode::UNSUPPORTED_OP,
            K::CheckpointNotFound => ErrorCode::CHECKPOINT_NOT_FOUND,
            K::NoOutputs => ErrorCode::NO_OUTPUTS,
            K::UnknownSignature => ErrorCode::UNKNOWN_SIGNATURE,
            K::InvalidArgument => ErrorCode::INVALID_ARGUMENT,
            K::Internal => ErrorCode::INTERNAL_ERROR,
        }
    }
}

/// The core's defaults and name lists.
#[napi(object)]
pub struct Defaults {
    /// Bytes per TF.js weight shard.
    pub shard_size: u32,
    /// Tensors with fewer elements stay float when quantizing.
    pub quantize_minimum_size: u32,
    pub quantize_modes: Vec<QuantizeModeName>,
    /// The SavedModel signature converted when none is named.
    pub signature_name: String,
    /// A calibration model's outputs: the measured tensors' minima, then maxima.
    pub calibration_outputs: Vec<String>,
}

#[napi]
pub fn defaults() -> Defaults {
    Defaults {
        shard_size: tfmodel_core::emit::tfjs::TfjsOptions::default().shard_size as u32,
        quantize_minimum_size: QuantizeOptions::default().minimum_size as u32,
        quantize_modes: quantize_modes().into_iter().map(Into::into).collect(),
        signature_name: tfmodel_core::savedmodel::DEFAULT_SIGNATURE.to_string(),
        calibration_outputs: tfmodel_core::emit::tflite::RANGE_OUTPUTS.map(String::from).to_vec(),
    }
}

/// Each mode once, in the core's order (`weights` is another name of uint8).
fn quantize_modes() -> Vec<QuantizeMode> {
    let mut modes: Vec<QuantizeMode> = Vec::new();
    for mode in QuantizeMode::NAMES.iter().filter_map(|n| n.parse::<QuantizeMode>().ok()) {
        if !modes.contains(&mode) {
            modes.push(mode);
        }
    }
    modes
}

/// Lets checkpoint reads map large tensors instead of copying them, for this
/// process: memory stays flat as models grow, but a checkpoint file cut short
/// while mapped kills the process. For one-shot conversions (the CLI), not
/// for a dev server beside a training directory.
#[napi]
pub fn map_checkpoints(enabled: bool) {
    tfmodel_core::mapped::map_checkpoints(enabled);
}

/// The core's version; part of cache keys.
#[napi]
pub fn core_version() -> String {
    tfmodel_core::VERSION.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_the_core_becomes_an_internal_error_with_its_message() {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let output: CoreResult<()> = catch_panics(|| panic!("shape has {} dims", 9));
        std::panic::set_hook(hook);
        let error = output.unwrap_err();
        assert_eq!(error.code(), "INTERNAL_ERROR");
        assert!(error.message.contains("shape has 9 dims"), "{}", error.message);
    }
}
