//! TFLite flatbuffers (`.tflite`): what LiteRT runs natively and LiteRT.js in
//! a page, from the same frozen, optimized graph the TF.js emitter takes.
//!
//! ```text
//! Model { version: 3, description, buffers: [empty, weights…],
//!         operator_codes: [CONV_2D, …],
//!         subgraphs: [{ tensors, inputs, outputs, operators }],
//!         signature_defs: [{ signature_key: "serving_default",
//!                            inputs: [{ name: <placeholder node>, tensor_index }],
//!                            outputs: [{ name: <output node>, tensor_index }] }] }
//! ```
//!
//! One subgraph. Weights are float32, or what [`crate::quantize`] chose:
//! float16 is stored as FLOAT16 and widened by a `DEQUANTIZE` before the op
//! that reads it (TensorFlow's converter's form); int8 (symmetric, per output
//! channel) is read as it is by the convolutions and `FULLY_CONNECTED`,
//! whose hybrid kernels quantize their inputs on the fly (dynamic-range
//! quantization), and through a `DEQUANTIZE` by any other op.
//!
//! Each TensorFlow op maps to one builtin ([`ops`]); weights take TFLite's
//! layouts ([`layout`]); a convolution's or matmul's bias and a following
//! Relu/Relu6 fold into it ([`fuse`]). A graph holding an op with no builtin
//! is an [`ErrorKind::UnsupportedOp`] naming the nodes and where to cut the
//! model instead ([`check`]).
//!
//! The schema is TensorFlow's `schema.fbs`, vendored in `crates/core/schema/`
//! and compiled by planus into `schema_generated.rs` (regenerate with
//! `crates/core/schema/generate.sh`). Weights end the file, each on the
//! 16-byte boundary the schema asks of `Buffer.data` (see `model`).

mod check;
mod fuse;
mod integer;
mod interpret;
mod layout;
mod lower;
mod model;
mod ops;
#[rustfmt::skip]
#[allow(clippy::all, clippy::pedantic, dead_code, unused_imports)]
mod schema_generated;

pub use integer::{Ranges, RANGE_OUTPUTS};
pub use interpret::{InputSamples, Measurement, SampleData};

/// The schema's types (`Model`, `ModelRef`, …), to read a written model back.
pub use schema_generated::tflite as schema;

use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, shapes::Signature};
use crate::proto::GraphDef;
use crate::quantize::{QuantizeMode, QuantizedWeights};

/// The file a TFLite model is written to.
pub const TFLITE_FILE: &str = "model.tflite";

/// The key TensorFlow gives a model's one signature, which LiteRT.js and
/// `tf.lite.Interpreter.get_signature_runner` look up.
pub const SIGNATURE_KEY: &str = "serving_default";

/// A `.tflite` in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct TfliteModel {
    pub bytes: Vec<u8>,
    /// Bytes of the constant buffers (the weights).
    pub weight_bytes: u64,
    /// The calibration model's measured tensors, in the order of its range outputs.
    pub measured: Vec<String>,
}

/// What else a `.tflite` is built for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TfliteOptions {
    /// Full-integer int8 over these activation ranges ([`integer`]); the
    /// weights must then be float32.
    pub integer: Option<Ranges>,
    /// The float model calibration runs: besides the model's own outputs,
    /// the minimum and maximum of every float activation (the inputs among
    /// them), computed in the model, as the vectors [`RANGE_OUTPUTS`] in the
    /// order of [`TfliteModel::measured`].
    pub calibration_outputs: bool,
}

/// Builds the `.tflite` for a frozen graph whose inputs and outputs are
/// `signature`'s, with the constants `weights` holds in their encodings
/// (float16 or int8; uint8 is an [`ErrorKind::InvalidArgument`]). The graph
/// is dropped once lowered, before the file is laid out, so its weights and
/// the file's are not all held at once.
pub fn to_tflite(
    graph: GraphDef,
    signature: &Signature,
    weights: Option<&QuantizedWeights>,
    options: &TfliteOptions,
) -> Result<TfliteModel> {
    graph::check_graph(&graph)?;
    let names: Vec<String> = signature.inputs.iter().chain(&signature.outputs).map(|s| s.name.clone()).collect();
    graph::require_nodes(&graph, &names)?;
    if let Some(weights) = weights.filter(|w| w.mode == QuantizeMode::Uint8) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "quantize={} is TensorFlow.js's affine encoding; format=tflite takes int8 or float16",
                weights.mode.name()
            ),
        ));
    }
    if options.integer.is_some() && weights.is_some() {
        let message = "full-integer int8 quantizes float32 weights itself; it takes no other encoding";
        return Err(Error::new(ErrorKind::InvalidArgument, message.to_string()));
    }
    let mut built = lower::lower(&graph, signature, weights.map(|w| &w.weights))?;
    drop(graph);
    let measured = if options.calibration_outputs { integer::add_range_outputs(&mut built) } else { Vec::new() };
    if let Some(ranges) = &options.integer {
        integer::integerize(&mut built, ranges)?;
    }
    let weight_bytes = built.weight_bytes();
    Ok(TfliteModel { bytes: built.finish(), weight_bytes, measured })
}

/// The float model calibration runs in the core, built once for a graph
/// and measured on any number of sample batches.
pub struct CalibrationModel {
    built: model::ModelBuilder,
}

impl CalibrationModel {
    /// The float model built for `graph` (frozen, optimized) with `signature`.
    pub fn new(graph: GraphDef, signature: &Signature) -> Result<CalibrationModel> {
        graph::check_graph(&graph)?;
        Ok(CalibrationModel { built: lower::lower(&graph, signature, None)? })
    }

    /// The range of every float activation (the tensors a calibration model
    /// measures) over `samples`; [`Measurement::Unsupported`] when the model
    /// holds a builtin the interpreter does not run.
    pub fn measure(&self, samples: &[InputSamples]) -> Result<Measurement> {
        interpret::measure(&self.built, &self.built.activations(), samples)
    }
}
