//! Runs a [`SearchRequest`] over one or more indices: scoring with tantivy, field sorting
//! (`sort.rs`), totals, and loading `_source` for the returned page only.

use std::sync::Arc;

use serde_json::{Value, json};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, ConstScoreQuery, EnableScoring, Occur, Query};
use tantivy::{DocAddress, Score, Searcher, TantivyDocument};

use super::IndexHandle;
use super::aggs::{self, Aggregations};
use super::hit_extras::HitDecorator;
pub use super::search_target::SearchTarget;
use super::search_target::{scoped_request, top_level_knn};
pub use super::sort::SortValue;
use super::sort::{after_search_after, collect_all, compare_candidates};
use super::to_tantivy::QueryBuilder;
use crate::error::{Error, Result};
use crate::query::{SearchRequest, SortField, TrackTotalHits};

/// One hit before its source is loaded.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    /// Which of the searched targets it is in.
    pub index_position: usize,
    /// Where it is in that target's snapshot.
    pub address: DocAddress,
    pub score: Score,
    pub sort_values: Vec<SortValue>,
}

/// A search's matches before their hits are rendered, over fixed index snapshots.
pub(super) struct Collected {
    /// Every candidate collected, best first (more than the page: `from + size` per index).
    pub candidates: Vec<Candidate>,
    pub total: Option<(u64, &'static str)>,
    pub max_score: Option<f32>,
    pub aggregations: Option<Value>,
    pub terminated_early: Option<bool>,
    /// Per target: the built query (for explain) and the hit decorations.
    pub queries: Vec<Box<dyn Query>>,
    decorators: Vec<HitDecorator>,
}

/// The outcome of a search across indices.
#[derive(Debug)]
pub struct SearchOutcome {
    pub total: Option<(u64, &'static str)>,
    pub max_score: Option<f32>,
    pub hits: Vec<Value>,
    /// ES's `aggregations` object, when the request asked for aggregations.
    pub aggregations: Option<Value>,
    /// With `terminate_after`: whether some index stopped collecting early.
    pub terminated_early: Option<bool>,
}

/// Builds the tantivy query of a request for one index (query AND post_filter).
pub fn build_query(handle: &IndexHandle, request: &SearchRequest, now_millis: i64) -> Result<Box<dyn Query>> {
    let state = handle.state();
    let builder = QueryBuilder {
        state: &state,
        fields: handle.fields(),
        vectors: handle.vectors(),
        now_millis,
    };
    let main = builder.build(&request.query)?;
    let mut query: Box<dyn Query> = main;
    if let Some(post_filter) = &request.post_filter {
        let filter = builder.build(post_filter)?;
        query = Box::new(BooleanQuery::new(vec![
            (Occur::Must, query),
            (Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))),
        ]));
    }
    // Alias filters apply as filters too; resolved by the caller into the request.
    Ok(query)
}

/// Runs `request` over `targets` and returns hits with their sources. Failures specific
/// to one index are reported as ES reports shard failures.
pub fn run_search(targets: &[SearchTarget], request: &SearchRequest, now_millis: i64) -> Result<SearchOutcome> {
    let _running = super::parallel::RunningSearch::start();
    let snapshots: Vec<Searcher> = targets.iter().map(|target| target.handle.searcher()).collect();
    match &request.retriever {
        Some(retriever) => super::retrieve::run_retriever_search(targets, &snapshots, request, retriever, now_millis),
        None => search_snapshots(targets, &snapshots, request, now_millis),
    }
}

/// Runs `request` (without a retriever) on `snapshots`, one per target.
pub(super) fn search_snapshots(
    targets: &[SearchTarget],
    snapshots: &[Searcher],
    request: &SearchRequest,
    now_millis: i64,
) -> Result<SearchOutcome> {
    let collected = collect(targets, snapshots, request, now_millis)?;
    let page: Vec<&Candidate> = collected
        .candidates
        .iter()
        .skip(request.from)
        .take(request.size)
        .collect();
    let hits = render(
        targets,
        snapshots,
        request,
        &page,
        &collected.decorators,
        &collected.queries,
    )?;
    Ok(SearchOutcome {
        total: collected.total,
        max_score: collected.max_score,
        hits,
        aggregations: collected.aggregations,
        terminated_early: collected.terminated_early,
    })
}

/// Finds `request`'s matches in `snapshots` (one per target): the candidates for its page,
/// the total and the aggregations.
pub(super) fn collect(
    targets: &[SearchTarget],
    snapshots: &[Searcher],
    request: &SearchRequest,
    now_millis: i64,
) -> Result<Collected> {
    let handles: Vec<Arc<IndexHandle>> = targets.iter().map(|target| target.handle.clone()).collect();
    let handles = handles.as_slice();
    let needed = request.from + request.size;
    let aggregation_plan = request.aggregations.as_ref().map(Aggregations::parse).transpose()?;
    let mut aggregation_matches = Vec::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut total = 0u64;
    let mut terminated_early = false;
    let mut queries: Vec<Box<dyn Query>> = Vec::with_capacity(handles.len());
    let mut decorators = Vec::with_capacity(handles.len());
    let global_knn = top_level_knn(targets, snapshots, request, now_millis)?;
    for (index_position, target) in targets.iter().enumerate() {
        let handle = &target.handle;
        let shard_failure = |error: Error| Error::search_phase(error, &handle.name());
        let searcher = snapshots[index_position].clone();
        let scoped = scoped_request(target, &searcher, request, &global_knn, index_position, now_millis)
            .map_err(shard_failure)?;
        let request = &scoped;
        request
            .check_result_window(handle.state().settings.max_result_window() as usize)
            .map_err(shard_failure)?;
        let query = build_query(handle, request, now_millis).map_err(shard_failure)?;
        let simple = request.sort.is_empty()
            && request.min_score.is_none()
            && request.search_after.is_none()
            && request.terminate_after.is_none();
        if simple && needed == 0 {
            // `size: 0` (counts and aggregations only): no top documents to collect, and, as in
            // ES, no max_score.
            total += match request.track_total_hits {
                TrackTotalHits::UpTo(cap) => {
                    count_up_to(&searcher, query.as_ref(), cap.saturating_add(1)).map_err(shard_failure)?
                }
                TrackTotalHits::Exact => searcher
                    .search(query.as_ref(), &Count)
                    .map_err(|error| shard_failure(error.into()))? as u64,
                TrackTotalHits::Disabled => 0,
            };
        } else if simple {
            let limit = needed.max(1);
            let (top, count) = match request.track_total_hits {
                // Counting every match would stop tantivy from skipping non-competitive
                // documents; like ES, count exactly only up to the tracking limit.
                TrackTotalHits::UpTo(cap) => {
                    let top = searcher
                        .search(query.as_ref(), &TopDocs::with_limit(limit).order_by_score())
                        .map_err(|error| shard_failure(error.into()))?;
                    let count = count_up_to(&searcher, query.as_ref(), cap.saturating_add(1)).map_err(shard_failure)?;
                    (top, count)
                }
                // Not counting lets tantivy skip documents that cannot make the top.
                TrackTotalHits::Disabled => searcher
                    .search(query.as_ref(), &TopDocs::with_limit(limit).order_by_score())
                    .map(|top| (top, 0))
                    .map_err(|error| shard_failure(error.into()))?,
                TrackTotalHits::Exact => searcher
                    .search(query.as_ref(), &(TopDocs::with_limit(limit).order_by_score(), Count))
                    .map(|(top, count)| (top, count as u64))
                    .map_err(|error| shard_failure(error.into()))?,
            };
            total += count;
            candidates.extend(top.into_iter().map(|(score, address)| Candidate {
                index_position,
                address,
                score,
                sort_values: Vec::new(),
            }));
        } else {
            let mut all =
                collect_all(handle, &searcher, query.as_ref(), request, index_position).map_err(shard_failure)?;
            total += all.len() as u64;
            terminated_early |= request.terminate_after.is_some_and(|limit| all.len() >= limit);
            if let Some(after) = &request.search_after {
                all.retain(|candidate| after_search_after(&request.sort, candidate, after));
            }
            candidates.extend(all);
        }
        if let Some(plan) = &aggregation_plan {
            let matches = aggs::request_matches(plan, handle, &searcher, request, index_position, now_millis)?;
            aggregation_matches.extend(matches);
        }
        handle
            .counters
            .search_total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        decorators.push(HitDecorator::new(handle, &searcher, request, now_millis)?);
        queries.push(query);
    }
    candidates.sort_by(|left, right| compare_candidates(&request.sort, left, right));
    let max_score = if sorted_by_field(request) && !request.track_scores {
        None
    } else {
        candidates.iter().map(|candidate| candidate.score).reduce(f32::max)
    };
    let total = match request.track_total_hits {
        TrackTotalHits::Disabled => None,
        TrackTotalHits::Exact => Some((total, "eq")),
        TrackTotalHits::UpTo(limit) if total > limit => Some((limit, "gte")),
        TrackTotalHits::UpTo(_) => Some((total, "eq")),
    };
    let aggregations = aggregation_plan
        .as_ref()
        .map(|plan| aggs::compute_for_targets(plan, handles, snapshots, &aggregation_matches, now_millis))
        .transpose()?;
    Ok(Collected {
        candidates,
        total,
        max_score,
        aggregations,
        terminated_early: request.terminate_after.map(|_| terminated_early),
        queries,
        decorators,
    })
}

/// Whether hits are ordered by a field rather than by score (their `_score` is then null).
fn sorted_by_field(request: &SearchRequest) -> bool {
    !request.sort.is_empty() && !matches!(request.sort.first(), Some(SortField::Score(_)))
}

/// Renders `page` as ES hits: `_index`, `_id`, `_score`, `_source` and what else `request` asks
/// for. `decorators` and `queries` hold one entry per target, from [`collect`].
pub(super) fn render(
    targets: &[SearchTarget],
    snapshots: &[Searcher],
    request: &SearchRequest,
    page: &[&Candidate],
    decorators: &[HitDecorator],
    queries: &[Box<dyn Query>],
) -> Result<Vec<Value>> {
    let sorted_by_field = sorted_by_field(request);
    let mut hits = Vec::with_capacity(page.len());
    for candidate in page.iter().copied() {
        let handle = &targets[candidate.index_position].handle;
        let searcher = &snapshots[candidate.index_position];
        let document: TantivyDocument = searcher.doc(candidate.address)?;
        let id = handle.id_of(&document);
        let stored = handle.version_of(&document);
        let mut hit = json!({"_index": handle.name(), "_id": id});
        hit["_score"] = if sorted_by_field && !request.track_scores {
            Value::Null
        } else {
            score_json(candidate.score)
        };
        if request.version {
            hit["_version"] = json!(stored.version);
        }
        if request.seq_no_primary_term {
            hit["_seq_no"] = json!(stored.seq_no);
            hit["_primary_term"] = json!(1);
        }
        if let Some(filter) = &request.source {
            hit["_source"] = handle.render_document(&stored, filter)?;
        }
        if !request.sort.is_empty() {
            let values: Vec<Value> = candidate
                .sort_values
                .iter()
                .zip(&request.sort)
                .map(|(value, key)| {
                    let order = match key {
                        SortField::Score(order) | SortField::Doc(order) | SortField::Field { order, .. } => *order,
                    };
                    value.to_json(order)
                })
                .collect();
            hit["sort"] = Value::Array(values);
        }
        if request.explain {
            let explanation = queries[candidate.index_position].explain(searcher, candidate.address)?;
            hit["_shard"] = json!(format!("[{}][0]", handle.name()));
            hit["_node"] = json!(crate::cluster::NODE_ID);
            hit["_explanation"] = explanation_json(&explanation);
        }
        let parsed_source = if HitDecorator::needs_source(request) {
            Some(serde_json::from_slice::<Value>(&handle.full_source(&stored)?)?)
        } else {
            None
        };
        decorators[candidate.index_position].decorate(
            handle,
            searcher,
            candidate.address,
            parsed_source.as_ref(),
            request,
            &mut hit,
        )?;
        hits.push(hit);
    }
    Ok(hits)
}

pub use crate::encoding::shortest_f64;

/// Returns a score as ES prints it.
pub fn score_json(score: f32) -> Value {
    json!(shortest_f64(score))
}

/// Counts live matches without scoring, stopping at `cap`.
fn count_up_to(searcher: &Searcher, query: &dyn Query, cap: u64) -> Result<u64> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut count = 0u64;
    for segment in searcher.segment_readers() {
        if count >= cap {
            break;
        }
        let mut scorer = weight.scorer(segment, 1.0)?;
        let alive = segment.alive_bitset();
        let mut doc = scorer.doc();
        while doc != tantivy::TERMINATED && count < cap {
            if alive.is_none_or(|bits| bits.is_alive(doc)) {
                count += 1;
            }
            doc = scorer.advance();
        }
    }
    Ok(count)
}

/// Converts a tantivy explanation into ES's `{value, description, details}`.
pub fn explanation_json(explanation: &tantivy::query::Explanation) -> Value {
    let raw = serde_json::to_value(explanation).unwrap_or(Value::Null);
    fn convert(value: &Value) -> Value {
        let details: Vec<Value> = value
            .get("details")
            .and_then(Value::as_array)
            .map(|items| items.iter().map(convert).collect())
            .unwrap_or_default();
        // tantivy's values are f32: print them as floats, like the scores.
        let number = value.get("value").and_then(Value::as_f64).unwrap_or(0.0);
        json!({
            "value": shortest_f64(number as f32),
            "description": value.get("description").cloned().unwrap_or(json!("")),
            "details": details
        })
    }
    convert(&raw)
}

/// Counts matches of a query over indices (`_count`); with `terminate_after`, also says
/// whether counting stopped early.
pub fn run_count(targets: &[SearchTarget], request: &SearchRequest, now_millis: i64) -> Result<(u64, Option<bool>)> {
    let mut total = 0u64;
    let mut terminated_early = false;
    for target in targets {
        let handle = &target.handle;
        let searcher = handle.searcher();
        let scoped = scoped_request(target, &searcher, request, &[], 0, now_millis)
            .map_err(|error| Error::search_phase(error, &handle.name()))?;
        let query =
            build_query(handle, &scoped, now_millis).map_err(|error| Error::search_phase(error, &handle.name()))?;
        let count = query.count(&searcher)? as u64;
        match request.terminate_after {
            Some(limit) if count >= limit as u64 => {
                total += limit as u64;
                terminated_early = true;
            }
            _ => total += count,
        }
    }
    Ok((total, request.terminate_after.map(|_| terminated_early)))
}

/// Returns `(id, seq_no)` of every document matching the request's query (by-query APIs).
pub fn matching_ids(handle: &IndexHandle, request: &SearchRequest, now_millis: i64) -> Result<Vec<(String, u64)>> {
    let searcher = handle.searcher();
    let query = build_query(handle, request, now_millis)?;
    let addresses = searcher.search(query.as_ref(), &tantivy::collector::DocSetCollector)?;
    let mut ids = Vec::with_capacity(addresses.len());
    for address in addresses {
        let document: TantivyDocument = searcher.doc(address)?;
        ids.push((handle.id_of(&document), handle.version_of(&document).seq_no));
    }
    Ok(ids)
}

/// What `_explain` found for one document.
pub enum ExplainOutcome {
    Missing,
    NotMatched,
    Matched(Value),
}

/// Explains the score of document `id` for the request's query.
pub fn explain_document(
    handle: &IndexHandle,
    request: &SearchRequest,
    id: &str,
    now_millis: i64,
) -> Result<ExplainOutcome> {
    let searcher = handle.searcher();
    let query = build_query(handle, request, now_millis)?;
    let Some(address) = handle.find_address(&searcher, id)? else {
        return Ok(ExplainOutcome::Missing);
    };
    Ok(match query.explain(&searcher, address) {
        Ok(explanation) => ExplainOutcome::Matched(explanation_json(&explanation)),
        Err(_) => ExplainOutcome::NotMatched,
    })
}
