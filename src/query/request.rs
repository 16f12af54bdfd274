//! A `_search` request resolved once: defaults applied, limits checked, the query parsed.

use serde_json::{Map, Value};

use super::QueryAst;
use super::ast::KnnClause;
use super::hit_options::{FieldRequest, HighlightRequest, parse_fields, parse_highlight};
use crate::dsl::parse_query;
use crate::error::{Error, Result};
use crate::index::source_filter::SourceFilter;

/// `track_total_hits`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackTotalHits {
    Disabled,
    UpTo(u64),
    Exact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub enum SortField {
    Score(SortOrder),
    Doc(SortOrder),
    Field {
        field: String,
        order: SortOrder,
        missing_first: bool,
    },
}

/// Everything a search needs, ES defaults resolved.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: QueryAst,
    pub post_filter: Option<QueryAst>,
    pub from: usize,
    pub size: usize,
    pub sort: Vec<SortField>,
    pub track_total_hits: TrackTotalHits,
    pub track_scores: bool,
    pub source: Option<SourceFilter>,
    pub min_score: Option<f32>,
    pub explain: bool,
    pub version: bool,
    pub seq_no_primary_term: bool,
    pub aggregations: Option<Value>,
    pub search_after: Option<Vec<Value>>,
    pub highlight: Option<HighlightRequest>,
    pub fields: Vec<FieldRequest>,
    /// Stop collecting after this many matches per index (`terminated_early` reported).
    pub terminate_after: Option<usize>,
    /// Top-level kNN clauses: global top-k each, their scores added to the query's.
    pub knn: Vec<KnnClause>,
    /// A retriever tree replacing `query` and `knn` (ES `retriever`, or the legacy `rank`).
    pub retriever: Option<super::retriever::Retriever>,
    /// The tree came from the legacy `rank.rrf`: errors name `[rank]`, hits carry `_rank`.
    pub legacy_rank: bool,
    /// OpenSearch `hybrid` query (top level only), fused by the search pipeline.
    pub hybrid: Option<super::retriever::HybridQuery>,
}

const BODY_KEYS: &[&str] = &[
    "query",
    "from",
    "size",
    "sort",
    "track_total_hits",
    "track_scores",
    "_source",
    "min_score",
    "explain",
    "version",
    "seq_no_primary_term",
    "aggs",
    "aggregations",
    "search_after",
    "timeout",
    "post_filter",
    "stored_fields",
    "docvalue_fields",
    "fields",
    "highlight",
    "terminate_after",
    "profile",
    "indices_boost",
    "collapse",
    "rescore",
    "suggest",
    "pit",
    "runtime_mappings",
    "script_fields",
    "stats",
    "ext",
    "knn",
    "rank",
    "sub_searches",
    "retriever",
    "slice",
];

const UNSUPPORTED_KEYS: &[&str] = &[
    "collapse",
    "rescore",
    "suggest",
    "pit",
    "runtime_mappings",
    "script_fields",
    "slice",
    "indices_boost",
    "docvalue_fields",
];

/// OpenSearch's `hybrid` query: `queries` (1 to 5), `pagination_depth`, `filter`.
fn parse_hybrid(value: &Value) -> Result<super::retriever::HybridQuery> {
    let Value::Object(body) = value else {
        return Err(Error::parsing(
            "[hybrid] query malformed, no start_object after query name",
        ));
    };
    if let Some(key) = body
        .keys()
        .find(|key| !["queries", "pagination_depth", "filter", "boost", "_name"].contains(&key.as_str()))
    {
        return Err(Error::parsing(format!("[hybrid] query does not support [{key}]")));
    }
    let Some(Value::Array(queries)) = body.get("queries") else {
        return Err(Error::parsing(
            "[hybrid] requires 'queries' field with at least one clause",
        ));
    };
    if queries.is_empty() {
        return Err(Error::parsing(
            "[hybrid] requires 'queries' field with at least one clause",
        ));
    }
    if queries.len() > 5 {
        return Err(Error::parsing(
            "Number of sub-queries exceeds maximum supported by [hybrid] query",
        ));
    }
    let pagination_depth = match body.get("pagination_depth") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_i64() {
            Some(depth) if (1..=10_000).contains(&depth) => Some(depth as usize),
            _ => {
                return Err(Error::illegal_argument(
                    "pagination_depth should be less than or equal to index.max_result_window setting",
                ));
            }
        },
    };
    Ok(super::retriever::HybridQuery {
        queries: queries.iter().map(parse_query).collect::<Result<Vec<_>>>()?,
        pagination_depth,
        filter: body.get("filter").map(parse_query).transpose()?,
    })
}

/// The legacy `rank: {"rrf": ...}` over `query` (or `sub_searches`) and `knn`: an RRF tree
/// with one standard leaf per query and one knn leaf per clause.
fn legacy_rank_retriever(
    body: &Map<String, Value>,
    rank: &Value,
    knn: &[KnnClause],
) -> Result<super::retriever::Retriever> {
    use super::retriever::{Normalizer, Retriever, WeightedRetriever};
    let (rank_window_size, rank_constant) = crate::dsl::retriever::parse_legacy_rank(rank)?;
    let mut queries = Vec::new();
    match (body.get("query"), body.get("sub_searches")) {
        (Some(_), Some(_)) => {
            return Err(Error::illegal_argument(
                "cannot specify both [query] and [sub_searches]",
            ));
        }
        (Some(query), None) => queries.push(parse_query(query)?),
        (None, Some(Value::Array(searches))) => {
            for search in searches {
                let Some(query) = search.get("query") else {
                    return Err(Error::parsing("[sub_searches] entries need a [query]"));
                };
                queries.push(parse_query(query)?);
            }
        }
        (None, Some(_)) => return Err(Error::parsing("[sub_searches] must be an array")),
        (None, None) => {}
    }
    let leaf = |retriever| WeightedRetriever {
        retriever,
        weight: 1.0,
        normalizer: Normalizer::None,
    };
    let mut children: Vec<WeightedRetriever> = queries
        .into_iter()
        .map(|query| {
            leaf(Retriever::Standard {
                query,
                filter: Vec::new(),
                min_score: None,
                name: None,
            })
        })
        .collect();
    children.extend(knn.iter().cloned().map(|clause| leaf(Retriever::Knn(clause))));
    if children.len() < 2 {
        return Err(Error::validation(&[
            "[rank] requires a minimum of [2] result sets using a combination of sub searches and/or knn searches"
                .to_string(),
        ]));
    }
    Ok(Retriever::Rrf {
        children,
        rank_window_size,
        rank_constant,
        filter: Vec::new(),
        min_score: None,
    })
}

fn usize_value(body: &Map<String, Value>, key: &str) -> Result<Option<usize>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => {
            let number = value
                .as_i64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()));
            match number {
                Some(number) if number >= 0 => Ok(Some(number as usize)),
                Some(number) => Err(Error::illegal_argument(format!(
                    "[{key}] parameter cannot be negative, found [{number}]"
                ))),
                None => Err(Error::x_content(format!(
                    "[1:1] [search] failed to parse field [{key}]"
                ))),
            }
        }
    }
}

/// Parses a `_source` request option.
pub fn parse_source_option(value: &Value) -> Result<Option<SourceFilter>> {
    let list = |value: Option<&Value>| -> Vec<String> {
        match value {
            Some(Value::String(text)) => vec![text.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    match value {
        Value::Bool(false) => Ok(None),
        Value::Bool(true) => Ok(Some(SourceFilter::default())),
        Value::String(_) | Value::Array(_) => Ok(Some(SourceFilter::including(list(Some(value))))),
        Value::Object(object) => Ok(Some(SourceFilter {
            includes: list(object.get("includes").or(object.get("include"))),
            excludes: list(object.get("excludes").or(object.get("exclude"))),
            exclude_vectors: match object.get("exclude_vectors") {
                None | Some(Value::Null) => None,
                Some(Value::Bool(flag)) => Some(*flag),
                Some(other) => {
                    return Err(Error::parsing(format!(
                        "[_source] [exclude_vectors] must be a boolean but was [{other}]"
                    )));
                }
            },
        })),
        other => Err(Error::parsing(format!("[_source] unexpected value [{other}]"))),
    }
}

fn parse_order(value: &Value) -> Result<SortOrder> {
    match value.as_str() {
        Some("asc") => Ok(SortOrder::Asc),
        Some("desc") => Ok(SortOrder::Desc),
        _ => Err(Error::illegal_argument(format!(
            "[sort] order must be [asc] or [desc], got [{value}]"
        ))),
    }
}

fn sort_entry(field: &str, options: Option<&Map<String, Value>>) -> Result<SortField> {
    let order = match options.and_then(|object| object.get("order")) {
        Some(order) => Some(parse_order(order)?),
        None => None,
    };
    Ok(match field {
        "_score" => SortField::Score(order.unwrap_or(SortOrder::Desc)),
        "_doc" => SortField::Doc(order.unwrap_or(SortOrder::Asc)),
        _ => {
            let missing_first =
                options.and_then(|object| object.get("missing")).and_then(Value::as_str) == Some("_first");
            SortField::Field {
                field: field.to_string(),
                order: order.unwrap_or(SortOrder::Asc),
                missing_first,
            }
        }
    })
}

/// Parses `sort` in all ES forms: "f", {"f": "desc"}, {"f": {"order": ..}}, arrays of those.
pub fn parse_sort(value: &Value) -> Result<Vec<SortField>> {
    let items = match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut sort = Vec::new();
    for item in items {
        match item {
            Value::String(spec) => {
                let (field, order) = match spec.split_once(':') {
                    Some((field, order)) => (field.to_string(), Some(Value::String(order.to_string()))),
                    None => (spec.clone(), None),
                };
                let options = order.map(|order| {
                    let mut object = Map::new();
                    object.insert("order".into(), order);
                    object
                });
                sort.push(sort_entry(&field, options.as_ref())?);
            }
            Value::Object(object) => {
                for (field, options) in object {
                    match options {
                        Value::String(_) => {
                            let mut map = Map::new();
                            map.insert("order".into(), options.clone());
                            sort.push(sort_entry(&field, Some(&map))?);
                        }
                        Value::Object(map) => sort.push(sort_entry(&field, Some(&map))?),
                        other => {
                            return Err(Error::parsing(format!(
                                "[sort] unexpected value [{other}] for field [{field}]"
                            )));
                        }
                    }
                }
            }
            other => return Err(Error::parsing(format!("[sort] unexpected value [{other}]"))),
        }
    }
    Ok(sort)
}

impl SearchRequest {
    /// Returns the error ES raises per shard when `from + size` passes the index's window.
    pub fn check_result_window(&self, max_result_window: usize) -> Result<()> {
        if self.from + self.size > max_result_window {
            return Err(Error::illegal_argument(format!(
                "Result window is too large, from + size must be less than or equal to: [{max_result_window}] but was [{}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.",
                self.from + self.size
            )));
        }
        Ok(())
    }

    /// Returns this request restricted by alias filters (ES ORs several), which filter
    /// without changing scores.
    pub fn with_alias_filters(&self, filters: &[QueryAst]) -> SearchRequest {
        let mut scoped = self.clone();
        if filters.is_empty() {
            return scoped;
        }
        let filter = match filters {
            [single] => single.clone(),
            several => QueryAst::Bool {
                must: Vec::new(),
                should: several.to_vec(),
                filter: Vec::new(),
                must_not: Vec::new(),
                minimum_should_match: None,
                boost: 1.0,
            },
        };
        scoped.query = QueryAst::Bool {
            must: vec![self.query.clone()],
            should: Vec::new(),
            filter: vec![filter],
            must_not: Vec::new(),
            minimum_should_match: None,
            boost: 1.0,
        };
        scoped
    }

    /// Builds a request from a search body (already merged with URL parameters).
    pub fn from_body(body: &Value) -> Result<SearchRequest> {
        let empty = Map::new();
        let body = match body {
            Value::Object(object) => object,
            Value::Null => &empty,
            _ => return Err(Error::parsing("request body must be an object")),
        };
        for key in body.keys() {
            if !BODY_KEYS.contains(&key.as_str()) {
                let token = match &body[key] {
                    Value::Object(_) => "START_OBJECT",
                    Value::Array(_) => "START_ARRAY",
                    Value::String(_) => "VALUE_STRING",
                    Value::Number(_) => "VALUE_NUMBER",
                    Value::Bool(_) => "VALUE_BOOLEAN",
                    Value::Null => "VALUE_NULL",
                };
                return Err(Error::parsing(format!("Unknown key for a {token} in [{key}].")));
            }
            if UNSUPPORTED_KEYS.contains(&key.as_str()) {
                return Err(Error::illegal_argument(format!("[{key}] is not supported by Iris yet")));
            }
        }
        let retriever = body
            .get("retriever")
            .map(crate::dsl::retriever::parse_retriever)
            .transpose()?;
        if retriever.is_some() {
            for key in [
                "query",
                "knn",
                "sort",
                "post_filter",
                "search_after",
                "terminate_after",
                "min_score",
            ] {
                if body.contains_key(key) {
                    return Err(Error::illegal_argument(format!(
                        "cannot specify [retriever] and [{key}]"
                    )));
                }
            }
        }
        let knn = match body.get("knn") {
            Some(value) => crate::dsl::knn::parse_top_level_knn(value)?,
            None => Vec::new(),
        };
        let legacy_rank = body.contains_key("rank");
        let retriever = match body.get("rank") {
            Some(rank) if retriever.is_none() => Some(legacy_rank_retriever(body, rank, &knn)?),
            Some(_) => return Err(Error::illegal_argument("cannot specify [retriever] and [rank]")),
            None if body.contains_key("sub_searches") => {
                return Err(Error::illegal_argument("[sub_searches] requires [rank]"));
            }
            None => retriever,
        };
        let knn = if legacy_rank { Vec::new() } else { knn };
        let hybrid = body
            .get("query")
            .and_then(|query| query.get("hybrid"))
            .map(parse_hybrid)
            .transpose()?;
        let query = match body.get("query") {
            Some(_) if hybrid.is_some() => QueryAst::MatchNone,
            Some(query) => parse_query(query)?,
            // With only `knn`, the hits are the kNN results, not every document.
            None if !knn.is_empty() => QueryAst::MatchNone,
            None => QueryAst::MatchAll { boost: 1.0 },
        };
        let post_filter = body.get("post_filter").map(parse_query).transpose()?;
        let from = usize_value(body, "from")?.unwrap_or(0);
        let size = usize_value(body, "size")?.unwrap_or(10);
        let track_total_hits = match body.get("track_total_hits") {
            None => TrackTotalHits::UpTo(10_000),
            Some(Value::Bool(true)) => TrackTotalHits::Exact,
            Some(Value::Bool(false)) => TrackTotalHits::Disabled,
            Some(Value::Number(number)) => match number.as_i64() {
                Some(-1) => TrackTotalHits::Disabled,
                Some(limit) if limit >= 0 => TrackTotalHits::UpTo(limit as u64),
                _ => {
                    return Err(Error::illegal_argument(
                        "[track_total_hits] parameter must be positive or equals to -1",
                    ));
                }
            },
            Some(other) => {
                return Err(Error::parsing(format!("[track_total_hits] unexpected value [{other}]")));
            }
        };
        let source = match body.get("_source") {
            Some(value) => parse_source_option(value)?,
            None => Some(SourceFilter::default()),
        };
        let sort = match body.get("sort") {
            Some(sort) => parse_sort(sort)?,
            None => Vec::new(),
        };
        let search_after = match body.get("search_after") {
            Some(Value::Array(values)) => Some(values.clone()),
            Some(_) => return Err(Error::parsing("[search_after] must be an array")),
            None => None,
        };
        if search_after.is_some() && sort.is_empty() {
            return Err(Error::illegal_argument("[search_after] requires [sort] to be set"));
        }
        let flag = |key: &str| body.get(key).and_then(Value::as_bool).unwrap_or(false);
        Ok(SearchRequest {
            query,
            post_filter,
            from,
            size,
            sort,
            track_total_hits,
            track_scores: flag("track_scores"),
            source,
            min_score: body.get("min_score").and_then(Value::as_f64).map(|score| score as f32),
            explain: flag("explain"),
            version: flag("version"),
            seq_no_primary_term: flag("seq_no_primary_term"),
            aggregations: body.get("aggs").or(body.get("aggregations")).cloned(),
            search_after,
            highlight: body.get("highlight").map(parse_highlight).transpose()?,
            fields: body.get("fields").map(parse_fields).transpose()?.unwrap_or_default(),
            terminate_after: usize_value(body, "terminate_after")?.filter(|limit| *limit > 0),
            knn,
            retriever,
            legacy_rank,
            hybrid,
        })
    }
}
