//! TF.js 4.22 runs a functional `While` by calling its body function once per
//! iteration and freeing what the call made, tensors a `TensorList` still
//! holds included (the loops of a Keras or `dynamic_rnn` LSTM). The same loop
//! written as TF1 frames (Enter, Merge, Switch, Exit, NextIteration and
//! LoopCond around the inlined cond and body, what TensorFlow's own
//! `LowerWhileHelper` makes) runs in TF.js's frame executor, which keeps
//! those tensors. Such loops are lowered for TF.js output only: the `.pb`
//! keeps TensorFlow's functional loop.

use std::collections::{BTreeMap, HashSet};

use crate::error::{Error, ErrorKind, Result};
use crate::graph::{self, type_attr};
use crate::names;
use crate::proto::{attr_value, AttrValue, DataType, FunctionDef, FunctionDefLibrary, GraphDef, NodeDef};
use crate::savedmodel::inline_body;

/// More nested loops than a model has: a loop that (wrongly) holds itself stops here.
const MAX_LOOPS: usize = 1000;

/// Lowers every `While`/`StatelessWhile` the `lower` test picks (by node),
/// those its inlined bodies bring in included; returns the loops lowered.
pub fn lower_loops(graph: &mut GraphDef, lower: impl Fn(&GraphDef, &NodeDef) -> bool) -> Result<Vec<String>> {
    let mut lowered = Vec::new();
    for _ in 0..MAX_LOOPS {
        let Some(at) = graph.node.iter().position(|n| is_while(n) && lower(graph, n)) else {
            graph::prune_library(graph);
            return Ok(lowered);
        };
        let looped = graph.node[at].clone();
        let (nodes, exits) = frames(graph, &looped)?;
        graph.node.splice(at..=at, nodes);
        redirect(graph, &looped.name, &exits);
        lowered.push(looped.name);
    }
    Err(Error::new(ErrorKind::GraphInvalid, format!("more than {MAX_LOOPS} nested while loops")))
}

fn is_while(node: &NodeDef) -> bool {
    matches!(node.op.as_str(), "While" | "StatelessWhile")
}

/// The frame nodes of loop `looped`, and the `Exit` each of its outputs becomes.
fn frames(graph: &GraphDef, looped: &NodeDef) -> Result<(Vec<NodeDef>, Vec<String>)> {
    let w = looped.name.as_str();
    let invalid = |why: String| Error::new(ErrorKind::GraphInvalid, why).about(w);
    let empty = FunctionDefLibrary::default();
    let library = graph.library.as_ref().unwrap_or(&empty);
    let function = |attr: &str| -> Result<&FunctionDef> {
        let name = match graph::attr(looped, attr) {
            Some(attr_value::Value::Func(f)) => f.name.as_str(),
            _ => return Err(invalid(format!("while loop \"{w}\" has no {attr} function"))),
        };
        library.function.iter().find(|f| f.signature.as_ref().is_some_and(|s| s.name == name)).ok_or_else(|| {
            invalid(format!("while loop \"{w}\" runs function \"{name}\", which the graph's library does not hold"))
        })
    };
    let (cond, body) = (function("cond")?, function("body")?);
    let (data, controls): (Vec<&String>, Vec<&String>) = looped.input.iter().partition(|i| !names::is_control_input(i));
    let types: Vec<DataType> = match graph::attr(looped, "T") {
        Some(attr_value::Value::List(list)) => {
            list.r#type.iter().map(|&t| DataType::try_from(t).unwrap_or(DataType::DtInvalid)).collect()
        }
        _ => Vec::new(),
    };
    if types.len() != data.len() {
        return Err(invalid(format!("while loop \"{w}\" has {} inputs but {} types", data.len(), types.len())));
    }
    let iterations = graph::attr_int(looped, "parallel_iterations").unwrap_or(10);
    let mut taken: HashSet<String> = graph.node.iter().map(|n| n.name.clone()).collect();
    let mut name = |base: String| graph::unique_name(&base, &mut taken);
    let typed = |name: &str, op: &str, inputs: Vec<String>, dtype: DataType| NodeDef {
        name: name.to_string(),
        op: op.to_string(),
        input: inputs,
        attr: BTreeMap::from([("T".to_string(), type_attr(dtype))]),
        ..Default::default()
    };

    let mut nodes = Vec::new();
    let n = data.len();
    let enters: Vec<String> = (0..n).map(|i| name(format!("{w}/Enter_{i}"))).collect();
    let merges: Vec<String> = (0..n).map(|i| name(format!("{w}/Merge_{i}"))).collect();
    let nexts: Vec<String> = (0..n).map(|i| name(format!("{w}/NextIteration_{i}"))).collect();
    for i in 0..n {
        let mut enter = typed(&enters[i], "Enter", vec![data[i].clone()], types[i]);
        enter.input.extend(controls.iter().map(|c| c.to_string()));
        enter.attr.insert("frame_name".into(), AttrValue { value: Some(attr_value::Value::S(w.as_bytes().to_vec())) });
        enter.attr.insert("is_constant".into(), AttrValue { value: Some(attr_value::Value::B(false)) });
        enter.attr.insert("parallel_iterations".into(), AttrValue { value: Some(attr_value::Value::I(iterations)) });
        nodes.push(enter);
        let mut merge = typed(&merges[i], "Merge", vec![enters[i].clone(), nexts[i].clone()], types[i]);
        merge.attr.insert("N".into(), AttrValue { value: Some(attr_value::Value::I(2)) });
        nodes.push(merge);
    }
    let call = |base: &str, inputs: &[String], taken: &mut HashSet<String>| NodeDef {
        name: graph::unique_name(&format!("{w}/{base}"), taken),
        input: inputs.to_vec(),
        ..Default::default()
    };
    let cond_call = call("cond", &merges, &mut taken);
    let (cond_nodes, cond_out) = inline_body(&cond_call, cond, library, &mut taken)?;
    nodes.extend(cond_nodes);
    let predicate = cond_out.first().ok_or_else(|| invalid(format!("the cond function of \"{w}\" returns nothing")))?;
    let mut name = |base: String| graph::unique_name(&base, &mut taken);
    let loop_cond = name(format!("{w}/LoopCond"));
    nodes.push(NodeDef {
        name: loop_cond.clone(),
        op: "LoopCond".into(),
        input: vec![predicate.clone()],
        ..Default::default()
    });
    let (mut exits, mut pivots) = (Vec::new(), Vec::new());
    for i in 0..n {
        let switch = name(format!("{w}/Switch_{i}"));
        nodes.push(typed(&switch, "Switch", vec![merges[i].clone(), loop_cond.clone()], types[i]));
        let exit = name(format!("{w}/Exit_{i}"));
        nodes.push(typed(&exit, "Exit", vec![switch.clone()], types[i]));
        exits.push(exit);
        // The body reads the true branch through an Identity, as TensorFlow's lowering does.
        let pivot = name(format!("{w}/Identity_{i}"));
        nodes.push(typed(&pivot, "Identity", vec![format!("{switch}:1")], types[i]));
        pivots.push(pivot);
    }
    let body_call = call("body", &pivots, &mut taken);
    let (body_nodes, body_out) = inline_body(&body_call, body, library, &mut taken)?;
    nodes.extend(body_nodes);
    if body_out.len() != n {
        return Err(invalid(format!("the body of \"{w}\" returns {} values for {n} loop variables", body_out.len())));
    }
    for i in 0..n {
        nodes.push(typed(&nexts[i], "NextIteration", vec![body_out[i].clone()], types[i]));
    }
    Ok((nodes, exits))
}

/// What read output `k` of the loop reads `exits[k]`; a control edge from the loop waits on every exit.
fn redirect(graph: &mut GraphDef, looped: &str, exits: &[String]) {
    for node in &mut graph.node {
        let mut inputs = Vec::with_capacity(node.input.len());
        for input in std::mem::take(&mut node.input) {
            if names::node_of(&input) != looped {
                inputs.push(input);
            } else if names::is_control_input(&input) {
                inputs.extend(exits.iter().map(|e| format!("^{e}")));
            } else {
                inputs.push(exits.get(names::output_index(&input)).cloned().unwrap_or(input));
            }
        }
        node.input = inputs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::op_def::ArgDef;
    use crate::proto::{NameAttrList, OpDef};
    use crate::test_graphs::node;

    /// `fn name(x) -> y` computing `y = op(x, x)`.
    fn function(name: &str, op: &str) -> FunctionDef {
        let arg = |name: &str| ArgDef { name: name.into(), r#type: DataType::DtFloat as i32, ..Default::default() };
        FunctionDef {
            signature: Some(OpDef {
                name: name.into(),
                input_arg: vec![arg("x")],
                output_arg: vec![arg("y")],
                ..Default::default()
            }),
            node_def: vec![node("f", op, &["x", "x"])],
            ret: [("y".to_string(), "f:z:0".to_string())].into(),
            ..Default::default()
        }
    }

    fn looped(functions: Vec<FunctionDef>) -> GraphDef {
        let func = |name: &str| AttrValue {
            value: Some(attr_value::Value::Func(NameAttrList { name: name.into(), ..Default::default() })),
        };
        let mut w = node("w", "StatelessWhile", &["x", "^x"]);
        w.attr.insert("cond".into(), func("cond"));
        w.attr.insert("body".into(), func("body"));
        let types = attr_value::ListValue { r#type: vec![DataType::DtFloat as i32], ..Default::default() };
        w.attr.insert("T".into(), AttrValue { value: Some(attr_value::Value::List(types)) });
        GraphDef {
            node: vec![
                node("x", "Placeholder", &[]),
                w,
                node("out", "Identity", &["w"]),
                node("after", "NoOp", &["^w"]),
            ],
            library: Some(FunctionDefLibrary { function: functions, ..Default::default() }),
            ..Default::default()
        }
    }

    #[test]
    fn a_while_becomes_frames_around_its_inlined_cond_and_body() {
        let mut graph = looped(vec![function("cond", "Less"), function("body", "AddV2")]);
        assert_eq!(lower_loops(&mut graph, |_, _| true).unwrap(), ["w"]);
        let find = |name: &str| graph.node.iter().find(|n| n.name == name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(find("w/Enter_0").input, ["x", "^x"]);
        assert_eq!(graph::attr(find("w/Enter_0"), "frame_name"), Some(&attr_value::Value::S(b"w".to_vec())));
        assert_eq!(find("w/Merge_0").input, ["w/Enter_0", "w/NextIteration_0"]);
        assert_eq!(find("w/cond/f").input, ["w/Merge_0", "w/Merge_0"]);
        assert_eq!(find("w/LoopCond").input, ["w/cond/f"]);
        assert_eq!(find("w/Switch_0").input, ["w/Merge_0", "w/LoopCond"]);
        assert_eq!(find("w/Exit_0").input, ["w/Switch_0"]);
        assert_eq!(find("w/Identity_0").input, ["w/Switch_0:1"]);
        assert_eq!(find("w/body/f").input, ["w/Identity_0", "w/Identity_0"]);
        assert_eq!(find("w/NextIteration_0").input, ["w/body/f"]);
        assert_eq!(find("out").input, ["w/Exit_0"]);
        assert_eq!(find("after").input, ["^w/Exit_0"]);
        assert!(graph.node.iter().all(|n| n.op != "StatelessWhile"));
        assert!(graph.library.unwrap().function.is_empty(), "cond and body are no longer called");
    }

    #[test]
    fn a_loop_whose_body_is_missing_is_an_error_naming_it_and_left_as_it_was() {
        let mut graph = looped(vec![function("cond", "Less")]);
        let before = graph.clone();
        let error = lower_loops(&mut graph, |_, _| true).unwrap_err();
        assert_eq!(error.kind, ErrorKind::GraphInvalid);
        assert_eq!(error.subject.as_deref(), Some("w"));
        assert!(
            error.message.contains("runs function \"body\", which the graph's library does not hold"),
            "{}",
            error.message
        );
        assert_eq!(graph, before);
    }

    #[test]
    fn loops_the_test_does_not_pick_stay() {
        let mut graph = looped(vec![function("cond", "Less"), function("body", "AddV2")]);
        let before = graph.clone();
        assert!(lower_loops(&mut graph, |_, _| false).unwrap().is_empty());
        assert_eq!(graph.node, before.node);
    }
}
