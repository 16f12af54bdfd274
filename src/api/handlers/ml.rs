//! The built-in embedding models as ES (`_ml/trained_models`) and OpenSearch
//! (`_plugins/_ml/models`) list them.

use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::extract::{Params, PathParams};
use crate::api::response::Reply;
use crate::embed::ModelInfo;
use crate::error::{Error, ErrorKind, Result};

fn trained_model_config(model: &ModelInfo) -> Value {
    let mut inputs = Vec::new();
    if model.accepts_image {
        inputs.push("image");
    }
    if model.accepts_text {
        inputs.push("text");
    }
    json!({
        "model_id": model.id,
        "model_type": "pytorch",
        "created_by": "iris",
        "version": "12.0.0",
        "create_time": 0,
        "description": model.description,
        "license_level": "basic",
        "tags": ["built-in"],
        "input": {"field_names": ["text_field"]},
        "inference_config": {"text_embedding": {"embedding_size": model.dims}},
        "fully_defined": true,
        "iris": {
            "inputs": inputs,
            "dims": model.dims,
            "normalized": model.normalized,
            "license": model.license,
            "model_folder": model.model_folder
        }
    })
}

/// `GET _ml/trained_models[/{model_id}]`: ids may be comma lists and wildcards.
pub async fn trained_models(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&[
        "allow_no_match",
        "decompress_definition",
        "exclude_generated",
        "from",
        "size",
        "include",
        "tags",
    ])?;
    let pattern = Some(path.get("model_id")).filter(|id| !id.is_empty() && *id != "_all" && *id != "*");
    let models = state.ingest().services.embedder.models();
    let found: Vec<Value> = models
        .iter()
        .filter(|model| {
            pattern.is_none_or(|pattern| {
                pattern
                    .split(',')
                    .any(|part| wildmatch::WildMatch::new(part.trim()).matches(&model.id))
            })
        })
        .map(trained_model_config)
        .collect();
    if found.is_empty()
        && let Some(pattern) = pattern
    {
        return Err(Error::new(
            ErrorKind::ResourceNotFound,
            format!("No known trained model with model_id [{pattern}]"),
        ));
    }
    Ok(Reply::ok(json!({"count": found.len(), "trained_model_configs": found})))
}

/// OpenSearch `GET _plugins/_ml/models/{model_id}`.
pub async fn opensearch_model(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&[])?;
    let id = path.get("model_id");
    let model = state.ingest().services.embedder.model(id).map_err(|_| {
        let mut error = Error::new(ErrorKind::Status, "Failed to find model");
        error.status_override = Some(404);
        error
    })?;
    Ok(Reply::ok(json!({
        "name": model.id,
        "algorithm": "TEXT_EMBEDDING",
        "model_version": "1",
        "model_format": "ONNX",
        "model_state": "DEPLOYED",
        "description": model.description,
        "model_config": {
            "model_type": if model.accepts_image { "image" } else { "bert" },
            "embedding_dimension": model.dims,
            "framework_type": "sentence_transformers"
        },
        "created_time": 0,
        "last_deployed_time": 0,
        "is_hidden": false
    })))
}
