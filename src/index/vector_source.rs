//! Vectors kept out of the stored `_source`, as ES 9.2 does under
//! `index.mapping.exclude_source_vectors` (the default): the values of indexed vector fields
//! leave the source at write time, since the vector index already holds them and they are
//! most of a document's bytes. The stored `_vectors` field keeps what is needed to put them
//! back: which paths the document had and, for cosine fields (stored normalised), each
//! vector's magnitude.
//!
//! The write-ahead log, the realtime map and write responses keep the whole source; only
//! the engine's stored copy is split.

use serde_json::{Map, Value};

use super::mapping::{FieldType, Mapping, VectorElement};
use super::vectors::engine_config;
use crate::error::Result;
use crate::vector::Similarity;

/// An indexed vector field whose values are kept apart from the source.
#[derive(Debug, Clone, PartialEq)]
pub struct ApartField {
    pub path: String,
    /// Stored normalised: `_vectors` records the magnitude.
    pub normalised: bool,
    /// Values are integers (`byte` and `bit` vectors).
    pub integers: bool,
}

/// The fields of `mapping` whose vectors are kept apart (indexed vector fields whose dims
/// are known; unindexed ones have no other copy and stay in the source).
pub fn apart_fields(mapping: &Mapping) -> Vec<ApartField> {
    mapping
        .fields()
        .filter_map(|field| {
            let (FieldType::DenseVector(params) | FieldType::KnnVector(params)) = &field.field_type else {
                return None;
            };
            let (config, _) = engine_config(params)?;
            Some(ApartField {
                path: field.path.clone(),
                normalised: config.similarity == Similarity::Cosine,
                integers: params.element != VectorElement::Float,
            })
        })
        .collect()
}

/// Splits stored source bytes into the source without the apart fields' values and the
/// `_vectors` JSON (None when the document has none of them).
pub fn split(source: &[u8], fields: &[ApartField]) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    if fields.is_empty() {
        return Ok(None);
    }
    let Value::Object(mut object) = serde_json::from_slice(source)? else {
        return Ok(None);
    };
    let mut apart = Map::new();
    for field in fields {
        let Some(value) = take_path(&mut object, &field.path) else {
            continue;
        };
        let magnitude = if field.normalised {
            let components: Vec<f32> = match &value {
                Value::Array(items) => items.iter().filter_map(Value::as_f64).map(|x| x as f32).collect(),
                _ => Vec::new(),
            };
            // The same arithmetic as the engine's normalisation, so the product restores
            // the given values to within one unit in the last place.
            Value::from(f64::from(components.iter().map(|x| x * x).sum::<f32>().sqrt()))
        } else {
            Value::Null
        };
        apart.insert(field.path.clone(), magnitude);
    }
    if apart.is_empty() {
        return Ok(None);
    }
    Ok(Some((
        serde_json::to_vec(&Value::Object(object))?,
        serde_json::to_vec(&Value::Object(apart))?,
    )))
}

/// Parses `_vectors` bytes.
pub fn parse_apart(apart: &[u8]) -> Result<Map<String, Value>> {
    match serde_json::from_slice(apart)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

/// Turns a stored vector back into the given values: times the magnitude recorded in
/// `_vectors` for normalised fields, rounded for integer fields.
pub fn restore(stored: Vec<f32>, magnitude: &Value, integers: bool) -> Vec<f32> {
    let mut values = stored;
    if let Some(magnitude) = magnitude.as_f64() {
        let magnitude = magnitude as f32;
        values.iter_mut().for_each(|value| *value *= magnitude);
    }
    if integers {
        values.iter_mut().for_each(|value| *value = value.round());
    }
    values
}

/// The JSON array ES shows for a vector: integers for `byte`/`bit`, floats in their
/// shortest f32 form (`0.1`, not `0.10000000149011612`).
pub fn vector_json(values: &[f32], integers: bool) -> Value {
    Value::Array(
        values
            .iter()
            .map(|value| {
                if integers {
                    Value::from(*value as i64)
                } else {
                    let shortest: f64 = value.to_string().parse().unwrap_or(f64::from(*value));
                    serde_json::Number::from_f64(shortest).map_or(Value::Null, Value::Number)
                }
            })
            .collect(),
    )
}

/// Puts vectors back into a source: `lookup(path)` gives the restored values of each path
/// recorded in `_vectors` (each comes back as the last member of its object).
pub fn merge(
    source: &[u8],
    apart: &[u8],
    fields: &[ApartField],
    lookup: impl Fn(&ApartField, &Value) -> Option<Vec<f32>>,
) -> Result<Vec<u8>> {
    let Value::Object(mut object) = serde_json::from_slice(source)? else {
        return Ok(source.to_vec());
    };
    for (path, magnitude) in parse_apart(apart)? {
        let Some(field) = fields.iter().find(|field| field.path == path) else {
            continue;
        };
        match lookup(field, &magnitude) {
            Some(values) => put_path(&mut object, &path, vector_json(&values, field.integers)),
            None => tracing::warn!(path, "a document's vector is missing from the vector index"),
        }
    }
    Ok(serde_json::to_vec(&Value::Object(object))?)
}

/// Removes and returns the value at a dotted path, whether written as nested objects or
/// as a dotted key; an object left empty is removed too.
fn take_path(object: &mut Map<String, Value>, path: &str) -> Option<Value> {
    if let Some(value) = object.remove(path) {
        return Some(value);
    }
    let keys: Vec<String> = object.keys().cloned().collect();
    for key in keys {
        let Some(rest) = path.strip_prefix(key.as_str()).and_then(|rest| rest.strip_prefix('.')) else {
            continue;
        };
        let Some(Value::Object(inner)) = object.get_mut(&key) else {
            continue;
        };
        if let Some(value) = take_path(inner, rest) {
            if inner.is_empty() {
                object.remove(&key);
            }
            return Some(value);
        }
    }
    None
}

/// Sets the value at a dotted path, through existing objects, creating nested ones.
fn put_path(object: &mut Map<String, Value>, path: &str, value: Value) {
    if let Some((head, rest)) = path.split_once('.') {
        let inner = object
            .entry(head.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(inner) = inner {
            put_path(inner, rest, value);
            return;
        }
    }
    object.insert(path.to_string(), value);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field(path: &str, normalised: bool, integers: bool) -> ApartField {
        ApartField {
            path: path.to_string(),
            normalised,
            integers,
        }
    }

    #[test]
    fn split_records_paths_and_magnitudes_and_merge_restores_values() {
        let source = br#"{"a": 1, "v": [3, 4], "o": {"w": [0.1, 0.2], "k": "x"}, "p.q": [-5, 7]}"#;
        let fields = vec![
            field("v", true, false),
            field("o.w", false, false),
            field("p.q", false, true),
            field("missing", false, false),
        ];
        let (rest, apart) = split(source, &fields).expect("split").expect("some");
        assert_eq!(
            serde_json::from_slice::<Value>(&rest).expect("json"),
            json!({"a": 1, "o": {"k": "x"}})
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&apart).expect("json"),
            json!({"v": 5.0, "o.w": null, "p.q": null})
        );
        // What the engine stores: cosine rows normalised.
        let stored = |field: &ApartField| -> Vec<f32> {
            match field.path.as_str() {
                "v" => vec![0.6, 0.8],
                "o.w" => vec![0.1, 0.2],
                _ => vec![-5.0, 7.0],
            }
        };
        let merged = merge(&rest, &apart, &fields, |field, magnitude| {
            Some(restore(stored(field), magnitude, field.integers))
        })
        .expect("merge");
        assert_eq!(
            serde_json::from_slice::<Value>(&merged).expect("json"),
            json!({"a": 1, "o": {"k": "x", "w": [0.1, 0.2]}, "v": [3.0, 4.0], "p": {"q": [-5, 7]}})
        );
        assert!(split(br#"{"a": 1}"#, &fields).expect("split").is_none());
    }

    #[test]
    fn floats_print_in_their_shortest_f32_form() {
        assert_eq!(
            vector_json(&[0.1, 1.0, -2.5e-8], false).to_string(),
            "[0.1,1.0,-2.5e-8]"
        );
        assert_eq!(vector_json(&[-128.0, 127.0], true).to_string(), "[-128,127]");
    }
}
