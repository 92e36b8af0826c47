//! The roles a training graph's nodes play, for output inference: where data
//! enters (placeholders, input pipelines), the training machinery TensorFlow's
//! names and op types give away, gradients, the loss region (losses, metrics
//! and everything fed by a label) and observers (summaries, asserts, prints).

use std::collections::{HashMap, HashSet, VecDeque};

use super::{inputs, is_variable_op};
use crate::graph::index_by_name;
use crate::names::{self, node_of};
use crate::proto::{GraphDef, MetaGraphDef};
use crate::training;

/// Where a model's data enters: a placeholder (every output) or one component
/// of an input pipeline's `IteratorGetNext` (one output).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Source {
    pub(super) node: usize,
    pub(super) port: Option<usize>,
}

pub(super) struct Roles<'g> {
    pub(super) graph: &'g GraphDef,
    pub(super) index: HashMap<&'g str, usize>,
    /// Per node, its readers: `(reader, output read)`, `None` for a control edge.
    pub(super) readers: Vec<Vec<(usize, Option<usize>)>>,
    /// Gradient nodes: they read every forward tensor, so they never count as readers.
    pub(super) gradient: Vec<bool>,
    /// Training, saving and initialization machinery TensorFlow names or types give away.
    pub(super) machinery: Vec<bool>,
    /// The loss and metric region: the losses, metrics, and all that reads a label.
    pub(super) loss_region: Vec<bool>,
    /// Summaries, asserts and prints, and what only they read.
    pub(super) observer: Vec<bool>,
    /// Depends on a placeholder or input pipeline (not on a training switch).
    pub(super) fed: Vec<bool>,
    /// Variables and what passes their value on unchanged (`read`, `Enter`, ...).
    pub(super) carries_weights: Vec<bool>,
    pub(super) set_aside: Vec<(String, String)>,
}

impl<'g> Roles<'g> {
    pub(super) fn of(graph: &'g GraphDef, meta: Option<&MetaGraphDef>) -> Self {
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
            .map(|(node, &g)| g || training::is_training_or_saving(node, &variables, &ops))
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
            carries_weights: Vec::new(),
            set_aside: Vec::new(),
        };
        roles.carries_weights = roles.variable_values();
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
    pub(super) fn downstream(&self, starts: &[Source]) -> Vec<bool> {
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
    pub(super) fn upstream(&self, roots: &[usize]) -> Vec<bool> {
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
        let past_losses = self.downstream(&losses.iter().map(|&node| Source { node, port: None }).collect::<Vec<_>>());
        let mut starts: Vec<Source> = Vec::new();
        for &source in sources {
            let feeds = match source.port {
                None => feeds_roots[source.node],
                Some(port) => self.readers[source.node].iter().any(|&(r, p)| p == Some(port) && feeds_roots[r]),
            };
            if feeds && !self.meets_weights(source, &past_losses, &losses) {
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
    fn meets_weights(&self, source: Source, past_losses: &[bool], losses: &[usize]) -> bool {
        let carries_weights = &self.carries_weights;
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
            (0..self.graph.node.len()).filter(|&i| training::is_observer_op(&self.graph.node[i].op)).collect();
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

    pub(super) fn ignored_reader(&self, i: usize) -> bool {
        self.gradient[i] || self.loss_region[i] || self.observer[i]
    }
}
