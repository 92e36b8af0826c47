//! Weight quantization: decides how each large float32 `Const` is stored,
//! reports what that costs in accuracy, and writes a TensorFlow-loadable
//! graph that decodes the stored weights with TensorFlow's own ops.
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

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::graph::{attr_bool, attr_tensor, index_by_name, tensor_attr, through_identities, type_attr};
use crate::names;
use crate::proto::{attr_value, AttrValue, DataType, GraphDef, NodeDef, TensorProto};
use crate::tensor::{f16_to_f32, f32_to_f16, shape_proto, Tensor};

/// How quantized weights are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuantizeMode {
    /// Affine uint8 per tensor (`quantize`, `quantize=uint8`, TensorFlow's `eightbit`).
    #[default]
    Uint8,
    /// Half precision.
    Float16,
    /// Symmetric int8 per output channel, dequantized by our own loader.
    Int8,
}

impl QuantizeMode {
    /// Every spelling [`QuantizeMode::from_str`] accepts.
    pub const NAMES: [&'static str; 4] = ["uint8", "eightbit", "float16", "int8"];

    pub fn name(self) -> &'static str {
        match self {
            QuantizeMode::Uint8 => "uint8",
            QuantizeMode::Float16 => "float16",
            QuantizeMode::Int8 => "int8",
        }
    }
}

impl FromStr for QuantizeMode {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "uint8" | "eightbit" => Ok(QuantizeMode::Uint8),
            "float16" => Ok(QuantizeMode::Float16),
            "int8" => Ok(QuantizeMode::Int8),
            _ => Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown quantization mode \"{text}\" (expected uint8, eightbit, float16 or int8)"),
            )
            .suggest(names::closest(text, QuantizeMode::NAMES))),
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
    let roles = if options.mode == QuantizeMode::Int8 { channel_roles(graph) } else { HashMap::new() };
    let mut weights = BTreeMap::new();
    let mut report = QuantizationReport { mode: options.mode, ..Default::default() };
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
        if tensor.dtype != DataType::DtFloat || elements == 0 || elements < options.minimum_size {
            report.bytes_after += size;
            continue;
        }
        let values = tensor.to_f32_vec().expect("float32 tensors convert");
        let role = roles.get(node.name.as_str()).copied().unwrap_or(ChannelRole::Last);
        match encode(&values, &tensor.shape, options.mode, role) {
            Ok(weight) => {
                report.bytes_after += weight.byte_len() as u64;
                report.tensors.push(measure(&node.name, &weight, &values));
                weights.insert(node.name.clone(), weight);
            }
            Err(reason) => {
                report.bytes_after += size;
                report.skipped.push(SkippedTensor { name: node.name.clone(), reason });
            }
        }
    }
    Ok(QuantizedWeights { mode: options.mode, weights, report })
}

fn encode(values: &[f32], shape: &[i64], mode: QuantizeMode, role: ChannelRole) -> Result<QuantizedWeight, String> {
    let encoding = match mode {
        QuantizeMode::Uint8 => {
            require_finite(values)?;
            encode_uint8(values)
        }
        QuantizeMode::Float16 => encode_float16(values)?,
        QuantizeMode::Int8 => {
            require_finite(values)?;
            encode_int8(values, Channels::of(shape, role))
        }
    };
    Ok(QuantizedWeight { shape: shape.to_vec(), encoding })
}

fn require_finite(values: &[f32]) -> Result<(), String> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err("holds NaN or infinite values, which have no place on an integer grid".to_string())
    }
}

/// TensorFlow's reference `FloatToQuantized` over the tensor's own range,
/// computed in float64. The degenerate range stores zeros with scale 1.
fn encode_uint8(values: &[f32]) -> WeightEncoding {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(f64::from(v)), hi.max(f64::from(v))));
    if lo == hi {
        return WeightEncoding::Uint8 { values: vec![0; values.len()], min: lo, scale: 1.0 };
    }
    let levels_per_unit = 255.0 / (hi - lo);
    // `f64::round` rounds half away from zero, as C's `round` does.
    let offset = (lo * levels_per_unit).round();
    let q = values.iter().map(|&v| ((f64::from(v) * levels_per_unit).round() - offset).clamp(0.0, 255.0) as u8);
    let scale = 1.0 / levels_per_unit;
    // `offset · scale` rather than `offset / S`: the decoder's `zp · scale + min`
    // then cancels to exactly 0 in float64, where the division could leave a crumb.
    WeightEncoding::Uint8 { values: q.collect(), min: offset * scale, scale }
}

fn encode_float16(values: &[f32]) -> Result<WeightEncoding, String> {
    const HALF_MAX: f32 = 65504.0;
    let bits: Vec<u16> = values.iter().map(|&v| f32_to_f16(v)).collect();
    let overflows = values.iter().zip(&bits).any(|(v, &b)| v.is_finite() && !f16_to_f32(b).is_finite());
    if overflows {
        return Err(format!("holds values beyond float16's range (±{HALF_MAX})"));
    }
    Ok(WeightEncoding::Float16 { values: bits })
}

fn encode_int8(values: &[f32], channels: Channels) -> WeightEncoding {
    let mut max_abs = vec![0f32; channels.count];
    for (i, v) in values.iter().enumerate() {
        let c = channels.of_element(i);
        max_abs[c] = max_abs[c].max(v.abs());
    }
    let scales: Vec<f32> = max_abs.into_iter().map(int8_scale).collect();
    let q = values.iter().enumerate().map(|(i, &v)| {
        let scale = f64::from(scales[channels.of_element(i)]);
        (f64::from(v) / scale).round().clamp(-127.0, 127.0) as i8
    });
    WeightEncoding::Int8 { values: q.collect(), scales, axis: channels.axis }
}

/// `max|w| / 127` as a float32 that TensorFlow's SCALED `Dequantize` gets
/// back exactly from the `±127·s` range we store (it divides in float32), so
/// the `.pb` and the browser decode the same bits. An all-zero channel gets 1.
fn int8_scale(max_abs: f32) -> f32 {
    if max_abs == 0.0 {
        return 1.0;
    }
    let recovered = |s: f32| (127.0f32 * s) / 127.0;
    let mut scale = ((f64::from(max_abs) / 127.0) as f32).max(f32::from_bits(1));
    for _ in 0..4 {
        let next = recovered(scale);
        if next == scale {
            return scale;
        }
        scale = next;
    }
    // With 17 significant bits, 127·s is exact in float32, so it always survives.
    f32::from_bits(scale.to_bits() & !0x7f)
}

// ---- channels ----------------------------------------------------------------

/// Which axis of a weight holds its output channels, from the op that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChannelRole {
    /// Conv2D filters (HWIO), MatMul weights `[in, out]`, and everything else
    /// of rank 2 or more (vectors and scalars get a single scale).
    Last,
    /// MatMul weights used with `transpose_b` (`[out, in]`).
    First,
    /// DepthwiseConv2dNative filters `[H, W, Cin, M]`: channel `ci·M + m`,
    /// over the last two dims.
    Depthwise,
}

/// Element `i` belongs to channel `⌊i / inner⌋ mod count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Channels {
    axis: usize,
    count: usize,
    inner: usize,
}

impl Channels {
    fn of(shape: &[i64], role: ChannelRole) -> Channels {
        let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
        let rank = dims.len();
        // A vector has no channels to speak of: one scale per element would
        // cost four bytes of scale for each byte saved.
        if rank <= 1 {
            return Channels { axis: 0, count: 1, inner: 1 };
        }
        match role {
            ChannelRole::Depthwise if rank >= 2 => {
                Channels { axis: rank - 2, count: dims[rank - 2] * dims[rank - 1], inner: 1 }
            }
            ChannelRole::First => Channels { axis: 0, count: dims[0], inner: dims[1..].iter().product() },
            _ => Channels { axis: rank - 1, count: dims[rank - 1], inner: 1 },
        }
    }

    /// The layout an `Int8` encoding's `axis` and scale count describe.
    fn from_encoding(shape: &[i64], axis: usize, count: usize) -> Channels {
        let elements: i64 = shape.iter().product();
        let outer: i64 = shape.get(..axis).map_or(1, |dims| dims.iter().product());
        let count = count.max(1);
        let inner = (elements as usize / (outer.max(1) as usize * count)).max(1);
        Channels { axis, count, inner }
    }

    fn of_element(&self, i: usize) -> usize {
        (i / self.inner) % self.count
    }
}

/// The role of every `Const` that is the filter or weight input of a
/// convolution or matrix product, looking through `Identity` nodes.
fn channel_roles(graph: &GraphDef) -> HashMap<&str, ChannelRole> {
    let index = index_by_name(graph);
    let mut roles = HashMap::new();
    for node in &graph.node {
        let role = match node.op.as_str() {
            "Conv2D" | "_FusedConv2D" | "Conv3D" => ChannelRole::Last,
            "DepthwiseConv2dNative" | "FusedDepthwiseConv2dNative" => ChannelRole::Depthwise,
            "MatMul" | "_FusedMatMul" if attr_bool(node, "transpose_b") == Some(true) => ChannelRole::First,
            "MatMul" | "_FusedMatMul" => ChannelRole::Last,
            _ => continue,
        };
        let Some(weight) = node.input.get(1) else { continue };
        if let Some(source) = const_behind(graph, &index, weight) {
            roles.entry(source).or_insert(role);
        }
    }
    roles
}

fn const_behind<'g>(graph: &'g GraphDef, index: &HashMap<&str, usize>, input: &str) -> Option<&'g str> {
    let (_, node) = through_identities(graph, index, input)?;
    (node.op == "Const").then_some(node.name.as_str())
}

// ---- decoding and measuring ----------------------------------------------------

impl QuantizedWeight {
    pub fn num_elements(&self) -> usize {
        match &self.encoding {
            WeightEncoding::Uint8 { values, .. } => values.len(),
            WeightEncoding::Float16 { values } => values.len(),
            WeightEncoding::Int8 { values, .. } => values.len(),
        }
    }

    /// Bytes of the stored elements (int8 scales included, 4 bytes each).
    pub fn byte_len(&self) -> usize {
        match &self.encoding {
            WeightEncoding::Uint8 { values, .. } => values.len(),
            WeightEncoding::Float16 { values } => 2 * values.len(),
            WeightEncoding::Int8 { values, scales, .. } => values.len() + 4 * scales.len(),
        }
    }

    /// The stored elements, little-endian, as a TensorFlow.js weight shard
    /// holds them (int8 scales live in the manifest, not here).
    pub fn element_bytes(&self) -> Vec<u8> {
        match &self.encoding {
            WeightEncoding::Uint8 { values, .. } => values.clone(),
            WeightEncoding::Float16 { values } => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            WeightEncoding::Int8 { values, .. } => values.iter().map(|&v| v as u8).collect(),
        }
    }

    /// Exactly the float32 values the consumer decodes.
    pub fn decode(&self) -> Vec<f32> {
        match &self.encoding {
            WeightEncoding::Uint8 { values, min, scale } => {
                values.iter().map(|&q| (f64::from(q) * scale + min) as f32).collect()
            }
            WeightEncoding::Float16 { values } => values.iter().map(|&b| f16_to_f32(b)).collect(),
            WeightEncoding::Int8 { values, scales, axis } => {
                let channels = Channels::from_encoding(&self.shape, *axis, scales.len());
                values.iter().enumerate().map(|(i, &q)| f32::from(q) * scales[channels.of_element(i)]).collect()
            }
        }
    }
}

fn measure(name: &str, weight: &QuantizedWeight, original: &[f32]) -> TensorReport {
    let decoded = weight.decode();
    let (mut max_abs, mut sum, mut signal, mut noise, mut count) = (0f64, 0f64, 0f64, 0f64, 0u64);
    // Non-finite elements survive float16 unchanged and are never quantized otherwise.
    for (&x, &y) in original.iter().zip(&decoded).filter(|(x, _)| x.is_finite()) {
        let error = f64::from(y) - f64::from(x);
        max_abs = max_abs.max(error.abs());
        sum += error;
        signal += f64::from(x) * f64::from(x);
        noise += error * error;
        count += 1;
    }
    let sqnr_db = if noise == 0.0 { f64::INFINITY } else { 10.0 * (signal / noise).log10() };
    TensorReport {
        name: name.to_string(),
        shape: weight.shape.clone(),
        elements: original.len() as u64,
        max_abs_error: max_abs,
        mean_error: if count == 0 { 0.0 } else { sum / count as f64 },
        sqnr_db,
    }
}

// ---- a TensorFlow graph that decodes the weights ---------------------------

/// The frozen graph `tfmodel quantize` writes for TensorFlow: every quantized
/// `Const` `N` is replaced by compact constants and ops named so that `N`
/// still produces the float32 tensor its consumers expect.
///
/// - uint8: `N_quantized_const` (quint8), `N_quantized_min`/`_max` and
///   `Dequantize` `N` in `MIN_FIRST` mode, as TensorFlow's `quantize_weights`
///   wrote them. The range is chosen so that TensorFlow's float32 decoding
///   lands on TensorFlow.js's value (within one float32 rounding).
/// - float16: `N_float16` (half) and `Cast` `N` to float32.
/// - int8: `N_quantized_const` (qint8), per-channel `N_quantized_min`/`_max`
///   (`∓127·scale`; scalars for a single scale) and `Dequantize` `N` in
///   `SCALED` mode with `axis` (−1 for a single scale) and `narrow_range`. A depthwise filter's channels span its last two dims, so
///   it is stored as `[H, W, Cin·M]`, dequantized as `N_dequantized` and
///   reshaped back by `N` (with the shape in `N_shape`).
pub fn dequantize_into_graph(graph: &GraphDef, weights: &QuantizedWeights) -> Result<GraphDef> {
    let mut replaced = 0;
    let mut nodes = Vec::with_capacity(graph.node.len() + 3 * weights.weights.len());
    for node in &graph.node {
        match weights.weights.get(&node.name) {
            Some(weight) if node.op == "Const" => {
                check_weight_fits(node, weight)?;
                nodes.extend(decoding_nodes(node, weight));
                replaced += 1;
            }
            _ => nodes.push(node.clone()),
        }
    }
    if replaced != weights.weights.len() {
        let missing =
            weights.weights.keys().find(|name| !graph.node.iter().any(|n| &n.name == *name && n.op == "Const"));
        let name = missing.cloned().unwrap_or_default();
        return Err(Error::new(
            ErrorKind::UnknownNode,
            format!("quantized weight \"{name}\" is not a Const of this graph"),
        )
        .about(name));
    }
    Ok(GraphDef {
        node: nodes,
        versions: graph.versions.clone(),
        library: graph.library.clone(),
        debug_info: graph.debug_info.clone(),
    })
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
    let elements = crate::tensor::num_elements(&weight.shape).and_then(|n| usize::try_from(n).ok());
    if elements != Some(weight.num_elements()) {
        return mismatch(format!(
            "holds {} values, but its shape {} has {} elements",
            weight.num_elements(),
            crate::tensor::format_shape(&weight.shape),
            elements.map_or("too many".to_string(), |n| n.to_string())
        ));
    }
    if let WeightEncoding::Int8 { scales, axis, .. } = &weight.encoding {
        let rank = weight.shape.len();
        let per_tensor = scales.len() == 1 && *axis == 0;
        // One scale per channel of `axis`, or per element of the dims from `axis` on (depthwise).
        let channels = |dims: &[i64]| crate::tensor::num_elements(dims).and_then(|n| usize::try_from(n).ok());
        let fits = per_tensor
            || (*axis < rank
                && (channels(&weight.shape[*axis..*axis + 1]) == Some(scales.len())
                    || channels(&weight.shape[*axis..]) == Some(scales.len())));
        if !fits {
            return mismatch(format!(
                "has {} int8 scales on axis {axis}, which shape {} does not have channels for",
                scales.len(),
                crate::tensor::format_shape(&weight.shape)
            ));
        }
    }
    Ok(())
}

fn decoding_nodes(node: &NodeDef, weight: &QuantizedWeight) -> Vec<NodeDef> {
    let name = node.name.as_str();
    let mut nodes = match &weight.encoding {
        WeightEncoding::Uint8 { values, min, scale } => uint8_nodes(name, &weight.shape, values, *min, *scale),
        WeightEncoding::Float16 { values } => float16_nodes(name, &weight.shape, values),
        WeightEncoding::Int8 { values, scales, axis } => int8_nodes(name, &weight.shape, values, scales, *axis),
    };
    for new in &mut nodes {
        new.device = node.device.clone();
    }
    nodes
}

fn uint8_nodes(name: &str, shape: &[i64], values: &[u8], min: f64, scale: f64) -> Vec<NodeDef> {
    let (range_min, range_max) = if values.iter().all(|&q| q == 0) {
        // TensorFlow returns `min` itself for an empty range: exact for a constant tensor.
        (min as f32, min as f32)
    } else {
        min_first_range(min, scale)
    };
    let quantized = raw_tensor(DataType::DtQuint8, shape, values.to_vec());
    vec![
        const_node(&format!("{name}_quantized_const"), quantized),
        const_node(&format!("{name}_quantized_min"), f32_tensor(&[], &[range_min])),
        const_node(&format!("{name}_quantized_max"), f32_tensor(&[], &[range_max])),
        op_node(
            name,
            "Dequantize",
            &[&format!("{name}_quantized_const"), &format!("{name}_quantized_min"), &format!("{name}_quantized_max")],
            vec![("T", type_attr(DataType::DtQuint8)), ("mode", string_attr("MIN_FIRST"))],
        ),
    ]
}

fn float16_nodes(name: &str, shape: &[i64], values: &[u16]) -> Vec<NodeDef> {
    let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    vec![
        const_node(&format!("{name}_float16"), raw_tensor(DataType::DtHalf, shape, bytes)),
        op_node(
            name,
            "Cast",
            &[&format!("{name}_float16")],
            vec![
                ("SrcT", type_attr(DataType::DtHalf)),
                ("DstT", type_attr(DataType::DtFloat)),
                ("Truncate", AttrValue { value: Some(attr_value::Value::B(false)) }),
            ],
        ),
    ]
}

fn int8_nodes(name: &str, shape: &[i64], values: &[i8], scales: &[f32], axis: usize) -> Vec<NodeDef> {
    let per_tensor = scales.len() == 1;
    // Channels spanning several trailing dims (depthwise) are flattened into one.
    let flattened = !per_tensor && scales.len() as i64 != shape[axis];
    let (stored_shape, tf_axis) = if per_tensor {
        (shape.to_vec(), -1)
    } else if flattened {
        ([&shape[..axis], &[scales.len() as i64]].concat(), axis as i64)
    } else {
        (shape.to_vec(), axis as i64)
    };
    let range_shape = if per_tensor { vec![] } else { vec![scales.len() as i64] };
    let mins: Vec<f32> = scales.iter().map(|s| -127.0 * s).collect();
    let maxes: Vec<f32> = scales.iter().map(|s| 127.0 * s).collect();
    let dequantize_name = if flattened { format!("{name}_dequantized") } else { name.to_string() };
    let bytes = values.iter().map(|&v| v as u8).collect();
    let mut nodes = vec![
        const_node(&format!("{name}_quantized_const"), raw_tensor(DataType::DtQint8, &stored_shape, bytes)),
        const_node(&format!("{name}_quantized_min"), f32_tensor(&range_shape, &mins)),
        const_node(&format!("{name}_quantized_max"), f32_tensor(&range_shape, &maxes)),
        op_node(
            &dequantize_name,
            "Dequantize",
            &[&format!("{name}_quantized_const"), &format!("{name}_quantized_min"), &format!("{name}_quantized_max")],
            vec![
                ("T", type_attr(DataType::DtQint8)),
                ("mode", string_attr("SCALED")),
                ("axis", AttrValue { value: Some(attr_value::Value::I(tf_axis)) }),
                ("narrow_range", AttrValue { value: Some(attr_value::Value::B(true)) }),
            ],
        ),
    ];
    if flattened {
        let dims: Vec<u8> = shape.iter().flat_map(|&d| (d as i32).to_le_bytes()).collect();
        nodes.push(const_node(&format!("{name}_shape"), raw_tensor(DataType::DtInt32, &[shape.len() as i64], dims)));
        nodes.push(op_node(
            name,
            "Reshape",
            &[&dequantize_name, &format!("{name}_shape")],
            vec![("T", type_attr(DataType::DtFloat)), ("Tshape", type_attr(DataType::DtInt32))],
        ));
    }
    nodes
}

/// A float32 `[min, max]` for TensorFlow's `MIN_FIRST` `Dequantize` whose
/// decoding of every level is closest to TensorFlow.js's `q · scale + min`.
/// The float32 rounding of the ends moves TensorFlow's step slightly, so a few
/// neighbouring ends are tried and the best kept.
fn min_first_range(min: f64, scale: f64) -> (f32, f32) {
    let low = min as f32;
    let high = (min + 255.0 * scale) as f32;
    let mut best = (f64::INFINITY, low, high);
    for low_ulps in [0, -1, 1] {
        for high_ulps in [0, -1, 1, -2, 2] {
            let (lo, hi) = (ulps_away(low, low_ulps), ulps_away(high, high_ulps));
            if hi <= lo {
                continue;
            }
            let worst = (0..=255u8)
                .map(|q| {
                    let browser = (f64::from(q) * scale + min) as f32;
                    (f64::from(tf_dequantize_min_first(q, lo, hi)) - f64::from(browser)).abs()
                })
                .fold(0.0, f64::max);
            if worst < best.0 {
                best = (worst, lo, hi);
            }
        }
    }
    (best.1, best.2)
}

fn ulps_away(value: f32, ulps: i32) -> f32 {
    (0..ulps.unsigned_abs()).fold(value, |v, _| if ulps > 0 { v.next_up() } else { v.next_down() })
}

/// TensorFlow's CPU `Dequantize` of a quint8 level in `MIN_FIRST` mode, in
/// its own float32 steps: `step = (max − min)/255`, the minimum snapped to a
/// whole number of steps, then `min' + q·step`.
pub fn tf_dequantize_min_first(q: u8, min: f32, max: f32) -> f32 {
    if min == max {
        return min;
    }
    let step = (f64::from(max - min) / 255.0) as f32;
    let snapped_min = (min / step).round() * step;
    snapped_min + f32::from(q) * step
}

fn const_node(name: &str, value: TensorProto) -> NodeDef {
    let mut node = NodeDef { name: name.to_string(), op: "Const".to_string(), ..Default::default() };
    node.attr.insert("dtype".to_string(), type_attr(crate::dtype::from_i32(value.dtype)));
    node.attr.insert("value".to_string(), tensor_attr(value));
    node
}

fn op_node(name: &str, op: &str, inputs: &[&str], attrs: Vec<(&str, AttrValue)>) -> NodeDef {
    NodeDef {
        name: name.to_string(),
        op: op.to_string(),
        input: inputs.iter().map(|i| i.to_string()).collect(),
        attr: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ..Default::default()
    }
}

fn string_attr(value: &str) -> AttrValue {
    AttrValue { value: Some(attr_value::Value::S(value.as_bytes().to_vec())) }
}

fn raw_tensor(dtype: DataType, shape: &[i64], bytes: Vec<u8>) -> TensorProto {
    TensorProto {
        dtype: dtype as i32,
        tensor_shape: Some(shape_proto(shape)),
        tensor_content: Bytes::from(bytes),
        ..Default::default()
    }
}

fn f32_tensor(shape: &[i64], values: &[f32]) -> TensorProto {
    raw_tensor(DataType::DtFloat, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_scales_survive_tensorflows_float32_round_trip() {
        let mut x = 1e-7f32;
        while x < 1e7 {
            let s = int8_scale(x);
            assert_eq!((127.0f32 * s) / 127.0, s, "{x}");
            assert!((f64::from(s) * 127.0 / f64::from(x) - 1.0).abs() < 1e-4, "{x}");
            x *= 1.0137;
        }
    }

    #[test]
    fn depthwise_channels_run_over_the_last_two_dims() {
        let channels = Channels::of(&[3, 3, 4, 2], ChannelRole::Depthwise);
        assert_eq!((channels.axis, channels.count, channels.inner), (2, 8, 1));
        assert_eq!(channels.of_element(9), 1);
        assert_eq!(Channels::from_encoding(&[3, 3, 4, 2], 2, 8), channels);
        assert_eq!(Channels::from_encoding(&[3, 3, 4, 8], 3, 8).inner, 1);
        assert_eq!(Channels::from_encoding(&[5, 7], 0, 5).inner, 7);
        assert_eq!(Channels::from_encoding(&[6], 0, 1).of_element(5), 0);
        let first = Channels::of(&[5, 7], ChannelRole::First);
        assert_eq!((first.count, first.inner, first.of_element(15)), (5, 7, 2));
    }
}
