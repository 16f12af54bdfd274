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
pub mod fusion;
pub mod index;
pub mod ingest;
pub mod query;
pub mod store;
pub mod vector;

use std::sync::Arc;
use std::time::Duration;

use crate::cluster::ClusterInfo;
use crate::config::Config;
use crate::embed::SharedEmbedder;
use crate::index::IndexRegistry;
use crate::ingest::Ingest;
use crate::ingest::execute::IngestServices;
use crate::ingest::store::PipelineStore;

/// Everything a request handler may use.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

struct AppInner {
    config: Config,
    registry: IndexRegistry,
    cluster: ClusterInfo,
    ingest: Ingest,
    search_pipelines: fusion::search_pipeline::SearchPipelineStore,
}

impl AppState {
    /// Opens the data folder (creating it on first start) and every index in it, with the
    /// models under `config.models` (read now, loaded on first use).
    pub fn open(config: Config) -> error::Result<AppState> {
        let embedder = embed::registry::ModelRegistry::open(
            &config.models,
            config.onnxruntime.clone(),
            config.inference_threads,
            config.image_fetch.max_pixels,
        )?;
        AppState::open_with_embedder(config, Arc::new(embedder))
    }

    /// Like [`AppState::open`] with a given embedder (unit tests use a fake one).
    pub fn open_with_embedder(config: Config, embedder: SharedEmbedder) -> error::Result<AppState> {
        std::fs::create_dir_all(&config.data)?;
        let registry = IndexRegistry::open(&config.data)?;
        let cluster =
            ClusterInfo::load_or_create(&config.data, &config.cluster_name, &config.node_name, &config.listen)?;
        let fetcher = ingest::image_source::ImageFetcher::new(&config.image_fetch)
            .map_err(|error| error::Error::internal(format!("cannot set up image fetching: {error}")))?;
        let ingest = Ingest {
            pipelines: PipelineStore::open(&config.data, ingest::store::FILE_NAME)?,
            services: IngestServices {
                embedder,
                fetcher: Arc::new(fetcher),
            },
        };
        let search_pipelines =
            fusion::search_pipeline::SearchPipelineStore::open(&config.data, fusion::search_pipeline::FILE_NAME)?;
        Ok(AppState {
            inner: Arc::new(AppInner {
                config,
                registry,
                cluster,
                ingest,
                search_pipelines,
            }),
        })
    }

    /// OpenSearch search pipelines (hybrid query fusion).
    pub fn search_pipelines(&self) -> &fusion::search_pipeline::SearchPipelineStore {
        &self.inner.search_pipelines
    }

    /// Pipelines, models and image fetching.
    pub fn ingest(&self) -> &Ingest {
        &self.inner.ingest
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
