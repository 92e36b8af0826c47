//! (b) Inference-mode batch norms folded into the conv before them, or turned into `Mul` + `Add`.

use super::super::edit;
use super::super::{Log, Protected, Rewrite};
use super::*;
use crate::graph::{self, attr_bool, attr_type};
use crate::proto::{DataType, GraphDef, NodeDef};
use crate::tensor::Tensor;

pub(crate) fn fold(graph: &mut GraphDef, protected: &Protected, log: &mut Log) {
    let is_batch_norm = |n: &NodeDef| FUSED_BATCH_NORM_OPS.contains(&n.op.as_str()) || n.op == GLOBAL_NORMALIZATION;
    let (batch_norms, in_loops) = candidates(graph, is_batch_norm);
    for name in in_loops {
        log.warn(format!("kept batch norm {name}: it runs inside a while loop"));
    }
    for name in batch_norms {
        fold_batch_norm(graph, &name, protected, log);
    }
    let (affine_ends, _) = candidates(graph, |n| BIAS_OPS.contains(&n.op.as_str()));
    for name in affine_ends {
        fold_affine(graph, &name, protected, log);
    }
}

/// An inference-mode batch norm's parameters.
struct BatchNorm {
    index: usize,
    /// The normalized input (canonical input string).
    input: String,
    mean: Vec<f32>,
    variance: Vec<f32>,
    beta: Vec<f32>,
    /// `None` when `scale_after_normalization` is false.
    gamma: Option<Vec<f32>>,
    epsilon: f32,
    data_format: String,
}

/// Per output channel: multiply by `scale`, then add `offset`.
struct Folding {
    scale: Vec<f64>,
    offset: Vec<f64>,
}

impl BatchNorm {
    fn channels(&self) -> usize {
        self.mean.len()
    }

    /// `s = (1 / sqrt(f32(var + eps))) · gamma`, `o = beta − (mean − bias)·s`.
    fn folding(&self, bias: Option<&[f32]>) -> Folding {
        let scale: Vec<f64> = (0..self.channels())
            .map(|c| {
                let gamma = self.gamma.as_ref().map_or(1.0, |g| f64::from(g[c]));
                (1.0 / f64::from(self.variance[c] + self.epsilon).sqrt()) * gamma
            })
            .collect();
        let offset = (0..self.channels())
            .map(|c| {
                let mean = bias.map_or(self.mean[c], |b| self.mean[c] - b[c]);
                -f64::from(mean) * scale[c] + f64::from(self.beta[c])
            })
            .collect();
        Folding { scale, offset }
    }
}

fn fold_batch_norm(graph: &mut GraphDef, name: &str, protected: &Protected, log: &mut Log) {
    let view = View::new(&graph.node);
    let Some(index) = view.position(name) else { return };
    let batch_norm = match read_batch_norm(&view, index) {
        Ok(batch_norm) => batch_norm,
        Err(reason) => {
            let tfjs = if view.nodes[index].op == GLOBAL_NORMALIZATION { "; TF.js cannot run it" } else { "" };
            log.warn(format!("kept batch norm {name}: {reason}{tfjs}"));
            return;
        }
    };
    match find_conv(&view, &batch_norm.input, Some(batch_norm.channels()), &batch_norm.data_format, protected) {
        Ok(conv) => {
            let folding = batch_norm.folding(conv.bias.as_ref().map(|b| b.values.as_slice()));
            let conv_name = view.nodes[conv.index].name.clone();
            drop(view);
            fold_into_conv(graph, index, &conv, &folding, &[]);
            log.applied(Rewrite::FoldedBatchNorm { node: name.to_string(), into: conv_name });
        }
        Err(reason) => {
            drop(view);
            replace_by_mul_add(graph, &batch_norm);
            log.applied(Rewrite::BatchNormToMulAdd { node: name.to_string(), why: reason });
        }
    }
}

fn read_batch_norm(view: &View, index: usize) -> Result<BatchNorm, String> {
    let node = &view.nodes[index];
    let global = node.op == GLOBAL_NORMALIZATION;
    if !global && attr_bool(node, "is_training").unwrap_or(true) {
        return Err("it runs in training mode (is_training is true or unset)".to_string());
    }
    if attr_type(node, "T") != Some(DataType::DtFloat) {
        return Err("it does not normalize float32".to_string());
    }
    if view.consumers.data(&node.name).any(|e| e.port != Some(0)) {
        return Err("its batch statistics outputs are read".to_string());
    }
    let data_format = if global { "NHWC".to_string() } else { data_format(node) };
    if data_format != "NHWC" && data_format != "NCHW" {
        return Err(format!("data_format {data_format} is not NHWC or NCHW"));
    }
    let inputs: Vec<&String> = edit::data_inputs(node).collect();
    let [x, a, b, c, d] = inputs.as_slice() else {
        return Err("it does not have five inputs".to_string());
    };
    // Input order: FusedBatchNorm* is (x, gamma, beta, mean, var);
    // BatchNormWithGlobalNormalization is (x, mean, var, beta, gamma).
    let (gamma, beta, mean, variance) = if global { (d, c, a, b) } else { (a, b, c, d) };
    let vector = |input: &str, what: &str| {
        view.float_vector(input).ok_or_else(|| format!("its {what} is not a constant vector"))
    };
    let scale_after = !global || attr_bool(node, "scale_after_normalization").unwrap_or(true);
    let epsilon_attr = if global { "variance_epsilon" } else { "epsilon" };
    let batch_norm = BatchNorm {
        index,
        input: edit::canonical_input(x),
        mean: vector(mean, "mean")?,
        variance: vector(variance, "variance")?,
        beta: vector(beta, "beta")?,
        gamma: if scale_after { Some(vector(gamma, "gamma")?) } else { None },
        epsilon: attr_f32(node, epsilon_attr).unwrap_or(DEFAULT_EPSILON),
        data_format,
    };
    let channels = batch_norm.channels();
    let lengths =
        [batch_norm.variance.len(), batch_norm.beta.len(), batch_norm.gamma.as_ref().map_or(channels, Vec::len)];
    if lengths.iter().any(|&n| n != channels) {
        return Err("its parameters differ in length".to_string());
    }
    Ok(batch_norm)
}

/// `x · s + o` with per-channel constants, the add named as the batch norm.
fn replace_by_mul_add(graph: &mut GraphDef, batch_norm: &BatchNorm) {
    let folding = batch_norm.folding(None);
    let channels = batch_norm.channels() as i64;
    // NCHW puts channels before the spatial dims; a [C] constant would broadcast over W.
    let shape = if batch_norm.data_format == "NCHW" { vec![channels, 1, 1] } else { vec![channels] };
    let rounded = |values: &[f64]| values.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let old = &graph.node[batch_norm.index];
    let name = old.name.clone();
    let control: Vec<String> = edit::control_inputs(old).cloned().collect();
    let mut taken = edit::node_names(&graph.node);
    let scale_name = edit::unique_name(&format!("{name}/scale"), &mut taken);
    let offset_name = edit::unique_name(&format!("{name}/offset"), &mut taken);
    let mul_name = edit::unique_name(&format!("{name}/mul"), &mut taken);
    let scale = graph::constant(&scale_name, &Tensor::from_f32(shape.clone(), &rounded(&folding.scale)));
    let offset = graph::constant(&offset_name, &Tensor::from_f32(shape, &rounded(&folding.offset)));
    let mul = float_op(&mul_name, "Mul", vec![batch_norm.input.clone(), scale_name]);
    let mut add = float_op(&name, "Add", vec![mul_name, offset_name]);
    add.input.extend(control);
    graph.node[batch_norm.index] = add;
    graph.node.splice(batch_norm.index..batch_norm.index, [scale, offset, mul]);
}

fn float_op(name: &str, op: &str, input: Vec<String>) -> NodeDef {
    let mut node = NodeDef { name: name.to_string(), op: op.to_string(), input, ..Default::default() };
    node.attr.insert("T".to_string(), graph::type_attr(DataType::DtFloat));
    node
}

/// `Add|AddV2|BiasAdd(Mul(conv, S), O)` with constant per-channel `S` and
/// `O`: what a decomposed batch norm leaves once its constants are folded.
fn fold_affine(graph: &mut GraphDef, name: &str, protected: &Protected, log: &mut Log) {
    let view = View::new(&graph.node);
    let Some(index) = view.position(name) else { return };
    let Some((mul, conv, folding)) = match_affine(&view, index, protected) else { return };
    let extra_control: Vec<String> = edit::control_inputs(&view.nodes[mul]).cloned().collect();
    let conv_name = view.nodes[conv.index].name.clone();
    drop(view);
    fold_into_conv(graph, index, &conv, &folding, &extra_control);
    log.applied(Rewrite::FoldedAffine { node: name.to_string(), into: conv_name });
}

fn match_affine(view: &View, index: usize, protected: &Protected) -> Option<(usize, ConvMatch, Folding)> {
    // The end node may be protected: it keeps its name and its values.
    let node = &view.nodes[index];
    let [p, q] = view.operands(node, &BIAS_OPS)?;
    let orders = if node.op == "BiasAdd" { vec![(p, q)] } else { vec![(p.clone(), q.clone()), (q, p)] };
    let (product, offset) =
        orders.into_iter().find(|(m, o)| view.op_of(m) == Some("Mul") && view.float_const(o).is_some())?;
    let mul = view.producer_index(&product)?;
    if protected.contains(&view.nodes[mul].name) || !view.has_single_reader(&view.nodes[mul].name) {
        return None;
    }
    let [a, b] = view.operands(&view.nodes[mul], &["Mul"])?;
    let (x, scale) = [(&a, &b), (&b, &a)].into_iter().find(|(_, s)| view.float_const(s).is_some())?;
    let conv = find_conv(view, x, None, "NHWC", protected).ok()?;
    if node.op == "BiasAdd" && data_format(node) != "NHWC" {
        return None;
    }
    let rank = conv.kind.output_rank();
    let scale = per_channel(&view.float_const(scale)?, conv.channels, rank)?;
    let offset = per_channel(&view.float_const(&offset)?, conv.channels, rank)?;
    let bias = conv.bias.as_ref().map(|b| b.values.as_slice());
    let folding = Folding {
        scale: scale.iter().map(|&s| f64::from(s)).collect(),
        offset: (0..conv.channels)
            .map(|c| f64::from(offset[c]) + bias.map_or(0.0, |b| f64::from(b[c]) * f64::from(scale[c])))
            .collect(),
    };
    Some((mul, conv, folding))
}

/// A constant that scales or shifts each of `channels` channel-last
/// channels: a scalar, or `[.., 1, C]`, no more dims than the output has.
fn per_channel(tensor: &Tensor, channels: usize, output_rank: usize) -> Option<Vec<f32>> {
    let values = tensor.to_f32_vec().filter(|_| tensor.dtype == DataType::DtFloat)?;
    let (last, leading) = tensor.shape.split_last().map_or((1, &[][..]), |(l, rest)| (*l, rest));
    if tensor.shape.len() > output_rank || leading.iter().any(|&d| d != 1) {
        return None;
    }
    match last as usize {
        1 => Some(vec![values[0]; channels]),
        n if n == channels => Some(values),
        _ => None,
    }
}

// ---- the conv before a batch norm ----------------------------------------------------

#[derive(Clone, Copy)]
enum ConvKind {
    /// HWIO filter: channel = last axis.
    Conv2D,
    /// `[H, W, Cin, M]` filter: channel `ci·M + m`, also the last two axes flattened.
    Depthwise,
    /// `[in, out]` weights, or `[out, in]` with `transpose_b`.
    MatMul { transpose_b: bool },
}

impl ConvKind {
    fn output_rank(self) -> usize {
        match self {
            ConvKind::MatMul { .. } => 2,
            _ => 4,
        }
    }
}

struct Bias {
    index: usize,
    values: Vec<f32>,
}

struct ConvMatch {
    index: usize,
    kind: ConvKind,
    /// The filter `Const` and its value.
    filter: usize,
    weights: Tensor,
    /// Nothing but this conv reads the filter.
    filter_exclusive: bool,
    channels: usize,
    /// A constant bias added between the conv and the batch norm.
    bias: Option<Bias>,
}

/// The conv (or MatMul) whose output `input` is, possibly through a
/// constant bias add, if its weights can absorb a per-channel scale: a
/// constant float32 filter, and no reader but the way to the batch norm.
fn find_conv(
    view: &View,
    input: &str,
    channels: Option<usize>,
    layout: &str,
    protected: &Protected,
) -> Result<ConvMatch, String> {
    let producer = view.producer(input).ok_or("it does not follow a conv")?;
    let (conv_input, bias) = match split_bias(view, producer, protected) {
        Some((conv_input, bias)) => (conv_input, Some(bias)),
        None => (input.to_string(), None),
    };
    let index = view.producer_index(&conv_input).ok_or("it does not follow a conv")?;
    let conv = &view.nodes[index];
    if !CONV_OPS.contains(&conv.op.as_str()) {
        return Err(format!("it follows {} ({}), not a conv or MatMul", conv.name, conv.op));
    }
    if protected.contains(&conv.name) || !view.has_single_reader(&conv.name) {
        return Err(format!("{}'s output has other readers", conv.name));
    }
    if attr_type(conv, "T") != Some(DataType::DtFloat) {
        return Err(format!("{} is not float32", conv.name));
    }
    let conv_layout = if conv.op == "MatMul" { "NHWC".to_string() } else { data_format(conv) };
    if conv_layout != layout {
        return Err(format!("{} is {conv_layout}, the batch norm {layout}", conv.name));
    }
    let filter = edit::data_inputs(conv).nth(1).ok_or("the conv has no filter")?;
    let weights = view.float_const(filter).ok_or_else(|| format!("{}'s filter is not a constant", conv.name))?;
    let (kind, found) =
        conv_channels(conv, &weights).ok_or_else(|| format!("{}'s filter has an unexpected shape", conv.name))?;
    if channels.is_some_and(|c| c != found) || bias.as_ref().is_some_and(|b| b.values.len() != found) {
        return Err(format!("{} has {found} output channels", conv.name));
    }
    let filter_index = view.producer_index(filter).ok_or("the conv has no filter")?;
    let filter_exclusive = view.has_single_reader(filter) && !protected.contains(&view.nodes[filter_index].name);
    Ok(ConvMatch { index, kind, filter: filter_index, weights, filter_exclusive, channels: found, bias })
}

/// `BiasAdd|Add|AddV2(conv, constant)`: the conv's input string and the bias,
/// if the add has no other reader and its bias is a constant vector.
fn split_bias(view: &View, node: &NodeDef, protected: &Protected) -> Option<(String, Bias)> {
    let [p, q] = view.operands(node, &BIAS_OPS)?;
    let orders = if node.op == "BiasAdd" { vec![(p, q)] } else { vec![(p.clone(), q.clone()), (q, p)] };
    let (conv_input, bias) = orders
        .into_iter()
        .find(|(c, b)| view.op_of(c).is_some_and(|op| CONV_OPS.contains(&op)) && view.float_vector(b).is_some())?;
    if protected.contains(&node.name) || !view.has_single_reader(&node.name) {
        return None;
    }
    // BiasAdd adds along its data_format's channel axis; Add broadcasts a
    // [C] vector along the last axis, which is the channel axis only in NHWC.
    let conv = view.producer(&conv_input)?;
    let conv_layout = if conv.op == "MatMul" { "NHWC".to_string() } else { data_format(conv) };
    let bias_layout = if node.op == "BiasAdd" { data_format(node) } else { "NHWC".to_string() };
    if bias_layout != conv_layout {
        return None;
    }
    Some((conv_input, Bias { index: view.position(&node.name)?, values: view.float_vector(&bias)? }))
}

fn conv_channels(conv: &NodeDef, weights: &Tensor) -> Option<(ConvKind, usize)> {
    let dims: Vec<usize> = weights.shape.iter().map(|&d| d as usize).collect();
    match (conv.op.as_str(), dims.as_slice()) {
        ("Conv2D", [_, _, _, out]) => Some((ConvKind::Conv2D, *out)),
        ("DepthwiseConv2dNative", [_, _, cin, multiplier]) => Some((ConvKind::Depthwise, cin * multiplier)),
        ("MatMul", [rows, cols]) => {
            let transpose_b = attr_bool(conv, "transpose_b").unwrap_or(false);
            Some((ConvKind::MatMul { transpose_b }, if transpose_b { *rows } else { *cols }))
        }
        _ => None,
    }
}

/// `W' = f32(W · s)` along the output-channel axis.
fn scale_weights(conv: &ConvMatch, scale: &[f64]) -> Tensor {
    let weights = conv.weights.to_f32_vec().unwrap_or_default();
    let inner = match conv.kind {
        // [out, in]: row `o` holds channel `o`.
        ConvKind::MatMul { transpose_b: true } => conv.weights.shape.get(1).copied().unwrap_or(1) as usize,
        _ => 1,
    };
    let channel = |flat: usize| match conv.kind {
        ConvKind::MatMul { transpose_b: true } => flat / inner,
        // HWIO, [H, W, Cin, M] and [in, out] all end with the channel axis (or axes).
        _ => flat % conv.channels,
    };
    let scaled: Vec<f32> =
        weights.iter().enumerate().map(|(i, &w)| (f64::from(w) * scale[channel(i)]) as f32).collect();
    Tensor::from_f32(conv.weights.shape.clone(), &scaled)
}

/// The conv reads `<conv>_weights` = `W·s`; node `target` becomes
/// `BiasAdd(conv, <conv>_bn_offset)` under its own name, so its readers are
/// untouched. What it read before is left for pruning. A filter already
/// named `<conv>_weights` (a depthwise conv `x/depthwise` reading
/// `x/depthwise_weights`) is rewritten in place when only this conv reads it.
fn fold_into_conv(graph: &mut GraphDef, target: usize, conv: &ConvMatch, folding: &Folding, extra_control: &[String]) {
    let mut taken = edit::node_names(&graph.node);
    let conv_node = &graph.node[conv.index];
    let conv_name = conv_node.name.clone();
    let scaled = scale_weights(conv, &folding.scale);
    let wanted = format!("{conv_name}_weights");
    let mut new_nodes = Vec::new();
    let weights_name = if conv.filter_exclusive && graph.node[conv.filter].name == wanted {
        let filter = &mut graph.node[conv.filter];
        filter.attr.insert("value".to_string(), graph::tensor_attr(scaled.to_proto()));
        wanted
    } else {
        let name = edit::unique_name(&wanted, &mut taken);
        new_nodes.push(graph::constant(&name, &scaled));
        name
    };
    let offset_name = edit::unique_name(&format!("{conv_name}_bn_offset"), &mut taken);
    let offsets: Vec<f32> = folding.offset.iter().map(|&o| o as f32).collect();
    new_nodes.push(graph::constant(&offset_name, &Tensor::from_f32(vec![conv.channels as i64], &offsets)));
    let conv_node = &graph.node[conv.index];

    let old = &graph.node[target];
    let mut bias_add = NodeDef { name: old.name.clone(), op: "BiasAdd".to_string(), ..Default::default() };
    bias_add.input = vec![conv_name, offset_name];
    bias_add.input.extend(edit::control_inputs(old).cloned());
    if let Some(bias) = &conv.bias {
        bias_add.input.extend(edit::control_inputs(&graph.node[bias.index]).cloned());
    }
    bias_add.input.extend(extra_control.iter().cloned());
    for attr in ["T", "data_format"] {
        if let Some(value) = conv_node.attr.get(attr) {
            bias_add.attr.insert(attr.to_string(), value.clone());
        }
    }
    graph.node[conv.index].input[1] = weights_name;
    graph.node[target] = bias_add;
    graph.node.splice(conv.index..conv.index, new_nodes);
}
