//! The tools' flags as the CLI and the binding pass them: every field
//! optional, unset ones taking the defaults of TensorFlow's tools (or the
//! core's, where TensorFlow has none). Each request resolves to its stage's
//! options once, in `options()`, and `run()` calls the stage.

use std::path::PathBuf;

use super::{
    convert, convert_to_dir, freeze, freeze_to_file, optimize_file, quantize_file, ConvertOptions, Converted,
    ModelFiles,
};
use crate::emit::{
    self,
    tfjs::{ShardNames, TfjsOptions},
};
use crate::error::{Error, ErrorKind, Result};
use crate::freeze::{FreezeOptions, FrozenGraph};
use crate::optimize::{self, OptimizeOptions, OptimizedGraph};
use crate::quantize::{GraphMode, QuantizationReport, QuantizeOptions};

/// The model-file flags the CLI and the binding pass: an import's `source`
/// and/or `freeze_graph`-style paths.
#[derive(Debug, Clone, Default)]
pub struct ModelFlags {
    /// A checkpoint prefix, training directory or graph file, as an import names it.
    pub source: Option<PathBuf>,
    /// A GraphDef (with `source`: to pair with a checkpoint saved without a `.meta`).
    pub input_graph: Option<PathBuf>,
    pub input_binary: Option<bool>,
    pub input_checkpoint: Option<PathBuf>,
    pub input_meta_graph: Option<PathBuf>,
    /// The SavedModel signature to freeze (default `serving_default`).
    pub signature_name: Option<String>,
    /// The tag set of the SavedModel meta graph to read (`--saved_model_tags`; default: the one tagged `serve`).
    pub saved_model_tags: Vec<String>,
}

impl ModelFlags {
    /// The files to read: a path given explicitly wins over what `source` resolves to.
    pub fn files(&self) -> Result<ModelFiles> {
        let mut files = match &self.source {
            Some(source) => ModelFiles::from_source(source, self.input_graph.as_deref())?,
            None => ModelFiles { input_graph: self.input_graph.clone(), ..Default::default() },
        };
        files.input_binary = self.input_binary.or(files.input_binary);
        files.input_checkpoint = self.input_checkpoint.clone().or(files.input_checkpoint);
        files.input_meta_graph = self.input_meta_graph.clone().or(files.input_meta_graph);
        if let Some(name) = &self.signature_name {
            if files.saved_model.is_none() {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("signature_name \"{name}\" names a SavedModel signature, but the model is no SavedModel"),
                ));
            }
            files.signature_name = Some(name.clone());
        }
        if !self.saved_model_tags.is_empty() {
            if files.saved_model.is_none() {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "saved_model_tags \"{}\" pick a SavedModel meta graph, but the model is no SavedModel",
                        self.saved_model_tags.join(",")
                    ),
                ));
            }
            files.saved_model_tags = self.saved_model_tags.clone();
        }
        Ok(files)
    }
}

/// `freeze_graph`'s flags, each optional: unset ones take TensorFlow's defaults.
#[derive(Debug, Clone, Default)]
pub struct FreezeRequest {
    pub model: ModelFlags,
    /// Where to write the frozen GraphDef; without it the bytes are returned.
    pub output_graph: Option<PathBuf>,
    /// Write text format instead of binary (default false).
    pub output_as_text: Option<bool>,
    /// Default: inferred ([`freeze::infer_outputs`]).
    pub output_node_names: Option<Vec<String>>,
    /// Default true, as in TensorFlow.
    pub clear_devices: Option<bool>,
    pub variable_names_whitelist: Option<Vec<String>>,
    pub variable_names_blacklist: Option<Vec<String>>,
    /// Freeze with the moving averages' shadow variables (default false).
    pub use_ema: Option<bool>,
}

/// What [`FreezeRequest::run`] did.
#[derive(Debug, Clone)]
pub struct FreezeOutcome {
    pub frozen: FrozenGraph,
    /// The path written, when the request named one.
    pub output_graph: Option<PathBuf>,
    /// Bytes written, or the size of `graph`.
    pub bytes: u64,
    /// The binary GraphDef, when no output path was named.
    pub graph: Option<Vec<u8>>,
}

impl FreezeRequest {
    pub fn options(&self) -> FreezeOptions {
        let defaults = FreezeOptions::default();
        FreezeOptions {
            output_node_names: self.output_node_names.clone().unwrap_or(defaults.output_node_names),
            clear_devices: self.clear_devices.unwrap_or(defaults.clear_devices),
            variable_names_whitelist: self.variable_names_whitelist.clone().or(defaults.variable_names_whitelist),
            variable_names_blacklist: self
                .variable_names_blacklist
                .clone()
                .unwrap_or(defaults.variable_names_blacklist),
            use_ema: self.use_ema.unwrap_or(defaults.use_ema),
            checkpoint_keys: defaults.checkpoint_keys,
            defer_values: defaults.defer_values,
        }
    }

    /// Freezes, then writes the graph (atomically) or returns its bytes.
    pub fn run(&self) -> Result<FreezeOutcome> {
        let (files, options) = (self.model.files()?, self.options());
        match &self.output_graph {
            Some(output) => {
                let (frozen, bytes) = freeze_to_file(&files, &options, output, self.output_as_text.unwrap_or(false))?;
                Ok(FreezeOutcome { frozen, output_graph: Some(output.clone()), bytes, graph: None })
            }
            None => {
                let frozen = freeze(&files, &options)?;
                let encoded = emit::encode_graph_def(&frozen.graph)?;
                Ok(FreezeOutcome { frozen, output_graph: None, bytes: encoded.len() as u64, graph: Some(encoded) })
            }
        }
    }
}

/// The whole pipeline's settings, each optional: unset ones take the core's defaults.
#[derive(Debug, Clone, Default)]
pub struct ConvertRequest {
    pub model: ModelFlags,
    pub output_node_names: Option<Vec<String>>,
    pub input_names: Option<Vec<String>>,
    /// A [`crate::quantize::QuantizeMode`] name; unset keeps float32 weights.
    pub quantize: Option<String>,
    /// Tensors with fewer elements stay float (default: [`QuantizeOptions::default`]'s).
    pub quantize_minimum_size: Option<usize>,
    /// `tfjs` (default), `tflite` or `pb` ([`super::OutputFormat::NAMES`]).
    pub format: Option<String>,
    /// Bytes per weight shard (default [`crate::emit::tfjs::DEFAULT_SHARD_SIZE`]).
    pub shard_size: Option<usize>,
    /// Name shards `<stem>-<10 hex digits of their SHA-256>.bin` (what a
    /// bundler emits); unset keeps `group1-shard<i>of<n>.bin`.
    pub hashed_shard_stem: Option<String>,
    /// `error` (default), `warn` or `off`.
    pub op_check: Option<String>,
    /// Also write the files into this directory ([`convert_to_dir`]).
    pub output_dir: Option<PathBuf>,
    /// `name=value` pairs ([`optimize::TrainingFlag`]).
    pub placeholder_to_const_names: Option<Vec<String>>,
    /// DataType numbers of the inputs: one, or one per input.
    pub placeholder_type_enum: Option<Vec<i32>>,
    /// Freeze with the moving averages' shadow variables (default false).
    pub use_ema: Option<bool>,
    /// `quantize=int8-full`: each activation's `[min, max]` over the
    /// calibration data, by tensor name (what the calibration model outputs).
    pub calibration_ranges: Option<std::collections::BTreeMap<String, (f32, f32)>>,
    /// Write the calibration model: a float `.tflite` whose every activation is an output.
    pub calibration_outputs: Option<bool>,
}

impl ConvertRequest {
    pub fn options(&self) -> Result<ConvertOptions> {
        let quantize = match &self.quantize {
            Some(mode) => {
                let defaults = QuantizeOptions::default();
                Some(QuantizeOptions {
                    mode: mode.parse()?,
                    minimum_size: self.quantize_minimum_size.unwrap_or(defaults.minimum_size),
                })
            }
            None => None,
        };
        let mut tfjs = TfjsOptions::default();
        if let Some(size) = self.shard_size {
            tfjs.shard_size = size;
        }
        if let Some(stem) = &self.hashed_shard_stem {
            tfjs.shard_names = ShardNames::ContentHashed { stem: stem.clone() };
        }
        Ok(ConvertOptions {
            freeze: FreezeOptions {
                output_node_names: self.output_node_names.clone().unwrap_or_default(),
                use_ema: self.use_ema.unwrap_or_default(),
                ..Default::default()
            },
            input_names: self.input_names.clone().unwrap_or_default(),
            placeholder_type_enum: type_enums(self.placeholder_type_enum.as_deref()),
            training_flags: training_flags(self.placeholder_to_const_names.as_deref())?,
            quantize,
            format: self.format.as_deref().map(str::parse).transpose()?.unwrap_or_default(),
            tfjs,
            op_check: self.op_check.as_deref().map(str::parse).transpose()?.unwrap_or_default(),
            tflite: crate::emit::tflite::TfliteOptions {
                integer: self.calibration_ranges.clone(),
                calibration_outputs: self.calibration_outputs.unwrap_or_default(),
            },
        })
    }

    /// The float model `quantize=int8-full`'s calibration runs ([`super::calibration`]).
    pub fn calibration(&self) -> Result<super::Calibration> {
        let mut options = self.options()?;
        options.quantize = None;
        options.format = super::OutputFormat::Tflite;
        super::calibration(&self.model.files()?, &options)
    }

    /// Converts, and writes the files into `output_dir` when one is named.
    pub fn run(&self) -> Result<Converted> {
        let (files, options) = (self.model.files()?, self.options()?);
        match &self.output_dir {
            Some(dir) => convert_to_dir(&files, &options, dir),
            None => convert(&files, &options),
        }
    }
}

/// `optimize_for_inference`'s flags, each optional but the files and outputs.
#[derive(Debug, Clone, Default)]
pub struct OptimizeRequest {
    pub input: PathBuf,
    pub output: PathBuf,
    /// Binary input and output (default true); text when false.
    pub frozen_graph: Option<bool>,
    pub input_names: Option<Vec<String>>,
    pub output_names: Vec<String>,
    /// DataType numbers of the input placeholders: one, or one per input.
    pub placeholder_type_enum: Option<Vec<i32>>,
    /// `name=true|false` pairs ([`optimize::TrainingFlag`]).
    pub placeholder_to_const_names: Option<Vec<String>>,
}

impl OptimizeRequest {
    pub fn options(&self) -> Result<OptimizeOptions> {
        Ok(OptimizeOptions {
            input_names: self.input_names.clone().unwrap_or_default(),
            output_names: self.output_names.clone(),
            placeholder_type_enum: type_enums(self.placeholder_type_enum.as_deref()),
            training_flags: training_flags(self.placeholder_to_const_names.as_deref())?,
            ..Default::default()
        })
    }

    pub fn run(&self) -> Result<OptimizedGraph> {
        optimize_file(&self.input, &self.output, self.frozen_graph.unwrap_or(true), &self.options()?)
    }
}

fn training_flags(pairs: Option<&[String]>) -> Result<Vec<(String, crate::training::ConstantValue)>> {
    pairs.into_iter().flatten().map(|pair| pair.parse::<optimize::TrainingFlag>().map(Into::into)).collect()
}

fn type_enums(numbers: Option<&[i32]>) -> Vec<crate::proto::DataType> {
    numbers.into_iter().flatten().map(|&t| crate::dtype::from_i32(t)).collect()
}

/// `quantize_graph`'s flags: a frozen graph file in, a TensorFlow-loadable one out.
#[derive(Debug, Clone, Default)]
pub struct QuantizeRequest {
    pub input: PathBuf,
    pub output: PathBuf,
    /// A [`crate::quantize::GraphMode`] name: `eightbit`, `weights`, `weights_rounded`, …
    pub mode: String,
    /// Tensors with fewer elements stay float (default: [`QuantizeOptions::default`]'s).
    pub minimum_size: Option<usize>,
    /// The nodes an eightbit graph must keep (default: the nodes nothing reads).
    pub output_names: Option<Vec<String>>,
}

impl QuantizeRequest {
    /// The mode, and the minimum size of a quantized weight.
    pub fn options(&self) -> Result<(GraphMode, usize)> {
        Ok((self.mode.parse()?, self.minimum_size.unwrap_or(QuantizeOptions::default().minimum_size)))
    }

    pub fn run(&self) -> Result<QuantizationReport> {
        let (mode, minimum_size) = self.options()?;
        quantize_file(&self.input, &self.output, mode, minimum_size, self.output_names.as_deref().unwrap_or_default())
    }
}
