//! `top_hits`: the best documents of a bucket with their `_source`, sorted by score or
//! by fields, see
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/search-aggregations-metrics-top-hits-aggregation.html>.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};
use tantivy::{DocAddress, TantivyDocument};

use super::compute::Context;
use super::docs::DocRef;
use super::values::{Accepts, FieldSource, Key};
use super::{AggTarget, TopHitsSpec};
use crate::error::{Error, Result};
use crate::index::search::score_json;
use crate::query::{SortField, SortOrder};

/// Resolves the fields of the `sort` keys (`None` for `_score` and `_doc`).
pub fn sort_sources(spec: &TopHitsSpec, targets: &[AggTarget<'_>]) -> Result<Vec<Option<FieldSource>>> {
    spec.sort
        .iter()
        .map(|key| match key {
            SortField::Field { field, .. } => FieldSource::open(targets, field, "top_hits", Accepts::Any).map(Some),
            SortField::Score(_) | SortField::Doc(_) => Ok(None),
        })
        .collect()
}

/// One sort value of a document.
#[derive(Debug, Clone, PartialEq)]
enum SortValue {
    Score(f32),
    Doc(u64),
    Field(Option<Key>),
}

/// Returns the document's value for a field sort: its smallest value ascending, its
/// largest descending (ES's default `mode`).
fn field_value(source: &FieldSource, doc: &DocRef, order: SortOrder) -> Option<Key> {
    let mut keys = Vec::new();
    source.keys(doc, &mut keys);
    match order {
        SortOrder::Asc => keys.into_iter().min(),
        SortOrder::Desc => keys.into_iter().max(),
    }
}

fn doc_position(doc: &DocRef) -> u64 {
    (u64::from(doc.target) << 48) | (u64::from(doc.segment) << 32) | u64::from(doc.doc)
}

fn sort_values(spec: &TopHitsSpec, sources: &[Option<FieldSource>], doc: &DocRef) -> Vec<SortValue> {
    spec.sort
        .iter()
        .zip(sources)
        .map(|(key, source)| match (key, source) {
            (SortField::Score(_), _) => SortValue::Score(doc.score),
            (SortField::Doc(_), _) => SortValue::Doc(doc_position(doc)),
            (SortField::Field { order, .. }, Some(source)) => SortValue::Field(field_value(source, doc, *order)),
            (SortField::Field { .. }, None) => SortValue::Field(None),
        })
        .collect()
}

/// Compares two documents by the sort keys; missing field values go last (or first
/// with `missing: _first`) in either direction. Ties keep index order.
fn compare(spec: &TopHitsSpec, left: &(DocRef, Vec<SortValue>), right: &(DocRef, Vec<SortValue>)) -> Ordering {
    if spec.sort.is_empty() {
        return right
            .0
            .score
            .total_cmp(&left.0.score)
            .then(doc_position(&left.0).cmp(&doc_position(&right.0)));
    }
    for ((key, left_value), right_value) in spec.sort.iter().zip(&left.1).zip(&right.1) {
        let (order, missing_first) = match key {
            SortField::Score(order) | SortField::Doc(order) => (*order, false),
            SortField::Field {
                order, missing_first, ..
            } => (*order, *missing_first),
        };
        let ordering = match (left_value, right_value) {
            (SortValue::Score(left_score), SortValue::Score(right_score)) => left_score.total_cmp(right_score),
            (SortValue::Doc(left_doc), SortValue::Doc(right_doc)) => left_doc.cmp(right_doc),
            (SortValue::Field(Some(left_key)), SortValue::Field(Some(right_key))) => left_key.cmp(right_key),
            (SortValue::Field(None), SortValue::Field(Some(_))) => {
                return if missing_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
            }
            (SortValue::Field(Some(_)), SortValue::Field(None)) => {
                return if missing_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
            }
            _ => Ordering::Equal,
        };
        let directed = if order == SortOrder::Desc {
            ordering.reverse()
        } else {
            ordering
        };
        if directed != Ordering::Equal {
            return directed;
        }
    }
    doc_position(&left.0).cmp(&doc_position(&right.0))
}

fn sort_value_json(value: &SortValue, key: &SortField) -> Value {
    match value {
        SortValue::Score(score) => score_json(*score),
        SortValue::Doc(position) => json!(position & 0xFFFF_FFFF),
        SortValue::Field(Some(Key::Int(number))) => json!(number),
        SortValue::Field(Some(Key::Float(number))) => json!(number),
        SortValue::Field(Some(Key::Str(text))) => json!(text),
        SortValue::Field(None) => match key {
            SortField::Field {
                order: SortOrder::Desc, ..
            } => json!(i64::MIN),
            _ => json!(i64::MAX),
        },
    }
}

/// Computes `top_hits`: the bucket's documents sorted, paged with `from`/`size`, and
/// loaded with their (filtered) `_source`.
pub fn compute_top_hits(
    spec: &TopHitsSpec,
    sources: &[Option<FieldSource>],
    docs: &[DocRef],
    context: &Context<'_>,
) -> Result<Value> {
    let scored = spec.sort.is_empty() || spec.track_scores;
    let mut ranked: Vec<(DocRef, Vec<SortValue>)> =
        docs.iter().map(|doc| (*doc, sort_values(spec, sources, doc))).collect();
    ranked.sort_by(|left, right| compare(spec, left, right));
    let max_score = if scored {
        docs.iter()
            .map(|doc| doc.score)
            .reduce(f32::max)
            .map_or(Value::Null, score_json)
    } else {
        Value::Null
    };
    let mut hits = Vec::new();
    for (doc, values) in ranked.iter().skip(spec.from).take(spec.size) {
        hits.push(load_hit(spec, context, doc, values, scored)?);
    }
    Ok(json!({"hits": {
        "total": {"value": docs.len(), "relation": "eq"},
        "max_score": max_score,
        "hits": hits
    }}))
}

fn load_hit(
    spec: &TopHitsSpec,
    context: &Context<'_>,
    doc: &DocRef,
    values: &[SortValue],
    scored: bool,
) -> Result<Value> {
    let target = context
        .targets
        .get(doc.target as usize)
        .ok_or_else(|| Error::internal("top_hits document from an unknown index"))?;
    let document: TantivyDocument = target.searcher.doc(DocAddress::new(doc.segment, doc.doc))?;
    let stored = target.handle.version_of(&document);
    let mut hit = Map::new();
    hit.insert("_index".into(), json!(target.handle.name()));
    hit.insert("_id".into(), json!(target.handle.id_of(&document)));
    if spec.version {
        hit.insert("_version".into(), json!(stored.version));
    }
    if spec.seq_no_primary_term {
        hit.insert("_seq_no".into(), json!(stored.seq_no));
        hit.insert("_primary_term".into(), json!(1));
    }
    hit.insert(
        "_score".into(),
        if scored { score_json(doc.score) } else { Value::Null },
    );
    if let Some(filter) = &spec.source {
        hit.insert("_source".into(), target.handle.render_document(&stored, filter)?);
    }
    if !spec.sort.is_empty() {
        let sort: Vec<Value> = values
            .iter()
            .zip(&spec.sort)
            .map(|(value, key)| sort_value_json(value, key))
            .collect();
        hit.insert("sort".into(), Value::Array(sort));
    }
    Ok(Value::Object(hit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::aggs::values::ValueKind;

    fn spec(sort: Vec<SortField>) -> TopHitsSpec {
        TopHitsSpec {
            from: 0,
            size: 3,
            sort,
            source: None,
            version: false,
            seq_no_primary_term: false,
            track_scores: false,
        }
    }

    fn doc(id: u32, score: f32) -> DocRef {
        DocRef {
            target: 0,
            segment: 0,
            doc: id,
            score,
        }
    }

    fn rank(spec: &TopHitsSpec, sources: &[Option<FieldSource>], docs: &[DocRef]) -> Vec<u32> {
        let mut ranked: Vec<_> = docs.iter().map(|doc| (*doc, sort_values(spec, sources, doc))).collect();
        ranked.sort_by(|left, right| compare(spec, left, right));
        ranked.iter().map(|(doc, _)| doc.doc).collect()
    }

    #[test]
    fn default_order_is_score_then_doc() {
        let docs = [doc(0, 1.0), doc(1, 3.0), doc(2, 1.0)];
        assert_eq!(rank(&spec(Vec::new()), &[], &docs), vec![1, 0, 2]);
    }

    #[test]
    fn field_sort_uses_min_or_max_and_puts_missing_last() {
        // doc 0: [5, 50], doc 1: 20, doc 2: none.
        let source = || {
            FieldSource::fixed(
                Some(ValueKind::Integer),
                vec![vec![Key::Int(5), Key::Int(50)], vec![Key::Int(20)], vec![]],
            )
        };
        let docs = [doc(0, 1.0), doc(1, 1.0), doc(2, 1.0)];
        let field = |order| SortField::Field {
            field: "f".into(),
            order,
            missing_first: false,
        };
        let ascending = spec(vec![field(SortOrder::Asc)]);
        assert_eq!(rank(&ascending, &[Some(source())], &docs), vec![0, 1, 2]);
        let descending = spec(vec![field(SortOrder::Desc)]);
        assert_eq!(rank(&descending, &[Some(source())], &docs), vec![0, 1, 2]);
        let missing_first = spec(vec![SortField::Field {
            field: "f".into(),
            order: SortOrder::Desc,
            missing_first: true,
        }]);
        assert_eq!(rank(&missing_first, &[Some(source())], &docs), vec![2, 0, 1]);
    }
}
