//! Freezing, as TensorFlow's `freeze_graph` / `convert_variables_to_constants`
//! does it: prune the graph to what the outputs need, then replace every
//! variable with a `Const` holding its checkpoint value and turn resource
//! reads into plain value ops. Outputs nobody named are inferred
//! ([`outputs`]); input pipelines become placeholders ([`inputs`]).

mod functions;
mod inputs;
mod loops;
pub mod outputs;

use std::collections::{HashMap, HashSet, VecDeque};

use crate::checkpoint::{Checkpoint, TensorSlice};
use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, attr_shape, attr_type, colocation_targets, index_by_name, type_attr};
use crate::names::{self, node_of};
use crate::proto::{DataType, FunctionDefLibrary, GraphDef, MetaGraphDef, NodeDef, VariableDef};
use crate::tensor::{format_shape, Tensor, TensorData};

pub use outputs::{infer_outputs, serving_signature, InferredOutput, InferredOutputs};

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
}

impl Default for FreezeOptions {
    fn default() -> Self {
        FreezeOptions {
            output_node_names: Vec::new(),
            clear_devices: true,
            variable_names_whitelist: None,
            variable_names_blacklist: Vec::new(),
            use_ema: false,
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
    let saved = saved_variables(&graph, meta);
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
        let value = restore(checkpoint, node, &variable).map_err(|e| match &inferred {
            Some(inferred) if e.kind == ErrorKind::VariableMissing => inferred.explain(e, &nodes, &nodes[i].name),
            _ => e,
        })?;
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
    Ok(FrozenGraph { graph, outputs, inputs, variables: frozen, inferred, rewrites, checkpoint, table_initializers })
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

// ---- checkpoint keys -------------------------------------------------------

/// Where a variable's value lives in the checkpoint.
#[derive(Debug, Clone)]
struct SavedVariable {
    key: String,
    /// `shape_and_slices` spec of a partitioned variable's part (`"10 4 0,4:0,4"`).
    slice: Option<String>,
}

impl SavedVariable {
    /// TensorFlow's fallback when nothing says otherwise: the key is the node name.
    fn by_name(name: &str) -> Self {
        SavedVariable { key: name.to_string(), slice: None }
    }
}

/// Variable node → checkpoint key, first from the graph's restore ops, then
/// from the meta graph's `VariableDef`s.
fn saved_variables(graph: &GraphDef, meta: Option<&MetaGraphDef>) -> HashMap<String, SavedVariable> {
    let mut saved = HashMap::new();
    for def in meta.map(variable_defs).unwrap_or_default() {
        let node = node_of(&def.variable_name).to_string();
        let variable = match &def.save_slice_info_def {
            Some(info) if !info.full_name.is_empty() => SavedVariable {
                key: info.full_name.clone(),
                slice: Some(slice_spec(&info.full_shape, &info.var_offset, &info.var_shape)),
            },
            _ => SavedVariable::by_name(&node),
        };
        saved.insert(node, variable);
    }
    saved.extend(restored_variables(graph));
    saved
}

/// Reads the save sub-graph: each `Assign`/`AssignVariableOp` whose value comes
/// (through `Identity`s) from output `k` of a `RestoreV2` restores the
/// variable from `tensor_names[k]`, slice `shape_and_slices[k]`. Each
/// `RestoreV2`'s name lists are decoded once, however many variables it restores.
fn restored_variables(graph: &GraphDef) -> HashMap<String, SavedVariable> {
    let index = index_by_name(graph);
    let strings = |name: &str| -> Option<Vec<String>> {
        let (_, node) = graph::through_identities(graph, &index, name)?;
        let tensor = Tensor::from_proto(graph::attr_tensor(node, "value")?).ok()?;
        match tensor.data {
            TensorData::Strings(s) => Some(s.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect()),
            TensorData::Raw(_) => None,
        }
    };
    // RestoreV2 node → its `tensor_names` and `shape_and_slices`, decoded once.
    type NameLists = (Vec<String>, Vec<String>);
    let mut lists: HashMap<&str, Option<NameLists>> = HashMap::new();
    let mut saved = HashMap::new();
    for assign in graph.node.iter().filter(|n| n.op == "Assign" || n.op == "AssignVariableOp") {
        let (Some(variable), Some(value)) = (assign.input.first(), assign.input.get(1)) else { continue };
        let Some((value, restore)) = graph::through_identities(graph, &index, value) else { continue };
        if restore.op != "RestoreV2" || restore.input.len() < 3 {
            continue;
        }
        let decoded = lists
            .entry(restore.name.as_str())
            .or_insert_with(|| Some((strings(&restore.input[1])?, strings(&restore.input[2])?)));
        let Some((keys, slices)) = decoded else { continue };
        let k = names::output_index(value);
        let (Some(key), Some(slice)) = (keys.get(k), slices.get(k)) else { continue };
        let slice = (!slice.is_empty()).then(|| slice.clone());
        saved.entry(node_of(variable).to_string()).or_insert(SavedVariable { key: key.clone(), slice });
    }
    saved
}

fn variable_defs(meta: &MetaGraphDef) -> Vec<VariableDef> {
    use prost::Message;
    ["variables", "local_variables", "model_variables", "trainable_variables"]
        .iter()
        .filter_map(|name| meta.collection_def.get(*name))
        .filter_map(|c| match &c.kind {
            Some(crate::proto::collection_def::Kind::BytesList(list)) => Some(list),
            _ => None,
        })
        .flat_map(|list| list.value.iter().filter_map(|b| VariableDef::decode(b.as_slice()).ok()))
        .collect()
}

/// `"10 4 4,3:0,4"`: the full shape, then start,length per dimension.
fn slice_spec(full_shape: &[i64], offset: &[i64], shape: &[i64]) -> String {
    let full: Vec<String> = full_shape.iter().map(i64::to_string).collect();
    let extents: Vec<String> = offset.iter().zip(shape).map(|(o, s)| format!("{o},{s}")).collect();
    format!("{} {}", full.join(" "), extents.join(":"))
}

// ---- values ------------------------------------------------------------------

/// Reads a variable's value and checks it against the graph's dtype and shape.
fn restore(checkpoint: &Checkpoint, node: &NodeDef, variable: &SavedVariable) -> Result<Tensor> {
    let missing = || {
        let keys: Vec<&str> = checkpoint.tensors().map(|t| t.name.as_str()).collect();
        Error::new(
            ErrorKind::VariableMissing,
            if variable.key == node.name {
                format!("variable \"{}\" is not in the checkpoint", node.name)
            } else {
                format!("variable \"{}\" (checkpoint key \"{}\") is not in the checkpoint", node.name, variable.key)
            },
        )
        .in_file(checkpoint.index_path())
        .about(&node.name)
        .suggest(names::closest(&variable.key, keys))
    };
    if checkpoint.get(&variable.key).is_none() {
        return Err(missing());
    }
    let value = match &variable.slice {
        Some(spec) => {
            let (_, slice) = TensorSlice::parse_spec(spec).map_err(|e| e.about(&node.name))?;
            checkpoint.read_slice(&variable.key, &slice)?
        }
        None => checkpoint.read(&variable.key)?,
    };
    let graph_dtype = attr_type(node, "dtype").map(dtype::base);
    if let Some(expected) = graph_dtype.filter(|&d| d != value.dtype) {
        return Err(Error::new(
            ErrorKind::DtypeMismatch,
            format!(
                "variable \"{}\" is {} in the graph but {} in the checkpoint {}",
                node.name,
                dtype::name(expected),
                dtype::name(value.dtype),
                checkpoint.prefix().display()
            ),
        )
        .about(&node.name));
    }
    if let Some(expected) = attr_shape(node, "shape") {
        let compatible =
            expected.len() == value.shape.len() && expected.iter().zip(&value.shape).all(|(&g, &c)| g < 0 || g == c);
        if !compatible {
            return Err(Error::new(
                ErrorKind::ShapeMismatch,
                format!(
                    "variable \"{}\" has shape {} in the graph but {} in the checkpoint {}",
                    node.name,
                    format_shape(&expected),
                    format_shape(&value.shape),
                    checkpoint.prefix().display()
                ),
            )
            .about(&node.name));
        }
    }
    Ok(value)
}

// ---- rewrites ----------------------------------------------------------------

/// Ops that pass a resource handle through unchanged; once the variable is a
/// constant they pass its value, so only their `T` changes.
const HANDLE_PASSTHROUGH: [&str; 8] =
    ["Identity", "Enter", "Exit", "Switch", "Merge", "NextIteration", "_SwitchN", "RefEnter"];

/// Follows each frozen resource variable's handle to its readers and turns
/// them into value ops: `ReadVariableOp` → `Identity`, `ResourceGather` →
/// `GatherV2`, `ResourceGatherNd` → `GatherNd`, `VariableShape` → `Shape`.
/// Calls (`If`, `While`, ...) pass the value on to the functions they call
/// ([`functions`]). Returns new nodes to append (gather axes).
fn rewrite_resource_reads(
    nodes: &mut [NodeDef],
    mut carriers: HashMap<String, DataType>,
    library: &mut Option<FunctionDefLibrary>,
) -> Result<Vec<NodeDef>> {
    let mut consumers: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        for input in node.input.iter().filter(|s| !names::is_control_input(s)) {
            consumers.entry(node_of(input).to_string()).or_default().push(i);
        }
    }
    let mut extra = Vec::new();
    let mut calls = Vec::new();
    let mut queue: VecDeque<String> = carriers.keys().cloned().collect();
    while let Some(carrier) = queue.pop_front() {
        let dtype = carriers[&carrier];
        for &i in consumers.get(&carrier).map(Vec::as_slice).unwrap_or_default() {
            let node = &mut nodes[i];
            let op = node.op.clone();
            match op.as_str() {
                "ReadVariableOp" => into_value_op(node, "Identity", &[("T", dtype)]),
                "ResourceGather" => {
                    if graph::attr_int(node, "batch_dims").unwrap_or(0) != 0 {
                        return Err(Error::new(
                            ErrorKind::UnsupportedOp,
                            format!(
                                "ResourceGather \"{}\" has batch_dims != 0, which freezing cannot rewrite",
                                node.name
                            ),
                        )
                        .about(&node.name));
                    }
                    let indices = attr_type(node, "Tindices").unwrap_or(DataType::DtInt32);
                    let axis = gather_axis(&format!("{}/axis", node.name), indices);
                    let (data, control) = split_inputs(&node.input);
                    node.input = data.into_iter().take(2).chain([axis.name.clone()]).chain(control).collect();
                    into_value_op(node, "GatherV2", &[("Tparams", dtype), ("Tindices", indices), ("Taxis", indices)]);
                    extra.push(axis);
                }
                "ResourceGatherNd" => {
                    let indices = attr_type(node, "Tindices").unwrap_or(DataType::DtInt32);
                    into_value_op(node, "GatherNd", &[("Tparams", dtype), ("Tindices", indices)]);
                }
                "VariableShape" => {
                    let out_type = attr_type(node, "out_type").unwrap_or(DataType::DtInt32);
                    into_value_op(node, "Shape", &[("T", dtype), ("out_type", out_type)]);
                }
                passthrough if HANDLE_PASSTHROUGH.contains(&passthrough) => {
                    if attr_type(node, "T") != Some(DataType::DtResource) || carriers.contains_key(&node.name) {
                        continue;
                    }
                    node.attr.insert("T".to_string(), type_attr(dtype));
                    node.attr.remove("_output_shapes");
                    if node.op == "RefEnter" {
                        node.op = "Enter".to_string();
                    }
                    carriers.insert(node.name.clone(), dtype);
                    queue.push_back(node.name.clone());
                }
                call if functions::is_call(call) => calls.push((i, carrier.clone(), dtype)),
                other => {
                    return Err(Error::new(
                        ErrorKind::UnsupportedOp,
                        format!(
                            "node \"{}\" ({other}) takes a resource variable's handle, which freezing cannot rewrite",
                            node.name
                        ),
                    )
                    .about(&node.name))
                }
            }
        }
    }
    functions::freeze_calls(nodes, library, &calls)?;
    Ok(extra)
}

/// Replaces a node's op and attrs, keeping its name, inputs and colocation.
fn into_value_op(node: &mut NodeDef, op: &str, types: &[(&str, DataType)]) {
    let class = node.attr.remove("_class");
    node.attr.clear();
    for (name, dtype) in types {
        node.attr.insert(name.to_string(), type_attr(*dtype));
    }
    if let Some(class) = class {
        node.attr.insert("_class".to_string(), class);
    }
    node.op = op.to_string();
    if op == "Identity" {
        let (data, control) = split_inputs(&node.input);
        node.input = data.into_iter().take(1).chain(control).collect();
    }
}

fn gather_axis(name: &str, dtype: DataType) -> NodeDef {
    let bytes = match dtype {
        DataType::DtInt64 => 0i64.to_le_bytes().to_vec(),
        _ => 0i32.to_le_bytes().to_vec(),
    };
    graph::constant(name, &Tensor { dtype, shape: Vec::new(), data: TensorData::Raw(bytes.into()) })
}

fn split_inputs(inputs: &[String]) -> (Vec<String>, Vec<String>) {
    inputs.iter().cloned().partition(|s| !names::is_control_input(s))
}

/// A frozen ref variable feeds ops that required a ref input; give each the
/// value-typed op that does what it did on the first run. Their outputs were
/// refs too, so what they feed is rewritten in turn (`VariableV2 → RefEnter →
/// RefSwitch` becomes `Const → Enter → Switch`).
fn rewrite_ref_consumers(nodes: &mut [NodeDef], frozen: &HashSet<&str>) {
    // Carrier name → (consumer, input position), over data inputs.
    let mut consumers: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        for (position, input) in node.input.iter().enumerate().filter(|(_, s)| !names::is_control_input(s)) {
            consumers.entry(node_of(input).to_string()).or_default().push((i, position));
        }
    }
    let mut rewritten = HashSet::new();
    let mut queue: VecDeque<String> = frozen.iter().map(|s| s.to_string()).collect();
    while let Some(carrier) = queue.pop_front() {
        for &(i, position) in consumers.get(&carrier).map(Vec::as_slice).unwrap_or_default() {
            if rewritten.contains(&i) {
                continue;
            }
            let node = &mut nodes[i];
            let replacement = match (node.op.as_str(), position) {
                ("RefMerge", _) => "Merge",
                (_, 1..) => continue,
                ("RefSwitch", _) => "Switch",
                ("RefEnter", _) => "Enter",
                ("RefExit", _) => "Exit",
                ("RefIdentity", _) => "Identity",
                ("RefNextIteration", _) => "NextIteration",
                ("AssignAdd", _) => "Add",
                ("AssignSub", _) => "Sub",
                ("Assign", _) => {
                    // The assigned value is what the op returned.
                    node.input.remove(0);
                    "Identity"
                }
                _ => continue,
            };
            node.op = replacement.to_string();
            for attr in ["use_locking", "validate_shape", "_output_shapes"] {
                node.attr.remove(attr);
            }
            rewritten.insert(i);
            queue.push_back(node.name.clone());
        }
    }
}
