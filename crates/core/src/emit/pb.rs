//! Binary and text GraphDef files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use bytes::Bytes;
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
use prost::Message;

use super::write_atomic;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::to_text;
use crate::proto::{GraphDef, NodeDef, TensorProto};

/// Protobuf's limit on a message, which TensorFlow shares: it cannot read a
/// larger GraphDef.
pub const MAX_GRAPH_DEF_BYTES: u64 = i32::MAX as u64;

/// `Const` values left out of a graph, read one at a time as their nodes are
/// written: node name → what `read` takes to fetch its `tensor_content`.
pub struct Deferred<'a> {
    pub nodes: &'a BTreeMap<String, String>,
    pub read: &'a dyn Fn(&str) -> Result<Bytes>,
}

/// Writes a binary GraphDef one node at a time, so only one node's tensor is
/// ever copied into an encode buffer. Returns the bytes written.
pub fn write_graph_def(graph: &GraphDef, path: &Path) -> Result<u64> {
    write_graph_def_deferred(graph, None, path)
}

/// [`write_graph_def`] for a graph whose `deferred` constants lack their
/// bytes: each is read, written into its node's framing and dropped. The size
/// is known (and checked) before anything is written.
pub fn write_graph_def_deferred(graph: &GraphDef, deferred: Option<&Deferred>, path: &Path) -> Result<u64> {
    let size = encoded_size(graph, deferred)?;
    check_size(size)?;
    // A read error inside the writer keeps its own kind (a CRC mismatch, say).
    let mut failed = None;
    let result = write_atomic(path, Some(size), |out| {
        stream_graph_def(graph, deferred, out, &mut failed)?;
        Ok(())
    });
    match failed {
        Some(error) => Err(error),
        None => result.map(|()| size),
    }
}

/// The whole binary GraphDef in memory.
pub fn encode_graph_def(graph: &GraphDef) -> Result<Vec<u8>> {
    check_size(graph.encoded_len() as u64)?;
    Ok(graph.encode_to_vec())
}

/// Writes a text-format GraphDef, as `tf.io.write_graph(as_text=True)` does.
pub fn write_graph_text(graph: &GraphDef, path: &Path) -> Result<u64> {
    let text = to_text(graph, "tensorflow.GraphDef")?;
    write_atomic(path, Some(text.len() as u64), |out| out.write_all(text.as_bytes()))?;
    Ok(text.len() as u64)
}

/// A GraphDef TensorFlow could not parse is an error, not a file.
fn check_size(bytes: u64) -> Result<()> {
    if bytes <= MAX_GRAPH_DEF_BYTES {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::GraphTooLarge,
        format!(
            "the frozen graph would be {:.2} GiB, past protobuf's 2 GB limit on a GraphDef (TensorFlow cannot read \
             it); convert with format=tfjs (weights in shards) or format=tflite instead",
            bytes as f64 / f64::from(1u32 << 30)
        ),
    ))
}

fn encoded_size(graph: &GraphDef, deferred: Option<&Deferred>) -> Result<u64> {
    let mut size = graph.clone_without_nodes().encoded_len() as u64;
    for node in &graph.node {
        let len = match deferred_parts(node, deferred)? {
            Some(parts) => parts.framing().node,
            None => node.encoded_len() as u64,
        };
        size = size.saturating_add(framed(len));
    }
    Ok(size)
}

fn stream_graph_def(
    graph: &GraphDef,
    deferred: Option<&Deferred>,
    out: &mut dyn Write,
    failed: &mut Option<Error>,
) -> std::io::Result<()> {
    let mut fail = |error: Error| {
        let io = std::io::Error::other(error.message.clone());
        *failed = Some(error);
        io
    };
    let mut buffer = Vec::new();
    for node in &graph.node {
        buffer.clear();
        match deferred_parts(node, deferred).map_err(&mut fail)? {
            Some(parts) => {
                let read = deferred.expect("parts come from deferred").read;
                let key = &parts.key;
                let content = read(key).map_err(&mut fail)?;
                if content.len() as u64 != parts.content_len {
                    let message =
                        format!("checkpoint tensor \"{key}\" holds {} bytes, not {}", content.len(), parts.content_len);
                    return Err(fail(Error::new(ErrorKind::Internal, message).about(&node.name)));
                }
                parts.encode_head(&mut buffer);
                out.write_all(&buffer)?;
                out.write_all(&content)?;
            }
            None => {
                encode_key(1, WireType::LengthDelimited, &mut buffer);
                encode_varint(node.encoded_len() as u64, &mut buffer);
                node.encode(&mut buffer).map_err(std::io::Error::other)?;
                out.write_all(&buffer)?;
            }
        }
    }
    // Everything but the nodes is small: encode it as a GraphDef of its own.
    out.write_all(&graph.clone_without_nodes().encode_to_vec())
}

// ---- a deferred constant's framing -----------------------------------------
//
// GraphDef.node (1) > NodeDef.attr (5) > map entry {key (1), value (2)} >
// AttrValue.tensor (8) > TensorProto.tensor_content (4). Every length is
// known from the node without its value and the content's size, so the
// content itself is written last, straight from the checkpoint read.

/// A deferred `Const`: its node without the `value` attr, the value's
/// `TensorProto` without content, and the content's size.
struct DeferredParts {
    key: String,
    node: Vec<u8>,
    tensor: Vec<u8>,
    content_len: u64,
}

struct Framing {
    tensor: u64,
    attr: u64,
    entry: u64,
    node: u64,
}

const VALUE_KEY: &str = "value";

fn deferred_parts(node: &NodeDef, deferred: Option<&Deferred>) -> Result<Option<DeferredParts>> {
    let Some(key) = deferred.and_then(|d| d.nodes.get(&node.name)) else { return Ok(None) };
    let tensor = match crate::graph::attr_tensor(node, VALUE_KEY) {
        Some(tensor) if node.op == "Const" && tensor.tensor_content.is_empty() => tensor,
        _ => return Ok(None),
    };
    let content_len = crate::tensor::decoded_byte_len(tensor).ok_or_else(|| {
        Error::new(ErrorKind::Internal, format!("constant \"{}\" has no known byte size", node.name)).about(&node.name)
    })?;
    let mut rest = node.clone();
    rest.attr.remove(VALUE_KEY);
    let tensor = TensorProto { tensor_content: Bytes::new(), ..tensor.clone() };
    Ok(Some(DeferredParts {
        key: key.clone(),
        node: rest.encode_to_vec(),
        tensor: tensor.encode_to_vec(),
        content_len,
    }))
}

impl DeferredParts {
    fn framing(&self) -> Framing {
        let tensor = self.tensor.len() as u64 + framed(self.content_len);
        let attr = framed(tensor);
        let entry = framed(VALUE_KEY.len() as u64) + framed(attr);
        Framing { tensor, attr, entry, node: self.node.len() as u64 + framed(entry) }
    }

    /// Every byte of the framed node up to its content.
    fn encode_head(&self, buffer: &mut Vec<u8>) {
        let framing = self.framing();
        let field = |number: u32, len: u64, buffer: &mut Vec<u8>| {
            encode_key(number, WireType::LengthDelimited, buffer);
            encode_varint(len, buffer);
        };
        field(1, framing.node, buffer);
        buffer.extend_from_slice(&self.node);
        field(5, framing.entry, buffer);
        field(1, VALUE_KEY.len() as u64, buffer);
        buffer.extend_from_slice(VALUE_KEY.as_bytes());
        field(2, framing.attr, buffer);
        field(8, framing.tensor, buffer);
        buffer.extend_from_slice(&self.tensor);
        field(4, self.content_len, buffer);
    }
}

/// Bytes of a length-delimited field numbered below 16 holding `len` bytes.
fn framed(len: u64) -> u64 {
    1 + encoded_len_varint(len) as u64 + len
}

impl GraphDef {
    fn clone_without_nodes(&self) -> GraphDef {
        GraphDef {
            node: Vec::new(),
            versions: self.versions.clone(),
            library: self.library.clone(),
            debug_info: self.debug_info.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{DataType, NodeDef, VersionDef};
    use crate::tensor::{Tensor, TensorData};

    #[test]
    fn streamed_bytes_decode_to_the_same_graph() {
        let graph = GraphDef {
            node: vec![
                NodeDef { name: "a".into(), op: "Placeholder".into(), ..Default::default() },
                NodeDef { name: "b".into(), op: "Identity".into(), input: vec!["a".into()], ..Default::default() },
            ],
            versions: Some(VersionDef { producer: 2474, ..Default::default() }),
            ..Default::default()
        };
        let mut bytes = Vec::new();
        stream_graph_def(&graph, None, &mut bytes, &mut None).unwrap();
        assert_eq!(GraphDef::decode(bytes.as_slice()).unwrap(), graph);
    }

    #[test]
    fn a_graph_past_two_gigabytes_is_an_error_before_anything_is_read() {
        // A 4 GiB float constant whose bytes were never read.
        let value = Tensor { dtype: DataType::DtFloat, shape: vec![1 << 30], data: TensorData::Raw(Bytes::new()) };
        let graph = GraphDef { node: vec![crate::graph::constant("w", &value)], ..Default::default() };
        let nodes = BTreeMap::from([("w".to_string(), "w".to_string())]);
        let read = |_: &str| -> Result<Bytes> { panic!("nothing is read") };
        let dir = std::env::temp_dir().join(format!("tfmodel-too-large-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let error =
            write_graph_def_deferred(&graph, Some(&Deferred { nodes: &nodes, read: &read }), &dir.join("out.pb"))
                .unwrap_err();
        assert_eq!(error.code(), "GRAPH_TOO_LARGE");
        assert!(error.message.contains("format=tfjs"), "{}", error.message);
        assert!(std::fs::read_dir(&dir).unwrap().next().is_none(), "no file is left");
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(check_size(MAX_GRAPH_DEF_BYTES).is_ok());
        assert_eq!(check_size(MAX_GRAPH_DEF_BYTES + 1).unwrap_err().code(), "GRAPH_TOO_LARGE");
    }

    #[test]
    fn a_deferred_constant_streams_to_the_bytes_prost_writes() {
        let value =
            Tensor { dtype: DataType::DtFloat, shape: vec![3, 100], data: TensorData::Raw(vec![7u8; 1200].into()) };
        let full = crate::graph::constant("w", &value);
        let empty = Tensor { data: TensorData::Raw(Bytes::new()), ..value.clone() };
        let graph = GraphDef { node: vec![crate::graph::constant("w", &empty)], ..Default::default() };
        let nodes = BTreeMap::from([("w".to_string(), "key".to_string())]);
        let read = |key: &str| -> Result<Bytes> {
            assert_eq!(key, "key");
            Ok(vec![7u8; 1200].into())
        };
        let deferred = Deferred { nodes: &nodes, read: &read };
        let mut bytes = Vec::new();
        stream_graph_def(&graph, Some(&deferred), &mut bytes, &mut None).unwrap();
        let expected = GraphDef { node: vec![full], ..Default::default() };
        assert_eq!(bytes, expected.encode_to_vec());
        assert_eq!(encoded_size(&graph, Some(&deferred)).unwrap(), bytes.len() as u64);
    }

    #[test]
    fn failed_writes_leave_no_file() {
        let dir = std::env::temp_dir().join(format!("tfmodel-emit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.pb");
        let result = write_atomic(&path, None, |out| {
            out.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(result.is_err());
        assert!(std::fs::read_dir(&dir).unwrap().next().is_none(), "no file, temporary or final, is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
