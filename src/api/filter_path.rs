//! ES `filter_path` response filtering: comma-separated dotted paths with `*` (one level)
//! and `**` (any depth) wildcards, and `-` exclusions.
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/common-options.html#common-options-response-filtering>

use serde_json::{Map, Value};

/// Filters `value` by the `filter_path` expression.
pub fn filter_path(value: &Value, expression: &str) -> Value {
    let (excludes, includes): (Vec<&str>, Vec<&str>) = expression
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .partition(|part| part.starts_with('-'));
    let include_patterns: Vec<Vec<&str>> = includes.iter().map(|part| part.split('.').collect()).collect();
    let exclude_patterns: Vec<Vec<&str>> = excludes.iter().map(|part| part[1..].split('.').collect()).collect();
    let mut out = if include_patterns.is_empty() {
        value.clone()
    } else {
        keep(value, &include_patterns).unwrap_or_else(|| Value::Object(Map::new()))
    };
    for pattern in &exclude_patterns {
        remove(&mut out, pattern);
    }
    out
}

fn segment_matches(pattern: &str, key: &str) -> bool {
    pattern == "*" || wildmatch::WildMatch::new(pattern).matches(key)
}

/// Keeps the parts of `value` matched by any pattern; None when nothing matches.
fn keep(value: &Value, patterns: &[Vec<&str>]) -> Option<Value> {
    if patterns.iter().any(|pattern| pattern.is_empty()) {
        return Some(value.clone());
    }
    match value {
        Value::Object(object) => {
            let mut out = Map::new();
            for (key, inner) in object {
                let mut next: Vec<Vec<&str>> = Vec::new();
                for pattern in patterns {
                    if pattern[0] == "**" {
                        next.push(pattern.clone());
                        next.push(pattern[1..].to_vec());
                        if pattern.len() > 1 && segment_matches(pattern[1], key) {
                            next.push(pattern[2..].to_vec());
                        }
                    } else if segment_matches(pattern[0], key) {
                        next.push(pattern[1..].to_vec());
                    }
                }
                if next.is_empty() {
                    continue;
                }
                if let Some(kept) = keep(inner, &next) {
                    out.insert(key.clone(), kept);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let kept: Vec<Value> = items.iter().filter_map(|item| keep(item, patterns)).collect();
            (!kept.is_empty()).then_some(Value::Array(kept))
        }
        _ => patterns
            .iter()
            .any(|pattern| pattern.iter().all(|part| *part == "**"))
            .then(|| value.clone()),
    }
}

fn remove(value: &mut Value, pattern: &[&str]) {
    let Some((first, rest)) = pattern.split_first() else {
        return;
    };
    match value {
        Value::Object(object) => {
            let keys: Vec<String> = object
                .keys()
                .filter(|key| segment_matches(first, key))
                .cloned()
                .collect();
            for key in keys {
                if rest.is_empty() {
                    object.remove(&key);
                } else if let Some(inner) = object.get_mut(&key) {
                    remove(inner, rest);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                remove(item, pattern);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn filters_like_es() {
        let value =
            json!({"took": 1, "hits": {"total": {"value": 2}, "hits": [{"_id": "1", "_score": 1.0}, {"_id": "2"}]}});
        assert_eq!(
            filter_path(&value, "hits.hits._id"),
            json!({"hits": {"hits": [{"_id": "1"}, {"_id": "2"}]}})
        );
        assert_eq!(
            filter_path(&value, "took,hits.total"),
            json!({"took": 1, "hits": {"total": {"value": 2}}})
        );
        assert_eq!(
            filter_path(&value, "**._id"),
            json!({"hits": {"hits": [{"_id": "1"}, {"_id": "2"}]}})
        );
        assert_eq!(filter_path(&value, "-hits"), json!({"took": 1}));
        let nodes = json!({"nodes": {"abc": {"version": "9", "ip": "1", "name": "n"}}});
        assert_eq!(
            filter_path(&nodes, "nodes.*.version,nodes.*.ip"),
            json!({"nodes": {"abc": {"version": "9", "ip": "1"}}})
        );
    }
}
