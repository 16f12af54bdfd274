//! ES mappings: the canonical JSON a user sees in `GET _mapping`, and the flattened
//! per-path [`FieldDef`]s the engine indexes and queries with.
//!
//! The canonical JSON is the source of truth (it is what index metadata stores); the
//! field table is derived from it on every change, so the two cannot disagree.

pub mod dynamic;
pub mod field;
pub mod vector;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

pub use self::field::{FieldDef, FieldType, FloatType, IntegerType};
pub use self::vector::{VectorElement, VectorIndexKind, VectorParams, VectorQuantization, VectorSimilarity};
use crate::error::{Error, Result};

/// The `dynamic` setting of an object (inherited by its children unless they set one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dynamic {
    True,
    False,
    Strict,
    Runtime,
}

impl Dynamic {
    fn parse(value: &Value) -> Result<Dynamic> {
        match value {
            Value::Bool(true) => Ok(Dynamic::True),
            Value::Bool(false) => Ok(Dynamic::False),
            Value::String(text) => match text.as_str() {
                "true" => Ok(Dynamic::True),
                "false" => Ok(Dynamic::False),
                "strict" => Ok(Dynamic::Strict),
                "runtime" => Ok(Dynamic::Runtime),
                other => Err(Error::mapper_parsing(format!(
                    "Unknown value [{other}] for field [dynamic] - accepted values are [strict, runtime, true, false]"
                ))),
            },
            other => Err(Error::mapper_parsing(format!(
                "Unknown value [{other}] for field [dynamic] - accepted values are [strict, runtime, true, false]"
            ))),
        }
    }
}

const ROOT_PARAMS: &[&str] = &[
    "dynamic",
    "properties",
    "_source",
    "_meta",
    "date_detection",
    "numeric_detection",
    "dynamic_date_formats",
    "_routing",
    "enabled",
    "subobjects",
];

/// A validated mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    root: Map<String, Value>,
    fields: BTreeMap<String, FieldDef>,
    object_dynamic: BTreeMap<String, Dynamic>,
    root_dynamic: Dynamic,
    date_detection: bool,
    numeric_detection: bool,
    source_enabled: bool,
    source_includes: Vec<String>,
    source_excludes: Vec<String>,
}

impl Default for Mapping {
    fn default() -> Mapping {
        Mapping::parse(&Value::Object(Map::new())).expect("the empty mapping is valid")
    }
}

/// Returns true for analyzer names Iris can build.
pub fn is_known_analyzer(name: &str) -> bool {
    crate::analysis::EsAnalyzer::builtin(name).is_some()
}

impl Mapping {
    /// Parses and validates a mapping body (`{"properties": {...}, "dynamic": ...}`).
    pub fn parse(json: &Value) -> Result<Mapping> {
        let Value::Object(input) = json else {
            return Err(Error::mapper_parsing("mapping must be an object"));
        };
        let unsupported: Vec<String> = input
            .iter()
            .filter(|(key, _)| !ROOT_PARAMS.contains(&key.as_str()))
            .map(|(key, value)| format!("[{key} : {value}]"))
            .collect();
        if !unsupported.is_empty() {
            return Err(Error::mapper_parsing(format!(
                "Root mapping definition has unsupported parameters:  {}",
                unsupported.join(" ")
            )));
        }
        let mut root = input.clone();
        if let Some(properties) = root.get("properties").cloned() {
            root.insert("properties".into(), expand_dotted_properties(&properties)?);
        }
        let root_dynamic = match root.get("dynamic") {
            Some(value) => Dynamic::parse(value)?,
            None => Dynamic::True,
        };
        let (source_enabled, source_includes, source_excludes) = parse_source(root.get("_source"))?;
        let mut mapping = Mapping {
            root,
            fields: BTreeMap::new(),
            object_dynamic: BTreeMap::new(),
            root_dynamic,
            date_detection: json_bool(input.get("date_detection"), true),
            numeric_detection: json_bool(input.get("numeric_detection"), false),
            source_enabled,
            source_includes,
            source_excludes,
        };
        if let Some(properties) = mapping.root.get("properties").cloned() {
            mapping.walk_properties("", &properties, root_dynamic)?;
        }
        Ok(mapping)
    }

    fn walk_properties(&mut self, prefix: &str, properties: &Value, inherited: Dynamic) -> Result<()> {
        let Value::Object(properties) = properties else {
            return Err(Error::mapper_parsing(format!(
                "Expected map for property [properties] on field [{prefix}]"
            )));
        };
        for (name, params) in properties {
            if name.is_empty() {
                return Err(Error::mapper_parsing("field name cannot be an empty string"));
            }
            let path = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            let Value::Object(params) = params else {
                return Err(Error::mapper_parsing(format!(
                    "Expected map for property [fields] on field [{name}] but got a class java.lang.String"
                )));
            };
            self.add_field(&path, params, inherited, None)?;
        }
        Ok(())
    }

    fn add_field(
        &mut self,
        path: &str,
        params: &Map<String, Value>,
        inherited: Dynamic,
        parent_of_multi_field: Option<&str>,
    ) -> Result<()> {
        let mut own = params.clone();
        let properties = own.remove("properties");
        let sub_fields = own.remove("fields");
        let dynamic = match own.remove("dynamic") {
            Some(value) => Dynamic::parse(&value)?,
            None => inherited,
        };
        if properties.is_some() || own.get("type").and_then(Value::as_str) == Some("object") {
            if parent_of_multi_field.is_some() {
                return Err(Error::mapper_parsing(format!(
                    "Type [object] cannot be used in multi field [{path}]"
                )));
            }
            own.entry("type").or_insert_with(|| Value::from("object"));
            let (field_type, _, _) = field::parse_field_type(path, &own, &is_known_analyzer)?;
            self.fields.insert(path.to_string(), object_def(path, field_type));
            self.object_dynamic.insert(path.to_string(), dynamic);
            if let Some(properties) = properties {
                self.walk_properties(path, &properties, dynamic)?;
            }
            return Ok(());
        }
        let (field_type, indexed, doc_values) = field::parse_field_type(path, &own, &is_known_analyzer)?;
        let copy_to = match own.get("copy_to") {
            Some(Value::String(target)) => vec![target.clone()],
            Some(Value::Array(targets)) => targets
                .iter()
                .filter_map(|target| target.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        self.fields.insert(
            path.to_string(),
            FieldDef {
                path: path.to_string(),
                field_type,
                indexed,
                doc_values,
                source_path: parent_of_multi_field.unwrap_or(path).to_string(),
                copy_to,
            },
        );
        if let Some(sub_fields) = sub_fields {
            let Value::Object(sub_fields) = sub_fields else {
                return Err(Error::mapper_parsing(format!(
                    "Expected map for property [fields] on field [{path}]"
                )));
            };
            for (name, sub_params) in &sub_fields {
                let Value::Object(sub_params) = sub_params else {
                    return Err(Error::mapper_parsing(format!(
                        "Expected map for property [fields] on field [{path}.{name}]"
                    )));
                };
                let sub_path = format!("{path}.{name}");
                self.add_field(&sub_path, sub_params, dynamic, Some(path))?;
            }
        }
        Ok(())
    }

    /// Returns the mapping as `GET _mapping` shows it: ES orders properties by name.
    pub fn to_json(&self) -> Value {
        sorted_properties(&Value::Object(self.root.clone()))
    }

    /// Returns the field at `path`, if mapped.
    pub fn field(&self, path: &str) -> Option<&FieldDef> {
        self.fields.get(path)
    }

    /// Returns every mapped field, objects and multi-fields included, by path.
    pub fn fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.values()
    }

    /// Returns the `dynamic` setting in force inside the object at `object_path` ("" = root).
    pub fn dynamic_at(&self, object_path: &str) -> Dynamic {
        if object_path.is_empty() {
            return self.root_dynamic;
        }
        self.object_dynamic
            .get(object_path)
            .copied()
            .unwrap_or(self.root_dynamic)
    }

    /// Returns whether string values are checked for dates when mapped dynamically.
    pub fn date_detection(&self) -> bool {
        self.date_detection
    }

    /// Returns whether numeric strings map dynamically to numbers.
    pub fn numeric_detection(&self) -> bool {
        self.numeric_detection
    }

    /// Returns `_source` storage options: enabled, includes, excludes.
    pub fn source_options(&self) -> (bool, &[String], &[String]) {
        (self.source_enabled, &self.source_includes, &self.source_excludes)
    }

    /// Returns the fields whose values come from the given source path (the field itself
    /// and its multi-fields).
    pub fn fields_fed_by(&self, source_path: &str) -> Vec<&FieldDef> {
        let mut fed = Vec::new();
        if let Some(field) = self.fields.get(source_path) {
            fed.push(field);
            let prefix = format!("{source_path}.");
            for (path, field) in self.fields.range(prefix.clone()..) {
                if !path.starts_with(&prefix) {
                    break;
                }
                if field.source_path == source_path && path != source_path {
                    fed.push(field);
                }
            }
        }
        fed
    }

    /// Merges a `PUT _mapping` body (or dynamic additions) into a new mapping, rejecting
    /// type changes the way ES does.
    pub fn merge(&self, update: &Value) -> Result<Mapping> {
        let Value::Object(update) = update else {
            return Err(Error::mapper_parsing("mapping must be an object"));
        };
        let mut merged_root = self.root.clone();
        for (key, value) in update {
            if key == "properties" {
                let expanded = expand_dotted_properties(value)?;
                let existing = merged_root
                    .entry("properties")
                    .or_insert_with(|| Value::Object(Map::new()));
                merge_properties(existing, &expanded, "")?;
            } else {
                merged_root.insert(key.clone(), value.clone());
            }
        }
        Mapping::parse(&Value::Object(merged_root))
    }
}

fn object_def(path: &str, field_type: FieldType) -> FieldDef {
    FieldDef {
        path: path.to_string(),
        field_type,
        indexed: true,
        doc_values: false,
        source_path: path.to_string(),
        copy_to: Vec::new(),
    }
}

fn json_bool(value: Option<&Value>, default: bool) -> bool {
    match value {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => text == "true",
        _ => default,
    }
}

fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn parse_source(value: Option<&Value>) -> Result<(bool, Vec<String>, Vec<String>)> {
    let Some(value) = value else {
        return Ok((true, Vec::new(), Vec::new()));
    };
    let Value::Object(options) = value else {
        return Err(Error::mapper_parsing("[_source] must be an object"));
    };
    for key in options.keys() {
        if !["enabled", "includes", "excludes", "mode"].contains(&key.as_str()) {
            return Err(Error::mapper_parsing(format!(
                "unknown parameter [{key}] on metadata field [_source]"
            )));
        }
    }
    Ok((
        json_bool(options.get("enabled"), true),
        string_list(options.get("includes")),
        string_list(options.get("excludes")),
    ))
}

/// Turns `{"a.b": {...}}` into `{"a": {"properties": {"b": {...}}}}`, as ES does.
fn expand_dotted_properties(properties: &Value) -> Result<Value> {
    let Value::Object(properties) = properties else {
        return Err(Error::mapper_parsing("[properties] must be an object"));
    };
    let mut expanded = Value::Object(Map::new());
    for (name, params) in properties {
        let mut params = params.clone();
        if let Value::Object(object) = &mut params
            && let Some(inner) = object.get("properties").cloned()
        {
            object.insert("properties".into(), expand_dotted_properties(&inner)?);
        }
        let parts: Vec<&str> = name.split('.').collect();
        let mut wrapped = params;
        for part in parts[1..].iter().rev() {
            let mut properties = Map::new();
            properties.insert((*part).to_string(), wrapped);
            let mut object = Map::new();
            object.insert("properties".into(), Value::Object(properties));
            wrapped = Value::Object(object);
        }
        let mut single = Map::new();
        single.insert(parts[0].to_string(), wrapped);
        merge_properties(&mut expanded, &Value::Object(single), "")?;
    }
    Ok(expanded)
}

/// Merges `update` properties into `existing`, recursively; a changed type is an error.
fn merge_properties(existing: &mut Value, update: &Value, prefix: &str) -> Result<()> {
    let (Value::Object(existing), Value::Object(update)) = (existing, update) else {
        return Err(Error::mapper_parsing("[properties] must be an object"));
    };
    for (name, new_params) in update {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match existing.get_mut(name) {
            None => {
                existing.insert(name.clone(), new_params.clone());
            }
            Some(old_params) => merge_field(old_params, new_params, &path)?,
        }
    }
    Ok(())
}

fn type_of(params: &Value) -> &str {
    match params.get("type").and_then(Value::as_str) {
        Some(name) => name,
        None if params.get("properties").is_some() => "object",
        None => "object",
    }
}

fn merge_field(old: &mut Value, new: &Value, path: &str) -> Result<()> {
    let old_type = type_of(old).to_string();
    let new_type = type_of(new).to_string();
    if old_type != new_type {
        return Err(Error::illegal_argument(format!(
            "mapper [{path}] cannot be changed from type [{old_type}] to [{new_type}]"
        )));
    }
    let (Value::Object(old), Value::Object(new)) = (old, new) else {
        return Err(Error::mapper_parsing(format!("Expected map for field [{path}]")));
    };
    for (key, value) in new {
        match key.as_str() {
            "properties" => {
                let target = old.entry("properties").or_insert_with(|| Value::Object(Map::new()));
                merge_properties(target, value, path)?;
            }
            "fields" => {
                let target = old.entry("fields").or_insert_with(|| Value::Object(Map::new()));
                merge_properties(target, value, path)?;
            }
            "type" => {}
            // A vector field without dims gets them from its first document.
            "dims" if !old.contains_key("dims") => {
                old.insert(key.clone(), value.clone());
            }
            "ignore_above" | "dynamic" | "meta" | "search_analyzer" | "boost" | "null_value" => {
                old.insert(key.clone(), value.clone());
            }
            _ => {
                if old.get(key) != Some(value) {
                    let before = old.get(key).map(display_param).unwrap_or_else(|| "null".into());
                    return Err(Error::illegal_argument(format!(
                        "Mapper for [{path}] conflicts with existing mapper:\n\tCannot update parameter [{key}] from [{before}] to [{}]",
                        display_param(value)
                    )));
                }
            }
        }
    }
    Ok(())
}

fn display_param(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn sorted_properties(value: &Value) -> Value {
    match value {
        Value::Object(object) => {
            let mut out = Map::new();
            for (key, inner) in object {
                if key == "properties" || key == "fields" {
                    let mut entries: Vec<(&String, &Value)> = match inner {
                        Value::Object(map) => map.iter().collect(),
                        _ => Vec::new(),
                    };
                    entries.sort_by(|left, right| left.0.cmp(right.0));
                    let sorted: Map<String, Value> = entries
                        .into_iter()
                        .map(|(name, params)| (name.clone(), sorted_properties(params)))
                        .collect();
                    out.insert(key.clone(), Value::Object(sorted));
                } else {
                    out.insert(key.clone(), inner.clone());
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_fields_multi_fields_and_objects() {
        let mapping = Mapping::parse(&json!({"properties": {
            "title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
            "owner": {"properties": {"name": {"type": "keyword"}}},
            "price": {"type": "scaled_float", "scaling_factor": 100}
        }}))
        .expect("valid");
        assert_eq!(mapping.field("title").map(|f| f.field_type.type_name()), Some("text"));
        let raw = mapping.field("title.raw").expect("multi-field");
        assert_eq!(raw.source_path, "title");
        assert_eq!(
            mapping.field("owner.name").map(|f| f.field_type.type_name()),
            Some("keyword")
        );
        assert_eq!(mapping.fields_fed_by("title").len(), 2);
    }

    #[test]
    fn expands_dotted_names() {
        let mapping = Mapping::parse(&json!({"properties": {"a.b": {"type": "long"}}})).expect("valid");
        assert_eq!(
            mapping.to_json(),
            json!({"properties": {"a": {"properties": {"b": {"type": "long"}}}}})
        );
    }

    #[test]
    fn rejects_unknown_parameters_and_types() {
        let error = Mapping::parse(&json!({"properties": {"t": {"type": "text", "bogus": 1}}})).unwrap_err();
        assert_eq!(error.reason, "unknown parameter [bogus] on mapper [t] of type [text]");
        let error = Mapping::parse(&json!({"properties": {"t": {"type": "nope"}}})).unwrap_err();
        assert_eq!(error.reason, "No handler for type [nope] declared on field [t]");
        let error = Mapping::parse(&json!({"_doc": {}})).unwrap_err();
        assert!(
            error
                .reason
                .contains("Root mapping definition has unsupported parameters")
        );
    }

    #[test]
    fn merge_adds_fields_and_rejects_type_changes() {
        let mapping = Mapping::parse(&json!({"properties": {"a": {"type": "text"}}})).expect("valid");
        let merged = mapping
            .merge(&json!({"properties": {"b": {"type": "long"}, "a": {"type": "text", "fields": {"k": {"type": "keyword"}}}}}))
            .expect("merge");
        assert!(merged.field("b").is_some());
        assert!(merged.field("a.k").is_some());
        let error = mapping
            .merge(&json!({"properties": {"a": {"type": "keyword"}}}))
            .unwrap_err();
        assert_eq!(
            error.reason,
            "mapper [a] cannot be changed from type [text] to [keyword]"
        );
    }

    #[test]
    fn sorts_properties_by_name() {
        let mapping =
            Mapping::parse(&json!({"properties": {"z": {"type": "long"}, "a": {"type": "long"}}})).expect("valid");
        let keys: Vec<_> = mapping.to_json()["properties"]
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, vec!["a", "z"]);
    }

    #[test]
    fn vector_fields_validate_dims() {
        let error = Mapping::parse(&json!({"properties": {"v": {"type": "dense_vector", "dims": 5000}}})).unwrap_err();
        assert!(error.reason.contains("[1, 4096]"));
        let mapping =
            Mapping::parse(&json!({"properties": {"v": {"type": "knn_vector", "dimension": 3}}})).expect("valid");
        assert!(matches!(
            mapping.field("v").map(|f| &f.field_type),
            Some(FieldType::KnnVector(_))
        ));
    }
}
