//! Batch normalization for inference.
//!
//! (a) [`fuse_decomposed`]: `x·S + (beta − mean·S)` with
//! `S = gamma·rsqrt(var + eps)`, as `tf.nn.batch_normalization` builds it
//! after a conv, becomes one `FusedBatchNormV3`.
//!
//! (b) [`fold`]: an inference-mode batch norm (fused, global-normalization,
//! or already reduced to a per-channel `Mul` + `Add` of constants) right
//! after a `Conv2D`, `DepthwiseConv2dNative` or `MatMul` (optionally through
//! a constant bias add) is folded into the weights: `W' = W·s`, and a
//! `BiasAdd` named as the batch norm adds `o`. One that cannot be folded
//! becomes `Mul` + `Add` with per-channel constants, which TF.js runs.
//!
//! Precision follows TensorFlow's Python fold: `var + eps` in f32, then
//! `s = (1 / sqrt(·)) · gamma` and `o = beta − mean·s` in f64, rounded once
//! to f32 (and `W·s` likewise).

mod fold;
mod fuse;

use std::collections::HashMap;

use super::edit::{self, Consumers};
use crate::graph::{self, attr_string};
use crate::names::output_index;
use crate::proto::{attr_value, DataType, GraphDef, NodeDef};
use crate::tensor::Tensor;

const FUSED_BATCH_NORM_OPS: [&str; 3] = ["FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"];
const GLOBAL_NORMALIZATION: &str = "BatchNormWithGlobalNormalization";
const CONV_OPS: [&str; 3] = ["Conv2D", "DepthwiseConv2dNative", "MatMul"];
const ADD_OPS: [&str; 2] = ["Add", "AddV2"];
const BIAS_OPS: [&str; 3] = ["BiasAdd", "Add", "AddV2"];
/// `FusedBatchNorm*`'s OpDef default for a missing `epsilon`.
const DEFAULT_EPSILON: f32 = 0.0001;

pub(crate) use fold::fold;
pub(crate) use fuse::fuse_decomposed;

/// Names of the nodes `wanted` picks outside while loops, then inside them:
/// a constant made for a node in a loop frame would sit outside the frame.
fn candidates(graph: &GraphDef, wanted: impl Fn(&NodeDef) -> bool) -> (Vec<String>, Vec<String>) {
    let in_loop = edit::in_while_frames(&graph.node);
    let (mut outside, mut inside) = (Vec::new(), Vec::new());
    for (node, in_loop) in graph.node.iter().zip(in_loop).filter(|(n, _)| wanted(n)) {
        if in_loop { &mut inside } else { &mut outside }.push(node.name.clone());
    }
    (outside, inside)
}

// ---- lookups -------------------------------------------------------------------------

/// Name lookups over a node list that does not change while the view lives.
struct View<'a> {
    nodes: &'a [NodeDef],
    index: HashMap<&'a str, usize>,
    consumers: Consumers,
}

impl<'a> View<'a> {
    fn new(nodes: &'a [NodeDef]) -> Self {
        let index = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
        View { nodes, index, consumers: Consumers::of(nodes) }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    /// The node producing a data input, if the input reads its output 0.
    fn producer_index(&self, input: &str) -> Option<usize> {
        if input.starts_with('^') || output_index(input) != 0 {
            return None;
        }
        self.position(crate::names::node_of(input))
    }

    fn producer(&self, input: &str) -> Option<&'a NodeDef> {
        self.producer_index(input).map(|i| &self.nodes[i])
    }

    fn op_of(&self, input: &str) -> Option<&'a str> {
        self.producer(input).map(|n| n.op.as_str())
    }

    /// The two data inputs of a binary `node` whose op is one of `ops`.
    fn operands(&self, node: &NodeDef, ops: &[&str]) -> Option<[String; 2]> {
        if !ops.contains(&node.op.as_str()) {
            return None;
        }
        let inputs: Vec<String> = edit::data_inputs(node).map(|i| edit::canonical_input(i)).collect();
        <[String; 2]>::try_from(inputs).ok()
    }

    /// The value of a float32 `Const` read directly.
    fn float_const(&self, input: &str) -> Option<Tensor> {
        self.producer(input).and_then(edit::const_value).filter(|t| t.dtype == DataType::DtFloat)
    }

    fn float_vector(&self, input: &str) -> Option<Vec<f32>> {
        self.float_const(input).filter(|t| t.shape.len() == 1).and_then(|t| t.to_f32_vec())
    }

    fn float_scalar(&self, input: &str) -> Option<f32> {
        self.float_const(input).filter(|t| t.shape.is_empty()).and_then(|t| t.to_f32_vec()).map(|v| v[0])
    }

    /// Exactly one data edge leaves the node, from output 0.
    fn has_single_reader(&self, name: &str) -> bool {
        let mut readers = self.consumers.data(name);
        readers.next().is_some_and(|e| e.port == Some(0)) && readers.next().is_none()
    }
}

fn data_format(node: &NodeDef) -> String {
    attr_string(node, "data_format").unwrap_or_else(|| "NHWC".to_string())
}

fn attr_f32(node: &NodeDef, name: &str) -> Option<f32> {
    match graph::attr(node, name)? {
        attr_value::Value::F(f) => Some(*f),
        _ => None,
    }
}
