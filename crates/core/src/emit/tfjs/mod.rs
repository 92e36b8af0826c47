//! TensorFlow.js graph models: `model.json` plus binary weight shards.
//!
//! ```text
//! model.json
//! {"format": "graph-model", "generatedBy": "2.21.0", "convertedBy": "unplugin-tfmodel 0.1.0",
//!  "signature": {"inputs": {"x": {"name": "x:0", "dtype": "DT_FLOAT", "tensorShape": {…}}}, "outputs": {…}},
//!  "modelTopology": {"node": […], "versions": {…}, "library": {…}},
//!  "weightsManifest": [{"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"],
//!                       "weights": [{"name": "w", "shape": [3, 3, 3, 16], "dtype": "float32",
//!                                    "quantization": {"dtype": "uint8", "min": -0.1, "scale": 0.004,
//!                                                     "original_dtype": "float32"}}, …]}]}
//! ```
//!
//! The topology is the GraphDef in protobuf's JSON mapping (camelCase names,
//! 64-bit integers as strings, bytes as base64, enums by name) with every
//! `Const`'s values removed: the runtime takes a constant's value only from the
//! manifest entry of the same name. The shards are the weights' bytes in
//! manifest order, with no padding, cut every `shard_size` bytes — a weight may
//! straddle two shards, and one wrong size would shift every later weight.
//!
//! TensorFlow.js holds float32, int32, bool, string and complex64 only, so
//! constants are narrowed: float64 → float32, every integer type → int32,
//! half and bfloat16 → float32 (exact), complex128 → complex64. A value the
//! narrower type cannot hold (an int64 beyond int32, a float64 beyond float32's
//! range) is an error naming the constant, because TensorFlow's own converter
//! silently wraps such values; with [`TfjsOptions::allow_lossy`] integers are
//! clamped to the int32 range, floats become ±infinity, and a warning says so.
//! Quantized TensorFlow dtypes (qint8, quint8, …), resources and variants
//! cannot be stored at all.

mod shards;
mod topology;
mod weights;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::json;

use super::ModelDir;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, attr_type, index_by_name};
use crate::names::{is_control_input, node_of};
use crate::opcheck;
use crate::proto::{DataType, GraphDef};
use crate::quantize::{check_weight_fits, QuantizedWeight, QuantizedWeights};

pub(crate) use shards::is_shard_name;
pub use shards::ShardNames;
// Signatures are graph analysis; they stay reachable here, where the model carries one.
pub use crate::graph::shapes::{signature_of, Signature, TensorSpec};

/// 4 MiB: shards this size are cached well by browsers and fetched in parallel.
pub const DEFAULT_SHARD_SIZE: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TfjsOptions {
    /// Bytes per weight shard; the last shard is shorter.
    pub shard_size: usize,
    /// The TensorFlow version that produced the graph, when known.
    pub generated_by: Option<String>,
    pub converted_by: String,
    /// Narrow out-of-range constants (with a warning) instead of failing.
    pub allow_lossy: bool,
    /// Nodes that fill lookup tables: they and what only they read go into
    /// the model's `modelInitializer`, which TF.js runs once at load.
    pub initializers: Vec<String>,
    pub shard_names: ShardNames,
}

impl Default for TfjsOptions {
    fn default() -> Self {
        TfjsOptions {
            shard_size: DEFAULT_SHARD_SIZE,
            generated_by: None,
            converted_by: format!("unplugin-tfmodel {}", crate::VERSION),
            allow_lossy: false,
            initializers: Vec::new(),
            shard_names: ShardNames::Numbered,
        }
    }
}

/// A graph model in memory, ready for [`write_tfjs`] or a bundler's asset emitter.
#[derive(Debug, Clone, PartialEq)]
pub struct TfjsModel {
    pub model_json: Vec<u8>,
    /// `(file name, bytes)` in order, named by [`TfjsOptions::shard_names`].
    pub shards: Vec<(String, Vec<u8>)>,
    pub signature: Signature,
    /// Total bytes of the shards.
    pub weight_bytes: u64,
    /// Values narrowed under [`TfjsOptions::allow_lossy`].
    pub warnings: Vec<String>,
}

/// Builds `model.json` and the weight shards for a frozen graph, storing the
/// weights in `weights` with their quantized encodings.
pub fn to_tfjs(
    graph: &GraphDef,
    weights: Option<&QuantizedWeights>,
    signature: &Signature,
    options: &TfjsOptions,
) -> Result<TfjsModel> {
    into_tfjs(graph.clone(), weights, signature, options)
}

/// [`to_tfjs`], consuming the graph: each graph constant's bytes are released
/// once they are in a shard, so a model's weights are held about once, not
/// in the graph and the shards both.
pub fn into_tfjs(
    graph: GraphDef,
    weights: Option<&QuantizedWeights>,
    signature: &Signature,
    options: &TfjsOptions,
) -> Result<TfjsModel> {
    emit(graph, weights, signature, options, None)
}

/// [`into_tfjs`], writing each shard into `dir` as soon as it is full, then
/// `model.json`: the weights pass through memory a shard at a time. The
/// returned model names its shards but holds none of their bytes.
pub fn into_tfjs_dir(
    graph: GraphDef,
    weights: Option<&QuantizedWeights>,
    signature: &Signature,
    options: &TfjsOptions,
    dir: &mut ModelDir,
) -> Result<TfjsModel> {
    emit(graph, weights, signature, options, Some(dir))
}

fn emit(
    mut graph: GraphDef,
    weights: Option<&QuantizedWeights>,
    signature: &Signature,
    options: &TfjsOptions,
    mut dir: Option<&mut ModelDir>,
) -> Result<TfjsModel> {
    if options.shard_size == 0 {
        return Err(Error::new(ErrorKind::InvalidArgument, "shard_size must be at least one byte"));
    }
    graph::check_graph(&graph)?;
    check_inputs_resolve(&graph)?;
    let signature_names: Vec<String> =
        signature.inputs.iter().chain(&signature.outputs).map(|s| s.name.clone()).collect();
    graph::require_nodes(&graph, &signature_names)?;
    let quantized = weights.map(|w| &w.weights);
    check_quantized_weights(&graph, quantized)?;
    check_string_inputs(&graph)?;

    let mut shards = shards::ShardWriter::new(options.shard_size, &options.shard_names, dir.as_deref_mut());
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    // In the order of weights::constants: the graph's, then the library's.
    for node in graph.node.iter_mut().filter(|n| n.op == "Const") {
        // Quantized weights are keyed by graph node.
        let weight = quantized.and_then(|q| q.get(&node.name));
        let encoded = weights::encode_constant(&node.name, node, weight, options.allow_lossy, &mut warnings)?;
        shards.write(&encoded.bytes)?;
        entries.push(encoded.entry);
        weights::release_value(node);
    }
    for (name, node, _) in weights::constants(&graph).filter(|(_, _, top_level)| !top_level) {
        // Function constants are never quantized.
        let encoded = weights::encode_constant(&name, node, None, options.allow_lossy, &mut warnings)?;
        shards.write(&encoded.bytes)?;
        entries.push(encoded.entry);
    }
    let weight_bytes = shards.total;
    let shards = shards.finish()?;
    let manifest = json!([{ "paths": shards.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), "weights": entries }]);

    let model_json = topology::model_json(&graph, signature, manifest, options)?;
    if let Some(dir) = dir {
        dir.write("model.json", &model_json)?;
    }
    Ok(TfjsModel { model_json, shards, signature: signature.clone(), weight_bytes, warnings })
}

// ---- checks ------------------------------------------------------------------

/// The runtime resolves every input by name when it loads the model.
fn check_inputs_resolve(graph: &GraphDef) -> Result<()> {
    let index = index_by_name(graph);
    for node in &graph.node {
        if let Some(missing) = node.input.iter().find(|i| !index.contains_key(node_of(i))) {
            return Err(Error::new(
                ErrorKind::UnknownNode,
                format!("node \"{}\" takes input \"{missing}\", which is not in the graph", node.name),
            )
            .about(&node.name));
        }
    }
    Ok(())
}

fn check_quantized_weights(graph: &GraphDef, weights: Option<&BTreeMap<String, QuantizedWeight>>) -> Result<()> {
    let Some(weights) = weights else { return Ok(()) };
    let index = index_by_name(graph);
    for (name, weight) in weights {
        let node = index.get(name.as_str()).map(|&i| &graph.node[i]).filter(|n| n.op == "Const");
        let Some(node) = node else {
            return Err(Error::new(
                ErrorKind::UnknownNode,
                format!("quantized weight \"{name}\" is not a Const of this graph"),
            )
            .about(name));
        };
        check_weight_fits(node, weight)?;
    }
    Ok(())
}

/// A string constant read where TensorFlow.js expects a number (a shape, an
/// axis, a size) would be misread at run time, so it is rejected here.
fn check_string_inputs(graph: &GraphDef) -> Result<()> {
    let index = index_by_name(graph);
    for node in &graph.node {
        let data_inputs: Vec<&String> = node.input.iter().filter(|i| !is_control_input(i)).collect();
        for (position, input) in data_inputs.iter().enumerate() {
            let Some(source) = string_constant_behind(graph, &index, input) else { continue };
            if opcheck::is_value_input(&node.op, position, data_inputs.len()) {
                return Err(Error::new(
                    ErrorKind::UnsupportedDtype,
                    format!(
                        "string constant \"{source}\" feeds input {position} of \"{}\" ({}), which TensorFlow.js reads as a number",
                        node.name, node.op
                    ),
                )
                .about(source));
            }
        }
    }
    Ok(())
}

fn string_constant_behind<'g>(graph: &'g GraphDef, index: &HashMap<&str, usize>, input: &str) -> Option<&'g str> {
    let (_, node) = graph::through_identities(graph, index, input)?;
    let string_constant = node.op == "Const" && attr_type(node, "dtype") == Some(DataType::DtString);
    string_constant.then_some(node.name.as_str())
}

/// Writes `model.json` and the shards into `dir`, replacing an earlier model
/// there in one step with [`write_model_dir`](super::write_model_dir): on
/// failure `dir` is unchanged, on success it holds exactly this model's files
/// (and whatever else it held that is not a model file).
pub fn write_tfjs(model: &TfjsModel, dir: &Path) -> Result<()> {
    let shards = model.shards.iter().map(|(name, bytes)| (name.as_str(), bytes.as_slice()));
    super::write_model_dir(dir, shards.chain([("model.json", model.model_json.as_slice())]))
}
