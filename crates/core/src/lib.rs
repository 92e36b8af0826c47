//! Reads TensorFlow checkpoints and graphs and turns them into inference
//! models, without TensorFlow. One module per pipeline stage:
//!
//! - [`source`]: what a user-supplied path names (prefix, training directory, graph, SavedModel)
//! - [`savedmodel`]: SavedModel directories, and a signature's graph made freezable
//! - [`checkpoint`]: the V2 checkpoint bundle (`.index` table + `.data-*` shards)
//! - [`graph`]: GraphDef / MetaGraphDef, binary and text format
//! - [`freeze`]: variables become constants, the graph is pruned to its outputs
//! - [`optimize`]: `optimize_for_inference`'s rewrites, plus constant folding
//! - [`quantize`]: uint8 / float16 / int8 weights, and a graph that decodes them
//! - [`opcheck`]: which ops TensorFlow.js can run, and which need `executeAsync`
//! - [`emit`]: frozen GraphDefs and TensorFlow.js graph models on disk
//! - [`pipeline`]: the stages put together, and the requests the CLI and the
//!   Node binding send
//!
//! and the pieces they share: [`tensor`] (tensor values and `TensorProto`),
//! [`dtype`], [`names`] (node-name parsing and suggestions), [`proto`] (the
//! generated TensorFlow messages) and [`error`].
//!
//! The crate knows nothing of bundlers or JavaScript; every public function
//! returns [`Result`] with an [`Error`] whose [`ErrorKind::code`] is stable.

pub mod checkpoint;
pub mod dtype;
pub mod emit;
pub mod error;
pub mod freeze;
pub mod graph;
pub mod mapped;
pub mod names;
pub mod opcheck;
pub mod optimize;
pub mod pipeline;
pub mod proto;
pub mod quantize;
pub mod savedmodel;
pub mod source;
pub mod tensor;
pub mod training;

#[cfg(test)]
pub(crate) mod test_graphs;

pub use error::{Error, ErrorKind, Result};

/// Version of this crate; part of every cache key built on its output.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
