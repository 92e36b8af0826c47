//! An in-memory tensor value and its conversion to and from `TensorProto`.

use bytes::Bytes;

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

/// Number of elements of a fully known shape (a scalar has one).
pub fn num_elements(shape: &[i64]) -> i64 {
    shape.iter().product()
}

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
    pub fn num_elements(&self) -> i64 {
        num_elements(&self.shape)
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

    /// The elements as f32, for float32 (exact) and float16, bfloat16 and
    /// float64 (converted); `None` for other dtypes.
    pub fn to_f32_vec(&self) -> Option<Vec<f32>> {
        let bytes = self.raw()?;
        Some(match self.dtype {
            DataType::DtFloat => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            DataType::DtDouble => {
                bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect()
            }
            DataType::DtHalf => bytes.chunks_exact(2).map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect(),
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
    /// shape (none means zeros).
    pub fn from_proto(proto: &TensorProto) -> Result<Tensor> {
        let dtype = dtype::from_i32(proto.dtype);
        let shape = match &proto.tensor_shape {
            Some(s) => shape_dims(s).ok_or_else(|| invalid("tensor has unknown rank"))?,
            None => Vec::new(),
        };
        if shape.iter().any(|&d| d < 0) {
            return Err(invalid(format!("tensor shape {} is not fully known", format_shape(&shape))));
        }
        let n = num_elements(&shape) as usize;
        if dtype == DataType::DtString {
            let values = &proto.string_val;
            let strings = fill(values.len(), n, |i| Bytes::from(values[i].clone()), Bytes::new())?;
            return Ok(Tensor { dtype, shape, data: TensorData::Strings(strings) });
        }
        let size = dtype::element_size(dtype).ok_or_else(|| {
            Error::new(ErrorKind::UnsupportedDtype, format!("cannot read a {} constant", dtype::enum_name(dtype)))
        })?;
        if !proto.tensor_content.is_empty() {
            if proto.tensor_content.len() != n * size {
                return Err(invalid(format!(
                    "tensor_content holds {} bytes, shape {} of {} needs {}",
                    proto.tensor_content.len(),
                    format_shape(&shape),
                    dtype::name(dtype),
                    n * size
                )));
            }
            return Ok(Tensor { dtype, shape, data: TensorData::Raw(proto.tensor_content.clone()) });
        }
        let bytes = typed_values_le(proto, dtype, n)?;
        Ok(Tensor { dtype, shape, data: TensorData::Raw(Bytes::from(bytes)) })
    }
}

/// IEEE binary16 to binary32 (exact).
pub fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let fraction = u32::from(bits & 0x3ff);
    let magnitude = match (exponent, fraction) {
        (0, 0) => 0,
        (0, f) => {
            // Subnormal: f * 2^-24, exactly representable in f32.
            let value = f as f32 * 2f32.powi(-24);
            return if sign != 0 { -value } else { value };
        }
        (0x1f, 0) => 0x7f80_0000,
        (0x1f, f) => 0x7fc0_0000 | (f << 13),
        (e, f) => ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(sign | magnitude)
}

/// IEEE binary32 to binary16, rounding to nearest even (as numpy and TF.js do).
pub fn f32_to_f16(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = ((bits >> 23) & 0xff) as i32;
    let mantissa = bits & 0x7f_ffff;
    if exponent == 0xff {
        return sign | 0x7c00 | if mantissa != 0 { 0x200 } else { 0 };
    }
    let unbiased = exponent - 127;
    if unbiased > 15 {
        return sign | 0x7c00;
    }
    if unbiased >= -14 {
        let half_exponent = ((unbiased + 15) as u32) << 10;
        let half = half_exponent | (mantissa >> 13);
        let rest = mantissa & 0x1fff;
        let round_up = rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1);
        return sign | (half + u32::from(round_up)) as u16;
    }
    if unbiased < -25 {
        return sign;
    }
    // Subnormal half: shift the full significand into place, round to nearest even.
    let significand = mantissa | 0x80_0000;
    let shift = (-unbiased - 14 + 13) as u32;
    let half = significand >> shift;
    let rest = significand & ((1 << shift) - 1);
    let halfway = 1 << (shift - 1);
    let round_up = rest > halfway || (rest == halfway && (half & 1) == 1);
    sign | (half + u32::from(round_up)) as u16
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

    #[test]
    fn converts_half_precision_both_ways() {
        for (value, bits) in [(0.0f32, 0u16), (1.0, 0x3c00), (-2.5, 0xc100), (65504.0, 0x7bff), (5.960_464_5e-8, 1)] {
            assert_eq!(f32_to_f16(value), bits, "{value}");
            assert_eq!(f16_to_f32(bits), value, "{bits:#x}");
        }
        assert_eq!(f32_to_f16(1e9), 0x7c00);
        assert!(f16_to_f32(f32_to_f16(f32::NAN)).is_nan());
        // 1 + 2^-11 lies halfway between two halves: ties go to the even one.
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
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
