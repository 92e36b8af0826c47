//! What in a training graph serves training, not inference: the switches a
//! training script feeds (`is_training`, dropout's `keep_prob`), gradients and
//! the losses they are taken of, and streaming metrics. Freezing uses this to
//! infer a model's outputs; optimizing uses it to fix the switches.

use std::collections::{HashMap, HashSet};

use crate::graph::{attr_shape, attr_type};
use crate::names::{self, node_of};
use crate::proto::{DataType, GraphDef, MetaGraphDef, NodeDef};

/// A placeholder a training script feeds to switch between training and
/// inference, and the value inference takes.
#[derive(Debug, Clone, PartialEq)]
pub struct InferenceConstant {
    pub name: String,
    pub value: ConstantValue,
    /// Why it was taken for a switch, for the log.
    pub reason: &'static str,
}

/// A value a placeholder is fixed to (`is_training=false`, `keep_prob=1.0`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConstantValue {
    Bool(bool),
    Float(f64),
}

impl std::fmt::Display for ConstantValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConstantValue::Bool(b) => write!(f, "{b}"),
            ConstantValue::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// Names training scripts give their train/inference switch.
const SWITCH_NAMES: [&str; 5] = ["is_training", "training", "phase_train", "learning_phase", "train_mode"];

/// The placeholders a conversion fixes by default: bool placeholders that only
/// choose between `cond` branches (or carry a switch's name), and float
/// placeholders that only feed dropout. A `PlaceholderWithDefault` is left to
/// its default unless it is a bool switch.
pub fn inference_constants(graph: &GraphDef) -> Vec<InferenceConstant> {
    let consumers = data_consumers(graph);
    let mut found = Vec::new();
    for node in &graph.node {
        let is_placeholder = node.op == "Placeholder" || node.op == "PlaceholderWithDefault";
        if !is_placeholder || !is_scalar_or_unknown(node) {
            continue;
        }
        let last = node.name.rsplit('/').next().unwrap_or(&node.name).to_ascii_lowercase();
        match attr_type(node, "dtype") {
            Some(DataType::DtBool) => {
                let reason = if SWITCH_NAMES.iter().any(|n| last.contains(n)) {
                    "a bool placeholder named as a training switch"
                } else if only_chooses_branches(graph, &consumers, &node.name) {
                    "a bool placeholder that only chooses cond branches"
                } else {
                    continue;
                };
                found.push(InferenceConstant { name: node.name.clone(), value: ConstantValue::Bool(false), reason });
            }
            Some(DataType::DtFloat | DataType::DtDouble | DataType::DtHalf) if node.op == "Placeholder" => {
                if !only_feeds_dropout(graph, &consumers, &node.name) {
                    continue;
                }
                let value = if last.contains("rate") { 0.0 } else { 1.0 };
                let reason = "a float placeholder that only feeds dropout";
                found.push(InferenceConstant { name: node.name.clone(), value: ConstantValue::Float(value), reason });
            }
            _ => {}
        }
    }
    found
}

fn is_scalar_or_unknown(node: &NodeDef) -> bool {
    attr_shape(node, "shape").is_none_or(|s| s.is_empty())
}

/// Data consumers of each node: `(consumer, input position)`.
pub(crate) fn data_consumers(graph: &GraphDef) -> HashMap<&str, Vec<(usize, usize)>> {
    let mut consumers: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        for (position, input) in node.input.iter().enumerate().filter(|(_, s)| !names::is_control_input(s)) {
            consumers.entry(node_of(input)).or_default().push((i, position));
        }
    }
    consumers
}

/// Every reader (through `Identity`/`LogicalNot`) is a v1 `Switch`, or a
/// functional `If` taking it as its predicate.
fn only_chooses_branches(graph: &GraphDef, consumers: &HashMap<&str, Vec<(usize, usize)>>, name: &str) -> bool {
    let mut stack = vec![name];
    let mut any = false;
    let mut seen = 0;
    while let Some(current) = stack.pop() {
        seen += 1;
        if seen > graph.node.len() {
            return false;
        }
        for &(i, position) in consumers.get(current).map(Vec::as_slice).unwrap_or_default() {
            let reader = &graph.node[i];
            match (reader.op.as_str(), position) {
                ("Identity" | "LogicalNot", _) => stack.push(&reader.name),
                ("Switch" | "RefSwitch", _) | ("If" | "StatelessIf", 0) => any = true,
                _ => return false,
            }
        }
    }
    any
}

/// Every reader sits in a `dropout` name scope (`dropout/sub`, `dropout_1/mul`),
/// or is scalar arithmetic (`rate = 1 - keep_prob`) whose readers do.
fn only_feeds_dropout(graph: &GraphDef, consumers: &HashMap<&str, Vec<(usize, usize)>>, name: &str) -> bool {
    feeds_only_dropout(graph, consumers, name, 3)
}

fn feeds_only_dropout(graph: &GraphDef, consumers: &HashMap<&str, Vec<(usize, usize)>>, name: &str, depth: u8) -> bool {
    const ARITHMETIC: [&str; 7] = ["Sub", "Mul", "Add", "AddV2", "RealDiv", "Identity", "Cast"];
    let in_dropout =
        |node: &NodeDef| node.name.split('/').rev().skip(1).any(|s| s == "dropout" || is_numbered(s, "dropout"));
    let readers = consumers.get(name).map(Vec::as_slice).unwrap_or_default();
    !readers.is_empty()
        && readers.iter().all(|&(i, _)| {
            let reader = &graph.node[i];
            in_dropout(reader)
                || (depth > 0
                    && ARITHMETIC.contains(&reader.op.as_str())
                    && feeds_only_dropout(graph, consumers, &reader.name, depth - 1))
        })
}

/// `dropout_3` for `dropout`.
fn is_numbered(scope: &str, base: &str) -> bool {
    scope
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// A node `tf.gradients` made: some scope of its name is `gradients` or `gradients_N`.
pub(crate) fn is_gradient_node(name: &str) -> bool {
    name.split('/').rev().skip(1).any(|scope| scope == "gradients" || is_numbered(scope, "gradients"))
}

/// The nodes gradients are taken of. `tf.gradients` seeds the gradient of a
/// loss `L` with `<scope>/grad_ys_N` (or `<scope>/Fill`) and reads it first in
/// `<scope>/L_grad/…`, so the loss is found from the seed's readers' names.
pub(crate) fn losses(graph: &GraphDef, index: &HashMap<&str, usize>) -> Vec<usize> {
    let consumers = data_consumers(graph);
    let mut found = Vec::new();
    for seed in graph.node.iter().filter(|n| is_gradient_seed(&n.name)) {
        let scope = &seed.name[..seed.name.rfind('/').unwrap_or(0)];
        for &(reader, _) in consumers.get(seed.name.as_str()).map(Vec::as_slice).unwrap_or_default() {
            let Some(rest) = graph.node[reader].name.strip_prefix(scope).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            let loss = rest.match_indices("_grad/").find_map(|(at, _)| index.get(&rest[..at]).copied());
            if let Some(loss) = loss.filter(|l| !found.contains(l)) {
                found.push(loss);
            }
        }
    }
    found
}

fn is_gradient_seed(name: &str) -> bool {
    let Some((scope, last)) = name.rsplit_once('/') else { return false };
    let scope_last = scope.rsplit('/').next().unwrap_or(scope);
    let gradients = scope_last == "gradients" || is_numbered(scope_last, "gradients");
    gradients && (last == "Fill" || is_numbered(last, "grad_ys"))
}

/// Streaming metrics' running variables: the meta graph's local and metric
/// variables, else variables named `total` or `count` (`accuracy/total`, and
/// Keras metrics' top-level `total`, `count_1`).
pub(crate) fn metric_variables(graph: &GraphDef, meta: Option<&MetaGraphDef>) -> Vec<usize> {
    let listed: Vec<String> =
        meta.map(|m| collection_variable_names(m, &["local_variables", "metric_variables"])).unwrap_or_default();
    graph
        .node
        .iter()
        .enumerate()
        .filter(|(_, n)| crate::freeze::is_variable_op(&n.op))
        .filter(|(_, n)| {
            let last = n.name.rsplit('/').next().unwrap_or(&n.name);
            listed.contains(&n.name) || ["total", "count"].iter().any(|b| last == *b || is_numbered(last, b))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Node names of the variables in the named collections of a meta graph.
pub(crate) fn collection_variable_names(meta: &MetaGraphDef, collections: &[&str]) -> Vec<String> {
    use prost::Message;
    collections
        .iter()
        .filter_map(|name| meta.collection_def.get(*name))
        .filter_map(|c| match &c.kind {
            Some(crate::proto::collection_def::Kind::BytesList(list)) => Some(list),
            _ => None,
        })
        .flat_map(|list| list.value.iter().filter_map(|b| crate::proto::VariableDef::decode(b.as_slice()).ok()))
        .map(|def| node_of(&def.variable_name).to_string())
        .collect()
}

// ---- what TensorFlow's names and op types give away -----------------------------

/// Shape and size bookkeeping (`SparseSoftmaxCrossEntropyWithLogits/Shape`)
/// is never what a model predicts.
pub(crate) fn is_bookkeeping(node: &NodeDef) -> bool {
    matches!(node.op.as_str(), "Shape" | "ShapeN" | "Size" | "Rank" | "Const" | "NoOp")
}

pub(crate) fn is_observer_op(op: &str) -> bool {
    const OBSERVERS: [&str; 22] = [
        "ScalarSummary",
        "HistogramSummary",
        "ImageSummary",
        "AudioSummary",
        "AudioSummaryV2",
        "TensorSummary",
        "TensorSummaryV2",
        "MergeSummary",
        "WriteSummary",
        "WriteScalarSummary",
        "WriteHistogramSummary",
        "WriteImageSummary",
        "WriteAudioSummary",
        "WriteGraphSummary",
        "WriteRawProtoSummary",
        "SummaryWriter",
        "CreateSummaryFileWriter",
        "FlushSummaryWriter",
        "CloseSummaryWriter",
        "Assert",
        "Print",
        "PrintV2",
    ];
    OBSERVERS.contains(&op)
}

pub(crate) fn is_training_or_saving(node: &NodeDef, variables: &HashSet<&str>, ops: &HashMap<&str, &str>) -> bool {
    const NOT_OUTPUTS: [&str; 16] = [
        "NoOp",
        "Const",
        "VariableV2",
        "Variable",
        "VarHandleOp",
        "Placeholder",
        "PlaceholderWithDefault",
        "ReadVariableOp",
        "VarIsInitializedOp",
        "IsVariableInitialized",
        "Assert",
        "Print",
        "PrintV2",
        "ScalarSummary",
        "HistogramSummary",
        "MergeSummary",
    ];
    let name = node.name.as_str();
    NOT_OUTPUTS.contains(&node.op.as_str())
        || crate::freeze::is_state_update(&node.op)
        || ["save/", "save_", "gradients/", "report_uninitialized"].iter().any(|p| name.starts_with(p))
        || is_initializer_name(name)
        || name.contains("/Initializer/")
        || is_control_flow_plumbing(node, ops)
        // `v/read` of a variable nothing reads
        || (node.op == "Identity" && node.input.first().is_some_and(|i| variables.contains(node_of(i))))
}

/// Loop exits and the pivots of v1 `cond`s (`cond/switch_t`) end up without
/// consumers but are never what a model computes.
fn is_control_flow_plumbing(node: &NodeDef, ops: &HashMap<&str, &str>) -> bool {
    const CONTROL_FLOW: [&str; 7] = ["Enter", "Exit", "Switch", "Merge", "NextIteration", "LoopCond", "ControlTrigger"];
    // v1 cond branches, and while_v2's unused loop outputs (`rnn/while/Identity_3`).
    const SPLITTERS: [&str; 4] = ["Switch", "RefSwitch", "While", "StatelessWhile"];
    let fed_by_splitter =
        node.input.first().is_some_and(|i| ops.get(node_of(i)).is_some_and(|op| SPLITTERS.contains(op)));
    // cond_v2 keeps a gradient's intermediates as extra variant outputs of the If.
    let kept_for_gradient = crate::graph::attr_type(node, "T") == Some(crate::proto::DataType::DtVariant)
        && node
            .input
            .first()
            .is_some_and(|i| ops.get(node_of(i)).is_some_and(|op| matches!(*op, "If" | "StatelessIf")));
    CONTROL_FLOW.contains(&node.op.as_str()) || (node.op == "Identity" && (fed_by_splitter || kept_for_gradient))
}

/// Names TensorFlow gives initializer ops: `init` (`global_variables_initializer`),
/// `init_all_tables`, `init_1`, `init_2`, … and anything under `init/`. Not
/// `initial_state` or `init_op`: those are names a model chose.
fn is_initializer_name(name: &str) -> bool {
    let numbered = |rest: &str| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit());
    matches!(name, "init" | "init_all_tables")
        || name.starts_with("init/")
        || name.strip_prefix("init_").is_some_and(numbered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_scopes_and_seeds() {
        assert!(is_gradient_node("gradients/Mean_grad/Shape"));
        assert!(is_gradient_node("training/Adam/gradients/gradients_1/loss/mul_grad/Mul"));
        assert!(!is_gradient_node("gradients"));
        assert!(!is_gradient_node("my_gradients/x"));
        assert!(is_gradient_seed("gradients/grad_ys_0"));
        assert!(is_gradient_seed("training/gradients_2/Fill"));
        assert!(!is_gradient_seed("gradients/Mean_grad/Fill"));
    }
}
