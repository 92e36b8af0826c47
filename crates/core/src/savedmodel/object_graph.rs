//! Which checkpoint entry holds each variable a TF2 function captured. A call
//! in the graph passes its function's captures after the user's inputs, one
//! per `bound_inputs` entry of the function in the `SavedObjectGraph`; each
//! entry is a node of that graph, which the checkpoint's own object graph
//! (`_CHECKPOINTABLE_OBJECT_GRAPH`) mirrors child by child, and whose
//! `VARIABLE_VALUE` attribute names the checkpoint key.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::checkpoint::objects::{self, OBJECT_GRAPH_KEY};
use crate::checkpoint::Checkpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, attr, index_by_name};
use crate::names::node_of;
use crate::proto::{attr_value, saved_object, GraphDef, SavedObjectGraph, TrackableObjectGraph};

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
/// reach through children of the same names. The SavedModel's own variables
/// mirror its object graph from the root; a training checkpoint
/// (`tf.train.Checkpoint(model=net, optimizer=...)`) holds the model one level
/// down, under a name of the user's choosing, so each child of its root is
/// tried as well and the one matching the most variables wins.
fn checkpoint_keys(objects: &SavedObjectGraph, checkpoint: &Checkpoint) -> Result<HashMap<i32, String>> {
    let trackable = trackable_graph(checkpoint)?;
    let roots = std::iter::once((String::new(), 0)).chain(
        trackable
            .nodes
            .first()
            .into_iter()
            .flat_map(|root| root.children.iter().map(|c| (c.local_name.clone(), c.node_id))),
    );
    let mut best: Vec<(String, i32, HashMap<i32, String>)> = Vec::new();
    for (name, root) in roots {
        let keys = matched_keys(objects, &trackable, root);
        match best.first().map(|(_, _, b)| b.len()) {
            Some(count) if keys.len() < count => {}
            Some(count) if keys.len() == count => best.push((name, root, keys)),
            _ => best = vec![(name, root, keys)],
        }
    }
    // Two objects holding the same structure (a model and its moving-average
    // copy): which one is meant cannot be guessed.
    let distinct: Vec<&(String, i32, HashMap<i32, String>)> =
        best.iter().filter(|(_, root, _)| *root != best[0].1).collect();
    if !distinct.is_empty() && !best[0].2.is_empty() {
        let names: Vec<String> = best.iter().map(|(name, _, _)| name.clone()).collect();
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "the checkpoint holds the model's variables under {} alike; save the model alone or under one name",
                crate::error::quoted_list(&names)
            ),
        )
        .in_file(checkpoint.index_path()));
    }
    Ok(best.into_iter().next().map(|(_, _, keys)| keys).unwrap_or_default())
}

/// The walk of [`checkpoint_keys`] from the SavedModel's root and the
/// trackable node `tracked_root`.
fn matched_keys(
    objects: &SavedObjectGraph,
    trackable: &TrackableObjectGraph,
    tracked_root: i32,
) -> HashMap<i32, String> {
    let mut keys = HashMap::new();
    let mut matched: HashMap<i32, i32> = HashMap::new();
    let mut queue = VecDeque::from([(0i32, tracked_root)]);
    while let Some((saved, tracked)) = queue.pop_front() {
        if matched.insert(saved, tracked).is_some() {
            continue;
        }
        let (Some(saved_node), Some(tracked_node)) =
            (objects.nodes.get(saved as usize), trackable.nodes.get(tracked as usize))
        else {
            continue;
        };
        let is_variable = matches!(saved_node.kind, Some(saved_object::Kind::Variable(_)));
        if let Some(value) = tracked_node.attributes.iter().find(|a| a.name == VARIABLE_VALUE).filter(|_| is_variable) {
            keys.insert(saved, value.checkpoint_key.clone());
        }
        for child in &saved_node.children {
            if let Some(twin) = tracked_node.children.iter().find(|c| c.local_name == child.local_name) {
                queue.push_back((child.node_id, twin.node_id));
            }
        }
    }
    keys
}

fn trackable_graph(checkpoint: &Checkpoint) -> Result<TrackableObjectGraph> {
    objects::object_graph(checkpoint)?.ok_or_else(|| {
        Error::new(
            ErrorKind::VariableMissing,
            format!(
                "the checkpoint holds no {OBJECT_GRAPH_KEY} entry (a TF1 Saver wrote it, not tf.train.Checkpoint), \
                 so its values cannot be matched to the SavedModel's objects"
            ),
        )
        .in_file(checkpoint.index_path())
    })
}
