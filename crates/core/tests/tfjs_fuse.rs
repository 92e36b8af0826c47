//! TF.js-only fusions, one pattern per test: what fuses into `_FusedConv2D`,
//! `FusedDepthwiseConv2dNative`, `_FusedMatMul` and `Prelu`, and each reason
//! a chain is left alone. That TF.js runs the fused models to TensorFlow's
//! outputs is checked by test/tfjs.test.ts.

use std::collections::HashSet;

use tfmodel_core::emit::tfjs_fuse::{drop_unread_constants, fuse, merge_sibling_convolutions};
use tfmodel_core::graph::{attr, type_attr};
use tfmodel_core::proto::{attr_value, AttrValue, DataType, GraphDef, NodeDef};
use tfmodel_core::tensor::Tensor;

mod common;
use common::{const_node, node};

// ---- helpers ---------------------------------------------------------------

fn constant(name: &str, shape: &[i64], value: f32) -> NodeDef {
    let count = shape.iter().product::<i64>() as usize;
    const_node(name, &Tensor::from_f32(shape.to_vec(), &vec![value; count]))
}

fn float_op(name: &str, op: &str, inputs: &[&str]) -> NodeDef {
    let mut n = node(name, op, inputs);
    n.attr.insert("T".into(), type_attr(DataType::DtFloat));
    n
}

/// `x [1,8,8,3]` → `op` with a filter giving 4 output channels.
fn conv_graph(op: &str) -> Vec<NodeDef> {
    let filter = match op {
        "DepthwiseConv2dNative" => [3, 3, 3, 1],
        _ => [3, 3, 3, 4],
    };
    let mut conv = float_op("conv", op, &["x", "w"]);
    conv.attr.insert("strides".into(), ints(&[1, 1, 1, 1]));
    conv.attr.insert("padding".into(), AttrValue { value: Some(attr_value::Value::S(b"SAME".to_vec())) });
    let channels = if op == "DepthwiseConv2dNative" { 3 } else { 4 };
    vec![
        node("x", "Placeholder", &[]),
        constant("w", &filter, 0.1),
        conv,
        constant("b", &[channels], 0.5),
        float_op("bias", "BiasAdd", &["conv", "b"]),
    ]
}

fn matmul_graph() -> Vec<NodeDef> {
    vec![
        node("x", "Placeholder", &[]),
        constant("w", &[3, 4], 0.1),
        float_op("matmul", "MatMul", &["x", "w"]),
        constant("b", &[4], 0.5),
        float_op("bias", "BiasAdd", &["matmul", "b"]),
    ]
}

fn ints(values: &[i64]) -> AttrValue {
    AttrValue {
        value: Some(attr_value::Value::List(attr_value::ListValue { i: values.to_vec(), ..Default::default() })),
    }
}

fn run(nodes: Vec<NodeDef>, protected: &[&str]) -> GraphDef {
    let mut graph = GraphDef { node: nodes, ..Default::default() };
    let protected: HashSet<String> = protected.iter().map(|s| s.to_string()).collect();
    fuse(&mut graph, &protected);
    drop_unread_constants(&mut graph, &protected);
    graph
}

fn find<'g>(graph: &'g GraphDef, name: &str) -> &'g NodeDef {
    graph.node.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
}

fn fused_ops(node: &NodeDef) -> Vec<String> {
    match attr(node, "fused_ops") {
        Some(attr_value::Value::List(list)) => list.s.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect(),
        _ => Vec::new(),
    }
}

fn num_args(node: &NodeDef) -> Option<i64> {
    match attr(node, "num_args") {
        Some(attr_value::Value::I(n)) => Some(*n),
        _ => None,
    }
}

fn ops(graph: &GraphDef) -> Vec<&str> {
    graph.node.iter().map(|n| n.op.as_str()).collect()
}

// ---- what fuses ------------------------------------------------------------

#[test]
fn conv_bias_and_each_activation_become_one_fused_conv() {
    for activation in ["Relu", "Relu6", "Elu", "Sigmoid"] {
        let mut nodes = conv_graph("Conv2D");
        nodes.push(float_op("act", activation, &["bias"]));
        nodes.push(float_op("out", "Softmax", &["act"]));
        let graph = run(nodes, &["x", "out"]);
        let fused = find(&graph, "act");
        assert_eq!(fused.op, "_FusedConv2D", "{activation}");
        assert_eq!(fused.input, ["x", "w", "b"], "{activation}");
        assert_eq!(fused_ops(fused), ["BiasAdd", activation]);
        assert_eq!(num_args(fused), Some(1));
        assert!(attr(fused, "strides").is_some() && attr(fused, "padding").is_some(), "conv attrs kept");
        assert_eq!(ops(&graph), ["Placeholder", "Const", "Const", "_FusedConv2D", "Softmax"], "{activation}");
    }
}

#[test]
fn conv_and_bias_alone_fuse_without_an_activation() {
    let graph = run(conv_graph("Conv2D"), &["x", "bias"]);
    let fused = find(&graph, "bias");
    assert_eq!((fused.op.as_str(), fused_ops(fused)), ("_FusedConv2D", vec!["BiasAdd".to_string()]));
    assert!(graph.node.iter().all(|n| n.name != "conv"));
}

#[test]
fn leaky_relu_keeps_its_alpha() {
    let mut nodes = conv_graph("Conv2D");
    let mut leaky = float_op("act", "LeakyRelu", &["bias"]);
    leaky.attr.insert("alpha".into(), AttrValue { value: Some(attr_value::Value::F(0.3)) });
    nodes.push(leaky);
    let graph = run(nodes, &["x", "act"]);
    let fused = find(&graph, "act");
    assert_eq!(fused_ops(fused), ["BiasAdd", "LeakyRelu"]);
    assert_eq!(attr(fused, "leakyrelu_alpha"), Some(&attr_value::Value::F(0.3)));
}

#[test]
fn prelu_with_one_alpha_per_channel_is_a_second_argument() {
    let mut nodes = conv_graph("Conv2D");
    nodes.push(constant("alpha", &[1, 1, 4], 0.25));
    nodes.push(float_op("act", "Prelu", &["bias", "alpha"]));
    let graph = run(nodes, &["x", "act"]);
    let fused = find(&graph, "act");
    assert_eq!(fused.input, ["x", "w", "b", "alpha"]);
    assert_eq!((fused_ops(fused), num_args(fused)), (vec!["BiasAdd".to_string(), "Prelu".to_string()], Some(2)));
}

#[test]
fn prelu_with_alpha_per_position_stays_apart() {
    let mut nodes = conv_graph("Conv2D");
    nodes.push(constant("alpha", &[8, 8, 4], 0.25));
    nodes.push(float_op("act", "Prelu", &["bias", "alpha"]));
    let graph = run(nodes, &["x", "act"]);
    assert_eq!(find(&graph, "bias").op, "_FusedConv2D");
    assert_eq!(find(&graph, "act").op, "Prelu");
}

#[test]
fn depthwise_conv_fuses_but_not_with_leaky_relu() {
    let mut nodes = conv_graph("DepthwiseConv2dNative");
    nodes.push(float_op("act", "Relu6", &["bias"]));
    let graph = run(nodes, &["x", "act"]);
    assert_eq!(find(&graph, "act").op, "FusedDepthwiseConv2dNative");
    assert_eq!(fused_ops(find(&graph, "act")), ["BiasAdd", "Relu6"]);

    let mut nodes = conv_graph("DepthwiseConv2dNative");
    nodes.push(float_op("act", "LeakyRelu", &["bias"]));
    let graph = run(nodes, &["x", "act"]);
    assert_eq!(find(&graph, "bias").op, "FusedDepthwiseConv2dNative");
    assert_eq!(find(&graph, "act").op, "LeakyRelu", "TF.js's depthwise kernel gets no alpha");
}

#[test]
fn matmul_bias_and_activation_become_one_fused_matmul() {
    let mut nodes = matmul_graph();
    nodes.push(float_op("act", "Relu", &["bias"]));
    let graph = run(nodes, &["x", "act"]);
    let fused = find(&graph, "act");
    assert_eq!((fused.op.as_str(), fused.input.clone()), ("_FusedMatMul", vec!["x".into(), "w".into(), "b".into()]));
    assert_eq!(fused_ops(fused), ["BiasAdd", "Relu"]);
}

#[test]
fn a_constant_add_left_by_batch_norm_folding_joins_the_bias() {
    let mut nodes = conv_graph("Conv2D");
    nodes.push(constant("offset", &[4], 0.25));
    nodes.push(float_op("bn", "AddV2", &["offset", "bias"]));
    nodes.push(float_op("act", "Relu", &["bn"]));
    let graph = run(nodes, &["x", "act"]);
    let fused = find(&graph, "act");
    assert_eq!(fused_ops(fused), ["BiasAdd", "Relu"]);
    let bias = find(&graph, &fused.input[2]);
    let value = Tensor::from_proto(match attr(bias, "value") {
        Some(attr_value::Value::Tensor(t)) => t,
        _ => panic!("bias is a constant"),
    })
    .unwrap();
    assert_eq!(value.to_f32_vec().unwrap(), [0.75; 4], "0.5 + 0.25 per channel");
    assert!(graph.node.iter().all(|n| n.name != "b" && n.name != "offset"), "the added-up biases are gone");
    assert_eq!(ops(&graph).iter().filter(|op| **op != "Const").count(), 2, "{:?}", ops(&graph));
}

#[test]
fn an_add_alone_after_a_conv_is_a_bias_when_it_adds_one_value_per_channel() {
    let mut nodes = conv_graph("Conv2D");
    nodes.pop();
    nodes.push(float_op("add", "Add", &["conv", "b"]));
    assert_eq!(find(&run(nodes.clone(), &["x", "add"]), "add").op, "_FusedConv2D");

    nodes[3] = constant("b", &[8, 8, 4], 0.5); // one value per position: a plain add
    assert_eq!(find(&run(nodes, &["x", "add"]), "add").op, "Add");
}

#[test]
fn decomposed_prelu_becomes_prelu_with_negated_alpha_and_then_fuses() {
    let mut nodes = conv_graph("Conv2D");
    nodes.extend([
        float_op("pos", "Relu", &["bias"]),
        float_op("neg", "Neg", &["bias"]),
        float_op("neg_relu", "Relu", &["neg"]),
        constant("minus_alpha", &[4], -0.25),
        float_op("mul", "Mul", &["minus_alpha", "neg_relu"]),
        float_op("prelu", "AddV2", &["pos", "mul"]),
    ]);
    let graph = run(nodes, &["x", "prelu"]);
    let fused = find(&graph, "prelu");
    assert_eq!(fused.op, "_FusedConv2D");
    assert_eq!(fused_ops(fused), ["BiasAdd", "Prelu"]);
    let alpha = find(&graph, &fused.input[3]);
    let value = match attr(alpha, "value") {
        Some(attr_value::Value::Tensor(t)) => Tensor::from_proto(t).unwrap(),
        _ => panic!("alpha is a constant"),
    };
    assert_eq!(value.to_f32_vec().unwrap(), [0.25; 4]);
    assert_eq!(ops(&graph).iter().filter(|op| **op != "Const").count(), 2, "{:?}", ops(&graph));
}

#[test]
fn decomposed_prelu_over_other_inputs_is_not_prelu() {
    let nodes = vec![
        node("x", "Placeholder", &[]),
        node("y", "Placeholder", &[]),
        float_op("pos", "Relu", &["x"]),
        float_op("neg", "Neg", &["y"]),
        float_op("neg_relu", "Relu", &["neg"]),
        constant("c", &[4], -0.25),
        float_op("mul", "Mul", &["c", "neg_relu"]),
        float_op("out", "AddV2", &["pos", "mul"]),
    ];
    assert_eq!(find(&run(nodes, &["x", "y", "out"]), "out").op, "AddV2");
}

// ---- reasons not to fuse -----------------------------------------------------

#[test]
fn a_second_reader_of_the_conv_keeps_it_apart() {
    let mut nodes = conv_graph("Conv2D");
    nodes.push(float_op("other", "Relu", &["conv"]));
    let graph = run(nodes, &["x", "bias", "other"]);
    assert_eq!(find(&graph, "conv").op, "Conv2D");
    assert_eq!(find(&graph, "bias").op, "BiasAdd");
}

#[test]
fn a_second_reader_of_the_bias_add_keeps_the_activation_apart() {
    let mut nodes = conv_graph("Conv2D");
    nodes.push(float_op("act", "Relu", &["bias"]));
    nodes.push(float_op("other", "Sigmoid", &["bias"]));
    let graph = run(nodes, &["x", "act", "other"]);
    let fused = find(&graph, "bias");
    assert_eq!((fused.op.as_str(), fused_ops(fused)), ("_FusedConv2D", vec!["BiasAdd".to_string()]));
    assert_eq!(find(&graph, "act").op, "Relu");
    assert_eq!(find(&graph, "other").input, ["bias"]);
}

#[test]
fn a_control_reader_of_the_conv_keeps_it_apart() {
    let mut nodes = conv_graph("Conv2D");
    nodes.push(node("after", "NoOp", &["^conv"]));
    let graph = run(nodes, &["x", "bias", "after"]);
    assert_eq!(find(&graph, "conv").op, "Conv2D");
}

#[test]
fn an_output_in_the_middle_keeps_it_apart() {
    let mut nodes = conv_graph("Conv2D");
    nodes.push(float_op("act", "Relu", &["bias"]));
    let graph = run(nodes.clone(), &["x", "act", "conv"]);
    assert_eq!(find(&graph, "conv").op, "Conv2D");
    assert_eq!(find(&graph, "act").op, "Relu");

    let graph = run(nodes, &["x", "act", "bias"]);
    assert_eq!(find(&graph, "bias").op, "_FusedConv2D", "the output itself may be the fused node");
    assert_eq!(find(&graph, "act").op, "Relu");
}

#[test]
fn no_bias_no_fusion() {
    let mut nodes = conv_graph("Conv2D");
    nodes.pop();
    nodes.push(float_op("act", "Relu", &["conv"]));
    let graph = run(nodes, &["x", "act"]);
    assert_eq!(ops(&graph), ["Placeholder", "Const", "Conv2D", "Relu"], "and the unread bias is gone");
}

#[test]
fn nchw_and_non_float_convs_stay_apart() {
    let mut nodes = conv_graph("Conv2D");
    nodes[2].attr.insert("data_format".into(), AttrValue { value: Some(attr_value::Value::S(b"NCHW".to_vec())) });
    assert_eq!(find(&run(nodes, &["x", "bias"]), "conv").op, "Conv2D");

    let mut nodes = matmul_graph();
    nodes[2].attr.insert("T".into(), type_attr(DataType::DtInt32));
    nodes[4].attr.insert("T".into(), type_attr(DataType::DtInt32));
    assert_eq!(find(&run(nodes, &["x", "bias"]), "matmul").op, "MatMul");
}

// ---- only TF.js output -------------------------------------------------------

#[test]
fn only_tfjs_output_is_fused_a_pb_keeps_the_ops_tensorflow_runs() {
    use prost::Message;
    use tfmodel_core::pipeline::{convert, ConvertOptions, OutputFormat};

    let entry = &common::manifest()["fixtures"]["convnet"];
    let files = common::fixture_files("convnet", entry);
    let convert_to = |format| {
        let mut options = ConvertOptions { format, ..Default::default() };
        options.freeze.output_node_names = common::strings(&entry["output_node_names"]);
        convert(&files, &options).unwrap()
    };
    let is_fused = |op: &str| op.starts_with("_Fused") || op.starts_with("Fused");

    let pb = convert_to(OutputFormat::Pb);
    let graph = GraphDef::decode(pb.files[0].1.as_slice()).unwrap();
    assert!(graph.node.iter().any(|n| n.op == "Conv2D"));
    assert!(!graph.node.iter().any(|n| is_fused(&n.op)), "a .pb holds no TF.js-only op");

    let tfjs = convert_to(OutputFormat::Tfjs);
    let json: serde_json::Value = serde_json::from_slice(&tfjs.files[0].1).unwrap();
    let ops: Vec<&str> =
        json["modelTopology"]["node"].as_array().unwrap().iter().map(|n| n["op"].as_str().unwrap()).collect();
    for op in ["_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul"] {
        assert!(ops.contains(&op), "{op} in {ops:?}");
    }
    assert!(!ops.iter().any(|op| ["Conv2D", "BiasAdd", "Relu6", "MatMul"].contains(op)), "{ops:?}");
}

// ---- sibling convolutions --------------------------------------------------------

/// `x` → two convolutions (`box`, 4 channels; `cls`, 2 channels; each with its
/// bias, each read by its own `Square`), fused, then siblings merged.
fn siblings(second_padding: &[u8], extra: Vec<NodeDef>, protected: &[&str]) -> (GraphDef, Vec<Vec<String>>) {
    let conv = |name: &str, filter: &str, padding: &[u8]| {
        let mut conv = float_op(name, "Conv2D", &["x", filter]);
        conv.attr.insert("strides".into(), ints(&[1, 1, 1, 1]));
        conv.attr.insert("padding".into(), AttrValue { value: Some(attr_value::Value::S(padding.to_vec())) });
        conv
    };
    let filter = |name: &str, width: i64, base: f32| {
        let values: Vec<f32> = (0..3 * 3 * 3 * width).map(|i| base + i as f32).collect();
        const_node(name, &Tensor::from_f32(vec![3, 3, 3, width], &values))
    };
    let mut nodes = vec![
        node("x", "Placeholder", &[]),
        filter("w_box", 4, 0.0),
        conv("box_conv", "w_box", b"SAME"),
        const_node("b_box", &Tensor::from_f32(vec![4], &[1.0, 2.0, 3.0, 4.0])),
        float_op("box", "BiasAdd", &["box_conv", "b_box"]),
        filter("w_cls", 2, 1000.0),
        conv("cls_conv", "w_cls", second_padding),
        const_node("b_cls", &Tensor::from_f32(vec![2], &[5.0, 6.0])),
        float_op("cls", "BiasAdd", &["cls_conv", "b_cls"]),
        float_op("box_out", "Square", &["box"]),
        float_op("cls_out", "Square", &["cls"]),
    ];
    nodes.extend(extra);
    let protected: HashSet<String> = protected.iter().map(|s| s.to_string()).collect();
    let mut graph = GraphDef { node: nodes, ..Default::default() };
    fuse(&mut graph, &protected);
    let merged = merge_sibling_convolutions(&mut graph, &protected);
    drop_unread_constants(&mut graph, &protected);
    (graph, merged)
}

fn values(graph: &GraphDef, name: &str) -> (Vec<i64>, Vec<f32>) {
    let tensor = Tensor::from_proto(tfmodel_core::graph::attr_tensor(find(graph, name), "value").unwrap()).unwrap();
    (tensor.shape.clone(), tensor.to_f32_vec().unwrap())
}

#[test]
fn convolutions_of_one_tensor_become_one_over_both_filters_and_a_split() {
    let outputs = ["x", "box_out", "cls_out"];
    let (graph, merged) = siblings(b"SAME", vec![], &outputs);
    assert_eq!(merged, [vec!["box".to_string(), "cls".to_string()]]);
    let conv = find(&graph, "box/merged");
    assert_eq!(conv.op, "_FusedConv2D");
    let (shape, filter) = values(&graph, &conv.input[1]);
    assert_eq!(shape, [3, 3, 3, 6]);
    // Each (kh, kw, c_in) row holds box's 4 output channels, then cls's 2.
    assert_eq!(&filter[..6], &[0.0, 1.0, 2.0, 3.0, 1000.0, 1001.0]);
    assert_eq!(&filter[6..12], &[4.0, 5.0, 6.0, 7.0, 1002.0, 1003.0]);
    assert_eq!(values(&graph, &conv.input[2]), (vec![6], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
    let split = find(&graph, "box/split");
    assert_eq!((split.op.as_str(), split.input[0].as_str()), ("SplitV", "box/merged"));
    assert_eq!(find(&graph, "box_out").input, ["box/split:0"]);
    assert_eq!(find(&graph, "cls_out").input, ["box/split:1"]);
    let sizes =
        Tensor::from_proto(tfmodel_core::graph::attr_tensor(find(&graph, &split.input[1]), "value").unwrap()).unwrap();
    assert_eq!(
        sizes.to_proto().tensor_content.as_ref(),
        [4i32, 2].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()
    );
    // The second convolution and its constants are gone.
    for gone in ["cls", "w_cls", "b_cls", "box"] {
        assert!(graph.node.iter().all(|n| n.name != gone), "{gone} is still there");
    }
}

#[test]
fn convolutions_that_differ_are_outputs_or_share_a_constant_stay_apart() {
    let outputs = ["x", "box_out", "cls_out"];
    assert!(siblings(b"VALID", vec![], &outputs).1.is_empty(), "another padding");
    assert!(siblings(b"SAME", vec![], &["x", "box_out", "cls_out", "cls"]).1.is_empty(), "an output");
    let reader = float_op("other", "Relu", &["w_cls"]);
    assert!(siblings(b"SAME", vec![reader], &["x", "box_out", "cls_out", "other"]).1.is_empty(), "a shared filter");
}
