//! Constant folding: a node whose data inputs are all `Const`s becomes a
//! `Const` of its value (same name, so consumers are untouched), and a v1
//! `cond` whose predicate is constant keeps only the branch it takes.
//! Nothing inside a `while_loop` frame is touched, and a folded node keeps
//! the control inputs of what it read, so it stays in its cond branch.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use super::edit::{self, Consumers, Edge};
use super::kernels;
use super::{Log, Protected, Rewrite};
use crate::graph::attr_type;
use crate::graph::shapes::ShapeInference;
use crate::names::{node_of, output_index};
use crate::proto::{DataType, GraphDef, NodeDef};
use crate::tensor::{Tensor, TensorData};

/// Folding never makes a constant larger than this, unless its inputs
/// already were (a `Fill` could otherwise blow up the weights).
const MAX_GROWN_BYTES: usize = 1 << 20;

pub(crate) fn fold(graph: &mut GraphDef, protected: &Protected, log: &mut Log) {
    let mut folded: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut rejected = HashSet::new();
    loop {
        let mut changed = fold_known_shapes(graph, &mut folded);
        changed |= fold_pure_ops(&mut graph.node, &mut folded);
        changed |= resolve_constant_switches(graph, protected, &mut rejected, log);
        // A constant predicate that loses its last control input becomes resolvable.
        changed |= edit::tidy_control_inputs(&mut graph.node);
        if !changed {
            break;
        }
    }
    for (op, names) in folded {
        log.applied(Rewrite::FoldedConstants { op, names });
    }
}

// ---- pure ops --------------------------------------------------------------------

fn fold_pure_ops(nodes: &mut [NodeDef], folded: &mut BTreeMap<String, Vec<String>>) -> bool {
    let in_loop = edit::in_while_frames(nodes);
    let index: HashMap<String, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name.clone(), i)).collect();
    let mut changed = false;
    // Nodes are replaced in place, so one sweep sees what the previous
    // nodes folded into; sweep again for graphs not in topological order.
    loop {
        let mut swept = false;
        for i in 0..nodes.len() {
            let node = &nodes[i];
            if in_loop[i] || !kernels::FOLDABLE_OPS.contains(&node.op.as_str()) {
                continue;
            }
            let Some((value, control)) = evaluate_node(nodes, &index, i) else { continue };
            let (op, name) = (node.op.clone(), node.name.clone());
            let mut constant = crate::graph::constant(&name, &value);
            constant.input = control;
            nodes[i] = constant;
            folded.entry(op).or_default().push(name);
            swept = true;
        }
        if !swept {
            return changed;
        }
        changed = true;
    }
}

/// `Shape` of a tensor whose static shape is fully known is a constant
/// (TensorFlow rejects a feed of another shape). The tensor's producer
/// becomes a control input unless it is always live (a `Placeholder` or
/// `Const`), so that in a cond branch the constant is dead when it would be.
fn fold_known_shapes(graph: &mut GraphDef, folded: &mut BTreeMap<String, Vec<String>>) -> bool {
    let plans: Vec<(usize, Tensor, Option<String>)> = {
        let shapes = ShapeInference::new(graph);
        let in_loop = edit::in_while_frames(&graph.node);
        let index: HashMap<&str, &NodeDef> = graph.node.iter().map(|n| (n.name.as_str(), n)).collect();
        let shape_of = |node: &NodeDef| {
            let input = edit::data_inputs(node).next().filter(|i| output_index(i) == 0)?;
            let dims = shapes.shape_of(input).filter(|dims| dims.iter().all(|&d| d >= 0))?;
            let value = kernels::shape_tensor(&dims, attr_type(node, "out_type").unwrap_or(DataType::DtInt32))?;
            let producer = index.get(node_of(input))?;
            let live = matches!(producer.op.as_str(), "Placeholder" | "Const") && producer.input.is_empty();
            Some((value, (!live).then(|| edit::control_input(&producer.name))))
        };
        let shape_nodes = graph.node.iter().enumerate().filter(|&(i, n)| n.op == "Shape" && !in_loop[i]);
        shape_nodes.filter_map(|(i, node)| shape_of(node).map(|(value, gate)| (i, value, gate))).collect()
    };
    let changed = !plans.is_empty();
    for (i, value, gate) in plans {
        let node = &graph.node[i];
        let mut constant = crate::graph::constant(&node.name, &value);
        constant.input = edit::control_inputs(node).cloned().chain(gate).collect();
        folded.entry(node.op.clone()).or_default().push(node.name.clone());
        graph.node[i] = constant;
    }
    changed
}

/// The node's value if every data input is a `Const`, with the control
/// inputs the result needs.
fn evaluate_node(nodes: &[NodeDef], index: &HashMap<String, usize>, i: usize) -> Option<(Tensor, Vec<String>)> {
    let node = &nodes[i];
    let producers: Vec<&NodeDef> = edit::data_inputs(node)
        .map(|input| (output_index(input) == 0).then(|| index.get(node_of(input)).map(|&p| &nodes[p]))?)
        .collect::<Option<_>>()?;
    let mut control: Vec<String> = edit::control_inputs(node).cloned().collect();
    // Check every input before decoding any: weights can be large.
    if producers.iter().any(|p| p.op != "Const") {
        return None;
    }
    let values: Vec<Tensor> = producers.iter().map(|p| edit::const_value(p)).collect::<Option<_>>()?;
    producers.iter().for_each(|p| control.extend(edit::control_inputs(p).cloned()));
    let value = kernels::evaluate(node, &values)?;
    let input_bytes: usize = values.iter().map(Tensor::byte_len).sum();
    if value.byte_len() > MAX_GROWN_BYTES.max(input_bytes) {
        return None;
    }
    let mut seen = HashSet::new();
    control.retain(|c| seen.insert(c.clone()));
    Some((value, control))
}

// ---- conds with a constant predicate -----------------------------------------------

/// What resolving one `Switch(data, pred)` with a constant `pred` changes.
struct SwitchPlan {
    switch: usize,
    predicate: bool,
    /// Readers of the taken output; they read `data` instead.
    live: Vec<Edge>,
    data: String,
    region: DeadRegion,
}

/// What the untaken branch reaches.
struct DeadRegion {
    /// Nodes that can only ever see dead values; removed.
    dead: HashSet<usize>,
    /// Merges that stay, and the input positions they lose.
    merges: HashMap<usize, Vec<usize>>,
}

fn resolve_constant_switches(
    graph: &mut GraphDef,
    protected: &Protected,
    rejected: &mut HashSet<String>,
    log: &mut Log,
) -> bool {
    let mut changed = false;
    loop {
        let nodes = &graph.node;
        let in_loop = edit::in_while_frames(nodes);
        let consumers = Consumers::of(nodes);
        let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), i)).collect();
        let mut plan = None;
        for i in (0..nodes.len()).filter(|&i| nodes[i].op == "Switch" && !in_loop[i]) {
            if rejected.contains(&nodes[i].name) {
                continue;
            }
            match plan_switch(nodes, &index, &consumers, &in_loop, protected, i) {
                Some(Ok(found)) => {
                    plan = Some(found);
                    break;
                }
                Some(Err(reason)) => {
                    log.warn(format!("kept {} although its predicate is constant: {reason}", nodes[i].name));
                    rejected.insert(nodes[i].name.clone());
                }
                None => {}
            }
        }
        let Some(plan) = plan else { return changed };
        apply_switch_plan(graph, plan, log);
        changed = true;
    }
}

/// `None` when the switch is not a constant-predicate switch with readers;
/// `Err` when resolving it is unsafe.
fn plan_switch(
    nodes: &[NodeDef],
    index: &HashMap<&str, usize>,
    consumers: &Consumers,
    in_loop: &[bool],
    protected: &Protected,
    switch: usize,
) -> Option<Result<SwitchPlan, String>> {
    let node = &nodes[switch];
    let [data, pred] = node.input.as_slice() else { return None };
    let predicate = constant_predicate(nodes, index, pred)?;
    if protected.contains(&node.name) || consumers.data(&node.name).next().is_none() {
        return None;
    }
    let taken = usize::from(predicate);
    let live: Vec<Edge> = consumers.data(&node.name).filter(|e| e.port == Some(taken)).copied().collect();
    let untaken = consumers.data(&node.name).filter(|e| e.port == Some(1 - taken)).copied();
    let region = match dead_region(nodes, consumers, in_loop, protected, untaken) {
        Ok(region) => region,
        Err(reason) => return Some(Err(reason)),
    };
    Some(Ok(SwitchPlan { switch, predicate, live, data: edit::canonical_input(data), region }))
}

/// The value of a scalar bool `Const` without inputs (one with inputs may be dead).
fn constant_predicate(nodes: &[NodeDef], index: &HashMap<&str, usize>, input: &str) -> Option<bool> {
    let producer = &nodes[*index.get(node_of(input))?];
    if !producer.input.is_empty() || output_index(input) != 0 {
        return None;
    }
    let value = edit::const_value(producer)?;
    match (&value.dtype, &value.data) {
        (DataType::DtBool, TensorData::Raw(bytes)) if bytes.len() == 1 => Some(bytes[0] != 0),
        _ => None,
    }
}

/// Follows dead values from the untaken output: any reader of a dead value
/// is dead, except a `Merge`, which dies only when all its data inputs do.
fn dead_region(
    nodes: &[NodeDef],
    consumers: &Consumers,
    in_loop: &[bool],
    protected: &Protected,
    untaken: impl Iterator<Item = Edge>,
) -> Result<DeadRegion, String> {
    let mut dead = HashSet::new();
    let mut merges: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut queue: VecDeque<Edge> = untaken.collect();
    while let Some(edge) = queue.pop_front() {
        let node = &nodes[edge.consumer];
        if dead.contains(&edge.consumer) {
            continue;
        }
        if is_merge(node) {
            if edge.port.is_none() {
                return Err(format!("a control edge from the untaken branch reaches {}", node.name));
            }
            let lost = merges.entry(edge.consumer).or_default();
            lost.push(edge.position);
            if lost.len() < edit::data_inputs(node).count() {
                continue;
            }
        }
        if protected.contains(&node.name) {
            return Err(format!("{} would never be computed", node.name));
        }
        if in_loop[edge.consumer] || edit::LOOP_OPS.contains(&node.op.as_str()) {
            return Err(format!("the untaken branch reaches the while loop at {}", node.name));
        }
        dead.insert(edge.consumer);
        queue.extend(consumers.all(&node.name).iter().copied());
    }
    merges.retain(|m, _| !dead.contains(m));
    for &m in merges.keys() {
        if consumers.data(&nodes[m].name).any(|e| e.port == Some(1)) {
            return Err(format!("{}'s value_index output is read", nodes[m].name));
        }
    }
    Ok(DeadRegion { dead, merges })
}

fn is_merge(node: &NodeDef) -> bool {
    node.op == "Merge" || node.op == "RefMerge"
}

fn apply_switch_plan(graph: &mut GraphDef, plan: SwitchPlan, log: &mut Log) {
    let nodes = &mut graph.node;
    for edge in &plan.live {
        nodes[edge.consumer].input[edge.position] = plan.data.clone();
    }
    for (&m, lost) in &plan.region.merges {
        shrink_merge(&mut nodes[m], lost);
    }
    let switch = nodes[plan.switch].name.clone();
    let removed = plan.region.dead.len();
    let mut i = 0;
    nodes.retain(|_| {
        i += 1;
        !plan.region.dead.contains(&(i - 1))
    });
    log.applied(Rewrite::ResolvedCond { switch, branch: plan.predicate, removed });
}

/// Drops a merge's dead inputs; with one input left it is an `Identity`.
fn shrink_merge(merge: &mut NodeDef, lost: &[usize]) {
    let mut position = 0;
    merge.input.retain(|_| {
        position += 1;
        !lost.contains(&(position - 1))
    });
    let remaining = edit::data_inputs(merge).count();
    if remaining == 1 {
        merge.op = "Identity".to_string();
        merge.attr.retain(|name, _| name == "T");
    } else {
        merge.attr.insert(
            "N".to_string(),
            crate::proto::AttrValue { value: Some(crate::proto::attr_value::Value::I(remaining as i64)) },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::type_attr;
    use crate::proto::{attr_value, AttrValue};
    use crate::tensor::shape_proto;
    use crate::test_graphs::node;

    fn placeholder(name: &str, dims: &[i64]) -> NodeDef {
        let mut n = node(name, "Placeholder", &[]);
        n.attr.insert("dtype".into(), type_attr(DataType::DtFloat));
        n.attr.insert("shape".into(), AttrValue { value: Some(attr_value::Value::Shape(shape_proto(dims))) });
        n
    }

    fn typed(mut n: NodeDef, attr: &str, dtype: DataType) -> NodeDef {
        n.attr.insert(attr.into(), type_attr(dtype));
        n
    }

    fn ints(graph: &GraphDef, name: &str) -> (String, Vec<i32>, Vec<String>) {
        let n = graph.node.iter().find(|n| n.name == name).unwrap();
        let values = edit::const_value(n)
            .and_then(|t| {
                t.raw().map(|r| r.chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect())
            })
            .unwrap_or_default();
        (n.op.clone(), values, n.input.clone())
    }

    #[test]
    fn shapes_fully_known_fold_and_folding_goes_on_through_them() {
        let mut graph = GraphDef {
            node: vec![
                placeholder("x", &[2, 3]),
                placeholder("batch", &[-1, 3]),
                typed(node("relu", "Relu", &["x"]), "T", DataType::DtFloat),
                typed(node("shape", "Shape", &["relu"]), "out_type", DataType::DtInt32),
                typed(node("doubled", "AddV2", &["shape", "shape"]), "T", DataType::DtInt32),
                typed(node("of_input", "Shape", &["x"]), "out_type", DataType::DtInt32),
                typed(node("unknown", "Shape", &["batch"]), "out_type", DataType::DtInt32),
            ],
            ..Default::default()
        };
        let protected = Protected::new(&["x".into(), "batch".into()], &["doubled".into(), "of_input".into()]);
        let mut log = Log::default();
        fold(&mut graph, &protected, &mut log);
        // The folded shape waits for what it measures, so a cond branch still gates it.
        assert_eq!(ints(&graph, "shape"), ("Const".into(), vec![2, 3], vec!["^relu".into()]));
        assert_eq!(ints(&graph, "doubled"), ("Const".into(), vec![4, 6], vec!["^relu".into()]));
        assert_eq!(ints(&graph, "of_input"), ("Const".into(), vec![2, 3], vec![]));
        assert_eq!(ints(&graph, "unknown").0, "Shape", "a batch of unknown size has no constant shape");
    }
}
