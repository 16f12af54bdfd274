//! OpenSearch `_search/pipeline`: create, read and delete search pipelines.

use axum::extract::State;
use serde_json::json;

use crate::AppState;
use crate::api::extract::{Body, Params, PathParams};
use crate::api::response::Reply;
use crate::error::{Error, ErrorKind, Result};
use crate::fusion::search_pipeline::SearchPipeline;

pub async fn put(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&["cluster_manager_timeout", "timeout"])?;
    let pipeline = SearchPipeline::parse(&body.required_json()?)?;
    state.search_pipelines().put(path.get("id"), pipeline)?;
    Ok(Reply::ok(json!({"acknowledged": true})))
}

pub async fn get(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["cluster_manager_timeout"])?;
    Ok(super::definitions_reply(state.search_pipelines(), &path))
}

pub async fn delete(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["cluster_manager_timeout", "timeout"])?;
    let id = path.get("id");
    if state.search_pipelines().remove_matching(id)? == 0 {
        return Err(Error::new(
            ErrorKind::ResourceNotFound,
            format!("Search pipeline [{id}] is missing"),
        ));
    }
    Ok(Reply::ok(json!({"acknowledged": true})))
}
