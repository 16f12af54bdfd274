//! HTTP-level tests: the app driven in-process, the way clients call it.

#[path = "../common/mod.rs"]
mod common;

mod cluster;
mod compose;
mod crash;
mod documents;
mod errors;
mod robustness;
mod indices;
mod search;
mod spec;
