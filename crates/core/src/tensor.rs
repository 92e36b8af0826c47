//! An in-memory tensor value and its conversion to and from `TensorProto`.

use bytes::Bytes;
use half::f16;
use prost::Message;

use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{tensor_shape_proto, DataType, TensorProto, TensorShapeProto};

/// A dense tensor. Numeric data is kept as TensorFlow stores it: row-major,
/// little-endian element bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub dtype: DataType,
    pub shape: Vec<i64>,
    pub data: TensorData,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// Raw little-endian element bytes of a fixed-size dtype.
    Raw(Bytes),
    /// One byte string per element (`DT_STRING`).
    Strings(Vec<Bytes>),
}

/// Number of elements of a fully known shape (a scalar has one); `None`
/// when a dim is negative (unknown) or the count overflows `i64`.
pub fn num_elements(shape: &[i64]) -> Option<i64> {
    if shape.iter().any(|&d| d < 0) {
        return None;
    }
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1i64, |n, &d| n.checked_mul(d))
}

/// [`num_elements`] as a `usize`, for indexing and allocating.
pub fn element_count(shape: &[i64]) -> Option<usize> {
    num_elements(shape).and_then(|n| usize::try_from(n).ok())
}

/// Element strides of a row-major (C order) layout of `shape`.
pub fn row_major_strides(shape: &[i64]) -> Vec<i64> {
    let mut strides = vec![1i64; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    strides
}

/// NumPy broadcasting of two shapes; an unknown dim (`-1`) takes the other
/// side's size. `None` when the shapes do not broadcast.
pub fn broadcast_shape(a: &[i64], b: &[i64]) -> Option<Vec<i64>> {
    let rank = a.len().max(b.len());
    let dim = |shape: &[i64], d: usize| if d + shape.len() < rank { 1 } else { shape[d + shape.len() - rank] };
    (0..rank)
        .map(|d| match (dim(a, d), dim(b, d)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            (-1, y) | (y, -1) => Some(y),
            _ => None,
        })
        .collect()
}

/// Decoding a `TensorProto` may repeat its last value to fill the shape; an
/// expansion to more than this many bytes, and more than
/// [`MAX_EXPANSION_RATIO`] times the proto's own encoded size, is refused, so
/// a few bytes of graph cannot make the process allocate gigabytes (an
/// allocation failure aborts the process, which nothing can catch).
pub const MAX_EXPANDED_BYTES: u64 = 64 << 20;

/// See [`MAX_EXPANDED_BYTES`].
pub const MAX_EXPANSION_RATIO: u64 = 64;

pub fn shape_proto(shape: &[i64]) -> TensorShapeProto {
    TensorShapeProto {
        dim: shape.iter().map(|&size| tensor_shape_proto::Dim { size, name: String::new() }).collect(),
        unknown_rank: false,
    }
}

/// Dims of a shape proto; `None` when the rank is unknown.
pub fn shape_dims(shape: &TensorShapeProto) -> Option<Vec<i64>> {
    if shape.unknown_rank {
        None
    } else {
        Some(shape.dim.iter().map(|d| d.size).collect())
    }
}

/// `[2, 3]`, or `[?, 3]` for unknown dims, for messages.
pub fn format_shape(shape: &[i64]) -> String {
    let dims: Vec<String> = shape.iter().map(|&d| if d < 0 { "?".to_string() } else { d.to_string() }).collect();
    format!("[{}]", dims.join(", "))
}

impl Tensor {
    /// Elements of the tensor's shape (checked when the tensor was decoded;
    /// saturates for a hand-built tensor whose shape overflows).
    pub fn num_elements(&self) -> i64 {
        num_elements(&self.shape).unwrap_or(i64::MAX)
    }

    /// Bytes of the element data (string tensors: the sum of the strings).
    pub fn byte_len(&self) -> usize {
        match &self.data {
            TensorData::Raw(bytes) => bytes.len(),
            TensorData::Strings(strings) => strings.iter().map(Bytes::len).sum(),
        }
    }

    pub fn raw(&self) -> Option<&Bytes> {
        match &self.data {
            TensorData::Raw(bytes) => Some(bytes),
            TensorData::Strings(_) => None,
        }
    }

    /// A float32 tensor from values.
    pub fn from_f32(shape: Vec<i64>, values: &[f32]) -> Tensor {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor { dtype: DataType::DtFloat, shape, data: TensorData::Raw(Bytes::from(bytes)) }
    }

    /// An int32 tensor from values.
    pub fn from_i32(shape: Vec<i64>, values: &[i32]) -> Tensor {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Tensor { dtype: DataType::DtInt32, shape, data: TensorData::Raw(Bytes::from(bytes)) }
    }

    /// A float32 tensor's elements, borrowed from its bytes where they are
    /// aligned (a large weight is not copied), else copied; `None` for other dtypes.
    pub fn f32_values(&self) -> Option<std::borrow::Cow<'_, [f32]>> {
        let bytes = self.raw().filter(|_| self.dtype == DataType::DtFloat)?;
        #[cfg(target_endian = "little")]
        {
            // SAFETY: every bit pattern is a valid f32; `align_to` only borrows the aligned middle.
            let (head, middle, tail) = unsafe { bytes.align_to::<f32>() };
            if head.is_empty() && tail.is_empty() {
                return Some(std::borrow::Cow::Borrowed(middle));
            }
        }
        self.to_f32_vec().map(std::borrow::Cow::Owned)
    }

    /// The elements as f32, for float32 (exact) and float16, bfloat16 and
    /// float64 (converted); `None` for other dtypes.
    pub fn to_f32_vec(&self) -> Option<Vec<f32>> {
        let bytes = self.raw()?;
        Some(match self.dtype {
            DataType::DtFloat => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            DataType::DtDouble => {
                bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect()
            }
            DataType::DtHalf => bytes.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            DataType::DtBfloat16 => bytes
                .chunks_exact(2)
                .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
                .collect(),
            _ => return None,
        })
    }

    /// The `TensorProto` TensorFlow's own freezer writes: numeric data in
    /// `tensor_content`, strings in `string_val`.
    pub fn to_proto(&self) -> TensorProto {
        let mut proto = TensorProto {
            dtype: self.dtype as i32,
            tensor_shape: Some(shape_proto(&self.shape)),
            ..Default::default()
        };
        match &self.data {
            TensorData::Raw(bytes) => proto.tensor_content = bytes.clone(),
            TensorData::Strings(strings) => proto.string_val = strings.iter().map(|s| s.to_vec()).collect(),
        }
        proto
    }

    /// Decodes a `TensorProto` with TensorFlow's rules: `tensor_content` if
    /// present, else the typed field, repeating its last value to fill the
    /// shape (none means zeros). Element counts and byte sizes are checked for
    /// overflow, and an expansion beyond [`MAX_EXPANDED_BYTES`] (and
    /// [`MAX_EXPANSION_RATIO`] × the proto's size) is a
    /// [`ErrorKind::GraphInvalid`]; callers name the node.
    pub fn from_proto(proto: &TensorProto) -> Result<Tensor> {
        let dtype = dtype::from_i32(proto.dtype);
        let shape = match &proto.tensor_shape {
            Some(s) => shape_dims(s).ok_or_else(|| invalid("tensor has unknown rank"))?,
            None => Vec::new(),
        };
        if shape.iter().any(|&d| d < 0) {
            return Err(invalid(format!("tensor shape {} is not fully known", format_shape(&shape))));
        }
        let too_many =
            || invalid(format!("tensor shape {} has more elements than can be addressed", format_shape(&shape)));
        let n = num_elements(&shape).and_then(|n| usize::try_from(n).ok()).ok_or_else(too_many)?;
        if dtype == DataType::DtString {
            let values = &proto.string_val;
            let given: u64 = values.iter().map(|v| v.len() as u64).sum();
            let repeated = values.last().map_or(0, |v| v.len() as u64);
            let expanded = (n as u64)
                .checked_mul(std::mem::size_of::<Bytes>() as u64)
                .and_then(|b| b.checked_add(given))
                .and_then(|b| {
                    (n.saturating_sub(values.len()) as u64).checked_mul(repeated).and_then(|r| b.checked_add(r))
                })
                .ok_or_else(too_many)?;
            check_expansion(proto, &shape, dtype, expanded)?;
            // One `Bytes` per given value; repeating the last one shares its bytes.
            let values: Vec<Bytes> = values.iter().map(|v| Bytes::from(v.clone())).collect();
            let strings = fill(values.len(), n, |i| values[i].clone(), Bytes::new())?;
            return Ok(Tensor { dtype, shape, data: TensorData::Strings(strings) });
        }
        let size = dtype::element_size(dtype).ok_or_else(|| {
            Error::new(ErrorKind::UnsupportedDtype, format!("cannot read a {} constant", dtype::enum_name(dtype)))
        })?;
        let byte_len = n.checked_mul(size).ok_or_else(too_many)?;
        if !proto.tensor_content.is_empty() {
            if proto.tensor_content.len() != byte_len {
                return Err(invalid(format!(
                    "tensor_content holds {} bytes, shape {} of {} needs {byte_len}",
                    proto.tensor_content.len(),
                    format_shape(&shape),
                    dtype::name(dtype),
                )));
            }
            return Ok(Tensor { dtype, shape, data: TensorData::Raw(proto.tensor_content.clone()) });
        }
        check_expansion(proto, &shape, dtype, byte_len as u64)?;
        let bytes = typed_values_le(proto, dtype, n)?;
        Ok(Tensor { dtype, shape, data: TensorData::Raw(Bytes::from(bytes)) })
    }
}

/// Refuses to decode `proto` into `bytes` bytes when that is both more than
/// [`MAX_EXPANDED_BYTES`] and more than [`MAX_EXPANSION_RATIO`] × its encoded size.
fn check_expansion(proto: &TensorProto, shape: &[i64], dtype: DataType, bytes: u64) -> Result<()> {
    let encoded = proto.encoded_len() as u64;
    if bytes <= MAX_EXPANDED_BYTES || bytes <= encoded.saturating_mul(MAX_EXPANSION_RATIO) {
        return Ok(());
    }
    Err(invalid(format!(
        "a {encoded}-byte tensor of shape {} ({}) would expand to {bytes} bytes; refusing more than {} MiB from so little",
        format_shape(shape),
        dtype::name(dtype),
        MAX_EXPANDED_BYTES >> 20
    )))
}

/// Bytes the value of a `TensorProto` takes once decoded, computed from its
/// shape and dtype without decoding it (strings: their bytes, the last one
/// repeated to fill the shape). Saturates instead of overflowing; `None` for
/// an unknown shape or a dtype without a fixed element size.
pub fn decoded_byte_len(proto: &TensorProto) -> Option<u64> {
    let shape = match &proto.tensor_shape {
        Some(s) => shape_dims(s)?,
        None => Vec::new(),
    };
    let n = u64::try_from(num_elements(&shape)?).ok()?;
    let dtype = dtype::from_i32(proto.dtype);
    if dtype == DataType::DtString {
        let given: u64 = proto.string_val.iter().map(|v| v.len() as u64).sum();
        let repeated = proto.string_val.last().map_or(0, |v| v.len() as u64);
        let missing = n.saturating_sub(proto.string_val.len() as u64);
        return Some(given.saturating_add(missing.saturating_mul(repeated)));
    }
    Some(n.saturating_mul(dtype::element_size(dtype)? as u64))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::GraphInvalid, message)
}

/// `m` given values stretched to `n`: as is, last value repeated, or `zero`.
fn fill<T: Clone>(m: usize, n: usize, value: impl Fn(usize) -> T, zero: T) -> Result<Vec<T>> {
    if m > n {
        return Err(invalid(format!("tensor holds {m} values but its shape has {n} elements")));
    }
    Ok((0..n).map(|i| if m == 0 { zero.clone() } else { value(i.min(m - 1)) }).collect())
}

/// Element bytes from the typed repeated field that belongs to `dtype`.
fn typed_values_le(p: &TensorProto, dtype: DataType, n: usize) -> Result<Vec<u8>> {
    use DataType::*;
    fn le<T: Copy, const W: usize>(values: &[T], n: usize, to: impl Fn(T) -> [u8; W]) -> Result<Vec<u8>> {
        let items = fill(values.len(), n, |i| to(values[i]), [0u8; W])?;
        Ok(items.concat())
    }
    match dtype {
        DtFloat => le(&p.float_val, n, f32::to_le_bytes),
        DtDouble => le(&p.double_val, n, f64::to_le_bytes),
        DtInt32 | DtQint32 => le(&p.int_val, n, i32::to_le_bytes),
        DtInt16 | DtQint16 => le(&p.int_val, n, |v| (v as i16).to_le_bytes()),
        DtUint16 | DtQuint16 => le(&p.int_val, n, |v| (v as u16).to_le_bytes()),
        DtInt8 | DtQint8 => le(&p.int_val, n, |v| [v as i8 as u8]),
        DtUint8 | DtQuint8 => le(&p.int_val, n, |v| [v as u8]),
        DtInt64 => le(&p.int64_val, n, i64::to_le_bytes),
        DtUint32 => le(&p.uint32_val, n, u32::to_le_bytes),
        DtUint64 => le(&p.uint64_val, n, u64::to_le_bytes),
        DtBool => le(&p.bool_val, n, |v| [u8::from(v)]),
        DtHalf | DtBfloat16 => le(&p.half_val, n, |v| (v as u16).to_le_bytes()),
        DtComplex64 => {
            let pairs: Vec<[f32; 2]> = p.scomplex_val.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
            le(&pairs, n, |[re, im]| {
                let mut out = [0u8; 8];
                out[..4].copy_from_slice(&re.to_le_bytes());
                out[4..].copy_from_slice(&im.to_le_bytes());
                out
            })
        }
        DtComplex128 => {
            let pairs: Vec<[f64; 2]> = p.dcomplex_val.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
            le(&pairs, n, |[re, im]| {
                let mut out = [0u8; 16];
                out[..8].copy_from_slice(&re.to_le_bytes());
                out[8..].copy_from_slice(&im.to_le_bytes());
                out
            })
        }
        _ => {
            Err(Error::new(ErrorKind::UnsupportedDtype, format!("cannot read a {} constant", dtype::enum_name(dtype))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_the_last_value_to_fill_the_shape() {
        let proto = TensorProto {
            dtype: DataType::DtInt32 as i32,
            tensor_shape: Some(shape_proto(&[5])),
            int_val: vec![1, 2],
            ..Default::default()
        };
        let t = Tensor::from_proto(&proto).unwrap();
        let values: Vec<i32> =
            t.raw().unwrap().chunks_exact(4).map(|c| i32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(values, [1, 2, 2, 2, 2]);
    }

    /// The cases our own conversion used to be checked against: the `half`
    /// crate must round to nearest even and keep subnormals, as numpy and
    /// TF.js do.
    #[test]
    fn half_precision_converts_like_numpy() {
        let to_half = |v: f32| f16::from_f32(v).to_bits();
        let from_half = |b: u16| f16::from_bits(b).to_f32();
        for (value, bits) in [(0.0f32, 0u16), (1.0, 0x3c00), (-2.5, 0xc100), (65504.0, 0x7bff), (5.960_464_5e-8, 1)] {
            assert_eq!(to_half(value), bits, "{value}");
            assert_eq!(from_half(bits), value, "{bits:#x}");
        }
        assert_eq!(to_half(1e9), 0x7c00);
        assert!(from_half(to_half(f32::NAN)).is_nan());
        // 1 + 2^-11 lies halfway between two halves: ties go to the even one.
        assert_eq!(to_half(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(to_half(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        // bfloat16 is the top half of a float32.
        assert_eq!(half::bf16::from_bits(0x3fc0).to_f32(), 1.5);
    }

    #[test]
    fn no_values_means_zeros() {
        let proto = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: Some(shape_proto(&[2, 3])),
            ..Default::default()
        };
        assert_eq!(Tensor::from_proto(&proto).unwrap().raw().unwrap().as_ref(), &[0u8; 24]);
    }

    #[test]
    fn one_value_cannot_fill_a_huge_shape() {
        let proto = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: Some(shape_proto(&[1 << 40])),
            float_val: vec![1.0],
            ..Default::default()
        };
        let err = Tensor::from_proto(&proto).unwrap_err();
        assert_eq!(err.kind, ErrorKind::GraphInvalid);
        assert!(err.message.contains("would expand"), "{}", err.message);
        let strings = TensorProto {
            dtype: DataType::DtString as i32,
            tensor_shape: Some(shape_proto(&[1 << 40])),
            string_val: vec![b"x".to_vec()],
            ..Default::default()
        };
        assert_eq!(Tensor::from_proto(&strings).unwrap_err().kind, ErrorKind::GraphInvalid);
        // A modest expansion is still fine: 1 MiB of zeros from a few bytes.
        let zeros = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: Some(shape_proto(&[512, 512])),
            ..Default::default()
        };
        assert_eq!(Tensor::from_proto(&zeros).unwrap().byte_len(), 1 << 20);
    }

    #[test]
    fn counts_elements_without_overflow() {
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[2, 0, 3]), Some(0));
        assert_eq!(element_count(&[-1, 3]), None);
        assert_eq!(element_count(&[i64::MAX, i64::MAX]), None);
    }

    #[test]
    fn element_counts_that_overflow_are_errors() {
        assert_eq!(num_elements(&[1 << 62, 1 << 62]), None);
        assert_eq!(num_elements(&[1 << 62, 1 << 62, 0]), Some(0));
        assert_eq!(num_elements(&[2, -1]), None);
        assert_eq!(num_elements(&[]), Some(1));
        for shape in [vec![1i64 << 62, 1 << 62], vec![1 << 62, 8]] {
            let proto = TensorProto {
                dtype: DataType::DtDouble as i32,
                tensor_shape: Some(shape_proto(&shape)),
                tensor_content: Bytes::from_static(&[0; 8]),
                ..Default::default()
            };
            assert_eq!(Tensor::from_proto(&proto).unwrap_err().kind, ErrorKind::GraphInvalid, "{shape:?}");
        }
    }

    #[test]
    fn decoded_sizes_come_from_the_shape_alone() {
        let proto = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: Some(shape_proto(&[1 << 40])),
            float_val: vec![1.0],
            ..Default::default()
        };
        assert_eq!(decoded_byte_len(&proto), Some(4 << 40));
        let strings = TensorProto {
            dtype: DataType::DtString as i32,
            tensor_shape: Some(shape_proto(&[3])),
            string_val: vec![b"ab".to_vec(), b"xyz".to_vec()],
            ..Default::default()
        };
        assert_eq!(decoded_byte_len(&strings), Some(8));
    }

    #[test]
    fn rejects_a_content_of_the_wrong_size() {
        let proto = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: Some(shape_proto(&[2])),
            tensor_content: Bytes::from_static(&[0; 7]),
            ..Default::default()
        };
        assert_eq!(Tensor::from_proto(&proto).unwrap_err().kind, ErrorKind::GraphInvalid);
    }
}
