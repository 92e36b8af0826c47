//! The object graph an object-based checkpoint (`tf.train.Checkpoint`,
//! `CheckpointManager`, a TF2 SavedModel's `variables/`) stores beside its
//! tensors: the entry `_CHECKPOINTABLE_OBJECT_GRAPH`, a scalar string holding
//! a `TrackableObjectGraph`. Its nodes are the Python objects saved, linked by
//! attribute name; a variable's node names the tensor that holds its value.

use std::collections::{BTreeMap, VecDeque};

use prost::Message;

use super::Checkpoint;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::TrackableObjectGraph;
use crate::tensor::TensorData;

/// The bundle entry holding the serialized `TrackableObjectGraph`.
pub const OBJECT_GRAPH_KEY: &str = "_CHECKPOINTABLE_OBJECT_GRAPH";

/// The object graph of `checkpoint`; `None` for a name-based (TF1 `Saver`) one.
pub fn object_graph(checkpoint: &Checkpoint) -> Result<Option<TrackableObjectGraph>> {
    if checkpoint.get(OBJECT_GRAPH_KEY).is_none() {
        return Ok(None);
    }
    let invalid = |why: String| Error::new(ErrorKind::IndexCorrupt, why).in_file(checkpoint.index_path());
    let tensor = checkpoint.read(OBJECT_GRAPH_KEY)?;
    let bytes = match &tensor.data {
        TensorData::Strings(items) if items.len() == 1 => items[0].clone(),
        _ => return Err(invalid(format!("{OBJECT_GRAPH_KEY} is not one string"))),
    };
    TrackableObjectGraph::decode(bytes)
        .map(Some)
        .map_err(|e| invalid(format!("{OBJECT_GRAPH_KEY} does not parse: {e}")))
}

/// Where one checkpoint tensor sits in the object graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectPath {
    /// Attribute names from the root, `/`-joined (`model/first/w`); the
    /// shortest path when an object is reachable by several.
    pub path: String,
    /// The attribute of that object (`VARIABLE_VALUE` for a variable's value).
    pub attribute: String,
    /// The name the value had in Python (a `tf.Variable`'s `name`), which two
    /// objects' variables may share.
    pub full_name: String,
}

/// Checkpoint key → its object's path, for every tensor the object graph names.
pub fn object_paths(graph: &TrackableObjectGraph) -> BTreeMap<String, ObjectPath> {
    let mut paths: Vec<Option<String>> = vec![None; graph.nodes.len()];
    let mut queue = VecDeque::from([(0usize, String::new())]);
    while let Some((id, path)) = queue.pop_front() {
        let Some(node) = graph.nodes.get(id) else { continue };
        if paths[id].is_some() {
            continue;
        }
        for child in &node.children {
            let child_path =
                if path.is_empty() { child.local_name.clone() } else { format!("{path}/{}", child.local_name) };
            queue.push_back((child.node_id as usize, child_path));
        }
        paths[id] = Some(path);
    }
    let mut found = BTreeMap::new();
    for (node, path) in graph.nodes.iter().zip(&paths) {
        let Some(path) = path else { continue };
        for attribute in &node.attributes {
            found.entry(attribute.checkpoint_key.clone()).or_insert_with(|| ObjectPath {
                path: path.clone(),
                attribute: attribute.name.clone(),
                full_name: attribute.full_name.clone(),
            });
        }
    }
    found
}
