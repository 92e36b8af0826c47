//! The `optimize` stage: what TensorFlow's `optimize_for_inference` does to a
//! frozen graph (placeholders, pruning, identity stripping, batch-norm
//! folding), plus constant folding, with the preconditions TensorFlow forgets
//! checked. [`optimize`] reads as the list of passes it runs; each pass lives
//! in its own file and every rewrite it makes is reported in
//! [`OptimizedGraph::applied`] as a [`Rewrite`].

mod batch_norm;
mod decode_weights;
mod dropout;
pub(crate) mod edit;
mod fold_constants;
mod inline_if;
mod kernels;
mod pad_to_same;
mod placeholders;
pub(crate) mod prune;
pub(crate) mod rewrite;
mod strip_identity;

use std::collections::HashSet;

use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, index_by_name};
use crate::names::{self, node_of};
use crate::proto::{DataType, GraphDef};
use crate::training::ConstantValue;

pub use rewrite::Rewrite;

/// What to optimize for; mirrors `optimize_for_inference`'s flags.
#[derive(Debug, Clone)]
pub struct OptimizeOptions {
    /// Nodes the graph is fed through (`--input_names`). Each becomes a fresh
    /// `Placeholder` and whatever fed it is pruned. Empty keeps the graph's
    /// own `Placeholder`s (a `PlaceholderWithDefault` then takes its default).
    pub input_names: Vec<String>,
    /// Nodes whose values are wanted (`--output_names`); required.
    pub output_names: Vec<String>,
    /// Dtype of the input placeholders (`--placeholder_type_enum`): one for
    /// all inputs or one per input; empty keeps each input's dtype.
    pub placeholder_type_enum: Vec<DataType>,
    /// Shapes to fix on input placeholders (`-1` for an unknown dim).
    pub placeholder_shapes: Vec<(String, Vec<i64>)>,
    /// Placeholders to fix to a value, matched by "name contains key"
    /// (`--placeholder_to_const_names`, e.g. `is_training=false`,
    /// `keep_prob=1.0`). They win over the switches found by
    /// [`crate::training::inference_constants`], which are fixed too.
    pub training_flags: Vec<(String, ConstantValue)>,
    /// Evaluate subgraphs whose inputs are all constants (default true).
    pub fold_constants: bool,
    /// Nodes kept as they are besides the outputs: lookup-table initializers.
    pub keep: Vec<String>,
    /// Decode `Dequantize`d constant weights to float32 (for formats without the op).
    pub decode_quantized_weights: bool,
}

impl Default for OptimizeOptions {
    fn default() -> Self {
        OptimizeOptions {
            input_names: Vec::new(),
            output_names: Vec::new(),
            placeholder_type_enum: Vec::new(),
            placeholder_shapes: Vec::new(),
            training_flags: Vec::new(),
            fold_constants: true,
            keep: Vec::new(),
            decode_quantized_weights: false,
        }
    }
}

/// One `--placeholder_to_const_names` entry: `is_training=false` fixes the
/// placeholder `is_training` to `false` (`true`/`false` in any case), and
/// `keep_prob=1.0` fixes a float one (a number; `0` and `1` suit bools too).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingFlag {
    pub name: String,
    pub value: ConstantValue,
}

impl std::str::FromStr for TrainingFlag {
    type Err = Error;

    fn from_str(pair: &str) -> Result<Self> {
        let invalid = || {
            Error::new(ErrorKind::InvalidArgument, format!("\"{pair}\" is not name=true, name=false or name=<number>"))
        };
        let (name, value) = pair.split_once('=').ok_or_else(invalid)?;
        let value = match value.trim().to_ascii_lowercase().as_str() {
            "true" => ConstantValue::Bool(true),
            "false" => ConstantValue::Bool(false),
            number => ConstantValue::Float(number.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(invalid)?),
        };
        Ok(TrainingFlag { name: name.trim().to_string(), value })
    }
}

impl From<TrainingFlag> for (String, ConstantValue) {
    fn from(flag: TrainingFlag) -> Self {
        (flag.name, flag.value)
    }
}

/// A graph rewritten for inference.
#[derive(Debug, Clone)]
pub struct OptimizedGraph {
    pub graph: GraphDef,
    /// The input placeholders, in the order asked for (or graph order).
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// Every rewrite made, in order; `Display` gives the line to show.
    pub applied: Vec<Rewrite>,
    /// Things left undone that the caller should know about.
    pub warnings: Vec<String>,
}

/// Rewrites `graph` for inference. The graph is checked before and after:
/// unique names, every input string names a node, outputs and inputs exist.
pub fn optimize(graph: GraphDef, options: &OptimizeOptions) -> Result<OptimizedGraph> {
    check_request(&graph, options)?;
    let mut graph = graph;
    let mut log = Log::default();
    let outputs = options.output_names.clone();

    // Only what the outputs (and the named inputs) need is worth rewriting.
    prune::prune(&mut graph, &[outputs.as_slice(), &options.input_names, &options.keep].concat());
    placeholders::fix_training_flags(&mut graph, options, &mut log)?;
    let inputs = placeholders::choose_inputs(&graph, options);
    placeholders::replace_inputs(&mut graph, &inputs, options, &mut log)?;
    placeholders::resolve_defaults(&mut graph, &inputs, &mut log);
    let protected = Protected::new(&inputs, &[outputs.as_slice(), &options.keep].concat());
    warn_about_unused_inputs(&graph, &inputs, &outputs, &mut log);
    prune::prune(&mut graph, &protected.roots);
    if options.decode_quantized_weights {
        decode_weights::decode(&mut graph, &mut log);
    }

    strip_identity::strip(&mut graph, &protected, &mut log);
    batch_norm::fuse_decomposed(&mut graph, &protected, &mut log);
    if options.fold_constants {
        inline_if::inline(&mut graph, &protected, &mut log);
        fold_constants::fold(&mut graph, &protected, &mut log);
        dropout::remove_inactive(&mut graph, &protected, &mut log);
        // Resolved conds (and dropout removed) leave Identities behind.
        strip_identity::strip(&mut graph, &protected, &mut log);
    }
    // Only live readers may stop a fold: drop what the rewrites left behind.
    prune::prune(&mut graph, &protected.roots);
    batch_norm::fold(&mut graph, &protected, &mut log);
    pad_to_same::fold(&mut graph, &protected, &mut log);
    prune::prune(&mut graph, &protected.roots);

    check_graph(&graph, &inputs, &outputs)?;
    placeholders::check_nothing_unfed(&graph, &inputs, options)?;
    Ok(OptimizedGraph { graph, inputs, outputs, applied: log.applied, warnings: log.warnings })
}

// ---- validation ----------------------------------------------------------------

fn check_request(graph: &GraphDef, options: &OptimizeOptions) -> Result<()> {
    if options.output_names.is_empty() {
        return Err(Error::new(ErrorKind::NoOutputs, "optimize needs output node names"));
    }
    check_graph(graph, &options.input_names, &options.output_names)?;
    if options.placeholder_type_enum.contains(&DataType::DtInvalid) {
        return Err(Error::new(ErrorKind::InvalidArgument, "placeholder_type_enum holds DT_INVALID"));
    }
    if let Some((key, _)) = options.training_flags.iter().find(|(key, _)| key.is_empty()) {
        return Err(Error::new(ErrorKind::InvalidArgument, "a training flag has an empty name").about(key));
    }
    Ok(())
}

/// The gate at both ends: a well-formed graph whose every input string, and
/// every requested input and output, names a node.
fn check_graph(graph: &GraphDef, inputs: &[String], outputs: &[String]) -> Result<()> {
    graph::check_graph(graph)?;
    let index = index_by_name(graph);
    for node in &graph.node {
        if let Some(missing) = node.input.iter().map(|i| node_of(i)).find(|name| !index.contains_key(name)) {
            return Err(Error::new(
                ErrorKind::UnknownNode,
                format!("node \"{}\" reads \"{missing}\", which the graph does not hold", node.name),
            )
            .about(missing)
            .suggest(names::closest(missing, index.keys().copied())));
        }
    }
    graph::require_nodes(graph, outputs)?;
    graph::require_nodes(graph, inputs)
}

fn warn_about_unused_inputs(graph: &GraphDef, inputs: &[String], outputs: &[String], log: &mut Log) {
    let reached = prune::reachable(graph, outputs);
    let index = index_by_name(graph);
    for input in inputs {
        if index.get(input.as_str()).is_some_and(|&i| !reached[i]) {
            log.warn(format!("input {input} does not feed any output; it is kept as an unused placeholder"));
        }
    }
}

// ---- state shared by the passes ------------------------------------------------

/// The nodes no pass may remove or change: the inputs and outputs.
pub(crate) struct Protected {
    names: HashSet<String>,
    /// Outputs first, then inputs: what pruning keeps.
    roots: Vec<String>,
}

impl Protected {
    fn new(inputs: &[String], outputs: &[String]) -> Self {
        let roots: Vec<String> = outputs.iter().chain(inputs).cloned().collect();
        Protected { names: roots.iter().cloned().collect(), roots }
    }

    pub(crate) fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }
}

/// What the passes did, for the caller.
#[derive(Default)]
pub(crate) struct Log {
    applied: Vec<Rewrite>,
    warnings: Vec<String>,
}

impl Log {
    pub(crate) fn applied(&mut self, rewrite: Rewrite) {
        self.applied.push(rewrite);
    }

    pub(crate) fn warn(&mut self, line: impl Into<String>) {
        self.warnings.push(line.into());
    }
}
