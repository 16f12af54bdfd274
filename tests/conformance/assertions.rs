//! The assertion steps, with ES's semantics: `match` (exact, `/regex/` in COMMENTS mode, numbers
//! equal across int/float), `length`, `is_true`/`is_false`, `contains`, `gt`/`gte`/`lt`/`lte`,
//! `close_to`.

use regex::Regex;
use serde_json::Value;
use std::cmp::Ordering;

pub fn check_match(field: &str, actual: Option<&Value>, expected: &Value) -> Result<(), String> {
    if let Value::String(text) = expected {
        let trimmed = text.trim();
        if trimmed.len() > 2 && trimmed.starts_with('/') && trimmed.ends_with('/') {
            let Some(Value::String(actual)) = actual else {
                return Err(format!(
                    "field [{field}] was expected to be a string matching {trimmed} but is {}",
                    show(actual)
                ));
            };
            let regex = Regex::new(&format!("(?x){}", &trimmed[1..trimmed.len() - 1]))
                .map_err(|e| format!("bad regex {trimmed}: {e}"))?;
            return if regex.is_match(actual) {
                Ok(())
            } else {
                Err(format!(
                    "field [{field}] was expected to match {trimmed} but was {actual:?}"
                ))
            };
        }
    }
    let actual = actual.unwrap_or(&Value::Null);
    if json_equal(actual, expected) {
        Ok(())
    } else {
        Err(format!(
            "field [{field}] doesn't match: expected {expected} but was {actual}"
        ))
    }
}

/// Deep equality where numbers compare by value (ES: "Double 1.0 is equal to Integer 1").
pub fn json_equal(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => compare_numbers(a, b) == Some(Ordering::Equal),
        (Value::Array(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| json_equal(x, y)),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && b.iter()
                    .all(|(key, value)| a.get(key).is_some_and(|got| json_equal(got, value)))
        }
        _ => actual == expected,
    }
}

fn compare_numbers(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    let exact = |n: &serde_json::Number| n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from));
    match (exact(a), exact(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

pub fn check_length(field: &str, actual: Option<&Value>, expected: &Value) -> Result<(), String> {
    let expected = expected
        .as_u64()
        .ok_or_else(|| format!("length of [{field}] must be a number, got {expected}"))?;
    let length = match actual {
        Some(Value::Array(items)) => items.len(),
        Some(Value::Object(map)) => map.len(),
        Some(Value::String(text)) => text.chars().count(),
        other => return Err(format!("field [{field}] has no length: {}", show(other))),
    };
    if length as u64 == expected {
        Ok(())
    } else {
        Err(format!("field [{field}] has length {length}, expected {expected}"))
    }
}

/// ES `is_true`: present, and not `""`, `false` (any case) or `0`.
pub fn truthy(actual: Option<&Value>) -> bool {
    match actual {
        None | Some(Value::Null) => false,
        Some(value) => {
            let text = crate::stash::display(value);
            !(text.is_empty() || text.eq_ignore_ascii_case("false") || text == "0")
        }
    }
}

/// ES `contains`: a list holding an object with (at least) these keys and values, or this value.
pub fn check_contains(field: &str, actual: Option<&Value>, expected: &Value) -> Result<(), String> {
    let Some(Value::Array(items)) = actual else {
        return Err(format!(
            "field [{field}] was expected to be a list but is {}",
            show(actual)
        ));
    };
    let found = items.iter().any(|item| match (item, expected) {
        (Value::Object(have), Value::Object(want)) => want
            .iter()
            .all(|(key, value)| have.get(key).is_some_and(|got| json_equal(got, value))),
        _ => json_equal(item, expected),
    });
    if found {
        Ok(())
    } else {
        Err(format!(
            "field [{field}] {} does not contain {expected}",
            Value::Array(items.clone())
        ))
    }
}

/// `gt`/`gte`/`lt`/`lte` on numbers, or on strings.
pub fn check_order(op: &str, field: &str, actual: Option<&Value>, expected: &Value) -> Result<(), String> {
    let ordering = match (actual, expected) {
        (Some(Value::Number(a)), Value::Number(b)) => compare_numbers(a, b),
        (Some(Value::String(a)), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
    .ok_or_else(|| format!("field [{field}] = {} cannot be compared with {expected}", show(actual)))?;
    let ok = match op {
        "gt" => ordering == Ordering::Greater,
        "gte" => ordering != Ordering::Less,
        "lt" => ordering == Ordering::Less,
        _ => ordering != Ordering::Greater,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("field [{field}] = {} is not {op} {expected}", show(actual)))
    }
}

/// `close_to: {field: {value: 1.5, error: 0.01}}`
pub fn check_close_to(field: &str, actual: Option<&Value>, expected: &Value) -> Result<(), String> {
    let value = expected.get("value").and_then(Value::as_f64);
    let error = expected.get("error").and_then(Value::as_f64);
    let (Some(value), Some(error)) = (value, error) else {
        return Err(format!(
            "close_to for [{field}] needs numeric `value` and `error`, got {expected}"
        ));
    };
    let got = actual
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("field [{field}] is not a number: {}", show(actual)))?;
    if (got - value).abs() <= error {
        Ok(())
    } else {
        Err(format!("field [{field}] = {got} is not within {error} of {value}"))
    }
}

fn show(value: Option<&Value>) -> String {
    value.map_or_else(|| "absent".to_string(), Value::to_string)
}
