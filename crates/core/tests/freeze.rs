//! Freezing hand-built graphs: pruning, inferred outputs, the save sub-graph
//! and ref-variable rewrites. The fixtures' end-to-end freezing is checked
//! against TensorFlow by the other test files and the JS suite.

use std::collections::BTreeMap;
use std::time::Duration;

use tfmodel_core::checkpoint::Checkpoint;
use tfmodel_core::freeze::{freeze, infer_outputs, FreezeOptions};
use tfmodel_core::graph::type_attr;
use tfmodel_core::proto::{tensor_info, DataType, GraphDef, MetaGraphDef, NodeDef, SignatureDef, TensorInfo};
use tfmodel_core::ErrorKind;

mod common;
use common::{find, fixtures_dir, graph_of, node};

fn outputs(names: &[&str]) -> FreezeOptions {
    FreezeOptions { output_node_names: names.iter().map(|s| s.to_string()).collect(), ..Default::default() }
}

fn typed(mut node: NodeDef, name: &str, dtype: DataType) -> NodeDef {
    node.attr.insert(name.into(), type_attr(dtype));
    node
}

/// Runs `work` on another thread that must finish within ten seconds.
fn within_time<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(work());
    });
    receive.recv_timeout(Duration::from_secs(10)).expect("finishes instead of looping")
}

// ---- pruning ---------------------------------------------------------------------------

#[test]
fn a_data_input_naming_no_node_is_an_error() {
    let graph = graph_of(vec![
        node("x", "Placeholder", &[]),
        node("weights", "Const", &[]),
        node("y", "MatMul", &["x", "wieghts"]),
    ]);
    let err = freeze(graph, None, None, &outputs(&["y"])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::GraphInvalid);
    assert_eq!(err.subject.as_deref(), Some("y"));
    assert!(err.message.contains("\"wieghts\"") && err.message.contains("\"y\""), "{}", err.message);
    assert_eq!(err.suggestions, ["weights"]);

    let control = graph_of(vec![node("x", "Placeholder", &[]), node("y", "Identity", &["x", "^gone"])]);
    let err = freeze(control, None, None, &outputs(&["y"])).unwrap_err();
    assert_eq!((err.kind, err.subject.as_deref()), (ErrorKind::GraphInvalid, Some("y")));
}

#[test]
fn only_control_inputs_into_state_updates_are_dropped() {
    let graph = graph_of(vec![
        node("x", "Placeholder", &[]),
        node("moving_mean", "VariableV2", &[]),
        node("update", "AssignSub", &["moving_mean", "x"]),
        node("check", "NoOp", &[]),
        node("y", "Identity", &["x", "^update", "^check"]),
    ]);
    let frozen = freeze(graph, None, None, &outputs(&["y"])).unwrap();
    assert_eq!(find(&frozen.graph, "y").input, ["x", "^check"]);
    assert!(frozen.graph.node.iter().all(|n| n.name != "update" && n.name != "moving_mean"));
}

// ---- inferred outputs ------------------------------------------------------------------

fn meta_with_outputs(outputs: &[(&str, &str)]) -> MetaGraphDef {
    let info =
        |name: &str| TensorInfo { encoding: Some(tensor_info::Encoding::Name(name.to_string())), ..Default::default() };
    let signature = SignatureDef {
        outputs: outputs.iter().map(|(key, name)| (key.to_string(), info(name))).collect(),
        ..Default::default()
    };
    MetaGraphDef { signature_def: BTreeMap::from([("serving_default".to_string(), signature)]), ..Default::default() }
}

#[test]
fn signature_outputs_are_deduplicated_in_order() {
    let graph = graph_of(vec![node("x", "Placeholder", &[]), node("y", "Relu", &["x"]), node("z", "Relu", &["x"])]);
    let meta = meta_with_outputs(&[("a", "y:0"), ("b", "z:0"), ("c", "y")]);
    assert_eq!(infer_outputs(&graph, Some(&meta)).unwrap().names(), ["y", "z"]);
}

#[test]
fn a_signature_naming_a_later_output_is_refused() {
    let graph = graph_of(vec![node("x", "Placeholder", &[]), node("y", "Unique", &["x"])]);
    let err = infer_outputs(&graph, Some(&meta_with_outputs(&[("indices", "y:1")]))).unwrap_err();
    assert_eq!((err.kind, err.subject.as_deref()), (ErrorKind::InvalidArgument, Some("y")));
    assert!(err.message.contains("output 1 of node \"y\""), "{}", err.message);
    assert!(err.message.contains("output_node_names"), "{}", err.message);
}

#[test]
fn sinks_are_outputs_unless_tensorflow_made_them_for_training() {
    let graph = graph_of(vec![
        node("x", "Placeholder", &[]),
        node("indices", "Placeholder", &[]),
        node("v", "VariableV2", &[]),
        node("scattered", "ScatterNd", &["indices", "x", "x"]),
        node("scatter_update", "ScatterUpdate", &["v", "indices", "x"]),
        node("scatter_nd_update", "ScatterNdUpdate", &["v", "indices", "x"]),
        node("initial_state", "Relu", &["x"]),
        node("init_op", "Relu", &["x"]),
        node("init_1", "Identity", &["x"]),
        node("init_all_tables", "Identity", &["x"]),
        node("init/step", "Identity", &["x"]),
    ]);
    assert_eq!(infer_outputs(&graph, None).unwrap().names(), ["scattered", "initial_state", "init_op"]);
}

// ---- the save sub-graph ------------------------------------------------------------------

#[test]
fn an_identity_cycle_in_the_save_graph_terminates() {
    let graph = graph_of(vec![
        node("x", "Placeholder", &[]),
        typed(node("v", "VariableV2", &[]), "dtype", DataType::DtFloat),
        node("loop_a", "Identity", &["loop_b"]),
        node("loop_b", "Identity", &["loop_a"]),
        node("save/Assign", "Assign", &["v", "loop_a"]),
        node("y", "Add", &["x", "v"]),
    ]);
    let result = within_time(move || freeze(graph, None, None, &outputs(&["y"])));
    assert_eq!(result.unwrap_err().kind, ErrorKind::InvalidArgument, "no checkpoint for v, but no hang");
}

// ---- ref variables ---------------------------------------------------------------------------

#[test]
fn ref_rewrites_follow_the_ref_through_enter_and_switch() {
    let checkpoint = Checkpoint::open(fixtures_dir().join("control_flow_refswitch/model.ckpt")).unwrap();
    let graph: GraphDef = graph_of(vec![
        typed(node("pred", "Placeholder", &[]), "dtype", DataType::DtBool),
        typed(node("branch/v", "VariableV2", &[]), "dtype", DataType::DtFloat),
        typed(node("loop/Enter", "RefEnter", &["branch/v"]), "T", DataType::DtFloat),
        typed(node("loop/Switch", "RefSwitch", &["loop/Enter", "pred"]), "T", DataType::DtFloat),
        typed(node("loop/Identity", "RefIdentity", &["loop/Switch:1"]), "T", DataType::DtFloat),
        typed(node("loop/Merge", "RefMerge", &["loop/Switch", "loop/Identity"]), "T", DataType::DtFloat),
        typed(node("y", "Identity", &["loop/Merge"]), "T", DataType::DtFloat),
    ]);
    let frozen = freeze(graph, None, Some(&checkpoint), &outputs(&["y"])).unwrap();
    let ops: Vec<(&str, &str)> = frozen.graph.node.iter().map(|n| (n.name.as_str(), n.op.as_str())).collect();
    assert_eq!(
        ops,
        [
            ("pred", "Placeholder"),
            ("branch/v", "Const"),
            ("loop/Enter", "Enter"),
            ("loop/Switch", "Switch"),
            ("loop/Identity", "Identity"),
            ("loop/Merge", "Merge"),
            ("y", "Identity"),
        ]
    );
}
