//! Keeps only what the outputs need, as `extract_sub_graph` does: the nodes
//! reached through data inputs, control inputs and `_class` colocation, in
//! their original order.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::graph::{colocation_targets, index_by_name};
use crate::names::node_of;
use crate::proto::{attr_value, AttrValue, GraphDef, NodeDef};

pub(crate) fn prune(graph: &mut GraphDef, roots: &[String]) {
    let keep = reachable(graph, roots);
    let nodes = std::mem::take(&mut graph.node);
    graph.node = nodes.into_iter().zip(keep).filter_map(|(node, keep)| keep.then_some(node)).collect();
    drop_dangling_colocations(&mut graph.node);
}

/// For each node, whether `roots` reach it.
pub(crate) fn reachable(graph: &GraphDef, roots: &[String]) -> Vec<bool> {
    let index: HashMap<&str, usize> = index_by_name(graph);
    let mut reached = vec![false; graph.node.len()];
    let mut queue: VecDeque<usize> = roots.iter().filter_map(|r| index.get(r.as_str()).copied()).collect();
    while let Some(i) = queue.pop_front() {
        if std::mem::replace(&mut reached[i], true) {
            continue;
        }
        let node = &graph.node[i];
        let dependencies = node.input.iter().map(|s| node_of(s)).chain(colocation_targets(node));
        queue.extend(dependencies.filter_map(|d| index.get(d).copied()).filter(|&d| !reached[d]));
    }
    reached
}

/// Deletes `loc:@X` entries whose `X` is gone; TensorFlow's importer rejects
/// a node colocated with an unknown node.
fn drop_dangling_colocations(nodes: &mut [NodeDef]) {
    let names: HashSet<String> = nodes.iter().map(|n| n.name.clone()).collect();
    for node in nodes.iter_mut() {
        let Some(AttrValue { value: Some(attr_value::Value::List(list)) }) = node.attr.get_mut("_class") else {
            continue;
        };
        list.s.retain(|entry| match std::str::from_utf8(entry).ok().and_then(|s| s.strip_prefix("loc:@")) {
            Some(target) => names.contains(target),
            None => true,
        });
        if list.s.is_empty() {
            node.attr.remove("_class");
        }
    }
}
