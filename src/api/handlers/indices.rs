//! Index management: create, get, exists, delete, mappings, settings, refresh, flush,
//! stats and aliases.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::{ShardSummary, blocking, replicas_of, resolve_targets};
use crate::AppState;
use crate::api::extract::{Body, Params, PathParams};
use crate::api::response::Reply;
use crate::error::{Error, Result};
use crate::index::meta::AliasDef;
use crate::index::{IndexHandle, ResolveOptions};

const TARGET_PARAMS: &[&str] = &[
    "allow_no_indices",
    "expand_wildcards",
    "ignore_unavailable",
    "local",
    "master_timeout",
    "timeout",
    "flat_settings",
    "include_defaults",
    "ignore_throttled",
];

pub async fn create(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&["wait_for_active_shards", "master_timeout", "timeout"])?;
    let name = path.get("index").to_string();
    let body = body.json()?.unwrap_or_else(|| json!({}));
    let handle = blocking(move || state.registry().create(&name, &body)).await?;
    Ok(Reply::ok(
        json!({"acknowledged": true, "shards_acknowledged": true, "index": handle.name()}),
    ))
}

fn aliases_json(handle: &IndexHandle) -> Value {
    let aliases: Map<String, Value> = handle
        .state()
        .aliases
        .iter()
        .map(|(name, alias)| (name.clone(), serde_json::to_value(alias).unwrap_or_else(|_| json!({}))))
        .collect();
    Value::Object(aliases)
}

pub async fn get(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(TARGET_PARAMS)?;
    let mut out = Map::new();
    for handle in resolve_targets(&state, &path, &params)? {
        let index_state = handle.state();
        out.insert(
            index_state.name.clone(),
            json!({
                "aliases": aliases_json(&handle),
                "mappings": index_state.mapping.to_json(),
                "settings": index_state.settings.to_json()
            }),
        );
    }
    Ok(Reply::ok(Value::Object(out)))
}

pub async fn exists(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(TARGET_PARAMS)?;
    let found = resolve_targets(&state, &path, &params).is_ok_and(|found| !found.is_empty());
    Ok(Reply::empty(if found { StatusCode::OK } else { StatusCode::NOT_FOUND }))
}

pub async fn delete(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&[
        "allow_no_indices",
        "expand_wildcards",
        "ignore_unavailable",
        "master_timeout",
        "timeout",
    ])?;
    let expression = path.get("index").to_string();
    if expression.contains('*') || expression == "_all" {
        return Err(Error::illegal_argument(
            "Wildcard expressions or all indices are not allowed".to_string(),
        ));
    }
    let handles = state
        .registry()
        .resolve(&expression, super::resolve_options(&params)?)?;
    // Deleting through an alias is not allowed in ES either.
    for part in expression.split(',') {
        if !part.is_empty() && state.registry().get(part).is_none() && !params.bool("ignore_unavailable", false)? {
            return Err(Error::illegal_argument(format!(
                "The provided expression [{part}] matches an alias, specify the corresponding concrete indices instead."
            )));
        }
    }
    let names: Vec<String> = handles.iter().map(|handle| handle.name()).collect();
    blocking(move || {
        for name in names {
            state.registry().delete(&name)?;
        }
        Ok(())
    })
    .await?;
    Ok(Reply::acknowledged())
}

pub async fn get_mapping(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(TARGET_PARAMS)?;
    let mut out = Map::new();
    for handle in resolve_targets(&state, &path, &params)? {
        let index_state = handle.state();
        out.insert(
            index_state.name.clone(),
            json!({"mappings": index_state.mapping.to_json()}),
        );
    }
    Ok(Reply::ok(Value::Object(out)))
}

pub async fn put_mapping(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&[
        "allow_no_indices",
        "expand_wildcards",
        "ignore_unavailable",
        "master_timeout",
        "timeout",
        "write_index_only",
    ])?;
    let update = body.required_json()?;
    let handles = resolve_targets(&state, &path, &params)?;
    if handles.is_empty() {
        return Err(Error::index_not_found(path.get("index")));
    }
    blocking(move || {
        for handle in &handles {
            handle.update_state(|next| {
                next.mapping = next.mapping.merge(&update)?;
                Ok(())
            })?;
        }
        Ok(())
    })
    .await?;
    Ok(Reply::acknowledged())
}

pub async fn get_settings(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(TARGET_PARAMS)?;
    let name_filter = path.get("name").to_string();
    let flat = params.bool("flat_settings", false)?;
    let mut out = Map::new();
    for handle in resolve_targets(&state, &path, &params)? {
        let index_state = handle.state();
        let mut settings = index_state.settings.to_json();
        if flat || !name_filter.is_empty() {
            let mut flattened = Map::new();
            flatten_settings("", &settings, &mut flattened);
            if !name_filter.is_empty() {
                let patterns: Vec<&str> = name_filter.split(',').collect();
                flattened.retain(|key, _| {
                    patterns
                        .iter()
                        .any(|pattern| wildmatch::WildMatch::new(pattern).matches(key))
                });
            }
            settings = if flat {
                Value::Object(flattened)
            } else {
                unflatten(&flattened)
            };
        }
        out.insert(index_state.name.clone(), json!({"settings": settings}));
    }
    Ok(Reply::ok(Value::Object(out)))
}

fn flatten_settings(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten_settings(&path, inner, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

fn unflatten(flat: &Map<String, Value>) -> Value {
    let mut root = Map::new();
    for (key, value) in flat {
        let parts: Vec<&str> = key.split('.').collect();
        crate::index::settings::insert_nested(&mut root, &parts, value.clone());
    }
    Value::Object(root)
}

pub async fn put_settings(
    State(state): State<AppState>,
    path: PathParams,
    params: Params,
    body: Body,
) -> Result<Reply> {
    params.check_allowed(&[
        "allow_no_indices",
        "expand_wildcards",
        "ignore_unavailable",
        "master_timeout",
        "timeout",
        "preserve_existing",
        "flat_settings",
        "reopen",
    ])?;
    let body = body.required_json()?;
    let update = body.get("settings").cloned().unwrap_or(body);
    let handles = resolve_targets(&state, &path, &params)?;
    blocking(move || {
        for handle in &handles {
            handle.update_state(|next| {
                let identity = (next.name.clone(), next.uuid.clone());
                next.settings.apply(&update, Some((&identity.0, &identity.1)))
            })?;
        }
        Ok(())
    })
    .await?;
    Ok(Reply::acknowledged())
}

fn shards_summary(handles: &[Arc<IndexHandle>]) -> Value {
    let total: u64 = handles.iter().map(|handle| 1 + replicas_of(handle)).sum();
    json!({"total": total, "successful": handles.len(), "failed": 0})
}

pub async fn refresh(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["allow_no_indices", "expand_wildcards", "ignore_unavailable"])?;
    let handles = resolve_targets(&state, &path, &params)?;
    let summary = shards_summary(&handles);
    blocking(move || {
        for handle in &handles {
            handle.refresh()?;
        }
        Ok(())
    })
    .await?;
    Ok(Reply::ok(json!({"_shards": summary})))
}

pub async fn flush(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&[
        "allow_no_indices",
        "expand_wildcards",
        "ignore_unavailable",
        "force",
        "wait_if_ongoing",
    ])?;
    // A refresh commits the engine and empties the log: exactly what an ES flush promises.
    refresh(State(state), path, Params::default()).await
}

pub async fn stats(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&[
        "completion_fields",
        "expand_wildcards",
        "fielddata_fields",
        "fields",
        "forbid_closed_indices",
        "groups",
        "include_segment_file_sizes",
        "include_unloaded_segments",
        "level",
    ])?;
    let handles = resolve_targets(&state, &path, &params)?;
    let body = blocking(move || {
        let mut indices = Map::new();
        let mut all_docs = 0u64;
        let mut all_deleted = 0u64;
        let mut all_bytes = 0u64;
        for handle in &handles {
            let counts = handle.doc_counts();
            let (docs, deleted) = (counts.live, counts.deleted);
            let bytes = handle.store_size_bytes();
            all_docs += docs;
            all_deleted += deleted;
            all_bytes += bytes;
            let counters = &handle.counters;
            let stats = json!({
                "docs": {"count": docs, "deleted": deleted},
                "store": {"size_in_bytes": bytes, "total_data_set_size_in_bytes": bytes, "reserved_in_bytes": 0},
                "indexing": {
                    "index_total": counters.index_total.load(std::sync::atomic::Ordering::Relaxed),
                    "delete_total": counters.delete_total.load(std::sync::atomic::Ordering::Relaxed)
                },
                "search": {"query_total": counters.search_total.load(std::sync::atomic::Ordering::Relaxed)},
                "refresh": {"total": counters.refresh_total.load(std::sync::atomic::Ordering::Relaxed)},
                "translog": {"size_in_bytes": handle.translog_bytes()},
                "segments": {"count": counts.segments},
                "dense_vector": {
                    "value_count": handle.vectors().count(),
                    "memory_in_bytes": handle.vectors().memory_bytes()
                }
            });
            indices.insert(
                handle.name(),
                json!({"uuid": handle.uuid, "health": ShardSummary::of(std::slice::from_ref(handle)).status(), "status": "open", "primaries": stats, "total": stats}),
            );
        }
        let totals = json!({
            "docs": {"count": all_docs, "deleted": all_deleted},
            "store": {"size_in_bytes": all_bytes, "total_data_set_size_in_bytes": all_bytes, "reserved_in_bytes": 0}
        });
        let summary = shards_summary(&handles);
        Ok(json!({
            "_shards": summary,
            "_all": {"primaries": totals, "total": totals},
            "indices": Value::Object(indices)
        }))
    })
    .await?;
    Ok(Reply::ok(body))
}

/// `POST /_aliases`: `{"actions": [{"add": {...}}, {"remove": {...}}, {"remove_index": {...}}]}`.
pub async fn update_aliases(State(state): State<AppState>, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&["master_timeout", "timeout"])?;
    let body = body.required_json()?;
    let Some(actions) = body.get("actions").and_then(Value::as_array) else {
        return Err(Error::validation(&["no actions specified".to_string()]));
    };
    let mut planned: Vec<(String, String, Option<AliasDef>)> = Vec::new();
    for action in actions {
        let Some((kind, spec)) = action.as_object().and_then(|object| object.iter().next()) else {
            return Err(Error::parsing("[aliases] failed to parse field [actions]"));
        };
        let indices = string_or_list(spec, "index", "indices");
        let aliases = string_or_list(spec, "alias", "aliases");
        match kind.as_str() {
            "add" => {
                if aliases.is_empty() {
                    return Err(Error::validation(&["[alias] is required".to_string()]));
                }
                let definition: AliasDef = serde_json::from_value(json!({
                    "filter": spec.get("filter"),
                    "index_routing": spec.get("index_routing").or(spec.get("routing")),
                    "search_routing": spec.get("search_routing").or(spec.get("routing")),
                    "is_write_index": spec.get("is_write_index"),
                    "is_hidden": spec.get("is_hidden"),
                }))
                .map_err(|error| Error::illegal_argument(format!("invalid alias definition: {error}")))?;
                for index in resolve_names(&state, &indices)? {
                    for alias in &aliases {
                        crate::index::names::validate_index_name(alias)?;
                        planned.push((index.clone(), alias.clone(), Some(definition.clone())));
                    }
                }
            }
            "remove" => {
                for index in resolve_names(&state, &indices)? {
                    for alias in &aliases {
                        let exists = state.registry().get(&index).is_some_and(|handle| {
                            handle
                                .state()
                                .aliases
                                .keys()
                                .any(|name| wildmatch::WildMatch::new(alias).matches(name))
                        });
                        if !exists && !spec.get("must_exist").is_some_and(|flag| flag == false) {
                            return Err(Error::new(
                                crate::error::ErrorKind::AliasesNotFound,
                                format!("aliases [{alias}] missing"),
                            )
                            .with_meta("resource.type", "aliases")
                            .with_meta("resource.id", alias.clone()));
                        }
                        planned.push((index.clone(), alias.clone(), None));
                    }
                }
            }
            "remove_index" => {
                return Err(Error::illegal_argument(
                    "[remove_index] alias action is not supported by Iris; use DELETE /{index}",
                ));
            }
            other => {
                return Err(Error::parsing(format!("[aliases] unknown field [{other}]")));
            }
        }
    }
    blocking(move || {
        for (index, alias, definition) in planned {
            let Some(handle) = state.registry().get(&index) else {
                return Err(Error::index_not_found(&index));
            };
            handle.update_state(|next| {
                match definition {
                    Some(definition) => {
                        next.aliases.insert(alias.clone(), definition);
                    }
                    None => next
                        .aliases
                        .retain(|name, _| !wildmatch::WildMatch::new(&alias).matches(name)),
                }
                Ok(())
            })?;
        }
        Ok(())
    })
    .await?;
    Ok(Reply::ok(json!({"acknowledged": true, "errors": false})))
}

fn string_or_list(spec: &Value, single: &str, plural: &str) -> Vec<String> {
    let mut out = Vec::new();
    for key in [single, plural] {
        match spec.get(key) {
            Some(Value::String(text)) => out.push(text.clone()),
            Some(Value::Array(items)) => out.extend(items.iter().filter_map(|item| item.as_str().map(str::to_string))),
            _ => {}
        }
    }
    out
}

fn resolve_names(state: &AppState, expressions: &[String]) -> Result<Vec<String>> {
    if expressions.is_empty() {
        return Err(Error::validation(&[
            "One of [index] or [indices] is required".to_string()
        ]));
    }
    let mut names = Vec::new();
    for expression in expressions {
        for handle in state.registry().resolve(
            expression,
            ResolveOptions {
                allow_no_indices: false,
                ..ResolveOptions::default()
            },
        )? {
            names.push(handle.name());
        }
    }
    Ok(names)
}

/// Collects `{index: {"aliases": {alias: def}}}` for indices and alias patterns.
fn alias_listing(
    state: &AppState,
    path: &PathParams,
    params: &Params,
    include_empty: bool,
) -> Result<(BTreeMap<String, Value>, bool)> {
    let patterns: Vec<String> = match path.get("name") {
        "" | "_all" | "*" => Vec::new(),
        names => names.split(',').map(str::to_string).collect(),
    };
    let mut out = BTreeMap::new();
    let mut any = false;
    for handle in resolve_targets(state, path, params)? {
        let index_state = handle.state();
        let mut aliases = Map::new();
        for (name, definition) in &index_state.aliases {
            if patterns.is_empty()
                || patterns
                    .iter()
                    .any(|pattern| wildmatch::WildMatch::new(pattern).matches(name))
            {
                aliases.insert(
                    name.clone(),
                    serde_json::to_value(definition).unwrap_or_else(|_| json!({})),
                );
            }
        }
        any |= !aliases.is_empty();
        if !aliases.is_empty() || (include_empty && patterns.is_empty()) {
            out.insert(index_state.name.clone(), json!({"aliases": Value::Object(aliases)}));
        }
    }
    Ok((out, any))
}

pub async fn get_alias(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(TARGET_PARAMS)?;
    let (listing, any) = alias_listing(&state, &path, &params, true)?;
    let name = path.get("name");
    if !name.is_empty() && !name.contains('*') && !any {
        let mut body: Map<String, Value> = listing.into_iter().collect();
        body.insert("error".into(), Value::from(format!("alias [{name}] missing")));
        body.insert("status".into(), Value::from(404));
        return Ok(Reply::json(StatusCode::NOT_FOUND, Value::Object(body)));
    }
    Ok(Reply::ok(Value::Object(listing.into_iter().collect())))
}

pub async fn get_aliases(state: State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    get_alias(state, path, params).await
}

pub async fn alias_exists(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(TARGET_PARAMS)?;
    let found = alias_listing(&state, &path, &params, false).is_ok_and(|(_, any)| any);
    Ok(Reply::empty(if found { StatusCode::OK } else { StatusCode::NOT_FOUND }))
}

pub async fn put_alias(State(state): State<AppState>, path: PathParams, params: Params, body: Body) -> Result<Reply> {
    params.check_allowed(&["master_timeout", "timeout"])?;
    let mut spec = body.json()?.unwrap_or_else(|| json!({}));
    if let Value::Object(object) = &mut spec {
        object.insert("index".into(), Value::from(path.get("index")));
        object.insert("alias".into(), Value::from(path.get("name")));
    }
    let actions = Body(serde_json::to_vec(&json!({"actions": [{"add": spec}]}))?.into());
    update_aliases(State(state), Params::default(), actions).await?;
    Ok(Reply::ok(json!({"acknowledged": true, "errors": false})))
}

pub async fn delete_alias(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(&["master_timeout", "timeout"])?;
    let actions = json!({"actions": [{"remove": {"index": path.get("index"), "alias": path.get("name")}}]});
    let body = Body(serde_json::to_vec(&actions)?.into());
    update_aliases(State(state), Params::default(), body).await?;
    Ok(Reply::ok(json!({"acknowledged": true, "errors": false})))
}
