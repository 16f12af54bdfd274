//! Ingest: image sources, pipelines and processors that turn what users send into documents and vectors.

pub mod document;
pub mod execute;
pub mod image_source;
pub mod pipeline;
pub mod store;

use std::sync::Arc;

use serde_json::Value;

use self::document::IngestDocument;
use self::execute::{IngestServices, run_pipeline};
use self::pipeline::Pipeline;
use self::store::PipelineStore;
use crate::error::{Error, ErrorKind, Result};

/// Pipelines by id, in the order a document runs them.
type Chain = Vec<(String, Arc<Pipeline>)>;

/// The ingest side of a server: stored pipelines and what their processors call.
pub struct Ingest {
    pub pipelines: PipelineStore,
    pub services: IngestServices,
}

/// A document on its way into an index.
pub struct PendingDocument {
    pub id: String,
    pub source: Vec<u8>,
    /// The `pipeline` the request named (`_none` for none), else the index default applies.
    pub requested_pipeline: Option<String>,
}

/// The `index.default_pipeline` and `index.final_pipeline` settings of the target index.
#[derive(Debug, Clone, Default)]
pub struct IndexPipelines {
    pub default_pipeline: Option<String>,
    pub final_pipeline: Option<String>,
}

impl IndexPipelines {
    /// Reads `index.default_pipeline` and `index.final_pipeline`.
    pub fn from_settings(settings: &crate::index::settings::IndexSettings) -> IndexPipelines {
        IndexPipelines {
            default_pipeline: settings.get("default_pipeline").map(str::to_string),
            final_pipeline: settings.get("final_pipeline").map(str::to_string),
        }
    }
}

impl Ingest {
    /// The pipelines a document goes through, in order: the requested one (or the index's
    /// default), then the index's final pipeline. `_none` stands for no pipeline.
    fn chain(&self, requested: Option<&str>, index: &IndexPipelines) -> Result<Chain> {
        let first = requested.or(index.default_pipeline.as_deref());
        let mut chain = Vec::new();
        for id in [first, index.final_pipeline.as_deref()].into_iter().flatten() {
            if id == "_none" {
                continue;
            }
            let pipeline = self.pipelines.get(id).ok_or_else(|| {
                Error::new(
                    ErrorKind::IllegalArgument,
                    format!("pipeline with id [{id}] does not exist"),
                )
            })?;
            chain.push((id.to_string(), pipeline));
        }
        Ok(chain)
    }

    /// Whether any document of a request would go through a pipeline.
    pub fn applies(&self, requested: &[Option<String>], index: &IndexPipelines) -> bool {
        index.final_pipeline.as_deref().is_some_and(|id| id != "_none")
            || requested.iter().any(|id| {
                id.as_deref()
                    .or(index.default_pipeline.as_deref())
                    .is_some_and(|id| id != "_none")
            })
    }

    /// Runs each document through its pipelines (documents sharing pipelines in one batch)
    /// and returns its new source, or the error that stops it.
    pub async fn process(
        &self,
        index_name: &str,
        documents: Vec<PendingDocument>,
        index: &IndexPipelines,
    ) -> Vec<Result<Vec<u8>>> {
        let mut results: Vec<Option<Result<Vec<u8>>>> = (0..documents.len()).map(|_| None).collect();
        // Group by pipeline chain so one embedding call serves every document of a group.
        let mut groups: Vec<(Chain, Vec<(usize, IngestDocument)>)> = Vec::new();
        for (position, pending) in documents.into_iter().enumerate() {
            let chain = match self.chain(pending.requested_pipeline.as_deref(), index) {
                Ok(chain) => chain,
                Err(error) => {
                    results[position] = Some(Err(error));
                    continue;
                }
            };
            if chain.is_empty() {
                results[position] = Some(Ok(pending.source));
                continue;
            }
            let source = match serde_json::from_slice::<Value>(&pending.source) {
                Ok(Value::Object(source)) => source,
                Ok(_) => {
                    results[position] = Some(Err(Error::new(
                        ErrorKind::DocumentParsing,
                        "[1:1] failed to parse: the document must be a JSON object",
                    )));
                    continue;
                }
                Err(error) => {
                    results[position] = Some(Err(Error::new(
                        ErrorKind::DocumentParsing,
                        format!("failed to parse: {error}"),
                    )));
                    continue;
                }
            };
            let document = IngestDocument::new(index_name, Some(pending.id), source);
            let ids: Vec<&str> = chain.iter().map(|(id, _)| id.as_str()).collect();
            match groups
                .iter_mut()
                .find(|(existing, _)| existing.iter().map(|(id, _)| id.as_str()).eq(ids.iter().copied()))
            {
                Some((_, members)) => members.push((position, document)),
                None => groups.push((chain, vec![(position, document)])),
            }
        }
        for (chain, members) in groups {
            let (positions, mut documents): (Vec<usize>, Vec<IngestDocument>) = members.into_iter().unzip();
            let mut alive: Vec<usize> = (0..positions.len()).collect();
            for (_, pipeline) in &chain {
                let outcomes = run_pipeline(pipeline, documents, &self.services).await;
                let mut next_alive = Vec::new();
                let mut next_documents = Vec::new();
                for (slot, outcome) in alive.into_iter().zip(outcomes) {
                    match outcome {
                        Ok(document) => {
                            next_alive.push(slot);
                            next_documents.push(document);
                        }
                        Err(error) => results[positions[slot]] = Some(Err(error)),
                    }
                }
                alive = next_alive;
                documents = next_documents;
            }
            for (slot, document) in alive.into_iter().zip(documents) {
                results[positions[slot]] = Some(
                    serde_json::to_vec(&Value::Object(document.source))
                        .map_err(|error| Error::internal(error.to_string())),
                );
            }
        }
        results
            .into_iter()
            .map(|result| result.expect("every document has a result"))
            .collect()
    }
}
