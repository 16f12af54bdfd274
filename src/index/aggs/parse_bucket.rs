//! Wire → plan for the multi-bucket aggregations: `terms`, `range`, `date_range`,
//! `histogram` and `date_histogram`, with their `order`, `include`/`exclude` and bounds.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::dates::{DateInterval, parse_time_offset};
use super::params::{
    bool_param, check_keys, date_format_param, f64_param, params_object, required_field, string_param, time_zone_param,
    token_name, usize_param,
};
use super::{
    BucketOrder, DateHistogramSpec, DateRangeBound, DateRangeSpec, HistogramSpec, NumericRange, OrderTarget, RangeSpec,
    TermFilter, TermsSpec,
};
use crate::error::{Error, Result};

/// Parses `terms`; the order always ends with a `_key` ascending tie-break, as in ES.
pub(super) fn parse_terms(name: &str, params: &Value) -> Result<TermsSpec> {
    let object = params_object("terms", name, params)?;
    check_keys(
        "terms",
        object,
        &[
            "field",
            "size",
            "shard_size",
            "min_doc_count",
            "shard_min_doc_count",
            "order",
            "missing",
            "include",
            "exclude",
            "execution_hint",
            "collect_mode",
            "show_term_doc_count_error",
            "value_type",
            "format",
        ],
    )?;
    let size = usize_param("terms", object, "size")?.unwrap_or(10);
    if size == 0 {
        return Err(Error::illegal_argument(format!(
            "[size] must be greater than 0. Found [0] in [{name}]"
        )));
    }
    let mut order = parse_order("terms", object.get("order"))?;
    if order.is_empty() {
        order.push(BucketOrder {
            target: OrderTarget::Count,
            ascending: false,
        });
    }
    if !order.iter().any(|criterion| criterion.target == OrderTarget::Key) {
        order.push(BucketOrder {
            target: OrderTarget::Key,
            ascending: true,
        });
    }
    Ok(TermsSpec {
        field: required_field(object)?,
        size,
        min_doc_count: usize_param("terms", object, "min_doc_count")?.unwrap_or(1) as u64,
        order,
        missing: object.get("missing").cloned(),
        include: object
            .get("include")
            .map(|value| parse_term_filter("include", value))
            .transpose()?,
        exclude: object
            .get("exclude")
            .map(|value| parse_term_filter("exclude", value))
            .transpose()?,
    })
}

fn parse_term_filter(key: &str, value: &Value) -> Result<TermFilter> {
    match value {
        Value::String(pattern) => {
            let regex = tantivy_fst::Regex::new(pattern)
                .map_err(|error| Error::illegal_argument(format!("invalid [{key}] pattern [{pattern}]: {error}")))?;
            Ok(TermFilter::Pattern(Arc::new(regex)))
        }
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(text) => Ok(text.clone()),
                Value::Number(number) => Ok(number.to_string()),
                Value::Bool(flag) => Ok(flag.to_string()),
                other => Err(Error::x_content(format!(
                    "[terms] failed to parse field [{key}]: unexpected value [{other}]"
                ))),
            })
            .collect::<Result<Vec<_>>>()
            .map(TermFilter::Values),
        Value::Object(_) => Err(Error::illegal_argument(format!(
            "[{key}] partitions are not supported by Iris yet"
        ))),
        other => Err(Error::x_content(format!(
            "[terms] failed to parse field [{key}]: unexpected token [{}]",
            token_name(other)
        ))),
    }
}

/// Parses `order`: `{"_count": "asc"}`, `{"my_avg": "desc"}` or an array of those.
pub(super) fn parse_order(type_name: &str, value: Option<&Value>) -> Result<Vec<BucketOrder>> {
    let items: Vec<&Value> = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(single) => vec![single],
    };
    let mut order = Vec::new();
    for item in items {
        let Value::Object(criterion) = item else {
            return Err(Error::parsing(format!(
                "[{type_name}] order must be an object or an array of objects, got [{item}]"
            )));
        };
        for (path, direction) in criterion {
            let ascending = match direction.as_str().map(str::to_ascii_lowercase).as_deref() {
                Some("asc") => true,
                Some("desc") => false,
                _ => {
                    return Err(Error::parsing(format!(
                        "Unknown order direction [{direction}] in [{type_name}]"
                    )));
                }
            };
            let target = match path.as_str() {
                "_count" => OrderTarget::Count,
                "_key" | "_term" | "_time" => OrderTarget::Key,
                other => OrderTarget::Path(other.to_string()),
            };
            order.push(BucketOrder { target, ascending });
        }
    }
    Ok(order)
}

fn parse_ranges<T>(
    type_name: &str,
    name: &str,
    object: &Map<String, Value>,
    mut convert: impl FnMut(Option<String>, Option<&Value>, Option<&Value>) -> Result<T>,
) -> Result<Vec<T>> {
    let items = match object.get("ranges") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) | None => {
            return Err(Error::illegal_argument(format!(
                "No [ranges] specified for the [{name}] aggregation"
            )));
        }
        Some(_) => {
            return Err(Error::x_content(format!(
                "[{type_name}] failed to parse field [ranges]"
            )));
        }
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(range) = item else {
                return Err(Error::x_content(format!(
                    "[{type_name}] failed to parse field [ranges]"
                )));
            };
            check_keys("range", range, &["key", "from", "to"])?;
            let present = |key: &str| range.get(key).filter(|value| !value.is_null());
            convert(string_param("range", range, "key")?, present("from"), present("to"))
        })
        .collect()
}

/// Parses `range`: numeric bounds (numbers or numeric strings).
pub(super) fn parse_range(name: &str, params: &Value) -> Result<RangeSpec> {
    let object = params_object("range", name, params)?;
    check_keys("range", object, &["field", "ranges", "keyed", "missing", "format"])?;
    let number = |value: Option<&Value>| -> Result<Option<f64>> {
        value
            .map(|value| {
                value
                    .as_f64()
                    .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
                    .ok_or_else(|| Error::x_content(format!("[range] failed to parse field [from/to]: [{value}]")))
            })
            .transpose()
    };
    let ranges = parse_ranges("range", name, object, |key, from, to| {
        Ok(NumericRange {
            key,
            from: number(from)?,
            to: number(to)?,
        })
    })?;
    Ok(RangeSpec {
        field: required_field(object)?,
        ranges,
        keyed: bool_param("range", object, "keyed")?.unwrap_or(false),
        missing: object.get("missing").cloned(),
    })
}

/// Parses `date_range`; its bounds stay raw until the field's format is known.
pub(super) fn parse_date_range(name: &str, params: &Value) -> Result<DateRangeSpec> {
    let object = params_object("date_range", name, params)?;
    check_keys(
        "date_range",
        object,
        &["field", "ranges", "keyed", "missing", "format", "time_zone"],
    )?;
    let ranges = parse_ranges("date_range", name, object, |key, from, to| {
        Ok(DateRangeBound {
            key,
            from: from.cloned(),
            to: to.cloned(),
        })
    })?;
    Ok(DateRangeSpec {
        field: required_field(object)?,
        ranges,
        keyed: bool_param("date_range", object, "keyed")?.unwrap_or(false),
        format: date_format_param("date_range", object)?,
        time_zone: time_zone_param("date_range", object)?,
        missing: object.get("missing").cloned(),
    })
}

/// Keeps `_key` and `_count` criteria (histograms cannot order by sub-aggregations here)
/// and defaults to `_key` ascending.
fn histogram_order(type_name: &str, object: &Map<String, Value>) -> Result<Vec<BucketOrder>> {
    let mut order = parse_order(type_name, object.get("order"))?;
    if let Some(BucketOrder {
        target: OrderTarget::Path(path),
        ..
    }) = order
        .iter()
        .find(|criterion| matches!(criterion.target, OrderTarget::Path(_)))
    {
        return Err(Error::illegal_argument(format!(
            "[{type_name}] ordering by sub-aggregation [{path}] is not supported by Iris yet"
        )));
    }
    if !order.iter().any(|criterion| criterion.target == OrderTarget::Key) {
        order.push(BucketOrder {
            target: OrderTarget::Key,
            ascending: true,
        });
    }
    Ok(order)
}

/// Parses `histogram` (`min_doc_count` defaults to 0).
pub(super) fn parse_histogram(name: &str, params: &Value) -> Result<HistogramSpec> {
    let object = params_object("histogram", name, params)?;
    check_keys(
        "histogram",
        object,
        &[
            "field",
            "interval",
            "offset",
            "min_doc_count",
            "extended_bounds",
            "keyed",
            "order",
            "missing",
            "format",
        ],
    )?;
    let interval = f64_param("histogram", object, "interval")?.unwrap_or(0.0);
    if !(interval > 0.0 && interval.is_finite()) {
        return Err(Error::illegal_argument(format!(
            "[interval] must be >0 for histogram aggregation [{name}]"
        )));
    }
    let extended_bounds = match object.get("extended_bounds") {
        None => None,
        Some(Value::Object(bounds)) => {
            check_keys("extended_bounds", bounds, &["min", "max"])?;
            let min = f64_param("extended_bounds", bounds, "min")?.unwrap_or(f64::INFINITY);
            let max = f64_param("extended_bounds", bounds, "max")?.unwrap_or(f64::NEG_INFINITY);
            if min.is_finite() && max.is_finite() && min > max {
                return Err(Error::illegal_argument(format!(
                    "[extended_bounds.min][{min}] cannot be greater than [extended_bounds.max][{max}] for histogram aggregation [{name}]"
                )));
            }
            Some((min, max))
        }
        Some(_) => return Err(Error::x_content("[histogram] failed to parse field [extended_bounds]")),
    };
    Ok(HistogramSpec {
        field: required_field(object)?,
        interval,
        offset: f64_param("histogram", object, "offset")?.unwrap_or(0.0),
        min_doc_count: usize_param("histogram", object, "min_doc_count")?.unwrap_or(0) as u64,
        extended_bounds,
        keyed: bool_param("histogram", object, "keyed")?.unwrap_or(false),
        order: histogram_order("histogram", object)?,
        missing: object.get("missing").cloned(),
    })
}

/// Parses `date_histogram`: exactly one of `calendar_interval` and `fixed_interval`.
pub(super) fn parse_date_histogram(name: &str, params: &Value) -> Result<DateHistogramSpec> {
    let object = params_object("date_histogram", name, params)?;
    check_keys(
        "date_histogram",
        object,
        &[
            "field",
            "calendar_interval",
            "fixed_interval",
            "offset",
            "time_zone",
            "format",
            "min_doc_count",
            "extended_bounds",
            "keyed",
            "order",
            "missing",
        ],
    )?;
    let calendar = string_param("date_histogram", object, "calendar_interval")?;
    let fixed = string_param("date_histogram", object, "fixed_interval")?;
    let interval = match (calendar, fixed) {
        (Some(_), Some(_)) => {
            return Err(Error::illegal_argument(
                "Cannot use [fixed_interval] with [calendar_interval] configuration option.",
            ));
        }
        (Some(calendar), None) => DateInterval::parse_calendar(&calendar)?,
        (None, Some(fixed)) => DateInterval::parse_fixed(&fixed)?,
        (None, None) => {
            return Err(Error::illegal_argument(
                "Invalid interval specified, must be non-null and non-empty",
            ));
        }
    };
    let offset_ms = match object.get("offset") {
        None => 0,
        Some(Value::Number(number)) => number
            .as_i64()
            .ok_or_else(|| Error::x_content("[date_histogram] failed to parse field [offset]"))?,
        Some(Value::String(text)) => parse_time_offset(text)?,
        Some(_) => return Err(Error::x_content("[date_histogram] failed to parse field [offset]")),
    };
    let extended_bounds = match object.get("extended_bounds") {
        None => None,
        Some(Value::Object(bounds)) => {
            check_keys("extended_bounds", bounds, &["min", "max"])?;
            Some((
                bounds.get("min").cloned().unwrap_or(Value::Null),
                bounds.get("max").cloned().unwrap_or(Value::Null),
            ))
        }
        Some(_) => {
            return Err(Error::x_content(
                "[date_histogram] failed to parse field [extended_bounds]",
            ));
        }
    };
    Ok(DateHistogramSpec {
        field: required_field(object)?,
        interval,
        offset_ms,
        time_zone: time_zone_param("date_histogram", object)?,
        format: date_format_param("date_histogram", object)?,
        min_doc_count: usize_param("date_histogram", object, "min_doc_count")?.unwrap_or(0) as u64,
        extended_bounds,
        keyed: bool_param("date_histogram", object, "keyed")?.unwrap_or(false),
        order: histogram_order("date_histogram", object)?,
        missing: object.get("missing").cloned(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn terms_defaults_and_order_tie_break() {
        let spec = parse_terms("t", &json!({"field": "tags"})).unwrap();
        assert_eq!((spec.size, spec.min_doc_count), (10, 1));
        assert_eq!(
            spec.order,
            vec![
                BucketOrder {
                    target: OrderTarget::Count,
                    ascending: false
                },
                BucketOrder {
                    target: OrderTarget::Key,
                    ascending: true
                }
            ]
        );
        let spec = parse_terms(
            "t",
            &json!({"field": "tags", "order": [{"avg": "asc"}, {"_key": "desc"}]}),
        )
        .unwrap();
        assert_eq!(spec.order.len(), 2);
        assert_eq!(spec.order[0].target, OrderTarget::Path("avg".into()));
        let error = parse_terms("t", &json!({"field": "tags", "size": 0})).unwrap_err();
        assert_eq!(error.reason, "[size] must be greater than 0. Found [0] in [t]");
    }

    #[test]
    fn include_exclude_forms() {
        let spec = parse_terms("t", &json!({"field": "f", "include": "ca.*", "exclude": ["dog", 3]})).unwrap();
        assert!(matches!(spec.include, Some(TermFilter::Pattern(_))));
        assert!(matches!(&spec.exclude, Some(TermFilter::Values(values)) if values == &["dog", "3"]));
    }

    #[test]
    fn range_requires_ranges() {
        let error = parse_range("r", &json!({"field": "price"})).unwrap_err();
        assert_eq!(error.reason, "No [ranges] specified for the [r] aggregation");
        let spec = parse_range(
            "r",
            &json!({"field": "p", "ranges": [{"to": 5}, {"from": "5", "key": "k"}]}),
        )
        .unwrap();
        assert_eq!(
            spec.ranges[1],
            NumericRange {
                key: Some("k".into()),
                from: Some(5.0),
                to: None
            }
        );
    }

    #[test]
    fn histogram_validation() {
        let error = parse_histogram("h", &json!({"field": "p"})).unwrap_err();
        assert_eq!(error.reason, "[interval] must be >0 for histogram aggregation [h]");
        let error = parse_histogram(
            "h",
            &json!({"field": "p", "interval": 5, "extended_bounds": {"min": 10, "max": 0}}),
        )
        .unwrap_err();
        assert!(error.reason.starts_with("[extended_bounds.min][10] cannot be greater"));
        let spec = parse_histogram("h", &json!({"field": "p", "interval": 5})).unwrap();
        assert_eq!(spec.min_doc_count, 0);
    }

    #[test]
    fn date_histogram_intervals() {
        let error = parse_date_histogram("d", &json!({"field": "t"})).unwrap_err();
        assert_eq!(
            error.reason,
            "Invalid interval specified, must be non-null and non-empty"
        );
        let error = parse_date_histogram(
            "d",
            &json!({"field": "t", "calendar_interval": "1d", "fixed_interval": "1d"}),
        )
        .unwrap_err();
        assert!(error.reason.starts_with("Cannot use [fixed_interval]"));
        let spec = parse_date_histogram("d", &json!({"field": "t", "fixed_interval": "90m", "offset": "+1h"})).unwrap();
        assert_eq!(spec.interval, DateInterval::Fixed(90 * 60_000));
        assert_eq!(spec.offset_ms, 3_600_000);
        let error = parse_date_histogram("d", &json!({"field": "t", "interval": "1d"})).unwrap_err();
        assert!(error.reason.starts_with("[date_histogram] unknown field [interval]"));
    }
}
