//! Helpers shared by the integration tests: the fixtures (`fixtures/`, see
//! `fixtures/generate.py`) and tiny GraphDef builders.

// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use tfmodel_core::freeze::{FreezeOptions, FrozenGraph};
use tfmodel_core::graph::{tensor_attr, type_attr};
use tfmodel_core::pipeline::{self, ModelFiles};
use tfmodel_core::proto::{GraphDef, NodeDef};
use tfmodel_core::tensor::Tensor;

// ---- the fixtures -----------------------------------------------------------------------

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `fixtures/manifest.json` (run `fixtures/generate.py` to write it).
pub fn manifest() -> Value {
    read_json(&fixtures_dir().join("manifest.json"))
}

/// A JSON list of strings; anything else is the empty list.
pub fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect()).unwrap_or_default()
}

/// The files of fixture `name` (its manifest entry `entry`).
pub fn fixture_files(name: &str, entry: &Value) -> ModelFiles {
    let dir = fixtures_dir().join(name);
    ModelFiles {
        input_graph: entry["graph"].as_str().map(|g| dir.join(g)),
        input_binary: None,
        input_checkpoint: entry["checkpoint"].as_str().map(|c| dir.join(c)),
        input_meta_graph: entry["meta"].as_str().map(|m| dir.join(m)),
        ..Default::default()
    }
}

/// Fixture `name` (its manifest entry `entry`) frozen by our own pipeline,
/// with the outputs the manifest names.
pub fn freeze_fixture(name: &str, entry: &Value) -> FrozenGraph {
    let files = fixture_files(name, entry);
    let options = FreezeOptions { output_node_names: strings(&entry["output_node_names"]), ..Default::default() };
    pipeline::freeze(&files, &options).unwrap_or_else(|e| panic!("freezing {name}: {e}"))
}

/// Fixture `name` frozen by our own pipeline, with the outputs the manifest names.
pub fn frozen_fixture(name: &str) -> FrozenGraph {
    freeze_fixture(name, &manifest()["fixtures"][name])
}

// ---- tiny graphs ------------------------------------------------------------------------

/// A node without attrs.
pub fn node(name: &str, op: &str, inputs: &[&str]) -> NodeDef {
    NodeDef {
        name: name.to_string(),
        op: op.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// A `Const` holding `tensor`.
pub fn const_node(name: &str, tensor: &Tensor) -> NodeDef {
    let mut node = node(name, "Const", &[]);
    node.attr.insert("dtype".into(), type_attr(tensor.dtype));
    node.attr.insert("value".into(), tensor_attr(tensor.to_proto()));
    node
}

pub fn graph_of(nodes: Vec<NodeDef>) -> GraphDef {
    GraphDef { node: nodes, ..Default::default() }
}

pub fn find<'a>(graph: &'a GraphDef, name: &str) -> &'a NodeDef {
    graph.node.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
}
