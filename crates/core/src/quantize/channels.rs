//! Output channels of a weight, for int8's per-channel scales.

use std::collections::HashMap;

use crate::graph::{attr_bool, index_by_name, through_identities};
use crate::names::node_of;
use crate::proto::GraphDef;

/// Which axis of a weight holds its output channels, from the op that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChannelRole {
    /// Conv2D filters (HWIO), MatMul weights `[in, out]`, and everything else
    /// of rank 2 or more (vectors and scalars get a single scale).
    Last,
    /// MatMul weights used with `transpose_b` (`[out, in]`).
    First,
    /// DepthwiseConv2dNative filters `[H, W, Cin, M]`: channel `ci·M + m`,
    /// over the last two dims.
    Depthwise,
}

/// Element `i` belongs to channel `⌊i / inner⌋ mod count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Channels {
    pub(super) axis: usize,
    pub(super) count: usize,
    pub(super) inner: usize,
}

impl Channels {
    pub(super) fn of(shape: &[i64], role: ChannelRole) -> Channels {
        let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
        let rank = dims.len();
        // A vector has no channels to speak of: one scale per element would
        // cost four bytes of scale for each byte saved.
        if rank <= 1 {
            return Channels { axis: 0, count: 1, inner: 1 };
        }
        match role {
            ChannelRole::Depthwise if rank >= 2 => {
                Channels { axis: rank - 2, count: dims[rank - 2] * dims[rank - 1], inner: 1 }
            }
            ChannelRole::First => Channels { axis: 0, count: dims[0], inner: dims[1..].iter().product() },
            _ => Channels { axis: rank - 1, count: dims[rank - 1], inner: 1 },
        }
    }

    /// The layout an `Int8` encoding's `axis` and scale count describe.
    pub(super) fn from_encoding(shape: &[i64], axis: usize, count: usize) -> Channels {
        let elements: i64 = shape.iter().product();
        let outer: i64 = shape.get(..axis).map_or(1, |dims| dims.iter().product());
        let count = count.max(1);
        let inner = (elements as usize / (outer.max(1) as usize * count)).max(1);
        Channels { axis, count, inner }
    }

    pub(super) fn of_element(&self, i: usize) -> usize {
        (i / self.inner) % self.count
    }
}

/// The role of every `Const` that is the filter or weight input of a
/// convolution or matrix product, looking through `Identity` nodes.
pub(super) fn channel_roles(graph: &GraphDef) -> HashMap<&str, ChannelRole> {
    let index = index_by_name(graph);
    let mut roles = HashMap::new();
    for node in &graph.node {
        let role = match node.op.as_str() {
            "Conv2D" | "_FusedConv2D" | "Conv3D" => ChannelRole::Last,
            "DepthwiseConv2dNative" | "FusedDepthwiseConv2dNative" => ChannelRole::Depthwise,
            "MatMul" | "_FusedMatMul" if attr_bool(node, "transpose_b") == Some(true) => ChannelRole::First,
            "MatMul" | "_FusedMatMul" => ChannelRole::Last,
            _ => continue,
        };
        let Some(weight) = node.input.get(1) else { continue };
        if let Some(source) = const_behind(graph, &index, weight) {
            roles.entry(source).or_insert(role);
        }
    }
    roles
}

/// The constants added to a convolution's or matmul's output as its bias
/// (`BiasAdd`, or an `Add` of a vector), each with that op's weights when
/// they are a constant too. Biases follow their weights' encoding in
/// float16 and stay float32 in int8 (see `quantize`).
pub(super) fn biases(graph: &GraphDef) -> HashMap<&str, Option<&str>> {
    let index = index_by_name(graph);
    let weights_of = |input: &str| {
        let &i = index.get(node_of(input))?;
        let node = &graph.node[i];
        matches!(
            node.op.as_str(),
            "Conv2D"
                | "DepthwiseConv2dNative"
                | "MatMul"
                | "_FusedConv2D"
                | "FusedDepthwiseConv2dNative"
                | "_FusedMatMul"
        )
        .then(|| node.input.get(1).and_then(|w| const_behind(graph, &index, w)))
    };
    let mut found = HashMap::new();
    for node in &graph.node {
        let (bias, weights) = match (node.op.as_str(), node.input.as_slice()) {
            ("BiasAdd", [x, b, ..]) => (b, weights_of(x)),
            ("Add" | "AddV2", [a, b, ..]) if weights_of(a).is_some() => (b, weights_of(a)),
            ("Add" | "AddV2", [a, b, ..]) => (a, weights_of(b)),
            _ => continue,
        };
        let (Some(weights), Some(source)) = (weights, const_behind(graph, &index, bias)) else { continue };
        found.insert(source, weights);
    }
    found
}

fn const_behind<'g>(graph: &'g GraphDef, index: &HashMap<&str, usize>, input: &str) -> Option<&'g str> {
    let (_, node) = through_identities(graph, index, input)?;
    (node.op == "Const").then_some(node.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depthwise_channels_run_over_the_last_two_dims() {
        let channels = Channels::of(&[3, 3, 4, 2], ChannelRole::Depthwise);
        assert_eq!((channels.axis, channels.count, channels.inner), (2, 8, 1));
        assert_eq!(channels.of_element(9), 1);
        assert_eq!(Channels::from_encoding(&[3, 3, 4, 2], 2, 8), channels);
        assert_eq!(Channels::from_encoding(&[3, 3, 4, 8], 3, 8).inner, 1);
        assert_eq!(Channels::from_encoding(&[5, 7], 0, 5).inner, 7);
        assert_eq!(Channels::from_encoding(&[6], 0, 1).of_element(5), 0);
        let first = Channels::of(&[5, 7], ChannelRole::First);
        assert_eq!((first.count, first.inner, first.of_element(15)), (5, 7, 2));
    }
}
