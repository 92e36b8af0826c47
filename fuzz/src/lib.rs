//! Helpers the fuzz targets share: a table writer and crc repair, so inputs
//! get past the checksums into the decoders behind them; a generator of small
//! graphs of known ops; and a scratch directory per fuzzing process.

pub mod graphs;
pub mod table;

use std::path::Path;
use std::sync::OnceLock;

/// A directory that lives as long as the fuzzing process; targets that must
/// hand the core a path write their input into it.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory")).path()
}

use tfmodel_core::pipeline::{self, ConvertOptions, ModelFiles, OpCheckMode, OutputFormat};
use tfmodel_core::quantize::{QuantizeMode, QuantizeOptions};

/// Runs the whole public pipeline (read, freeze, optimize, quantize, emit) on
/// a generated graph written as a `.pb`. It may fail, with a coded error; it
/// must not panic.
pub fn convert_generated(input: &graphs::FuzzGraph, format: OutputFormat, quantize: u8) {
    let path = scratch_dir().join("generated.pb");
    std::fs::write(&path, prost::Message::encode_to_vec(&input.graph())).unwrap();
    let files = ModelFiles { input_graph: Some(path), input_binary: Some(true), ..Default::default() };
    let mut options = ConvertOptions { format, op_check: OpCheckMode::Warn, ..Default::default() };
    options.freeze.output_node_names = input.output_names();
    let mode = match quantize % 4 {
        1 => Some(QuantizeMode::Uint8),
        2 => Some(QuantizeMode::Float16),
        3 => Some(QuantizeMode::Int8),
        _ => None,
    };
    // Small minimum so the generator's tiny constants get quantized too.
    options.quantize = mode.map(|mode| QuantizeOptions { mode, minimum_size: 1 });
    if let Ok(converted) = pipeline::convert(&files, &options) {
        assert!(!converted.files.is_empty(), "a conversion that succeeds writes files");
    }
}
