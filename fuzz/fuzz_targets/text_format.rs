//! The text-format parser on the messages it reads: `.pbtxt` graphs, text
//! meta graphs and `checkpoint` state files; what parses is printed again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfmodel_core::graph::{parse_text, to_text};
use tfmodel_core::proto::{CheckpointState, GraphDef, MetaGraphDef};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    match kind % 3 {
        0 => {
            if let Ok(graph) = parse_text::<GraphDef>(text, "tensorflow.GraphDef") {
                let _ = to_text(&graph, "tensorflow.GraphDef");
            }
        }
        1 => {
            if let Ok(meta) = parse_text::<MetaGraphDef>(text, "tensorflow.MetaGraphDef") {
                let _ = to_text(&meta, "tensorflow.MetaGraphDef");
            }
        }
        _ => {
            let _ = parse_text::<CheckpointState>(text, "tensorflow.CheckpointState");
        }
    }
});
