//! Single-document APIs: index, create, get, exists, `_source`, delete, update, mget.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::{blocking, replicas_of, shards_header};
use crate::AppState;
use crate::api::extract::{Body, Params, PathParams};
use crate::api::response::Reply;
use crate::error::{Error, ErrorKind, Result};
use crate::index::source_filter::SourceFilter;
use crate::index::{IndexHandle, WriteOp, WriteOutcome, WriteResult};

const WRITE_PARAMS: &[&str] = &[
    "if_seq_no",
    "if_primary_term",
    "op_type",
    "pipeline",
    "refresh",
    "routing",
    "timeout",
    "version",
    "version_type",
    "wait_for_active_shards",
    "require_alias",
    "require_data_stream",
    "include_source_on_error",
];
const GET_PARAMS: &[&str] = &[
    "_source",
    "_source_excludes",
    "_source_exclude_vectors",
    "_source_includes",
    "preference",
    "realtime",
    "refresh",
    "routing",
    "stored_fields",
    "version",
    "version_type",
];

/// Returns ES's auto-generated id style: 20 URL-safe base64 characters, time-ordered.
pub fn generate_id() -> String {
    use base64::Engine;
    let millis = chrono::Utc::now().timestamp_millis() as u64;
    let mut bytes = [0u8; 15];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    for byte in &mut bytes[6..] {
        *byte = fastrand::u8(..);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The `refresh` parameter of writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshPolicy {
    None,
    Immediate,
    WaitFor,
}

pub fn refresh_policy(params: &Params) -> Result<RefreshPolicy> {
    match params.get("refresh") {
        None | Some("false") => Ok(RefreshPolicy::None),
        Some("") | Some("true") => Ok(RefreshPolicy::Immediate),
        Some("wait_for") => Ok(RefreshPolicy::WaitFor),
        Some(other) => Err(Error::illegal_argument(format!(
            "Unknown value for refresh: [{other}]."
        ))),
    }
}

fn check_unsupported_versioning(params: &Params) -> Result<()> {
    if params.contains("version") || params.contains("version_type") {
        return Err(Error::illegal_argument(
            "external versioning ([version], [version_type]) is not supported by Iris; use [if_seq_no] and [if_primary_term]",
        ));
    }
    Ok(())
}

fn validate_id(id: &str) -> Result<()> {
    if id.len() > 512 {
        return Err(Error::validation(&[format!(
            "id [{id}] is too long, must be no longer than 512 bytes but was: {}",
            id.len()
        )]));
    }
    if id.is_empty() {
        return Err(Error::validation(&["id is missing".to_string()]));
    }
    Ok(())
}

/// Runs writes on one index and refreshes if asked.
pub async fn run_writes(
    handle: Arc<IndexHandle>,
    ops: Vec<WriteOp>,
    refresh: RefreshPolicy,
) -> Result<Vec<Result<WriteResult>>> {
    blocking(move || {
        let results = handle.write(ops)?;
        if refresh != RefreshPolicy::None {
            handle.refresh()?;
        }
        Ok(results)
    })
    .await
}

/// Runs one write and returns its result (or its error).
async fn write_one(handle: Arc<IndexHandle>, op: WriteOp, refresh: RefreshPolicy) -> Result<WriteResult> {
    run_writes(handle, vec![op], refresh)
        .await?
        .pop()
        .ok_or_else(|| Error::internal("write produced no result"))?
}

/// The body ES answers a write with.
pub fn write_response(handle: &IndexHandle, result: &WriteResult, refresh: RefreshPolicy) -> Value {
    let replicas = replicas_of(handle);
    let shards = if result.outcome == WriteOutcome::Noop {
        json!({"total": 0, "successful": 0, "failed": 0})
    } else {
        shards_header(replicas, 1)
    };
    let mut body = json!({
        "_index": handle.name(),
        "_id": result.id,
        "_version": result.version,
        "result": result.outcome.as_str(),
        "_shards": shards,
        "_seq_no": result.seq_no,
        "_primary_term": 1
    });
    if refresh == RefreshPolicy::Immediate && result.outcome != WriteOutcome::Noop {
        body["forced_refresh"] = Value::Bool(true);
    }
    body
}

fn status_of(outcome: &WriteOutcome) -> StatusCode {
    match outcome {
        WriteOutcome::Created => StatusCode::CREATED,
        WriteOutcome::NotFound => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

fn condition(params: &Params) -> Result<(Option<u64>, Option<u64>)> {
    let if_seq_no = params.u64("if_seq_no")?;
    let if_primary_term = params.u64("if_primary_term")?;
    if if_seq_no.is_some() != if_primary_term.is_some() {
        return Err(Error::validation(&[
            "ifSeqNo is set, but primary term is [0]".to_string()
        ]));
    }
    Ok((if_seq_no, if_primary_term))
}

async fn index_with(
    state: AppState,
    index: &str,
    id: String,
    params: Params,
    body: Body,
    create_only: bool,
) -> Result<Reply> {
    params.check_allowed(WRITE_PARAMS)?;
    check_unsupported_versioning(&params)?;
    validate_id(&id)?;
    let create_only = create_only
        || match params.get("op_type") {
            None | Some("index") => false,
            Some("create") => true,
            Some(other) => {
                return Err(Error::illegal_argument(format!(
                    "opType must be 'create' or 'index', found: [{other}]"
                )));
            }
        };
    let (if_seq_no, if_primary_term) = condition(&params)?;
    if body.is_empty() {
        return Err(Error::validation(&[
            "source is missing".to_string(),
            "content type is missing".to_string(),
        ]));
    }
    let refresh = refresh_policy(&params)?;
    let registry_state = state.clone();
    let index_name = index.to_string();
    let handle = blocking(move || registry_state.registry().write_target(&index_name)).await?;
    let mut source = body.0.to_vec();
    let index_pipelines = crate::ingest::IndexPipelines::from_settings(&handle.state().settings);
    let requested = params.get("pipeline").map(str::to_string);
    if state
        .ingest()
        .applies(std::slice::from_ref(&requested), &index_pipelines)
    {
        let pending = crate::ingest::PendingDocument {
            id: id.clone(),
            source,
            requested_pipeline: requested,
        };
        let mut processed = state
            .ingest()
            .process(&handle.name(), vec![pending], &index_pipelines)
            .await;
        source = processed.pop().expect("one document in, one result out")?;
    }
    let op = WriteOp::Index {
        id,
        source,
        create_only,
        if_seq_no,
        if_primary_term,
    };
    let result = write_one(handle.clone(), op, refresh).await?;
    Ok(Reply::json(
        status_of(&result.outcome),
        write_response(&handle, &result, refresh),
    ))
}

pub async fn index(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    index_with(
        state,
        path.get("index"),
        path.get("id").to_string(),
        params,
        body,
        false,
    )
    .await
}

pub async fn index_auto_id(
    State(state): State<AppState>,
    path: PathParams,
    params: Params,
    body: Body,
) -> Result<Reply> {
    index_with(state, path.get("index"), generate_id(), params, body, false).await
}

pub async fn create(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    index_with(state, path.get("index"), path.get("id").to_string(), params, body, true).await
}

/// Reads `_source`, `_source_includes`, `_source_excludes` parameters; None = no source.
pub fn source_filter_from_params(params: &Params) -> Result<Option<SourceFilter>> {
    let mut filter = SourceFilter::default();
    match params.get("_source") {
        Some("false") => return Ok(None),
        Some("true") | Some("") | None => {}
        Some(list) => filter.includes = list.split(',').map(str::to_string).collect(),
    }
    if let Some(includes) = params.list("_source_includes") {
        filter.includes = includes;
    }
    if let Some(excludes) = params.list("_source_excludes") {
        filter.excludes = excludes;
    }
    if params.contains("_source_exclude_vectors") {
        filter.exclude_vectors = Some(params.bool("_source_exclude_vectors", true)?);
    }
    Ok(Some(filter))
}

fn resolve_single(state: &AppState, index: &str) -> Result<Arc<IndexHandle>> {
    if let Some(handle) = state.registry().get(index) {
        return Ok(handle);
    }
    let handles = state.registry().resolve(index, Default::default())?;
    match handles.len() {
        1 => Ok(handles[0].clone()),
        0 => Err(Error::index_not_found(index)),
        _ => Err(Error::illegal_argument(format!(
            "alias [{index}] has more than one index associated with it [{}], can't execute a single index op",
            handles
                .iter()
                .map(|handle| handle.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

async fn load(
    state: &AppState,
    index: &str,
    id: &str,
    params: &Params,
) -> Result<(Arc<IndexHandle>, Option<crate::index::handle::DocVersion>)> {
    let handle = resolve_single(state, index)?;
    if params.bool("refresh", false)? {
        let refreshing = handle.clone();
        blocking(move || refreshing.refresh()).await?;
    }
    let reading = handle.clone();
    let id = id.to_string();
    let found = blocking(move || reading.get(&id)).await?;
    Ok((handle, found))
}

pub async fn get(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(GET_PARAMS)?;
    let id = path.get("id");
    let (handle, found) = load(&state, path.get("index"), id, &params).await?;
    let Some(document) = found else {
        return Ok(Reply::json(
            StatusCode::NOT_FOUND,
            json!({"_index": handle.name(), "_id": id, "found": false}),
        ));
    };
    let mut body = json!({
        "_index": handle.name(),
        "_id": id,
        "_version": document.version,
        "_seq_no": document.seq_no,
        "_primary_term": 1,
        "found": true
    });
    if let Some(filter) = source_filter_from_params(&params)? {
        body["_source"] = handle.render_document(&document, &filter)?;
    }
    Ok(Reply::ok(body))
}

pub async fn exists(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(GET_PARAMS)?;
    match load(&state, path.get("index"), path.get("id"), &params).await {
        Ok((_, Some(_))) => Ok(Reply::empty(StatusCode::OK)),
        _ => Ok(Reply::empty(StatusCode::NOT_FOUND)),
    }
}

pub async fn get_source(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(GET_PARAMS)?;
    let id = path.get("id");
    let (handle, found) = load(&state, path.get("index"), id, &params).await?;
    let Some(document) = found else {
        return Err(Error::new(
            ErrorKind::ResourceNotFound,
            format!("Document not found [{}]/[{id}]", handle.name()),
        ));
    };
    let filter = source_filter_from_params(&params)?.unwrap_or_default();
    Ok(Reply::ok(handle.render_document(&document, &filter)?))
}

pub async fn source_exists(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    exists(State(state), path, params).await
}

pub async fn delete(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(WRITE_PARAMS)?;
    check_unsupported_versioning(&params)?;
    let (if_seq_no, if_primary_term) = condition(&params)?;
    let refresh = refresh_policy(&params)?;
    let handle = resolve_single(&state, path.get("index"))?;
    let op = WriteOp::Delete {
        id: path.get("id").to_string(),
        if_seq_no,
        if_primary_term,
    };
    let result = write_one(handle.clone(), op, refresh).await?;
    Ok(Reply::json(
        status_of(&result.outcome),
        write_response(&handle, &result, refresh),
    ))
}

/// Parses an update body into a write; scripts are refused clearly.
pub fn update_op(
    id: &str,
    body: &Value,
    if_seq_no: Option<u64>,
    if_primary_term: Option<u64>,
) -> Result<(WriteOp, Option<Value>)> {
    let Value::Object(body) = body else {
        return Err(Error::parsing("update body must be an object"));
    };
    for key in body.keys() {
        match key.as_str() {
            "doc" | "upsert" | "doc_as_upsert" | "detect_noop" | "_source" | "scripted_upsert" => {}
            "script" => {
                return Err(Error::illegal_argument(
                    "scripts are not supported by Iris: use a partial [doc] update instead",
                ));
            }
            other => {
                return Err(Error::x_content(format!(
                    "[1:2] [UpdateRequest] unknown field [{other}]"
                )));
            }
        }
    }
    let as_object = |key: &str| -> Result<Option<Map<String, Value>>> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(object)) => Ok(Some(object.clone())),
            Some(_) => Err(Error::parsing(format!("[{key}] must be an object"))),
        }
    };
    let doc = as_object("doc")?;
    let upsert = as_object("upsert")?;
    if doc.is_none() && upsert.is_none() {
        return Err(Error::validation(&["script or doc is missing".to_string()]));
    }
    let op = WriteOp::Update {
        id: id.to_string(),
        doc,
        upsert,
        doc_as_upsert: body.get("doc_as_upsert").and_then(Value::as_bool).unwrap_or(false),
        detect_noop: body.get("detect_noop").and_then(Value::as_bool).unwrap_or(true),
        if_seq_no,
        if_primary_term,
    };
    Ok((op, body.get("_source").cloned()))
}

pub async fn update(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&[
        "if_seq_no",
        "if_primary_term",
        "lang",
        "refresh",
        "require_alias",
        "retry_on_conflict",
        "routing",
        "timeout",
        "wait_for_active_shards",
        "_source",
        "_source_excludes",
        "_source_exclude_vectors",
        "_source_includes",
        "include_source_on_error",
    ])?;
    let (if_seq_no, if_primary_term) = condition(&params)?;
    let refresh = refresh_policy(&params)?;
    let id = path.get("id").to_string();
    let body = body.required_json()?;
    let (op, source_request) = update_op(&id, &body, if_seq_no, if_primary_term)?;
    let index_name = path.get("index").to_string();
    let registry_state = state.clone();
    let handle = blocking(move || registry_state.registry().write_target(&index_name)).await?;
    let result = write_one(handle.clone(), op, refresh).await?;
    let mut response = write_response(&handle, &result, refresh);
    let wants_source = source_request.is_some_and(|value| value != Value::Bool(false)) || params.contains("_source");
    if wants_source && let Some(source) = &result.source {
        let filter = source_filter_from_params(&params)?.unwrap_or_default();
        response["get"] = json!({"_seq_no": result.seq_no, "_primary_term": 1, "found": true, "_source": handle.render_source(source, &filter)?});
    }
    Ok(Reply::json(status_of(&result.outcome), response))
}

pub async fn mget(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(GET_PARAMS)?;
    let body = body.required_json()?;
    let default_index = path.get("index").to_string();
    let mut requests: Vec<(String, String, Option<Value>)> = Vec::new();
    if let Some(docs) = body.get("docs").and_then(Value::as_array) {
        for doc in docs {
            let index = doc
                .get("_index")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| default_index.clone());
            let id = match doc.get("_id") {
                Some(Value::String(id)) => id.clone(),
                Some(Value::Number(number)) => number.to_string(),
                _ => return Err(Error::validation(&["id is missing".to_string()])),
            };
            requests.push((index, id, doc.get("_source").cloned()));
        }
    } else if let Some(ids) = body.get("ids").and_then(Value::as_array) {
        for id in ids {
            let id = id.as_str().map(str::to_string).unwrap_or_else(|| id.to_string());
            requests.push((default_index.clone(), id, None));
        }
    } else {
        return Err(Error::validation(&["no documents to get".to_string()]));
    }
    let default_filter = source_filter_from_params(&params)?;
    let mut docs = Vec::new();
    if requests.is_empty() {
        return Err(Error::validation(&["no documents to get".to_string()]));
    }
    for (index, id, source_option) in requests {
        if index.is_empty() {
            return Err(Error::validation(&["index is missing for doc 0".to_string()]));
        }
        let handle = match resolve_single(&state, &index) {
            Ok(handle) => handle,
            Err(error) => {
                docs.push(json!({"_index": index, "_id": id, "error": error.to_body_object()}));
                continue;
            }
        };
        let reading = handle.clone();
        let lookup = id.clone();
        let found = blocking(move || reading.get(&lookup)).await?;
        let Some(document) = found else {
            docs.push(json!({"_index": handle.name(), "_id": id, "found": false}));
            continue;
        };
        let filter = match &source_option {
            Some(Value::Bool(false)) => None,
            Some(Value::Array(items)) => Some(SourceFilter::including(
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_string))
                    .collect(),
            )),
            Some(Value::String(single)) => Some(SourceFilter::including(vec![single.clone()])),
            _ => default_filter.clone(),
        };
        let mut entry = json!({
            "_index": handle.name(), "_id": id, "_version": document.version,
            "_seq_no": document.seq_no, "_primary_term": 1, "found": true
        });
        if let Some(filter) = filter {
            entry["_source"] = handle.render_document(&document, &filter)?;
        }
        docs.push(entry);
    }
    Ok(Reply::ok(json!({"docs": docs})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_look_like_es_ids() {
        let id = generate_id();
        assert_eq!(id.len(), 20);
        assert_ne!(id, generate_id());
    }
}
