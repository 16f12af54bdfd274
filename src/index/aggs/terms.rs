//! The `terms` aggregation: one bucket per distinct value, see
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/search-aggregations-bucket-terms-aggregation.html>.

use serde_json::{Map, Value, json};
use tantivy_fst::Automaton;

use super::compute::{
    BoundNode, Context, PendingBucket, compute_children, order_needs_sub_results, render_bucket, sort_buckets,
};
use super::docs::DocRef;
use super::values::{FieldSource, Key};
use super::{TermFilter, TermsSpec};
use crate::error::Result;

/// Returns true when `text` passes a terms `include`/`exclude` filter.
fn matches_filter(filter: &TermFilter, text: &str) -> bool {
    match filter {
        TermFilter::Values(values) => values.iter().any(|value| value == text),
        TermFilter::Pattern(regex) => {
            let mut state = regex.start();
            for byte in text.bytes() {
                state = regex.accept(&state, byte);
                if !regex.can_match(&state) {
                    return false;
                }
            }
            regex.is_match(&state)
        }
    }
}

fn key_allowed(spec: &TermsSpec, key: &Key) -> bool {
    let text = key.as_text();
    spec.include
        .as_ref()
        .is_none_or(|include| matches_filter(include, &text))
        && !spec
            .exclude
            .as_ref()
            .is_some_and(|exclude| matches_filter(exclude, &text))
}

/// Computes `terms` buckets: counted, filtered by `include`/`exclude` and
/// `min_doc_count`, ordered, then truncated to `size` (the rest sums into
/// `sum_other_doc_count`).
pub fn compute_terms(
    spec: &TermsSpec,
    source: &FieldSource,
    children: &[BoundNode<'_>],
    docs: &[DocRef],
    context: &Context<'_>,
) -> Result<Value> {
    let missing = spec
        .missing
        .as_ref()
        .map(|value| source.missing_key(value))
        .transpose()?;
    let mut groups = source.group_by_key(docs, missing.as_ref());
    if spec.min_doc_count == 0 {
        // ES also lists the terms of documents that do not match, with a count of 0.
        for key in source.group_by_key(context.all_docs(), None).into_keys() {
            groups.entry(key).or_default();
        }
    }
    let mut buckets: Vec<PendingBucket> = groups
        .into_iter()
        .filter(|(key, bucket_docs)| bucket_docs.len() as u64 >= spec.min_doc_count && key_allowed(spec, key))
        .map(|(key, bucket_docs)| PendingBucket {
            key,
            docs: bucket_docs,
            sub: None,
        })
        .collect();
    if order_needs_sub_results(&spec.order) {
        for bucket in &mut buckets {
            bucket.sub = Some(compute_children(children, &bucket.docs, context)?);
        }
    }
    sort_buckets(&mut buckets, &spec.order);
    let other: usize = buckets.iter().skip(spec.size).map(|bucket| bucket.docs.len()).sum();
    buckets.truncate(spec.size);
    let mut rendered = Vec::with_capacity(buckets.len());
    for bucket in buckets {
        let (key, key_as_string) = source.key_json(&bucket.key, None);
        let mut head = Map::new();
        head.insert("key".into(), key);
        if let Some(text) = key_as_string {
            head.insert("key_as_string".into(), json!(text));
        }
        rendered.push(Value::Object(render_bucket(
            head,
            &bucket.docs,
            bucket.sub,
            children,
            context,
        )?));
    }
    Ok(json!({
        "doc_count_error_upper_bound": 0,
        "sum_other_doc_count": other,
        "buckets": rendered
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::index::aggs::docs::test_docs as docs;
    use crate::index::aggs::values::ValueKind;
    use crate::index::aggs::{BucketOrder, OrderTarget};

    #[test]
    fn patterns_match_whole_terms() {
        let filter = TermFilter::Pattern(Arc::new(tantivy_fst::Regex::new("ca.*").unwrap()));
        assert!(matches_filter(&filter, "cat"));
        assert!(matches_filter(&filter, "ca"));
        assert!(!matches_filter(&filter, "scat"));
        let values = TermFilter::Values(vec!["dog".into()]);
        assert!(matches_filter(&values, "dog"));
        assert!(!matches_filter(&values, "dogs"));
    }

    fn spec(size: usize, min_doc_count: u64) -> TermsSpec {
        TermsSpec {
            field: "tags".into(),
            size,
            min_doc_count,
            order: vec![
                BucketOrder {
                    target: OrderTarget::Count,
                    ascending: false,
                },
                BucketOrder {
                    target: OrderTarget::Key,
                    ascending: true,
                },
            ],
            missing: None,
            include: None,
            exclude: None,
        }
    }

    #[test]
    fn counts_each_document_once_per_term() {
        // doc 0: [cat, cat, sofa], doc 1: [cat], doc 2: [dog], doc 3: none.
        let text = |value: &str| Key::Str(value.into());
        let source = FieldSource::fixed(
            Some(ValueKind::Keyword),
            vec![
                vec![text("cat"), text("cat"), text("sofa")],
                vec![text("cat")],
                vec![text("dog")],
                vec![],
            ],
        );
        let context = Context::new(&[], 0);
        let result = compute_terms(&spec(2, 1), &source, &[], &docs(4), &context).unwrap();
        assert_eq!(
            result,
            json!({"doc_count_error_upper_bound": 0, "sum_other_doc_count": 1, "buckets": [
                {"key": "cat", "doc_count": 2}, {"key": "dog", "doc_count": 1}
            ]})
        );
        let with_missing = TermsSpec {
            missing: Some(json!("none")),
            min_doc_count: 2,
            ..spec(10, 2)
        };
        let result = compute_terms(&with_missing, &source, &[], &docs(4), &context).unwrap();
        assert_eq!(result["buckets"], json!([{"key": "cat", "doc_count": 2}]));
    }

    #[test]
    fn numeric_keys_keep_their_type() {
        let source = FieldSource::fixed(
            Some(ValueKind::Float),
            vec![vec![Key::Float(2.5)], vec![Key::Float(2.5)], vec![Key::Float(1.0)]],
        );
        let context = Context::new(&[], 0);
        let result = compute_terms(&spec(10, 1), &source, &[], &docs(3), &context).unwrap();
        assert_eq!(
            result["buckets"],
            json!([{"key": 2.5, "doc_count": 2}, {"key": 1.0, "doc_count": 1}])
        );
    }
}
