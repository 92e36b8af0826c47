//! SavedModel directories: the input is a `saved_model.pb` beside the real
//! `variables/` of one of the fixtures (picked by the first byte). Reading
//! it, binding a signature, inlining its functions, keying its variables
//! through the object graph and converting may fail with a coded error,
//! never panic.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tfmodel_core::pipeline::{self, ConvertOptions, ModelFiles, OutputFormat};

/// The SavedModel fixtures whose variables the fuzzed graphs read.
const FIXTURES: [&str; 5] = ["module", "simple_save", "keras_export", "control_flow", "checkpointed/saved_model"];

/// One directory per fixture holding a copy of its `variables/`, made once.
fn model_dirs() -> &'static [PathBuf] {
    static DIRS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    DIRS.get_or_init(|| {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/saved_model");
        FIXTURES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let dir = tfmodel_fuzz::scratch_dir().join(format!("saved_model_{i}"));
                let variables = dir.join("variables");
                std::fs::create_dir_all(&variables).unwrap();
                for entry in std::fs::read_dir(fixtures.join(name).join("variables")).unwrap() {
                    let entry = entry.unwrap();
                    std::fs::copy(entry.path(), variables.join(entry.file_name())).unwrap();
                }
                dir
            })
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, bytes)) = data.split_first() else { return };
    let dirs = model_dirs();
    let dir = &dirs[kind as usize % dirs.len()];
    std::fs::write(dir.join("saved_model.pb"), bytes).unwrap();
    let files = ModelFiles { saved_model: Some(dir.clone()), ..Default::default() };
    let format = if kind & 0x80 == 0 { OutputFormat::Tfjs } else { OutputFormat::Tflite };
    let _ = pipeline::convert(&files, &ConvertOptions { format, ..Default::default() });
});
