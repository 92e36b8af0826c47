//! Facts about TensorFlow's `DataType` enum: element sizes and short names.

use crate::proto::DataType;

/// Bytes per element as stored in checkpoints and `tensor_content`;
/// `None` for variable-size (string, variant) and graph-only types.
pub fn element_size(dtype: DataType) -> Option<usize> {
    use DataType::*;
    Some(match dtype {
        DtInt8 | DtUint8 | DtBool | DtQint8 | DtQuint8 => 1,
        DtInt16 | DtUint16 | DtHalf | DtBfloat16 | DtQint16 | DtQuint16 => 2,
        DtFloat | DtInt32 | DtUint32 | DtQint32 => 4,
        DtDouble | DtInt64 | DtUint64 | DtComplex64 => 8,
        DtComplex128 => 16,
        DtFloat8E5m2 | DtFloat8E4m3fn | DtFloat8E4m3fnuz | DtFloat8E4m3b11fnuz | DtFloat8E5m2fnuz => 1,
        _ => return None,
    })
}

/// numpy-style name (`float32`, `bfloat16`, `string`), as the CLI and JS see it.
pub fn name(dtype: DataType) -> &'static str {
    use DataType::*;
    match dtype {
        DtFloat => "float32",
        DtDouble => "float64",
        DtHalf => "float16",
        DtBfloat16 => "bfloat16",
        DtInt8 => "int8",
        DtInt16 => "int16",
        DtInt32 => "int32",
        DtInt64 => "int64",
        DtUint8 => "uint8",
        DtUint16 => "uint16",
        DtUint32 => "uint32",
        DtUint64 => "uint64",
        DtBool => "bool",
        DtString => "string",
        DtComplex64 => "complex64",
        DtComplex128 => "complex128",
        DtQint8 => "qint8",
        DtQuint8 => "quint8",
        DtQint16 => "qint16",
        DtQuint16 => "quint16",
        DtQint32 => "qint32",
        DtResource => "resource",
        DtVariant => "variant",
        DtFloat8E5m2 => "float8_e5m2",
        DtFloat8E4m3fn => "float8_e4m3fn",
        DtFloat8E4m3fnuz => "float8_e4m3fnuz",
        DtFloat8E4m3b11fnuz => "float8_e4m3b11fnuz",
        DtFloat8E5m2fnuz => "float8_e5m2fnuz",
        DtInt4 => "int4",
        DtUint4 => "uint4",
        DtInt2 => "int2",
        DtUint2 => "uint2",
        DtFloat4E2m1fn => "float4_e2m1fn",
        DtInvalid => "invalid",
        _ => "ref",
    }
}

/// The TensorFlow enum name (`DT_FLOAT`), for messages about graph attrs.
pub fn enum_name(dtype: DataType) -> &'static str {
    dtype.as_str_name()
}

/// The value type of a ref type (`DT_FLOAT_REF` → `DT_FLOAT`); others unchanged.
pub fn base(dtype: DataType) -> DataType {
    let value = dtype as i32;
    if value > 100 {
        DataType::try_from(value - 100).unwrap_or(dtype)
    } else {
        dtype
    }
}

/// Decodes an enum number, mapping unknown numbers to `DT_INVALID`.
pub fn from_i32(value: i32) -> DataType {
    DataType::try_from(value).unwrap_or(DataType::DtInvalid)
}

/// The dtype TensorFlow.js gives a tensor of this type (it narrows int64 to
/// int32, float64 to float32, ...); `None` for types it cannot hold.
/// The dtype TensorFlow.js holds a value of `dtype` in (`DT_DOUBLE` as
/// `DT_FLOAT`, every integer as `DT_INT32`); the dtype itself when TF.js has none.
pub fn tfjs_dtype(dtype: DataType) -> DataType {
    use DataType::*;
    match tfjs_name(dtype) {
        Some("float32") => DtFloat,
        Some("int32") => DtInt32,
        Some("complex64") => DtComplex64,
        _ => dtype,
    }
}

pub fn tfjs_name(dtype: DataType) -> Option<&'static str> {
    use DataType::*;
    Some(match dtype {
        DtFloat | DtHalf | DtBfloat16 | DtDouble => "float32",
        DtInt8 | DtInt16 | DtInt32 | DtInt64 | DtUint8 | DtUint16 | DtUint32 | DtUint64 => "int32",
        DtBool => "bool",
        DtString => "string",
        DtComplex64 | DtComplex128 => "complex64",
        _ => return None,
    })
}
