//! Writing results: frozen binary/text GraphDefs (with quantized weights
//! decoded by TensorFlow's own ops, [`dequantize_into_graph`], or computing
//! in 8 bits with its quantized kernels, [`eightbit_graph`]),
//! TensorFlow.js graph models and TFLite flatbuffers ([`tflite`]). A single
//! file is written under a temporary name and renamed into place
//! ([`write_atomic`]); a model directory is filled under a temporary name and
//! swapped in as a whole ([`write_model_dir`]). A failed or
//! interrupted run never leaves partial output.

pub(crate) mod dequantize;
mod dir;
mod eightbit;
mod pb;
pub mod tfjs;
pub mod tfjs_fuse;
pub mod tfjs_graph;
pub mod tfjs_lean;
pub mod tfjs_loops;
pub mod tflite;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

pub use dequantize::{dequantize_into_graph, rounded_into_graph, tf_dequantize_min_first};
pub use dir::{write_model_dir, ModelDir};
pub use eightbit::eightbit_graph;
pub use pb::{
    encode_graph_def, write_graph_def, write_graph_def_deferred, write_graph_text, Deferred, MAX_GRAPH_DEF_BYTES,
};

/// Writes `path` through `write`, via a temporary file in the same directory
/// that is renamed over `path` only once everything was written and flushed:
/// a reader, or a run that fails or is interrupted, never sees part of a file.
/// Like every bundler's output, it is not fsynced (a build reruns; waiting
/// for the disk would double the time of a large conversion). `size`, when
/// known, is reserved first: a file whose blocks are allocated replaces
/// another without ext4 flushing it to disk inside the rename.
pub fn write_atomic(
    path: &Path,
    size: Option<u64>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let temporary = temporary_sibling(path, "tmp");
    let result = (|| {
        let file = File::create(&temporary)?;
        if let Some(size) = size {
            reserve(&file, size);
        }
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        write(&mut writer)?;
        writer.into_inner().map_err(|e| e.into_error())?;
        std::fs::rename(&temporary, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Error::io(e, path)
    })
}

/// Allocates a new file's blocks where the system can (a hint: failure changes nothing).
fn reserve(file: &File, size: u64) {
    #[cfg(target_os = "linux")]
    if let Ok(size) = i64::try_from(size) {
        use std::os::fd::AsRawFd;
        // Keeping the size: a hint larger than what is written leaves no zeros at the end.
        // SAFETY: a plain system call on an open descriptor.
        unsafe { libc::fallocate(file.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 0, size) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, size);
}

/// `.<name>.<pid>-<n>.<suffix>` beside `path`: unique per process (the pid)
/// and per call within it (the counter), so concurrent writes never share one.
fn temporary_sibling(path: &Path, suffix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}-{n}.{suffix}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_writes_of_one_path_do_not_collide() {
        let scratch = tempfile::tempdir().unwrap();
        let path = scratch.path().join("out.bin");
        let threads: Vec<_> = (0..8u8)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        write_atomic(&path, Some(4096), |out| out.write_all(&[t; 4096])).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("every write succeeds");
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 4096);
        assert!(bytes.iter().all(|&b| b == bytes[0]), "one writer's bytes, whole");
        let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["out.bin"], "no temporary is left");
    }
}
