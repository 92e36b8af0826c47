//! Which TFLite builtin each TensorFlow op becomes, and its options: the one
//! table of ops this writer maps ([`OPS`]), and [`emit`], which writes one
//! node's operator through the [`Lowerer`].

use super::fuse::Fused;
use super::layout::Layout;
use super::lower::Lowerer;
use super::schema_generated::tflite::{
    ActivationFunctionType, AddOptions, ArgMaxOptions, BatchMatMulOptions, BuiltinOperator as B, BuiltinOptions,
    CastOptions, ConcatenationOptions, Conv2DOptions, DepthwiseConv2DOptions, DivOptions, FullyConnectedOptions,
    FullyConnectedOptionsWeightsFormat, GatherOptions, LeakyReluOptions, MirrorPadMode, MirrorPadOptions, MulOptions,
    PackOptions, Padding, Pool2DOptions, ReducerOptions, ResizeBilinearOptions, ResizeNearestNeighborOptions,
    ShapeOptions, SoftmaxOptions, SqueezeOptions, StridedSliceOptions, SubOptions, UnpackOptions,
};
use crate::error::Result;
use crate::graph::{attr, attr_bool, attr_int, attr_string, attr_type};
use crate::proto::{attr_value, DataType, NodeDef};

/// How a TensorFlow op is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// No operator: the output is input 0 (`Identity` and its kin).
    Alias,
    /// The builtin on the node's inputs as they are, no options. Inputs from
    /// the given position on are shapes, axes or sizes (int32 when constant).
    Plain(B, usize),
    /// Elementwise arithmetic whose options carry a fused activation.
    Arithmetic(B),
    Conv2D,
    DepthwiseConv2D,
    /// `FULLY_CONNECTED` against constant weights, else `BATCH_MATMUL`.
    MatMul,
    Pool(B),
    /// Data and axes, `keep_dims` in the options.
    Reduce(B),
    Resize(B),
    Softmax,
    LeakyRelu,
    Concat,
    Pack,
    Unpack,
    Squeeze,
    StridedSlice,
    Cast,
    ArgMax,
    Gather,
    Shape,
    MirrorPad,
}

/// No input is a shape or an axis.
const DATA: usize = usize::MAX;

/// Every TensorFlow op this writer maps, sorted by name.
pub(super) const OPS: &[(&str, Kind)] = &[
    ("Abs", Kind::Plain(B::Abs, DATA)),
    ("Add", Kind::Arithmetic(B::Add)),
    ("AddV2", Kind::Arithmetic(B::Add)),
    ("ArgMax", Kind::ArgMax),
    ("AvgPool", Kind::Pool(B::AveragePool2d)),
    ("BiasAdd", Kind::Arithmetic(B::Add)),
    ("Cast", Kind::Cast),
    ("Ceil", Kind::Plain(B::Ceil, DATA)),
    ("ConcatV2", Kind::Concat),
    ("Conv2D", Kind::Conv2D),
    ("Cos", Kind::Plain(B::Cos, DATA)),
    ("DepthwiseConv2dNative", Kind::DepthwiseConv2D),
    ("Elu", Kind::Plain(B::Elu, DATA)),
    ("Exp", Kind::Plain(B::Exp, DATA)),
    ("ExpandDims", Kind::Plain(B::ExpandDims, 1)),
    ("Fill", Kind::Plain(B::Fill, DATA)),
    ("Floor", Kind::Plain(B::Floor, DATA)),
    ("GatherV2", Kind::Gather),
    ("Identity", Kind::Alias),
    ("LeakyRelu", Kind::LeakyRelu),
    ("Log", Kind::Plain(B::Log, DATA)),
    ("LogSoftmax", Kind::Plain(B::LogSoftmax, DATA)),
    ("MatMul", Kind::MatMul),
    ("Max", Kind::Reduce(B::ReduceMax)),
    ("MaxPool", Kind::Pool(B::MaxPool2d)),
    ("Maximum", Kind::Plain(B::Maximum, DATA)),
    ("Mean", Kind::Reduce(B::Mean)),
    ("Min", Kind::Reduce(B::ReduceMin)),
    ("Minimum", Kind::Plain(B::Minimum, DATA)),
    ("MirrorPad", Kind::MirrorPad),
    ("Mul", Kind::Arithmetic(B::Mul)),
    ("Neg", Kind::Plain(B::Neg, DATA)),
    ("Pack", Kind::Pack),
    ("Pad", Kind::Plain(B::Pad, 1)),
    ("Pow", Kind::Plain(B::Pow, DATA)),
    ("Prod", Kind::Reduce(B::ReduceProd)),
    ("RealDiv", Kind::Arithmetic(B::Div)),
    ("Relu", Kind::Plain(B::Relu, DATA)),
    ("Relu6", Kind::Plain(B::Relu6, DATA)),
    ("Reshape", Kind::Plain(B::Reshape, 1)),
    ("ResizeBilinear", Kind::Resize(B::ResizeBilinear)),
    ("ResizeNearestNeighbor", Kind::Resize(B::ResizeNearestNeighbor)),
    ("Rsqrt", Kind::Plain(B::Rsqrt, DATA)),
    ("Shape", Kind::Shape),
    ("Sigmoid", Kind::Plain(B::Logistic, DATA)),
    ("Sin", Kind::Plain(B::Sin, DATA)),
    ("Slice", Kind::Plain(B::Slice, 1)),
    ("Snapshot", Kind::Alias),
    ("Softmax", Kind::Softmax),
    ("Sqrt", Kind::Plain(B::Sqrt, DATA)),
    ("Square", Kind::Plain(B::Square, DATA)),
    ("SquaredDifference", Kind::Plain(B::SquaredDifference, DATA)),
    ("Squeeze", Kind::Squeeze),
    ("StopGradient", Kind::Alias),
    ("StridedSlice", Kind::StridedSlice),
    ("Sub", Kind::Arithmetic(B::Sub)),
    ("Sum", Kind::Reduce(B::Sum)),
    ("Tanh", Kind::Plain(B::Tanh, DATA)),
    ("Tile", Kind::Plain(B::Tile, 1)),
    ("Transpose", Kind::Plain(B::Transpose, 1)),
    ("Unpack", Kind::Unpack),
];

pub(super) fn kind(op: &str) -> Option<Kind> {
    OPS.binary_search_by_key(&op, |&(name, _)| name).ok().map(|i| OPS[i].1)
}

/// Whether the builtin's options carry a fused Relu/Relu6 its kernel applies
/// (`CONCATENATION`'s options have the field, but its kernel refuses any).
pub(super) fn takes_activation(kind: Kind) -> bool {
    matches!(kind, Kind::Arithmetic(_) | Kind::Conv2D | Kind::DepthwiseConv2D | Kind::Pool(_))
}

/// Writes `node`'s operator; `fused` is what folded into it.
pub(super) fn emit(cx: &mut Lowerer, node: &NodeDef, kind: Kind, fused: &Fused) -> Result<()> {
    let act = fused.activation;
    let (op, inputs, options) = match kind {
        Kind::Alias => unreachable!("aliases write no operator"),
        Kind::Plain(op, first_param) => {
            let layouts = (0..cx.arity(node)).map(|i| if i >= first_param { Layout::Int32 } else { Layout::AsIs });
            (op, cx.inputs(node, &layouts.collect::<Vec<_>>())?, None)
        }
        Kind::Arithmetic(op) => {
            let inputs = cx.inputs(node, &[Layout::AsIs, Layout::AsIs])?;
            let options = match op {
                B::Add => BuiltinOptions::AddOptions(Box::new(AddOptions {
                    fused_activation_function: act,
                    pot_scale_int16: true,
                })),
                B::Sub => BuiltinOptions::SubOptions(Box::new(SubOptions {
                    fused_activation_function: act,
                    pot_scale_int16: true,
                })),
                B::Mul => BuiltinOptions::MulOptions(Box::new(MulOptions { fused_activation_function: act })),
                _ => BuiltinOptions::DivOptions(Box::new(DivOptions { fused_activation_function: act })),
            };
            (op, inputs, Some(options))
        }
        Kind::Conv2D | Kind::DepthwiseConv2D => {
            let depthwise = kind == Kind::DepthwiseConv2D;
            let layout = if depthwise { Layout::DepthwiseFilter } else { Layout::ConvFilter };
            let mut inputs = vec![cx.input(node, 0, Layout::AsIs)?];
            let filter_shape = cx.constant_shape(node, 1, "filter")?;
            inputs.push(cx.input(node, 1, layout)?);
            let out_channels = if depthwise { filter_shape[2] * filter_shape[3] } else { filter_shape[3] };
            // TFLite's convolutions always take a bias; zeros stand in for none.
            inputs.push(cx.bias(node, fused, out_channels, true)?);
            let window = Window::of(cx, node)?;
            let options = if depthwise {
                BuiltinOptions::DepthwiseConv2DOptions(Box::new(DepthwiseConv2DOptions {
                    padding: window.padding,
                    stride_w: window.strides[1],
                    stride_h: window.strides[0],
                    depth_multiplier: filter_shape[3] as i32,
                    fused_activation_function: act,
                    dilation_w_factor: window.dilations[1],
                    dilation_h_factor: window.dilations[0],
                }))
            } else {
                BuiltinOptions::Conv2DOptions(Box::new(Conv2DOptions {
                    padding: window.padding,
                    stride_w: window.strides[1],
                    stride_h: window.strides[0],
                    fused_activation_function: act,
                    dilation_w_factor: window.dilations[1],
                    dilation_h_factor: window.dilations[0],
                    ..Default::default()
                }))
            };
            (if depthwise { B::DepthwiseConv2d } else { B::Conv2d }, inputs, Some(options))
        }
        Kind::MatMul => {
            let (transpose_a, transpose_b) =
                (attr_bool(node, "transpose_a").unwrap_or(false), attr_bool(node, "transpose_b").unwrap_or(false));
            if !cx.is_constant(node, 1) {
                let inputs = cx.inputs(node, &[Layout::AsIs, Layout::AsIs])?;
                let options = BatchMatMulOptions { adj_x: transpose_a, adj_y: transpose_b, ..Default::default() };
                (B::BatchMatmul, inputs, Some(BuiltinOptions::BatchMatMulOptions(Box::new(options))))
            } else {
                if transpose_a {
                    return Err(cx.unsupported(node, "transpose_a with constant weights"));
                }
                let shape = cx.constant_shape(node, 1, "weights")?;
                let out = if transpose_b { shape[0] } else { shape[1] };
                let layout = if transpose_b { Layout::Weights } else { Layout::Transposed };
                let inputs = vec![
                    cx.input(node, 0, Layout::AsIs)?,
                    cx.input(node, 1, layout)?,
                    cx.bias(node, fused, out, false)?,
                ];
                let options = FullyConnectedOptions {
                    fused_activation_function: act,
                    weights_format: FullyConnectedOptionsWeightsFormat::Default,
                    // Int8 weights: inputs are quantized per row with their own zero point, as the converter does.
                    asymmetric_quantize_inputs: cx.is_int8(node, 1),
                    ..Default::default()
                };
                (B::FullyConnected, inputs, Some(BuiltinOptions::FullyConnectedOptions(Box::new(options))))
            }
        }
        Kind::Pool(op) => {
            let window = Window::of(cx, node)?;
            let size = cx.nhwc_list(node, "ksize")?;
            let options = Pool2DOptions {
                padding: window.padding,
                stride_w: window.strides[1],
                stride_h: window.strides[0],
                filter_width: size[1],
                filter_height: size[0],
                fused_activation_function: act,
            };
            (op, cx.inputs(node, &[Layout::AsIs])?, Some(BuiltinOptions::Pool2DOptions(Box::new(options))))
        }
        Kind::Reduce(op) => {
            let inputs = cx.inputs(node, &[Layout::AsIs, Layout::Int32])?;
            let keep_dims = attr_bool(node, "keep_dims").unwrap_or(false);
            (op, inputs, Some(BuiltinOptions::ReducerOptions(Box::new(ReducerOptions { keep_dims }))))
        }
        Kind::Resize(op) => {
            let inputs = cx.inputs(node, &[Layout::AsIs, Layout::Int32])?;
            let align_corners = attr_bool(node, "align_corners").unwrap_or(false);
            let half_pixel_centers = attr_bool(node, "half_pixel_centers").unwrap_or(false);
            let options = if op == B::ResizeBilinear {
                BuiltinOptions::ResizeBilinearOptions(Box::new(ResizeBilinearOptions {
                    align_corners,
                    half_pixel_centers,
                }))
            } else {
                BuiltinOptions::ResizeNearestNeighborOptions(Box::new(ResizeNearestNeighborOptions {
                    align_corners,
                    half_pixel_centers,
                }))
            };
            (op, inputs, Some(options))
        }
        Kind::Softmax => {
            let options = BuiltinOptions::SoftmaxOptions(Box::new(SoftmaxOptions { beta: 1.0 }));
            (B::Softmax, cx.inputs(node, &[Layout::AsIs])?, Some(options))
        }
        Kind::LeakyRelu => {
            let alpha = match attr(node, "alpha") {
                Some(attr_value::Value::F(alpha)) => *alpha,
                _ => 0.2,
            };
            let options = BuiltinOptions::LeakyReluOptions(Box::new(LeakyReluOptions { alpha }));
            (B::LeakyRelu, cx.inputs(node, &[Layout::AsIs])?, Some(options))
        }
        Kind::Concat => {
            let values = cx.arity(node) - 1;
            let axis = cx.constant_int(node, values, "axis")?;
            let inputs = cx.inputs(node, &vec![Layout::AsIs; values])?;
            let options = ConcatenationOptions { axis, fused_activation_function: ActivationFunctionType::None };
            (B::Concatenation, inputs, Some(BuiltinOptions::ConcatenationOptions(Box::new(options))))
        }
        Kind::Pack => {
            let values = cx.arity(node);
            let inputs = cx.inputs(node, &vec![Layout::AsIs; values])?;
            let axis = attr_int(node, "axis").unwrap_or(0) as i32;
            let options = PackOptions { values_count: values as i32, axis };
            (B::Pack, inputs, Some(BuiltinOptions::PackOptions(Box::new(options))))
        }
        Kind::Unpack => {
            let num = attr_int(node, "num").unwrap_or(0) as i32;
            let axis = attr_int(node, "axis").unwrap_or(0) as i32;
            let inputs = cx.inputs(node, &[Layout::AsIs])?;
            let outputs = (0..num as usize).map(|k| cx.output(node, k)).collect();
            let options = BuiltinOptions::UnpackOptions(Box::new(UnpackOptions { num, axis }));
            cx.operator(B::Unpack, inputs, outputs, Some(options));
            return Ok(());
        }
        Kind::Squeeze => {
            let squeeze_dims = match attr(node, "squeeze_dims") {
                Some(attr_value::Value::List(list)) => list.i.iter().map(|&d| d as i32).collect(),
                _ => Vec::new(),
            };
            let options = SqueezeOptions { squeeze_dims: Some(squeeze_dims) };
            (B::Squeeze, cx.inputs(node, &[Layout::AsIs])?, Some(BuiltinOptions::SqueezeOptions(Box::new(options))))
        }
        Kind::StridedSlice => {
            let inputs = cx.inputs(node, &[Layout::AsIs, Layout::Int32, Layout::Int32, Layout::Int32])?;
            let mask = |name: &str| attr_int(node, name).unwrap_or(0) as i32;
            let options = StridedSliceOptions {
                begin_mask: mask("begin_mask"),
                end_mask: mask("end_mask"),
                ellipsis_mask: mask("ellipsis_mask"),
                new_axis_mask: mask("new_axis_mask"),
                shrink_axis_mask: mask("shrink_axis_mask"),
                offset: false,
            };
            (B::StridedSlice, inputs, Some(BuiltinOptions::StridedSliceOptions(Box::new(options))))
        }
        Kind::Cast => {
            let options = CastOptions {
                in_data_type: cx.tensor_type_attr(node, "SrcT")?,
                out_data_type: cx.tensor_type_attr(node, "DstT")?,
            };
            (B::Cast, cx.inputs(node, &[Layout::AsIs])?, Some(BuiltinOptions::CastOptions(Box::new(options))))
        }
        Kind::ArgMax => {
            let inputs = cx.inputs(node, &[Layout::AsIs, Layout::Int32])?;
            let output_type = match attr_type(node, "output_type") {
                Some(dtype) => cx.tensor_type(node, dtype)?,
                None => cx.tensor_type(node, DataType::DtInt64)?,
            };
            (B::ArgMax, inputs, Some(BuiltinOptions::ArgMaxOptions(Box::new(ArgMaxOptions { output_type }))))
        }
        Kind::Gather => {
            let axis = cx.constant_int(node, 2, "axis")?;
            let batch_dims = attr_int(node, "batch_dims").unwrap_or(0) as i32;
            let inputs = cx.inputs(node, &[Layout::AsIs, Layout::AsIs])?;
            (B::Gather, inputs, Some(BuiltinOptions::GatherOptions(Box::new(GatherOptions { axis, batch_dims }))))
        }
        Kind::Shape => {
            let out_type = cx.tensor_type(node, attr_type(node, "out_type").unwrap_or(DataType::DtInt32))?;
            (
                B::Shape,
                cx.inputs(node, &[Layout::AsIs])?,
                Some(BuiltinOptions::ShapeOptions(Box::new(ShapeOptions { out_type }))),
            )
        }
        Kind::MirrorPad => {
            let mode = match attr_string(node, "mode").as_deref() {
                Some("REFLECT") => MirrorPadMode::Reflect,
                Some("SYMMETRIC") => MirrorPadMode::Symmetric,
                other => return Err(cx.unsupported(node, &format!("mode {other:?}"))),
            };
            let inputs = cx.inputs(node, &[Layout::AsIs, Layout::Int32])?;
            (B::MirrorPad, inputs, Some(BuiltinOptions::MirrorPadOptions(Box::new(MirrorPadOptions { mode }))))
        }
    };
    let output = cx.output_of_chain(node, fused);
    cx.operator(op, inputs, vec![output], options);
    Ok(())
}

/// Padding, strides and dilations of an NHWC convolution or pool, as `[h, w]`.
struct Window {
    padding: Padding,
    strides: [i32; 2],
    dilations: [i32; 2],
}

impl Window {
    fn of(cx: &Lowerer, node: &NodeDef) -> Result<Window> {
        if attr_string(node, "data_format").is_some_and(|f| f != "NHWC") {
            return Err(cx.unsupported(node, "a data_format other than NHWC"));
        }
        let padding = match attr_string(node, "padding").as_deref() {
            Some("SAME") => Padding::Same,
            Some("VALID") => Padding::Valid,
            other => return Err(cx.unsupported(node, &format!("padding {}", other.unwrap_or("(none)")))),
        };
        let strides = cx.nhwc_list(node, "strides")?;
        let dilations = if attr(node, "dilations").is_some() { cx.nhwc_list(node, "dilations")? } else { [1, 1] };
        Ok(Window { padding, strides, dilations })
    }
}

/// The activation a Relu-like op folds into its producer as.
pub(super) fn fused_activation(op: &str) -> Option<ActivationFunctionType> {
    match op {
        "Relu" => Some(ActivationFunctionType::Relu),
        "Relu6" => Some(ActivationFunctionType::Relu6),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_with_each_op_once() {
        assert!(OPS.windows(2).all(|w| w[0].0 < w[1].0), "OPS must be sorted by name");
        assert_eq!(kind("Conv2D"), Some(Kind::Conv2D));
        assert_eq!(kind("NonMaxSuppressionV3"), None);
    }
}
