//! Freezing through function calls, as `convert_variables_to_constants_v2`
//! does for control flow v2: a frozen variable's handle that is an input of
//! an `If`, `While` or `PartitionedCall` reaches a library function, whose
//! argument then carries the value instead, and whose reads of it become
//! value ops. A function some other call still passes a live handle is
//! copied under a new name rather than changed.
//!
//! About 280 of its lines are its unit tests (hand-built functions).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::readers::{into_value_read, VALUE_READS};
use crate::error::{Error, ErrorKind, Result};
use crate::graph::type_attr;
use crate::names::{self, node_of};
use crate::proto::{attr_value, AttrValue, DataType, FunctionDef, FunctionDefLibrary, NodeDef, TensorShapeProto};

/// Ops that call library functions with their inputs.
const CALL_OPS: [&str; 6] =
    ["If", "StatelessIf", "While", "StatelessWhile", "PartitionedCall", "StatefulPartitionedCall"];

pub(super) fn is_call(op: &str) -> bool {
    CALL_OPS.contains(&op)
}

/// How a call op passes its inputs: the function-valued attrs, the list attr
/// typing the passed inputs, and how many leading inputs are not passed
/// (an `If`'s predicate).
struct CallKind {
    functions: &'static [&'static str],
    types: &'static str,
    first_passed: usize,
    /// A `While` returns its loop variables: output k is input k.
    loops: bool,
}

fn call_kind(op: &str) -> Option<CallKind> {
    Some(match op {
        "If" | "StatelessIf" => {
            CallKind { functions: &["then_branch", "else_branch"], types: "Tin", first_passed: 1, loops: false }
        }
        "While" | "StatelessWhile" => {
            CallKind { functions: &["cond", "body"], types: "T", first_passed: 0, loops: true }
        }
        "PartitionedCall" | "StatefulPartitionedCall" => {
            CallKind { functions: &["f"], types: "Tin", first_passed: 0, loops: false }
        }
        _ => return None,
    })
}

/// Rewrites the graph's call nodes that `calls` names (node index, the
/// frozen carrier it reads, the value's dtype), and the functions they call.
pub(super) fn freeze_calls(
    nodes: &mut [NodeDef],
    library: &mut Option<FunctionDefLibrary>,
    calls: &[(usize, String, DataType)],
) -> Result<()> {
    let mut by_node: BTreeMap<usize, BTreeMap<usize, DataType>> = BTreeMap::new();
    for (i, carrier, dtype) in calls {
        for (position, input) in nodes[*i].input.iter().enumerate() {
            if !names::is_control_input(input) && node_of(input) == carrier {
                by_node.entry(*i).or_default().insert(position, *dtype);
            }
        }
    }
    if by_node.is_empty() {
        return Ok(());
    }
    let empty = &mut FunctionDefLibrary::default();
    let mut functions = Functions::new(library.as_mut().unwrap_or(empty), nodes);
    for (i, frozen) in by_node {
        let looped = freeze_call(&mut nodes[i], &frozen, &mut functions, true)?;
        // A While's outputs were handles too; nothing may read them as such.
        let name = nodes[i].name.clone();
        let read = |input: &String| {
            !names::is_control_input(input) && node_of(input) == name && looped.contains(&names::output_index(input))
        };
        if let Some(reader) = nodes.iter().find(|n| n.input.iter().any(read)) {
            return Err(unsupported(&reader.name, &reader.op, None));
        }
    }
    Ok(())
}

/// Rewrites one call node whose inputs at `frozen` positions now carry
/// values: its input types and the functions it calls. Returns the outputs
/// that carry values now (a `While`'s loop variables).
fn freeze_call(
    node: &mut NodeDef,
    frozen: &BTreeMap<usize, DataType>,
    functions: &mut Functions,
    in_place: bool,
) -> Result<Vec<usize>> {
    let kind = call_kind(&node.op).ok_or_else(|| unsupported(&node.name, &node.op, None))?;
    let mut args = BTreeMap::new();
    for (&position, &dtype) in frozen {
        // A handle as an If's predicate: no branch could read it.
        let arg = position.checked_sub(kind.first_passed).ok_or_else(|| unsupported(&node.name, &node.op, None))?;
        args.insert(arg, dtype);
    }
    for attr in kind.functions {
        let Some(AttrValue { value: Some(attr_value::Value::Func(func)) }) = node.attr.get(*attr) else {
            return Err(invalid(format!("{} \"{}\" has no function attr \"{attr}\"", node.op, node.name), &node.name));
        };
        let (name, returned) = functions.specialize(&func.name.clone(), &args, in_place)?;
        // Only a loop body returns handles: each loop variable it was passed.
        let expected = if kind.loops && *attr == "body" { args.clone() } else { BTreeMap::new() };
        if returned != expected {
            return Err(Error::new(
                ErrorKind::UnsupportedOp,
                format!(
                    "function \"{name}\" (called by \"{}\") returns a resource variable's handle, which freezing cannot rewrite",
                    node.name
                ),
            )
            .about(&node.name));
        }
        if let Some(AttrValue { value: Some(attr_value::Value::Func(func)) }) = node.attr.get_mut(*attr) {
            func.name = name;
        }
    }
    if let Some(AttrValue { value: Some(attr_value::Value::List(list)) }) = node.attr.get_mut(kind.types) {
        for (&arg, &dtype) in &args {
            if let Some(t) = list.r#type.get_mut(arg) {
                *t = dtype as i32;
            }
        }
    }
    if let Some(AttrValue { value: Some(attr_value::Value::List(list)) }) =
        node.attr.get_mut("_read_only_resource_inputs")
    {
        list.i.retain(|&i| usize::try_from(i).map_or(true, |i| !frozen.contains_key(&i)));
    }
    if !kind.loops {
        return Ok(Vec::new());
    }
    let looped: Vec<usize> = args.keys().copied().collect();
    for attr in ["output_shapes", "_output_shapes"] {
        if let Some(AttrValue { value: Some(attr_value::Value::List(list)) }) = node.attr.get_mut(attr) {
            for &k in &looped {
                if let Some(shape) = list.shape.get_mut(k) {
                    unknown_shape(shape);
                }
            }
        }
    }
    Ok(looped)
}

/// A function and which of its arguments take values (index, dtype).
type Specialization = (String, Vec<(usize, i32)>);
/// The function's name for it, and its outputs that return a value.
type Specialized = (String, BTreeMap<usize, DataType>);

/// The library, and the specialized copies made of its functions.
struct Functions<'a> {
    library: &'a mut FunctionDefLibrary,
    by_name: HashMap<String, usize>,
    /// How often each function is named, by the graph and the library.
    references: HashMap<String, usize>,
    made: HashMap<Specialization, Specialized>,
}

impl<'a> Functions<'a> {
    fn new(library: &'a mut FunctionDefLibrary, nodes: &[NodeDef]) -> Self {
        let by_name = crate::graph::function_index(library);
        let mut references = HashMap::new();
        let bodies = library.function.iter().flat_map(|f| f.node_def.iter());
        for node in nodes.iter().chain(bodies) {
            for name in called_names(node).filter(|n| by_name.contains_key(*n)) {
                *references.entry(name.to_string()).or_insert(0) += 1;
            }
        }
        Functions { library, by_name, references, made: HashMap::new() }
    }

    /// The function `name` with the `args` given taking values: changed in
    /// place when this is its only caller (and the caller itself was changed
    /// in place), else a copy. Returns its name and the outputs that
    /// return a frozen argument.
    fn specialize(&mut self, name: &str, args: &BTreeMap<usize, DataType>, in_place: bool) -> Result<Specialized> {
        let key = (name.to_string(), args.iter().map(|(&a, &d)| (a, d as i32)).collect::<Vec<_>>());
        if let Some(made) = self.made.get(&key) {
            return Ok(made.clone());
        }
        let Some(&index) = self.by_name.get(name) else {
            return Err(Error::new(
                ErrorKind::GraphInvalid,
                format!("a call names function \"{name}\", which the graph's library does not hold"),
            )
            .about(name));
        };
        let in_place = in_place && self.references.get(name) == Some(&1);
        let new_name = if in_place { name.to_string() } else { self.free_name(&format!("{name}_frozen")) };
        // Recorded first, so that a function calling itself finds its copy.
        self.made.insert(key.clone(), (new_name.clone(), BTreeMap::new()));
        let mut function = self.library.function[index].clone();
        let returned = self.rewrite_function(&mut function, args, in_place)?;
        if let Some(signature) = function.signature.as_mut() {
            signature.name = new_name.clone();
        }
        if in_place {
            self.library.function[index] = function;
        } else {
            self.by_name.insert(new_name.clone(), self.library.function.len());
            self.library.function.push(function);
        }
        self.made.insert(key, (new_name.clone(), returned.clone()));
        Ok((new_name, returned))
    }

    fn free_name(&self, base: &str) -> String {
        let mut name = base.to_string();
        let mut n = 0;
        while self.by_name.contains_key(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        name
    }

    /// Types the `args` as values and turns what reads them into value ops,
    /// following them through `Identity` and into nested calls.
    fn rewrite_function(
        &mut self,
        function: &mut FunctionDef,
        args: &BTreeMap<usize, DataType>,
        in_place: bool,
    ) -> Result<BTreeMap<usize, DataType>> {
        let function_name = function.signature.as_ref().map(|s| s.name.clone()).unwrap_or_default();
        let mut carriers: HashMap<String, DataType> = HashMap::new();
        let signature = function.signature.get_or_insert_with(Default::default);
        for (&arg, &dtype) in args {
            let Some(input) = signature.input_arg.get_mut(arg) else {
                return Err(invalid(
                    format!("function \"{function_name}\" has no argument {arg}, but a call passes one"),
                    &function_name,
                ));
            };
            if input.r#type != DataType::DtResource as i32 {
                return Err(invalid(
                    format!(
                        "function \"{function_name}\" takes argument \"{}\" as a value, but a call passes it a resource handle",
                        input.name
                    ),
                    &function_name,
                ));
            }
            input.r#type = dtype as i32;
            input.handle_data.clear();
            carriers.insert(input.name.clone(), dtype);
        }
        for &arg in args.keys() {
            clear_arg_shapes(function, arg);
        }

        // Tensors carrying a frozen value, in function-body notation.
        let mut queue: Vec<String> = carriers.keys().cloned().collect();
        let mut calls: BTreeMap<usize, BTreeMap<usize, DataType>> = BTreeMap::new();
        let mut renamed: Vec<(String, String)> = Vec::new();
        let mut extra = Vec::new();
        let mut taken: HashSet<String> = function.node_def.iter().map(|n| n.name.clone()).collect();
        while let Some(carrier) = queue.pop() {
            let dtype = carriers[&carrier];
            for (i, node) in function.node_def.iter_mut().enumerate() {
                let Some(position) = node.input.iter().position(|input| *input == carrier) else { continue };
                match node.op.as_str() {
                    read if VALUE_READS.contains(&read) => {
                        if read == "ReadVariableOp" {
                            // Identity names its output `output`, ReadVariableOp `value`.
                            renamed.push((format!("{}:value:", node.name), format!("{}:output:", node.name)));
                        }
                        let axis = if read == "ResourceGather" {
                            crate::graph::unique_name(&format!("{}/axis", node.name), &mut taken)
                        } else {
                            String::new()
                        };
                        let axis_input = format!("{axis}:output:0");
                        extra.extend(into_value_read(node, dtype, &axis, &axis_input)?);
                    }
                    // The one pass-through op of function bodies (no v1 frames there).
                    "Identity" => {
                        node.attr.insert("T".to_string(), type_attr(dtype));
                        node.attr.remove("_output_shapes");
                        let output = format!("{}:output:0", node.name);
                        if carriers.insert(output.clone(), dtype).is_none() {
                            queue.push(output);
                        }
                    }
                    op if is_call(op) => {
                        for (p, input) in node.input.iter().enumerate().skip(position) {
                            if *input == carrier {
                                calls.entry(i).or_default().insert(p, dtype);
                            }
                        }
                    }
                    op => return Err(unsupported(&node.name, op, Some(&function_name))),
                }
            }
        }
        for (from, to) in &renamed {
            let rename = |s: &mut String| {
                if let Some(rest) = s.strip_prefix(from.as_str()) {
                    *s = format!("{to}{rest}");
                }
            };
            function.node_def.iter_mut().flat_map(|n| n.input.iter_mut()).for_each(rename);
            function.ret.values_mut().for_each(rename);
        }
        function.node_def.append(&mut extra);

        for (i, frozen) in calls {
            let looped = freeze_call(&mut function.node_def[i], &frozen, self, in_place)?;
            let call = &function.node_def[i];
            let outputs: Vec<String> = looped.iter().map(|k| format!("{}:output:{k}", call.name)).collect();
            let reads = |n: &&NodeDef| n.input.iter().any(|input| outputs.contains(input));
            if let Some(reader) = function.node_def.iter().find(reads) {
                return Err(unsupported(&reader.name, &reader.op, Some(&function_name)));
            }
            if function.ret.values().any(|r| outputs.contains(r)) {
                return Err(unsupported(&call.name, &call.op, Some(&function_name)));
            }
        }

        // Outputs that return a frozen argument now return its value.
        let mut returned = BTreeMap::new();
        let signature = function.signature.get_or_insert_with(Default::default);
        for (k, output) in signature.output_arg.iter_mut().enumerate() {
            if let Some(&dtype) = function.ret.get(&output.name).and_then(|r| carriers.get(r)) {
                output.r#type = dtype as i32;
                output.handle_data.clear();
                returned.insert(k, dtype);
            }
        }
        Ok(returned)
    }
}

/// The argument's shape was the handle's (a scalar); the value's is not
/// known here, so it becomes unknown, and handle data goes.
fn clear_arg_shapes(function: &mut FunctionDef, arg: usize) {
    if let Some(AttrValue { value: Some(attr_value::Value::List(list)) }) = function.attr.get_mut("_input_shapes") {
        if let Some(shape) = list.shape.get_mut(arg) {
            unknown_shape(shape);
        }
    }
    function.resource_arg_unique_id.remove(&(arg as u32));
    if let Some(attrs) = function.arg_attr.get_mut(&(arg as u32)) {
        attrs.attr.remove("_handle_dtypes");
        attrs.attr.remove("_handle_shapes");
        if let Some(AttrValue { value: Some(attr_value::Value::List(list)) }) = attrs.attr.get_mut("_output_shapes") {
            list.shape.iter_mut().for_each(unknown_shape);
        }
    }
}

fn unknown_shape(shape: &mut TensorShapeProto) {
    *shape = TensorShapeProto { dim: Vec::new(), unknown_rank: true };
}

/// The functions a node names: its op, and its function-valued attrs.
fn called_names(node: &NodeDef) -> impl Iterator<Item = &str> {
    let attrs = node.attr.values().filter_map(|a| a.value.as_ref()).flat_map(|value| match value {
        attr_value::Value::Func(f) => vec![f.name.as_str()],
        attr_value::Value::List(list) => list.func.iter().map(|f| f.name.as_str()).collect(),
        _ => Vec::new(),
    });
    std::iter::once(node.op.as_str()).chain(attrs)
}

fn unsupported(node: &str, op: &str, function: Option<&str>) -> Error {
    let place = function.map(|f| format!(" in function \"{f}\"")).unwrap_or_default();
    Error::new(
        ErrorKind::UnsupportedOp,
        format!("node \"{node}\" ({op}){place} takes a resource variable's handle, which freezing cannot rewrite"),
    )
    .about(node)
}

fn invalid(message: String, about: &str) -> Error {
    Error::new(ErrorKind::GraphInvalid, message).about(about)
}

#[cfg(test)]
mod tests {
    use crate::graph;
    use crate::test_graphs::node;
    use std::collections::HashMap;

    use super::super::readers::rewrite_resource_reads;
    use crate::proto::{function_def::ArgAttrs, op_def::ArgDef, NameAttrList, OpDef};
    use crate::tensor::Tensor;

    use super::*;

    fn with(mut node: NodeDef, attr: &str, value: attr_value::Value) -> NodeDef {
        node.attr.insert(attr.into(), AttrValue { value: Some(value) });
        node
    }

    fn func(name: &str) -> attr_value::Value {
        attr_value::Value::Func(NameAttrList { name: name.into(), ..Default::default() })
    }

    fn types(types: &[DataType]) -> attr_value::Value {
        attr_value::Value::List(attr_value::ListValue {
            r#type: types.iter().map(|&t| t as i32).collect(),
            ..Default::default()
        })
    }

    fn arg(name: &str, dtype: DataType) -> ArgDef {
        ArgDef { name: name.into(), r#type: dtype as i32, ..Default::default() }
    }

    fn function(name: &str, inputs: &[ArgDef], outputs: &[(&str, &str)], body: Vec<NodeDef>) -> FunctionDef {
        let output_arg = outputs.iter().map(|(o, _)| arg(o, DataType::DtFloat)).collect();
        FunctionDef {
            signature: Some(OpDef { name: name.into(), input_arg: inputs.to_vec(), output_arg, ..Default::default() }),
            node_def: body,
            ret: outputs.iter().map(|(o, r)| (o.to_string(), r.to_string())).collect(),
            ..Default::default()
        }
    }

    /// The batch norm's moving-mean switch as `cond_v2` writes it: the true
    /// branch returns the batch mean, the false one reads the variable.
    fn branches(then_name: &str, else_name: &str) -> Vec<FunctionDef> {
        let resource = || {
            let mut a = arg("handle", DataType::DtResource);
            a.handle_data = vec![Default::default()];
            a
        };
        let read = with(node("ReadVariableOp", "ReadVariableOp", &["handle"]), "dtype", attr_value::Value::Type(1));
        let mut else_branch = function(
            else_name,
            &[arg("mean", DataType::DtFloat), resource()],
            &[("out", "ReadVariableOp:value:0")],
            vec![read],
        );
        let handle_attrs = [
            ("_handle_dtypes", types(&[DataType::DtFloat])),
            ("_user_specified_name", attr_value::Value::S(b"v".to_vec())),
        ];
        else_branch.arg_attr.insert(
            1,
            ArgAttrs {
                attr: handle_attrs.into_iter().map(|(k, v)| (k.to_string(), AttrValue { value: Some(v) })).collect(),
            },
        );
        else_branch.resource_arg_unique_id.insert(1, 0);
        vec![
            function(then_name, &[arg("mean", DataType::DtFloat), resource()], &[("out", "mean")], vec![]),
            else_branch,
        ]
    }

    fn if_node(name: &str, handle: &str) -> NodeDef {
        let node = node(name, "If", &["pred", "mean", handle]);
        let node = with(node, "then_branch", func("cond_true"));
        let node = with(node, "else_branch", func("cond_false"));
        let node = with(node, "Tin", types(&[DataType::DtFloat, DataType::DtResource]));
        let read_only = attr_value::ListValue { i: vec![2], ..Default::default() };
        with(node, "_read_only_resource_inputs", attr_value::Value::List(read_only))
    }

    fn frozen_variable(name: &str) -> NodeDef {
        crate::graph::constant(name, &Tensor::from_f32(vec![2], &[1.0, 2.0]))
    }

    fn library(functions: Vec<FunctionDef>) -> Option<FunctionDefLibrary> {
        Some(FunctionDefLibrary { function: functions, ..Default::default() })
    }

    fn carriers(names: &[&str]) -> HashMap<String, DataType> {
        names.iter().map(|n| (n.to_string(), DataType::DtFloat)).collect()
    }

    fn find<'a>(library: &'a Option<FunctionDefLibrary>, name: &str) -> &'a FunctionDef {
        let functions = &library.as_ref().unwrap().function;
        functions.iter().find(|f| f.signature.as_ref().unwrap().name == name).unwrap()
    }

    fn func_name(node: &NodeDef, attr: &str) -> String {
        match graph::attr(node, attr) {
            Some(attr_value::Value::Func(f)) => f.name.clone(),
            _ => panic!("{} has no {attr}", node.name),
        }
    }

    fn type_list(node: &NodeDef, attr: &str) -> Vec<i32> {
        match graph::attr(node, attr) {
            Some(attr_value::Value::List(l)) => l.r#type.clone(),
            _ => panic!("{} has no {attr}", node.name),
        }
    }

    #[test]
    fn an_if_branch_reads_the_frozen_value() {
        let mut nodes = vec![
            node("pred", "Placeholder", &[]),
            node("mean", "Placeholder", &[]),
            frozen_variable("v"),
            if_node("cond", "v"),
        ];
        let mut library = library(branches("cond_true", "cond_false"));
        rewrite_resource_reads(&mut nodes, carriers(&["v"]), &mut library).unwrap();

        let call = &nodes[3];
        assert_eq!(type_list(call, "Tin"), [DataType::DtFloat as i32; 2]);
        assert_eq!(
            (func_name(call, "then_branch"), func_name(call, "else_branch")),
            ("cond_true".into(), "cond_false".into())
        );
        match graph::attr(call, "_read_only_resource_inputs") {
            Some(attr_value::Value::List(l)) => assert!(l.i.is_empty()),
            other => panic!("{other:?}"),
        }
        let else_branch = find(&library, "cond_false");
        let handle = &else_branch.signature.as_ref().unwrap().input_arg[1];
        assert_eq!((handle.r#type, handle.handle_data.len()), (DataType::DtFloat as i32, 0));
        assert_eq!(else_branch.node_def[0].op, "Identity");
        assert_eq!(graph::attr_type(&else_branch.node_def[0], "T"), Some(DataType::DtFloat));
        assert_eq!(else_branch.ret["out"], "ReadVariableOp:output:0");
        let attrs = &else_branch.arg_attr[&1].attr;
        assert!(!attrs.contains_key("_handle_dtypes") && attrs.contains_key("_user_specified_name"));
        assert!(else_branch.resource_arg_unique_id.is_empty());
        let then_branch = find(&library, "cond_true");
        assert_eq!(then_branch.signature.as_ref().unwrap().input_arg[1].r#type, DataType::DtFloat as i32);
    }

    #[test]
    fn a_function_another_call_passes_a_live_handle_is_copied() {
        let mut nodes = vec![
            node("pred", "Placeholder", &[]),
            node("mean", "Placeholder", &[]),
            frozen_variable("v"),
            node("live", "VarHandleOp", &[]),
            if_node("frozen_cond", "v"),
            if_node("live_cond", "live"),
        ];
        let mut library = library(branches("cond_true", "cond_false"));
        rewrite_resource_reads(&mut nodes, carriers(&["v"]), &mut library).unwrap();

        assert_eq!(func_name(&nodes[4], "else_branch"), "cond_false_frozen");
        assert_eq!(func_name(&nodes[4], "then_branch"), "cond_true_frozen");
        assert_eq!(func_name(&nodes[5], "else_branch"), "cond_false");
        assert_eq!(type_list(&nodes[5], "Tin")[1], DataType::DtResource as i32);
        assert_eq!(find(&library, "cond_false").node_def[0].op, "ReadVariableOp");
        assert_eq!(find(&library, "cond_false_frozen").node_def[0].op, "Identity");
        assert_eq!(library.as_ref().unwrap().function.len(), 4);
    }

    #[test]
    fn the_handle_is_followed_into_nested_calls() {
        // f passes its handle, through an Identity, to an inner If whose branch gathers from it.
        let inner = node("inner", "StatelessIf", &["p", "h:output:0"]);
        let inner = with(inner, "then_branch", func("gather"));
        let inner = with(inner, "else_branch", func("gather"));
        let inner = with(inner, "Tin", types(&[DataType::DtResource]));
        let identity =
            with(node("h", "Identity", &["handle"]), "T", attr_value::Value::Type(DataType::DtResource as i32));
        let outer = function(
            "f",
            &[arg("p", DataType::DtBool), arg("handle", DataType::DtResource)],
            &[("out", "inner:output:0")],
            vec![identity, inner],
        );
        let gather = node("g", "ResourceGather", &["handle", "indices:output:0", "^c"]);
        let gather = with(gather, "Tindices", attr_value::Value::Type(DataType::DtInt32 as i32));
        let body = vec![node("indices", "Const", &[]), node("c", "NoOp", &[]), gather];
        let gather_fn = function("gather", &[arg("handle", DataType::DtResource)], &[("out", "g:output:0")], body);
        let call = with(node("call", "StatefulPartitionedCall", &["pred", "v"]), "f", func("f"));
        let call = with(call, "Tin", types(&[DataType::DtBool, DataType::DtResource]));
        let mut nodes = vec![node("pred", "Placeholder", &[]), frozen_variable("v"), call];
        let mut library = library(vec![outer, gather_fn]);
        rewrite_resource_reads(&mut nodes, carriers(&["v"]), &mut library).unwrap();

        assert_eq!(type_list(&nodes[2], "Tin")[1], DataType::DtFloat as i32);
        let outer = find(&library, "f");
        assert_eq!(graph::attr_type(&outer.node_def[0], "T"), Some(DataType::DtFloat));
        assert_eq!(type_list(&outer.node_def[1], "Tin"), [DataType::DtFloat as i32]);
        // Called twice by one node: copied, once.
        assert_eq!(func_name(&outer.node_def[1], "then_branch"), "gather_frozen");
        assert_eq!(func_name(&outer.node_def[1], "else_branch"), "gather_frozen");
        let gather = find(&library, "gather_frozen");
        let g = gather.node_def.iter().find(|n| n.name == "g").unwrap();
        assert_eq!(g.op, "GatherV2");
        assert_eq!(g.input, ["handle", "indices:output:0", "g/axis:output:0", "^c"]);
        assert!(gather.node_def.iter().any(|n| n.name == "g/axis" && n.op == "Const"));
    }

    fn while_node(reader: Option<&str>) -> Vec<NodeDef> {
        let call = with(node("loop", "While", &["n", "v"]), "cond", func("cond"));
        let call = with(call, "body", func("body"));
        let call = with(call, "T", types(&[DataType::DtInt32, DataType::DtResource]));
        let shapes = attr_value::ListValue { shape: vec![Default::default(); 2], ..Default::default() };
        let call = with(call, "output_shapes", attr_value::Value::List(shapes));
        let mut nodes = vec![node("n", "Placeholder", &[]), frozen_variable("v"), call];
        nodes.extend(reader.map(|r| node("after", "ReadVariableOp", &[r])));
        nodes
    }

    fn loop_library() -> Option<FunctionDefLibrary> {
        let args = [arg("i", DataType::DtInt32), arg("handle", DataType::DtResource)];
        let read = node("read", "ReadVariableOp", &["handle"]);
        let mut body = function("body", &args, &[("i_out", "i"), ("handle_out", "handle")], vec![read]);
        body.signature.as_mut().unwrap().output_arg[1].r#type = DataType::DtResource as i32;
        let cond = function("cond", &args, &[("keep_going", "i")], vec![]);
        library(vec![cond, body])
    }

    #[test]
    fn a_loop_carries_the_value() {
        let mut nodes = while_node(None);
        let mut library = loop_library();
        rewrite_resource_reads(&mut nodes, carriers(&["v"]), &mut library).unwrap();

        assert_eq!(type_list(&nodes[2], "T"), [DataType::DtInt32 as i32, DataType::DtFloat as i32]);
        match graph::attr(&nodes[2], "output_shapes") {
            Some(attr_value::Value::List(l)) => assert!(!l.shape[0].unknown_rank && l.shape[1].unknown_rank),
            other => panic!("{other:?}"),
        }
        let body = find(&library, "body");
        assert_eq!(body.signature.as_ref().unwrap().output_arg[1].r#type, DataType::DtFloat as i32);
        assert_eq!(body.node_def[0].op, "Identity");
        let cond = find(&library, "cond");
        assert_eq!(cond.signature.as_ref().unwrap().input_arg[1].r#type, DataType::DtFloat as i32);
    }

    #[test]
    fn what_cannot_be_rewritten_is_refused() {
        // The loop's output is still read as a handle.
        let mut nodes = while_node(Some("loop:1"));
        let error = rewrite_resource_reads(&mut nodes, carriers(&["v"]), &mut loop_library()).unwrap_err();
        assert_eq!((error.kind, error.subject.as_deref()), (ErrorKind::UnsupportedOp, Some("after")));

        // A branch that assigns the variable.
        let mut nodes = vec![
            node("pred", "Placeholder", &[]),
            node("mean", "Placeholder", &[]),
            frozen_variable("v"),
            if_node("cond", "v"),
        ];
        let mut functions = branches("cond_true", "cond_false");
        functions[1].node_def[0].op = "AssignSubVariableOp".into();
        let error = rewrite_resource_reads(&mut nodes, carriers(&["v"]), &mut library(functions)).unwrap_err();
        assert_eq!(error.kind, ErrorKind::UnsupportedOp);
        assert!(error.message.contains("in function \"cond_false\""), "{}", error.message);

        // A branch the library does not hold.
        let mut nodes = vec![
            node("pred", "Placeholder", &[]),
            node("mean", "Placeholder", &[]),
            frozen_variable("v"),
            if_node("cond", "v"),
        ];
        let error = rewrite_resource_reads(&mut nodes, carriers(&["v"]), &mut None).unwrap_err();
        assert_eq!(error.kind, ErrorKind::GraphInvalid);
    }
}
