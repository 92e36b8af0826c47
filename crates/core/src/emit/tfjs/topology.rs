//! `model.json` itself: the signature, the topology (the GraphDef in
//! protobuf's JSON mapping with constant values removed) and, for models with
//! lookup tables, the initializer graph.

use std::collections::{BTreeMap, HashSet};

use prost::Message;
use prost_reflect::SerializeOptions;
use serde_json::{json, Map, Value};

use super::TfjsOptions;
use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, attr_tensor, Signature, TensorSpec};
use crate::proto::{
    tensor_info, AttrValue, DataType, FunctionDef, FunctionDefLibrary, GraphDef, NodeDef, SignatureDef, TensorInfo,
    TensorProto, TensorShapeProto,
};
use crate::tensor::shape_proto;

/// The document, keys in reading order; inside each part keys are sorted, so
/// the same model always gives the same bytes.
pub(super) fn model_json(
    graph: &GraphDef,
    signature: &Signature,
    manifest: Value,
    options: &TfjsOptions,
) -> Result<Vec<u8>> {
    let mut parts: Vec<(&str, Value)> = vec![("format", json!("graph-model"))];
    if let Some(generated_by) = &options.generated_by {
        parts.push(("generatedBy", json!(generated_by)));
    }
    parts.push(("convertedBy", json!(options.converted_by)));
    parts.push(("signature", signature_json(signature)?));
    let split = split_initializer(graph, signature, &options.initializers);
    let model = split.as_ref().map_or(graph, |(model, _)| model);
    parts.push(("modelTopology", topology_json(model)?));
    parts.push(("weightsManifest", manifest));
    if let Some((_, initializer)) = &split {
        // TF.js runs the initializer graph for the outputs its signature names;
        // tables are shared with the model by the name of their node.
        let outputs: Map<String, Value> = options
            .initializers
            .iter()
            .map(|name| (name.clone(), json!({ "name": format!("{name}:0"), "dtype": "DT_RESOURCE" })))
            .collect();
        parts.push(("modelInitializer", topology_json(initializer)?));
        parts.push(("initializerSignature", json!({ "outputs": outputs })));
    }
    let document: Map<String, Value> = parts
        .into_iter()
        .map(|(key, mut value)| {
            value.sort_all_objects();
            (key.to_string(), value)
        })
        .collect();
    serde_json::to_vec(&document).map_err(json_error)
}

/// With initializers, the model's graph without what only they read, and
/// theirs (they, the tables they fill, and their inputs).
fn split_initializer(graph: &GraphDef, signature: &Signature, initializers: &[String]) -> Option<(GraphDef, GraphDef)> {
    if initializers.is_empty() {
        return None;
    }
    let roots: Vec<String> = signature.inputs.iter().chain(&signature.outputs).map(|s| s.name.clone()).collect();
    let model = graph::reachable(graph, &roots);
    let initializing = graph::reachable(graph, initializers);
    let subset = |keep: &[bool], library| GraphDef {
        node: graph.node.iter().zip(keep).filter(|(_, &k)| k).map(|(n, _)| n.clone()).collect(),
        versions: graph.versions.clone(),
        library,
        debug_info: None,
    };
    let model_only: Vec<bool> = model.iter().zip(&initializing).map(|(&m, &i)| m || !i).collect();
    Some((subset(&model_only, graph.library.clone()), subset(&initializing, None)))
}

fn json_error(e: serde_json::Error) -> Error {
    Error::new(ErrorKind::GraphInvalid, format!("cannot write model.json: {e}"))
}

/// A message in protobuf's JSON mapping, default-valued fields left out.
fn proto_json<M: Message>(message: &M, full_name: &str) -> Result<Value> {
    let dynamic = graph::to_dynamic(message, full_name)?;
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
/// ([`constants`](super::weights::constants)), and TF.js looks a function's `Const` up by its node name:
/// the nodes take those names, and every reference inside the function too
/// (`node:output:0`, `^node`, and the `ret` map).
fn rename_function_constants(function: &mut FunctionDef) {
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
