//! Which nodes a model's outputs are when nobody said: the meta graph's
//! serving signature, else the prediction heads of the graph. A training
//! graph holds much more than the model: gradients, optimizer and saver ops,
//! summaries, streaming metrics and the loss, which reads the labels. Those
//! are set aside, and what remains unread is what the model predicts.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{inputs, is_variable_op};
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

// ---- roles of a training graph's nodes -----------------------------------------------

/// Where a model's data enters: a placeholder (every output) or one component
/// of an input pipeline's `IteratorGetNext` (one output).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Source {
    node: usize,
    port: Option<usize>,
}

struct Roles<'g> {
    graph: &'g GraphDef,
    index: HashMap<&'g str, usize>,
    /// Per node, its readers: `(reader, output read)`, `None` for a control edge.
    readers: Vec<Vec<(usize, Option<usize>)>>,
    /// Gradient nodes: they read every forward tensor, so they never count as readers.
    gradient: Vec<bool>,
    /// Training, saving and initialization machinery TensorFlow names or types give away.
    machinery: Vec<bool>,
    /// The loss and metric region: the losses, metrics, and all that reads a label.
    loss_region: Vec<bool>,
    /// Summaries, asserts and prints, and what only they read.
    observer: Vec<bool>,
    /// Depends on a placeholder or input pipeline (not on a training switch).
    fed: Vec<bool>,
    set_aside: Vec<(String, String)>,
}

impl<'g> Roles<'g> {
    fn of(graph: &'g GraphDef, meta: Option<&MetaGraphDef>) -> Self {
        let n = graph.node.len();
        let index = index_by_name(graph);
        let mut readers = vec![Vec::new(); n];
        for (i, node) in graph.node.iter().enumerate() {
            for input in &node.input {
                if let Some(&p) = index.get(node_of(input)) {
                    let port = (!names::is_control_input(input)).then(|| names::output_index(input));
                    readers[p].push((i, port));
                }
            }
        }
        let variables: HashSet<&str> =
            graph.node.iter().filter(|n| is_variable_op(&n.op)).map(|n| n.name.as_str()).collect();
        let ops: HashMap<&str, &str> = graph.node.iter().map(|n| (n.name.as_str(), n.op.as_str())).collect();
        let gradient: Vec<bool> = graph.node.iter().map(|n| training::is_gradient_node(&n.name)).collect();
        let machinery: Vec<bool> = graph
            .node
            .iter()
            .zip(&gradient)
            .map(|(node, &g)| g || is_training_or_saving(node, &variables, &ops))
            .collect();
        let mut roles = Roles {
            graph,
            index,
            readers,
            gradient,
            machinery,
            loss_region: vec![false; n],
            observer: vec![false; n],
            fed: vec![false; n],
            set_aside: Vec::new(),
        };
        let sources = roles.sources();
        roles.fed = roles.downstream(&sources);
        roles.mark_observers();
        roles.mark_loss_region(meta, &sources);
        roles
    }

    /// Placeholders other than training switches, and the components of input
    /// pipelines that something reads.
    fn sources(&self) -> Vec<Source> {
        let switches: HashSet<String> = training::inference_constants(self.graph).into_iter().map(|c| c.name).collect();
        let mut sources = Vec::new();
        for (i, node) in self.graph.node.iter().enumerate() {
            if matches!(node.op.as_str(), "Placeholder" | "PlaceholderWithDefault") && !switches.contains(&node.name) {
                sources.push(Source { node: i, port: None });
            } else if inputs::is_pipeline_output(&node.op) {
                let mut ports: Vec<usize> = self.readers[i].iter().filter_map(|&(_, p)| p).collect();
                ports.sort_unstable();
                ports.dedup();
                sources.extend(ports.into_iter().map(|port| Source { node: i, port: Some(port) }));
            }
        }
        sources
    }

    /// Nodes that read, through data edges, what `starts` produce (the start
    /// nodes themselves too, but a pipeline node only through its port).
    /// Gradients are not followed.
    fn downstream(&self, starts: &[Source]) -> Vec<bool> {
        let mut reached = vec![false; self.graph.node.len()];
        let mut queue = VecDeque::new();
        for start in starts {
            if start.port.is_none() {
                reached[start.node] = true;
            }
            for &(reader, port) in &self.readers[start.node] {
                if port.is_some() && (start.port.is_none() || port == start.port) {
                    queue.push_back(reader);
                }
            }
        }
        while let Some(i) = queue.pop_front() {
            if self.gradient[i] || std::mem::replace(&mut reached[i], true) {
                continue;
            }
            queue.extend(self.readers[i].iter().filter(|(_, port)| port.is_some()).map(|&(r, _)| r));
        }
        reached
    }

    /// Nodes whose value the `roots` need, through data edges.
    fn upstream(&self, roots: &[usize]) -> Vec<bool> {
        let mut reached = vec![false; self.graph.node.len()];
        let mut queue: VecDeque<usize> = roots.iter().copied().collect();
        while let Some(i) = queue.pop_front() {
            if std::mem::replace(&mut reached[i], true) {
                continue;
            }
            let inputs = self.graph.node[i].input.iter().filter(|s| !names::is_control_input(s));
            queue.extend(inputs.filter_map(|s| self.index.get(node_of(s)).copied()));
        }
        reached
    }

    /// The losses (what gradients are taken of), streaming metrics, and the
    /// labels: the inputs that feed a loss or a metric and never meet a
    /// variable on the way (the predictions' inputs meet the weights). All that
    /// reads one of those is loss or metric too.
    fn mark_loss_region(&mut self, meta: Option<&MetaGraphDef>, sources: &[Source]) {
        let index = &self.index;
        let losses = training::losses(self.graph, index);
        let metrics = training::metric_variables(self.graph, meta);
        let metric_updates: Vec<usize> = (0..self.graph.node.len())
            .filter(|&i| {
                let node = &self.graph.node[i];
                super::is_state_update(&node.op)
                    && node.input.first().and_then(|v| index.get(node_of(v))).is_some_and(|v| metrics.contains(v))
            })
            .collect();
        let roots: Vec<usize> = losses.iter().chain(&metric_updates).copied().collect();
        if roots.is_empty() {
            return;
        }
        let feeds_roots = self.upstream(&roots);
        let carries_weights = self.variable_values();
        let mut starts: Vec<Source> = Vec::new();
        for &source in sources {
            let feeds = match source.port {
                None => feeds_roots[source.node],
                Some(port) => self.readers[source.node].iter().any(|&(r, p)| p == Some(port) && feeds_roots[r]),
            };
            if feeds && !self.meets_weights(source, &carries_weights, &losses) {
                let name = self.source_name(source);
                self.set_aside.push((name, "a label: only the loss or metrics read it".to_string()));
                starts.push(source);
            }
        }
        for &loss in &losses {
            let name = self.graph.node[loss].name.clone();
            self.set_aside.push((name, "the loss: gradients are taken of it".to_string()));
        }
        for &metric in &metrics {
            let name = self.graph.node[metric].name.clone();
            self.set_aside.push((name, "a streaming metric's variable".to_string()));
        }
        starts.extend(losses.iter().chain(&metrics).chain(&metric_updates).map(|&node| Source { node, port: None }));
        self.loss_region = self.downstream(&starts);
        let made_in_scope: Vec<usize> = metrics.iter().chain(&metric_updates).copied().collect();
        for scope in self.loss_scopes(&losses, &made_in_scope) {
            for (i, node) in self.graph.node.iter().enumerate() {
                if node.name.starts_with(&scope) {
                    self.loss_region[i] = true;
                }
            }
        }
    }

    /// The name scopes a loss or a metric's variables or updates were made in
    /// (`loss/`, `metrics/accuracy/`), unless the scope also holds model
    /// variables (a model that put its loss inside its own scope).
    fn loss_scopes(&self, losses: &[usize], metrics: &[usize]) -> Vec<String> {
        let mut scopes: Vec<String> = losses
            .iter()
            .chain(metrics)
            .filter_map(|&i| self.graph.node[i].name.rsplit_once('/').map(|(scope, _)| format!("{scope}/")))
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes.retain(|scope| {
            !self.graph.node.iter().enumerate().any(|(i, n)| {
                is_variable_op(&n.op)
                    && n.name.starts_with(scope.as_str())
                    && !metrics.contains(&i)
                    && !self.machinery[i]
            })
        });
        scopes
    }

    fn source_name(&self, source: Source) -> String {
        let name = &self.graph.node[source.node].name;
        match source.port {
            Some(port) if port > 0 => format!("{name}:{port}"),
            _ => name.clone(),
        }
    }

    /// Variables and what passes their value on unchanged (`read`, `Enter`, ...).
    fn variable_values(&self) -> Vec<bool> {
        const PASS: [&str; 8] =
            ["Identity", "ReadVariableOp", "Enter", "RefEnter", "Switch", "RefSwitch", "Cast", "RefIdentity"];
        let mut carries = vec![false; self.graph.node.len()];
        let mut queue: VecDeque<usize> =
            self.graph.node.iter().enumerate().filter(|(_, n)| is_variable_op(&n.op)).map(|(i, _)| i).collect();
        while let Some(i) = queue.pop_front() {
            if std::mem::replace(&mut carries[i], true) {
                continue;
            }
            for &(reader, port) in &self.readers[i] {
                let position0 =
                    self.graph.node[reader].input.first().is_some_and(|s| node_of(s) == self.graph.node[i].name);
                if port.is_some() && position0 && PASS.contains(&self.graph.node[reader].op.as_str()) {
                    queue.push_back(reader);
                }
            }
        }
        carries
    }

    /// Whether some node between `source` and the losses (outside the
    /// training machinery and summaries) also reads a variable's value: a
    /// MatMul or Conv2D with its weights.
    fn meets_weights(&self, source: Source, carries_weights: &[bool], losses: &[usize]) -> bool {
        let past_losses = self.downstream(&losses.iter().map(|&node| Source { node, port: None }).collect::<Vec<_>>());
        let reached = self.downstream(&[source]);
        reached.iter().enumerate().any(|(i, &r)| {
            r && !self.machinery[i]
                && !self.observer[i]
                && (!past_losses[i] || losses.contains(&i))
                && !carries_weights[i]
                && self.graph.node[i]
                    .input
                    .iter()
                    .filter(|s| !names::is_control_input(s))
                    .any(|s| self.index.get(node_of(s)).is_some_and(|&p| carries_weights[p]))
        })
    }

    /// Summaries, asserts and prints, then, until nothing changes, every node
    /// whose readers are all observers.
    fn mark_observers(&mut self) {
        let mut queue: VecDeque<usize> =
            (0..self.graph.node.len()).filter(|&i| is_observer_op(&self.graph.node[i].op)).collect();
        while let Some(i) = queue.pop_front() {
            if std::mem::replace(&mut self.observer[i], true) {
                continue;
            }
            for input in &self.graph.node[i].input {
                let Some(&p) = self.index.get(node_of(input)) else { continue };
                let only_observed =
                    !self.readers[p].is_empty() && self.readers[p].iter().all(|&(r, _)| self.observer[r]);
                if only_observed && !self.observer[p] {
                    queue.push_back(p);
                }
            }
        }
    }

    fn ignored_reader(&self, i: usize) -> bool {
        self.gradient[i] || self.loss_region[i] || self.observer[i]
    }

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
                    && !is_observer_op(&self.graph.node[i].op)
                    && !is_bookkeeping(&self.graph.node[i])
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
        let carries_weights = self.variable_values();
        let mut heads: Vec<usize> = first;
        heads.extend(second.into_iter().filter(|&i| !self.frontier(i, &carries_weights).iter().all(|&f| covered[f])));
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
    fn frontier(&self, start: usize, carries_weights: &[bool]) -> Vec<usize> {
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

/// Shape and size bookkeeping (`SparseSoftmaxCrossEntropyWithLogits/Shape`)
/// is never what a model predicts.
fn is_bookkeeping(node: &NodeDef) -> bool {
    matches!(node.op.as_str(), "Shape" | "ShapeN" | "Size" | "Rank" | "Const" | "NoOp")
}

fn is_observer_op(op: &str) -> bool {
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

// ---- what TensorFlow's names and op types give away ---------------------------------

pub(super) fn is_training_or_saving(node: &NodeDef, variables: &HashSet<&str>, ops: &HashMap<&str, &str>) -> bool {
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
        || super::is_state_update(&node.op)
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
    let kept_for_gradient = graph::attr_type(node, "T") == Some(crate::proto::DataType::DtVariant)
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
