//! Builds the tantivy document for a parsed source document (see `schema.rs` for the
//! field layout).

use std::collections::BTreeMap;

use tantivy::schema::OwnedValue;
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{DateTime, TantivyDocument};

use super::document::{IndexedValue, ParsedDocument};
use super::mapping::FieldType;
use super::meta::IndexState;
use super::schema::SchemaFields;
use super::vector_source::split;
use crate::analysis::{EsAnalyzer, analyze};
use crate::error::Result;

/// Returns the tantivy document holding `parsed` plus the metadata fields. The WAL, the
/// realtime map and write responses keep the whole `source`; here the values of indexed
/// vector fields leave it (see `vector_source.rs`).
#[allow(clippy::too_many_arguments)]
pub fn build_tantivy_document(
    fields: &SchemaFields,
    state: &IndexState,
    id: &str,
    ord: u64,
    seq_no: u64,
    version: u64,
    source: &[u8],
    parsed: &ParsedDocument,
) -> Result<TantivyDocument> {
    let split = split(source, &state.apart_vector_fields())?;
    let mut document = TantivyDocument::default();
    document.add_text(fields.id, id);
    document.add_u64(fields.ord, ord);
    document.add_u64(fields.seq_no, seq_no);
    document.add_u64(fields.version, version);
    match &split {
        Some((rest, vectors)) => {
            document.add_text(fields.source, String::from_utf8_lossy(rest));
            document.add_text(fields.vectors, String::from_utf8_lossy(vectors));
        }
        None => document.add_text(fields.source, String::from_utf8_lossy(source)),
    }
    for path in &parsed.present_paths {
        document.add_text(fields.exists, path);
    }
    let mut indexed_values: BTreeMap<String, Vec<OwnedValue>> = BTreeMap::new();
    let mut column_only_values: BTreeMap<String, Vec<OwnedValue>> = BTreeMap::new();
    let mut texts: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (path, value) in &parsed.values {
        let Some(field) = state.mapping.field(path) else {
            continue;
        };
        let owned = match value {
            IndexedValue::Text(text) => {
                if field.indexed {
                    texts.entry(path.as_str()).or_default().push(text.as_str());
                }
                continue;
            }
            IndexedValue::Vector(_) => continue,
            IndexedValue::Keyword(text) => OwnedValue::Str(text.clone()),
            IndexedValue::I64(number) => OwnedValue::I64(*number),
            IndexedValue::F64(number) => OwnedValue::F64(*number),
            IndexedValue::Bool(flag) => OwnedValue::Bool(*flag),
            IndexedValue::Date(millis) => OwnedValue::Date(DateTime::from_timestamp_millis(*millis)),
        };
        if field.indexed {
            indexed_values.entry(path.clone()).or_default().push(owned);
        } else if field.doc_values {
            column_only_values.entry(path.clone()).or_default().push(owned);
        }
    }
    if !indexed_values.is_empty() {
        document.add_object(fields.values, into_object(indexed_values));
    }
    if !column_only_values.is_empty() {
        document.add_object(fields.doc_values_only, into_object(column_only_values));
    }
    for (path, values) in texts {
        let Some(slot) = state.text_slots.get(path) else {
            continue;
        };
        let Some(FieldType::Text {
            analyzer,
            position_increment_gap,
            ..
        }) = state.mapping.field(path).map(|field| &field.field_type)
        else {
            continue;
        };
        let analyzer = EsAnalyzer::builtin(analyzer).unwrap_or_else(standard_analyzer);
        let tokenized = pre_tokenize(&analyzer, &values, *position_increment_gap as usize);
        document.add_field_value(fields.text_slots[*slot], &OwnedValue::PreTokStr(tokenized));
    }
    Ok(document)
}

fn standard_analyzer() -> EsAnalyzer {
    EsAnalyzer::builtin("standard").expect("the standard analyzer is built in")
}

fn into_object(values: BTreeMap<String, Vec<OwnedValue>>) -> BTreeMap<String, OwnedValue> {
    values
        .into_iter()
        .map(|(path, mut values)| {
            let value = if values.len() == 1 {
                values.remove(0)
            } else {
                OwnedValue::Array(values)
            };
            (path, value)
        })
        .collect()
}

/// Tokenizes every value of a multi-valued text field into one token stream, leaving
/// `position_increment_gap` positions between values as Lucene does.
pub fn pre_tokenize(analyzer: &EsAnalyzer, values: &[&str], gap: usize) -> PreTokenizedString {
    let mut tokens = Vec::new();
    let mut text = String::new();
    let mut position_base = 0usize;
    for (value_index, value) in values.iter().enumerate() {
        if value_index > 0 {
            text.push(' ');
        }
        let byte_base = text.len();
        text.push_str(value);
        let analyzed = analyze(analyzer, value);
        let mut last_position = None;
        for token in analyzed {
            last_position = Some(token.position);
            tokens.push(Token {
                offset_from: byte_base + token.start_offset,
                offset_to: byte_base + token.end_offset,
                position: position_base + token.position,
                text: token.term,
                position_length: 1,
            });
        }
        if let Some(last) = last_position {
            position_base += last + 1 + gap;
        }
    }
    PreTokenizedString { text, tokens }
}
