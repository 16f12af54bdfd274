//! `histogram` and `date_histogram`: fixed-width (or calendar) buckets, with the empty
//! buckets between the first and last one filled in while `min_doc_count` is 0, see
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/search-aggregations-bucket-histogram-aggregation.html>.

use std::collections::BTreeMap;

use chrono::{Offset, Utc};
use serde_json::{Map, Value, json};

use super::compute::{BoundNode, Context, PendingBucket, render_bucket, sort_buckets};
use super::docs::DocRef;
use super::format::java_double;
use super::values::{FieldSource, Key};
use super::{BucketOrder, DateHistogramSpec, HistogramSpec};
use crate::date::{DateFormat, Rounding, eval_date_math_in_zone};
use crate::error::{Error, ErrorKind, Result};

/// ES's default `search.max_buckets`.
const MAX_BUCKETS: usize = 65_536;

fn too_many_buckets(count: usize) -> Error {
    Error::illegal_argument(format!(
        "Trying to create too many buckets. Must be less than or equal to: [{MAX_BUCKETS}] but was [{count}]. This limit can be set by changing the [search.max_buckets] cluster level setting."
    ))
}

/// Groups documents by bucket (a document counts once per bucket).
fn group(
    source: &FieldSource,
    missing: Option<f64>,
    docs: &[DocRef],
    bucket_of: impl Fn(f64) -> i64,
) -> BTreeMap<i64, Vec<DocRef>> {
    let mut groups: BTreeMap<i64, Vec<DocRef>> = BTreeMap::new();
    let mut values = Vec::new();
    let mut buckets = Vec::new();
    for doc in docs {
        values.clear();
        source.numbers_or_missing(doc, missing, &mut values);
        buckets.clear();
        buckets.extend(values.iter().map(|value| bucket_of(*value)));
        buckets.sort_unstable();
        buckets.dedup();
        for bucket in &buckets {
            groups.entry(*bucket).or_default().push(*doc);
        }
    }
    groups
}

/// Adds the empty buckets from `first` to `last` (walking with `next`) when
/// `min_doc_count` is 0, drops the buckets under `min_doc_count` otherwise.
fn fill_or_filter(
    groups: &mut BTreeMap<i64, Vec<DocRef>>,
    min_doc_count: u64,
    bounds: Option<(i64, i64)>,
    next: impl Fn(i64) -> i64,
) -> Result<()> {
    if min_doc_count > 0 {
        groups.retain(|_, docs| docs.len() as u64 >= min_doc_count);
        return Ok(());
    }
    let data_bounds = groups.keys().next().copied().zip(groups.keys().next_back().copied());
    let (first, last) = match (data_bounds, bounds) {
        (Some((first, last)), Some((low, high))) => (first.min(low), last.max(high)),
        (Some(found), None) => found,
        (None, Some(extended)) => extended,
        (None, None) => return Ok(()),
    };
    let mut bucket = first;
    while bucket <= last {
        groups.entry(bucket).or_default();
        if groups.len() > MAX_BUCKETS {
            return Err(too_many_buckets(groups.len()));
        }
        let following = next(bucket);
        if following <= bucket {
            break;
        }
        bucket = following;
    }
    Ok(())
}

/// Orders the buckets and renders them as a list or keyed object.
fn render(
    groups: BTreeMap<i64, Vec<DocRef>>,
    order: &[BucketOrder],
    keyed: bool,
    head_of: impl Fn(i64) -> (String, Map<String, Value>),
    children: &[BoundNode<'_>],
    context: &Context<'_>,
) -> Result<Value> {
    let mut buckets: Vec<PendingBucket> = groups
        .into_iter()
        .map(|(bucket, docs)| PendingBucket {
            key: Key::Int(bucket),
            docs,
            sub: None,
        })
        .collect();
    sort_buckets(&mut buckets, order);
    let mut keyed_buckets = Map::new();
    let mut listed_buckets = Vec::new();
    for bucket in buckets {
        let Key::Int(position) = bucket.key else {
            continue;
        };
        let (name, head) = head_of(position);
        let rendered = Value::Object(render_bucket(head, &bucket.docs, None, children, context)?);
        if keyed {
            keyed_buckets.insert(name, rendered);
        } else {
            listed_buckets.push(rendered);
        }
    }
    Ok(if keyed {
        json!({ "buckets": keyed_buckets })
    } else {
        json!({ "buckets": listed_buckets })
    })
}

/// Computes a numeric `histogram`: the key of a value is
/// `floor((value - offset) / interval) * interval + offset`.
pub fn compute_histogram(
    spec: &HistogramSpec,
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
    let index_of = |value: f64| ((value - spec.offset) / spec.interval).floor() as i64;
    let mut groups = group(source, missing.as_ref().and_then(Key::as_f64), docs, index_of);
    let bounds = spec
        .extended_bounds
        .filter(|(min, max)| min.is_finite() && max.is_finite())
        .map(|(min, max)| (index_of(min), index_of(max)));
    if let (Some(first), Some(last)) = (groups.keys().next(), groups.keys().next_back()) {
        let span = last.saturating_sub(*first).unsigned_abs() as usize;
        if spec.min_doc_count == 0 && span >= MAX_BUCKETS {
            return Err(too_many_buckets(span.saturating_add(1)));
        }
    }
    fill_or_filter(&mut groups, spec.min_doc_count, bounds, |index| index.saturating_add(1))?;
    let date_format = source.date_format();
    let head_of = |index: i64| {
        let key = index as f64 * spec.interval + spec.offset;
        let mut head = Map::new();
        head.insert("key".into(), json!(key));
        if let Some(format) = date_format {
            head.insert("key_as_string".into(), json!(format.format_millis(key as i64)));
        }
        (java_double(key), head)
    };
    render(groups, &spec.order, spec.keyed, head_of, children, context)
}

/// Computes a `date_histogram`, keyed by bucket start (UTC ms) and its formatted date.
pub fn compute_date_histogram(
    spec: &DateHistogramSpec,
    source: &FieldSource,
    children: &[BoundNode<'_>],
    docs: &[DocRef],
    context: &Context<'_>,
) -> Result<Value> {
    let zone = spec.time_zone.unwrap_or(Utc.fix());
    let default_format = DateFormat::default_format();
    let format = spec.format.as_ref().or(source.date_format()).unwrap_or(&default_format);
    let start_of = |millis: i64| spec.interval.bucket_start(millis, spec.offset_ms, zone);
    let missing = match &spec.missing {
        Some(value) => source.missing_key(value)?.as_f64(),
        None => None,
    };
    let mut groups = group(source, missing, docs, |value| start_of(value as i64));
    let bounds = match &spec.extended_bounds {
        Some((min, max)) => {
            let resolve = |bound: &Value| -> Result<Option<i64>> {
                match bound {
                    Value::Null => Ok(None),
                    Value::Number(number) => Ok(number.as_i64()),
                    Value::String(text) => {
                        eval_date_math_in_zone(text, format, context.now_millis, Rounding::Floor, spec.time_zone)
                            .map(Some)
                            .map_err(|error| Error::new(ErrorKind::Parse, error.to_string()))
                    }
                    other => Err(Error::x_content(format!(
                        "[date_histogram] invalid extended_bounds value [{other}]"
                    ))),
                }
            };
            resolve(min)?
                .zip(resolve(max)?)
                .map(|(low, high)| (start_of(low), start_of(high)))
        }
        None => None,
    };
    fill_or_filter(&mut groups, spec.min_doc_count, bounds, |start| {
        spec.interval.next_start(start, spec.offset_ms, zone)
    })?;
    let head_of = |start: i64| {
        let as_string = format.format_millis_in_zone(start, zone);
        let mut head = Map::new();
        head.insert("key_as_string".into(), json!(as_string));
        head.insert("key".into(), json!(start));
        (as_string, head)
    };
    render(groups, &spec.order, spec.keyed, head_of, children, context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::aggs::DateInterval;
    use crate::index::aggs::dates::CalendarUnit;
    use crate::index::aggs::docs::test_docs as docs;
    use crate::index::aggs::values::ValueKind;

    fn key_asc() -> Vec<BucketOrder> {
        vec![BucketOrder {
            target: super::super::OrderTarget::Key,
            ascending: true,
        }]
    }

    fn histogram(interval: f64, min_doc_count: u64, extended_bounds: Option<(f64, f64)>) -> HistogramSpec {
        HistogramSpec {
            field: "price".into(),
            interval,
            offset: 0.0,
            min_doc_count,
            extended_bounds,
            keyed: false,
            order: key_asc(),
            missing: None,
        }
    }

    fn prices() -> FieldSource {
        // 3, 12.5, 40 and a doc with [41, 44] (counted once in its bucket).
        FieldSource::fixed(
            Some(ValueKind::Float),
            vec![
                vec![Key::Float(3.0)],
                vec![Key::Float(12.5)],
                vec![Key::Float(40.0)],
                vec![Key::Float(41.0), Key::Float(44.0)],
            ],
        )
    }

    fn counts(result: &Value) -> Vec<(f64, u64)> {
        result["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|bucket| (bucket["key"].as_f64().unwrap(), bucket["doc_count"].as_u64().unwrap()))
            .collect()
    }

    #[test]
    fn histogram_fills_empty_buckets_between_min_and_max() {
        let context = Context::new(&[], 0);
        let result = compute_histogram(&histogram(10.0, 0, None), &prices(), &[], &docs(4), &context).unwrap();
        assert_eq!(
            counts(&result),
            vec![(0.0, 1), (10.0, 1), (20.0, 0), (30.0, 0), (40.0, 2)]
        );
        let sparse = compute_histogram(&histogram(10.0, 1, None), &prices(), &[], &docs(4), &context).unwrap();
        assert_eq!(counts(&sparse), vec![(0.0, 1), (10.0, 1), (40.0, 2)]);
    }

    #[test]
    fn histogram_extended_bounds_and_keyed() {
        let context = Context::new(&[], 0);
        let spec = histogram(20.0, 0, Some((-20.0, 70.0)));
        let result = compute_histogram(&spec, &prices(), &[], &docs(4), &context).unwrap();
        assert_eq!(
            counts(&result),
            vec![(-20.0, 0), (0.0, 2), (20.0, 0), (40.0, 2), (60.0, 0)]
        );
        let keyed = HistogramSpec { keyed: true, ..spec };
        let result = compute_histogram(&keyed, &prices(), &[], &docs(4), &context).unwrap();
        assert_eq!(result["buckets"]["40.0"], json!({"key": 40.0, "doc_count": 2}));
    }

    #[test]
    fn histogram_refuses_too_many_buckets() {
        let context = Context::new(&[], 0);
        let error = compute_histogram(&histogram(0.0001, 0, None), &prices(), &[], &docs(4), &context).unwrap_err();
        assert!(error.reason.starts_with("Trying to create too many buckets"));
    }

    #[test]
    fn date_histogram_months_with_format_and_gaps() {
        let ms = |text: &str| chrono::DateTime::parse_from_rfc3339(text).unwrap().timestamp_millis();
        let source = FieldSource::fixed(
            Some(ValueKind::Date(DateFormat::default_format())),
            vec![
                vec![Key::Int(ms("2024-01-05T00:00:00Z"))],
                vec![Key::Int(ms("2024-01-31T23:59:59Z"))],
                vec![Key::Int(ms("2024-03-01T10:00:00Z"))],
            ],
        );
        let spec = DateHistogramSpec {
            field: "taken".into(),
            interval: DateInterval::Calendar(CalendarUnit::Month),
            offset_ms: 0,
            time_zone: None,
            format: Some(DateFormat::parse("yyyy-MM").unwrap()),
            min_doc_count: 0,
            extended_bounds: None,
            keyed: false,
            order: key_asc(),
            missing: None,
        };
        let context = Context::new(&[], 0);
        let result = compute_date_histogram(&spec, &source, &[], &docs(3), &context).unwrap();
        assert_eq!(
            result,
            json!({"buckets": [
                {"key_as_string": "2024-01", "key": ms("2024-01-01T00:00:00Z"), "doc_count": 2},
                {"key_as_string": "2024-02", "key": ms("2024-02-01T00:00:00Z"), "doc_count": 0},
                {"key_as_string": "2024-03", "key": ms("2024-03-01T00:00:00Z"), "doc_count": 1}
            ]})
        );
        // At +02:00 the last second of January UTC is already February 1st.
        let shifted = DateHistogramSpec {
            time_zone: Some(chrono::FixedOffset::east_opt(7200).unwrap()),
            format: None,
            min_doc_count: 1,
            ..spec
        };
        let result = compute_date_histogram(&shifted, &source, &[], &docs(3), &context).unwrap();
        assert_eq!(result["buckets"][1]["key_as_string"], "2024-02-01T00:00:00.000+02:00");
        assert_eq!(result["buckets"][1]["key"], json!(ms("2024-01-31T22:00:00Z")));
        assert_eq!(result["buckets"][1]["doc_count"], 1);
    }
}
