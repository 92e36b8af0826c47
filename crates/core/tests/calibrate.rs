//! Calibration in the core (`pipeline::calibration`): the float model run on
//! the fixtures' inputs by the core's interpreter measures each output's
//! range as TensorFlow's stored outputs for the same inputs span it.

use base64::Engine;
use serde_json::Value;
use tfmodel_core::emit::tflite::{InputSamples, Measurement, SampleData};
use tfmodel_core::pipeline::{calibration, ConvertOptions, OutputFormat};
use tfmodel_core::ErrorKind;

mod common;
use common::{fixture_files, fixtures_dir, manifest, read_json};

fn io(fixture: &str) -> Value {
    read_json(&fixtures_dir().join(fixture).join("io.json"))
}

fn floats(tensor: &Value) -> Vec<f32> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(tensor["data"].as_str().unwrap()).unwrap();
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

fn shape(tensor: &Value) -> Vec<usize> {
    tensor["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect()
}

/// The fixture's stored inputs as samples (their batch as the samples).
fn samples_of(io: &Value) -> Vec<InputSamples> {
    let inputs = io["inputs"].as_object().unwrap();
    inputs
        .iter()
        .map(|(name, t)| InputSamples { name: name.clone(), shape: shape(t), data: SampleData::F32(floats(t)) })
        .collect()
}

fn measure(fixture: &str, outputs: &[&str], samples: &[InputSamples]) -> tfmodel_core::Result<Measurement> {
    let files = fixture_files(fixture, &manifest()["fixtures"][fixture]);
    let mut options = ConvertOptions { format: OutputFormat::Tflite, ..Default::default() };
    options.freeze.output_node_names = outputs.iter().map(|s| s.to_string()).collect();
    calibration(&files, &options)?.model.measure(samples)
}

/// Each output's measured range is TensorFlow's: the extremes of its stored
/// outputs, within 1e-4 of their span.
fn ranges_match_tensorflow(fixture: &str, outputs: &[&str]) {
    let io = io(fixture);
    let samples = samples_of(&io);
    let measured = measure(fixture, outputs, &samples).unwrap();
    let Measurement::Ranges { ranges, samples: count } = measured else { panic!("{fixture}: {measured:?}") };
    assert_eq!(count, samples[0].shape[0]);
    for &output in outputs {
        let expected = floats(&io["outputs"][output]);
        let (lo, hi) = expected.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
        let (got_lo, got_hi) = ranges[output];
        let tolerance = 1e-4 * (hi - lo).max(1e-3);
        assert!(
            (got_lo - lo).abs() <= tolerance && (got_hi - hi).abs() <= tolerance,
            "{fixture}/{output}: measured [{got_lo}, {got_hi}], TensorFlow's outputs span [{lo}, {hi}]"
        );
    }
}

#[test]
fn the_classifier_is_measured_as_tensorflow_computes_it() {
    ranges_match_tensorflow("convnet", &["logits", "probs"]);
}

#[test]
fn keras_activations_are_measured_as_tensorflow_computes_them() {
    // PReLU, ELU, sigmoid, depthwise and dense layers.
    ranges_match_tensorflow("keras_activations", &["output"]);
}

#[test]
fn every_activation_of_the_detector_heads_is_measured_from_uint8_pixels() {
    let rows = 3;
    let pixels: Vec<u8> = (0..rows * 64 * 64 * 3).map(|i| (i * 7 % 256) as u8).collect();
    let samples =
        [InputSamples { name: "image_tensor".into(), shape: vec![rows, 64, 64, 3], data: SampleData::U8(pixels) }];
    let measured = measure("detector", &["box_encodings", "class_predictions"], &samples).unwrap();
    let Measurement::Ranges { ranges, samples: count } = measured else { panic!("not measured: {measured:?}") };
    assert_eq!(count, rows);
    // The cast and scaled pixels, each layer and both heads (a uint8 input stays as it is).
    assert!(ranges.len() > 20, "{ranges:?}");
    assert_eq!(ranges["Preprocessor/Cast"], (0.0, 255.0));
    for (name, (lo, hi)) in &ranges {
        assert!(lo.is_finite() && hi.is_finite() && lo <= hi, "{name}: [{lo}, {hi}]");
    }
}

#[test]
fn samples_that_do_not_fit_the_input_are_a_shape_mismatch_naming_it() {
    let samples =
        [InputSamples { name: "input".into(), shape: vec![2, 24, 24, 1], data: SampleData::F32(vec![0.0; 2 * 576]) }];
    let error = measure("convnet", &["probs"], &samples).unwrap_err();
    assert_eq!(error.kind, ErrorKind::ShapeMismatch);
    assert_eq!(error.subject.as_deref(), Some("input"));
    let other =
        [InputSamples { name: "pixels".into(), shape: vec![1, 24, 24, 3], data: SampleData::F32(vec![0.0; 1728]) }];
    let error = measure("convnet", &["probs"], &other).unwrap_err();
    assert_eq!(error.kind, ErrorKind::ShapeMismatch);
    assert!(error.message.contains("no values for input \"input\""), "{}", error.message);
}
