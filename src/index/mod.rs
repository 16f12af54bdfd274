//! The embedded storage engine: indices on local disk, BM25 via tantivy, realtime
//! document access and durability via a write-ahead log.

pub mod aggs;
pub mod bm25;
pub mod boosting;
pub mod columns;
pub mod document;
pub mod handle;
pub mod hit_extras;
pub mod knn;
pub mod knn_query;
pub mod mapping;
pub mod meta;
pub mod names;
mod parallel;
pub mod registry;
pub mod retrieve;
pub mod schema;
pub mod script_score;
pub mod search;
pub mod search_target;
pub mod settings;
mod sort;
pub mod source_filter;
pub mod tantivy_doc;
pub mod to_tantivy;
pub mod vector_source;
pub mod vectors;

pub use handle::{IndexHandle, WriteOp, WriteOutcome, WriteResult};
pub use registry::{IndexRegistry, ResolveOptions};
