//! TensorFlow's eightbit graph (`quantize_graph --mode eightbit`): the float
//! ops TensorFlow has 8-bit kernels for run on quint8 tensors, so the graph
//! computes in 8 bits, not only stores its weights that way.
//!
//! Each such op `N` becomes its quantized kernel, fed `(value, min, max)`
//! triples; a kernel with a 32-bit result (conv, matmul, bias add) is
//! narrowed back to 8 bits by `RequantizationRange` + `Requantize`; and a
//! `Dequantize` named `N` gives the float tensor to whatever still wants it
//! (outputs, float ops). A float input is quantized at run time by `QuantizeV2`
//! over its own min and max; a constant one is quantized here. An operand
//! that is itself a quantized op's result is taken as its triple, never
//! dequantized and quantized again, which is what removing adjacent
//! `Dequantize` → `QuantizeV2` pairs did. `Dequantize`s and float constants
//! nothing needs any more are pruned.
//!
//! A constant is a `Const`, or one read through `Identity`s without control
//! inputs (a frozen graph's `*/read`, which `quantize_graph` first removed
//! with `remove_training_nodes`). Ops inside a v1 `while_loop` frame stay
//! float: their new constants and `QuantizeV2` reductions would sit outside
//! the frame, which TensorFlow refuses ("inputs from different frames").

use std::collections::{HashMap, HashSet};

use super::dequantize::{min_first_range, op_node, string_attr, uint8_constants};
use crate::error::{Error, ErrorKind, Result};
use crate::graph::shapes::{constant_ints, ShapeInference};
use crate::graph::{self, attr, attr_string, attr_tensor, attr_type, type_attr};
use crate::names::{is_control_input, node_of, output_index};
use crate::optimize::edit::in_while_frames;
use crate::optimize::prune::prune;
use crate::proto::{attr_value, AttrValue, DataType, GraphDef, NodeDef};
use crate::quantize::{quantize_operand, EightbitOps, QuantizationReport, QuantizeMode, SkippedTensor};
use crate::tensor::{decoded_byte_len, Tensor};

/// A float op and the kernel that replaces it.
#[derive(Debug, Clone, Copy)]
struct Kernel {
    quantized: &'static str,
    /// The kernel's result is qint32 and must be requantized to quint8.
    wide: bool,
}

fn kernel_for(op: &str) -> Option<Kernel> {
    let (quantized, wide) = match op {
        "Conv2D" => ("QuantizedConv2D", true),
        "MatMul" => ("QuantizedMatMul", true),
        "BiasAdd" => ("QuantizedBiasAdd", true),
        "Relu" => ("QuantizedRelu", false),
        "Relu6" => ("QuantizedRelu6", false),
        "MaxPool" => ("QuantizedMaxPool", false),
        "AvgPool" => ("QuantizedAvgPool", false),
        "ConcatV2" => ("QuantizedConcat", false),
        "Reshape" => ("QuantizedReshape", false),
        _ => return None,
    };
    Some(Kernel { quantized, wide })
}

/// A rewritten op: its kernel, the positions of its float operands, and (for
/// a concat) its axis as the kernel wants it.
struct Plan {
    kernel: Kernel,
    operands: Vec<usize>,
    concat_axis: Option<i64>,
}

/// Why an op inside a v1 `while_loop` frame stays float.
const IN_A_LOOP: &str = "it runs inside a while loop, and the kernel's new inputs would be outside the loop's frame";

/// Rewrites `graph` into TensorFlow's eightbit form. `outputs` are kept
/// (float, under their names); with none, every node nothing consumes is.
pub fn eightbit_graph(graph: &GraphDef, outputs: &[String]) -> Result<(GraphDef, QuantizationReport)> {
    graph::require_nodes(graph, outputs)?;
    let index = graph::index_by_name(graph);
    let shapes = ShapeInference::new(graph);
    let mut ops = EightbitOps::default();
    let mut kept_float = Vec::new();
    let mut plans = HashMap::new();
    let in_loop = in_while_frames(&graph.node);
    for (node, &in_loop) in graph.node.iter().zip(&in_loop) {
        let Some(kernel) = kernel_for(&node.op) else { continue };
        let keep_float = |reason| (node.name.as_str(), format!("{} ({})", node.name, node.op), reason);
        match plan(graph, &index, &shapes, node, kernel) {
            // Not a float op (an int32 Reshape): nothing to quantize, nothing to say.
            Ok(None) => {}
            _ if in_loop => kept_float.push(keep_float(IN_A_LOOP)),
            Ok(Some(plan)) => {
                plans.insert(node.name.as_str(), plan);
            }
            Err(reason) => kept_float.push(keep_float(reason)),
        }
    }

    let mut writer = Writer {
        graph,
        index: &index,
        taken: graph.node.iter().map(|n| n.name.clone()).collect(),
        nodes: Vec::with_capacity(graph.node.len() * 2),
        triples: HashMap::new(),
        result_names: HashMap::new(),
        reduction: None,
        report: QuantizationReport { mode: QuantizeMode::Uint8, ..Default::default() },
    };
    // Every rewritten op's result triple is named before any is written, so
    // an operand can name its producer's triple whatever the node order.
    for node in graph.node.iter().filter(|n| plans.contains_key(n.name.as_str())) {
        let kernel = plans[node.name.as_str()].kernel;
        let quantized = graph::unique_name(&format!("{}_eightbit_quantized", node.name), &mut writer.taken);
        let narrowed = kernel.wide.then(|| {
            let range = graph::unique_name(&format!("{}_eightbit_requant_range", node.name), &mut writer.taken);
            let requantize = graph::unique_name(&format!("{}_eightbit_requantize", node.name), &mut writer.taken);
            (range, requantize)
        });
        writer.result_names.insert(node.name.clone(), (quantized, narrowed));
    }
    for node in &graph.node {
        match plans.get(node.name.as_str()) {
            Some(plan) => {
                writer.rewrite(node, plan)?;
                *ops.quantized.entry(plan.kernel.quantized.to_string()).or_default() += 1;
            }
            None => writer.nodes.push(node.clone()),
        }
    }

    let mut report = writer.report;
    let mut written = GraphDef {
        node: writer.nodes,
        versions: graph.versions.clone(),
        library: graph.library.clone(),
        debug_info: graph.debug_info.clone(),
    };
    let roots = if outputs.is_empty() { sinks(graph) } else { outputs.to_vec() };
    prune(&mut written, &roots);
    // Only the float ops the outputs still run are worth a word.
    let remaining: HashSet<&str> = written.node.iter().map(|n| n.name.as_str()).collect();
    ops.kept_float = kept_float
        .into_iter()
        .filter(|(node, _, _)| remaining.contains(node))
        .map(|(_, name, reason)| SkippedTensor { name, reason: reason.to_string() })
        .collect();

    report.bytes_before = constant_bytes(graph, |dtype| dtype == DataType::DtFloat as i32);
    report.bytes_after =
        constant_bytes(&written, |dtype| dtype == DataType::DtFloat as i32 || dtype == DataType::DtQuint8 as i32);
    report.eightbit = Some(ops);
    Ok((written, report))
}

/// Whether the float op `node` can run as `kernel` (`None` when it is not
/// float), or why not.
fn plan(
    graph: &GraphDef,
    index: &HashMap<&str, usize>,
    shapes: &ShapeInference,
    node: &NodeDef,
    kernel: Kernel,
) -> std::result::Result<Option<Plan>, &'static str> {
    if attr_type(node, "T") != Some(DataType::DtFloat) {
        return Ok(None);
    }
    let nhwc = attr_string(node, "data_format").is_none_or(|f| f == "NHWC");
    let plain_padding = || attr_string(node, "padding").is_some_and(|p| p == "SAME" || p == "VALID");
    let data: Vec<&String> = node.input.iter().filter(|i| !is_control_input(i)).collect();
    let mut concat_axis = None;
    let operands: Vec<usize> = match node.op.as_str() {
        "Conv2D" => {
            let undilated = match attr(node, "dilations") {
                Some(attr_value::Value::List(list)) => list.i.iter().all(|&d| d == 1),
                _ => true,
            };
            if !nhwc {
                return Err("QuantizedConv2D takes NHWC only");
            }
            if !plain_padding() {
                return Err("QuantizedConv2D takes SAME or VALID padding only");
            }
            if !undilated {
                return Err("QuantizedConv2D has no dilations");
            }
            vec![0, 1]
        }
        "MaxPool" | "AvgPool" => {
            if !nhwc || !plain_padding() {
                return Err("the quantized pools take NHWC with SAME or VALID padding only");
            }
            vec![0]
        }
        "BiasAdd" if !nhwc => return Err("QuantizedBiasAdd takes NHWC only"),
        "MatMul" | "BiasAdd" => vec![0, 1],
        "ConcatV2" => {
            let n = data.len().saturating_sub(1);
            if attr_type(node, "Tidx").is_some_and(|t| t != DataType::DtInt32) {
                return Err("QuantizedConcat takes an int32 axis only");
            }
            let axis = match data.last().and_then(|a| constant_ints(graph, index, a)).as_deref() {
                Some([axis]) => *axis,
                _ => return Err("its axis is not a constant"),
            };
            let rank = shapes.shape_of(data[0]).map(|s| s.len() as i64);
            concat_axis = Some(match (axis, rank) {
                (a, _) if a >= 0 => a,
                (a, Some(rank)) if a + rank >= 0 => a + rank,
                _ => return Err("its axis is negative and its inputs' rank unknown"),
            });
            (0..n).collect()
        }
        _ => vec![0],
    };
    if operands.iter().any(|&i| i >= data.len()) {
        return Err("it lacks inputs");
    }
    // A constant operand must be finite to be quantized here.
    for &i in &operands {
        if let Some((_, tensor)) = float_constant(graph, index, data[i]) {
            if tensor.to_f32_vec().is_some_and(|v| v.iter().any(|x| !x.is_finite())) {
                return Err("a constant operand holds NaN or infinite values");
            }
        }
    }
    Ok(Some(Plan { kernel, operands, concat_axis }))
}

/// The float32 `Const` that `input` reads, directly or through a chain of
/// `Identity`s without control inputs: that `Const` node and its value.
fn float_constant<'g>(graph: &'g GraphDef, index: &HashMap<&str, usize>, input: &str) -> Option<(&'g NodeDef, Tensor)> {
    let mut node = &graph.node[*index.get(node_of(input))?];
    // A chain longer than the graph is a cycle of Identities.
    for _ in 0..graph.node.len() {
        if node.op != "Identity" {
            break;
        }
        let [only] = node.input.as_slice() else { return None };
        if is_control_input(only) {
            return None;
        }
        node = &graph.node[*index.get(node_of(only))?];
    }
    let proto = attr_tensor(node, "value").filter(|_| node.op == "Const")?;
    (proto.dtype == DataType::DtFloat as i32).then(|| Some((node, Tensor::from_proto(proto).ok()?))).flatten()
}

/// A quantized tensor as the kernels take it: value, min, max.
#[derive(Clone)]
struct Triple([String; 3]);

impl Triple {
    fn outputs_of(node: &str) -> Triple {
        Triple([node.to_string(), format!("{node}:1"), format!("{node}:2")])
    }
}

struct Writer<'a> {
    graph: &'a GraphDef,
    index: &'a HashMap<&'a str, usize>,
    taken: HashSet<String>,
    nodes: Vec<NodeDef>,
    /// The quantized form of each constant or run-time-quantized tensor (`node:index`) written so far.
    triples: HashMap<String, Triple>,
    /// Each rewritten op's kernel node, and its requantization pair if wide.
    result_names: HashMap<String, (String, Option<(String, String)>)>,
    /// The `[-1]` and `[0]` every run-time `QuantizeV2` flattens and reduces by.
    reduction: Option<(String, String)>,
    report: QuantizationReport,
}

impl Writer<'_> {
    fn rewrite(&mut self, node: &NodeDef, plan: &Plan) -> Result<()> {
        let data: Vec<&String> = node.input.iter().filter(|i| !is_control_input(i)).collect();
        let triples: Vec<Triple> = plan.operands.iter().map(|&i| self.operand(data[i])).collect::<Result<_>>()?;
        let (quantized_name, narrowed) = self.result_names[&node.name].clone();
        let u8 = || type_attr(DataType::DtQuint8);
        let i32 = || type_attr(DataType::DtQint32);
        let copied = |names: &[&str]| -> Vec<(String, AttrValue)> {
            names.iter().filter_map(|&n| Some((n.to_string(), node.attr.get(n)?.clone()))).collect()
        };
        let (inputs, attrs): (Vec<String>, Vec<(String, AttrValue)>) = match node.op.as_str() {
            "Conv2D" => (
                pair_inputs(&triples),
                [("Tinput", u8()), ("Tfilter", u8()), ("out_type", i32())]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .chain(copied(&["strides", "padding"]))
                    .collect(),
            ),
            "MatMul" => (
                pair_inputs(&triples),
                [("T1", u8()), ("T2", u8()), ("Toutput", i32())]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .chain(copied(&["transpose_a", "transpose_b"]))
                    .collect(),
            ),
            "BiasAdd" => {
                (pair_inputs(&triples), vec![("T1".into(), u8()), ("T2".into(), u8()), ("out_type".into(), i32())])
            }
            "Relu" | "Relu6" => (triples[0].0.to_vec(), vec![("Tinput".into(), u8()), ("out_type".into(), u8())]),
            "MaxPool" | "AvgPool" => (
                triples[0].0.to_vec(),
                std::iter::once(("T".to_string(), u8())).chain(copied(&["ksize", "strides", "padding"])).collect(),
            ),
            "ConcatV2" => {
                let axis = plan.concat_axis.expect("a planned concat has its axis");
                let axis_name = graph::unique_name(&format!("{}_eightbit_axis", node.name), &mut self.taken);
                self.nodes.push(graph::constant(&axis_name, &Tensor::from_i32(vec![], &[axis as i32])));
                let column = |k: usize| triples.iter().map(move |t| t.0[k].clone());
                let inputs = std::iter::once(axis_name).chain(column(0)).chain(column(1)).chain(column(2)).collect();
                let n = AttrValue { value: Some(attr_value::Value::I(triples.len() as i64)) };
                (inputs, vec![("N".into(), n), ("T".into(), u8())])
            }
            "Reshape" => {
                let [value, min, max] = triples[0].0.clone();
                (
                    vec![value, data[1].clone(), min, max],
                    std::iter::once(("T".to_string(), u8())).chain(copied(&["Tshape"])).collect(),
                )
            }
            op => unreachable!("{op} has a kernel but no operand layout"),
        };
        let controls = node.input.iter().filter(|i| is_control_input(i)).cloned();
        let mut kernel = NodeDef {
            name: quantized_name.clone(),
            op: plan.kernel.quantized.to_string(),
            input: inputs.into_iter().chain(controls).collect(),
            attr: attrs.into_iter().collect(),
            device: node.device.clone(),
            ..Default::default()
        };
        kernel.experimental_debug_info = node.experimental_debug_info.clone();
        self.nodes.push(kernel);

        let result = match narrowed {
            Some((range, requantize)) => {
                let wide = Triple::outputs_of(&quantized_name).0;
                self.push(op_node(&range, "RequantizationRange", &refs(&wide), vec![("Tinput", i32())]), node);
                let range_max = format!("{range}:1");
                let inputs = [refs(&wide), vec![range.as_str(), &range_max]].concat();
                self.push(
                    op_node(&requantize, "Requantize", &inputs, vec![("Tinput", i32()), ("out_type", u8())]),
                    node,
                );
                Triple::outputs_of(&requantize)
            }
            None => Triple::outputs_of(&quantized_name),
        };
        let dequantize =
            op_node(&node.name, "Dequantize", &refs(&result.0), vec![("T", u8()), ("mode", string_attr("MIN_FIRST"))]);
        self.push(dequantize, node);
        Ok(())
    }

    fn push(&mut self, mut new: NodeDef, like: &NodeDef) {
        new.device = like.device.clone();
        self.nodes.push(new);
    }

    /// The triple of the float tensor `input`: a rewritten op's result as it
    /// is, a constant quantized here (once, however many `Identity`s read
    /// it), anything else quantized at run time.
    fn operand(&mut self, input: &str) -> Result<Triple> {
        let producer = node_of(input);
        if let (Some((quantized, narrowed)), 0) = (self.result_names.get(producer), output_index(input)) {
            return Ok(Triple::outputs_of(narrowed.as_ref().map_or(quantized, |(_, requantize)| requantize)));
        }
        let graph = self.graph;
        let constant = float_constant(graph, self.index, input);
        let key = match &constant {
            Some((node, _)) => format!("{}:0", node.name),
            None => format!("{producer}:{}", output_index(input)),
        };
        if let Some(triple) = self.triples.get(&key) {
            return Ok(triple.clone());
        }
        let triple = match constant {
            Some((node, tensor)) => self.quantize_constant(node, &tensor)?,
            None => self.quantize_at_run_time(input),
        };
        self.triples.insert(key, triple.clone());
        Ok(triple)
    }

    /// The float `Const` `node` (holding `tensor`) as quint8 constants, on
    /// its device and under its control inputs (a cond branch's pivot).
    fn quantize_constant(&mut self, node: &NodeDef, tensor: &Tensor) -> Result<Triple> {
        let name = node.name.as_str();
        let (weight, measured) = quantize_operand(name, tensor).map_err(|reason| {
            Error::new(ErrorKind::InvalidArgument, format!("Const \"{name}\" {reason}")).about(name)
        })?;
        let crate::quantize::WeightEncoding::Uint8 { values, min, scale } = &weight.encoding else {
            unreachable!("operands are uint8")
        };
        let names = ["quantized_const", "quantized_min", "quantized_max"]
            .map(|suffix| graph::unique_name(&format!("{name}_{suffix}"), &mut self.taken));
        let triple = Triple(names.clone());
        let constants = uint8_constants(names, &weight.shape, values, min_first_range(*min, *scale));
        self.report.tensors.push(measured);
        let controls: Vec<String> = node.input.iter().filter(|i| is_control_input(i)).cloned().collect();
        for mut constant in constants {
            constant.device = node.device.clone();
            constant.input.extend(controls.iter().cloned());
            self.nodes.push(constant);
        }
        Ok(triple)
    }

    /// `QuantizeV2` of `input` over its own min and max (`MIN_FIRST`, as
    /// `quantize_graph` wrote it).
    fn quantize_at_run_time(&mut self, input: &str) -> Triple {
        let (flat, axis) = match &self.reduction {
            Some(names) => names.clone(),
            None => {
                let flat = graph::unique_name("eightbit_reshape_dims", &mut self.taken);
                let axis = graph::unique_name("eightbit_reduction_dims", &mut self.taken);
                self.nodes.push(graph::constant(&flat, &Tensor::from_i32(vec![1], &[-1])));
                self.nodes.push(graph::constant(&axis, &Tensor::from_i32(vec![1], &[0])));
                self.reduction = Some((flat.clone(), axis.clone()));
                (flat, axis)
            }
        };
        let producer = node_of(input);
        let base = match output_index(input) {
            0 => producer.to_string(),
            i => format!("{producer}_{i}"),
        };
        let device = self.index.get(producer).map(|&i| self.graph.node[i].device.clone()).unwrap_or_default();
        let mut name = |suffix: &str| graph::unique_name(&format!("{base}_eightbit_{suffix}"), &mut self.taken);
        let (reshape, min, max, quantize) = (name("reshape"), name("min"), name("max"), name("quantize"));
        let float = || type_attr(DataType::DtFloat);
        let int32 = || type_attr(DataType::DtInt32);
        let keep_dims = || AttrValue { value: Some(attr_value::Value::B(false)) };
        let reduce = |op, name: &str| {
            op_node(name, op, &[&reshape, &axis], vec![("T", float()), ("Tidx", int32()), ("keep_dims", keep_dims())])
        };
        let new = [
            op_node(&reshape, "Reshape", &[input, &flat], vec![("T", float()), ("Tshape", int32())]),
            reduce("Min", &min),
            reduce("Max", &max),
            op_node(
                &quantize,
                "QuantizeV2",
                &[input, &min, &max],
                vec![("T", type_attr(DataType::DtQuint8)), ("mode", string_attr("MIN_FIRST"))],
            ),
        ];
        for mut node in new {
            node.device = device.clone();
            self.nodes.push(node);
        }
        Triple::outputs_of(&quantize)
    }
}

/// `a, b, min_a, max_a, min_b, max_b`: the layout of the two-operand kernels.
fn pair_inputs(triples: &[Triple]) -> Vec<String> {
    let [a, b] = [&triples[0].0, &triples[1].0];
    vec![a[0].clone(), b[0].clone(), a[1].clone(), a[2].clone(), b[1].clone(), b[2].clone()]
}

fn refs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

/// Nodes nothing reads: a frozen graph's outputs, when none are named.
fn sinks(graph: &GraphDef) -> Vec<String> {
    let read: HashSet<&str> = graph.node.iter().flat_map(|n| n.input.iter().map(|i| node_of(i))).collect();
    graph.node.iter().filter(|n| !read.contains(n.name.as_str())).map(|n| n.name.clone()).collect()
}

/// Bytes of the `Const`s of the dtypes `counted` takes, from shapes alone.
fn constant_bytes(graph: &GraphDef, counted: impl Fn(i32) -> bool) -> u64 {
    let protos = graph.node.iter().filter(|n| n.op == "Const").filter_map(|n| attr_tensor(n, "value"));
    protos.filter(|proto| counted(proto.dtype)).filter_map(decoded_byte_len).sum()
}
