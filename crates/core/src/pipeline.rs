//! The stages put together the way the CLI and the bundler plugin call them:
//! find the files, read the graph and checkpoint, freeze, write.

use std::path::{Path, PathBuf};

use crate::checkpoint::Checkpoint;
use crate::emit;
use crate::error::{Error, ErrorKind, Result};
use crate::freeze::{self, FreezeOptions, FrozenGraph};
use crate::graph::{self, Encoding};
use crate::proto::{GraphDef, MetaGraphDef};
use crate::source;

/// A model as read from disk, not yet transformed.
pub struct LoadedModel {
    pub graph: GraphDef,
    /// The meta graph without its `graph_def` (signatures, collections, saver).
    pub meta: Option<MetaGraphDef>,
    pub checkpoint: Option<Checkpoint>,
    /// The file `graph` came from, for messages.
    pub graph_file: PathBuf,
}

/// What to read, in `freeze_graph`'s terms. A graph comes from
/// `input_meta_graph`, else `input_graph`, else the `.meta` beside the checkpoint.
#[derive(Debug, Clone, Default)]
pub struct ModelFiles {
    pub input_graph: Option<PathBuf>,
    /// `Some(true)` binary, `Some(false)` text, `None` decided by the file.
    pub input_binary: Option<bool>,
    /// A checkpoint prefix, one of its files, or a training directory.
    pub input_checkpoint: Option<PathBuf>,
    pub input_meta_graph: Option<PathBuf>,
}

impl ModelFiles {
    /// The files for a path as a user names it in an import: a checkpoint prefix,
    /// training directory or graph file, with an optional graph to pair.
    pub fn from_source(path: &Path, graph: Option<&Path>) -> Result<ModelFiles> {
        let found = source::resolve(path, graph)?;
        Ok(ModelFiles {
            input_graph: found.graph,
            input_binary: None,
            input_checkpoint: found.checkpoint,
            input_meta_graph: found.meta_graph,
        })
    }
}

pub fn load(files: &ModelFiles) -> Result<LoadedModel> {
    let encoding = match files.input_binary {
        Some(true) => Encoding::Binary,
        Some(false) => Encoding::Text,
        None => Encoding::Auto,
    };
    let checkpoint = match &files.input_checkpoint {
        Some(path) => {
            let (prefix, _) = source::resolve_checkpoint(path)?;
            Some(Checkpoint::open(&prefix)?)
        }
        None => None,
    };
    let beside_checkpoint = checkpoint
        .as_ref()
        .map(|c| source::with_suffix(c.prefix(), ".meta"))
        .filter(|meta| meta.is_file() && files.input_graph.is_none());
    let meta_file = files.input_meta_graph.clone().or(beside_checkpoint);

    let (graph, meta, graph_file) = match (meta_file, &files.input_graph) {
        (Some(meta_file), _) => {
            let mut meta = graph::read_meta_graph(&meta_file, encoding)?;
            let graph = meta.graph_def.take().unwrap_or_default();
            (graph, Some(meta), meta_file)
        }
        (None, Some(graph_file)) => (graph::read_graph_def(graph_file, encoding)?, None, graph_file.clone()),
        (None, None) => {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "no graph: give --input_graph or --input_meta_graph, or a checkpoint with a .meta beside it",
            ))
        }
    };
    Ok(LoadedModel { graph, meta, checkpoint, graph_file })
}

/// Loads and freezes; graph-level errors name the graph file.
pub fn freeze(files: &ModelFiles, options: &FreezeOptions) -> Result<FrozenGraph> {
    let model = load(files)?;
    let graph_file = model.graph_file.clone();
    freeze::freeze(model.graph, model.meta.as_ref(), model.checkpoint.as_ref(), options)
        .map_err(|e| e.or_file(&graph_file))
}

/// Freezes and writes a binary (or text) GraphDef atomically.
pub fn freeze_to_file(
    files: &ModelFiles,
    options: &FreezeOptions,
    output: &Path,
    as_text: bool,
) -> Result<(FrozenGraph, u64)> {
    let frozen = freeze(files, options)?;
    let bytes = if as_text {
        emit::write_graph_text(&frozen.graph, output)?
    } else {
        emit::write_graph_def(&frozen.graph, output)?
    };
    Ok((frozen, bytes))
}
