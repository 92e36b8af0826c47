//! Can TensorFlow.js run this graph? Checks every op against the op list of
//! the TensorFlow.js graph executor (generated from the `@tensorflow/tfjs-converter`
//! package by `scripts/update-tfjs-ops.mjs`) and finds the ops that force
//! `executeAsync()`.

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use crate::error::{Error, ErrorKind, Result};
use crate::proto::{GraphDef, NodeDef};

const TFJS_OPS: &str = include_str!("tfjs_ops.txt");
const TFJS_VALUE_INPUTS: &str = include_str!("tfjs_value_inputs.txt");

/// Ops TensorFlow.js can only run with `executeAsync()`: every op of the
/// executor's `control`, `dynamic` and `hash_table` categories, whose kernels
/// are `async` (`execute()` throws "returned a promise" on them). That covers
/// the executor's own `CONTROL_FLOW_OPS`, `DYNAMIC_SHAPE_OPS` (the
/// `NonMaxSuppression`s and `Where`) and `HASH_TABLE_OPS` in
/// `executor/model_analysis.js`, which `execute()` refuses up front, plus
/// `If`, `LoopCond`, `NonMaxSuppressionV4`, `ListDiff`, the table
/// initializers and the `TensorArray`/`TensorList` ops. Sorted; from
/// `@tensorflow/tfjs-converter` 4.22.0 (`dist/operations/op_list/`).
pub const DYNAMIC_OPS: [&str; 51] = [
    "EmptyTensorList",
    "Enter",
    "Exit",
    "HashTable",
    "HashTableV2",
    "If",
    "InitializeTable",
    "InitializeTableV2",
    "ListDiff",
    "LookupTableFind",
    "LookupTableFindV2",
    "LookupTableImport",
    "LookupTableImportV2",
    "LookupTableSize",
    "LookupTableSizeV2",
    "LoopCond",
    "Merge",
    "NextIteration",
    "NonMaxSuppressionV2",
    "NonMaxSuppressionV3",
    "NonMaxSuppressionV4",
    "NonMaxSuppressionV5",
    "StatelessIf",
    "StatelessWhile",
    "Switch",
    "TensorArrayCloseV3",
    "TensorArrayConcatV3",
    "TensorArrayGatherV3",
    "TensorArrayReadV3",
    "TensorArrayScatterV3",
    "TensorArraySizeV3",
    "TensorArraySplitV3",
    "TensorArrayV3",
    "TensorArrayWriteV3",
    "TensorListConcat",
    "TensorListConcatV2",
    "TensorListFromTensor",
    "TensorListGather",
    "TensorListGetItem",
    "TensorListLength",
    "TensorListPopBack",
    "TensorListPushBack",
    "TensorListReserve",
    "TensorListResize",
    "TensorListScatter",
    "TensorListScatterV2",
    "TensorListSetItem",
    "TensorListSplit",
    "TensorListStack",
    "Where",
    "While",
];

/// TF.js's own fused ops, which the converter's optimizer produces; listed in
/// case an op list ever leaves them out.
const FUSED_OPS: [&str; 3] = ["_FusedConv2D", "_FusedMatMul", "FusedDepthwiseConv2dNative"];

/// A node TensorFlow.js cannot run; displays as `node (Op)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedNode {
    /// Nodes inside library functions are named `<function>/<node>`.
    pub node: String,
    pub op: String,
    /// The SavedModel function it was inlined from, when known.
    pub function: Option<String>,
}

impl UnsupportedNode {
    /// Graph node `node`, listed under `name`.
    pub fn of(name: &str, node: &NodeDef) -> UnsupportedNode {
        let function = crate::names::inlined_from(node).map(str::to_string);
        UnsupportedNode { node: name.to_string(), op: node.op.clone(), function }
    }

    /// As an error lists it: `"name" (Op)`, or `"name" (Op, in function "f")`.
    pub fn quoted(&self) -> String {
        format!("\"{}\" ({})", self.node, self.what())
    }

    fn what(&self) -> String {
        match &self.function {
            Some(function) => format!("{}, in function \"{function}\"", self.op),
            None => self.op.clone(),
        }
    }
}

impl std::fmt::Display for UnsupportedNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.node, self.what())
    }
}

/// The result of [`check_ops`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpCheck {
    /// Every node TensorFlow.js cannot run, in graph order.
    pub unsupported: Vec<UnsupportedNode>,
    /// The graph holds at least one of [`DYNAMIC_OPS`].
    pub needs_execute_async: bool,
    /// Which dynamic ops it holds, sorted.
    pub dynamic_ops: Vec<String>,
}

/// The `@tensorflow/tfjs-converter` version the op list was generated from.
pub fn tfjs_converter_version() -> &'static str {
    TFJS_OPS
        .lines()
        .find_map(|line| line.strip_prefix("# From @tensorflow/tfjs-converter "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("unknown")
}

/// Op names the TensorFlow.js graph executor supports, sorted.
pub fn supported_ops() -> impl Iterator<Item = &'static str> {
    data_lines(TFJS_OPS)
}

pub fn is_supported(op: &str) -> bool {
    static OPS: OnceLock<BTreeSet<&'static str>> = OnceLock::new();
    OPS.get_or_init(|| supported_ops().chain(FUSED_OPS).collect()).contains(op)
}

pub fn is_dynamic(op: &str) -> bool {
    DYNAMIC_OPS.contains(&op)
}

/// Whether TensorFlow.js reads input `index` (of `input_count` data inputs)
/// of `op` as a plain number, list or shape rather than as a tensor — where a
/// string would be read as garbage.
pub fn is_value_input(op: &str, index: usize, input_count: usize) -> bool {
    static INPUTS: OnceLock<HashMap<&'static str, Vec<i64>>> = OnceLock::new();
    let inputs = INPUTS.get_or_init(|| {
        let mut map: HashMap<&str, Vec<i64>> = HashMap::new();
        for line in data_lines(TFJS_VALUE_INPUTS) {
            let mut fields = line.split_whitespace();
            if let (Some(op), Some(Ok(start))) = (fields.next(), fields.next().map(str::parse::<i64>)) {
                map.entry(op).or_default().push(start);
            }
        }
        map
    });
    inputs.get(op).is_some_and(|starts| {
        starts.iter().any(|&start| {
            let position = if start < 0 { input_count as i64 + start } else { start };
            position == index as i64
        })
    })
}

fn data_lines(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#'))
}

/// Checks every node of `graph`, and of its library functions.
pub fn check_ops(graph: &GraphDef) -> OpCheck {
    let mut check = OpCheck::default();
    let mut dynamic = BTreeSet::new();
    let mut visit = |name: String, node: &NodeDef| {
        if !is_supported(&node.op) {
            check.unsupported.push(UnsupportedNode::of(&name, node));
        }
        if is_dynamic(&node.op) {
            dynamic.insert(node.op.clone());
        }
    };
    for node in &graph.node {
        visit(node.name.clone(), node);
    }
    for function in graph.library.iter().flat_map(|library| &library.function) {
        let function_name = function.signature.as_ref().map(|s| s.name.as_str()).unwrap_or_default();
        for node in &function.node_def {
            visit(format!("{function_name}/{}", node.name), node);
        }
    }
    check.needs_execute_async = !dynamic.is_empty();
    check.dynamic_ops = dynamic.into_iter().collect();
    check
}

/// Fails with [`ErrorKind::UnsupportedOp`] naming every node TensorFlow.js
/// cannot run, or, with `warn_only`, returns one warning per such node.
pub fn require_supported(check: &OpCheck, warn_only: bool) -> Result<Vec<String>> {
    if check.unsupported.is_empty() {
        return Ok(Vec::new());
    }
    if warn_only {
        let warnings = check
            .unsupported
            .iter()
            .map(|u| format!("TensorFlow.js cannot run node \"{}\" (op {}){}", u.node, u.op, hint(&u.op)))
            .collect();
        return Ok(warnings);
    }
    let listed: Vec<String> = check.unsupported.iter().map(UnsupportedNode::quoted).collect();
    let ops: BTreeSet<&str> = check.unsupported.iter().map(|u| u.op.as_str()).collect();
    // One hint per kind of problem, however many ops share it.
    let mut hints: Vec<&str> = Vec::new();
    for hint in ops.iter().map(|op| hint(op)).filter(|h| !h.is_empty()) {
        if !hints.contains(&hint) {
            hints.push(hint);
        }
    }
    let hints = hints.concat();
    let count = check.unsupported.len();
    let nodes = if count == 1 { "node" } else { "nodes" };
    Err(Error::new(
        ErrorKind::UnsupportedOp,
        format!("TensorFlow.js {} cannot run {count} {nodes}: {}{hints}", tfjs_converter_version(), listed.join(", ")),
    )
    .about(&check.unsupported[0].node))
}

/// TF2 `while_v2` loops whose body writes a `TensorList`: TensorFlow.js 4.22
/// frees the tensors such a loop stores when each iteration's function call
/// ends, so the list read after the loop holds freed tensors (`dynamic_rnn`,
/// Keras RNNs under control flow v2). Returns the loops.
pub fn loops_writing_tensor_lists(graph: &GraphDef) -> Vec<String> {
    graph.node.iter().filter(|n| loop_writes_tensor_list(graph, n)).map(|n| n.name.clone()).collect()
}

/// Whether `node` is a `While`/`StatelessWhile` whose body writes a `TensorList`.
pub fn loop_writes_tensor_list(graph: &GraphDef, node: &NodeDef) -> bool {
    const WRITES: [&str; 4] =
        ["TensorListSetItem", "TensorListPushBack", "TensorListScatterIntoExistingList", "TensorListPushBackBatch"];
    if !matches!(node.op.as_str(), "While" | "StatelessWhile") {
        return false;
    }
    let Some(crate::proto::attr_value::Value::Func(body)) = crate::graph::attr(node, "body") else { return false };
    graph
        .library
        .iter()
        .flat_map(|l| &l.function)
        .find(|f| f.signature.as_ref().is_some_and(|s| s.name == body.name))
        .is_some_and(|f| f.node_def.iter().any(|n| WRITES.contains(&n.op.as_str())))
}

/// Preprocessing a training graph does in TensorFlow that an app does itself:
/// decoding image files, calling back into Python.
const PREPROCESSING_OPS: [&str; 8] =
    ["DecodeJpeg", "DecodeAndCropJpeg", "DecodePng", "DecodeImage", "DecodeBmp", "DecodeGif", "PyFunc", "EagerPyFunc"];

/// For unsupported decoders and `PyFunc`s: the nodes that read them, where
/// the model can be cut to start (`input_names=convert_image/Cast`).
pub fn cut_points(graph: &GraphDef, check: &OpCheck) -> Vec<String> {
    let cut: BTreeSet<&str> = check
        .unsupported
        .iter()
        .filter(|u| PREPROCESSING_OPS.contains(&u.op.as_str()))
        .map(|u| u.node.as_str())
        .collect();
    let mut readers: Vec<String> = graph
        .node
        .iter()
        .filter(|n| {
            n.input.iter().any(|i| !crate::names::is_control_input(i) && cut.contains(crate::names::node_of(i)))
        })
        .map(|n| n.name.clone())
        .collect();
    readers.dedup();
    readers
}

const QUANTIZED_HINT: &str = "; TensorFlow.js has no quantized kernels: convert the float graph, with quantize=uint8 (--quantize uint8) for 8-bit weights";

/// What to do about an op TensorFlow.js lacks, when there is a known answer.
fn hint(op: &str) -> &'static str {
    match op {
        "Assert" | "CheckNumerics" => "; strip debug ops before converting",
        "BatchNormWithGlobalNormalization" => "; fold batch norms into the preceding convolution",
        "VariableV2" | "Variable" | "VarHandleOp" | "ReadVariableOp" | "Assign" | "AssignVariableOp" | "RefSwitch" => {
            "; freeze the graph first"
        }
        "Dequantize" | "QuantizeV2" | "Requantize" | "RequantizationRange" => QUANTIZED_HINT,
        _ if op.starts_with("Quantized") => QUANTIZED_HINT,
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_op_list_is_sorted_and_names_its_version() {
        let ops: Vec<&str> = supported_ops().collect();
        assert!(ops.len() > 200);
        assert!(ops.windows(2).all(|w| w[0] < w[1]));
        assert_ne!(tfjs_converter_version(), "unknown");
        for op in
            ["Conv2D", "Const", "Placeholder", "NonMaxSuppressionV3", "_FusedConv2D", "FusedDepthwiseConv2dNative"]
        {
            assert!(is_supported(op), "{op}");
        }
        assert!(!is_supported("Assert"));
    }

    #[test]
    fn dynamic_ops_include_where_and_are_sorted_and_supported() {
        assert!(is_dynamic("Where") && is_dynamic("NonMaxSuppressionV4") && is_dynamic("TensorListStack"));
        assert!(!is_dynamic("Conv2D") && !is_dynamic("ScatterNd"));
        assert!(DYNAMIC_OPS.windows(2).all(|w| w[0] < w[1]));
        for op in DYNAMIC_OPS {
            assert!(is_supported(op), "{op} is async in TF.js but missing from its op list");
        }
    }

    /// When the npm package is installed, the list is exactly its async categories.
    #[test]
    fn dynamic_ops_match_the_installed_tfjs_converter() {
        let op_list = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../node_modules/@tensorflow/tfjs-converter/dist/operations/op_list");
        let mut ops = BTreeSet::new();
        for category in ["control", "dynamic", "hash_table"] {
            let Ok(text) = std::fs::read_to_string(op_list.join(format!("{category}.js"))) else { return };
            for piece in text.split("'tfOpName': '").skip(1) {
                ops.insert(piece.split('\'').next().unwrap().to_string());
            }
        }
        let ours: BTreeSet<String> = DYNAMIC_OPS.iter().map(|s| s.to_string()).collect();
        assert_eq!(ours, ops);
    }

    #[test]
    fn value_inputs_count_negative_positions_from_the_end() {
        assert!(is_value_input("Reshape", 1, 2));
        assert!(!is_value_input("Reshape", 0, 2));
        assert!(is_value_input("ConcatV2", 3, 4));
        assert!(!is_value_input("ConcatV2", 0, 4));
    }
}
