//! TensorFlow dtypes as TFLite tensor types, and constants in the layouts
//! TFLite's kernels read: TensorFlow keeps a convolution's filter as
//! `[h, w, in, out]` and a matmul's weights as `[in, out]`; TFLite wants
//! `[out, h, w, in]`, `[1, h, w, in * multiplier]` (depthwise) and `[out, in]`.

use super::schema_generated::tflite::TensorType;
use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::proto::DataType;
use crate::tensor::Tensor;

/// How a constant is stored for the input it feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Layout {
    /// As TensorFlow holds it.
    AsIs,
    /// A shape, axis or size: int32, whatever integer type TensorFlow used.
    Int32,
    /// `CONV_2D` filter: `[h, w, in, out]` → `[out, h, w, in]`.
    ConvFilter,
    /// `DEPTHWISE_CONV_2D` filter: `[h, w, in, m]` → `[1, h, w, in * m]`,
    /// the same bytes (channel `c * m + k` is input `c`'s `k`-th filter in both).
    DepthwiseFilter,
    /// `FULLY_CONNECTED` weights: `[in, out]` → `[out, in]`.
    Transposed,
    /// `FULLY_CONNECTED` weights already `[out, in]` (`transpose_b`).
    Weights,
}

impl Layout {
    /// Whether the op reading the constant has a hybrid kernel, which takes
    /// int8 weights as they are.
    pub(super) fn takes_int8(self) -> bool {
        matches!(self, Layout::ConvFilter | Layout::DepthwiseFilter | Layout::Transposed | Layout::Weights)
    }

    /// Where a TensorFlow axis of a `rank`-dim constant lands in this layout
    /// (a depthwise filter's channels, TensorFlow's axis 2 over dims 2 and 3, land on 3).
    pub(super) fn axis(self, axis: usize, rank: usize) -> usize {
        match (self, rank) {
            (Layout::ConvFilter, 4) => [1, 2, 3, 0][axis],
            (Layout::DepthwiseFilter, 4) => [1, 2, 3, 3][axis],
            (Layout::Transposed, 2) => 1 - axis,
            _ => axis,
        }
    }
}

pub(super) fn tensor_type(dtype: DataType) -> Option<TensorType> {
    use DataType::*;
    Some(match dtype::base(dtype) {
        DtFloat => TensorType::Float32,
        DtHalf => TensorType::Float16,
        DtDouble => TensorType::Float64,
        DtBfloat16 => TensorType::Bfloat16,
        DtInt8 => TensorType::Int8,
        DtInt16 => TensorType::Int16,
        DtInt32 => TensorType::Int32,
        DtInt64 => TensorType::Int64,
        DtUint8 => TensorType::Uint8,
        DtUint16 => TensorType::Uint16,
        DtUint32 => TensorType::Uint32,
        DtUint64 => TensorType::Uint64,
        DtBool => TensorType::Bool,
        DtComplex64 => TensorType::Complex64,
        DtComplex128 => TensorType::Complex128,
        _ => return None,
    })
}

/// A constant laid out for TFLite: its type, shape and bytes.
pub(super) struct Laid {
    pub dtype: TensorType,
    pub shape: Vec<i32>,
    pub data: Vec<u8>,
}

/// `tensor` (the value of `name`) in `layout`; errors name the constant.
pub(super) fn lay_out(name: &str, tensor: &Tensor, layout: Layout) -> Result<Laid> {
    let fail = |kind, message: String| Error::new(kind, format!("constant \"{name}\" {message}")).about(name);
    let Some(raw) = tensor.raw() else {
        return Err(fail(
            ErrorKind::UnsupportedDtype,
            "is a string tensor, which the TFLite writer does not store".into(),
        ));
    };
    let Some(dtype) = tensor_type(tensor.dtype) else {
        let message = format!("has dtype {}, which TFLite cannot hold", dtype::name(tensor.dtype));
        return Err(fail(ErrorKind::UnsupportedDtype, message));
    };
    let shape = &tensor.shape;
    let Some(dims) = shape.iter().map(|&d| i32::try_from(d).ok()).collect::<Option<Vec<i32>>>() else {
        return Err(fail(ErrorKind::InvalidArgument, "has a dim beyond TFLite's int32 shapes".into()));
    };
    let element = dtype::element_size(tensor.dtype).unwrap_or(1);
    let rank_four = || {
        if dims.len() == 4 {
            Ok(())
        } else {
            Err(fail(ErrorKind::ShapeMismatch, format!("is a filter of rank {}, not 4", dims.len())))
        }
    };
    Ok(match layout {
        Layout::AsIs | Layout::Weights => Laid { dtype, shape: dims, data: raw.to_vec() },
        Layout::Int32 => match tensor.dtype {
            DataType::DtInt32 => Laid { dtype, shape: dims, data: raw.to_vec() },
            DataType::DtInt64 => {
                let mut data = Vec::with_capacity(raw.len() / 2);
                for chunk in raw.chunks_exact(8) {
                    let value = i64::from_le_bytes(chunk.try_into().unwrap());
                    let Ok(value) = i32::try_from(value) else {
                        let message = format!("holds {value}, beyond the int32 TFLite reads");
                        return Err(fail(ErrorKind::InvalidArgument, message));
                    };
                    data.extend_from_slice(&value.to_le_bytes());
                }
                Laid { dtype: TensorType::Int32, shape: dims, data }
            }
            _ => {
                let message = format!("is {}, not an integer", dtype::name(tensor.dtype));
                return Err(fail(ErrorKind::DtypeMismatch, message));
            }
        },
        Layout::ConvFilter => {
            rank_four()?;
            let data = transpose(raw, element, &dims, [3, 0, 1, 2]);
            Laid { dtype, shape: vec![dims[3], dims[0], dims[1], dims[2]], data }
        }
        Layout::DepthwiseFilter => {
            rank_four()?;
            Laid { dtype, shape: vec![1, dims[0], dims[1], dims[2] * dims[3]], data: raw.to_vec() }
        }
        Layout::Transposed => {
            if dims.len() != 2 {
                return Err(fail(ErrorKind::ShapeMismatch, format!("is a matrix of rank {}, not 2", dims.len())));
            }
            let data = transpose(raw, element, &dims, [1, 0]);
            Laid { dtype, shape: vec![dims[1], dims[0]], data }
        }
    })
}

/// Row-major `data` of `shape` with its axes reordered: output axis `i` is input axis `perm[i]`.
fn transpose<const N: usize>(data: &[u8], element: usize, shape: &[i32], perm: [usize; N]) -> Vec<u8> {
    let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    let mut strides = vec![element; N];
    for axis in (0..N.saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let mut out = Vec::with_capacity(data.len());
    let mut index = [0usize; N];
    let total: usize = shape.iter().product();
    for _ in 0..total {
        let offset: usize = (0..N).map(|i| index[i] * strides[perm[i]]).sum();
        out.extend_from_slice(&data[offset..offset + element]);
        // Next output index, last axis fastest.
        for axis in (0..N).rev() {
            index[axis] += 1;
            if index[axis] < out_shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_axes_follow_the_layout() {
        assert_eq!(Layout::ConvFilter.axis(3, 4), 0, "HWIO's out channels lead in OHWI");
        assert_eq!(Layout::DepthwiseFilter.axis(2, 4), 3);
        assert_eq!(Layout::Transposed.axis(1, 2), 0);
        assert_eq!(Layout::Weights.axis(0, 2), 0);
    }

    #[test]
    fn a_matrix_transposes() {
        // [[1, 2, 3], [4, 5, 6]] → [[1, 4], [2, 5], [3, 6]]
        let data: Vec<u8> = (1..=6u8).collect();
        assert_eq!(transpose(&data, 1, &[2, 3], [1, 0]), [1, 4, 2, 5, 3, 6]);
    }

    #[test]
    fn a_filter_puts_out_channels_first() {
        // [h=1, w=2, in=1, out=2]: element (0, w, 0, o) = 10 * w + o.
        let data = [0u8, 1, 10, 11];
        assert_eq!(transpose(&data, 1, &[1, 2, 1, 2], [3, 0, 1, 2]), [0, 10, 1, 11]);
    }
}
