//! A leaner graph for TF.js, whose executor pays for every node it visits:
//! `Identity`s that only pass a tensor on are bypassed, and constants with
//! equal values are stored once. TF.js-only because TensorFlow's v1 control
//! flow needs some of those `Identity`s as pivots, and because a `.pb`
//! should keep TensorFlow's node names.

use std::collections::{HashMap, HashSet};

use prost::Message;

use crate::graph;
use crate::names::{is_control_input, node_of};
use crate::optimize::edit::{data_inputs, Consumers};
use crate::proto::{DataType, GraphDef};

/// Ops whose outputs are live one branch at a time: an `Identity` after one
/// stands for that branch (a cond's pivot) and stays.
const SWITCH_OPS: [&str; 2] = ["Switch", "RefSwitch"];

/// Ops that fill lookup tables: their constants go to TF.js's
/// `modelInitializer`, which must not share them with the model.
const TABLE_INIT_OPS: [&str; 4] = ["LookupTableImport", "LookupTableImportV2", "InitializeTable", "InitializeTableV2"];

/// Bypasses every `Identity` that nothing waits on by control edge and that
/// is not protected; its readers read its input. Its own control inputs
/// go: TF.js treats them as plain dependencies, which the data input
/// already gives. Returns the bypassed nodes.
pub fn bypass_identities(graph: &mut GraphDef, protected: &HashSet<String>) -> Vec<String> {
    let mut bypassed = Vec::new();
    loop {
        let plan: Option<(usize, String)> = {
            let index = graph::index_by_name(graph);
            let consumers = Consumers::of(&graph.node);
            graph.node.iter().enumerate().find_map(|(i, node)| {
                if node.op != "Identity" || protected.contains(&node.name) {
                    return None;
                }
                let input = data_inputs(node).next()?;
                let source = index.get(node_of(input)).map(|&p| graph.node[p].op.as_str());
                let waited_on = consumers.control(&node.name).next().is_some();
                (!waited_on && !source.is_some_and(|op| SWITCH_OPS.contains(&op))).then(|| (i, input.clone()))
            })
        };
        let Some((i, input)) = plan else { break };
        let name = graph.node.remove(i).name;
        for node in &mut graph.node {
            for slot in node.input.iter_mut().filter(|s| !is_control_input(s)) {
                if node_of(slot) == name {
                    // An Identity has one output: `name` and `name:0` both mean it.
                    *slot = input.clone();
                }
            }
        }
        bypassed.push(name);
    }
    bypassed
}

/// Constants with equal dtype, shape and bytes become one: readers of the
/// later ones read the first, so the weights hold those bytes once.
/// Constants with control inputs (inside a loop frame or a cond branch),
/// protected ones and table initializers' ones are left alone. Returns the
/// constants dropped.
pub fn share_equal_constants(graph: &mut GraphDef, protected: &HashSet<String>) -> Vec<String> {
    let table_constants: HashSet<String> = graph
        .node
        .iter()
        .filter(|n| TABLE_INIT_OPS.contains(&n.op.as_str()))
        .flat_map(|n| n.input.iter().map(|i| node_of(i).to_string()))
        .collect();
    let mut first: HashMap<Vec<u8>, String> = HashMap::new();
    let mut replaced: HashMap<String, String> = HashMap::new();
    for node in &graph.node {
        let shareable = node.op == "Const"
            && node.input.is_empty()
            && !protected.contains(&node.name)
            && !table_constants.contains(&node.name)
            && graph::attr_type(node, "dtype") != Some(DataType::DtString);
        let Some(value) = graph::attr_tensor(node, "value").filter(|_| shareable) else { continue };
        let key = value.encode_to_vec();
        match first.get(&key) {
            Some(kept) => {
                replaced.insert(node.name.clone(), kept.clone());
            }
            None => {
                first.insert(key, node.name.clone());
            }
        }
    }
    if replaced.is_empty() {
        return Vec::new();
    }
    graph.node.retain(|n| !replaced.contains_key(&n.name));
    for node in &mut graph.node {
        for slot in node.input.iter_mut() {
            let control = is_control_input(slot);
            if let Some(kept) = replaced.get(node_of(slot)) {
                *slot = if control { format!("^{kept}") } else { kept.clone() };
            }
        }
    }
    let mut dropped: Vec<String> = replaced.into_keys().collect();
    dropped.sort();
    dropped
}
