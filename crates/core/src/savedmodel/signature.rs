//! A signature's tensors under the names users know: outputs by their keys
//! (`probs`), inputs by the function's argument names (`image`), rather than
//! `StatefulPartitionedCall_1:1` and `serving_default_image`.

use std::collections::HashSet;

use crate::error::{Error, ErrorKind, Result};
use crate::graph;
use crate::names::{self, node_of, output_index};
use crate::proto::{tensor_info, DataType, GraphDef, MetaGraphDef, NodeDef, TensorInfo};

/// The signature a SavedModel is served by when none is named
/// (`signature_constants.DEFAULT_SERVING_SIGNATURE_DEF_KEY`).
pub const DEFAULT_SIGNATURE: &str = "serving_default";

/// The graph names of a bound signature's inputs and outputs, in key order.
pub(super) struct Bound {
    pub(super) inputs: Vec<String>,
    pub(super) outputs: Vec<String>,
}

pub(super) fn tensor_name(info: &TensorInfo) -> Option<&str> {
    match &info.encoding {
        Some(tensor_info::Encoding::Name(name)) => Some(name),
        _ => None,
    }
}

/// Renames the nodes of signature `name` in `graph` to its keys: an input
/// placeholder takes its argument's name, an output becomes an `Identity`
/// named by its key. A node already holding such a name moves aside
/// (`name_1`), with every reference to it.
pub(super) fn bind(graph: &mut GraphDef, meta: &MetaGraphDef, name: &str) -> Result<Bound> {
    let def = meta.signature_def.get(name).ok_or_else(|| unknown_signature(meta, name))?;
    let tensor = |graph: &GraphDef, key: &str, info: &TensorInfo| -> Result<String> {
        let tensor = tensor_name(info).ok_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedFormat,
                format!("signature \"{name}\": \"{key}\" is a sparse or composite tensor, which is not read yet"),
            )
        })?;
        graph::require_nodes(graph, &[node_of(tensor).to_string()])?;
        Ok(tensor.to_string())
    };
    let mut taken: HashSet<String> = graph.node.iter().map(|n| n.name.clone()).collect();

    let mut inputs = Vec::new();
    for (key, info) in &def.inputs {
        let tensor = tensor(graph, key, info)?;
        let node = node_of(&tensor).to_string();
        let is_placeholder = graph.node.iter().any(|n| n.name == node && n.op.starts_with("Placeholder"));
        if node != *key && output_index(&tensor) == 0 && is_placeholder {
            if taken.contains(key) {
                let aside = graph::unique_name(key, &mut taken);
                rename(graph, key, &aside);
            }
            rename(graph, &node, key);
            taken.insert(key.clone());
            inputs.push(key.clone());
        } else {
            inputs.push(node);
        }
    }

    let mut outputs = Vec::new();
    for (key, info) in &def.outputs {
        let mut tensor = tensor(graph, key, info)?;
        if node_of(&tensor) == key && output_index(&tensor) == 0 {
            outputs.push(key.clone());
            continue;
        }
        if taken.contains(key) {
            if inputs.contains(key) {
                return Err(Error::new(
                    ErrorKind::GraphInvalid,
                    format!("signature \"{name}\" names an input and an output \"{key}\""),
                ));
            }
            let aside = graph::unique_name(key, &mut taken);
            rename(graph, key, &aside);
            if node_of(&tensor) == key {
                tensor = format!("{aside}:{}", output_index(&tensor));
            }
        }
        taken.insert(key.clone());
        graph.node.push(identity(key, &tensor, crate::dtype::from_i32(info.dtype)));
        outputs.push(key.clone());
    }
    Ok(Bound { inputs, outputs })
}

fn identity(name: &str, input: &str, dtype: DataType) -> NodeDef {
    let mut node = NodeDef {
        name: name.to_string(),
        op: "Identity".to_string(),
        input: vec![input.to_string()],
        ..Default::default()
    };
    node.attr.insert("T".to_string(), graph::type_attr(dtype));
    node
}

/// Renames node `from` to `to`, and every input and colocation naming it.
fn rename(graph: &mut GraphDef, from: &str, to: &str) {
    let colocated = format!("loc:@{from}");
    for node in &mut graph.node {
        if node.name == from {
            node.name = to.to_string();
        }
        for input in &mut node.input {
            if node_of(input) == from {
                *input = match input.strip_prefix(from) {
                    Some(rest) if rest.starts_with(':') => format!("{to}{rest}"),
                    _ if names::is_control_input(input) => format!("^{to}"),
                    _ => to.to_string(),
                };
            }
        }
        if let Some(crate::proto::attr_value::Value::List(list)) =
            node.attr.get_mut("_class").and_then(|a| a.value.as_mut())
        {
            for class in list.s.iter_mut().filter(|s| s.as_slice() == colocated.as_bytes()) {
                *class = format!("loc:@{to}").into_bytes();
            }
        }
    }
}

/// UNKNOWN_SIGNATURE, listing the signatures there are and suggesting the closest.
fn unknown_signature(meta: &MetaGraphDef, name: &str) -> Error {
    let known: Vec<String> =
        meta.signature_def.keys().filter(|k| k.as_str() != super::INIT_OP_SIGNATURE).cloned().collect();
    let listed = if known.is_empty() {
        "it has none".to_string()
    } else {
        format!("it has {}", crate::error::quoted_list(&known))
    };
    Error::new(ErrorKind::UnknownSignature, format!("the SavedModel has no signature \"{name}\"; {listed}"))
        .about(name)
        .suggest(names::closest(name, known.iter().map(String::as_str)))
}
