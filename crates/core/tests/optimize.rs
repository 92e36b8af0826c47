//! The optimize stage, on graphs frozen from the real TensorFlow fixtures
//! (`fixtures/`, see `fixtures/generate.py`) and on small hand-built graphs,
//! one group per pass. Batch-norm folding is checked against a direct f64
//! evaluation of BN(conv(x)) by the tiny reference interpreter at the end.
//! (Numerical parity with TensorFlow running the optimized graphs is checked
//! by the Python tests.)

use std::collections::{HashMap, HashSet};

use tfmodel_core::graph::{attr_shape, attr_type, colocation_targets};
use tfmodel_core::names::node_of;
use tfmodel_core::optimize::{optimize, OptimizeOptions, OptimizedGraph, Rewrite};
use tfmodel_core::proto::{attr_value, tensor_shape_proto, AttrValue, DataType, GraphDef, NodeDef, TensorShapeProto};
use tfmodel_core::tensor::{Tensor, TensorData};
use tfmodel_core::training::ConstantValue;
use tfmodel_core::ErrorKind;

mod common;
use common::{const_node, find, freeze_fixture, graph_of, manifest, node, strings};

// ---- the fixtures -------------------------------------------------------------------

/// A fixture frozen by our freezer with the manifest's outputs.
struct Fixture {
    name: String,
    graph: GraphDef,
    outputs: Vec<String>,
    inputs: Vec<String>,
}

/// Every fixture with a graph and outputs.
fn fixtures() -> Vec<Fixture> {
    let manifest = manifest();
    let mut found = Vec::new();
    for (name, entry) in manifest["fixtures"].as_object().unwrap() {
        let outputs = strings(&entry["output_node_names"]);
        if outputs.is_empty() || name.starts_with("errors/") {
            continue;
        }
        let frozen = freeze_fixture(name, entry);
        found.push(Fixture {
            name: name.clone(),
            graph: frozen.graph,
            outputs,
            inputs: strings(&entry["input_names"]),
        });
    }
    assert!(found.len() >= 7, "expected the manifest to list the graph fixtures");
    found
}

fn fixture(name: &str) -> Fixture {
    fixtures().into_iter().find(|f| f.name == name).unwrap_or_else(|| panic!("no fixture {name}"))
}

fn optimize_outputs(graph: GraphDef, outputs: &[String]) -> OptimizedGraph {
    let options = OptimizeOptions { output_names: outputs.to_vec(), ..Default::default() };
    optimize(graph, &options).unwrap_or_else(|e| panic!("optimize: {e}"))
}

fn ops(graph: &GraphDef) -> HashSet<&str> {
    graph.node.iter().map(|n| n.op.as_str()).collect()
}

fn has(graph: &GraphDef, name: &str) -> bool {
    graph.node.iter().any(|n| n.name == name)
}

/// Well-formed: unique names, every input string and colocation names a node.
fn assert_valid(graph: &GraphDef, context: &str) {
    tfmodel_core::graph::check_graph(graph).unwrap_or_else(|e| panic!("{context}: {e}"));
    let names: HashSet<&str> = graph.node.iter().map(|n| n.name.as_str()).collect();
    for node in &graph.node {
        for input in &node.input {
            assert!(names.contains(node_of(input)), "{context}: {} reads missing {input}", node.name);
        }
        for target in colocation_targets(node) {
            assert!(names.contains(target), "{context}: {} colocated with missing {target}", node.name);
        }
    }
}

#[test]
fn optimizes_every_fixture_into_a_valid_graph_no_larger() {
    const STRIPPED: [&str; 4] = ["Identity", "NoOp", "CheckNumerics", "StopGradient"];
    for fixture in fixtures() {
        let name = &fixture.name;
        let before = fixture.graph.node.len();
        let result = optimize_outputs(fixture.graph, &fixture.outputs);
        let graph = &result.graph;
        assert_valid(graph, name);
        assert!(graph.node.len() <= before, "{name}: {before} nodes became {}", graph.node.len());
        assert_eq!(result.outputs, fixture.outputs, "{name}");
        assert_eq!(result.inputs, fixture.inputs, "{name}: inputs");
        for input in &result.inputs {
            assert_eq!(find(graph, input).op, "Placeholder", "{name}: input {input}");
        }
        // Left over: the outputs themselves, and in loops the pivots
        // (`Identity(Switch:1)`) and reads that wait for them.
        let loop_ops = ["Switch", "Enter"];
        for node in graph.node.iter().filter(|n| STRIPPED.contains(&n.op.as_str())) {
            let in_loop = node.input.iter().any(|i| {
                let producer = find(graph, node_of(i));
                loop_ops.contains(&producer.op.as_str()) || producer.name.starts_with("while/")
            });
            assert!(result.outputs.contains(&node.name) || in_loop, "{name}: {} ({}) left", node.name, node.op);
        }
        assert!(result.warnings.is_empty(), "{name}: {:?}", result.warnings);
    }
}

#[test]
fn folds_every_batch_norm_of_convnet_and_detector() {
    for name in ["convnet", "detector"] {
        let fixture = fixture(name);
        let norms = fixture.graph.node.iter().filter(|n| n.op.starts_with("FusedBatchNorm")).count();
        let result = optimize_outputs(fixture.graph, &fixture.outputs);
        let left: Vec<&str> = result
            .graph
            .node
            .iter()
            .filter(|n| n.op.starts_with("FusedBatchNorm") || n.op == "BatchNormWithGlobalNormalization")
            .map(|n| n.name.as_str())
            .collect();
        assert!(left.is_empty(), "{name}: batch norms left: {left:?}");
        let folded: Vec<&str> = result
            .applied
            .iter()
            .filter_map(|rewrite| match rewrite {
                Rewrite::FoldedBatchNorm { node, .. } => Some(node.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(folded.len(), norms, "{name}: {:?}", result.applied);
        assert!(
            !result.applied.iter().any(|r| matches!(r, Rewrite::BatchNormToMulAdd { .. })),
            "{name}: {:?}",
            result.applied
        );
        // Each batch norm's name now belongs to the BiasAdd that replaced it.
        for norm in folded {
            assert_eq!(find(&result.graph, norm).op, "BiasAdd", "{name}: {norm}");
        }
    }
}

#[test]
fn keeps_the_while_loop_of_the_control_flow_fixture() {
    for name in ["control_flow", "control_flow_refswitch"] {
        let fixture = fixture(name);
        let count = |graph: &GraphDef, op: &str| graph.node.iter().filter(|n| n.op == op).count();
        let result = optimize_outputs(fixture.graph.clone(), &fixture.outputs);
        for op in ["Enter", "Exit", "NextIteration", "LoopCond", "Merge", "Switch"] {
            assert_eq!(count(&result.graph, op), count(&fixture.graph, op), "{name}: {op} nodes");
        }
        // The cond's predicate (mean(x) > 0) is not constant: both branches stay.
        assert!(has(&result.graph, "cond/Merge") && has(&result.graph, "cond/mul") && has(&result.graph, "cond/sub"));
    }
}

#[test]
fn applies_requested_placeholder_dtypes_and_shapes_to_fixtures() {
    let detector = fixture("detector");
    let options = OptimizeOptions {
        output_names: detector.outputs.clone(),
        placeholder_type_enum: vec![DataType::DtFloat],
        ..Default::default()
    };
    let result = optimize(detector.graph, &options).unwrap();
    let image = find(&result.graph, "image_tensor");
    assert_eq!(attr_type(image, "dtype"), Some(DataType::DtFloat));
    assert_eq!(attr_shape(image, "shape"), Some(vec![1, 64, 64, 3]));
    let recast = Rewrite::RecastFrom { node: "Preprocessor/Cast".into(), dtype: "float32" };
    assert!(result.applied.contains(&recast), "{:?}", result.applied);
    assert!(!has(&result.graph, "Preprocessor/Cast"), "a float → float cast is a passthrough");

    let convnet = fixture("convnet");
    let options = OptimizeOptions {
        output_names: convnet.outputs.clone(),
        placeholder_shapes: vec![("input".to_string(), vec![1, 24, 24, 3])],
        ..Default::default()
    };
    let result = optimize(convnet.graph, &options).unwrap();
    assert_eq!(attr_shape(find(&result.graph, "input"), "shape"), Some(vec![1, 24, 24, 3]));
    let reshaped = result.applied.iter().find(|r| matches!(r, Rewrite::ReshapedInput { .. })).unwrap();
    assert_eq!(
        *reshaped,
        Rewrite::ReshapedInput { name: "input".into(), from: Some(vec![-1, 24, 24, 3]), to: Some(vec![1, 24, 24, 3]) }
    );
    assert_eq!(reshaped.to_string(), "input input: shape [?, 24, 24, 3] → [1, 24, 24, 3]");
}

#[test]
fn optimizing_twice_changes_nothing() {
    for fixture in fixtures() {
        let once = optimize_outputs(fixture.graph, &fixture.outputs);
        let twice = optimize_outputs(once.graph.clone(), &fixture.outputs);
        assert!(once.graph == twice.graph, "{}: second run changed the graph: {:?}", fixture.name, twice.applied);
    }
    let (graph, outputs) = conv_batch_norm_graph("Conv2D", &[3, 3, 2, 3], false);
    let once = optimize_outputs(graph, &outputs);
    assert!(once.graph == optimize_outputs(once.graph.clone(), &outputs).graph);
}

// ---- hand-built graphs -----------------------------------------------------------------

fn attr(mut node: NodeDef, name: &str, value: attr_value::Value) -> NodeDef {
    node.attr.insert(name.to_string(), AttrValue { value: Some(value) });
    node
}

fn typed(node: NodeDef, name: &str, dtype: DataType) -> NodeDef {
    attr(node, name, attr_value::Value::Type(dtype as i32))
}

fn float_op(name: &str, op: &str, inputs: &[&str]) -> NodeDef {
    typed(node(name, op, inputs), "T", DataType::DtFloat)
}

fn shape_value(dims: &[i64]) -> attr_value::Value {
    attr_value::Value::Shape(TensorShapeProto {
        dim: dims.iter().map(|&size| tensor_shape_proto::Dim { size, name: String::new() }).collect(),
        unknown_rank: false,
    })
}

fn placeholder(name: &str, dtype: DataType, dims: &[i64]) -> NodeDef {
    attr(typed(node(name, "Placeholder", &[]), "dtype", dtype), "shape", shape_value(dims))
}

fn floats(name: &str, shape: &[i64], values: &[f32]) -> NodeDef {
    const_node(name, &Tensor::from_f32(shape.to_vec(), values))
}

fn ints(name: &str, shape: &[i64], values: &[i32]) -> NodeDef {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    const_node(name, &Tensor { dtype: DataType::DtInt32, shape: shape.to_vec(), data: TensorData::Raw(bytes.into()) })
}

fn bool_constant(name: &str, value: bool) -> NodeDef {
    let tensor = Tensor { dtype: DataType::DtBool, shape: vec![], data: TensorData::Raw(vec![u8::from(value)].into()) };
    const_node(name, &tensor)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn options(outputs: &[&str]) -> OptimizeOptions {
    OptimizeOptions { output_names: names(outputs), ..Default::default() }
}

fn const_tensor(graph: &GraphDef, name: &str) -> Tensor {
    let node = find(graph, name);
    assert_eq!(node.op, "Const", "{name} was not folded");
    match node.attr["value"].value.as_ref().unwrap() {
        attr_value::Value::Tensor(t) => Tensor::from_proto(t).unwrap(),
        _ => unreachable!(),
    }
}

fn const_f32(graph: &GraphDef, name: &str) -> (Vec<i64>, Vec<f32>) {
    let tensor = const_tensor(graph, name);
    (tensor.shape.clone(), tensor.to_f32_vec().unwrap())
}

fn const_i32(graph: &GraphDef, name: &str) -> (Vec<i64>, Vec<i32>) {
    let tensor = const_tensor(graph, name);
    let values = tensor.raw().unwrap().chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
    (tensor.shape, values)
}

// ---- placeholders ---------------------------------------------------------------------

#[test]
fn replaces_an_input_node_by_a_placeholder_and_prunes_what_fed_it() {
    let g = graph_of(vec![
        placeholder("raw", DataType::DtFloat, &[-1, 4]),
        floats("scale", &[], &[2.0]),
        attr(float_op("pre", "Mul", &["raw", "scale"]), "_output_shapes", {
            let TensorShapeProto { dim, .. } = match shape_value(&[-1, 4]) {
                attr_value::Value::Shape(s) => s,
                _ => unreachable!(),
            };
            attr_value::Value::List(attr_value::ListValue {
                shape: vec![TensorShapeProto { dim, unknown_rank: false }],
                ..Default::default()
            })
        }),
        float_op("y", "Relu", &["pre"]),
    ]);
    let options = OptimizeOptions { input_names: names(&["pre"]), ..options(&["y"]) };
    let result = optimize(g, &options).unwrap();
    assert_eq!(result.graph.node.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["pre", "y"]);
    let pre = find(&result.graph, "pre");
    assert_eq!((pre.op.as_str(), attr_type(pre, "dtype")), ("Placeholder", Some(DataType::DtFloat)));
    assert_eq!(attr_shape(pre, "shape"), Some(vec![-1, 4]), "the shape comes from _output_shapes");
    assert!(pre.input.is_empty());
    assert_eq!(result.applied[0], Rewrite::ReplacedInput { name: "pre".into(), op: "Mul".into(), dtype: "float32" });
}

#[test]
fn rejects_bad_placeholder_requests() {
    let g = || graph_of(vec![placeholder("x", DataType::DtFloat, &[-1, 3]), float_op("y", "Relu", &["x"])]);
    let wrong_count = OptimizeOptions { placeholder_type_enum: vec![DataType::DtFloat; 2], ..options(&["y"]) };
    assert_eq!(optimize(g(), &wrong_count).unwrap_err().kind, ErrorKind::InvalidArgument);
    let not_an_input = OptimizeOptions { placeholder_shapes: vec![("y".into(), vec![1, 3])], ..options(&["y"]) };
    assert_eq!(optimize(g(), &not_an_input).unwrap_err().kind, ErrorKind::InvalidArgument);
    let conflicting = OptimizeOptions { placeholder_shapes: vec![("x".into(), vec![1, 4])], ..options(&["y"]) };
    let error = optimize(g(), &conflicting).unwrap_err();
    assert_eq!((error.code(), error.subject.as_deref()), ("SHAPE_MISMATCH", Some("x")));
    let fixed = OptimizeOptions { placeholder_shapes: vec![("x".into(), vec![2, 3])], ..options(&["y"]) };
    assert_eq!(attr_shape(find(&optimize(g(), &fixed).unwrap().graph, "x"), "shape"), Some(vec![2, 3]));
}

#[test]
fn rejects_missing_outputs_and_unknown_names_with_suggestions() {
    let g = || graph_of(vec![placeholder("x", DataType::DtFloat, &[3]), float_op("model/y", "Relu", &["x"])]);
    assert_eq!(optimize(g(), &options(&[])).unwrap_err().code(), "NO_OUTPUTS");
    let typo = optimize(g(), &options(&["model/yy"])).unwrap_err();
    assert_eq!((typo.code(), typo.suggestions.clone()), ("UNKNOWN_NODE", names(&["model/y"])));
    let tensor_name = optimize(g(), &OptimizeOptions { input_names: names(&["x:0"]), ..options(&["model/y"]) });
    let error = tensor_name.unwrap_err();
    assert_eq!((error.code(), error.suggestions[0].as_str()), ("UNKNOWN_NODE", "x"));
    let dangling = graph_of(vec![placeholder("x", DataType::DtFloat, &[3]), float_op("y", "Add", &["x", "gone:0"])]);
    let error = optimize(dangling, &options(&["y"])).unwrap_err();
    assert_eq!((error.code(), error.subject.as_deref()), ("UNKNOWN_NODE", Some("gone")));
}

/// A v1 `cond(pred, lambda: x * 2, lambda: x)` as TensorFlow builds it.
fn cond_graph(pred: NodeDef) -> GraphDef {
    let pred_name = pred.name.clone();
    graph_of(vec![
        placeholder("x", DataType::DtFloat, &[2]),
        pred,
        typed(node("cond/Switch", "Switch", &[&pred_name, &pred_name]), "T", DataType::DtBool),
        typed(node("cond/switch_t", "Identity", &["cond/Switch:1"]), "T", DataType::DtBool),
        typed(node("cond/switch_f", "Identity", &["cond/Switch"]), "T", DataType::DtBool),
        typed(node("cond/pred_id", "Identity", &[&pred_name]), "T", DataType::DtBool),
        float_op("cond/Switch_1", "Switch", &["x", "cond/pred_id"]),
        NodeDef { input: names(&["^cond/switch_t"]), ..floats("cond/two", &[], &[2.0]) },
        float_op("cond/mul", "Mul", &["cond/Switch_1:1", "cond/two"]),
        float_op("cond/Identity", "Identity", &["cond/Switch_1:0"]),
        attr(float_op("cond/Merge", "Merge", &["cond/Identity", "cond/mul"]), "N", attr_value::Value::I(2)),
        float_op("y", "Relu", &["cond/Merge"]),
    ])
}

fn bool_placeholder(name: &str, op: &str, inputs: &[&str]) -> NodeDef {
    attr(typed(node(name, op, inputs), "dtype", DataType::DtBool), "shape", shape_value(&[]))
}

#[test]
fn fixes_a_training_flag_and_resolves_the_cond_it_drives() {
    for (value, want) in [(false, vec![1.0, -2.0]), (true, vec![2.0, -4.0])] {
        let g = cond_graph(bool_placeholder("is_training", "Placeholder", &[]));
        let flags = vec![("is_training".into(), ConstantValue::Bool(value))];
        let options = OptimizeOptions { training_flags: flags, ..options(&["y"]) };
        let result = optimize(g, &options).unwrap();
        assert_valid(&result.graph, "cond");
        let left = ops(&result.graph);
        assert!(!left.contains("Switch") && !left.contains("Merge") && !left.contains("Identity"), "{left:?}");
        let fixed = ConstantValue::Bool(value);
        assert_eq!(
            result.applied[0],
            Rewrite::FixedTrainingFlag { name: "is_training".into(), value: fixed, why: "as asked" }
        );
        // The Node binding's tests look for this wording.
        assert_eq!(result.applied[0].to_string(), format!("fixed training flag is_training to {value} (as asked)"));
        assert!(
            result.applied.iter().any(|r| matches!(r,
                Rewrite::ResolvedCond { switch, branch, .. } if switch == "cond/Switch" && *branch == value)),
            "{:?}",
            result.applied
        );
        assert_eq!(result.inputs, ["x"]);
        let y = evaluate(&result.graph, &[("x", Array::new(vec![2], vec![1.0, -2.0]))], "y");
        let want: Vec<f64> = want.iter().map(|v: &f64| v.max(0.0)).collect();
        assert_eq!(y.data, want, "is_training={value}");
    }
}

#[test]
fn fixes_keras_learning_phase_and_takes_unfed_defaults() {
    let g = cond_graph(bool_placeholder("keras_learning_phase", "PlaceholderWithDefault", &["phase_default"]));
    let mut nodes = g.node;
    nodes.push(bool_constant("phase_default", true));
    let result = optimize(graph_of(nodes), &options(&["y"])).unwrap();
    assert_eq!(
        result.applied[0],
        Rewrite::FixedTrainingFlag {
            name: "keras_learning_phase".into(),
            value: ConstantValue::Bool(false),
            why: "a bool placeholder named as a training switch"
        }
    );
    assert!(!ops(&result.graph).contains("Merge"));

    let g = graph_of(vec![
        placeholder("x", DataType::DtFloat, &[2]),
        floats("rate/default", &[], &[0.5]),
        attr(
            typed(node("rate", "PlaceholderWithDefault", &["rate/default"]), "dtype", DataType::DtFloat),
            "shape",
            shape_value(&[]),
        ),
        float_op("y", "Mul", &["x", "rate"]),
    ]);
    let flags = vec![("no_such_flag".into(), ConstantValue::Bool(true))];
    let options = OptimizeOptions { training_flags: flags, ..options(&["y"]) };
    let result = optimize(g, &options).unwrap();
    assert_eq!(find(&result.graph, "y").input, ["x", "rate/default"]);
    assert_eq!(result.inputs, ["x"]);
    assert_eq!(result.warnings, ["training flag \"no_such_flag\" matches no bool placeholder"]);
    assert!(result.applied.contains(&Rewrite::TookDefault { name: "rate".into() }), "{:?}", result.applied);
}

// ---- prune ------------------------------------------------------------------------------

fn colocated(node: NodeDef, targets: &[&str]) -> NodeDef {
    let list = attr_value::ListValue {
        s: targets.iter().map(|t| format!("loc:@{t}").into_bytes()).collect(),
        ..Default::default()
    };
    attr(node, "_class", attr_value::Value::List(list))
}

#[test]
fn prunes_to_what_the_outputs_reach_keeping_colocation_targets() {
    let g = graph_of(vec![
        placeholder("x", DataType::DtFloat, &[3]),
        floats("unused", &[], &[1.0]),
        floats("anchor", &[], &[1.0]),
        colocated(float_op("a", "Relu", &["x"]), &["anchor", "gone"]),
        float_op("b", "Tanh", &["x"]),
        float_op("y", "Neg", &["a"]),
    ]);
    let result = optimize(g, &options(&["y"])).unwrap();
    let kept: Vec<&str> = result.graph.node.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(kept, ["x", "anchor", "a", "y"]);
    assert_eq!(colocation_targets(find(&result.graph, "a")), ["anchor"]);
}

// ---- strip_identity ------------------------------------------------------------------

#[test]
fn bypasses_identities_and_debug_ops_by_rewiring_their_readers() {
    let g = graph_of(vec![
        placeholder("x", DataType::DtFloat, &[3]),
        attr(float_op("check", "CheckNumerics", &["x"]), "message", attr_value::Value::S(b"bad".to_vec())),
        float_op("ident", "Identity", &["check"]),
        float_op("stop", "StopGradient", &["ident:0"]),
        float_op("snap", "Snapshot", &["stop"]),
        float_op("print", "Print", &["snap", "x"]),
        float_op("y", "Add", &["print:0", "ident:0"]),
    ]);
    let result = optimize(g, &options(&["y"])).unwrap();
    assert_eq!(find(&result.graph, "y").input, ["x", "x"]);
    assert_eq!(result.graph.node.len(), 2);
    let removed = Rewrite::Removed { op: "CheckNumerics".into(), names: names(&["check"]) };
    assert!(result.applied.contains(&removed), "{:?}", result.applied);
    assert_eq!(removed.to_string(), "removed 1 CheckNumerics node (check)");
}

#[test]
fn keeps_protected_colocated_and_controlled_identities() {
    let g = graph_of(vec![
        placeholder("x", DataType::DtFloat, &[3]),
        floats("k", &[], &[1.0]),
        float_op("effect", "Relu", &["x"]),
        float_op("waits", "Identity", &["x", "^effect"]),
        float_op("waits_on_const", "Identity", &["x", "^k"]),
        float_op("target", "Identity", &["x"]),
        colocated(float_op("colocated", "Neg", &["target"]), &["target"]),
        float_op("y", "Identity", &["waits"]),
        float_op("z", "AddN", &["waits_on_const", "colocated"]),
    ]);
    let result = optimize(g, &options(&["y", "z"])).unwrap();
    assert!(has(&result.graph, "y") && has(&result.graph, "waits") && has(&result.graph, "target"));
    assert!(!has(&result.graph, "waits_on_const"), "a control edge from a Const waits for nothing");
    assert_eq!(find(&result.graph, "z").input, ["x", "colocated"]);
}

#[test]
fn moves_control_edges_of_removed_nodes_to_what_they_waited_for() {
    let g = graph_of(vec![
        placeholder("x", DataType::DtFloat, &[3]),
        float_op("a", "Relu", &["x"]),
        float_op("b", "Tanh", &["x"]),
        node("group", "NoOp", &["^a", "^b"]),
        float_op("ident", "Identity", &["a"]),
        node("assert", "Assert", &["x", "x"]),
        float_op("y", "Neg", &["x", "^group", "^ident", "^assert"]),
    ]);
    let result = optimize(g, &options(&["y"])).unwrap();
    assert_eq!(find(&result.graph, "y").input, ["x", "^a", "^b"]);
    let left = ops(&result.graph);
    assert!(!left.contains("NoOp") && !left.contains("Assert") && !left.contains("Identity"), "{left:?}");
}

/// A bool placeholder that only chooses branches is a training switch and
/// gets fixed, unless it is named as an input.
fn live_predicate() -> OptimizeOptions {
    OptimizeOptions { input_names: vec!["x".into(), "pred".into()], ..options(&["y"]) }
}

#[test]
fn a_bool_placeholder_that_only_chooses_branches_is_fixed_to_false() {
    let result = optimize(cond_graph(placeholder("pred", DataType::DtBool, &[])), &options(&["y"])).unwrap();
    assert_eq!(
        result.applied[0],
        Rewrite::FixedTrainingFlag {
            name: "pred".into(),
            value: ConstantValue::Bool(false),
            why: "a bool placeholder that only chooses cond branches"
        }
    );
    assert!(!ops(&result.graph).contains("Merge"));
    assert_eq!(result.inputs, ["x"]);
}

#[test]
fn keeps_cond_pivots_that_gate_a_branch() {
    let pred = placeholder("pred", DataType::DtBool, &[]);
    let result = optimize(cond_graph(pred), &live_predicate()).unwrap();
    assert_valid(&result.graph, "cond");
    // `cond/two` runs only in the true branch because it waits for switch_t.
    assert_eq!(find(&result.graph, "cond/two").input, ["^cond/switch_t"]);
    assert_eq!(find(&result.graph, "cond/switch_t").input, ["cond/Switch:1"]);
    assert!(!has(&result.graph, "cond/pred_id") && !has(&result.graph, "cond/Identity"));
    assert_eq!(find(&result.graph, "cond/Merge").input, ["cond/Switch_1", "cond/mul"]);
}

// ---- fold_constants ------------------------------------------------------------------

#[test]
fn folds_constant_subgraphs_in_the_op_dtype() {
    let g = graph_of(vec![
        floats("a", &[2, 3], &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]),
        floats("b", &[3], &[0.2, 0.1, 1e-8]),
        float_op("sum", "AddV2", &["a", "b"]),
        float_op("quotient", "RealDiv", &["a", "b"]),
        float_op("root", "Rsqrt", &["b"]),
        typed(node("shape", "Shape", &["a"]), "out_type", DataType::DtInt32),
        ints("one", &[1], &[1]),
        ints("two", &[1], &[2]),
        attr(
            typed(node("cols", "StridedSlice", &["shape", "one", "two", "one"]), "Index", DataType::DtInt32),
            "shrink_axis_mask",
            attr_value::Value::I(1),
        ),
        attr(typed(node("dims", "Pack", &["cols", "cols"]), "T", DataType::DtInt32), "axis", attr_value::Value::I(0)),
        floats("half", &[], &[0.5]),
        float_op("filled", "Fill", &["dims", "half"]),
        ints("new_shape", &[2], &[3, -1]),
        float_op("reshaped", "Reshape", &["a", "new_shape"]),
        ints("perm", &[2], &[1, 0]),
        float_op("transposed", "Transpose", &["reshaped", "perm"]),
        ints("axis", &[], &[0]),
        attr(float_op("joined", "ConcatV2", &["transposed", "a", "axis"]), "N", attr_value::Value::I(2)),
        typed(typed(node("as_int", "Cast", &["sum"]), "SrcT", DataType::DtFloat), "DstT", DataType::DtInt32),
        placeholder("x", DataType::DtFloat, &[2, 3]),
        float_op("y", "Mul", &["x", "sum"]),
    ]);
    let outputs = ["y", "quotient", "root", "filled", "joined", "as_int"];
    let result = optimize(g, &options(&outputs)).unwrap();
    let r = &result.graph;
    let (a, b) = ([0.1f32, 0.2, 0.3, 0.4, 0.5, 0.6], [0.2f32, 0.1, 1e-8]);
    let sum: Vec<f32> = (0..6).map(|i| a[i] + b[i % 3]).collect();
    assert_eq!(const_f32(r, "sum"), (vec![2, 3], sum.clone()));
    assert_eq!(const_f32(r, "quotient").1, (0..6).map(|i| a[i] / b[i % 3]).collect::<Vec<f32>>());
    assert_eq!(const_f32(r, "root").1, b.iter().map(|v| 1.0 / v.sqrt()).collect::<Vec<f32>>());
    assert_eq!(const_f32(r, "filled"), (vec![3, 3], vec![0.5; 9]));
    assert_eq!(const_f32(r, "joined"), (vec![4, 3], vec![0.1, 0.3, 0.5, 0.2, 0.4, 0.6, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]));
    assert_eq!(const_i32(r, "as_int"), (vec![2, 3], sum.iter().map(|&v| v as i32).collect()));
    assert_eq!(find(r, "y").input, ["x", "sum"]);
    for gone in ["shape", "cols", "dims", "reshaped", "perm"] {
        assert!(!has(r, gone), "{gone} is no longer needed");
    }
}

#[test]
fn huge_constant_shapes_are_left_unfolded() {
    // Folding these would allocate 2^40 elements (the process would abort) or overflow.
    let huge = 1 << 20;
    let g = graph_of(vec![
        ints("dims", &[2], &[huge, huge]),
        floats("half", &[], &[0.5]),
        float_op("filled", "Fill", &["dims", "half"]),
        floats("column", &[2, 1], &[1.0, 2.0]),
        floats("row", &[1, 2], &[1.0, 2.0]),
        float_op("grid", "AddV2", &["column", "row"]),
        ints("odd_shape", &[4], &[i32::MAX, i32::MAX, i32::MAX, -1]),
        float_op("reshaped", "Reshape", &["column", "odd_shape"]),
    ]);
    let result = optimize(g, &options(&["filled", "grid", "reshaped"])).unwrap();
    assert_eq!(find(&result.graph, "filled").op, "Fill");
    assert_eq!(find(&result.graph, "reshaped").op, "Reshape");
    assert_eq!(const_f32(&result.graph, "grid"), (vec![2, 2], vec![2.0, 3.0, 3.0, 4.0]), "small ones still fold");
}

#[test]
fn slices_like_tensorflow() {
    // Expected values from tf.raw_ops.StridedSlice on arange(24).reshape(2, 3, 4).
    type Case = (&'static [i32], &'static [i32], &'static [i32], i64, i64, i64, &'static [i64], &'static [i32]);
    let cases: [Case; 5] = [
        (&[0, 0, 1], &[0, 0, 3], &[1, -1, 1], 3, 3, 0, &[2, 3, 2], &[9, 10, 5, 6, 1, 2, 21, 22, 17, 18, 13, 14]),
        (&[-1, 1, -1], &[0, 100, 0], &[1, 1, 1], 0, 0, 5, &[2], &[19, 23]),
        (&[1, 2], &[0, 0], &[1, -1], 0, 1, 0, &[1, 2, 4], &[20, 21, 22, 23, 16, 17, 18, 19]),
        (&[0, 0, 0], &[0, 0, 0], &[1, 1, -2], 7, 7, 0, &[2, 3, 2], &[3, 1, 7, 5, 11, 9, 15, 13, 19, 17, 23, 21]),
        (&[0, -2], &[2, -5], &[1, -1], 0, 0, 0, &[2, 2, 4], &[4, 5, 6, 7, 0, 1, 2, 3, 16, 17, 18, 19, 12, 13, 14, 15]),
    ];
    for (begin, end, strides, begin_mask, end_mask, shrink, shape, want) in cases {
        let rank = begin.len() as i64;
        let mut slice = typed(node("y", "StridedSlice", &["x", "begin", "end", "strides"]), "T", DataType::DtInt32);
        for (mask, value) in [("begin_mask", begin_mask), ("end_mask", end_mask), ("shrink_axis_mask", shrink)] {
            slice = attr(slice, mask, attr_value::Value::I(value));
        }
        let g = graph_of(vec![
            ints("x", &[2, 3, 4], &(0..24).collect::<Vec<i32>>()),
            ints("begin", &[rank], begin),
            ints("end", &[rank], end),
            ints("strides", &[rank], strides),
            slice,
        ]);
        let result = optimize(g, &options(&["y"])).unwrap();
        assert_eq!(const_i32(&result.graph, "y"), (shape.to_vec(), want.to_vec()), "{begin:?} {end:?} {strides:?}");
    }
}

#[test]
fn leaves_unsafe_folds_and_while_loops_alone() {
    let g = graph_of(vec![
        floats("nan", &[2], &[f32::NAN, 1.0]),
        typed(typed(node("to_int", "Cast", &["nan"]), "SrcT", DataType::DtFloat), "DstT", DataType::DtInt32),
        floats("big", &[], &[3e9]),
        typed(typed(node("too_big", "Cast", &["big"]), "SrcT", DataType::DtFloat), "DstT", DataType::DtInt32),
        float_op("max", "Maximum", &["nan", "big"]),
        // while (i < 3) i += 1, with a constant addend inside the frame
        ints("zero", &[], &[0]),
        attr(
            typed(node("while/Enter", "Enter", &["zero"]), "T", DataType::DtInt32),
            "frame_name",
            attr_value::Value::S(b"while".to_vec()),
        ),
        attr(
            typed(node("while/Merge", "Merge", &["while/Enter", "while/NextIteration"]), "T", DataType::DtInt32),
            "N",
            attr_value::Value::I(2),
        ),
        NodeDef { input: names(&["^while/Merge"]), ..ints("while/three", &[], &[3]) },
        typed(node("while/Less", "Less", &["while/Merge", "while/three"]), "T", DataType::DtInt32),
        node("while/LoopCond", "LoopCond", &["while/Less"]),
        typed(node("while/Switch", "Switch", &["while/Merge", "while/LoopCond"]), "T", DataType::DtInt32),
        typed(node("while/Identity", "Identity", &["while/Switch:1"]), "T", DataType::DtInt32),
        NodeDef { input: names(&["^while/Identity"]), ..ints("while/one", &[], &[1]) },
        NodeDef { input: names(&["^while/Identity"]), ..ints("while/zero", &[], &[0]) },
        typed(node("while/step", "AddV2", &["while/one", "while/zero"]), "T", DataType::DtInt32),
        typed(node("while/add", "AddV2", &["while/Identity", "while/step"]), "T", DataType::DtInt32),
        typed(node("while/NextIteration", "NextIteration", &["while/add"]), "T", DataType::DtInt32),
        typed(node("while/Exit", "Exit", &["while/Switch"]), "T", DataType::DtInt32),
    ]);
    let result = optimize(g.clone(), &options(&["to_int", "too_big", "max", "while/Exit"])).unwrap();
    for name in ["to_int", "too_big", "max", "while/step"] {
        assert_eq!(find(&result.graph, name).op, find(&g, name).op, "{name} must not be folded");
    }
    for op in ["Enter", "Merge", "Switch", "LoopCond", "NextIteration", "Exit"] {
        assert!(ops(&result.graph).contains(op), "{op} is gone");
    }
}

#[test]
fn folded_branch_constants_stay_in_their_branch() {
    let mut g = cond_graph(placeholder("pred", DataType::DtBool, &[]));
    g.node.push(NodeDef { input: names(&["^cond/switch_t"]), ..floats("cond/three", &[], &[3.0]) });
    g.node.push(float_op("cond/six", "Mul", &["cond/two", "cond/three"]));
    let mul = g.node.iter_mut().find(|n| n.name == "cond/mul").unwrap();
    mul.input[1] = "cond/six".to_string();
    let result = optimize(g, &live_predicate()).unwrap();
    assert_eq!(const_f32(&result.graph, "cond/six").1, [6.0]);
    assert_eq!(find(&result.graph, "cond/six").input, ["^cond/switch_t"]);
}

#[test]
fn keeps_a_cond_whose_merge_index_is_read() {
    let mut g = cond_graph(bool_constant("pred_value", true));
    g.node.push(typed(node("index", "Cast", &["cond/Merge:1"]), "DstT", DataType::DtFloat));
    let result = optimize(g, &options(&["y", "index"])).unwrap();
    assert!(ops(&result.graph).contains("Merge"));
    assert!(result.warnings.iter().any(|w| w.contains("value_index")), "{:?}", result.warnings);
}

// ---- batch norms ------------------------------------------------------------------------

fn values(n: usize, seed: u32) -> Vec<f32> {
    // Deterministic values in [-1, 1), no randomness crate needed.
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761) ^ seed.wrapping_mul(40503)) % 2000)
        .map(|v| v as f32 / 1000.0 - 1.0)
        .collect()
}

fn positive(n: usize, seed: u32) -> Vec<f32> {
    values(n, seed).iter().map(|v| v.abs() + 0.25).collect()
}

fn batch_norm_params(prefix: &str, channels: usize) -> Vec<NodeDef> {
    let c = [channels as i64];
    vec![
        floats(&format!("{prefix}/gamma"), &c, &positive(channels, 11)),
        floats(&format!("{prefix}/beta"), &c, &values(channels, 12)),
        floats(&format!("{prefix}/mean"), &c, &values(channels, 13)),
        floats(&format!("{prefix}/variance"), &c, &positive(channels, 14)),
    ]
}

fn fused_batch_norm(name: &str, input: &str, prefix: &str, training: Option<bool>) -> NodeDef {
    let inputs =
        [input.to_string()].into_iter().chain(["gamma", "beta", "mean", "variance"].map(|p| format!("{prefix}/{p}")));
    let mut bn = float_op(name, "FusedBatchNormV3", &[]);
    bn.input = inputs.collect();
    bn = typed(bn, "U", DataType::DtFloat);
    bn = attr(bn, "epsilon", attr_value::Value::F(0.001));
    if let Some(training) = training {
        bn = attr(bn, "is_training", attr_value::Value::B(training));
    }
    bn
}

fn conv_attrs(conv: NodeDef) -> NodeDef {
    let strides = attr_value::Value::List(attr_value::ListValue { i: vec![1, 1, 1, 1], ..Default::default() });
    let conv = attr(attr(conv, "strides", strides), "padding", attr_value::Value::S(b"VALID".to_vec()));
    attr(conv, "data_format", attr_value::Value::S(b"NHWC".to_vec()))
}

/// x [1,4,4,Cin] → conv (filter `shape`) [→ BiasAdd] → FusedBatchNormV3 → Relu.
fn conv_batch_norm_graph(op: &str, shape: &[i64], with_bias: bool) -> (GraphDef, Vec<String>) {
    let channels = if op == "Conv2D" { shape[3] } else { shape[2] * shape[3] } as usize;
    let filter_size = shape.iter().product::<i64>() as usize;
    let mut nodes = vec![
        placeholder("x", DataType::DtFloat, &[1, 4, 4, shape[2]]),
        floats("w", shape, &values(filter_size, 7)),
        float_op("w/read", "Identity", &["w"]),
        conv_attrs(float_op("conv", op, &["x", "w/read"])),
    ];
    let mut bn_input = "conv";
    if with_bias {
        nodes.push(floats("b", &[channels as i64], &values(channels, 9)));
        nodes.push(attr(
            float_op("conv/bias", "BiasAdd", &["conv", "b"]),
            "data_format",
            attr_value::Value::S(b"NHWC".to_vec()),
        ));
        bn_input = "conv/bias";
    }
    nodes.extend(batch_norm_params("bn", channels));
    nodes.push(fused_batch_norm("bn/FusedBatchNormV3", bn_input, "bn", Some(false)));
    nodes.push(float_op("y", "Relu", &["bn/FusedBatchNormV3"]));
    (graph_of(nodes), names(&["y"]))
}

fn input_image(channels: usize) -> Array {
    Array::new(vec![1, 4, 4, channels], values(16 * channels, 3).iter().map(|&v| f64::from(v)).collect())
}

/// Optimizes, checks the outcome against the f64 evaluation of the original
/// graph, and returns it.
fn optimize_and_compare(graph: GraphDef, outputs: &[String], feeds: &[(&str, Array)]) -> OptimizedGraph {
    let options = OptimizeOptions { output_names: outputs.to_vec(), ..Default::default() };
    optimize_and_compare_with(graph, &options, feeds)
}

fn optimize_and_compare_with(graph: GraphDef, options: &OptimizeOptions, feeds: &[(&str, Array)]) -> OptimizedGraph {
    let want = evaluate(&graph, feeds, &options.output_names[0]);
    let result = optimize(graph, options).unwrap_or_else(|e| panic!("optimize: {e}"));
    assert_valid(&result.graph, "optimized");
    let got = evaluate(&result.graph, feeds, &options.output_names[0]);
    assert_eq!(got.shape, want.shape);
    for (g, w) in got.data.iter().zip(&want.data) {
        assert!((g - w).abs() <= 1e-5 * w.abs().max(1.0), "optimized {g} vs reference {w}\n{:?}", result.applied);
    }
    result
}

#[test]
fn folds_fused_batch_norm_into_conv2d() {
    let (graph, outputs) = conv_batch_norm_graph("Conv2D", &[3, 3, 2, 3], false);
    let result = optimize_and_compare(graph, &outputs, &[("x", input_image(2))]);
    let g = &result.graph;
    let folded = Rewrite::FoldedBatchNorm { node: "bn/FusedBatchNormV3".into(), into: "conv".into() };
    assert_eq!(result.applied.last(), Some(&folded));
    assert_eq!(folded.to_string(), "folded batch norm bn/FusedBatchNormV3 into conv");
    assert_eq!(find(g, "conv").input, ["x", "conv_weights"]);
    assert_eq!(find(g, "bn/FusedBatchNormV3").input, ["conv", "conv_bn_offset"]);
    assert_eq!(find(g, "bn/FusedBatchNormV3").op, "BiasAdd");
    assert_eq!(g.node.len(), 6, "x, conv_weights, conv_bn_offset, conv, BiasAdd, y");
    // TensorFlow's precision: var + eps in f32, the rest in f64, one rounding.
    let (gamma, variance) = (positive(3, 11), positive(3, 14));
    let scale: Vec<f64> = (0..3).map(|c| (1.0 / f64::from(variance[c] + 0.001).sqrt()) * f64::from(gamma[c])).collect();
    let want: Vec<f32> = values(54, 7).iter().enumerate().map(|(i, &w)| (f64::from(w) * scale[i % 3]) as f32).collect();
    assert_eq!(const_f32(g, "conv_weights").1, want);
}

#[test]
fn folds_into_a_depthwise_conv_in_channel_order() {
    // 2 input channels × multiplier 3: output channel ci·3 + m.
    let (graph, outputs) = conv_batch_norm_graph("DepthwiseConv2dNative", &[2, 2, 2, 3], false);
    let result = optimize_and_compare(graph, &outputs, &[("x", input_image(2))]);
    assert!(!ops(&result.graph).contains("FusedBatchNormV3"));
}

#[test]
fn folds_through_a_bias_add() {
    let (graph, outputs) = conv_batch_norm_graph("Conv2D", &[1, 1, 3, 4], true);
    let result = optimize_and_compare(graph, &outputs, &[("x", input_image(3))]);
    assert!(!has(&result.graph, "conv/bias"), "the bias is folded into the offset");
}

#[test]
fn folds_a_decomposed_batch_norm_into_matmul_with_transpose_b() {
    // tf.nn.batch_normalization after x · Wᵀ: x*(gamma*rsqrt(var+eps)) + (beta - mean*that).
    let mut nodes = vec![
        placeholder("x", DataType::DtFloat, &[-1, 3]),
        floats("w", &[4, 3], &values(12, 5)),
        attr(float_op("dense", "MatMul", &["x", "w"]), "transpose_b", attr_value::Value::B(true)),
        floats("eps", &[], &[0.001]),
    ];
    nodes.extend(batch_norm_params("bn", 4));
    nodes.extend([
        float_op("bn/add", "AddV2", &["bn/variance", "eps"]),
        float_op("bn/Rsqrt", "Rsqrt", &["bn/add"]),
        float_op("bn/mul", "Mul", &["bn/Rsqrt", "bn/gamma"]),
        float_op("bn/mul_1", "Mul", &["dense", "bn/mul"]),
        float_op("bn/mul_2", "Mul", &["bn/mean", "bn/mul"]),
        float_op("bn/sub", "Sub", &["bn/beta", "bn/mul_2"]),
        float_op("bn/add_1", "AddV2", &["bn/mul_1", "bn/sub"]),
        float_op("y", "Relu", &["bn/add_1"]),
    ]);
    let x = Array::new(vec![2, 3], values(6, 1).iter().map(|&v| f64::from(v)).collect());
    let result = optimize_and_compare(graph_of(nodes), &names(&["y"]), &[("x", x)]);
    let left: Vec<&str> = result.graph.node.iter().map(|n| n.op.as_str()).collect();
    assert_eq!(left, ["Placeholder", "Const", "Const", "MatMul", "BiasAdd", "Relu"]);
    assert_eq!(find(&result.graph, "bn/add_1").input, ["dense", "dense_bn_offset"]);
}

#[test]
fn fuses_a_decomposed_batch_norm_after_a_conv_without_constant_folding() {
    // With gamma as tf.nn.batch_normalization builds it, and without (operands swapped).
    for with_gamma in [true, false] {
        let mut nodes = vec![
            placeholder("x", DataType::DtFloat, &[1, 4, 4, 2]),
            floats("w", &[3, 3, 2, 3], &values(54, 7)),
            conv_attrs(float_op("conv", "Conv2D", &["x", "w"])),
            floats("eps", &[], &[0.001]),
        ];
        nodes.extend(batch_norm_params("bn", 3));
        let scale = if with_gamma { "bn/mul" } else { "bn/Rsqrt" };
        nodes.extend([
            float_op("bn/add", "Add", &["eps", "bn/variance"]),
            float_op("bn/Rsqrt", "Rsqrt", &["bn/add"]),
            float_op("bn/mul", "Mul", &["bn/gamma", "bn/Rsqrt"]),
            float_op("bn/mul_1", "Mul", &[scale, "conv"]),
            float_op("bn/mul_2", "Mul", &["bn/mean", scale]),
            float_op("bn/sub", "Sub", &["bn/beta", "bn/mul_2"]),
            float_op("bn/add_1", "Add", &["bn/sub", "bn/mul_1"]),
        ]);
        let options = OptimizeOptions { fold_constants: false, ..options(&["bn/add_1"]) };
        let result = optimize_and_compare_with(graph_of(nodes), &options, &[("x", input_image(2))]);
        let fused = Rewrite::FusedDecomposedBatchNorm { node: "bn/add_1".into() };
        let folded = Rewrite::FoldedBatchNorm { node: "bn/add_1".into(), into: "conv".into() };
        assert_eq!(result.applied, [fused, folded], "with gamma: {with_gamma}");
        assert!(!has(&result.graph, "bn/Rsqrt"));
    }
}

#[test]
fn turns_batch_norms_without_a_conv_into_mul_and_add() {
    let mut nodes = vec![placeholder("x", DataType::DtFloat, &[1, 4, 4, 3])];
    nodes.extend(batch_norm_params("bn", 3));
    let mut global =
        float_op("global", "BatchNormWithGlobalNormalization", &["x", "bn/mean", "bn/variance", "bn/beta", "bn/gamma"]);
    global = attr(global, "variance_epsilon", attr_value::Value::F(0.01));
    global = attr(global, "scale_after_normalization", attr_value::Value::B(true));
    nodes.push(global);
    nodes.push(fused_batch_norm("fused", "global", "bn", Some(false)));
    nodes.push(float_op("y", "Relu", &["fused"]));
    let result = optimize_and_compare(graph_of(nodes), &names(&["y"]), &[("x", input_image(3))]);
    let left = ops(&result.graph);
    assert!(!left.contains("BatchNormWithGlobalNormalization") && !left.contains("FusedBatchNormV3"), "{left:?}");
    assert_eq!((find(&result.graph, "global").op.as_str(), find(&result.graph, "fused").op.as_str()), ("Add", "Add"));
    let turned: Vec<&str> = result
        .applied
        .iter()
        .filter_map(|rewrite| match rewrite {
            Rewrite::BatchNormToMulAdd { node, .. } => Some(node.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(turned, ["global", "fused"], "{:?}", result.applied);
}

#[test]
fn does_not_fold_into_a_conv_read_elsewhere() {
    let (mut graph, _) = conv_batch_norm_graph("Conv2D", &[3, 3, 2, 3], false);
    graph.node.push(float_op("other", "Tanh", &["conv"]));
    graph.node.push(float_op("both", "AddV2", &["y", "other"]));
    let result = optimize_and_compare(graph, &names(&["both"]), &[("x", input_image(2))]);
    assert_eq!(find(&result.graph, "bn/FusedBatchNormV3").op, "Add");
    assert_eq!(find(&result.graph, "conv").input[1], "w", "the conv's filter is untouched");
}

#[test]
fn keeps_batch_norms_inside_while_loops() {
    let mut nodes = vec![
        placeholder("x", DataType::DtFloat, &[1, 2, 2, 3]),
        placeholder("go", DataType::DtBool, &[]),
        float_op("while/Enter", "Enter", &["x"]),
        typed(node("while/Enter_1", "Enter", &["go"]), "T", DataType::DtBool),
        float_op("while/Merge", "Merge", &["while/Enter", "while/NextIteration"]),
        node("while/LoopCond", "LoopCond", &["while/Enter_1"]),
        float_op("while/Switch", "Switch", &["while/Merge", "while/LoopCond"]),
        float_op("while/Identity", "Identity", &["while/Switch:1"]),
    ];
    for mut param in batch_norm_params("while/bn", 3) {
        param.input.push("^while/Identity".to_string());
        nodes.push(param);
    }
    nodes.extend([
        fused_batch_norm("while/bn/FusedBatchNormV3", "while/Identity", "while/bn", Some(false)),
        float_op("while/NextIteration", "NextIteration", &["while/bn/FusedBatchNormV3"]),
        float_op("y", "Exit", &["while/Switch"]),
    ]);
    let result = optimize(graph_of(nodes), &options(&["y"])).unwrap();
    assert_eq!(find(&result.graph, "while/bn/FusedBatchNormV3").op, "FusedBatchNormV3");
    assert_eq!(result.warnings, ["kept batch norm while/bn/FusedBatchNormV3: it runs inside a while loop"]);
}

#[test]
fn keeps_batch_norms_in_training_mode() {
    let (mut graph, outputs) = conv_batch_norm_graph("Conv2D", &[3, 3, 2, 3], false);
    graph.node.iter_mut().filter(|n| n.op == "FusedBatchNormV3").for_each(|n| {
        n.attr.remove("is_training");
    });
    let result = optimize(graph, &OptimizeOptions { output_names: outputs, ..Default::default() }).unwrap();
    assert!(ops(&result.graph).contains("FusedBatchNormV3"));
    assert_eq!(
        result.warnings,
        ["kept batch norm bn/FusedBatchNormV3: it runs in training mode (is_training is true or unset)"]
    );
}

// ---- a tiny f64 reference interpreter -------------------------------------------------

#[derive(Debug, Clone)]
struct Array {
    shape: Vec<usize>,
    data: Vec<f64>,
}

impl Array {
    fn new(shape: Vec<usize>, data: Vec<f64>) -> Self {
        assert_eq!(shape.iter().product::<usize>(), data.len());
        Array { shape, data }
    }
}

/// Evaluates `output` for the float ops the batch-norm tests build, in f64.
fn evaluate(graph: &GraphDef, feeds: &[(&str, Array)], output: &str) -> Array {
    let nodes: HashMap<&str, &NodeDef> = graph.node.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut memo: HashMap<String, Array> = feeds.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    value_of(&nodes, &mut memo, output)
}

fn value_of(nodes: &HashMap<&str, &NodeDef>, memo: &mut HashMap<String, Array>, name: &str) -> Array {
    if let Some(known) = memo.get(name) {
        return known.clone();
    }
    let node = nodes[name];
    let inputs: Vec<Array> =
        node.input.iter().filter(|i| !i.starts_with('^')).map(|i| value_of(nodes, memo, node_of(i))).collect();
    let f = |a: &Array, b: &Array, op: fn(f64, f64) -> f64| broadcast(a, b, op);
    let value = match node.op.as_str() {
        "Const" => {
            let tensor = match node.attr["value"].value.as_ref().unwrap() {
                attr_value::Value::Tensor(t) => Tensor::from_proto(t).unwrap(),
                _ => unreachable!(),
            };
            let data = tensor.to_f32_vec().unwrap().iter().map(|&v| f64::from(v)).collect();
            Array::new(tensor.shape.iter().map(|&d| d as usize).collect(), data)
        }
        "Identity" => inputs[0].clone(),
        "Relu" => Array::new(inputs[0].shape.clone(), inputs[0].data.iter().map(|v| v.max(0.0)).collect()),
        "Tanh" => Array::new(inputs[0].shape.clone(), inputs[0].data.iter().map(|v| v.tanh()).collect()),
        "Rsqrt" => Array::new(inputs[0].shape.clone(), inputs[0].data.iter().map(|v| 1.0 / v.sqrt()).collect()),
        "Add" | "AddV2" | "BiasAdd" => f(&inputs[0], &inputs[1], |a, b| a + b),
        "Sub" => f(&inputs[0], &inputs[1], |a, b| a - b),
        "Mul" => f(&inputs[0], &inputs[1], |a, b| a * b),
        "MatMul" => matmul(
            &inputs[0],
            &inputs[1],
            node.attr.get("transpose_b").is_some_and(|a| a.value == Some(attr_value::Value::B(true))),
        ),
        "Conv2D" => conv(&inputs[0], &inputs[1], false),
        "DepthwiseConv2dNative" => conv(&inputs[0], &inputs[1], true),
        "FusedBatchNormV3" => {
            normalize(&inputs[0], &inputs[3], &inputs[4], &inputs[2], Some(&inputs[1]), float_attr(node, "epsilon"))
        }
        "BatchNormWithGlobalNormalization" => normalize(
            &inputs[0],
            &inputs[1],
            &inputs[2],
            &inputs[3],
            Some(&inputs[4]),
            float_attr(node, "variance_epsilon"),
        ),
        other => panic!("the reference interpreter does not know {other}"),
    };
    memo.insert(name.to_string(), value.clone());
    value
}

fn float_attr(node: &NodeDef, name: &str) -> f64 {
    match node.attr[name].value {
        Some(attr_value::Value::F(f)) => f64::from(f),
        _ => panic!("{} has no float {name}", node.name),
    }
}

/// NumPy broadcasting of `a op b`.
fn broadcast(a: &Array, b: &Array, op: fn(f64, f64) -> f64) -> Array {
    let rank = a.shape.len().max(b.shape.len());
    let padded = |s: &[usize]| [vec![1; rank - s.len()], s.to_vec()].concat();
    let (sa, sb) = (padded(&a.shape), padded(&b.shape));
    let shape: Vec<usize> = sa.iter().zip(&sb).map(|(&x, &y)| x.max(y)).collect();
    let count: usize = shape.iter().product();
    let flat = |s: &[usize], index: &[usize]| {
        index.iter().zip(s).fold(0, |acc, (&i, &d)| acc * d + if d == 1 { 0 } else { i })
    };
    let data = (0..count)
        .map(|mut position| {
            let mut index = vec![0; rank];
            for d in (0..rank).rev() {
                index[d] = position % shape[d];
                position /= shape[d];
            }
            op(a.data[flat(&sa, &index)], b.data[flat(&sb, &index)])
        })
        .collect();
    Array::new(shape, data)
}

fn matmul(x: &Array, w: &Array, transpose_b: bool) -> Array {
    let (n, k) = (x.shape[0], x.shape[1]);
    let m = if transpose_b { w.shape[0] } else { w.shape[1] };
    let weight = |i: usize, j: usize| if transpose_b { w.data[j * k + i] } else { w.data[i * m + j] };
    let data = (0..n * m).map(|p| (0..k).map(|i| x.data[p / m * k + i] * weight(i, p % m)).sum()).collect();
    Array::new(vec![n, m], data)
}

/// VALID, stride 1, NHWC; depthwise output channel = ci·M + m.
fn conv(x: &Array, w: &Array, depthwise: bool) -> Array {
    let [_, height, width, cin] = x.shape[..] else { panic!() };
    let [kh, kw, _, last] = w.shape[..] else { panic!() };
    let cout = if depthwise { cin * last } else { last };
    let (oh, ow) = (height - kh + 1, width - kw + 1);
    let mut out = vec![0.0; oh * ow * cout];
    for (y, x0, c) in (0..oh).flat_map(|y| (0..ow).flat_map(move |x0| (0..cout).map(move |c| (y, x0, c)))) {
        let mut sum = 0.0;
        for (dy, dx) in (0..kh).flat_map(|dy| (0..kw).map(move |dx| (dy, dx))) {
            let pixel = ((y + dy) * width + x0 + dx) * cin;
            if depthwise {
                let (ci, m) = (c / last, c % last);
                sum += x.data[pixel + ci] * w.data[((dy * kw + dx) * cin + ci) * last + m];
            } else {
                sum +=
                    (0..cin).map(|ci| x.data[pixel + ci] * w.data[((dy * kw + dx) * cin + ci) * cout + c]).sum::<f64>();
            }
        }
        out[(y * ow + x0) * cout + c] = sum;
    }
    Array::new(vec![1, oh, ow, cout], out)
}

/// `(x − mean) / sqrt(var + eps) · gamma + beta` along the last axis.
fn normalize(x: &Array, mean: &Array, variance: &Array, beta: &Array, gamma: Option<&Array>, epsilon: f64) -> Array {
    let channels = mean.data.len();
    let data = x
        .data
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = i % channels;
            let gamma = gamma.map_or(1.0, |g| g.data[c]);
            (v - mean.data[c]) / (variance.data[c] + epsilon).sqrt() * gamma + beta.data[c]
        })
        .collect();
    Array::new(x.shape.clone(), data)
}

#[test]
fn cutting_at_a_decoder_takes_its_dtype_and_an_unfed_placeholder_is_refused() {
    let g = graph_of(vec![
        placeholder("contents", DataType::DtString, &[]),
        node("decode", "DecodeJpeg", &["contents"]),
        typed(
            typed(node("convert_image/Cast", "Cast", &["decode"]), "SrcT", DataType::DtUint8),
            "DstT",
            DataType::DtFloat,
        ),
        placeholder("scale", DataType::DtFloat, &[]),
        float_op("y", "Mul", &["convert_image/Cast", "scale"]),
    ]);
    let cut = OptimizeOptions { input_names: vec!["decode".into(), "scale".into()], ..options(&["y"]) };
    let result = optimize(g.clone(), &cut).unwrap();
    assert_eq!(attr_type(find(&result.graph, "decode"), "dtype"), Some(DataType::DtUint8));

    let err = optimize(g, &OptimizeOptions { input_names: vec!["decode".into()], ..options(&["y"]) }).unwrap_err();
    assert_eq!((err.kind, err.subject.as_deref()), (ErrorKind::InvalidArgument, Some("scale")));
    assert!(err.message.contains("\"scale\"") && err.message.contains("input_names"), "{}", err.message);
}

/// `x → Pad(paddings) → DepthwiseConv2dNative(VALID, stride 2)` on an 8×8 input.
fn padded_conv_graph(paddings: [i32; 8], also_read: bool) -> GraphDef {
    let list = |v: &[i64]| attr_value::Value::List(attr_value::ListValue { i: v.to_vec(), ..Default::default() });
    let mut nodes = vec![
        placeholder("x", DataType::DtFloat, &[-1, 8, 8, 4]),
        ints("paddings", &[4, 2], &paddings),
        float_op("pad", "Pad", &["x", "paddings"]),
        floats("filter", &[3, 3, 4, 1], &[0.5; 36]),
        attr(
            attr(float_op("conv", "DepthwiseConv2dNative", &["pad", "filter"]), "strides", list(&[1, 2, 2, 1])),
            "padding",
            attr_value::Value::S(b"VALID".to_vec()),
        ),
    ];
    if also_read {
        nodes.push(float_op("other", "Relu", &["pad"]));
    }
    graph_of(nodes)
}

#[test]
fn a_pad_that_is_same_padding_folds_into_the_convolution() {
    let optimized = optimize_outputs(padded_conv_graph([0, 0, 0, 1, 0, 1, 0, 0], false), &names(&["conv"]));
    assert!(!has(&optimized.graph, "pad"), "the Pad is gone");
    let conv = find(&optimized.graph, "conv");
    assert_eq!(conv.input[0], "x");
    assert_eq!(tfmodel_core::graph::attr_string(conv, "padding").as_deref(), Some("SAME"));
    assert!(optimized.applied.contains(&Rewrite::FoldedPadding { node: "conv".into() }), "{:?}", optimized.applied);

    // Padding SAME would not add, or a Pad someone else reads, stays.
    let other = optimize_outputs(padded_conv_graph([0, 0, 1, 1, 1, 1, 0, 0], false), &names(&["conv"]));
    assert!(has(&other.graph, "pad"));
    let shared = optimize_outputs(padded_conv_graph([0, 0, 0, 1, 0, 1, 0, 0], true), &names(&["conv", "other"]));
    assert!(has(&shared.graph, "pad"));
    assert_eq!(tfmodel_core::graph::attr_string(find(&shared.graph, "conv"), "padding").as_deref(), Some("VALID"));
}
