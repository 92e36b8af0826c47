//! What quantization costs: each weight's error against the values the
//! consumer decodes.

use super::{QuantizedWeight, TensorReport};

pub(super) fn measure(name: &str, weight: &QuantizedWeight, original: &[f32]) -> TensorReport {
    let decoded = weight.decode();
    let (mut max_abs, mut sum, mut signal, mut noise, mut count) = (0f64, 0f64, 0f64, 0f64, 0u64);
    // Non-finite elements survive float16 unchanged and are never quantized otherwise.
    for (&x, &y) in original.iter().zip(&decoded).filter(|(x, _)| x.is_finite()) {
        let error = f64::from(y) - f64::from(x);
        max_abs = max_abs.max(error.abs());
        sum += error;
        signal += f64::from(x) * f64::from(x);
        noise += error * error;
        count += 1;
    }
    let sqnr_db = if noise == 0.0 { f64::INFINITY } else { 10.0 * (signal / noise).log10() };
    TensorReport {
        name: name.to_string(),
        shape: weight.shape.clone(),
        elements: original.len() as u64,
        max_abs_error: max_abs,
        mean_error: if count == 0 { 0.0 } else { sum / count as f64 },
        sqnr_db,
    }
}
