//! TF2 graphs compute inside functions: a signature's graph is placeholders,
//! variable handles and one `StatefulPartitionedCall`, whose function calls
//! others. TF.js runs no calls, so each becomes its function's body, named
//! under the call (`StatefulPartitionedCall/dense/MatMul`), reading the
//! call's inputs in place of the arguments; what read the call's outputs
//! reads what the body returns. Calls the inlined bodies bring in are
//! inlined in turn.

use std::collections::{HashMap, HashSet};

use super::op_outputs::{output_args, OutputArgs};
use crate::error::{Error, ErrorKind, Result};
use crate::graph;
use crate::names::{self, node_of, output_index};
use crate::proto::node_def::ExperimentalDebugInfo;
use crate::proto::{attr_value, FunctionDef, FunctionDefLibrary, GraphDef, NodeDef};

/// More calls than any model makes: a function that (wrongly) calls itself stops here.
const MAX_CALLS: usize = 100_000;

/// Inlines every function call the `roots` reach, until none is left. Calls
/// they do not reach (the saver's) stay, for the freezer to prune.
pub(super) fn inline_calls(graph: &mut GraphDef, roots: &[String]) -> Result<()> {
    let library = graph.library.clone().unwrap_or_default();
    let functions: HashMap<&str, &FunctionDef> =
        library.function.iter().filter_map(|f| Some((f.signature.as_ref()?.name.as_str(), f))).collect();
    let mut taken: HashSet<String> = graph.node.iter().map(|n| n.name.clone()).collect();
    for _ in 0..MAX_CALLS {
        let reached = graph::reachable(graph, roots);
        let next = graph.node.iter().zip(reached).enumerate().find_map(|(i, (n, reached))| {
            if !reached {
                return None;
            }
            Some((i, called(n, &functions)?))
        });
        let Some((at, function)) = next else { return Ok(()) };
        let call = graph.node[at].clone();
        let function = functions.get(function.as_str()).ok_or_else(|| {
            Error::new(
                ErrorKind::GraphInvalid,
                format!(
                    "node \"{}\" ({}) calls function \"{function}\", which the graph's library does not hold",
                    call.name, call.op
                ),
            )
            .about(&call.name)
        })?;
        let body = inline_one(&call, function, &library, &mut taken)?;
        redirect(graph, &call.name, &body.outputs)?;
        graph.node.splice(at..=at, body.nodes);
    }
    Err(Error::new(ErrorKind::GraphInvalid, format!("more than {MAX_CALLS} nested function calls")))
}

/// The function a node calls, if it is a call: `f` of a (Stateful)PartitionedCall,
/// or the op itself when it names a library function.
fn called(node: &NodeDef, functions: &HashMap<&str, &FunctionDef>) -> Option<String> {
    if matches!(node.op.as_str(), "PartitionedCall" | "StatefulPartitionedCall") {
        return match graph::attr(node, "f") {
            Some(attr_value::Value::Func(f)) => Some(f.name.clone()),
            _ => Some(String::new()),
        };
    }
    functions.contains_key(node.op.as_str()).then(|| node.op.clone())
}

/// `function`'s body as nodes named under `call`, reading `call`'s inputs
/// for its arguments, and the tensors it returns (for TF.js's loop lowering).
pub(crate) fn inline_body(
    call: &NodeDef,
    function: &FunctionDef,
    library: &FunctionDefLibrary,
    taken: &mut HashSet<String>,
) -> Result<(Vec<NodeDef>, Vec<String>)> {
    let body = inline_one(call, function, library, taken)?;
    Ok((body.nodes, body.outputs))
}

struct Body {
    nodes: Vec<NodeDef>,
    /// The graph tensor each of the call's outputs becomes.
    outputs: Vec<String>,
}

fn inline_one(
    call: &NodeDef,
    function: &FunctionDef,
    library: &FunctionDefLibrary,
    taken: &mut HashSet<String>,
) -> Result<Body> {
    let signature = function.signature.clone().unwrap_or_default();
    let fname = signature.name.as_str();
    let invalid = |why: String| Error::new(ErrorKind::GraphInvalid, why).about(&call.name);
    let data: Vec<&String> = call.input.iter().filter(|i| !names::is_control_input(i)).collect();
    if data.len() != signature.input_arg.len() {
        return Err(invalid(format!(
            "node \"{}\" passes {} inputs to function \"{fname}\", which takes {}",
            call.name,
            data.len(),
            signature.input_arg.len()
        )));
    }
    let args: HashMap<&str, &str> =
        signature.input_arg.iter().zip(&data).map(|(a, input)| (a.name.as_str(), input.as_str())).collect();
    let renamed: HashMap<&str, String> = function
        .node_def
        .iter()
        .map(|n| (n.name.as_str(), graph::unique_name(&format!("{}/{}", call.name, n.name), taken)))
        .collect();
    let ops: HashMap<&str, &str> = function.node_def.iter().map(|n| (n.name.as_str(), n.op.as_str())).collect();
    // Output arg names seen per node of an op thought to have one: a second
    // name means an op with several that the table does not list.
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut translate = |input: &str| -> Result<String> {
        let mut parts = input.splitn(3, ':');
        let (source, arg, index) = (parts.next().unwrap_or_default(), parts.next(), parts.next());
        let Some(arg) = arg else {
            return args.get(source).map(|s| s.to_string()).ok_or_else(|| {
                invalid(format!("function \"{fname}\" reads \"{input}\", which is none of its arguments"))
            });
        };
        let node = renamed.get(source).ok_or_else(|| {
            invalid(format!("function \"{fname}\" reads \"{input}\", but holds no node \"{source}\""))
        })?;
        let index: usize =
            index.unwrap_or("0").parse().map_err(|_| invalid(format!("\"{input}\" has no valid index")))?;
        let op = ops[source];
        let flat = match output_args(op, Some(library)) {
            OutputArgs::Several(list) => {
                let position = list.iter().position(|a| *a == arg).ok_or_else(|| {
                    invalid(format!("function \"{fname}\" reads \"{input}\", but {op} has no output \"{arg}\""))
                })?;
                position + index
            }
            OutputArgs::One => {
                if let Some(other) = seen.insert(source.to_string(), arg.to_string()).filter(|other| other != arg) {
                    return Err(Error::new(
                        ErrorKind::UnsupportedOp,
                        format!(
                            "function \"{fname}\" reads outputs \"{other}\" and \"{arg}\" of {op} node \"{source}\", \
                             an op whose output layout this reader does not know"
                        ),
                    )
                    .about(&call.name));
                }
                index
            }
        };
        Ok(if flat == 0 { node.clone() } else { format!("{node}:{flat}") })
    };

    let mut nodes = Vec::with_capacity(function.node_def.len());
    for body_node in &function.node_def {
        if body_node.attr.values().any(|a| matches!(a.value, Some(attr_value::Value::Placeholder(_)))) {
            return Err(Error::new(
                ErrorKind::UnsupportedFormat,
                format!("function \"{fname}\" has attrs its caller sets, which inlining does not resolve"),
            )
            .about(&call.name));
        }
        let mut node = body_node.clone();
        node.name = renamed[body_node.name.as_str()].clone();
        // Control edges in a traced function order variable writes before
        // reads and run asserts; a frozen inference graph has neither to order.
        node.input = body_node
            .input
            .iter()
            .filter(|i| !names::is_control_input(i))
            .map(|i| translate(i))
            .collect::<Result<_>>()?;
        node.device.clear();
        // Where it came from, as TensorFlow's own inliner records it: errors name the function.
        node.experimental_debug_info = Some(ExperimentalDebugInfo {
            original_node_names: vec![body_node.name.clone()],
            original_func_names: vec![fname.to_string()],
        });
        nodes.push(node);
    }
    let outputs = signature
        .output_arg
        .iter()
        .map(|a| {
            let ret = function
                .ret
                .get(&a.name)
                .ok_or_else(|| invalid(format!("function \"{fname}\" returns no \"{}\"", a.name)))?;
            translate(ret)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Body { nodes, outputs })
}

/// What read output `k` of `call` reads `outputs[k]`; control edges from the
/// call are dropped with the call.
fn redirect(graph: &mut GraphDef, call: &str, outputs: &[String]) -> Result<()> {
    for node in &mut graph.node {
        let mut inputs = Vec::with_capacity(node.input.len());
        for input in std::mem::take(&mut node.input) {
            if node_of(&input) != call {
                inputs.push(input);
            } else if !names::is_control_input(&input) {
                let k = output_index(&input);
                let output = outputs.get(k).ok_or_else(|| {
                    Error::new(
                        ErrorKind::GraphInvalid,
                        format!(
                            "node \"{}\" reads output {k} of call \"{call}\", which returns {}",
                            node.name,
                            outputs.len()
                        ),
                    )
                    .about(&node.name)
                })?;
                inputs.push(output.clone());
            }
        }
        node.input = inputs;
    }
    Ok(())
}
