//! Binary and text GraphDef files.

use std::io::Write;
use std::path::Path;

use prost::encoding::{encode_key, encode_varint, WireType};
use prost::Message;

use super::write_atomic;
use crate::error::Result;
use crate::graph::to_text;
use crate::proto::GraphDef;

/// Writes a binary GraphDef one node at a time, so only one node's tensor is
/// ever copied into an encode buffer. Returns the bytes written.
pub fn write_graph_def(graph: &GraphDef, path: &Path) -> Result<u64> {
    let mut written = 0u64;
    write_atomic(path, |out| {
        written = stream_graph_def(graph, out)?;
        Ok(())
    })?;
    Ok(written)
}

/// The whole binary GraphDef in memory.
pub fn encode_graph_def(graph: &GraphDef) -> Vec<u8> {
    graph.encode_to_vec()
}

/// Writes a text-format GraphDef, as `tf.io.write_graph(as_text=True)` does.
pub fn write_graph_text(graph: &GraphDef, path: &Path) -> Result<u64> {
    let text = to_text(graph, "tensorflow.GraphDef")?;
    write_atomic(path, |out| out.write_all(text.as_bytes()))?;
    Ok(text.len() as u64)
}

fn stream_graph_def(graph: &GraphDef, out: &mut dyn Write) -> std::io::Result<u64> {
    let mut written = 0u64;
    let mut buffer = Vec::new();
    for node in &graph.node {
        buffer.clear();
        encode_key(1, WireType::LengthDelimited, &mut buffer);
        encode_varint(node.encoded_len() as u64, &mut buffer);
        node.encode(&mut buffer).map_err(std::io::Error::other)?;
        out.write_all(&buffer)?;
        written += buffer.len() as u64;
    }
    // Everything but the nodes is small: encode it as a GraphDef of its own.
    let rest = graph.clone_without_nodes();
    let tail = rest.encode_to_vec();
    out.write_all(&tail)?;
    Ok(written + tail.len() as u64)
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
    use crate::proto::{NodeDef, VersionDef};

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
        stream_graph_def(&graph, &mut bytes).unwrap();
        assert_eq!(GraphDef::decode(bytes.as_slice()).unwrap(), graph);
    }

    #[test]
    fn failed_writes_leave_no_file() {
        let dir = std::env::temp_dir().join(format!("tfmodel-emit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.pb");
        let result = write_atomic(&path, |out| {
            out.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(result.is_err());
        assert!(std::fs::read_dir(&dir).unwrap().next().is_none(), "no file, temporary or final, is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
