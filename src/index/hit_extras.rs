//! What a hit can carry besides `_source`: `matched_queries` (named clauses it matches),
//! `highlight` (query terms marked in text fields) and `fields` (typed values by path).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value, json};
use tantivy::query::{EnableScoring, Weight};
use tantivy::{DocAddress, DocSet, Searcher};
use unicode_segmentation::UnicodeSegmentation;

use super::IndexHandle;
use super::mapping::{FieldDef, FieldType};
use super::source_filter::{path_matches, values_at};
use super::to_tantivy::QueryBuilder;
use crate::analysis::{EsAnalyzer, analyze};
use crate::date::DateFormat;
use crate::dsl::common::scalar_text;
use crate::error::{Error, Result};
use crate::query::SearchRequest;
use crate::query::hit_options::{FieldRequest, HighlightField};

/// Everything prepared once per index to decorate that index's hits.
pub struct HitDecorator {
    named: Vec<(String, Box<dyn Weight>)>,
    /// text field path → query terms on that field.
    highlight_terms: HashMap<String, HashSet<String>>,
}

impl HitDecorator {
    /// Prepares the named-query weights and highlight terms of `request` for one index.
    pub fn new(
        handle: &IndexHandle,
        searcher: &Searcher,
        request: &SearchRequest,
        now_millis: i64,
    ) -> Result<HitDecorator> {
        let state = handle.state();
        let builder = QueryBuilder {
            state: &state,
            fields: handle.fields(),
            vectors: handle.vectors(),
            now_millis,
        };
        let mut named = Vec::new();
        for (name, query) in request.query.named_queries() {
            let built = builder.build(&query)?;
            named.push((name, built.weight(EnableScoring::disabled_from_searcher(searcher))?));
        }
        let mut highlight_terms: HashMap<String, HashSet<String>> = HashMap::new();
        if request.highlight.is_some() {
            let slot_paths: HashMap<tantivy::schema::Field, &String> = state
                .text_slots
                .iter()
                .map(|(path, slot)| (handle.fields().text_slots[*slot], path))
                .collect();
            let query = builder.build(&request.query)?;
            query.query_terms(&mut |term, _| {
                if let (Some(path), Some(text)) = (slot_paths.get(&term.field()), term.value().as_str()) {
                    highlight_terms
                        .entry((*path).clone())
                        .or_default()
                        .insert(text.to_string());
                }
            });
        }
        Ok(HitDecorator { named, highlight_terms })
    }

    /// Returns true when hits need their source parsed for highlight or fields.
    pub fn needs_source(request: &SearchRequest) -> bool {
        request.highlight.is_some() || !request.fields.is_empty()
    }

    /// Adds `matched_queries`, `highlight` and `fields` to `hit`.
    pub fn decorate(
        &self,
        handle: &IndexHandle,
        searcher: &Searcher,
        address: DocAddress,
        source: Option<&Value>,
        request: &SearchRequest,
        hit: &mut Value,
    ) -> Result<()> {
        let mut matched = Vec::new();
        for (name, weight) in &self.named {
            let segment = searcher.segment_reader(address.segment_ord);
            let mut scorer = weight.scorer(segment, 1.0)?;
            if scorer.doc() == address.doc_id
                || (scorer.doc() < address.doc_id && scorer.seek(address.doc_id) == address.doc_id)
            {
                matched.push(Value::from(name.clone()));
            }
        }
        if !matched.is_empty() {
            hit["matched_queries"] = Value::Array(matched);
        }
        let Some(source) = source else {
            return Ok(());
        };
        let state = handle.state();
        if let Some(highlight) = &request.highlight {
            let mut out = Map::new();
            for requested in &highlight.fields {
                for field in state
                    .mapping
                    .fields()
                    .filter(|field| path_matches(&requested.pattern, &field.path))
                {
                    let FieldType::Text { analyzer, .. } = &field.field_type else {
                        continue;
                    };
                    let terms = self.highlight_terms.get(&field.path);
                    let analyzer = EsAnalyzer::builtin(analyzer).ok_or_else(|| Error::internal("analyzer vanished"))?;
                    let fragments =
                        highlight_values(&analyzer, &values_at(source, &field.source_path), terms, requested);
                    if !fragments.is_empty() {
                        out.insert(field.path.clone(), json!(fragments));
                    }
                }
            }
            if !out.is_empty() {
                hit["highlight"] = Value::Object(out);
            }
        }
        if !request.fields.is_empty() {
            let fields = field_values(state.mapping.fields(), source, &request.fields)?;
            if !fields.is_empty() {
                hit["fields"] = Value::Object(fields.into_iter().collect());
            }
        }
        Ok(())
    }
}

/// Returns the highlighted fragments of a field's values.
fn highlight_values(
    analyzer: &EsAnalyzer,
    values: &[&Value],
    terms: Option<&HashSet<String>>,
    options: &HighlightField,
) -> Vec<String> {
    let mut fragments = Vec::new();
    for value in values {
        let Some(text) = scalar_text(value) else {
            continue;
        };
        let marks: Vec<(usize, usize)> = match terms {
            Some(terms) => analyze(analyzer, &text)
                .into_iter()
                .filter(|token| terms.contains(&token.term))
                .map(|token| (token.start_offset, token.end_offset))
                .collect(),
            None => Vec::new(),
        };
        if marks.is_empty() {
            continue;
        }
        if options.number_of_fragments == 0 {
            fragments.push(mark(&text, 0, text.len(), &marks, options));
            continue;
        }
        // ES's unified highlighter cuts passages at sentence boundaries; they come back in
        // document order.
        for (start, sentence) in text.split_sentence_bound_indices() {
            let end = start + sentence.len();
            if marks.iter().any(|(from, to)| *from >= start && *to <= end) {
                fragments.push(mark(&text, start, end, &marks, options).trim().to_string());
            }
        }
    }
    if fragments.is_empty() && options.no_match_size > 0 {
        if let Some(text) = values.first().and_then(|value| scalar_text(value)) {
            let cut: String = text.chars().take(options.no_match_size).collect();
            fragments.push(cut);
        }
        return fragments;
    }
    if options.number_of_fragments > 0 {
        fragments.truncate(options.number_of_fragments);
    }
    fragments
}

fn mark(text: &str, start: usize, end: usize, marks: &[(usize, usize)], options: &HighlightField) -> String {
    let mut out = String::new();
    let mut position = start;
    for (from, to) in marks.iter().filter(|(from, to)| *from >= start && *to <= end) {
        out.push_str(&text[position..*from]);
        out.push_str(&options.pre_tag);
        out.push_str(&text[*from..*to]);
        out.push_str(&options.post_tag);
        position = *to;
    }
    out.push_str(&text[position..end]);
    out
}

/// Returns `fields` values for the requested patterns, typed like ES does.
fn field_values<'a>(
    mapped: impl Iterator<Item = &'a FieldDef>,
    source: &Value,
    requested: &[FieldRequest],
) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for field in mapped {
        let Some(request) = requested
            .iter()
            .find(|request| path_matches(&request.pattern, &field.path))
        else {
            continue;
        };
        if matches!(field.field_type, FieldType::Object { .. }) {
            continue;
        }
        let mut values = Vec::new();
        for value in values_at(source, &field.source_path) {
            if let Some(typed) = typed_value(field, value, request.format.as_deref())? {
                values.push(typed);
            }
        }
        if matches!(field.field_type, FieldType::DenseVector(_) | FieldType::KnnVector(_)) {
            values = vec![Value::Array(values)];
        }
        if !values.is_empty() {
            out.insert(field.path.clone(), Value::Array(values));
        }
    }
    Ok(out)
}

fn typed_value(field: &FieldDef, value: &Value, format: Option<&str>) -> Result<Option<Value>> {
    Ok(match &field.field_type {
        FieldType::Text { .. } => scalar_text(value).map(Value::from),
        FieldType::Keyword {
            ignore_above,
            normalizer,
            ..
        } => scalar_text(value)
            .filter(|text| ignore_above.is_none_or(|limit| text.chars().count() <= limit))
            .map(|text| {
                if normalizer.as_deref() == Some("lowercase") {
                    text.to_lowercase()
                } else {
                    text
                }
            })
            .map(Value::from),
        FieldType::Integer(_) => value
            .as_i64()
            .or_else(|| value.as_f64().map(|number| number.trunc() as i64))
            .or_else(|| {
                value
                    .as_str()
                    .and_then(|text| text.trim().parse::<f64>().ok())
                    .map(|number| number.trunc() as i64)
            })
            .map(Value::from),
        FieldType::Float(_) => value
            .as_f64()
            .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
            .map(Value::from),
        FieldType::Boolean => match value {
            Value::Bool(flag) => Some(Value::from(*flag)),
            Value::String(text) => Some(Value::from(text == "true")),
            _ => None,
        },
        FieldType::Date { format: field_format } => {
            let millis = match value {
                Value::Number(number) => number.as_i64(),
                Value::String(text) => field_format.parse_millis(text).ok(),
                _ => None,
            };
            let output = match format {
                Some(spec) => DateFormat::parse(spec).map_err(|error| Error::illegal_argument(error.to_string()))?,
                None => field_format.clone(),
            };
            millis.map(|millis| Value::from(output.format_millis(millis)))
        }
        FieldType::DenseVector(_) | FieldType::KnnVector(_) => value.as_f64().map(Value::from),
        FieldType::Object { .. } | FieldType::Binary => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(fragments: usize) -> HighlightField {
        HighlightField {
            pattern: "*".into(),
            pre_tag: "<em>".into(),
            post_tag: "</em>".into(),
            fragment_size: 100,
            number_of_fragments: fragments,
            no_match_size: 0,
        }
    }

    #[test]
    fn marks_terms_in_matching_sentences() {
        let analyzer = EsAnalyzer::builtin("standard").expect("standard");
        let terms: HashSet<String> = ["red".to_string()].into();
        let value = json!("A cat on a Red sofa. Nothing here. Red again!");
        let fragments = highlight_values(&analyzer, &[&value], Some(&terms), &options(5));
        assert_eq!(fragments, vec!["A cat on a <em>Red</em> sofa.", "<em>Red</em> again!"]);
        let whole = highlight_values(&analyzer, &[&value], Some(&terms), &options(0));
        assert_eq!(
            whole,
            vec!["A cat on a <em>Red</em> sofa. Nothing here. <em>Red</em> again!"]
        );
    }
}
