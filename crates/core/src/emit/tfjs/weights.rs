//! The weights manifest: each constant's entry (name, shape, dtype, and how
//! it was quantized) and its bytes in the dtype TensorFlow.js holds, narrowed
//! as the module docs of [`super`] describe.

use bytes::Bytes;
use half::{bf16, f16};
use serde_json::{json, Value};

use crate::dtype;
use crate::error::{Error, ErrorKind, Result};
use crate::graph::attr_tensor;
use crate::proto::{DataType, GraphDef, NodeDef, TensorProto};
use crate::quantize::{QuantizedWeight, WeightEncoding};
use crate::tensor::{Tensor, TensorData};

/// Every `Const` with its manifest name, graph nodes first, then those inside
/// library functions as `<function>/<node>`; the flag marks graph nodes.
pub(super) fn constants(graph: &GraphDef) -> impl Iterator<Item = (String, &NodeDef, bool)> {
    let top = graph.node.iter().filter(|n| n.op == "Const").map(|n| (n.name.clone(), n, true));
    let functions = graph.library.iter().flat_map(|library| &library.function).flat_map(|function| {
        let function_name = function.signature.as_ref().map(|s| s.name.clone()).unwrap_or_default();
        function
            .node_def
            .iter()
            .filter(|n| n.op == "Const")
            .map(move |n| (format!("{function_name}/{}", n.name), n, false))
    });
    top.chain(functions)
}

/// Drops a `Const`'s values, keeping its dtype and shape (all the topology
/// keeps of it), once they are encoded into a shard.
pub(super) fn release_value(node: &mut NodeDef) {
    let Some(value) = attr_tensor(node, "value") else { return };
    let shell = TensorProto { dtype: value.dtype, tensor_shape: value.tensor_shape.clone(), ..Default::default() };
    node.attr.insert("value".to_string(), crate::graph::tensor_attr(shell));
}

pub(super) struct EncodedConstant {
    pub(super) entry: Value,
    pub(super) bytes: Bytes,
}

pub(super) fn encode_constant(
    name: &str,
    node: &NodeDef,
    weight: Option<&QuantizedWeight>,
    allow_lossy: bool,
    warnings: &mut Vec<String>,
) -> Result<EncodedConstant> {
    let proto = attr_tensor(node, "value")
        .ok_or_else(|| Error::new(ErrorKind::GraphInvalid, format!("Const \"{name}\" has no value")).about(name))?;
    if let Some(weight) = weight {
        let entry = json!({
            "name": name, "shape": weight.shape, "dtype": "float32", "quantization": quantization_json(weight),
        });
        return Ok(EncodedConstant { entry, bytes: weight.element_bytes().into() });
    }
    let tensor = Tensor::from_proto(proto).map_err(|e| e.prefixed(format_args!("Const \"{name}\"")).about(name))?;
    let (dtype, bytes) = narrow(name, &tensor, allow_lossy, warnings)?;
    Ok(EncodedConstant { entry: json!({ "name": name, "shape": tensor.shape, "dtype": dtype }), bytes })
}

fn quantization_json(weight: &QuantizedWeight) -> Value {
    match &weight.encoding {
        WeightEncoding::Uint8 { min, scale, .. } => {
            json!({ "dtype": "uint8", "min": min, "scale": scale, "original_dtype": "float32" })
        }
        WeightEncoding::Float16 { .. } => json!({ "dtype": "float16", "original_dtype": "float32" }),
        WeightEncoding::Int8 { scales, axis, .. } => {
            let scales: Vec<f64> = scales.iter().map(|&s| f64::from(s)).collect();
            json!({ "dtype": "int8", "scales": scales, "axis": axis, "original_dtype": "float32" })
        }
    }
}

/// The TensorFlow.js dtype of a constant and its bytes in that dtype.
fn narrow(name: &str, tensor: &Tensor, allow_lossy: bool, warnings: &mut Vec<String>) -> Result<(&'static str, Bytes)> {
    use DataType::*;
    let strings = match &tensor.data {
        TensorData::Strings(strings) => return Ok(("string", string_bytes(strings).into())),
        TensorData::Raw(bytes) => bytes,
    };
    let mut lossy = Lossy { name, dtype: tensor.dtype, allow: allow_lossy, warnings };
    let raw = strings.as_ref();
    // Stored as they are, without a copy.
    if let Some(dtype) = match tensor.dtype {
        DtFloat => Some("float32"),
        DtInt32 => Some("int32"),
        DtComplex64 => Some("complex64"),
        _ => None,
    } {
        return Ok((dtype, strings.clone()));
    }
    let converted: (&'static str, Vec<u8>) = match tensor.dtype {
        DtBool => ("bool", raw.iter().map(|&b| u8::from(b != 0)).collect()),
        DtHalf => ("float32", f32_bytes(raw.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()))),
        DtBfloat16 => ("float32", f32_bytes(raw.chunks_exact(2).map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32()))),
        DtDouble => ("float32", lossy.floats(raw.chunks_exact(8).map(le_f64))?),
        DtComplex128 => ("complex64", lossy.floats(raw.chunks_exact(8).map(le_f64))?),
        DtInt8 => ("int32", i32_bytes(raw.iter().map(|&b| i32::from(b as i8)))),
        DtUint8 => ("int32", i32_bytes(raw.iter().map(|&b| i32::from(b)))),
        DtInt16 => ("int32", i32_bytes(raw.chunks_exact(2).map(|c| i32::from(i16::from_le_bytes([c[0], c[1]]))))),
        DtUint16 => ("int32", i32_bytes(raw.chunks_exact(2).map(|c| i32::from(u16::from_le_bytes([c[0], c[1]]))))),
        DtInt64 => (
            "int32",
            lossy.integers(raw.chunks_exact(8).map(|c| i128::from(i64::from_le_bytes(c.try_into().unwrap()))))?,
        ),
        DtUint32 => (
            "int32",
            lossy.integers(raw.chunks_exact(4).map(|c| i128::from(u32::from_le_bytes(c.try_into().unwrap()))))?,
        ),
        DtUint64 => (
            "int32",
            lossy.integers(raw.chunks_exact(8).map(|c| i128::from(u64::from_le_bytes(c.try_into().unwrap()))))?,
        ),
        other => {
            return Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("constant \"{name}\" is {}, which TensorFlow.js cannot hold", dtype::name(other)),
            )
            .about(name))
        }
    };
    Ok((converted.0, converted.1.into()))
}

/// Narrowing that refuses to lose values unless allowed to.
struct Lossy<'a> {
    name: &'a str,
    dtype: DataType,
    allow: bool,
    warnings: &'a mut Vec<String>,
}

impl Lossy<'_> {
    fn integers(&mut self, values: impl Iterator<Item = i128>) -> Result<Vec<u8>> {
        let (mut outside, mut first) = (0usize, None);
        let narrowed = values.map(|v| {
            let clamped = v.clamp(i128::from(i32::MIN), i128::from(i32::MAX));
            if clamped != v {
                outside += 1;
                first.get_or_insert(v);
            }
            clamped as i32
        });
        let bytes = i32_bytes(narrowed);
        self.settle(outside, first.map(|v| v.to_string()), "int32", "clamped to the int32 range")?;
        Ok(bytes)
    }

    fn floats(&mut self, values: impl Iterator<Item = f64>) -> Result<Vec<u8>> {
        let (mut outside, mut first) = (0usize, None);
        let narrowed = values.map(|v| {
            let single = v as f32;
            if v.is_finite() && !single.is_finite() {
                outside += 1;
                first.get_or_insert(v);
            }
            single
        });
        let bytes = f32_bytes(narrowed);
        self.settle(outside, first.map(|v| v.to_string()), "float32", "stored as ±infinity")?;
        Ok(bytes)
    }

    fn settle(&mut self, outside: usize, first: Option<String>, target: &str, what_happens: &str) -> Result<()> {
        if outside == 0 {
            return Ok(());
        }
        let values = if outside == 1 { "value" } else { "values" };
        let problem = format!(
            "constant \"{}\" ({}) holds {outside} {values} outside {target}'s range (first: {}), which TensorFlow.js cannot hold",
            self.name,
            dtype::name(self.dtype),
            first.unwrap_or_default()
        );
        if self.allow {
            self.warnings.push(format!("{problem}; {what_happens}"));
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::UnsupportedDtype,
                format!("{problem} (allow lossy narrowing to store them anyway)"),
            )
            .about(self.name))
        }
    }
}

fn le_f64(c: &[u8]) -> f64 {
    f64::from_le_bytes(c.try_into().expect("8-byte chunk"))
}

fn f32_bytes(values: impl Iterator<Item = f32>) -> Vec<u8> {
    values.flat_map(f32::to_le_bytes).collect()
}

fn i32_bytes(values: impl Iterator<Item = i32>) -> Vec<u8> {
    values.flat_map(i32::to_le_bytes).collect()
}

/// Each string as a little-endian u32 byte length, then its bytes.
fn string_bytes(strings: &[bytes::Bytes]) -> Vec<u8> {
    let mut out = Vec::with_capacity(strings.iter().map(|s| 4 + s.len()).sum());
    for s in strings {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s);
    }
    out
}
