//! OpenSearch `_search/pipeline`: create, read and delete search pipelines.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::api::extract::{Body, Params, PathParams};
use crate::api::response::Reply;
use crate::error::Result;
use crate::fusion::search_pipeline::SearchPipeline;

pub async fn put(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&["cluster_manager_timeout", "timeout"])?;
    let pipeline = SearchPipeline::parse(&body.required_json()?)?;
    state.search_pipelines().put(path.get("id"), pipeline)?;
    Ok(Reply::ok(json!({"acknowledged": true})))
}

pub async fn get(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["cluster_manager_timeout"])?;
    let pattern = Some(path.get("id")).filter(|id| !id.is_empty());
    let found: Map<String, Value> = state
        .search_pipelines()
        .matching(pattern)
        .into_iter()
        .map(|(id, pipeline)| (id, pipeline.definition.clone()))
        .collect();
    if found.is_empty() && pattern.is_some_and(|pattern| !pattern.contains('*')) {
        return Ok(Reply::json(StatusCode::NOT_FOUND, json!({})));
    }
    Ok(Reply::ok(Value::Object(found)))
}

pub async fn delete(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["cluster_manager_timeout", "timeout"])?;
    state.search_pipelines().delete(path.get("id"))?;
    Ok(Reply::ok(json!({"acknowledged": true})))
}
