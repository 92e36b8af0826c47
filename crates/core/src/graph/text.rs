//! Protobuf text format (`.pbtxt`, the `checkpoint` state file), parsed and
//! printed through the schema's descriptors; the same descriptors give the
//! TF.js emitter its JSON mapping.

use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

use crate::error::{Error, ErrorKind, Result};
use crate::proto::DESCRIPTOR_SET;

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(DESCRIPTOR_SET).expect("the built-in descriptor set decodes"))
}

fn descriptor(full_name: &str) -> Result<MessageDescriptor> {
    pool()
        .get_message_by_name(full_name)
        .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("unknown message type {full_name}")))
}

/// `message` as a reflective message of type `full_name`, for printing it
/// as text or JSON.
pub(crate) fn to_dynamic<M: Message>(message: &M, full_name: &str) -> Result<DynamicMessage> {
    DynamicMessage::decode(descriptor(full_name)?, message.encode_to_vec().as_slice())
        .map_err(|e| Error::new(ErrorKind::GraphInvalid, e.to_string()))
}

/// Parses text format into message `full_name` (e.g. `tensorflow.GraphDef`).
pub fn parse_text<M: Message + Default>(source: &str, full_name: &str) -> Result<M> {
    let dynamic = DynamicMessage::parse_text_format(descriptor(full_name)?, source).map_err(|e| {
        let position = e.to_string();
        Error::new(ErrorKind::GraphInvalid, format!("not a text-format {full_name}: {position}"))
    })?;
    M::decode(dynamic.encode_to_vec().as_slice())
        .map_err(|e| Error::new(ErrorKind::GraphInvalid, format!("text-format {full_name} does not convert: {e}")))
}

/// Prints a message in text format, as `tf.io.write_graph(as_text=True)` would.
pub fn to_text<M: Message>(message: &M, full_name: &str) -> Result<String> {
    let dynamic = to_dynamic(message, full_name)?;
    let options = prost_reflect::text_format::FormatOptions::new().pretty(true).expand_any(false);
    Ok(dynamic.to_text_format_with_options(&options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{CheckpointState, GraphDef};

    #[test]
    fn parses_a_checkpoint_state_file() {
        let state: CheckpointState = parse_text(
            "model_checkpoint_path: \"model.ckpt-40\"\nall_model_checkpoint_paths: \"model.ckpt-30\"\nall_model_checkpoint_paths: \"model.ckpt-40\"\n",
            "tensorflow.CheckpointState",
        )
        .unwrap();
        assert_eq!(state.model_checkpoint_path, "model.ckpt-40");
        assert_eq!(state.all_model_checkpoint_paths.len(), 2);
    }

    #[test]
    fn parses_octal_escaped_tensor_content() {
        let graph: GraphDef = parse_text(
            r#"node { name: "c" op: "Const" attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { dim { size: 2 } } tensor_content: "\000\000\200?\000\000\000@" } } } }"#,
            "tensorflow.GraphDef",
        )
        .unwrap();
        let tensor = crate::graph::attr_tensor(&graph.node[0], "value").unwrap();
        assert_eq!(tensor.tensor_content.as_ref(), &[0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
    }

    #[test]
    fn reports_garbage_as_invalid_graph() {
        let err = parse_text::<GraphDef>("node { nme: 1 }", "tensorflow.GraphDef").unwrap_err();
        assert_eq!(err.kind, ErrorKind::GraphInvalid);
    }
}
