//! The stages put together (`pipeline`): what `convert` writes into an output
//! directory, and the request types the CLI and the binding call.

use std::collections::BTreeSet;
use std::path::Path;

use tfmodel_core::emit::tfjs::{ShardNames, TensorSpec};
use tfmodel_core::opcheck::UnsupportedNode;
use tfmodel_core::optimize::TrainingFlag;
use tfmodel_core::pipeline::{
    convert, convert_to_dir, ConvertOptions, ConvertRequest, FreezeRequest, ModelFiles, ModelFlags, OpCheckMode,
    OptimizeRequest, OutputFormat, QuantizeRequest,
};
use tfmodel_core::proto::DataType;
use tfmodel_core::quantize::{GraphMode, QuantizeMode, QuantizeOptions, SkippedTensor};
use tfmodel_core::training::ConstantValue;
use tfmodel_core::ErrorKind;

mod common;
use common::{fixture_files, fixtures_dir, manifest};

fn files_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

fn convnet_options(format: OutputFormat) -> ConvertOptions {
    let mut options = ConvertOptions { format, ..Default::default() };
    options.freeze.output_node_names = vec!["probs".to_string()];
    options
}

#[test]
fn convert_to_dir_replaces_an_earlier_model_and_keeps_other_files() {
    let files = fixture_files("convnet", &manifest()["fixtures"]["convnet"]);
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    for stale in ["group1-shard1of9.bin", "group1-shard9of9.bin", "model.pb"] {
        std::fs::write(dir.join(stale), "an earlier model").unwrap();
    }
    std::fs::write(dir.join("README.txt"), "mine").unwrap();

    // Shards are written as they are made: the same files a conversion in memory holds.
    let mut options = convnet_options(OutputFormat::Tfjs);
    options.tfjs.shard_size = 1000;
    let in_memory = convert(&files, &options).unwrap();
    assert!(in_memory.files.len() > 3, "several shards");
    let converted = convert_to_dir(&files, &options, &dir).unwrap();
    assert!(converted.files.is_empty(), "a model written into a directory is not held");
    let listed: Vec<(String, u64)> = in_memory.files.iter().map(|(n, b)| (n.clone(), b.len() as u64)).collect();
    let mut written = converted.written.clone();
    written.sort();
    let mut expected_written = listed.clone();
    expected_written.sort();
    assert_eq!(written, expected_written);
    let mut expected: BTreeSet<String> = listed.into_iter().map(|(n, _)| n).collect();
    expected.insert("README.txt".to_string());
    assert_eq!(files_in(&dir), expected, "no shard or .pb of the earlier model is left");
    for (name, bytes) in &in_memory.files {
        assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
    }

    let pb = convert(&files, &convnet_options(OutputFormat::Pb)).unwrap();
    let converted = convert_to_dir(&files, &convnet_options(OutputFormat::Pb), &dir).unwrap();
    assert_eq!(converted.written, [("model.pb".to_string(), pb.files[0].1.len() as u64)]);
    assert_eq!(files_in(&dir), BTreeSet::from(["model.pb".to_string(), "README.txt".to_string()]));
    assert_eq!(std::fs::read(dir.join("model.pb")).unwrap(), pb.files[0].1);
    assert_eq!(std::fs::read_to_string(dir.join("README.txt")).unwrap(), "mine");
    assert_eq!(files_in(scratch.path()), BTreeSet::from(["out".to_string()]), "no temporary left");
}

#[test]
fn a_failed_conversion_leaves_the_output_directory_alone() {
    let files = fixture_files("convnet", &manifest()["fixtures"]["convnet"]);
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("model.json"), "{}").unwrap();
    let mut options = convnet_options(OutputFormat::Tfjs);
    options.freeze.output_node_names = vec!["no_such_node".to_string()];
    assert!(convert_to_dir(&files, &options, &dir).is_err());
    assert_eq!(files_in(&dir), BTreeSet::from(["model.json".to_string()]));
    assert_eq!(std::fs::read_to_string(dir.join("model.json")).unwrap(), "{}");
}

// ---- requests --------------------------------------------------------------------------

#[test]
fn explicit_paths_win_over_what_the_source_resolves_to() {
    let dir = fixtures_dir().join("convnet");
    let source = Some(dir.join("model.ckpt"));
    let files = ModelFlags { source: source.clone(), ..Default::default() }.files().unwrap();
    assert_eq!(files.input_checkpoint.as_deref(), Some(dir.join("model.ckpt").as_path()));
    assert_eq!(files.input_meta_graph.as_deref(), Some(dir.join("model.ckpt.meta").as_path()));
    let other = Path::new("/elsewhere/other.meta");
    let flags =
        ModelFlags { source, input_binary: Some(true), input_meta_graph: Some(other.into()), ..Default::default() };
    let files = flags.files().unwrap();
    assert_eq!((files.input_meta_graph.as_deref(), files.input_binary), (Some(other), Some(true)));
    let graph = Path::new("g.pb");
    let files = ModelFlags { input_graph: Some(graph.into()), ..Default::default() }.files().unwrap();
    assert_eq!((files.input_graph.as_deref(), files.input_checkpoint), (Some(graph), None));
}

/// The documented defaults (README, design.md, TensorFlow's tools), written
/// out: comparing with `Default::default()` would pass whatever the defaults became.
#[test]
fn unset_request_fields_take_the_tools_defaults() {
    let freeze = FreezeRequest::default().options();
    assert!(freeze.clear_devices, "freeze_graph --clear_devices defaults to true");
    assert!(freeze.output_node_names.is_empty() && freeze.variable_names_whitelist.is_none());
    assert!(!freeze.use_ema);

    let convert = ConvertRequest::default().options().unwrap();
    assert_eq!(convert.quantize, None, "float32 weights unless asked");
    assert_eq!(convert.format, OutputFormat::Tfjs);
    assert_eq!(convert.op_check, OpCheckMode::Error);
    assert_eq!(convert.tfjs.shard_size, 4_194_304, "4 MiB shards");
    assert_eq!(convert.tfjs.shard_names, ShardNames::Numbered, "group1-shard<i>of<n>.bin");
    assert!(!convert.tfjs.allow_lossy);

    let convert = ConvertRequest { quantize: Some("weights".into()), ..Default::default() }.options().unwrap();
    assert_eq!(convert.quantize, Some(QuantizeOptions { mode: QuantizeMode::Uint8, minimum_size: 1024 }));
    // TensorFlow's quantized kernels are a graph for TensorFlow, not weights for TF.js.
    let eightbit = ConvertRequest { quantize: Some("eightbit".into()), ..Default::default() }.options().unwrap_err();
    assert!(eightbit.message.contains("tfmodel quantize --format pb"), "{}", eightbit.message);
    let convert = ConvertRequest { quantize_minimum_size: Some(5), ..Default::default() }.options().unwrap();
    assert_eq!(convert.quantize, None, "a minimum size alone quantizes nothing");
    let bad = ConvertRequest { format: Some("onnx".into()), ..Default::default() }.options().unwrap_err();
    assert_eq!(bad.kind, ErrorKind::InvalidArgument);

    let quantize = QuantizeRequest { mode: "int8".into(), ..Default::default() }.options().unwrap();
    assert_eq!(quantize, (GraphMode::Weights(QuantizeMode::Int8), 1024));
    for (name, mode) in [
        ("eightbit", GraphMode::Eightbit),
        ("weights", GraphMode::Weights(QuantizeMode::Uint8)),
        ("weights_rounded", GraphMode::WeightsRounded),
    ] {
        let request = QuantizeRequest { mode: name.into(), ..Default::default() };
        assert_eq!(request.options().unwrap().0, mode, "{name}");
    }
    let unknown = QuantizeRequest { mode: "eightbits".into(), ..Default::default() }.options().unwrap_err();
    assert!(unknown.message.contains("eightbit, weights, weights_rounded"), "{}", unknown.message);
    assert_eq!(unknown.suggestions.first().map(String::as_str), Some("eightbit"));

    let optimize = OptimizeRequest {
        placeholder_to_const_names: Some(vec!["is_training=false".into(), "dropout = TRUE".into()]),
        placeholder_type_enum: Some(vec![1]),
        ..Default::default()
    };
    let options = optimize.options().unwrap();
    let want =
        [("is_training".to_string(), ConstantValue::Bool(false)), ("dropout".to_string(), ConstantValue::Bool(true))];
    assert_eq!(options.training_flags, want);
    assert_eq!(options.placeholder_type_enum, [DataType::DtFloat]);
    let bad = OptimizeRequest { placeholder_to_const_names: Some(vec!["x=maybe".into()]), ..Default::default() };
    assert_eq!(bad.options().unwrap_err().kind, ErrorKind::InvalidArgument);
}

#[test]
fn a_freeze_request_writes_binary_unless_asked_for_text() {
    let scratch = tempfile::tempdir().unwrap();
    let request = FreezeRequest {
        model: ModelFlags { source: Some(fixtures_dir().join("convnet/model.ckpt")), ..Default::default() },
        output_node_names: Some(vec!["probs".into()]),
        output_graph: Some(scratch.path().join("frozen.pb")),
        ..Default::default()
    };
    let outcome = request.run().unwrap();
    let written = std::fs::read(scratch.path().join("frozen.pb")).unwrap();
    assert_eq!((outcome.bytes, outcome.graph.is_none()), (written.len() as u64, true));
    // The weights went straight from the checkpoint to the file.
    assert!(!outcome.frozen.deferred.is_empty());
    let text = scratch.path().join("frozen.pbtxt");
    FreezeRequest { output_graph: Some(text.clone()), output_as_text: Some(true), ..request.clone() }.run().unwrap();
    assert!(std::fs::read_to_string(&text).unwrap().starts_with("node"));
    let in_memory = FreezeRequest { output_graph: None, ..request }.run().unwrap();
    assert_eq!(in_memory.graph.as_deref(), Some(written.as_slice()));
}

#[test]
fn training_flags_parse_as_name_equals_bool_or_number() {
    let flag: TrainingFlag = "is_training=False".parse().unwrap();
    assert_eq!(flag, TrainingFlag { name: "is_training".into(), value: ConstantValue::Bool(false) });
    assert_eq!("keep_prob = 1.0".parse::<TrainingFlag>().unwrap().value, ConstantValue::Float(1.0));
    assert_eq!("phase=1".parse::<TrainingFlag>().unwrap().value, ConstantValue::Float(1.0));
    for bad in ["is_training", "x=yes", "x=nan", "x="] {
        assert_eq!(bad.parse::<TrainingFlag>().unwrap_err().kind, ErrorKind::InvalidArgument, "{bad}");
    }
}

#[test]
fn the_core_words_what_the_binding_shows() {
    let spec = |dtype| TensorSpec { name: "y".into(), dtype, shape: None };
    assert_eq!(spec(DataType::DtInvalid).tfjs_dtype(), "unknown", "an unknown dtype is never typed float32");
    assert_eq!(spec(DataType::DtResource).tfjs_dtype(), "unknown");
    assert_eq!(spec(DataType::DtInt64).tfjs_dtype(), "int32");
    assert_eq!(
        UnsupportedNode { node: "check".into(), op: "Assert".into(), function: None }.to_string(),
        "check (Assert)"
    );
    let skipped = SkippedTensor { name: "w".into(), reason: "holds NaN".into() };
    assert_eq!(skipped.to_string(), "w: holds NaN");
}

#[test]
fn identify_says_what_an_import_path_names_without_reading_it() {
    use tfmodel_core::source::{identify, SourceKind};
    let fixtures = fixtures_dir();
    let dir = fixtures.join("train_dir");
    assert_eq!(identify(&dir), Some((SourceKind::Directory, dir.clone())));
    let prefix = dir.join("model.ckpt-100");
    for file in ["model.ckpt-100", "model.ckpt-100.index", "model.ckpt-100.meta", "model.ckpt-100.data-00000-of-00001"]
    {
        assert_eq!(identify(&dir.join(file)), Some((SourceKind::Checkpoint, prefix.clone())), "{file}");
    }
    let graph = fixtures.join("graph_pair/graph.pbtxt");
    assert_eq!(identify(&graph), Some((SourceKind::Graph, graph.clone())));
    for nothing in ["detector/images", "graph_pair/missing.pb", "train_dir/model.ckpt-7", "train_dir/io.json"] {
        assert_eq!(identify(&fixtures.join(nothing)), None, "{nothing}");
    }
    // A training directory without a state file is one too: its newest step is what converts.
    let copy = tempfile::tempdir().unwrap();
    for step in ["100", "1000", "200"] {
        for suffix in [".index", ".data-00000-of-00001", ".meta"] {
            let name = format!("model.ckpt-{step}{suffix}");
            std::fs::copy(dir.join(&name), copy.path().join(&name)).unwrap();
        }
    }
    assert_eq!(identify(copy.path()).map(|(kind, _)| kind), Some(SourceKind::Directory));
    let found = tfmodel_core::source::resolve(copy.path(), None).unwrap();
    assert_eq!(found.checkpoint, Some(copy.path().join("model.ckpt-1000")));
}

#[test]
fn content_hashed_shard_names_are_what_model_json_names() {
    let mut options = convnet_options(OutputFormat::Tfjs);
    options.tfjs.shard_size = 4096;
    options.tfjs.shard_names = ShardNames::ContentHashed { stem: "convnet-0123abcd".into() };
    let files = ModelFlags { source: Some(fixtures_dir().join("convnet/model.ckpt")), ..Default::default() };
    let converted = convert(&files.files().unwrap(), &options).unwrap();
    let (json, shards) = converted.files.split_first().unwrap();
    assert_eq!(json.0, "model.json");
    assert!(shards.len() > 1);
    let names: Vec<&str> = shards.iter().map(|(name, _)| name.as_str()).collect();
    for name in &names {
        let hash = name.strip_prefix("convnet-0123abcd-").and_then(|r| r.strip_suffix(".bin")).unwrap();
        assert!(hash.len() == 10 && hash.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    }
    let manifest: serde_json::Value = serde_json::from_slice(&json.1).unwrap();
    assert_eq!(manifest["weightsManifest"][0]["paths"], serde_json::json!(names));
}

#[test]
fn a_conversion_lists_its_own_rewrites_after_the_optimizers() {
    let dir = fixtures_dir().join("training/vocab_table/train");
    let files = ModelFiles {
        input_meta_graph: Some(dir.join("model.ckpt-60.meta")),
        input_checkpoint: Some(dir.join("model.ckpt-60")),
        ..Default::default()
    };
    let mut options = ConvertOptions { format: OutputFormat::Tfjs, ..Default::default() };
    options.freeze.output_node_names = vec!["probs".to_string()];
    let converted = convert(&files, &options).unwrap();
    // The optimizer's lines, then the table initializers kept, then the TF.js rewrites.
    assert_eq!(
        converted.applied,
        [
            "removed 4 Identity nodes (embeddings/read, embedding_lookup/Identity, dense/weights/read, dense/biases/read)",
            "kept 1 lookup-table initializer (key_value_init/LookupTableImportV2): TF.js runs it once at load",
            "reshaped 1 table lookup to the keys' shape (TF.js returns them flat) (hash_table_Lookup/LookupTableFindV2)",
            "fused 1 chain into _FusedMatMul (add)",
            "stored 1 constant once, as the equal constant before it (Const_1)",
        ]
    );
}

#[test]
fn a_checkpoint_without_its_meta_is_a_missing_file_naming_the_meta() {
    // A training loop's Saver writes the .meta after the variables: until
    // then the checkpoint's graph is a file not found (which `vite dev` waits
    // for), not a bad request.
    let source = fixtures_dir().join("convnet");
    let scratch = tempfile::tempdir().unwrap();
    for name in files_in(&source).iter().filter(|name| name.starts_with("model.ckpt.") && !name.ends_with(".meta")) {
        std::fs::copy(source.join(name), scratch.path().join(name)).unwrap();
    }
    let files = ModelFiles { input_checkpoint: Some(scratch.path().join("model.ckpt")), ..Default::default() };
    let err = convert(&files, &convnet_options(OutputFormat::Tfjs)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::FileNotFound, "{err}");
    assert_eq!(err.file.as_deref(), Some(scratch.path().join("model.ckpt.meta").as_path()));

    let no_graph = convert(&ModelFiles::default(), &convnet_options(OutputFormat::Tfjs)).unwrap_err();
    assert_eq!(no_graph.kind, ErrorKind::InvalidArgument, "{no_graph}");
}
