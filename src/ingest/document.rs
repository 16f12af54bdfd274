//! The document a pipeline works on: its source with dotted-path access the way ES ingest
//! resolves paths (through objects, creating them on write), the `_ingest` metadata, and
//! the `{{field}}` templates of `set`.

use serde_json::{Map, Value};

/// A document going through pipelines.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestDocument {
    pub index: String,
    pub id: Option<String>,
    pub source: Map<String, Value>,
    /// `_ingest.timestamp`: when ingestion started (ES's ISO-8601 form).
    pub timestamp: String,
    /// `_ingest.on_failure_*` while an `on_failure` handler runs.
    pub failure: Option<FailureInfo>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FailureInfo {
    pub message: String,
    pub processor_type: String,
    pub processor_tag: Option<String>,
}

impl IngestDocument {
    pub fn new(index: &str, id: Option<String>, source: Map<String, Value>) -> IngestDocument {
        IngestDocument {
            index: index.to_string(),
            id,
            source,
            timestamp: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            failure: None,
        }
    }

    /// The value at a dotted path (`_ingest.*`, `_index` and `_id` included).
    pub fn get(&self, path: &str) -> Option<Value> {
        match path {
            "_index" => return Some(Value::String(self.index.clone())),
            "_id" => return self.id.clone().map(Value::String),
            "_ingest.timestamp" => return Some(Value::String(self.timestamp.clone())),
            "_ingest.on_failure_message" => return self.failure.as_ref().map(|f| Value::String(f.message.clone())),
            "_ingest.on_failure_processor_type" => {
                return self.failure.as_ref().map(|f| Value::String(f.processor_type.clone()));
            }
            "_ingest.on_failure_processor_tag" => {
                return self
                    .failure
                    .as_ref()
                    .and_then(|f| f.processor_tag.clone())
                    .map(Value::String);
            }
            _ => {}
        }
        let path = path.strip_prefix("_source.").unwrap_or(path);
        let mut parts = path.split('.');
        let first = parts.next()?;
        let mut current = self.source.get(first)?;
        for part in parts {
            current = match current {
                Value::Object(object) => object.get(part)?,
                Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(current.clone())
    }

    /// Sets the value at a dotted path, creating objects on the way. Fails when the path
    /// runs through a value that is not an object (ES's message).
    pub fn set(&mut self, path: &str, value: Value) -> Result<(), String> {
        let path = path.strip_prefix("_source.").unwrap_or(path);
        let parts: Vec<&str> = path.split('.').collect();
        let Some((last, parents)) = parts.split_last() else {
            return Err("path cannot be empty".to_string());
        };
        let mut current = &mut self.source;
        for part in parents {
            let entry = current
                .entry(part.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(object) = entry else {
                return Err(format!(
                    "cannot set [{last}] with parent object of type [{}] as part of path [{path}]",
                    super::pipeline::json_type(entry)
                ));
            };
            current = object;
        }
        current.insert(last.to_string(), value);
        Ok(())
    }

    /// Removes the value at a dotted path; returns it, or None when absent.
    pub fn remove(&mut self, path: &str) -> Option<Value> {
        let path = path.strip_prefix("_source.").unwrap_or(path);
        let parts: Vec<&str> = path.split('.').collect();
        let (last, parents) = parts.split_last()?;
        let mut current = &mut self.source;
        for part in parents {
            let Some(Value::Object(object)) = current.get_mut(*part) else {
                return None;
            };
            current = object;
        }
        current.shift_remove(*last)
    }

    /// Renders a `set` value: strings are mustache templates (`{{field}}`, `{{{field}}}`);
    /// objects and arrays render their strings recursively.
    pub fn render(&self, value: &Value) -> Value {
        match value {
            Value::String(template) => Value::String(self.render_template(template)),
            Value::Array(items) => Value::Array(items.iter().map(|item| self.render(item)).collect()),
            Value::Object(object) => Value::Object(
                object
                    .iter()
                    .map(|(key, inner)| (key.clone(), self.render(inner)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Field names of `set` may be templates too.
    pub fn render_template_field(&self, field: &str) -> String {
        self.render_template(field)
    }

    fn render_template(&self, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let triple = rest[start..].starts_with("{{{");
            let (open, close) = if triple { ("{{{", "}}}") } else { ("{{", "}}") };
            let after = &rest[start + open.len()..];
            let Some(end) = after.find(close) else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = after[..end].trim();
            match self.get(name) {
                Some(Value::String(text)) => out.push_str(&text),
                Some(Value::Null) | None => {}
                Some(other) => out.push_str(&other.to_string()),
            }
            rest = &after[end + close.len()..];
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn document(source: Value) -> IngestDocument {
        IngestDocument::new("i", Some("1".into()), source.as_object().expect("object").clone())
    }

    #[test]
    fn dotted_paths_read_write_and_remove() {
        let mut doc = document(json!({"a": {"b": 1}, "list": [{"x": 2}], "s": "t"}));
        assert_eq!(doc.get("a.b"), Some(json!(1)));
        assert_eq!(doc.get("list.0.x"), Some(json!(2)));
        assert_eq!(doc.get("_id"), Some(json!("1")));
        doc.set("c.d", json!(3)).expect("set");
        assert_eq!(doc.source["c"], json!({"d": 3}));
        assert!(doc.set("s.x", json!(1)).unwrap_err().contains("java.lang.String"));
        assert_eq!(doc.remove("a.b"), Some(json!(1)));
        assert_eq!(doc.remove("a.zz"), None);
    }

    #[test]
    fn templates_substitute_fields_and_metadata() {
        let doc = document(json!({"name": "cat", "n": 2}));
        assert_eq!(
            doc.render(&json!({"k": "a {{name}} x{{{n}}}{{missing}}"})),
            json!({"k": "a cat x2"})
        );
        assert_eq!(doc.render(&json!("{{_index}}/{{_id}}")), json!("i/1"));
        assert_eq!(doc.render(&json!(5)), json!(5));
    }
}
