//! The frozen graph `tfmodel quantize` (and `format=pb`) writes: quantized
//! weights kept compact and decoded by TensorFlow's own ops at run time.

use bytes::Bytes;

use crate::error::{Error, ErrorKind, Result};
use crate::graph::{constant, type_attr};
use crate::proto::{attr_value, AttrValue, DataType, GraphDef, NodeDef};
use crate::quantize::{check_weight_fits, QuantizedWeight, QuantizedWeights, WeightEncoding};
use crate::tensor::{Tensor, TensorData};

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

/// `quantize_graph`'s `weights_rounded`: every quantized `Const` keeps its
/// name and float32 type but holds the values its 8-bit levels decode to, so
/// the graph computes with the rounded weights at float32's size (a file
/// that compresses well, and a way to measure what 8 bits cost).
pub fn rounded_into_graph(graph: &GraphDef, weights: &QuantizedWeights) -> Result<GraphDef> {
    let mut rounded = graph.clone();
    for node in rounded.node.iter_mut() {
        let Some(weight) = weights.weights.get(&node.name) else { continue };
        check_weight_fits(node, weight)?;
        let value = Tensor::from_f32(weight.shape.clone(), &weight.decode());
        node.attr.insert("value".to_string(), crate::graph::tensor_attr(value.to_proto()));
    }
    Ok(rounded)
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
    let names = ["quantized_const", "quantized_min", "quantized_max"].map(|suffix| format!("{name}_{suffix}"));
    let dequantize = op_node(
        name,
        "Dequantize",
        &[&names[0], &names[1], &names[2]],
        vec![("T", type_attr(DataType::DtQuint8)), ("mode", string_attr("MIN_FIRST"))],
    );
    let range = if values.iter().all(|&q| q == 0) {
        // TensorFlow returns `min` itself for an empty range: exact for a constant tensor.
        (min as f32, min as f32)
    } else {
        min_first_range(min, scale)
    };
    let mut nodes = uint8_constants(names, shape, values, range).to_vec();
    nodes.push(dequantize);
    nodes
}

/// The quint8 levels and the float32 range TensorFlow's `MIN_FIRST` kernels
/// read them with, as the three `Const`s `names` names.
pub(super) fn uint8_constants(names: [String; 3], shape: &[i64], values: &[u8], range: (f32, f32)) -> [NodeDef; 3] {
    let (range_min, range_max) = range;
    let quantized = raw_tensor(DataType::DtQuint8, shape, values.to_vec());
    let [value, low, high] = names;
    [
        constant(&value, &quantized),
        constant(&low, &Tensor::from_f32(vec![], &[range_min])),
        constant(&high, &Tensor::from_f32(vec![], &[range_max])),
    ]
}

fn float16_nodes(name: &str, shape: &[i64], values: &[u16]) -> Vec<NodeDef> {
    let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    vec![
        constant(&format!("{name}_float16"), &raw_tensor(DataType::DtHalf, shape, bytes)),
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
        constant(&format!("{name}_quantized_const"), &raw_tensor(DataType::DtQint8, &stored_shape, bytes)),
        constant(&format!("{name}_quantized_min"), &Tensor::from_f32(range_shape.clone(), &mins)),
        constant(&format!("{name}_quantized_max"), &Tensor::from_f32(range_shape, &maxes)),
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
        nodes.push(constant(&format!("{name}_shape"), &raw_tensor(DataType::DtInt32, &[shape.len() as i64], dims)));
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
pub(super) fn min_first_range(min: f64, scale: f64) -> (f32, f32) {
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

pub(super) fn op_node(name: &str, op: &str, inputs: &[&str], attrs: Vec<(&str, AttrValue)>) -> NodeDef {
    NodeDef {
        name: name.to_string(),
        op: op.to_string(),
        input: inputs.iter().map(|i| i.to_string()).collect(),
        attr: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ..Default::default()
    }
}

pub(super) fn string_attr(value: &str) -> AttrValue {
    AttrValue { value: Some(attr_value::Value::S(value.as_bytes().to_vec())) }
}

fn raw_tensor(dtype: DataType, shape: &[i64], bytes: Vec<u8>) -> Tensor {
    Tensor { dtype, shape: shape.to_vec(), data: TensorData::Raw(Bytes::from(bytes)) }
}
