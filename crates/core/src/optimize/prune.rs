//! Keeps only what the outputs need, as `extract_sub_graph` does: the nodes
//! reached through data inputs, control inputs and `_class` colocation, in
//! their original order.

use crate::graph::drop_dangling_colocations;
pub(crate) use crate::graph::reachable;
use crate::proto::GraphDef;

pub(crate) fn prune(graph: &mut GraphDef, roots: &[String]) {
    let keep = reachable(graph, roots);
    let nodes = std::mem::take(&mut graph.node);
    graph.node = nodes.into_iter().zip(keep).filter_map(|(node, keep)| keep.then_some(node)).collect();
    drop_dangling_colocations(&mut graph.node);
}
