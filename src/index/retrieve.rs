//! Searches driven by a retriever tree: each leaf's ranked list comes from the ordinary search
//! path, compound nodes fuse their children's lists (`fusion/`), and the requested page of
//! the fused list is rendered like any hit, with the fused `_score`. Totals and aggregations
//! cover every document any leaf matches, as in ES (its rank-docs query keeps the
//! sub-queries for them).
//!
//! Every step reads the same index snapshots, so documents are named by their address in the
//! snapshot and no step can see a refresh another did not.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tantivy::{DocAddress, Searcher};

use super::columns::document_keys;
use super::hit_extras::HitDecorator;
use super::parallel::map_parts;
use super::search::{Candidate, Collected, SearchOutcome, collect, explanation_json, render, search_snapshots};
use super::search_target::SearchTarget;
use crate::error::{Error, Result};
use crate::fusion::{self, FusedDoc, RankedList, ScoredDoc};
use crate::query::ast::QueryAst;
use crate::query::request::{SearchRequest, TrackTotalHits};
use crate::query::retriever::{Normalizer, Retriever};

/// A document across the searched indices: (target position, address in its snapshot). Orders
/// like ES's rank docs (shard, then document) for ties.
type Key = (usize, DocAddress);

/// ES's default `rank_window_size` (`RankBuilder.DEFAULT_RANK_WINDOW_SIZE`, the default size).
const DEFAULT_RANK_WINDOW_SIZE: usize = 10;

/// Runs a search whose documents come from `retriever`.
pub fn run_retriever_search(
    targets: &[SearchTarget],
    snapshots: &[Searcher],
    request: &SearchRequest,
    retriever: &Retriever,
    now_millis: i64,
) -> Result<SearchOutcome> {
    let (name, window) = match retriever {
        Retriever::Standard { min_score, .. } => {
            return run_lone_leaf(targets, snapshots, request, retriever, *min_score, now_millis);
        }
        Retriever::Knn(_) => return run_lone_leaf(targets, snapshots, request, retriever, None, now_millis),
        Retriever::Rrf { rank_window_size, .. } if request.legacy_rank => {
            ("rank", rank_window_size.unwrap_or(DEFAULT_RANK_WINDOW_SIZE))
        }
        Retriever::Rrf { rank_window_size, .. } => ("rrf", rank_window_size.unwrap_or(DEFAULT_RANK_WINDOW_SIZE)),
        Retriever::Linear { rank_window_size, .. } => ("linear", rank_window_size.unwrap_or(DEFAULT_RANK_WINDOW_SIZE)),
        Retriever::Fused { window, .. } => ("", (*window).max(request.from + request.size)),
    };
    if !name.is_empty() && request.size > window {
        return Err(Error::validation(&[format!(
            "[{name}] requires [rank_window_size: {window}] be greater than or equal to [size: {}]",
            request.size
        )]));
    }
    let run = Run {
        targets,
        snapshots,
        request,
        now_millis,
    };
    let Ranked {
        docs: fused,
        why,
        matched,
    } = run.ranked(retriever, &[], window)?;
    // With a `min_score` on top, the result set is the fused documents that reach it: the total
    // and the aggregations cover those (where document keys can name them: one index).
    let matched = match retriever {
        Retriever::Rrf { min_score: Some(_), .. } | Retriever::Linear { min_score: Some(_), .. }
            if targets.len() == 1 =>
        {
            vec![QueryAst::ScoredKeys {
                scores: Arc::new(run.document_keys(&fused)?),
                boost: 1.0,
                description: "fused at or above min_score".to_string(),
            }]
        }
        _ => matched,
    };
    // Totals and aggregations: every document any leaf matches.
    let (total, aggregations) =
        if request.track_total_hits == TrackTotalHits::Disabled && request.aggregations.is_none() {
            (None, None)
        } else {
            let union = SearchRequest {
                query: QueryAst::Bool {
                    must: Vec::new(),
                    should: matched,
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
            let counted = collect(targets, snapshots, &union, now_millis)?;
            (counted.total, counted.aggregations)
        };
    let page: Vec<&FusedDoc<Key>> = fused.iter().skip(request.from).take(request.size).collect();
    let hits = render_page(&run, retriever, &page, &why)?;
    Ok(SearchOutcome {
        total,
        max_score: fused.first().map(|doc| doc.score),
        hits,
        aggregations,
        terminated_early: None,
    })
}

/// A lone `standard` or `knn` retriever is the ordinary search it stands for: its own scores,
/// explanations and paging.
fn run_lone_leaf(
    targets: &[SearchTarget],
    snapshots: &[Searcher],
    request: &SearchRequest,
    leaf: &Retriever,
    min_score: Option<f32>,
    now_millis: i64,
) -> Result<SearchOutcome> {
    let mut queries = Vec::new();
    leaf_queries(leaf, &[], &mut queries);
    let plain = SearchRequest {
        query: queries.pop().expect("a leaf has one query"),
        min_score,
        retriever: None,
        ..request.clone()
    };
    search_snapshots(targets, snapshots, &plain, now_millis)
}

/// One retriever search in progress.
struct Run<'a> {
    targets: &'a [SearchTarget],
    /// One per target, read by every step.
    snapshots: &'a [Searcher],
    request: &'a SearchRequest,
    now_millis: i64,
}

/// A retriever's top documents, what explains their scores, and what its leaves match.
struct Ranked {
    docs: Vec<FusedDoc<Key>>,
    why: Why,
    /// What each leaf matches, for the totals and aggregations: the leaf's query, or the keys
    /// of its hits when the leaf's run returned every document it matches (a kNN leaf always
    /// does), so that the union does not search for them again.
    matched: Vec<QueryAst>,
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

impl Run<'_> {
    /// The ranked list of a retriever (its top `window` documents).
    fn ranked(&self, retriever: &Retriever, inherited: &[QueryAst], window: usize) -> Result<Ranked> {
        let (targets, request, now_millis) = (self.targets, self.request, self.now_millis);
        match retriever {
            Retriever::Standard { .. } | Retriever::Knn(_) => {
                let mut queries = Vec::new();
                leaf_queries(retriever, inherited, &mut queries);
                let query = queries.pop().expect("a leaf has one query");
                // One hit more than the window (at least k for kNN): fewer back means the leaf
                // returned every document it matches.
                let size = match retriever {
                    Retriever::Knn(clause) => window.max(clause.k.unwrap_or(0)),
                    _ => window,
                } + 1;
                let leaf = SearchRequest {
                    query: query.clone(),
                    size,
                    min_score: match retriever {
                        Retriever::Standard { min_score, .. } => *min_score,
                        _ => None,
                    },
                    ..leaf_request(request)
                };
                let Collected {
                    candidates, queries, ..
                } = collect(targets, self.snapshots, &leaf, now_millis)?;
                let mut docs: Vec<FusedDoc<Key>> = candidates
                    .into_iter()
                    .take(size)
                    .map(|candidate| FusedDoc {
                        key: (candidate.index_position, candidate.address),
                        score: candidate.score,
                        components: Vec::new(),
                    })
                    .collect();
                // Document keys stand for the leaf only where they name one document each.
                let matched = vec![if docs.len() < size && targets.len() == 1 {
                    QueryAst::ScoredKeys {
                        scores: Arc::new(self.document_keys(&docs)?),
                        boost: 1.0,
                        description: "matched by a retriever".to_string(),
                    }
                } else {
                    query
                }];
                docs.truncate(window);
                let why = if request.explain {
                    Why::Leaf(
                        docs.iter()
                            .filter_map(|doc| {
                                let (position, address) = doc.key;
                                let explained = queries[position].explain(&self.snapshots[position], address).ok()?;
                                Some((doc.key, explanation_json(&explained)))
                            })
                            .collect(),
                    )
                } else {
                    Why::Unknown
                };
                Ok(Ranked { docs, why, matched })
            }
            Retriever::Fused {
                children,
                method,
                window: depth,
            } => {
                let window_size = (*depth).max(window);
                let ranked = self.ranked_children(children.iter().collect(), inherited, window_size)?;
                self.fuse(ranked, method.clone(), vec![None; children.len()])
            }
            Retriever::Rrf {
                children,
                rank_window_size,
                filter,
                min_score,
                ..
            }
            | Retriever::Linear {
                children,
                rank_window_size,
                filter,
                min_score,
            } => {
                let window_size = rank_window_size.unwrap_or(DEFAULT_RANK_WINDOW_SIZE).max(window);
                let inherited: Vec<QueryAst> = inherited.iter().chain(filter).cloned().collect();
                let ranked = self.ranked_children(
                    children.iter().map(|child| &child.retriever).collect(),
                    &inherited,
                    window_size,
                )?;
                let method = compound_method(retriever, ranked.len(), window_size);
                let names = children
                    .iter()
                    .map(|child| child.retriever.name().map(str::to_string))
                    .collect();
                let mut fused = self.fuse(ranked, method, names)?;
                if let Some(min_score) = min_score {
                    fused.docs.retain(|doc| doc.score >= *min_score);
                }
                Ok(fused)
            }
        }
    }

    /// The stable `_ord` keys of `docs` (all in the one searched index), each with score 1.
    fn document_keys(&self, docs: &[FusedDoc<Key>]) -> Result<HashMap<u64, f32>> {
        let keys = document_keys(&self.snapshots[0], docs.iter().map(|doc| doc.key.1))?;
        Ok(keys.into_iter().map(|key| (key, 1.0)).collect())
    }

    /// The children's lists, searched at the same time when cores are idle: a fused request
    /// then costs its slowest part rather than the sum of its parts (`parallel.rs`).
    fn ranked_children(&self, children: Vec<&Retriever>, inherited: &[QueryAst], window: usize) -> Result<Vec<Ranked>> {
        map_parts(&children, |child| self.ranked(child, inherited, window))
    }

    /// Fuses the children's lists, keeping what explains the result when explain is on.
    fn fuse(&self, children: Vec<Ranked>, method: fusion::FusionMethod, names: Vec<Option<String>>) -> Result<Ranked> {
        let mut lists = Vec::with_capacity(children.len());
        let mut whys = Vec::with_capacity(children.len());
        let mut matched = Vec::new();
        for child in children {
            lists.push(RankedList::new(
                child.docs.into_iter().map(|doc| ScoredDoc::new(doc.key, doc.score)),
            ));
            whys.push(child.why);
            matched.extend(child.matched);
        }
        let fused = fusion::fuse(&lists, &method).map_err(|error| Error::illegal_argument(error.to_string()))?;
        let why = if self.request.explain {
            Why::Fused {
                docs: fused.iter().map(|doc| (doc.key, doc.clone())).collect(),
                method,
                children: whys,
                names,
            }
        } else {
            Why::Unknown
        };
        Ok(Ranked {
            docs: fused,
            why,
            matched,
        })
    }
}

/// How a retriever scored the documents of its list, kept for `explain`.
enum Why {
    /// Not asked for.
    Unknown,
    /// A leaf: its query's explanation of each document in its list.
    Leaf(HashMap<Key, Value>),
    /// A fusion: its method, each document's fused result, and its children's reasons.
    Fused {
        method: fusion::FusionMethod,
        docs: HashMap<Key, FusedDoc<Key>>,
        children: Vec<Why>,
        /// Each child's `_name`, which ES's explanations show.
        names: Vec<Option<String>>,
    },
}

impl Why {
    /// The explanation of `key`'s score, worded as ES or OpenSearch words it.
    fn explain(&self, key: &Key) -> Option<Value> {
        match self {
            Why::Unknown => None,
            Why::Leaf(explanations) => explanations.get(key).cloned(),
            Why::Fused {
                method,
                docs,
                children,
                names,
            } => {
                let doc = docs.get(key)?;
                let sources: Vec<Option<Value>> = children.iter().map(|child| child.explain(key)).collect();
                Some(fusion::explain::explain(method, doc, &sources, names))
            }
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

/// Renders the page's documents with the request's `_source`, `fields`, `version`... and their
/// fused scores, in fused order. Named queries and highlights come from the leaves' queries.
fn render_page(run: &Run, retriever: &Retriever, page: &[&FusedDoc<Key>], why: &Why) -> Result<Vec<Value>> {
    let request = run.request;
    if page.is_empty() {
        return Ok(Vec::new());
    }
    let mut leaves = Vec::new();
    leaf_queries(retriever, &[], &mut leaves);
    let decorated = SearchRequest {
        query: QueryAst::Bool {
            must: Vec::new(),
            should: leaves,
            filter: Vec::new(),
            must_not: Vec::new(),
            minimum_should_match: None,
            boost: 1.0,
        },
        explain: false,
        retriever: None,
        ..request.clone()
    };
    let decorators = run
        .targets
        .iter()
        .zip(run.snapshots)
        .map(|(target, snapshot)| HitDecorator::new(&target.handle, snapshot, &decorated, run.now_millis))
        .collect::<Result<Vec<_>>>()?;
    let candidates: Vec<Candidate> = page
        .iter()
        .map(|doc| Candidate {
            index_position: doc.key.0,
            address: doc.key.1,
            score: doc.score,
            sort_values: Vec::new(),
        })
        .collect();
    let candidates: Vec<&Candidate> = candidates.iter().collect();
    let mut hits = render(run.targets, run.snapshots, &decorated, &candidates, &decorators, &[])?;
    for (offset, (hit, doc)) in hits.iter_mut().zip(page).enumerate() {
        if request.legacy_rank {
            // The legacy `rank` option reports each hit's 1-based place in the fused list.
            hit["_rank"] = json!(request.from + offset + 1);
        }
        if let Some(explanation) = why.explain(&doc.key).filter(|_| request.explain) {
            hit["_explanation"] = explanation;
        }
    }
    Ok(hits)
}
