//! Which checkpoint entry holds each variable a TF2 function captured. A call
//! in the graph passes its function's captures after the user's inputs, one
//! per `bound_inputs` entry of the function in the `SavedObjectGraph`; each
//! entry is a node of that graph, which the checkpoint's own object graph
//! (`_CHECKPOINTABLE_OBJECT_GRAPH`) mirrors child by child, and whose
//! `VARIABLE_VALUE` attribute names the checkpoint key.

use std::collections::{BTreeMap, HashMap, VecDeque};

use prost::Message;

use crate::checkpoint::Checkpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, attr, index_by_name};
use crate::names::node_of;
use crate::proto::{attr_value, saved_object, GraphDef, SavedObjectGraph, TrackableObjectGraph};
use crate::tensor::TensorData;

/// The bundle entry holding the serialized `TrackableObjectGraph`.
pub(super) const OBJECT_GRAPH_KEY: &str = "_CHECKPOINTABLE_OBJECT_GRAPH";

/// The attribute of a variable's trackable node that holds its value.
const VARIABLE_VALUE: &str = "VARIABLE_VALUE";

/// Variable node (`VarHandleOp`) of `graph` → its checkpoint key, for every
/// handle a call passes as a captured input.
pub(super) fn variable_keys(
    graph: &GraphDef,
    objects: &SavedObjectGraph,
    checkpoint: &Checkpoint,
) -> Result<BTreeMap<String, String>> {
    let keys = checkpoint_keys(objects, checkpoint)?;
    let index = index_by_name(graph);
    let mut found = BTreeMap::new();
    for call in graph.node.iter().filter(|n| matches!(n.op.as_str(), "PartitionedCall" | "StatefulPartitionedCall")) {
        let Some(attr_value::Value::Func(f)) = attr(call, "f") else { continue };
        let Some(function) = objects.concrete_functions.get(&f.name) else { continue };
        let data: Vec<&String> = call.input.iter().filter(|i| !i.starts_with('^')).collect();
        let Some(first) = data.len().checked_sub(function.bound_inputs.len()) else { continue };
        for (input, &object) in data[first..].iter().zip(&function.bound_inputs) {
            let Some((_, handle)) = graph::through_identities(graph, &index, input) else { continue };
            if handle.op != "VarHandleOp" {
                continue;
            }
            let is_variable = objects
                .nodes
                .get(object as usize)
                .is_some_and(|o| matches!(o.kind, Some(saved_object::Kind::Variable(_))));
            if !is_variable {
                continue;
            }
            let key = keys.get(&object).ok_or_else(|| {
                Error::new(
                    ErrorKind::VariableMissing,
                    format!(
                        "variable \"{}\" (object {object} of the SavedModel) has no value in the checkpoint's object graph",
                        node_of(input)
                    ),
                )
                .about(node_of(input))
                .in_file(checkpoint.index_path())
            })?;
            found.insert(handle.name.clone(), key.clone());
        }
    }
    Ok(found)
}

/// SavedObjectGraph node id → checkpoint key, for every variable both graphs
/// reach from their roots through children of the same names.
fn checkpoint_keys(objects: &SavedObjectGraph, checkpoint: &Checkpoint) -> Result<HashMap<i32, String>> {
    let trackable = trackable_graph(checkpoint)?;
    let mut keys = HashMap::new();
    let mut matched: HashMap<i32, i32> = HashMap::new();
    let mut queue = VecDeque::from([(0i32, 0i32)]);
    while let Some((saved, tracked)) = queue.pop_front() {
        if matched.insert(saved, tracked).is_some() {
            continue;
        }
        let (Some(saved_node), Some(tracked_node)) =
            (objects.nodes.get(saved as usize), trackable.nodes.get(tracked as usize))
        else {
            continue;
        };
        if let Some(value) = tracked_node.attributes.iter().find(|a| a.name == VARIABLE_VALUE) {
            keys.insert(saved, value.checkpoint_key.clone());
        }
        for child in &saved_node.children {
            if let Some(twin) = tracked_node.children.iter().find(|c| c.local_name == child.local_name) {
                queue.push_back((child.node_id, twin.node_id));
            }
        }
    }
    Ok(keys)
}

fn trackable_graph(checkpoint: &Checkpoint) -> Result<TrackableObjectGraph> {
    let invalid = |why: String| Error::new(ErrorKind::IndexCorrupt, why).in_file(checkpoint.index_path());
    if checkpoint.get(OBJECT_GRAPH_KEY).is_none() {
        return Err(invalid(format!("the SavedModel's variables hold no {OBJECT_GRAPH_KEY} entry")));
    }
    let tensor = checkpoint.read(OBJECT_GRAPH_KEY)?;
    let bytes = match &tensor.data {
        TensorData::Strings(items) if items.len() == 1 => items[0].clone(),
        _ => return Err(invalid(format!("{OBJECT_GRAPH_KEY} is not one string"))),
    };
    TrackableObjectGraph::decode(bytes).map_err(|e| invalid(format!("{OBJECT_GRAPH_KEY} does not parse: {e}")))
}
