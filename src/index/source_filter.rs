//! `_source` filtering: what is stored (mapping `_source.includes/excludes`) and what is
//! returned (`_source` request parameter), with ES wildcard path patterns.

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::mapping::Mapping;
use crate::error::Result;

/// Which source paths to keep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceFilter {
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
    /// ES 9.2 `exclude_vectors` (`_source_exclude_vectors`): None follows the index setting
    /// `index.mapping.exclude_source_vectors`, which defaults to true.
    pub exclude_vectors: Option<bool>,
}

impl SourceFilter {
    /// Returns true when the filter keeps everything.
    pub fn is_noop(&self) -> bool {
        self.includes.is_empty() && self.excludes.is_empty()
    }

    /// A filter that keeps only `includes`.
    pub fn including(includes: Vec<String>) -> SourceFilter {
        SourceFilter {
            includes,
            ..SourceFilter::default()
        }
    }

    /// Applies the filter to a source object.
    pub fn apply(&self, source: &Map<String, Value>) -> Map<String, Value> {
        filter_object(source, "", self)
    }
}

/// Parses stored source bytes for a response: the vector fields in `hidden` are skipped
/// without parsing their numbers (they are most of a document's bytes), then `filter` applies.
pub fn render_source(bytes: &[u8], filter: &SourceFilter, hidden: &[String]) -> Result<Value> {
    let value = if hidden.is_empty() {
        serde_json::from_slice(bytes)?
    } else {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let value = SkipPaths { hidden, prefix: "" }.deserialize(&mut deserializer)?;
        deserializer.end()?;
        value
    };
    if filter.includes.is_empty() && filter.excludes.is_empty() {
        return Ok(value);
    }
    match value {
        Value::Object(object) => Ok(Value::Object(filter.apply(&object))),
        other => Ok(other),
    }
}

/// Deserializes a JSON value, leaving out object members at the `hidden` dotted paths.
struct SkipPaths<'a> {
    hidden: &'a [String],
    /// Path of the value being read, with a trailing dot ("" at the root).
    prefix: &'a str,
}

impl<'de> DeserializeSeed<'de> for SkipPaths<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SkipPaths<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> std::result::Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let path = format!("{}{key}", self.prefix);
            if self.hidden.contains(&path) {
                access.next_value::<IgnoredAny>()?;
                continue;
            }
            let nested = format!("{path}.");
            let value = if self.hidden.iter().any(|hidden| hidden.starts_with(&nested)) {
                access.next_value_seed(SkipPaths {
                    hidden: self.hidden,
                    prefix: &nested,
                })?
            } else {
                access.next_value::<Value>()?
            };
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> std::result::Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = access.next_element_seed(SkipPaths {
            hidden: self.hidden,
            prefix: self.prefix,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_bool<E>(self, value: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> std::result::Result<Value, E> {
        Ok(serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, value: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(value.to_string()))
    }

    fn visit_string<E>(self, value: String) -> std::result::Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
}

/// Returns the bytes to store for a document: the original bytes, verbatim, unless the
/// mapping filters `_source`.
pub fn stored_source(mapping: &Mapping, object: &Map<String, Value>, original: Vec<u8>) -> Result<Vec<u8>> {
    let (enabled, includes, excludes) = mapping.source_options();
    if !enabled {
        return Ok(b"{}".to_vec());
    }
    if includes.is_empty() && excludes.is_empty() {
        return Ok(original);
    }
    let filter = SourceFilter {
        includes: includes.to_vec(),
        excludes: excludes.to_vec(),
        exclude_vectors: None,
    };
    Ok(serde_json::to_vec(&Value::Object(filter.apply(object)))?)
}

/// Returns every value at dotted `path` in a source document, through objects, arrays and
/// keys that themselves contain dots (`{"a.b": 1}`); arrays of scalars are flattened.
pub fn values_at<'a>(source: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut found = Vec::new();
    collect_values(source, path, &mut found);
    found
}

fn collect_values<'a>(value: &'a Value, path: &str, found: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => {
            for item in items {
                collect_values(item, path, found);
            }
        }
        Value::Object(object) if !path.is_empty() => {
            for (key, inner) in object {
                if key == path {
                    collect_values(inner, "", found);
                } else if let Some(rest) = path.strip_prefix(key.as_str()).and_then(|rest| rest.strip_prefix('.')) {
                    collect_values(inner, rest, found);
                }
            }
        }
        Value::Null => {}
        other if path.is_empty() => found.push(other),
        _ => {}
    }
}

/// Matches an ES path pattern (`*` matches any characters, dots included).
pub fn path_matches(pattern: &str, path: &str) -> bool {
    wildmatch::WildMatch::new(pattern).matches(path)
}

/// True when `path` is an ancestor object of something `pattern` could match.
fn could_contain_match(pattern: &str, path: &str) -> bool {
    let prefix = format!("{path}.");
    if pattern.starts_with(&prefix) {
        return true;
    }
    // A wildcard before the end of the pattern may reach into this object.
    match pattern.find('*') {
        Some(star) => {
            let literal = &pattern[..star];
            prefix.starts_with(literal) || literal.starts_with(&prefix)
        }
        None => false,
    }
}

fn filter_object(object: &Map<String, Value>, prefix: &str, filter: &SourceFilter) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in object {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        if filter.excludes.iter().any(|pattern| path_matches(pattern, &path)) {
            continue;
        }
        let included = filter.includes.is_empty() || filter.includes.iter().any(|pattern| path_matches(pattern, &path));
        if included {
            out.insert(key.clone(), filter_excludes_only(value, &path, filter));
            continue;
        }
        let descend = filter
            .includes
            .iter()
            .any(|pattern| could_contain_match(pattern, &path));
        if !descend {
            continue;
        }
        match value {
            Value::Object(inner) => {
                let kept = filter_object(inner, &path, filter);
                if !kept.is_empty() {
                    out.insert(key.clone(), Value::Object(kept));
                }
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .filter_map(|item| match item {
                        Value::Object(inner) => {
                            let kept = filter_object(inner, &path, filter);
                            (!kept.is_empty()).then_some(Value::Object(kept))
                        }
                        _ => None,
                    })
                    .collect();
                if !kept.is_empty() {
                    out.insert(key.clone(), Value::Array(kept));
                }
            }
            _ => {}
        }
    }
    out
}

fn filter_excludes_only(value: &Value, path: &str, filter: &SourceFilter) -> Value {
    if filter.excludes.is_empty() {
        return value.clone();
    }
    let only_excludes = SourceFilter {
        includes: Vec::new(),
        excludes: filter.excludes.clone(),
        exclude_vectors: None,
    };
    match value {
        Value::Object(inner) => Value::Object(filter_object(inner, path, &only_excludes)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| filter_excludes_only(item, path, filter))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn apply(includes: &[&str], excludes: &[&str], source: Value) -> Value {
        let filter = SourceFilter {
            includes: includes.iter().map(|s| s.to_string()).collect(),
            excludes: excludes.iter().map(|s| s.to_string()).collect(),
            exclude_vectors: None,
        };
        Value::Object(filter.apply(source.as_object().expect("object")))
    }

    #[test]
    fn hidden_vector_paths_are_skipped_at_any_depth() {
        let bytes = br#"{"v": [0.5, 1e3, -2], "t": "x", "o": {"v": [1, 2], "k": [{"a": 1.5}]}, "n": null}"#;
        let hidden = vec!["v".to_string(), "o.v".to_string()];
        let rendered = render_source(bytes, &SourceFilter::default(), &hidden).expect("render");
        assert_eq!(rendered, json!({"t": "x", "o": {"k": [{"a": 1.5}]}, "n": null}));
        let plain = render_source(bytes, &SourceFilter::default(), &[]).expect("render");
        assert_eq!(plain, serde_json::from_slice::<Value>(bytes).expect("json"));
        let filtered = render_source(bytes, &SourceFilter::including(vec!["o.*".into()]), &hidden).expect("render");
        assert_eq!(filtered, json!({"o": {"k": [{"a": 1.5}]}}));
        assert!(render_source(br#"{"v": [1, 2"#, &SourceFilter::default(), &hidden).is_err());
    }

    #[test]
    fn values_at_walks_objects_arrays_and_dotted_keys() {
        let source = json!({"a": {"b": [1, 2]}, "c": [{"d": "x"}, {"d": "y"}], "e.f": true, "g": null});
        assert_eq!(values_at(&source, "a.b"), vec![&json!(1), &json!(2)]);
        assert_eq!(values_at(&source, "c.d"), vec![&json!("x"), &json!("y")]);
        assert_eq!(values_at(&source, "e.f"), vec![&json!(true)]);
        assert!(values_at(&source, "g").is_empty());
    }

    #[test]
    fn includes_and_excludes_follow_es_paths() {
        let source = json!({"a": 1, "obj": {"x": 1, "y": {"z": 2}}, "arr": [{"x": 1, "y": 2}]});
        assert_eq!(apply(&["obj.x"], &[], source.clone()), json!({"obj": {"x": 1}}));
        assert_eq!(apply(&["obj.*"], &["obj.y"], source.clone()), json!({"obj": {"x": 1}}));
        assert_eq!(
            apply(&[], &["arr.y", "a"], source.clone()),
            json!({"obj": {"x": 1, "y": {"z": 2}}, "arr": [{"x": 1}]})
        );
        assert_eq!(apply(&["*.z"], &[], source), json!({"obj": {"y": {"z": 2}}}));
    }
}
