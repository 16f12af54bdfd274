//! Shared DSL pieces: the `{"<field>": {...}}` / `{"<field>": "short"}` forms, boosts,
//! `_name`, `minimum_should_match` and `fuzziness`.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::query::{Fuzziness, MinimumShouldMatch, QueryAst};

/// A query body keyed by one field name: returns (field, long-form object or short value).
pub fn one_field<'a>(query_name: &str, body: &'a Value) -> Result<(&'a str, &'a Value)> {
    let Value::Object(object) = body else {
        return Err(Error::parsing(format!(
            "[{query_name}] query malformed, no start_object after query name"
        )));
    };
    let mut fields = object
        .iter()
        .filter(|(key, _)| key.as_str() != "boost" && key.as_str() != "_name");
    let Some((field, value)) = fields.next() else {
        return Err(Error::parsing(format!(
            "[{query_name}] query doesn't support empty field name... no field specified"
        )));
    };
    if let Some((second, _)) = fields.next() {
        return Err(Error::parsing(format!(
            "[{query_name}] query doesn't support multiple fields, found [{field}] and [{second}]"
        )));
    }
    Ok((field.as_str(), value))
}

/// Checks that a long-form object only has known keys.
pub fn check_keys(query_name: &str, object: &Map<String, Value>, allowed: &[&str]) -> Result<()> {
    for key in object.keys() {
        if !allowed.contains(&key.as_str()) && key != "boost" && key != "_name" {
            return Err(Error::parsing(format!("[{query_name}] query does not support [{key}]")));
        }
    }
    Ok(())
}

/// Reads `boost` (default 1.0).
pub fn boost_of(object: &Map<String, Value>, query_name: &str) -> Result<f32> {
    match object.get("boost") {
        None => Ok(1.0),
        Some(value) => number_f32(value).ok_or_else(|| {
            Error::parsing(format!(
                "[{query_name}] query does not support [boost] with value [{value}]"
            ))
        }),
    }
}

/// Reads a number given as JSON number or numeric string.
pub fn number_f32(value: &Value) -> Option<f32> {
    match value {
        Value::Number(number) => number.as_f64().map(|float| float as f32),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// Wraps a query in `Named` when the object has `_name`.
pub fn named(object: &Map<String, Value>, query: QueryAst) -> QueryAst {
    match object.get("_name").and_then(Value::as_str) {
        Some(name) => QueryAst::Named {
            name: name.to_string(),
            query: Box::new(query),
        },
        None => query,
    }
}

/// Wraps a query in `Named` when a long-form object is present and has `_name`.
pub fn named_opt(object: Option<&Map<String, Value>>, query: QueryAst) -> QueryAst {
    match object {
        Some(object) => named(object, query),
        None => query,
    }
}

/// Reads a boolean given as JSON bool or "true"/"false".
pub fn bool_of(value: Option<&Value>, default: bool) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => text == "true",
        _ => default,
    }
}

/// Parses `minimum_should_match` ("2", "-1", "75%", "3<90%", 2).
pub fn parse_minimum_should_match(value: &Value) -> Result<MinimumShouldMatch> {
    let text = match value {
        Value::Number(number) => {
            return Ok(MinimumShouldMatch::Count(number.as_i64().unwrap_or(0)));
        }
        Value::String(text) => text.trim().to_string(),
        other => {
            return Err(Error::parsing(format!(
                "[minimum_should_match] must be a number or string, got [{other}]"
            )));
        }
    };
    if text.contains('<') {
        let mut steps = Vec::new();
        for part in text.split_whitespace() {
            let Some((threshold, spec)) = part.split_once('<') else {
                return Err(Error::illegal_argument(format!(
                    "Invalid minimum_should_match value [{text}]"
                )));
            };
            let threshold: usize = threshold
                .parse()
                .map_err(|_| Error::illegal_argument(format!("Invalid minimum_should_match value [{text}]")))?;
            steps.push((threshold, parse_minimum_should_match(&Value::String(spec.to_string()))?));
        }
        return Ok(MinimumShouldMatch::Conditional(steps));
    }
    if let Some(percent) = text.strip_suffix('%') {
        return percent
            .parse::<f64>()
            .map(MinimumShouldMatch::Percent)
            .map_err(|_| Error::illegal_argument(format!("Invalid minimum_should_match value [{text}]")));
    }
    text.parse::<i64>()
        .map(MinimumShouldMatch::Count)
        .map_err(|_| Error::illegal_argument(format!("Invalid minimum_should_match value [{text}]")))
}

/// Parses `fuzziness` ("AUTO", "AUTO:3,6", 0, 1, 2, "1").
pub fn parse_fuzziness(value: &Value) -> Result<Fuzziness> {
    let text = match value {
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.clone(),
        other => {
            return Err(Error::parsing(format!(
                "[fuzziness] must be a number or string, got [{other}]"
            )));
        }
    };
    let upper = text.to_ascii_uppercase();
    if upper == "AUTO" {
        return Ok(Fuzziness::Auto { low: 3, high: 6 });
    }
    if let Some(bounds) = upper.strip_prefix("AUTO:") {
        let parts: Vec<&str> = bounds.split(',').collect();
        if let [low, high] = parts.as_slice()
            && let (Ok(low), Ok(high)) = (low.trim().parse(), high.trim().parse())
        {
            return Ok(Fuzziness::Auto { low, high });
        }
        return Err(Error::parsing(format!(
            "failed to find low and high distance values in [{text}]"
        )));
    }
    match text.parse::<f64>() {
        Ok(distance) if (0.0..=2.0).contains(&distance) && distance.fract() == 0.0 => {
            Ok(Fuzziness::Distance(distance as u8))
        }
        Ok(_) => Err(Error::illegal_argument(format!(
            "Valid edit distances are [0, 1, 2] but was [{text}]"
        ))),
        Err(_) => Err(Error::parsing(format!("Invalid fuzziness value: [{text}]"))),
    }
}

/// Returns a JSON scalar as the string ES analyzes (numbers and booleans as text).
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}
