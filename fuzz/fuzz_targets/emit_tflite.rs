//! The pipeline to a TFLite flatbuffer (float32, or float16 weights), on
//! small random graphs of known ops: it emits or returns an error, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfmodel_core::pipeline::OutputFormat;
use tfmodel_fuzz::graphs::FuzzGraph;

fuzz_target!(|input: (bool, FuzzGraph)| {
    // TFLite takes float16 quantization or none.
    tfmodel_fuzz::convert_generated(&input.1, OutputFormat::Tflite, if input.0 { 2 } else { 0 });
});
