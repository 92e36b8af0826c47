//! Small graph-editing helpers the optimize passes share: edges, constants,
//! control-edge hygiene and loop frames.

use std::collections::{HashMap, HashSet};

use crate::graph::{self, colocation_targets};
use crate::names::{self, node_of, output_index};
use crate::proto::NodeDef;
use crate::tensor::Tensor;

pub(crate) fn data_inputs(node: &NodeDef) -> impl Iterator<Item = &String> {
    node.input.iter().filter(|i| !names::is_control_input(i))
}

pub(crate) fn control_inputs(node: &NodeDef) -> impl Iterator<Item = &String> {
    node.input.iter().filter(|i| names::is_control_input(i))
}

/// `x:0` is spelled `x`, so that rewrites comparing input strings see one
/// spelling (TensorFlow's own rewrites miss `x:0`).
pub(crate) fn canonical_input(input: &str) -> String {
    if !names::is_control_input(input) && output_index(input) == 0 {
        node_of(input).to_string()
    } else {
        input.to_string()
    }
}

pub(crate) fn control_input(node: &str) -> String {
    format!("^{node}")
}

/// One edge into a node: which consumer reads it, at which input position,
/// and from which output (`None` for a control edge).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Edge {
    pub consumer: usize,
    pub position: usize,
    pub port: Option<usize>,
}

/// Every node's outgoing edges, by producer name.
pub(crate) struct Consumers {
    edges: HashMap<String, Vec<Edge>>,
}

impl Consumers {
    pub(crate) fn of(nodes: &[NodeDef]) -> Self {
        let mut edges: HashMap<String, Vec<Edge>> = HashMap::new();
        for (consumer, node) in nodes.iter().enumerate() {
            for (position, input) in node.input.iter().enumerate() {
                let port = (!names::is_control_input(input)).then(|| output_index(input));
                edges.entry(node_of(input).to_string()).or_default().push(Edge { consumer, position, port });
            }
        }
        Consumers { edges }
    }

    pub(crate) fn all(&self, producer: &str) -> &[Edge] {
        self.edges.get(producer).map(Vec::as_slice).unwrap_or_default()
    }

    pub(crate) fn data(&self, producer: &str) -> impl Iterator<Item = &Edge> {
        self.all(producer).iter().filter(|e| e.port.is_some())
    }

    pub(crate) fn control(&self, producer: &str) -> impl Iterator<Item = &Edge> {
        self.all(producer).iter().filter(|e| e.port.is_none())
    }
}

/// Names that some node's `_class` attr colocates with.
pub(crate) fn colocation_target_names(nodes: &[NodeDef]) -> HashSet<String> {
    nodes.iter().flat_map(|n| colocation_targets(n).into_iter().map(str::to_string)).collect()
}

/// The value of a `Const` node, if it is one and decodes.
pub(crate) fn const_value(node: &NodeDef) -> Option<Tensor> {
    if node.op != "Const" {
        return None;
    }
    Tensor::from_proto(graph::attr_tensor(node, "value")?).ok()
}

pub(crate) use crate::graph::unique_name;

pub(crate) fn node_names(nodes: &[NodeDef]) -> HashSet<String> {
    nodes.iter().map(|n| n.name.clone()).collect()
}

/// Drops control edges that cannot change anything: duplicates, a control
/// edge from a node that is also a data input (the data edge already orders
/// and kills), and one from a `Const` without inputs (always live, no
/// effects). A `Const` with inputs is kept: its control inputs put it in a
/// cond branch or a loop frame. Repeats until stable, since a `Const` that
/// loses its last control input becomes droppable in turn.
pub(crate) fn tidy_control_inputs(nodes: &mut [NodeDef]) -> bool {
    let mut changed_any = false;
    loop {
        let free_consts: HashSet<String> =
            nodes.iter().filter(|n| n.op == "Const" && n.input.is_empty()).map(|n| n.name.clone()).collect();
        let mut changed = false;
        for node in nodes.iter_mut() {
            let data: HashSet<String> = data_inputs(node).map(|i| node_of(i).to_string()).collect();
            let mut seen = HashSet::new();
            let before = node.input.len();
            node.input.retain(|input| {
                if !names::is_control_input(input) {
                    return true;
                }
                let source = node_of(input);
                !data.contains(source) && !free_consts.contains(source) && seen.insert(source.to_string())
            });
            changed |= node.input.len() != before;
        }
        if !changed {
            return changed_any;
        }
        changed_any = true;
    }
}

/// Ops that build v1 `while_loop` frames.
pub(crate) const LOOP_OPS: [&str; 8] =
    ["Enter", "RefEnter", "Exit", "RefExit", "NextIteration", "RefNextIteration", "LoopCond", "ControlTrigger"];

/// Which nodes run inside a v1 `while_loop` frame. A node's frame depth is
/// the largest of its inputs' (data and control), one more after an
/// `Enter`, one less after an `Exit`; relaxed to a fixed point because
/// loops are cycles (`NextIteration` → `Merge`).
pub(crate) fn in_while_frames(nodes: &[NodeDef]) -> Vec<bool> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
    let mut depth = vec![0i64; nodes.len()];
    for _ in 0..=nodes.len() {
        let mut changed = false;
        for (i, node) in nodes.iter().enumerate() {
            let deepest = node.input.iter().filter_map(|s| index.get(node_of(s))).map(|&j| depth[j]).max();
            let mut d = deepest.unwrap_or(0);
            match node.op.as_str() {
                "Enter" | "RefEnter" => d += 1,
                "Exit" | "RefExit" => d = (d - 1).max(0),
                _ => {}
            }
            if d > depth[i] {
                depth[i] = d;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    depth.into_iter().map(|d| d > 0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_graphs::node;

    #[test]
    fn finds_nodes_inside_loops() {
        let nodes = vec![
            node("x", "Placeholder", &[]),
            node("enter", "Enter", &["x"]),
            node("merge", "Merge", &["enter", "next"]),
            node("cond", "LoopCond", &["merge"]),
            node("switch", "Switch", &["merge", "cond"]),
            node("body", "Identity", &["switch:1"]),
            node("c", "Const", &["^body"]),
            node("next", "NextIteration", &["body"]),
            node("exit", "Exit", &["switch"]),
            node("after", "Relu", &["exit"]),
        ];
        let inside = in_while_frames(&nodes);
        let names: Vec<&str> = nodes.iter().zip(&inside).filter(|(_, &f)| f).map(|(n, _)| n.name.as_str()).collect();
        assert_eq!(names, ["enter", "merge", "cond", "switch", "body", "c", "next"]);
    }

    #[test]
    fn drops_control_edges_that_change_nothing() {
        let mut nodes = vec![
            node("k", "Const", &[]),
            node("branch_k", "Const", &["^pivot"]),
            node("pivot", "Identity", &["k"]),
            node("a", "Relu", &["pivot", "^pivot", "^k", "^branch_k", "^branch_k"]),
        ];
        tidy_control_inputs(&mut nodes);
        assert_eq!(nodes[3].input, ["pivot", "^branch_k"]);
        assert_eq!(nodes[1].input, ["^pivot"]);
    }
}
