//! TF.js-only leaner graphs: bypassed `Identity`s, reshape chains made one
//! `Reshape`, constants stored once, repeated computations made one, and
//! outputs that were an `Identity` of their node.

use std::collections::HashSet;

use bytes::Bytes;
use tfmodel_core::emit::tfjs_lean::{
    bypass_identities, collapse_reshapes, fold_global_means, merge_duplicates, name_outputs_by_their_identities,
    share_equal_constants,
};
use tfmodel_core::graph::attr_tensor;
use tfmodel_core::proto::{attr_value, AttrValue, DataType, GraphDef, NodeDef};
use tfmodel_core::tensor::{shape_proto, Tensor, TensorData};

mod common;
use common::{const_node, node};

fn protected(names: &[&str]) -> HashSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn find<'g>(graph: &'g GraphDef, name: &str) -> Option<&'g NodeDef> {
    graph.node.iter().find(|n| n.name == name)
}

#[test]
fn an_identity_only_read_by_data_is_bypassed_with_its_output_spelling() {
    let mut graph = GraphDef {
        node: vec![
            node("x", "Placeholder", &[]),
            node("split", "Split", &["x"]),
            node("read", "Identity", &["split:1", "^x"]),
            node("out", "Relu", &["read:0"]),
        ],
        ..Default::default()
    };
    assert_eq!(bypass_identities(&mut graph, &protected(&["x", "out"])), ["read"]);
    assert_eq!(find(&graph, "out").unwrap().input, ["split:1"]);
}

#[test]
fn identities_that_are_outputs_pivots_or_waited_on_stay() {
    let mut graph = GraphDef {
        node: vec![
            node("x", "Placeholder", &[]),
            node("p", "Placeholder", &[]),
            node("switch", "Switch", &["x", "p"]),
            node("pivot", "Identity", &["switch:1"]),
            node("branch", "Relu", &["pivot"]),
            node("waited", "Identity", &["x"]),
            node("c", "Const", &["^waited"]),
            node("y", "Identity", &["x"]),
        ],
        ..Default::default()
    };
    assert!(bypass_identities(&mut graph, &protected(&["x", "p", "y", "branch", "c"])).is_empty());
    assert_eq!(graph.node.len(), 8);
}

#[test]
fn equal_constants_are_stored_once_and_others_stay() {
    let one = Tensor::from_f32(vec![2], &[1.0, 2.0]);
    let other = Tensor::from_f32(vec![2], &[1.0, 3.0]);
    let mut in_frame = const_node("in_frame", &one);
    in_frame.input = vec!["^x".into()];
    let mut graph = GraphDef {
        node: vec![
            node("x", "Placeholder", &[]),
            const_node("a", &one),
            const_node("b", &one),
            const_node("c", &other),
            in_frame,
            node("sum", "AddN", &["a", "b", "c", "in_frame", "^b"]),
        ],
        ..Default::default()
    };
    assert_eq!(share_equal_constants(&mut graph, &protected(&["x", "sum"])), ["b"]);
    assert!(find(&graph, "b").is_none());
    assert_eq!(find(&graph, "sum").unwrap().input, ["a", "a", "c", "in_frame", "^a"]);
}

#[test]
fn large_constants_equal_where_the_fingerprint_samples_them_are_still_compared_whole() {
    // 256 KiB: fingerprinted from a sample; element 3000 (bytes 12000..12004) lies between the sampled chunks.
    let values: Vec<f32> = (0..65_536).map(|i| i as f32).collect();
    let mut changed = values.clone();
    changed[3000] = -1.0;
    let (one, other) = (Tensor::from_f32(vec![65_536], &values), Tensor::from_f32(vec![65_536], &changed));
    let mut graph = GraphDef {
        node: vec![
            const_node("a", &one),
            const_node("b", &other),
            const_node("c", &one),
            node("sum", "AddN", &["a", "b", "c"]),
        ],
        ..Default::default()
    };
    assert_eq!(share_equal_constants(&mut graph, &protected(&["sum"])), ["c"]);
    assert_eq!(find(&graph, "sum").unwrap().input, ["a", "b", "a"]);
}

#[test]
fn a_protected_constant_keeps_its_name() {
    let one = Tensor::from_f32(vec![1], &[1.0]);
    let mut graph = GraphDef { node: vec![const_node("a", &one), const_node("out", &one)], ..Default::default() };
    assert!(share_equal_constants(&mut graph, &protected(&["out"])).is_empty());
}

// ---- reshape chains --------------------------------------------------------------

fn placeholder(name: &str, dims: &[i64]) -> NodeDef {
    let mut n = node(name, "Placeholder", &[]);
    n.attr.insert("dtype".into(), AttrValue { value: Some(attr_value::Value::Type(DataType::DtFloat as i32)) });
    n.attr.insert("shape".into(), AttrValue { value: Some(attr_value::Value::Shape(shape_proto(dims))) });
    n
}

fn ints(name: &str, values: &[i32]) -> NodeDef {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let shape = if values.len() == 1 { vec![] } else { vec![values.len() as i64] };
    const_node(name, &Tensor { dtype: DataType::DtInt32, shape, data: TensorData::Raw(Bytes::from(bytes)) })
}

fn squeeze(name: &str, input: &str, axes: &[i64]) -> NodeDef {
    let mut n = node(name, "Squeeze", &[input]);
    let list = attr_value::ListValue { i: axes.to_vec(), ..Default::default() };
    n.attr.insert("squeeze_dims".into(), AttrValue { value: Some(attr_value::Value::List(list)) });
    n
}

/// The `Reshape` `name` became: what it reads, and the shape it reshapes to.
fn reshape_of(graph: &GraphDef, name: &str) -> (String, Vec<i32>) {
    let reshape = find(graph, name).unwrap();
    assert_eq!(reshape.op, "Reshape");
    let shape = find(graph, &reshape.input[1]).unwrap();
    let tensor = Tensor::from_proto(attr_tensor(shape, "value").unwrap()).unwrap();
    let values = tensor.raw().unwrap().chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
    (reshape.input[0].clone(), values)
}

#[test]
fn reshape_after_reshape_is_one_reshape_to_the_last_shape() {
    let mut graph = GraphDef {
        node: vec![
            placeholder("x", &[2, 3, 4]),
            ints("s1", &[6, 4]),
            node("r1", "Reshape", &["x", "s1"]),
            ints("s2", &[24]),
            node("r2", "Reshape", &["r1", "s2"]),
        ],
        ..Default::default()
    };
    assert_eq!(collapse_reshapes(&mut graph, &protected(&["x", "r2"])), ["r2"]);
    assert!(find(&graph, "r1").is_none());
    assert_eq!(reshape_of(&graph, "r2"), ("x".to_string(), vec![24]));
}

#[test]
fn squeeze_then_expand_dims_keeps_one_unknown_dim_as_minus_one() {
    let mut graph = GraphDef {
        node: vec![
            placeholder("x", &[-1, 1, 4]),
            squeeze("sq", "x", &[1]),
            ints("axis", &[-1]),
            node("ex", "ExpandDims", &["sq", "axis"]),
        ],
        ..Default::default()
    };
    assert_eq!(collapse_reshapes(&mut graph, &protected(&["x", "ex"])), ["ex"]);
    assert!(find(&graph, "sq").is_none());
    assert_eq!(reshape_of(&graph, "ex"), ("x".to_string(), vec![-1, 4, 1]));
}

#[test]
fn a_minus_one_in_the_chain_is_worked_out_from_a_known_input() {
    let mut graph = GraphDef {
        node: vec![
            placeholder("x", &[2, 3]),
            ints("zero", &[0]),
            node("ex", "ExpandDims", &["x", "zero"]),
            ints("flat", &[-1, 3]),
            node("r", "Reshape", &["ex", "flat"]),
            squeeze("sq", "r", &[]),
        ],
        ..Default::default()
    };
    assert_eq!(collapse_reshapes(&mut graph, &protected(&["x", "sq"])), ["sq"]);
    assert_eq!(graph.node.iter().filter(|n| n.op == "Reshape").count(), 1);
    assert_eq!(reshape_of(&graph, "sq"), ("x".to_string(), vec![2, 3]));
}

#[test]
fn chains_stay_when_a_link_is_shared_watched_or_their_shape_is_not_expressible() {
    let mut graph = GraphDef {
        node: vec![
            placeholder("x", &[-1, 1, 4]),
            placeholder("u", &[-1, -1, 1]),
            // read twice
            squeeze("shared", "x", &[1]),
            ints("axis", &[0]),
            node("ex1", "ExpandDims", &["shared", "axis"]),
            node("other", "Relu", &["shared"]),
            // an output itself
            squeeze("out_link", "x", &[1]),
            node("ex2", "ExpandDims", &["out_link", "axis"]),
            // waited on by control edge
            squeeze("waited", "x", &[1]),
            node("ex3", "ExpandDims", &["waited", "axis"]),
            node("after", "Relu", &["x", "^waited"]),
            // two unknown dims at the end
            squeeze("two", "u", &[2]),
            node("ex4", "ExpandDims", &["two", "axis"]),
            // which dims a bare Squeeze drops depends on the unknown one
            squeeze("bare", "x", &[]),
            node("ex5", "ExpandDims", &["bare", "axis"]),
        ],
        ..Default::default()
    };
    let keep = protected(&["x", "u", "ex1", "other", "out_link", "ex2", "ex3", "after", "ex4", "ex5"]);
    let before = graph.node.clone();
    assert!(collapse_reshapes(&mut graph, &keep).is_empty());
    assert_eq!(graph.node, before);
}

#[test]
fn a_pure_op_computed_twice_from_the_same_inputs_is_computed_once() {
    let mut graph = GraphDef {
        node: vec![
            node("x", "Placeholder", &[]),
            const_node("two", &Tensor::from_f32(vec![], &[2.0])),
            node("half", "RealDiv", &["x", "two"]),
            node("half_again", "RealDiv", &["x", "two"]),
            node("low", "Sub", &["x", "half"]),
            node("high", "AddV2", &["x", "half_again:0", "^half_again"]),
        ],
        ..Default::default()
    };
    assert_eq!(merge_duplicates(&mut graph, &protected(&["x", "low", "high"])), ["half_again"]);
    assert!(find(&graph, "half_again").is_none());
    assert_eq!(find(&graph, "high").unwrap().input, ["x", "half", "^half"]);
}

#[test]
fn repeats_stay_when_their_inputs_attrs_or_op_differ_or_they_are_protected() {
    let mut with_attr = node("b", "Cast", &["x"]);
    with_attr.attr.insert("DstT".into(), AttrValue { value: Some(attr_value::Value::Type(DataType::DtInt32 as i32)) });
    let mut graph = GraphDef {
        node: vec![
            node("x", "Placeholder", &[]),
            node("y", "Placeholder", &[]),
            node("a", "Cast", &["x"]),
            with_attr,
            node("swapped", "Sub", &["x", "y"]),
            node("swapped_back", "Sub", &["y", "x"]),
            node("random", "RandomUniform", &["x"]),
            node("random_again", "RandomUniform", &["x"]),
            node("relu", "Relu", &["x"]),
            node("relu_output", "Relu", &["x"]),
        ],
        ..Default::default()
    };
    let before = graph.clone();
    assert!(merge_duplicates(&mut graph, &protected(&["x", "y", "relu_output"])).is_empty());
    assert_eq!(graph, before);
}

#[test]
fn an_output_identity_of_a_node_nothing_else_reads_becomes_that_node() {
    let mut graph = GraphDef {
        node: vec![
            node("x", "Placeholder", &[]),
            node("Reshape_4", "Reshape", &["x", "shape"]),
            node("detection_boxes", "Identity", &["Reshape_4"]),
        ],
        ..Default::default()
    };
    assert_eq!(
        name_outputs_by_their_identities(&mut graph, &protected(&["x", "detection_boxes"])),
        ["detection_boxes"]
    );
    assert_eq!(graph.node.len(), 2);
    let renamed = find(&graph, "detection_boxes").unwrap();
    assert_eq!(
        (renamed.op.as_str(), renamed.input.as_slice()),
        ("Reshape", ["x".to_string(), "shape".to_string()].as_slice())
    );
}

#[test]
fn output_identities_stay_when_their_node_has_other_readers_or_is_an_input_or_output() {
    let mut graph = GraphDef {
        node: vec![
            node("x", "Placeholder", &[]),
            node("a", "Relu", &["x"]),
            node("a_out", "Identity", &["a"]),
            node("also", "Neg", &["a"]),
            node("b", "Relu", &["x"]),
            node("b_out", "Identity", &["b"]),
            node("split", "Split", &["x"]),
            node("second", "Identity", &["split:1"]),
            node("x_out", "Identity", &["x"]),
        ],
        ..Default::default()
    };
    let before = graph.clone();
    let kept = protected(&["x", "a_out", "also", "b", "b_out", "second", "x_out"]);
    assert!(name_outputs_by_their_identities(&mut graph, &kept).is_empty());
    assert_eq!(graph, before);
}

// ---- global means into dense layers ----------------------------------------------

fn with_attr(mut n: NodeDef, name: &str, value: attr_value::Value) -> NodeDef {
    n.attr.insert(name.into(), AttrValue { value: Some(value) });
    n
}

fn float_attr(n: NodeDef) -> NodeDef {
    with_attr(n, "T", attr_value::Value::Type(DataType::DtFloat as i32))
}

/// `x [1, 2, 3, 2] → Mean over (1, 2) → MatMul by w [2, 3] → BiasAdd`, with
/// `extra` nodes and the weights `w`.
fn pooled_head(w: &[f32], axes: &[i32], extra: Vec<NodeDef>) -> GraphDef {
    let mut nodes = vec![
        placeholder("x", &[1, 2, 3, 2]),
        ints("axes", axes),
        float_attr(node("mean", "Mean", &["x", "axes"])),
        const_node("w", &Tensor::from_f32(vec![2, (w.len() / 2) as i64], w)),
        float_attr(node("logits", "MatMul", &["mean", "w"])),
    ];
    nodes.extend(extra);
    GraphDef { node: nodes, ..Default::default() }
}

const W: [f32; 6] = [1.0, -2.0, 0.5, 3.0, 0.25, -1.0];

#[test]
fn a_global_mean_into_a_dense_layer_becomes_a_reshape_and_the_weights_repeated_per_position() {
    let mut graph = pooled_head(&W, &[1, 2], vec![]);
    assert_eq!(fold_global_means(&mut graph, &protected(&["x", "logits"])), ["mean"]);
    let mean = find(&graph, "mean").unwrap();
    assert_eq!(mean.op, "Reshape");
    let shape = find(&graph, &mean.input[1]).unwrap();
    let shape = Tensor::from_proto(attr_tensor(shape, "value").unwrap()).unwrap();
    assert_eq!(
        shape.to_proto().tensor_content.as_ref(),
        [-1i32, 12].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>()
    );
    let weights = Tensor::from_proto(attr_tensor(find(&graph, "w").unwrap(), "value").unwrap()).unwrap();
    assert_eq!(weights.shape, [12, 3]);
    // x · w' over the flattened map is the mean of x over H and W, then · w.
    let x: Vec<f32> = (0..12).map(|i| (i as f32 * 0.37).sin()).collect();
    let folded = weights.to_f32_vec().unwrap();
    for u in 0..3 {
        let want: f32 = (0..2).map(|c| (0..6).map(|p| x[p * 2 + c]).sum::<f32>() / 6.0 * W[c * 3 + u]).sum();
        let got: f32 = (0..12).map(|k| x[k] * folded[k * 3 + u]).sum();
        assert!((want - got).abs() < 1e-6, "unit {u}: {got} against {want}");
    }
}

#[test]
fn means_read_twice_kept_as_outputs_over_other_axes_or_into_large_or_shared_weights_stay() {
    let keep = |graph: &mut GraphDef, protect: &[&str]| {
        assert!(fold_global_means(graph, &protected(protect)).is_empty());
        assert_eq!(find(graph, "mean").unwrap().op, "Mean");
    };
    keep(&mut pooled_head(&W, &[1, 2], vec![float_attr(node("other", "Relu", &["mean"]))]), &["x", "logits", "other"]);
    keep(&mut pooled_head(&W, &[1, 2], vec![]), &["x", "logits", "mean"]);
    keep(&mut pooled_head(&W, &[1], vec![]), &["x", "logits"]);
    keep(
        &mut pooled_head(&W, &[1, 2], vec![float_attr(node("again", "MatMul", &["x", "w"]))]),
        &["x", "logits", "again"],
    );
    let large = vec![0.5f32; 2 * 1400];
    keep(&mut pooled_head(&large, &[1, 2], vec![]), &["x", "logits"]);
    let mut kept_dims = pooled_head(&W, &[1, 2], vec![]);
    kept_dims.node[2] = with_attr(kept_dims.node[2].clone(), "keep_dims", attr_value::Value::B(true));
    keep(&mut kept_dims, &["x", "logits"]);
    let mut transposed = pooled_head(&W, &[1, 2], vec![]);
    transposed.node[4] = with_attr(transposed.node[4].clone(), "transpose_b", attr_value::Value::B(true));
    keep(&mut transposed, &["x", "logits"]);
}
