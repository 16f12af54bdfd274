//! HTTP-level tests: the app driven in-process, the way clients call it.

#[path = "../common/mod.rs"]
mod common;

mod aggs;
mod cluster;
mod compose;
mod crash;
mod documents;
mod embeddings;
mod errors;
mod fusion;
mod indices;
mod knn;
mod robustness;
mod search;
mod snapshots;
mod spec;
