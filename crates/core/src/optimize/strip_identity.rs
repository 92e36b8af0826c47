//! Removes nodes inference does not need: ops that pass their input through
//! (`Identity`, `StopGradient`, `CheckNumerics`, …) and ops that only order
//! execution (`NoOp`, `Assert`). Unlike TensorFlow's `remove_training_nodes`,
//! consumers are rewired to the node's input (also when spelled `x:0`), and
//! control edges move to what the removed node waited for.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::edit::{self, Consumers};
use super::{Log, Protected, Rewrite};
use crate::graph::attr_type;
use crate::names::{self, node_of, output_index};
use crate::proto::{GraphDef, NodeDef};

/// Ops whose output 0 is their input 0.
const PASSTHROUGH_OPS: [&str; 6] =
    ["Identity", "StopGradient", "Snapshot", "PreventGradient", "CheckNumerics", "Print"];

/// Ops with no data output that matters for inference: consumers only wait for them.
const CONTROL_ONLY_OPS: [&str; 3] = ["NoOp", "Assert", "PrintV2"];

/// Ops whose outputs are live or dead one by one, so a control edge from
/// the op does not stand for an edge from one of its outputs.
const SWITCH_OPS: [&str; 3] = ["Switch", "RefSwitch", "_SwitchN"];

pub(crate) fn strip(graph: &mut GraphDef, protected: &Protected, log: &mut Log) {
    edit::tidy_control_inputs(&mut graph.node);
    bypass_passthroughs(graph, protected, log);
    drop_control_only_nodes(graph, protected, log);
    edit::tidy_control_inputs(&mut graph.node);
}

// ---- passthrough ops -------------------------------------------------------------

fn bypass_passthroughs(graph: &mut GraphDef, protected: &Protected, log: &mut Log) {
    let nodes = &graph.node;
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
    let consumers = Consumers::of(nodes);
    let targets = edit::colocation_target_names(nodes);
    let mut removable: HashSet<usize> =
        (0..nodes.len()).filter(|&i| is_bypassable(&nodes[i], protected, &targets, &consumers)).collect();

    // A control edge from a removed node moves to the producer of its source.
    // Not when that producer is a switch: the control edge would then be
    // live on both branches (this keeps v1 cond pivots such as `switch_t`).
    loop {
        let blocked: Vec<usize> = removable
            .iter()
            .copied()
            .filter(|&i| consumers.control(&nodes[i].name).next().is_some())
            .filter(|&i| {
                let source = source_of(nodes, &index, &removable, i);
                index.get(node_of(&source)).is_some_and(|&p| SWITCH_OPS.contains(&nodes[p].op.as_str()))
            })
            .collect();
        if blocked.is_empty() {
            break;
        }
        for i in &blocked {
            removable.remove(i);
        }
    }

    let sources: HashMap<usize, String> =
        removable.iter().map(|&i| (i, source_of(nodes, &index, &removable, i))).collect();
    let rewired: Vec<Vec<String>> =
        nodes.iter().map(|node| node.input.iter().map(|input| rewire(input, &index, &sources)).collect()).collect();
    let mut removed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let old = std::mem::take(&mut graph.node);
    for (i, (mut node, inputs)) in old.into_iter().zip(rewired).enumerate() {
        if removable.contains(&i) {
            removed.entry(node.op.clone()).or_default().push(node.name);
            continue;
        }
        node.input = inputs;
        graph.node.push(node);
    }
    for (op, names) in removed {
        log.applied(Rewrite::Removed { op, names });
    }
}

/// A passthrough op, or a `Cast` to the type it reads (left behind when an
/// input's dtype was changed to what the graph casts it to).
fn is_passthrough(node: &NodeDef) -> bool {
    PASSTHROUGH_OPS.contains(&node.op.as_str())
        || (node.op == "Cast"
            && attr_type(node, "SrcT").is_some()
            && attr_type(node, "SrcT") == attr_type(node, "DstT"))
}

fn is_bypassable(node: &NodeDef, protected: &Protected, targets: &HashSet<String>, consumers: &Consumers) -> bool {
    is_passthrough(node)
        && node.input.first().is_some_and(|i| !names::is_control_input(i))
        && edit::control_inputs(node).next().is_none()
        && !protected.contains(&node.name)
        && !targets.contains(&node.name)
        && consumers.data(&node.name).all(|e| e.port == Some(0))
}

/// Where a removed node's value comes from: its input 0, followed through
/// other removed nodes.
fn source_of(nodes: &[NodeDef], index: &HashMap<&str, usize>, removable: &HashSet<usize>, start: usize) -> String {
    let mut source = edit::canonical_input(&nodes[start].input[0]);
    for _ in 0..nodes.len() {
        match index.get(source.as_str()) {
            Some(&next) if removable.contains(&next) => source = edit::canonical_input(&nodes[next].input[0]),
            _ => break,
        }
    }
    source
}

fn rewire(input: &str, index: &HashMap<&str, usize>, sources: &HashMap<usize, String>) -> String {
    let Some(source) = index.get(node_of(input)).and_then(|i| sources.get(i)) else {
        return input.to_string();
    };
    if names::is_control_input(input) {
        edit::control_input(node_of(source))
    } else if output_index(input) == 0 {
        source.clone()
    } else {
        input.to_string()
    }
}

// ---- control-only ops ------------------------------------------------------------

/// Removes `NoOp`/`Assert`/`PrintV2` nodes one at a time; whoever waited for
/// one now waits for its control inputs instead.
fn drop_control_only_nodes(graph: &mut GraphDef, protected: &Protected, log: &mut Log) {
    let mut removed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    loop {
        let consumers = Consumers::of(&graph.node);
        let targets = edit::colocation_target_names(&graph.node);
        let Some(i) = (0..graph.node.len()).find(|&i| is_droppable(&graph.node, i, protected, &targets, &consumers))
        else {
            break;
        };
        let node = graph.node.remove(i);
        let forwarded: Vec<String> = edit::control_inputs(&node).cloned().collect();
        let dropped = edit::control_input(&node.name);
        for other in graph.node.iter_mut() {
            if other.input.contains(&dropped) {
                other.input.retain(|input| *input != dropped);
                other.input.extend(forwarded.iter().cloned());
            }
        }
        removed.entry(node.op).or_default().push(node.name);
    }
    for (op, names) in removed {
        log.applied(Rewrite::Removed { op, names });
    }
}

/// A control-only node can go unless it is protected or a colocation target,
/// or some waiting node would be left with no inputs at all (which would
/// move it out of its cond branch or loop frame).
fn is_droppable(
    nodes: &[NodeDef],
    i: usize,
    protected: &Protected,
    targets: &HashSet<String>,
    consumers: &Consumers,
) -> bool {
    let node = &nodes[i];
    if !CONTROL_ONLY_OPS.contains(&node.op.as_str())
        || protected.contains(&node.name)
        || targets.contains(&node.name)
        || consumers.data(&node.name).next().is_some()
    {
        return false;
    }
    let forwarded = edit::control_inputs(node).count();
    node.input.is_empty() || consumers.control(&node.name).all(|e| nodes[e.consumer].input.len() - 1 + forwarded > 0)
}
