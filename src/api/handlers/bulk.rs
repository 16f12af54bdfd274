//! `_bulk`: NDJSON action/metadata lines and sources. The body is read once and sliced in
//! place; each item succeeds or fails on its own; writes to one index share one fsync.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use serde_json::{Value, json};

use super::blocking;
use super::document::{RefreshPolicy, generate_id, refresh_policy, run_writes, update_op, write_response};
use crate::AppState;
use crate::api::extract::{Body, Params, PathParams, parse_json};
use crate::api::response::Reply;
use crate::error::{Error, ErrorKind, Result};
use crate::index::{IndexHandle, WriteOp, WriteResult};
use crate::ingest::{IndexPipelines, PendingDocument};

/// An item routed to its index: response position, action, operation, pipeline requested.
type RoutedItem = (usize, &'static str, WriteOp, Option<String>);

/// One parsed bulk item, before it is routed to its index.
struct BulkItem {
    action: &'static str,
    index: String,
    id: String,
    op: std::result::Result<WriteOp, Error>,
    /// The item's own `pipeline`.
    pipeline: Option<String>,
}

fn lines(body: &[u8]) -> Vec<(usize, &[u8])> {
    body.split(|byte| *byte == b'\n')
        .enumerate()
        .map(|(number, line)| (number + 1, line))
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .collect()
}

fn string_field(metadata: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    match metadata.get(key) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    }
}

fn parse_items(body: &[u8], default_index: &str) -> Result<Vec<BulkItem>> {
    if !body.is_empty() && !body.ends_with(b"\n") {
        return Err(Error::illegal_argument(
            "The bulk request must be terminated by a newline [\\n]",
        ));
    }
    let all_lines = lines(body);
    if all_lines.is_empty() {
        return Err(Error::validation(&["no requests added".to_string()]));
    }
    let mut items = Vec::new();
    let mut position = 0;
    while position < all_lines.len() {
        let (line_number, line) = all_lines[position];
        position += 1;
        let action_value = parse_json(line).map_err(|error| {
            Error::illegal_argument(format!(
                "Malformed action/metadata line [{line_number}], expected START_OBJECT but found [{}]",
                error.reason
            ))
        })?;
        let Value::Object(action_object) = action_value else {
            return Err(Error::illegal_argument(format!(
                "Malformed action/metadata line [{line_number}], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]"
            )));
        };
        if action_object.len() != 1 {
            return Err(Error::illegal_argument(format!(
                "Malformed action/metadata line [{line_number}], expected a simple value for field [{}] but found [START_OBJECT]",
                action_object.keys().nth(1).cloned().unwrap_or_default()
            )));
        }
        let Some((action_name, metadata)) = action_object.into_iter().next() else {
            continue;
        };
        let action: &'static str = match action_name.as_str() {
            "index" => "index",
            "create" => "create",
            "update" => "update",
            "delete" => "delete",
            other => {
                return Err(Error::illegal_argument(format!(
                    "Malformed action/metadata line [{line_number}], expected field [create], [delete], [index] or [update] but found [{other}]"
                )));
            }
        };
        let Value::Object(metadata) = metadata else {
            return Err(Error::illegal_argument(format!(
                "Malformed action/metadata line [{line_number}], expected START_OBJECT but found [{metadata}]"
            )));
        };
        for key in metadata.keys() {
            if ![
                "_index",
                "_id",
                "routing",
                "if_seq_no",
                "if_primary_term",
                "pipeline",
                "require_alias",
                "dynamic_templates",
                "retry_on_conflict",
                "_source",
                "version",
                "version_type",
                "op_type",
                "list_executed_pipelines",
                "require_data_stream",
            ]
            .contains(&key.as_str())
            {
                return Err(Error::illegal_argument(format!(
                    "Action/metadata line [{line_number}] contains an unknown parameter [{key}]"
                )));
            }
        }
        let index = string_field(&metadata, "_index").unwrap_or_else(|| default_index.to_string());
        if index.is_empty() {
            return Err(Error::validation(&["index is missing".to_string()]));
        }
        let if_seq_no = metadata.get("if_seq_no").and_then(Value::as_u64);
        let if_primary_term = metadata.get("if_primary_term").and_then(Value::as_u64);
        let explicit_id = string_field(&metadata, "_id");
        let source_line = if action == "delete" {
            None
        } else {
            let Some((_, source)) = all_lines.get(position) else {
                return Err(Error::illegal_argument(format!(
                    "Malformed action/metadata line [{line_number}], expected a source line after the [{action}] action"
                )));
            };
            position += 1;
            Some(*source)
        };
        let id = match (&explicit_id, action) {
            (Some(id), _) => id.clone(),
            (None, "index" | "create") => generate_id(),
            (None, _) => {
                items.push(BulkItem {
                    action,
                    index,
                    id: String::new(),
                    op: Err(Error::validation(&["id is missing".to_string()])),
                    pipeline: None,
                });
                continue;
            }
        };
        let op = if metadata.contains_key("version") {
            Err(Error::illegal_argument(
                "[version] in bulk items is not supported (external versioning)",
            ))
        } else {
            build_op(action, &id, source_line, if_seq_no, if_primary_term, &metadata)
        };
        let pipeline = string_field(&metadata, "pipeline");
        items.push(BulkItem {
            action,
            index,
            id,
            op,
            pipeline,
        });
    }
    Ok(items)
}

fn build_op(
    action: &str,
    id: &str,
    source: Option<&[u8]>,
    if_seq_no: Option<u64>,
    if_primary_term: Option<u64>,
    metadata: &serde_json::Map<String, Value>,
) -> std::result::Result<WriteOp, Error> {
    match action {
        "delete" => Ok(WriteOp::Delete {
            id: id.to_string(),
            if_seq_no,
            if_primary_term,
        }),
        "update" => {
            let body = parse_json(source.unwrap_or_default())?;
            update_op(id, &body, if_seq_no, if_primary_term).map(|(op, _)| op)
        }
        _ => {
            let bytes = source.unwrap_or_default();
            // Parse once to report a bad document on its item, like ES does.
            let parsed = parse_json(bytes).map_err(|error| Error::new(ErrorKind::DocumentParsing, error.reason))?;
            if !parsed.is_object() {
                return Err(Error::new(
                    ErrorKind::DocumentParsing,
                    "[1:1] failed to parse: the document must be a JSON object",
                ));
            }
            let create_only = action == "create" || metadata.get("op_type").and_then(Value::as_str) == Some("create");
            Ok(WriteOp::Index {
                id: id.to_string(),
                source: bytes.to_vec(),
                create_only,
                if_seq_no,
                if_primary_term,
            })
        }
    }
}

fn item_error(action: &str, index: &str, id: &str, error: &Error) -> Value {
    let mut entry = json!({"_index": index, "_id": id, "status": error.status(), "error": error.to_body_object()});
    if id.is_empty() {
        entry["_id"] = Value::Null;
    }
    json!({ action: entry })
}

pub async fn bulk(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&[
        "pipeline",
        "refresh",
        "routing",
        "timeout",
        "wait_for_active_shards",
        "require_alias",
        "require_data_stream",
        "_source",
        "_source_excludes",
        "_source_includes",
        "list_executed_pipelines",
        "include_source_on_error",
    ])?;
    let started = Instant::now();
    let refresh = refresh_policy(&params)?;
    let default_index = path.get("index").to_string();
    let items = parse_items(&body.0, &default_index)?;
    let mut responses: Vec<Option<Value>> = vec![None; items.len()];
    let request_pipeline = params.get("pipeline").map(str::to_string);
    let mut by_index: BTreeMap<String, Vec<RoutedItem>> = BTreeMap::new();
    for (position, item) in items.into_iter().enumerate() {
        match item.op {
            Ok(op) => by_index.entry(item.index).or_default().push((
                position,
                item.action,
                op,
                item.pipeline.or_else(|| request_pipeline.clone()),
            )),
            Err(error) => responses[position] = Some(item_error(item.action, &item.index, &item.id, &error)),
        }
    }
    for (index, entries) in by_index {
        let resolving = state.clone();
        let name = index.clone();
        let handle: Result<Arc<IndexHandle>> = blocking(move || resolving.registry().write_target(&name)).await;
        let handle = match handle {
            Ok(handle) => handle,
            Err(error) => {
                for (position, action, op, _) in entries {
                    responses[position] = Some(item_error(action, &index, op_id(&op), &error));
                }
                continue;
            }
        };
        let entries = run_ingest(&state, &handle, entries, &mut responses).await;
        let positions: Vec<(usize, &'static str, String)> = entries
            .iter()
            .map(|(position, action, op)| (*position, *action, op_id(op).to_string()))
            .collect();
        let ops: Vec<WriteOp> = entries.into_iter().map(|(_, _, op)| op).collect();
        let results: Vec<Result<WriteResult>> = run_writes(handle.clone(), ops, RefreshPolicy::None).await?;
        for ((position, action, id), result) in positions.into_iter().zip(results) {
            responses[position] = Some(match result {
                Ok(result) => {
                    let mut entry = write_response(&handle, &result, RefreshPolicy::None);
                    let status = match result.outcome {
                        crate::index::WriteOutcome::Created => 201,
                        crate::index::WriteOutcome::NotFound => 404,
                        _ => 200,
                    };
                    entry["status"] = Value::from(status);
                    json!({ action: entry })
                }
                Err(error) => item_error(action, &handle.name(), &id, &error),
            });
        }
        if refresh != RefreshPolicy::None {
            let refreshing = handle.clone();
            blocking(move || refreshing.refresh()).await?;
        }
    }
    let errors = responses.iter().flatten().any(|item| {
        item.as_object()
            .and_then(|object| object.values().next())
            .is_some_and(|entry| entry.get("error").is_some())
    });
    let items: Vec<Value> = responses.into_iter().flatten().collect();
    Ok(Reply::ok(json!({
        "errors": errors,
        "took": started.elapsed().as_millis() as u64,
        "items": items
    })))
}

/// Sends the index operations of one target index through their ingest pipelines; items a
/// pipeline fails get their error response and leave the batch.
async fn run_ingest(
    state: &AppState,
    handle: &IndexHandle,
    entries: Vec<RoutedItem>,
    responses: &mut [Option<Value>],
) -> Vec<(usize, &'static str, WriteOp)> {
    let index_pipelines = IndexPipelines::from_settings(&handle.state().settings);
    let requested: Vec<Option<String>> = entries
        .iter()
        .filter(|(_, _, op, _)| matches!(op, WriteOp::Index { .. }))
        .map(|(_, _, _, pipeline)| pipeline.clone())
        .collect();
    if !state.ingest().applies(&requested, &index_pipelines) {
        return entries
            .into_iter()
            .map(|(position, action, op, _)| (position, action, op))
            .collect();
    }
    let mut entries = entries;
    let mut pending = Vec::new();
    let mut pending_slots = Vec::new();
    for (slot, (_, _, op, pipeline)) in entries.iter_mut().enumerate() {
        if let WriteOp::Index { id, source, .. } = op {
            pending.push(PendingDocument {
                id: id.clone(),
                source: std::mem::take(source),
                requested_pipeline: pipeline.take(),
            });
            pending_slots.push(slot);
        }
    }
    let processed = state.ingest().process(&handle.name(), pending, &index_pipelines).await;
    let mut failed = vec![false; entries.len()];
    for (slot, result) in pending_slots.into_iter().zip(processed) {
        let (position, action, op, _) = &mut entries[slot];
        match result {
            Ok(new_source) => {
                if let WriteOp::Index { source, .. } = op {
                    *source = new_source;
                }
            }
            Err(error) => {
                responses[*position] = Some(item_error(action, &handle.name(), op_id(op), &error));
                failed[slot] = true;
            }
        }
    }
    entries
        .into_iter()
        .zip(failed)
        .filter(|(_, failed)| !failed)
        .map(|((position, action, op, _), _)| (position, action, op))
        .collect()
}

fn op_id(op: &WriteOp) -> &str {
    match op {
        WriteOp::Index { id, .. } | WriteOp::Delete { id, .. } | WriteOp::Update { id, .. } => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_actions_and_sources() {
        let body = b"{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"x\":1}\n{\"delete\":{\"_index\":\"a\",\"_id\":\"2\"}}\n{\"create\":{\"_index\":\"a\"}}\n{bad json\n";
        let items = parse_items(body, "").expect("parse");
        assert_eq!(items.len(), 3);
        assert!(items[0].op.is_ok());
        assert!(matches!(items[1].op, Ok(WriteOp::Delete { .. })));
        assert_eq!(
            items[2].op.as_ref().err().map(|e| e.kind),
            Some(ErrorKind::DocumentParsing)
        );
    }

    #[test]
    fn requires_trailing_newline_and_valid_actions() {
        assert!(parse_items(b"{\"index\":{}}\n{}", "a").is_err());
        assert!(parse_items(b"{\"frobnicate\":{}}\n", "a").is_err());
        assert!(parse_items(b"{\"index\":{}}\n{}\n", "").is_err());
    }
}
