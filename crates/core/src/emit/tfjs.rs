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

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::{json, Map, Value};

use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, attr, attr_shape, attr_string, attr_tensor, attr_type, index_by_name};
use crate::names::{is_control_input, node_of};
use crate::opcheck;
use crate::proto::DESCRIPTOR_SET;
use crate::proto::{
    attr_value, tensor_info, AttrValue, DataType, FunctionDefLibrary, GraphDef, NodeDef, SignatureDef, TensorInfo,
    TensorProto, TensorShapeProto,
};
use crate::quantize::{check_weight_fits, QuantizedWeight, QuantizedWeights, WeightEncoding};
use crate::tensor::{f16_to_f32, shape_dims, shape_proto, Tensor, TensorData};

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
}

impl Default for TfjsOptions {
    fn default() -> Self {
        TfjsOptions {
            shard_size: DEFAULT_SHARD_SIZE,
            generated_by: None,
            converted_by: format!("unplugin-tfmodel {}", crate::VERSION),
            allow_lossy: false,
            initializers: Vec::new(),
        }
    }
}

/// A graph model in memory, ready for [`write_tfjs`] or a bundler's asset emitter.
#[derive(Debug, Clone, PartialEq)]
pub struct TfjsModel {
    pub model_json: Vec<u8>,
    /// `(file name, bytes)`: `group1-shard1ofN.bin`, … in order.
    pub shards: Vec<(String, Vec<u8>)>,
    pub signature: Signature,
    /// Total bytes of the shards.
    pub weight_bytes: u64,
    /// Values narrowed under [`TfjsOptions::allow_lossy`].
    pub warnings: Vec<String>,
}

/// Inputs and outputs of a model, by node name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// The node name (output 0 of that node is meant).
    pub name: String,
    /// `DT_INVALID` when unknown.
    pub dtype: DataType,
    /// `None` when even the rank is unknown; `-1` for an unknown dim.
    pub shape: Option<Vec<i64>>,
}

impl TensorSpec {
    /// The dtype as TensorFlow.js names it (`float32`, `int32`, `bool`,
    /// `string`, `complex64`), or `unknown` when the dtype is not known or
    /// is none TensorFlow.js holds: never a guess.
    pub fn tfjs_dtype(&self) -> &'static str {
        dtype::tfjs_name(self.dtype).unwrap_or("unknown")
    }
}

/// Builds `model.json` and the weight shards for a frozen graph, storing the
/// weights in `weights` with their quantized encodings.
pub fn to_tfjs(
    graph: &GraphDef,
    weights: Option<&QuantizedWeights>,
    signature: &Signature,
    options: &TfjsOptions,
) -> Result<TfjsModel> {
    if options.shard_size == 0 {
        return Err(Error::new(ErrorKind::InvalidArgument, "shard_size must be at least one byte"));
    }
    graph::check_graph(graph)?;
    check_inputs_resolve(graph)?;
    let signature_names: Vec<String> =
        signature.inputs.iter().chain(&signature.outputs).map(|s| s.name.clone()).collect();
    graph::require_nodes(graph, &signature_names)?;
    let quantized = weights.map(|w| &w.weights);
    check_quantized_weights(graph, quantized)?;
    check_string_inputs(graph)?;

    let mut shards = ShardWriter::new(options.shard_size);
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    for (name, node, top_level) in constants(graph) {
        // Quantized weights are keyed by graph node; function constants are never quantized.
        let weight = quantized.filter(|_| top_level).and_then(|q| q.get(&name));
        let encoded = encode_constant(&name, node, weight, options.allow_lossy, &mut warnings)?;
        shards.write(&encoded.bytes);
        entries.push(encoded.entry);
    }
    let weight_bytes = shards.total;
    let shards = shards.finish();
    let manifest = json!([{ "paths": shards.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), "weights": entries }]);

    let model_json = model_json(graph, signature, manifest, options)?;
    Ok(TfjsModel { model_json, shards, signature: signature.clone(), weight_bytes, warnings })
}

fn model_json(graph: &GraphDef, signature: &Signature, manifest: Value, options: &TfjsOptions) -> Result<Vec<u8>> {
    let mut parts: Vec<(&str, Value)> = vec![("format", json!("graph-model"))];
    if let Some(generated_by) = &options.generated_by {
        parts.push(("generatedBy", json!(generated_by)));
    }
    parts.push(("convertedBy", json!(options.converted_by)));
    parts.push(("signature", signature_json(signature)?));
    let (model, initializer) = split_initializer(graph, signature, &options.initializers);
    parts.push(("modelTopology", topology_json(&model)?));
    parts.push(("weightsManifest", manifest));
    if let Some(initializer) = initializer {
        // TF.js runs the initializer graph for the outputs its signature names;
        // tables are shared with the model by the name of their node.
        let outputs: Map<String, Value> = options
            .initializers
            .iter()
            .map(|name| (name.clone(), json!({ "name": format!("{name}:0"), "dtype": "DT_RESOURCE" })))
            .collect();
        parts.push(("modelInitializer", topology_json(&initializer)?));
        parts.push(("initializerSignature", json!({ "outputs": outputs })));
    }
    // Written by hand to keep the keys in this reading order.
    let mut text = String::from("{");
    for (i, (key, value)) in parts.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&serde_json::to_string(key).map_err(json_error)?);
        text.push(':');
        text.push_str(&serde_json::to_string(value).map_err(json_error)?);
    }
    text.push('}');
    Ok(text.into_bytes())
}

/// The model's graph without what only the initializers read, and the
/// initializers' graph (they, the tables they fill, and their inputs).
fn split_initializer(graph: &GraphDef, signature: &Signature, initializers: &[String]) -> (GraphDef, Option<GraphDef>) {
    if initializers.is_empty() {
        return (graph.clone(), None);
    }
    let roots: Vec<String> = signature.inputs.iter().chain(&signature.outputs).map(|s| s.name.clone()).collect();
    let model = graph::reachable(graph, &roots);
    let initializing = graph::reachable(graph, initializers);
    let subset = |keep: &[bool]| GraphDef {
        node: graph.node.iter().zip(keep).filter(|(_, &k)| k).map(|(n, _)| n.clone()).collect(),
        ..graph.clone()
    };
    let model_only: Vec<bool> = model.iter().zip(&initializing).map(|(&m, &i)| m || !i).collect();
    (subset(&model_only), Some(GraphDef { library: None, ..subset(&initializing) }))
}

fn json_error(e: serde_json::Error) -> Error {
    Error::new(ErrorKind::GraphInvalid, format!("cannot write model.json: {e}"))
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

// ---- weights -------------------------------------------------------------------

/// Every `Const` with its manifest name, graph nodes first, then those inside
/// library functions as `<function>/<node>`; the flag marks graph nodes.
fn constants(graph: &GraphDef) -> impl Iterator<Item = (String, &NodeDef, bool)> {
    let top = graph.node.iter().filter(|n| n.op == "Const").map(|n| (n.name.clone(), n, true));
    let functions = graph.library.iter().flat_map(|library| &library.function).flat_map(|function| {
        let function_name = function.signature.as_ref().map(|s| s.name.clone()).unwrap_or_default();
        function
            .node_def
            .iter()
            .filter(|n| n.op == "Const")
            .map(move |n| (format!("{function_name}/{}", n.name), n, false))
    });
    top.chain(functions)
}

struct EncodedConstant {
    entry: Value,
    bytes: Vec<u8>,
}

fn encode_constant(
    name: &str,
    node: &NodeDef,
    weight: Option<&QuantizedWeight>,
    allow_lossy: bool,
    warnings: &mut Vec<String>,
) -> Result<EncodedConstant> {
    let proto = attr_tensor(node, "value")
        .ok_or_else(|| Error::new(ErrorKind::GraphInvalid, format!("Const \"{name}\" has no value")).about(name))?;
    if let Some(weight) = weight {
        let entry = json!({
            "name": name, "shape": weight.shape, "dtype": "float32", "quantization": quantization_json(weight),
        });
        return Ok(EncodedConstant { entry, bytes: weight.element_bytes() });
    }
    let tensor = Tensor::from_proto(proto).map_err(|e| e.prefixed(format_args!("Const \"{name}\"")).about(name))?;
    let (dtype, bytes) = narrow(name, &tensor, allow_lossy, warnings)?;
    Ok(EncodedConstant { entry: json!({ "name": name, "shape": tensor.shape, "dtype": dtype }), bytes })
}

fn quantization_json(weight: &QuantizedWeight) -> Value {
    match &weight.encoding {
        WeightEncoding::Uint8 { min, scale, .. } => {
            json!({ "dtype": "uint8", "min": min, "scale": scale, "original_dtype": "float32" })
        }
        WeightEncoding::Float16 { .. } => json!({ "dtype": "float16", "original_dtype": "float32" }),
        WeightEncoding::Int8 { scales, axis, .. } => {
            let scales: Vec<f64> = scales.iter().map(|&s| f64::from(s)).collect();
            json!({ "dtype": "int8", "scales": scales, "axis": axis, "original_dtype": "float32" })
        }
    }
}

/// The TensorFlow.js dtype of a constant and its bytes in that dtype.
fn narrow(
    name: &str,
    tensor: &Tensor,
    allow_lossy: bool,
    warnings: &mut Vec<String>,
) -> Result<(&'static str, Vec<u8>)> {
    use DataType::*;
    let strings = match &tensor.data {
        TensorData::Strings(strings) => return Ok(("string", string_bytes(strings))),
        TensorData::Raw(bytes) => bytes,
    };
    let mut lossy = Lossy { name, dtype: tensor.dtype, allow: allow_lossy, warnings };
    let raw = strings.as_ref();
    Ok(match tensor.dtype {
        DtFloat => ("float32", raw.to_vec()),
        DtInt32 => ("int32", raw.to_vec()),
        DtComplex64 => ("complex64", raw.to_vec()),
        DtBool => ("bool", raw.iter().map(|&b| u8::from(b != 0)).collect()),
        DtHalf => ("float32", f32_bytes(raw.chunks_exact(2).map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))))),
        DtBfloat16 => ("float32", f32_bytes(raw.chunks_exact(2).map(|c| bfloat16_to_f32([c[0], c[1]])))),
        DtDouble => ("float32", lossy.floats(raw.chunks_exact(8).map(le_f64))?),
        DtComplex128 => ("complex64", lossy.floats(raw.chunks_exact(8).map(le_f64))?),
        DtInt8 => ("int32", i32_bytes(raw.iter().map(|&b| i32::from(b as i8)))),
        DtUint8 => ("int32", i32_bytes(raw.iter().map(|&b| i32::from(b)))),
        DtInt16 => ("int32", i32_bytes(raw.chunks_exact(2).map(|c| i32::from(i16::from_le_bytes([c[0], c[1]]))))),
        DtUint16 => ("int32", i32_bytes(raw.chunks_exact(2).map(|c| i32::from(u16::from_le_bytes([c[0], c[1]]))))),
        DtInt64 => (
            "int32",
            lossy.integers(raw.chunks_exact(8).map(|c| i128::from(i64::from_le_bytes(c.try_into().unwrap()))))?,
        ),
        DtUint32 => (
            "int32",
            lossy.integers(raw.chunks_exact(4).map(|c| i128::from(u32::from_le_bytes(c.try_into().unwrap()))))?,
        ),
        DtUint64 => (
            "int32",
            lossy.integers(raw.chunks_exact(8).map(|c| i128::from(u64::from_le_bytes(c.try_into().unwrap()))))?,
        ),
        other => {
            return Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("constant \"{name}\" is {}, which TensorFlow.js cannot hold", dtype::name(other)),
            )
            .about(name))
        }
    })
}

/// Narrowing that refuses to lose values unless allowed to.
struct Lossy<'a> {
    name: &'a str,
    dtype: DataType,
    allow: bool,
    warnings: &'a mut Vec<String>,
}

impl Lossy<'_> {
    fn integers(&mut self, values: impl Iterator<Item = i128>) -> Result<Vec<u8>> {
        let (mut outside, mut first) = (0usize, None);
        let narrowed = values.map(|v| {
            let clamped = v.clamp(i128::from(i32::MIN), i128::from(i32::MAX));
            if clamped != v {
                outside += 1;
                first.get_or_insert(v);
            }
            clamped as i32
        });
        let bytes = i32_bytes(narrowed);
        self.settle(outside, first.map(|v| v.to_string()), "int32", "clamped to the int32 range")?;
        Ok(bytes)
    }

    fn floats(&mut self, values: impl Iterator<Item = f64>) -> Result<Vec<u8>> {
        let (mut outside, mut first) = (0usize, None);
        let narrowed = values.map(|v| {
            let single = v as f32;
            if v.is_finite() && !single.is_finite() {
                outside += 1;
                first.get_or_insert(v);
            }
            single
        });
        let bytes = f32_bytes(narrowed);
        self.settle(outside, first.map(|v| v.to_string()), "float32", "stored as ±infinity")?;
        Ok(bytes)
    }

    fn settle(&mut self, outside: usize, first: Option<String>, target: &str, what_happens: &str) -> Result<()> {
        if outside == 0 {
            return Ok(());
        }
        let values = if outside == 1 { "value" } else { "values" };
        let problem = format!(
            "constant \"{}\" ({}) holds {outside} {values} outside {target}'s range (first: {}), which TensorFlow.js cannot hold",
            self.name,
            dtype::name(self.dtype),
            first.unwrap_or_default()
        );
        if self.allow {
            self.warnings.push(format!("{problem}; {what_happens}"));
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("{problem} (allow lossy narrowing to store them anyway)"),
            )
            .about(self.name))
        }
    }
}

fn le_f64(c: &[u8]) -> f64 {
    f64::from_le_bytes(c.try_into().expect("8-byte chunk"))
}

fn bfloat16_to_f32(bytes: [u8; 2]) -> f32 {
    f32::from_bits(u32::from(u16::from_le_bytes(bytes)) << 16)
}

fn f32_bytes(values: impl Iterator<Item = f32>) -> Vec<u8> {
    values.flat_map(f32::to_le_bytes).collect()
}

fn i32_bytes(values: impl Iterator<Item = i32>) -> Vec<u8> {
    values.flat_map(i32::to_le_bytes).collect()
}

/// Each string as a little-endian u32 byte length, then its bytes.
fn string_bytes(strings: &[bytes::Bytes]) -> Vec<u8> {
    let mut out = Vec::with_capacity(strings.iter().map(|s| 4 + s.len()).sum());
    for s in strings {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s);
    }
    out
}

/// Concatenates weights and cuts the stream every `size` bytes.
struct ShardWriter {
    size: usize,
    done: Vec<Vec<u8>>,
    current: Vec<u8>,
    total: u64,
}

impl ShardWriter {
    fn new(size: usize) -> Self {
        ShardWriter { size, done: Vec::new(), current: Vec::new(), total: 0 }
    }

    fn write(&mut self, mut bytes: &[u8]) {
        self.total += bytes.len() as u64;
        while !bytes.is_empty() {
            let take = (self.size - self.current.len()).min(bytes.len());
            self.current.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.current.len() == self.size {
                self.done.push(std::mem::take(&mut self.current));
            }
        }
    }

    fn finish(mut self) -> Vec<(String, Vec<u8>)> {
        if !self.current.is_empty() {
            self.done.push(self.current);
        }
        let count = self.done.len();
        self.done
            .into_iter()
            .enumerate()
            .map(|(i, bytes)| (format!("group1-shard{}of{count}.bin", i + 1), bytes))
            .collect()
    }
}

// ---- JSON ------------------------------------------------------------------------

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(DESCRIPTOR_SET).expect("the built-in descriptor set decodes"))
}

/// A message in protobuf's JSON mapping, default-valued fields left out.
fn proto_json<M: Message>(message: &M, full_name: &str) -> Result<Value> {
    let descriptor = pool()
        .get_message_by_name(full_name)
        .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, format!("unknown message type {full_name}")))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .map_err(|e| Error::new(ErrorKind::GraphInvalid, e.to_string()))?;
    let options = SerializeOptions::new().skip_default_fields(true).stringify_64_bit_integers(true);
    dynamic.serialize_with_options(serde_json::value::Serializer, &options).map_err(json_error)
}

/// The graph without constant values or debug info; `versions` is always
/// there (the runtime reads `versions.producer`) and `library` only when used.
fn topology_json(graph: &GraphDef) -> Result<Value> {
    let topology = GraphDef {
        node: graph.node.iter().map(without_value).collect(),
        versions: graph.versions.clone(),
        library: graph.library.as_ref().filter(|l| !l.function.is_empty()).map(library_without_values),
        debug_info: None,
    };
    let mut json = proto_json(&topology, "tensorflow.GraphDef")?;
    if let Value::Object(map) = &mut json {
        map.entry("versions").or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(json)
}

fn library_without_values(library: &FunctionDefLibrary) -> FunctionDefLibrary {
    let mut stripped = FunctionDefLibrary {
        function: Vec::with_capacity(library.function.len()),
        gradient: library.gradient.clone(),
        registered_gradients: library.registered_gradients.clone(),
    };
    for function in &library.function {
        let mut copy = function.clone();
        copy.node_def = function.node_def.iter().map(without_value).collect();
        rename_function_constants(&mut copy);
        stripped.function.push(copy);
    }
    stripped
}

/// A function's constants are stored in the weights as `<function>/<node>`
/// ([`constants`]), and TF.js looks a function's `Const` up by its node name:
/// the nodes take those names, and every reference inside the function too
/// (`node:output:0`, `^node`, and the `ret` map).
fn rename_function_constants(function: &mut crate::proto::FunctionDef) {
    let prefix = function.signature.as_ref().map(|s| s.name.clone()).unwrap_or_default();
    let constants: HashSet<String> =
        function.node_def.iter().filter(|n| n.op == "Const").map(|n| n.name.clone()).collect();
    if constants.is_empty() {
        return;
    }
    let rename = |reference: &str| -> Option<String> {
        let (control, body) = match reference.strip_prefix('^') {
            Some(body) => ("^", body),
            None => ("", reference),
        };
        let (node, rest) = body.split_once(':').map_or((body, ""), |(n, r)| (n, r));
        constants.contains(node).then(|| {
            let rest = if rest.is_empty() { String::new() } else { format!(":{rest}") };
            format!("{control}{prefix}/{node}{rest}")
        })
    };
    for node in &mut function.node_def {
        if constants.contains(&node.name) {
            node.name = format!("{prefix}/{}", node.name);
        }
        for input in &mut node.input {
            if let Some(renamed) = rename(input) {
                *input = renamed;
            }
        }
    }
    for value in function.ret.values_mut() {
        if let Some(renamed) = rename(value) {
            *value = renamed;
        }
    }
}

/// A `Const` keeps `dtype` and `tensorShape` but loses its values; dtypes the
/// runtime cannot parse become the dtype the manifest stores them as.
fn without_value(node: &NodeDef) -> NodeDef {
    if node.op != "Const" {
        return node.clone();
    }
    let mut attrs: BTreeMap<String, AttrValue> =
        node.attr.iter().filter(|(k, _)| k.as_str() != "value").map(|(k, v)| (k.clone(), v.clone())).collect();
    if let Some(value) = attr_tensor(node, "value") {
        let dtype = runtime_dtype(dtype::from_i32(value.dtype));
        let shell = TensorProto { dtype: dtype as i32, tensor_shape: value.tensor_shape.clone(), ..Default::default() };
        attrs.insert("value".to_string(), graph::tensor_attr(shell));
        attrs.insert("dtype".to_string(), graph::type_attr(dtype));
    }
    NodeDef {
        name: node.name.clone(),
        op: node.op.clone(),
        input: node.input.clone(),
        device: node.device.clone(),
        attr: attrs,
        experimental_debug_info: node.experimental_debug_info.clone(),
        experimental_type: node.experimental_type.clone(),
    }
}

/// What the TensorFlow.js attr parser understands; others map to what we store.
fn runtime_dtype(dtype: DataType) -> DataType {
    use DataType::*;
    match dtype {
        DtBfloat16 => DtFloat,
        DtInt16 | DtUint16 | DtUint32 | DtUint64 => DtInt32,
        other => other,
    }
}

/// `signature` as a SignatureDef keyed by node name, each naming output 0.
fn signature_json(signature: &Signature) -> Result<Value> {
    let info = |spec: &TensorSpec| {
        let tensor_shape = match &spec.shape {
            Some(dims) => shape_proto(dims),
            None => TensorShapeProto { dim: Vec::new(), unknown_rank: true },
        };
        let info = TensorInfo {
            encoding: Some(tensor_info::Encoding::Name(format!("{}:0", spec.name))),
            // What the model takes and gives in TF.js: a float64 input is fed float32.
            dtype: dtype::tfjs_dtype(spec.dtype) as i32,
            tensor_shape: Some(tensor_shape),
        };
        (spec.name.clone(), info)
    };
    let definition = SignatureDef {
        inputs: signature.inputs.iter().map(info).collect(),
        outputs: signature.outputs.iter().map(info).collect(),
        ..Default::default()
    };
    proto_json(&definition, "tensorflow.SignatureDef")
}

// ---- writing ---------------------------------------------------------------------

/// Writes `model.json` and the shards into `dir`, replacing an earlier model
/// there in one step with [`write_model_dir`](super::write_model_dir): on
/// failure `dir` is unchanged, on success it holds exactly this model's files
/// (and whatever else it held that is not a model file).
pub fn write_tfjs(model: &TfjsModel, dir: &Path) -> Result<()> {
    let shards = model.shards.iter().map(|(name, bytes)| (name.as_str(), bytes.as_slice()));
    super::write_model_dir(dir, shards.chain([("model.json", model.model_json.as_slice())]))
}

/// `group<g>-shard<i>of<n>.bin`.
pub(crate) fn is_shard_name(name: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let Some(rest) = name.strip_prefix("group").and_then(|r| r.strip_suffix(".bin")) else { return false };
    let Some((group, shard)) = rest.split_once("-shard") else { return false };
    let Some((index, count)) = shard.split_once("of") else { return false };
    digits(group) && digits(index) && digits(count)
}

// ---- signatures ------------------------------------------------------------------

/// The signature of `inputs` → `outputs`: dtypes and shapes from placeholder
/// attrs, `_output_shapes` when present, and a little shape inference.
pub fn signature_of(graph: &GraphDef, inputs: &[String], outputs: &[String]) -> Signature {
    let shapes = ShapeInference::new(graph);
    let spec = |name: &String| {
        let node = shapes.node(name);
        TensorSpec {
            name: name.clone(),
            dtype: node.map(output_dtype).unwrap_or(DataType::DtInvalid),
            shape: shapes.shape_of(name),
        }
    };
    Signature { inputs: inputs.iter().map(spec).collect(), outputs: outputs.iter().map(spec).collect() }
}

/// The dtype of a node's output 0.
pub(crate) fn output_dtype(node: &NodeDef) -> DataType {
    use DataType::*;
    let from = |name: &str, default: DataType| attr_type(node, name).unwrap_or(default);
    match node.op.as_str() {
        "Shape" | "Size" | "ShapeN" => from("out_type", DtInt32),
        "Rank" => DtInt32,
        "NonMaxSuppression"
        | "NonMaxSuppressionV2"
        | "NonMaxSuppressionV3"
        | "NonMaxSuppressionV4"
        | "NonMaxSuppressionV5" => DtInt32,
        "ArgMax" | "ArgMin" => from("output_type", DtInt64),
        "Where" => DtInt64,
        "Range" => from("Tidx", DtInt32),
        "ResizeBilinear" | "ResizeBicubic" | "ResizeArea" => DtFloat,
        "DecodeJpeg" | "DecodeAndCropJpeg" | "DecodeBmp" | "DecodeGif" => DtUint8,
        "DecodePng" | "DecodeImage" => from("dtype", DtUint8),
        "PyFunc" | "PyFuncStateless" | "EagerPyFunc" => match graph::attr(node, "Tout") {
            Some(crate::proto::attr_value::Value::List(list)) => {
                list.r#type.first().map_or(DtInvalid, |&t| dtype::from_i32(t))
            }
            _ => DtInvalid,
        },
        "Equal" | "NotEqual" | "Less" | "LessEqual" | "Greater" | "GreaterEqual" | "LogicalAnd" | "LogicalOr"
        | "LogicalNot" | "IsNan" | "IsInf" | "IsFinite" | "ApproximateEqual" => DtBool,
        _ => ["dtype", "out_type", "output_type", "DstT", "T", "Tparams"]
            .iter()
            .find_map(|name| attr_type(node, name))
            .map(dtype::base)
            .unwrap_or(DtInvalid),
    }
}

/// Output shapes where they follow from attrs, constants and simple rules;
/// `None` where they do not. Each node's shape is computed once (a diamond of
/// adds costs one visit per node, not one per path) and without recursion,
/// so neither deep nor cyclic graphs are a problem.
pub(crate) struct ShapeInference<'g> {
    graph: &'g GraphDef,
    index: HashMap<&'g str, usize>,
    /// Output-0 shape by node position, for every node computed so far.
    known: RefCell<HashMap<usize, Option<Vec<i64>>>>,
}

impl<'g> ShapeInference<'g> {
    pub(crate) fn new(graph: &'g GraphDef) -> Self {
        ShapeInference { graph, index: index_by_name(graph), known: RefCell::new(HashMap::new()) }
    }

    fn node(&self, name: &str) -> Option<&'g NodeDef> {
        self.position(name).map(|i| &self.graph.node[i])
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.index.get(node_of(name)).copied()
    }

    /// The shape of the node `name` names (its output 0).
    pub(crate) fn shape_of(&self, name: &str) -> Option<Vec<i64>> {
        let root = self.position(name)?;
        // Depth-first, inputs before the node; a node met again while its own
        // inputs are still pending is on a cycle and counts as unknown.
        let mut pending = HashSet::new();
        let mut stack = vec![(root, false)];
        while let Some((i, inputs_done)) = stack.pop() {
            if self.known.borrow().contains_key(&i) {
                continue;
            }
            if inputs_done {
                let shape = self.rule(&self.graph.node[i]);
                self.known.borrow_mut().insert(i, shape);
                continue;
            }
            if !pending.insert(i) {
                continue;
            }
            stack.push((i, true));
            for input in self.shape_inputs(&self.graph.node[i]) {
                if let Some(p) = self.position(input) {
                    if !pending.contains(&p) && !self.known.borrow().contains_key(&p) {
                        stack.push((p, false));
                    }
                }
            }
        }
        self.known.borrow().get(&root).cloned().flatten()
    }

    /// The inputs whose shapes [`Self::rule`] reads.
    fn shape_inputs(&self, node: &'g NodeDef) -> &'g [String] {
        if recorded_output_shape(node).is_some() || matches!(node.op.as_str(), "Placeholder" | "Const") {
            return &[];
        }
        &node.input[..node.input.len().min(2)]
    }

    /// A node's shape from its attrs and its inputs' shapes (already computed).
    fn rule(&self, node: &NodeDef) -> Option<Vec<i64>> {
        if let Some(shape) = recorded_output_shape(node) {
            return Some(shape);
        }
        let input = |i: usize| {
            let position = self.position(node.input.get(i)?)?;
            self.known.borrow().get(&position).cloned().flatten()
        };
        match node.op.as_str() {
            "Placeholder" | "PlaceholderWithDefault" => attr_shape(node, "shape"),
            "Const" => attr_tensor(node, "value").and_then(|t| t.tensor_shape.as_ref()).and_then(shape_dims),
            op if SHAPE_PRESERVING.contains(&op) => input(0),
            op if BROADCASTING.contains(&op) => broadcast(&input(0)?, &input(1)?),
            "MatMul" | "_FusedMatMul" => matmul_shape(node, &input(0)?, &input(1)?),
            "Reshape" => self.constant_ints(node.input.get(1)?),
            "Mean" | "Sum" | "Max" | "Min" | "Prod" | "All" | "Any" => {
                let axes = self.constant_ints(node.input.get(1)?)?;
                Some(reduce_shape(&input(0)?, &axes, attr_bool_or(node, "keep_dims", false)))
            }
            "Squeeze" => squeeze_shape(node, &input(0)?),
            "Conv2D" | "DepthwiseConv2dNative" | "_FusedConv2D" | "FusedDepthwiseConv2dNative" => {
                conv_shape(node, &input(0)?, &input(1)?)
            }
            _ => None,
        }
    }

    /// An int32/int64 `Const`'s values (through `Identity`).
    fn constant_ints(&self, name: &str) -> Option<Vec<i64>> {
        let (_, node) = graph::through_identities(self.graph, &self.index, name)?;
        if node.op != "Const" {
            return None;
        }
        let tensor = Tensor::from_proto(attr_tensor(node, "value")?).ok()?;
        let raw = tensor.raw()?;
        match tensor.dtype {
            DataType::DtInt32 => {
                Some(raw.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes(c.try_into().unwrap()))).collect())
            }
            DataType::DtInt64 => Some(raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()),
            _ => None,
        }
    }
}

const SHAPE_PRESERVING: [&str; 30] = [
    "Identity",
    "StopGradient",
    "Snapshot",
    "Cast",
    "Relu",
    "Relu6",
    "Elu",
    "Selu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Softplus",
    "Exp",
    "Log",
    "Neg",
    "Abs",
    "Sqrt",
    "Rsqrt",
    "Square",
    "Floor",
    "Ceil",
    "Round",
    "BiasAdd",
    "FusedBatchNorm",
    "FusedBatchNormV2",
    "FusedBatchNormV3",
    "Dequantize",
    "ClipByValue",
];

const BROADCASTING: [&str; 9] =
    ["Add", "AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum", "SquaredDifference", "Pow"];

/// The shape recorded by TensorFlow in `_output_shapes`, if any.
fn recorded_output_shape(node: &NodeDef) -> Option<Vec<i64>> {
    match attr(node, "_output_shapes")? {
        attr_value::Value::List(list) => list.shape.first().and_then(shape_dims),
        _ => None,
    }
}

fn attr_bool_or(node: &NodeDef, name: &str, default: bool) -> bool {
    graph::attr_bool(node, name).unwrap_or(default)
}

fn broadcast(a: &[i64], b: &[i64]) -> Option<Vec<i64>> {
    let rank = a.len().max(b.len());
    let dim = |s: &[i64], i: usize| if i + s.len() >= rank { s[i + s.len() - rank] } else { 1 };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            (-1, y) | (y, -1) => Some(y),
            _ => None,
        })
        .collect()
}

fn matmul_shape(node: &NodeDef, a: &[i64], b: &[i64]) -> Option<Vec<i64>> {
    if a.len() != 2 || b.len() != 2 {
        return None;
    }
    let rows = if attr_bool_or(node, "transpose_a", false) { a[1] } else { a[0] };
    let columns = if attr_bool_or(node, "transpose_b", false) { b[0] } else { b[1] };
    Some(vec![rows, columns])
}

fn reduce_shape(shape: &[i64], axes: &[i64], keep_dims: bool) -> Vec<i64> {
    let rank = shape.len() as i64;
    let reduced: HashSet<i64> = axes.iter().map(|&a| if a < 0 { a + rank } else { a }).collect();
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (reduced.contains(&(i as i64)), keep_dims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

fn squeeze_shape(node: &NodeDef, shape: &[i64]) -> Option<Vec<i64>> {
    let axes: Vec<i64> = match attr(node, "squeeze_dims") {
        Some(attr_value::Value::List(list)) => list.i.clone(),
        _ => Vec::new(),
    };
    let rank = shape.len() as i64;
    let squeezed: HashSet<i64> = axes.iter().map(|&a| if a < 0 { a + rank } else { a }).collect();
    if axes.is_empty() && shape.contains(&-1) {
        return None;
    }
    let keep = |(i, &d): (usize, &i64)| if axes.is_empty() { d != 1 } else { !squeezed.contains(&(i as i64)) };
    Some(shape.iter().enumerate().filter(|&x| keep(x)).map(|(_, &d)| d).collect())
}

/// NHWC convolutions: output height/width from padding, strides and dilations.
/// `-1` for a dim that is unknown or would overflow; `None` for `EXPLICIT`
/// padding (its amounts are not modelled here) or an unknown padding.
fn conv_shape(node: &NodeDef, input: &[i64], filter: &[i64]) -> Option<Vec<i64>> {
    if input.len() != 4 || filter.len() != 4 || attr_string(node, "data_format").is_some_and(|f| f != "NHWC") {
        return None;
    }
    let list = |name: &str| match attr(node, name) {
        Some(attr_value::Value::List(list)) if list.i.len() == 4 => Some(list.i.clone()),
        _ => None,
    };
    let strides = list("strides")?;
    let dilations = list("dilations").unwrap_or(vec![1; 4]);
    let valid = match attr_string(node, "padding")?.as_str() {
        "VALID" => true,
        "SAME" => false,
        _ => return None,
    };
    let spatial = |size: i64, kernel: i64, stride: i64, dilation: i64| -> i64 {
        if size < 0 || kernel < 0 || stride <= 0 || dilation <= 0 {
            return -1;
        }
        let out = if valid {
            let effective = (kernel - 1).checked_mul(dilation).and_then(|k| k.checked_add(1));
            effective.and_then(|k| size.checked_sub(k)).and_then(|d| d.checked_add(stride)).map(|d| d / stride)
        } else {
            size.checked_add(stride - 1).map(|d| d / stride)
        };
        out.filter(|&d| d >= 0).unwrap_or(-1)
    };
    let channels = match node.op.contains("Depthwise") {
        true if filter[2] < 0 || filter[3] < 0 => -1,
        true => filter[2].checked_mul(filter[3]).unwrap_or(-1),
        false => filter[3],
    };
    let height = spatial(input[1], filter[0], strides[1], dilations[1]);
    let width = spatial(input[2], filter[1], strides[2], dilations[2]);
    Some(vec![input[0], height, width, channels])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_the_weight_stream_at_shard_boundaries() {
        let mut writer = ShardWriter::new(4);
        writer.write(&[1, 2, 3]);
        writer.write(&[4, 5, 6, 7, 8, 9]);
        let shards = writer.finish();
        let names: Vec<&str> = shards.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["group1-shard1of3.bin", "group1-shard2of3.bin", "group1-shard3of3.bin"]);
        assert_eq!(shards[1].1, [5, 6, 7, 8]);
        assert_eq!(shards[2].1, [9]);
    }

    #[test]
    fn recognises_shard_file_names() {
        assert!(is_shard_name("group1-shard2of10.bin"));
        assert!(!is_shard_name("model.json"));
        assert!(!is_shard_name("group1-shardXof2.bin"));
        assert!(!is_shard_name("group1-shard.bin"));
    }

    #[test]
    fn broadcasts_unknown_dims() {
        assert_eq!(broadcast(&[-1, 4], &[4]), Some(vec![-1, 4]));
        assert_eq!(broadcast(&[2, 1], &[1, 3]), Some(vec![2, 3]));
        assert_eq!(broadcast(&[2], &[3]), None);
    }
}
