//! Elasticsearch aggregations, computed by Iris over the documents that match a search's
//! main `query` (not its `post_filter`), across every target index.
//!
//! Three steps, one module each:
//! - wire → plan: [`Aggregations::parse`] validates the request's `aggs` object into a
//!   tree of [`AggregationNode`]s (`parse.rs`, `parse_bucket.rs`, `params.rs`), before
//!   any query runs;
//! - bind: each node is resolved against the target indices: field mappings to doc-value
//!   columns (`values.rs`, over `index/columns.rs`), `filter` queries to document sets (`docs.rs`);
//! - compute: buckets split the matching documents and sub-aggregations run per bucket
//!   (`compute.rs` and one file per family), rendered as ES's JSON.
//!
//! All documents of all indices are aggregated together, so results are exact where ES
//! merges per-shard approximations (`doc_count_error_upper_bound` is always 0, and
//! `cardinality` is an exact distinct count where ES uses HyperLogLog++ above its
//! `precision_threshold`). See
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/search-aggregations.html>.

mod compute;
mod dates;
mod docs;
mod filters;
mod format;
mod histogram;
mod metric;
mod params;
mod parse;
mod parse_bucket;
mod ranges;
mod terms;
mod top_hits;
mod values;

use std::sync::Arc;

use chrono::FixedOffset;
use serde_json::Value;
use tantivy::Searcher;

pub use self::dates::DateInterval;
pub use self::docs::{DocRef, collect_matches};
use super::IndexHandle;
use super::to_tantivy::QueryBuilder;
use crate::date::DateFormat;
use crate::error::{Error, Result};
use crate::index::source_filter::SourceFilter;
use crate::query::{QueryAst, SearchRequest, SortField};

/// The validated aggregation tree of one search request.
#[derive(Debug, Clone)]
pub struct Aggregations {
    pub nodes: Vec<AggregationNode>,
}

/// One named aggregation and its sub-aggregations.
#[derive(Debug, Clone)]
pub struct AggregationNode {
    pub name: String,
    /// The request's `meta` object, echoed in the response.
    pub meta: Option<Value>,
    pub kind: AggKind,
    pub children: Vec<AggregationNode>,
}

/// What one aggregation computes.
#[derive(Debug, Clone)]
pub enum AggKind {
    Terms(TermsSpec),
    Range(RangeSpec),
    DateRange(DateRangeSpec),
    Histogram(HistogramSpec),
    DateHistogram(DateHistogramSpec),
    Filter(QueryAst),
    Filters(FiltersSpec),
    Missing { field: String },
    Global,
    Metric(MetricSpec),
    TopHits(TopHitsSpec),
}

impl AggKind {
    /// Returns the ES type name (`terms`, `avg`...).
    pub fn type_name(&self) -> &'static str {
        match self {
            AggKind::Terms(_) => "terms",
            AggKind::Range(_) => "range",
            AggKind::DateRange(_) => "date_range",
            AggKind::Histogram(_) => "histogram",
            AggKind::DateHistogram(_) => "date_histogram",
            AggKind::Filter(_) => "filter",
            AggKind::Filters(_) => "filters",
            AggKind::Missing { .. } => "missing",
            AggKind::Global => "global",
            AggKind::Metric(spec) => spec.kind.type_name(),
            AggKind::TopHits(_) => "top_hits",
        }
    }
}

/// How buckets are ordered: `_count`, `_key`, or a path to a sub-aggregation value
/// (`avg_price`, `price_stats.max`, `in_stock>avg_price`).
#[derive(Debug, Clone, PartialEq)]
pub enum OrderTarget {
    Count,
    Key,
    Path(String),
}

/// One criterion of a bucket `order`.
#[derive(Debug, Clone, PartialEq)]
pub struct BucketOrder {
    pub target: OrderTarget,
    pub ascending: bool,
}

/// `include` / `exclude` of a terms aggregation.
#[derive(Debug, Clone)]
pub enum TermFilter {
    /// Exact values (compared as strings).
    Values(Vec<String>),
    /// A regular expression the whole term must match.
    Pattern(std::sync::Arc<tantivy_fst::Regex>),
}

/// `terms`.
#[derive(Debug, Clone)]
pub struct TermsSpec {
    pub field: String,
    pub size: usize,
    pub min_doc_count: u64,
    /// Always ends with a `_key` ascending tie-break.
    pub order: Vec<BucketOrder>,
    pub missing: Option<Value>,
    pub include: Option<TermFilter>,
    pub exclude: Option<TermFilter>,
}

/// One range of a `range` aggregation: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericRange {
    pub key: Option<String>,
    pub from: Option<f64>,
    pub to: Option<f64>,
}

/// `range`.
#[derive(Debug, Clone)]
pub struct RangeSpec {
    pub field: String,
    pub ranges: Vec<NumericRange>,
    pub keyed: bool,
    pub missing: Option<Value>,
}

/// One range of a `date_range` aggregation; bounds are ms, dates or date math, resolved
/// against the field's format when the aggregation runs.
#[derive(Debug, Clone)]
pub struct DateRangeBound {
    pub key: Option<String>,
    pub from: Option<Value>,
    pub to: Option<Value>,
}

/// `date_range`.
#[derive(Debug, Clone)]
pub struct DateRangeSpec {
    pub field: String,
    pub ranges: Vec<DateRangeBound>,
    pub keyed: bool,
    pub format: Option<DateFormat>,
    pub time_zone: Option<FixedOffset>,
    pub missing: Option<Value>,
}

/// `histogram`.
#[derive(Debug, Clone)]
pub struct HistogramSpec {
    pub field: String,
    pub interval: f64,
    pub offset: f64,
    pub min_doc_count: u64,
    pub extended_bounds: Option<(f64, f64)>,
    pub keyed: bool,
    pub order: Vec<BucketOrder>,
    pub missing: Option<Value>,
}

/// `date_histogram`.
#[derive(Debug, Clone)]
pub struct DateHistogramSpec {
    pub field: String,
    pub interval: DateInterval,
    pub offset_ms: i64,
    pub time_zone: Option<FixedOffset>,
    pub format: Option<DateFormat>,
    pub min_doc_count: u64,
    /// Bounds as given (ms, dates or date math), resolved when the aggregation runs.
    pub extended_bounds: Option<(Value, Value)>,
    pub keyed: bool,
    pub order: Vec<BucketOrder>,
    pub missing: Option<Value>,
}

/// `filters`.
#[derive(Debug, Clone)]
pub struct FiltersSpec {
    /// Named filters (sorted by name, as ES does) or anonymous ones in request order.
    pub filters: Vec<(Option<String>, QueryAst)>,
    pub keyed: bool,
    pub other_bucket_key: Option<String>,
}

/// The metric aggregations.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricKind {
    Avg,
    Min,
    Max,
    Sum,
    Stats,
    ValueCount,
    Cardinality,
    Percentiles { percents: Vec<f64>, keyed: bool },
}

impl MetricKind {
    /// Returns the ES type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            MetricKind::Avg => "avg",
            MetricKind::Min => "min",
            MetricKind::Max => "max",
            MetricKind::Sum => "sum",
            MetricKind::Stats => "stats",
            MetricKind::ValueCount => "value_count",
            MetricKind::Cardinality => "cardinality",
            MetricKind::Percentiles { .. } => "percentiles",
        }
    }

    /// Returns true for metrics that need numeric values (not keywords).
    pub fn is_numeric(&self) -> bool {
        !matches!(self, MetricKind::ValueCount | MetricKind::Cardinality)
    }
}

/// A metric aggregation over one field.
#[derive(Debug, Clone)]
pub struct MetricSpec {
    pub kind: MetricKind,
    pub field: String,
    pub missing: Option<Value>,
    pub format: Option<DateFormat>,
}

/// `top_hits`.
#[derive(Debug, Clone)]
pub struct TopHitsSpec {
    pub from: usize,
    pub size: usize,
    pub sort: Vec<SortField>,
    pub source: Option<SourceFilter>,
    pub version: bool,
    pub seq_no_primary_term: bool,
    pub track_scores: bool,
}

impl Aggregations {
    /// Parses and validates a request's `aggs` (or `aggregations`) object.
    pub fn parse(value: &Value) -> Result<Aggregations> {
        Ok(Aggregations {
            nodes: parse::parse_aggregations(value, None)?,
        })
    }

    /// Returns true when some aggregation reads `_score` (a `top_hits`).
    pub fn needs_scores(&self) -> bool {
        fn any_top_hits(nodes: &[AggregationNode]) -> bool {
            nodes
                .iter()
                .any(|node| matches!(node.kind, AggKind::TopHits(_)) || any_top_hits(&node.children))
        }
        any_top_hits(&self.nodes)
    }
}

/// One target index of a search and the searcher its matches were collected with.
pub struct AggTarget<'a> {
    pub handle: &'a IndexHandle,
    pub searcher: &'a Searcher,
}

/// Computes the aggregations over `matches` (the documents matching the main query in
/// `targets`, as [`collect_matches`] returns them) and returns ES's `aggregations` object.
pub fn compute(
    aggregations: &Aggregations,
    targets: &[AggTarget<'_>],
    matches: &[DocRef],
    now_millis: i64,
) -> Result<Value> {
    compute::compute_tree(&aggregations.nodes, targets, matches, now_millis)
}

/// Returns the documents of one target that a request's aggregations run over: the
/// matches of its main `query` (ES applies `post_filter` after aggregating), above
/// `min_score` when set.
pub fn request_matches(
    aggregations: &Aggregations,
    handle: &IndexHandle,
    searcher: &Searcher,
    request: &SearchRequest,
    target: usize,
    now_millis: i64,
) -> Result<Vec<DocRef>> {
    let state = handle.state();
    let builder = QueryBuilder {
        state: &state,
        fields: handle.fields(),
        vectors: handle.vectors(),
        now_millis,
    };
    let query = builder
        .build(&request.query)
        .map_err(|error| Error::search_phase(error, &handle.name()))?;
    collect_matches(
        searcher,
        query.as_ref(),
        target,
        aggregations.needs_scores(),
        request.min_score,
    )
}

/// Computes a request's aggregations over the targets it searched (`searchers[i]` is
/// the searcher of `handles[i]`) and the documents [`request_matches`] returned.
pub fn compute_for_targets(
    aggregations: &Aggregations,
    handles: &[Arc<IndexHandle>],
    searchers: &[Searcher],
    matches: &[DocRef],
    now_millis: i64,
) -> Result<Value> {
    debug_assert_eq!(handles.len(), searchers.len(), "one searcher per index");
    let targets: Vec<AggTarget<'_>> = handles
        .iter()
        .zip(searchers)
        .map(|(handle, searcher)| AggTarget {
            handle: handle.as_ref(),
            searcher,
        })
        .collect();
    compute(aggregations, &targets, matches, now_millis)
}
