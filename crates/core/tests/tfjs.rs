//! The TensorFlow.js graph-model emitter and the TF.js op check. The emitted
//! convnet and detector models were also loaded and run with the real
//! @tensorflow/tfjs-converter outside the test suite; here the format rules
//! that loader depends on are checked one by one (tf-formats §9, traps 14–16).

use std::collections::BTreeSet;
use std::path::Path;

use bytes::Bytes;
use serde_json::Value;
use tfmodel_core::emit::tfjs::{signature_of, to_tfjs, write_tfjs, Signature, TensorSpec, TfjsModel, TfjsOptions};
use tfmodel_core::graph::type_attr;
use tfmodel_core::opcheck::{check_ops, require_supported};
use tfmodel_core::proto::{attr_value, AttrValue, DataType, GraphDef};
use tfmodel_core::quantize::{quantize, QuantizeMode, QuantizeOptions};
use tfmodel_core::tensor::{Tensor, TensorData};
use tfmodel_core::ErrorKind;

mod common;
use common::{const_node, frozen_fixture, graph_of, node};

// ---- helpers ---------------------------------------------------------------

fn raw(dtype: DataType, shape: Vec<i64>, bytes: Vec<u8>) -> Tensor {
    Tensor { dtype, shape, data: TensorData::Raw(Bytes::from(bytes)) }
}

fn emit(graph: &GraphDef, options: &TfjsOptions) -> TfjsModel {
    to_tfjs(graph, None, &Signature::default(), options).unwrap()
}

fn model_json(model: &TfjsModel) -> Value {
    serde_json::from_slice(&model.model_json).expect("model.json parses")
}

fn all_shard_bytes(model: &TfjsModel) -> Vec<u8> {
    model.shards.iter().flat_map(|(_, bytes)| bytes.clone()).collect()
}

/// Walks the weight stream the way the TF.js loader does and returns each
/// weight's byte range; panics if a size does not fit.
fn weight_ranges(manifest: &Value, stream: &[u8]) -> Vec<(String, std::ops::Range<usize>)> {
    let mut offset = 0;
    let mut ranges = Vec::new();
    for weight in manifest["weights"].as_array().unwrap() {
        let name = weight["name"].as_str().unwrap().to_string();
        let count: u64 = weight["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap()).product();
        let count = count as usize;
        let start = offset;
        match (weight["dtype"].as_str().unwrap(), weight["quantization"]["dtype"].as_str()) {
            (_, Some("uint8" | "int8")) => offset += count,
            (_, Some("float16")) => offset += 2 * count,
            ("float32" | "int32", None) => offset += 4 * count,
            ("bool", None) => offset += count,
            ("complex64", None) => offset += 8 * count,
            ("string", None) => {
                for _ in 0..count {
                    let length = u32::from_le_bytes(stream[offset..offset + 4].try_into().unwrap()) as usize;
                    offset += 4 + length;
                }
            }
            other => panic!("unexpected manifest dtype {other:?}"),
        }
        assert!(offset <= stream.len(), "weight {name} runs past the shards");
        ranges.push((name, start..offset));
    }
    ranges
}

// ---- (e) model.json and shards on the fixtures -----------------------------

#[test]
fn fixture_models_keep_values_only_in_the_manifest() {
    for (fixture, mode) in [("convnet", QuantizeMode::Uint8), ("detector", QuantizeMode::Int8)] {
        let frozen = frozen_fixture(fixture);
        let weights = quantize(&frozen.graph, &QuantizeOptions { mode, minimum_size: 0 }).unwrap();
        let signature = signature_of(&frozen.graph, &frozen.inputs, &frozen.outputs);
        let options = TfjsOptions { shard_size: 4096, ..Default::default() };
        let model = to_tfjs(&frozen.graph, Some(&weights), &signature, &options).unwrap();
        let json = model_json(&model);
        assert_eq!(json["format"], "graph-model");
        assert!(json["convertedBy"].as_str().unwrap().starts_with("unplugin-tfmodel "));
        assert!(json["modelTopology"]["versions"].is_object());

        let mut const_names = BTreeSet::new();
        for node in json["modelTopology"]["node"].as_array().unwrap() {
            if node["op"] != "Const" {
                continue;
            }
            const_names.insert(node["name"].as_str().unwrap().to_string());
            let tensor = node["attr"]["value"]["tensor"].as_object().unwrap();
            let keys: BTreeSet<&str> = tensor.keys().map(String::as_str).collect();
            assert!(keys.is_subset(&BTreeSet::from(["dtype", "tensorShape"])), "{fixture}: {keys:?}");
            assert!(tensor.contains_key("dtype"), "{fixture}: Const keeps its dtype");
        }

        let manifest = &json["weightsManifest"][0];
        let manifest_names: BTreeSet<String> =
            manifest["weights"].as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(manifest_names, const_names, "{fixture}: one manifest entry per Const");

        let stream = all_shard_bytes(&model);
        let ranges = weight_ranges(manifest, &stream);
        assert_eq!(ranges.last().unwrap().1.end, stream.len(), "{fixture}: sizes add up to the shard bytes");
        assert_eq!(model.weight_bytes, stream.len() as u64);

        let count = model.shards.len();
        let paths: Vec<&str> = manifest["paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        for (i, (name, bytes)) in model.shards.iter().enumerate() {
            assert_eq!(name, &format!("group1-shard{}of{count}.bin", i + 1));
            assert_eq!(paths[i], name);
            assert!(bytes.len() <= 4096);
            assert!(i + 1 == count || bytes.len() == 4096, "only the last shard is short");
        }

        // Quantized weights decode from the manifest exactly as the quantizer reported.
        for (name, range) in &ranges {
            if let Some(weight) = weights.weights.get(name) {
                assert_eq!(&stream[range.clone()], weight.element_bytes().as_slice(), "{name}");
            }
        }
    }
}

#[test]
fn quantization_objects_follow_the_manifest_format() {
    let values: Vec<f32> = (0..2048).map(|i| (i as f32 - 1000.0) / 700.0).collect();
    let mut graph = graph_of(vec![const_node("w", &Tensor::from_f32(vec![32, 64], &values))]);
    graph.node.push(node("y", "MatMul", &["w", "w"]));
    let entry = |mode| {
        let weights = quantize(&graph, &QuantizeOptions { mode, ..Default::default() }).unwrap();
        let model = to_tfjs(&graph, Some(&weights), &Signature::default(), &TfjsOptions::default()).unwrap();
        model_json(&model)["weightsManifest"][0]["weights"][0].clone()
    };
    let uint8 = entry(QuantizeMode::Uint8);
    assert_eq!(uint8["dtype"], "float32");
    assert_eq!(uint8["shape"], serde_json::json!([32, 64]));
    let q = &uint8["quantization"];
    assert_eq!((q["dtype"].as_str(), q["original_dtype"].as_str()), (Some("uint8"), Some("float32")));
    assert!((q["scale"].as_f64().unwrap() - (2047.0 / 700.0) / 255.0).abs() < 1e-8);
    assert!(q["min"].as_f64().unwrap() < 0.0);
    assert_eq!(
        entry(QuantizeMode::Float16)["quantization"],
        serde_json::json!({"dtype": "float16", "original_dtype": "float32"})
    );
    let int8 = entry(QuantizeMode::Int8);
    assert_eq!(int8["quantization"]["dtype"], "int8");
    assert_eq!(int8["quantization"]["axis"], 1);
    assert_eq!(int8["quantization"]["scales"].as_array().unwrap().len(), 64);
}

#[test]
fn a_small_shard_size_splits_a_weight_across_shards() {
    let values: Vec<f32> = (0..1000).map(|i| i as f32 * 0.25).collect();
    let graph = graph_of(vec![const_node("w", &Tensor::from_f32(vec![1000], &values))]);
    let model = emit(&graph, &TfjsOptions { shard_size: 300, ..Default::default() });
    assert_eq!(model.shards.len(), 14);
    assert_eq!(model.shards[0].0, "group1-shard1of14.bin");
    assert_eq!(model.shards[13].0, "group1-shard14of14.bin");
    assert_eq!(model.shards[13].1.len(), 4000 - 13 * 300);
    let expected: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(all_shard_bytes(&model), expected, "the shards concatenate back to the weight");
}

// ---- (e) dtypes ----------------------------------------------------------------

#[test]
fn int64_outside_int32_is_an_error_naming_the_tensor() {
    let big: Vec<u8> = [1i64, 1 << 40, -5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let graph = graph_of(vec![const_node("big", &raw(DataType::DtInt64, vec![3], big))]);
    let err = to_tfjs(&graph, None, &Signature::default(), &TfjsOptions::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnsupportedDtype);
    assert_eq!(err.subject.as_deref(), Some("big"));
    assert!(err.message.contains("\"big\"") && err.message.contains("1099511627776"), "{}", err.message);

    let lossy = to_tfjs(&graph, None, &Signature::default(), &TfjsOptions { allow_lossy: true, ..Default::default() });
    let model = lossy.unwrap();
    assert_eq!(model.warnings.len(), 1);
    assert!(model.warnings[0].contains("\"big\""));
    let expected: Vec<u8> = [1i32, i32::MAX, -5].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(all_shard_bytes(&model), expected, "clamped, never wrapped");
}

#[test]
fn float64_beyond_float32_is_an_error() {
    let values: Vec<u8> = [1.5f64, 1e300].iter().flat_map(|v| v.to_le_bytes()).collect();
    let graph = graph_of(vec![const_node("huge", &raw(DataType::DtDouble, vec![2], values))]);
    let err = to_tfjs(&graph, None, &Signature::default(), &TfjsOptions::default()).unwrap_err();
    assert_eq!((err.kind, err.subject.as_deref()), (ErrorKind::UnsupportedDtype, Some("huge")));
}

#[test]
fn narrow_dtypes_are_stored_in_what_tfjs_holds() {
    let strings = Tensor {
        dtype: DataType::DtString,
        shape: vec![2],
        data: TensorData::Strings(vec![Bytes::new(), Bytes::from_static(b"ab")]),
    };
    let graph = graph_of(vec![
        const_node("s", &strings),
        const_node("b", &raw(DataType::DtBool, vec![2], vec![0, 7])),
        const_node("i16", &raw(DataType::DtInt16, vec![1], (-2i16).to_le_bytes().to_vec())),
        const_node("u8", &raw(DataType::DtUint8, vec![1], vec![200])),
        const_node("bf16", &raw(DataType::DtBfloat16, vec![1], 0x3fc0u16.to_le_bytes().to_vec())),
        const_node("half", &raw(DataType::DtHalf, vec![1], 0x3c00u16.to_le_bytes().to_vec())),
        const_node("d", &raw(DataType::DtDouble, vec![1], 0.5f64.to_le_bytes().to_vec())),
    ]);
    let model = emit(&graph, &TfjsOptions::default());
    let json = model_json(&model);
    let dtypes: Vec<&str> = json["weightsManifest"][0]["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["dtype"].as_str().unwrap())
        .collect();
    assert_eq!(dtypes, ["string", "bool", "int32", "int32", "float32", "float32", "float32"]);
    let mut expected = vec![0, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0, 1];
    expected.extend((-2i32).to_le_bytes());
    expected.extend(200i32.to_le_bytes());
    expected.extend(1.5f32.to_le_bytes());
    expected.extend(1.0f32.to_le_bytes());
    expected.extend(0.5f32.to_le_bytes());
    assert_eq!(all_shard_bytes(&model), expected);
    // The runtime cannot parse DT_BFLOAT16 or DT_INT16 attrs: the topology says what is stored.
    let node = |name: &str| {
        json["modelTopology"]["node"].as_array().unwrap().iter().find(|n| n["name"] == name).unwrap().clone()
    };
    assert_eq!(node("bf16")["attr"]["dtype"]["type"], "DT_FLOAT");
    assert_eq!(node("i16")["attr"]["value"]["tensor"]["dtype"], "DT_INT32");
}

#[test]
fn quantized_tensorflow_dtypes_are_refused() {
    let graph = graph_of(vec![const_node("q", &raw(DataType::DtQint8, vec![2], vec![1, 2]))]);
    let err = to_tfjs(&graph, None, &Signature::default(), &TfjsOptions::default()).unwrap_err();
    assert_eq!((err.kind, err.subject.as_deref()), (ErrorKind::UnsupportedDtype, Some("q")));
}

#[test]
fn a_string_constant_read_as_a_number_is_an_error() {
    let shape =
        Tensor { dtype: DataType::DtString, shape: vec![1], data: TensorData::Strings(vec![Bytes::from_static(b"2")]) };
    let graph = graph_of(vec![
        node("x", "Placeholder", &[]),
        const_node("shape", &shape),
        node("shape/read", "Identity", &["shape"]),
        node("y", "Reshape", &["x", "shape/read"]),
    ]);
    let err = to_tfjs(&graph, None, &Signature::default(), &TfjsOptions::default()).unwrap_err();
    assert_eq!((err.kind, err.subject.as_deref()), (ErrorKind::UnsupportedDtype, Some("shape")));
    assert!(err.message.contains("\"y\""), "{}", err.message);
}

// ---- (e) JSON details ----------------------------------------------------------

#[test]
fn int64_fields_are_strings_and_versions_always_exist() {
    let mut placeholder = node("x", "Placeholder", &[]);
    placeholder.attr.insert("dtype".into(), type_attr(DataType::DtFloat));
    placeholder.attr.insert(
        "shape".into(),
        AttrValue { value: Some(attr_value::Value::Shape(tfmodel_core::tensor::shape_proto(&[-1, 3]))) },
    );
    let mut pad = node("y", "Identity", &["x"]);
    pad.attr.insert("T".into(), type_attr(DataType::DtFloat));
    pad.attr.insert("n".into(), AttrValue { value: Some(attr_value::Value::I(5)) });
    pad.attr.insert("flag".into(), AttrValue { value: Some(attr_value::Value::B(false)) });
    pad.attr.insert("s".into(), AttrValue { value: Some(attr_value::Value::S(b"SAME".to_vec())) });
    let graph = graph_of(vec![placeholder, pad]);
    let signature = signature_of(&graph, &["x".to_string()], &["y".to_string()]);
    assert_eq!(
        signature.outputs[0],
        TensorSpec { name: "y".into(), dtype: DataType::DtFloat, shape: Some(vec![-1, 3]) }
    );

    let model = to_tfjs(&graph, None, &signature, &TfjsOptions::default()).unwrap();
    let json = model_json(&model);
    let topology = &json["modelTopology"];
    assert_eq!(topology["versions"], serde_json::json!({}), "versions is present even when the graph has none");
    assert!(topology.get("library").is_none());
    let x = &topology["node"][0]["attr"];
    assert_eq!(x["shape"]["shape"]["dim"][0]["size"], "-1");
    assert_eq!(x["dtype"]["type"], "DT_FLOAT");
    let y = &topology["node"][1]["attr"];
    assert_eq!(y["n"]["i"], "5");
    assert_eq!(y["flag"]["b"], false, "oneof members are written even when default");
    assert_eq!(y["s"]["s"], "U0FNRQ==");

    let input = &json["signature"]["inputs"]["x"];
    assert_eq!(input["name"], "x:0");
    assert_eq!(input["dtype"], "DT_FLOAT");
    assert_eq!(input["tensorShape"]["dim"][1]["size"], "3");
    assert_eq!(json["signature"]["outputs"]["y"]["name"], "y:0");
}

#[test]
fn fixture_signatures_carry_dtypes_and_shapes() {
    let convnet = frozen_fixture("convnet");
    let signature = signature_of(&convnet.graph, &convnet.inputs, &convnet.outputs);
    assert_eq!(
        signature.inputs[0],
        TensorSpec { name: "input".into(), dtype: DataType::DtFloat, shape: Some(vec![-1, 24, 24, 3]) }
    );
    assert!(signature.outputs.iter().all(|o| o.dtype == DataType::DtFloat && o.shape == Some(vec![-1, 4])));
    let detector = frozen_fixture("detector");
    let signature = signature_of(&detector.graph, &detector.inputs, &detector.outputs);
    assert_eq!(signature.inputs[0].dtype, DataType::DtUint8);
    let boxes = signature.outputs.iter().find(|o| o.name == "detection_boxes").unwrap();
    assert_eq!(boxes.dtype, DataType::DtFloat);
}

// ---- shape inference ---------------------------------------------------------------

fn with_attr(
    mut node: tfmodel_core::proto::NodeDef,
    name: &str,
    value: attr_value::Value,
) -> tfmodel_core::proto::NodeDef {
    node.attr.insert(name.into(), AttrValue { value: Some(value) });
    node
}

fn placeholder(name: &str, dims: &[i64]) -> tfmodel_core::proto::NodeDef {
    let node = with_attr(node(name, "Placeholder", &[]), "dtype", attr_value::Value::Type(DataType::DtFloat as i32));
    with_attr(node, "shape", attr_value::Value::Shape(tfmodel_core::tensor::shape_proto(dims)))
}

fn ints_list(values: &[i64]) -> attr_value::Value {
    attr_value::Value::List(attr_value::ListValue { i: values.to_vec(), ..Default::default() })
}

/// The output shape of `y`, computed on another thread that must finish in time.
fn output_shape_within(graph: GraphDef, seconds: u64) -> Option<Vec<i64>> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let signature = signature_of(&graph, &[], &["y".to_string()]);
        let _ = send.send(signature.outputs[0].shape.clone());
    });
    receive.recv_timeout(std::time::Duration::from_secs(seconds)).expect("shape inference finishes")
}

fn conv(padding: &str, strides: &[i64], dilations: &[i64]) -> tfmodel_core::proto::NodeDef {
    let conv = with_attr(node("y", "Conv2D", &["x", "filter"]), "strides", ints_list(strides));
    let conv = with_attr(conv, "dilations", ints_list(dilations));
    with_attr(conv, "padding", attr_value::Value::S(padding.as_bytes().to_vec()))
}

#[test]
fn conv_shapes_never_overflow_and_explicit_padding_is_unknown() {
    let filter = || {
        let value = tfmodel_core::proto::TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: Some(tfmodel_core::tensor::shape_proto(&[3, 3, 3, 8])),
            ..Default::default()
        };
        with_attr(node("filter", "Const", &[]), "value", attr_value::Value::Tensor(value))
    };
    let shape = |padding: &str, input: &[i64], strides: &[i64], dilations: &[i64]| {
        output_shape_within(graph_of(vec![placeholder("x", input), filter(), conv(padding, strides, dilations)]), 10)
    };
    let ones = [1, 1, 1, 1];
    assert_eq!(shape("SAME", &[1, 10, 10, 3], &[1, 2, 2, 1], &ones), Some(vec![1, 5, 5, 8]));
    assert_eq!(shape("VALID", &[1, 10, 10, 3], &ones, &[1, 2, 2, 1]), Some(vec![1, 6, 6, 8]));
    assert_eq!(shape("VALID", &[1, 10, 10, 3], &ones, &[1, i64::MAX, 1, 1]), Some(vec![1, -1, 8, 8]));
    assert_eq!(shape("SAME", &[1, i64::MAX, 10, 3], &[1, 2, 1, 1], &ones), Some(vec![1, -1, 10, 8]));
    assert_eq!(shape("EXPLICIT", &[1, 10, 10, 3], &ones, &ones), None);
}

#[test]
fn shapes_of_diamonds_are_computed_once_per_node() {
    let mut nodes = vec![placeholder("a0", &[2, 3])];
    for level in 1..=40 {
        let previous = format!("a{}", level - 1);
        nodes.push(node(&format!("a{level}"), "AddV2", &[&previous, &previous]));
    }
    nodes.push(node("y", "Relu", &["a40"]));
    assert_eq!(output_shape_within(graph_of(nodes), 10), Some(vec![2, 3]));
}

#[test]
fn identity_cycles_give_unknown_shapes() {
    let graph = graph_of(vec![
        placeholder("x", &[4]),
        node("loop_a", "Identity", &["loop_b"]),
        node("loop_b", "Identity", &["loop_a"]),
        node("y", "Reshape", &["x", "loop_a"]),
    ]);
    assert_eq!(output_shape_within(graph, 10), None);
    let graph = graph_of(vec![node("z", "Relu", &["y"]), node("y", "AddV2", &["z", "z"])]);
    assert_eq!(output_shape_within(graph, 10), None);
}

#[test]
fn unknown_signature_and_input_names_are_errors() {
    let graph = graph_of(vec![node("x", "Placeholder", &[]), node("y", "Identity", &["x"])]);
    let wrong = Signature {
        inputs: vec![],
        outputs: vec![TensorSpec { name: "z".into(), dtype: DataType::DtFloat, shape: None }],
    };
    let err = to_tfjs(&graph, None, &wrong, &TfjsOptions::default()).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnknownNode);
    let dangling = graph_of(vec![node("y", "Identity", &["missing"])]);
    let err = to_tfjs(&dangling, None, &Signature::default(), &TfjsOptions::default()).unwrap_err();
    assert_eq!((err.kind, err.subject.as_deref()), (ErrorKind::UnknownNode, Some("y")));
}

// ---- writing ---------------------------------------------------------------------

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

#[test]
fn writes_a_new_directory_and_replaces_an_old_model() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("models").join("m");
    let values = vec![1.0f32; 100];
    let graph = graph_of(vec![const_node("w", &Tensor::from_f32(vec![100], &values))]);
    let many = emit(&graph, &TfjsOptions { shard_size: 100, ..Default::default() });
    write_tfjs(&many, &dir).unwrap();
    let expected: BTreeSet<String> =
        ["model.json", "group1-shard1of4.bin", "group1-shard2of4.bin", "group1-shard3of4.bin", "group1-shard4of4.bin"]
            .map(String::from)
            .into();
    assert_eq!(files_in(&dir), expected);
    assert_eq!(files_in(&scratch.path().join("models")), BTreeSet::from(["m".to_string()]), "no temporary left");
    assert_eq!(std::fs::read(dir.join("model.json")).unwrap(), many.model_json);

    let one = emit(&graph, &TfjsOptions::default());
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    std::fs::create_dir_all(dir.join("assets/icons")).unwrap();
    std::fs::write(dir.join("assets/icons/a.svg"), "<svg/>").unwrap();
    write_tfjs(&one, &dir).unwrap();
    let expected: BTreeSet<String> =
        ["model.json", "group1-shard1of1.bin", "notes.txt", "assets"].map(String::from).into();
    assert_eq!(files_in(&dir), expected, "stale shards go, other files stay");
    assert_eq!(std::fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
    assert_eq!(std::fs::read_to_string(dir.join("assets/icons/a.svg")).unwrap(), "<svg/>");
    assert_eq!(files_in(&scratch.path().join("models")), BTreeSet::from(["m".to_string()]), "no old copy left");
}

#[test]
fn a_failed_write_leaves_no_partial_model() {
    let scratch = tempfile::tempdir().unwrap();
    let blocker = scratch.path().join("m");
    std::fs::write(&blocker, "a file where the model directory should go").unwrap();
    let graph = graph_of(vec![const_node("w", &Tensor::from_f32(vec![4], &[1.0; 4]))]);
    let err = write_tfjs(&emit(&graph, &TfjsOptions::default()), &blocker).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Io | ErrorKind::FileNotFound), "{err:?}");
    assert_eq!(files_in(scratch.path()), BTreeSet::from(["m".to_string()]));
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn a_write_that_fails_midway_leaves_the_old_model_untouched() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("m");
    let values = vec![1.0f32; 100];
    let graph = graph_of(vec![const_node("w", &Tensor::from_f32(vec![100], &values))]);
    write_tfjs(&emit(&graph, &TfjsOptions { shard_size: 100, ..Default::default() }), &dir).unwrap();
    let before = snapshot(&dir);

    // The second shard's name is too long for any file system: the write fails after the first shard.
    let mut broken = emit(&graph, &TfjsOptions { shard_size: 300, ..Default::default() });
    assert_eq!(broken.shards.len(), 2);
    broken.shards[1].0 = format!("{}.bin", "x".repeat(300));
    let err = write_tfjs(&broken, &dir).unwrap_err();
    assert!(matches!(err.kind, ErrorKind::Io | ErrorKind::FileNotFound), "{err:?}");
    assert_eq!(snapshot(&dir), before, "not one file of the old model changed");
    assert_eq!(files_in(scratch.path()), BTreeSet::from(["m".to_string()]), "no temporary left");
}

// ---- (f) op check ----------------------------------------------------------------

#[test]
fn op_check_flags_ops_tfjs_cannot_run() {
    let graph = graph_of(vec![
        node("x", "Placeholder", &[]),
        node("bn", "BatchNormWithGlobalNormalization", &["x"]),
        node("check", "Assert", &["x"]),
        node("y", "Relu", &["bn"]),
    ]);
    let check = check_ops(&graph);
    let unsupported: Vec<String> = check.unsupported.iter().map(ToString::to_string).collect();
    assert_eq!(unsupported, ["bn (BatchNormWithGlobalNormalization)", "check (Assert)"]);
    assert!(!check.needs_execute_async);

    let err = require_supported(&check, false).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnsupportedOp);
    assert_eq!(err.code(), "UNSUPPORTED_OP");
    for name in ["\"bn\"", "BatchNormWithGlobalNormalization", "\"check\"", "Assert"] {
        assert!(err.message.contains(name), "{}", err.message);
    }
    let warnings = require_supported(&check, true).unwrap();
    assert_eq!(warnings.len(), 2);
    assert!(require_supported(&check_ops(&graph_of(vec![node("x", "Placeholder", &[])])), false).unwrap().is_empty());
}

#[test]
fn the_detector_needs_execute_async_and_the_convnet_does_not() {
    let detector = check_ops(&frozen_fixture("detector").graph);
    assert!(detector.unsupported.is_empty(), "{:?}", detector.unsupported);
    assert!(detector.needs_execute_async);
    assert_eq!(detector.dynamic_ops, ["NonMaxSuppressionV3"]);
    let convnet = check_ops(&frozen_fixture("convnet").graph);
    assert!(convnet.unsupported.is_empty() && !convnet.needs_execute_async);
}

#[test]
fn the_signature_says_what_tfjs_feeds_a_float64_input() {
    let mut x = node("x", "Placeholder", &[]);
    x.attr.insert("dtype".into(), type_attr(DataType::DtDouble));
    let mut y = node("y", "Neg", &["x"]);
    y.attr.insert("T".into(), type_attr(DataType::DtDouble));
    let graph = graph_of(vec![x, y]);
    let signature = signature_of(&graph, &["x".into()], &["y".into()]);
    let json = model_json(&to_tfjs(&graph, None, &signature, &TfjsOptions::default()).unwrap());
    assert_eq!(json["signature"]["inputs"]["x"]["dtype"], "DT_FLOAT");
    assert_eq!(json["signature"]["outputs"]["y"]["dtype"], "DT_FLOAT");
}

#[test]
fn an_unsupported_decoder_names_where_to_cut() {
    let graph = graph_of(vec![
        node("contents", "Placeholder", &[]),
        node("DecodeJpeg", "DecodeJpeg", &["contents"]),
        node("convert_image/Cast", "Cast", &["DecodeJpeg"]),
        node("y", "Relu", &["convert_image/Cast"]),
    ]);
    let check = check_ops(&graph);
    assert!(check.unsupported.iter().any(|u| u.op == "DecodeJpeg"));
    assert_eq!(tfmodel_core::opcheck::cut_points(&graph, &check), ["convert_image/Cast"]);
}
