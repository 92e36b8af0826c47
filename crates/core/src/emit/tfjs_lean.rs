//! A leaner graph for TF.js, whose executor pays for every node it visits:
//! `Identity`s that only pass a tensor on are bypassed, chains of reshapes
//! become one `Reshape`, constants with equal values are stored once, a pure
//! op computed twice is computed once, and an output that is an `Identity` of
//! a node nothing else reads takes that node's place. TF.js-only because TensorFlow's v1 control
//! flow needs some of those `Identity`s as pivots, and because a `.pb`
//! should keep TensorFlow's node names.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use prost::Message;
use sha2::{Digest, Sha256};

use crate::graph::shapes::ShapeInference;
use crate::graph::{self, type_attr};
use crate::names::{is_control_input, node_of, output_index};
use crate::optimize::edit::{self, data_inputs, Consumers};
use crate::proto::{attr_value, DataType, GraphDef, NodeDef, TensorProto};
use crate::tensor::{Tensor, TensorData};

/// Ops whose outputs are live one branch at a time: an `Identity` after one
/// stands for that branch (a cond's pivot) and stays.
const SWITCH_OPS: [&str; 2] = ["Switch", "RefSwitch"];

/// Ops that fill lookup tables: their constants go to TF.js's
/// `modelInitializer`, which must not share them with the model.
const TABLE_INIT_OPS: [&str; 4] = ["LookupTableImport", "LookupTableImportV2", "InitializeTable", "InitializeTableV2"];

/// Bypasses every `Identity` that nothing waits on by control edge and that
/// is not protected; its readers read its input. Its own control inputs
/// go: TF.js treats them as plain dependencies, which the data input
/// already gives. Returns the bypassed nodes.
pub fn bypass_identities(graph: &mut GraphDef, protected: &HashSet<String>) -> Vec<String> {
    let mut bypassed = Vec::new();
    loop {
        let plan: Option<(usize, String)> = {
            let index = graph::index_by_name(graph);
            let consumers = Consumers::of(&graph.node);
            graph.node.iter().enumerate().find_map(|(i, node)| {
                if node.op != "Identity" || protected.contains(&node.name) {
                    return None;
                }
                let input = data_inputs(node).next()?;
                let source = index.get(node_of(input)).map(|&p| graph.node[p].op.as_str());
                let waited_on = consumers.control(&node.name).next().is_some();
                (!waited_on && !source.is_some_and(|op| SWITCH_OPS.contains(&op))).then(|| (i, input.clone()))
            })
        };
        let Some((i, input)) = plan else { break };
        let name = graph.node.remove(i).name;
        for node in &mut graph.node {
            for slot in node.input.iter_mut().filter(|s| !is_control_input(s)) {
                if node_of(slot) == name {
                    // An Identity has one output: `name` and `name:0` both mean it.
                    *slot = input.clone();
                }
            }
        }
        bypassed.push(name);
    }
    bypassed
}

/// Ops whose output depends on their inputs and attrs alone: two with the
/// same inputs and attrs compute the same tensor.
const PURE_OPS: &[&str] = &[
    "Abs",
    "Add",
    "AddV2",
    "ArgMax",
    "ArgMin",
    "BiasAdd",
    "Cast",
    "ConcatV2",
    "Div",
    "Equal",
    "Exp",
    "ExpandDims",
    "Fill",
    "Floor",
    "GatherV2",
    "Greater",
    "GreaterEqual",
    "Less",
    "LessEqual",
    "Log",
    "MatMul",
    "Max",
    "Maximum",
    "Mean",
    "Min",
    "Minimum",
    "Mul",
    "Neg",
    "Pack",
    "Pow",
    "Range",
    "RealDiv",
    "Relu",
    "Relu6",
    "Reshape",
    "Round",
    "Rsqrt",
    "Select",
    "SelectV2",
    "Shape",
    "Sigmoid",
    "Slice",
    "Softmax",
    "Sqrt",
    "Square",
    "SquaredDifference",
    "Squeeze",
    "StridedSlice",
    "Sub",
    "Sum",
    "Tanh",
    "Tile",
    "Transpose",
];

/// A pure op computed twice from the same inputs with the same attrs (a box
/// decoder's `w / 2` for both corners) is computed once: readers of the later
/// node read the first. Protected nodes keep their place; nodes in a loop
/// frame are left alone. Returns the nodes dropped.
pub fn merge_duplicates(graph: &mut GraphDef, protected: &HashSet<String>) -> Vec<String> {
    let mut dropped = Vec::new();
    loop {
        let plan: Option<(usize, String)> = {
            let framed = edit::in_while_frames(&graph.node);
            let mut seen: HashMap<(&str, &[String], Vec<u8>), usize> = HashMap::new();
            graph.node.iter().enumerate().find_map(|(i, node)| {
                if !PURE_OPS.contains(&node.op.as_str()) || framed[i] {
                    return None;
                }
                let attrs = crate::proto::NodeDef { attr: node.attr.clone(), ..Default::default() }.encode_to_vec();
                match seen.entry((node.op.as_str(), node.input.as_slice(), attrs)) {
                    std::collections::hash_map::Entry::Occupied(first) if !protected.contains(&node.name) => {
                        Some((i, graph.node[*first.get()].name.clone()))
                    }
                    std::collections::hash_map::Entry::Occupied(_) => None,
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(i);
                        None
                    }
                }
            })
        };
        let Some((i, kept)) = plan else { break };
        let name = graph.node.remove(i).name;
        rename_references(graph, &name, &kept);
        dropped.push(name);
    }
    dropped
}

/// Every reference to node `from` (any output, or a control edge) now names `to`.
fn rename_references(graph: &mut GraphDef, from: &str, to: &str) {
    for node in &mut graph.node {
        for slot in node.input.iter_mut().filter(|s| node_of(s) == from) {
            *slot = if is_control_input(slot) {
                edit::control_input(to)
            } else {
                match output_index(slot) {
                    0 => to.to_string(),
                    k => format!("{to}:{k}"),
                }
            };
        }
    }
}

/// An output that is an `Identity` of a node nothing else reads (how a
/// detector names `detection_boxes`) becomes that node under the output's
/// name: one node fewer for TF.js to run, the same tensor under the same
/// name. Returns the outputs renamed.
pub fn name_outputs_by_their_identities(graph: &mut GraphDef, protected: &HashSet<String>) -> Vec<String> {
    let mut renamed = Vec::new();
    loop {
        let plan: Option<(usize, usize)> = {
            let index = graph::index_by_name(graph);
            let consumers = Consumers::of(&graph.node);
            let framed = edit::in_while_frames(&graph.node);
            graph.node.iter().enumerate().find_map(|(i, node)| {
                if node.op != "Identity" || !protected.contains(&node.name) || node.input.len() != 1 || framed[i] {
                    return None;
                }
                let input = &node.input[0];
                let &source = index.get(node_of(input))?;
                let producer = &graph.node[source];
                let only_reader = consumers.all(&producer.name).len() == 1 && output_index(input) == 0;
                let plain = !protected.contains(&producer.name)
                    && !SWITCH_OPS.contains(&producer.op.as_str())
                    && !matches!(producer.op.as_str(), "Placeholder" | "Const")
                    && !framed[source];
                (only_reader && plain && consumers.control(&node.name).next().is_none()).then_some((i, source))
            })
        };
        let Some((identity, source)) = plan else { break };
        // The Identity was the node's only reader: nothing else names it.
        let name = graph.node.remove(identity).name;
        let source = if source > identity { source - 1 } else { source };
        graph.node[source].name = name.clone();
        renamed.push(name);
    }
    renamed
}

/// Constants with equal dtype, shape and bytes become one: readers of the
/// later ones read the first, so the weights hold those bytes once.
/// Constants with control inputs (inside a loop frame or a cond branch),
/// protected ones and table initializers' ones are left alone. Returns the
/// constants dropped.
pub fn share_equal_constants(graph: &mut GraphDef, protected: &HashSet<String>) -> Vec<String> {
    let table_constants: HashSet<String> = graph
        .node
        .iter()
        .filter(|n| TABLE_INIT_OPS.contains(&n.op.as_str()))
        .flat_map(|n| n.input.iter().map(|i| node_of(i).to_string()))
        .collect();
    // Keyed by a fingerprint of the value; a match is confirmed on the values.
    let mut first: HashMap<[u8; 32], Vec<usize>> = HashMap::new();
    let mut replaced: HashMap<String, String> = HashMap::new();
    for (i, node) in graph.node.iter().enumerate() {
        let shareable = node.op == "Const"
            && node.input.is_empty()
            && !protected.contains(&node.name)
            && !table_constants.contains(&node.name)
            && graph::attr_type(node, "dtype") != Some(DataType::DtString);
        let Some(value) = graph::attr_tensor(node, "value").filter(|_| shareable) else { continue };
        let seen = first.entry(fingerprint(value)).or_default();
        let equal = |k: &usize| {
            let other = graph::attr_tensor(&graph.node[*k], "value");
            let equal = other == Some(value);
            other.into_iter().chain([value]).for_each(|v| crate::mapped::release(&v.tensor_content));
            equal
        };
        match seen.iter().find(|k| equal(k)) {
            Some(&kept) => {
                replaced.insert(node.name.clone(), graph.node[kept].name.clone());
            }
            None => seen.push(i),
        }
    }
    if replaced.is_empty() {
        return Vec::new();
    }
    graph.node.retain(|n| !replaced.contains_key(&n.name));
    for node in &mut graph.node {
        for slot in node.input.iter_mut() {
            let control = is_control_input(slot);
            if let Some(kept) = replaced.get(node_of(slot)) {
                *slot = if control { format!("^{kept}") } else { kept.clone() };
            }
        }
    }
    let mut dropped: Vec<String> = replaced.into_keys().collect();
    dropped.sort();
    dropped
}

/// Values up to this many bytes are fingerprinted whole.
const FINGERPRINT_WHOLE_BYTES: usize = 64 << 10;

/// A digest equal constants share. Past [`FINGERPRINT_WHOLE_BYTES`] it covers
/// the dtype, shape and a sample of the bytes (the first and last 4 KiB and
/// 32 chunks between), not all of them: a large weight is read whole only
/// when it may equal another (and keying by the bytes themselves held a
/// second copy of every weight).
fn fingerprint(value: &TensorProto) -> [u8; 32] {
    let content = &value.tensor_content;
    let len = content.len();
    if len <= FINGERPRINT_WHOLE_BYTES {
        return Sha256::digest(value.encode_to_vec()).into();
    }
    let mut digest = Sha256::new();
    digest.update(value.dtype.to_le_bytes());
    for dim in value.tensor_shape.iter().flat_map(|s| &s.dim) {
        digest.update(dim.size.to_le_bytes());
    }
    digest.update((len as u64).to_le_bytes());
    digest.update(&content[..4096]);
    digest.update(&content[len - 4096..]);
    for k in 0..32 {
        let at = (len - 64) * k / 31;
        digest.update(&content[at..at + 64]);
    }
    crate::mapped::release(content);
    digest.finalize().into()
}

/// Past this many bytes of folded weights, a global mean stays a `Mean`:
/// folding multiplies its dense layer's weights by the pooled area, and the
/// model's download then costs more than the op saved.
pub const MAX_FOLDED_MEAN_BYTES: usize = 64 << 10;

/// A global average pool feeding a dense layer (`Mean` over H and W, then a
/// `MatMul` by constant weights, a classifier's head) becomes a `Reshape` to
/// `[-1, H·W·C]` and that `MatMul` by the weights repeated for each position
/// and divided by H·W: the same sum, one op fewer, and no `Mean`, which
/// TF.js's wasm and cpu backends compute by first transposing the reduced
/// axes to the end. Only where H, W and C are known, the weights are read by
/// that `MatMul` alone, nothing else reads the mean, and the folded weights
/// take at most [`MAX_FOLDED_MEAN_BYTES`]. The `Reshape` keeps the mean's
/// name. Returns the means folded.
pub fn fold_global_means(graph: &mut GraphDef, protected: &HashSet<String>) -> Vec<String> {
    let mut folded = Vec::new();
    let mut taken = edit::node_names(&graph.node);
    while let Some(plan) = find_global_mean(graph, protected) {
        let [h, w, c] = plan.pooled;
        let area = (h * w) as usize;
        let units = plan.weights.len() / c as usize;
        let scale = 1.0 / area as f32;
        let repeated: Vec<f32> = (0..area).flat_map(|_| plan.weights.iter().map(|&v| v * scale)).collect();
        let value = Tensor::from_f32(vec![h * w * c, units as i64], &repeated);
        let weights = &mut graph.node[plan.weights_node];
        weights.attr.insert("value".to_string(), graph::tensor_attr(value.to_proto()));
        weights.attr.remove("_output_shapes");
        let shape_name = graph::unique_name(&format!("{}/shape", graph.node[plan.mean].name), &mut taken);
        graph.node.push(int32_constant(&shape_name, &[-1, (h * w * c) as i32]));
        let mean = &mut graph.node[plan.mean];
        mean.input = vec![plan.source, shape_name];
        mean.op = "Reshape".to_string();
        mean.attr.retain(|name, _| name == "T");
        mean.attr.insert("Tshape".to_string(), type_attr(DataType::DtInt32));
        folded.push(mean.name.clone());
    }
    folded
}

struct GlobalMean {
    mean: usize,
    weights_node: usize,
    /// What the mean reads, and its `[H, W, C]` past the batch.
    source: String,
    pooled: [i64; 3],
    /// The dense layer's weights, `[C, units]` row-major.
    weights: Vec<f32>,
}

fn find_global_mean(graph: &GraphDef, protected: &HashSet<String>) -> Option<GlobalMean> {
    let index = graph::index_by_name(graph);
    let consumers = Consumers::of(&graph.node);
    let in_loop = edit::in_while_frames(&graph.node);
    let shapes = ShapeInference::new(graph);
    let plain = |i: usize| {
        let node = &graph.node[i];
        !protected.contains(&node.name)
            && !in_loop[i]
            && edit::control_inputs(node).next().is_none()
            && consumers.control(&node.name).next().is_none()
    };
    graph.node.iter().enumerate().find_map(|(mean, node)| {
        if node.op != "Mean" || !plain(mean) || graph::attr_bool(node, "keep_dims") == Some(true) {
            return None;
        }
        if graph::attr_type(node, "T") != Some(DataType::DtFloat) {
            return None;
        }
        let source = node.input.first()?.clone();
        let [_, h, w, c] = shapes.shape_of(&source).filter(|_| output_index(&source) == 0)?[..] else { return None };
        if h <= 0 || w <= 0 || c <= 0 {
            return None;
        }
        let mut axes = crate::graph::shapes::constant_ints(graph, &index, node.input.get(1)?)?;
        axes.iter_mut().for_each(|a| *a = if *a < 0 { *a + 4 } else { *a });
        axes.sort_unstable();
        if axes != [1, 2] {
            return None;
        }
        let [edge] = consumers.all(&node.name)[..] else { return None };
        let matmul = &graph.node[edge.consumer];
        let transposed = ["transpose_a", "transpose_b"].iter().any(|a| graph::attr_bool(matmul, a) == Some(true));
        // The dense layer may be an output: it stays, reading other weights.
        if matmul.op != "MatMul" || edge.position != 0 || transposed || in_loop[edge.consumer] {
            return None;
        }
        let weights_input = matmul.input.get(1)?;
        let &weights_node = index.get(node_of(weights_input))?;
        let weights = &graph.node[weights_node];
        let sole_reader = consumers.all(&weights.name).len() == 1 && output_index(weights_input) == 0;
        if weights.op != "Const" || !sole_reader || !plain(weights_node) {
            return None;
        }
        let tensor = Tensor::from_proto(graph::attr_tensor(weights, "value")?).ok()?;
        let values = tensor.to_f32_vec().filter(|_| tensor.dtype == DataType::DtFloat)?;
        let fits = tensor.shape.first() == Some(&c)
            && tensor.shape.len() == 2
            && values.len() * (h * w) as usize * 4 <= MAX_FOLDED_MEAN_BYTES;
        fits.then_some(GlobalMean { mean, weights_node, source, pooled: [h, w, c], weights: values })
    })
}

/// Ops that change only a tensor's shape, never its values or their order.
const RESHAPING_OPS: [&str; 3] = ["Reshape", "Squeeze", "ExpandDims"];

/// A chain of `Reshape`/`Squeeze`/`ExpandDims` becomes one `Reshape` to the
/// chain's final shape, when that shape is fully known or has one unknown
/// dim (a `-1` the `Reshape` works out from the element count). The links
/// before the last go; they must have one reader, no control edges, not be
/// protected and not run in a loop frame. The last keeps its name. Returns
/// the last nodes of the chains collapsed.
pub fn collapse_reshapes(graph: &mut GraphDef, protected: &HashSet<String>) -> Vec<String> {
    let mut collapsed = Vec::new();
    let mut taken = edit::node_names(&graph.node);
    while let Some(plan) = find_reshape_chain(graph, protected) {
        let shape_name = graph::unique_name(&format!("{}/shape", graph.node[plan.last].name), &mut taken);
        let dims: Vec<i32> = plan.shape.iter().map(|&d| d as i32).collect();
        graph.node.push(int32_constant(&shape_name, &dims));
        let last = &mut graph.node[plan.last];
        let control: Vec<String> = edit::control_inputs(last).cloned().collect();
        last.input = [vec![plan.source, shape_name], control].concat();
        last.op = "Reshape".to_string();
        last.attr.retain(|name, _| name == "T" || name == "_output_shapes");
        last.attr.insert("Tshape".to_string(), type_attr(DataType::DtInt32));
        collapsed.push(last.name.clone());
        let links: HashSet<String> = plan.links.iter().map(|&i| graph.node[i].name.clone()).collect();
        graph.node.retain(|n| !links.contains(&n.name));
    }
    collapsed
}

struct ReshapeChain {
    /// The link that stays (as the `Reshape`), and the ones before it.
    last: usize,
    links: Vec<usize>,
    /// What the first link reads, and the chain's final shape.
    source: String,
    shape: Vec<i64>,
}

fn find_reshape_chain(graph: &GraphDef, protected: &HashSet<String>) -> Option<ReshapeChain> {
    let index = graph::index_by_name(graph);
    let consumers = Consumers::of(&graph.node);
    let in_loop = edit::in_while_frames(&graph.node);
    let shapes = ShapeInference::new(graph);
    let reshaping = |i: usize| RESHAPING_OPS.contains(&graph.node[i].op.as_str()) && !in_loop[i];
    // A link that may go: read once, by data, and nothing else about it matters.
    let removable = |i: usize| {
        let node = &graph.node[i];
        reshaping(i)
            && !protected.contains(&node.name)
            && edit::control_inputs(node).next().is_none()
            && consumers.all(&node.name).len() == 1
            && consumers.control(&node.name).next().is_none()
    };
    let data_input = |i: usize| data_inputs(&graph.node[i]).next();
    (0..graph.node.len()).filter(|&i| reshaping(i)).find_map(|last| {
        let mut links = Vec::new();
        let mut current = last;
        while let Some(input) = data_input(current) {
            let Some(&previous) = index.get(node_of(input)) else { break };
            if output_index(input) != 0 || !removable(previous) {
                break;
            }
            links.push(previous);
            current = previous;
        }
        // A lone link is already one node; one a later link may absorb is not the chain's end.
        let absorbed =
            removable(last) && consumers.data(&graph.node[last].name).any(|e| reshaping(e.consumer) && e.position == 0);
        if links.is_empty() || absorbed {
            return None;
        }
        let source = data_input(current)?.clone();
        let mut shape = shapes.shape_of(&source).filter(|_| output_index(&source) == 0);
        for &link in links.iter().rev().chain([&last]) {
            shape = reshaped(graph, &index, &graph.node[link], shape);
        }
        let shape = shape?;
        let unknown = shape.iter().filter(|&&d| d < 0).count();
        // With a 0 dim, a -1 could stand for any size.
        let expressible = unknown == 0 || (unknown == 1 && !shape.contains(&0));
        expressible.then_some(ReshapeChain { last, links, source, shape })
    })
}

/// The shape `node` (a reshaping op) gives an input of shape `input`
/// (`-1` for an unknown dim, `None` for an unknown rank).
fn reshaped(
    graph: &GraphDef,
    index: &std::collections::HashMap<&str, usize>,
    node: &NodeDef,
    input: Option<Vec<i64>>,
) -> Option<Vec<i64>> {
    let second = node.input.get(1).filter(|s| !is_control_input(s));
    match node.op.as_str() {
        "Reshape" => {
            let mut target = crate::graph::shapes::constant_ints(graph, index, second?)?;
            let known: i64 = target.iter().filter(|&&d| d >= 0).product();
            let total = input.filter(|dims| dims.iter().all(|&d| d >= 0)).map(|dims| dims.iter().product::<i64>());
            match (target.iter().position(|&d| d < 0), total) {
                (Some(k), Some(total)) if known > 0 => target[k] = total / known,
                _ => {}
            }
            Some(target)
        }
        "ExpandDims" => {
            let mut dims = input?;
            let [axis] = crate::graph::shapes::constant_ints(graph, index, second?)?[..] else { return None };
            let axis = if axis < 0 { axis + dims.len() as i64 + 1 } else { axis };
            if !(0..=dims.len() as i64).contains(&axis) {
                return None;
            }
            dims.insert(axis as usize, 1);
            Some(dims)
        }
        "Squeeze" => {
            let dims = input?;
            let axes: Vec<i64> = match graph::attr(node, "squeeze_dims") {
                Some(attr_value::Value::List(list)) => list.i.clone(),
                _ => Vec::new(),
            };
            let rank = dims.len() as i64;
            let axes: HashSet<i64> = axes.iter().map(|&a| if a < 0 { a + rank } else { a }).collect();
            if axes.is_empty() && dims.contains(&-1) {
                return None; // which dims go depends on the unknown ones
            }
            let keep = |(i, &d): &(usize, &i64)| if axes.is_empty() { d != 1 } else { !axes.contains(&(*i as i64)) };
            Some(dims.iter().enumerate().filter(keep).map(|(_, &d)| d).collect())
        }
        _ => None,
    }
}

fn int32_constant(name: &str, values: &[i32]) -> NodeDef {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let tensor = Tensor {
        dtype: DataType::DtInt32,
        shape: vec![values.len() as i64],
        data: TensorData::Raw(Bytes::from(bytes)),
    };
    graph::constant(name, &tensor)
}
