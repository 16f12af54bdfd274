//! `GET /`, cluster health, node info, and the endpoints consoles poll for autocomplete.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::ShardSummary;
use crate::AppState;
use crate::api::extract::{Params, PathParams};
use crate::api::response::Reply;
use crate::cluster::NODE_ID;
use crate::error::{Error, Result};
use crate::index::ResolveOptions;

pub async fn info(State(state): State<AppState>, params: Params) -> Result<Reply> {
    params.check_allowed(&[])?;
    Ok(Reply::ok(state.cluster().info()))
}

pub async fn info_head() -> Reply {
    Reply::empty(StatusCode::OK)
}

pub async fn health(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&[
        "level",
        "local",
        "master_timeout",
        "timeout",
        "wait_for_active_shards",
        "wait_for_events",
        "wait_for_nodes",
        "wait_for_no_initializing_shards",
        "wait_for_no_relocating_shards",
        "wait_for_status",
        "expand_wildcards",
    ])?;
    let indices = match path.get("index") {
        "" => state.registry().all(),
        expression => match state.registry().resolve(expression, ResolveOptions::default()) {
            Ok(indices) => indices,
            // ES waits for a missing index until the timeout, then reports red; Iris has
            // nothing to wait for and answers at once.
            Err(_) => {
                let nothing = ShardSummary {
                    primaries: 0,
                    unassigned: 0,
                };
                return Ok(Reply::json(
                    StatusCode::REQUEST_TIMEOUT,
                    health_body(&state, &nothing, "red", true),
                ));
            }
        },
    };
    let shards = ShardSummary::of(&indices);
    let status = shards.status();
    let timed_out = params.get("wait_for_status") == Some("green") && status != "green";
    let status_code = if timed_out {
        StatusCode::REQUEST_TIMEOUT
    } else {
        StatusCode::OK
    };
    Ok(Reply::json(
        status_code,
        health_body(&state, &shards, status, timed_out),
    ))
}

fn health_body(state: &AppState, shards: &ShardSummary, status: &str, timed_out: bool) -> Value {
    json!({
        "cluster_name": state.cluster().cluster_name,
        "status": status,
        "timed_out": timed_out,
        "number_of_nodes": 1,
        "number_of_data_nodes": 1,
        "active_primary_shards": shards.primaries,
        "active_shards": shards.primaries,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": shards.unassigned,
        "unassigned_primary_shards": 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": shards.active_percent()
    })
}

pub async fn nodes(State(state): State<AppState>, params: Params) -> Result<Reply> {
    params.check_allowed(&["flat_settings", "master_timeout", "timeout"])?;
    let mut nodes = serde_json::Map::new();
    nodes.insert(NODE_ID.to_string(), state.cluster().node());
    Ok(Reply::ok(json!({
        "_nodes": {"total": 1, "successful": 1, "failed": 0},
        "cluster_name": state.cluster().cluster_name,
        "nodes": Value::Object(nodes)
    })))
}

pub async fn templates(params: Params) -> Result<Reply> {
    params.check_allowed(&["flat_settings", "local", "master_timeout"])?;
    Ok(Reply::ok(json!({})))
}

pub async fn template_by_name(path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["flat_settings", "local", "master_timeout"])?;
    empty_unless_wildcard(path.get("name"), json!({}), "index template")
}

pub async fn index_templates(params: Params) -> Result<Reply> {
    params.check_allowed(&["flat_settings", "local", "master_timeout", "include_defaults"])?;
    Ok(Reply::ok(json!({"index_templates": []})))
}

pub async fn index_template_by_name(path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["flat_settings", "local", "master_timeout", "include_defaults"])?;
    empty_unless_wildcard(
        path.get("name"),
        json!({"index_templates": []}),
        "index template matching",
    )
}

pub async fn component_templates(params: Params) -> Result<Reply> {
    params.check_allowed(&["flat_settings", "local", "master_timeout", "include_defaults"])?;
    Ok(Reply::ok(json!({"component_templates": []})))
}

pub async fn component_template_by_name(path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["flat_settings", "local", "master_timeout", "include_defaults"])?;
    empty_unless_wildcard(
        path.get("name"),
        json!({"component_templates": []}),
        "component template matching",
    )
}

pub async fn data_streams(params: Params) -> Result<Reply> {
    params.check_allowed(&["expand_wildcards", "include_defaults", "master_timeout", "verbose"])?;
    Ok(Reply::ok(json!({"data_streams": []})))
}

pub async fn data_stream_by_name(path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["expand_wildcards", "include_defaults", "master_timeout", "verbose"])?;
    let name = path.get("name");
    if name.contains('*') || name == "_all" {
        return Ok(Reply::ok(json!({"data_streams": []})));
    }
    Err(Error::index_not_found(name))
}

/// Iris has no templates: a wildcard lists nothing, a concrete name is missing.
fn empty_unless_wildcard(name: &str, empty: Value, what: &str) -> Result<Reply> {
    if name.contains('*') || name == "_all" {
        return Ok(Reply::ok(empty));
    }
    Err(Error::new(
        crate::error::ErrorKind::ResourceNotFound,
        format!("{what} [{name}] not found"),
    ))
}
