//! `_source` filtering: what is stored (mapping `_source.includes/excludes`) and what is
//! returned (`_source` request parameter), with ES wildcard path patterns.

use serde_json::{Map, Value};

use super::mapping::Mapping;
use crate::error::Result;

/// Which source paths to keep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceFilter {
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
}

impl SourceFilter {
    /// Returns true when the filter keeps everything.
    pub fn is_noop(&self) -> bool {
        self.includes.is_empty() && self.excludes.is_empty()
    }

    /// Applies the filter to a source object.
    pub fn apply(&self, source: &Map<String, Value>) -> Map<String, Value> {
        filter_object(source, "", self)
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
        };
        Value::Object(filter.apply(source.as_object().expect("object")))
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
