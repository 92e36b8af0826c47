//! Input pipelines become inputs. A training loop fed by `tf.data` (or the TF1
//! queue runners) has no placeholder: its model starts at `IteratorGetNext`.
//! Each component of the element that the outputs read becomes a placeholder
//! with the dtype and shape the iterator declares; the iterator and its
//! dataset ops are then left for pruning.

use std::collections::{HashMap, HashSet};

use crate::dtype;
use crate::graph;
use crate::names::{self, node_of};
use crate::proto::{attr_value, AttrValue, DataType, NodeDef, TensorShapeProto};
use crate::tensor::{format_shape, shape_dims};

/// Ops whose outputs are one element of an input pipeline.
const PIPELINE_OUTPUTS: [&str; 8] = [
    "IteratorGetNext",
    "IteratorGetNextSync",
    "QueueDequeueV2",
    "QueueDequeueManyV2",
    "QueueDequeueUpToV2",
    "QueueDequeue",
    "QueueDequeueMany",
    "QueueDequeueUpTo",
];

pub(crate) fn is_pipeline_output(op: &str) -> bool {
    PIPELINE_OUTPUTS.contains(&op)
}

/// The name the placeholder for component `port` of `node` gets: the node's
/// own name for component 0 (so `IteratorGetNext:0` keeps reading the same
/// name), `<node>_<k>` for component k.
pub(crate) fn placeholder_name(node: &str, port: usize) -> String {
    if port == 0 {
        node.to_string()
    } else {
        format!("{node}_{port}")
    }
}

/// Replaces every pipeline output among `nodes` by one placeholder per
/// component read. Returns a line per placeholder made, for the log.
pub(crate) fn replace_pipelines(nodes: &mut Vec<NodeDef>) -> Vec<String> {
    let pipelines: Vec<usize> = (0..nodes.len()).filter(|&i| is_pipeline_output(&nodes[i].op)).collect();
    if pipelines.is_empty() {
        return Vec::new();
    }
    let mut taken: HashSet<String> = nodes.iter().map(|n| n.name.clone()).collect();
    let mut renames: HashMap<String, String> = HashMap::new();
    let mut made = Vec::new();
    let mut log = Vec::new();
    for &i in &pipelines {
        let pipeline = &nodes[i];
        let mut ports: Vec<usize> = nodes
            .iter()
            .flat_map(|n| n.input.iter())
            .filter(|s| !names::is_control_input(s) && node_of(s) == pipeline.name)
            .map(|s| names::output_index(s))
            .collect();
        ports.sort_unstable();
        ports.dedup();
        let types = list_attr_types(pipeline);
        let shapes = list_attr_shapes(pipeline);
        for port in ports {
            let mut name = placeholder_name(&pipeline.name, port);
            if port > 0 {
                while taken.contains(&name) {
                    name.push('_');
                }
                taken.insert(name.clone());
            }
            let dtype = types.get(port).copied().unwrap_or(DataType::DtFloat);
            let shape = shapes.get(port).cloned();
            log.push(format!(
                "input pipeline {}:{port} ({}) became placeholder {name} ({} {})",
                pipeline.name,
                pipeline.op,
                dtype::name(dtype),
                shape.as_ref().and_then(shape_dims).map(|d| format_shape(&d)).unwrap_or_else(|| "unknown".into()),
            ));
            renames.insert(format!("{}:{port}", pipeline.name), name.clone());
            made.push((i, placeholder(&name, dtype, shape)));
        }
    }
    // Component 0 takes the pipeline node's place; the others go at the end.
    let mut extra = Vec::new();
    let mut replaced = HashSet::new();
    for (i, placeholder) in made {
        if placeholder.name == nodes[i].name {
            replaced.insert(i);
            nodes[i] = placeholder;
        } else {
            extra.push(placeholder);
        }
    }
    let removed: HashSet<String> =
        pipelines.iter().filter(|i| !replaced.contains(i)).map(|&i| nodes[i].name.clone()).collect();
    for node in nodes.iter_mut() {
        for input in node.input.iter_mut() {
            if names::is_control_input(input) {
                continue;
            }
            let key = if input.contains(':') { input.clone() } else { format!("{input}:0") };
            if let Some(new) = renames.get(&key) {
                *input = new.clone();
            }
        }
        node.input.retain(|s| !names::is_control_input(s) || !removed.contains(node_of(s)));
    }
    nodes.retain(|n| !removed.contains(&n.name));
    nodes.extend(extra);
    log
}

fn placeholder(name: &str, dtype: DataType, shape: Option<TensorShapeProto>) -> NodeDef {
    let mut node = NodeDef { name: name.to_string(), op: "Placeholder".to_string(), ..Default::default() };
    node.attr.insert("dtype".to_string(), graph::type_attr(dtype));
    if let Some(shape) = shape {
        node.attr.insert("shape".to_string(), AttrValue { value: Some(attr_value::Value::Shape(shape)) });
    }
    node
}

/// `output_types` (iterators) or `component_types` (queues).
fn list_attr_types(node: &NodeDef) -> Vec<DataType> {
    ["output_types", "component_types"]
        .iter()
        .find_map(|name| match graph::attr(node, name) {
            Some(attr_value::Value::List(list)) => Some(list.r#type.iter().map(|&t| dtype::from_i32(t)).collect()),
            _ => None,
        })
        .unwrap_or_default()
}

/// `output_shapes` (iterators), else the `_output_shapes` TensorFlow records.
fn list_attr_shapes(node: &NodeDef) -> Vec<TensorShapeProto> {
    ["output_shapes", "_output_shapes"]
        .iter()
        .find_map(|name| match graph::attr(node, name) {
            Some(attr_value::Value::List(list)) if !list.shape.is_empty() => Some(list.shape.clone()),
            _ => None,
        })
        .unwrap_or_default()
}
