//! Checkpoint V2 bundles: a `.index` table of tensor entries plus
//! `.data-NNNNN-of-NNNNN` shards holding the bytes.
