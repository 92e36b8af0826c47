//! Which nodes a model's outputs are when nobody said: the meta graph's
//! serving signature, else the prediction heads of the graph. A training
//! graph holds much more than the model: gradients, optimizer and saver ops,
//! summaries, streaming metrics and the loss, which reads the labels. Those
//! are set aside, and what remains unread is what the model predicts.

use std::collections::{HashMap, HashSet};

use super::is_variable_op;
use super::roles::{Roles, Source};
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, index_by_name};
use crate::names::{self, node_of};
use crate::proto::{GraphDef, MetaGraphDef, NodeDef};
use crate::training;

/// The outputs chosen, each with the reason it was kept, and what was set aside.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InferredOutputs {
    pub outputs: Vec<InferredOutput>,
    /// `(node, why)` for the losses, labels and metrics left out, for the log.
    pub set_aside: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InferredOutput {
    pub name: String,
    pub op: String,
    /// One line: why this node is an output.
    pub why: String,
}

impl InferredOutputs {
    pub fn names(&self) -> Vec<String> {
        self.outputs.iter().map(|o| o.name.clone()).collect()
    }

    /// The outputs, most likely predictions first (softmax, sigmoid and argmax
    /// heads, then names such as `probs` or `logits`), for suggestions.
    pub fn ranked(&self) -> Vec<String> {
        let mut ranked: Vec<&InferredOutput> = self.outputs.iter().collect();
        ranked.sort_by_key(|o| prediction_rank(o));
        ranked.into_iter().map(|o| o.name.clone()).collect()
    }

    /// An error about `failing` (a variable or node some inferred output
    /// needs), told in terms of the inferred outputs: which one needs it, what
    /// all of them are, and which to name instead (in
    /// [`Error::outputs_to_name`]). Other errors pass unchanged.
    pub fn explain(&self, error: Error, nodes: &[NodeDef], failing: &str) -> Error {
        let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
        let needs = |output: &str| {
            let mut seen = HashSet::new();
            let mut stack = vec![output];
            while let Some(name) = stack.pop() {
                if name == failing {
                    return true;
                }
                if let Some(&i) = index.get(name).filter(|_| seen.insert(name)) {
                    stack.extend(nodes[i].input.iter().map(|s| node_of(s)));
                }
            }
            false
        };
        let (failing_outputs, fine): (Vec<String>, Vec<String>) = self.ranked().into_iter().partition(|o| needs(o));
        let Some(first) = failing_outputs.first() else { return error };
        let message = format!(
            "{}; it is needed by the inferred output \"{first}\" (outputs inferred: {}){}",
            error.message,
            self.describe(),
            if fine.is_empty() {
                "; name the outputs to convert (output_node_names)".to_string()
            } else {
                format!("; name the outputs to convert, e.g. output_node_names={}", fine.join(","))
            },
        );
        Error { message, outputs_to_name: fine.into(), ..error }
    }

    /// "probs (Softmax), predictions (ArgMax)".
    pub fn describe(&self) -> String {
        self.outputs.iter().map(|o| format!("{} ({})", o.name, o.op)).collect::<Vec<_>>().join(", ")
    }
}

fn prediction_rank(output: &InferredOutput) -> u8 {
    const HEAD_OPS: [&str; 6] =
        ["Softmax", "Sigmoid", "ArgMax", "TopKV2", "NonMaxSuppressionV3", "NonMaxSuppressionV5"];
    const HEAD_NAMES: [&str; 8] = ["prob", "prediction", "output", "logits", "score", "class", "box", "detection"];
    let name = output.name.to_ascii_lowercase();
    if HEAD_OPS.contains(&output.op.as_str()) {
        0
    } else if HEAD_NAMES.iter().any(|n| name.contains(n)) {
        1
    } else {
        2
    }
}

/// The meta graph's serving signature outputs; else the graph's prediction heads.
pub fn infer_outputs(graph: &GraphDef, meta: Option<&MetaGraphDef>) -> Result<InferredOutputs> {
    if let Some(outputs) = signature_outputs(graph, meta)? {
        let index = index_by_name(graph);
        let outputs = outputs
            .into_iter()
            .map(|name| {
                let op = graph.node[index[name.as_str()]].op.clone();
                InferredOutput { name, op, why: "named by the meta graph's serving signature".to_string() }
            })
            .collect();
        return Ok(InferredOutputs { outputs, set_aside: Vec::new() });
    }
    let inferred = Roles::of(graph, meta).prediction_heads();
    if inferred.outputs.is_empty() {
        return Err(Error::new(
            ErrorKind::NoOutputs,
            "no output nodes were given and the graph has none that are not training or saving nodes; pass output_node_names",
        ));
    }
    Ok(inferred)
}

fn signature_outputs(graph: &GraphDef, meta: Option<&MetaGraphDef>) -> Result<Option<Vec<String>>> {
    let Some(signature) = meta.and_then(serving_signature) else { return Ok(None) };
    let mut outputs: Vec<String> = Vec::new();
    for info in signature.outputs.values() {
        let Some(crate::proto::tensor_info::Encoding::Name(name)) = &info.encoding else { continue };
        let node = node_of(name);
        let index = names::output_index(name);
        if index != 0 {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!(
                    "the signature names output {index} of node \"{node}\" (\"{name}\"), but a frozen model's outputs are nodes \
                     (their output 0); pass output_node_names explicitly"
                ),
            )
            .about(node));
        }
        if !outputs.iter().any(|o| o == node) {
            outputs.push(node.to_string());
        }
    }
    if outputs.is_empty() {
        return Ok(None);
    }
    graph::require_nodes(graph, &outputs)?;
    Ok(Some(outputs))
}

/// `serving_default`, or the only signature there is.
pub fn serving_signature(meta: &MetaGraphDef) -> Option<&crate::proto::SignatureDef> {
    meta.signature_def.get("serving_default").or_else(|| {
        if meta.signature_def.len() == 1 {
            meta.signature_def.values().next()
        } else {
            None
        }
    })
}

// ---- choosing among the roles --------------------------------------------------------

impl Roles<'_> {
    /// The prediction heads: nodes outside the training machinery, computed
    /// from the model's inputs and weights, that nothing reads but summaries
    /// (first tier), or but losses and metrics (second tier: `y` of a
    /// regression, a detector's box head). A second-tier node computed from the
    /// same layer as a first-tier one (an `ArgMax` for an accuracy beside
    /// `probs`) is metric bookkeeping. A requirement no node meets (a graph
    /// without placeholders or variables) is dropped.
    fn prediction_heads(self) -> InferredOutputs {
        let n = self.graph.node.len();
        let weighted = self.downstream(
            &(0..n)
                .filter(|&i| is_variable_op(&self.graph.node[i].op))
                .map(|node| Source { node, port: None })
                .collect::<Vec<_>>(),
        );
        let base: Vec<usize> = (0..n)
            .filter(|&i| {
                let readers = &self.readers[i];
                !self.machinery[i]
                    && !self.loss_region[i]
                    && !training::is_observer_op(&self.graph.node[i].op)
                    && !training::is_bookkeeping(&self.graph.node[i])
                    && readers.iter().all(|&(r, _)| self.ignored_reader(r))
                    // Only gradients read it: their bookkeeping in the forward scope.
                    && (readers.is_empty() || readers.iter().any(|&(r, _)| !self.gradient[r]))
            })
            .collect();
        let mut chosen = base.clone();
        for required in [&self.fed, &weighted] {
            let meeting: Vec<usize> = chosen.iter().copied().filter(|&i| required[i]).collect();
            if !meeting.is_empty() {
                chosen = meeting;
            }
        }
        // What only summaries read includes what they compute (`Mean(Max(probs))`
        // for a `mean_max_prob` scalar): keep the first node of such a chain.
        let summarized: Vec<usize> = chosen.iter().copied().filter(|&i| self.observer[i]).collect();
        chosen.retain(|&i| {
            !self.observer[i] || {
                let above = self.upstream(&[i]);
                !summarized.iter().any(|&j| j != i && above[j])
            }
        });
        let (first, second): (Vec<usize>, Vec<usize>) =
            chosen.into_iter().partition(|&i| self.readers[i].iter().all(|&(r, _)| self.observer[r]));
        let covered = self.upstream(&first);
        let mut heads: Vec<usize> = first;
        heads.extend(second.into_iter().filter(|&i| !self.frontier(i).iter().all(|&f| covered[f])));
        heads.sort_unstable();
        let outputs = heads
            .into_iter()
            .map(|i| {
                let node = &self.graph.node[i];
                InferredOutput { name: node.name.clone(), op: node.op.clone(), why: self.why(i) }
            })
            .collect();
        InferredOutputs { outputs, set_aside: self.set_aside }
    }

    /// The layers a node is computed from: going upstream, the first nodes
    /// that read a variable's value (the node itself when it does).
    fn frontier(&self, start: usize) -> Vec<usize> {
        let carries_weights = &self.carries_weights;
        let reads_weights = |i: usize| {
            self.graph.node[i]
                .input
                .iter()
                .filter(|s| !names::is_control_input(s))
                .any(|s| self.index.get(node_of(s)).is_some_and(|&p| carries_weights[p]))
        };
        let mut seen = vec![false; self.graph.node.len()];
        let mut frontier = Vec::new();
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) || carries_weights[i] {
                continue;
            }
            if reads_weights(i) {
                frontier.push(i);
                continue;
            }
            let inputs = self.graph.node[i].input.iter().filter(|s| !names::is_control_input(s));
            stack.extend(inputs.filter_map(|s| self.index.get(node_of(s)).copied()));
        }
        frontier
    }

    fn why(&self, i: usize) -> String {
        let readers = &self.readers[i];
        if readers.is_empty() {
            return "nothing reads it".to_string();
        }
        let mut by = Vec::new();
        if readers.iter().any(|&(r, _)| self.loss_region[r]) {
            by.push("the loss or metrics");
        }
        if readers.iter().any(|&(r, _)| self.observer[r]) {
            by.push("summaries");
        }
        if readers.iter().any(|&(r, _)| self.gradient[r]) {
            by.push("gradients");
        }
        format!("only {} read it", by.join(" and "))
    }
}
