//! Metric aggregations over one field: `avg`, `min`, `max`, `sum`, `stats`,
//! `value_count`, `cardinality` and `percentiles`.
//!
//! Sums use Kahan compensation as ES does. `cardinality` is exact (ES switches to
//! HyperLogLog++ above `precision_threshold`, default 3000). `percentiles` are exact
//! with linear interpolation between closest ranks, which is what ES's t-digest returns
//! while it still holds every sample (small sets).

use serde_json::{Map, Value, json};

use super::docs::DocRef;
use super::format::{java_double, number_or_null};
use super::values::{FieldSource, Key};
use super::{MetricKind, MetricSpec};
use crate::date::DateFormat;
use crate::error::Result;

/// Count, compensated sum, min and max of a set of values.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub count: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    /// Returns the statistics of `values` (min = +inf and max = -inf when empty).
    pub fn of(values: &[f64]) -> Stats {
        let mut sum = 0.0;
        let mut compensation = 0.0;
        let mut min = f64::INFINITY;
        let mut max = f64::NEG_INFINITY;
        for value in values {
            // Kahan summation, as ES's CompensatedSum.
            let corrected = value - compensation;
            let next = sum + corrected;
            compensation = (next - sum) - corrected;
            sum = next;
            min = min.min(*value);
            max = max.max(*value);
        }
        Stats {
            count: values.len() as u64,
            sum,
            min,
            max,
        }
    }

    /// Returns the mean, or NaN for an empty set.
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum / self.count as f64
        }
    }
}

/// Returns the `percent` percentile of sorted values: rank `percent/100 * (n-1)`,
/// interpolated linearly between its neighbours (ES `Dist.quantile`). None when empty.
pub fn percentile(sorted: &[f64], percent: f64) -> Option<f64> {
    debug_assert!(
        sorted.windows(2).all(|pair| pair[0] <= pair[1]),
        "values must be sorted"
    );
    let last = sorted.len().checked_sub(1)?;
    let rank = percent / 100.0 * last as f64;
    if rank <= 0.0 {
        return sorted.first().copied();
    }
    if rank >= last as f64 {
        return sorted.last().copied();
    }
    let low = rank.floor() as usize;
    let weight = rank - low as f64;
    Some(sorted[low] + weight * (sorted[low + 1] - sorted[low]))
}

/// Computes one metric over the documents of a bucket.
pub fn compute_metric(spec: &MetricSpec, source: &FieldSource, docs: &[DocRef]) -> Result<Value> {
    let missing_key = spec
        .missing
        .as_ref()
        .map(|value| source.missing_key(value))
        .transpose()?;
    let format = spec.format.as_ref().or(source.date_format());
    match &spec.kind {
        MetricKind::ValueCount => {
            let with_missing = usize::from(missing_key.is_some());
            let count: usize = docs
                .iter()
                .map(|doc| match source.count_values(doc) {
                    0 => with_missing,
                    count => count,
                })
                .sum();
            Ok(json!({ "value": count }))
        }
        MetricKind::Cardinality => {
            let distinct = source.group_by_key(docs, missing_key.as_ref()).len();
            Ok(json!({ "value": distinct }))
        }
        kind => {
            let missing_number = missing_key.as_ref().and_then(Key::as_f64);
            let mut values = Vec::new();
            for doc in docs {
                source.numbers_or_missing(doc, missing_number, &mut values);
            }
            Ok(render_numeric(kind, values, format))
        }
    }
}

/// Renders a numeric metric; `format` (dates) adds the `*_as_string` fields.
fn render_numeric(kind: &MetricKind, mut values: Vec<f64>, format: Option<&DateFormat>) -> Value {
    let stats = Stats::of(&values);
    let as_string = |value: f64| -> Option<String> {
        let format = format?;
        value.is_finite().then(|| format.format_millis(value as i64))
    };
    let single = |value: f64| {
        let mut object = Map::new();
        object.insert("value".into(), number_or_null(value));
        if let Some(text) = as_string(value) {
            object.insert("value_as_string".into(), json!(text));
        }
        Value::Object(object)
    };
    match kind {
        MetricKind::Avg => single(stats.avg()),
        MetricKind::Min => single(stats.min),
        MetricKind::Max => single(stats.max),
        MetricKind::Sum => single(stats.sum),
        MetricKind::Stats => {
            let mut object = Map::new();
            object.insert("count".into(), json!(stats.count));
            object.insert("min".into(), number_or_null(stats.min));
            object.insert("max".into(), number_or_null(stats.max));
            object.insert("avg".into(), number_or_null(stats.avg()));
            object.insert("sum".into(), json!(stats.sum));
            if stats.count > 0 {
                for (name, value) in [
                    ("min", stats.min),
                    ("max", stats.max),
                    ("avg", stats.avg()),
                    ("sum", stats.sum),
                ] {
                    if let Some(text) = as_string(value) {
                        object.insert(format!("{name}_as_string"), json!(text));
                    }
                }
            }
            Value::Object(object)
        }
        MetricKind::Percentiles { percents, keyed } => {
            values.sort_by(f64::total_cmp);
            let computed: Vec<(f64, Option<f64>)> = percents
                .iter()
                .map(|percent| (*percent, percentile(&values, *percent)))
                .collect();
            render_percentiles(&computed, *keyed, &as_string)
        }
        MetricKind::ValueCount | MetricKind::Cardinality => json!({ "value": stats.count }),
    }
}

fn render_percentiles(
    computed: &[(f64, Option<f64>)],
    keyed: bool,
    as_string: &dyn Fn(f64) -> Option<String>,
) -> Value {
    if keyed {
        let mut values = Map::new();
        for (percent, value) in computed {
            let name = java_double(*percent);
            values.insert(name.clone(), value.map_or(Value::Null, number_or_null));
            if let Some(text) = value.and_then(as_string) {
                values.insert(format!("{name}_as_string"), json!(text));
            }
        }
        return json!({ "values": values });
    }
    let entries: Vec<Value> = computed
        .iter()
        .map(|(percent, value)| {
            let mut entry = Map::new();
            entry.insert("key".into(), json!(percent));
            entry.insert("value".into(), value.map_or(Value::Null, number_or_null));
            if let Some(text) = value.and_then(as_string) {
                entry.insert("value_as_string".into(), json!(text));
            }
            Value::Object(entry)
        })
        .collect();
    json!({ "values": entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_by_hand() {
        // 12.5 + 40 + 3 = 55.5; mean 18.5.
        let stats = Stats::of(&[12.5, 40.0, 3.0]);
        assert_eq!(stats.count, 3);
        assert_eq!(stats.sum, 55.5);
        assert_eq!((stats.min, stats.max), (3.0, 40.0));
        assert_eq!(stats.avg(), 18.5);
        assert!(Stats::of(&[]).avg().is_nan());
    }

    #[test]
    fn kahan_sum_keeps_small_terms() {
        let mut values = vec![1e16];
        values.extend(std::iter::repeat_n(1.0, 10));
        assert_eq!(Stats::of(&values).sum, 1e16 + 10.0);
    }

    #[test]
    fn percentiles_interpolate_between_ranks() {
        let sorted = [1.0, 2.0, 3.0, 4.0];
        // rank = p/100 * 3: 50 → 1.5 → 2.5; 25 → 0.75 → 1.75; 99 → 2.97 → 3.97.
        assert_eq!(percentile(&sorted, 50.0), Some(2.5));
        assert_eq!(percentile(&sorted, 25.0), Some(1.75));
        assert!((percentile(&sorted, 99.0).unwrap() - 3.97).abs() < 1e-12);
        assert_eq!(percentile(&sorted, 0.0), Some(1.0));
        assert_eq!(percentile(&sorted, 100.0), Some(4.0));
        assert_eq!(percentile(&[7.0], 50.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn empty_sets_render_like_es() {
        let kinds = [MetricKind::Avg, MetricKind::Min, MetricKind::Max];
        for kind in kinds {
            assert_eq!(render_numeric(&kind, Vec::new(), None), json!({"value": null}));
        }
        assert_eq!(
            render_numeric(&MetricKind::Sum, Vec::new(), None),
            json!({"value": 0.0})
        );
        assert_eq!(
            render_numeric(&MetricKind::Stats, Vec::new(), None),
            json!({"count": 0, "min": null, "max": null, "avg": null, "sum": 0.0})
        );
        let percentiles = MetricKind::Percentiles {
            percents: vec![50.0],
            keyed: true,
        };
        assert_eq!(
            render_numeric(&percentiles, Vec::new(), None),
            json!({"values": {"50.0": null}})
        );
    }

    #[test]
    fn dates_get_as_string_fields() {
        let format = DateFormat::default_format();
        let day_ms = 86_400_000.0;
        assert_eq!(
            render_numeric(&MetricKind::Max, vec![0.0, day_ms], Some(&format)),
            json!({"value": day_ms, "value_as_string": "1970-01-02T00:00:00.000Z"})
        );
        let stats = render_numeric(&MetricKind::Stats, vec![0.0, day_ms], Some(&format));
        assert_eq!(stats["min_as_string"], "1970-01-01T00:00:00.000Z");
        assert_eq!(stats["avg_as_string"], "1970-01-01T12:00:00.000Z");
    }

    #[test]
    fn percentiles_keyed_and_unkeyed() {
        let keyed = MetricKind::Percentiles {
            percents: vec![25.0, 99.9],
            keyed: true,
        };
        // [10, 20]: rank 0.25 → 12.5; rank 0.999 → 19.99.
        let value = render_numeric(&keyed, vec![20.0, 10.0], None);
        assert_eq!(value["values"]["25.0"], json!(12.5));
        assert!((value["values"]["99.9"].as_f64().unwrap() - 19.99).abs() < 1e-9);
        let list = MetricKind::Percentiles {
            percents: vec![50.0],
            keyed: false,
        };
        assert_eq!(
            render_numeric(&list, vec![20.0, 10.0], None),
            json!({"values": [{"key": 50.0, "value": 15.0}]})
        );
    }

    fn spec(kind: MetricKind, missing: Option<Value>) -> MetricSpec {
        MetricSpec {
            kind,
            field: "f".into(),
            missing,
            format: None,
        }
    }

    #[test]
    fn counts_values_and_distinct_values_of_documents() {
        // doc 0: [a, b], doc 1: [a], doc 2: none.
        let text = |value: &str| Key::Str(value.into());
        let source = FieldSource::fixed(
            Some(crate::index::aggs::values::ValueKind::Keyword),
            vec![vec![text("a"), text("b")], vec![text("a")], vec![]],
        );
        let docs: Vec<DocRef> = (0..3)
            .map(|doc| DocRef {
                target: 0,
                segment: 0,
                doc,
                score: 1.0,
            })
            .collect();
        let value = |kind, missing| compute_metric(&spec(kind, missing), &source, &docs).unwrap();
        assert_eq!(value(MetricKind::ValueCount, None), json!({"value": 3}));
        assert_eq!(value(MetricKind::ValueCount, Some(json!("z"))), json!({"value": 4}));
        assert_eq!(value(MetricKind::Cardinality, None), json!({"value": 2}));
        assert_eq!(value(MetricKind::Cardinality, Some(json!("z"))), json!({"value": 3}));
    }

    #[test]
    fn missing_numbers_join_the_values() {
        let source = FieldSource::fixed(
            Some(crate::index::aggs::values::ValueKind::Integer),
            vec![vec![Key::Int(4)], vec![], vec![Key::Int(8)]],
        );
        let docs: Vec<DocRef> = (0..3)
            .map(|doc| DocRef {
                target: 0,
                segment: 0,
                doc,
                score: 1.0,
            })
            .collect();
        // (4 + 8) / 2 = 6; with missing 0: (4 + 0 + 8) / 3 = 4.
        let avg = |missing| compute_metric(&spec(MetricKind::Avg, missing), &source, &docs).unwrap();
        assert_eq!(avg(None), json!({"value": 6.0}));
        assert_eq!(avg(Some(json!(0))), json!({"value": 4.0}));
    }
}
