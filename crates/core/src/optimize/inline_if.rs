//! A functional `If` (control flow v2) whose predicate is constant becomes
//! the branch it takes, inlined into the graph: the v2 counterpart of
//! resolving a v1 `cond`'s constant `Switch`. The inlined nodes are named
//! under the `If`'s scope (`bn1/cond/ReadVariableOp`), read the `If`'s data
//! inputs in place of the branch's arguments, and whatever read the `If`'s
//! outputs reads what the branch returns; then batch norms and constants
//! fold as in a v1 graph.

use std::collections::{HashMap, HashSet};

use super::edit::{self, canonical_input};
use super::{Log, Protected, Rewrite};
use crate::graph;
use crate::names::{self, node_of, output_index};
use crate::proto::{attr_value, DataType, FunctionDef, GraphDef, NodeDef};
use crate::tensor::TensorData;

/// How many nested `If`s a branch may bring in before the pass stops.
const MAX_ROUNDS: usize = 16;

pub(crate) fn inline(graph: &mut GraphDef, protected: &Protected, log: &mut Log) {
    let mut inlined = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let before = inlined.len();
        inline_once(graph, protected, log, &mut inlined);
        if inlined.len() == before {
            break;
        }
    }
    if !inlined.is_empty() {
        graph::prune_library(graph);
        log.applied(Rewrite::InlinedIf { names: inlined });
    }
}

/// One sweep over the graph's `If`s; a nested `If` an inlined branch brings
/// in waits for the next.
fn inline_once(graph: &mut GraphDef, protected: &Protected, log: &mut Log, inlined: &mut Vec<String>) {
    let functions: HashMap<String, FunctionDef> = graph
        .library
        .iter()
        .flat_map(|l| l.function.iter())
        .filter_map(|f| Some((f.signature.as_ref()?.name.clone(), f.clone())))
        .collect();
    let candidates: Vec<String> = {
        // Nodes without data inputs would fall out of a v1 loop frame.
        let in_loop = edit::in_while_frames(&graph.node);
        graph
            .node
            .iter()
            .zip(in_loop)
            .filter(|(n, in_loop)| {
                matches!(n.op.as_str(), "If" | "StatelessIf") && !in_loop && !protected.contains(&n.name)
            })
            .map(|(n, _)| n.name.clone())
            .collect()
    };
    for name in candidates {
        let index = graph::index_by_name(graph);
        let Some(&at) = index.get(name.as_str()) else { continue };
        let node = &graph.node[at];
        let Some(taken) = constant_predicate(&graph.node, &index, node) else { continue };
        let branch = if taken { "then_branch" } else { "else_branch" };
        let function = match graph::attr(node, branch) {
            Some(attr_value::Value::Func(f)) => functions.get(&f.name),
            _ => None,
        };
        let Some(function) = function else {
            log.warn(format!("If {name} was left in place: its {branch} is not in the graph's library"));
            continue;
        };
        let mut names = edit::node_names(&graph.node);
        match inline_branch(node, function, &mut names) {
            Ok(branch) if reads_missing_output(graph, &name, branch.outputs.len()) => {
                log.warn(format!("If {name} was left in place: a node reads an output its branch does not return"));
            }
            Ok(branch) => {
                splice(graph, at, branch);
                inlined.push(name);
            }
            Err(why) => log.warn(format!("If {name} was left in place: {why}")),
        }
    }
}

fn reads_missing_output(graph: &GraphDef, call: &str, outputs: usize) -> bool {
    let reads = |i: &String| !names::is_control_input(i) && node_of(i) == call && output_index(i) >= outputs;
    graph.node.iter().any(|n| n.input.iter().any(reads))
}

/// The predicate's value, when it is a one-element bool `Const`, possibly
/// behind ops that keep the value (`cond_v2` squeezes it).
fn constant_predicate(nodes: &[NodeDef], index: &HashMap<&str, usize>, node: &NodeDef) -> Option<bool> {
    let mut input = edit::data_inputs(node).next()?;
    for _ in 0..=nodes.len() {
        let producer = &nodes[*index.get(node_of(input))?];
        match producer.op.as_str() {
            "Identity" | "Squeeze" | "Reshape" | "ExpandDims" | "Snapshot" | "StopGradient" => {
                input = edit::data_inputs(producer).next()?;
            }
            "Const" => {
                let value = edit::const_value(producer)?;
                return match (&value.data, value.dtype, value.num_elements()) {
                    (TensorData::Raw(bytes), DataType::DtBool, 1) => Some(bytes.first()? != &0),
                    _ => None,
                };
            }
            _ => return None,
        }
    }
    None
}

/// A branch ready to splice in: its nodes in graph form, and the graph
/// tensor each of the `If`'s outputs becomes.
struct Inlined {
    nodes: Vec<NodeDef>,
    outputs: Vec<String>,
    /// What a control edge from the `If` waits for instead.
    done: Vec<String>,
}

/// The branch's body with its names and tensor references in graph form;
/// `Err` says why it cannot be.
fn inline_branch(call: &NodeDef, function: &FunctionDef, taken: &mut HashSet<String>) -> Result<Inlined, String> {
    let function_name = function.signature.as_ref().map(|s| s.name.as_str()).unwrap_or_default();
    let signature = function.signature.as_ref().ok_or_else(|| format!("function {function_name} has no signature"))?;
    let data: Vec<&String> = edit::data_inputs(call).collect();
    if data.len() != signature.input_arg.len() + 1 {
        return Err(format!(
            "it passes {} inputs, but {function_name} takes {}",
            data.len().saturating_sub(1),
            signature.input_arg.len()
        ));
    }
    let args: HashMap<&str, String> = signature
        .input_arg
        .iter()
        .zip(&data[1..])
        .map(|(a, &input)| (a.name.as_str(), canonical_input(input)))
        .collect();
    let renamed: HashMap<&str, String> = function
        .node_def
        .iter()
        .map(|n| (n.name.as_str(), edit::unique_name(&format!("{}/{}", call.name, n.name), taken)))
        .collect();
    let ops: HashMap<&str, &str> = function.node_def.iter().map(|n| (n.name.as_str(), n.op.as_str())).collect();
    let translate = |input: &str| -> Result<String, String> {
        if let Some(source) = input.strip_prefix('^') {
            return renamed.get(source).map(|n| edit::control_input(n)).ok_or_else(|| format!("{input} names no node"));
        }
        let mut parts = input.split(':');
        let (source, output, index) = (parts.next().unwrap_or_default(), parts.next(), parts.next());
        let Some(output) = output else {
            return args.get(source).cloned().ok_or_else(|| format!("{function_name} reads {input}, not an argument"));
        };
        let node = renamed.get(source).ok_or_else(|| format!("{input} names no node of {function_name}"))?;
        let op = ops[source];
        let position = output_args(op)
            .ok_or_else(|| format!("{function_name} holds {op}, whose outputs this pass does not know"))?
            .iter()
            .position(|a| *a == output)
            .ok_or_else(|| format!("{op} has no output {output}"))?;
        if index.is_some_and(|i| i != "0") {
            return Err(format!("{input} is an element of a list output"));
        }
        Ok(canonical_input(&format!("{node}:{position}")))
    };

    let control: Vec<String> = edit::control_inputs(call).cloned().collect();
    let mut nodes = Vec::with_capacity(function.node_def.len());
    for body_node in &function.node_def {
        if body_node.attr.values().any(|a| matches!(a.value, Some(attr_value::Value::Placeholder(_)))) {
            return Err(format!("{function_name} has attrs set by its caller"));
        }
        let mut node = body_node.clone();
        node.name = renamed[body_node.name.as_str()].clone();
        node.input = body_node.input.iter().map(|i| translate(i)).collect::<Result<_, _>>()?;
        // Without data inputs, only the If's control inputs order it.
        if edit::data_inputs(&node).next().is_none() {
            node.input.extend(control.iter().cloned());
        }
        node.device = call.device.clone();
        nodes.push(node);
    }
    let outputs = signature
        .output_arg
        .iter()
        .map(|a| translate(function.ret.get(&a.name).ok_or_else(|| format!("{function_name} returns no {}", a.name))?))
        .collect::<Result<Vec<_>, _>>()?;
    let mut done: Vec<String> =
        function.control_ret.values().filter_map(|n| renamed.get(n.as_str()).cloned()).collect();
    done.extend(outputs.iter().filter(|o| !names::is_control_input(o)).map(|o| node_of(o).to_string()));
    if done.is_empty() {
        done.extend(call.input.iter().map(|i| node_of(i).to_string()));
    }
    Ok(Inlined { nodes, outputs, done })
}

/// Replaces the `If` at `at` by the branch, and its outputs by the branch's.
fn splice(graph: &mut GraphDef, at: usize, branch: Inlined) {
    let call = graph.node[at].name.clone();
    let done: Vec<String> = branch.done.iter().map(|n| edit::control_input(n)).collect();
    for node in graph.node.iter_mut() {
        let mut inputs = Vec::with_capacity(node.input.len());
        for input in std::mem::take(&mut node.input) {
            if node_of(&input) != call {
                inputs.push(input);
            } else if names::is_control_input(&input) {
                inputs.extend(done.iter().cloned());
            } else {
                inputs.push(branch.outputs.get(output_index(&input)).cloned().unwrap_or(input));
            }
        }
        // Data inputs come first in a NodeDef.
        inputs.sort_by_key(|i| names::is_control_input(i));
        node.input = inputs;
    }
    graph.node.splice(at..=at, branch.nodes);
    edit::tidy_control_inputs(&mut graph.node);
}

/// Output args of the ops batch-norm and dropout branches hold, in order
/// (a body names `node:arg:index`, the graph `node:flat_index`). Only ops
/// without list outputs are listed.
fn output_args(op: &str) -> Option<&'static [&'static str]> {
    const OUTPUT: &[&str] = &["output"];
    const Y: &[&str] = &["y"];
    const Z: &[&str] = &["z"];
    Some(match op {
        "Identity"
        | "Const"
        | "Squeeze"
        | "Reshape"
        | "ExpandDims"
        | "Shape"
        | "StopGradient"
        | "Snapshot"
        | "Mean"
        | "Sum"
        | "Prod"
        | "Max"
        | "Min"
        | "Select"
        | "SelectV2"
        | "Fill"
        | "BiasAdd"
        | "ConcatV2"
        | "Pack"
        | "StridedSlice"
        | "Tile"
        | "Range"
        | "BroadcastTo"
        | "Size"
        | "Rank"
        | "RandomUniform"
        | "RandomStandardNormal"
        | "StatelessRandomUniform"
        | "StatelessRandomUniformV2"
        | "GatherV2"
        | "Conv2D"
        | "DepthwiseConv2dNative"
        | "PlaceholderWithDefault"
        | "PreventGradient" => OUTPUT,
        "Cast" | "Rsqrt" | "Sqrt" | "Square" | "Neg" | "Exp" | "Log" | "Floor" | "Reciprocal" | "Sigmoid" | "Tanh"
        | "LogicalNot" | "ZerosLike" | "OnesLike" | "Transpose" => Y,
        "Mul" | "AddV2" | "Add" | "Sub" | "RealDiv" | "Div" | "SquaredDifference" | "Maximum" | "Minimum"
        | "Greater" | "GreaterEqual" | "Less" | "LessEqual" | "Equal" | "NotEqual" | "LogicalAnd" | "LogicalOr" => Z,
        "Relu" | "Relu6" => &["activations"],
        "MatMul" => &["product"],
        "ReadVariableOp" => &["value"],
        "StatelessRandomGetKeyCounter" => &["key", "counter"],
        "FusedBatchNorm" | "FusedBatchNormV2" => {
            &["y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"]
        }
        "FusedBatchNormV3" => {
            &["y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2", "reserve_space_3"]
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Log, Protected};
    use super::*;
    use crate::proto::{op_def::ArgDef, AttrValue, FunctionDefLibrary, NameAttrList, OpDef};
    use crate::tensor::{Tensor, TensorData};
    use crate::test_graphs::node;

    fn arg(name: &str) -> ArgDef {
        ArgDef { name: name.into(), r#type: DataType::DtFloat as i32, ..Default::default() }
    }

    fn function(name: &str, inputs: &[&str], outputs: &[(&str, &str)], body: Vec<NodeDef>) -> FunctionDef {
        FunctionDef {
            signature: Some(OpDef {
                name: name.into(),
                input_arg: inputs.iter().map(|a| arg(a)).collect(),
                output_arg: outputs.iter().map(|(o, _)| arg(o)).collect(),
                ..Default::default()
            }),
            node_def: body,
            ret: outputs.iter().map(|(o, r)| (o.to_string(), r.to_string())).collect(),
            ..Default::default()
        }
    }

    fn predicate(value: bool) -> NodeDef {
        let tensor = Tensor { dtype: DataType::DtBool, shape: vec![], data: TensorData::Raw(vec![value as u8].into()) };
        graph::constant("is_training", &tensor)
    }

    fn if_node(then_branch: &str, else_branch: &str) -> NodeDef {
        let mut call = node("cond", "If", &["cond/Squeeze", "x", "mean", "^init"]);
        for (attr, name) in [("then_branch", then_branch), ("else_branch", else_branch)] {
            let value = attr_value::Value::Func(NameAttrList { name: name.into(), ..Default::default() });
            call.attr.insert(attr.into(), AttrValue { value: Some(value) });
        }
        call
    }

    /// `x → cond(is_training) → {a, b}`, with a cond_v2-style squeezed predicate.
    fn graph(predicate: NodeDef, branches: Vec<FunctionDef>, then_branch: &str, else_branch: &str) -> GraphDef {
        GraphDef {
            node: vec![
                predicate,
                node("cond/Squeeze", "Squeeze", &["is_training"]),
                node("x", "Placeholder", &[]),
                node("mean", "Placeholder", &[]),
                node("init", "NoOp", &[]),
                node("cond/scale", "Const", &[]),
                if_node(then_branch, else_branch),
                node("a", "Identity", &["cond"]),
                node("b", "Relu", &["cond:1", "^cond"]),
            ],
            library: Some(FunctionDefLibrary { function: branches, ..Default::default() }),
            ..Default::default()
        }
    }

    /// Inference: scale x by a constant and return the moving mean as is.
    fn inference_branch() -> FunctionDef {
        let body = vec![
            node("scale", "Const", &[]),
            node("mul", "Mul", &["x_arg", "scale:output:0"]),
            node("norm", "FusedBatchNormV3", &["mul:z:0", "scale:output:0", "scale:output:0", "mean_arg", "mean_arg"]),
        ];
        function("cond_false", &["x_arg", "mean_arg"], &[("y", "norm:y:0"), ("m", "norm:batch_mean:0")], body)
    }

    fn training_branch() -> FunctionDef {
        function("cond_true", &["x_arg", "mean_arg"], &[("y", "x_arg"), ("m", "mean_arg")], vec![])
    }

    fn run(graph: &mut GraphDef) -> Log {
        let protected = Protected::new(&["x".to_string()], &["a".to_string(), "b".to_string()]);
        let mut log = Log::default();
        inline(graph, &protected, &mut log);
        log
    }

    fn find<'a>(graph: &'a GraphDef, name: &str) -> &'a NodeDef {
        graph.node.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no node {name}"))
    }

    #[test]
    fn the_branch_taken_replaces_the_if() {
        let mut graph = graph(predicate(false), vec![training_branch(), inference_branch()], "cond_true", "cond_false");
        let log = run(&mut graph);

        assert!(log.warnings.is_empty(), "{:?}", log.warnings);
        assert!(graph.node.iter().all(|n| n.op != "If"));
        // Scoped under the If, clear of the graph's own cond/scale.
        assert_eq!(find(&graph, "cond/scale_1").input, ["^init"]);
        assert_eq!(find(&graph, "cond/mul").input, ["x", "cond/scale_1"]);
        let norm = find(&graph, "cond/norm");
        assert_eq!(norm.input, ["cond/mul", "cond/scale_1", "cond/scale_1", "mean", "mean"]);
        assert_eq!(find(&graph, "a").input, ["cond/norm"]);
        assert_eq!(find(&graph, "b").input, ["cond/norm:1"]);
        // Nothing calls the branches any more.
        assert!(graph.library.as_ref().unwrap().function.is_empty());
        assert_eq!(log.applied.len(), 1);
    }

    #[test]
    fn a_branch_returning_its_arguments_wires_the_inputs_through() {
        let mut graph = graph(predicate(true), vec![training_branch(), inference_branch()], "cond_true", "cond_false");
        run(&mut graph);
        assert_eq!(find(&graph, "a").input, ["x"]);
        // The control edge on the If waits for what produced its outputs.
        assert_eq!(find(&graph, "b").input, ["mean", "^x"]);
    }

    #[test]
    fn a_live_predicate_or_an_unknown_op_leaves_the_if() {
        let mut live = graph(
            node("is_training", "Placeholder", &[]),
            vec![training_branch(), inference_branch()],
            "cond_true",
            "cond_false",
        );
        let before = live.clone();
        let log = run(&mut live);
        assert_eq!(live, before);
        assert!(log.warnings.is_empty() && log.applied.is_empty());

        let mut unknown = inference_branch();
        unknown.node_def[2].op = "SomeCustomOp".into();
        let mut graph = graph(predicate(false), vec![training_branch(), unknown], "cond_true", "cond_false");
        let before = graph.clone();
        let log = run(&mut graph);
        assert_eq!(graph, before);
        assert_eq!(log.warnings.len(), 1);
        assert!(log.warnings[0].contains("SomeCustomOp"), "{}", log.warnings[0]);
    }

    #[test]
    fn list_outputs_and_missing_branches_are_refused() {
        let mut list = inference_branch();
        list.ret.insert("m".into(), "norm:batch_mean:1".into());
        let mut listed = graph(predicate(false), vec![training_branch(), list], "cond_true", "cond_false");
        let log = run(&mut listed);
        assert!(listed.node.iter().any(|n| n.op == "If"));
        assert!(log.warnings[0].contains("list output"), "{}", log.warnings[0]);

        let mut missing = graph(predicate(false), vec![training_branch()], "cond_true", "missing");
        let log = run(&mut missing);
        assert!(missing.node.iter().any(|n| n.op == "If"));
        assert!(log.warnings[0].contains("not in the graph's library"), "{}", log.warnings[0]);
    }
}
