//! One file per ES API family. Handlers stay thin: extract, convert, call the engine on
//! the blocking pool, shape the answer.

pub mod bulk;
pub mod cat;
pub mod cluster;
pub mod document;
pub mod indices;
pub mod search;

use crate::error::{Error, Result};

/// Runs blocking engine work (tantivy, fsync) off the async threads.
pub async fn blocking<T, F>(work: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| Error::internal(format!("engine task failed: {error}")))?
}

/// The `_shards` header of write responses: ES counts unassigned replicas in `total`.
pub fn shards_header(number_of_replicas: u64, successful: u64) -> serde_json::Value {
    serde_json::json!({"total": 1 + number_of_replicas, "successful": successful, "failed": 0})
}

/// Returns `index.number_of_replicas` of a handle.
pub fn replicas_of(handle: &crate::index::IndexHandle) -> u64 {
    handle
        .state()
        .settings
        .get("number_of_replicas")
        .and_then(|text| text.parse().ok())
        .unwrap_or(1)
}
