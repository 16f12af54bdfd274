//! Turns a `_source` document into typed values per mapped field, applying ES coercion
//! rules, and collects the mapping updates dynamic mapping needs.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::mapping::dynamic::infer_field_mapping;
use super::mapping::vector::parse_vector_value;
use super::mapping::{Dynamic, FieldDef, FieldType, FloatType, IntegerType, Mapping};
use crate::error::{Error, ErrorKind, Result};

/// A value ready for the index, typed by its field's mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexedValue {
    Text(String),
    Keyword(String),
    I64(i64),
    F64(f64),
    Bool(bool),
    /// Epoch milliseconds, UTC.
    Date(i64),
    Vector(Vec<f32>),
}

/// The index-side view of one document.
#[derive(Debug, Default, Clone)]
pub struct ParsedDocument {
    /// (field path, value), in document order; a multi-valued field appears several times.
    pub values: Vec<(String, IndexedValue)>,
    /// Every field and object path holding a non-null value (for `exists` and BM25 stats).
    pub present_paths: BTreeSet<String>,
    /// Fields whose values were skipped (`ignore_above`), reported as `_ignored`.
    pub ignored: BTreeSet<String>,
}

/// The outcome of walking a document: either its values, or the mapping update that must be
/// applied first (dynamic fields), after which the walk is repeated.
pub enum DocumentWalk {
    Parsed(ParsedDocument),
    NeedsMappingUpdate(Value),
}

/// Walks `source` against `mapping`.
pub fn parse_document(mapping: &Mapping, source: &Map<String, Value>, doc_id: &str) -> Result<DocumentWalk> {
    let mut walker = Walker {
        mapping,
        doc_id,
        parsed: ParsedDocument::default(),
        update: Map::new(),
    };
    walker.walk_object("", source)?;
    if !walker.update.is_empty() {
        return Ok(DocumentWalk::NeedsMappingUpdate(
            serde_json::json!({ "properties": Value::Object(walker.update) }),
        ));
    }
    Ok(DocumentWalk::Parsed(walker.parsed))
}

struct Walker<'a> {
    mapping: &'a Mapping,
    doc_id: &'a str,
    parsed: ParsedDocument,
    /// Dynamic additions, as nested `properties` rooted at the mapping root.
    update: Map<String, Value>,
}

impl Walker<'_> {
    fn walk_object(&mut self, prefix: &str, object: &Map<String, Value>) -> Result<()> {
        for (key, value) in object {
            if key.is_empty() || key.split('.').any(str::is_empty) {
                return Err(self.parsing_error(format!(
                    "field name cannot be an empty string in document with id '{}'",
                    self.doc_id
                )));
            }
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            if prefix.is_empty() && key.starts_with('_') && is_metadata_field(key) {
                return Err(self.parsing_error(format!(
                    "Field [{key}] is a metadata field and cannot be added inside a document. Use the index API request parameters."
                )));
            }
            self.walk_value(&path, value)?;
        }
        Ok(())
    }

    fn walk_value(&mut self, path: &str, value: &Value) -> Result<()> {
        if let Value::Array(items) = value {
            if self.is_vector_field(path) {
                if let Some(update) = self.infer_vector_dims(path, items) {
                    insert_at_path(&mut self.update, path, update);
                    return Ok(());
                }
                return self.index_leaf(path, value);
            }
            for item in items {
                self.walk_value(path, item)?;
            }
            return Ok(());
        }
        match self.mapping.field(path) {
            Some(field) if matches!(field.field_type, FieldType::Object { .. }) => {
                let FieldType::Object { enabled } = field.field_type else {
                    return Ok(());
                };
                match value {
                    Value::Object(object) => {
                        self.parsed.present_paths.insert(path.to_string());
                        if enabled {
                            self.walk_object(path, object)?;
                        }
                        Ok(())
                    }
                    Value::Null => Ok(()),
                    other => Err(self.parsing_error(format!(
                        "object mapping for [{path}] tried to parse field [{path}] as object, but found a concrete value ({})",
                        preview(other)
                    ))),
                }
            }
            Some(_) => self.index_leaf(path, value),
            None => self.unmapped(path, value),
        }
    }

    /// ES sets `dims` of a vector field from the first vector indexed into it.
    fn infer_vector_dims(&self, path: &str, items: &[Value]) -> Option<Value> {
        let field = self.mapping.field(path)?;
        let (FieldType::DenseVector(params) | FieldType::KnnVector(params)) = &field.field_type else {
            return None;
        };
        if params.dims.is_some() || items.is_empty() {
            return None;
        }
        let dims = if params.element == super::mapping::VectorElement::Bit {
            items.len() * 8
        } else {
            items.len()
        };
        Some(serde_json::json!({"type": field.field_type.type_name(), "dims": dims}))
    }

    fn is_vector_field(&self, path: &str) -> bool {
        matches!(
            self.mapping.field(path).map(|field| &field.field_type),
            Some(FieldType::DenseVector(_) | FieldType::KnnVector(_))
        )
    }

    fn unmapped(&mut self, path: &str, value: &Value) -> Result<()> {
        if value.is_null() {
            return Ok(());
        }
        let (parent, name) = match path.rfind('.') {
            Some(at) => (&path[..at], &path[at + 1..]),
            None => ("", path),
        };
        // A dotted key whose parent object is not mapped yet: map the parent first.
        if !parent.is_empty() && self.mapping.field(parent).is_none() {
            let mut nested = Map::new();
            nested.insert(name.to_string(), value.clone());
            return self.unmapped(parent, &Value::Object(nested));
        }
        match self.mapping.dynamic_at(parent) {
            Dynamic::False | Dynamic::Runtime => Ok(()),
            Dynamic::Strict => {
                let within = if parent.is_empty() { "_doc" } else { parent };
                Err(Error::new(
                    ErrorKind::StrictDynamicMapping,
                    format!(
                        "[1:1] mapping set to strict, dynamic introduction of [{name}] within [{within}] is not allowed"
                    ),
                ))
            }
            Dynamic::True => {
                self.infer_into_update(path, value);
                Ok(())
            }
        }
    }

    /// Adds the dynamic mapping of `value` at `path`, descending into new objects so one
    /// pass maps a whole new subtree.
    fn infer_into_update(&mut self, path: &str, value: &Value) {
        let Some(field_mapping) = infer_field_mapping(self.mapping, value) else {
            return;
        };
        insert_at_path(&mut self.update, path, field_mapping);
        let objects: Vec<&Map<String, Value>> = match value {
            Value::Object(object) => vec![object],
            Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
            _ => Vec::new(),
        };
        for object in objects {
            for (key, inner) in object {
                self.infer_into_update(&format!("{path}.{key}"), inner);
            }
        }
    }

    fn index_leaf(&mut self, path: &str, value: &Value) -> Result<()> {
        // Copy the reference so the field definitions borrow the mapping, not `self`.
        let mapping = self.mapping;
        let Some(field) = mapping.field(path) else {
            return Ok(());
        };
        let targets = std::iter::once(path).chain(field.copy_to.iter().map(String::as_str));
        for target in targets {
            for fed in mapping.fields_fed_by(target) {
                self.index_into(fed, value)?;
            }
        }
        Ok(())
    }

    fn index_into(&mut self, field: &FieldDef, value: &Value) -> Result<()> {
        let value = match (value, &field.field_type) {
            (
                Value::Null,
                FieldType::Keyword {
                    null_value: Some(null_value),
                    ..
                },
            ) => Value::String(null_value.clone()),
            (Value::Null, _) => return Ok(()),
            (other, _) => other.clone(),
        };
        let Some(indexed) = self.coerce(field, &value)? else {
            return Ok(());
        };
        self.parsed.present_paths.insert(field.path.clone());
        let mut parent = field.path.as_str();
        while let Some(at) = parent.rfind('.') {
            parent = &parent[..at];
            self.parsed.present_paths.insert(parent.to_string());
        }
        self.parsed.values.push((field.path.clone(), indexed));
        Ok(())
    }

    fn coerce(&mut self, field: &FieldDef, value: &Value) -> Result<Option<IndexedValue>> {
        let type_name = field.field_type.type_name();
        let fail = |walker: &Walker, cause: String| walker.field_error(&field.path, type_name, value, cause);
        if value.is_object() && !matches!(field.field_type, FieldType::Binary) {
            return Err(fail(self, "Can't get text on a START_OBJECT at 1:1".to_string()));
        }
        let indexed = match &field.field_type {
            FieldType::Text { .. } => IndexedValue::Text(scalar_text(value)),
            FieldType::Keyword {
                ignore_above,
                normalizer,
                ..
            } => {
                let text = scalar_text(value);
                if let Some(limit) = ignore_above
                    && text.chars().count() > *limit
                {
                    self.parsed.ignored.insert(field.path.clone());
                    return Ok(None);
                }
                let text = match normalizer.as_deref() {
                    Some("lowercase") => text.to_lowercase(),
                    _ => text,
                };
                IndexedValue::Keyword(text)
            }
            FieldType::Integer(integer_type) => {
                IndexedValue::I64(coerce_integer(*integer_type, value).map_err(|cause| fail(self, cause))?)
            }
            FieldType::Float(float_type) => {
                IndexedValue::F64(coerce_float(*float_type, value).map_err(|cause| fail(self, cause))?)
            }
            FieldType::Boolean => IndexedValue::Bool(match value {
                Value::Bool(flag) => *flag,
                Value::String(text) if text == "true" => true,
                Value::String(text) if text == "false" || text.is_empty() => false,
                _ => {
                    return Err(fail(
                        self,
                        format!(
                            "Failed to parse value [{}] as only [true] or [false] are allowed.",
                            scalar_text(value)
                        ),
                    ));
                }
            }),
            FieldType::Date { format } => {
                let millis = match value {
                    Value::Number(number) => number
                        .as_i64()
                        .or_else(|| number.as_f64().map(|float| float as i64))
                        .ok_or_else(|| fail(self, "invalid epoch".to_string()))?,
                    Value::String(text) => format
                        .parse_millis(text)
                        .map_err(|error| fail(self, error.to_string()))?,
                    _ => return Err(fail(self, "date must be a string or a number".into())),
                };
                IndexedValue::Date(millis)
            }
            FieldType::Object { .. } => return Ok(None),
            FieldType::Binary => return Ok(None),
            FieldType::DenseVector(params) | FieldType::KnnVector(params) => {
                let vector = parse_vector_value(params, value, &field.path, self.doc_id).map_err(|cause| {
                    Error::new(ErrorKind::DocumentParsing, format!("[1:1] failed to parse: {cause}"))
                        .caused_by(Error::illegal_argument(cause))
                })?;
                IndexedValue::Vector(vector)
            }
        };
        Ok(Some(indexed))
    }

    fn field_error(&self, path: &str, type_name: &str, value: &Value, cause: String) -> Error {
        Error::new(
            ErrorKind::DocumentParsing,
            format!(
                "[1:1] failed to parse field [{path}] of type [{type_name}] in document with id '{}'. Preview of field's value: '{}'",
                self.doc_id,
                preview(value)
            ),
        )
        .caused_by(Error::illegal_argument(cause))
    }

    fn parsing_error(&self, reason: String) -> Error {
        Error::new(ErrorKind::DocumentParsing, reason)
    }
}

fn is_metadata_field(key: &str) -> bool {
    matches!(
        key,
        "_id"
            | "_index"
            | "_source"
            | "_routing"
            | "_version"
            | "_seq_no"
            | "_primary_term"
            | "_field_names"
            | "_ignored"
            | "_doc_count"
            | "_tier"
            | "_data_stream_timestamp"
    )
}

fn insert_at_path(update: &mut Map<String, Value>, path: &str, mapping: Value) {
    let mut parts = path.split('.').peekable();
    let mut current = update;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            current.entry(part.to_string()).or_insert(mapping);
            return;
        }
        let entry = current
            .entry(part.to_string())
            .or_insert_with(|| serde_json::json!({"properties": {}}));
        let Some(properties) = entry.as_object_mut().and_then(|object| {
            object
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
        }) else {
            return;
        };
        current = properties;
    }
}

/// Returns the text ES indexes for a scalar (numbers and booleans as their JSON text).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Returns the value preview ES puts in parse errors.
fn preview(value: &Value) -> String {
    match value {
        Value::String(text) => text.chars().take(20).collect(),
        Value::Object(object) => {
            let inner: Vec<String> = object
                .iter()
                .map(|(key, value)| format!("{key}={}", preview(value)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

fn coerce_integer(integer_type: IntegerType, value: &Value) -> std::result::Result<i64, String> {
    let number: f64 = match value {
        Value::Number(number) => {
            if let Some(exact) = number.as_i64() {
                return check_integer_range(integer_type, exact as i128);
            }
            if let Some(exact) = number.as_u64() {
                return check_integer_range(integer_type, exact as i128);
            }
            number.as_f64().unwrap_or(f64::NAN)
        }
        Value::String(text) => {
            if let Ok(exact) = text.trim().parse::<i128>() {
                return check_integer_range(integer_type, exact);
            }
            text.trim()
                .parse::<f64>()
                .map_err(|_| format!("For input string: \"{text}\""))?
        }
        Value::Bool(_) => {
            return Err("Current token (VALUE_TRUE) not numeric, can not use numeric value accessors".into());
        }
        _ => return Err("value must be a number".into()),
    };
    if !number.is_finite() {
        return Err(format!("Value [{number}] is out of range"));
    }
    // ES truncates decimals when coercing to an integer type.
    check_integer_range(integer_type, number.trunc() as i128)
}

fn check_integer_range(integer_type: IntegerType, value: i128) -> std::result::Result<i64, String> {
    let (min, max, name): (i128, i128, &str) = match integer_type {
        IntegerType::Long => (i64::MIN as i128, i64::MAX as i128, "long"),
        IntegerType::Integer => (i32::MIN as i128, i32::MAX as i128, "integer"),
        IntegerType::Short => (i16::MIN as i128, i16::MAX as i128, "short"),
        IntegerType::Byte => (i8::MIN as i128, i8::MAX as i128, "byte"),
        IntegerType::UnsignedLong => (0, i64::MAX as i128, "unsigned_long"),
    };
    if value < min || value > max {
        return Err(format!("Value [{value}] is out of range for {name}"));
    }
    Ok(value as i64)
}

fn coerce_float(float_type: FloatType, value: &Value) -> std::result::Result<f64, String> {
    let number = match value {
        Value::Number(number) => number.as_f64().unwrap_or(f64::NAN),
        Value::String(text) => text
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("For input string: \"{text}\""))?,
        Value::Bool(_) => {
            return Err("Current token (VALUE_TRUE) not numeric, can not use numeric value accessors".into());
        }
        _ => return Err("value must be a number".into()),
    };
    if !number.is_finite() {
        return Err(format!(
            "[{}] supports only finite values, but got [{number}]",
            float_name(float_type)
        ));
    }
    Ok(match float_type {
        FloatType::Double => number,
        // ES stores float and half_float at their own precision; aggregations show it.
        FloatType::Float => f64::from(number as f32),
        FloatType::HalfFloat => round_to_half(number),
        FloatType::ScaledFloat { scaling_factor } => (number * scaling_factor).round() / scaling_factor,
    })
}

fn float_name(float_type: FloatType) -> &'static str {
    match float_type {
        FloatType::Double => "double",
        FloatType::Float => "float",
        FloatType::HalfFloat => "half_float",
        FloatType::ScaledFloat { .. } => "scaled_float",
    }
}

/// Rounds to the nearest IEEE half-precision value (10-bit mantissa).
fn round_to_half(value: f64) -> f64 {
    if value == 0.0 {
        return value;
    }
    let exponent = value.abs().log2().floor().max(-14.0);
    let step = 2f64.powf(exponent - 10.0);
    (value / step).round() * step
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn walk(mapping: &Mapping, source: Value) -> Result<DocumentWalk> {
        parse_document(mapping, source.as_object().expect("object"), "1")
    }

    #[test]
    fn dynamic_fields_produce_mapping_update_then_values() {
        let mapping = Mapping::default();
        let source = json!({"title": "Red shoes", "price": 12, "owner": {"name": "ann"}});
        let DocumentWalk::NeedsMappingUpdate(update) = walk(&mapping, source.clone()).expect("walk") else {
            panic!("expected an update");
        };
        assert_eq!(update["properties"]["owner"]["properties"]["name"]["type"], "text");
        let mapping = mapping.merge(&update).expect("merge");
        let DocumentWalk::Parsed(parsed) = walk(&mapping, source).expect("walk") else {
            panic!("expected values");
        };
        assert!(
            parsed
                .values
                .contains(&("title".into(), IndexedValue::Text("Red shoes".into())))
        );
        assert!(
            parsed
                .values
                .contains(&("title.keyword".into(), IndexedValue::Keyword("Red shoes".into())))
        );
        assert!(parsed.values.contains(&("price".into(), IndexedValue::I64(12))));
        assert!(parsed.present_paths.contains("owner"));
        assert!(parsed.present_paths.contains("owner.name.keyword"));
    }

    #[test]
    fn coercion_errors_are_document_parsing_errors() {
        let mapping = Mapping::parse(&json!({"properties": {"price": {"type": "long"}}})).expect("mapping");
        let error = match walk(&mapping, json!({"price": "cheap"})) {
            Err(error) => error,
            Ok(_) => panic!("expected an error"),
        };
        assert_eq!(error.kind, ErrorKind::DocumentParsing);
        assert!(
            error
                .reason
                .contains("failed to parse field [price] of type [long] in document with id '1'")
        );
        let DocumentWalk::Parsed(parsed) = walk(&mapping, json!({"price": "12.7"})).expect("walk") else {
            panic!("expected values");
        };
        assert_eq!(parsed.values, vec![("price".into(), IndexedValue::I64(12))]);
    }

    #[test]
    fn strict_rejects_and_false_ignores_unknown_fields() {
        let strict = Mapping::parse(&json!({"dynamic": "strict", "properties": {}})).expect("mapping");
        let error = match walk(&strict, json!({"x": 1})) {
            Err(error) => error,
            Ok(_) => panic!("expected an error"),
        };
        assert_eq!(error.kind, ErrorKind::StrictDynamicMapping);
        let lenient = Mapping::parse(&json!({"dynamic": false})).expect("mapping");
        let DocumentWalk::Parsed(parsed) = walk(&lenient, json!({"x": 1})).expect("walk") else {
            panic!("expected values");
        };
        assert!(parsed.values.is_empty());
    }

    #[test]
    fn ignore_above_skips_and_reports() {
        let mapping =
            Mapping::parse(&json!({"properties": {"k": {"type": "keyword", "ignore_above": 3}}})).expect("mapping");
        let DocumentWalk::Parsed(parsed) = walk(&mapping, json!({"k": ["ab", "abcd"]})).expect("walk") else {
            panic!("expected values");
        };
        assert_eq!(parsed.values, vec![("k".into(), IndexedValue::Keyword("ab".into()))]);
        assert!(parsed.ignored.contains("k"));
    }

    #[test]
    fn float_types_keep_their_precision() {
        assert_eq!(
            coerce_float(FloatType::Float, &json!(1.1)).expect("float"),
            f64::from(1.1f32)
        );
        assert_eq!(
            coerce_float(FloatType::ScaledFloat { scaling_factor: 100.0 }, &json!(1.234)).expect("scaled"),
            1.23
        );
        assert_eq!(round_to_half(1.0009765625), 1.0009765625);
    }

    #[test]
    fn metadata_fields_are_rejected_in_documents() {
        let mapping = Mapping::default();
        assert!(walk(&mapping, json!({"_id": "x"})).is_err());
    }
}
