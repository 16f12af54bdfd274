//! `_search`, `_count`, `_msearch`, `_explain`, `_delete_by_query`, `_update_by_query`.

use std::time::Instant;

use axum::extract::State;
use serde_json::{Map, Value, json};

use super::document::{RefreshPolicy, refresh_policy, run_writes};
use super::{blocking, resolve_options};
use crate::AppState;
use crate::api::extract::{Body, Params, PathParams, parse_json};
use crate::api::response::Reply;
use crate::dsl::parse_query;
use crate::error::{Error, Result};
use crate::index::WriteOp;
use crate::index::search::{ExplainOutcome, SearchTarget, explain_document, matching_ids, run_count, run_search};
use crate::query::SearchRequest;
use crate::query::request::{parse_sort, parse_source_option};

const SEARCH_PARAMS: &[&str] = &[
    "q",
    "df",
    "analyzer",
    "analyze_wildcard",
    "default_operator",
    "lenient",
    "from",
    "size",
    "sort",
    "_source",
    "_source_includes",
    "_source_excludes",
    "_source_exclude_vectors",
    "track_total_hits",
    "search_pipeline",
    "track_scores",
    "timeout",
    "terminate_after",
    "explain",
    "version",
    "seq_no_primary_term",
    "stored_fields",
    "docvalue_fields",
    "allow_no_indices",
    "expand_wildcards",
    "ignore_unavailable",
    "ignore_throttled",
    "preference",
    "routing",
    "search_type",
    "request_cache",
    "allow_partial_search_results",
    "batched_reduce_size",
    "max_concurrent_shard_requests",
    "pre_filter_shard_size",
    "rest_total_hits_as_int",
    "typed_keys",
    "scroll",
    "ccs_minimize_roundtrips",
    "min_score",
    "suggest_field",
    "suggest_mode",
    "suggest_size",
    "suggest_text",
    "include_named_queries_score",
    "force_synthetic_source",
    "stats",
];

/// Merges URL parameters into the body the way ES lets them override it.
fn merge_params(params: &Params, body: Option<Value>) -> Result<Value> {
    let mut body = match body {
        Some(Value::Object(object)) => object,
        Some(_) => return Err(Error::parsing("request body must be an object")),
        None => Map::new(),
    };
    if let Some(text) = params.get("q") {
        // URI search is a query_string query over `df` (default: every field).
        let mut query_string = Map::new();
        query_string.insert("query".into(), json!(text));
        for (param, key) in [
            ("df", "default_field"),
            ("default_operator", "default_operator"),
            ("analyzer", "analyzer"),
        ] {
            if let Some(value) = params.get(param) {
                query_string.insert(key.into(), json!(value));
            }
        }
        if params.contains("lenient") {
            query_string.insert("lenient".into(), json!(params.bool("lenient", false)?));
        }
        body.insert("query".into(), json!({"query_string": query_string}));
    }
    for key in ["from", "size", "terminate_after"] {
        if let Some(number) = params.i64(key)? {
            body.insert(key.into(), json!(number));
        }
    }
    for key in ["explain", "version", "seq_no_primary_term", "track_scores"] {
        if params.contains(key) {
            body.insert(key.into(), json!(params.bool(key, false)?));
        }
    }
    if let Some(value) = params.get("track_total_hits") {
        let parsed = match value {
            "true" | "" => json!(true),
            "false" => json!(false),
            number => json!(number.parse::<i64>().map_err(|_| Error::illegal_argument(format!(
                "Failed to parse int parameter [track_total_hits] with value [{number}]"
            )))?),
        };
        body.insert("track_total_hits".into(), parsed);
    }
    if let Some(sort) = params.get("sort") {
        let specs: Vec<Value> = sort.split(',').map(|spec| Value::String(spec.to_string())).collect();
        parse_sort(&Value::Array(specs.clone()))?;
        body.insert("sort".into(), Value::Array(specs));
    }
    if let Some(source) = params.get("_source") {
        let value = match source {
            "true" | "" => json!(true),
            "false" => json!(false),
            list => json!(list.split(',').collect::<Vec<_>>()),
        };
        parse_source_option(&value)?;
        body.insert("_source".into(), value);
    }
    if params.contains("_source_includes") || params.contains("_source_excludes") {
        body.insert(
            "_source".into(),
            json!({"includes": params.list("_source_includes").unwrap_or_default(), "excludes": params.list("_source_excludes").unwrap_or_default()}),
        );
    }
    if params.contains("_source_exclude_vectors") {
        let exclude = params.bool("_source_exclude_vectors", true)?;
        let source = body.entry("_source").or_insert_with(|| json!({}));
        match source {
            Value::Object(object) => {
                object.insert("exclude_vectors".into(), json!(exclude));
            }
            Value::Bool(true) => *source = json!({"exclude_vectors": exclude}),
            Value::Array(_) | Value::String(_) => {
                *source = json!({"includes": source.clone(), "exclude_vectors": exclude})
            }
            _ => {}
        }
    }
    if let Some(min_score) = params.get("min_score") {
        let parsed: f64 = min_score.parse().map_err(|_| {
            Error::illegal_argument(format!(
                "Failed to parse float parameter [min_score] with value [{min_score}]"
            ))
        })?;
        body.insert("min_score".into(), json!(parsed));
    }
    Ok(Value::Object(body))
}

fn body_has_knn(body: &Body) -> bool {
    // A cheap look before parsing; the body is parsed properly later.
    body.json()
        .ok()
        .flatten()
        .is_some_and(|value| value.get("knn").is_some())
}

/// Resolves a target expression to indices with the alias filters each one must apply.
fn search_targets(state: &AppState, expression: &str, params: &Params) -> Result<Vec<SearchTarget>> {
    let expression = if expression.is_empty() { "_all" } else { expression };
    state
        .registry()
        .resolve_with_alias_filters(expression, resolve_options(params)?)?
        .into_iter()
        .map(|(handle, filters)| {
            let alias_filters = filters.iter().map(parse_query).collect::<Result<Vec<_>>>()?;
            Ok(SearchTarget { handle, alias_filters })
        })
        .collect()
}

/// Runs one search and shapes the ES response body.
async fn execute(
    state: &AppState,
    targets: Vec<SearchTarget>,
    body: Value,
    rest_total_hits_as_int: bool,
    search_pipeline: Option<&str>,
) -> Result<Value> {
    let started = Instant::now();
    let mut request = SearchRequest::from_body(&body).map_err(|error| wrap_for_search(error, &targets))?;
    apply_search_pipeline(state, &targets, &mut request, search_pipeline)?;
    super::query_vectors::resolve(state, &mut request).await?;
    let shard_count = targets.len();
    let outcome = blocking(move || run_search(&targets, &request, chrono::Utc::now().timestamp_millis())).await?;
    let mut hits = Map::new();
    if let Some((value, relation)) = outcome.total {
        hits.insert(
            "total".into(),
            if rest_total_hits_as_int {
                json!(value)
            } else {
                json!({"value": value, "relation": relation})
            },
        );
    }
    hits.insert(
        "max_score".into(),
        outcome.max_score.map_or(Value::Null, crate::index::search::score_json),
    );
    hits.insert("hits".into(), Value::Array(outcome.hits));
    let mut response = json!({
        "took": started.elapsed().as_millis() as u64,
        "timed_out": false,
        "_shards": {"total": shard_count, "successful": shard_count, "skipped": 0, "failed": 0},
        "hits": Value::Object(hits)
    });
    if let Some(terminated_early) = outcome.terminated_early {
        response["terminated_early"] = json!(terminated_early);
    }
    if let Some(aggregations) = outcome.aggregations {
        response["aggregations"] = aggregations;
    }
    Ok(response)
}

/// Query-parse failures on a good JSON body are reported as ES does: as-is for parsing
/// errors (they happen before the shards), wrapped for shard-level failures.
/// Turns an OpenSearch `hybrid` query into a fused retriever with the search pipeline's
/// processor: the `search_pipeline` parameter, else the targets' `index.search.default_pipeline`.
fn apply_search_pipeline(
    state: &AppState,
    targets: &[SearchTarget],
    request: &mut SearchRequest,
    requested: Option<&str>,
) -> Result<()> {
    let Some(hybrid) = request.hybrid.take() else {
        return Ok(());
    };
    let default_pipeline = targets.iter().find_map(|target| {
        target
            .handle
            .state()
            .settings
            .get("search.default_pipeline")
            .map(str::to_string)
    });
    let pipeline_id = requested
        .map(str::to_string)
        .or(default_pipeline)
        .filter(|id| id != "_none");
    let pipeline = match &pipeline_id {
        Some(id) => Some(
            state
                .search_pipelines()
                .get(id)
                .ok_or_else(|| Error::illegal_argument(format!("Pipeline {id} is not defined")))?,
        ),
        None => None,
    };
    let Some(method) = pipeline.and_then(|pipeline| pipeline.fusion.clone()) else {
        return Err(Error::illegal_argument(
            "[hybrid] query needs a search pipeline with a normalization-processor or score-ranker-processor: set [search_pipeline] or index.search.default_pipeline",
        ));
    };
    let filter: Vec<crate::query::QueryAst> = hybrid.filter.into_iter().collect();
    let children = hybrid
        .queries
        .into_iter()
        .map(|query| crate::query::retriever::Retriever::Standard {
            query,
            filter: filter.clone(),
            min_score: None,
            name: None,
        })
        .collect();
    request.retriever = Some(crate::query::retriever::Retriever::Fused {
        children,
        method,
        window: hybrid.pagination_depth.unwrap_or(request.from + request.size),
    });
    Ok(())
}

fn wrap_for_search(error: Error, targets: &[SearchTarget]) -> Error {
    match error.kind {
        crate::error::ErrorKind::QueryShard => {
            let name = targets.first().map(|target| target.handle.name()).unwrap_or_default();
            Error::search_phase(error, &name)
        }
        _ => error,
    }
}

pub async fn search(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(SEARCH_PARAMS)?;
    if params.contains("search_type") && body_has_knn(&body) {
        return Err(Error::illegal_argument(
            "cannot set [search_type] when using [knn] search, since the search type is determined automatically",
        ));
    }
    if params.contains("scroll") {
        return Err(Error::illegal_argument(
            "[scroll] is not supported by Iris; use [search_after]",
        ));
    }
    let targets = search_targets(&state, path.get("index"), &params)?;
    let body = merge_params(&params, body.json()?)?;
    let response = execute(
        &state,
        targets,
        body,
        params.bool("rest_total_hits_as_int", false)?,
        params.get("search_pipeline"),
    )
    .await?;
    Ok(Reply::ok(response))
}

pub async fn count(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&[
        "q",
        "df",
        "analyzer",
        "analyze_wildcard",
        "default_operator",
        "lenient",
        "allow_no_indices",
        "expand_wildcards",
        "ignore_unavailable",
        "ignore_throttled",
        "min_score",
        "preference",
        "routing",
        "terminate_after",
    ])?;
    let targets = search_targets(&state, path.get("index"), &params)?;
    let body = body.json()?.unwrap_or_else(|| json!({}));
    if let Value::Object(object) = &body {
        for key in object.keys() {
            if key != "query" {
                return Err(Error::parsing(format!("request does not support [{key}]")));
            }
        }
    }
    let body = merge_params(&params, Some(body))?;
    let mut request = SearchRequest::from_body(&body)?;
    super::query_vectors::resolve(&state, &mut request).await?;
    let shard_count = targets.len();
    let (total, terminated_early) =
        blocking(move || run_count(&targets, &request, chrono::Utc::now().timestamp_millis())).await?;
    let mut response = json!({"count": total});
    if let Some(terminated_early) = terminated_early {
        response["terminated_early"] = json!(terminated_early);
    }
    response["_shards"] = json!({"total": shard_count, "successful": shard_count, "skipped": 0, "failed": 0});
    Ok(Reply::ok(response))
}

pub async fn msearch(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&[
        "ccs_minimize_roundtrips",
        "max_concurrent_searches",
        "max_concurrent_shard_requests",
        "pre_filter_shard_size",
        "rest_total_hits_as_int",
        "search_type",
        "typed_keys",
        "allow_no_indices",
        "expand_wildcards",
        "ignore_unavailable",
        "ignore_throttled",
        "routing",
    ])?;
    let started = Instant::now();
    let lines: Vec<&[u8]> = body
        .0
        .split(|byte| *byte == b'\n')
        .filter(|line| !line.iter().all(u8::is_ascii_whitespace))
        .collect();
    if lines.is_empty() {
        return Err(Error::validation(&["no requests added".to_string()]));
    }
    let mut responses = Vec::new();
    for pair in lines.chunks(2) {
        let header = parse_json(pair[0])?;
        let Some(search_body) = pair.get(1) else {
            return Err(Error::illegal_argument(
                "[msearch] a search body is required after each header line",
            ));
        };
        let search_body = parse_json(search_body)?;
        let index = match header.get("index") {
            Some(Value::String(index)) => index.clone(),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
            _ => path.get("index").to_string(),
        };
        let index = if index.is_empty() { "_all".to_string() } else { index };
        let outcome = match search_targets(&state, &index, &Params::default()) {
            Ok(targets) => {
                execute(
                    &state,
                    targets,
                    search_body,
                    params.bool("rest_total_hits_as_int", false)?,
                    header.get("search_pipeline").and_then(Value::as_str),
                )
                .await
            }
            Err(error) => Err(error),
        };
        responses.push(match outcome {
            Ok(mut response) => {
                response["status"] = json!(200);
                response
            }
            Err(error) => {
                let mut envelope = error.to_envelope();
                envelope["status"] = json!(error.status());
                envelope
            }
        });
    }
    Ok(Reply::ok(
        json!({"took": started.elapsed().as_millis() as u64, "responses": responses}),
    ))
}

pub async fn explain(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&[
        "analyzer",
        "analyze_wildcard",
        "default_operator",
        "df",
        "lenient",
        "preference",
        "q",
        "routing",
        "_source",
        "_source_excludes",
        "_source_exclude_vectors",
        "_source_includes",
        "stored_fields",
    ])?;
    let index = path.get("index").to_string();
    let id = path.get("id").to_string();
    let handle = state
        .registry()
        .get(&index)
        .ok_or_else(|| Error::index_not_found(&index))?;
    let body = body.required_json()?;
    let mut request = SearchRequest::from_body(&body)?;
    super::query_vectors::resolve(&state, &mut request).await?;
    let outcome = {
        let handle = handle.clone();
        let id = id.clone();
        blocking(move || explain_document(&handle, &request, &id, chrono::Utc::now().timestamp_millis())).await?
    };
    let response = match outcome {
        ExplainOutcome::Missing => {
            let body = json!({"_index": handle.name(), "_id": id, "matched": false});
            return Ok(Reply::json(axum::http::StatusCode::NOT_FOUND, body));
        }
        ExplainOutcome::NotMatched => {
            json!({"_index": handle.name(), "_id": id, "matched": false, "explanation": {"value": 0.0, "description": "no matching term", "details": []}})
        }
        ExplainOutcome::Matched(explanation) => {
            json!({"_index": handle.name(), "_id": id, "matched": true, "explanation": explanation})
        }
    };
    Ok(Reply::ok(response))
}

/// Collects the ids matching a by-query request.
async fn ids_matching(target: SearchTarget, body: Value) -> Result<Vec<(String, u64)>> {
    let mut body = match body {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    body.retain(|key, _| key == "query");
    body.insert("size".into(), json!(0));
    let request = SearchRequest::from_body(&Value::Object(body))?.with_alias_filters(&target.alias_filters);
    blocking(move || matching_ids(&target.handle, &request, chrono::Utc::now().timestamp_millis())).await
}

async fn by_query(state: AppState, path: PathParams, params: Params, body: Body, delete: bool) -> Result<Reply> {
    params.check_allowed(&[
        "conflicts",
        "refresh",
        "wait_for_completion",
        "slices",
        "scroll_size",
        "requests_per_second",
        "timeout",
        "max_docs",
        "allow_no_indices",
        "expand_wildcards",
        "ignore_unavailable",
        "q",
        "df",
        "analyzer",
        "default_operator",
        "lenient",
        "routing",
        "pipeline",
        "search_type",
        "wait_for_active_shards",
        "from",
        "preference",
    ])?;
    let started = Instant::now();
    let body = body.json()?.unwrap_or_else(|| json!({}));
    if body.get("script").is_some() {
        return Err(Error::illegal_argument("scripts are not supported by Iris"));
    }
    let proceed_on_conflict =
        params.get("conflicts") == Some("proceed") || body.get("conflicts").and_then(Value::as_str) == Some("proceed");
    let refresh = if params.bool("refresh", false)? {
        RefreshPolicy::Immediate
    } else {
        refresh_policy(&Params::default())?
    };
    let targets = search_targets(&state, path.get("index"), &params)?;
    let mut total = 0u64;
    let mut changed = 0u64;
    let mut conflicts = 0u64;
    let mut failures = Vec::new();
    for target in targets {
        let handle = target.handle.clone();
        let ids = ids_matching(target, body.clone()).await?;
        total += ids.len() as u64;
        let ops: Vec<WriteOp> = ids
            .into_iter()
            .map(|(id, seq_no)| {
                if delete {
                    WriteOp::Delete {
                        id,
                        if_seq_no: Some(seq_no),
                        if_primary_term: Some(1),
                    }
                } else {
                    WriteOp::Update {
                        id,
                        doc: Some(Map::new()),
                        upsert: None,
                        doc_as_upsert: false,
                        detect_noop: false,
                        if_seq_no: Some(seq_no),
                        if_primary_term: Some(1),
                    }
                }
            })
            .collect();
        for result in run_writes(handle.clone(), ops, refresh).await? {
            match result {
                Ok(_) => changed += 1,
                Err(error) if error.kind == crate::error::ErrorKind::VersionConflict => {
                    conflicts += 1;
                    if !proceed_on_conflict {
                        failures.push(json!({"index": handle.name(), "status": 409, "cause": error.to_body_object()}));
                    }
                }
                Err(error) => failures
                    .push(json!({"index": handle.name(), "status": error.status(), "cause": error.to_body_object()})),
            }
        }
    }
    let mut response = json!({
        "took": started.elapsed().as_millis() as u64,
        "timed_out": false,
        "total": total,
        "updated": changed,
        "deleted": if delete { changed } else { 0 },
        "batches": u64::from(total > 0),
        "version_conflicts": conflicts,
        "noops": 0,
        "retries": {"bulk": 0, "search": 0},
        "throttled_millis": 0,
        "requests_per_second": -1.0,
        "throttled_until_millis": 0,
        "failures": failures
    });
    // ES's delete_by_query leaves out `updated` (and both leave out `created`).
    if delete && let Some(object) = response.as_object_mut() {
        object.remove("updated");
    }
    let status = if response["failures"]
        .as_array()
        .is_some_and(|failures| !failures.is_empty())
    {
        axum::http::StatusCode::CONFLICT
    } else {
        axum::http::StatusCode::OK
    };
    Ok(Reply::json(status, response))
}

pub async fn delete_by_query(
    State(state): State<AppState>,
    path: PathParams,
    params: Params,
    body: Body,
) -> Result<Reply> {
    by_query(state, path, params, body, true).await
}

pub async fn update_by_query(
    State(state): State<AppState>,
    path: PathParams,
    params: Params,
    body: Body,
) -> Result<Reply> {
    by_query(state, path, params, body, false).await
}
