//! Undoing what `tf.gradients` does to a TF2 `while_v2` loop. To keep the
//! intermediates its gradient needs, TensorFlow rewrites the forward loop:
//! `body` and `cond` become `<name>_rewritten` copies with one extra loop
//! variable per accumulated tensor (a `TensorList` pushed each iteration),
//! and the gradient loop reads those extra outputs. Once the gradients are
//! pruned nothing reads them, but the rewritten body still computes them,
//! with ops (`TensorListElementShape`, …) an inference runtime may lack. The
//! original functions are still in the library: the loop goes back to them.

use crate::graph;
use crate::names::{self, node_of};
use crate::proto::{attr_value, FunctionDefLibrary, NodeDef};

const REWRITTEN: &str = "_rewritten";

/// Points each rewritten forward loop whose extra outputs nobody reads back
/// at its original `body` and `cond`, dropping the extra loop variables.
/// Returns a line per loop restored.
pub(crate) fn restore_forward_loops(nodes: &mut [NodeDef], library: Option<&FunctionDefLibrary>) -> Vec<String> {
    let Some(library) = library else { return Vec::new() };
    let arity = |name: &str| {
        library
            .function
            .iter()
            .find(|f| f.signature.as_ref().is_some_and(|s| s.name == name))
            .and_then(|f| f.signature.as_ref())
            .map(|s| (s.input_arg.len(), s.output_arg.len()))
    };
    let mut restored = Vec::new();
    for i in 0..nodes.len() {
        if !matches!(nodes[i].op.as_str(), "While" | "StatelessWhile") {
            continue;
        }
        let (Some(body), Some(cond)) = (function_attr(&nodes[i], "body"), function_attr(&nodes[i], "cond")) else {
            continue;
        };
        let (Some(original_body), Some(original_cond)) = (body.strip_suffix(REWRITTEN), cond.strip_suffix(REWRITTEN))
        else {
            continue;
        };
        let (Some((body_in, body_out)), Some((cond_in, _))) = (arity(original_body), arity(original_cond)) else {
            continue;
        };
        let n = body_in;
        let data = nodes[i].input.iter().filter(|s| !names::is_control_input(s)).count();
        if body_out != n || cond_in != n || n >= data || reads_output_from(nodes, &nodes[i].name, n) {
            continue;
        }
        let (original_body, original_cond) = (original_body.to_string(), original_cond.to_string());
        let node = &mut nodes[i];
        let (mut data_inputs, control): (Vec<String>, Vec<String>) =
            node.input.drain(..).partition(|s| !names::is_control_input(s));
        data_inputs.truncate(n);
        node.input = data_inputs.into_iter().chain(control).collect();
        for list_attr in ["T", "output_shapes", "_output_shapes"] {
            if let Some(attr_value::Value::List(list)) = node.attr.get_mut(list_attr).and_then(|a| a.value.as_mut()) {
                list.r#type.truncate(n);
                list.shape.truncate(n);
            }
        }
        if let Some(attr_value::Value::I(count)) =
            node.attr.get_mut("_num_original_outputs").and_then(|a| a.value.as_mut())
        {
            *count = n as i64;
        }
        set_function_attr(node, "body", &original_body);
        set_function_attr(node, "cond", &original_cond);
        restored.push(format!(
            "{}: loop {original_body} without the {} values its gradient accumulated",
            node.name,
            data - n
        ));
    }
    restored
}

fn function_attr(node: &NodeDef, name: &str) -> Option<String> {
    match graph::attr(node, name)? {
        attr_value::Value::Func(f) => Some(f.name.clone()),
        _ => None,
    }
}

fn set_function_attr(node: &mut NodeDef, name: &str, function: &str) {
    if let Some(attr_value::Value::Func(f)) = node.attr.get_mut(name).and_then(|a| a.value.as_mut()) {
        f.name = function.to_string();
    }
}

/// Whether some node reads output `from` or later of `node`.
fn reads_output_from(nodes: &[NodeDef], node: &str, from: usize) -> bool {
    nodes
        .iter()
        .flat_map(|n| n.input.iter())
        .any(|s| !names::is_control_input(s) && node_of(s) == node && names::output_index(s) >= from)
}
