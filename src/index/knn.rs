//! Answers kNN clauses with the vector engine and puts the results back into the query
//! tree as scored document keys, before any tantivy query is built: one vector search per
//! clause and index, whatever the number of builders (hits, aggregations, highlights).

use std::collections::HashSet;
use std::sync::Arc;

use tantivy::Searcher;
use tantivy::collector::DocSetCollector;
use tantivy::query::{BooleanQuery, Occur, Query};

use super::IndexHandle;
use super::mapping::vector::check_query_vector;
use super::mapping::{FieldType, VectorParams, VectorSimilarity};
use super::to_tantivy::QueryBuilder;
use super::vectors::engine_config;
use crate::error::{Error, ErrorKind, Result};
use crate::query::QueryAst;
use crate::query::ast::{KnnClause, KnnLimit};
use crate::vector::{ScoreFormula, SearchParams, score};

/// ES's default `num_candidates`: `min(1.5·k, 10000)`, at least `k`.
pub fn default_num_candidates(k: usize) -> usize {
    (k + k / 2).clamp(k, crate::dsl::knn::NUM_CANDIDATES_LIMIT)
}

/// OpenSearch's default `ef_search` (`index.knn.algo_param.ef_search`).
const OPENSEARCH_EF_SEARCH: usize = 100;

fn shard_error(reason: String) -> Error {
    Error::new(ErrorKind::QueryShard, reason)
}

/// One kNN hit: document key and `_score` (before the clause's boost).
pub type KnnHit = (u64, f32);

/// Runs one kNN clause on one index. `extra_filters` (alias filters) pre-filter too.
pub fn search_clause(
    handle: &IndexHandle,
    searcher: &Searcher,
    clause: &KnnClause,
    default_k: usize,
    extra_filters: &[QueryAst],
    now_millis: i64,
) -> Result<Vec<KnnHit>> {
    let state = handle.state();
    let Some(field) = state.mapping.field(&clause.field) else {
        // ES answers a kNN search on an unmapped field with no hits.
        return Ok(Vec::new());
    };
    let (FieldType::DenseVector(params) | FieldType::KnnVector(params)) = &field.field_type else {
        return Err(shard_error(format!(
            "failed to create query: [knn] queries are only supported on [dense_vector] fields; field [{}] is of type [{}]",
            clause.field,
            field.field_type.type_name()
        )));
    };
    if !params.indexed {
        return Err(shard_error(format!(
            "failed to create query: [knn] queries are not supported if [index] is disabled for field [{}]",
            clause.field
        )));
    }
    let Some((config, formula)) = engine_config(params) else {
        return Ok(Vec::new());
    };
    let query_dims = if config.element_type == crate::vector::ElementType::Bit {
        clause.query_vector.len() * 8
    } else {
        clause.query_vector.len()
    };
    if query_dims != config.dims {
        return Err(Error::illegal_argument(format!(
            "The query vector has a different number of dimensions [{query_dims}] than the document vectors [{}].",
            config.dims
        )));
    }
    check_query_vector(params, &clause.query_vector).map_err(Error::illegal_argument)?;
    let Some(index) = handle.vectors().field(&clause.field, params)? else {
        return Ok(Vec::new());
    };
    let radial = clause.k.is_none() && matches!(clause.limit, KnnLimit::OsMinScore(_) | KnnLimit::OsMaxDistance(_));
    let k = if radial {
        crate::dsl::knn::NUM_CANDIDATES_LIMIT
    } else {
        clause.k.unwrap_or(default_k).max(1)
    };
    let opensearch = is_opensearch(params);
    let num_candidates = match (clause.num_candidates, clause.ef_search) {
        (Some(num_candidates), _) => num_candidates,
        (None, Some(ef_search)) => ef_search.max(k),
        (None, None) if opensearch => params.ef_search.unwrap_or(OPENSEARCH_EF_SEARCH).max(k),
        (None, None) => default_num_candidates(k),
    };
    let visible = handle.visible_ords();
    let allowed = allowed_keys(handle, searcher, &clause.filter, extra_filters, now_millis)?;
    let filter = allowed.map(|keys| move |key: u64| keys.contains(&key));
    let params_for_search = SearchParams::new(k)
        .with_num_candidates(num_candidates)
        .with_key_limit(visible);
    let neighbors = index
        .search(
            &clause.query_vector,
            &params_for_search,
            filter.as_ref().map(|filter| filter as &dyn Fn(u64) -> bool),
        )
        .map_err(|error| Error::internal(format!("vector search failed: {error}")))?;
    Ok(neighbors
        .into_iter()
        .filter(|neighbor| within_limit(clause.limit, params, formula, neighbor.raw))
        .map(|neighbor| (neighbor.key, score(formula, neighbor.raw)))
        .collect())
}

fn is_opensearch(params: &VectorParams) -> bool {
    matches!(
        params.similarity,
        VectorSimilarity::OsL2
            | VectorSimilarity::OsCosine
            | VectorSimilarity::OsInnerProduct
            | VectorSimilarity::OsL1
            | VectorSimilarity::OsLInf
            | VectorSimilarity::OsHamming
    )
}

/// ES `similarity` is a threshold on the raw similarity (a maximum distance for
/// `l2_norm`); OpenSearch bounds by score or by its space's distance.
fn within_limit(limit: KnnLimit, params: &VectorParams, formula: ScoreFormula, raw: f32) -> bool {
    let is_distance = matches!(
        params.similarity,
        VectorSimilarity::L2Norm
            | VectorSimilarity::OsL2
            | VectorSimilarity::OsL1
            | VectorSimilarity::OsLInf
            | VectorSimilarity::OsHamming
    );
    match limit {
        KnnLimit::None => true,
        KnnLimit::EsSimilarity(threshold) if is_distance => raw <= threshold,
        KnnLimit::EsSimilarity(threshold) => raw >= threshold,
        KnnLimit::OsMinScore(minimum) => score(formula, raw) >= minimum,
        KnnLimit::OsMaxDistance(maximum) => {
            let distance = match params.similarity {
                VectorSimilarity::OsL2 | VectorSimilarity::L2Norm => raw * raw,
                VectorSimilarity::OsCosine | VectorSimilarity::Cosine => 1.0 - raw,
                VectorSimilarity::OsInnerProduct | VectorSimilarity::MaxInnerProduct | VectorSimilarity::DotProduct => {
                    -raw
                }
                VectorSimilarity::OsL1 | VectorSimilarity::OsLInf | VectorSimilarity::OsHamming => raw,
            };
            distance <= maximum
        }
    }
}

/// Returns the keys of documents passing every pre-filter (None: no filter).
fn allowed_keys(
    handle: &IndexHandle,
    searcher: &Searcher,
    filters: &[QueryAst],
    extra_filters: &[QueryAst],
    now_millis: i64,
) -> Result<Option<HashSet<u64>>> {
    if filters.is_empty() && extra_filters.is_empty() {
        return Ok(None);
    }
    let state = handle.state();
    let builder = QueryBuilder {
        state: &state,
        fields: handle.fields(),
        vectors: handle.vectors(),
        now_millis,
    };
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for filter in filters.iter().chain(extra_filters) {
        clauses.push((Occur::Must, builder.build(filter)?));
    }
    let addresses = searcher.search(&BooleanQuery::new(clauses), &DocSetCollector)?;
    let keys = super::columns::document_keys(searcher, addresses)?;
    Ok(Some(keys.into_iter().collect()))
}

/// Replaces every kNN query node of `query` by its results on this index.
pub fn resolve_knn_queries(
    handle: &IndexHandle,
    searcher: &Searcher,
    query: &QueryAst,
    default_k: usize,
    alias_filters: &[QueryAst],
    now_millis: i64,
) -> Result<QueryAst> {
    match query {
        QueryAst::Knn(clause) => {
            // Alias filters pre-filter kNN queries, as they do the top-level kNN option.
            let hits = search_clause(handle, searcher, clause, default_k, alias_filters, now_millis)?;
            Ok(scored_keys(&hits, clause.boost, &clause.field))
        }
        other => other.try_map_children(&mut |child| {
            resolve_knn_queries(handle, searcher, child, default_k, alias_filters, now_millis)
        }),
    }
}

/// A query node holding kNN results.
pub fn scored_keys(hits: &[KnnHit], boost: f32, field: &str) -> QueryAst {
    QueryAst::ScoredKeys {
        scores: Arc::new(hits.iter().copied().collect()),
        boost,
        description: format!("within top k nearest vectors of [{field}]"),
    }
}

/// Returns true when the tree holds a kNN node to resolve.
pub fn has_knn(query: &QueryAst) -> bool {
    let mut found = false;
    query.visit(&mut |node| found |= matches!(node, QueryAst::Knn(_)));
    found
}
