//! Rust types for `proto/tensorflow.proto`, the project's TensorFlow schema subset.
#![allow(clippy::all, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/tensorflow.rs"));

/// Serialized `FileDescriptorSet` of the schema, for text-format parsing.
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tensorflow_descriptor.bin"));
