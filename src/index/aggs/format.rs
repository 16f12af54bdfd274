//! Number formatting as ES prints it in aggregation keys and values.

use serde_json::{Value, json};

/// Returns `value` as Java's `Double.toString` prints it (`50.0`, `0.5`, `1.4436576E12`),
/// the spelling of ES range keys and percentile names.
pub fn java_double(value: f64) -> String {
    crate::encoding::java_decimal(value)
}

/// Returns a metric value as JSON: the number, or `null` when it is not finite (ES
/// prints `null` for the min of an empty set, for instance).
pub fn number_or_null(value: f64) -> Value {
    if value.is_finite() { json!(value) } else { Value::Null }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_java() {
        assert_eq!(java_double(50.0), "50.0");
        assert_eq!(java_double(-3.0), "-3.0");
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(99.9), "99.9");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1_443_657_600_000.0), "1.4436576E12");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(f64::NAN), "NaN");
    }

    #[test]
    fn non_finite_values_are_null() {
        assert_eq!(number_or_null(f64::INFINITY), Value::Null);
        assert_eq!(number_or_null(2.5), json!(2.5));
    }
}
