//! GraphDef and MetaGraphDef files, binary and text format, and the small
//! queries the later stages make of a graph.

pub mod shapes;
mod text;

use std::collections::HashMap;
use std::path::Path;

use prost::Message;

use crate::error::{Error, ErrorKind, Result};
use crate::names;
use crate::proto::{attr_value, AttrValue, GraphDef, MetaGraphDef, NodeDef};

pub use shapes::{signature_of, Signature, TensorSpec};
pub(crate) use text::to_dynamic;
pub use text::{parse_text, to_text};

/// How a graph file is encoded. `Auto` looks at the extension, then the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    Auto,
    Binary,
    Text,
}

/// Reads a `GraphDef` (`.pb`, `.pbtxt`); the graph must hold nodes.
pub fn read_graph_def(path: &Path, encoding: Encoding) -> Result<GraphDef> {
    let graph: GraphDef = read_message(path, encoding, "tensorflow.GraphDef")?;
    check_graph(&graph).map_err(|e| e.or_file(path))?;
    Ok(graph)
}

/// Reads a `MetaGraphDef` (`.meta`, or a text one); its graph must hold nodes.
pub fn read_meta_graph(path: &Path, encoding: Encoding) -> Result<MetaGraphDef> {
    let meta: MetaGraphDef = read_message(path, encoding, "tensorflow.MetaGraphDef")?;
    match &meta.graph_def {
        Some(graph) => check_graph(graph).map_err(|e| e.or_file(path))?,
        None => return Err(Error::new(ErrorKind::GraphEmpty, "meta graph holds no graph_def").in_file(path)),
    }
    Ok(meta)
}

pub(crate) fn read_message<M: Message + Default>(path: &Path, encoding: Encoding, full_name: &str) -> Result<M> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(e, path))?;
    if bytes.is_empty() {
        return Err(Error::new(ErrorKind::GraphEmpty, "file is empty").in_file(path));
    }
    let text = match encoding {
        Encoding::Binary => false,
        Encoding::Text => true,
        Encoding::Auto => looks_like_text(path, &bytes),
    };
    let parsed = if text {
        let source = std::str::from_utf8(&bytes)
            .map_err(|_| Error::new(ErrorKind::GraphInvalid, "text-format graph is not valid UTF-8"))?;
        parse_text::<M>(source, full_name)
    } else {
        decode_binary::<M>(bytes, full_name)
    };
    parsed.map_err(|e| e.in_file(path))
}

/// Decodes from a `Bytes` that owns the file's buffer, so every `bytes` field
/// (a constant's `tensor_content`) is a slice of it rather than a copy.
fn decode_binary<M: Message + Default>(bytes: Vec<u8>, full_name: &str) -> Result<M> {
    M::decode(bytes::Bytes::from(bytes)).map_err(|e| {
        Error::new(ErrorKind::GraphInvalid, format!("not a binary {} protobuf: {e}", short_name(full_name)))
    })
}

fn short_name(full_name: &str) -> &str {
    full_name.rsplit('.').next().unwrap_or(full_name)
}

/// Text-format files are named `.pbtxt`/`.prototxt` (the names
/// [`crate::source`] takes for graph files); otherwise a file is text if it
/// opens with what a text-format graph opens with.
fn looks_like_text(path: &Path, bytes: &[u8]) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some("pbtxt" | "prototxt") => return true,
        Some("pb" | "meta" | "graphdef") => return false,
        _ => {}
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]);
    let head = head.trim_start();
    ["node", "meta_info_def", "graph_def", "versions", "library", "#"].iter().any(|word| head.starts_with(word))
}

/// Structural checks every stage relies on: nodes exist, names are unique and non-empty.
pub fn check_graph(graph: &GraphDef) -> Result<()> {
    if graph.node.is_empty() {
        return Err(Error::new(ErrorKind::GraphEmpty, "graph holds no nodes"));
    }
    let mut seen = HashMap::with_capacity(graph.node.len());
    for node in &graph.node {
        if node.name.is_empty() || node.op.is_empty() {
            return Err(Error::new(ErrorKind::GraphInvalid, "graph has a node without a name or op"));
        }
        if seen.insert(node.name.as_str(), ()).is_some() {
            return Err(Error::new(ErrorKind::GraphInvalid, format!("graph has two nodes named \"{}\"", node.name))
                .about(&node.name));
        }
    }
    Ok(())
}

/// Node name → position in `graph.node`.
pub fn index_by_name(graph: &GraphDef) -> HashMap<&str, usize> {
    graph.node.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect()
}

/// The node `input` names, looking through `Identity` nodes: the first node
/// reached that is not an `Identity`, with the input string that names it.
/// `None` when a name is not in `index`, an `Identity` has no data input, or
/// the walk is longer than the graph has nodes (an `Identity` cycle).
pub fn through_identities<'a, 'g: 'a>(
    graph: &'g GraphDef,
    index: &HashMap<&str, usize>,
    input: &'a str,
) -> Option<(&'a str, &'g NodeDef)> {
    let mut input = input;
    for _ in 0..=graph.node.len() {
        let node = graph.node.get(*index.get(names::node_of(input))?)?;
        if node.op != "Identity" {
            return Some((input, node));
        }
        input = node.input.first().filter(|i| !names::is_control_input(i))?;
    }
    None
}

/// Looks up output node names, failing with the closest names when one is
/// unknown (a tensor name such as `y:0` is not a node name either).
pub fn require_nodes(graph: &GraphDef, wanted: &[String]) -> Result<()> {
    let index = index_by_name(graph);
    for name in wanted {
        if index.contains_key(name.as_str()) {
            continue;
        }
        let mut suggestions = Vec::new();
        let plain = names::node_of(name);
        if plain != name && index.contains_key(plain) {
            suggestions.push(plain.to_string());
        }
        for s in names::closest(plain, graph.node.iter().map(|n| n.name.as_str())) {
            if !suggestions.contains(&s) {
                suggestions.push(s);
            }
        }
        suggestions.truncate(3);
        let hint = if plain != name { " (node names have no \":N\" output suffix)" } else { "" };
        return Err(Error::new(ErrorKind::UnknownNode, format!("graph has no node named \"{name}\"{hint}"))
            .about(name)
            .suggest(suggestions));
    }
    Ok(())
}

pub fn attr<'a>(node: &'a NodeDef, name: &str) -> Option<&'a attr_value::Value> {
    node.attr.get(name).and_then(|a| a.value.as_ref())
}

pub fn attr_type(node: &NodeDef, name: &str) -> Option<crate::proto::DataType> {
    match attr(node, name)? {
        attr_value::Value::Type(t) => Some(crate::dtype::from_i32(*t)),
        _ => None,
    }
}

pub fn attr_int(node: &NodeDef, name: &str) -> Option<i64> {
    match attr(node, name)? {
        attr_value::Value::I(i) => Some(*i),
        _ => None,
    }
}

pub fn attr_bool(node: &NodeDef, name: &str) -> Option<bool> {
    match attr(node, name)? {
        attr_value::Value::B(b) => Some(*b),
        _ => None,
    }
}

pub fn attr_string(node: &NodeDef, name: &str) -> Option<String> {
    match attr(node, name)? {
        attr_value::Value::S(s) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

pub fn attr_shape(node: &NodeDef, name: &str) -> Option<Vec<i64>> {
    match attr(node, name)? {
        attr_value::Value::Shape(s) => crate::tensor::shape_dims(s),
        _ => None,
    }
}

pub fn attr_tensor<'a>(node: &'a NodeDef, name: &str) -> Option<&'a crate::proto::TensorProto> {
    match attr(node, name)? {
        attr_value::Value::Tensor(t) => Some(t),
        _ => None,
    }
}

pub fn type_attr(dtype: crate::proto::DataType) -> AttrValue {
    AttrValue { value: Some(attr_value::Value::Type(dtype as i32)) }
}

pub fn tensor_attr(tensor: crate::proto::TensorProto) -> AttrValue {
    AttrValue { value: Some(attr_value::Value::Tensor(tensor)) }
}

/// For each node, whether `roots` reach it through data inputs, control
/// inputs or colocation.
pub fn reachable(graph: &GraphDef, roots: &[String]) -> Vec<bool> {
    let index = index_by_name(graph);
    let mut reached = vec![false; graph.node.len()];
    let mut queue: std::collections::VecDeque<usize> =
        roots.iter().filter_map(|r| index.get(r.as_str()).copied()).collect();
    while let Some(i) = queue.pop_front() {
        if std::mem::replace(&mut reached[i], true) {
            continue;
        }
        let node = &graph.node[i];
        let dependencies = node.input.iter().map(|s| names::node_of(s)).chain(colocation_targets(node));
        queue.extend(dependencies.filter_map(|d| index.get(d).copied()).filter(|&d| !reached[d]));
    }
    reached
}

/// `base`, or `base_1`, `base_2`, … if taken; the result is added to `taken`.
pub fn unique_name(base: &str, taken: &mut std::collections::HashSet<String>) -> String {
    let mut name = base.to_string();
    let mut n = 0;
    while taken.contains(&name) {
        n += 1;
        name = format!("{base}_{n}");
    }
    taken.insert(name.clone());
    name
}

/// Each library function's position, by name.
pub fn function_index(library: &crate::proto::FunctionDefLibrary) -> HashMap<String, usize> {
    library.function.iter().enumerate().filter_map(|(i, f)| Some((f.signature.as_ref()?.name.clone(), i))).collect()
}

/// A `Const` holding `value`, with only `dtype` and `value` as TensorFlow writes it.
pub fn constant(name: &str, value: &crate::tensor::Tensor) -> NodeDef {
    let mut node = NodeDef { name: name.to_string(), op: "Const".to_string(), ..Default::default() };
    node.attr.insert("dtype".to_string(), type_attr(value.dtype));
    node.attr.insert("value".to_string(), tensor_attr(value.to_proto()));
    node
}

/// Deletes `loc:@X` entries whose `X` is gone; TensorFlow's importer rejects
/// a node colocated with an unknown node.
pub fn drop_dangling_colocations(nodes: &mut [NodeDef]) {
    let names: std::collections::HashSet<String> = nodes.iter().map(|n| n.name.clone()).collect();
    for node in nodes.iter_mut() {
        let Some(AttrValue { value: Some(attr_value::Value::List(list)) }) = node.attr.get_mut("_class") else {
            continue;
        };
        list.s.retain(|entry| match std::str::from_utf8(entry).ok().and_then(|s| s.strip_prefix("loc:@")) {
            Some(target) => names.contains(target),
            None => true,
        });
        if list.s.is_empty() {
            node.attr.remove("_class");
        }
    }
}

/// Targets of a node's `_class` colocation attr (`loc:@x` → `x`).
pub fn colocation_targets(node: &NodeDef) -> Vec<&str> {
    match attr(node, "_class") {
        Some(attr_value::Value::List(list)) => {
            list.s.iter().filter_map(|s| std::str::from_utf8(s).ok()?.strip_prefix("loc:@")).collect()
        }
        _ => Vec::new(),
    }
}

/// Drops the library functions no node of the graph reaches (through a
/// function-valued attr such as `then_branch` or `body`, or by calling one as
/// its op), transitively through the functions kept. A training graph's
/// library holds the gradient bodies and dataset factories the model's
/// outputs never run. Returns the names dropped.
pub fn prune_library(graph: &mut GraphDef) -> Vec<String> {
    let Some(library) = graph.library.as_mut() else { return Vec::new() };
    let by_name = function_index(library);
    let mut keep = vec![false; library.function.len()];
    let mut queue: Vec<usize> = graph.node.iter().flat_map(|n| called(n, &by_name)).collect();
    while let Some(i) = queue.pop() {
        if std::mem::replace(&mut keep[i], true) {
            continue;
        }
        queue.extend(library.function[i].node_def.iter().flat_map(|n| called(n, &by_name)));
    }
    let mut dropped = Vec::new();
    let mut position = 0;
    library.function.retain(|f| {
        position += 1;
        if !keep[position - 1] {
            dropped.push(f.signature.as_ref().map(|s| s.name.clone()).unwrap_or_default());
        }
        keep[position - 1]
    });
    library.gradient.retain(|g| !dropped.contains(&g.function_name) && !dropped.contains(&g.gradient_func));
    dropped
}

/// The library functions a node calls: its op, and its function-valued attrs.
fn called(node: &NodeDef, by_name: &HashMap<String, usize>) -> Vec<usize> {
    let mut names: Vec<&str> = vec![node.op.as_str()];
    for value in node.attr.values().filter_map(|a| a.value.as_ref()) {
        match value {
            attr_value::Value::Func(f) => names.push(&f.name),
            attr_value::Value::List(list) => names.extend(list.func.iter().map(|f| f.name.as_str())),
            _ => {}
        }
    }
    names.into_iter().filter_map(|name| by_name.get(name).copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{AttrValue, TensorProto};

    fn graph_with_content(bytes: usize) -> GraphDef {
        let tensor = TensorProto {
            dtype: crate::proto::DataType::DtUint8 as i32,
            tensor_shape: Some(crate::tensor::shape_proto(&[bytes as i64])),
            tensor_content: vec![7u8; bytes].into(),
            ..Default::default()
        };
        let mut node = NodeDef { name: "w".into(), op: "Const".into(), ..Default::default() };
        node.attr.insert("value".into(), AttrValue { value: Some(attr_value::Value::Tensor(tensor)) });
        GraphDef { node: vec![node], ..Default::default() }
    }

    #[test]
    fn tensor_content_is_a_slice_of_the_file_buffer() {
        let encoded = graph_with_content(4096).encode_to_vec();
        let buffer = encoded.as_ptr_range();
        let graph: GraphDef = decode_binary(encoded, "tensorflow.GraphDef").unwrap();
        let content = &attr_tensor(&graph.node[0], "value").unwrap().tensor_content;
        assert_eq!(content.len(), 4096);
        assert!(buffer.contains(&content.as_ptr()), "tensor_content was copied out of the file's buffer");
    }

    #[test]
    fn a_txt_file_is_not_taken_for_text_format() {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("graph.txt");
        let graph = graph_with_content(16);
        std::fs::write(&path, graph.encode_to_vec()).unwrap();
        assert_eq!(read_graph_def(&path, Encoding::Auto).unwrap(), graph);
        let text = scratch.path().join("graph.pbtxt");
        std::fs::write(&text, to_text(&graph, "tensorflow.GraphDef").unwrap()).unwrap();
        assert_eq!(read_graph_def(&text, Encoding::Auto).unwrap(), graph);
    }

    #[test]
    fn identity_walks_stop_at_a_cycle() {
        let node = |name: &str, op: &str, input: &str| NodeDef {
            name: name.into(),
            op: op.into(),
            input: vec![input.into()],
            ..Default::default()
        };
        let graph = GraphDef {
            node: vec![node("a", "Identity", "b"), node("b", "Identity", "a:0"), node("c", "Identity", "d"), {
                NodeDef { name: "d".into(), op: "Const".into(), ..Default::default() }
            }],
            ..Default::default()
        };
        let index = index_by_name(&graph);
        assert!(through_identities(&graph, &index, "a").is_none());
        let (input, found) = through_identities(&graph, &index, "c").unwrap();
        assert_eq!((input, found.name.as_str()), ("d", "d"));
        assert!(through_identities(&graph, &index, "missing").is_none());
    }
}
