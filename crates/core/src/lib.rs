//! Reads TensorFlow checkpoints and graphs and turns them into inference
//! models, without TensorFlow. One module per pipeline stage:
//!
//! - [`checkpoint`]: the V2 checkpoint bundle (`.index` table + `.data-*` shards)
//! - [`graph`]: GraphDef / MetaGraphDef, binary and text format
//! - [`source`]: what a user-supplied path names (prefix, training directory, graph)
//! - [`freeze`]: variables become constants, the graph is pruned to its outputs
//!
//! The crate knows nothing of bundlers or JavaScript; every public function
//! returns [`Result`] with an [`Error`] whose [`ErrorKind::code`] is stable.

pub mod checkpoint;
pub mod dtype;
pub mod emit;
pub mod error;
pub mod freeze;
pub mod graph;
pub mod names;
pub mod opcheck;
pub mod optimize;
pub mod pipeline;
pub mod proto;
pub mod quantize;
pub mod source;
pub mod tensor;

pub use error::{Error, ErrorKind, Result};

/// Version of this crate; part of every cache key built on its output.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
