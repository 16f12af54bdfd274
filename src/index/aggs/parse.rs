//! Wire → plan for the aggregation tree: names, types, sub-aggregations, `meta`, and
//! the metric, single-bucket and `top_hits` types. Errors carry ES's types and messages.

use serde_json::{Map, Value};

use super::params::{
    bool_param, check_keys, date_format_param, did_you_mean, params_object, required_field, string_param, token_name,
    usize_param,
};
use super::parse_bucket;
use super::{AggKind, AggregationNode, FiltersSpec, MetricKind, MetricSpec, TopHitsSpec};
use crate::dsl::parse_query;
use crate::error::{Error, Result};
use crate::index::source_filter::SourceFilter;
use crate::query::request::{parse_sort, parse_source_option};

/// Aggregation types Iris computes.
const SUPPORTED_TYPES: &[&str] = &[
    "terms",
    "range",
    "date_range",
    "histogram",
    "date_histogram",
    "filter",
    "filters",
    "missing",
    "global",
    "avg",
    "min",
    "max",
    "sum",
    "stats",
    "value_count",
    "cardinality",
    "percentiles",
    "top_hits",
];

/// Valid ES aggregation types that Iris does not compute (yet): a clear 400 instead of
/// "unknown type".
const UNSUPPORTED_TYPES: &[&str] = &[
    "adjacency_matrix",
    "auto_date_histogram",
    "avg_bucket",
    "boxplot",
    "bucket_script",
    "bucket_selector",
    "bucket_sort",
    "categorize_text",
    "children",
    "composite",
    "cumulative_sum",
    "derivative",
    "diversified_sampler",
    "extended_stats",
    "extended_stats_bucket",
    "frequent_item_sets",
    "geo_bounds",
    "geo_centroid",
    "geo_distance",
    "geohash_grid",
    "geotile_grid",
    "ip_prefix",
    "ip_range",
    "matrix_stats",
    "max_bucket",
    "median_absolute_deviation",
    "min_bucket",
    "multi_terms",
    "nested",
    "parent",
    "percentile_ranks",
    "percentiles_bucket",
    "random_sampler",
    "rare_terms",
    "reverse_nested",
    "sampler",
    "scripted_metric",
    "serial_diff",
    "significant_terms",
    "significant_text",
    "stats_bucket",
    "string_stats",
    "sum_bucket",
    "t_test",
    "top_metrics",
    "variable_width_histogram",
    "weighted_avg",
];

/// Parses an `aggs` object; `parent` is the enclosing aggregation's name and type.
pub(super) fn parse_aggregations(value: &Value, parent: Option<(&str, &str)>) -> Result<Vec<AggregationNode>> {
    let Value::Object(entries) = value else {
        return Err(Error::parsing(format!(
            "Expected [START_OBJECT] under [aggs], but got a [{}]",
            token_name(value)
        )));
    };
    entries
        .iter()
        .map(|(name, body)| parse_node(name, body, parent))
        .collect()
}

fn parse_node(name: &str, body: &Value, parent: Option<(&str, &str)>) -> Result<AggregationNode> {
    if name.contains(['[', ']', '>']) {
        return Err(Error::parsing(format!(
            "Invalid aggregation name [{name}]. Aggregation names can contain any character except '[', ']', and '>'"
        )));
    }
    let Value::Object(object) = body else {
        return Err(Error::parsing(format!(
            "Expected [START_OBJECT] under [{name}], but got a [{}] in [{name}]",
            token_name(body)
        )));
    };
    let mut type_entry: Option<(&str, &Value)> = None;
    let mut sub_aggregations: Option<&Value> = None;
    let mut meta = None;
    for (key, value) in object {
        match key.as_str() {
            "aggs" | "aggregations" => {
                if sub_aggregations.is_some() {
                    return Err(Error::parsing(format!(
                        "Found two sub aggregation definitions under [{name}]"
                    )));
                }
                sub_aggregations = Some(value);
            }
            "meta" => {
                if !value.is_object() {
                    return Err(Error::parsing(format!(
                        "Expected [START_OBJECT] under [meta], but got a [{}] in [{name}]",
                        token_name(value)
                    )));
                }
                meta = Some(value.clone());
            }
            type_name => {
                if !value.is_object() {
                    return Err(Error::parsing(format!(
                        "Expected [START_OBJECT] under [{type_name}], but got a [{}] in [{name}]",
                        token_name(value)
                    )));
                }
                if let Some((first, _)) = type_entry {
                    return Err(Error::parsing(format!(
                        "Found two aggregation type definitions in [{name}]: [{first}] and [{type_name}]"
                    )));
                }
                type_entry = Some((type_name, value));
            }
        }
    }
    let Some((type_name, params)) = type_entry else {
        return Err(Error::parsing(format!("Missing definition for aggregation [{name}]")));
    };
    check_type(type_name)?;
    let kind = parse_kind(type_name, name, params)?;
    if let (AggKind::Global, Some((parent_name, _))) = (&kind, parent) {
        return Err(Error::illegal_argument(format!(
            "Aggregation [{parent_name}] cannot have a global sub-aggregation [{name}]. Global aggregations can only be defined as top level aggregations"
        )));
    }
    let children = match sub_aggregations {
        None => Vec::new(),
        Some(_) if matches!(kind, AggKind::Metric(_) | AggKind::TopHits(_)) => {
            return Err(Error::illegal_argument(format!(
                "Aggregator [{name}] of type [{type_name}] cannot accept sub-aggregations"
            )));
        }
        Some(value) => parse_aggregations(value, Some((name, type_name)))?,
    };
    Ok(AggregationNode {
        name: name.to_string(),
        meta,
        kind,
        children,
    })
}

fn check_type(type_name: &str) -> Result<()> {
    if SUPPORTED_TYPES.contains(&type_name) {
        return Ok(());
    }
    if UNSUPPORTED_TYPES.contains(&type_name) {
        return Err(Error::illegal_argument(format!(
            "aggregation type [{type_name}] is not supported by Iris yet"
        )));
    }
    let candidates = SUPPORTED_TYPES.iter().chain(UNSUPPORTED_TYPES);
    Err(Error::parsing(format!(
        "Unknown aggregation type [{type_name}]{}",
        did_you_mean(type_name, candidates.copied())
    )))
}

fn parse_kind(type_name: &str, name: &str, params: &Value) -> Result<AggKind> {
    Ok(match type_name {
        "terms" => AggKind::Terms(parse_bucket::parse_terms(name, params)?),
        "range" => AggKind::Range(parse_bucket::parse_range(name, params)?),
        "date_range" => AggKind::DateRange(parse_bucket::parse_date_range(name, params)?),
        "histogram" => AggKind::Histogram(parse_bucket::parse_histogram(name, params)?),
        "date_histogram" => AggKind::DateHistogram(parse_bucket::parse_date_histogram(name, params)?),
        "filter" => AggKind::Filter(parse_query(params)?),
        "filters" => AggKind::Filters(parse_filters(name, params)?),
        "missing" => {
            let object = params_object("missing", name, params)?;
            check_keys("missing", object, &["field"])?;
            AggKind::Missing {
                field: required_field(object)?,
            }
        }
        "global" => {
            let object = params_object("global", name, params)?;
            check_keys("global", object, &[])?;
            AggKind::Global
        }
        "top_hits" => AggKind::TopHits(parse_top_hits(name, params)?),
        metric => AggKind::Metric(parse_metric(metric, name, params)?),
    })
}

const DEFAULT_PERCENTS: [f64; 7] = [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0];

fn parse_metric(type_name: &str, name: &str, params: &Value) -> Result<MetricSpec> {
    let object = params_object(type_name, name, params)?;
    let kind = match type_name {
        "avg" => MetricKind::Avg,
        "min" => MetricKind::Min,
        "max" => MetricKind::Max,
        "sum" => MetricKind::Sum,
        "stats" => MetricKind::Stats,
        "value_count" => MetricKind::ValueCount,
        "cardinality" => MetricKind::Cardinality,
        "percentiles" => MetricKind::Percentiles {
            percents: parse_percents(name, object)?,
            keyed: bool_param(type_name, object, "keyed")?.unwrap_or(true),
        },
        other => return Err(Error::internal(format!("unexpected metric type [{other}]"))),
    };
    let allowed: &[&str] = match kind {
        MetricKind::Cardinality => &["field", "missing", "precision_threshold", "execution_hint"],
        MetricKind::Percentiles { .. } => &["field", "missing", "format", "percents", "keyed", "tdigest"],
        _ => &["field", "missing", "format"],
    };
    check_keys(type_name, object, allowed)?;
    Ok(MetricSpec {
        kind,
        field: required_field(object)?,
        missing: object.get("missing").cloned(),
        format: date_format_param(type_name, object)?,
    })
}

fn parse_percents(name: &str, object: &Map<String, Value>) -> Result<Vec<f64>> {
    let Some(value) = object.get("percents") else {
        return Ok(DEFAULT_PERCENTS.to_vec());
    };
    let Value::Array(items) = value else {
        return Err(Error::x_content("[percentiles] failed to parse field [percents]"));
    };
    if items.is_empty() {
        return Err(Error::illegal_argument(format!(
            "[percents] must not be empty: [{name}]"
        )));
    }
    items
        .iter()
        .map(|item| match item.as_f64() {
            Some(percent) if (0.0..=100.0).contains(&percent) => Ok(percent),
            Some(percent) => Err(Error::illegal_argument(format!(
                "percent must be in [0,100], got [{percent}]: [{name}]"
            ))),
            None => Err(Error::x_content("[percentiles] failed to parse field [percents]")),
        })
        .collect()
}

fn parse_filters(name: &str, params: &Value) -> Result<FiltersSpec> {
    let object = params_object("filters", name, params)?;
    check_keys(
        "filters",
        object,
        &["filters", "other_bucket", "other_bucket_key", "keyed"],
    )?;
    let filters = match object.get("filters") {
        Some(Value::Object(named)) => {
            let mut filters = named
                .iter()
                .map(|(key, query)| Ok((Some(key.clone()), parse_query(query)?)))
                .collect::<Result<Vec<_>>>()?;
            // ES keeps named filters sorted by key.
            filters.sort_by(|left, right| left.0.cmp(&right.0));
            filters
        }
        Some(Value::Array(anonymous)) => anonymous
            .iter()
            .map(|query| Ok((None, parse_query(query)?)))
            .collect::<Result<Vec<_>>>()?,
        Some(_) => {
            return Err(Error::parsing(format!(
                "Unknown key for a VALUE in [filters]: [{name}] expects an object or an array of queries"
            )));
        }
        None => {
            return Err(Error::illegal_argument(format!(
                "[filters] cannot be null. Use [filters] with at least one filter in [{name}]"
            )));
        }
    };
    let named = filters.first().is_some_and(|(key, _)| key.is_some());
    let other_bucket_key = string_param("filters", object, "other_bucket_key")?;
    let other_bucket = bool_param("filters", object, "other_bucket")?.unwrap_or(other_bucket_key.is_some());
    Ok(FiltersSpec {
        filters,
        keyed: named && bool_param("filters", object, "keyed")?.unwrap_or(true),
        other_bucket_key: other_bucket.then(|| other_bucket_key.unwrap_or_else(|| "_other_".to_string())),
    })
}

/// `index.max_inner_result_window`'s default.
const MAX_INNER_RESULT_WINDOW: usize = 100;

fn parse_top_hits(name: &str, params: &Value) -> Result<TopHitsSpec> {
    let object = params_object("top_hits", name, params)?;
    check_keys(
        "top_hits",
        object,
        &[
            "from",
            "size",
            "sort",
            "_source",
            "version",
            "seq_no_primary_term",
            "track_scores",
        ],
    )?;
    let from = usize_param("top_hits", object, "from")?.unwrap_or(0);
    let size = usize_param("top_hits", object, "size")?.unwrap_or(3);
    if from + size > MAX_INNER_RESULT_WINDOW {
        return Err(Error::illegal_argument(format!(
            "Top hits result window is too large, the top hits aggregator [{name}]'s from + size must be less than or equal to: [{MAX_INNER_RESULT_WINDOW}] but was [{}]. This limit can be set by changing the [index.max_inner_result_window] index level setting.",
            from + size
        )));
    }
    let source = match object.get("_source") {
        Some(value) => parse_source_option(value)?,
        None => Some(SourceFilter::default()),
    };
    Ok(TopHitsSpec {
        from,
        size,
        sort: object.get("sort").map(parse_sort).transpose()?.unwrap_or_default(),
        source,
        version: bool_param("top_hits", object, "version")?.unwrap_or(false),
        seq_no_primary_term: bool_param("top_hits", object, "seq_no_primary_term")?.unwrap_or(false),
        track_scores: bool_param("top_hits", object, "track_scores")?.unwrap_or(false),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::ErrorKind;

    fn parse(value: Value) -> Result<Vec<AggregationNode>> {
        parse_aggregations(&value, None)
    }

    #[test]
    fn unknown_type_suggests_close_names() {
        let error = parse(json!({"a": {"term": {"field": "x"}}})).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Parsing);
        assert_eq!(error.reason, "Unknown aggregation type [term] did you mean [terms]?");
        let error = parse(json!({"a": {"zzzzzz": {}}})).unwrap_err();
        assert_eq!(error.reason, "Unknown aggregation type [zzzzzz]");
    }

    #[test]
    fn tree_errors_mirror_es() {
        let error = parse(json!({"a": {}})).unwrap_err();
        assert_eq!(error.reason, "Missing definition for aggregation [a]");
        let error = parse(json!({"a": {"avg": {"field": "x"}, "max": {"field": "x"}}})).unwrap_err();
        assert_eq!(
            error.reason,
            "Found two aggregation type definitions in [a]: [avg] and [max]"
        );
        let error = parse(json!({"a": {"avg": {"field": "x"}, "aggs": {"b": {"max": {"field": "x"}}}}})).unwrap_err();
        assert_eq!(
            error.reason,
            "Aggregator [a] of type [avg] cannot accept sub-aggregations"
        );
        let error = parse(json!({"a>b": {"avg": {"field": "x"}}})).unwrap_err();
        assert!(error.reason.starts_with("Invalid aggregation name [a>b]"));
        let error = parse(json!({"a": {"avg": {}}})).unwrap_err();
        assert_eq!(
            error.reason,
            "Required one of fields [field, script], but none were specified."
        );
        let error = parse(json!({"a": {"avg": {"field": "x", "feild": 1}}})).unwrap_err();
        assert_eq!(error.kind, ErrorKind::XContentParse);
        assert_eq!(error.reason, "[avg] unknown field [feild] did you mean [field]?");
        let error = parse(json!({"a": {"terms": {"field": "x"}, "size": 5}})).unwrap_err();
        assert_eq!(
            error.reason,
            "Expected [START_OBJECT] under [size], but got a [VALUE_NUMBER] in [a]"
        );
        let error = parse(json!({"a": {"composite": {}}})).unwrap_err();
        assert_eq!(error.kind, ErrorKind::IllegalArgument);
        let error = parse(json!({"a": {"terms": {"field": "x"}, "aggs": {"g": {"global": {}}}}})).unwrap_err();
        assert!(
            error
                .reason
                .starts_with("Aggregation [a] cannot have a global sub-aggregation [g]")
        );
    }

    #[test]
    fn nested_tree_and_meta() {
        let nodes = parse(json!({
            "by_tag": {"terms": {"field": "tags"}, "meta": {"k": 1}, "aggs": {"avg_price": {"avg": {"field": "price"}}}}
        }))
        .unwrap();
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].meta, Some(json!({"k": 1})));
        assert_eq!(nodes[0].children[0].name, "avg_price");
        assert!(matches!(&nodes[0].children[0].kind, AggKind::Metric(spec) if spec.kind == MetricKind::Avg));
    }

    #[test]
    fn percentiles_default_and_validation() {
        let nodes = parse(json!({"p": {"percentiles": {"field": "x"}}})).unwrap();
        let AggKind::Metric(spec) = &nodes[0].kind else {
            panic!("metric")
        };
        assert_eq!(
            spec.kind,
            MetricKind::Percentiles {
                percents: DEFAULT_PERCENTS.to_vec(),
                keyed: true
            }
        );
        let error = parse(json!({"p": {"percentiles": {"field": "x", "percents": [101]}}})).unwrap_err();
        assert_eq!(error.reason, "percent must be in [0,100], got [101]: [p]");
    }

    #[test]
    fn filters_named_are_sorted_and_other_bucket_defaults() {
        let nodes = parse(json!({"f": {"filters": {
            "other_bucket": true,
            "filters": {"b": {"match_all": {}}, "a": {"match_none": {}}}
        }}}))
        .unwrap();
        let AggKind::Filters(spec) = &nodes[0].kind else {
            panic!("filters")
        };
        let keys: Vec<_> = spec.filters.iter().map(|(key, _)| key.clone().unwrap()).collect();
        assert_eq!(keys, vec!["a", "b"]);
        assert!(spec.keyed);
        assert_eq!(spec.other_bucket_key.as_deref(), Some("_other_"));
        let nodes = parse(json!({"f": {"filters": {"filters": [{"match_all": {}}]}}})).unwrap();
        let AggKind::Filters(spec) = &nodes[0].kind else {
            panic!("filters")
        };
        assert!(!spec.keyed);
        assert_eq!(spec.other_bucket_key, None);
    }

    #[test]
    fn top_hits_defaults_and_window() {
        let nodes = parse(json!({"t": {"top_hits": {}}})).unwrap();
        let AggKind::TopHits(spec) = &nodes[0].kind else {
            panic!("top_hits")
        };
        assert_eq!((spec.from, spec.size), (0, 3));
        let error = parse(json!({"t": {"top_hits": {"size": 101}}})).unwrap_err();
        assert!(error.reason.starts_with("Top hits result window is too large"));
    }
}
