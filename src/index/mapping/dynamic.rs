//! Dynamic mapping: the mapping ES infers for a field it sees for the first time.
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/dynamic-field-mapping.html>

use serde_json::{Value, json};

use super::Mapping;
use crate::date::DateFormat;

/// Returns the mapping ES would add for `value`, or None when the value maps to nothing
/// (null, empty array, array of nulls).
pub fn infer_field_mapping(mapping: &Mapping, value: &Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Bool(_) => Some(json!({"type": "boolean"})),
        Value::Number(number) => {
            if number.is_i64() || number.is_u64() {
                Some(json!({"type": "long"}))
            } else {
                Some(json!({"type": "float"}))
            }
        }
        Value::String(text) => Some(infer_string_mapping(mapping, text)),
        Value::Array(items) => items
            .iter()
            .find(|item| !item.is_null())
            .and_then(|first| infer_field_mapping(mapping, first)),
        Value::Object(_) => Some(json!({"properties": {}})),
    }
}

fn infer_string_mapping(mapping: &Mapping, text: &str) -> Value {
    if mapping.date_detection() && looks_like_date(text) {
        return json!({"type": "date"});
    }
    if mapping.numeric_detection() {
        if text.parse::<i64>().is_ok() {
            return json!({"type": "long"});
        }
        if text.parse::<f64>().is_ok_and(f64::is_finite) {
            return json!({"type": "float"});
        }
    }
    json!({"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}})
}

/// ES's default `dynamic_date_formats` are `strict_date_optional_time` and
/// `yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z`; a bare year such as "2015" is not taken as a date.
fn looks_like_date(text: &str) -> bool {
    if text.len() < 10 || !text.as_bytes()[0].is_ascii_digit() {
        return false;
    }
    if text.as_bytes()[4] == b'-' {
        return DateFormat::default_format().parse_millis(text).is_ok();
    }
    if text.as_bytes()[4] == b'/' {
        return DateFormat::parse("yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z")
            .map(|format| format.parse_millis(text).is_ok())
            .unwrap_or(false);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infers_es_defaults() {
        let mapping = Mapping::default();
        assert_eq!(infer_field_mapping(&mapping, &json!(1)), Some(json!({"type": "long"})));
        assert_eq!(
            infer_field_mapping(&mapping, &json!(1.5)),
            Some(json!({"type": "float"}))
        );
        assert_eq!(
            infer_field_mapping(&mapping, &json!(true)),
            Some(json!({"type": "boolean"}))
        );
        assert_eq!(
            infer_field_mapping(&mapping, &json!("2024-01-05T10:00:00Z")),
            Some(json!({"type": "date"}))
        );
        assert_eq!(
            infer_field_mapping(&mapping, &json!("hello")),
            Some(json!({"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}))
        );
        assert_eq!(
            infer_field_mapping(&mapping, &json!("2015")).and_then(|m| m.get("type").cloned()),
            Some(json!("text"))
        );
        assert_eq!(
            infer_field_mapping(&mapping, &json!([null, 3])),
            Some(json!({"type": "long"}))
        );
        assert_eq!(infer_field_mapping(&mapping, &json!(null)), None);
    }
}
