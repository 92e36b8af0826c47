//! Once a variable is a constant, what read it must read a value: resource
//! reads become value ops, and the ops that required a ref input get their
//! value-typed counterparts.

use std::collections::{HashMap, HashSet, VecDeque};

use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, attr_type, type_attr};
use crate::names::{self, node_of};
use crate::proto::{DataType, FunctionDefLibrary, NodeDef};
use crate::tensor::{Tensor, TensorData};

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
pub(super) fn rewrite_resource_reads(
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
                read if VALUE_READS.contains(&read) => {
                    let axis = format!("{}/axis", node.name);
                    extra.extend(into_value_read(node, dtype, &axis, &axis)?);
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
                call if super::functions::is_call(call) => calls.push((i, carrier.clone(), dtype)),
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
    super::functions::freeze_calls(nodes, library, &calls)?;
    Ok(extra)
}

/// The ops that read a resource variable's value, which [`into_value_read`] rewrites.
pub(super) const VALUE_READS: [&str; 4] = ["ReadVariableOp", "ResourceGather", "ResourceGatherNd", "VariableShape"];

/// Turns a read of a frozen variable (`dtype`) into the value op it becomes:
/// `ReadVariableOp` → `Identity`, `ResourceGather` → `GatherV2` (returning its
/// axis `Const`, named `axis` and read as `axis_input`), `ResourceGatherNd` →
/// `GatherNd`, `VariableShape` → `Shape`. Graphs and function bodies name
/// tensors differently, hence the two axis names.
pub(super) fn into_value_read(
    node: &mut NodeDef,
    dtype: DataType,
    axis: &str,
    axis_input: &str,
) -> Result<Option<NodeDef>> {
    match node.op.as_str() {
        "ReadVariableOp" => into_value_op(node, "Identity", &[("T", dtype)]),
        "ResourceGather" => {
            if graph::attr_int(node, "batch_dims").unwrap_or(0) != 0 {
                return Err(Error::new(
                    ErrorKind::UnsupportedOp,
                    format!("ResourceGather \"{}\" has batch_dims != 0, which freezing cannot rewrite", node.name),
                )
                .about(&node.name));
            }
            let indices = attr_type(node, "Tindices").unwrap_or(DataType::DtInt32);
            let axis = gather_axis(axis, indices);
            let (data, control) = split_inputs(&node.input);
            node.input = data.into_iter().take(2).chain([axis_input.to_string()]).chain(control).collect();
            into_value_op(node, "GatherV2", &[("Tparams", dtype), ("Tindices", indices), ("Taxis", indices)]);
            return Ok(Some(axis));
        }
        "ResourceGatherNd" => {
            let indices = attr_type(node, "Tindices").unwrap_or(DataType::DtInt32);
            into_value_op(node, "GatherNd", &[("Tparams", dtype), ("Tindices", indices)]);
        }
        "VariableShape" => {
            let out_type = attr_type(node, "out_type").unwrap_or(DataType::DtInt32);
            into_value_op(node, "Shape", &[("T", dtype), ("out_type", out_type)]);
        }
        _ => {}
    }
    Ok(None)
}

/// Replaces a node's op and attrs, keeping its name, inputs and colocation.
pub(super) fn into_value_op(node: &mut NodeDef, op: &str, types: &[(&str, DataType)]) {
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

pub(super) fn gather_axis(name: &str, dtype: DataType) -> NodeDef {
    let bytes = match dtype {
        DataType::DtInt64 => 0i64.to_le_bytes().to_vec(),
        _ => 0i32.to_le_bytes().to_vec(),
    };
    graph::constant(name, &Tensor { dtype, shape: Vec::new(), data: TensorData::Raw(bytes.into()) })
}

pub(super) fn split_inputs(inputs: &[String]) -> (Vec<String>, Vec<String>) {
    inputs.iter().cloned().partition(|s| !names::is_control_input(s))
}

/// A frozen ref variable feeds ops that required a ref input; give each the
/// value-typed op that does what it did on the first run. Their outputs were
/// refs too, so what they feed is rewritten in turn (`VariableV2 → RefEnter →
/// RefSwitch` becomes `Const → Enter → Switch`).
pub(super) fn rewrite_ref_consumers(nodes: &mut [NodeDef], frozen: &HashSet<&str>) {
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
