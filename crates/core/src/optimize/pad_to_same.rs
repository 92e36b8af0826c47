//! A zero `Pad` before a VALID convolution that pads exactly as SAME would
//! (Keras's `ZeroPadding2D` before MobileNet's strided convolutions, which
//! pad `(0, 1)` on an even input) becomes that convolution's SAME padding:
//! the same values, without writing out a padded copy of the activations.
//! TFLite's converter folds it the same way; every output format gains.

use super::edit::{data_inputs, Consumers};
use super::{Log, Protected, Rewrite};
use crate::graph::shapes::{constant_ints, constant_shape, nhwc_list, same_padding, ShapeInference};
use crate::graph::{self, attr_string, index_by_name};
use crate::names::{is_control_input, node_of, output_index};
use crate::proto::{attr_value, AttrValue, GraphDef, NodeDef};

const CONVOLUTIONS: [&str; 2] = ["Conv2D", "DepthwiseConv2dNative"];

pub(crate) fn fold(graph: &mut GraphDef, protected: &Protected, log: &mut Log) {
    let folds: Vec<(usize, String)> = {
        let index = index_by_name(graph);
        let consumers = Consumers::of(&graph.node);
        let shapes = ShapeInference::new(graph);
        graph
            .node
            .iter()
            .enumerate()
            .filter(|(_, conv)| CONVOLUTIONS.contains(&conv.op.as_str()))
            .filter_map(|(i, conv)| {
                let input = conv.input.first()?;
                let pad = &graph.node[*index.get(node_of(input))?];
                let only_reader = consumers.all(&pad.name).len() == 1 && output_index(input) == 0;
                if protected.contains(&pad.name) || !only_reader {
                    return None;
                }
                Some((i, same_padding_input(graph, &index, &shapes, pad, conv)?))
            })
            .collect()
    };
    for (i, unpadded) in folds {
        let conv = &mut graph.node[i];
        conv.input[0] = unpadded;
        conv.attr.insert("padding".into(), AttrValue { value: Some(attr_value::Value::S(b"SAME".to_vec())) });
        log.applied(Rewrite::FoldedPadding { node: conv.name.clone() });
    }
}

/// The input of `pad` when it zero-pads only the spatial dims of `conv`'s
/// NHWC input, by exactly what SAME padding adds, and `conv` pads VALID.
fn same_padding_input(
    graph: &GraphDef,
    index: &std::collections::HashMap<&str, usize>,
    shapes: &ShapeInference,
    pad: &NodeDef,
    conv: &NodeDef,
) -> Option<String> {
    if pad.op != "Pad" || attr_string(conv, "padding").as_deref() != Some("VALID") {
        return None;
    }
    // What must run before the Pad would lose its edge with it.
    if pad.input.iter().any(|i| is_control_input(i)) {
        return None;
    }
    if attr_string(conv, "data_format").is_some_and(|f| f != "NHWC") {
        return None;
    }
    let inputs: Vec<&String> = data_inputs(pad).collect();
    let [input, paddings] = inputs.as_slice() else { return None };
    let shape = shapes.shape_of(input)?;
    let paddings = constant_ints(graph, index, paddings)?;
    let filter = constant_shape(graph, index, conv.input.get(1)?)?;
    let strides = nhwc_list(conv, "strides")?;
    // Absent dilations are 1; malformed ones are not folded.
    let dilations = match graph::attr(conv, "dilations") {
        None => vec![1; 4],
        Some(_) => nhwc_list(conv, "dilations")?,
    };
    if shape.len() != 4
        || paddings.len() != 8
        || filter.len() != 4
        || paddings[..2] != [0, 0]
        || paddings[6..] != [0, 0]
    {
        return None;
    }
    for axis in 1..3 {
        let (size, stride, dilation) = (shape[axis], strides[axis], dilations[axis]);
        if size <= 0 || stride <= 0 || dilation <= 0 || strides[0] != 1 || strides[3] != 1 {
            return None;
        }
        let (_, before, after) = same_padding(size, filter[axis - 1], stride, dilation);
        if paddings[axis * 2..axis * 2 + 2] != [before, after] {
            return None;
        }
    }
    Some(input.to_string())
}
