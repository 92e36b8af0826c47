//! SavedModels (`fixtures/saved_model/`, written by TensorFlow through
//! `fixtures/saved_model/generate.py`): identified as sources, their
//! signatures listed, and frozen per signature with the signature's names.
//! That the frozen graphs compute TensorFlow's outputs is checked by running
//! them in TensorFlow (test/parity.py) and TF.js (test/savedmodel.test.ts).

mod common;

use std::path::{Path, PathBuf};

use common::{fixtures_dir, read_json};
use tfmodel_core::emit::tfjs::Signature;
use tfmodel_core::pipeline::{self, ConvertOptions, ModelFlags, OutputFormat};
use tfmodel_core::proto::{DataType, GraphDef};
use tfmodel_core::source::{self, SourceKind};
use tfmodel_core::{savedmodel, ErrorKind};

fn saved_model(name: &str) -> PathBuf {
    fixtures_dir().join("saved_model").join(name)
}

fn convert(dir: &Path, signature: Option<&str>, format: OutputFormat) -> tfmodel_core::Result<pipeline::Converted> {
    let flags = ModelFlags {
        source: Some(dir.to_path_buf()),
        signature_name: signature.map(str::to_string),
        ..Default::default()
    };
    let options = ConvertOptions { format, ..Default::default() };
    pipeline::convert(&flags.files()?, &options)
}

fn names(specs: &[tfmodel_core::graph::TensorSpec]) -> Vec<&str> {
    specs.iter().map(|s| s.name.as_str()).collect()
}

/// The output keys TensorFlow's loaded signature returned, from the fixture's io file.
fn tf_output_keys(name: &str, io: &str) -> Vec<String> {
    let io = read_json(&saved_model(name).join(io));
    let mut keys: Vec<String> = io["outputs"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[test]
fn a_saved_model_directory_is_a_source() {
    for name in ["module", "simple_save", "keras_export"] {
        let dir = saved_model(name);
        assert_eq!(source::identify(&dir), Some((SourceKind::SavedModel, dir.clone())), "{name}");
        let files = source::resolve(&dir, None).unwrap().files().unwrap();
        assert!(files.iter().any(|f| f.ends_with("saved_model.pb")), "{name}: {files:?}");
        assert!(files.iter().any(|f| f.ends_with("variables/variables.index")), "{name}: {files:?}");
        assert!(files.iter().any(|f| f.ends_with("variables/variables.data-00000-of-00001")), "{name}: {files:?}");
    }
}

#[test]
fn signatures_list_their_keys_dtypes_and_shapes() {
    let model = savedmodel::read(&saved_model("module"), &[]).unwrap();
    let signatures = model.signatures();
    let listed: Vec<&str> = signatures.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(listed, ["embed", "serving_default"]);
    let serving = &signatures[1];
    assert_eq!(serving.inputs.len(), 1);
    assert_eq!((serving.inputs[0].key.as_str(), serving.inputs[0].dtype), ("image", DataType::DtFloat));
    assert_eq!(serving.inputs[0].shape, Some(vec![-1, 8, 8, 1]));
    let outputs: Vec<(&str, DataType)> = serving.outputs.iter().map(|o| (o.key.as_str(), o.dtype)).collect();
    assert_eq!(outputs, [("class_id", DataType::DtInt32), ("probs", DataType::DtFloat)]);
    let variables: Vec<String> = model.variables().into_iter().map(|v| v.checkpoint_key).collect();
    assert!(variables.contains(&"conv_w/.ATTRIBUTES/VARIABLE_VALUE".to_string()), "{variables:?}");
}

#[test]
fn each_signature_converts_under_its_own_names() {
    let cases = [
        ("module", None, "io.json", &["image"][..]),
        ("module", Some("embed"), "io_embed.json", &["image"][..]),
        ("simple_save", None, "io.json", &["features"][..]),
        ("keras_export", None, "io.json", &["pixels"][..]),
    ];
    for (name, signature, io, inputs) in cases {
        for format in [OutputFormat::Tfjs, OutputFormat::Pb] {
            let converted = convert(&saved_model(name), signature, format)
                .unwrap_or_else(|e| panic!("{name} {signature:?} {format:?}: {e}"));
            let Signature { inputs: got_inputs, outputs } = &converted.signature;
            let mut got: Vec<&str> = names(outputs);
            got.sort();
            assert_eq!(got, tf_output_keys(name, io), "{name} {signature:?}");
            assert_eq!(names(got_inputs), inputs, "{name} {signature:?}");
            assert!(converted.variables > 0, "{name}");
            let ops = graph_ops(&converted);
            for op in ["PartitionedCall", "StatefulPartitionedCall", "ReadVariableOp", "VarHandleOp", "NoOp"] {
                assert!(!ops.iter().any(|o| o == op), "{name} {format:?} keeps {op}: {ops:?}");
            }
        }
    }
}

/// Op types of the converted graph (`model.pb`, or `model.json`'s topology).
fn graph_ops(converted: &pipeline::Converted) -> Vec<String> {
    let (name, bytes) = &converted.files[0];
    if name == "model.pb" {
        let graph = <GraphDef as prost::Message>::decode(bytes.as_slice()).unwrap();
        return graph.node.into_iter().map(|n| n.op).collect();
    }
    let json: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    json["modelTopology"]["node"].as_array().unwrap().iter().map(|n| n["op"].as_str().unwrap().to_string()).collect()
}

#[test]
fn a_wrong_signature_name_lists_the_ones_there() {
    let error = convert(&saved_model("module"), Some("serving_defualt"), OutputFormat::Tfjs).err().unwrap();
    assert_eq!(error.kind, ErrorKind::UnknownSignature);
    assert_eq!(error.code(), "UNKNOWN_SIGNATURE");
    assert!(error.message.contains("\"embed\"") && error.message.contains("\"serving_default\""), "{}", error.message);
    assert!(!error.message.contains("__saved_model_init_op"), "{}", error.message);
    assert_eq!(error.suggestions, ["serving_default"]);
    assert!(error.file.as_deref().is_some_and(|f| f.ends_with("saved_model.pb")), "{:?}", error.file);
}

#[test]
fn a_signature_name_for_a_checkpoint_is_refused() {
    let flags = ModelFlags {
        source: Some(fixtures_dir().join("convnet/model.ckpt")),
        signature_name: Some("serving_default".into()),
        ..Default::default()
    };
    assert_eq!(flags.files().err().unwrap().kind, ErrorKind::InvalidArgument);
}

#[test]
fn a_missing_variables_shard_names_the_file() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("module");
    copy_dir(&saved_model("module"), &dir);
    let shard = dir.join("variables/variables.data-00000-of-00001");
    std::fs::remove_file(&shard).unwrap();
    let error = convert(&dir, None, OutputFormat::Tfjs).err().unwrap();
    assert_eq!(error.code(), "SHARD_MISSING");
    assert_eq!(error.file.as_deref(), Some(shard.as_path()));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_paired_checkpoint_is_matched_through_both_object_graphs() {
    // Both Dense objects name their variables "w" and "b"; each variable must
    // get the entry of its own object: the SavedModel's own bundle keys it
    // `first/w/...`, the training checkpoint (the model under "model")
    // `model/first/w/...`.
    let dir = saved_model("checkpointed/saved_model");
    let newest = saved_model("checkpointed/train/ckpt-3");
    let own = savedmodel::prepare(&dir, &[], None, None).unwrap().checkpoint_keys;
    let checkpoint = tfmodel_core::checkpoint::Checkpoint::open(&newest).unwrap();
    let paired = savedmodel::prepare(&dir, &[], None, Some(checkpoint)).unwrap().checkpoint_keys;
    assert_eq!(own.len(), 4, "{own:?}");
    assert_eq!(own.keys().collect::<Vec<_>>(), paired.keys().collect::<Vec<_>>());
    for (node, key) in &own {
        assert_eq!(paired[node], format!("model/{key}"), "{node}");
    }
    let mut keys: Vec<&str> = paired.values().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "model/first/b/.ATTRIBUTES/VARIABLE_VALUE",
            "model/first/w/.ATTRIBUTES/VARIABLE_VALUE",
            "model/second/b/.ATTRIBUTES/VARIABLE_VALUE",
            "model/second/w/.ATTRIBUTES/VARIABLE_VALUE"
        ]
    );
}

#[test]
fn a_checkpoint_directory_with_a_saved_model_as_its_graph() {
    let train = saved_model("checkpointed/train");
    let found = source::resolve(&train, Some(&saved_model("checkpointed/saved_model"))).unwrap();
    assert_eq!(found.checkpoint, Some(train.join("ckpt-3")));
    assert_eq!(found.saved_model, Some(saved_model("checkpointed/saved_model")));
    // The SavedModel's own values are not read, so not watched.
    let files = found.files().unwrap();
    assert!(files.iter().all(|f| !f.to_string_lossy().contains("variables")), "{files:?}");
    assert!(files.contains(&train.join("checkpoint")));
}

/// A copy of fixture `name` whose `saved_model.pb` `edit` changed, in a scratch directory.
fn edited(name: &str, edit: impl FnOnce(&mut tfmodel_core::proto::SavedModel)) -> (tempfile::TempDir, PathBuf) {
    use prost::Message;
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join(name);
    copy_dir(&saved_model(name), &dir);
    let path = dir.join("saved_model.pb");
    let mut model = tfmodel_core::proto::SavedModel::decode(std::fs::read(&path).unwrap().as_slice()).unwrap();
    edit(&mut model);
    std::fs::write(&path, model.encode_to_vec()).unwrap();
    (scratch, dir)
}

/// The library function named `prefix…` in the model's meta graph.
fn function<'a>(
    model: &'a mut tfmodel_core::proto::SavedModel,
    prefix: &str,
) -> &'a mut tfmodel_core::proto::FunctionDef {
    let library = model.meta_graphs[0].graph_def.as_mut().unwrap().library.as_mut().unwrap();
    library.function.iter_mut().find(|f| f.signature.as_ref().unwrap().name.starts_with(prefix)).unwrap()
}

/// Converting `dir` into an output directory fails, and leaves that directory empty.
fn fails_writing_nothing(dir: &Path, format: OutputFormat) -> tfmodel_core::Error {
    let flags = ModelFlags { source: Some(dir.to_path_buf()), ..Default::default() };
    let options = ConvertOptions { format, ..Default::default() };
    let out = tempfile::tempdir().unwrap();
    let Err(error) = pipeline::convert_to_dir(&flags.files().unwrap(), &options, out.path()) else {
        panic!("{format:?}: converted")
    };
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "{format:?}: wrote {left:?}");
    error
}

#[test]
fn a_signature_whose_function_is_not_in_the_library_names_it() {
    let (_scratch, dir) = edited("module", |model| {
        let library = model.meta_graphs[0].graph_def.as_mut().unwrap().library.as_mut().unwrap();
        library.function.retain(|f| !f.signature.as_ref().unwrap().name.starts_with("__inference_serve_"));
    });
    for format in [OutputFormat::Tfjs, OutputFormat::Pb] {
        let error = fails_writing_nothing(&dir, format);
        assert_eq!(error.code(), "GRAPH_INVALID", "{format:?}");
        assert!(error.message.contains("calls function \"__inference_serve_"), "{}", error.message);
        assert!(error.message.contains("which the graph's library does not hold"), "{}", error.message);
        assert_eq!(error.file.as_deref(), Some(dir.join("saved_model.pb").as_path()));
    }
}

#[test]
fn an_unsupported_op_inside_a_function_names_the_node_and_the_function() {
    let (_scratch, dir) = edited("module", |model| {
        let serve = function(model, "__inference_serve_");
        serve.node_def.iter_mut().find(|n| n.op == "Softmax").unwrap().op = "SparseSoftmaxV9".into();
    });
    // TF.js's graph names the softmax after the output it feeds through an Identity.
    for (format, node) in [
        (OutputFormat::Tfjs, "probs"),
        (OutputFormat::Tflite, "StatefulPartitionedCall_1/StatefulPartitionedCall/Softmax"),
    ] {
        let error = fails_writing_nothing(&dir, format);
        assert_eq!(error.code(), "UNSUPPORTED_OP", "{format:?}");
        assert_eq!(error.subject.as_deref(), Some(node), "{format:?}");
        assert!(error.message.contains("(SparseSoftmaxV9, in function \"__inference_serve_"), "{}", error.message);
        assert_eq!(error.file.as_deref(), Some(dir.join("saved_model.pb").as_path()), "{format:?}");
    }
}

#[test]
fn a_variable_missing_from_the_checkpoint_names_it() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("module");
    copy_dir(&saved_model("module"), &dir);
    // Another model's values: its object graph has no `conv_w`.
    for file in ["variables.index", "variables.data-00000-of-00001"] {
        std::fs::copy(saved_model("checkpointed/saved_model/variables").join(file), dir.join("variables").join(file))
            .unwrap();
    }
    let error = fails_writing_nothing(&dir, OutputFormat::Tfjs);
    assert_eq!(error.code(), "VARIABLE_MISSING");
    assert_eq!(error.subject.as_deref(), Some("conv_w"));
    assert!(error.message.contains("has no value in the checkpoint's object graph"), "{}", error.message);
    assert_eq!(error.file.as_deref(), Some(dir.join("variables/variables.index").as_path()));
}

/// Converts fixture `tagged` reading the meta graph of `tags`: its output names.
fn tagged_outputs(tags: &[&str]) -> tfmodel_core::Result<Vec<String>> {
    let flags = ModelFlags {
        source: Some(saved_model("tagged")),
        saved_model_tags: tags.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    };
    let converted = pipeline::convert(&flags.files()?, &ConvertOptions::default())?;
    Ok(names(&converted.signature.outputs).into_iter().map(str::to_string).collect())
}

#[test]
fn a_tag_set_picks_the_meta_graph_and_the_default_is_the_one_tagged_serve() {
    // TensorFlow's outputs for each meta graph are in io.json and io_gpu.json.
    assert_eq!(tagged_outputs(&[]).unwrap(), tf_output_keys("tagged", "io.json"));
    assert_eq!(tagged_outputs(&["serve"]).unwrap(), ["y"]);
    assert_eq!(tagged_outputs(&["gpu", "serve"]).unwrap(), tf_output_keys("tagged", "io_gpu.json"));
    let error = tagged_outputs(&["train"]).unwrap_err();
    assert_eq!(error.code(), "UNKNOWN_SIGNATURE");
    assert!(
        error.message.contains("no meta graph tagged \"train\"; its tag sets are \"serve\", \"serve,gpu\""),
        "{}",
        error.message
    );
    assert_eq!(error.suggestions, ["serve", "serve,gpu"]);
    assert!(error.file.as_deref().is_some_and(|f| f.ends_with("tagged/saved_model.pb")), "{:?}", error.file);
    let listed = savedmodel::read(&saved_model("tagged"), &[]).unwrap().tag_sets;
    assert_eq!(listed, [vec!["serve".to_string()], vec!["serve".to_string(), "gpu".to_string()]]);
}

#[test]
fn tags_for_a_checkpoint_are_refused() {
    let flags = ModelFlags {
        source: Some(fixtures_dir().join("convnet/model.ckpt")),
        saved_model_tags: vec!["serve".into()],
        ..Default::default()
    };
    assert_eq!(flags.files().err().unwrap().kind, ErrorKind::InvalidArgument);
}
