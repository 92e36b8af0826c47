//! Refusing a graph TFLite cannot hold: every node whose op has no builtin
//! here is named in one [`ErrorKind::UnsupportedOp`], with the cut that
//! would convert: the computed tensors those nodes read, which a model can
//! end at (a detector's raw heads before its non-max suppression).

use std::collections::HashMap;

use super::ops;
use crate::error::{Error, ErrorKind, Result};
use crate::names::{is_control_input, node_of};
use crate::opcheck::UnsupportedNode;
use crate::optimize::rewrite::shown;
use crate::proto::GraphDef;

/// Fails unless every node of `order` (inputs first) has a builtin.
pub(super) fn require_mappable(graph: &GraphDef, order: &[usize], index: &HashMap<&str, usize>) -> Result<()> {
    let has_builtin = |op: &str| matches!(op, "Const" | "Placeholder") || ops::kind(op).is_some();
    let unmappable: Vec<usize> = order.iter().copied().filter(|&i| !has_builtin(&graph.node[i].op)).collect();
    let Some(&first) = unmappable.first() else { return Ok(()) };

    // Downstream of an unmappable node nothing converts; `live` nodes depend on an input.
    let (mut downstream, mut live) = (vec![false; graph.node.len()], vec![false; graph.node.len()]);
    let sources = |i: usize| {
        graph.node[i].input.iter().filter(|s| !is_control_input(s)).filter_map(|s| index.get(node_of(s)).copied())
    };
    for &i in order {
        downstream[i] = !has_builtin(&graph.node[i].op) || sources(i).any(|s| downstream[s]);
        live[i] = graph.node[i].op == "Placeholder" || sources(i).any(|s| live[s]);
    }
    let mut cut: Vec<usize> = Vec::new();
    for &i in order.iter().filter(|&&i| downstream[i]) {
        // An input is no cut: the model would compute nothing.
        for s in sources(i).filter(|&s| !downstream[s] && live[s] && graph.node[s].op != "Placeholder") {
            if !cut.contains(&s) {
                cut.push(s);
            }
        }
    }
    let listed: Vec<String> =
        unmappable.iter().map(|&i| UnsupportedNode::of(&graph.node[i].name, &graph.node[i]).quoted()).collect();
    let nodes = if listed.len() == 1 { "node" } else { "nodes" };
    let mut message = format!("TFLite has no builtin op for {} {nodes}: {}", listed.len(), shown(&listed));
    if !cut.is_empty() {
        let names: Vec<&str> = cut.iter().map(|&i| graph.node[i].name.as_str()).collect();
        message.push_str(&format!("; emit the raw heads with outputs={} and finish in the app", names.join(",")));
    }
    Err(Error::new(ErrorKind::UnsupportedOp, message).about(&graph.node[first].name))
}
