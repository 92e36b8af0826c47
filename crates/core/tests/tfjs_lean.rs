//! TF.js-only leaner graphs: bypassed `Identity`s and constants stored once.

use std::collections::HashSet;

use tfmodel_core::emit::tfjs_lean::{bypass_identities, share_equal_constants};
use tfmodel_core::proto::{GraphDef, NodeDef};
use tfmodel_core::tensor::Tensor;

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
fn a_protected_constant_keeps_its_name() {
    let one = Tensor::from_f32(vec![1], &[1.0]);
    let mut graph = GraphDef { node: vec![const_node("a", &one), const_node("out", &one)], ..Default::default() };
    assert!(share_equal_constants(&mut graph, &protected(&["out"])).is_empty());
}
