//! Searches driven by a retriever tree: each leaf's ranked list comes from the ordinary search
//! path, compound nodes fuse their children's lists (`fusion/`), and the requested page of
//! the fused list is loaded like any hit, with the fused `_score`. Totals and aggregations
//! cover every document any leaf matches, as in ES (its rank-docs query keeps the
//! sub-queries for them).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::search::{SearchOutcome, run_search, score_json};
use super::search_target::SearchTarget;
use crate::error::{Error, Result};
use crate::fusion::{self, FusedDoc, RankedList, ScoredDoc};
use crate::query::ast::QueryAst;
use crate::query::request::{SearchRequest, TrackTotalHits};
use crate::query::retriever::{Normalizer, Retriever};

/// A document across the searched indices: (target position, `_id`). Orders like ES's rank
/// docs (shard, then document) for ties.
type Key = (usize, String);

/// ES's default `rank_window_size` (`RankBuilder.DEFAULT_RANK_WINDOW_SIZE`, the default size).
const DEFAULT_RANK_WINDOW_SIZE: usize = 10;

/// Runs a search whose documents come from `retriever`.
pub fn run_retriever_search(
    targets: &[SearchTarget],
    request: &SearchRequest,
    retriever: &Retriever,
    now_millis: i64,
) -> Result<SearchOutcome> {
    let (name, window) = match retriever {
        Retriever::Rrf { rank_window_size, .. } if request.legacy_rank => {
            ("rank", rank_window_size.unwrap_or(DEFAULT_RANK_WINDOW_SIZE))
        }
        Retriever::Rrf { rank_window_size, .. } => ("rrf", rank_window_size.unwrap_or(DEFAULT_RANK_WINDOW_SIZE)),
        Retriever::Linear { rank_window_size, .. } => ("linear", rank_window_size.unwrap_or(DEFAULT_RANK_WINDOW_SIZE)),
        Retriever::Standard { .. } | Retriever::Knn(_) => ("", request.from + request.size),
        Retriever::Fused { window, .. } => ("", (*window).max(request.from + request.size)),
    };
    if !name.is_empty() && request.size > window {
        return Err(Error::validation(&[format!(
            "[{name}] requires [rank_window_size: {window}] be greater than or equal to [size: {}]",
            request.size
        )]));
    }
    let fused = ranked(targets, request, retriever, &[], window, now_millis)?;
    // Totals and aggregations: every document any leaf matches.
    let mut leaves = Vec::new();
    leaf_queries(retriever, &[], &mut leaves);
    let union = SearchRequest {
        query: QueryAst::Bool {
            must: Vec::new(),
            should: leaves,
            filter: Vec::new(),
            must_not: Vec::new(),
            minimum_should_match: None,
            boost: 1.0,
        },
        from: 0,
        size: 0,
        ..leaf_request(request)
    };
    let union = SearchRequest {
        aggregations: request.aggregations.clone(),
        track_total_hits: request.track_total_hits,
        ..union
    };
    let counted = run_search(targets, &union, now_millis)?;
    let page: Vec<&FusedDoc<Key>> = fused.iter().skip(request.from).take(request.size).collect();
    let hits = load_page(targets, request, &page, name, now_millis)?;
    Ok(SearchOutcome {
        total: counted.total,
        max_score: fused.first().map(|doc| doc.score),
        hits,
        aggregations: counted.aggregations,
        terminated_early: None,
    })
}

/// A copy of `request` that only finds documents: no paging, source, aggregations or extras.
fn leaf_request(request: &SearchRequest) -> SearchRequest {
    SearchRequest {
        post_filter: None,
        from: 0,
        sort: Vec::new(),
        track_total_hits: TrackTotalHits::Disabled,
        track_scores: false,
        source: None,
        min_score: None,
        explain: false,
        version: false,
        seq_no_primary_term: false,
        aggregations: None,
        search_after: None,
        highlight: None,
        fields: Vec::new(),
        terminate_after: None,
        knn: Vec::new(),
        retriever: None,
        legacy_rank: false,
        hybrid: None,
        ..request.clone()
    }
}

fn with_filters(query: QueryAst, filters: Vec<QueryAst>) -> QueryAst {
    if filters.is_empty() {
        return query;
    }
    QueryAst::Bool {
        must: vec![query],
        should: Vec::new(),
        filter: filters,
        must_not: Vec::new(),
        minimum_should_match: None,
        boost: 1.0,
    }
}

/// The query each leaf runs (compound filters apply to every leaf below them).
fn leaf_queries(retriever: &Retriever, inherited: &[QueryAst], out: &mut Vec<QueryAst>) {
    match retriever {
        Retriever::Standard { query, filter, .. } => {
            out.push(with_filters(
                query.clone(),
                inherited.iter().chain(filter).cloned().collect(),
            ));
        }
        Retriever::Knn(clause) => {
            let mut clause = clause.clone();
            clause.filter.extend(inherited.iter().cloned());
            out.push(QueryAst::Knn(Box::new(clause)));
        }
        Retriever::Rrf { children, filter, .. } | Retriever::Linear { children, filter, .. } => {
            let inherited: Vec<QueryAst> = inherited.iter().chain(filter).cloned().collect();
            for child in children {
                leaf_queries(&child.retriever, &inherited, out);
            }
        }
        Retriever::Fused { children, .. } => {
            for child in children {
                leaf_queries(child, inherited, out);
            }
        }
    }
}

/// The ranked list of a retriever (its top `window` documents).
fn ranked(
    targets: &[SearchTarget],
    request: &SearchRequest,
    retriever: &Retriever,
    inherited: &[QueryAst],
    window: usize,
    now_millis: i64,
) -> Result<Vec<FusedDoc<Key>>> {
    match retriever {
        Retriever::Standard { .. } | Retriever::Knn(_) => {
            let mut queries = Vec::new();
            leaf_queries(retriever, inherited, &mut queries);
            let leaf = SearchRequest {
                query: queries.pop().expect("a leaf has one query"),
                size: window,
                min_score: match retriever {
                    Retriever::Standard { min_score, .. } => *min_score,
                    _ => None,
                },
                ..leaf_request(request)
            };
            let outcome = run_search(targets, &leaf, now_millis)?;
            let positions: HashMap<String, usize> = targets
                .iter()
                .enumerate()
                .map(|(position, target)| (target.handle.name().to_string(), position))
                .collect();
            Ok(outcome
                .hits
                .iter()
                .filter_map(|hit| {
                    let position = *positions.get(hit["_index"].as_str()?)?;
                    let id = hit["_id"].as_str()?.to_string();
                    let score = hit["_score"].as_f64().unwrap_or(0.0) as f32;
                    Some(FusedDoc {
                        key: (position, id),
                        score,
                        components: Vec::new(),
                    })
                })
                .collect())
        }
        Retriever::Fused {
            children,
            method,
            window: depth,
        } => {
            let window_size = (*depth).max(window);
            let lists = children
                .iter()
                .map(|child| ranked_list(targets, request, child, inherited, window_size, now_millis))
                .collect::<Result<Vec<_>>>()?;
            fusion::fuse(&lists, method).map_err(|error| Error::illegal_argument(error.to_string()))
        }
        Retriever::Rrf {
            children,
            rank_window_size,
            filter,
            ..
        }
        | Retriever::Linear {
            children,
            rank_window_size,
            filter,
        } => {
            let window_size = rank_window_size.unwrap_or(DEFAULT_RANK_WINDOW_SIZE).max(window);
            let inherited: Vec<QueryAst> = inherited.iter().chain(filter).cloned().collect();
            let lists = children
                .iter()
                .map(|child| ranked_list(targets, request, &child.retriever, &inherited, window_size, now_millis))
                .collect::<Result<Vec<_>>>()?;
            let method = compound_method(retriever, lists.len(), window_size);
            fusion::fuse(&lists, &method).map_err(|error| Error::illegal_argument(error.to_string()))
        }
    }
}

/// The fusion an `rrf` or `linear` node asks for, with its children's weights.
fn compound_method(retriever: &Retriever, list_count: usize, window_size: usize) -> fusion::FusionMethod {
    match retriever {
        Retriever::Rrf {
            children,
            rank_constant,
            ..
        } => fusion::FusionMethod::Rrf(
            fusion::rrf::RrfParams::new(list_count, window_size)
                .with_rank_constant(*rank_constant)
                .with_weights(children.iter().map(|child| child.weight).collect()),
        ),
        Retriever::Linear { children, .. } => {
            let components = children
                .iter()
                .map(|child| {
                    fusion::linear::LinearComponent::new(
                        child.weight,
                        match child.normalizer {
                            Normalizer::None => fusion::linear::Normalizer::None,
                            Normalizer::MinMax => fusion::linear::Normalizer::MinMax,
                            Normalizer::L2Norm => fusion::linear::Normalizer::L2Norm,
                        },
                    )
                })
                .collect();
            fusion::FusionMethod::Linear(
                fusion::linear::LinearParams::new(list_count, window_size).with_components(components),
            )
        }
        Retriever::Standard { .. } | Retriever::Knn(_) | Retriever::Fused { .. } => {
            unreachable!("only rrf and linear nodes are compound retrievers with weights")
        }
    }
}

fn ranked_list(
    targets: &[SearchTarget],
    request: &SearchRequest,
    retriever: &Retriever,
    inherited: &[QueryAst],
    window: usize,
    now_millis: i64,
) -> Result<RankedList<Key>> {
    let docs = ranked(targets, request, retriever, inherited, window, now_millis)?;
    Ok(RankedList::new(
        docs.into_iter().map(|doc| ScoredDoc::new(doc.key, doc.score)),
    ))
}

/// Loads the page's documents with the request's `_source`, `fields`, `version`... and gives
/// them their fused scores, in fused order.
fn load_page(
    targets: &[SearchTarget],
    request: &SearchRequest,
    page: &[&FusedDoc<Key>],
    method: &str,
    now_millis: i64,
) -> Result<Vec<Value>> {
    if page.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = page.iter().map(|doc| doc.key.1.clone()).collect();
    let fetch = SearchRequest {
        query: QueryAst::Ids {
            values: ids,
            boost: 1.0,
        },
        post_filter: None,
        from: 0,
        size: page.len() * targets.len(),
        sort: Vec::new(),
        track_total_hits: TrackTotalHits::Disabled,
        min_score: None,
        explain: false,
        aggregations: None,
        search_after: None,
        terminate_after: None,
        knn: Vec::new(),
        retriever: None,
        legacy_rank: false,
        hybrid: None,
        ..request.clone()
    };
    let outcome = run_search(targets, &fetch, now_millis)?;
    let positions: HashMap<String, usize> = targets
        .iter()
        .enumerate()
        .map(|(position, target)| (target.handle.name().to_string(), position))
        .collect();
    let mut loaded: HashMap<Key, Value> = HashMap::new();
    for hit in outcome.hits {
        let (Some(index), Some(id)) = (hit["_index"].as_str(), hit["_id"].as_str()) else {
            continue;
        };
        if let Some(position) = positions.get(index) {
            loaded.insert((*position, id.to_string()), hit.clone());
        }
    }
    let mut hits = Vec::with_capacity(page.len());
    for (offset, doc) in page.iter().enumerate() {
        let Some(mut hit) = loaded.remove(&doc.key) else {
            continue;
        };
        hit["_score"] = score_json(doc.score);
        if request.legacy_rank {
            // The legacy `rank` option reports each hit's 1-based place in the fused list.
            hit["_rank"] = json!(request.from + offset + 1);
        }
        if request.explain {
            hit["_explanation"] = explanation(doc, method, request.from + offset + 1);
        }
        hits.push(hit);
    }
    Ok(hits)
}

/// The fused score's explanation: one detail per child list with its rank, raw score,
/// normalised value, weight and contribution.
fn explanation(doc: &FusedDoc<Key>, method: &str, rank: usize) -> Value {
    let details: Vec<Value> = doc
        .components
        .iter()
        .enumerate()
        .map(|(position, component)| match (component.rank, component.raw_score) {
            (Some(child_rank), Some(raw)) => json!({
                "value": score_json(component.contribution),
                "description": format!(
                    "retriever [{position}]: rank [{child_rank}], score [{raw}], normalized [{}], weight [{}]",
                    component.normalized.map_or("-".to_string(), |value| value.to_string()),
                    component.weight
                ),
                "details": []
            }),
            _ => json!({
                "value": 0.0,
                "description": format!("retriever [{position}]: no match within its rank window"),
                "details": []
            }),
        })
        .collect();
    json!({
        "value": score_json(doc.score),
        "description": format!("{method} score: [{}] for the document ranked [{rank}], the sum of its retrievers' contributions", doc.score),
        "details": details
    })
}
