//! Full-integer int8 (`quantize=int8-full`): the float model, built as for
//! float32, rewritten so its ops compute on int8 tensors, in TFLite's
//! quantization spec.
//!
//! - Activations: int8 per tensor, asymmetric, over the range calibration
//!   measured for the tensor (by name), widened to hold zero.
//! - Weights: int8 per output channel, symmetric in [−127, 127] (CONV_2D and
//!   FULLY_CONNECTED along axis 0, DEPTHWISE_CONV_2D along axis 3); other
//!   float constants int8 per tensor over their own range.
//! - Biases: int32, scale = input scale × weight scale of the channel.
//! - SOFTMAX and LOGISTIC write (1/256, −128), TANH (1/128, 0); pools,
//!   reshapes, squeezes, pads and concatenations keep one set of parameters
//!   on their inputs and output, the union of their ranges.
//!
//! Ops without an int8 kernel here stay float: a QUANTIZE goes in front of
//! the first int8 op that reads a float tensor (the model's inputs among
//! them) and a DEQUANTIZE behind an int8 tensor a float op or an output
//! reads, so the model's inputs and outputs stay float (LiteRT.js passes no
//! int8 tensors from JavaScript).

use std::collections::{BTreeMap, HashMap};

use super::model::{ModelBuilder, TensorIndex};
use super::schema_generated::tflite::{
    ActivationFunctionType, BuiltinOperator as B, BuiltinOptions, ConcatenationOptions, Operator,
    QuantizationParameters, ReducerOptions, TensorType,
};
use crate::error::{Error, ErrorKind, Result};

/// The float range of each activation tensor, by tensor name.
pub type Ranges = BTreeMap<String, (f32, f32)>;

/// Builtins with an int8 kernel this pass writes for.
const INTEGER_OPS: &[B] = &[
    B::Add,
    B::AveragePool2d,
    B::Concatenation,
    B::Conv2d,
    B::DepthwiseConv2d,
    B::FullyConnected,
    B::Logistic,
    B::MaxPool2d,
    B::Mean,
    B::Mul,
    B::Pad,
    B::Relu,
    B::Relu6,
    B::Reshape,
    B::Softmax,
    B::Squeeze,
    B::Sub,
    B::Tanh,
];

/// Ops whose int8 kernels need their data inputs and output to share parameters.
fn same_scale(op: B) -> bool {
    matches!(op, B::AveragePool2d | B::Concatenation | B::MaxPool2d | B::Pad | B::Reshape | B::Squeeze)
}

/// The output parameters an op's int8 kernel fixes, whatever the range.
fn fixed_output(op: B) -> Option<Params> {
    match op {
        B::Softmax | B::Logistic => Some(Params { scale: 1.0 / 256.0, zero_point: -128 }),
        B::Tanh => Some(Params { scale: 1.0 / 128.0, zero_point: 0 }),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Params {
    scale: f32,
    zero_point: i64,
}

impl Params {
    /// Asymmetric int8 over `[lo, hi]` widened to hold zero (which must be
    /// exact: padding and ReLU produce it).
    fn of_range(lo: f32, hi: f32) -> Params {
        let (lo, hi) = (f64::from(lo.min(0.0)), f64::from(hi.max(0.0)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        let scale = span / 255.0;
        let zero_point = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i64;
        Params { scale: scale as f32, zero_point }
    }
}

/// Makes `model` the calibration model: each float activation, flattened,
/// is reduced to its minimum and its maximum in the model, and the two lists
/// are concatenated into outputs [`RANGE_OUTPUTS`], in the order of the names
/// returned. The runtime reduces the tensors where it computes them and hands
/// back two short vectors a sample, whatever the model's size.
pub(super) fn add_range_outputs(model: &mut ModelBuilder) -> Vec<String> {
    let activations = model.activations();
    let flat = model.constant("calibration/flat", TensorType::Int32, &[1], (-1i32).to_le_bytes().to_vec());
    let axis = model.constant("calibration/axis", TensorType::Int32, &[1], 0i32.to_le_bytes().to_vec());
    let reducer = || Some(BuiltinOptions::ReducerOptions(Box::new(ReducerOptions { keep_dims: true })));
    let mut bounds: [Vec<TensorIndex>; 2] = [Vec::new(), Vec::new()];
    for (name, tensor) in &activations {
        let flattened = model.tensor(&format!("{name}:flat"), TensorType::Float32, None);
        model.operator(B::Reshape, vec![*tensor, flat], vec![flattened], None);
        for (k, (op, end)) in [(B::ReduceMin, "min"), (B::ReduceMax, "max")].into_iter().enumerate() {
            let bound = model.tensor(&format!("{name}:{end}"), TensorType::Float32, Some(&[1]));
            model.operator(op, vec![flattened, axis], vec![bound], reducer());
            bounds[k].push(bound);
        }
    }
    let count = activations.len() as i32;
    for (inputs, name) in bounds.into_iter().zip(RANGE_OUTPUTS) {
        let all = model.tensor(name, TensorType::Float32, Some(&[count]));
        let options = ConcatenationOptions { axis: 0, fused_activation_function: ActivationFunctionType::None };
        model.operator(
            B::Concatenation,
            inputs,
            vec![all],
            Some(BuiltinOptions::ConcatenationOptions(Box::new(options))),
        );
        model.output(name, all);
    }
    activations.into_iter().map(|(name, _)| name).collect()
}

/// The calibration model's outputs: every measured tensor's minimum, and maximum.
pub const RANGE_OUTPUTS: [&str; 2] = ["calibration:min", "calibration:max"];

/// Rewrites `model` (built with float32 weights) to full-integer int8.
pub(super) fn integerize(model: &mut ModelBuilder, ranges: &Ranges) -> Result<()> {
    let operators = std::mem::take(&mut model.operators);
    let ops: Vec<B> = operators.iter().map(|op| model.codes[op.opcode_index as usize].builtin_code).collect();
    let integer: Vec<bool> = operators.iter().zip(&ops).map(|(op, &code)| runs_in_int8(model, op, code)).collect();
    let int8_ops =
        || operators.iter().zip(&ops).zip(&integer).filter(|(_, &int)| int).map(|((op, &code), _)| (op, code));

    // One range per same-scale group: the union of its members' ranges.
    let mut groups = Groups::new(model.tensors.len());
    for (op, _) in int8_ops().filter(|(_, code)| same_scale(*code)) {
        let output = op.outputs.as_ref().unwrap()[0];
        for &input in op.inputs.as_ref().unwrap().iter().filter(|&&t| is_activation(model, t)) {
            groups.join(input, output);
        }
    }
    let mut group_range: HashMap<usize, (f32, f32)> = HashMap::new();
    let mut fixed: HashMap<TensorIndex, Params> = HashMap::new();
    let mut produced_int8 = vec![false; model.tensors.len()];
    for (op, code) in int8_ops() {
        let tensors = op.inputs.as_ref().unwrap().iter().chain(op.outputs.as_ref().unwrap());
        for &t in tensors.filter(|&&t| is_activation(model, t)) {
            let range = range_of(model, ranges, t)?;
            let entry = group_range.entry(groups.root(t)).or_insert(range);
            *entry = (entry.0.min(range.0), entry.1.max(range.1));
        }
        if let Some(params) = fixed_output(code) {
            fixed.insert(op.outputs.as_ref().unwrap()[0], params);
        }
        for &t in op.outputs.as_ref().unwrap() {
            produced_int8[t as usize] = true;
        }
    }
    let mut params_of = |t: TensorIndex| -> Params {
        fixed.get(&t).copied().unwrap_or_else(|| {
            let (lo, hi) = group_range[&groups.root(t)];
            Params::of_range(lo, hi)
        })
    };

    let mut rewrite = Rewrite {
        model,
        assigned: HashMap::new(),
        int8_of: HashMap::new(),
        float_of: HashMap::new(),
        scales: HashMap::new(),
    };
    for (mut op, (&code, &int)) in operators.into_iter().zip(ops.iter().zip(&integer)) {
        let mut inputs = op.inputs.take().unwrap_or_default();
        if int {
            for k in 0..inputs.len() {
                let t = inputs[k];
                if is_float_constant(rewrite.model, t) {
                    inputs[k] = rewrite.constant(&inputs, k, code)?;
                } else if t >= 0 && produced_int8[t as usize] {
                    // Written int8 by an earlier op (its parameters already set).
                } else if is_activation(rewrite.model, t) {
                    let params = params_of(t);
                    inputs[k] = rewrite.quantized(t, params);
                }
            }
            for &t in op.outputs.as_ref().unwrap() {
                let params = params_of(t);
                rewrite.set_int8(t, params);
            }
        } else {
            for input in inputs.iter_mut().filter(|t| **t >= 0 && produced_int8[**t as usize]) {
                *input = rewrite.dequantized(*input);
            }
        }
        let version = rewrite.model.version_of(code, &inputs);
        op.opcode_index = rewrite.model.code(code, version);
        op.inputs = Some(inputs);
        rewrite.model.operators.push(op);
    }
    // The model's outputs stay float: an int8 one is dequantized, and the
    // float tensor takes its name.
    for k in 0..rewrite.model.outputs.len() {
        let t = rewrite.model.outputs[k].1;
        if t >= 0 && produced_int8[t as usize] {
            let float = rewrite.dequantized(t);
            let name = rewrite.model.tensors[t as usize].name.clone().unwrap_or_default();
            rewrite.model.tensors[t as usize].name = Some(format!("{name}/int8"));
            rewrite.model.tensors[float as usize].name = Some(name);
            rewrite.model.outputs[k].1 = float;
        }
    }
    rewrite.model.compact();
    Ok(())
}

/// The tensors the rewrite has made so far.
struct Rewrite<'m> {
    model: &'m mut ModelBuilder,
    /// The int8 parameters of each int8 tensor.
    assigned: HashMap<TensorIndex, Params>,
    /// The QUANTIZEd form of a float tensor, and the DEQUANTIZEd form of an int8 one.
    int8_of: HashMap<TensorIndex, TensorIndex>,
    float_of: HashMap<TensorIndex, TensorIndex>,
    /// The per-channel scales of each int8 weight tensor written.
    scales: HashMap<TensorIndex, Vec<f32>>,
}

impl Rewrite<'_> {
    fn set_int8(&mut self, t: TensorIndex, params: Params) {
        let tensor = &mut self.model.tensors[t as usize];
        tensor.type_ = TensorType::Int8;
        tensor.quantization = Some(Box::new(QuantizationParameters {
            scale: Some(vec![params.scale]),
            zero_point: Some(vec![params.zero_point]),
            ..Default::default()
        }));
        self.assigned.insert(t, params);
    }

    /// A QUANTIZE of the float tensor `t` into a new int8 tensor (once).
    fn quantized(&mut self, t: TensorIndex, params: Params) -> TensorIndex {
        if let Some(&done) = self.int8_of.get(&t) {
            return done;
        }
        let quantized = self.model.copy_tensor(t, "/quantized");
        self.set_int8(quantized, params);
        self.model.operator(B::Quantize, vec![t], vec![quantized], None);
        self.int8_of.insert(t, quantized);
        quantized
    }

    /// A DEQUANTIZE of the int8 tensor `t` into a new float tensor (once).
    fn dequantized(&mut self, t: TensorIndex) -> TensorIndex {
        if let Some(&done) = self.float_of.get(&t) {
            return done;
        }
        let float = self.model.copy_tensor(t, "/dequantized");
        let tensor = &mut self.model.tensors[float as usize];
        tensor.type_ = TensorType::Float32;
        tensor.quantization = None;
        self.model.operator(B::Dequantize, vec![t], vec![float], None);
        self.float_of.insert(t, float);
        float
    }

    /// Input `k` of an int8 op, a float32 constant, as a new constant: int8
    /// weights per channel, an int32 bias, or int8 data per tensor.
    fn constant(&mut self, inputs: &[TensorIndex], k: usize, code: B) -> Result<TensorIndex> {
        let t = inputs[k];
        let weighted = matches!(code, B::Conv2d | B::DepthwiseConv2d | B::FullyConnected);
        let values = self.model.float_values(t);
        let shape = self.model.tensors[t as usize].shape.clone().unwrap_or_default();
        let name = self.model.tensors[t as usize].name.clone().unwrap_or_default();
        let (data, ty, scales, zero_points, axis) = if weighted && k == 1 {
            let axis = if code == B::DepthwiseConv2d { shape.len().saturating_sub(1) } else { 0 };
            let dims: Vec<i64> = shape.iter().map(|&d| i64::from(d)).collect();
            let (q, scales) = crate::quantize::int8_per_channel(&values, &dims, axis);
            let n = scales.len();
            (q.into_iter().map(|v| v as u8).collect::<Vec<u8>>(), TensorType::Int8, scales, vec![0; n], axis)
        } else if weighted && k == 2 {
            let input = self.assigned.get(&inputs[0]).map(|p| p.scale);
            let weights = self.scales.get(&inputs[1]);
            let (Some(input), Some(weights)) = (input, weights) else {
                let message = format!("bias \"{name}\" has no int8 input and weights to take its scale from");
                return Err(Error::new(ErrorKind::Internal, message).about(name));
            };
            let scales: Vec<f32> =
                (0..values.len()).map(|c| input * weights[if weights.len() == 1 { 0 } else { c }]).collect();
            let q = values
                .iter()
                .zip(&scales)
                .flat_map(|(&v, &s)| ((f64::from(v) / f64::from(s)).round() as i32).to_le_bytes())
                .collect();
            let n = scales.len();
            (q, TensorType::Int32, scales, vec![0; n], 0)
        } else {
            let (lo, hi) = values.iter().fold((0f32, 0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let params = Params::of_range(lo, hi);
            let level = |v: f32| (f64::from(v) / f64::from(params.scale)).round() as i64 + params.zero_point;
            let q = values.iter().map(|&v| level(v).clamp(-128, 127) as i8 as u8).collect();
            (q, TensorType::Int8, vec![params.scale], vec![params.zero_point], 0)
        };
        let stored = self.model.constant(&name, ty, &shape, data);
        if weighted && k == 1 {
            self.scales.insert(stored, scales.clone());
        }
        self.model.tensors[stored as usize].quantization = Some(Box::new(QuantizationParameters {
            scale: Some(scales),
            zero_point: Some(zero_points),
            quantized_dimension: axis as i32,
            ..Default::default()
        }));
        Ok(stored)
    }
}

/// Whether `op` runs as int8: an int8 kernel exists, it reads float data
/// and writes float results, and (a matmul) its weights are constant.
fn runs_in_int8(model: &ModelBuilder, op: &Operator, code: B) -> bool {
    let inputs = op.inputs.as_deref().unwrap_or_default();
    let outputs = op.outputs.as_deref().unwrap_or_default();
    let float = |t: &TensorIndex| *t >= 0 && model.tensors[*t as usize].type_ == TensorType::Float32;
    INTEGER_OPS.contains(&code)
        && inputs.iter().any(float)
        && outputs.iter().all(float)
        && (code != B::FullyConnected || inputs.get(1).is_some_and(|&w| is_float_constant(model, w)))
}

fn is_activation(model: &ModelBuilder, t: TensorIndex) -> bool {
    t >= 0 && model.tensors[t as usize].buffer == 0 && model.tensors[t as usize].type_ == TensorType::Float32
}

fn is_float_constant(model: &ModelBuilder, t: TensorIndex) -> bool {
    t >= 0 && model.tensors[t as usize].buffer != 0 && model.tensors[t as usize].type_ == TensorType::Float32
}

fn range_of(model: &ModelBuilder, ranges: &Ranges, t: TensorIndex) -> Result<(f32, f32)> {
    let name = model.tensors[t as usize].name.as_deref().unwrap_or_default();
    match ranges.get(name) {
        Some(&(lo, hi)) if lo.is_finite() && hi.is_finite() && lo <= hi => Ok((lo, hi)),
        Some(&(lo, hi)) => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("calibration gave tensor \"{name}\" the range [{lo}, {hi}], which int8 cannot hold"),
        )
        .about(name)),
        None => Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("calibration measured no range for tensor \"{name}\": the ranges come from another model"),
        )
        .about(name)),
    }
}

/// Union-find over tensor indices.
struct Groups(Vec<usize>);

impl Groups {
    fn new(n: usize) -> Self {
        Groups((0..n).collect())
    }

    fn root(&mut self, t: TensorIndex) -> usize {
        let mut i = t as usize;
        while self.0[i] != i {
            self.0[i] = self.0[self.0[i]];
            i = self.0[i];
        }
        i
    }

    fn join(&mut self, a: TensorIndex, b: TensorIndex) {
        let (ra, rb) = (self.root(a), self.root(b));
        self.0[ra] = rb;
    }
}
