//! Checkpoint V2 bundles: a `.index` table of tensor entries plus
//! `.data-NNNNN-of-NNNNN` shards holding the bytes (tf-formats.md §1–4).
//!
//! [`Checkpoint::open`] reads and verifies the whole index; reading a tensor
//! reads just its bytes from its shard and verifies their crc.

mod bundle;
pub mod crc;
pub mod objects;
pub mod slice;
pub mod table;

pub use bundle::{Checkpoint, TensorInfo};
pub use slice::{slice_key, Extent, TensorSlice};
pub use table::Table;
