//! Small value encodings shared by the request and document parsers.

/// Decodes ES's hex form of byte and bit vectors: "8100012a7f" → [-127, 0, 1, 42, 127].
/// Returns None for anything that is not an even-length hex string.
pub fn decode_hex_vector(hex: &str) -> Option<Vec<f32>> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|at| {
            u8::from_str_radix(&hex[at..at + 2], 16)
                .ok()
                .map(|byte| f32::from(byte as i8))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_signed_bytes() {
        assert_eq!(
            decode_hex_vector("8100012a7f"),
            Some(vec![-127.0, 0.0, 1.0, 42.0, 127.0])
        );
        assert_eq!(decode_hex_vector("abc"), None);
        assert_eq!(decode_hex_vector("zz"), None);
    }
}
