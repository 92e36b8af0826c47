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

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn mask_of_zero_is_the_delta() {
        assert_eq!(mask(0), 0xA282_EAD8);
        assert_eq!(masked_crc32c(&[]), 0xA282_EAD8);
    }

    #[test]
    fn unmask_inverts_mask() {
        for crc in [0, 1, 0xE306_9283, 0xFFFF_FFFF, 0x8000_0000, 0x1234_5678] {
            assert_eq!(unmask(mask(crc)), crc);
            assert_ne!(mask(crc), crc);
        }
    }
}
