//! Keeps only what the outputs need, as `extract_sub_graph` does: the nodes
//! reached through data inputs, control inputs and `_class` colocation, in
//! their original order.

use std::collections::HashSet;

pub(crate) use crate::graph::reachable;
use crate::proto::{attr_value, AttrValue, GraphDef, NodeDef};

pub(crate) fn prune(graph: &mut GraphDef, roots: &[String]) {
    let keep = reachable(graph, roots);
    let nodes = std::mem::take(&mut graph.node);
    graph.node = nodes.into_iter().zip(keep).filter_map(|(node, keep)| keep.then_some(node)).collect();
    drop_dangling_colocations(&mut graph.node);
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
