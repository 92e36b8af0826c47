//! Freezing, as TensorFlow's `freeze_graph` / `convert_variables_to_constants`
//! does it: prune the graph to what the outputs need, then replace every
//! variable with a `Const` holding its checkpoint value and turn resource
//! reads into plain value ops. Outputs nobody named are inferred
//! ([`outputs`]); input pipelines become placeholders ([`inputs`]).

mod functions;
mod inputs;
mod loops;
pub mod outputs;
mod readers;
mod restore;
mod roles;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use crate::checkpoint::Checkpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, colocation_targets, index_by_name};
use crate::names::{self, node_of};
use crate::proto::{DataType, GraphDef, MetaGraphDef, NodeDef};
use crate::tensor::{Tensor, TensorData};

pub use outputs::{infer_outputs, serving_signature, InferredOutput, InferredOutputs};
use readers::{rewrite_ref_consumers, rewrite_resource_reads};
use restore::{restore, saved_variables, stored_numeric, SavedVariable};

/// What to freeze; mirrors `freeze_graph`'s flags.
#[derive(Debug, Clone)]
pub struct FreezeOptions {
    /// Output node names; empty infers them ([`infer_outputs`]).
    pub output_node_names: Vec<String>,
    /// Blank every node's `device` (`--clear_devices`, on by default as in TensorFlow).
    pub clear_devices: bool,
    /// Freeze only these variables (`--variable_names_whitelist`).
    pub variable_names_whitelist: Option<Vec<String>>,
    /// Never freeze these; they stay variables (`--variable_names_blacklist`).
    pub variable_names_blacklist: Vec<String>,
    /// Take each trainable variable's `<var>/ExponentialMovingAverage` shadow
    /// from the checkpoint, as evaluation scripts restore them (`--use_ema`).
    pub use_ema: bool,
    /// Variable node → checkpoint key, where something other than the graph
    /// says (a SavedModel's object graph); wins over restore ops and `VariableDef`s.
    pub checkpoint_keys: std::collections::BTreeMap<String, String>,
    /// Leave whole numeric variables' values in the checkpoint: their `Const`s
    /// hold dtype and shape only, and [`FrozenGraph::deferred`] says where each
    /// value is, so a writer can read one tensor at a time.
    pub defer_values: bool,
}

impl Default for FreezeOptions {
    fn default() -> Self {
        FreezeOptions {
            output_node_names: Vec::new(),
            clear_devices: true,
            variable_names_whitelist: None,
            variable_names_blacklist: Vec::new(),
            use_ema: false,
            checkpoint_keys: Default::default(),
            defer_values: false,
        }
    }
}

/// A graph whose variables are constants, pruned to its outputs.
#[derive(Debug, Clone)]
pub struct FrozenGraph {
    pub graph: GraphDef,
    pub outputs: Vec<String>,
    /// Placeholders the outputs need, in graph order.
    pub inputs: Vec<String>,
    pub variables: Vec<FrozenVariable>,
    /// How the outputs were chosen, when nobody named them.
    pub inferred: Option<InferredOutputs>,
    /// One line per structural rewrite freezing made: input pipeline
    /// components turned into placeholders, forward loops restored.
    pub rewrites: Vec<String>,
    /// The checkpoint prefix the values came from.
    pub checkpoint: Option<std::path::PathBuf>,
    /// The ops that fill the lookup tables the outputs read (kept in the
    /// graph; a model runs them once before its first lookup).
    pub table_initializers: Vec<String>,
    /// `Const` node → checkpoint key of the value it still lacks
    /// ([`FreezeOptions::defer_values`]).
    pub deferred: BTreeMap<String, String>,
    /// The file the graph was read from (set by the pipeline), which later
    /// errors about its nodes name.
    pub graph_file: Option<std::path::PathBuf>,
}

/// One variable turned into a constant, and where its value came from.
#[derive(Debug, Clone, PartialEq)]
pub struct FrozenVariable {
    pub node: String,
    pub checkpoint_key: String,
    pub dtype: DataType,
    pub shape: Vec<i64>,
}

const VARIABLE_OPS: [&str; 3] = ["VariableV2", "Variable", "VarHandleOp"];

pub(crate) fn is_variable_op(op: &str) -> bool {
    VARIABLE_OPS.contains(&op)
}

/// Suffix `ExponentialMovingAverage` gives its shadow variables.
const EMA_SUFFIX: &str = "/ExponentialMovingAverage";

/// Freezes `graph` with values from `checkpoint`. `meta` supplies the
/// signature (to infer outputs) and `VariableDef`s (to find checkpoint keys).
/// A graph without variables needs no checkpoint.
pub fn freeze(
    graph: GraphDef,
    meta: Option<&MetaGraphDef>,
    checkpoint: Option<&Checkpoint>,
    options: &FreezeOptions,
) -> Result<FrozenGraph> {
    graph::check_graph(&graph)?;
    let (outputs, inferred) = if options.output_node_names.is_empty() {
        let inferred = infer_outputs(&graph, meta)?;
        (inferred.names(), Some(inferred))
    } else {
        graph::require_nodes(&graph, &options.output_node_names)?;
        (options.output_node_names.clone(), None)
    };
    let mut saved = saved_variables(&graph, meta);
    saved.extend(options.checkpoint_keys.iter().map(|(node, key)| (node.clone(), SavedVariable::by_name(key))));
    let trainable: Option<HashSet<String>> = meta
        .map(|m| crate::training::collection_variable_names(m, &["trainable_variables"]).into_iter().collect())
        .filter(|t: &HashSet<String>| !t.is_empty());
    let table_initializers = table_initializers(&graph, &outputs);
    let roots = [outputs.as_slice(), &table_initializers].concat();
    let GraphDef { node, versions, mut library, debug_info } = graph;
    let mut nodes = extract_subgraph(node, &roots)?;
    let mut rewrites = inputs::replace_pipelines(&mut nodes);
    rewrites.extend(loops::restore_forward_loops(&mut nodes, library.as_ref()));
    if !rewrites.is_empty() {
        nodes = extract_subgraph(nodes, &roots)?;
    }

    let mut frozen = Vec::new();
    let mut deferred = BTreeMap::new();
    let mut resource_dtypes = HashMap::new();
    let mut without_shadow = Vec::new();
    for i in 0..nodes.len() {
        let node = &nodes[i];
        if !is_variable_op(&node.op) || !options.allows(&node.name) {
            continue;
        }
        let checkpoint = checkpoint.ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidArgument,
                format!("graph has variables (\"{}\") but no checkpoint was given", node.name),
            )
            .about(&node.name)
        })?;
        let mut variable = saved.get(node.name.as_str()).cloned().unwrap_or_else(|| SavedVariable::by_name(&node.name));
        if options.use_ema {
            let shadow = format!("{}{EMA_SUFFIX}", variable.key);
            if checkpoint.get(&shadow).is_some() {
                variable.key = shadow;
            } else if trainable.as_ref().is_none_or(|t| t.contains(&node.name)) {
                without_shadow.push(node.name.clone());
            }
        }
        let explain = |e: Error| match &inferred {
            Some(inferred) if e.kind == ErrorKind::VariableMissing => inferred.explain(e, &nodes, &nodes[i].name),
            _ => e,
        };
        let stored = match options.defer_values {
            true => stored_numeric(checkpoint, node, &variable).map_err(explain)?,
            false => None,
        };
        let value = match stored {
            // The value's bytes are left out; the writer reads them.
            Some((dtype, shape)) => {
                deferred.insert(node.name.clone(), variable.key.clone());
                Tensor { dtype, shape, data: TensorData::Raw(Default::default()) }
            }
            None => restore(checkpoint, node, &variable).map_err(explain)?,
        };
        let node = &mut nodes[i];
        if node.op == "VarHandleOp" {
            resource_dtypes.insert(node.name.clone(), value.dtype);
        }
        frozen.push(FrozenVariable {
            node: node.name.clone(),
            checkpoint_key: variable.key.clone(),
            dtype: value.dtype,
            shape: value.shape.clone(),
        });
        *node = graph::constant(&node.name, &value);
    }
    check_shadows(options, trainable.is_some(), &frozen, without_shadow, checkpoint)?;

    let mut extra = rewrite_resource_reads(&mut nodes, resource_dtypes, &mut library)?;
    let frozen_ref_names: HashSet<&str> = frozen.iter().map(|v| v.node.as_str()).collect();
    rewrite_ref_consumers(&mut nodes, &frozen_ref_names);
    nodes.append(&mut extra);
    graph::drop_dangling_colocations(&mut nodes);
    if options.clear_devices {
        nodes.iter_mut().for_each(|n| n.device.clear());
    }

    let inputs = nodes
        .iter()
        .filter(|n| n.op == "Placeholder" || n.op == "PlaceholderWithDefault")
        .map(|n| n.name.clone())
        .collect();
    let mut graph = GraphDef { node: nodes, versions, library, debug_info };
    graph::prune_library(&mut graph);
    let checkpoint = checkpoint.map(|c| c.prefix().to_path_buf());
    Ok(FrozenGraph {
        graph,
        outputs,
        inputs,
        variables: frozen,
        inferred,
        rewrites,
        checkpoint,
        table_initializers,
        deferred,
        graph_file: None,
    })
}

/// Ops that fill a lookup table (what `tables_initializer()` runs).
const TABLE_INITIALIZERS: [&str; 6] = [
    "LookupTableImportV2",
    "LookupTableImport",
    "InitializeTableV2",
    "InitializeTable",
    "InitializeTableFromTextFileV2",
    "InitializeTableFromTextFile",
];

/// The initializers of the tables `outputs` read: without them every lookup
/// would return the default value.
fn table_initializers(graph: &GraphDef, outputs: &[String]) -> Vec<String> {
    let reached = graph::reachable(graph, outputs);
    let index = index_by_name(graph);
    graph
        .node
        .iter()
        .filter(|n| TABLE_INITIALIZERS.contains(&n.op.as_str()))
        .filter(|n| n.input.first().and_then(|t| index.get(node_of(t))).is_some_and(|&t| reached[t]))
        .map(|n| n.name.clone())
        .collect()
}

/// With `use_ema`, every trainable variable needs its shadow (without a meta
/// graph to say which are trainable, at least one variable must have one).
fn check_shadows(
    options: &FreezeOptions,
    know_trainable: bool,
    frozen: &[FrozenVariable],
    without_shadow: Vec<String>,
    checkpoint: Option<&Checkpoint>,
) -> Result<()> {
    if !options.use_ema {
        return Ok(());
    }
    let any_shadow = frozen.iter().any(|v| v.checkpoint_key.ends_with(EMA_SUFFIX));
    if without_shadow.is_empty() || (!know_trainable && any_shadow) {
        return Ok(());
    }
    let mut error = Error::new(
        ErrorKind::VariableMissing,
        format!(
            "use_ema: the checkpoint has no moving average for {} ({}); it holds no \"<variable>{EMA_SUFFIX}\" for them",
            if without_shadow.len() == 1 { "variable" } else { "variables" },
            crate::error::quoted_list(&without_shadow)
        ),
    )
    .about(&without_shadow[0]);
    if let Some(checkpoint) = checkpoint {
        error = error.in_file(checkpoint.index_path());
    }
    Err(error)
}

impl FreezeOptions {
    fn allows(&self, name: &str) -> bool {
        let whitelisted = self.variable_names_whitelist.as_ref().is_none_or(|w| w.iter().any(|n| n == name));
        whitelisted && !self.variable_names_blacklist.iter().any(|n| n == name)
    }
}

/// Ops that change variables or files: training updates, saving, restoring.
/// The `Scatter*` ops are listed one by one: `ScatterNd` and
/// `ScatterNdNonAliasingAdd` compute a new tensor and change nothing.
pub(crate) fn is_state_update(op: &str) -> bool {
    const PREFIXES: [&str; 7] =
        ["Assign", "ResourceScatter", "Apply", "ResourceApply", "SparseApply", "ResourceSparseApply", "Save"];
    const SCATTER_UPDATES: [&str; 12] = [
        "ScatterAdd",
        "ScatterDiv",
        "ScatterMax",
        "ScatterMin",
        "ScatterMul",
        "ScatterNdAdd",
        "ScatterNdMax",
        "ScatterNdMin",
        "ScatterNdSub",
        "ScatterNdUpdate",
        "ScatterSub",
        "ScatterUpdate",
    ];
    PREFIXES.iter().any(|p| op.starts_with(p))
        || SCATTER_UPDATES.contains(&op)
        || matches!(op, "CountUpTo" | "MergeV2Checkpoints" | "RestoreV2" | "Restore" | "RestoreSlice")
}

// ---- pruning ---------------------------------------------------------------

/// Keeps the nodes the outputs reach through data inputs, control inputs and
/// colocation, in their original order. Control edges into state updates (a
/// batch norm's moving-average update hung on a train op) are not followed:
/// a frozen graph cannot run them, and inference does not need them, so those
/// control inputs are the only ones dropped. An input (data or control) of a
/// kept node that names no node of the graph is an [`ErrorKind::GraphInvalid`].
fn extract_subgraph(nodes: Vec<NodeDef>, outputs: &[String]) -> Result<Vec<NodeDef>> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
    let mut keep = vec![false; nodes.len()];
    let mut queue: VecDeque<usize> = outputs.iter().filter_map(|o| index.get(o.as_str()).copied()).collect();
    while let Some(i) = queue.pop_front() {
        if std::mem::replace(&mut keep[i], true) {
            continue;
        }
        let node = &nodes[i];
        for input in &node.input {
            let Some(&d) = index.get(node_of(input)) else {
                return Err(missing_input(&nodes, node, input));
            };
            let skipped = names::is_control_input(input) && is_state_update(&nodes[d].op);
            if !skipped && !keep[d] {
                queue.push_back(d);
            }
        }
        for target in colocation_targets(node) {
            if let Some(&d) = index.get(target) {
                if !keep[d] {
                    queue.push_back(d);
                }
            }
        }
    }
    let kept: HashSet<String> = nodes.iter().zip(&keep).filter(|(_, &k)| k).map(|(n, _)| n.name.clone()).collect();
    Ok(nodes
        .into_iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(mut node, _)| {
            // Only control inputs into state updates lead to nodes not kept.
            node.input.retain(|i| kept.contains(node_of(i)));
            node
        })
        .collect())
}

fn missing_input(nodes: &[NodeDef], node: &NodeDef, input: &str) -> Error {
    let what = if names::is_control_input(input) { "control input" } else { "input" };
    let missing = node_of(input);
    Error::new(
        ErrorKind::GraphInvalid,
        format!(
            "node \"{}\" ({}) takes {what} \"{input}\", but the graph has no node \"{missing}\"",
            node.name, node.op
        ),
    )
    .about(&node.name)
    .suggest(names::closest(missing, nodes.iter().map(|n| n.name.as_str())))
}
