//! (a) The decomposed form `tf.nn.batch_normalization` builds, fused into one `FusedBatchNormV3`.

use super::super::edit;
use super::super::{Log, Protected, Rewrite};
use super::*;
use crate::graph;
use crate::proto::{attr_value, AttrValue, DataType, GraphDef, NodeDef};
use crate::tensor::Tensor;

/// A decomposed batch norm, by input string.
struct Decomposed {
    add: usize,
    x: String,
    gamma: Option<String>,
    beta: String,
    mean: String,
    variance: String,
    epsilon: f32,
    /// Name scope of `S`, where a missing gamma is created.
    scope: String,
    channels: usize,
}

pub(crate) fn fuse_decomposed(graph: &mut GraphDef, protected: &Protected, log: &mut Log) {
    let (adds, _) = candidates(graph, |n| ADD_OPS.contains(&n.op.as_str()));
    for name in adds {
        let view = View::new(&graph.node);
        let Some(found) = view.position(&name).and_then(|add| match_decomposed(&view, add, protected)) else {
            continue;
        };
        drop(view);
        replace_by_fused(graph, found);
        log.applied(Rewrite::FusedDecomposedBatchNorm { node: name });
    }
}

fn match_decomposed(view: &View, add: usize, protected: &Protected) -> Option<Decomposed> {
    let [a, b] = view.operands(&view.nodes[add], &ADD_OPS)?;
    let (scaled, shifted) = [(a.clone(), b.clone()), (b, a)]
        .into_iter()
        .find(|(m, s)| view.op_of(m) == Some("Mul") && view.op_of(s) == Some("Sub"))?;
    let [beta, mean_times_s] = view.operands(view.producer(&shifted)?, &["Sub"])?;
    let [m1, m2] = view.operands(view.producer(&scaled)?, &["Mul"])?;
    let [n1, n2] = view.operands(view.producer(&mean_times_s)?, &["Mul"])?;
    // `S` is the operand both products share.
    let (x, s, mean) = [(&m1, &m2), (&m2, &m1)]
        .into_iter()
        .find_map(|(x, s)| [(&n1, &n2), (&n2, &n1)].into_iter().find(|(t, _)| *t == s).map(|(_, mean)| (x, s, mean)))?;
    let scale = match_scale(view, s)?;
    let channels = view.float_vector(&scale.variance)?.len();
    let vectors = [Some(&beta), Some(mean), scale.gamma.as_ref()];
    if !vectors.into_iter().flatten().all(|v| view.float_vector(v).is_some_and(|v| v.len() == channels)) {
        return None;
    }
    let intermediates = [&scaled, &shifted, &mean_times_s, s, &scale.rsqrt, &scale.variance_plus_eps];
    if intermediates.iter().any(|i| protected.contains(i)) || !follows_nhwc_conv(view, x) {
        return None;
    }
    Some(Decomposed {
        add,
        x: x.clone(),
        gamma: scale.gamma,
        beta,
        mean: mean.clone(),
        variance: scale.variance,
        epsilon: scale.epsilon,
        scope: s.rsplit_once('/').map(|(scope, _)| scope.to_string()).unwrap_or_default(),
        channels,
    })
}

/// `S = gamma · rsqrt(var + eps)`, or `rsqrt(var + eps)` without gamma.
struct Scale {
    gamma: Option<String>,
    rsqrt: String,
    variance_plus_eps: String,
    variance: String,
    epsilon: f32,
}

fn match_scale(view: &View, s: &str) -> Option<Scale> {
    let (gamma, rsqrt) = match view.op_of(s)? {
        "Rsqrt" => (None, s.to_string()),
        "Mul" => {
            let [p, q] = view.operands(view.producer(s)?, &["Mul"])?;
            let (rsqrt, gamma) =
                [(p.clone(), q.clone()), (q, p)].into_iter().find(|(r, _)| view.op_of(r) == Some("Rsqrt"))?;
            (Some(gamma), rsqrt)
        }
        _ => return None,
    };
    let variance_plus_eps = edit::canonical_input(edit::data_inputs(view.producer(&rsqrt)?).next()?);
    let [v, e] = view.operands(view.producer(&variance_plus_eps)?, &ADD_OPS)?;
    let (variance, epsilon) =
        [(&v, &e), (&e, &v)].into_iter().find_map(|(v, e)| Some((v.clone(), view.float_scalar(e)?)))?;
    Some(Scale { gamma, rsqrt, variance_plus_eps, variance, epsilon })
}

/// `FusedBatchNorm` needs a 4-D NHWC input: `x` must be (or directly read)
/// an NHWC `Conv2D`/`DepthwiseConv2dNative`.
fn follows_nhwc_conv(view: &View, x: &str) -> bool {
    let is_conv = |input: &str| {
        view.producer(input)
            .is_some_and(|n| matches!(n.op.as_str(), "Conv2D" | "DepthwiseConv2dNative") && data_format(n) == "NHWC")
    };
    is_conv(x)
        || view.producer(x).is_some_and(|n| {
            BIAS_OPS.contains(&n.op.as_str()) && edit::data_inputs(n).any(|i| is_conv(i)) && data_format(n) == "NHWC"
        })
}

fn replace_by_fused(graph: &mut GraphDef, found: Decomposed) {
    let mut taken = edit::node_names(&graph.node);
    let mut new_gamma = None;
    let gamma = found.gamma.unwrap_or_else(|| {
        let name = edit::unique_name(format!("{}/gamma", found.scope).trim_start_matches('/'), &mut taken);
        let ones = Tensor::from_f32(vec![found.channels as i64], &vec![1.0; found.channels]);
        new_gamma = Some(graph::constant(&name, &ones));
        name
    });
    let old = &graph.node[found.add];
    let mut fused = NodeDef { name: old.name.clone(), op: "FusedBatchNormV3".to_string(), ..Default::default() };
    fused.input = vec![found.x, gamma, found.beta, found.mean, found.variance];
    fused.input.extend(edit::control_inputs(old).cloned());
    for (name, value) in [
        ("T", attr_value::Value::Type(DataType::DtFloat as i32)),
        ("U", attr_value::Value::Type(DataType::DtFloat as i32)),
        ("epsilon", attr_value::Value::F(found.epsilon)),
        ("exponential_avg_factor", attr_value::Value::F(1.0)),
        ("is_training", attr_value::Value::B(false)),
        ("data_format", attr_value::Value::S(b"NHWC".to_vec())),
    ] {
        fused.attr.insert(name.to_string(), AttrValue { value: Some(value) });
    }
    graph.node[found.add] = fused;
    graph.node.splice(found.add..found.add, new_gamma);
}
