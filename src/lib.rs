//! Iris: an Elasticsearch-compatible hybrid image search server.
//!
//! Layers, each converting to the next once: wire JSON (`api`, `dsl`) → validated plan
//! (`query`) → engine (`index`, and later `vector`, `fusion`). HTTP code never touches
//! tantivy.

pub mod analysis;
pub mod api;
pub mod bench;
pub mod cluster;
pub mod config;
pub mod date;
pub mod dsl;
pub mod embed;
pub mod encoding;
pub mod error;
pub mod index;
pub mod query;
pub mod store;
pub mod vector;

use std::sync::Arc;
use std::time::Duration;

use crate::cluster::ClusterInfo;
use crate::config::Config;
use crate::index::IndexRegistry;

/// Everything a request handler may use.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

struct AppInner {
    config: Config,
    registry: IndexRegistry,
    cluster: ClusterInfo,
}

impl AppState {
    /// Opens the data folder (creating it on first start) and every index in it.
    pub fn open(config: Config) -> error::Result<AppState> {
        std::fs::create_dir_all(&config.data)?;
        let registry = IndexRegistry::open(&config.data)?;
        let cluster =
            ClusterInfo::load_or_create(&config.data, &config.cluster_name, &config.node_name, &config.listen)?;
        Ok(AppState {
            inner: Arc::new(AppInner {
                config,
                registry,
                cluster,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn registry(&self) -> &IndexRegistry {
        &self.inner.registry
    }

    pub fn cluster(&self) -> &ClusterInfo {
        &self.inner.cluster
    }

    /// Starts the periodic refresh (ES `index.refresh_interval`) on a blocking thread.
    pub fn start_background_tasks(&self) {
        let state = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(200));
            loop {
                ticker.tick().await;
                let state = state.clone();
                let interval_ms = state.config().refresh_interval_ms;
                let outcome = tokio::task::spawn_blocking(move || state.registry().refresh_due(interval_ms)).await;
                if let Err(error) = outcome {
                    tracing::error!(%error, "refresh task panicked");
                }
            }
        });
    }

    /// Commits every index and stops their writers (graceful shutdown).
    pub fn shutdown(&self) {
        self.inner.registry.shutdown();
    }
}

/// Builds the HTTP application (also used by tests, without a socket).
pub fn app(state: AppState) -> axum::Router {
    api::router(state)
}
