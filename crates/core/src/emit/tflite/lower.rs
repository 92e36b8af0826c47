//! The walk from graph to subgraph: the nodes the outputs need, inputs first;
//! one operator per node (or per chain [`fuse`] folded), each constant stored
//! once per layout it is read in, and the signature by node names.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::check;
use super::fuse::{self, constant_shape, Fused, Plan};
use super::layout::{self, lay_out, Layout};
use super::model::{ModelBuilder, TensorIndex, NO_TENSOR};
use super::ops::{self, Kind};
use super::schema_generated::tflite::{BuiltinOperator, BuiltinOptions, TensorType};
use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::shapes::{output_dtype, ShapeInference, Signature};
use crate::graph::{self, attr, attr_tensor, attr_type};
use crate::names::{is_control_input, node_of, output_index};
use crate::proto::{attr_value, DataType, GraphDef, NodeDef};
use crate::quantize::{QuantizedWeight, WeightEncoding};
use crate::tensor::{Tensor, TensorData};

pub(super) fn lower(
    graph: &GraphDef,
    signature: &Signature,
    weights: Option<&BTreeMap<String, QuantizedWeight>>,
) -> Result<ModelBuilder> {
    let index = graph::index_by_name(graph);
    let outputs: Vec<String> = signature.outputs.iter().map(|s| s.name.clone()).collect();
    let order = inputs_first(graph, &index, &outputs);
    check::require_mappable(graph, &order, &index)?;
    let plan = fuse::plan(graph, &order, &outputs);
    let mut cx = Lowerer {
        graph,
        shapes: ShapeInference::new(graph),
        index,
        model: ModelBuilder::new(),
        tensors: HashMap::new(),
        constants: HashMap::new(),
        weights,
    };
    for input in &signature.inputs {
        let node = &graph.node[cx.index[input.name.as_str()]];
        let dtype = cx.tensor_type(node, input.dtype)?;
        let shape = input.shape.as_deref().and_then(int32_shape);
        let tensor = cx.model.tensor(&input.name, dtype, shape.as_deref());
        cx.tensors.insert(format!("{}:0", input.name), tensor);
        cx.model.input(&input.name, tensor);
    }
    for &i in &order {
        let node = &graph.node[i];
        let Some(kind) = ops::kind(&node.op) else { continue };
        if kind == Kind::Alias || plan.absorbed.contains(&i) {
            continue;
        }
        let fused = fused_of(&plan, i);
        ops::emit(&mut cx, node, kind, &fused)
            .map_err(|e| if e.subject.is_none() { e.about(&node.name) } else { e })?;
    }
    let mut named = HashSet::new();
    for output in &outputs {
        let tensor = cx.tensor_of(output, Layout::AsIs)?;
        let is_input = signature.inputs.iter().any(|s| cx.tensors.get(&format!("{}:0", s.name)) == Some(&tensor));
        // An output reached through an alias takes the output's name, once.
        if !is_input && named.insert(tensor) {
            cx.model.rename(tensor, output);
        }
        cx.model.output(output, tensor);
    }
    Ok(cx.model)
}

fn fused_of(plan: &Plan, node: usize) -> Fused {
    plan.fused.get(&node).cloned().unwrap_or_else(|| Fused::none(node))
}

/// The nodes `outputs` read through data inputs, each after its inputs (an
/// edge closing a cycle is ignored here; such graphs hold unmappable ops).
fn inputs_first(graph: &GraphDef, index: &HashMap<&str, usize>, outputs: &[String]) -> Vec<usize> {
    let mut state = vec![0u8; graph.node.len()]; // 0 new, 1 open, 2 done
    let mut order = Vec::new();
    for output in outputs {
        let Some(&root) = index.get(output.as_str()) else { continue };
        let mut stack = vec![(root, false)];
        while let Some((i, inputs_done)) = stack.pop() {
            if inputs_done {
                state[i] = 2;
                order.push(i);
                continue;
            }
            if state[i] != 0 {
                continue;
            }
            state[i] = 1;
            stack.push((i, true));
            for input in graph.node[i].input.iter().rev().filter(|s| !is_control_input(s)) {
                if let Some(&source) = index.get(node_of(input)) {
                    if state[source] == 0 {
                        stack.push((source, false));
                    }
                }
            }
        }
    }
    order
}

fn raw(dtype: DataType, shape: &[i64], bytes: Vec<u8>) -> Tensor {
    Tensor { dtype, shape: shape.to_vec(), data: TensorData::Raw(bytes.into()) }
}

fn int32_shape(shape: &[i64]) -> Option<Vec<i32>> {
    shape.iter().map(|&d| i32::try_from(d).ok()).collect()
}

/// State of one conversion, and what [`ops::emit`] asks of it.
pub(super) struct Lowerer<'g> {
    graph: &'g GraphDef,
    index: HashMap<&'g str, usize>,
    shapes: ShapeInference<'g>,
    model: ModelBuilder,
    /// The tensor of each computed output, by `node:k`.
    tensors: HashMap<String, TensorIndex>,
    /// Each constant once per layout it is read in.
    constants: HashMap<(String, Layout), TensorIndex>,
    /// Encodings chosen for constants, by node name.
    weights: Option<&'g BTreeMap<String, QuantizedWeight>>,
}

impl<'g> Lowerer<'g> {
    /// The data inputs of `node`.
    fn data<'n>(&self, node: &'n NodeDef) -> Vec<&'n String> {
        node.input.iter().filter(|s| !is_control_input(s)).collect()
    }

    pub(super) fn arity(&self, node: &NodeDef) -> usize {
        self.data(node).len()
    }

    /// The node behind an input, looking through aliases (`Identity`, …),
    /// with the input string that names its output.
    fn resolve<'a>(&self, input: &'a str) -> Option<(&'a str, &'g NodeDef)>
    where
        'g: 'a,
    {
        let mut input = input;
        for _ in 0..=self.graph.node.len() {
            let node = &self.graph.node[*self.index.get(node_of(input))?];
            if ops::kind(&node.op) != Some(Kind::Alias) {
                return Some((input, node));
            }
            input = node.input.iter().find(|s| !is_control_input(s))?;
        }
        None
    }

    fn source(&self, node: &NodeDef, position: usize) -> Result<(String, &'g NodeDef)> {
        let data = self.data(node);
        let input = data.get(position).ok_or_else(|| {
            Error::new(ErrorKind::GraphInvalid, format!("node \"{}\" ({}) has no input {position}", node.name, node.op))
        })?;
        let (input, source) = self.resolve(input).ok_or_else(|| {
            Error::new(
                ErrorKind::UnknownNode,
                format!("node \"{}\" reads \"{input}\", which is not in the graph", node.name),
            )
        })?;
        Ok((input.to_string(), source))
    }

    pub(super) fn is_constant(&self, node: &NodeDef, position: usize) -> bool {
        self.source(node, position).is_ok_and(|(_, source)| source.op == "Const")
    }

    /// Input `position` of `node`, a constant stored in `layout` or a computed tensor.
    pub(super) fn input(&mut self, node: &NodeDef, position: usize, layout: Layout) -> Result<TensorIndex> {
        let (input, _) = self.source(node, position)?;
        let needs_constant = matches!(layout, Layout::ConvFilter | Layout::DepthwiseFilter | Layout::Transposed);
        if needs_constant && !self.is_constant(node, position) {
            return Err(self.unsupported(node, "weights that are not a constant"));
        }
        self.tensor_of(&input, layout)
    }

    pub(super) fn inputs(&mut self, node: &NodeDef, layouts: &[Layout]) -> Result<Vec<TensorIndex>> {
        layouts.iter().enumerate().map(|(i, &layout)| self.input(node, i, layout)).collect()
    }

    /// The tensor an input string names.
    pub(super) fn tensor_of(&mut self, input: &str, layout: Layout) -> Result<TensorIndex> {
        let (input, source) = self.resolve(input).ok_or_else(|| {
            Error::new(ErrorKind::UnknownNode, format!("\"{input}\" is not in the graph")).about(node_of(input))
        })?;
        let key = format!("{}:{}", node_of(input), output_index(input));
        if source.op == "Const" {
            return self.constant(source, layout);
        }
        if let Some(&tensor) = self.tensors.get(&key) {
            return Ok(tensor);
        }
        let message = match source.op.as_str() {
            "Placeholder" => format!("placeholder \"{}\" feeds the outputs but is not one of the inputs", source.name),
            _ => format!("\"{key}\" is read before it is computed"),
        };
        Err(Error::new(ErrorKind::InvalidArgument, message).about(&source.name))
    }

    fn constant(&mut self, node: &NodeDef, layout: Layout) -> Result<TensorIndex> {
        let cache = (node.name.clone(), layout);
        if let Some(&tensor) = self.constants.get(&cache) {
            return Ok(tensor);
        }
        let proto = attr_tensor(node, "value").ok_or_else(|| {
            Error::new(ErrorKind::GraphInvalid, format!("constant \"{}\" has no value", node.name)).about(&node.name)
        })?;
        let value = Tensor::from_proto(proto).map_err(|e| e.prefixed(format!("constant \"{}\"", node.name)))?;
        let encoding = self.weights.and_then(|w| w.get(&node.name)).map(|w| &w.encoding);
        let tensor = match encoding {
            Some(WeightEncoding::Float16 { values }) => {
                let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                let laid = lay_out(&node.name, &raw(DataType::DtHalf, &value.shape, bytes), layout)?;
                let stored = self.model.constant(&node.name, laid.dtype, &laid.shape, laid.data);
                self.dequantized(&node.name, stored, &laid.shape)
            }
            Some(WeightEncoding::Int8 { values, scales, axis }) => {
                let bytes: Vec<u8> = values.iter().map(|&v| v as u8).collect();
                let laid = lay_out(&node.name, &raw(DataType::DtInt8, &value.shape, bytes), layout)?;
                let stored = self.model.constant(&node.name, laid.dtype, &laid.shape, laid.data);
                self.model.quantize(stored, scales.clone(), layout.axis(*axis, value.shape.len()));
                if layout.takes_int8() {
                    stored
                } else {
                    self.dequantized(&node.name, stored, &laid.shape)
                }
            }
            Some(WeightEncoding::Uint8 { .. }) => {
                let message =
                    format!("constant \"{}\" is quantized to uint8, which the TFLite writer does not store", node.name);
                return Err(Error::new(ErrorKind::InvalidArgument, message).about(&node.name));
            }
            None => {
                let laid = lay_out(&node.name, &value, layout)?;
                self.model.constant(&node.name, laid.dtype, &laid.shape, laid.data)
            }
        };
        self.constants.insert(cache, tensor);
        Ok(tensor)
    }

    /// A float32 tensor computed from the float16 or int8 constant `stored` by a `DEQUANTIZE`.
    fn dequantized(&mut self, name: &str, stored: TensorIndex, shape: &[i32]) -> TensorIndex {
        let widened = self.model.tensor(&format!("{name}/dequantize"), TensorType::Float32, Some(shape));
        self.model.operator(BuiltinOperator::Dequantize, vec![stored], vec![widened], None);
        widened
    }

    /// Whether input `position` is a constant stored as int8.
    pub(super) fn is_int8(&self, node: &NodeDef, position: usize) -> bool {
        let Ok((_, source)) = self.source(node, position) else { return false };
        let encoding = self.weights.and_then(|w| w.get(&source.name)).map(|w| &w.encoding);
        source.op == "Const" && matches!(encoding, Some(WeightEncoding::Int8 { .. }))
    }

    /// The shape of constant input `position`, which must be a constant.
    pub(super) fn constant_shape(&self, node: &NodeDef, position: usize, what: &str) -> Result<Vec<i64>> {
        let (input, _) = self.source(node, position)?;
        constant_shape(self.graph, &self.index, &input)
            .ok_or_else(|| self.unsupported(node, &format!("a {what} that is not a constant")))
    }

    /// The value of a scalar integer constant input (an axis).
    pub(super) fn constant_int(&self, node: &NodeDef, position: usize, what: &str) -> Result<i32> {
        let (_, source) = self.source(node, position)?;
        let value = (source.op == "Const")
            .then(|| attr_tensor(source, "value"))
            .flatten()
            .and_then(|proto| Tensor::from_proto(proto).ok())
            .and_then(|t| lay_out(&source.name, &t, Layout::Int32).ok())
            .filter(|laid| laid.data.len() == 4);
        match value {
            Some(laid) => Ok(i32::from_le_bytes(laid.data[..4].try_into().unwrap())),
            None => Err(self.unsupported(node, &format!("an {what} that is not a constant integer"))),
        }
    }

    /// The bias input: the folded constant, else zeros (`required`) or none.
    pub(super) fn bias(&mut self, node: &NodeDef, fused: &Fused, width: i64, required: bool) -> Result<TensorIndex> {
        if let Some(bias) = &fused.bias {
            return self.tensor_of(bias, Layout::AsIs);
        }
        if !required {
            return Ok(NO_TENSOR);
        }
        let zeros = vec![0u8; width as usize * 4];
        Ok(self.model.constant(&format!("{}/bias", node.name), TensorType::Float32, &[width as i32], zeros))
    }

    /// A new tensor for output `k` of `node`.
    pub(super) fn output(&mut self, node: &NodeDef, k: usize) -> TensorIndex {
        let (name, dtype) = match k {
            0 => (node.name.clone(), output_dtype(node)),
            _ => (format!("{}:{k}", node.name), attr_type(node, "T").unwrap_or(output_dtype(node))),
        };
        let shape = if k == 0 { self.shapes.shape_of(&node.name).as_deref().and_then(int32_shape) } else { None };
        let dtype = layout::tensor_type(dtype).unwrap_or(TensorType::Float32);
        let tensor = self.model.tensor(&name, dtype, shape.as_deref());
        self.tensors.insert(format!("{}:{k}", node.name), tensor);
        tensor
    }

    /// The tensor of a folded chain's result: the last node's output 0.
    pub(super) fn output_of_chain(&mut self, node: &NodeDef, fused: &Fused) -> TensorIndex {
        let last = &self.graph.node[fused.last];
        let shape = self.shapes.shape_of(&last.name).or_else(|| self.shapes.shape_of(&node.name));
        let dtype = layout::tensor_type(output_dtype(node)).unwrap_or(TensorType::Float32);
        let tensor = self.model.tensor(&last.name, dtype, shape.as_deref().and_then(int32_shape).as_deref());
        self.tensors.insert(format!("{}:0", last.name), tensor);
        tensor
    }

    pub(super) fn operator(
        &mut self,
        op: BuiltinOperator,
        inputs: Vec<TensorIndex>,
        outputs: Vec<TensorIndex>,
        options: Option<BuiltinOptions>,
    ) {
        self.model.operator(op, inputs, outputs, options);
    }

    pub(super) fn unsupported(&self, node: &NodeDef, what: &str) -> Error {
        Error::new(
            ErrorKind::UnsupportedOp,
            format!("node \"{}\" ({}) has {what}, which the TFLite writer does not map", node.name, node.op),
        )
        .about(&node.name)
    }

    pub(super) fn tensor_type(&self, node: &NodeDef, dtype: DataType) -> Result<TensorType> {
        layout::tensor_type(dtype).ok_or_else(|| {
            Error::new(
                ErrorKind::UnsupportedDtype,
                format!("node \"{}\" ({}) is {}, which TFLite cannot hold", node.name, node.op, dtype::name(dtype)),
            )
            .about(&node.name)
        })
    }

    pub(super) fn tensor_type_attr(&self, node: &NodeDef, name: &str) -> Result<TensorType> {
        self.tensor_type(node, attr_type(node, name).unwrap_or(DataType::DtInvalid))
    }

    /// The height and width entries of an NHWC list attr (`strides`, `ksize`, `dilations`).
    pub(super) fn nhwc_list(&self, node: &NodeDef, name: &str) -> Result<[i32; 2]> {
        match attr(node, name) {
            Some(attr_value::Value::List(list)) if list.i.len() == 4 => Ok([list.i[1] as i32, list.i[2] as i32]),
            _ => Err(self.unsupported(node, &format!("a {name} attr that is not 4 NHWC values"))),
        }
    }
}
