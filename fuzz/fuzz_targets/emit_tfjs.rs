//! The pipeline to a TensorFlow.js graph model, on small random graphs of
//! known ops: it emits or returns an error, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfmodel_core::pipeline::OutputFormat;
use tfmodel_fuzz::graphs::FuzzGraph;

fuzz_target!(|input: (u8, FuzzGraph)| {
    tfmodel_fuzz::convert_generated(&input.1, OutputFormat::Tfjs, input.0);
});
