//! Evaluation of the ops constant folding knows, on constant inputs. Math
//! runs in the op's dtype (float32 in f32, integers wrapping as TensorFlow's
//! do); anything this code is not sure to compute as TensorFlow would (NaN
//! in a max, a float that does not fit an int cast, an ellipsis in a slice)
//! gives `None`, and the node is left alone.
//!
//! Long on purpose: one small evaluator per op, read as a table.

use std::ops::{Add, Div, Mul, Neg, Sub};

use bytes::Bytes;

use crate::dtype;
use crate::graph::{self, attr_bool, attr_int, attr_type};
use crate::proto::{attr_value, DataType, NodeDef};
use crate::tensor::{broadcast_shape, element_count, row_major_strides, Tensor, TensorData};

/// Ops [`evaluate`] computes.
pub(crate) const FOLDABLE_OPS: [&str; 24] = [
    "Identity",
    "Cast",
    "Add",
    "AddV2",
    "Sub",
    "Mul",
    "RealDiv",
    "Maximum",
    "Minimum",
    "Rsqrt",
    "Sqrt",
    "Neg",
    "Reshape",
    "ExpandDims",
    "Squeeze",
    "Shape",
    "Pack",
    "ConcatV2",
    "Transpose",
    "Fill",
    "ZerosLike",
    "OnesLike",
    "StridedSlice",
    "Snapshot",
];

/// The value of `node` given the values of its data inputs, in order.
pub(crate) fn evaluate(node: &NodeDef, inputs: &[Tensor]) -> Option<Tensor> {
    let input = |i: usize| inputs.get(i);
    match node.op.as_str() {
        "Identity" | "Snapshot" => input(0).cloned(),
        "Cast" => cast(input(0)?, attr_type(node, "DstT")?, attr_bool(node, "Truncate").unwrap_or(false)),
        "Add" | "AddV2" | "Sub" | "Mul" | "RealDiv" | "Maximum" | "Minimum" => binary(&node.op, input(0)?, input(1)?),
        "Rsqrt" | "Sqrt" | "Neg" => unary(&node.op, input(0)?),
        "Reshape" => reshape(input(0)?, &ints(input(1)?)?),
        "ExpandDims" => expand_dims(input(0)?, single_int(input(1)?)?),
        "Squeeze" => squeeze(input(0)?, &list_ints(node, "squeeze_dims")),
        "Shape" => shape_tensor(&input(0)?.shape, attr_type(node, "out_type").unwrap_or(DataType::DtInt32)),
        "Pack" => pack(inputs, attr_int(node, "axis").unwrap_or(0)),
        "ConcatV2" => concat(&inputs[..inputs.len().checked_sub(1)?], single_int(inputs.last()?)?),
        "Transpose" => transpose(input(0)?, &ints(input(1)?)?),
        "Fill" => fill(&ints(input(0)?)?, input(1)?),
        "ZerosLike" => filled_like(input(0)?, 0),
        "OnesLike" => filled_like(input(0)?, 1),
        "StridedSlice" => strided_slice(node, input(0)?, &ints(input(1)?)?, &ints(input(2)?)?, &ints(input(3)?)?),
        _ => None,
    }
}

/// A 1-D `Shape` result for `dims`.
pub(crate) fn shape_tensor(dims: &[i64], out_type: DataType) -> Option<Tensor> {
    let values: Vec<Number> = dims.iter().map(|&d| Number::Int(i128::from(d))).collect();
    write_numbers(out_type, vec![dims.len() as i64], &values)
}

fn list_ints(node: &NodeDef, name: &str) -> Vec<i64> {
    match graph::attr(node, name) {
        Some(attr_value::Value::List(list)) => list.i.clone(),
        _ => Vec::new(),
    }
}

// ---- element access ----------------------------------------------------------------

/// A fixed-size element type stored little-endian.
trait Element: Copy {
    const DTYPE: DataType;
    fn read(bytes: &[u8]) -> Self;
    fn append(self, out: &mut Vec<u8>);
}

macro_rules! element {
    ($t:ty, $dtype:ident) => {
        impl Element for $t {
            const DTYPE: DataType = DataType::$dtype;
            fn read(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("element width"))
            }
            fn append(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}

element!(f32, DtFloat);
element!(f64, DtDouble);
element!(i32, DtInt32);
element!(i64, DtInt64);

fn elements<T: Element>(tensor: &Tensor) -> Option<Vec<T>> {
    if tensor.dtype != T::DTYPE {
        return None;
    }
    Some(tensor.raw()?.chunks_exact(std::mem::size_of::<T>()).map(T::read).collect())
}

fn from_elements<T: Element>(shape: Vec<i64>, values: &[T]) -> Tensor {
    let mut bytes = Vec::with_capacity(std::mem::size_of_val(values));
    values.iter().for_each(|v| v.append(&mut bytes));
    Tensor { dtype: T::DTYPE, shape, data: TensorData::Raw(Bytes::from(bytes)) }
}

/// The values of an int32 or int64 tensor.
fn ints(tensor: &Tensor) -> Option<Vec<i64>> {
    match tensor.dtype {
        DataType::DtInt32 => Some(elements::<i32>(tensor)?.into_iter().map(i64::from).collect()),
        DataType::DtInt64 => elements::<i64>(tensor),
        _ => None,
    }
}

/// The one value of a scalar (or one-element) int tensor.
fn single_int(tensor: &Tensor) -> Option<i64> {
    match ints(tensor)?.as_slice() {
        [value] => Some(*value),
        _ => None,
    }
}

/// Elements `indices` of `tensor` (any dtype, strings too), as a tensor of `shape`.
fn take(tensor: &Tensor, indices: &[usize], shape: Vec<i64>) -> Option<Tensor> {
    let data = match &tensor.data {
        TensorData::Raw(bytes) => {
            let size = dtype::element_size(tensor.dtype)?;
            let mut out = Vec::with_capacity(indices.len() * size);
            for &i in indices {
                out.extend_from_slice(bytes.get(i * size..(i + 1) * size)?);
            }
            TensorData::Raw(Bytes::from(out))
        }
        TensorData::Strings(strings) => {
            TensorData::Strings(indices.iter().map(|&i| strings.get(i).cloned()).collect::<Option<_>>()?)
        }
    };
    Some(Tensor { dtype: tensor.dtype, shape, data })
}

fn with_shape(tensor: &Tensor, shape: Vec<i64>) -> Tensor {
    Tensor { dtype: tensor.dtype, shape, data: tensor.data.clone() }
}

/// No kernel builds an output of more elements than this: folding keeps
/// results small anyway, and a shape from a constant (`Fill`'s dims, a
/// broadcast) must not make the process allocate without bound.
const MAX_ELEMENTS: usize = 1 << 26;

/// Elements of an output of `shape`, if it is fully known and at most [`MAX_ELEMENTS`].
fn output_elements(shape: &[i64]) -> Option<usize> {
    element_count(shape).filter(|&n| n <= MAX_ELEMENTS)
}

/// For each position of an output of `out_shape`, the flat input index
/// `offset + Σ index[d] · strides[d]`. Covers broadcasting (stride 0),
/// transposes (permuted strides) and slices (scaled strides).
fn strided_indices(out_shape: &[i64], strides: &[i64], offset: i64) -> Option<Vec<usize>> {
    let count = output_elements(out_shape)?;
    let mut out = Vec::with_capacity(count);
    let mut index = vec![0i64; out_shape.len()];
    let mut position = offset;
    for _ in 0..count {
        out.push(position as usize);
        for d in (0..out_shape.len()).rev() {
            index[d] += 1;
            position += strides[d];
            if index[d] < out_shape[d] {
                break;
            }
            position -= strides[d] * out_shape[d];
            index[d] = 0;
        }
    }
    Some(out)
}

// ---- casts -------------------------------------------------------------------------

/// One element, wide enough to hold any value of the dtypes cast supports.
#[derive(Clone, Copy)]
enum Number {
    Int(i128),
    Float(f64),
}

fn read_numbers(tensor: &Tensor) -> Option<Vec<Number>> {
    use DataType::*;
    let bytes = tensor.raw()?;
    let size = dtype::element_size(tensor.dtype)?;
    let chunks = bytes.chunks_exact(size);
    let int = |v: i128| Number::Int(v);
    Some(match tensor.dtype {
        DtFloat => chunks.map(|c| Number::Float(f64::from(f32::read(c)))).collect(),
        DtDouble => chunks.map(|c| Number::Float(f64::read(c))).collect(),
        DtInt32 => chunks.map(|c| int(i32::read(c).into())).collect(),
        DtInt64 => chunks.map(|c| int(i64::read(c).into())).collect(),
        DtInt16 => chunks.map(|c| int(i16::from_le_bytes([c[0], c[1]]).into())).collect(),
        DtUint16 => chunks.map(|c| int(u16::from_le_bytes([c[0], c[1]]).into())).collect(),
        DtInt8 => chunks.map(|c| int((c[0] as i8).into())).collect(),
        DtUint8 => chunks.map(|c| int(c[0].into())).collect(),
        DtBool => chunks.map(|c| int(i128::from(c[0] != 0))).collect(),
        _ => return None,
    })
}

/// Writes numbers as `dtype` the way a C++ `static_cast` does for values in
/// range: ints wrap, floats round to nearest, floats to ints truncate. A
/// float that is NaN or outside the int type's range gives `None`.
fn write_numbers(dtype: DataType, shape: Vec<i64>, values: &[Number]) -> Option<Tensor> {
    use DataType::*;
    let mut bytes = Vec::new();
    for &value in values {
        match dtype {
            DtFloat => bytes.extend_from_slice(&to_f32(value).to_le_bytes()),
            DtDouble => bytes.extend_from_slice(&to_f64(value).to_le_bytes()),
            DtInt64 => {
                bytes.extend_from_slice(&(to_int(value, i64::MIN.into(), i64::MAX.into())? as i64).to_le_bytes())
            }
            DtInt32 => {
                bytes.extend_from_slice(&(to_int(value, i32::MIN.into(), i32::MAX.into())? as i32).to_le_bytes())
            }
            DtInt16 => {
                bytes.extend_from_slice(&(to_int(value, i16::MIN.into(), i16::MAX.into())? as i16).to_le_bytes())
            }
            DtUint16 => bytes.extend_from_slice(&(to_int(value, 0, u16::MAX.into())? as u16).to_le_bytes()),
            DtInt8 => bytes.push(to_int(value, i8::MIN.into(), i8::MAX.into())? as i8 as u8),
            DtUint8 => bytes.push(to_int(value, 0, u8::MAX.into())? as u8),
            DtBool => bytes.push(u8::from(match value {
                Number::Int(i) => i != 0,
                Number::Float(f) => f != 0.0,
            })),
            _ => return None,
        }
    }
    Some(Tensor { dtype, shape, data: TensorData::Raw(Bytes::from(bytes)) })
}

// Each rounds once, to nearest even: an int goes straight to the target
// type (through f64 first, a large int64 could round twice).
fn to_f32(value: Number) -> f32 {
    match value {
        Number::Float(f) => f as f32,
        Number::Int(i) => i as f32,
    }
}

fn to_f64(value: Number) -> f64 {
    match value {
        Number::Float(f) => f,
        Number::Int(i) => i as f64,
    }
}

/// An int value for a target type: ints as they are (the caller's `as`
/// wraps them), floats truncated if they fit in `[min, max]`.
fn to_int(value: Number, min: i128, max: i128) -> Option<i128> {
    match value {
        Number::Int(i) => Some(i),
        Number::Float(f) if f.is_finite() && (min as f64..=max as f64).contains(&f.trunc()) => Some(f.trunc() as i128),
        Number::Float(_) => None,
    }
}

fn cast(tensor: &Tensor, to: DataType, truncate: bool) -> Option<Tensor> {
    // `Truncate` drops mantissa bits instead of rounding; only narrowing float casts care.
    if truncate && tensor.dtype == DataType::DtDouble && to == DataType::DtFloat {
        return None;
    }
    write_numbers(to, tensor.shape.clone(), &read_numbers(tensor)?)
}

fn filled_like(tensor: &Tensor, value: i128) -> Option<Tensor> {
    let values = vec![Number::Int(value); tensor.num_elements() as usize];
    write_numbers(tensor.dtype, tensor.shape.clone(), &values)
}

// ---- elementwise math ----------------------------------------------------------------

trait Float:
    Element
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    const ONE: Self;
    fn sqrt(self) -> Self;
    fn is_nan(self) -> bool;
}

macro_rules! float {
    ($t:ty) => {
        impl Float for $t {
            const ONE: Self = 1.0;
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
        }
    };
}

float!(f32);
float!(f64);

trait Int: Element + Ord {
    fn wrapping_add(self, other: Self) -> Self;
    fn wrapping_sub(self, other: Self) -> Self;
    fn wrapping_mul(self, other: Self) -> Self;
    fn wrapping_neg(self) -> Self;
}

macro_rules! int {
    ($t:ty) => {
        impl Int for $t {
            fn wrapping_add(self, other: Self) -> Self {
                <$t>::wrapping_add(self, other)
            }
            fn wrapping_sub(self, other: Self) -> Self {
                <$t>::wrapping_sub(self, other)
            }
            fn wrapping_mul(self, other: Self) -> Self {
                <$t>::wrapping_mul(self, other)
            }
            fn wrapping_neg(self) -> Self {
                <$t>::wrapping_neg(self)
            }
        }
    };
}

int!(i32);
int!(i64);

fn binary(op: &str, a: &Tensor, b: &Tensor) -> Option<Tensor> {
    if a.dtype != b.dtype {
        return None;
    }
    let shape = broadcast_shape(&a.shape, &b.shape)?;
    let pairs = (broadcast_indices(&a.shape, &shape)?, broadcast_indices(&b.shape, &shape)?);
    match a.dtype {
        DataType::DtFloat => float_binary::<f32>(op, a, b, pairs, shape),
        DataType::DtDouble => float_binary::<f64>(op, a, b, pairs, shape),
        DataType::DtInt32 => int_binary::<i32>(op, a, b, pairs, shape),
        DataType::DtInt64 => int_binary::<i64>(op, a, b, pairs, shape),
        _ => None,
    }
}

fn float_binary<T: Float>(
    op: &str,
    a: &Tensor,
    b: &Tensor,
    (ia, ib): (Vec<usize>, Vec<usize>),
    shape: Vec<i64>,
) -> Option<Tensor> {
    let (a, b) = (elements::<T>(a)?, elements::<T>(b)?);
    let pick_max = |x: T, y: T| if x >= y { x } else { y };
    let pick_min = |x: T, y: T| if x <= y { x } else { y };
    let f: fn(T, T) -> T = match op {
        "Add" | "AddV2" => |x, y| x + y,
        "Sub" => |x, y| x - y,
        "Mul" => |x, y| x * y,
        "RealDiv" => |x, y| x / y,
        // TensorFlow's NaN handling in max/min has changed across versions.
        "Maximum" | "Minimum" if a.iter().chain(&b).any(|v| v.is_nan()) => return None,
        "Maximum" => return Some(combine(&a, &b, &ia, &ib, pick_max, shape)),
        "Minimum" => return Some(combine(&a, &b, &ia, &ib, pick_min, shape)),
        _ => return None,
    };
    Some(combine(&a, &b, &ia, &ib, f, shape))
}

fn int_binary<T: Int>(
    op: &str,
    a: &Tensor,
    b: &Tensor,
    (ia, ib): (Vec<usize>, Vec<usize>),
    shape: Vec<i64>,
) -> Option<Tensor> {
    let (a, b) = (elements::<T>(a)?, elements::<T>(b)?);
    let f: fn(T, T) -> T = match op {
        "Add" | "AddV2" => T::wrapping_add,
        "Sub" => T::wrapping_sub,
        "Mul" => T::wrapping_mul,
        "Maximum" => std::cmp::max,
        "Minimum" => std::cmp::min,
        _ => return None,
    };
    Some(combine(&a, &b, &ia, &ib, f, shape))
}

fn combine<T: Element>(a: &[T], b: &[T], ia: &[usize], ib: &[usize], f: impl Fn(T, T) -> T, shape: Vec<i64>) -> Tensor {
    let values: Vec<T> = ia.iter().zip(ib).map(|(&i, &j)| f(a[i], b[j])).collect();
    from_elements(shape, &values)
}

fn unary(op: &str, x: &Tensor) -> Option<Tensor> {
    fn float<T: Float>(op: &str, x: &Tensor) -> Option<Tensor> {
        let f: fn(T) -> T = match op {
            "Rsqrt" => |v| T::ONE / v.sqrt(),
            "Sqrt" => |v| v.sqrt(),
            "Neg" => |v| -v,
            _ => return None,
        };
        let values: Vec<T> = elements::<T>(x)?.into_iter().map(f).collect();
        Some(from_elements(x.shape.clone(), &values))
    }
    fn int<T: Int>(op: &str, x: &Tensor) -> Option<Tensor> {
        let values: Vec<T> = match op {
            "Neg" => elements::<T>(x)?.into_iter().map(T::wrapping_neg).collect(),
            _ => return None,
        };
        Some(from_elements(x.shape.clone(), &values))
    }
    match x.dtype {
        DataType::DtFloat => float::<f32>(op, x),
        DataType::DtDouble => float::<f64>(op, x),
        DataType::DtInt32 => int::<i32>(op, x),
        DataType::DtInt64 => int::<i64>(op, x),
        _ => None,
    }
}

fn broadcast_indices(shape: &[i64], out_shape: &[i64]) -> Option<Vec<usize>> {
    let own = row_major_strides(shape);
    let lead = out_shape.len() - shape.len();
    let strides: Vec<i64> =
        (0..out_shape.len()).map(|d| if d < lead || shape[d - lead] == 1 { 0 } else { own[d - lead] }).collect();
    strided_indices(out_shape, &strides, 0)
}

// ---- shapes and data movement ----------------------------------------------------

fn reshape(tensor: &Tensor, wanted: &[i64]) -> Option<Tensor> {
    let count = tensor.num_elements();
    let known = wanted.iter().filter(|&&d| d != -1).try_fold(1i64, |n, &d| n.checked_mul(d))?;
    let shape: Vec<i64> = match wanted.iter().filter(|&&d| d == -1).count() {
        0 => wanted.to_vec(),
        1 if known > 0 && count % known == 0 => {
            wanted.iter().map(|&d| if d == -1 { count / known } else { d }).collect()
        }
        _ => return None,
    };
    (crate::tensor::num_elements(&shape) == Some(count)).then(|| with_shape(tensor, shape))
}

/// An axis in `[-rank, rank)` made non-negative.
fn normalize_axis(axis: i64, rank: usize) -> Option<usize> {
    let rank = rank as i64;
    let axis = if axis < 0 { axis + rank } else { axis };
    (0..rank).contains(&axis).then_some(axis as usize)
}

fn expand_dims(tensor: &Tensor, axis: i64) -> Option<Tensor> {
    let axis = normalize_axis(axis, tensor.shape.len() + 1)?;
    let mut shape = tensor.shape.clone();
    shape.insert(axis, 1);
    Some(with_shape(tensor, shape))
}

fn squeeze(tensor: &Tensor, axes: &[i64]) -> Option<Tensor> {
    let rank = tensor.shape.len();
    let mut drop = vec![false; rank];
    if axes.is_empty() {
        tensor.shape.iter().zip(drop.iter_mut()).for_each(|(&d, flag)| *flag = d == 1);
    }
    for &axis in axes {
        let axis = normalize_axis(axis, rank)?;
        if tensor.shape[axis] != 1 {
            return None;
        }
        drop[axis] = true;
    }
    let shape = tensor.shape.iter().zip(&drop).filter(|(_, &d)| !d).map(|(&s, _)| s).collect();
    Some(with_shape(tensor, shape))
}

fn transpose(tensor: &Tensor, perm: &[i64]) -> Option<Tensor> {
    let rank = tensor.shape.len();
    let mut seen = vec![false; rank];
    for &p in perm {
        let p = usize::try_from(p).ok().filter(|&p| p < rank)?;
        if std::mem::replace(&mut seen[p], true) {
            return None;
        }
    }
    if perm.len() != rank {
        return None;
    }
    let own = row_major_strides(&tensor.shape);
    let shape: Vec<i64> = perm.iter().map(|&p| tensor.shape[p as usize]).collect();
    let strides: Vec<i64> = perm.iter().map(|&p| own[p as usize]).collect();
    take(tensor, &strided_indices(&shape, &strides, 0)?, shape)
}

/// Inputs of one dtype and rank, equal except along `axis`, joined along it.
fn concat(tensors: &[Tensor], axis: i64) -> Option<Tensor> {
    let first = tensors.first()?;
    let rank = first.shape.len();
    let axis = normalize_axis(axis, rank)?;
    let same_except_axis = |t: &Tensor| {
        t.dtype == first.dtype
            && t.shape.len() == rank
            && t.shape.iter().zip(&first.shape).enumerate().all(|(d, (a, b))| d == axis || a == b)
    };
    if !tensors.iter().all(same_except_axis) {
        return None;
    }
    let outer: i64 = first.shape[..axis].iter().product();
    let inner: i64 = first.shape[axis + 1..].iter().product();
    let joined = join_flat(tensors)?;
    let mut bases = Vec::with_capacity(tensors.len());
    let mut base = 0;
    for t in tensors {
        bases.push(base);
        base += t.num_elements();
    }
    let mut indices = Vec::with_capacity(base as usize);
    for o in 0..outer {
        for (t, &start) in tensors.iter().zip(&bases) {
            let row = t.shape[axis] * inner;
            indices.extend((start + o * row..start + (o + 1) * row).map(|i| i as usize));
        }
    }
    let mut shape = first.shape.clone();
    shape[axis] = tensors.iter().map(|t| t.shape[axis]).sum();
    take(&joined, &indices, shape)
}

/// All elements of `tensors` one after another, as a 1-D tensor.
fn join_flat(tensors: &[Tensor]) -> Option<Tensor> {
    let count = tensors.iter().map(Tensor::num_elements).sum::<i64>();
    let data = match &tensors.first()?.data {
        TensorData::Raw(_) => {
            let bytes: Vec<u8> =
                tensors.iter().map(|t| t.raw().map(|b| b.to_vec())).collect::<Option<Vec<_>>>()?.concat();
            TensorData::Raw(Bytes::from(bytes))
        }
        TensorData::Strings(_) => TensorData::Strings(
            tensors
                .iter()
                .map(|t| match &t.data {
                    TensorData::Strings(s) => Some(s.clone()),
                    TensorData::Raw(_) => None,
                })
                .collect::<Option<Vec<_>>>()?
                .concat(),
        ),
    };
    Some(Tensor { dtype: tensors[0].dtype, shape: vec![count], data })
}

fn pack(tensors: &[Tensor], axis: i64) -> Option<Tensor> {
    let first = tensors.first()?;
    if tensors.iter().any(|t| t.shape != first.shape) {
        return None;
    }
    let axis = normalize_axis(axis, first.shape.len() + 1)? as i64;
    let expanded: Vec<Tensor> = tensors.iter().map(|t| expand_dims(t, axis)).collect::<Option<_>>()?;
    concat(&expanded, axis)
}

fn fill(dims: &[i64], value: &Tensor) -> Option<Tensor> {
    if !value.shape.is_empty() || dims.iter().any(|&d| d < 0) {
        return None;
    }
    let count = output_elements(dims)?;
    take(value, &vec![0; count], dims.to_vec())
}

/// `StridedSlice` without ellipsis or new axes: per dimension a begin, end
/// and stride (masks and negative indices resolved, then clamped, as
/// TensorFlow does), and shrunk dimensions taken at one index.
fn strided_slice(node: &NodeDef, tensor: &Tensor, begin: &[i64], end: &[i64], strides: &[i64]) -> Option<Tensor> {
    let mask = |name: &str| attr_int(node, name).unwrap_or(0);
    if mask("ellipsis_mask") != 0 || mask("new_axis_mask") != 0 {
        return None;
    }
    let (begin_mask, end_mask, shrink_mask) = (mask("begin_mask"), mask("end_mask"), mask("shrink_axis_mask"));
    let rank = tensor.shape.len();
    if begin.len() != end.len() || begin.len() != strides.len() || begin.len() > rank {
        return None;
    }
    let own = row_major_strides(&tensor.shape);
    let (mut out_shape, mut out_strides, mut kept_shape) = (Vec::new(), Vec::new(), Vec::new());
    let mut offset = 0;
    for d in 0..rank {
        let size = tensor.shape[d];
        let bit = |m: i64| d < begin.len() && m & (1 << d) != 0;
        let (start, length, step) = if d >= begin.len() {
            (0, size, 1)
        } else if bit(shrink_mask) {
            let index = if begin[d] < 0 { begin[d] + size } else { begin[d] };
            if !(0..size).contains(&index) || strides[d] != 1 {
                return None;
            }
            (index, 1, 1)
        } else {
            slice_range(size, begin[d], end[d], strides[d], bit(begin_mask), bit(end_mask))?
        };
        offset += start * own[d];
        out_shape.push(length);
        out_strides.push(step * own[d]);
        if !(d < begin.len() && bit(shrink_mask)) {
            kept_shape.push(length);
        }
    }
    take(tensor, &strided_indices(&out_shape, &out_strides, offset)?, kept_shape)
}

/// First index, element count and step of one sliced dimension.
fn slice_range(
    size: i64,
    begin: i64,
    end: i64,
    stride: i64,
    whole_begin: bool,
    whole_end: bool,
) -> Option<(i64, i64, i64)> {
    if stride == 0 {
        return None;
    }
    let (low, high) = if stride > 0 { (0, size) } else { (-1, size - 1) };
    let resolve = |i: i64| (if i < 0 { i + size } else { i }).clamp(low, high);
    let start = if whole_begin {
        if stride > 0 {
            low
        } else {
            high
        }
    } else {
        resolve(begin)
    };
    let stop = if whole_end {
        if stride > 0 {
            high
        } else {
            low
        }
    } else {
        resolve(end)
    };
    let span = if stride > 0 { stop - start } else { start - stop };
    let length = if span <= 0 { 0 } else { (span + stride.abs() - 1) / stride.abs() };
    Some((start, length, stride))
}
