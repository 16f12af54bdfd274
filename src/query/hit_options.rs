//! Per-hit extras of a search request: `highlight` and `fields`, parsed and defaulted once.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// One `highlight.fields` entry with the global options applied.
#[derive(Debug, Clone, PartialEq)]
pub struct HighlightField {
    pub pattern: String,
    pub pre_tag: String,
    pub post_tag: String,
    pub fragment_size: usize,
    pub number_of_fragments: usize,
    pub no_match_size: usize,
}

/// The `highlight` request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HighlightRequest {
    pub fields: Vec<HighlightField>,
}

/// One `fields` entry: a path pattern and an optional date `format`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRequest {
    pub pattern: String,
    pub format: Option<String>,
}

fn first_tag(options: &Map<String, Value>, key: &str) -> Option<String> {
    match options.get(key) {
        Some(Value::Array(tags)) => tags.first().and_then(Value::as_str).map(str::to_string),
        Some(Value::String(tag)) => Some(tag.clone()),
        _ => None,
    }
}

const HIGHLIGHT_KEYS: &[&str] = &[
    "fields",
    "pre_tags",
    "post_tags",
    "fragment_size",
    "number_of_fragments",
    "no_match_size",
    "type",
    "order",
    "require_field_match",
    "encoder",
    "tags_schema",
    "boundary_scanner",
    "fragmenter",
    "highlight_query",
    "max_analyzed_offset",
    "boundary_chars",
    "boundary_max_scan",
    "phrase_limit",
];

/// Parses `highlight` (fields as an object or an array of single-key objects).
pub fn parse_highlight(value: &Value) -> Result<HighlightRequest> {
    let Value::Object(global) = value else {
        return Err(Error::parsing("[highlight] must be an object"));
    };
    for key in global.keys() {
        if !HIGHLIGHT_KEYS.contains(&key.as_str()) {
            return Err(Error::parsing(format!("[highlight] unknown field [{key}]")));
        }
    }
    let entries: Vec<(String, Map<String, Value>)> = match global.get("fields") {
        Some(Value::Object(fields)) => fields
            .iter()
            .map(|(name, options)| (name.clone(), options.as_object().cloned().unwrap_or_default()))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|object| {
                object
                    .iter()
                    .map(|(name, options)| (name.clone(), options.as_object().cloned().unwrap_or_default()))
            })
            .collect(),
        _ => return Err(Error::parsing("[highlight] requires [fields]")),
    };
    let setting = |options: &Map<String, Value>, key: &str, default: usize| -> usize {
        options
            .get(key)
            .or_else(|| global.get(key))
            .and_then(Value::as_u64)
            .map_or(default, |number| number as usize)
    };
    let styled = global.get("tags_schema").and_then(Value::as_str) == Some("styled");
    let default_pre = if styled { "<em class=\"hlt1\">" } else { "<em>" };
    let fields = entries
        .into_iter()
        .map(|(pattern, options)| HighlightField {
            pre_tag: first_tag(&options, "pre_tags")
                .or_else(|| first_tag(global, "pre_tags"))
                .unwrap_or_else(|| default_pre.to_string()),
            post_tag: first_tag(&options, "post_tags")
                .or_else(|| first_tag(global, "post_tags"))
                .unwrap_or_else(|| "</em>".to_string()),
            fragment_size: setting(&options, "fragment_size", 100),
            number_of_fragments: setting(&options, "number_of_fragments", 5),
            no_match_size: setting(&options, "no_match_size", 0),
            pattern,
        })
        .collect();
    Ok(HighlightRequest { fields })
}

/// Parses `fields`: strings or `{"field": .., "format": ..}` objects.
pub fn parse_fields(value: &Value) -> Result<Vec<FieldRequest>> {
    let Value::Array(items) = value else {
        return Err(Error::parsing("[fields] must be an array"));
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(pattern) => Ok(FieldRequest {
                pattern: pattern.clone(),
                format: None,
            }),
            Value::Object(object) => {
                let pattern = object
                    .get("field")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::parsing("[fields] entries need a [field]"))?;
                Ok(FieldRequest {
                    pattern: pattern.to_string(),
                    format: object.get("format").and_then(Value::as_str).map(str::to_string),
                })
            }
            other => Err(Error::parsing(format!("[fields] unexpected entry [{other}]"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn highlight_defaults_and_overrides() {
        let parsed = parse_highlight(
            &json!({"pre_tags": ["<b>"], "fields": {"caption": {"number_of_fragments": 0}, "title": {}}}),
        )
        .expect("parse");
        assert_eq!(parsed.fields[0].pre_tag, "<b>");
        assert_eq!(parsed.fields[0].post_tag, "</em>");
        assert_eq!(parsed.fields[0].number_of_fragments, 0);
        assert_eq!(parsed.fields[1].fragment_size, 100);
        assert!(parse_highlight(&json!({"bogus": 1, "fields": {}})).is_err());
    }

    #[test]
    fn fields_accept_both_forms() {
        let parsed = parse_fields(&json!(["a*", {"field": "d", "format": "epoch_millis"}])).expect("parse");
        assert_eq!(
            parsed[1],
            FieldRequest {
                pattern: "d".into(),
                format: Some("epoch_millis".into())
            }
        );
    }
}
