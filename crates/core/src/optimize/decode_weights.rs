//! Quantized weights decoded back to float32: a `Dequantize` of constants
//! (how `quantize_graph`'s and `tfmodel quantize`'s `weights` and `int8`
//! modes store weights) becomes the float `Const` TensorFlow's CPU kernel
//! computes, so that TF.js and TFLite, which have no such op for these
//! encodings, can run the graph. Only conversions to those formats ask for
//! it: a `.pb` keeps its 8-bit weights.

use std::collections::HashMap;

use super::edit;
use super::{Log, Rewrite};
use crate::emit::dequantize::tf_dequantize_min_first;
use crate::graph::{self, attr_bool, attr_int, attr_string, attr_type};
use crate::names::{is_control_input, node_of, output_index};
use crate::proto::{DataType, GraphDef, NodeDef};
use crate::tensor::Tensor;

pub(crate) fn decode(graph: &mut GraphDef, log: &mut Log) {
    let in_loop = edit::in_while_frames(&graph.node);
    let index: HashMap<String, usize> = graph.node.iter().enumerate().map(|(i, n)| (n.name.clone(), i)).collect();
    let decoded: Vec<(usize, NodeDef)> = graph
        .node
        .iter()
        .enumerate()
        .filter(|(i, node)| node.op == "Dequantize" && !in_loop[*i])
        .filter_map(|(i, node)| {
            let (data, control): (Vec<&String>, Vec<&String>) =
                node.input.iter().partition(|input| !is_control_input(input));
            let values: Option<Vec<Tensor>> = data
                .iter()
                .map(|input| {
                    let producer = *index.get(node_of(input))?;
                    (output_index(input) == 0).then(|| edit::const_value(&graph.node[producer])).flatten()
                })
                .collect();
            let [quantized, min, max] = <[Tensor; 3]>::try_from(values?).ok()?;
            let mut constant = graph::constant(&node.name, &dequantize(node, &quantized, &min, &max)?);
            constant.input = control.into_iter().cloned().collect();
            Some((i, constant))
        })
        .collect();
    let names: Vec<String> = decoded.iter().map(|(_, constant)| constant.name.clone()).collect();
    for (i, constant) in decoded {
        graph.node[i] = constant;
    }
    if !names.is_empty() {
        log.applied(Rewrite::FoldedConstants { op: "Dequantize".into(), names });
    }
}

/// TensorFlow's CPU `Dequantize` to float32 of a quint8 or qint8 tensor, in
/// its modes (`MIN_COMBINED`, `MIN_FIRST`, `SCALED`, the last per channel
/// along `axis` too); `None` for anything else, which is left as it is.
fn dequantize(node: &NodeDef, quantized: &Tensor, min: &Tensor, max: &Tensor) -> Option<Tensor> {
    if attr_type(node, "dtype").is_some_and(|d| d != DataType::DtFloat) {
        return None;
    }
    let bytes = quantized.raw()?;
    let (mins, maxes) = (min.to_f32_vec()?, max.to_f32_vec()?);
    let mode = attr_string(node, "mode").unwrap_or_else(|| "MIN_COMBINED".into());
    let axis = attr_int(node, "axis").unwrap_or(-1);
    let channels = mins.len();
    if channels == 0 || maxes.len() != channels || (axis >= 0 && mode != "SCALED") {
        return None;
    }
    // Element i's channel: its index along `axis` (the one range when there is no axis).
    let (inner, dim) = if axis < 0 {
        (1, 1)
    } else {
        let axis = usize::try_from(axis).ok()?;
        let inner: i64 = quantized.shape.get(axis + 1..)?.iter().product();
        (usize::try_from(inner).ok()?, usize::try_from(*quantized.shape.get(axis)?).ok()?)
    };
    if dim != channels {
        return None;
    }
    let signed = match quantized.dtype {
        DataType::DtQuint8 => false,
        DataType::DtQint8 => true,
        _ => return None,
    };
    let narrow = attr_bool(node, "narrow_range").unwrap_or(false);
    let level = |b: u8| if signed { f32::from(b as i8) } else { f32::from(b) };
    let decode = |b: u8, c: usize| -> Option<f32> {
        let (lo, hi) = (mins[c], maxes[c]);
        Some(match mode.as_str() {
            "MIN_FIRST" if !signed => tf_dequantize_min_first(b, lo, hi),
            // Levels counted from the type's lowest, over the whole range.
            "MIN_COMBINED" => (level(b) + if signed { 128.0 } else { 0.0 }) * ((hi - lo) / 255.0) + lo,
            "SCALED" => {
                let scale = if signed {
                    let lowest = if narrow { -127.0 } else { -128.0 };
                    (lo / lowest).max(hi / 127.0)
                } else {
                    hi / 255.0
                };
                level(b) * scale
            }
            _ => return None,
        })
    };
    let values: Option<Vec<f32>> = bytes.iter().enumerate().map(|(i, &b)| decode(b, (i / inner) % dim)).collect();
    Some(Tensor::from_f32(quantized.shape.clone(), &values?))
}
