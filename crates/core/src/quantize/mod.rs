//! Weight quantization: decides how each large float32 `Const` is stored
//! (`encode`: the encodings and their exact decoding; `channels`: which
//! axis int8 scales run along) and reports what that costs in accuracy
//! (`measure`). Writing the result is the emitters' job: TF.js manifests in
//! [`crate::emit::tfjs`], a TensorFlow graph that decodes the weights with its
//! own ops in [`crate::emit::dequantize_into_graph`].
//!
//! Three encodings, all of which leave small tensors (biases, batch-norm
//! vectors, shape constants) as they are:
//!
//! - [`QuantizeMode::Uint8`]: affine, one range per tensor, 256 levels between
//!   the tensor's min and max. The value and the minimum are rounded
//!   separately and then subtracted (TensorFlow's reference rule), so rounding
//!   errors do not all lean one way and zero stays exact whenever it lies
//!   inside the range.
//! - [`QuantizeMode::Float16`]: IEEE half precision, round to nearest even.
//! - [`QuantizeMode::Int8`]: symmetric, one scale per output channel, values
//!   in [−127, 127] (the TFLite weight scheme); zero is exact by construction.
//!
//! Every error figure is measured against what the consumer will actually
//! decode: TensorFlow.js's rules for uint8 and float16 and `q · scale` in
//! float32 for int8.

mod channels;
mod encode;
mod measure;

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, attr_tensor};
use crate::names;
use crate::proto::{DataType, GraphDef, NodeDef};
use crate::tensor::{element_count, format_shape, shape_dims, Tensor, TensorData};
use channels::{biases, channel_roles, ChannelRole};

/// How quantized weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuantizeMode {
    /// Affine uint8 per tensor (`quantize`, `quantize=uint8`, `quantize_graph`'s `weights`).
    #[default]
    Uint8,
    /// Half precision.
    Float16,
    /// Symmetric int8 per output channel, dequantized by our own loader.
    Int8,
    /// TFLite's full integer: int8 weights and activations over calibrated
    /// ranges ([`crate::emit::tflite::TfliteOptions::integer`]).
    Int8Full,
}

impl QuantizeMode {
    /// Every spelling [`QuantizeMode::from_str`] accepts.
    pub const NAMES: [&'static str; 5] = ["uint8", "weights", "float16", "int8", "int8-full"];

    pub fn name(self) -> &'static str {
        match self {
            QuantizeMode::Uint8 => "uint8",
            QuantizeMode::Float16 => "float16",
            QuantizeMode::Int8 => "int8",
            QuantizeMode::Int8Full => "int8-full",
        }
    }
}

impl FromStr for QuantizeMode {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "uint8" | "weights" => Ok(QuantizeMode::Uint8),
            "float16" => Ok(QuantizeMode::Float16),
            "int8" => Ok(QuantizeMode::Int8),
            "int8-full" => Ok(QuantizeMode::Int8Full),
            // Only TensorFlow runs its quantized kernels; saying so beats "unknown".
            "eightbit" | "weights_rounded" => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "quantization mode \"{text}\" makes a TensorFlow graph (tfmodel quantize --format pb); \
                     weights for TF.js and TFLite take uint8 (quantize_graph's weights), float16 or int8"
                ),
            )),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown quantization mode \"{text}\" (expected {})", QuantizeMode::NAMES.join(", ")),
            )
            .suggest(names::closest(text, QuantizeMode::NAMES))),
        }
    }
}

/// `quantize_graph`'s `--mode` for a frozen graph TensorFlow runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphMode {
    /// The graph's float ops become TensorFlow's quantized kernels
    /// ([`crate::emit::eightbit_graph`]).
    Eightbit,
    /// Compact weights decoded by TensorFlow's own ops (`weights` is uint8).
    Weights(QuantizeMode),
    /// uint8 weights decoded back into float32 constants: the accuracy of 8
    /// bits at the size of float32.
    WeightsRounded,
}

impl GraphMode {
    /// Every spelling [`GraphMode::from_str`] accepts.
    pub const NAMES: [&'static str; 6] = ["eightbit", "weights", "weights_rounded", "uint8", "float16", "int8"];
}

impl FromStr for GraphMode {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "eightbit" => Ok(GraphMode::Eightbit),
            "weights_rounded" => Ok(GraphMode::WeightsRounded),
            _ if QuantizeMode::NAMES.contains(&text) => text.parse().map(GraphMode::Weights),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown quantization mode \"{text}\" (expected {})", GraphMode::NAMES.join(", ")),
            )
            .suggest(names::closest(text, GraphMode::NAMES))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuantizeOptions {
    pub mode: QuantizeMode,
    /// Tensors with fewer elements stay float: their bytes are negligible and
    /// biases and normalization vectors are the most sensitive values in a model.
    pub minimum_size: usize,
}

impl Default for QuantizeOptions {
    fn default() -> Self {
        QuantizeOptions { mode: QuantizeMode::Uint8, minimum_size: 1024 }
    }
}

/// The encoding chosen for every quantized `Const`, by node name. Consts not
/// listed are stored as they are.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedWeights {
    pub mode: QuantizeMode,
    pub weights: BTreeMap<String, QuantizedWeight>,
    pub report: QuantizationReport,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QuantizedWeight {
    pub shape: Vec<i64>,
    pub encoding: WeightEncoding,
}

#[derive(Debug, Clone, PartialEq)]
pub enum WeightEncoding {
    /// Decodes as `q · scale + min`, evaluated in float64 and rounded once to
    /// float32 (TensorFlow.js's rule). `min` is a whole number of steps, so a
    /// zero inside the range decodes to exactly 0.
    Uint8 { values: Vec<u8>, min: f64, scale: f64 },
    /// Raw IEEE binary16 bit patterns.
    Float16 { values: Vec<u16> },
    /// Decodes as `q · scales[c]` in float32. The channels run over the dims
    /// from `axis` on: element `i` belongs to channel `c = ⌊i / inner⌋ mod
    /// scales.len()`, with `inner = elements / (Π shape[..axis] · scales.len())`
    /// (the product of the dims after `axis` in the usual case). For a
    /// depthwise filter `[H, W, Cin, M]` the channel is the flattened
    /// `ci·M + m`: `axis` is 2 and there are `Cin·M` scales. Vectors and
    /// scalars have a single scale (axis 0).
    Int8 { values: Vec<i8>, scales: Vec<f32>, axis: usize },
}

/// Sizes and accuracy of a quantization run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QuantizationReport {
    pub mode: QuantizeMode,
    /// Bytes of every `Const`'s element data before quantization.
    pub bytes_before: u64,
    /// The same after: quantized tensors at their stored size (int8 scales
    /// count 4 bytes each), every other `Const` unchanged.
    pub bytes_after: u64,
    /// One entry per quantized tensor, in graph order.
    pub tensors: Vec<TensorReport>,
    /// Large float tensors left as they were, with the reason.
    pub skipped: Vec<SkippedTensor>,
    /// What an eightbit graph holds, when one was written.
    pub eightbit: Option<EightbitOps>,
}

/// The ops of an eightbit graph: how many of each quantized kernel it runs,
/// and the ops of a quantizable type left float, with the reason.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EightbitOps {
    pub quantized: BTreeMap<String, usize>,
    pub kept_float: Vec<SkippedTensor>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TensorReport {
    pub name: String,
    pub shape: Vec<i64>,
    pub elements: u64,
    /// Largest `|x̂ − x|` over the finite elements.
    pub max_abs_error: f64,
    /// Mean of `x̂ − x`: a systematic bias shows up here.
    pub mean_error: f64,
    /// Signal-to-quantization-noise ratio `10·log10(Σx² / Σ(x − x̂)²)` in dB;
    /// `+inf` when the decoded values are exact.
    pub sqnr_db: f64,
}

/// A float tensor left unquantized on purpose; displays as `name: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedTensor {
    pub name: String,
    pub reason: String,
}

impl std::fmt::Display for SkippedTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.reason)
    }
}

/// Chooses an encoding for every float32 `Const` with at least
/// `options.minimum_size` elements (never for an empty one), and measures it.
pub fn quantize(graph: &GraphDef, options: &QuantizeOptions) -> Result<QuantizedWeights> {
    if options.mode == QuantizeMode::Int8Full {
        let message = "int8-full quantizes activations as well as weights: only format=tflite takes it";
        return Err(Error::new(ErrorKind::InvalidArgument, message.to_string()));
    }
    let int8 = options.mode == QuantizeMode::Int8;
    let roles = if int8 { channel_roles(graph) } else { HashMap::new() };
    let biases = if options.mode == QuantizeMode::Uint8 { HashMap::new() } else { biases(graph) };
    let index = graph::index_by_name(graph);
    let elements_of = |name: &str| {
        let node = index.get(name).map(|&i| &graph.node[i]);
        let shape =
            node.and_then(|n| attr_tensor(n, "value")).and_then(|t| t.tensor_shape.as_ref()).and_then(shape_dims);
        shape.and_then(|s| element_count(&s)).unwrap_or(0)
    };
    let mut weights = BTreeMap::new();
    let mut report = QuantizationReport { mode: options.mode, ..Default::default() };
    // Each Const's fate, in graph order; the encodings are computed on every core.
    let mut outcomes: Vec<Outcome> = Vec::new();
    let mut jobs: Vec<(usize, &NodeDef, Tensor)> = Vec::new();
    for node in graph.node.iter().filter(|n| n.op == "Const") {
        let Some(proto) = attr_tensor(node, "value") else { continue };
        let tensor = match Tensor::from_proto(proto) {
            Ok(tensor) => tensor,
            Err(e) if proto.dtype == DataType::DtFloat as i32 => {
                return Err(e.prefixed(format_args!("Const \"{}\"", node.name)).about(&node.name))
            }
            // A constant we cannot even read (resource, variant) is left alone.
            Err(_) => {
                report.bytes_before += proto.tensor_content.len() as u64;
                report.bytes_after += proto.tensor_content.len() as u64;
                continue;
            }
        };
        let size = tensor.byte_len() as u64;
        report.bytes_before += size;
        let elements = tensor.num_elements() as usize;
        // The weights a bias is added to, when those are a constant.
        let bias_of = biases.get(node.name.as_str()).copied().flatten();
        // float16: a bias takes its weights' encoding, whatever its size, since
        // TensorFlow's converter does so, and XNNPACK ran a model with float32
        // biases beside float16 weights 4.7x slower.
        let follows_weights = bias_of.is_some_and(|w| elements_of(w) >= options.minimum_size);
        let small = elements < options.minimum_size && !(options.mode == QuantizeMode::Float16 && follows_weights);
        if tensor.dtype != DataType::DtFloat || elements == 0 || small {
            report.bytes_after += size;
            continue;
        }
        // int8: TFLite's hybrid kernels read a float32 bias, as TensorFlow's
        // dynamic-range quantization leaves it.
        if int8 && bias_of.is_some() {
            outcomes.push(Outcome::Skipped { node, size, reason: "a bias, kept float32".to_string() });
            continue;
        }
        jobs.push((outcomes.len(), node, tensor));
        outcomes.push(Outcome::Pending);
    }
    let encoded = on_every_core(&jobs, |(_, node, tensor)| {
        let values = tensor.f32_values().expect("float32 tensors convert");
        let role = roles.get(node.name.as_str()).copied().unwrap_or(ChannelRole::Last);
        let result = encode::encode(&values, &tensor.shape, options.mode, role)
            .map(|weight| {
                let measured = measure::measure(&node.name, &weight, &values);
                (weight, measured)
            })
            .map_err(|reason| (tensor.byte_len() as u64, reason));
        // Read once: a mapped tensor's pages can go until the emitter needs them.
        if let TensorData::Raw(bytes) = &tensor.data {
            crate::mapped::release(bytes);
        }
        result
    });
    for ((slot, node, _), result) in jobs.iter().zip(encoded) {
        outcomes[*slot] = match result {
            Ok((weight, measured)) => Outcome::Encoded { node, weight, measured },
            Err((size, reason)) => Outcome::Skipped { node, size, reason },
        };
    }
    for outcome in outcomes {
        match outcome {
            Outcome::Encoded { node, weight, measured } => {
                report.bytes_after += weight.byte_len() as u64;
                report.tensors.push(measured);
                weights.insert(node.name.clone(), weight);
            }
            Outcome::Skipped { node, size, reason } => {
                report.bytes_after += size;
                report.skipped.push(SkippedTensor { name: node.name.clone(), reason });
            }
            Outcome::Pending => unreachable!("every job has a result"),
        }
    }
    Ok(QuantizedWeights { mode: options.mode, weights, report })
}

/// What quantizing one float `Const` came to.
enum Outcome<'g> {
    Pending,
    Encoded {
        node: &'g NodeDef,
        weight: QuantizedWeight,
        measured: TensorReport,
    },
    /// Left float32 (`size` bytes), for `reason`.
    Skipped {
        node: &'g NodeDef,
        size: u64,
        reason: String,
    },
}

/// `work` on each item, spread over the machine's cores (a model's tensors
/// are independent); the results in the items' order.
fn on_every_core<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { return mine };
                        mine.push((i, work(item)));
                    }
                })
            })
            .collect();
        // A panic in a worker is re-raised here, where it would have happened without the threads.
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// Symmetric int8 per channel of `axis` (`shape[axis]` channels), as the
/// `int8` mode stores weights: the levels and each channel's scale. For a
/// weight already in another layout (TFLite's), whose channels are one axis.
pub(crate) fn int8_per_channel(values: &[f32], shape: &[i64], axis: usize) -> (Vec<i8>, Vec<f32>) {
    let count = shape.get(axis).map_or(1, |&d| d.max(1) as usize);
    match encode::encode_int8(values, channels::Channels::from_encoding(shape, axis, count)) {
        WeightEncoding::Int8 { values, scales, .. } => (values, scales),
        _ => unreachable!("encode_int8 writes int8"),
    }
}

/// A constant operand of one of TensorFlow's quantized kernels, as uint8
/// over a range that holds zero, with its error against `tensor`. Any size
/// and any finite float32 tensor qualifies: the kernel takes nothing else.
pub(crate) fn quantize_operand(
    name: &str,
    tensor: &Tensor,
) -> std::result::Result<(QuantizedWeight, TensorReport), String> {
    let values = tensor.to_f32_vec().ok_or_else(|| "is not float32".to_string())?;
    let weight = encode::encode_uint8_operand(&values, &tensor.shape)?;
    let report = measure::measure(name, &weight, &values);
    Ok((weight, report))
}

/// A weight quantized from another graph (or a stale run), or built by hand
/// with values that do not fill its shape or an axis it does not have, must
/// not be spliced in: the writers index `shape[axis]` and walk the values.
pub(crate) fn check_weight_fits(node: &NodeDef, weight: &QuantizedWeight) -> Result<()> {
    let mismatch = |what: String| {
        Err(Error::new(ErrorKind::ShapeMismatch, format!("quantized weight \"{}\" {what}", node.name))
            .about(&node.name))
    };
    let proto = attr_tensor(node, "value");
    let shape = proto.and_then(|t| t.tensor_shape.as_ref()).map(|s| s.dim.iter().map(|d| d.size).collect::<Vec<_>>());
    let is_float = proto.is_some_and(|t| t.dtype == DataType::DtFloat as i32);
    if !is_float || shape.as_deref() != Some(weight.shape.as_slice()) {
        return mismatch("does not match the graph's float32 constant of that name".to_string());
    }
    let elements = element_count(&weight.shape);
    if elements != Some(weight.num_elements()) {
        return mismatch(format!(
            "holds {} values, but its shape {} has {} elements",
            weight.num_elements(),
            format_shape(&weight.shape),
            elements.map_or("too many".to_string(), |n| n.to_string())
        ));
    }
    if let WeightEncoding::Int8 { scales, axis, .. } = &weight.encoding {
        let rank = weight.shape.len();
        let per_tensor = scales.len() == 1 && *axis == 0;
        // One scale per channel of `axis`, or per element of the dims from `axis` on (depthwise).
        let channels = |dims: &[i64]| element_count(dims);
        let fits = per_tensor
            || (*axis < rank
                && (channels(&weight.shape[*axis..*axis + 1]) == Some(scales.len())
                    || channels(&weight.shape[*axis..]) == Some(scales.len())));
        if !fits {
            return mismatch(format!(
                "has {} int8 scales on axis {axis}, which shape {} does not have channels for",
                scales.len(),
                format_shape(&weight.shape)
            ));
        }
    }
    Ok(())
}
