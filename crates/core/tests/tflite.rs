//! The TFLite writer (`emit::tflite`) on the fixtures: the file's frame, the
//! signature by node names, TFLite's weight layouts against the weights
//! TensorFlow froze, folded biases and activations, and refusals. Running
//! the models is `test/parity.py`'s job (TensorFlow's own interpreter).

use planus::ReadAsRoot;
use tfmodel_core::emit::tflite::schema::{
    ActivationFunctionType, BuiltinOperator, BuiltinOptions, Model, ModelRef, TensorType,
};
use tfmodel_core::emit::tflite::{Ranges, TfliteOptions, RANGE_OUTPUTS};
use tfmodel_core::pipeline::{convert, convert_to_dir, ConvertOptions, OutputFormat};
use tfmodel_core::quantize::{QuantizeMode, QuantizeOptions};
use tfmodel_core::tensor::Tensor;
use tfmodel_core::ErrorKind;

mod common;
use common::{fixture_files, manifest};

fn tflite_of(fixture: &str, outputs: &[&str]) -> tfmodel_core::Result<Vec<u8>> {
    let files = fixture_files(fixture, &manifest()["fixtures"][fixture]);
    let mut options = ConvertOptions { format: OutputFormat::Tflite, ..Default::default() };
    options.freeze.output_node_names = outputs.iter().map(|s| s.to_string()).collect();
    let converted = convert(&files, &options)?;
    assert_eq!(converted.files.len(), 1);
    assert_eq!(converted.files[0].0, "model.tflite");
    Ok(converted.files[0].1.clone())
}

fn read(bytes: &[u8]) -> Model {
    Model::try_from(ModelRef::read_as_root(bytes).expect("a Model flatbuffer")).expect("a whole Model")
}

fn ops(model: &Model) -> Vec<BuiltinOperator> {
    let codes = model.operator_codes.as_ref().unwrap();
    let operators = model.subgraphs.as_ref().unwrap()[0].operators.as_ref().unwrap();
    operators.iter().map(|op| codes[op.opcode_index as usize].builtin_code).collect()
}

#[test]
fn convnet_is_one_operator_per_layer_with_folded_biases_and_relu6() {
    let bytes = tflite_of("convnet", &["probs", "logits"]).unwrap();
    assert_eq!(&bytes[4..8], b"TFL3");
    let model = read(&bytes);
    assert_eq!(model.version, 3);
    assert!(model.buffers.as_ref().unwrap()[0].data.as_ref().is_none_or(Vec::is_empty), "buffers[0] is empty");
    assert_eq!(
        ops(&model),
        [
            BuiltinOperator::Conv2d,
            BuiltinOperator::DepthwiseConv2d,
            BuiltinOperator::Conv2d,
            BuiltinOperator::Mean,
            BuiltinOperator::FullyConnected,
            BuiltinOperator::Softmax,
        ]
    );
    let subgraph = &model.subgraphs.as_ref().unwrap()[0];
    for op in &subgraph.operators.as_ref().unwrap()[..3] {
        let activation = match op.builtin_options.as_ref().unwrap() {
            BuiltinOptions::Conv2DOptions(o) => o.fused_activation_function,
            BuiltinOptions::DepthwiseConv2DOptions(o) => {
                assert_eq!(o.depth_multiplier, 2);
                o.fused_activation_function
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(activation, ActivationFunctionType::Relu6);
        assert_eq!(op.inputs.as_ref().unwrap().len(), 3, "input, filter, bias");
    }

    let signature = &model.signature_defs.as_ref().unwrap()[0];
    assert_eq!(signature.signature_key.as_deref(), Some("serving_default"));
    let names = |maps: &Option<Vec<_>>| -> Vec<(String, u32)> {
        let maps: &Vec<tfmodel_core::emit::tflite::schema::TensorMap> = maps.as_ref().unwrap();
        maps.iter().map(|m| (m.name.clone().unwrap(), m.tensor_index)).collect()
    };
    let inputs = names(&signature.inputs);
    assert_eq!(inputs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["input"]);
    let outputs = names(&signature.outputs);
    assert_eq!(outputs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["probs", "logits"]);
    let tensors = subgraph.tensors.as_ref().unwrap();
    let input = &tensors[inputs[0].1 as usize];
    assert_eq!(input.shape_signature.as_deref(), Some(&[-1, 24, 24, 3][..]), "the batch stays unknown");
    assert_eq!(input.shape.as_deref(), Some(&[1, 24, 24, 3][..]));
    for (name, index) in &outputs {
        assert_eq!(tensors[*index as usize].name.as_deref(), Some(name.as_str()));
    }
}

/// The first conv's filter against TensorFlow's own frozen value of it:
/// TFLite's `[out, h, w, in]` element `(o, y, x, i)` is TF's `(y, x, i, o)`.
#[test]
fn a_conv_filter_is_stored_out_channels_first() {
    let model = read(&tflite_of("convnet", &["probs"]).unwrap());
    let tensors = model.subgraphs.as_ref().unwrap()[0].tensors.as_ref().unwrap();
    let ours = tensors.iter().find(|t| t.name.as_deref() == Some("Conv2d_0/Conv2D_weights")).expect("the filter");
    let shape = ours.shape.clone().unwrap();
    let data = model.buffers.as_ref().unwrap()[ours.buffer as usize].data.clone().unwrap();
    let ours: Vec<f32> = data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();

    let pb = folded_filter_in_tf_layout();
    let tf: Vec<f32> = pb.to_f32_vec().unwrap();
    let (h, w, i, o) = (pb.shape[0] as usize, pb.shape[1] as usize, pb.shape[2] as usize, pb.shape[3] as usize);
    assert_eq!(shape, [o as i32, h as i32, w as i32, i as i32]);
    for (oo, yy, xx, ii) in [(0, 0, 0, 0), (o - 1, 1, 2, i - 1), (3, 2, 0, 1)] {
        assert_eq!(ours[((oo * h + yy) * w + xx) * i + ii], tf[((yy * w + xx) * i + ii) * o + oo]);
    }
}

/// The same folded filter in the `.pb` of the same model (the one the parity
/// suite runs in TensorFlow), in TensorFlow's `[h, w, in, out]`.
fn folded_filter_in_tf_layout() -> Tensor {
    let files = fixture_files("convnet", &manifest()["fixtures"]["convnet"]);
    let mut options = ConvertOptions { format: OutputFormat::Pb, ..Default::default() };
    options.freeze.output_node_names = vec!["probs".to_string()];
    let converted = convert(&files, &options).unwrap();
    let graph: tfmodel_core::proto::GraphDef = prost::Message::decode(converted.files[0].1.as_slice()).unwrap();
    let node = graph.node.iter().find(|n| n.name == "Conv2d_0/Conv2D_weights").unwrap();
    Tensor::from_proto(tfmodel_core::graph::attr_tensor(node, "value").unwrap()).unwrap()
}

#[test]
fn the_detector_with_nms_is_refused_with_the_cut_before_it_and_nothing_written() {
    let files = fixture_files("detector", &manifest()["fixtures"]["detector"]);
    let options = ConvertOptions { format: OutputFormat::Tflite, ..Default::default() };
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path().join("out");
    let error = convert_to_dir(&files, &options, &dir).unwrap_err();
    assert_eq!(error.code(), "UNSUPPORTED_OP");
    assert_eq!(error.subject.as_deref(), Some("Postprocessor/nms/NonMaxSuppressionV3"));
    assert!(error.message.contains("\"Postprocessor/nms/NonMaxSuppressionV3\" (NonMaxSuppressionV3)"), "{error}");
    assert!(
        error.message.contains(
            "emit the raw heads with outputs=Postprocessor/decoded_boxes,Postprocessor/Max,Postprocessor/add_2"
        ),
        "{error}"
    );
    assert!(!dir.exists(), "no output directory");
    assert_eq!(std::fs::read_dir(scratch.path()).unwrap().count(), 0, "no temporary left");
}

#[test]
fn the_detector_heads_convert() {
    let model = read(&tflite_of("detector", &["box_encodings", "class_predictions"]).unwrap());
    let ops = ops(&model);
    assert_eq!(ops.iter().filter(|&&op| op == BuiltinOperator::Conv2d).count(), 11);
    assert_eq!(ops.iter().filter(|&&op| op == BuiltinOperator::DepthwiseConv2d).count(), 6);
    assert!(!ops.contains(&BuiltinOperator::Add), "every bias folds: {ops:?}");
    assert!(!ops.contains(&BuiltinOperator::Relu6), "every Relu6 folds: {ops:?}");
}

/// Every weight starts on a 16-byte boundary of the file, as the schema's
/// `force_align: 16` asks, in each mode (odd-sized float16 and int8 buffers
/// would otherwise shift the ones after them).
#[test]
fn weights_start_on_16_byte_boundaries() {
    let files = fixture_files("detector", &manifest()["fixtures"]["detector"]);
    for mode in [None, Some(QuantizeMode::Float16), Some(QuantizeMode::Int8)] {
        let mut options = ConvertOptions {
            format: OutputFormat::Tflite,
            quantize: mode.map(|mode| QuantizeOptions { mode, ..Default::default() }),
            ..Default::default()
        };
        options.freeze.output_node_names = vec!["box_encodings".into(), "class_predictions".into()];
        let bytes = &convert(&files, &options).unwrap().files[0].1;
        let model = ModelRef::read_as_root(bytes).unwrap();
        let mut seen = 0;
        for buffer in model.buffers().unwrap().unwrap() {
            let Some(data) = buffer.unwrap().data().unwrap() else { continue };
            let at = data.as_ptr() as usize - bytes.as_ptr() as usize;
            assert_eq!(at % 16, 0, "{mode:?}: a {}-byte buffer at byte {at}", data.len());
            seen += 1;
        }
        assert!(seen > 20, "{mode:?}: {seen} buffers");
    }
}

/// float16 as TensorFlow's converter writes it: FLOAT16 buffers, each widened
/// by a DEQUANTIZE that the op reads; small tensors stay float32.
#[test]
fn float16_weights_are_half_buffers_widened_by_dequantize() {
    let files = fixture_files("detector", &manifest()["fixtures"]["detector"]);
    let mut options = ConvertOptions {
        format: OutputFormat::Tflite,
        quantize: Some(QuantizeOptions { mode: QuantizeMode::Float16, ..Default::default() }),
        ..Default::default()
    };
    options.freeze.output_node_names = vec!["box_encodings".into(), "class_predictions".into()];
    let converted = convert(&files, &options).unwrap();
    let report = converted.report.as_ref().expect("a quantization report");
    // Axis constants become options, so the file holds a few bytes fewer than the graph's constants.
    assert!(
        converted.weight_bytes <= report.bytes_after && report.bytes_after < converted.float32_weight_bytes * 51 / 100
    );
    let model = read(&converted.files[0].1);
    let subgraph = &model.subgraphs.as_ref().unwrap()[0];
    let tensors = subgraph.tensors.as_ref().unwrap();
    let halves = tensors.iter().filter(|t| t.type_ == TensorType::Float16).count();
    assert_eq!(halves, report.tensors.len(), "one FLOAT16 buffer per quantized weight");
    let codes = model.operator_codes.as_ref().unwrap();
    let dequantize: Vec<_> = subgraph
        .operators
        .as_ref()
        .unwrap()
        .iter()
        .filter(|op| codes[op.opcode_index as usize].builtin_code == BuiltinOperator::Dequantize)
        .collect();
    assert_eq!(dequantize.len(), halves);
    let widened: Vec<i32> = dequantize.iter().map(|op| op.outputs.as_ref().unwrap()[0]).collect();
    for op in &dequantize {
        let input = &tensors[op.inputs.as_ref().unwrap()[0] as usize];
        let output = &tensors[op.outputs.as_ref().unwrap()[0] as usize];
        assert_eq!((input.type_, output.type_), (TensorType::Float16, TensorType::Float32));
        assert_eq!(input.shape, output.shape);
        assert_eq!(codes[op.opcode_index as usize].version, 3, "DEQUANTIZE of float16 is version 3");
    }
    // The DEQUANTIZEs run first, and a convolution whose filter is float16 has
    // a float16 bias too, however small (with float32 biases XNNPACK ran MobileNetV2 4.7x slower).
    let operators = subgraph.operators.as_ref().unwrap();
    let code_of = |op: &tfmodel_core::emit::tflite::schema::Operator| codes[op.opcode_index as usize].builtin_code;
    assert!(operators[..dequantize.len()].iter().all(|op| code_of(op) == BuiltinOperator::Dequantize));
    let mut convolutions = 0;
    for op in
        operators.iter().filter(|op| matches!(code_of(op), BuiltinOperator::Conv2d | BuiltinOperator::DepthwiseConv2d))
    {
        let inputs = op.inputs.as_ref().unwrap();
        if widened.contains(&inputs[1]) {
            assert!(widened.contains(&inputs[2]), "a float16 filter with a float32 bias");
            convolutions += 1;
        }
    }
    assert!(convolutions >= 10, "{convolutions} float16 convolutions");
}

/// Dynamic-range int8: the convolutions' filters are INT8 with one scale per
/// output channel on TFLite's channel axis, read by the hybrid kernels as
/// they are (no DEQUANTIZE).
#[test]
fn int8_weights_are_per_channel_on_tflite_axes() {
    let files = fixture_files("detector", &manifest()["fixtures"]["detector"]);
    let mut options = ConvertOptions {
        format: OutputFormat::Tflite,
        quantize: Some(QuantizeOptions { mode: QuantizeMode::Int8, ..Default::default() }),
        ..Default::default()
    };
    options.freeze.output_node_names = vec!["box_encodings".into(), "class_predictions".into()];
    let converted = convert(&files, &options).unwrap();
    let model = read(&converted.files[0].1);
    let subgraph = &model.subgraphs.as_ref().unwrap()[0];
    let tensors = subgraph.tensors.as_ref().unwrap();
    let codes = model.operator_codes.as_ref().unwrap();
    let mut checked = 0;
    for op in subgraph.operators.as_ref().unwrap() {
        let code = codes[op.opcode_index as usize].builtin_code;
        assert_ne!(code, BuiltinOperator::Dequantize, "every int8 weight feeds a hybrid kernel");
        let axis = match code {
            BuiltinOperator::Conv2d => 0,
            BuiltinOperator::DepthwiseConv2d => 3,
            _ => continue,
        };
        let filter = &tensors[op.inputs.as_ref().unwrap()[1] as usize];
        if filter.type_ != TensorType::Int8 {
            continue; // fewer elements than quantize's minimum size
        }
        let shape = filter.shape.as_ref().unwrap();
        let quantization = filter.quantization.as_ref().expect("scales");
        assert_eq!(quantization.quantized_dimension, axis);
        assert_eq!(quantization.scale.as_ref().unwrap().len(), shape[axis as usize] as usize);
        assert!(quantization.zero_point.as_ref().unwrap().iter().all(|&z| z == 0), "symmetric");
        // The hybrid kernels' versions, as TensorFlow's converter numbers them.
        let version = codes[op.opcode_index as usize].version;
        assert_eq!(version, if code == BuiltinOperator::Conv2d { 5 } else { 6 }, "{code:?}");
        let bias = &tensors[op.inputs.as_ref().unwrap()[2] as usize];
        assert_eq!(bias.type_, TensorType::Float32, "a hybrid kernel's bias stays float32");
        checked += 1;
    }
    assert!(checked >= 10, "{checked} int8 filters");
    let biases = converted.report.as_ref().unwrap().skipped.iter().filter(|s| s.reason.contains("bias")).count();
    assert_eq!(biases, 0, "the detector's biases are all below the minimum size");
}

/// int8 with every constant big enough: the biases are still left float32
/// (the quantization report says why), as TensorFlow's dynamic range leaves them.
#[test]
fn int8_leaves_biases_float() {
    let files = fixture_files("convnet", &manifest()["fixtures"]["convnet"]);
    let options = ConvertOptions {
        format: OutputFormat::Tflite,
        quantize: Some(QuantizeOptions { mode: QuantizeMode::Int8, minimum_size: 1 }),
        ..Default::default()
    };
    let converted = convert(&files, &options).unwrap();
    let report = converted.report.as_ref().unwrap();
    let biases: Vec<_> = report.skipped.iter().filter(|s| s.reason == "a bias, kept float32").collect();
    assert_eq!(biases.len(), 4, "three convolutions' and the logits' biases: {:?}", report.skipped);
    let model = read(&converted.files[0].1);
    assert!(!ops(&model).contains(&BuiltinOperator::Dequantize), "{:?}", ops(&model));
}

#[test]
fn formats_are_named_once_and_tflite_takes_no_uint8() {
    assert_eq!("tflite".parse::<OutputFormat>().unwrap(), OutputFormat::Tflite);
    assert_eq!(OutputFormat::Tflite.name(), "tflite");
    let unknown = "onnx".parse::<OutputFormat>().unwrap_err();
    assert!(unknown.message.contains("expected tfjs, tflite or pb"), "{unknown}");

    let files = fixture_files("convnet", &manifest()["fixtures"]["convnet"]);
    let options = ConvertOptions {
        format: OutputFormat::Tflite,
        quantize: Some(QuantizeOptions { mode: QuantizeMode::Uint8, ..Default::default() }),
        ..Default::default()
    };
    let error = convert(&files, &options).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
    assert!(error.message.contains("takes int8 or float16"), "{error}");
}

// ---- full integer (int8-full) ------------------------------------------------

fn convnet_options(tflite: TfliteOptions, mode: Option<QuantizeMode>) -> ConvertOptions {
    let mut options = ConvertOptions { format: OutputFormat::Tflite, tflite, ..Default::default() };
    options.freeze.output_node_names = vec!["probs".to_string()];
    options.quantize = mode.map(|mode| QuantizeOptions { mode, ..Default::default() });
    options
}

fn convert_convnet(options: &ConvertOptions) -> tfmodel_core::Result<Model> {
    let files = fixture_files("convnet", &manifest()["fixtures"]["convnet"]);
    Ok(read(&convert(&files, options)?.files[0].1))
}

const MEASURED: [&str; 7] =
    ["input", "Conv2d_0/Relu6", "Conv2d_1_depthwise/Relu6", "Conv2d_1_pointwise/Relu6", "AvgPool", "logits", "probs"];

#[test]
fn the_calibration_model_outputs_every_activations_min_and_max_after_the_models_own() {
    let files = fixture_files("convnet", &manifest()["fixtures"]["convnet"]);
    let options = convnet_options(TfliteOptions { calibration_outputs: true, ..Default::default() }, None);
    let converted = convert(&files, &options).unwrap();
    assert_eq!(converted.calibration_tensors, MEASURED, "inputs and every activation, in order");
    let model = read(&converted.files[0].1);
    let signature = &model.signature_defs.as_ref().unwrap()[0];
    let names: Vec<String> = signature.outputs.as_ref().unwrap().iter().map(|m| m.name.clone().unwrap()).collect();
    assert_eq!(names, ["probs", RANGE_OUTPUTS[0], RANGE_OUTPUTS[1]]);
    // Each tensor is reduced in the model, and the bounds concatenated: two vectors a run.
    let added: Vec<BuiltinOperator> = ops(&model).into_iter().skip(6).collect();
    let pair = [BuiltinOperator::Reshape, BuiltinOperator::ReduceMin, BuiltinOperator::ReduceMax];
    let concats = [BuiltinOperator::Concatenation, BuiltinOperator::Concatenation];
    assert_eq!(added, [pair.repeat(MEASURED.len()), concats.to_vec()].concat());
    let tensors = model.subgraphs.as_ref().unwrap()[0].tensors.as_ref().unwrap();
    for output in &signature.outputs.as_ref().unwrap()[1..] {
        assert_eq!(tensors[output.tensor_index as usize].shape.as_deref(), Some(&[MEASURED.len() as i32][..]));
    }
}

/// Ranges for every activation and the input: [-1, 3] (zero point -64).
fn ranges() -> Ranges {
    MEASURED.iter().map(|name| (name.to_string(), (-1.0, 3.0))).collect()
}

fn params(model: &Model, tensor: i32) -> (TensorType, Vec<f32>, Vec<i64>) {
    let t = &model.subgraphs.as_ref().unwrap()[0].tensors.as_ref().unwrap()[tensor as usize];
    let q = t.quantization.as_deref();
    (
        t.type_,
        q.and_then(|q| q.scale.clone()).unwrap_or_default(),
        q.and_then(|q| q.zero_point.clone()).unwrap_or_default(),
    )
}

#[test]
fn int8_full_computes_in_int8_between_a_quantize_and_a_dequantize() {
    let options =
        convnet_options(TfliteOptions { integer: Some(ranges()), ..Default::default() }, Some(QuantizeMode::Int8Full));
    let model = convert_convnet(&options).unwrap();
    use BuiltinOperator as B;
    let want =
        [B::Quantize, B::Conv2d, B::DepthwiseConv2d, B::Conv2d, B::Mean, B::FullyConnected, B::Softmax, B::Dequantize];
    assert_eq!(ops(&model), want);
    // Versions as TensorFlow's converter writes them, and no code left from the float build.
    let codes: Vec<(B, i32)> =
        model.operator_codes.as_ref().unwrap().iter().map(|c| (c.builtin_code, c.version)).collect();
    let versions = [1, 3, 3, 2, 4, 2, 2];
    let unique = [B::Quantize, B::Conv2d, B::DepthwiseConv2d, B::Mean, B::FullyConnected, B::Softmax, B::Dequantize];
    assert_eq!(codes, unique.into_iter().zip(versions).collect::<Vec<_>>());

    let subgraph = &model.subgraphs.as_ref().unwrap()[0];
    let tensors = subgraph.tensors.as_ref().unwrap();
    let floats: Vec<&str> =
        tensors.iter().filter(|t| t.type_ == TensorType::Float32).map(|t| t.name.as_deref().unwrap()).collect();
    assert_eq!(floats, ["input", "probs"], "float only at the edges");
    let constants = tensors.iter().filter(|t| t.buffer != 0).count();
    assert_eq!(model.buffers.as_ref().unwrap().len(), constants + 1, "no buffer of the float weights is left");

    let operators = subgraph.operators.as_ref().unwrap();
    // Activations: [-1, 3] over 255 steps, zero exact at level -64.
    let (ty, scale, zero) = params(&model, operators[1].outputs.as_ref().unwrap()[0]);
    assert_eq!((ty, zero.as_slice()), (TensorType::Int8, [-64i64].as_slice()));
    assert!((scale[0] - 4.0 / 255.0).abs() < 1e-7, "{scale:?}");
    // A conv's bias is int32 at input scale × each filter channel's scale.
    let inputs = operators[1].inputs.as_ref().unwrap();
    let (_, input_scale, _) = params(&model, inputs[0]);
    let (filter_type, filter_scales, filter_zeros) = params(&model, inputs[1]);
    let (bias_type, bias_scales, _) = params(&model, inputs[2]);
    assert_eq!((filter_type, bias_type), (TensorType::Int8, TensorType::Int32));
    assert_eq!(filter_scales.len(), 16, "per output channel");
    assert!(filter_zeros.iter().all(|&z| z == 0), "symmetric weights");
    for (bias, filter) in bias_scales.iter().zip(&filter_scales) {
        assert_eq!(*bias, input_scale[0] * filter);
    }
    // Softmax writes TFLite's fixed (1/256, -128).
    let (_, scale, zero) = params(&model, operators[6].outputs.as_ref().unwrap()[0]);
    assert_eq!((scale, zero), (vec![1.0 / 256.0], vec![-128]));
}

#[test]
fn int8_full_names_what_it_lacks() {
    let mut partial = ranges();
    partial.remove("Conv2d_1_depthwise/Relu6");
    let options =
        convnet_options(TfliteOptions { integer: Some(partial), ..Default::default() }, Some(QuantizeMode::Int8Full));
    let err = convert_convnet(&options).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.message.contains("\"Conv2d_1_depthwise/Relu6\""), "{}", err.message);

    let uncalibrated = convnet_options(TfliteOptions::default(), Some(QuantizeMode::Int8Full));
    let err = convert_convnet(&uncalibrated).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.message.contains("calibration"), "{}", err.message);

    let mut tfjs =
        convnet_options(TfliteOptions { integer: Some(ranges()), ..Default::default() }, Some(QuantizeMode::Int8Full));
    tfjs.format = OutputFormat::Tfjs;
    let files = fixture_files("convnet", &manifest()["fixtures"]["convnet"]);
    let err = convert(&files, &tfjs).unwrap_err();
    assert!(err.message.contains("format=tflite"), "{}", err.message);
}
