//! Built-in embedding models: images and texts in, vectors out.
//!
//! A model is a folder under `models/` with a `manifest.json` (see `manifest.rs` and
//! `models/README.md`): its ONNX files, their inputs and outputs, preprocessing constants and
//! tokenizer, and the *endpoints* it offers. An endpoint is what users name as `model_id`
//! (ES `inference` processor, `query_vector_builder`, OpenSearch `neural`): one output vector
//! space, reachable from images, from texts, or from both (a two-tower model such as CLIP, or
//! an image tower bridged into a text model's space).
//!
//! The rest of Iris sees only the [`Embedder`] trait: the ONNX implementation
//! ([`ModelRegistry`]) in production, [`fake::FakeEmbedder`] in unit tests.

pub mod fake;
pub mod manifest;
pub mod onnx;
pub mod output_cache;
pub mod pooling;
pub mod preprocess;
#[cfg(test)]
mod real_model_tests;
pub mod registry;
pub mod resample;
pub mod tokenize;

pub use self::registry::ModelRegistry;

use std::sync::Arc;

/// One thing to embed. Images arrive as encoded bytes (JPEG, PNG...); fetching URLs and
/// reading files happens before the embedder (`ingest/image_source.rs`).
#[derive(Debug, Clone, PartialEq)]
pub enum EmbedInput {
    Text(String),
    Image(Arc<Vec<u8>>),
}

impl EmbedInput {
    pub fn kind(&self) -> InputKind {
        match self {
            EmbedInput::Text(_) => InputKind::Text,
            EmbedInput::Image(_) => InputKind::Image,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Text,
    Image,
}

impl InputKind {
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Text => "text",
            InputKind::Image => "image",
        }
    }
}

/// What `GET _ml/trained_models` and OpenSearch's model API report about an endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    /// The `model_id` users write.
    pub id: String,
    pub description: String,
    /// Output dimensions.
    pub dims: usize,
    pub accepts_text: bool,
    pub accepts_image: bool,
    /// Whether output vectors are unit length (cosine and dot_product fields both work).
    pub normalized: bool,
    pub license: String,
    /// The model folder the endpoint comes from.
    pub model_folder: String,
}

impl ModelInfo {
    pub fn accepts(&self, kind: InputKind) -> bool {
        match kind {
            InputKind::Text => self.accepts_text,
            InputKind::Image => self.accepts_image,
        }
    }
}

/// Why an embedding failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmbedError {
    /// No endpoint has this id.
    #[error("Could not find trained model [{0}]")]
    UnknownModel(String),
    /// The endpoint does not take this kind of input.
    #[error("model [{model}] does not accept {kind} input")]
    UnsupportedInput { model: String, kind: &'static str },
    /// A model file or the ONNX Runtime library is missing or unusable; the message says
    /// which file and how to get it.
    #[error("{0}")]
    ModelUnavailable(String),
    /// One image could not be decoded (corrupt, unsupported format, too many pixels...).
    #[error("{0}")]
    BadImage(String),
    /// Inference itself failed.
    #[error("inference failed: {0}")]
    Inference(String),
}

/// Embeds batches of inputs with a named endpoint.
pub trait Embedder: Send + Sync {
    /// Every endpoint, sorted by id.
    fn models(&self) -> Vec<ModelInfo>;

    /// The endpoint `model_id`, or [`EmbedError::UnknownModel`].
    fn model(&self, model_id: &str) -> Result<ModelInfo, EmbedError> {
        self.models()
            .into_iter()
            .find(|info| info.id == model_id)
            .ok_or_else(|| EmbedError::UnknownModel(model_id.to_string()))
    }

    /// Embeds `inputs` in one batch (texts and images may be mixed). The outer error fails
    /// the whole call (unknown model, model files missing); an inner error fails that input
    /// only (a corrupt image), so one bad document never sinks the rest of a bulk request.
    /// Blocking: call it off the async threads.
    fn embed(&self, model_id: &str, inputs: &[EmbedInput]) -> Result<Vec<Result<Vec<f32>, EmbedError>>, EmbedError>;
}

/// The shared embedder of a server.
pub type SharedEmbedder = Arc<dyn Embedder>;
