//! Binary GraphDef and MetaGraphDef files, read as the pipeline reads them,
//! then frozen and optimized (to a `.pb`) when they parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfmodel_core::graph::{self, Encoding};
use tfmodel_core::pipeline::{self, ConvertOptions, ModelFiles, OutputFormat};

fuzz_target!(|data: &[u8]| {
    // The first byte says which message the rest is.
    let Some((&kind, bytes)) = data.split_first() else { return };
    let meta = kind & 1 == 1;
    let path = tfmodel_fuzz::scratch_dir().join(if meta { "graph.meta" } else { "graph.pb" });
    std::fs::write(&path, bytes).unwrap();
    let parsed = if meta {
        graph::read_meta_graph(&path, Encoding::Binary).is_ok()
    } else {
        graph::read_graph_def(&path, Encoding::Binary).is_ok()
    };
    if !parsed {
        return;
    }
    let mut files = ModelFiles { input_binary: Some(true), ..Default::default() };
    if meta {
        files.input_meta_graph = Some(path);
    } else {
        files.input_graph = Some(path);
    }
    let options = ConvertOptions { format: OutputFormat::Pb, ..Default::default() };
    let _ = pipeline::convert(&files, &options);
});
