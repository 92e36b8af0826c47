//! What folds into an operator, as TFLite's converter folds it: a constant
//! bias vector added to a convolution or matmul becomes its bias input, and
//! a Relu/Relu6 after an op whose options hold an activation becomes that
//! activation. Only a node read by nothing else (and not a model output) is
//! folded, so no tensor anyone reads disappears.

use std::collections::{HashMap, HashSet};

use super::ops::{self, fused_activation, Kind};
use super::schema_generated::tflite::ActivationFunctionType;
use crate::graph::{self, attr_string};
use crate::names::{is_control_input, node_of, output_index};
use crate::proto::{DataType, GraphDef, NodeDef};

/// What folds into the operator of one node.
#[derive(Debug, Clone)]
pub(super) struct Fused {
    /// The input naming the constant bias of a folded `BiasAdd`/`Add`.
    pub bias: Option<String>,
    pub activation: ActivationFunctionType,
    /// The node whose output the operator's result is (the last one folded in).
    pub last: usize,
}

impl Fused {
    pub(super) fn none(node: usize) -> Fused {
        Fused { bias: None, activation: ActivationFunctionType::None, last: node }
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

    let mut plan = Plan { fused: HashMap::new(), absorbed: HashSet::new() };
    for &i in order {
        let node = &graph.node[i];
        let Some(kind) = ops::kind(&node.op) else { continue };
        if plan.absorbed.contains(&i) || kind == Kind::Alias {
            continue;
        }
        let mut fused = Fused::none(i);
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

pub(super) use crate::graph::shapes::constant_shape;
