//! The three encodings, and the exact float32 values each decodes to.

use half::f16;

use super::channels::{ChannelRole, Channels};
use super::{QuantizeMode, QuantizedWeight, WeightEncoding};

pub(super) fn encode(
    values: &[f32],
    shape: &[i64],
    mode: QuantizeMode,
    role: ChannelRole,
) -> Result<QuantizedWeight, String> {
    let encoding = match mode {
        QuantizeMode::Uint8 => {
            require_finite(values)?;
            encode_uint8(values)
        }
        QuantizeMode::Float16 => encode_float16(values)?,
        QuantizeMode::Int8 | QuantizeMode::Int8Full => {
            require_finite(values)?;
            encode_int8(values, Channels::of(shape, role))
        }
    };
    Ok(QuantizedWeight { shape: shape.to_vec(), encoding })
}

fn require_finite(values: &[f32]) -> Result<(), String> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err("holds NaN or infinite values, which have no place on an integer grid".to_string())
    }
}

/// TensorFlow's reference `FloatToQuantized` over the tensor's own range,
/// computed in float64. The degenerate range stores zeros with scale 1.
fn encode_uint8(values: &[f32]) -> WeightEncoding {
    let (lo, hi) = range_of(values);
    encode_uint8_in(values, lo, hi)
}

/// The operand of one of TensorFlow's quantized kernels (eightbit graphs):
/// its range always holds zero, as `QuantizeV2` makes every range it computes
/// at run time do, and is never empty (an all-zero tensor gets `[0, 1]`).
pub(super) fn encode_uint8_operand(values: &[f32], shape: &[i64]) -> Result<QuantizedWeight, String> {
    require_finite(values)?;
    let (lo, hi) = range_of(values);
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let hi = if lo == hi { 1.0 } else { hi };
    Ok(QuantizedWeight { shape: shape.to_vec(), encoding: encode_uint8_in(values, lo, hi) })
}

fn range_of(values: &[f32]) -> (f64, f64) {
    // In float32, which vectorizes; widening is exact and keeps the order.
    let (lo, hi) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    (f64::from(lo), f64::from(hi))
}

/// `x.round()` (half away from zero, as C's `round`), which baseline x86-64
/// makes a libm call, per element. Adding and subtracting 1.5 · 2^52 rounds
/// to the nearest integer, ties to even, exactly while |x| < 2^51; a tie then
/// moves away from zero.
fn round_half_away(x: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0;
    if x.abs() >= 2_251_799_813_685_248.0 {
        return x.round();
    }
    let nearest = (x + SHIFT) - SHIFT;
    let fraction = x - nearest;
    // Without branches, which random weights would mispredict.
    nearest + f64::from(u8::from(fraction == 0.5 && x > 0.0)) - f64::from(u8::from(fraction == -0.5 && x < 0.0))
}

fn encode_uint8_in(values: &[f32], lo: f64, hi: f64) -> WeightEncoding {
    if lo == hi {
        return WeightEncoding::Uint8 { values: vec![0; values.len()], min: lo, scale: 1.0 };
    }
    let levels_per_unit = 255.0 / (hi - lo);
    // `f64::round` rounds half away from zero, as C's `round` does.
    let offset = (lo * levels_per_unit).round();
    let q = values.iter().map(|&v| {
        let level = (round_half_away(f64::from(v) * levels_per_unit) - offset).clamp(0.0, 255.0);
        // SAFETY: clamped to [0, 255] (and never NaN: the values are finite).
        unsafe { level.to_int_unchecked::<u8>() }
    });
    let scale = 1.0 / levels_per_unit;
    // `offset · scale` rather than `offset / S`: the decoder's `zp · scale + min`
    // then cancels to exactly 0 in float64, where the division could leave a crumb.
    WeightEncoding::Uint8 { values: q.collect(), min: offset * scale, scale }
}

fn encode_float16(values: &[f32]) -> Result<WeightEncoding, String> {
    const HALF_MAX: f32 = 65504.0;
    let bits: Vec<u16> = values.iter().map(|&v| f16::from_f32(v).to_bits()).collect();
    let overflows = values.iter().zip(&bits).any(|(v, &b)| v.is_finite() && !f16::from_bits(b).is_finite());
    if overflows {
        return Err(format!("holds values beyond float16's range (±{HALF_MAX})"));
    }
    Ok(WeightEncoding::Float16 { values: bits })
}

pub(super) fn encode_int8(values: &[f32], channels: Channels) -> WeightEncoding {
    let mut max_abs = vec![0f32; channels.count];
    for (i, v) in values.iter().enumerate() {
        let c = channels.of_element(i);
        max_abs[c] = max_abs[c].max(v.abs());
    }
    let scales: Vec<f32> = max_abs.into_iter().map(int8_scale).collect();
    let q = values.iter().enumerate().map(|(i, &v)| {
        let scale = f64::from(scales[channels.of_element(i)]);
        (f64::from(v) / scale).round().clamp(-127.0, 127.0) as i8
    });
    WeightEncoding::Int8 { values: q.collect(), scales, axis: channels.axis }
}

/// `max|w| / 127` as a float32 that TensorFlow's SCALED `Dequantize` gets
/// back exactly from the `±127·s` range we store (it divides in float32), so
/// the `.pb` and the browser decode the same bits. An all-zero channel gets 1.
fn int8_scale(max_abs: f32) -> f32 {
    if max_abs == 0.0 {
        return 1.0;
    }
    let recovered = |s: f32| (127.0f32 * s) / 127.0;
    let mut scale = ((f64::from(max_abs) / 127.0) as f32).max(f32::from_bits(1));
    for _ in 0..4 {
        let next = recovered(scale);
        if next == scale {
            return scale;
        }
        scale = next;
    }
    // With 17 significant bits, 127·s is exact in float32, so it always survives.
    f32::from_bits(scale.to_bits() & !0x7f)
}

impl QuantizedWeight {
    pub fn num_elements(&self) -> usize {
        match &self.encoding {
            WeightEncoding::Uint8 { values, .. } => values.len(),
            WeightEncoding::Float16 { values } => values.len(),
            WeightEncoding::Int8 { values, .. } => values.len(),
        }
    }

    /// Bytes of the stored elements (int8 scales included, 4 bytes each).
    pub fn byte_len(&self) -> usize {
        match &self.encoding {
            WeightEncoding::Uint8 { values, .. } => values.len(),
            WeightEncoding::Float16 { values } => 2 * values.len(),
            WeightEncoding::Int8 { values, scales, .. } => values.len() + 4 * scales.len(),
        }
    }

    /// The stored elements, little-endian, as a TensorFlow.js weight shard
    /// holds them (int8 scales live in the manifest, not here).
    pub fn element_bytes(&self) -> Vec<u8> {
        match &self.encoding {
            WeightEncoding::Uint8 { values, .. } => values.clone(),
            WeightEncoding::Float16 { values } => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            WeightEncoding::Int8 { values, .. } => values.iter().map(|&v| v as u8).collect(),
        }
    }

    /// Exactly the float32 values the consumer decodes.
    pub fn decode(&self) -> Vec<f32> {
        match &self.encoding {
            WeightEncoding::Uint8 { values, min, scale } => {
                values.iter().map(|&q| (f64::from(q) * scale + min) as f32).collect()
            }
            WeightEncoding::Float16 { values } => values.iter().map(|&b| f16::from_bits(b).to_f32()).collect(),
            WeightEncoding::Int8 { values, scales, axis } => {
                let channels = Channels::from_encoding(&self.shape, *axis, scales.len());
                values.iter().enumerate().map(|(i, &q)| f32::from(q) * scales[channels.of_element(i)]).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_c_round() {
        let mut cases =
            vec![0.5, -0.5, 1.5, -2.5, 0.49999999999999994, -0.49999999999999994, 2.0f64.powi(52) + 1.0, 1e300];
        let mut x = 1e-3f64;
        while x < 1e12 {
            cases.extend([x, -x, x + 0.5, -x - 0.5, x.floor() + 0.5, -(x.floor() + 0.5)]);
            x *= 1.37;
        }
        for x in cases {
            assert_eq!(round_half_away(x), x.round(), "{x}");
        }
    }

    #[test]
    fn int8_scales_survive_tensorflows_float32_round_trip() {
        let mut x = 1e-7f32;
        while x < 1e7 {
            let s = int8_scale(x);
            assert_eq!((127.0f32 * s) / 127.0, s, "{x}");
            assert!((f64::from(s) * 127.0 / f64::from(x) - 1.0).abs() < 1e-4, "{x}");
            x *= 1.0137;
        }
    }
}
