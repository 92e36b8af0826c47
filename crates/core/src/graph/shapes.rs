//! What a graph computes, without running it: the dtype and shape of each
//! node's output 0, from attrs, `_output_shapes`, constants and a few shape
//! rules, and from those a model's [`Signature`]. The emitters (TF.js, `.pb`,
//! later TFLite), the optimizer and the binding all ask here.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use crate::dtype;
use crate::graph::{self, attr, attr_shape, attr_string, attr_tensor, attr_type, index_by_name};
use crate::names::node_of;
use crate::proto::{attr_value, DataType, GraphDef, NodeDef};
use crate::tensor::{broadcast_shape, shape_dims, Tensor};

/// Inputs and outputs of a model, by node name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signature {
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSpec {
    /// The node name (output 0 of that node is meant).
    pub name: String,
    /// `DT_INVALID` when unknown.
    pub dtype: DataType,
    /// `None` when even the rank is unknown; `-1` for an unknown dim.
    pub shape: Option<Vec<i64>>,
}

impl TensorSpec {
    /// The dtype as TensorFlow.js names it (`float32`, `int32`, `bool`,
    /// `string`, `complex64`), or `unknown` when the dtype is not known or
    /// is none TensorFlow.js holds: never a guess.
    pub fn tfjs_dtype(&self) -> &'static str {
        dtype::tfjs_name(self.dtype).unwrap_or("unknown")
    }
}

/// The signature of `inputs` → `outputs`: dtypes and shapes from placeholder
/// attrs, `_output_shapes` when present, and a little shape inference.
pub fn signature_of(graph: &GraphDef, inputs: &[String], outputs: &[String]) -> Signature {
    let shapes = ShapeInference::new(graph);
    let spec = |name: &String| {
        let node = shapes.node(name);
        TensorSpec {
            name: name.clone(),
            dtype: node.map(output_dtype).unwrap_or(DataType::DtInvalid),
            shape: shapes.shape_of(name),
        }
    };
    Signature { inputs: inputs.iter().map(spec).collect(), outputs: outputs.iter().map(spec).collect() }
}

/// The dtype of a node's output 0.
pub(crate) fn output_dtype(node: &NodeDef) -> DataType {
    use DataType::*;
    let from = |name: &str, default: DataType| attr_type(node, name).unwrap_or(default);
    match node.op.as_str() {
        "Shape" | "Size" | "ShapeN" => from("out_type", DtInt32),
        "Rank" => DtInt32,
        "NonMaxSuppression"
        | "NonMaxSuppressionV2"
        | "NonMaxSuppressionV3"
        | "NonMaxSuppressionV4"
        | "NonMaxSuppressionV5" => DtInt32,
        "ArgMax" | "ArgMin" => from("output_type", DtInt64),
        "Where" => DtInt64,
        "Range" => from("Tidx", DtInt32),
        "ResizeBilinear" | "ResizeBicubic" | "ResizeArea" => DtFloat,
        "DecodeJpeg" | "DecodeAndCropJpeg" | "DecodeBmp" | "DecodeGif" => DtUint8,
        "DecodePng" | "DecodeImage" => from("dtype", DtUint8),
        "PyFunc" | "PyFuncStateless" | "EagerPyFunc" => match attr(node, "Tout") {
            Some(attr_value::Value::List(list)) => list.r#type.first().map_or(DtInvalid, |&t| dtype::from_i32(t)),
            _ => DtInvalid,
        },
        "Equal" | "NotEqual" | "Less" | "LessEqual" | "Greater" | "GreaterEqual" | "LogicalAnd" | "LogicalOr"
        | "LogicalNot" | "IsNan" | "IsInf" | "IsFinite" | "ApproximateEqual" => DtBool,
        _ => ["dtype", "out_type", "output_type", "DstT", "T", "Tparams"]
            .iter()
            .find_map(|name| attr_type(node, name))
            .map(dtype::base)
            .unwrap_or(DtInvalid),
    }
}

/// Output shapes where they follow from attrs, constants and simple rules;
/// `None` where they do not. Each node's shape is computed once (a diamond of
/// adds costs one visit per node, not one per path) and without recursion,
/// so neither deep nor cyclic graphs are a problem.
pub(crate) struct ShapeInference<'g> {
    graph: &'g GraphDef,
    index: HashMap<&'g str, usize>,
    /// Output-0 shape by node position, for every node computed so far.
    known: RefCell<HashMap<usize, Option<Vec<i64>>>>,
}

impl<'g> ShapeInference<'g> {
    pub(crate) fn new(graph: &'g GraphDef) -> Self {
        ShapeInference { graph, index: index_by_name(graph), known: RefCell::new(HashMap::new()) }
    }

    fn node(&self, name: &str) -> Option<&'g NodeDef> {
        self.position(name).map(|i| &self.graph.node[i])
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.index.get(node_of(name)).copied()
    }

    /// The shape of the node `name` names (its output 0).
    pub(crate) fn shape_of(&self, name: &str) -> Option<Vec<i64>> {
        let root = self.position(name)?;
        // Depth-first, inputs before the node; a node met again while its own
        // inputs are still pending is on a cycle and counts as unknown.
        let mut pending = HashSet::new();
        let mut stack = vec![(root, false)];
        while let Some((i, inputs_done)) = stack.pop() {
            if self.known.borrow().contains_key(&i) {
                continue;
            }
            if inputs_done {
                let shape = self.rule(&self.graph.node[i]);
                self.known.borrow_mut().insert(i, shape);
                continue;
            }
            if !pending.insert(i) {
                continue;
            }
            stack.push((i, true));
            for input in self.shape_inputs(&self.graph.node[i]) {
                if let Some(p) = self.position(input) {
                    if !pending.contains(&p) && !self.known.borrow().contains_key(&p) {
                        stack.push((p, false));
                    }
                }
            }
        }
        self.known.borrow().get(&root).cloned().flatten()
    }

    /// The inputs whose shapes [`Self::rule`] reads.
    fn shape_inputs(&self, node: &'g NodeDef) -> &'g [String] {
        if recorded_output_shape(node).is_some() || matches!(node.op.as_str(), "Placeholder" | "Const") {
            return &[];
        }
        if node.op == "ConcatV2" {
            return &node.input[..node.input.len().saturating_sub(1)];
        }
        &node.input[..node.input.len().min(2)]
    }

    /// A node's shape from its attrs and its inputs' shapes (already computed).
    fn rule(&self, node: &NodeDef) -> Option<Vec<i64>> {
        if let Some(shape) = recorded_output_shape(node) {
            return Some(shape);
        }
        let input = |i: usize| {
            let position = self.position(node.input.get(i)?)?;
            self.known.borrow().get(&position).cloned().flatten()
        };
        match node.op.as_str() {
            "Placeholder" | "PlaceholderWithDefault" => attr_shape(node, "shape"),
            "Const" => attr_tensor(node, "value").and_then(|t| t.tensor_shape.as_ref()).and_then(shape_dims),
            op if SHAPE_PRESERVING.contains(&op) => input(0),
            op if BROADCASTING.contains(&op) => broadcast_shape(&input(0)?, &input(1)?),
            "MatMul" | "_FusedMatMul" => matmul_shape(node, &input(0)?, &input(1)?),
            "Reshape" => self.constant_ints(node.input.get(1)?),
            "Mean" | "Sum" | "Max" | "Min" | "Prod" | "All" | "Any" => {
                let axes = self.constant_ints(node.input.get(1)?)?;
                Some(reduce_shape(&input(0)?, &axes, attr_bool_or(node, "keep_dims", false)))
            }
            "Squeeze" => squeeze_shape(node, &input(0)?),
            "Conv2D" | "DepthwiseConv2dNative" | "_FusedConv2D" | "FusedDepthwiseConv2dNative" => {
                conv_shape(node, &input(0)?, &input(1)?)
            }
            "MaxPool" | "AvgPool" => {
                let input = input(0)?;
                let ksize = nhwc_list(node, "ksize")?;
                let (&[1, height, width, 1], 4) = (ksize.as_slice(), input.len()) else { return None };
                conv_shape(node, &input, &[height, width, input[3], input[3]])
            }
            "Pad" | "PadV2" | "MirrorPad" => pad_shape(&input(0)?, &self.constant_ints(node.input.get(1)?)?),
            "ConcatV2" => self.concat_shape(node),
            _ => None,
        }
    }

    /// `ConcatV2`: the inputs' shapes, summed along the constant axis (the last input).
    fn concat_shape(&self, node: &NodeDef) -> Option<Vec<i64>> {
        let (axis, values) = node.input.split_last()?;
        let known = self.known.borrow();
        let shapes: Vec<Vec<i64>> = values
            .iter()
            .map(|v| self.position(v).and_then(|p| known.get(&p).cloned().flatten()))
            .collect::<Option<_>>()?;
        let rank = shapes.first()?.len() as i64;
        let &[axis] = self.constant_ints(axis)?.as_slice() else { return None };
        let axis = usize::try_from(if axis < 0 { axis + rank } else { axis }).ok().filter(|&a| (a as i64) < rank)?;
        let mut shape = shapes[0].clone();
        shape[axis] = shapes
            .iter()
            .try_fold(0i64, |sum, s| match s.get(axis) {
                Some(&d) if d >= 0 && s.len() == shape.len() => sum.checked_add(d),
                _ => None,
            })
            .unwrap_or(-1);
        Some(shape)
    }

    /// An int32/int64 `Const`'s values (through `Identity`).
    fn constant_ints(&self, name: &str) -> Option<Vec<i64>> {
        constant_ints(self.graph, &self.index, name)
    }
}

/// The shape of the `Const` that `name` reads (through `Identity`s).
pub(crate) fn constant_shape(graph: &GraphDef, index: &HashMap<&str, usize>, name: &str) -> Option<Vec<i64>> {
    let (_, node) = graph::through_identities(graph, index, name)?;
    if node.op != "Const" {
        return None;
    }
    shape_dims(attr_tensor(node, "value")?.tensor_shape.as_ref()?)
}

/// The values of the int32/int64 `Const` that `name` reads (through `Identity`s).
pub(crate) fn constant_ints(graph: &GraphDef, index: &HashMap<&str, usize>, name: &str) -> Option<Vec<i64>> {
    let (_, node) = graph::through_identities(graph, index, name)?;
    if node.op != "Const" {
        return None;
    }
    let tensor = Tensor::from_proto(attr_tensor(node, "value")?).ok()?;
    let raw = tensor.raw()?;
    match tensor.dtype {
        DataType::DtInt32 => {
            Some(raw.chunks_exact(4).map(|c| i64::from(i32::from_le_bytes(c.try_into().unwrap()))).collect())
        }
        DataType::DtInt64 => Some(raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()),
        _ => None,
    }
}

const SHAPE_PRESERVING: [&str; 30] = [
    "Identity",
    "StopGradient",
    "Snapshot",
    "Cast",
    "Relu",
    "Relu6",
    "Elu",
    "Selu",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Softplus",
    "Exp",
    "Log",
    "Neg",
    "Abs",
    "Sqrt",
    "Rsqrt",
    "Square",
    "Floor",
    "Ceil",
    "Round",
    "BiasAdd",
    "FusedBatchNorm",
    "FusedBatchNormV2",
    "FusedBatchNormV3",
    "Dequantize",
    "ClipByValue",
];

const BROADCASTING: [&str; 9] =
    ["Add", "AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum", "SquaredDifference", "Pow"];

/// The shape recorded by TensorFlow in `_output_shapes`, if any.
fn recorded_output_shape(node: &NodeDef) -> Option<Vec<i64>> {
    match attr(node, "_output_shapes")? {
        attr_value::Value::List(list) => list.shape.first().and_then(shape_dims),
        _ => None,
    }
}

fn attr_bool_or(node: &NodeDef, name: &str, default: bool) -> bool {
    graph::attr_bool(node, name).unwrap_or(default)
}

fn matmul_shape(node: &NodeDef, a: &[i64], b: &[i64]) -> Option<Vec<i64>> {
    if a.len() != 2 || b.len() != 2 {
        return None;
    }
    let rows = if attr_bool_or(node, "transpose_a", false) { a[1] } else { a[0] };
    let columns = if attr_bool_or(node, "transpose_b", false) { b[0] } else { b[1] };
    Some(vec![rows, columns])
}

fn reduce_shape(shape: &[i64], axes: &[i64], keep_dims: bool) -> Vec<i64> {
    let rank = shape.len() as i64;
    let reduced: HashSet<i64> = axes.iter().map(|&a| if a < 0 { a + rank } else { a }).collect();
    shape
        .iter()
        .enumerate()
        .filter_map(|(i, &d)| match (reduced.contains(&(i as i64)), keep_dims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

fn squeeze_shape(node: &NodeDef, shape: &[i64]) -> Option<Vec<i64>> {
    let axes: Vec<i64> = match attr(node, "squeeze_dims") {
        Some(attr_value::Value::List(list)) => list.i.clone(),
        _ => Vec::new(),
    };
    let rank = shape.len() as i64;
    let squeezed: HashSet<i64> = axes.iter().map(|&a| if a < 0 { a + rank } else { a }).collect();
    if axes.is_empty() && shape.contains(&-1) {
        return None;
    }
    let keep = |(i, &d): (usize, &i64)| if axes.is_empty() { d != 1 } else { !squeezed.contains(&(i as i64)) };
    Some(shape.iter().enumerate().filter(|&x| keep(x)).map(|(_, &d)| d).collect())
}

/// Each dim grown by its `[before, after]` row of a constant paddings tensor.
fn pad_shape(input: &[i64], paddings: &[i64]) -> Option<Vec<i64>> {
    if paddings.len() != input.len() * 2 {
        return None;
    }
    let grown = input.iter().zip(paddings.chunks_exact(2)).map(|(&d, pad)| match d {
        -1 => -1,
        d => d.checked_add(pad[0]).and_then(|d| d.checked_add(pad[1])).filter(|&d| d >= 0).unwrap_or(-1),
    });
    Some(grown.collect())
}

/// A per-dimension list attr of an NHWC op (`strides`, `dilations`, `ksize`):
/// its four values, or `None` when it is absent or not four long.
pub(crate) fn nhwc_list(node: &NodeDef, name: &str) -> Option<Vec<i64>> {
    match attr(node, name) {
        Some(attr_value::Value::List(list)) if list.i.len() == 4 => Some(list.i.clone()),
        _ => None,
    }
}

/// TensorFlow's SAME padding along one spatial axis of `size`: the output
/// size, and the padding before and after it (an odd pixel goes after).
pub(crate) fn same_padding(size: i64, kernel: i64, stride: i64, dilation: i64) -> (i64, i64, i64) {
    let effective = (kernel - 1) * dilation + 1;
    let out = (size + stride - 1) / stride;
    let total = ((out - 1) * stride + effective - size).max(0);
    (out, total / 2, total - total / 2)
}

/// NHWC convolutions (and pools, as a `[kh, kw, c, c]` filter): output height/width from padding, strides and dilations.
/// `-1` for a dim that is unknown or would overflow; `None` for `EXPLICIT`
/// padding (its amounts are not modelled here) or an unknown padding.
fn conv_shape(node: &NodeDef, input: &[i64], filter: &[i64]) -> Option<Vec<i64>> {
    if input.len() != 4 || filter.len() != 4 || attr_string(node, "data_format").is_some_and(|f| f != "NHWC") {
        return None;
    }
    let strides = nhwc_list(node, "strides")?;
    let dilations = nhwc_list(node, "dilations").unwrap_or(vec![1; 4]);
    let valid = match attr_string(node, "padding")?.as_str() {
        "VALID" => true,
        "SAME" => false,
        _ => return None,
    };
    let spatial = |size: i64, kernel: i64, stride: i64, dilation: i64| -> i64 {
        if size < 0 || kernel < 0 || stride <= 0 || dilation <= 0 {
            return -1;
        }
        let out = if valid {
            let effective = (kernel - 1).checked_mul(dilation).and_then(|k| k.checked_add(1));
            effective.and_then(|k| size.checked_sub(k)).and_then(|d| d.checked_add(stride)).map(|d| d / stride)
        } else {
            size.checked_add(stride - 1).map(|d| d / stride)
        };
        out.filter(|&d| d >= 0).unwrap_or(-1)
    };
    let channels = match node.op.contains("Depthwise") {
        true if filter[2] < 0 || filter[3] < 0 => -1,
        true => filter[2].checked_mul(filter[3]).unwrap_or(-1),
        false => filter[3],
    };
    let height = spatial(input[1], filter[0], strides[1], dilations[1]);
    let width = spatial(input[2], filter[1], strides[2], dilations[2]);
    Some(vec![input[0], height, width, channels])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_pools_and_concats_keep_shapes_known() {
        use crate::proto::{AttrValue, NodeDef};
        let node = |name: &str, op: &str, inputs: &[&str], attrs: Vec<(&str, attr_value::Value)>| NodeDef {
            name: name.into(),
            op: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            attr: attrs.into_iter().map(|(k, v)| (k.to_string(), AttrValue { value: Some(v) })).collect(),
            ..Default::default()
        };
        let ints = |v: &[i64]| attr_value::Value::List(attr_value::ListValue { i: v.to_vec(), ..Default::default() });
        let text = |v: &str| attr_value::Value::S(v.as_bytes().to_vec());
        let int_const = |name: &str, dims: &[i64], values: &[i32]| {
            let tensor = crate::proto::TensorProto {
                dtype: DataType::DtInt32 as i32,
                tensor_shape: Some(crate::tensor::shape_proto(dims)),
                int_val: values.to_vec(),
                ..Default::default()
            };
            node(
                name,
                "Const",
                &[],
                vec![
                    ("dtype", attr_value::Value::Type(DataType::DtInt32 as i32)),
                    ("value", attr_value::Value::Tensor(tensor)),
                ],
            )
        };
        let shape = attr_value::Value::Shape(crate::tensor::shape_proto(&[-1, 224, 224, 3]));
        let graph = GraphDef {
            node: vec![
                node(
                    "x",
                    "Placeholder",
                    &[],
                    vec![("dtype", attr_value::Value::Type(DataType::DtFloat as i32)), ("shape", shape)],
                ),
                int_const("paddings", &[4, 2], &[0, 0, 0, 1, 0, 1, 0, 0]),
                node("pad", "Pad", &["x", "paddings"], vec![]),
                node(
                    "pool",
                    "MaxPool",
                    &["pad"],
                    vec![("ksize", ints(&[1, 3, 3, 1])), ("strides", ints(&[1, 2, 2, 1])), ("padding", text("VALID"))],
                ),
                int_const("axis", &[], &[-1]),
                node("concat", "ConcatV2", &["pool", "pool", "axis"], vec![]),
            ],
            ..Default::default()
        };
        let shapes = ShapeInference::new(&graph);
        assert_eq!(shapes.shape_of("pad"), Some(vec![-1, 225, 225, 3]));
        assert_eq!(shapes.shape_of("pool"), Some(vec![-1, 112, 112, 3]));
        assert_eq!(shapes.shape_of("concat"), Some(vec![-1, 112, 112, 6]));
    }

    #[test]
    fn broadcasts_unknown_dims() {
        assert_eq!(broadcast_shape(&[-1, 4], &[4]), Some(vec![-1, 4]));
        assert_eq!(broadcast_shape(&[2, 1], &[1, 3]), Some(vec![2, 3]));
        assert_eq!(broadcast_shape(&[2], &[3]), None);
    }
}
