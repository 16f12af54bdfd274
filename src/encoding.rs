//! Small value encodings shared by the request and document parsers.

/// Prints a number the way Java's `Double.toString` / `Float.toString` do (`50.0`, `0.5`,
/// `1.4436576E12`): ES echoes Java's spelling in aggregation keys and error messages. The
/// digits are the shortest that round-trip in the value's own type, as in Java.
pub fn java_decimal<T: Copy + Into<f64> + std::fmt::Display + std::fmt::LowerExp>(value: T) -> String {
    let wide: f64 = value.into();
    if wide.is_nan() {
        return "NaN".to_string();
    }
    if wide.is_infinite() {
        return if wide > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    let with_fraction = |digits: &str| {
        if digits.contains('.') {
            digits.to_string()
        } else {
            format!("{digits}.0")
        }
    };
    let magnitude = wide.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        return with_fraction(&format!("{value}"));
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific.as_str(), "0"));
    format!("{}E{exponent}", with_fraction(mantissa))
}

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

/// The f64 whose shortest decimal is the f32's, so a float score prints as ES prints it
/// (`0.70691836`, not the widened `0.7069183588027954`).
pub fn shortest_f64(score: f32) -> f64 {
    score.to_string().parse().unwrap_or(f64::from(score))
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
