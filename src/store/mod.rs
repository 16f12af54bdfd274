//! On-disk layout of Iris data and the primitives that make writes durable.
//!
//! ```text
//! <data>/cluster.json                 cluster uuid (written once)
//! <data>/ingest_pipelines.json       ingest pipelines; search_pipelines.json: search pipelines
//! <data>/indices/<uuid>/meta.json     name, settings, mappings, aliases (replaced atomically)
//! <data>/indices/<uuid>/tantivy/      the BM25 index; its commit payload holds the last seq_no
//! <data>/indices/<uuid>/translog.wal  operations acknowledged since the last commit
//! ```

pub mod definitions;
pub mod meta;
pub mod wal;

pub use meta::write_atomic;
pub use wal::{Wal, WalOp, WalRecord};
