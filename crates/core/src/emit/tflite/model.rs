//! The model being built: tensors, buffers, operator codes and operators of
//! the one subgraph, and the signature, serialized by [`ModelBuilder::finish`].

use std::collections::HashMap;

use super::schema_generated::tflite::{
    Buffer, BuiltinOperator, BuiltinOptions, Model, Operator, OperatorCode, QuantizationParameters, SignatureDef,
    SubGraph, Tensor, TensorMap, TensorType,
};
use super::SIGNATURE_KEY;

/// TFLite's schema version (`Model.version`) and file identifier.
const SCHEMA_VERSION: u32 = 3;
const FILE_IDENTIFIER: [u8; 4] = *b"TFL3";

/// An index into the subgraph's tensors, as operators name their inputs
/// (`-1` is an absent optional input).
pub(super) type TensorIndex = i32;
pub(super) const NO_TENSOR: TensorIndex = -1;

pub(super) struct ModelBuilder {
    pub(super) tensors: Vec<Tensor>,
    /// The constants' bytes; `buffers[0]` is the empty buffer every
    /// non-constant tensor points at.
    pub(super) buffers: Vec<Option<Vec<u8>>>,
    pub(super) codes: Vec<OperatorCode>,
    code_index: HashMap<(BuiltinOperator, i32), u32>,
    pub(super) operators: Vec<Operator>,
    /// DEQUANTIZEs of constants, which run first (see [`ModelBuilder::operator`]).
    pub(super) unpacks: Vec<Operator>,
    pub(super) inputs: Vec<(String, TensorIndex)>,
    pub(super) outputs: Vec<(String, TensorIndex)>,
}

impl ModelBuilder {
    pub(super) fn new() -> Self {
        ModelBuilder {
            tensors: Vec::new(),
            buffers: vec![None],
            codes: Vec::new(),
            code_index: HashMap::new(),
            operators: Vec::new(),
            unpacks: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
        }
    }

    /// A tensor computed at run time. `shape` is `None` when unknown; a `-1`
    /// dim is written as 1 in `shape` and kept in `shape_signature`.
    pub(super) fn tensor(&mut self, name: &str, dtype: TensorType, shape: Option<&[i32]>) -> TensorIndex {
        self.push(name, dtype, shape, 0)
    }

    /// A constant tensor holding `data` (row-major, little-endian).
    pub(super) fn constant(&mut self, name: &str, dtype: TensorType, shape: &[i32], data: Vec<u8>) -> TensorIndex {
        let buffer = self.buffers.len() as u32;
        self.buffers.push(Some(data));
        self.push(name, dtype, Some(shape), buffer)
    }

    fn push(&mut self, name: &str, dtype: TensorType, shape: Option<&[i32]>, buffer: u32) -> TensorIndex {
        let dynamic = shape.is_some_and(|s| s.contains(&-1));
        self.tensors.push(Tensor {
            shape: shape.map(|s| s.iter().map(|&d| if d < 0 { 1 } else { d }).collect()),
            shape_signature: shape.filter(|_| dynamic).map(<[i32]>::to_vec),
            has_rank: shape.is_some(),
            type_: dtype,
            buffer,
            name: Some(name.to_string()),
            ..Default::default()
        });
        (self.tensors.len() - 1) as TensorIndex
    }

    /// Symmetric quantization of a tensor: `f = scale[c] * q` along `axis`
    /// (one scale: the whole tensor).
    pub(super) fn quantize(&mut self, tensor: TensorIndex, scales: Vec<f32>, axis: usize) {
        self.tensors[tensor as usize].quantization = Some(Box::new(QuantizationParameters {
            zero_point: Some(vec![0; scales.len()]),
            scale: Some(scales),
            quantized_dimension: axis as i32,
            ..Default::default()
        }));
    }

    pub(super) fn rename(&mut self, tensor: TensorIndex, name: &str) {
        self.tensors[tensor as usize].name = Some(name.to_string());
    }

    pub(super) fn operator(
        &mut self,
        op: BuiltinOperator,
        inputs: Vec<TensorIndex>,
        outputs: Vec<TensorIndex>,
        options: Option<BuiltinOptions>,
    ) {
        let version = self.version_of(op, &inputs);
        let opcode_index = self.code(op, version);
        // A constant's DEQUANTIZE goes ahead of every other operator, where
        // TensorFlow's converter puts it, so runtimes see the order they are
        // tested with.
        let unpack = op == BuiltinOperator::Dequantize && self.tensors[inputs[0] as usize].buffer != 0;
        let operator = Operator {
            opcode_index,
            inputs: Some(inputs),
            outputs: Some(outputs),
            builtin_options: options,
            ..Default::default()
        };
        if unpack {
            self.unpacks.push(operator);
        } else {
            self.operators.push(operator);
        }
    }

    /// The index of `op` at `version` in the operator codes, added if new.
    pub(super) fn code(&mut self, op: BuiltinOperator, version: i32) -> u32 {
        let next = self.codes.len() as u32;
        let opcode_index = *self.code_index.entry((op, version)).or_insert(next);
        if opcode_index == next {
            let code = op as i32;
            self.codes.push(OperatorCode {
                // The byte field predates codes past 127, which it holds as 127.
                deprecated_builtin_code: code.min(127) as i8,
                builtin_code: op,
                version,
                custom_code: None,
            });
        }
        opcode_index
    }

    /// A run-time tensor like `t` (name + `suffix`), holding no data.
    pub(super) fn copy_tensor(&mut self, t: TensorIndex, suffix: &str) -> TensorIndex {
        let mut copy = self.tensors[t as usize].clone();
        copy.name = Some(format!("{}{suffix}", copy.name.as_deref().unwrap_or_default()));
        copy.buffer = 0;
        self.tensors.push(copy);
        (self.tensors.len() - 1) as TensorIndex
    }

    /// The elements of the float32 constant `t`.
    pub(super) fn float_values(&self, t: TensorIndex) -> Vec<f32> {
        let bytes = self.buffers[self.tensors[t as usize].buffer as usize].as_deref().unwrap_or_default();
        bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    }

    /// Drops the tensors (and their buffers) no operator, input or output
    /// names, and the operator codes no operator runs, renumbering the rest:
    /// what a rewrite left behind.
    pub(super) fn compact(&mut self) {
        self.drop_unused_codes();
        let mut used = vec![false; self.tensors.len()];
        let named = self.inputs.iter().chain(&self.outputs).map(|&(_, t)| t);
        let operands = self
            .unpacks
            .iter()
            .chain(&self.operators)
            .flat_map(|op| op.inputs.iter().flatten().chain(op.outputs.iter().flatten()).copied());
        for t in named.chain(operands).filter(|&t| t >= 0) {
            used[t as usize] = true;
        }
        let mut renumbered = vec![NO_TENSOR; self.tensors.len()];
        let mut kept = Vec::new();
        let mut buffers = vec![None];
        for (i, mut tensor) in std::mem::take(&mut self.tensors).into_iter().enumerate() {
            if !used[i] {
                continue;
            }
            if tensor.buffer != 0 {
                buffers.push(self.buffers[tensor.buffer as usize].take());
                tensor.buffer = (buffers.len() - 1) as u32;
            }
            renumbered[i] = kept.len() as TensorIndex;
            kept.push(tensor);
        }
        self.tensors = kept;
        self.buffers = buffers;
        let map = |t: &mut TensorIndex| {
            if *t >= 0 {
                *t = renumbered[*t as usize];
            }
        };
        for op in self.unpacks.iter_mut().chain(self.operators.iter_mut()) {
            op.inputs.iter_mut().flatten().for_each(map);
            op.outputs.iter_mut().flatten().for_each(map);
        }
        for (_, t) in self.inputs.iter_mut().chain(self.outputs.iter_mut()) {
            map(t);
        }
    }

    fn drop_unused_codes(&mut self) {
        let mut renumbered: Vec<Option<u32>> = vec![None; self.codes.len()];
        let mut codes = Vec::new();
        for op in self.unpacks.iter_mut().chain(self.operators.iter_mut()) {
            let old = op.opcode_index as usize;
            let new = *renumbered[old].get_or_insert_with(|| {
                codes.push(self.codes[old].clone());
                (codes.len() - 1) as u32
            });
            op.opcode_index = new;
        }
        self.code_index = codes.iter().enumerate().map(|(i, c)| ((c.builtin_code, c.version), i as u32)).collect();
        self.codes = codes;
    }

    /// The float tensors computed at run time, the inputs among them, by
    /// name: what calibration measures.
    pub(super) fn activations(&self) -> Vec<(String, TensorIndex)> {
        let inputs = self.inputs.iter().map(|&(_, t)| t);
        let written = self.operators.iter().flat_map(|op| op.outputs.iter().flatten().copied());
        let mut seen = std::collections::HashSet::new();
        inputs
            .chain(written)
            .filter(|t| *t >= 0 && seen.insert(*t))
            .filter(|&t| self.tensors[t as usize].type_ == TensorType::Float32)
            .map(|t| (self.tensors[t as usize].name.clone().unwrap_or_default(), t))
            .collect()
    }

    /// The operator version TensorFlow's converter gives an op reading these
    /// inputs, which a runtime checks against the kernel versions it has.
    /// Float ops are version 1; the others are those of the encodings this
    /// writer stores (per-channel int8 weights, float16, int8 activations).
    pub(super) fn version_of(&self, op: BuiltinOperator, inputs: &[TensorIndex]) -> i32 {
        let tensor = |k: usize| inputs.get(k).filter(|&&t| t >= 0).map(|&t| &self.tensors[t as usize]);
        let stored = |k: usize| tensor(k).map(|t| t.type_);
        let per_channel = |k: usize| {
            tensor(k).and_then(|t| t.quantization.as_ref()).and_then(|q| q.scale.as_ref()).is_some_and(|s| s.len() > 1)
        };
        match (op, stored(0), stored(1)) {
            (BuiltinOperator::Dequantize, Some(TensorType::Float16), _) => 3,
            (BuiltinOperator::Dequantize, Some(TensorType::Int8), _) if per_channel(0) => 5,
            (BuiltinOperator::Dequantize, Some(TensorType::Int8), _) => 2,
            // Hybrid kernels: float activations, int8 weights.
            (BuiltinOperator::Conv2d, Some(TensorType::Float32), Some(TensorType::Int8)) => 5,
            (BuiltinOperator::DepthwiseConv2d, Some(TensorType::Float32), Some(TensorType::Int8)) => 6,
            (BuiltinOperator::FullyConnected, Some(TensorType::Float32), Some(TensorType::Int8)) if per_channel(1) => {
                12
            }
            (BuiltinOperator::FullyConnected, Some(TensorType::Float32), Some(TensorType::Int8)) => 9,
            // Full integer: int8 activations.
            (BuiltinOperator::Conv2d | BuiltinOperator::DepthwiseConv2d, Some(TensorType::Int8), _) => 3,
            (BuiltinOperator::FullyConnected, Some(TensorType::Int8), _) => 4,
            (
                BuiltinOperator::Add
                | BuiltinOperator::AveragePool2d
                | BuiltinOperator::Concatenation
                | BuiltinOperator::Logistic
                | BuiltinOperator::MaxPool2d
                | BuiltinOperator::Mean
                | BuiltinOperator::Mul
                | BuiltinOperator::Pad
                | BuiltinOperator::Relu
                | BuiltinOperator::Relu6
                | BuiltinOperator::Softmax
                | BuiltinOperator::Sub
                | BuiltinOperator::Tanh,
                Some(TensorType::Int8),
                _,
            ) => 2,
            _ => 1,
        }
    }

    pub(super) fn input(&mut self, name: &str, tensor: TensorIndex) {
        self.inputs.push((name.to_string(), tensor));
    }

    pub(super) fn output(&mut self, name: &str, tensor: TensorIndex) {
        self.outputs.push((name.to_string(), tensor));
    }

    pub(super) fn weight_bytes(&self) -> u64 {
        self.buffers.iter().flatten().map(|d| d.len() as u64).sum()
    }

    pub(super) fn finish(self) -> Vec<u8> {
        // Sized for the weights (and their alignment) up front: growing would copy them all again.
        let capacity = self.weight_bytes() as usize + self.buffers.len() * 16 + (1 << 20);
        let indices = |named: &[(String, TensorIndex)]| named.iter().map(|&(_, t)| t).collect::<Vec<_>>();
        let maps = |named: &[(String, TensorIndex)]| {
            named.iter().map(|(name, t)| TensorMap { name: Some(name.clone()), tensor_index: *t as u32 }).collect()
        };
        let subgraph = SubGraph {
            tensors: Some(self.tensors),
            inputs: Some(indices(&self.inputs)),
            outputs: Some(indices(&self.outputs)),
            operators: Some(self.unpacks.into_iter().chain(self.operators).collect()),
            name: Some("main".to_string()),
            ..Default::default()
        };
        let signature = SignatureDef {
            inputs: Some(maps(&self.inputs)),
            outputs: Some(maps(&self.outputs)),
            signature_key: Some(SIGNATURE_KEY.to_string()),
            subgraph_index: 0,
        };
        let mut builder = planus::Builder::with_capacity(capacity);
        // Prepared first, so the weights end the file (planus writes back to
        // front); each is freed once copied in.
        let buffers: Vec<planus::Offset<Buffer>> = self
            .buffers
            .into_iter()
            .map(|data| {
                let data = data.as_deref().map(|d| aligned_bytes(&mut builder, d));
                Buffer::create(&mut builder, data, 0u64, 0u64)
            })
            .collect();
        let model = Model::create(
            &mut builder,
            SCHEMA_VERSION,
            self.codes,
            vec![subgraph],
            format!("unplugin-tfmodel {}", crate::VERSION),
            buffers,
            (),
            (),
            vec![signature],
            (),
            (),
        );
        let mut bytes = builder.finish(model, Some(FILE_IDENTIFIER)).to_vec();
        identifier_after_root_offset(&mut bytes);
        bytes
    }
}

/// The alignment the schema asks of `Buffer.data` (`force_align: 16`), which
/// SIMD kernels reading weights in place rely on.
const BUFFER_ALIGNMENT: usize = 16;

/// A byte vector whose first byte lands on a [`BUFFER_ALIGNMENT`] boundary
/// of the finished file. planus's own `[u8]` writer aligns only the length
/// prefix and ignores `force_align`, so this writes the two parts itself.
fn aligned_bytes(builder: &mut planus::Builder, data: &[u8]) -> planus::Offset<[u8]> {
    // SAFETY: each closure initializes every byte of the slice it is given
    // (`data.len()` bytes, then the 4-byte length), as `write_with` requires.
    unsafe {
        builder.write_with(data.len(), BUFFER_ALIGNMENT - 1, |_, bytes| {
            for (to, from) in bytes.iter_mut().zip(data) {
                to.write(*from);
            }
        });
        builder.write_with(4, 0, |_, bytes| {
            for (to, from) in bytes.iter_mut().zip((data.len() as u32).to_le_bytes()) {
                to.write(from);
            }
        });
    }
    builder.current_offset()
}

/// planus 1.3 writes the file identifier at bytes 0..4 and the root offset
/// after it (counted from byte 4); flatbuffers readers, TFLite's and planus's
/// own, want the root offset at byte 0 and the identifier at bytes 4..8.
/// Swapping the two (the offset now counted from byte 0) moves nothing else.
fn identifier_after_root_offset(bytes: &mut [u8]) {
    if bytes.len() < 8 || bytes[..4] != FILE_IDENTIFIER {
        return;
    }
    let root = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) + 4;
    bytes[..4].copy_from_slice(&root.to_le_bytes());
    bytes[4..8].copy_from_slice(&FILE_IDENTIFIER);
}
