//! What quantization costs: each weight's error against the values the
//! consumer decodes.

use super::{QuantizedWeight, TensorReport, WeightEncoding};

pub(super) fn measure(name: &str, weight: &QuantizedWeight, original: &[f32]) -> TensorReport {
    let sums = match &weight.encoding {
        // uint8 decodes to one of 256 values: a table, rather than a decoded copy of the tensor.
        WeightEncoding::Uint8 { values, min, scale } => {
            let table: Vec<f32> = (0..=255u8).map(|q| (f64::from(q) * scale + min) as f32).collect();
            error_sums(original, values.iter().map(|&q| table[usize::from(q)]))
        }
        _ => error_sums(original, weight.decode().into_iter()),
    };
    let ErrorSums { max_abs, sum, signal, noise, count } = sums;
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

#[derive(Default)]
struct ErrorSums {
    max_abs: f64,
    sum: f64,
    signal: f64,
    noise: f64,
    count: u64,
}

fn error_sums(original: &[f32], decoded: impl Iterator<Item = f32>) -> ErrorSums {
    let mut sums = ErrorSums::default();
    // Non-finite elements survive float16 unchanged and are never quantized otherwise.
    for (&x, y) in original.iter().zip(decoded).filter(|(x, _)| x.is_finite()) {
        let error = f64::from(y) - f64::from(x);
        sums.max_abs = sums.max_abs.max(error.abs());
        sums.sum += error;
        sums.signal += f64::from(x) * f64::from(x);
        sums.noise += error * error;
        sums.count += 1;
    }
    sums
}
