//! The single-bucket aggregations `filter`, `missing` and `global`, and `filters`
//! (one bucket per query, plus an optional "other" bucket), see
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/search-aggregations-bucket-filters-aggregation.html>.

use serde_json::{Map, Value, json};

use super::FiltersSpec;
use super::compute::{BoundNode, Context, render_bucket};
use super::docs::{DocRef, DocSet};
use super::values::FieldSource;
use crate::error::Result;

/// Renders a single-bucket aggregation: `doc_count` and the sub-aggregations.
fn single_bucket(docs: &[DocRef], children: &[BoundNode<'_>], context: &Context<'_>) -> Result<Value> {
    Ok(Value::Object(render_bucket(Map::new(), docs, None, children, context)?))
}

/// Computes a `filter` bucket: the documents of the bucket that match its query.
pub fn compute_filter(
    set: &DocSet,
    children: &[BoundNode<'_>],
    docs: &[DocRef],
    context: &Context<'_>,
) -> Result<Value> {
    let kept: Vec<DocRef> = docs.iter().filter(|doc| set.contains(doc)).copied().collect();
    single_bucket(&kept, children, context)
}

/// Computes a `missing` bucket: the documents without a value for the field.
pub fn compute_missing(
    source: &FieldSource,
    children: &[BoundNode<'_>],
    docs: &[DocRef],
    context: &Context<'_>,
) -> Result<Value> {
    let kept: Vec<DocRef> = docs.iter().filter(|doc| !source.has_value(doc)).copied().collect();
    single_bucket(&kept, children, context)
}

/// `global`: every document of the target indices, whatever the query.
pub fn compute_global(children: &[BoundNode<'_>], context: &Context<'_>) -> Result<Value> {
    single_bucket(context.all_docs(), children, context)
}

/// Computes `filters`: one bucket per query, plus the documents matching none when
/// `other_bucket` is set.
pub fn compute_filters(
    spec: &FiltersSpec,
    sets: &[DocSet],
    children: &[BoundNode<'_>],
    docs: &[DocRef],
    context: &Context<'_>,
) -> Result<Value> {
    debug_assert_eq!(spec.filters.len(), sets.len(), "one document set per filter");
    let mut buckets: Vec<(Option<String>, Vec<DocRef>)> = spec
        .filters
        .iter()
        .zip(sets)
        .map(|((name, _), set)| {
            let kept = docs.iter().filter(|doc| set.contains(doc)).copied().collect();
            (name.clone(), kept)
        })
        .collect();
    if let Some(other_key) = &spec.other_bucket_key {
        let others = docs
            .iter()
            .filter(|doc| !sets.iter().any(|set| set.contains(doc)))
            .copied()
            .collect();
        let named = spec.filters.first().is_some_and(|(name, _)| name.is_some());
        buckets.push((named.then(|| other_key.clone()), others));
    }
    let mut keyed_buckets = Map::new();
    let mut listed_buckets = Vec::new();
    for (name, bucket_docs) in buckets {
        let mut head = Map::new();
        if let (false, Some(name)) = (spec.keyed, &name) {
            head.insert("key".into(), json!(name));
        }
        let bucket = Value::Object(render_bucket(head, &bucket_docs, None, children, context)?);
        match (spec.keyed, name) {
            (true, Some(name)) => {
                keyed_buckets.insert(name, bucket);
            }
            _ => listed_buckets.push(bucket),
        }
    }
    Ok(if spec.keyed {
        json!({ "buckets": keyed_buckets })
    } else {
        json!({ "buckets": listed_buckets })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::aggs::docs::test_docs as docs;
    use crate::index::aggs::values::{Key, ValueKind};

    #[test]
    fn missing_counts_documents_without_values() {
        let source = FieldSource::fixed(
            Some(ValueKind::Keyword),
            vec![vec![Key::Str("a".into())], vec![], vec![Key::Str("b".into())], vec![]],
        );
        let context = Context::new(&[], 0);
        let result = compute_missing(&source, &[], &docs(4), &context).unwrap();
        assert_eq!(result, json!({"doc_count": 2}));
    }

    fn filters_spec(named: bool, keyed: bool, other: bool) -> FiltersSpec {
        let name = |text: &str| named.then(|| text.to_string());
        FiltersSpec {
            filters: vec![
                (name("a"), crate::query::QueryAst::MatchNone),
                (name("b"), crate::query::QueryAst::MatchNone),
            ],
            keyed,
            other_bucket_key: other.then(|| "_other_".to_string()),
        }
    }

    #[test]
    fn filters_buckets_keyed_listed_and_other() {
        // Docs 0..5: filter a = {0, 1}, filter b = {1, 2}; docs 3 and 4 match neither.
        let sets = || vec![DocSet::from_doc_ids(&[0, 1]), DocSet::from_doc_ids(&[1, 2])];
        let context = Context::new(&[], 0);
        let keyed = compute_filters(&filters_spec(true, true, true), &sets(), &[], &docs(5), &context).unwrap();
        assert_eq!(
            keyed,
            json!({"buckets": {"a": {"doc_count": 2}, "b": {"doc_count": 2}, "_other_": {"doc_count": 2}}})
        );
        let listed = compute_filters(&filters_spec(true, false, false), &sets(), &[], &docs(5), &context).unwrap();
        assert_eq!(
            listed,
            json!({"buckets": [{"key": "a", "doc_count": 2}, {"key": "b", "doc_count": 2}]})
        );
        let anonymous = compute_filters(&filters_spec(false, false, true), &sets(), &[], &docs(3), &context).unwrap();
        assert_eq!(
            anonymous,
            json!({"buckets": [{"doc_count": 2}, {"doc_count": 2}, {"doc_count": 0}]})
        );
    }
}
