//! What one index runs of a search: the target index with its alias filters, the global
//! top-level kNN results split per index, and the request scoped to that index.

use std::sync::Arc;

use tantivy::Searcher;

use super::{IndexHandle, knn};
use crate::error::{Error, Result};
use crate::query::{QueryAst, SearchRequest};

/// Returns, per top-level kNN clause, the global top-k hits split by target index. Several
/// clauses are searched at the same time when cores are idle.
pub(super) fn top_level_knn(
    targets: &[SearchTarget],
    snapshots: &[Searcher],
    request: &SearchRequest,
    now_millis: i64,
) -> Result<Vec<Vec<Vec<knn::KnnHit>>>> {
    super::parallel::map_parts(&request.knn, |clause| {
        clause_top_k(targets, snapshots, request, clause, now_millis)
    })
}

/// One clause's global top-k hits, split by target index.
fn clause_top_k(
    targets: &[SearchTarget],
    snapshots: &[Searcher],
    request: &SearchRequest,
    clause: &crate::query::ast::KnnClause,
    now_millis: i64,
) -> Result<Vec<Vec<knn::KnnHit>>> {
    let k = clause.k.unwrap_or(request.size).max(1);
    crate::dsl::knn::validate_limits(
        k,
        clause.num_candidates.unwrap_or_else(|| knn::default_num_candidates(k)),
    )?;
    let mut merged: Vec<(usize, knn::KnnHit)> = Vec::new();
    for (position, target) in targets.iter().enumerate() {
        let hits = knn::search_clause(
            &target.handle,
            &snapshots[position],
            clause,
            k,
            &target.alias_filters,
            now_millis,
        )
        .map_err(|error| Error::search_phase(error, &target.handle.name()))?;
        merged.extend(hits.into_iter().map(|hit| (position, hit)));
    }
    merged.sort_by(|left, right| right.1.1.total_cmp(&left.1.1));
    merged.truncate(k);
    let mut split = vec![Vec::new(); targets.len()];
    for (position, hit) in merged {
        split[position].push(hit);
    }
    Ok(split)
}

/// Returns the request as one index runs it: alias filters applied, kNN queries resolved
/// on this index, and the global top-level kNN hits added to the query's score (ES sums
/// them, each with its boost).
pub(super) fn scoped_request(
    target: &SearchTarget,
    searcher: &Searcher,
    request: &SearchRequest,
    global_knn: &[Vec<Vec<knn::KnnHit>>],
    position: usize,
    now_millis: i64,
) -> Result<SearchRequest> {
    let mut scoped = request.with_alias_filters(&target.alias_filters);
    if knn::has_knn(&scoped.query) {
        scoped.query = knn::resolve_knn_queries(
            &target.handle,
            searcher,
            &scoped.query,
            request.size.max(1),
            &target.alias_filters,
            now_millis,
        )?;
    }
    if !request.knn.is_empty() {
        let mut should = vec![scoped.query.clone()];
        for (clause, hits) in request.knn.iter().zip(global_knn) {
            let keys = knn::scored_keys(&hits[position], clause.boost, &clause.field);
            should.push(match &clause.name {
                Some(name) => QueryAst::Named {
                    name: name.clone(),
                    query: Box::new(keys),
                },
                None => keys,
            });
        }
        scoped.query = QueryAst::Bool {
            must: Vec::new(),
            should,
            filter: Vec::new(),
            must_not: Vec::new(),
            minimum_should_match: None,
            boost: 1.0,
        };
    }
    Ok(scoped)
}

/// One index of a search and the alias filters that restrict it there.
#[derive(Clone)]
pub struct SearchTarget {
    pub handle: Arc<IndexHandle>,
    pub alias_filters: Vec<QueryAst>,
}

impl SearchTarget {
    /// A target searched directly, without alias filters.
    pub fn unfiltered(handle: Arc<IndexHandle>) -> SearchTarget {
        SearchTarget {
            handle,
            alias_filters: Vec::new(),
        }
    }
}
