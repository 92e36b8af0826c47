//! What a user-supplied path names: a checkpoint prefix (`model.ckpt`,
//! `model.ckpt-2000`, or one of its files), a training directory holding a
//! `checkpoint` state file, a graph file (`.pb`, `.pbtxt`), or a SavedModel
//! directory (`saved_model.pb` or `.pbtxt` beside `variables/`).

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};
use crate::graph::parse_text;
use crate::proto::CheckpointState;

/// The files one model is built from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Source {
    /// Checkpoint prefix (`dir/model.ckpt-2000`), if the model has variables.
    pub checkpoint: Option<PathBuf>,
    /// The `.meta` beside the checkpoint, if one was written.
    pub meta_graph: Option<PathBuf>,
    /// A GraphDef file: a frozen graph, or the graph of a meta-less checkpoint.
    pub graph: Option<PathBuf>,
    /// The training directory's `checkpoint` state file, when a directory was named.
    pub state_file: Option<PathBuf>,
    /// A SavedModel directory; its graph and variables are read from it.
    pub saved_model: Option<PathBuf>,
}

const STATE_FILE: &str = "checkpoint";

/// What kind of model source a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A checkpoint prefix (given as the prefix or one of its files).
    Checkpoint,
    /// A training directory: a `checkpoint` state file, or `.index` files.
    Directory,
    /// A GraphDef file (`.pb`, `.pbtxt`).
    Graph,
    /// A SavedModel directory (`tf.saved_model.save`, Keras's `model.export`).
    SavedModel,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Checkpoint => "checkpoint",
            SourceKind::Directory => "directory",
            SourceKind::Graph => "graph",
            SourceKind::SavedModel => "saved_model",
        }
    }
}

/// What a path as an import writes it names, from names and existence alone
/// (nothing is read): the kind, and the source path (`model.ckpt.index`
/// names the prefix `model.ckpt`). `None` when it names no model, so a
/// bundler can leave the import to others.
pub fn identify(path: &Path) -> Option<(SourceKind, PathBuf)> {
    if is_graph_file(path) {
        return path.is_file().then(|| (SourceKind::Graph, path.to_path_buf()));
    }
    if path.is_dir() {
        if crate::savedmodel::graph_file(path).is_some() {
            return Some((SourceKind::SavedModel, path.to_path_buf()));
        }
        let training = path.join(STATE_FILE).is_file()
            || std::fs::read_dir(path).ok()?.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".index"));
        return training.then(|| (SourceKind::Directory, path.to_path_buf()));
    }
    let prefix = strip_checkpoint_suffix(path);
    with_suffix(&prefix, ".index").is_file().then_some((SourceKind::Checkpoint, prefix))
}

/// Whether `path` is written as a model file would be (`.ckpt`, `.ckpt-N`, a
/// checkpoint file's suffix, a graph file, a Keras file), whether or not it exists.
pub fn looks_like_model(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    is_graph_file(path)
        || is_keras_file(path)
        || strip_checkpoint_suffix(path) != path
        || name.ends_with(".ckpt")
        || name
            .rsplit_once(".ckpt-")
            .is_some_and(|(_, step)| !step.is_empty() && step.bytes().all(|b| b.is_ascii_digit()))
}

/// Keras's own files. They hold a layers model, not a graph; Keras 3 writes the
/// graph (a SavedModel) with `model.export(dir)`.
const KERAS_EXTENSIONS: [&str; 3] = ["keras", "h5", "hdf5"];

fn is_keras_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| KERAS_EXTENSIONS.contains(&e))
}

/// The error for a model import or input that [`identify`] finds no model in:
/// for a Keras file, how to get a SavedModel from it; for a V1 checkpoint, why
/// it is not read; else [`missing`].
pub fn unresolved(path: &Path) -> Error {
    if path.is_file() && is_keras_file(path) {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        return Error::new(
            ErrorKind::UnsupportedFormat,
            format!(
                "a Keras model file holds layers, not a TensorFlow graph; in Python, call \
                 model.export(\"{stem}\") (Keras 3) and import that SavedModel directory instead"
            ),
        )
        .in_file(path);
    }
    if path.is_file() {
        if let Err(error) = resolve_checkpoint(path) {
            if error.kind == ErrorKind::UnsupportedFormat {
                return error;
            }
        }
    }
    missing(path)
}

/// The error for a model import that names nothing on disk: FILE_NOT_FOUND,
/// suggesting the model sources beside it whose names are close (or, failing
/// that, saying which ones the folder holds), so a typo is one glance away.
pub fn missing(path: &Path) -> Error {
    let dir = path.parent().unwrap_or(Path::new("."));
    let wanted = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let nearby = sources_in(dir);
    let close = crate::names::closest(&wanted, nearby.iter().map(String::as_str));
    let message = if !close.is_empty() || nearby.is_empty() {
        "no model here (no checkpoint, graph file, training directory or SavedModel of this name)".to_string()
    } else {
        let listed: Vec<_> = nearby.iter().take(8).map(String::as_str).collect();
        format!("no model of this name; this folder holds {}", listed.join(", "))
    };
    Error::new(ErrorKind::FileNotFound, message).in_file(path).suggest(close)
}

/// The model sources directly in `dir`, as an import would name them: checkpoint
/// prefixes (from their `.index`), graph files and training directories.
fn sources_in(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|entry| {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(prefix) = name.strip_suffix(".index") {
                return Some(prefix.to_string());
            }
            match identify(&path) {
                Some((SourceKind::Graph, _)) => Some(name),
                Some((SourceKind::Directory | SourceKind::SavedModel, _)) => Some(format!("{name}/")),
                _ => None,
            }
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Resolves `path` (and an optional graph to pair with a checkpoint: a
/// GraphDef file, or a SavedModel directory whose graph an object-based
/// checkpoint's values go into).
pub fn resolve(path: &Path, graph: Option<&Path>) -> Result<Source> {
    let mut source = Source::default();
    if path.is_dir() && crate::savedmodel::graph_file(path).is_some() {
        source.saved_model = Some(path.to_path_buf());
    } else if is_graph_file(path) {
        require_file(path)?;
        source.graph = Some(path.to_path_buf());
    } else {
        let (prefix, state_file) = resolve_checkpoint(path)?;
        let meta = with_suffix(&prefix, ".meta");
        source.meta_graph = meta.is_file().then_some(meta);
        source.checkpoint = Some(prefix);
        source.state_file = state_file;
    }
    // A SavedModel as the graph of a (newer, object-based) checkpoint: its
    // signatures and functions, the checkpoint's values.
    match graph {
        Some(graph) if graph.is_dir() && crate::savedmodel::graph_file(graph).is_some() => {
            source.saved_model = Some(graph.to_path_buf());
        }
        Some(graph) => {
            require_file(graph)?;
            source.graph = Some(graph.to_path_buf());
        }
        None => {}
    }
    Ok(source)
}

impl Source {
    /// Every file the model is read from, for watching and cache keys:
    /// the graph, the `.meta`, the `.index`, every data shard and the state file.
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = Vec::new();
        if let Some(dir) = &self.saved_model {
            files.extend(crate::savedmodel::graph_file(dir));
            // Paired with a checkpoint, the SavedModel's own values are not read.
            let variables = crate::savedmodel::variables_prefix(dir);
            if self.checkpoint.is_none() && with_suffix(&variables, ".index").is_file() {
                files.push(with_suffix(&variables, ".index"));
                files.extend(data_files(&variables)?);
            }
        }
        files.extend(self.graph.iter().cloned());
        files.extend(self.meta_graph.iter().cloned());
        if let Some(prefix) = &self.checkpoint {
            files.push(with_suffix(prefix, ".index"));
            files.extend(data_files(prefix)?);
        }
        files.extend(self.state_file.iter().cloned());
        Ok(files)
    }
}

/// A checkpoint prefix from a prefix, one of its files, or a training directory.
/// Returns the prefix and, for a directory, its state file.
pub fn resolve_checkpoint(path: &Path) -> Result<(PathBuf, Option<PathBuf>)> {
    if path.is_dir() {
        let state_file = path.join(STATE_FILE);
        let prefix = newest_checkpoint(path)?;
        return Ok((prefix, state_file.is_file().then_some(state_file)));
    }
    if is_keras_file(path) {
        return Err(unresolved(path));
    }
    let prefix = strip_checkpoint_suffix(path);
    if with_suffix(&prefix, ".index").is_file() {
        return Ok((prefix, None));
    }
    if prefix.is_file() {
        return Err(Error::new(
            ErrorKind::UnsupportedFormat,
            "this is a V1 checkpoint (a single table file); re-save it with a V2 Saver",
        )
        .in_file(&prefix));
    }
    Err(Error::new(ErrorKind::FileNotFound, "no checkpoint here (no .index file)").in_file(&prefix))
}

/// The checkpoint a training directory's `checkpoint` state file names as newest;
/// without a state file, the `.index` with the highest global step.
fn newest_checkpoint(dir: &Path) -> Result<PathBuf> {
    let state_file = dir.join(STATE_FILE);
    if !state_file.is_file() {
        return newest_by_step(dir);
    }
    let text = std::fs::read_to_string(&state_file).map_err(|e| Error::io(e, &state_file))?;
    let state: CheckpointState = parse_text(&text, "tensorflow.CheckpointState").map_err(|e| {
        Error::new(ErrorKind::CheckpointNotFound, format!("checkpoint state file does not parse: {}", e.message))
            .in_file(&state_file)
    })?;
    if state.model_checkpoint_path.is_empty() {
        return Err(
            Error::new(ErrorKind::CheckpointNotFound, "checkpoint state file names no checkpoint").in_file(&state_file)
        );
    }
    let named = Path::new(&state.model_checkpoint_path);
    let candidates = if named.is_absolute() {
        // A Saver writes absolute paths by default; if the directory moved since,
        // the same name beside the state file is the checkpoint meant.
        let moved = named.file_name().map(|name| dir.join(name));
        std::iter::once(named.to_path_buf()).chain(moved).collect::<Vec<_>>()
    } else {
        vec![dir.join(named)]
    };
    candidates.iter().find(|prefix| with_suffix(prefix, ".index").is_file()).cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::CheckpointNotFound,
            format!(
                "checkpoint state file names \"{}\", but {} does not exist",
                state.model_checkpoint_path,
                with_suffix(&candidates[0], ".index").display()
            ),
        )
        .in_file(&state_file)
    })
}

/// The `.index` with the highest global step (unnumbered ones count as step
/// 0); ties go to the greatest file name, so the answer never depends on the
/// order the directory lists its files in.
fn newest_by_step(dir: &Path) -> Result<PathBuf> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(e, dir))?;
    let mut best: Option<(u64, String)> = None;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(prefix) = name.strip_suffix(".index") else { continue };
        let candidate = (global_step(prefix).unwrap_or(0), prefix.to_string());
        if best.as_ref().is_none_or(|b| candidate > *b) {
            best = Some(candidate);
        }
    }
    best.map(|(_, prefix)| dir.join(prefix)).ok_or_else(|| {
        Error::new(ErrorKind::CheckpointNotFound, "directory holds no checkpoint state file and no .index file")
            .in_file(dir)
    })
}

/// The global step a prefix ends with (`model.ckpt-1000` → 1000); numbers sort
/// by value, not as text.
pub fn global_step(prefix: &str) -> Option<u64> {
    let (_, step) = prefix.rsplit_once('-')?;
    step.parse().ok()
}

/// Removes exactly one known checkpoint-file suffix: `.index`, `.meta` or
/// `.data-NNNNN-of-NNNNN`. A prefix may itself end in digits or `.ckpt`.
pub fn strip_checkpoint_suffix(path: &Path) -> PathBuf {
    let text = path.to_string_lossy();
    for suffix in [".index", ".meta"] {
        if let Some(prefix) = text.strip_suffix(suffix) {
            return PathBuf::from(prefix);
        }
    }
    if let Some(pos) = text.rfind(".data-") {
        if is_shard_suffix(&text[pos + ".data-".len()..]) {
            return PathBuf::from(&text[..pos]);
        }
    }
    path.to_path_buf()
}

/// `NNNNN-of-NNNNN`, compared as bytes: a multi-byte character is simply no match.
fn is_shard_suffix(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() == 14
        && bytes[..5].iter().all(u8::is_ascii_digit)
        && &bytes[5..9] == b"-of-"
        && bytes[9..].iter().all(u8::is_ascii_digit)
}

/// `<prefix>.data-SSSSS-of-NNNNN` for every shard the `.index` header announces.
pub fn data_files(prefix: &Path) -> Result<Vec<PathBuf>> {
    Ok(crate::checkpoint::Checkpoint::open(prefix)?.data_paths())
}

/// `prefix` with `suffix` appended to its last component (`model.ckpt` +
/// `.index`); prefixes often contain dots, so `with_extension` would cut them.
pub fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn is_graph_file(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("pb" | "pbtxt" | "graphdef" | "prototxt"))
}

fn require_file(path: &Path) -> Result<()> {
    if path.is_file() {
        Ok(())
    } else {
        Err(Error::new(ErrorKind::FileNotFound, "file not found").in_file(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_only_known_suffixes() {
        assert_eq!(strip_checkpoint_suffix(Path::new("a/model.ckpt-20.index")), Path::new("a/model.ckpt-20"));
        assert_eq!(strip_checkpoint_suffix(Path::new("model.ckpt.meta")), Path::new("model.ckpt"));
        assert_eq!(strip_checkpoint_suffix(Path::new("model.ckpt-7.data-00001-of-00003")), Path::new("model.ckpt-7"));
        assert_eq!(strip_checkpoint_suffix(Path::new("model.ckpt-2000")), Path::new("model.ckpt-2000"));
        assert_eq!(strip_checkpoint_suffix(Path::new("model.data-1")), Path::new("model.data-1"));
    }

    #[test]
    fn a_multi_byte_character_in_a_shard_suffix_is_no_match() {
        for name in ["model.data-00000-o€0000", "model.data-0000€of-00001", "m.data-€€€€€"] {
            assert_eq!(strip_checkpoint_suffix(Path::new(name)), Path::new(name), "{name}");
        }
    }

    #[test]
    fn model_like_names() {
        for name in ["m/ssd.ckpt", "m/model.ckpt-200", "a.index", "a.meta", "x.data-00000-of-00001", "g.pb", "g.pbtxt"]
        {
            assert!(looks_like_model(Path::new(name)), "{name}");
        }
        for name in ["m/logo", "style.css", "model.ckpt-", "model.ckpt-x", "train"] {
            assert!(!looks_like_model(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn a_keras_file_says_to_export_a_saved_model() {
        let scratch = tempfile::tempdir().unwrap();
        for name in ["m.keras", "weights.h5"] {
            let path = scratch.path().join(name);
            assert!(looks_like_model(&path), "{name}");
            std::fs::write(&path, "PK").unwrap();
            assert_eq!(identify(&path), None, "{name}");
            for error in [unresolved(&path), resolve(&path, None).unwrap_err(), resolve_checkpoint(&path).unwrap_err()]
            {
                assert_eq!(error.code(), "UNSUPPORTED_FORMAT", "{name}");
                assert_eq!(error.file.as_deref(), Some(path.as_path()));
                assert!(error.message.contains("model.export(\""), "{}", error.message);
            }
        }
        // Absent, it is a missing file like any other.
        assert_eq!(unresolved(&scratch.path().join("other.keras")).code(), "FILE_NOT_FOUND");
        // A single-file V1 checkpoint says so rather than "no model here".
        std::fs::write(scratch.path().join("old.ckpt"), "x").unwrap();
        assert!(unresolved(&scratch.path().join("old.ckpt")).message.contains("V1 checkpoint"));
    }

    #[test]
    fn a_missing_model_suggests_the_sources_beside_it() {
        let scratch = tempfile::tempdir().unwrap();
        let dir = scratch.path();
        for name in ["ssd.ckpt.index", "ssd.ckpt.data-00000-of-00001", "ssd.ckpt.meta", "frozen.pb", "notes.txt"] {
            std::fs::write(dir.join(name), "").unwrap();
        }
        std::fs::create_dir(dir.join("train")).unwrap();
        std::fs::write(dir.join("train").join("checkpoint"), "").unwrap();
        let error = missing(&dir.join("ssd.ckp"));
        assert_eq!(error.code(), "FILE_NOT_FOUND");
        assert_eq!(error.file.as_deref(), Some(dir.join("ssd.ckp").as_path()));
        assert_eq!(error.suggestions, ["ssd.ckpt"]);
        // Nothing close: the folder's models are listed instead.
        let error = missing(&dir.join("detector.ckpt"));
        assert!(error.suggestions.is_empty());
        assert!(error.message.contains("frozen.pb, ssd.ckpt, train/"), "{}", error.message);
    }

    #[test]
    fn unnumbered_checkpoints_tie_break_by_name() {
        let scratch = tempfile::tempdir().unwrap();
        for name in ["c", "a", "e", "b", "d", "model.ckpt", "zz", "m", "k", "x"] {
            std::fs::write(scratch.path().join(format!("{name}.index")), "").unwrap();
        }
        assert_eq!(newest_by_step(scratch.path()).unwrap(), scratch.path().join("zz"));
        std::fs::write(scratch.path().join("model.ckpt-2.index"), "").unwrap();
        std::fs::write(scratch.path().join("a-2.index"), "").unwrap();
        assert_eq!(newest_by_step(scratch.path()).unwrap(), scratch.path().join("model.ckpt-2"));
    }

    #[test]
    fn global_steps_compare_as_numbers() {
        assert!(global_step("model.ckpt-1000") > global_step("model.ckpt-200"));
        assert_eq!(global_step("model.ckpt"), None);
    }
}
