//! Helpers the unit tests share for building small graphs by hand.

use crate::proto::NodeDef;

/// A node with no attributes: `node("relu", "Relu", &["conv"])`.
pub(crate) fn node(name: &str, op: &str, inputs: &[&str]) -> NodeDef {
    NodeDef {
        name: name.into(),
        op: op.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}
