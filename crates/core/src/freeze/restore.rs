//! Where each variable's value lives in the checkpoint (the graph's restore
//! ops, else the meta graph's `VariableDef`s, else its node name), and reading
//! it, checked against the graph's dtype and shape.

use std::collections::HashMap;

use crate::checkpoint::{Checkpoint, TensorSlice};
use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, attr_shape, attr_type, index_by_name};
use crate::names::{self, node_of};
use crate::proto::{DataType, GraphDef, MetaGraphDef, NodeDef, VariableDef};
use crate::tensor::{format_shape, Tensor, TensorData};

// ---- checkpoint keys -------------------------------------------------------

/// Where a variable's value lives in the checkpoint.
#[derive(Debug, Clone)]
pub(super) struct SavedVariable {
    pub(super) key: String,
    /// `shape_and_slices` spec of a partitioned variable's part (`"10 4 0,4:0,4"`).
    slice: Option<String>,
}

impl SavedVariable {
    /// TensorFlow's fallback when nothing says otherwise: the key is the node name.
    pub(super) fn by_name(name: &str) -> Self {
        SavedVariable { key: name.to_string(), slice: None }
    }
}

/// Variable node → checkpoint key, first from the graph's restore ops, then
/// from the meta graph's `VariableDef`s.
pub(super) fn saved_variables(graph: &GraphDef, meta: Option<&MetaGraphDef>) -> HashMap<String, SavedVariable> {
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
pub(super) fn restore(checkpoint: &Checkpoint, node: &NodeDef, variable: &SavedVariable) -> Result<Tensor> {
    require_stored(checkpoint, node, variable)?;
    let value = match &variable.slice {
        Some(spec) => {
            let (_, slice) = TensorSlice::parse_spec(spec).map_err(|e| e.about(&node.name))?;
            checkpoint.read_slice(&variable.key, &slice)?
        }
        None => checkpoint.read(&variable.key)?,
    };
    check_against_graph(checkpoint, node, value.dtype, &value.shape)?;
    Ok(value)
}

/// The index entry of a whole numeric variable, checked against the graph
/// like [`restore`] checks its value, but without reading it: its bytes can be
/// read when they are written. `None` for what must be read now (a slice of a
/// partitioned variable, strings, dtypes the reader rejects).
pub(super) fn stored_numeric(
    checkpoint: &Checkpoint,
    node: &NodeDef,
    variable: &SavedVariable,
) -> Result<Option<(DataType, Vec<i64>)>> {
    require_stored(checkpoint, node, variable)?;
    let Some(info) = checkpoint.get(&variable.key) else { return Ok(None) };
    if variable.slice.is_some() || dtype::element_size(info.dtype).is_none() {
        return Ok(None);
    }
    check_against_graph(checkpoint, node, info.dtype, &info.shape)?;
    Ok(Some((info.dtype, info.shape.clone())))
}

fn require_stored(checkpoint: &Checkpoint, node: &NodeDef, variable: &SavedVariable) -> Result<()> {
    if checkpoint.get(&variable.key).is_some() {
        return Ok(());
    }
    let keys: Vec<&str> = checkpoint.tensors().map(|t| t.name.as_str()).collect();
    Err(Error::new(
        ErrorKind::VariableMissing,
        if variable.key == node.name {
            format!("variable \"{}\" is not in the checkpoint", node.name)
        } else {
            format!("variable \"{}\" (checkpoint key \"{}\") is not in the checkpoint", node.name, variable.key)
        },
    )
    .in_file(checkpoint.index_path())
    .about(&node.name)
    .suggest(names::closest(&variable.key, keys)))
}

fn check_against_graph(checkpoint: &Checkpoint, node: &NodeDef, dtype: DataType, shape: &[i64]) -> Result<()> {
    let graph_dtype = attr_type(node, "dtype").map(dtype::base);
    if let Some(expected) = graph_dtype.filter(|&d| d != dtype) {
        return Err(Error::new(
            ErrorKind::DtypeMismatch,
            format!(
                "variable \"{}\" is {} in the graph but {} in the checkpoint {}",
                node.name,
                dtype::name(expected),
                dtype::name(dtype),
                checkpoint.prefix().display()
            ),
        )
        .about(&node.name));
    }
    if let Some(expected) = attr_shape(node, "shape") {
        let compatible = expected.len() == shape.len() && expected.iter().zip(shape).all(|(&g, &c)| g < 0 || g == c);
        if !compatible {
            return Err(Error::new(
                ErrorKind::ShapeMismatch,
                format!(
                    "variable \"{}\" has shape {} in the graph but {} in the checkpoint {}",
                    node.name,
                    format_shape(&expected),
                    format_shape(shape),
                    checkpoint.prefix().display()
                ),
            )
            .about(&node.name));
        }
    }
    Ok(())
}
