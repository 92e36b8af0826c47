//! Writing results: frozen binary/text GraphDefs (and, later, TensorFlow.js
//! graph models). Every file is written under a temporary name and renamed
//! into place, so a failed or interrupted run never leaves partial output.

mod pb;
pub mod tfjs;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use pb::{encode_graph_def, write_graph_def, write_graph_text};

/// Writes `path` through `write`, via a temporary file in the same directory
/// that is renamed over `path` only once everything was written and flushed.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    let temporary = temporary_name(path);
    let result = (|| {
        let file = File::create(&temporary)?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        write(&mut writer)?;
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Error::io(e, path)
    })
}

fn temporary_name(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}
