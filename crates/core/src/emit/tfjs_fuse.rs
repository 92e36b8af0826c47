//! Fusions TensorFlow.js runs as one kernel: `Conv2D`,
//! `DepthwiseConv2dNative` or `MatMul`, then a bias add, then an optional
//! activation become `_FusedConv2D`, `FusedDepthwiseConv2dNative` or
//! `_FusedMatMul`; the decomposed PReLU `Relu(x) + c·Relu(−x)` becomes
//! `Prelu`. One kernel instead of three saves TF.js a pass over the tensor
//! and a graph-executor step each. Only TF.js output gets them: TensorFlow's
//! own `_FusedConv2D` is a grappler-internal op a `.pb` must not hold.
//!
//! A chain is fused only where every node but the last has exactly one
//! reader and is not an output (nor an input or table initializer); the
//! fused node takes the last node's name, so readers and outputs still find
//! it. Input order and attributes follow `@tensorflow/tfjs-converter`'s op
//! list: `x, filter|b, bias[, alpha]`, `fused_ops = ["BiasAdd", act]`,
//! `num_args`, `leakyrelu_alpha`.

use std::collections::{HashMap, HashSet};

use crate::graph::shapes::ShapeInference;
use crate::graph::{self, attr_string, attr_type};
use crate::names::{self, node_of};
use crate::optimize::edit::{canonical_input, const_value, control_inputs, data_inputs, Consumers};
use crate::proto::{attr_value, AttrValue, DataType, GraphDef, NodeDef};
use crate::tensor::Tensor;

/// The ops that start a chain, and the fused op each becomes.
pub const FUSIONS: [(&str, &str); 3] =
    [("Conv2D", "_FusedConv2D"), ("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"), ("MatMul", "_FusedMatMul")];

/// Activations TF.js's fused kernels apply (by TensorFlow op name).
const ACTIVATIONS: [&str; 6] = ["Relu", "Relu6", "Elu", "Sigmoid", "LeakyRelu", "Prelu"];

/// `LeakyRelu`'s OpDef default `alpha`.
const DEFAULT_LEAKY_ALPHA: f32 = 0.2;

const ADD_OPS: [&str; 2] = ["Add", "AddV2"];

/// What [`fuse`] made: fused node names by fused op, and the `Prelu`s.
#[derive(Debug, Default, PartialEq)]
pub struct Fused {
    /// `(fused op, names)`, in [`FUSIONS`] order, only kinds that were made.
    pub by_op: Vec<(&'static str, Vec<String>)>,
    pub prelus: Vec<String>,
}

/// Fuses every chain it can; `protected` names nodes that must stay as
/// they are (outputs, inputs, table initializers).
pub fn fuse(graph: &mut GraphDef, protected: &HashSet<String>) -> Fused {
    let prelus = fuse_prelus(graph, protected);
    let mut by_op: Vec<(&'static str, Vec<String>)> = FUSIONS.iter().map(|(_, f)| (*f, Vec::new())).collect();
    for chain in plan_chains(graph, protected) {
        let (op, name) = apply_chain(graph, &chain);
        if let Some((_, names)) = by_op.iter_mut().find(|(f, _)| *f == op) {
            names.push(name);
        }
    }
    remove_marked(graph);
    by_op.retain(|(_, names)| !names.is_empty());
    Fused { by_op, prelus }
}

// ---- lookups ---------------------------------------------------------------------

struct View<'a> {
    nodes: &'a [NodeDef],
    index: HashMap<&'a str, usize>,
    consumers: Consumers,
    protected: &'a HashSet<String>,
}

impl<'a> View<'a> {
    fn new(nodes: &'a [NodeDef], protected: &'a HashSet<String>) -> Self {
        let index = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
        View { nodes, index, consumers: Consumers::of(nodes), protected }
    }

    fn producer(&self, input: &str) -> Option<usize> {
        self.index.get(node_of(input)).copied()
    }

    /// The one node reading output 0 of node `i`, if that is its only
    /// reader (data or control) and `i` is not protected: then `i` may be
    /// folded into its reader.
    fn sole_reader(&self, i: usize) -> Option<usize> {
        let name = &self.nodes[i].name;
        if self.protected.contains(name) {
            return None;
        }
        match self.consumers.all(name) {
            [edge] if edge.port == Some(0) => Some(edge.consumer),
            _ => None,
        }
    }

    /// A float `Const` behind a data input.
    fn constant(&self, input: &str) -> Option<(usize, Tensor)> {
        let i = self.producer(input).filter(|_| names::output_index(input) == 0)?;
        let value = const_value(&self.nodes[i]).filter(|t| t.dtype == DataType::DtFloat)?;
        Some((i, value))
    }
}

fn is_float(node: &NodeDef) -> bool {
    attr_type(node, "T").unwrap_or(DataType::DtFloat) == DataType::DtFloat
}

fn is_nhwc(node: &NodeDef) -> bool {
    attr_string(node, "data_format").is_none_or(|f| f == "NHWC")
}

/// Nodes a rewrite has replaced are renamed to this prefix, then dropped.
const REMOVED: &str = "\u{0}removed";

fn remove_marked(graph: &mut GraphDef) {
    graph.node.retain(|n| !n.name.starts_with(REMOVED));
}

/// Drops the `Const`s nothing reads any more (biases added into one, a
/// PReLU's constant replaced by its negation), so no weight ships unused.
pub fn drop_unread_constants(graph: &mut GraphDef, protected: &HashSet<String>) {
    let read: HashSet<String> =
        graph.node.iter().flat_map(|n| n.input.iter().map(|i| node_of(i).to_string())).collect();
    graph.node.retain(|n| n.op != "Const" || read.contains(&n.name) || protected.contains(&n.name));
    graph::drop_dangling_colocations(&mut graph.node);
}

fn mark_removed(node: &mut NodeDef) {
    node.name = format!("{REMOVED}/{}", node.name);
}

// ---- Prelu -----------------------------------------------------------------------

/// `Add(Relu(x), Mul(c, Relu(Neg(x))))` (either order in both) is
/// `Prelu(x, −c)`: for `x < 0` it gives `c·(−x)`. Keras's `PReLU` builds it
/// as `relu(x) − alpha·relu(−x)`, and constant folding has turned `−alpha`
/// into `c`.
fn fuse_prelus(graph: &mut GraphDef, protected: &HashSet<String>) -> Vec<String> {
    let plans: Vec<PreluPlan> = {
        let view = View::new(&graph.node, protected);
        (0..graph.node.len()).filter_map(|i| prelu_plan(&view, i)).collect()
    };
    let mut taken = crate::optimize::edit::node_names(&graph.node);
    let mut made = Vec::new();
    for plan in plans {
        let alpha_values: Vec<f32> = plan.c.to_f32_vec().unwrap_or_default().iter().map(|v| -v).collect();
        let alpha = Tensor::from_f32(plan.c.shape.clone(), &alpha_values);
        let alpha_name = if plan.c_exclusive {
            // The constant feeds only this pattern: negate it where it is.
            let node = &mut graph.node[plan.c_index];
            node.attr.insert("value".into(), graph::tensor_attr(alpha.to_proto()));
            node.name.clone()
        } else {
            let name = graph::unique_name(&format!("{}/alpha", graph.node[plan.add].name), &mut taken);
            let mut node = graph::constant(&name, &alpha);
            node.input = graph.node[plan.c_index].input.clone(); // its frame's control inputs
            graph.node.push(node);
            name
        };
        let mut controls: Vec<String> = Vec::new();
        for &i in &plan.removed {
            controls.extend(control_inputs(&graph.node[i]).cloned());
            mark_removed(&mut graph.node[i]);
        }
        let add = &mut graph.node[plan.add];
        controls.extend(control_inputs(add).cloned());
        add.op = "Prelu".into();
        add.input = [plan.x, alpha_name].into_iter().chain(controls).collect();
        add.attr.retain(|k, _| k == "T" || k == "_output_shapes");
        made.push(add.name.clone());
    }
    remove_marked(graph);
    made
}

struct PreluPlan {
    add: usize,
    x: String,
    c: Tensor,
    c_index: usize,
    /// Nobody else reads the constant `c`.
    c_exclusive: bool,
    /// `Relu(x)`, `Mul`, `Relu(Neg(x))`, `Neg(x)`.
    removed: Vec<usize>,
}

fn prelu_plan(view: &View, add: usize) -> Option<PreluPlan> {
    let node = &view.nodes[add];
    if !ADD_OPS.contains(&node.op.as_str()) || !is_float(node) {
        return None;
    }
    let inputs: Vec<&String> = data_inputs(node).collect();
    let [a, b] = inputs.as_slice() else { return None };
    let plan = [(a, b), (b, a)].into_iter().find_map(|(pos, mul)| {
        let relu = view.producer(pos).filter(|&i| view.nodes[i].op == "Relu")?;
        let mul = view.producer(mul).filter(|&i| view.nodes[i].op == "Mul")?;
        let x = canonical_input(data_inputs(&view.nodes[relu]).next()?);
        let factors: Vec<&String> = data_inputs(&view.nodes[mul]).collect();
        let [m, n] = factors.as_slice() else { return None };
        let (c_index, c, neg_relu) =
            [(m, n), (n, m)].into_iter().find_map(|(c, r)| view.constant(c).map(|(i, t)| (i, t, r)))?;
        let neg_relu = view.producer(neg_relu).filter(|&i| view.nodes[i].op == "Relu")?;
        let neg = view.producer(data_inputs(&view.nodes[neg_relu]).next()?).filter(|&i| view.nodes[i].op == "Neg")?;
        if canonical_input(data_inputs(&view.nodes[neg]).next()?) != x {
            return None;
        }
        // Each inner node must feed only the next one in the pattern.
        let sole = |i: usize, reader: usize| view.sole_reader(i) == Some(reader);
        if !(sole(relu, add) && sole(mul, add) && sole(neg_relu, mul) && sole(neg, neg_relu)) {
            return None;
        }
        let c_exclusive = view.sole_reader(c_index) == Some(mul);
        Some(PreluPlan { add, x, c, c_index, c_exclusive, removed: vec![relu, mul, neg_relu, neg] })
    });
    plan
}

// ---- conv / matmul chains --------------------------------------------------------

/// One chain to fuse: the conv (or matmul), its bias adds, an activation.
struct Chain {
    start: usize,
    fused_op: &'static str,
    /// Every bias add (at least one), in order.
    adds: Vec<usize>,
    /// The bias input of each add.
    biases: Vec<String>,
    /// The bias values, when there are several to add up.
    merged: Option<Tensor>,
    activation: Option<usize>,
}

fn plan_chains(graph: &GraphDef, protected: &HashSet<String>) -> Vec<Chain> {
    let view = View::new(&graph.node, protected);
    let shapes = ShapeInference::new(graph);
    (0..graph.node.len()).filter_map(|i| chain_from(&view, &shapes, i)).collect()
}

fn chain_from(view: &View, shapes: &ShapeInference, start: usize) -> Option<Chain> {
    let node = &view.nodes[start];
    let fused_op = FUSIONS.iter().find(|(op, _)| *op == node.op).map(|(_, fused)| *fused)?;
    if !is_float(node) || (node.op != "MatMul" && !is_nhwc(node)) {
        return None;
    }
    let channels = output_channels(node, shapes);
    let (mut adds, mut biases, mut values) = (Vec::new(), Vec::new(), Vec::new());
    let mut last = start;
    while let Some(reader) = view.sole_reader(last) {
        let Some(bias) = bias_of(view, reader, &view.nodes[last].name, channels) else { break };
        let value = view.constant(&bias).map(|(_, t)| t);
        // A second bias is added into the first only when both are constants.
        if !adds.is_empty() && (value.is_none() || values.iter().any(Option::is_none)) {
            break;
        }
        adds.push(reader);
        biases.push(bias);
        values.push(value);
        last = reader;
    }
    if adds.is_empty() {
        return None;
    }
    let merged = (values.len() > 1).then(|| sum_vectors(&values)).flatten();
    if values.len() > 1 && merged.is_none() {
        return None;
    }
    let activation = view
        .sole_reader(last)
        .filter(|&reader| activation_fits(view, &view.nodes[reader], &view.nodes[last].name, node, channels));
    Some(Chain { start, fused_op, adds, biases, merged, activation })
}

/// Channels of the conv's (or matmul's) output, from its filter's shape.
fn output_channels(node: &NodeDef, shapes: &ShapeInference) -> Option<i64> {
    let filter = shapes.shape_of(data_inputs(node).nth(1)?)?;
    match node.op.as_str() {
        "Conv2D" => filter.get(3).copied(),
        "DepthwiseConv2dNative" => Some(filter.get(2)? * filter.get(3)?),
        _ if graph::attr_bool(node, "transpose_b") == Some(true) => filter.first().copied(),
        _ => filter.get(1).copied(),
    }
    .filter(|&c| c > 0)
}

/// The bias input of `reader` when it adds a per-channel vector to `producer`'s
/// output: a `BiasAdd` (NHWC), or an `Add`/`AddV2` of a constant vector of
/// the output's channels, which is what batch-norm folding may leave.
fn bias_of(view: &View, reader: usize, producer: &str, channels: Option<i64>) -> Option<String> {
    let node = &view.nodes[reader];
    if !is_float(node) {
        return None;
    }
    let inputs: Vec<&String> = data_inputs(node).collect();
    let [a, b] = inputs.as_slice() else { return None };
    let from_producer = |s: &str| node_of(s) == producer && names::output_index(s) == 0;
    let vector_of_channels = |s: &str| {
        view.constant(s).is_some_and(|(_, t)| t.shape.len() == 1 && channels.is_some_and(|c| t.shape[0] == c))
    };
    match node.op.as_str() {
        "BiasAdd" if is_nhwc(node) && from_producer(a) => {
            let known = view.constant(b).map(|(_, t)| t.shape.len() == 1 && channels.is_none_or(|c| t.shape[0] == c));
            (known != Some(false)).then(|| b.to_string())
        }
        op if ADD_OPS.contains(&op) => [(a, b), (b, a)]
            .into_iter()
            .find(|(x, bias)| from_producer(x) && vector_of_channels(bias))
            .map(|(_, bias)| bias.to_string()),
        _ => None,
    }
}

fn activation_fits(view: &View, reader: &NodeDef, producer: &str, start: &NodeDef, channels: Option<i64>) -> bool {
    if !ACTIVATIONS.contains(&reader.op.as_str()) || !is_float(reader) {
        return false;
    }
    let inputs: Vec<&String> = data_inputs(reader).collect();
    if inputs.first().is_none_or(|x| node_of(x) != producer || names::output_index(x) != 0) {
        return false;
    }
    match reader.op.as_str() {
        // TF.js's op list maps no `leakyrelu_alpha` for the depthwise kernel.
        "LeakyRelu" => start.op != "DepthwiseConv2dNative",
        // The WASM kernels read one alpha per output channel.
        "Prelu" => inputs.get(1).and_then(|alpha| view.constant(alpha)).is_some_and(|(_, t)| {
            let (last, rest) = t.shape.split_last().unwrap_or((&0, &[]));
            rest.iter().all(|&d| d == 1) && channels == Some(*last)
        }),
        _ => true,
    }
}

fn sum_vectors(values: &[Option<Tensor>]) -> Option<Tensor> {
    let vectors: Vec<Vec<f32>> = values.iter().map(|v| v.as_ref()?.to_f32_vec()).collect::<Option<_>>()?;
    let length = vectors[0].len();
    if vectors.iter().any(|v| v.len() != length) {
        return None;
    }
    let sum: Vec<f32> = (0..length).map(|c| vectors.iter().map(|v| f64::from(v[c])).sum::<f64>() as f32).collect();
    Some(Tensor::from_f32(vec![length as i64], &sum))
}

/// Replaces the chain's last node with the fused node; returns the fused op and name.
fn apply_chain(graph: &mut GraphDef, chain: &Chain) -> (&'static str, String) {
    let last = chain.activation.unwrap_or(*chain.adds.last().expect("a chain has a bias add"));
    let name = graph.node[last].name.clone();
    let bias = match &chain.merged {
        None => chain.biases[0].clone(),
        Some(sum) => {
            let mut taken = crate::optimize::edit::node_names(&graph.node);
            let bias_name = graph::unique_name(&format!("{name}/bias"), &mut taken);
            let mut node = graph::constant(&bias_name, sum);
            // The first bias's control inputs keep the sum in its loop frame.
            let first = graph.node.iter().position(|n| n.name == node_of(&chain.biases[0]));
            node.input = first.map(|i| graph.node[i].input.clone()).unwrap_or_default();
            graph.node.push(node);
            bias_name
        }
    };
    let start = &graph.node[chain.start];
    let mut fused = NodeDef { name: name.clone(), op: chain.fused_op.into(), ..Default::default() };
    let mut args = vec![bias];
    let mut fused_ops = vec!["BiasAdd".to_string()];
    if let Some(a) = chain.activation {
        let activation = &graph.node[a];
        fused_ops.push(activation.op.clone());
        if activation.op == "Prelu" {
            args.extend(data_inputs(activation).nth(1).cloned());
        }
        if activation.op == "LeakyRelu" {
            let alpha = match graph::attr(activation, "alpha") {
                Some(attr_value::Value::F(alpha)) => *alpha,
                _ => DEFAULT_LEAKY_ALPHA,
            };
            fused.attr.insert("leakyrelu_alpha".into(), AttrValue { value: Some(attr_value::Value::F(alpha)) });
        }
    }
    // No control inputs: TF.js reads every input after the filter as an
    // argument (a control input would become the PReLU alpha), and the data
    // inputs already order the fused node.
    fused.input = data_inputs(start).take(2).cloned().chain(args.iter().cloned()).collect();
    let members: Vec<usize> =
        [chain.start].into_iter().chain(chain.adds.iter().copied()).chain(chain.activation).collect();
    for (key, value) in &start.attr {
        if key != "_output_shapes" {
            fused.attr.insert(key.clone(), value.clone());
        }
    }
    if let Some(shapes) = graph.node[last].attr.get("_output_shapes") {
        fused.attr.insert("_output_shapes".into(), shapes.clone());
    }
    let list =
        attr_value::ListValue { s: fused_ops.iter().map(|s| s.as_bytes().to_vec()).collect(), ..Default::default() };
    fused.attr.insert("fused_ops".into(), AttrValue { value: Some(attr_value::Value::List(list)) });
    fused.attr.insert("num_args".into(), AttrValue { value: Some(attr_value::Value::I(args.len() as i64)) });
    for &i in &members {
        if i != last {
            mark_removed(&mut graph.node[i]);
        }
    }
    graph.node[last] = fused;
    (chain.fused_op, name)
}

// ---- sibling convolutions ----------------------------------------------------------

/// `_FusedConv2D`s that read the same tensor with the same attributes (an
/// SSD head's box and class predictors on one feature map) become one, over
/// their filters and biases side by side, whose result a `SplitV` hands back
/// by channels: TF.js reads the input and sets up a kernel once, and the
/// wider matrix product fills its tiles. Each must be unprotected, with a
/// bias, its filter and bias constants read by it alone, and no control
/// edges. The merged convolution is `<first>/merged` and the split
/// `<first>/split`; readers of each convolution read its slice. Returns
/// the convolutions merged, in groups.
pub fn merge_sibling_convolutions(graph: &mut GraphDef, protected: &HashSet<String>) -> Vec<Vec<String>> {
    let groups = sibling_groups(graph, protected);
    let mut taken = crate::optimize::edit::node_names(&graph.node);
    let mut merged = Vec::new();
    // Node indices stay valid throughout: nodes are only renamed, marked and appended until the end.
    for group in groups {
        let value = |i: usize| const_value(&graph.node[i]);
        let filters: Option<Vec<Tensor>> = group.iter().map(|m| value(m.filter)).collect();
        let biases: Option<Vec<Tensor>> = group.iter().map(|m| value(m.bias)).collect();
        let (Some(filters), Some(biases)) = (filters, biases) else { continue };
        let (Some(filter), Some(bias)) = (side_by_side(&filters), side_by_side(&biases)) else { continue };
        let widths: Vec<i32> = filters.iter().map(|f| f.shape[3] as i32).collect();
        graph.node[group[0].filter].attr.insert("value".into(), graph::tensor_attr(filter.to_proto()));
        graph.node[group[0].bias].attr.insert("value".into(), graph::tensor_attr(bias.to_proto()));
        let names: Vec<String> = group.iter().map(|m| graph.node[m.conv].name.clone()).collect();
        let conv_name = graph::unique_name(&format!("{}/merged", names[0]), &mut taken);
        let split_name = graph::unique_name(&format!("{}/split", names[0]), &mut taken);
        let sizes_name = graph::unique_name(&format!("{split_name}/sizes"), &mut taken);
        let axis_name = graph::unique_name(&format!("{split_name}/axis"), &mut taken);
        let conv = &mut graph.node[group[0].conv];
        conv.name = conv_name.clone();
        conv.attr.remove("_output_shapes");
        for member in &group[1..] {
            for i in [member.conv, member.filter, member.bias] {
                mark_removed(&mut graph.node[i]);
            }
        }
        let mut split = NodeDef {
            name: split_name.clone(),
            op: "SplitV".into(),
            input: vec![conv_name, sizes_name.clone(), axis_name.clone()],
            ..Default::default()
        };
        split.attr.insert("T".into(), graph::type_attr(DataType::DtFloat));
        split.attr.insert("Tlen".into(), graph::type_attr(DataType::DtInt32));
        split.attr.insert("num_split".into(), AttrValue { value: Some(attr_value::Value::I(group.len() as i64)) });
        graph.node.push(split);
        graph.node.push(graph::constant(&sizes_name, &Tensor::from_i32(vec![widths.len() as i64], &widths)));
        graph.node.push(graph::constant(&axis_name, &Tensor::from_i32(vec![], &[3])));
        for node in &mut graph.node {
            for slot in node.input.iter_mut().filter(|s| !names::is_control_input(s)) {
                if let Some(k) = names.iter().position(|n| n == node_of(slot)) {
                    *slot = format!("{split_name}:{k}");
                }
            }
        }
        merged.push(names);
    }
    remove_marked(graph);
    merged
}

/// A convolution [`merge_sibling_convolutions`] may merge, and its constants, by node index.
struct Sibling {
    conv: usize,
    filter: usize,
    bias: usize,
}

/// The groups of mergeable `_FusedConv2D`s, in graph order.
fn sibling_groups(graph: &GraphDef, protected: &HashSet<String>) -> Vec<Vec<Sibling>> {
    let index = graph::index_by_name(graph);
    let consumers = Consumers::of(&graph.node);
    let in_loop = crate::optimize::edit::in_while_frames(&graph.node);
    let alone = |node: &NodeDef| {
        !protected.contains(&node.name)
            && control_inputs(node).next().is_none()
            && consumers.control(&node.name).next().is_none()
    };
    // A filter or bias constant read by this convolution alone, with its value.
    let own_constant = |input: &String| {
        let &i = index.get(node_of(input))?;
        let node = &graph.node[i];
        (alone(node) && consumers.all(&node.name).len() == 1).then(|| const_value(node).map(|v| (i, v))).flatten()
    };
    let mut groups: HashMap<(String, Vec<u8>, Vec<i64>), Vec<Sibling>> = HashMap::new();
    let mut order = Vec::new();
    for (i, node) in graph.node.iter().enumerate() {
        let fused_ops = match graph::attr(node, "fused_ops") {
            Some(attr_value::Value::List(list)) => list.s.clone(),
            _ => Vec::new(),
        };
        let fits = node.op == "_FusedConv2D"
            && alone(node)
            && !in_loop[i]
            && is_float(node)
            && is_nhwc(node)
            && node.input.len() == 3
            && fused_ops.first().is_some_and(|op| op.as_slice() == b"BiasAdd")
            && graph::attr_int(node, "num_args") == Some(1);
        if !fits {
            continue;
        }
        let (Some((f, filter)), Some((b, bias))) = (own_constant(&node.input[1]), own_constant(&node.input[2])) else {
            continue;
        };
        if filter.shape.len() != 4 || bias.shape != [filter.shape[3]] || filter.dtype != DataType::DtFloat {
            continue;
        }
        let mut attrs = node.attr.clone();
        attrs.remove("_output_shapes");
        let attrs = prost::Message::encode_to_vec(&NodeDef { attr: attrs, ..Default::default() });
        let key = (canonical_input(&node.input[0]), attrs, filter.shape[..3].to_vec());
        let group = groups.entry(key.clone()).or_default();
        if group.is_empty() {
            order.push(key);
        }
        group.push(Sibling { conv: i, filter: f, bias: b });
    }
    order.into_iter().filter_map(|key| groups.remove(&key)).filter(|g| g.len() > 1).collect()
}

/// Tensors `[..., c_k]` of one dtype and equal leading dims, concatenated along their last axis.
fn side_by_side(tensors: &[Tensor]) -> Option<Tensor> {
    let first = tensors.first()?;
    let lead = &first.shape[..first.shape.len() - 1];
    let rows: usize = lead.iter().product::<i64>() as usize;
    let values: Vec<Vec<f32>> = tensors.iter().map(Tensor::to_f32_vec).collect::<Option<_>>()?;
    if tensors.iter().any(|t| &t.shape[..t.shape.len() - 1] != lead) {
        return None;
    }
    let widths: Vec<usize> = tensors.iter().map(|t| *t.shape.last().unwrap() as usize).collect();
    let mut out = Vec::with_capacity(values.iter().map(Vec::len).sum());
    for r in 0..rows {
        for (v, &w) in values.iter().zip(&widths) {
            out.extend_from_slice(&v[r * w..(r + 1) * w]);
        }
    }
    let mut shape = lead.to_vec();
    shape.push(widths.iter().sum::<usize>() as i64);
    Some(Tensor::from_f32(shape, &out))
}
