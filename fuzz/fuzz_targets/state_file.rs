//! A training directory whose `checkpoint` state file is the fuzz input,
//! beside a real tiny checkpoint: resolving and loading it may fail with a
//! coded error, never panic.
#![no_main]

use std::path::Path;
use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use tfmodel_core::pipeline::{self, ModelFiles};
use tfmodel_core::source;

/// The fixture's step-100 checkpoint (index, data, meta), copied once.
fn training_dir() -> &'static Path {
    static COPY: Once = Once::new();
    let dir = tfmodel_fuzz::scratch_dir();
    COPY.call_once(|| {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/train_dir");
        for suffix in [".index", ".data-00000-of-00001", ".meta"] {
            let name = format!("model.ckpt-100{suffix}");
            std::fs::copy(fixture.join(&name), dir.join(&name)).unwrap();
        }
    });
    dir
}

fuzz_target!(|data: &[u8]| {
    let dir = training_dir();
    std::fs::write(dir.join("checkpoint"), data).unwrap();
    let Ok(found) = source::resolve(dir, None) else { return };
    let _ = found.files();
    if let Ok(files) = ModelFiles::from_source(dir, None) {
        let _ = pipeline::load(&files);
    }
});
