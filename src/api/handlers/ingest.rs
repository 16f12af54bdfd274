//! `_ingest/pipeline`: create, read, delete and simulate ingest pipelines.

use axum::extract::State;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::extract::{Body, Params, PathParams};
use crate::api::response::Reply;
use crate::error::{Error, ErrorKind, Result};
use crate::ingest::document::IngestDocument;
use crate::ingest::execute::run_pipeline;
use crate::ingest::pipeline::Pipeline;

/// Parses a pipeline and checks that the models it names exist.
fn parse_checked(state: &AppState, definition: &Value) -> Result<Pipeline> {
    let pipeline = Pipeline::parse(definition)?;
    let embedder = &state.ingest().services.embedder;
    for model_id in pipeline.model_ids() {
        embedder.model(&model_id)?;
    }
    Ok(pipeline)
}

pub async fn put_pipeline(
    State(state): State<AppState>,
    path: PathParams,
    params: Params,
    body: Body,
) -> Result<Reply> {
    params.check_allowed(&["master_timeout", "timeout", "if_version"])?;
    let definition = body.required_json()?;
    let pipeline = parse_checked(&state, &definition)?;
    let id = path.get("id").to_string();
    state.ingest().pipelines.put(&id, pipeline)?;
    Ok(Reply::ok(json!({"acknowledged": true})))
}

pub async fn get_pipelines(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["master_timeout", "summary"])?;
    Ok(super::definitions_reply(&state.ingest().pipelines, &path))
}

pub async fn delete_pipeline(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["master_timeout", "timeout"])?;
    crate::ingest::store::delete_pipelines(&state.ingest().pipelines, path.get("id"))?;
    Ok(Reply::ok(json!({"acknowledged": true})))
}

/// `_simulate`: runs a stored pipeline (path id) or the body's `pipeline` over `docs`.
pub async fn simulate(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&["verbose"])?;
    if params.bool("verbose", false)? {
        return Err(Error::illegal_argument(
            "[verbose] simulation is not supported by Iris; simulate without it",
        ));
    }
    let body = body.required_json()?;
    let path_id = Some(path.get("id")).filter(|id| !id.is_empty());
    let pipeline = match path_id {
        Some(id) => state
            .ingest()
            .pipelines
            .get(id)
            .map(|pipeline| (*pipeline).clone())
            .ok_or_else(|| Error::illegal_argument(format!("pipeline [{id}] does not exist")))?,
        None => match body.get("pipeline") {
            Some(definition) => parse_checked(&state, definition)?,
            None => {
                return Err(Error::new(ErrorKind::Parse, "[pipeline] required property is missing")
                    .with_meta("property_name", "pipeline"));
            }
        },
    };
    let Some(Value::Array(docs)) = body.get("docs") else {
        return Err(
            Error::new(ErrorKind::Parse, "[docs] required property is missing").with_meta("property_name", "docs")
        );
    };
    if docs.is_empty() {
        return Err(Error::new(
            ErrorKind::Parse,
            "must specify at least one document in [docs]",
        ));
    }
    let mut documents = Vec::with_capacity(docs.len());
    for doc in docs {
        let Some(Value::Object(source)) = doc.get("_source") else {
            return Err(Error::new(ErrorKind::Parse, "[_source] required property is missing")
                .with_meta("property_name", "_source"));
        };
        let index = doc.get("_index").and_then(Value::as_str).unwrap_or("_index");
        let id = doc.get("_id").and_then(Value::as_str).unwrap_or("_id");
        documents.push(IngestDocument::new(index, Some(id.to_string()), source.clone()));
    }
    let services = state.ingest().services.clone();
    let results = run_pipeline(&pipeline, documents, &services).await;
    let docs: Vec<Value> = results
        .into_iter()
        .map(|result| match result {
            Ok(document) => json!({"doc": {
                "_index": document.index,
                "_version": "-3",
                "_id": document.id,
                "_source": Value::Object(document.source),
                "_ingest": {"timestamp": document.timestamp}
            }}),
            Err(error) => json!({"error": error.to_body_object()}),
        })
        .collect();
    Ok(Reply::ok(json!({"docs": docs})))
}
