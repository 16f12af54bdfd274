//! The retriever tree of a search (ES `retriever`, and the legacy `rank.rrf` over `query` +
//! `knn`, which is the same two-leaf RRF): leaves produce ranked lists, compound nodes fuse
//! them (`fusion/`).

use super::ast::{KnnClause, QueryAst};

/// One node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Retriever {
    /// A query's top documents, optionally filtered and cut at `min_score`.
    Standard {
        query: QueryAst,
        filter: Vec<QueryAst>,
        min_score: Option<f32>,
        /// `_name`, which explanations show.
        name: Option<String>,
    },
    /// The top `k` neighbours of a kNN clause.
    Knn(KnnClause),
    /// Reciprocal rank fusion of the children's top `rank_window_size` documents.
    Rrf {
        children: Vec<WeightedRetriever>,
        /// None: the request's `size` (ES's default).
        rank_window_size: Option<usize>,
        rank_constant: u32,
        filter: Vec<QueryAst>,
        /// Fused documents scoring below this are dropped (inclusive bound).
        min_score: Option<f32>,
    },
    /// Weighted sum of the children's normalised scores.
    Linear {
        children: Vec<WeightedRetriever>,
        rank_window_size: Option<usize>,
        filter: Vec<QueryAst>,
        /// Fused documents scoring below this are dropped (inclusive bound).
        min_score: Option<f32>,
    },
    /// OpenSearch `hybrid` query fused by a search pipeline's processor: each sub-query's top
    /// `window` hits (its `pagination_depth`).
    Fused {
        children: Vec<Retriever>,
        method: crate::fusion::FusionMethod,
        window: usize,
    },
}

/// OpenSearch's `hybrid` query, resolved against a search pipeline before it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct HybridQuery {
    pub queries: Vec<QueryAst>,
    pub pagination_depth: Option<usize>,
    pub filter: Option<QueryAst>,
}

/// A child of a compound retriever with its weight (and, for `linear`, its normalizer).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightedRetriever {
    pub retriever: Retriever,
    pub weight: f32,
    pub normalizer: Normalizer,
}

/// Score normalizers of the `linear` retriever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalizer {
    None,
    MinMax,
    L2Norm,
}

/// ES's default `rank_constant`.
pub const DEFAULT_RANK_CONSTANT: u32 = 60;

impl Retriever {
    /// The retriever's `_name` (standard and knn leaves keep theirs).
    pub fn name(&self) -> Option<&str> {
        match self {
            Retriever::Standard { name, .. } => name.as_deref(),
            Retriever::Knn(clause) => clause.name.as_deref(),
            Retriever::Rrf { .. } | Retriever::Linear { .. } | Retriever::Fused { .. } => None,
        }
    }

    /// Every query tree of the tree's standard leaves (they may hold `knn` or `neural`
    /// queries whose vectors need building first).
    pub fn queries_mut(&mut self) -> Vec<&mut QueryAst> {
        match self {
            Retriever::Standard { query, filter, .. } => std::iter::once(query).chain(filter.iter_mut()).collect(),
            Retriever::Knn(_) => Vec::new(),
            Retriever::Rrf { children, .. } | Retriever::Linear { children, .. } => children
                .iter_mut()
                .flat_map(|child| child.retriever.queries_mut())
                .collect(),
            Retriever::Fused { children, .. } => children.iter_mut().flat_map(Retriever::queries_mut).collect(),
        }
    }

    /// Every kNN clause of the tree (their query vectors may need building first).
    pub fn knn_clauses_mut(&mut self) -> Vec<&mut KnnClause> {
        match self {
            Retriever::Standard { .. } => Vec::new(),
            Retriever::Knn(clause) => vec![clause],
            Retriever::Rrf { children, .. } | Retriever::Linear { children, .. } => children
                .iter_mut()
                .flat_map(|child| child.retriever.knn_clauses_mut())
                .collect(),
            Retriever::Fused { children, .. } => children.iter_mut().flat_map(Retriever::knn_clauses_mut).collect(),
        }
    }
}
