//! `range` and `date_range`: one bucket per range, `from` inclusive and `to` exclusive,
//! sorted by `from` then `to` as ES does, see
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/search-aggregations-bucket-range-aggregation.html>.

use chrono::{FixedOffset, Offset, Utc};
use serde_json::{Map, Value, json};

use super::compute::{BoundNode, Context, render_bucket};
use super::docs::DocRef;
use super::format::java_double;
use super::values::{FieldSource, Key};
use super::{DateRangeSpec, NumericRange, RangeSpec};
use crate::date::{DateFormat, Rounding, eval_date_math_in_zone};
use crate::error::{Error, ErrorKind, Result};

/// How range bounds are printed: in keys, and as `from_as_string`/`to_as_string` for dates.
struct BoundPrinter<'a> {
    date: Option<(&'a DateFormat, FixedOffset)>,
}

impl BoundPrinter<'_> {
    fn key_part(&self, bound: Option<f64>) -> String {
        match bound {
            None => "*".to_string(),
            Some(value) => self.as_string(value).unwrap_or_else(|| java_double(value)),
        }
    }

    fn as_string(&self, value: f64) -> Option<String> {
        let (format, zone) = self.date?;
        Some(format.format_millis_in_zone(value as i64, zone))
    }
}

/// Computes `range` buckets; bounds print as Java doubles (`10.0-50.0`), or as dates
/// on a date field.
pub fn compute_range(
    spec: &RangeSpec,
    source: &FieldSource,
    children: &[BoundNode<'_>],
    docs: &[DocRef],
    context: &Context<'_>,
) -> Result<Value> {
    let printer = BoundPrinter {
        date: source.date_format().map(|format| (format, Utc.fix())),
    };
    let missing = spec
        .missing
        .as_ref()
        .map(|value| source.missing_key(value))
        .transpose()?;
    bucket_ranges(
        spec.ranges.clone(),
        source,
        missing.as_ref().and_then(Key::as_f64),
        &printer,
        spec.keyed,
        children,
        docs,
        context,
    )
}

/// Computes `date_range` buckets: bounds are resolved with date math and printed in
/// the aggregation's `format` (else the field's) and `time_zone`.
pub fn compute_date_range(
    spec: &DateRangeSpec,
    source: &FieldSource,
    children: &[BoundNode<'_>],
    docs: &[DocRef],
    context: &Context<'_>,
) -> Result<Value> {
    let default_format = DateFormat::default_format();
    let format = spec.format.as_ref().or(source.date_format()).unwrap_or(&default_format);
    let zone = spec.time_zone.unwrap_or(Utc.fix());
    let resolve = |bound: Option<&Value>| -> Result<Option<f64>> {
        bound
            .map(|value| resolve_date_bound(value, format, spec.time_zone, context.now_millis))
            .transpose()
    };
    let ranges = spec
        .ranges
        .iter()
        .map(|range| {
            Ok(NumericRange {
                key: range.key.clone(),
                from: resolve(range.from.as_ref())?,
                to: resolve(range.to.as_ref())?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let missing = match &spec.missing {
        Some(value) => Some(resolve_date_bound(value, format, spec.time_zone, context.now_millis)?),
        None => None,
    };
    let printer = BoundPrinter {
        date: Some((format, zone)),
    };
    bucket_ranges(ranges, source, missing, &printer, spec.keyed, children, docs, context)
}

/// Resolves a `date_range` bound: epoch ms, or a date / date math string (rounded down).
fn resolve_date_bound(value: &Value, format: &DateFormat, zone: Option<FixedOffset>, now_millis: i64) -> Result<f64> {
    match value {
        Value::Number(number) => number
            .as_f64()
            .ok_or_else(|| Error::x_content(format!("[date_range] invalid bound [{number}]"))),
        Value::String(text) => eval_date_math_in_zone(text, format, now_millis, Rounding::Floor, zone)
            .map(|millis| millis as f64)
            .map_err(|error| Error::new(ErrorKind::Parse, error.to_string())),
        other => Err(Error::x_content(format!("[date_range] invalid bound [{other}]"))),
    }
}

#[allow(clippy::too_many_arguments)]
fn bucket_ranges(
    mut ranges: Vec<NumericRange>,
    source: &FieldSource,
    missing: Option<f64>,
    printer: &BoundPrinter<'_>,
    keyed: bool,
    children: &[BoundNode<'_>],
    docs: &[DocRef],
    context: &Context<'_>,
) -> Result<Value> {
    ranges.sort_by(|left, right| {
        let from = |range: &NumericRange| range.from.unwrap_or(f64::NEG_INFINITY);
        let to = |range: &NumericRange| range.to.unwrap_or(f64::INFINITY);
        from(left).total_cmp(&from(right)).then(to(left).total_cmp(&to(right)))
    });
    let mut members: Vec<Vec<DocRef>> = vec![Vec::new(); ranges.len()];
    let mut values = Vec::new();
    for doc in docs {
        values.clear();
        source.numbers_or_missing(doc, missing, &mut values);
        for (range, range_docs) in ranges.iter().zip(members.iter_mut()) {
            let inside =
                |value: &f64| range.from.is_none_or(|from| *value >= from) && range.to.is_none_or(|to| *value < to);
            if values.iter().any(inside) {
                range_docs.push(*doc);
            }
        }
    }
    let mut keyed_buckets = Map::new();
    let mut listed_buckets = Vec::new();
    for (range, range_docs) in ranges.iter().zip(members) {
        let key = range
            .key
            .clone()
            .unwrap_or_else(|| format!("{}-{}", printer.key_part(range.from), printer.key_part(range.to)));
        let mut head = Map::new();
        if !keyed {
            head.insert("key".into(), json!(key));
        }
        for (name, bound) in [("from", range.from), ("to", range.to)] {
            let Some(bound) = bound else {
                continue;
            };
            head.insert(name.into(), json!(bound));
            if let Some(text) = printer.as_string(bound) {
                head.insert(format!("{name}_as_string"), json!(text));
            }
        }
        let bucket = Value::Object(render_bucket(head, &range_docs, None, children, context)?);
        if keyed {
            keyed_buckets.insert(key, bucket);
        } else {
            listed_buckets.push(bucket);
        }
    }
    Ok(if keyed {
        json!({ "buckets": keyed_buckets })
    } else {
        json!({ "buckets": listed_buckets })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::aggs::docs::test_docs as docs;
    use crate::index::aggs::values::ValueKind;

    fn range(from: Option<f64>, to: Option<f64>) -> NumericRange {
        NumericRange { key: None, from, to }
    }

    #[test]
    fn numeric_ranges_sorted_keyed_and_counted() {
        // Prices 3, 12.5, 40 and a doc with [10, 60]; the last doc has no value.
        let source = FieldSource::fixed(
            Some(ValueKind::Float),
            vec![
                vec![Key::Float(3.0)],
                vec![Key::Float(12.5)],
                vec![Key::Float(40.0)],
                vec![Key::Float(10.0), Key::Float(60.0)],
                vec![],
            ],
        );
        let spec = RangeSpec {
            field: "price".into(),
            ranges: vec![
                range(Some(50.0), None),
                range(None, Some(10.0)),
                range(Some(10.0), Some(50.0)),
            ],
            keyed: false,
            missing: None,
        };
        let context = Context::new(&[], 0);
        let result = compute_range(&spec, &source, &[], &docs(5), &context).unwrap();
        assert_eq!(
            result,
            json!({"buckets": [
                {"key": "*-10.0", "to": 10.0, "doc_count": 1},
                {"key": "10.0-50.0", "from": 10.0, "to": 50.0, "doc_count": 3},
                {"key": "50.0-*", "from": 50.0, "doc_count": 1}
            ]})
        );
        let keyed = RangeSpec {
            keyed: true,
            missing: Some(json!(0)),
            ..spec
        };
        let result = compute_range(&keyed, &source, &[], &docs(5), &context).unwrap();
        assert_eq!(result["buckets"]["*-10.0"]["doc_count"], 2);
    }

    #[test]
    fn date_ranges_resolve_date_math_and_print_strings() {
        let day = 86_400_000;
        let source = FieldSource::fixed(
            Some(ValueKind::Date(DateFormat::default_format())),
            vec![vec![Key::Int(0)], vec![Key::Int(day)], vec![Key::Int(3 * day)]],
        );
        let spec = DateRangeSpec {
            field: "taken".into(),
            ranges: vec![super::super::DateRangeBound {
                key: None,
                from: Some(json!("now-2d/d")),
                to: Some(json!(3 * day)),
            }],
            keyed: false,
            format: Some(DateFormat::parse("yyyy-MM-dd").unwrap()),
            time_zone: None,
            missing: None,
        };
        // now = 1970-01-03T12:00: now-2d/d = 1970-01-01T00:00.
        let context = Context::new(&[], 2 * day + day / 2);
        let result = compute_date_range(&spec, &source, &[], &docs(3), &context).unwrap();
        assert_eq!(
            result,
            json!({"buckets": [{
                "key": "1970-01-01-1970-01-04",
                "from": 0.0, "from_as_string": "1970-01-01",
                "to": (3 * day) as f64, "to_as_string": "1970-01-04",
                "doc_count": 2
            }]})
        );
    }

    #[test]
    fn bad_date_bounds_are_parse_errors() {
        let error = resolve_date_bound(&json!("nope"), &DateFormat::default_format(), None, 0).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Parse);
    }
}
