//! Masked CRC32C, the form in which LevelDB tables and TensorFlow bundles
//! store every checksum. Masking keeps a crc of bytes that themselves hold
//! crcs from being trivially related to them.

const MASK_DELTA: u32 = 0xA282_EAD8;

/// The stored form of `crc`.
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// The crc a stored (masked) value stands for.
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

/// Masked crc32c of `bytes`, as stored for numeric tensors.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    mask(crc32c::crc32c(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(crc32c of a block, the masked value TensorFlow stored after it)`,
    /// read from the `.index` of the convnet fixture as TensorFlow 2.21 wrote
    /// it (its index block and metaindex block trailers).
    const STORED_BY_TENSORFLOW: [(u32, u32); 2] = [(0x9178_1a64, 0xd74c_0dc8), (0x83f4_070f, 0xb0a1_f2c0)];

    #[test]
    fn masks_as_tensorflow_stores_crcs() {
        for (crc, stored) in STORED_BY_TENSORFLOW {
            assert_eq!(mask(crc), stored, "{crc:#x}");
            assert_eq!(unmask(stored), crc, "{stored:#x}");
        }
    }

    /// TensorFlow's `crc32c.h`: `((crc >> 15) | (crc << 17)) + 0xa282ead8`.
    #[test]
    fn mask_is_tensorflows_definition() {
        #[allow(clippy::manual_rotate)] // spelled as TensorFlow's header spells it
        let reference = |crc: u32| ((crc >> 15) | (crc << 17)).wrapping_add(0xa282_ead8);
        for crc in [0, 1, 0xE306_9283, 0xFFFF_FFFF, 0x8000_0000, 0x1234_5678, 0x0000_8000] {
            assert_eq!(mask(crc), reference(crc), "{crc:#x}");
            assert_eq!(unmask(mask(crc)), crc);
        }
        // crc32c("123456789") is the standard check value 0xe3069283.
        assert_eq!(masked_crc32c(b"123456789"), 0xc78a_b0e5);
    }
}
