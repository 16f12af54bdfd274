//! Index settings as ES accepts them (nested or dotted, with or without the `index.`
//! prefix) and returns them (nested, values as strings).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Settings Iris knows; anything else is rejected like ES rejects unknown settings.
const KNOWN_SETTINGS: &[&str] = &[
    "number_of_shards",
    "number_of_replicas",
    "auto_expand_replicas",
    "refresh_interval",
    "max_result_window",
    "max_inner_result_window",
    "max_terms_count",
    "max_ngram_diff",
    "codec",
    "hidden",
    "default_pipeline",
    "final_pipeline",
    "knn",
    "knn.algo_param.ef_search",
    "search.default_pipeline",
    "query.default_field",
    "mapping.total_fields.limit",
    "mapping.depth.limit",
    "mapping.exclude_source_vectors",
    "number_of_routing_shards",
    "sort.field",
    "sort.order",
    "store.type",
    "priority",
];

/// Settings Iris computes; users may not set them.
const PRIVATE_SETTINGS: &[&str] = &["uuid", "creation_date", "provided_name", "version.created"];

/// Settings that are fixed at creation (`PUT _settings` may not change them).
const STATIC_SETTINGS: &[&str] = &[
    "number_of_shards",
    "codec",
    "number_of_routing_shards",
    "store.type",
    "mapping.exclude_source_vectors",
];

/// Prefixes accepted as-is (ES plugins and cluster features Iris tolerates but ignores).
const TOLERATED_PREFIXES: &[&str] = &[
    "blocks.",
    "lifecycle.",
    "routing.",
    "analysis.",
    "similarity.",
    "translog.",
    "unassigned.",
    "write.",
    "merge.",
    "search.slowlog.",
    "indexing.slowlog.",
    "knn.",
];

/// Validated index settings, keyed by their name without the `index.` prefix.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndexSettings {
    flat: BTreeMap<String, Value>,
}

fn flatten(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&path, inner, out);
            }
        }
        other => {
            if !prefix.is_empty() {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
}

fn as_setting_string(value: &Value) -> Value {
    match value {
        Value::String(_) => value.clone(),
        Value::Null => Value::Null,
        Value::Array(items) => Value::Array(items.iter().map(as_setting_string).collect()),
        other => Value::String(other.to_string()),
    }
}

/// Parses an ES time value ("1s", "500ms", "2m", "-1") into milliseconds; -1 → None.
pub fn parse_time_value_ms(text: &str, setting: &str) -> Result<Option<u64>> {
    let text = text.trim();
    if text == "-1" {
        return Ok(None);
    }
    let units: [(&str, u64); 7] = [
        ("nanos", 0),
        ("micros", 0),
        ("ms", 1),
        ("s", 1000),
        ("m", 60_000),
        ("h", 3_600_000),
        ("d", 86_400_000),
    ];
    for (suffix, factor) in units {
        if let Some(number) = text.strip_suffix(suffix)
            && let Ok(number) = number.trim().parse::<f64>()
            && number >= 0.0
        {
            let millis = if factor == 0 { 0.0 } else { number * factor as f64 };
            return Ok(Some(millis as u64));
        }
    }
    Err(Error::illegal_argument(format!(
        "failed to parse setting [{setting}] with value [{text}] as a time value: unit is missing or unrecognized"
    )))
}

impl IndexSettings {
    /// Parses the `settings` object of a create-index request.
    pub fn parse(body: &Value) -> Result<IndexSettings> {
        let mut settings = IndexSettings::default();
        settings.apply(body, None)?;
        settings
            .flat
            .entry("number_of_shards".into())
            .or_insert_with(|| Value::String("1".into()));
        settings
            .flat
            .entry("number_of_replicas".into())
            .or_insert_with(|| Value::String("1".into()));
        Ok(settings)
    }

    /// Restores settings saved in index metadata (already validated when they were set).
    pub fn from_stored(stored: &Value) -> IndexSettings {
        let mut flat = BTreeMap::new();
        flatten("", stored, &mut flat);
        let flat = flat
            .into_iter()
            .map(|(key, value)| (key.strip_prefix("index.").unwrap_or(&key).to_string(), value))
            .collect();
        IndexSettings { flat }
    }

    /// Applies a settings update; `existing_index` (name, uuid) enforces ES's rule that
    /// static settings cannot change on an open index.
    pub fn apply(&mut self, body: &Value, existing_index: Option<(&str, &str)>) -> Result<()> {
        if !body.is_object() && !body.is_null() {
            return Err(Error::illegal_argument("settings must be an object"));
        }
        let mut flat = BTreeMap::new();
        flatten("", body, &mut flat);
        let mut updates = BTreeMap::new();
        for (key, value) in flat {
            let name = key.strip_prefix("index.").unwrap_or(&key).to_string();
            if PRIVATE_SETTINGS.contains(&name.as_str()) {
                return Err(Error::illegal_argument(format!(
                    "private index setting [index.{name}] can not be set explicitly"
                )));
            }
            let known = KNOWN_SETTINGS.contains(&name.as_str())
                || TOLERATED_PREFIXES.iter().any(|prefix| name.starts_with(prefix));
            if !known {
                return Err(Error::illegal_argument(format!(
                    "unknown setting [index.{name}] please check that any required plugins are installed, or check the breaking changes documentation for removed settings"
                )));
            }
            if let Some((index, uuid)) = existing_index
                && STATIC_SETTINGS.contains(&name.as_str())
            {
                return Err(Error::illegal_argument(format!(
                    "Can't update non dynamic settings [[index.{name}]] for open indices [[{index}/{uuid}]]"
                )));
            }
            validate_setting(&name, &value)?;
            updates.insert(name, as_setting_string(&value));
        }
        for (name, value) in updates {
            if value.is_null() {
                self.flat.remove(&name);
            } else {
                self.flat.insert(name, value);
            }
        }
        Ok(())
    }

    /// Returns a setting by name without the `index.` prefix.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.flat.get(name).and_then(Value::as_str)
    }

    /// Inserts a computed setting (uuid, creation date...).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.flat.insert(name.to_string(), Value::String(value.into()));
    }

    /// Returns the refresh interval; None means refresh is disabled (`-1`).
    pub fn refresh_interval_ms(&self, default_ms: u64) -> Option<u64> {
        match self.get("refresh_interval") {
            Some(text) => parse_time_value_ms(text, "index.refresh_interval").ok().flatten(),
            None => Some(default_ms),
        }
    }

    /// Returns `index.max_result_window` (default 10,000).
    pub fn max_result_window(&self) -> u64 {
        self.get("max_result_window")
            .and_then(|text| text.parse().ok())
            .unwrap_or(10_000)
    }

    /// Returns the settings nested under `index`, as `GET _settings` shows them.
    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        for (name, value) in &self.flat {
            let parts: Vec<&str> = name.split('.').collect();
            insert_nested(&mut root, &parts, value.clone());
        }
        serde_json::json!({ "index": Value::Object(root) })
    }
}

/// Inserts `value` at the dotted `parts` path, creating objects on the way.
pub fn insert_nested(object: &mut Map<String, Value>, parts: &[&str], value: Value) {
    let Some((first, rest)) = parts.split_first() else {
        return;
    };
    if rest.is_empty() {
        object.insert((*first).to_string(), value);
        return;
    }
    let entry = object
        .entry((*first).to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(inner) = entry {
        insert_nested(inner, rest, value);
    }
}

fn validate_setting(name: &str, value: &Value) -> Result<()> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Null => return Ok(()),
        other => other.to_string(),
    };
    let positive_integer = |minimum: u64| -> Result<()> {
        match text.parse::<u64>() {
            Ok(number) if number >= minimum => Ok(()),
            _ => Err(Error::illegal_argument(format!(
                "Failed to parse value [{text}] for setting [index.{name}] must be >= {minimum}"
            ))),
        }
    };
    match name {
        "number_of_shards" => positive_integer(1),
        "number_of_replicas" | "max_result_window" | "max_inner_result_window" => {
            positive_integer(if name == "max_result_window" { 1 } else { 0 })
        }
        "refresh_interval" => parse_time_value_ms(&text, "index.refresh_interval").map(|_| ()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn accepts_nested_and_dotted_forms() {
        let settings = IndexSettings::parse(
            &json!({"number_of_shards": 1, "index": {"refresh_interval": "5s"}, "index.max_result_window": 50}),
        )
        .expect("valid");
        assert_eq!(settings.get("number_of_shards"), Some("1"));
        assert_eq!(settings.refresh_interval_ms(1000), Some(5000));
        assert_eq!(settings.max_result_window(), 50);
        assert_eq!(settings.to_json()["index"]["number_of_replicas"], "1");
    }

    #[test]
    fn rejects_unknown_and_static_updates() {
        let error = IndexSettings::parse(&json!({"index.bogus": 1})).unwrap_err();
        assert!(error.reason.starts_with("unknown setting [index.bogus]"));
        let mut settings = IndexSettings::parse(&json!({})).expect("valid");
        assert!(
            settings
                .apply(&json!({"index.number_of_shards": 2}), Some(("i", "u")))
                .is_err()
        );
        settings
            .apply(&json!({"index.refresh_interval": "-1"}), Some(("i", "u")))
            .expect("dynamic");
        assert_eq!(settings.refresh_interval_ms(1000), None);
    }

    #[test]
    fn parses_time_values() {
        assert_eq!(parse_time_value_ms("500ms", "x").expect("ok"), Some(500));
        assert_eq!(parse_time_value_ms("2m", "x").expect("ok"), Some(120_000));
        assert!(parse_time_value_ms("abc", "x").is_err());
    }
}
