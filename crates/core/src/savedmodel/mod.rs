//! SavedModel directories (`tf.saved_model.save`, Keras's `model.export`,
//! TF1's `simple_save`): the graph and signatures in `saved_model.pb`, the
//! values in `variables/`. [`prepare`] turns one signature into a graph the
//! freezer takes as it takes a TF1 meta graph: function calls inlined, the
//! signature's inputs and outputs named by their keys, and each captured
//! variable mapped to its checkpoint key through the object graph.

mod inline;
mod object_graph;
mod op_outputs;
mod signature;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::checkpoint::Checkpoint;
use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, Encoding};
use crate::proto::{self, DataType, GraphDef, MetaGraphDef, SavedModel};
use crate::source::with_suffix;
use crate::tensor::shape_dims;

pub(crate) use inline::inline_body;
pub use signature::DEFAULT_SIGNATURE;

/// The files a SavedModel's graph may be in, in the order TensorFlow looks.
const GRAPH_FILES: [&str; 2] = ["saved_model.pb", "saved_model.pbtxt"];

/// The signature key TF2 adds for its initializers; it computes nothing.
pub(crate) const INIT_OP_SIGNATURE: &str = "__saved_model_init_op";

/// The tag of the meta graph inference uses (`tag_constants.SERVING`).
const SERVING_TAG: &str = "serve";

/// `saved_model.pb` (or `.pbtxt`) in `dir`, if it is a SavedModel directory.
pub fn graph_file(dir: &Path) -> Option<PathBuf> {
    GRAPH_FILES.iter().map(|name| dir.join(name)).find(|path| path.is_file())
}

/// The checkpoint prefix of a SavedModel's values, `variables/variables`.
pub fn variables_prefix(dir: &Path) -> PathBuf {
    dir.join("variables").join("variables")
}

/// A SavedModel as read: its serving meta graph, and the values.
pub struct SavedModelDir {
    pub dir: PathBuf,
    /// The file the meta graph came from, for messages.
    pub graph_file: PathBuf,
    pub meta: MetaGraphDef,
    /// The tag set of every meta graph in the file, in its order.
    pub tag_sets: Vec<Vec<String>>,
    /// `None` when the model saved no variables (no `variables/variables.index`).
    pub checkpoint: Option<Checkpoint>,
}

/// Reads the SavedModel in `dir`: the meta graph whose tag set is `tags`, or
/// with no tags given the one tagged `serve` (TF2 writes exactly one), and the
/// `variables/` bundle.
pub fn read(dir: &Path, tags: &[String]) -> Result<SavedModelDir> {
    let graph_file = graph_file(dir).ok_or_else(|| {
        Error::new(ErrorKind::FileNotFound, "not a SavedModel: no saved_model.pb or saved_model.pbtxt").in_file(dir)
    })?;
    let saved: SavedModel = graph::read_message(&graph_file, Encoding::Auto, "tensorflow.SavedModel")?;
    let tag_sets = saved.meta_graphs.iter().map(tags_of).collect();
    let meta = if tags.is_empty() { serving_meta_graph(saved) } else { tagged_meta_graph(saved, tags) }
        .map_err(|e| e.in_file(&graph_file))?;
    match &meta.graph_def {
        Some(graph) => graph::check_graph(graph).map_err(|e| e.in_file(&graph_file))?,
        None => return Err(Error::new(ErrorKind::GraphEmpty, "meta graph holds no graph_def").in_file(&graph_file)),
    }
    let prefix = variables_prefix(dir);
    let checkpoint = if with_suffix(&prefix, ".index").is_file() {
        Some(Checkpoint::open(&prefix)?)
    } else if prefix.parent().is_some_and(Path::is_dir) {
        return Err(Error::new(ErrorKind::FileNotFound, "the SavedModel's variables/ holds no variables.index")
            .in_file(with_suffix(&prefix, ".index")));
    } else {
        None
    };
    Ok(SavedModelDir { dir: dir.to_path_buf(), graph_file, meta, tag_sets, checkpoint })
}

fn tags_of(meta: &MetaGraphDef) -> Vec<String> {
    meta.meta_info_def.as_ref().map(|i| i.tags.clone()).unwrap_or_default()
}

/// The meta graph whose tag set is `tags` (in any order), as TensorFlow's loader matches it.
fn tagged_meta_graph(saved: SavedModel, tags: &[String]) -> Result<MetaGraphDef> {
    let wanted: std::collections::BTreeSet<&str> = tags.iter().map(String::as_str).collect();
    let mut metas = saved.meta_graphs;
    let found = metas
        .iter()
        .position(|m| tags_of(m).iter().map(String::as_str).collect::<std::collections::BTreeSet<_>>() == wanted);
    match found {
        Some(i) => Ok(metas.swap_remove(i)),
        None => {
            let listed: Vec<String> = metas.iter().map(|m| format!("\"{}\"", tags_of(m).join(","))).collect();
            Err(Error::new(
                ErrorKind::UnknownSignature,
                format!(
                    "the SavedModel has no meta graph tagged \"{}\"; its tag sets are {}",
                    tags.join(","),
                    listed.join(", ")
                ),
            )
            .suggest(metas.iter().map(|m| tags_of(m).join(",")).collect()))
        }
    }
}

/// The meta graph tagged exactly `serve`, else the only one whose tags hold
/// `serve`, else the only one there is.
fn serving_meta_graph(saved: SavedModel) -> Result<MetaGraphDef> {
    let mut metas = saved.meta_graphs;
    let serving: Vec<usize> =
        (0..metas.len()).filter(|&i| tags_of(&metas[i]).iter().any(|t| t == SERVING_TAG)).collect();
    let exact = serving.iter().copied().find(|&i| tags_of(&metas[i]) == [SERVING_TAG]);
    match (exact, serving.as_slice(), metas.len()) {
        (Some(i), _, _) | (None, &[i], _) => Ok(metas.swap_remove(i)),
        (None, [], 1) => Ok(metas.remove(0)),
        (None, _, 0) => Err(Error::new(ErrorKind::GraphEmpty, "SavedModel holds no meta graph")),
        (None, _, count) => {
            let listed: Vec<String> = metas.iter().map(|m| format!("\"{}\"", tags_of(m).join(","))).collect();
            Err(Error::new(
                ErrorKind::UnknownSignature,
                format!(
                    "SavedModel holds {count} meta graphs and none is tagged just \"serve\": name the tag set to read \
                     (saved_model_tags, or the tags= directive); its tag sets are {}",
                    listed.join(", ")
                ),
            )
            .suggest(metas.iter().map(|m| tags_of(m).join(",")).collect()))
        }
    }
}

/// One input or output of a signature, as `saved_model_cli show` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureTensor {
    /// The key: the function's argument name, or the output's name.
    pub key: String,
    /// The graph tensor it is bound to (`serving_default_x:0`).
    pub tensor: String,
    pub dtype: DataType,
    /// `None` when even the rank is unknown; `-1` for an unknown dim.
    pub shape: Option<Vec<i64>>,
}

/// A signature of a SavedModel; inputs and outputs sorted by key.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureInfo {
    pub name: String,
    pub method_name: String,
    pub inputs: Vec<SignatureTensor>,
    pub outputs: Vec<SignatureTensor>,
}

/// A variable of a SavedModel: its checkpoint key and value's dtype and shape.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableInfo {
    pub checkpoint_key: String,
    pub dtype: DataType,
    pub shape: Vec<i64>,
}

impl SavedModelDir {
    /// Every signature a user can pick (the init op's is not one), by name.
    pub fn signatures(&self) -> Vec<SignatureInfo> {
        let tensors = |map: &BTreeMap<String, proto::TensorInfo>| {
            map.iter()
                .map(|(key, info)| SignatureTensor {
                    key: key.clone(),
                    tensor: signature::tensor_name(info).unwrap_or_default().to_string(),
                    dtype: dtype::from_i32(info.dtype),
                    shape: info.tensor_shape.as_ref().and_then(shape_dims),
                })
                .collect()
        };
        self.meta
            .signature_def
            .iter()
            .filter(|(name, _)| name.as_str() != INIT_OP_SIGNATURE)
            .map(|(name, def)| SignatureInfo {
                name: name.clone(),
                method_name: def.method_name.clone(),
                inputs: tensors(&def.inputs),
                outputs: tensors(&def.outputs),
            })
            .collect()
    }

    /// The values the model saved, without the object graph's own entry.
    pub fn variables(&self) -> Vec<VariableInfo> {
        let Some(checkpoint) = &self.checkpoint else { return Vec::new() };
        checkpoint
            .tensors()
            .filter(|t| t.name != crate::checkpoint::objects::OBJECT_GRAPH_KEY)
            .map(|t| VariableInfo { checkpoint_key: t.name.clone(), dtype: t.dtype, shape: t.shape.clone() })
            .collect()
    }
}

/// A signature's graph, ready to freeze.
pub struct Prepared {
    /// The meta graph's graph with calls inlined and the signature's tensors
    /// renamed to their keys.
    pub graph: GraphDef,
    /// The meta graph without its graph (saver, collections, signatures).
    pub meta: MetaGraphDef,
    /// Input placeholders, named by the signature's argument names, in key order.
    pub inputs: Vec<String>,
    /// Output nodes, named by the signature's output keys, in key order.
    pub outputs: Vec<String>,
    /// Variable node → checkpoint key, for variables a TF2 function captured.
    pub checkpoint_keys: BTreeMap<String, String>,
    pub checkpoint: Option<Checkpoint>,
    pub graph_file: PathBuf,
}

/// Picks signature `name` (default [`DEFAULT_SIGNATURE`]) of the SavedModel
/// in `dir` and makes its graph one the freezer takes. `paired`: an
/// object-based checkpoint of the same model whose values replace the
/// SavedModel's own (a training run that went on after the export).
pub fn prepare(dir: &Path, tags: &[String], name: Option<&str>, paired: Option<Checkpoint>) -> Result<Prepared> {
    let SavedModelDir { graph_file, mut meta, checkpoint, .. } = read(dir, tags)?;
    let checkpoint = paired.or(checkpoint);
    let mut graph = meta.graph_def.take().unwrap_or_default();
    let name = name.unwrap_or(DEFAULT_SIGNATURE);
    let bound = signature::bind(&mut graph, &meta, name).map_err(|e| e.or_file(&graph_file))?;
    let checkpoint_keys = match (&meta.object_graph_def, &checkpoint) {
        (Some(objects), Some(checkpoint)) => object_graph::variable_keys(&graph, objects, checkpoint)?,
        _ => BTreeMap::new(),
    };
    inline::inline_calls(&mut graph, &bound.outputs).map_err(|e| e.or_file(&graph_file))?;
    Ok(Prepared { graph, meta, inputs: bound.inputs, outputs: bound.outputs, checkpoint_keys, checkpoint, graph_file })
}
