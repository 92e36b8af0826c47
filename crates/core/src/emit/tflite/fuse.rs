//! What folds into an operator, as TFLite's converter folds it: a constant
//! bias vector added to a convolution or matmul becomes its bias input, and
//! a Relu/Relu6 after an op whose options hold an activation becomes that
//! activation; and a zero `Pad` before a VALID convolution that pads exactly
//! as SAME would (Keras's `ZeroPadding2D` before a strided conv) becomes
//! that convolution's SAME padding. Only a node read by nothing else (and not a model output) is
//! folded, so no tensor anyone reads disappears.

use std::collections::{HashMap, HashSet};

use super::ops::{self, fused_activation, Kind};
use super::schema_generated::tflite::ActivationFunctionType;
use crate::graph::{self, attr_string, attr_tensor};
use crate::names::{is_control_input, node_of, output_index};
use crate::proto::{DataType, GraphDef, NodeDef};
use crate::tensor::shape_dims;

/// What folds into the operator of one node.
#[derive(Debug, Clone)]
pub(super) struct Fused {
    /// The input naming the constant bias of a folded `BiasAdd`/`Add`.
    pub bias: Option<String>,
    pub activation: ActivationFunctionType,
    /// The input of a folded `Pad`: the convolution reads it, with SAME padding.
    pub unpadded: Option<String>,
    /// The node whose output the operator's result is (the last one folded in).
    pub last: usize,
}

impl Fused {
    pub(super) fn none(node: usize) -> Fused {
        Fused { bias: None, activation: ActivationFunctionType::None, unpadded: None, last: node }
    }
}

pub(super) struct Plan {
    pub fused: HashMap<usize, Fused>,
    /// Nodes folded into another node's operator (they write none of their own).
    pub absorbed: HashSet<usize>,
}

/// Plans the folds over `order` (the nodes to write, inputs first).
pub(super) fn plan(graph: &GraphDef, order: &[usize], outputs: &[String]) -> Plan {
    let index = graph::index_by_name(graph);
    // Who reads output 0 of each node; `None` marks a reader that blocks folding
    // (another output index, or the node being a model output).
    let mut readers: HashMap<usize, Vec<Option<usize>>> = HashMap::new();
    for &i in order {
        for input in graph.node[i].input.iter().filter(|s| !is_control_input(s)) {
            if let Some(&source) = index.get(node_of(input)) {
                readers.entry(source).or_default().push((output_index(input) == 0).then_some(i));
            }
        }
    }
    for output in outputs {
        if let Some(&source) = index.get(output.as_str()) {
            readers.entry(source).or_default().push(None);
        }
    }
    let sole_reader = |i: usize| match readers.get(&i).map(Vec::as_slice) {
        Some([Some(reader)]) => Some(*reader),
        _ => None,
    };

    let shapes = graph::shapes::ShapeInference::new(graph);
    let mut plan = Plan { fused: HashMap::new(), absorbed: HashSet::new() };
    for &i in order {
        let node = &graph.node[i];
        let Some(kind) = ops::kind(&node.op) else { continue };
        if plan.absorbed.contains(&i) || kind == Kind::Alias {
            continue;
        }
        let mut fused = Fused::none(i);
        if matches!(kind, Kind::Conv2D | Kind::DepthwiseConv2D) {
            let pad = node.input.first().and_then(|x| index.get(node_of(x)).copied());
            if let Some(pad) = pad.filter(|&p| sole_reader(p) == Some(i)) {
                if let Some(unpadded) = same_padding_input(graph, &index, &shapes, &graph.node[pad], node) {
                    fused.unpadded = Some(unpadded);
                    plan.absorbed.insert(pad);
                }
            }
        }
        let mut takes_activation = ops::takes_activation(kind);
        if let Some(out) = bias_width(graph, &index, node, kind) {
            takes_activation = true;
            if let Some(reader) = sole_reader(i) {
                if let Some(bias) = bias_of(graph, &index, &graph.node[reader], &node.name, out) {
                    fused.bias = Some(bias);
                    fused.last = reader;
                    plan.absorbed.insert(reader);
                }
            }
        }
        let float = graph::shapes::output_dtype(node) == DataType::DtFloat;
        if let (true, true, Some(reader)) = (takes_activation, float, sole_reader(fused.last)) {
            if let Some(activation) = fused_activation(&graph.node[reader].op) {
                fused.activation = activation;
                fused.last = reader;
                plan.absorbed.insert(reader);
            }
        }
        plan.fused.insert(i, fused);
    }
    plan
}

/// The input of `pad` when it zero-pads only the spatial dims of `conv`'s
/// input, by exactly what SAME padding would add, and `conv` pads VALID.
fn same_padding_input(
    graph: &GraphDef,
    index: &HashMap<&str, usize>,
    shapes: &graph::shapes::ShapeInference,
    pad: &NodeDef,
    conv: &NodeDef,
) -> Option<String> {
    if pad.op != "Pad" || attr_string(conv, "padding").as_deref() != Some("VALID") {
        return None;
    }
    if attr_string(conv, "data_format").is_some_and(|f| f != "NHWC") || node_of(&conv.input[0]) != pad.name {
        return None;
    }
    let input = pad.input.first()?;
    let shape = shapes.shape_of(input)?;
    let paddings = graph::shapes::constant_ints(graph, index, pad.input.get(1)?)?;
    let filter = constant_shape(graph, index, conv.input.get(1)?)?;
    let list = |name: &str| match graph::attr(conv, name) {
        Some(crate::proto::attr_value::Value::List(l)) if l.i.len() == 4 => Some(l.i.clone()),
        None if name == "dilations" => Some(vec![1; 4]),
        _ => None,
    };
    let (strides, dilations) = (list("strides")?, list("dilations")?);
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
        if size <= 0 || stride <= 0 || dilation <= 0 {
            return None;
        }
        let kernel = (filter[axis - 1] - 1) * dilation + 1;
        let out = (size + stride - 1) / stride;
        let total = ((out - 1) * stride + kernel - size).max(0);
        if paddings[axis * 2..axis * 2 + 2] != [total / 2, total - total / 2] {
            return None;
        }
    }
    Some(input.clone())
}

/// The output channels of an op that takes a bias input: a convolution, or
/// a matmul against constant weights (which becomes `FULLY_CONNECTED`).
fn bias_width(graph: &GraphDef, index: &HashMap<&str, usize>, node: &NodeDef, kind: Kind) -> Option<i64> {
    let filter = constant_shape(graph, index, node.input.get(1)?)?;
    match (kind, filter.as_slice()) {
        (Kind::Conv2D, [_, _, _, out]) => Some(*out),
        (Kind::DepthwiseConv2D, [_, _, channels, multiplier]) => Some(channels * multiplier),
        (Kind::MatMul, [rows, columns]) => {
            Some(if graph::attr_bool(node, "transpose_b").unwrap_or(false) { *rows } else { *columns })
        }
        _ => None,
    }
}

/// The bias input of `reader` when it adds a float constant vector of
/// `width` elements to `producer`'s output 0.
fn bias_of(
    graph: &GraphDef,
    index: &HashMap<&str, usize>,
    reader: &NodeDef,
    producer: &str,
    width: i64,
) -> Option<String> {
    let data: Vec<&String> = reader.input.iter().filter(|s| !is_control_input(s)).collect();
    let other = match (reader.op.as_str(), data.as_slice()) {
        ("BiasAdd", [x, b]) if node_of(x) == producer => {
            attr_string(reader, "data_format").is_none_or(|f| f == "NHWC").then_some(*b)?
        }
        ("Add" | "AddV2", [a, b]) if node_of(a) == producer && node_of(b) != producer => *b,
        ("Add" | "AddV2", [a, b]) if node_of(b) == producer && node_of(a) != producer => *a,
        _ => return None,
    };
    let (_, constant) = graph::through_identities(graph, index, other)?;
    let dtype = graph::attr_type(constant, "dtype");
    (constant_shape(graph, index, other)? == [width] && dtype == Some(DataType::DtFloat)).then(|| other.clone())
}

/// The shape of a `Const` an input names (through `Identity`).
pub(super) fn constant_shape(graph: &GraphDef, index: &HashMap<&str, usize>, input: &str) -> Option<Vec<i64>> {
    let (_, node) = graph::through_identities(graph, index, input)?;
    if node.op != "Const" {
        return None;
    }
    shape_dims(attr_tensor(node, "value")?.tensor_shape.as_ref()?)
}
