//! Field values for aggregations: a field resolved against every target's mapping to
//! its doc-value columns, read per document as bucket keys or numbers.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::AggTarget;
use super::docs::DocRef;
use crate::date::DateFormat;
use crate::error::{Error, ErrorKind, Result};
use crate::index::columns::{DocValueColumn, column_name, no_doc_values_error, open_column, text_fielddata_error};
use crate::index::mapping::{FieldDef, FieldType};

/// A bucket key or a value read from a column: integers (also dates as epoch ms and
/// booleans as 0/1), doubles and keyword strings.
#[derive(Debug, Clone)]
pub enum Key {
    Int(i64),
    Float(f64),
    Str(String),
}

impl Key {
    /// Returns the key as a number (`None` for strings).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Key::Int(number) => Some(*number as f64),
            Key::Float(number) => Some(*number),
            Key::Str(_) => None,
        }
    }

    /// Returns the key as text, for `include`/`exclude` matching.
    pub fn as_text(&self) -> String {
        match self {
            Key::Int(number) => number.to_string(),
            Key::Float(number) => number.to_string(),
            Key::Str(text) => text.clone(),
        }
    }
}

impl Ord for Key {
    /// Numbers by value (an integer before an equal double), then strings by bytes.
    fn cmp(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Int(left), Key::Int(right)) => left.cmp(right),
            (Key::Float(left), Key::Float(right)) => left.total_cmp(right),
            (Key::Int(left), Key::Float(right)) => (*left as f64).total_cmp(right).then(Ordering::Less),
            (Key::Float(left), Key::Int(right)) => left.total_cmp(&(*right as f64)).then(Ordering::Greater),
            (Key::Str(left), Key::Str(right)) => left.cmp(right),
            (Key::Str(_), _) => Ordering::Greater,
            (_, Key::Str(_)) => Ordering::Less,
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

/// Returns the position of a document in index, segment and doc id order.
fn doc_order(doc: &DocRef) -> (u32, u32, u32) {
    (doc.target, doc.segment, doc.doc)
}

/// The kind of values a field holds, from its mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    Integer,
    Float,
    Date(DateFormat),
    Boolean,
    Keyword,
}

/// Which field types an aggregation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    /// Keywords too (`terms`, `value_count`, `cardinality`, `missing`, sorting).
    Any,
    /// Numbers, dates and booleans.
    Numeric,
}

/// A field resolved in every target: its kind (from the first index that maps it) and
/// its column in each segment.
pub struct FieldSource {
    pub field: String,
    pub kind: Option<ValueKind>,
    columns: Columns,
}

/// Where a field's values come from.
enum Columns {
    /// One column per target and segment.
    Segments(Vec<Vec<DocValueColumn>>),
    /// The `_index` metadata field: the name of each target.
    IndexNames(Vec<String>),
    /// Hand-made values by doc id, for unit tests of the computations.
    #[cfg(test)]
    Fixed(Vec<Vec<Key>>),
}

fn value_kind(field_type: &FieldType) -> Option<ValueKind> {
    match field_type {
        FieldType::Integer(_) => Some(ValueKind::Integer),
        FieldType::Float(_) => Some(ValueKind::Float),
        FieldType::Date { format } => Some(ValueKind::Date(format.clone())),
        FieldType::Boolean => Some(ValueKind::Boolean),
        FieldType::Keyword { .. } => Some(ValueKind::Keyword),
        _ => None,
    }
}

/// Checks that an aggregation of `agg_type` may read `def`, with ES's messages.
fn check_field(def: &FieldDef, agg_type: &str, accepts: Accepts) -> Result<()> {
    let type_name = def.field_type.type_name();
    let unsupported = || {
        Error::illegal_argument(format!(
            "Field [{}] of type [{type_name}] is not supported for aggregation [{agg_type}]",
            def.path
        ))
    };
    match &def.field_type {
        FieldType::Text { .. } => Err(text_fielddata_error(&def.path)),
        FieldType::Object { .. } => Ok(()),
        FieldType::Binary | FieldType::DenseVector(_) | FieldType::KnnVector(_) => Err(unsupported()),
        FieldType::Keyword { .. } if accepts == Accepts::Numeric => Err(unsupported()),
        _ if !def.has_doc_values() => Err(no_doc_values_error(&def.path, type_name)),
        _ => Ok(()),
    }
}

impl FieldSource {
    /// Resolves `field` in every target; mapping problems are shard failures, as in ES.
    pub fn open(targets: &[AggTarget<'_>], field: &str, agg_type: &str, accepts: Accepts) -> Result<FieldSource> {
        if field == "_index" {
            return Ok(FieldSource {
                field: field.to_string(),
                kind: Some(ValueKind::Keyword),
                columns: Columns::IndexNames(targets.iter().map(|target| target.handle.name()).collect()),
            });
        }
        let mut kind = None;
        let mut columns = Vec::with_capacity(targets.len());
        for target in targets {
            let state = target.handle.state();
            let segments = target.searcher.segment_readers();
            let absent = || segments.iter().map(|_| DocValueColumn::Absent).collect::<Vec<_>>();
            let Some(def) = state.mapping.field(field) else {
                columns.push(absent());
                continue;
            };
            check_field(def, agg_type, accepts).map_err(|error| Error::search_phase(error, &target.handle.name()))?;
            let Some(def_kind) = value_kind(&def.field_type) else {
                columns.push(absent());
                continue;
            };
            kind.get_or_insert(def_kind);
            let name = column_name(def);
            columns.push(
                segments
                    .iter()
                    .map(|segment| open_column(segment, &name, &def.field_type))
                    .collect(),
            );
        }
        Ok(FieldSource {
            field: field.to_string(),
            kind,
            columns: Columns::Segments(columns),
        })
    }

    /// Returns a source over hand-made values: `values[doc]` are the values of doc id
    /// `doc` (target 0, segment 0).
    #[cfg(test)]
    pub fn fixed(kind: Option<ValueKind>, values: Vec<Vec<Key>>) -> FieldSource {
        FieldSource {
            field: "f".into(),
            kind,
            columns: Columns::Fixed(values),
        }
    }

    /// Returns the column of `doc`'s segment (`None` for hand-made values).
    fn segment_column(&self, doc: &DocRef) -> Option<&DocValueColumn> {
        match &self.columns {
            Columns::Segments(columns) => columns.get(doc.target as usize)?.get(doc.segment as usize),
            Columns::IndexNames(_) => None,
            #[cfg(test)]
            Columns::Fixed(_) => None,
        }
    }

    /// Appends the values of `doc` as keys.
    pub fn keys(&self, doc: &DocRef, out: &mut Vec<Key>) {
        if let Columns::IndexNames(names) = &self.columns {
            out.extend(names.get(doc.target as usize).map(|name| Key::Str(name.clone())));
            return;
        }
        #[cfg(test)]
        if let Columns::Fixed(values) = &self.columns {
            out.extend(values.get(doc.doc as usize).into_iter().flatten().cloned());
            return;
        }
        let Some(column) = self.segment_column(doc) else {
            return;
        };
        match column {
            DocValueColumn::I64(column) => out.extend(column.values_for_doc(doc.doc).map(Key::Int)),
            DocValueColumn::F64(column) => out.extend(column.values_for_doc(doc.doc).map(Key::Float)),
            DocValueColumn::Date(column) => out.extend(
                column
                    .values_for_doc(doc.doc)
                    .map(|date| Key::Int(date.into_timestamp_millis())),
            ),
            DocValueColumn::Bool(column) => {
                out.extend(column.values_for_doc(doc.doc).map(|flag| Key::Int(i64::from(flag))))
            }
            DocValueColumn::Str(column) => {
                for ord in column.term_ords(doc.doc) {
                    let mut text = String::new();
                    if column.ord_to_str(ord, &mut text).is_ok() {
                        out.push(Key::Str(text));
                    }
                }
            }
            DocValueColumn::Absent => {}
        }
    }

    /// Returns how many values `doc` has, without resolving keyword strings.
    pub fn count_values(&self, doc: &DocRef) -> usize {
        match self.segment_column(doc) {
            Some(DocValueColumn::Str(column)) => column.term_ords(doc.doc).count(),
            _ => {
                let mut keys = Vec::new();
                self.keys(doc, &mut keys);
                keys.len()
            }
        }
    }

    /// Groups documents by their distinct keys: a document counts once per key, and
    /// `missing` stands for the values of documents without any. Keyword ordinals are
    /// grouped per segment first, so each distinct term is resolved to its string once.
    pub fn group_by_key(&self, docs: &[DocRef], missing: Option<&Key>) -> BTreeMap<Key, Vec<DocRef>> {
        let mut groups: BTreeMap<Key, Vec<DocRef>> = BTreeMap::new();
        let mut by_ordinal: BTreeMap<(u32, u32, u64), Vec<DocRef>> = BTreeMap::new();
        let mut ordinals = Vec::new();
        let mut keys = Vec::new();
        for doc in docs {
            if let Some(DocValueColumn::Str(column)) = self.segment_column(doc) {
                ordinals.clear();
                ordinals.extend(column.term_ords(doc.doc));
                ordinals.sort_unstable();
                ordinals.dedup();
                for ordinal in &ordinals {
                    by_ordinal
                        .entry((doc.target, doc.segment, *ordinal))
                        .or_default()
                        .push(*doc);
                }
                if !ordinals.is_empty() {
                    continue;
                }
            }
            keys.clear();
            self.keys_or_missing(doc, missing, &mut keys);
            keys.sort();
            keys.dedup();
            for key in keys.drain(..) {
                groups.entry(key).or_default().push(*doc);
            }
        }
        for ((target, segment, ordinal), ordinal_docs) in by_ordinal {
            let probe = DocRef {
                target,
                segment,
                doc: 0,
                score: 0.0,
            };
            let Some(DocValueColumn::Str(column)) = self.segment_column(&probe) else {
                continue;
            };
            let mut text = String::new();
            if column.ord_to_str(ordinal, &mut text).is_ok() {
                groups.entry(Key::Str(text)).or_default().extend(ordinal_docs);
            }
        }
        for group in groups.values_mut() {
            // Groups merged from several segments (or `missing`) go back to doc order.
            if !group.is_sorted_by_key(doc_order) {
                group.sort_unstable_by_key(doc_order);
            }
        }
        groups
    }

    /// Appends the values of `doc` as keys, or `missing` when it has none.
    pub fn keys_or_missing(&self, doc: &DocRef, missing: Option<&Key>, out: &mut Vec<Key>) {
        let before = out.len();
        self.keys(doc, out);
        if out.len() == before
            && let Some(missing) = missing
        {
            out.push(missing.clone());
        }
    }

    /// Appends the numeric values of `doc` (dates as epoch ms, booleans as 0/1), or the
    /// `missing` number when it has none.
    pub fn numbers_or_missing(&self, doc: &DocRef, missing: Option<f64>, out: &mut Vec<f64>) {
        let mut keys = Vec::new();
        self.keys(doc, &mut keys);
        let before = out.len();
        out.extend(keys.iter().filter_map(Key::as_f64));
        if out.len() == before
            && let Some(missing) = missing
        {
            out.push(missing);
        }
    }

    /// Returns true when `doc` has at least one value.
    pub fn has_value(&self, doc: &DocRef) -> bool {
        self.count_values(doc) > 0
    }

    /// Returns the date format of a date field.
    pub fn date_format(&self) -> Option<&DateFormat> {
        match &self.kind {
            Some(ValueKind::Date(format)) => Some(format),
            _ => None,
        }
    }

    /// Converts a `missing` parameter into a key of this field's kind.
    pub fn missing_key(&self, missing: &Value) -> Result<Key> {
        let invalid = || {
            Error::illegal_argument(format!(
                "invalid [missing] value [{missing}] for field [{}]",
                self.field
            ))
        };
        let number_key = |number: &serde_json::Number| match number.as_i64() {
            Some(integer) => Key::Int(integer),
            None => Key::Float(number.as_f64().unwrap_or(f64::NAN)),
        };
        match (&self.kind, missing) {
            (None | Some(ValueKind::Keyword), Value::String(text)) => Ok(Key::Str(text.clone())),
            (Some(ValueKind::Keyword), other) => Ok(Key::Str(other.to_string())),
            (None, Value::Number(number)) => Ok(number_key(number)),
            (None, Value::Bool(flag)) => Ok(Key::Str(flag.to_string())),
            (Some(ValueKind::Integer), Value::Number(number)) => Ok(number_key(number)),
            (Some(ValueKind::Integer | ValueKind::Float), Value::String(text)) => {
                text.parse::<f64>().map(Key::Float).map_err(|_| invalid())
            }
            (Some(ValueKind::Float), Value::Number(number)) => Ok(Key::Float(number.as_f64().unwrap_or(f64::NAN))),
            (Some(ValueKind::Date(_)), Value::Number(number)) => number.as_i64().map(Key::Int).ok_or_else(invalid),
            (Some(ValueKind::Date(format)), Value::String(text)) => format
                .parse_millis(text)
                .map(Key::Int)
                .map_err(|error| Error::new(ErrorKind::Parse, error.to_string())),
            (Some(ValueKind::Boolean), Value::Bool(flag)) => Ok(Key::Int(i64::from(*flag))),
            (Some(ValueKind::Boolean), Value::String(text)) if text == "true" || text == "false" => {
                Ok(Key::Int(i64::from(text == "true")))
            }
            _ => Err(invalid()),
        }
    }

    /// Renders a bucket key as ES does: `key` plus `key_as_string` for dates (in `format`
    /// or the field's format) and booleans.
    pub fn key_json(&self, key: &Key, format: Option<&DateFormat>) -> (Value, Option<String>) {
        let as_json = match key {
            Key::Int(number) => json!(number),
            Key::Float(number) => json!(number),
            Key::Str(text) => json!(text),
        };
        let as_string = match (&self.kind, key) {
            (Some(ValueKind::Date(field_format)), Key::Int(millis)) => {
                Some(format.unwrap_or(field_format).format_millis(*millis))
            }
            (Some(ValueKind::Boolean), Key::Int(flag)) => Some((*flag != 0).to_string()),
            _ => None,
        };
        (as_json, as_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_order_numbers_then_strings() {
        let mut keys = vec![
            Key::Str("b".into()),
            Key::Float(2.5),
            Key::Int(3),
            Key::Str("a".into()),
            Key::Int(-1),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                Key::Int(-1),
                Key::Float(2.5),
                Key::Int(3),
                Key::Str("a".into()),
                Key::Str("b".into())
            ]
        );
        assert_ne!(Key::Int(2), Key::Float(2.0));
    }

    fn source(kind: Option<ValueKind>) -> FieldSource {
        FieldSource::fixed(kind, Vec::new())
    }

    #[test]
    fn missing_values_follow_the_field_kind() {
        let keyword = source(Some(ValueKind::Keyword));
        assert_eq!(keyword.missing_key(&json!("n/a")).unwrap(), Key::Str("n/a".into()));
        let float = source(Some(ValueKind::Float));
        assert_eq!(float.missing_key(&json!(3)).unwrap(), Key::Float(3.0));
        let date = source(Some(ValueKind::Date(DateFormat::default_format())));
        assert_eq!(date.missing_key(&json!("1970-01-02")).unwrap(), Key::Int(86_400_000));
        let boolean = source(Some(ValueKind::Boolean));
        assert_eq!(boolean.missing_key(&json!(true)).unwrap(), Key::Int(1));
        assert!(boolean.missing_key(&json!([1])).is_err());
    }

    #[test]
    fn dates_and_booleans_render_key_as_string() {
        let date = source(Some(ValueKind::Date(DateFormat::default_format())));
        let (key, as_string) = date.key_json(&Key::Int(86_400_000), None);
        assert_eq!(key, json!(86_400_000));
        assert_eq!(as_string.as_deref(), Some("1970-01-02T00:00:00.000Z"));
        let boolean = source(Some(ValueKind::Boolean));
        assert_eq!(boolean.key_json(&Key::Int(0), None).1.as_deref(), Some("false"));
        let keyword = source(Some(ValueKind::Keyword));
        assert_eq!(keyword.key_json(&Key::Str("x".into()), None), (json!("x"), None));
    }
}
