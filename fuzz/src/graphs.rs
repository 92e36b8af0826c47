//! Small GraphDefs of ops the pipeline knows, built from fuzz input: each
//! node gets its op's usual attrs (so most graphs get past the first check),
//! then random overrides, random edges (cycles included) and random constants.

use arbitrary::Arbitrary;
use tfmodel_core::proto::{attr_value, AttrValue, DataType, GraphDef, NodeDef, TensorProto};
use tfmodel_core::tensor::shape_proto;

const OPS: &[&str] = &[
    "Placeholder",
    "PlaceholderWithDefault",
    "Const",
    "Identity",
    "IdentityN",
    "NoOp",
    "Add",
    "AddV2",
    "Sub",
    "Mul",
    "RealDiv",
    "Maximum",
    "Minimum",
    "MatMul",
    "BatchMatMulV2",
    "BiasAdd",
    "Conv2D",
    "DepthwiseConv2dNative",
    "Relu",
    "Relu6",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Rsqrt",
    "Square",
    "Sqrt",
    "Neg",
    "MaxPool",
    "AvgPool",
    "Reshape",
    "Squeeze",
    "ExpandDims",
    "ConcatV2",
    "Pack",
    "Unpack",
    "Mean",
    "Sum",
    "Max",
    "Transpose",
    "Pad",
    "Shape",
    "StridedSlice",
    "Slice",
    "FusedBatchNorm",
    "FusedBatchNormV3",
    "Cast",
    "Fill",
    "Range",
    "GatherV2",
    "ArgMax",
    "Tile",
    "Switch",
    "Merge",
    "Enter",
    "Exit",
    "NextIteration",
    "LoopCond",
    "Less",
    "VariableV2",
    "VarHandleOp",
    "ReadVariableOp",
    "Assign",
    "Dequantize",
    "Split",
    "ResizeBilinear",
    "Select",
    "SelectV2",
    "Where",
    "TopKV2",
    "NonMaxSuppressionV3",
    "Softplus",
    "LeakyRelu",
];

const ATTRS: &[&str] = &[
    "T",
    "dtype",
    "shape",
    "value",
    "strides",
    "padding",
    "data_format",
    "ksize",
    "dilations",
    "transpose_a",
    "transpose_b",
    "keep_dims",
    "axis",
    "N",
    "Tidx",
    "epsilon",
    "is_training",
    "begin_mask",
    "end_mask",
    "shrink_axis_mask",
    "new_axis_mask",
    "ellipsis_mask",
    "squeeze_dims",
    "DstT",
    "SrcT",
    "Tshape",
    "explicit_paddings",
    "num_split",
    "frame_name",
    "is_constant",
    "Tparams",
    "Tindices",
    "alpha",
    "mode",
    "container",
    "shared_name",
    "_class",
    "output_type",
    "align_corners",
];

const STRINGS: &[&str] = &["SAME", "VALID", "EXPLICIT", "NHWC", "NCHW", "MIN_FIRST", "loop", "", "loc:@n0"];

const DTYPES: &[DataType] = &[
    DataType::DtFloat,
    DataType::DtInt32,
    DataType::DtInt64,
    DataType::DtBool,
    DataType::DtHalf,
    DataType::DtUint8,
    DataType::DtInt8,
    DataType::DtString,
    DataType::DtDouble,
    DataType::DtResource,
];

#[derive(Arbitrary, Debug)]
pub struct FuzzGraph {
    nodes: Vec<FuzzNode>,
    /// Output node indices; none lets the pipeline infer them.
    pub outputs: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
struct FuzzNode {
    op: u8,
    inputs: Vec<Edge>,
    dtype: u8,
    attrs: Vec<(u8, Value)>,
}

#[derive(Arbitrary, Debug)]
struct Edge {
    node: u8,
    port: u8,
    control: bool,
}

#[derive(Arbitrary, Debug)]
enum Value {
    I(i64),
    F(f32),
    B(bool),
    S(u8),
    Type(u8),
    Shape(Vec<i8>),
    Ints(Vec<i8>),
    Tensor(Constant),
}

#[derive(Arbitrary, Debug)]
struct Constant {
    dtype: u8,
    shape: Vec<u8>,
    floats: Vec<f32>,
    ints: Vec<i32>,
    /// Raw bytes as `tensor_content`, which may disagree with the shape.
    content: Option<Vec<u8>>,
}

fn dtype(index: u8) -> DataType {
    DTYPES[index as usize % DTYPES.len()]
}

fn attr(value: attr_value::Value) -> AttrValue {
    AttrValue { value: Some(value) }
}

fn ints(values: &[i64]) -> AttrValue {
    attr(attr_value::Value::List(attr_value::ListValue { i: values.to_vec(), ..Default::default() }))
}

fn tensor(constant: &Constant) -> TensorProto {
    let dims: Vec<i64> = constant.shape.iter().take(4).map(|&d| i64::from(d % 9)).collect();
    let dtype = dtype(constant.dtype);
    let mut proto = TensorProto { dtype: dtype as i32, tensor_shape: Some(shape_proto(&dims)), ..Default::default() };
    match &constant.content {
        Some(bytes) => proto.tensor_content = bytes.clone().into(),
        None => match dtype {
            DataType::DtFloat | DataType::DtDouble | DataType::DtHalf => proto.float_val = constant.floats.clone(),
            DataType::DtInt64 => proto.int64_val = constant.ints.iter().map(|&i| i64::from(i)).collect(),
            DataType::DtString => proto.string_val = constant.ints.iter().map(|i| i.to_string().into_bytes()).collect(),
            DataType::DtBool => proto.bool_val = constant.ints.iter().map(|&i| i & 1 == 1).collect(),
            _ => proto.int_val = constant.ints.clone(),
        },
    }
    proto
}

fn value(value: &Value) -> AttrValue {
    use attr_value::Value as V;
    match value {
        Value::I(i) => attr(V::I(*i)),
        Value::F(f) => attr(V::F(*f)),
        Value::B(b) => attr(V::B(*b)),
        Value::S(s) => attr(V::S(STRINGS[*s as usize % STRINGS.len()].as_bytes().to_vec())),
        Value::Type(t) => attr(V::Type(dtype(*t) as i32)),
        Value::Shape(dims) => {
            attr(V::Shape(shape_proto(&dims.iter().take(5).map(|&d| i64::from(d)).collect::<Vec<_>>())))
        }
        Value::Ints(values) => ints(&values.iter().take(8).map(|&i| i64::from(i)).collect::<Vec<_>>()),
        Value::Tensor(constant) => attr(V::Tensor(tensor(constant))),
    }
}

/// The attrs an op usually carries, so that the random overrides start from
/// a node the pipeline would accept.
fn usual_attrs(op: &str, dtype: DataType) -> Vec<(&'static str, AttrValue)> {
    use attr_value::Value as V;
    let t = attr(V::Type(dtype as i32));
    let mut attrs = vec![("T", t.clone())];
    match op {
        "Placeholder" | "VariableV2" | "VarHandleOp" => {
            attrs = vec![("dtype", t), ("shape", attr(V::Shape(shape_proto(&[-1, 4]))))];
        }
        "Const" => {
            let value = TensorProto {
                dtype: dtype as i32,
                tensor_shape: Some(shape_proto(&[2, 2])),
                float_val: vec![1.0, -2.0, 0.5, 3.0],
                int_val: vec![1, 2, 3, 4],
                ..Default::default()
            };
            attrs = vec![("dtype", t), ("value", attr(V::Tensor(value)))];
        }
        "Conv2D" | "DepthwiseConv2dNative" | "MaxPool" | "AvgPool" => {
            attrs.push(("strides", ints(&[1, 1, 1, 1])));
            attrs.push(("padding", attr(V::S(b"SAME".to_vec()))));
            attrs.push(("data_format", attr(V::S(b"NHWC".to_vec()))));
            if op.ends_with("Pool") {
                attrs.push(("ksize", ints(&[1, 2, 2, 1])));
            } else {
                attrs.push(("dilations", ints(&[1, 1, 1, 1])));
            }
        }
        "ConcatV2" | "Pack" | "IdentityN" => attrs.push(("N", attr(V::I(2)))),
        "Cast" => attrs = vec![("SrcT", t.clone()), ("DstT", t)],
        "FusedBatchNorm" | "FusedBatchNormV3" => {
            attrs.push(("epsilon", attr(V::F(0.001))));
            attrs.push(("is_training", attr(V::B(false))));
        }
        "Enter" => attrs.push(("frame_name", attr(V::S(b"loop".to_vec())))),
        "Dequantize" => attrs.push(("mode", attr(V::S(b"MIN_FIRST".to_vec())))),
        _ => {}
    }
    attrs
}

impl FuzzGraph {
    /// At most 24 nodes named `n0`, `n1`, ...
    pub fn graph(&self) -> GraphDef {
        let nodes = &self.nodes[..self.nodes.len().min(24)];
        let count = nodes.len().max(1);
        let node = nodes
            .iter()
            .enumerate()
            .map(|(i, fuzz)| {
                let op = OPS[fuzz.op as usize % OPS.len()];
                let mut node = NodeDef { name: format!("n{i}"), op: op.to_string(), ..Default::default() };
                for (name, value) in usual_attrs(op, dtype(fuzz.dtype)) {
                    node.attr.insert(name.to_string(), value);
                }
                for (name, v) in fuzz.attrs.iter().take(6) {
                    node.attr.insert(ATTRS[*name as usize % ATTRS.len()].to_string(), value(v));
                }
                // Data inputs first, then control inputs, as TensorFlow orders them.
                let mut data = Vec::new();
                let mut control = Vec::new();
                for edge in fuzz.inputs.iter().take(5) {
                    let source = edge.node as usize % count;
                    match (edge.control, edge.port % 4) {
                        (true, _) => control.push(format!("^n{source}")),
                        (false, 0) => data.push(format!("n{source}")),
                        (false, port) => data.push(format!("n{source}:{port}")),
                    }
                }
                node.input = data.into_iter().chain(control).collect();
                node
            })
            .collect();
        GraphDef { node, ..Default::default() }
    }

    pub fn output_names(&self) -> Vec<String> {
        let count = self.nodes.len().clamp(1, 24);
        self.outputs.iter().take(3).map(|&i| format!("n{}", i as usize % count)).collect()
    }
}
