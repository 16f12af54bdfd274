//! Readers for aggregation parameters on the wire, with ES's error types and messages
//! (`x_content_parse_exception` for malformed values and unknown fields, with ES's
//! "did you mean" suggestions).

use serde_json::{Map, Value};

use crate::date::{DateFormat, parse_time_zone};
use crate::error::{Error, Result};

/// Returns the parameters object of an aggregation.
pub(super) fn params_object<'a>(type_name: &str, name: &str, params: &'a Value) -> Result<&'a Map<String, Value>> {
    match params {
        Value::Object(object) => Ok(object),
        other => Err(Error::parsing(format!(
            "Expected [START_OBJECT] under [{type_name}], but got a [{}] in [{name}]",
            token_name(other)
        ))),
    }
}

/// Rejects keys outside `allowed` with ES's `unknown field` message.
pub(super) fn check_keys(type_name: &str, object: &Map<String, Value>, allowed: &[&str]) -> Result<()> {
    for key in object.keys() {
        if key == "script" {
            return Err(Error::illegal_argument("scripts are not supported by Iris"));
        }
        if !allowed.contains(&key.as_str()) {
            return Err(Error::x_content(format!(
                "[{type_name}] unknown field [{key}]{}",
                did_you_mean(key, allowed.iter().copied())
            )));
        }
    }
    Ok(())
}

/// Returns the required `field` parameter.
pub(super) fn required_field(object: &Map<String, Value>) -> Result<String> {
    match object.get("field") {
        Some(Value::String(field)) => Ok(field.clone()),
        Some(other) => Err(Error::x_content(format!("[field] must be a string, got [{other}]"))),
        None => Err(Error::illegal_argument(
            "Required one of fields [field, script], but none were specified.",
        )),
    }
}

/// Reads a non-negative integer parameter (numbers or numeric strings, as ES accepts).
pub(super) fn usize_param(type_name: &str, object: &Map<String, Value>, key: &str) -> Result<Option<usize>> {
    let Some(value) = object.get(key) else {
        return Ok(None);
    };
    let number = value
        .as_i64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()));
    match number {
        Some(number) if number >= 0 => Ok(Some(number as usize)),
        Some(number) => Err(Error::illegal_argument(format!(
            "[{key}] must be greater than or equal to 0. Found [{number}] in [{type_name}]"
        ))),
        None => Err(failed_field(type_name, key)),
    }
}

/// Reads a number parameter.
pub(super) fn f64_param(type_name: &str, object: &Map<String, Value>, key: &str) -> Result<Option<f64>> {
    let Some(value) = object.get(key) else {
        return Ok(None);
    };
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
        .map(Some)
        .ok_or_else(|| failed_field(type_name, key))
}

/// Reads a boolean parameter (`true`, `false` or their strings).
pub(super) fn bool_param(type_name: &str, object: &Map<String, Value>, key: &str) -> Result<Option<bool>> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::Bool(flag)) => Ok(Some(*flag)),
        Some(Value::String(text)) if text == "true" || text == "false" => Ok(Some(text == "true")),
        Some(_) => Err(failed_field(type_name, key)),
    }
}

/// Reads a string parameter.
pub(super) fn string_param(type_name: &str, object: &Map<String, Value>, key: &str) -> Result<Option<String>> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(failed_field(type_name, key)),
    }
}

/// Reads a date `format` parameter.
pub(super) fn date_format_param(type_name: &str, object: &Map<String, Value>) -> Result<Option<DateFormat>> {
    let Some(spec) = string_param(type_name, object, "format")? else {
        return Ok(None);
    };
    DateFormat::parse(&spec)
        .map(Some)
        .map_err(|error| Error::illegal_argument(error.to_string()))
}

/// Reads a `time_zone` parameter (fixed offsets only).
pub(super) fn time_zone_param(type_name: &str, object: &Map<String, Value>) -> Result<Option<chrono::FixedOffset>> {
    let Some(zone) = string_param(type_name, object, "time_zone")? else {
        return Ok(None);
    };
    parse_time_zone(&zone)
        .map(Some)
        .map_err(|error| Error::illegal_argument(error.to_string()))
}

fn failed_field(type_name: &str, key: &str) -> Error {
    Error::x_content(format!("[{type_name}] failed to parse field [{key}]"))
}

/// Returns the JSON token name ES quotes in parse errors.
pub(super) fn token_name(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Null => "VALUE_NULL",
    }
}

/// Returns ES's ` did you mean [..]?` suffix for the candidates similar to `unknown`
/// (Lucene Levenshtein similarity above 0.5), or an empty string.
pub(super) fn did_you_mean<'a>(unknown: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let mut scored: Vec<(f64, &str)> = candidates
        .map(|candidate| (similarity(unknown, candidate), candidate))
        .filter(|(score, _)| *score > 0.5)
        .collect();
    scored.sort_by(|left, right| right.0.total_cmp(&left.0).then(left.1.cmp(right.1)));
    let names: Vec<&str> = scored.iter().map(|(_, name)| *name).collect();
    match names.as_slice() {
        [] => String::new(),
        [single] => format!(" did you mean [{single}]?"),
        many => format!(" did you mean any of [{}]?", many.join(", ")),
    }
}

/// Returns `1 - levenshtein / max_length`, as Lucene's `LevenshteinDistance`.
fn similarity(left: &str, right: &str) -> f64 {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let longest = left.len().max(right.len());
    if longest == 0 {
        return 1.0;
    }
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (row, left_char) in left.iter().enumerate() {
        let mut current = vec![row + 1; right.len() + 1];
        for (column, right_char) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_char != right_char);
            current[column + 1] = substitution.min(previous[column + 1] + 1).min(current[column] + 1);
        }
        previous = current;
    }
    1.0 - previous[right.len()] as f64 / longest as f64
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn similarity_matches_lucene() {
        assert_eq!(similarity("terms", "terms"), 1.0);
        assert!((similarity("term", "terms") - 0.8).abs() < 1e-9);
        assert_eq!(similarity("", ""), 1.0);
    }

    #[test]
    fn suggestions_list_close_candidates() {
        assert_eq!(
            did_you_mean("feild", ["field", "size"].into_iter()),
            " did you mean [field]?"
        );
        assert_eq!(did_you_mean("zzz", ["field"].into_iter()), "");
        assert_eq!(
            did_you_mean("stat", ["stats", "start", "avg"].into_iter()),
            " did you mean any of [start, stats]?"
        );
    }

    #[test]
    fn numbers_accept_strings_and_reject_negatives() {
        let object = json!({"size": "5", "from": -1, "flag": "true", "bad": [1]});
        let object = object.as_object().unwrap();
        assert_eq!(usize_param("terms", object, "size").unwrap(), Some(5));
        assert!(usize_param("terms", object, "from").is_err());
        assert_eq!(bool_param("terms", object, "flag").unwrap(), Some(true));
        assert_eq!(
            bool_param("terms", object, "bad").unwrap_err().reason,
            "[terms] failed to parse field [bad]"
        );
    }
}
