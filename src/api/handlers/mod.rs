//! One file per ES API family. Handlers stay thin: extract, convert, call the engine on
//! the blocking pool, shape the answer.

pub mod bulk;
pub mod cat;
pub mod cluster;
pub mod document;
pub mod indices;
pub mod ingest;
pub mod ml;
pub mod query_vectors;
pub mod search;
pub mod search_pipeline;

use std::sync::Arc;

use crate::AppState;
use crate::api::extract::{Params, PathParams};
use crate::error::{Error, Result};
use crate::index::{IndexHandle, ResolveOptions};

/// Runs blocking engine work (tantivy, fsync) without stalling other connections. On the
/// multi-threaded server runtime the work runs in place and tokio moves this worker's other
/// tasks to another thread: that saves the two thread wake-ups of a blocking-pool hop, a
/// large share of a fast search's latency. A current-thread runtime (tests) cannot do that,
/// so there the work goes to the blocking pool.
pub async fn blocking<T, F>(work: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    if tokio::runtime::Handle::current().runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
        return tokio::task::block_in_place(work);
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| Error::internal(format!("engine task failed: {error}")))?
}

/// `GET` of stored definitions (ingest or search pipelines): `{id: definition}` for the ids or
/// wildcards in the path; an id that matches nothing is ES's 404 with an empty object.
pub fn definitions_reply<T: crate::store::definitions::Definition>(
    store: &crate::store::definitions::DefinitionStore<T>,
    path: &PathParams,
) -> crate::api::response::Reply {
    let pattern = Some(path.get("id")).filter(|id| !id.is_empty());
    let found: serde_json::Map<String, serde_json::Value> = store
        .matching(pattern)
        .into_iter()
        .map(|(id, item)| (id, item.definition().clone()))
        .collect();
    if found.is_empty() && pattern.is_some_and(|pattern| !pattern.contains('*')) {
        return crate::api::response::Reply::json(axum::http::StatusCode::NOT_FOUND, serde_json::json!({}));
    }
    crate::api::response::Reply::ok(serde_json::Value::Object(found))
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

/// Reads `ignore_unavailable`/`allow_no_indices`/`expand_wildcards` like ES.
pub fn resolve_options(params: &Params) -> Result<ResolveOptions> {
    Ok(ResolveOptions {
        ignore_unavailable: params.bool("ignore_unavailable", false)?,
        allow_no_indices: params.bool("allow_no_indices", true)?,
        include_hidden: params
            .get("expand_wildcards")
            .is_some_and(|value| value.contains("all") || value.contains("hidden")),
    })
}

/// Resolves the `{index}` path part (all indices when absent) with the request's options.
pub fn resolve_targets(state: &AppState, path: &PathParams, params: &Params) -> Result<Vec<Arc<IndexHandle>>> {
    let expression = match path.get("index") {
        "" => "_all",
        expression => expression,
    };
    state.registry().resolve(expression, resolve_options(params)?)
}

/// Shard counts of a set of indices: one primary each, replicas never assigned on one node.
pub struct ShardSummary {
    pub primaries: u64,
    pub unassigned: u64,
}

impl ShardSummary {
    pub fn of(handles: &[Arc<IndexHandle>]) -> ShardSummary {
        ShardSummary {
            primaries: handles.len() as u64,
            unassigned: handles.iter().map(|handle| replicas_of(handle)).sum(),
        }
    }

    /// Returns the share of shards that are active, in percent.
    pub fn active_percent(&self) -> f64 {
        let total = self.primaries + self.unassigned;
        if total == 0 {
            100.0
        } else {
            100.0 * self.primaries as f64 / total as f64
        }
    }

    /// Returns ES's health colour: yellow while replicas are unassigned.
    pub fn status(&self) -> &'static str {
        if self.unassigned > 0 { "yellow" } else { "green" }
    }
}
