//! A float interpreter for the model being built, so calibration can measure
//! activation ranges in the core: running LiteRT.js on a calibration model
//! costs a wasm compile, a tier-up and a JavaScript call per sample, which on
//! a small detector took longer than the conversion itself.
//!
//! It runs the builtins of convolutional models (the [`SUPPORTED`] list) on
//! float32 activations, convolutions and matrix products through
//! `matrixmultiply`'s SGEMM, the samples spread over the cores. A model
//! holding any other builtin is [`Measurement::Unsupported`], and the caller
//! measures it on a runtime instead.

use std::sync::Arc;

use super::integer::Ranges;
use super::model::{ModelBuilder, TensorIndex};
use super::schema_generated::tflite::{
    ActivationFunctionType as Act, BuiltinOperator as B, BuiltinOptions, Operator, Padding, TensorType,
};
use crate::error::{Error, ErrorKind, Result};

/// Builtins this interpreter runs.
const SUPPORTED: &[B] = &[
    B::Abs,
    B::Add,
    B::AveragePool2d,
    B::Cast,
    B::Ceil,
    B::Concatenation,
    B::Conv2d,
    B::Cos,
    B::DepthwiseConv2d,
    B::Div,
    B::Elu,
    B::Exp,
    B::ExpandDims,
    B::Floor,
    B::FullyConnected,
    B::Gather,
    B::LeakyRelu,
    B::Log,
    B::LogSoftmax,
    B::Logistic,
    B::MaxPool2d,
    B::Maximum,
    B::Mean,
    B::Minimum,
    B::Mul,
    B::Neg,
    B::Pack,
    B::Pad,
    B::ReduceMax,
    B::ReduceMin,
    B::Relu,
    B::Relu6,
    B::Reshape,
    B::Rsqrt,
    B::Shape,
    B::Sin,
    B::Slice,
    B::Softmax,
    B::Sqrt,
    B::Square,
    B::SquaredDifference,
    B::Squeeze,
    B::StridedSlice,
    B::Sub,
    B::Sum,
    B::Tanh,
    B::Transpose,
];

/// One input's calibration samples, stacked along a first axis (`shape[0]`
/// is the number of samples).
#[derive(Debug, Clone, PartialEq)]
pub struct InputSamples {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: SampleData,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SampleData {
    F32(Vec<f32>),
    I32(Vec<i32>),
    U8(Vec<u8>),
}

impl SampleData {
    fn len(&self) -> usize {
        match self {
            SampleData::F32(v) => v.len(),
            SampleData::I32(v) => v.len(),
            SampleData::U8(v) => v.len(),
        }
    }
}

/// What measuring found.
#[derive(Debug, Clone, PartialEq)]
pub enum Measurement {
    /// Each measured tensor's minimum and maximum over all samples, by name.
    Ranges { ranges: Ranges, samples: usize },
    /// The model holds an op this interpreter does not run (the reason).
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Data {
    F32(Vec<f32>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq)]
struct Value {
    shape: Vec<usize>,
    data: Data,
}

impl Value {
    fn f32(shape: Vec<usize>, data: Vec<f32>) -> Value {
        Value { shape, data: Data::F32(data) }
    }

    fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// The model's operators with their constants decoded, ready to run.
struct Program<'m> {
    model: &'m ModelBuilder,
    constants: Vec<Option<Arc<Value>>>,
    /// For each tensor, its slot among the measured ones.
    slot: Vec<Option<usize>>,
}

/// A model input and the samples that feed it.
struct Feed<'s> {
    name: &'s str,
    tensor: TensorIndex,
    samples: &'s InputSamples,
}

/// The range of each of `measured` (tensors of `model`) over `samples`: the
/// float model is run on each sample, on every core.
pub(super) fn measure(
    model: &ModelBuilder,
    measured: &[(String, TensorIndex)],
    samples: &[InputSamples],
) -> Result<Measurement> {
    for op in model.unpacks.iter().chain(&model.operators) {
        let code = model.codes[op.opcode_index as usize].builtin_code;
        if let Some(reason) = unsupported(model, op, code) {
            return Ok(Measurement::Unsupported(reason));
        }
    }
    let mut slot = vec![None; model.tensors.len()];
    for (k, &(_, t)) in measured.iter().enumerate() {
        slot[t as usize] = Some(k);
    }
    let constants = (0..model.tensors.len()).map(|t| constant(model, t).map(Arc::new)).collect();
    let program = Program { model, constants, slot };
    let (feeds, count) = feeds(model, samples)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4).min(count.max(1));
    let per_thread: Vec<Result<Vec<(f32, f32)>>> = std::thread::scope(|scope| {
        let (program, feeds) = (&program, &feeds);
        let workers: Vec<_> = (0..threads)
            .map(|k| {
                scope.spawn(move || {
                    let mut extremes = vec![(f32::INFINITY, f32::NEG_INFINITY); measured.len()];
                    for s in (k..count).step_by(threads) {
                        program.run(feeds, s, &mut extremes)?;
                    }
                    Ok(extremes)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(internal("a calibration thread panicked"))))
            .collect()
    });
    let mut extremes = vec![(f32::INFINITY, f32::NEG_INFINITY); measured.len()];
    for thread in per_thread {
        for (all, (lo, hi)) in extremes.iter_mut().zip(thread?) {
            *all = (all.0.min(lo), all.1.max(hi));
        }
    }
    let ranges = measured.iter().zip(extremes).map(|((name, _), range)| (name.clone(), range)).collect();
    Ok(Measurement::Ranges { ranges, samples: count })
}

/// The samples of each model input, checked against it, and how many there are.
fn feeds<'s>(model: &'s ModelBuilder, samples: &'s [InputSamples]) -> Result<(Vec<Feed<'s>>, usize)> {
    let mut count = None;
    let mut feeds = Vec::new();
    for (name, t) in &model.inputs {
        let Some(batch) = samples.iter().find(|s| &s.name == name) else {
            return Err(Error::new(
                ErrorKind::ShapeMismatch,
                format!("the calibration samples have no values for input \"{name}\""),
            )
            .about(name));
        };
        let rows = batch.shape.first().copied().unwrap_or(0);
        let row = &batch.shape[batch.shape.len().min(1)..];
        let tensor = &model.tensors[*t as usize];
        // The declared dims past the batch, `-1` where any size goes.
        let declared = tensor.shape_signature.as_ref().or(tensor.shape.as_ref());
        let fits = declared.is_none_or(|d| {
            d.len() == row.len() + 1 && d[1..].iter().zip(row).all(|(&want, &got)| want < 0 || want as usize == got)
        });
        if batch.data.len() != rows * row.iter().product::<usize>() || !fits {
            let row: Vec<i64> = row.iter().map(|&d| d as i64).collect();
            let message = if fits {
                format!(
                    "calibration samples for input \"{name}\" hold {} values for {rows} samples of {}",
                    batch.data.len(),
                    crate::tensor::format_shape(&row)
                )
            } else {
                // `fits` fails only against a declared shape.
                let wanted =
                    declared.map_or_else(Vec::new, |d| d[1.min(d.len())..].iter().map(|&x| i64::from(x)).collect());
                format!(
                    "calibration samples for input \"{name}\" are {} each where the model's input takes {} (past its batch)",
                    crate::tensor::format_shape(&row),
                    crate::tensor::format_shape(&wanted)
                )
            };
            return Err(Error::new(ErrorKind::ShapeMismatch, message).about(name));
        }
        if count.is_some_and(|c| c != rows) {
            return Err(Error::new(
                ErrorKind::ShapeMismatch,
                "the calibration inputs hold different numbers of samples".to_string(),
            ));
        }
        count = Some(rows);
        feeds.push(Feed { name, tensor: *t, samples: batch });
    }
    Ok((feeds, count.unwrap_or(0)))
}

impl Program<'_> {
    /// Runs sample `s`, widening `extremes` over each measured tensor.
    fn run(&self, feeds: &[Feed], s: usize, extremes: &mut [(f32, f32)]) -> Result<()> {
        let mut values = self.constants.clone();
        for &Feed { name, tensor: t, samples: batch } in feeds {
            let row: usize = batch.shape.iter().skip(1).product();
            let mut shape = vec![1];
            shape.extend(&batch.shape[1..]);
            let range = s * row..(s + 1) * row;
            let data = match (self.model.tensors[t as usize].type_, &batch.data) {
                (TensorType::Float32, SampleData::F32(v)) => Data::F32(v[range].to_vec()),
                (TensorType::Float32, SampleData::U8(v)) => Data::F32(v[range].iter().map(|&x| f32::from(x)).collect()),
                (TensorType::Float32, SampleData::I32(v)) => Data::F32(v[range].iter().map(|&x| x as f32).collect()),
                (TensorType::Uint8, SampleData::U8(v)) => Data::U8(v[range].to_vec()),
                // Integer pixels come from JavaScript as int32.
                (TensorType::Uint8, SampleData::I32(v)) => {
                    Data::U8(v[range].iter().map(|&x| x.clamp(0, 255) as u8).collect())
                }
                (TensorType::Int32, SampleData::I32(v)) => Data::I32(v[range].to_vec()),
                (TensorType::Int32, SampleData::U8(v)) => Data::I32(v[range].iter().map(|&x| i32::from(x)).collect()),
                (dtype, _) => {
                    let message = format!(
                        "calibration samples for input \"{name}\" are not of the input's type, {}",
                        format!("{dtype:?}").to_lowercase()
                    );
                    return Err(Error::new(ErrorKind::DtypeMismatch, message).about(name));
                }
            };
            let value = Value { shape, data };
            self.observe(t, &value, extremes);
            values[t as usize] = Some(Arc::new(value));
        }
        for op in self.model.unpacks.iter().chain(&self.model.operators) {
            let code = self.model.codes[op.opcode_index as usize].builtin_code;
            let args: Vec<Option<&Value>> =
                op.inputs.iter().flatten().map(|&t| if t < 0 { None } else { values[t as usize].as_deref() }).collect();
            // Every builtin run here has one output.
            let output = op.outputs.as_deref().unwrap_or_default()[0];
            let name = || self.model.tensors[output as usize].name.clone().unwrap_or_default();
            let value = evaluate(self.model, op, code, &args).map_err(|e| e.about(name()))?;
            self.observe(output, &value, extremes);
            values[output as usize] = Some(Arc::new(value));
        }
        Ok(())
    }

    fn observe(&self, t: TensorIndex, value: &Value, extremes: &mut [(f32, f32)]) {
        if let (Some(k), Data::F32(data)) = (self.slot[t as usize], &value.data) {
            let (lo, hi) = data.iter().fold(extremes[k], |(lo, hi), &x| (lo.min(x), hi.max(x)));
            extremes[k] = (lo, hi);
        }
    }
}

fn internal(message: &str) -> Error {
    Error::new(ErrorKind::Internal, message.to_string())
}

/// A constant tensor's value, decoded once.
fn constant(model: &ModelBuilder, t: usize) -> Option<Value> {
    let tensor = &model.tensors[t];
    let bytes = model.buffers.get(tensor.buffer as usize)?.as_deref()?;
    let shape: Vec<usize> = tensor.shape.as_ref()?.iter().map(|&d| d.max(0) as usize).collect();
    let words = |n: usize| bytes.chunks_exact(n);
    let data = match tensor.type_ {
        TensorType::Float32 => Data::F32(words(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()),
        TensorType::Int32 => Data::I32(words(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect()),
        TensorType::Int64 => Data::I64(words(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()),
        TensorType::Uint8 => Data::U8(bytes.to_vec()),
        _ => return None,
    };
    Some(Value { shape, data })
}

/// Why `op` cannot run here, if it cannot.
fn unsupported(model: &ModelBuilder, op: &Operator, code: B) -> Option<String> {
    let output = op.outputs.iter().flatten().next().map(|&t| &model.tensors[t as usize]);
    let name = output.and_then(|t| t.name.clone()).unwrap_or_default();
    if !SUPPORTED.contains(&code) {
        return Some(format!("{code:?} (tensor \"{name}\")"));
    }
    if let Some(act) = fused_activation(op.builtin_options.as_ref()) {
        if !matches!(act, Act::None | Act::Relu | Act::Relu6 | Act::ReluN1To1) {
            return Some(format!("{code:?} with fused {act:?} (tensor \"{name}\")"));
        }
    }
    let unhandled = match op.builtin_options.as_ref() {
        Some(BuiltinOptions::StridedSliceOptions(o)) => o.ellipsis_mask != 0 || o.new_axis_mask != 0,
        Some(BuiltinOptions::GatherOptions(o)) => o.batch_dims != 0,
        _ => false,
    };
    if unhandled {
        return Some(format!("{code:?} with an ellipsis, a new axis or batch dims (tensor \"{name}\")"));
    }
    // Shapes and indices are int32/int64; activations must be float32.
    let float_only = !matches!(
        code,
        B::Cast
            | B::Concatenation
            | B::ExpandDims
            | B::Gather
            | B::Pack
            | B::Reshape
            | B::Shape
            | B::Slice
            | B::Squeeze
            | B::StridedSlice
            | B::Transpose
    );
    let first = op.inputs.iter().flatten().next().filter(|&&t| t >= 0).map(|&t| model.tensors[t as usize].type_);
    if float_only && (first != Some(TensorType::Float32) || output.is_some_and(|t| t.type_ != TensorType::Float32)) {
        return Some(format!("{code:?} on {:?} (tensor \"{name}\")", output.map(|t| t.type_)));
    }
    None
}

fn fused_activation(options: Option<&BuiltinOptions>) -> Option<Act> {
    Some(match options? {
        BuiltinOptions::Conv2DOptions(o) => o.fused_activation_function,
        BuiltinOptions::DepthwiseConv2DOptions(o) => o.fused_activation_function,
        BuiltinOptions::FullyConnectedOptions(o) => o.fused_activation_function,
        BuiltinOptions::Pool2DOptions(o) => o.fused_activation_function,
        BuiltinOptions::AddOptions(o) => o.fused_activation_function,
        BuiltinOptions::SubOptions(o) => o.fused_activation_function,
        BuiltinOptions::MulOptions(o) => o.fused_activation_function,
        BuiltinOptions::DivOptions(o) => o.fused_activation_function,
        BuiltinOptions::ConcatenationOptions(o) => o.fused_activation_function,
        _ => return None,
    })
}

fn activate(values: &mut [f32], act: Option<Act>) {
    let (lo, hi) = match act {
        Some(Act::Relu) => (0.0, f32::INFINITY),
        Some(Act::Relu6) => (0.0, 6.0),
        Some(Act::ReluN1To1) => (-1.0, 1.0),
        _ => return,
    };
    values.iter_mut().for_each(|x| *x = x.clamp(lo, hi));
}

fn mismatch(message: String) -> Error {
    Error::new(ErrorKind::ShapeMismatch, message)
}

fn floats(v: Option<&Value>) -> Result<(&[usize], &[f32])> {
    match v {
        Some(Value { shape, data: Data::F32(d) }) => Ok((shape, d)),
        _ => Err(internal("an operator's float input has no value")),
    }
}

/// The int32/int64 values of a shape, axis or padding operand.
fn ints(v: Option<&Value>) -> Result<Vec<i64>> {
    match v.map(|v| &v.data) {
        Some(Data::I32(d)) => Ok(d.iter().map(|&x| i64::from(x)).collect()),
        Some(Data::I64(d)) => Ok(d.clone()),
        _ => Err(internal("an operator's shape or axis operand is not a known int32 tensor")),
    }
}

/// `axis` counted from the front of a rank-`rank` shape.
fn axis(axis: i64, rank: usize) -> Result<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    usize::try_from(a)
        .ok()
        .filter(|&a| a < rank.max(1))
        .ok_or_else(|| mismatch(format!("axis {axis} of a rank-{rank} tensor")))
}

fn evaluate(model: &ModelBuilder, op: &Operator, code: B, args: &[Option<&Value>]) -> Result<Value> {
    let options = op.builtin_options.as_ref();
    let act = fused_activation(options);
    let arg = |k: usize| args.get(k).copied().flatten();
    let out_type = || model.tensors[op.outputs.as_deref().unwrap_or_default()[0] as usize].type_;
    let unary = |f: fn(f32) -> f32| -> Result<Value> {
        let (shape, x) = floats(arg(0))?;
        Ok(Value::f32(shape.to_vec(), x.iter().map(|&v| f(v)).collect()))
    };
    let value = match code {
        B::Conv2d | B::DepthwiseConv2d => convolution(code, options, arg(0), arg(1), arg(2))?,
        B::FullyConnected => fully_connected(arg(0), arg(1), arg(2), act)?,
        B::AveragePool2d | B::MaxPool2d => pool(code, options, arg(0))?,
        B::Add => binary(arg(0), arg(1), act, |a, b| a + b)?,
        B::Sub => binary(arg(0), arg(1), act, |a, b| a - b)?,
        B::Mul => binary(arg(0), arg(1), act, |a, b| a * b)?,
        B::Div => binary(arg(0), arg(1), act, |a, b| a / b)?,
        B::Maximum => binary(arg(0), arg(1), None, f32::max)?,
        B::Minimum => binary(arg(0), arg(1), None, f32::min)?,
        B::SquaredDifference => binary(arg(0), arg(1), None, |a, b| (a - b) * (a - b))?,
        B::Relu => return unary(|x| x.max(0.0)),
        B::Relu6 => return unary(|x| x.clamp(0.0, 6.0)),
        B::Logistic => return unary(|x| 1.0 / (1.0 + (-x).exp())),
        B::Tanh => return unary(f32::tanh),
        B::Elu => return unary(|x| if x < 0.0 { x.exp_m1() } else { x }),
        B::Exp => return unary(f32::exp),
        B::Abs => return unary(f32::abs),
        B::Neg => return unary(|x| -x),
        B::Sqrt => return unary(f32::sqrt),
        B::Rsqrt => return unary(|x| 1.0 / x.sqrt()),
        B::Square => return unary(|x| x * x),
        B::Log => return unary(f32::ln),
        B::Floor => return unary(f32::floor),
        B::Ceil => return unary(f32::ceil),
        B::Sin => return unary(f32::sin),
        B::Cos => return unary(f32::cos),
        B::LeakyRelu => {
            let alpha = match options {
                Some(BuiltinOptions::LeakyReluOptions(o)) => o.alpha,
                _ => 0.2,
            };
            let (shape, x) = floats(arg(0))?;
            Value::f32(shape.to_vec(), x.iter().map(|&v| if v < 0.0 { v * alpha } else { v }).collect())
        }
        B::Softmax | B::LogSoftmax => {
            let beta = match options {
                Some(BuiltinOptions::SoftmaxOptions(o)) => o.beta,
                _ => 1.0,
            };
            softmax(arg(0), beta, code == B::LogSoftmax)?
        }
        B::Reshape => {
            let x = arg(0).ok_or_else(|| internal("RESHAPE has no input"))?;
            let target = match arg(1) {
                Some(shape) => ints(Some(shape))?,
                None => declared_shape(model, op),
            };
            reshaped(x, &target)?
        }
        B::Squeeze => {
            let x = arg(0).ok_or_else(|| internal("SQUEEZE has no input"))?;
            let dims = match options {
                Some(BuiltinOptions::SqueezeOptions(o)) => o.squeeze_dims.clone().unwrap_or_default(),
                _ => Vec::new(),
            };
            let rank = x.shape.len();
            let dropped: Vec<usize> = dims.iter().map(|&d| axis(i64::from(d), rank)).collect::<Result<_>>()?;
            let shape =
                x.shape
                    .iter()
                    .enumerate()
                    .filter(|&(i, &d)| if dropped.is_empty() { d != 1 } else { !dropped.contains(&i) });
            Value { shape: shape.map(|(_, &d)| d).collect(), data: x.data.clone() }
        }
        B::ExpandDims => {
            let x = arg(0).ok_or_else(|| internal("EXPAND_DIMS has no input"))?;
            let at = ints(arg(1))?.first().copied().unwrap_or(0);
            let at = axis(at, x.shape.len() + 1)?;
            let mut shape = x.shape.clone();
            shape.insert(at, 1);
            Value { shape, data: x.data.clone() }
        }
        B::Concatenation => {
            let along = match options {
                Some(BuiltinOptions::ConcatenationOptions(o)) => i64::from(o.axis),
                _ => 0,
            };
            let values: Vec<&Value> = args.iter().flatten().copied().collect();
            let mut joined = concatenate(&values, along)?;
            if let Data::F32(d) = &mut joined.data {
                activate(d, act);
            }
            joined
        }
        B::Pack => {
            let along = match options {
                Some(BuiltinOptions::PackOptions(o)) => i64::from(o.axis),
                _ => 0,
            };
            let values: Vec<&Value> = args.iter().flatten().copied().collect();
            let first = values.first().ok_or_else(|| internal("PACK has no input"))?;
            let at = axis(along, first.shape.len() + 1)?;
            let expanded: Vec<Value> = values
                .iter()
                .map(|v| {
                    let mut shape = v.shape.clone();
                    shape.insert(at, 1);
                    Value { shape, data: v.data.clone() }
                })
                .collect();
            concatenate(&expanded.iter().collect::<Vec<_>>(), at as i64)?
        }
        B::Pad => pad(arg(0), &ints(arg(1))?)?,
        B::Mean | B::Sum | B::ReduceMax | B::ReduceMin => {
            let keep = match options {
                Some(BuiltinOptions::ReducerOptions(o)) => o.keep_dims,
                _ => false,
            };
            reduce(code, arg(0), &ints(arg(1))?, keep)?
        }
        B::Transpose => transpose(arg(0), &ints(arg(1))?)?,
        B::Shape => {
            let x = arg(0).ok_or_else(|| internal("SHAPE has no input"))?;
            let dims = x.shape.iter().map(|&d| d as i64);
            let data = match out_type() {
                TensorType::Int64 => Data::I64(dims.collect()),
                _ => Data::I32(dims.map(|d| d as i32).collect()),
            };
            Value { shape: vec![x.shape.len()], data }
        }
        B::StridedSlice => {
            let Some(BuiltinOptions::StridedSliceOptions(o)) = options else {
                return Err(internal("STRIDED_SLICE without its options"));
            };
            let x = arg(0).ok_or_else(|| internal("STRIDED_SLICE has no input"))?;
            let (begin, end, step) = (ints(arg(1))?, ints(arg(2))?, ints(arg(3))?);
            let mut picks = Vec::new();
            let mut shape = Vec::new();
            for (d, &size) in x.shape.iter().enumerate() {
                let bit = |mask: i32| mask >> d & 1 == 1;
                if d >= begin.len() {
                    picks.push((0..size).collect());
                    shape.push(size);
                    continue;
                }
                let (size, stride) = (size as i64, step.get(d).copied().unwrap_or(1));
                if stride == 0 {
                    return Err(mismatch("STRIDED_SLICE with a zero stride".to_string()));
                }
                let resolve = |v: i64| if v < 0 { v + size } else { v };
                let (low, high) = if stride > 0 { (0, size) } else { (-1, size - 1) };
                if bit(o.shrink_axis_mask) {
                    let at = resolve(begin[d]);
                    if !(0..size).contains(&at) {
                        return Err(mismatch(format!("STRIDED_SLICE index {} of a dim of {size}", begin[d])));
                    }
                    picks.push(vec![at as usize]);
                    continue;
                }
                let first = if bit(o.begin_mask) {
                    if stride > 0 {
                        0
                    } else {
                        size - 1
                    }
                } else {
                    resolve(begin[d]).clamp(low, high)
                };
                let last = if bit(o.end_mask) {
                    if stride > 0 {
                        size
                    } else {
                        -1
                    }
                } else {
                    resolve(end[d]).clamp(low, high)
                };
                let mut taken = Vec::new();
                let mut i = first;
                while (stride > 0 && i < last) || (stride < 0 && i > last) {
                    taken.push(i as usize);
                    i += stride;
                }
                shape.push(taken.len());
                picks.push(taken);
            }
            gather_picks(x, &picks, shape)?
        }
        B::Slice => {
            let x = arg(0).ok_or_else(|| internal("SLICE has no input"))?;
            let (begin, size) = (ints(arg(1))?, ints(arg(2))?);
            let mut picks = Vec::new();
            for (d, &dim) in x.shape.iter().enumerate() {
                let start = begin.get(d).copied().unwrap_or(0).max(0) as usize;
                let count = match size.get(d).copied().unwrap_or(-1) {
                    n if n < 0 => dim.saturating_sub(start),
                    n => n as usize,
                };
                if start + count > dim {
                    return Err(mismatch(format!("SLICE of {:?} from {begin:?} by {size:?}", x.shape)));
                }
                picks.push((start..start + count).collect());
            }
            let shape = picks.iter().map(Vec::len).collect();
            gather_picks(x, &picks, shape)?
        }
        B::Gather => {
            let (along, batch_dims) = match options {
                Some(BuiltinOptions::GatherOptions(o)) => (i64::from(o.axis), o.batch_dims),
                _ => (0, 0),
            };
            if batch_dims != 0 {
                return Err(internal("GATHER with batch_dims"));
            }
            let x = arg(0).ok_or_else(|| internal("GATHER has no input"))?;
            let indices = arg(1).ok_or_else(|| internal("GATHER has no indices"))?;
            let at = axis(along, x.shape.len())?;
            let positions = ints(Some(indices))?;
            let (outer, inner): (usize, usize) = (x.shape[..at].iter().product(), x.shape[at + 1..].iter().product());
            let dim = x.shape[at];
            if positions.iter().any(|&p| p < 0 || p as usize >= dim) {
                return Err(mismatch(format!("GATHER of {positions:?} from a dim of {dim}")));
            }
            let mut sources = Vec::with_capacity(outer * positions.len() * inner);
            for o in 0..outer {
                for &p in &positions {
                    sources.extend((0..inner).map(|i| (o * dim + p as usize) * inner + i));
                }
            }
            let mut shape = x.shape[..at].to_vec();
            shape.extend(&indices.shape);
            shape.extend(&x.shape[at + 1..]);
            Value { shape, data: take(&x.data, &sources) }
        }
        B::Cast => cast(arg(0), out_type())?,
        other => return Err(internal(&format!("{other:?} has no kernel here"))),
    };
    Ok(value)
}

/// The shape an operator's output was declared with (`-1` where dynamic).
fn declared_shape(model: &ModelBuilder, op: &Operator) -> Vec<i64> {
    let tensor = &model.tensors[op.outputs.as_deref().unwrap_or_default()[0] as usize];
    let shape = tensor.shape_signature.as_ref().or(tensor.shape.as_ref());
    shape.map(|s| s.iter().map(|&d| i64::from(d)).collect()).unwrap_or_default()
}

fn reshaped(x: &Value, target: &[i64]) -> Result<Value> {
    let total = x.elements();
    let known: usize = target.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
    let shape: Vec<usize> =
        target.iter().map(|&d| if d < 0 { total.checked_div(known).unwrap_or(0) } else { d as usize }).collect();
    if shape.iter().product::<usize>() != total {
        return Err(mismatch(format!("RESHAPE of {:?} to {target:?}", x.shape)));
    }
    Ok(Value { shape, data: x.data.clone() })
}

/// The output size and the padding before it, along one spatial axis.
fn window(size: usize, kernel: usize, stride: usize, dilation: usize, padding: Padding) -> (usize, usize) {
    let effective = (kernel - 1) * dilation + 1;
    match padding {
        Padding::Valid => ((size.saturating_sub(effective)) / stride + 1, 0),
        Padding::Same => {
            let (out, before, _) =
                crate::graph::shapes::same_padding(size as i64, kernel as i64, stride as i64, dilation as i64);
            (out as usize, before as usize)
        }
    }
}

struct Geometry {
    padding: Padding,
    stride: [usize; 2],
    dilation: [usize; 2],
}

fn convolution(
    code: B,
    options: Option<&BuiltinOptions>,
    x: Option<&Value>,
    filter: Option<&Value>,
    bias: Option<&Value>,
) -> Result<Value> {
    let (shape, x) = floats(x)?;
    let (fshape, f) = floats(filter)?;
    // The two option tables name the same fields; only depthwise has a multiplier.
    macro_rules! geometry {
        ($o:expr) => {
            Geometry {
                padding: $o.padding,
                stride: [$o.stride_h as usize, $o.stride_w as usize],
                dilation: [$o.dilation_h_factor.max(1) as usize, $o.dilation_w_factor.max(1) as usize],
            }
        };
    }
    let (geometry, act, multiplier) = match options {
        Some(BuiltinOptions::Conv2DOptions(o)) => (geometry!(o), o.fused_activation_function, 1),
        Some(BuiltinOptions::DepthwiseConv2DOptions(o)) => {
            (geometry!(o), o.fused_activation_function, o.depth_multiplier.max(1) as usize)
        }
        _ => return Err(internal("a convolution without its options")),
    };
    let [n, h, w, c] = shape[..] else { return Err(mismatch(format!("a convolution of a {shape:?} input"))) };
    let [fo, kh, kw, fc] = fshape[..] else { return Err(mismatch(format!("a convolution filter of {fshape:?}"))) };
    let depthwise = code == B::DepthwiseConv2d;
    let (out_c, k_in) = if depthwise { (fc, 1) } else { (fo, fc) };
    if (depthwise && (fo != 1 || fc != c * multiplier)) || (!depthwise && fc != c) {
        return Err(mismatch(format!("a {fshape:?} filter on a {shape:?} input")));
    }
    let (oh, top) = window(h, kh, geometry.stride[0], geometry.dilation[0], geometry.padding);
    let (ow, left) = window(w, kw, geometry.stride[1], geometry.dilation[1], geometry.padding);
    let bias = match bias {
        Some(b) => floats(Some(b))?.1.to_vec(),
        None => vec![0.0; out_c],
    };
    let mut out = vec![0.0f32; n * oh * ow * out_c];
    for row in out.chunks_exact_mut(out_c) {
        row.copy_from_slice(&bias);
    }
    // Where input row `iy` / column `ix` of output (oy, ox) and tap (ky, kx) falls, if inside.
    let at = |o: usize, k: usize, axis: usize, pad: usize, size: usize| {
        (o * geometry.stride[axis] + k * geometry.dilation[axis]).checked_sub(pad).filter(|&i| i < size)
    };
    // Calls `visit(output pixel, tap, input pixel)` for each tap of each window that falls inside the image.
    let each_tap = |visit: &mut dyn FnMut(usize, usize, usize)| {
        for oy in 0..oh {
            for ox in 0..ow {
                for ky in 0..kh {
                    let Some(iy) = at(oy, ky, 0, top, h) else { continue };
                    for kx in 0..kw {
                        let Some(ix) = at(ox, kx, 1, left, w) else { continue };
                        visit(oy * ow + ox, ky * kw + kx, iy * w + ix);
                    }
                }
            }
        }
    };
    for b in 0..n {
        let image = &x[b * h * w * c..(b + 1) * h * w * c];
        let result = &mut out[b * oh * ow * out_c..(b + 1) * oh * ow * out_c];
        if depthwise {
            each_tap(&mut |o, t, i| {
                let o = &mut result[o * out_c..][..out_c];
                let pixel = &image[i * c..][..c];
                let taps = &f[t * out_c..][..out_c];
                if multiplier == 1 {
                    for ((o, &p), &t) in o.iter_mut().zip(pixel).zip(taps) {
                        *o += p * t;
                    }
                } else {
                    for (ch, &p) in pixel.iter().enumerate() {
                        for m in 0..multiplier {
                            o[ch * multiplier + m] += p * taps[ch * multiplier + m];
                        }
                    }
                }
            });
            continue;
        }
        let depth = kh * kw * k_in;
        let direct = kh == 1 && kw == 1 && geometry.stride == [1, 1] && top == 0 && left == 0;
        let columns;
        let patches: &[f32] = if direct {
            image
        } else {
            // im2col: one row of every tap's input channels per output pixel.
            let mut cols = vec![0.0f32; oh * ow * depth];
            each_tap(&mut |o, t, i| cols[o * depth + t * c..][..c].copy_from_slice(&image[i * c..][..c]));
            columns = cols;
            &columns
        };
        gemm(oh * ow, depth, out_c, patches, f, result);
    }
    activate(&mut out, Some(act));
    Ok(Value::f32(vec![n, oh, ow, out_c], out))
}

/// `c += a × bᵀ`, with `a` of `m × k` and `b` of `n × k`, both row-major.
fn gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    // SAFETY: the assert bounds every element the strides reach in each matrix.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            1,
            k as isize,
            1.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

fn fully_connected(
    x: Option<&Value>,
    weights: Option<&Value>,
    bias: Option<&Value>,
    act: Option<Act>,
) -> Result<Value> {
    let (_, x) = floats(x)?;
    let (wshape, w) = floats(weights)?;
    let [units, depth] = wshape[..] else { return Err(mismatch(format!("FULLY_CONNECTED weights of {wshape:?}"))) };
    if depth == 0 || x.len() % depth != 0 {
        return Err(mismatch(format!("FULLY_CONNECTED of {} values on {wshape:?} weights", x.len())));
    }
    let rows = x.len() / depth;
    let mut out = vec![0.0f32; rows * units];
    if let Some(bias) = bias {
        let bias = floats(Some(bias))?.1;
        for row in out.chunks_exact_mut(units) {
            row.copy_from_slice(bias);
        }
    }
    gemm(rows, depth, units, x, w, &mut out);
    activate(&mut out, act);
    Ok(Value::f32(vec![rows, units], out))
}

fn pool(code: B, options: Option<&BuiltinOptions>, x: Option<&Value>) -> Result<Value> {
    let Some(BuiltinOptions::Pool2DOptions(o)) = options else { return Err(internal("a pool without its options")) };
    let (shape, x) = floats(x)?;
    let [n, h, w, c] = shape[..] else { return Err(mismatch(format!("a pool of a {shape:?} input"))) };
    let (kh, kw) = (o.filter_height.max(1) as usize, o.filter_width.max(1) as usize);
    let (sh, sw) = (o.stride_h.max(1) as usize, o.stride_w.max(1) as usize);
    let (oh, top) = window(h, kh, sh, 1, o.padding);
    let (ow, left) = window(w, kw, sw, 1, o.padding);
    let max = code == B::MaxPool2d;
    let mut out = vec![0.0f32; n * oh * ow * c];
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                let o = &mut out[((b * oh + oy) * ow + ox) * c..][..c];
                o.fill(if max { f32::NEG_INFINITY } else { 0.0 });
                let mut count = 0usize;
                for ky in 0..kh {
                    let Some(iy) = (oy * sh + ky).checked_sub(top).filter(|&i| i < h) else { continue };
                    for kx in 0..kw {
                        let Some(ix) = (ox * sw + kx).checked_sub(left).filter(|&i| i < w) else { continue };
                        count += 1;
                        let pixel = &x[((b * h + iy) * w + ix) * c..][..c];
                        for (o, &p) in o.iter_mut().zip(pixel) {
                            *o = if max { o.max(p) } else { *o + p };
                        }
                    }
                }
                // Padding is left out of the average, as TensorFlow does.
                if !max && count > 0 {
                    o.iter_mut().for_each(|v| *v /= count as f32);
                }
            }
        }
    }
    activate(&mut out, Some(o.fused_activation_function));
    Ok(Value::f32(vec![n, oh, ow, c], out))
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

/// `f` of `a` and `b` elementwise, broadcast as NumPy does.
fn binary(a: Option<&Value>, b: Option<&Value>, act: Option<Act>, f: impl Fn(f32, f32) -> f32) -> Result<Value> {
    let ((sa, a), (sb, b)) = (floats(a)?, floats(b)?);
    let dims = |s: &[usize]| s.iter().map(|&d| d as i64).collect::<Vec<_>>();
    let shape: Vec<usize> = crate::tensor::broadcast_shape(&dims(sa), &dims(sb))
        .ok_or_else(|| mismatch(format!("broadcasting {sa:?} against {sb:?}")))?
        .into_iter()
        .map(|d| d as usize)
        .collect();
    let mut out: Vec<f32> = if sa == sb {
        a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
    } else if b.len() == 1 {
        a.iter().map(|&x| f(x, b[0])).collect()
    } else if a.len() == 1 {
        b.iter().map(|&y| f(a[0], y)).collect()
    } else {
        // General broadcasting, right-aligned: a broadcast dim steps by 0.
        let rank = shape.len();
        let steps = |s: &[usize]| {
            let mut padded = vec![1; rank - s.len()];
            padded.extend(s);
            let from = strides(&padded);
            (0..rank).map(|d| if padded[d] == 1 { 0 } else { from[d] }).collect::<Vec<_>>()
        };
        let (da, db) = (steps(sa), steps(sb));
        let total: usize = shape.iter().product();
        let mut out = Vec::with_capacity(total);
        let mut index = vec![0usize; rank];
        let (mut ia, mut ib) = (0usize, 0usize);
        for _ in 0..total {
            out.push(f(a[ia], b[ib]));
            for d in (0..rank).rev() {
                index[d] += 1;
                ia += da[d];
                ib += db[d];
                if index[d] < shape[d] {
                    break;
                }
                ia -= da[d] * shape[d];
                ib -= db[d] * shape[d];
                index[d] = 0;
            }
        }
        out
    };
    activate(&mut out, act);
    Ok(Value::f32(shape, out))
}

fn softmax(x: Option<&Value>, beta: f32, log: bool) -> Result<Value> {
    let (shape, x) = floats(x)?;
    let depth = shape.last().copied().unwrap_or(1).max(1);
    let mut out = Vec::with_capacity(x.len());
    for row in x.chunks(depth) {
        let top = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let sum: f32 = row.iter().map(|&v| ((v - top) * beta).exp()).sum();
        if log {
            out.extend(row.iter().map(|&v| (v - top) * beta - sum.ln()));
        } else {
            out.extend(row.iter().map(|&v| ((v - top) * beta).exp() / sum));
        }
    }
    Ok(Value::f32(shape.to_vec(), out))
}

fn concatenate(values: &[&Value], along: i64) -> Result<Value> {
    let first = values.first().ok_or_else(|| internal("a concatenation of nothing"))?;
    let rank = first.shape.len();
    let at = axis(along, rank)?;
    let outer: usize = first.shape[..at].iter().product();
    let mut shape = first.shape.clone();
    shape[at] = 0;
    for v in values {
        if v.shape.len() != rank || v.shape[..at] != first.shape[..at] || v.shape[at + 1..] != first.shape[at + 1..] {
            return Err(mismatch(format!("concatenating {:?} with {:?} along {at}", first.shape, v.shape)));
        }
        shape[at] += v.shape[at];
    }
    macro_rules! join {
        ($variant:ident) => {{
            let mut out = Vec::with_capacity(shape.iter().product());
            for o in 0..outer {
                for v in values {
                    let Data::$variant(d) = &v.data else {
                        return Err(internal("a concatenation of tensors of different types"));
                    };
                    let chunk = d.len() / outer.max(1);
                    out.extend_from_slice(&d[o * chunk..(o + 1) * chunk]);
                }
            }
            Data::$variant(out)
        }};
    }
    let data = match first.data {
        Data::F32(_) => join!(F32),
        Data::I32(_) => join!(I32),
        Data::I64(_) => join!(I64),
        Data::U8(_) => join!(U8),
    };
    Ok(Value { shape, data })
}

fn pad(x: Option<&Value>, paddings: &[i64]) -> Result<Value> {
    let (shape, x) = floats(x)?;
    let rank = shape.len();
    if paddings.len() != rank * 2 || paddings.iter().any(|&p| p < 0) {
        return Err(mismatch(format!("PAD of a {shape:?} tensor by {paddings:?}")));
    }
    let before: Vec<usize> = (0..rank).map(|d| paddings[2 * d] as usize).collect();
    let out_shape: Vec<usize> = (0..rank).map(|d| shape[d] + before[d] + paddings[2 * d + 1] as usize).collect();
    let mut out = vec![0.0f32; out_shape.iter().product()];
    if rank == 0 || x.is_empty() {
        return Ok(Value::f32(out_shape, if rank == 0 { x.to_vec() } else { out }));
    }
    let out_strides = strides(&out_shape);
    let inner = shape[rank - 1];
    let mut index = vec![0usize; rank - 1];
    for row in x.chunks_exact(inner) {
        let start: usize = (0..rank).map(|d| (index.get(d).copied().unwrap_or(0) + before[d]) * out_strides[d]).sum();
        out[start..start + inner].copy_from_slice(row);
        advance(&mut index, &shape[..rank - 1]);
    }
    Ok(Value::f32(out_shape, out))
}

fn reduce(code: B, x: Option<&Value>, axes: &[i64], keep: bool) -> Result<Value> {
    let (shape, x) = floats(x)?;
    let rank = shape.len();
    let mut reduced = vec![false; rank];
    for &a in axes {
        reduced[axis(a, rank)?] = true;
    }
    let kept: Vec<usize> = (0..rank).map(|d| if reduced[d] { 1 } else { shape[d] }).collect();
    let kept_strides = strides(&kept);
    let total: usize = kept.iter().product();
    let start = match code {
        B::ReduceMax => f32::NEG_INFINITY,
        B::ReduceMin => f32::INFINITY,
        _ => 0.0,
    };
    let mut out = vec![start; total];
    let mut index = vec![0usize; rank];
    for &v in x {
        let o: usize = (0..rank).filter(|&d| !reduced[d]).map(|d| index[d] * kept_strides[d]).sum();
        out[o] = match code {
            B::ReduceMax => out[o].max(v),
            B::ReduceMin => out[o].min(v),
            _ => out[o] + v,
        };
        advance(&mut index, shape);
    }
    if code == B::Mean {
        let count = (x.len() / total.max(1)).max(1) as f32;
        out.iter_mut().for_each(|v| *v /= count);
    }
    let shape = if keep { kept } else { (0..rank).filter(|&d| !reduced[d]).map(|d| shape[d]).collect() };
    Ok(Value::f32(shape, out))
}

fn transpose(x: Option<&Value>, perm: &[i64]) -> Result<Value> {
    let x = x.ok_or_else(|| internal("TRANSPOSE has no input"))?;
    let rank = x.shape.len();
    let perm: Vec<usize> = perm.iter().map(|&p| axis(p, rank)).collect::<Result<_>>()?;
    if perm.len() != rank {
        return Err(mismatch(format!("TRANSPOSE of a {:?} tensor by {perm:?}", x.shape)));
    }
    let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
    let from = strides(&x.shape);
    let total = x.elements();
    let mut sources = Vec::with_capacity(total);
    let mut index = vec![0usize; rank];
    for _ in 0..total {
        sources.push((0..rank).map(|d| index[d] * from[perm[d]]).sum::<usize>());
        advance(&mut index, &shape);
    }
    Ok(Value { shape, data: take(&x.data, &sources) })
}

/// The elements of `x` at every combination of `picks` (an index list per
/// dim), as a tensor of `shape`.
fn gather_picks(x: &Value, picks: &[Vec<usize>], shape: Vec<usize>) -> Result<Value> {
    let from = strides(&x.shape);
    let mut sources = vec![0usize];
    for (d, taken) in picks.iter().enumerate() {
        let stride = from[d];
        sources = sources.iter().flat_map(|&base| taken.iter().map(move |&i| base + i * stride)).collect();
    }
    Ok(Value { shape, data: take(&x.data, &sources) })
}

/// The elements of `data` at `sources`, in that order.
fn take(data: &Data, sources: &[usize]) -> Data {
    match data {
        Data::F32(v) => Data::F32(sources.iter().map(|&s| v[s]).collect()),
        Data::I32(v) => Data::I32(sources.iter().map(|&s| v[s]).collect()),
        Data::I64(v) => Data::I64(sources.iter().map(|&s| v[s]).collect()),
        Data::U8(v) => Data::U8(sources.iter().map(|&s| v[s]).collect()),
    }
}

/// Steps the row-major multi-index `index` of a `shape` to the next element.
fn advance(index: &mut [usize], shape: &[usize]) {
    for d in (0..index.len()).rev() {
        index[d] += 1;
        if index[d] < shape[d] {
            return;
        }
        index[d] = 0;
    }
}

fn cast(x: Option<&Value>, to: TensorType) -> Result<Value> {
    let x = x.ok_or_else(|| internal("CAST has no input"))?;
    let as_f64: Vec<f64> = match &x.data {
        Data::F32(v) => v.iter().map(|&a| f64::from(a)).collect(),
        Data::I32(v) => v.iter().map(|&a| f64::from(a)).collect(),
        Data::I64(v) => v.iter().map(|&a| a as f64).collect(),
        Data::U8(v) => v.iter().map(|&a| f64::from(a)).collect(),
    };
    let data = match to {
        TensorType::Float32 => Data::F32(as_f64.iter().map(|&a| a as f32).collect()),
        TensorType::Int32 => Data::I32(as_f64.iter().map(|&a| a as i32).collect()),
        TensorType::Int64 => Data::I64(as_f64.iter().map(|&a| a as i64).collect()),
        TensorType::Uint8 => Data::U8(as_f64.iter().map(|&a| a as u8).collect()),
        other => return Err(Error::new(ErrorKind::UnsupportedDtype, format!("CAST to {other:?}"))),
    };
    Ok(Value { shape: x.shape.clone(), data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supported_list_names_each_builtin_once() {
        assert!(SUPPORTED.windows(2).all(|w| format!("{:?}", w[0]) < format!("{:?}", w[1])), "sorted by name");
    }

    #[test]
    fn a_model_with_a_builtin_it_lacks_is_left_to_the_caller() {
        let mut model = ModelBuilder::new();
        let x = model.tensor("x", TensorType::Float32, Some(&[1, 2, 2, 1]));
        let size =
            model.constant("size", TensorType::Int32, &[2], [4i32, 4].iter().flat_map(|v| v.to_le_bytes()).collect());
        let y = model.tensor("y", TensorType::Float32, Some(&[1, 4, 4, 1]));
        model.input("x", x);
        model.operator(B::ResizeBilinear, vec![x, size], vec![y], None);
        model.output("y", y);
        let samples = [InputSamples { name: "x".into(), shape: vec![1, 2, 2, 1], data: SampleData::F32(vec![0.0; 4]) }];
        let measured = measure(&model, &model.activations(), &samples).unwrap();
        assert_eq!(measured, Measurement::Unsupported("ResizeBilinear (tensor \"y\")".to_string()));
    }

    #[test]
    fn same_padding_puts_the_odd_pixel_after() {
        assert_eq!(window(5, 3, 2, 1, Padding::Same), (3, 1));
        assert_eq!(window(4, 3, 2, 1, Padding::Same), (2, 0));
        assert_eq!(window(5, 3, 1, 2, Padding::Valid), (1, 0));
    }

    #[test]
    fn broadcasting_follows_numpy() {
        let a = Value::f32(vec![2, 1, 3], vec![1., 2., 3., 4., 5., 6.]);
        let b = Value::f32(vec![2, 1], vec![10., 20.]);
        let sum = binary(Some(&a), Some(&b), None, |x, y| x + y).unwrap();
        assert_eq!(sum.shape, vec![2, 2, 3]);
        assert_eq!(sum.data, Data::F32(vec![11., 12., 13., 21., 22., 23., 14., 15., 16., 24., 25., 26.]));
        // A one-element side of higher rank still lends its rank.
        let one = Value::f32(vec![1, 1, 1], vec![2.]);
        let row = Value::f32(vec![5], vec![1., 2., 3., 4., 5.]);
        assert_eq!(binary(Some(&one), Some(&row), None, |x, y| x * y).unwrap().shape, vec![1, 1, 5]);
    }

    #[test]
    fn reductions_and_pads_and_transposes_move_the_right_elements() {
        let x = Value::f32(vec![2, 3], vec![1., 2., 3., 4., 5., 6.]);
        let mean = reduce(B::Mean, Some(&x), &[1], true).unwrap();
        assert_eq!((mean.shape, mean.data), (vec![2, 1], Data::F32(vec![2., 5.])));
        let max = reduce(B::ReduceMax, Some(&x), &[0], false).unwrap();
        assert_eq!((max.shape, max.data), (vec![3], Data::F32(vec![4., 5., 6.])));
        let padded = pad(Some(&x), &[1, 0, 0, 1]).unwrap();
        assert_eq!(padded.shape, vec![3, 4]);
        assert_eq!(padded.data, Data::F32(vec![0., 0., 0., 0., 1., 2., 3., 0., 4., 5., 6., 0.]));
        let t = transpose(Some(&x), &[1, 0]).unwrap();
        assert_eq!((t.shape, t.data), (vec![3, 2], Data::F32(vec![1., 4., 2., 5., 3., 6.])));
    }
}
