//! The vector search engine: one [`VectorIndex`] per (index, `dense_vector` field), keyed by
//! Iris's stable document key (DocOrd).
//!
//! - `distance.rs`: the kernels (the only simsimd caller), [`Similarity`] and the ES /
//!   OpenSearch `_score` formulas ([`score`]).
//! - `flat.rs`: exact search; `hnsw.rs`: the graph; `quantize.rs`: int8 / binary codes that the
//!   traversal scores before the short list is rescored with exact f32 rows.
//! - `storage.rs`: rows, keys, tombstones and the file helpers; `persist.rs`: the file format;
//!   `layout.rs`: config validation and the stored form of a vector.
//! - `index.rs`: [`VectorIndex`] (locking, inserts, deletes, flush, compaction); `search.rs`:
//!   exact, filtered and graph search with rescoring; `scratch.rs`: per-search buffers.
//!
//! On disk (one folder per field): `vectors-<gen>.f32` (append-only rows), `codes-<gen>.bin` (append-only
//! quantized codes) and `state.bin` (keys, tombstones, quantizer, graph; rewritten atomically
//! at each [`VectorIndex::flush`], checksummed and versioned). Opening reads the graph back;
//! it never rebuilds it.

mod distance;
mod flat;
mod hnsw;
mod index;
mod layout;
mod persist;
mod quantize;
mod scratch;
mod search;
mod storage;

pub use self::distance::{ScoreFormula, Similarity, dot_f32, l1_f32, score, squared_l2_f32};
pub use self::index::{MemoryReport, VectorIndex};

/// How vector values are given and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    Float,
    /// Integers in -128..=127 (ES `element_type: byte`).
    Byte,
    /// Packed bits: `dims` is the number of bits (a multiple of 8) and a vector is given as
    /// `dims / 8` byte values (-128..=255), as ES `element_type: bit` takes them.
    Bit,
}

/// The search structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// Exact search only.
    Flat,
    Hnsw {
        m: usize,
        ef_construction: usize,
    },
}

/// Codes the HNSW traversal scores instead of f32 rows (candidates are rescored exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantization {
    None,
    /// Per-dimension min/max scalar quantization to one byte per dimension.
    Int8,
    /// One sign bit per dimension (a coarse traversal; use a larger `num_candidates`).
    Binary,
}

/// The mapping of one vector field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorFieldConfig {
    pub dims: usize,
    pub similarity: Similarity,
    pub element_type: ElementType,
    pub index: IndexKind,
    pub quantization: Quantization,
}

/// Default of [`SearchParams::exact_filter_threshold`]: ES's switch to exact search.
pub const DEFAULT_EXACT_FILTER_THRESHOLD: usize = 10_000;

/// One kNN search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchParams {
    pub k: usize,
    /// The HNSW beam width (`ef_search`); raised to `k` when smaller.
    pub num_candidates: usize,
    /// A filter that accepts at most this many live vectors is answered by exact search.
    pub exact_filter_threshold: usize,
    /// Forces exact search whatever the index kind.
    pub exact: bool,
    /// Only keys below this are visible (the caller's refresh point): checked on the nodes a
    /// search visits, so it costs nothing like a filter over every row.
    pub key_limit: u64,
}

impl SearchParams {
    /// `k` hits with ES's default `num_candidates = min(1.5·k, 10000)`.
    pub fn new(k: usize) -> SearchParams {
        SearchParams {
            k,
            num_candidates: (k + k / 2).clamp(k, 10_000),
            exact_filter_threshold: DEFAULT_EXACT_FILTER_THRESHOLD,
            exact: false,
            key_limit: u64::MAX,
        }
    }

    pub fn with_num_candidates(self, num_candidates: usize) -> SearchParams {
        SearchParams { num_candidates, ..self }
    }

    pub fn with_key_limit(self, key_limit: u64) -> SearchParams {
        SearchParams { key_limit, ..self }
    }
}

/// One hit, best first in a result list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbor {
    /// The document key given to [`VectorIndex::insert`].
    pub key: u64,
    /// The exact raw similarity or distance, per [`Similarity`] (cosine, dot, L2 distance...);
    /// turn it into a `_score` with [`score`].
    pub raw: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum VectorError {
    #[error("the vector has [{actual}] dimensions, the field expects [{expected}]")]
    DimensionMismatch { expected: usize, actual: usize },
    #[error("the vector has an invalid value: {0}")]
    InvalidValue(String),
    #[error("the [cosine] similarity does not support a zero vector")]
    ZeroVector,
    #[error("invalid vector field configuration: {0}")]
    InvalidConfig(String),
    #[error("vector index files are corrupt: {0}")]
    Corrupt(String),
    #[error("vector index i/o failed: {0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests;
