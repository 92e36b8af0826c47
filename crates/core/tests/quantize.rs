//! Weight quantization: the rounding rules TensorFlow and TensorFlow.js use,
//! error bounds per mode, what stays float, byte counts on the fixtures, and
//! the TensorFlow graph that decodes the weights. (test/parity.py runs those
//! graphs in TensorFlow; here their structure is checked, and our float32
//! model of TensorFlow's `MIN_FIRST` kernel against TensorFlow's own outputs.)

use bytes::Bytes;
use half::f16;
use tfmodel_core::emit::{dequantize_into_graph, eightbit_graph, rounded_into_graph, tf_dequantize_min_first};
use tfmodel_core::graph::{attr_int, attr_string, attr_tensor, attr_type};
use tfmodel_core::proto::{attr_value, AttrValue, DataType, GraphDef, NodeDef};
use tfmodel_core::quantize::{
    quantize, QuantizeMode, QuantizeOptions, QuantizedWeight, QuantizedWeights, WeightEncoding,
};
use tfmodel_core::tensor::Tensor;
use tfmodel_core::ErrorKind;

mod common;
use common::{const_node, find, frozen_fixture, graph_of, node};

// ---- helpers ---------------------------------------------------------------

/// splitmix64: a small seeded generator, so the large tests are reproducible.
struct Random(u64);

impl Random {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal (Irwin–Hall: the sum of 12 uniforms, recentred).
    fn normalish(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

fn one_const(values: &[f32], shape: Vec<i64>) -> GraphDef {
    graph_of(vec![const_node("w", &Tensor::from_f32(shape, values))])
}

fn quantize_all(graph: &GraphDef, mode: QuantizeMode) -> QuantizedWeights {
    quantize(graph, &QuantizeOptions { mode, minimum_size: 0 }).unwrap()
}

fn uint8_parts(weight: &QuantizedWeight) -> (&[u8], f64, f64) {
    match &weight.encoding {
        WeightEncoding::Uint8 { values, min, scale } => (values, *min, *scale),
        other => panic!("expected uint8, got {other:?}"),
    }
}

fn int8_parts(weight: &QuantizedWeight) -> (&[i8], &[f32], usize) {
    match &weight.encoding {
        WeightEncoding::Int8 { values, scales, axis } => (values, scales, *axis),
        other => panic!("expected int8, got {other:?}"),
    }
}

fn mean_error(original: &[f32], decoded: &[f32]) -> f64 {
    original.iter().zip(decoded).map(|(&x, &y)| f64::from(y) - f64::from(x)).sum::<f64>() / original.len() as f64
}

// ---- (a) uint8 is unbiased -------------------------------------------------

fn assert_unbiased(values: &[f32], label: &str) {
    let graph = one_const(values, vec![1000, values.len() as i64 / 1000]);
    let weights = quantize_all(&graph, QuantizeMode::Uint8);
    let weight = &weights.weights["w"];
    let (_, _, scale) = uint8_parts(weight);
    let ours = mean_error(values, &weight.decode());
    assert!(ours.abs() < 0.02 * scale, "{label}: mean error {ours:e} is not near zero (scale {scale:e})");
    assert!((weights.report.tensors[0].mean_error - ours).abs() < 1e-12, "{label}: the report says the same");

    // Truncating instead of rounding puts every value at the bottom of its bucket.
    let (lo, hi) = values.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let naive_scale = (f64::from(hi) - f64::from(lo)) / 255.0;
    let truncated: Vec<f32> = values
        .iter()
        .map(|&v| {
            let q = ((f64::from(v) - f64::from(lo)) / naive_scale).floor().min(255.0);
            (f64::from(lo) + q * naive_scale) as f32
        })
        .collect();
    let naive = mean_error(values, &truncated) / naive_scale;
    assert!((-0.55..-0.45).contains(&naive), "{label}: truncation should be biased by about −scale/2, got {naive}");
}

#[test]
fn uint8_rounding_is_unbiased_where_truncation_is_not() {
    let mut random = Random(0x5eed);
    let uniform: Vec<f32> = (0..1_000_000).map(|_| (random.uniform() * 2.3 - 1.0) as f32).collect();
    assert_unbiased(&uniform, "uniform");
    let normal: Vec<f32> = (0..1_000_000).map(|_| (random.normalish() * 0.05) as f32).collect();
    assert_unbiased(&normal, "normal-ish");
}

// ---- (b) worked examples ---------------------------------------------------

#[test]
fn tensorflows_worked_example_keeps_zero_exact() {
    // tf-formats §8.2: range [−0.3, 2.0], scale 255/2.3; q(0) = 33.
    let weights = quantize_all(&one_const(&[-0.3, 0.0, 2.0, 1.0], vec![4]), QuantizeMode::Uint8);
    let weight = &weights.weights["w"];
    let (q, min, scale) = uint8_parts(weight);
    assert_eq!(q, [0, 33, 255, 144]);
    // The range is that of the float32 inputs, in float64.
    let range = 2.0 - f64::from(-0.3f32);
    assert_eq!(scale, 1.0 / (255.0 / range));
    assert_eq!(min, -33.0 * scale);
    let decoded = weight.decode();
    assert_eq!(decoded[1], 0.0, "zero decodes to exactly zero");
    assert!((decoded[0] - -0.29765).abs() < 1e-5, "{}", decoded[0]);
    assert!((decoded[2] - 2.00235).abs() < 1e-5, "{}", decoded[2]);
}

#[test]
fn tensorflow_js_worked_example_gives_the_same_levels() {
    // tf-formats §9.4: the TF.js converter's nudged range lands on the same grid here.
    let weights = quantize_all(&one_const(&[-0.1, 0.0, 1.2, 0.5, -0.05], vec![5]), QuantizeMode::Uint8);
    let weight = &weights.weights["w"];
    let (q, min, scale) = uint8_parts(weight);
    assert_eq!(q, [0, 20, 255, 118, 10]);
    assert!((scale - 1.3 / 255.0).abs() < 1e-9);
    assert!((min - -0.1019608).abs() < 1e-7);
    let decoded = weight.decode();
    assert!((decoded[2] - 1.198039).abs() < 1e-6);
    assert_eq!(decoded[1], 0.0);
}

#[test]
fn a_constant_tensor_decodes_exactly() {
    let weights = quantize_all(&one_const(&[0.75; 3000], vec![3000]), QuantizeMode::Uint8);
    let (q, min, scale) = uint8_parts(&weights.weights["w"]);
    assert!(q.iter().all(|&v| v == 0));
    assert_eq!((min, scale), (0.75, 1.0));
    assert_eq!(weights.report.tensors[0].sqnr_db, f64::INFINITY);
}

// ---- (c) error bounds and what stays float ---------------------------------

fn spread_values(count: usize, seed: u64) -> Vec<f32> {
    let mut random = Random(seed);
    (0..count).map(|i| (random.normalish() * 10f64.powi(i as i32 % 5 - 3)) as f32).collect()
}

#[test]
fn uint8_error_is_at_most_half_a_step() {
    let values = spread_values(20_000, 1);
    let weights = quantize_all(&one_const(&values, vec![20_000]), QuantizeMode::Uint8);
    let weight = &weights.weights["w"];
    let (_, _, scale) = uint8_parts(weight);
    let largest = values.iter().fold(0f32, |m, v| m.max(v.abs()));
    let bound = scale / 2.0 + f64::from(f32::EPSILON * largest);
    for (&x, &y) in values.iter().zip(&weight.decode()) {
        assert!((f64::from(y) - f64::from(x)).abs() <= bound, "{x} decoded as {y}");
    }
    assert!(weights.report.tensors[0].max_abs_error <= bound);
}

#[test]
fn float16_error_is_at_most_half_an_ulp() {
    let mut values = spread_values(20_000, 2);
    values.extend([0.0, -0.0, 1e-8, 6.0e-5, 65504.0, -3.0e-7]);
    let n = values.len() as i64;
    let weights = quantize_all(&one_const(&values, vec![n]), QuantizeMode::Float16);
    for (&x, &y) in values.iter().zip(&weights.weights["w"].decode()) {
        // Half has 10 fraction bits; below 2^-14 the spacing is fixed at 2^-24.
        let exponent = (x.abs() as f64).log2().floor().max(-14.0);
        let half_ulp = 2f64.powf(exponent - 11.0);
        assert!((f64::from(y) - f64::from(x)).abs() <= half_ulp, "{x} decoded as {y}");
    }
}

#[test]
fn float16_leaves_tensors_it_cannot_hold() {
    let mut values = vec![1.0f32; 2000];
    values[7] = 1e6;
    let weights = quantize_all(&one_const(&values, vec![2000]), QuantizeMode::Float16);
    assert!(weights.weights.is_empty());
    assert_eq!(weights.report.skipped[0].name, "w");
    assert_eq!(weights.report.bytes_after, weights.report.bytes_before);
}

/// Per-channel int8 on the three layouts that decide the channel axis.
fn int8_graph() -> (GraphDef, Vec<(&'static str, Vec<f32>)>) {
    let shapes: [(&str, Vec<i64>); 3] =
        [("conv", vec![3, 3, 4, 8]), ("depthwise", vec![3, 3, 4, 2]), ("fc", vec![8, 16])];
    let mut nodes = vec![node("x", "Placeholder", &[])];
    let mut consts = Vec::new();
    for (i, (name, shape)) in shapes.iter().enumerate() {
        let count = shape.iter().product::<i64>() as usize;
        let values = spread_values(count, 10 + i as u64);
        nodes.push(const_node(name, &Tensor::from_f32(shape.clone(), &values)));
        consts.push((*name, values));
    }
    nodes.push(node("conv/read", "Identity", &["conv"]));
    nodes.push(node("y", "Conv2D", &["x", "conv/read"]));
    nodes.push(node("z", "DepthwiseConv2dNative", &["y", "depthwise"]));
    let mut matmul = node("m", "MatMul", &["z", "fc:0"]);
    matmul.attr.insert("transpose_b".into(), AttrValue { value: Some(attr_value::Value::B(true)) });
    nodes.push(matmul);
    (graph_of(nodes), consts)
}

#[test]
fn int8_picks_the_output_channel_axis_and_stays_within_half_a_scale() {
    let (graph, consts) = int8_graph();
    let weights = quantize_all(&graph, QuantizeMode::Int8);
    let expected_layout = [("conv", 3, 8), ("depthwise", 2, 8), ("fc", 0, 8)];
    for ((name, values), (_, axis, channels)) in consts.iter().zip(expected_layout) {
        let weight = &weights.weights[*name];
        let (q, scales, found_axis) = int8_parts(weight);
        assert_eq!((found_axis, scales.len()), (axis, channels), "{name}");
        assert!(q.iter().all(|&v| (-127..=127).contains(&v)));
        // The documented layout: element i uses scales[⌊i / inner⌋ mod count],
        // inner = elements / (Π shape[..axis] · count).
        let outer: i64 = weight.shape[..axis].iter().product();
        let inner = values.len() as i64 / (outer * scales.len() as i64);
        let decoded = weight.decode();
        for (i, (&x, &y)) in values.iter().zip(&decoded).enumerate() {
            let scale = scales[(i / inner as usize) % scales.len()];
            assert_eq!(y, f32::from(q[i]) * scale);
            let bound = f64::from(scale) / 2.0 + f64::from(f32::EPSILON * x.abs());
            assert!((f64::from(y) - f64::from(x)).abs() <= bound, "{name}[{i}]: {x} decoded as {y}");
        }
        // Each channel's largest magnitude maps to ±127.
        for (c, &scale) in scales.iter().enumerate() {
            let top = values.iter().enumerate().filter(|(i, _)| (i / inner as usize) % scales.len() == c);
            let max = top.fold(0f32, |m, (_, v)| m.max(v.abs()));
            assert!((f64::from(max) / f64::from(scale) - 127.0).abs() < 0.01, "{name} channel {c}");
        }
    }
}

#[test]
fn empty_small_and_non_float_tensors_stay_as_they_are() {
    let int_values: Vec<u8> = (0..4000i32).flat_map(|v| v.to_le_bytes()).collect();
    let ints = Tensor {
        dtype: DataType::DtInt32,
        shape: vec![4000],
        data: tfmodel_core::tensor::TensorData::Raw(Bytes::from(int_values)),
    };
    let graph = graph_of(vec![
        const_node("empty", &Tensor::from_f32(vec![0, 4], &[])),
        const_node("small", &Tensor::from_f32(vec![1023], &[0.5; 1023])),
        const_node("big", &Tensor::from_f32(vec![1024], &[0.5; 1024])),
        const_node("ints", &ints),
    ]);
    for mode in [QuantizeMode::Uint8, QuantizeMode::Float16, QuantizeMode::Int8] {
        let weights = quantize(&graph, &QuantizeOptions { mode, ..Default::default() }).unwrap();
        let names: Vec<&str> = weights.weights.keys().map(String::as_str).collect();
        assert_eq!(names, ["big"], "{mode:?}");
        let before = 4 * 1023 + 4 * 1024 + 4 * 4000;
        assert_eq!(weights.report.bytes_before, before);
        let big_after = match mode {
            QuantizeMode::Uint8 => 1024,
            QuantizeMode::Float16 => 2048,
            QuantizeMode::Int8 => 1024 + 4,
            QuantizeMode::Int8Full => unreachable!("not a weight encoding"),
        };
        assert_eq!(weights.report.bytes_after, before - 4096 + big_after, "{mode:?}");
    }
    let none = quantize(&graph, &QuantizeOptions { minimum_size: 0, ..Default::default() }).unwrap();
    assert!(!none.weights.contains_key("empty"), "zero-size tensors are never quantized");
}

#[test]
fn modes_parse_from_the_directive_spellings() {
    assert_eq!("uint8".parse::<QuantizeMode>().unwrap(), QuantizeMode::Uint8);
    assert_eq!("weights".parse::<QuantizeMode>().unwrap(), QuantizeMode::Uint8, "quantize_graph's name");
    // eightbit is a graph of TensorFlow's quantized kernels, which weights for TF.js are not.
    let eightbit = "eightbit".parse::<QuantizeMode>().unwrap_err();
    assert_eq!(eightbit.kind, ErrorKind::InvalidArgument);
    assert!(eightbit.message.contains("--format pb"), "{}", eightbit.message);
    assert_eq!("float16".parse::<QuantizeMode>().unwrap(), QuantizeMode::Float16);
    assert_eq!("int8".parse::<QuantizeMode>().unwrap(), QuantizeMode::Int8);
    assert_eq!("int8-full".parse::<QuantizeMode>().unwrap(), QuantizeMode::Int8Full);
    // Full integer quantizes activations too, which only the TFLite writer does.
    let graph = one_const(&[0.5; 2048], vec![2048]);
    let err = quantize(&graph, &QuantizeOptions { mode: QuantizeMode::Int8Full, ..Default::default() }).unwrap_err();
    assert!(err.message.contains("format=tflite"), "{}", err.message);
    let err = "int4".parse::<QuantizeMode>().unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.suggestions.contains(&"int8".to_string()), "{:?}", err.suggestions);
}

// ---- (d) bytes on the fixtures ---------------------------------------------

#[test]
fn uint8_shrinks_the_fixture_weights_to_a_quarter() {
    for fixture in ["convnet", "detector"] {
        let graph = frozen_fixture(fixture).graph;
        // The fixtures are tiny (the convnet has one tensor of 1024+ elements), so
        // quantize everything to measure the ratio over all weights.
        let all = quantize(&graph, &QuantizeOptions { mode: QuantizeMode::Uint8, minimum_size: 0 }).unwrap();
        let report = &all.report;
        assert!(report.bytes_after as f64 <= 0.26 * report.bytes_before as f64, "{fixture}: {report:?}");
        assert!(report.tensors.iter().all(|t| t.sqnr_db > 30.0), "{fixture}: {:?}", report.tensors);
        // With the default threshold, every quantized tensor is exactly a quarter.
        let large = quantize(&graph, &QuantizeOptions::default()).unwrap();
        assert!(!large.weights.is_empty());
        let quantized_bytes: usize = large.weights.values().map(QuantizedWeight::byte_len).sum();
        let float_bytes: usize = large.weights.values().map(|w| 4 * w.num_elements()).sum();
        assert_eq!(4 * quantized_bytes, float_bytes, "{fixture}");
    }
}

// ---- the TensorFlow graph ----------------------------------------------------

fn const_values(graph: &GraphDef, name: &str) -> Tensor {
    Tensor::from_proto(attr_tensor(find(graph, name), "value").unwrap()).unwrap()
}

#[test]
fn eightbit_graph_replaces_each_weight_with_a_min_first_dequantize() {
    let values = spread_values(3000, 3);
    let graph = graph_of(vec![const_node("w", &Tensor::from_f32(vec![3000], &values)), node("y", "Identity", &["w"])]);
    let weights = quantize(&graph, &QuantizeOptions::default()).unwrap();
    let written = dequantize_into_graph(&graph, &weights).unwrap();
    let names: Vec<&str> = written.node.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["w_quantized_const", "w_quantized_min", "w_quantized_max", "w", "y"]);
    let dequantize = find(&written, "w");
    assert_eq!(dequantize.op, "Dequantize");
    assert_eq!(dequantize.input, ["w_quantized_const", "w_quantized_min", "w_quantized_max"]);
    assert_eq!(attr_type(dequantize, "T"), Some(DataType::DtQuint8));
    assert_eq!(attr_string(dequantize, "mode").as_deref(), Some("MIN_FIRST"));
    let stored = const_values(&written, "w_quantized_const");
    assert_eq!((stored.dtype, stored.byte_len()), (DataType::DtQuint8, 3000));

    // TensorFlow's float32 decoding of the stored range lands on TF.js's value.
    let min = const_values(&written, "w_quantized_min").to_f32_vec().unwrap()[0];
    let max = const_values(&written, "w_quantized_max").to_f32_vec().unwrap()[0];
    let browser = weights.weights["w"].decode();
    let largest = browser.iter().fold(0f32, |m, v| m.max(v.abs()));
    let ulp = f64::from(largest.next_up() - largest);
    for (&q, &want) in stored.raw().unwrap().iter().zip(&browser) {
        let tf = tf_dequantize_min_first(q, min, max);
        assert!((f64::from(tf) - f64::from(want)).abs() <= 1.5 * ulp, "level {q}: TF {tf}, TF.js {want}");
        if want == 0.0 {
            assert_eq!(tf, 0.0, "zero stays exact in TensorFlow too");
        }
    }
}

#[test]
fn float16_graph_casts_half_constants() {
    let values = spread_values(2000, 4);
    let graph = one_const(&values, vec![2000]);
    let weights = quantize(&graph, &QuantizeOptions { mode: QuantizeMode::Float16, ..Default::default() }).unwrap();
    let written = dequantize_into_graph(&graph, &weights).unwrap();
    let cast = find(&written, "w");
    assert_eq!((cast.op.as_str(), cast.input.as_slice()), ("Cast", ["w_float16".to_string()].as_slice()));
    assert_eq!(attr_type(cast, "DstT"), Some(DataType::DtFloat));
    let half = const_values(&written, "w_float16");
    assert_eq!(half.dtype, DataType::DtHalf);
    let decoded: Vec<f32> =
        half.raw().unwrap().chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect();
    assert_eq!(decoded, weights.weights["w"].decode());
}

#[test]
fn int8_graph_dequantizes_per_channel_and_reshapes_depthwise_filters() {
    let (graph, _) = int8_graph();
    let weights = quantize(&graph, &QuantizeOptions { mode: QuantizeMode::Int8, minimum_size: 0 }).unwrap();
    let written = dequantize_into_graph(&graph, &weights).unwrap();

    let conv = find(&written, "conv");
    assert_eq!((conv.op.as_str(), attr_int(conv, "axis")), ("Dequantize", Some(3)));
    assert_eq!(attr_string(conv, "mode").as_deref(), Some("SCALED"));
    assert_eq!(attr_type(conv, "T"), Some(DataType::DtQint8));
    let (_, scales, _) = int8_parts(&weights.weights["conv"]);
    let maxes = const_values(&written, "conv_quantized_max").to_f32_vec().unwrap();
    // TensorFlow recovers each scale as max/127 in float32: it must come back exactly.
    for (&max, &scale) in maxes.iter().zip(scales) {
        assert_eq!(max / 127.0, scale);
    }
    assert_eq!(attr_int(find(&written, "fc"), "axis"), Some(0));

    let reshape = find(&written, "depthwise");
    assert_eq!(reshape.op, "Reshape");
    assert_eq!(reshape.input, ["depthwise_dequantized", "depthwise_shape"]);
    assert_eq!(attr_int(find(&written, "depthwise_dequantized"), "axis"), Some(2));
    assert_eq!(const_values(&written, "depthwise_quantized_const").shape, [3, 3, 8]);
}

#[test]
fn weights_from_another_graph_are_refused() {
    let weights = quantize_all(&one_const(&[1.0, 2.0], vec![2]), QuantizeMode::Uint8);
    let other = one_const(&[1.0, 2.0, 3.0], vec![3]);
    let err = dequantize_into_graph(&other, &weights).unwrap_err();
    assert_eq!((err.kind, err.subject.as_deref()), (ErrorKind::ShapeMismatch, Some("w")));
    let unrelated = graph_of(vec![node("x", "Placeholder", &[])]);
    let err = dequantize_into_graph(&unrelated, &weights).unwrap_err();
    assert_eq!((err.kind, err.subject.as_deref()), (ErrorKind::UnknownNode, Some("w")));
}

#[test]
fn forged_weights_are_refused_not_indexed() {
    use tfmodel_core::emit::tfjs::{to_tfjs, Signature, TfjsOptions};
    let graph = one_const(&[1.0; 6], vec![2, 3]);
    let forge = |encoding: WeightEncoding| {
        let mut weights = quantize_all(&graph, QuantizeMode::Int8);
        weights.weights.insert("w".into(), QuantizedWeight { shape: vec![2, 3], encoding });
        weights
    };
    let cases = [
        ("too few values", WeightEncoding::Uint8 { values: vec![0; 5], min: 0.0, scale: 1.0 }),
        ("too many values", WeightEncoding::Float16 { values: vec![0; 7] }),
        ("an axis past the rank", WeightEncoding::Int8 { values: vec![0; 6], scales: vec![1.0; 3], axis: 5 }),
        ("scales for no axis", WeightEncoding::Int8 { values: vec![0; 6], scales: vec![1.0; 4], axis: 1 }),
    ];
    for (case, encoding) in cases {
        let weights = forge(encoding);
        let err = dequantize_into_graph(&graph, &weights).unwrap_err();
        assert_eq!((err.kind, err.subject.as_deref()), (ErrorKind::ShapeMismatch, Some("w")), "{case}");
        let err = to_tfjs(&graph, Some(&weights), &Signature::default(), &TfjsOptions::default()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::ShapeMismatch, "{case}");
    }
    for (scales, axis) in [(vec![1.0], 0), (vec![1.0; 3], 1), (vec![1.0; 2], 0), (vec![1.0; 6], 0)] {
        let weights = forge(WeightEncoding::Int8 { values: vec![0; 6], scales, axis });
        assert!(dequantize_into_graph(&graph, &weights).is_ok());
    }
}

/// `tf_dequantize_min_first` is our model of TensorFlow's CPU kernel, and the
/// range test above trusts it; these are real TensorFlow 2.21 outputs of
/// `tf.quantization.dequantize(levels, min, max, mode="MIN_FIRST")` for
/// levels 0, 1, 77, 128, 200, 254, 255, as float32 bits. (test/parity.py runs
/// the uint8 `.pb` in TensorFlow too, but only checks held-out accuracy.)
#[test]
fn min_first_model_matches_tensorflows_kernel() {
    const LEVELS: [u8; 7] = [0, 1, 77, 128, 200, 254, 255];
    const TENSORFLOW: [(u32, u32, [u32; 7]); 5] = [
        (0xbf800000, 0x3f800000, [0xbf7eff00, 0xbf7cfcfe, 0xbec8c8ca, 0x3c008080, 0x3f129294, 0x3f7eff00, 0x3f808080]),
        (0xbebe4f76, 0x3f698c7e, [0xbebec6f7, 0xbebc32fb, 0x3c777ea0, 0x3e8b373f, 0x3f226b1e, 0x3f6806be, 0x3f6950bc]),
        (0x00000000, 0x3f000000, [0x00000000, 0x3b008081, 0x3e1a9a9b, 0x3e808081, 0x3ec8c8ca, 0x3efeff00, 0x3f000000]),
        (0xbb23d70a, 0x3bfdf3b6, [0xbb235374, 0xbb20b113, 0x3a1e0eb4, 0x3b2ddcf8, 0x3bb5c41a, 0x3bfce452, 0x3bfe3582]),
        (0xc1400000, 0x40400000, [0xc1400000, 0xc13f0f0f, 0xc0ef0f0f, 0xc08f0f0f, 0xbe70f100, 0x403c3c3c, 0x40400000]),
    ];
    for (min, max, want) in TENSORFLOW {
        let (min, max) = (f32::from_bits(min), f32::from_bits(max));
        for (&q, &bits) in LEVELS.iter().zip(&want) {
            let ours = tf_dequantize_min_first(q, min, max);
            assert_eq!(
                ours.to_bits(),
                bits,
                "level {q} of [{min}, {max}]: ours {ours}, TensorFlow's {}",
                f32::from_bits(bits)
            );
        }
    }
}

#[test]
fn weights_rounded_keeps_float32_constants_on_the_uint8_grid() {
    let values = spread_values(3000, 5);
    let graph = graph_of(vec![const_node("w", &Tensor::from_f32(vec![3000], &values)), node("y", "Identity", &["w"])]);
    let weights = quantize(&graph, &QuantizeOptions::default()).unwrap();
    let written = rounded_into_graph(&graph, &weights).unwrap();
    let names: Vec<&str> = written.node.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["w", "y"]);
    let rounded = const_values(&written, "w");
    assert_eq!(rounded.dtype, DataType::DtFloat);
    let got = rounded.to_f32_vec().unwrap();
    assert_eq!(got, weights.weights["w"].decode());
    assert_ne!(got, values, "the values moved onto the grid");
    let levels: std::collections::BTreeSet<u32> = got.iter().map(|v| v.to_bits()).collect();
    assert!(levels.len() <= 256, "{} distinct values", levels.len());
}

// ---- the eightbit graph ------------------------------------------------------

fn with_attrs(mut node: NodeDef, attrs: &[(&str, AttrValue)]) -> NodeDef {
    for (key, value) in attrs {
        node.attr.insert(key.to_string(), value.clone());
    }
    node
}

fn float_t() -> (&'static str, AttrValue) {
    ("T", AttrValue { value: Some(attr_value::Value::Type(DataType::DtFloat as i32)) })
}

fn ints(values: &[i64]) -> AttrValue {
    AttrValue {
        value: Some(attr_value::Value::List(attr_value::ListValue { i: values.to_vec(), ..Default::default() })),
    }
}

fn text(value: &str) -> AttrValue {
    AttrValue { value: Some(attr_value::Value::S(value.as_bytes().to_vec())) }
}

/// x → Conv2D → BiasAdd → Relu → MaxPool → Reshape → MatMul → Softmax, a
/// ConcatV2 of the Relu with itself (negative axis) as a second output, and a
/// dilated Conv2D (no quantized kernel) sharing the first conv's filter.
fn eightbit_model() -> GraphDef {
    let mut x = node("x", "Placeholder", &[]);
    x.attr.insert("dtype".into(), AttrValue { value: Some(attr_value::Value::Type(DataType::DtFloat as i32)) });
    x.attr.insert(
        "shape".into(),
        AttrValue { value: Some(attr_value::Value::Shape(tfmodel_core::tensor::shape_proto(&[1, 8, 8, 3]))) },
    );
    let conv = |name: &str, dilations: &[i64]| {
        with_attrs(
            node(name, "Conv2D", &["x", "w"]),
            &[float_t(), ("strides", ints(&[1, 1, 1, 1])), ("padding", text("SAME")), ("dilations", ints(dilations))],
        )
    };
    graph_of(vec![
        x,
        const_node("w", &Tensor::from_f32(vec![3, 3, 3, 4], &spread_values(108, 11))),
        conv("conv", &[1, 1, 1, 1]),
        const_node("b", &Tensor::from_f32(vec![4], &[0.5, -0.25, 0.125, 1.0])),
        with_attrs(node("bias", "BiasAdd", &["conv", "b"]), &[float_t()]),
        with_attrs(node("relu", "Relu", &["bias"]), &[float_t()]),
        with_attrs(
            node("pool", "MaxPool", &["relu"]),
            &[float_t(), ("ksize", ints(&[1, 2, 2, 1])), ("strides", ints(&[1, 2, 2, 1])), ("padding", text("VALID"))],
        ),
        const_node("shape", &Tensor::from_i32(vec![2], &[1, -1])),
        with_attrs(node("flat", "Reshape", &["pool", "shape"]), &[float_t()]),
        const_node("w2", &Tensor::from_f32(vec![64, 5], &spread_values(320, 12))),
        with_attrs(node("mm", "MatMul", &["flat", "w2"]), &[float_t()]),
        with_attrs(node("probs", "Softmax", &["mm"]), &[float_t()]),
        const_node("axis", &Tensor::from_i32(vec![], &[-1])),
        with_attrs(node("cat", "ConcatV2", &["relu", "relu", "axis"]), &[float_t()]),
        conv("dilated", &[1, 2, 2, 1]),
    ])
}

fn op_counts(graph: &GraphDef) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for node in &graph.node {
        *counts.entry(node.op.clone()).or_default() += 1;
    }
    counts
}

#[test]
fn eightbit_runs_each_float_op_on_its_quantized_kernel() {
    let outputs = ["probs", "cat", "dilated"].map(String::from);
    let (written, report) = eightbit_graph(&eightbit_model(), &outputs).unwrap();
    let ops = report.eightbit.as_ref().unwrap();
    let quantized: Vec<(&str, usize)> = ops.quantized.iter().map(|(op, &n)| (op.as_str(), n)).collect();
    assert_eq!(
        quantized,
        [
            ("QuantizedBiasAdd", 1),
            ("QuantizedConcat", 1),
            ("QuantizedConv2D", 1),
            ("QuantizedMatMul", 1),
            ("QuantizedMaxPool", 1),
            ("QuantizedRelu", 1),
            ("QuantizedReshape", 1),
        ]
    );
    let counts = op_counts(&written);
    for (op, n) in &quantized {
        assert_eq!(counts.get(*op), Some(n), "{op} in the graph");
    }
    // The three 32-bit results (conv, bias add, matmul) are narrowed back to 8 bits.
    assert_eq!((counts["RequantizationRange"], counts["Requantize"]), (3, 3));
    // Only x is quantized at run time; every other operand is a kernel's result or a constant.
    assert_eq!(counts["QuantizeV2"], 1);
    let quantize_v2 = written.node.iter().find(|n| n.op == "QuantizeV2").unwrap();
    assert_eq!(quantize_v2.input[0], "x");
    // Floats come back only where a float op (Softmax) or an output (cat) reads them.
    let dequantized: Vec<&str> =
        written.node.iter().filter(|n| n.op == "Dequantize").map(|n| n.name.as_str()).collect();
    assert_eq!(dequantized, ["mm", "cat"]);
    assert_eq!(find(&written, "probs").input, ["mm"]);
    let producer = find(&written, "mm").input[0].split(':').next().unwrap();
    assert_eq!(find(&written, producer).op, "Requantize");

    // The dilated conv keeps the float filter; b and w2, read only by kernels, are gone.
    assert_eq!(find(&written, "dilated").op, "Conv2D");
    assert_eq!(find(&written, "w").op, "Const");
    for gone in ["b", "w2", "conv", "bias", "relu", "pool", "flat"] {
        assert!(written.node.iter().all(|n| n.name != gone), "{gone} should be gone");
    }
    assert_eq!(ops.kept_float.len(), 1);
    assert_eq!(ops.kept_float[0].to_string(), "dilated (Conv2D): QuantizedConv2D has no dilations");

    // Each constant operand is quint8 over a range that holds zero.
    for name in ["w", "b", "w2"] {
        let levels = const_values(&written, &format!("{name}_quantized_const"));
        assert_eq!(levels.dtype, DataType::DtQuint8, "{name}");
        let min = const_values(&written, &format!("{name}_quantized_min")).to_f32_vec().unwrap()[0];
        let max = const_values(&written, &format!("{name}_quantized_max")).to_f32_vec().unwrap()[0];
        assert!(min <= 0.0 && max >= 0.0 && min < max, "{name}: [{min}, {max}]");
    }
    let tensors: Vec<&str> = report.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tensors, ["w", "b", "w2"], "every constant operand, whatever its size");
}

#[test]
fn eightbit_kernels_take_their_operands_in_tensorflows_order() {
    let (written, _) = eightbit_graph(&eightbit_model(), &["probs".into(), "cat".into()]).unwrap();
    let kernel = |op: &str| written.node.iter().find(|n| n.op == op).unwrap().clone();
    let conv = kernel("QuantizedConv2D");
    let x = "x_eightbit_quantize";
    let w = ["w_quantized_const", "w_quantized_min", "w_quantized_max"];
    assert_eq!(conv.input, [x, w[0], &format!("{x}:1"), &format!("{x}:2"), w[1], w[2]]);
    assert_eq!(attr_type(&conv, "Tinput"), Some(DataType::DtQuint8));
    assert_eq!(attr_type(&conv, "out_type"), Some(DataType::DtQint32));
    assert_eq!(attr_string(&conv, "padding").as_deref(), Some("SAME"));

    // The bias add reads the conv's requantized result, not a Dequantize → QuantizeV2 pair.
    let bias = kernel("QuantizedBiasAdd");
    let narrowed = "conv_eightbit_requantize";
    assert_eq!(bias.input[0], narrowed);
    assert_eq!(bias.input[2..4], [format!("{narrowed}:1"), format!("{narrowed}:2")]);

    let reshape = kernel("QuantizedReshape");
    assert_eq!(
        reshape.input,
        ["pool_eightbit_quantized", "shape", "pool_eightbit_quantized:1", "pool_eightbit_quantized:2"]
    );

    let concat = kernel("QuantizedConcat");
    let relu = "relu_eightbit_quantized";
    let want: Vec<String> = ["cat_eightbit_axis", relu, relu, &format!("{relu}:1"), &format!("{relu}:1")]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("{relu}:2"), format!("{relu}:2")])
        .collect();
    assert_eq!(concat.input, want);
    assert_eq!(attr_int(&concat, "N"), Some(2));
    let axis = const_values(&written, "cat_eightbit_axis");
    assert_eq!(axis.raw().unwrap().as_ref(), 3i32.to_le_bytes(), "axis −1 of a rank-4 tensor is 3");
}

#[test]
fn eightbit_does_not_depend_on_node_order() {
    let model = eightbit_model();
    let mut reversed = model.clone();
    reversed.node.reverse();
    let outputs = ["probs".to_string(), "cat".to_string()];
    let (forward, _) = eightbit_graph(&model, &outputs).unwrap();
    let (backward, _) = eightbit_graph(&reversed, &outputs).unwrap();
    assert_eq!(op_counts(&forward), op_counts(&backward));
    let mut a: Vec<_> = forward.node.iter().map(|n| (n.name.clone(), n.input.clone())).collect();
    let mut b: Vec<_> = backward.node.iter().map(|n| (n.name.clone(), n.input.clone())).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn eightbit_without_outputs_keeps_what_nothing_reads_and_refuses_unknown_ones() {
    let (written, _) = eightbit_graph(&eightbit_model(), &[]).unwrap();
    for sink in ["probs", "cat", "dilated"] {
        assert!(written.node.iter().any(|n| n.name == sink), "{sink}");
    }
    let err = eightbit_graph(&eightbit_model(), &["prob".into()]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::UnknownNode);
    assert!(err.suggestions.contains(&"probs".to_string()), "{:?}", err.suggestions);
}

#[test]
fn eightbit_leaves_non_finite_constants_and_other_layouts_float() {
    let mut model = eightbit_model();
    let bad: Vec<f32> = (0..320).map(|i| if i == 7 { f32::NAN } else { i as f32 }).collect();
    for node in model.node.iter_mut() {
        if node.name == "w2" {
            *node = const_node("w2", &Tensor::from_f32(vec![64, 5], &bad));
        }
        if node.name == "pool" {
            node.attr.insert("data_format".into(), text("NCHW"));
        }
    }
    let (written, report) = eightbit_graph(&model, &["probs".into(), "cat".into()]).unwrap();
    assert_eq!(find(&written, "mm").op, "MatMul");
    assert_eq!(find(&written, "pool").op, "MaxPool");
    let kept: Vec<String> = report.eightbit.unwrap().kept_float.iter().map(ToString::to_string).collect();
    assert_eq!(
        kept,
        [
            "pool (MaxPool): the quantized pools take NHWC with SAME or VALID padding only",
            "mm (MatMul): a constant operand holds NaN or infinite values",
        ]
    );
    // The reshape after the float pool now quantizes the pool's output at run time.
    let quantize_v2: Vec<&str> =
        written.node.iter().filter(|n| n.op == "QuantizeV2").map(|n| n.input[0].as_str()).collect();
    assert_eq!(quantize_v2, ["x", "pool"]);
}

/// TensorFlow's own frozen graph of fixture `name` (`frozen_tf.pb`).
fn tensorflows_frozen_graph(name: &str) -> GraphDef {
    let path = common::fixtures_dir().join(name).join("frozen_tf.pb");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    <GraphDef as prost::Message>::decode(bytes.as_slice()).unwrap()
}

fn encoded_len(graph: &GraphDef) -> usize {
    prost::Message::encoded_len(graph)
}

const IN_A_LOOP: &str = "it runs inside a while loop, and the kernel's new inputs would be outside the loop's frame";

/// A v1 `while_loop` whose body runs MatMul → Relu on a constant made inside
/// the frame (a `Const` under `^while/Identity`, as TensorFlow writes it),
/// then a `cond` whose then-branch runs a MatMul on a constant under the
/// branch's pivot.
fn loop_and_cond_model() -> GraphDef {
    let typed = |mut node: NodeDef| {
        node.attr.insert("T".into(), float_t().1);
        node
    };
    let weights = |name: &str, control: &str, seed| {
        let mut weights = const_node(name, &Tensor::from_f32(vec![3, 3], &spread_values(9, seed)));
        weights.input.push(control.to_string());
        weights
    };
    let mut limit = const_node("while/Less/y", &Tensor::from_i32(vec![], &[3]));
    limit.input.push("^while/Merge".into());
    let mut one = const_node("while/add/y", &Tensor::from_i32(vec![], &[1]));
    one.input.push("^while/Identity".into());
    graph_of(vec![
        node("x", "Placeholder", &[]),
        node("pred", "Placeholder", &[]),
        const_node("zero", &Tensor::from_i32(vec![], &[0])),
        node("while/Enter", "Enter", &["zero"]),
        typed(node("while/Enter_1", "Enter", &["x"])),
        node("while/Merge", "Merge", &["while/Enter", "while/NextIteration"]),
        typed(node("while/Merge_1", "Merge", &["while/Enter_1", "while/NextIteration_1"])),
        limit,
        node("while/Less", "Less", &["while/Merge", "while/Less/y"]),
        node("while/LoopCond", "LoopCond", &["while/Less"]),
        node("while/Switch", "Switch", &["while/Merge", "while/LoopCond"]),
        typed(node("while/Switch_1", "Switch", &["while/Merge_1", "while/LoopCond"])),
        node("while/Identity", "Identity", &["while/Switch:1"]),
        typed(node("while/Identity_1", "Identity", &["while/Switch_1:1"])),
        weights("while/w", "^while/Identity", 21),
        typed(node("while/MatMul", "MatMul", &["while/Identity_1", "while/w"])),
        typed(node("while/Relu", "Relu", &["while/MatMul"])),
        one,
        node("while/add", "AddV2", &["while/Identity", "while/add/y"]),
        node("while/NextIteration", "NextIteration", &["while/add"]),
        typed(node("while/NextIteration_1", "NextIteration", &["while/Relu"])),
        typed(node("while/Exit_1", "Exit", &["while/Switch_1"])),
        node("cond/Switch", "Switch", &["pred", "pred"]),
        node("cond/switch_t", "Identity", &["cond/Switch:1"]),
        typed(node("cond/x", "Switch", &["while/Exit_1", "pred"])),
        weights("cond/w", "^cond/switch_t", 22),
        typed(node("cond/MatMul", "MatMul", &["cond/x:1", "cond/w"])),
        typed(node("cond/Merge", "Merge", &["cond/MatMul", "cond/x"])),
        typed(node("y", "Identity", &["cond/Merge"])),
    ])
}

#[test]
fn eightbit_leaves_while_loop_bodies_float_and_quantizes_cond_branches() {
    let model = loop_and_cond_model();
    let (written, report) = eightbit_graph(&model, &["y".into()]).unwrap();
    // Inside the loop's frame nothing changes: a kernel there would read
    // constants and QuantizeV2 reductions from outside the frame.
    for original in model.node.iter().filter(|n| n.name.starts_with("while/")) {
        let now = find(&written, &original.name);
        assert_eq!((&now.op, &now.input), (&original.op, &original.input), "{}", original.name);
    }
    let ops = report.eightbit.as_ref().unwrap();
    let kept: Vec<String> = ops.kept_float.iter().map(ToString::to_string).collect();
    assert_eq!(kept, [format!("while/MatMul (MatMul): {IN_A_LOOP}"), format!("while/Relu (Relu): {IN_A_LOOP}")]);

    // A cond branch has no frame: its MatMul runs quantized, its constant
    // stays under the branch's pivot, and its float input is quantized there.
    assert_eq!(ops.quantized.iter().map(|(op, &n)| (op.as_str(), n)).collect::<Vec<_>>(), [("QuantizedMatMul", 1)]);
    let kernel = find(&written, "cond/MatMul_eightbit_quantized");
    assert_eq!(kernel.op, "QuantizedMatMul");
    assert_eq!(kernel.input[..2], ["cond/x_1_eightbit_quantize", "cond/w_quantized_const"]);
    for part in ["const", "min", "max"] {
        assert_eq!(find(&written, &format!("cond/w_quantized_{part}")).input, ["^cond/switch_t"], "{part}");
    }
    assert_eq!(find(&written, "cond/x_1_eightbit_quantize").input[0], "cond/x:1");
    assert_eq!(find(&written, "cond/MatMul").op, "Dequantize");
    let tensors: Vec<&str> = report.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tensors, ["cond/w"]);
}

#[test]
fn eightbit_leaves_the_control_flow_fixtures_loop_float() {
    // TensorFlow refused the eightbit graph of this loop: "while/MatMul_eightbit_quantized
    // has inputs from different frames". (test/parity.py runs it in TensorFlow.)
    let frozen = tensorflows_frozen_graph("control_flow");
    let (written, report) = eightbit_graph(&frozen, &["y".into()]).unwrap();
    let ops = report.eightbit.unwrap();
    assert!(ops.quantized.is_empty(), "{:?}", ops.quantized);
    let kept: Vec<String> = ops.kept_float.iter().map(ToString::to_string).collect();
    assert_eq!(kept, [format!("while/MatMul (MatMul): {IN_A_LOOP}")]);
    assert_eq!(op_counts(&written), op_counts(&frozen));
}

/// x → Conv2D (filter `w` through `w/read`) → BiasAdd (bias `b` through two
/// Identities) → Relu → Reshape → MatMul (`w2` through an Identity with a
/// control input); a second Conv2D reads `w` directly.
fn read_through_identity_model() -> GraphDef {
    let mut model = eightbit_model();
    model.node.retain(|n| !["probs", "axis", "cat", "dilated", "pool"].contains(&n.name.as_str()));
    for node in model.node.iter_mut() {
        match node.name.as_str() {
            "conv" => node.input[1] = "w/read".into(),
            "bias" => node.input[1] = "b/read/read".into(),
            "flat" => node.input[0] = "relu".into(),
            "mm" => node.input[1] = "w2/read".into(),
            // The Reshape now flattens the 8×8×4 Relu: w2 takes 256 rows.
            "w2" => *node = const_node("w2", &Tensor::from_f32(vec![256, 5], &spread_values(1280, 12))),
            _ => {}
        }
    }
    let conv = find(&model, "conv").clone();
    model.node.extend([
        node("w/read", "Identity", &["w"]),
        node("b/read", "Identity", &["b"]),
        node("b/read/read", "Identity", &["b/read"]),
        node("w2/read", "Identity", &["w2", "^x"]),
        NodeDef { name: "conv_2".into(), input: vec!["x".into(), "w".into()], ..conv },
    ]);
    model
}

#[test]
fn eightbit_quantizes_constants_read_through_identities() {
    let model = read_through_identity_model();
    let (written, report) = eightbit_graph(&model, &["mm".into(), "conv_2".into()]).unwrap();
    // w once for both convs, however it is read; b through two Identities.
    let tensors: Vec<&str> = report.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tensors, ["w", "b"]);
    let convs: Vec<&NodeDef> = written.node.iter().filter(|n| n.op == "QuantizedConv2D").collect();
    assert_eq!(convs.len(), 2);
    for conv in convs {
        assert_eq!(conv.input[1], "w_quantized_const", "{}", conv.name);
    }
    assert_eq!(find(&written, "bias_eightbit_quantized").input[1], "b_quantized_const");
    for name in ["w", "b"] {
        assert_eq!(const_values(&written, &format!("{name}_quantized_const")).dtype, DataType::DtQuint8);
    }
    for gone in ["w", "w/read", "b", "b/read", "b/read/read"] {
        assert!(written.node.iter().all(|n| n.name != gone), "{gone} should be pruned");
    }
    // An Identity with a control input is not looked through: w2 is quantized at run time.
    let quantize_v2: Vec<&str> =
        written.node.iter().filter(|n| n.op == "QuantizeV2").map(|n| n.input[0].as_str()).collect();
    assert_eq!(quantize_v2, ["x", "w2/read"]);
    assert_eq!(find(&written, "w2/read").input, ["w2", "^x"]);
    // No float weight is left in the graph but w2.
    let floats: Vec<&str> = written
        .node
        .iter()
        .filter(|n| n.op == "Const" && attr_type(n, "dtype") == Some(DataType::DtFloat))
        .map(|n| n.name.as_str())
        .filter(|n| !n.ends_with("_min") && !n.ends_with("_max"))
        .collect();
    assert_eq!(floats, ["w2"]);
}

#[test]
fn eightbit_stores_tensorflows_frozen_weights_in_8_bits() {
    // The convnet's weights are small beside its nodes (11 KiB of 18), and its
    // depthwise filter and batch norms (not folded here) stay float: only its
    // weight bytes are sure to shrink, not the file.
    let fixtures: [(&str, &[&str], Option<f64>); 2] = [
        ("convnet", &["probs"], None),
        ("detector", &["detection_boxes", "detection_scores", "detection_classes", "num_detections"], Some(0.4)),
    ];
    for (fixture, outputs, file_ratio) in fixtures {
        // Every weight is read as Const → Identity (`*/read`) → op.
        let frozen = tensorflows_frozen_graph(fixture);
        let outputs: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
        let (written, report) = eightbit_graph(&frozen, &outputs).unwrap();
        assert!(!report.tensors.is_empty(), "{fixture}: no tensor quantized");
        assert!(report.bytes_after * 2 < report.bytes_before, "{fixture}: {report:?}");
        if let Some(ratio) = file_ratio {
            let (before, after) = (encoded_len(&frozen), encoded_len(&written));
            assert!((after as f64) < ratio * before as f64, "{fixture}: {after} bytes of {before}");
        }
        // No float weight of any size feeds a kernel: each kernel operand is quint8.
        let index: std::collections::HashMap<&str, &NodeDef> =
            written.node.iter().map(|n| (n.name.as_str(), n)).collect();
        for kernel in written.node.iter().filter(|n| n.op.starts_with("Quantized")) {
            for input in kernel.input.iter().filter(|i| !i.starts_with('^')) {
                let producer = index[input.split(':').next().unwrap()];
                let float = attr_tensor(producer, "value").filter(|v| v.dtype == DataType::DtFloat as i32);
                let elements = float.map(|v| Tensor::from_proto(v).unwrap().num_elements()).unwrap_or(0);
                assert!(elements <= 1, "{fixture}: {} reads float Const {}", kernel.name, producer.name);
            }
        }
    }
}
