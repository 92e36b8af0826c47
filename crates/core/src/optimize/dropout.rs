//! Dropout that drops nothing. Once a training script's `keep_prob` is fixed
//! to 1 (or `rate` to 0) and folded, `tf.nn.dropout` is still in the graph:
//! `SelectV2(RandomUniform(Shape(x)) >= 0, x / 1, 0)`. Its mask is true
//! everywhere (a uniform sample lies in [0, 1)), so the select passes `x`
//! through, and it becomes an `Identity` of it: the random op, which TFLite
//! cannot run and TF.js runs for nothing, goes with the mask.

use std::collections::HashMap;

use super::edit::{self, const_value};
use super::{Log, Protected, Rewrite};
use crate::graph::{self, index_by_name};
use crate::names::{node_of, output_index};
use crate::proto::{AttrValue, GraphDef};

pub(crate) fn remove_inactive(graph: &mut GraphDef, protected: &Protected, log: &mut Log) {
    let index = index_by_name(graph);
    let mut passes: Vec<(usize, String)> = Vec::new();
    for (i, node) in graph.node.iter().enumerate() {
        if !matches!(node.op.as_str(), "SelectV2" | "Select") || protected.contains(&node.name) {
            continue;
        }
        let data: Vec<&String> = edit::data_inputs(node).collect();
        let [mask, kept, _] = data.as_slice() else { continue };
        // The mask must be drawn in the shape of what it keeps, so the select
        // broadcasts nothing (a `noise_shape` mask does not qualify).
        let (Some(sampled), Some(x)) = (always_true(graph, &index, mask), kept_input(graph, &index, kept)) else {
            continue;
        };
        if node_of(sampled) == node_of(&x) && output_index(sampled) == output_index(&x) {
            passes.push((i, x));
        }
    }
    for (i, x) in passes {
        let node = &mut graph.node[i];
        let dtype = graph::attr(node, "T").cloned();
        let controls: Vec<String> = edit::control_inputs(node).cloned().collect();
        node.op = "Identity".into();
        node.input = std::iter::once(x).chain(controls).collect();
        node.attr.clear();
        if let Some(value) = dtype {
            node.attr.insert("T".into(), AttrValue { value: Some(value) });
        }
        log.applied(Rewrite::RemovedDropout { node: node.name.clone() });
    }
}

/// When `mask` is `GreaterEqual(RandomUniform(Shape(t)), c)` with every
/// `c ≤ 0`, so true everywhere: `t`, whose shape the mask has.
fn always_true<'g>(graph: &'g GraphDef, index: &HashMap<&str, usize>, mask: &str) -> Option<&'g str> {
    let node_named = |name: &str| index.get(node_of(name)).map(|&i| &graph.node[i]);
    let compare = node_named(mask).filter(|n| n.op == "GreaterEqual")?;
    let data: Vec<&String> = edit::data_inputs(compare).collect();
    let [sample, threshold] = data.as_slice() else { return None };
    let uniform = node_named(sample).filter(|n| n.op == "RandomUniform")?;
    let shape = node_named(edit::data_inputs(uniform).next()?).filter(|n| n.op == "Shape")?;
    let at_most_zero = node_named(threshold)
        .and_then(const_value)
        .and_then(|t| t.to_f32_vec())
        .is_some_and(|values| !values.is_empty() && values.iter().all(|&v| v <= 0.0));
    at_most_zero.then(|| edit::data_inputs(shape).next().map(String::as_str)).flatten()
}

/// What the select passes on: `x` itself when the kept branch is `x / 1` or
/// `x * 1` (the scale at keep_prob 1), else the kept branch.
fn kept_input(graph: &GraphDef, index: &HashMap<&str, usize>, kept: &str) -> Option<String> {
    let node = &graph.node[*index.get(node_of(kept))?];
    let data: Vec<&String> = edit::data_inputs(node).collect();
    let unscaled = match (node.op.as_str(), data.as_slice()) {
        ("RealDiv" | "Mul", [x, scale]) => {
            let one = index.get(node_of(scale)).and_then(|&i| const_value(&graph.node[i]));
            one.and_then(|t| t.to_f32_vec()).is_some_and(|v| v == [1.0]).then(|| x.to_string())
        }
        _ => None,
    };
    Some(unscaled.unwrap_or_else(|| kept.to_string()))
}
