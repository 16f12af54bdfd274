//! `_cat` APIs: aligned text tables (`v` for headers, `h` to pick columns, `s` to sort)
//! or JSON rows with `format=json`.

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value};

use super::{ShardSummary, replicas_of, resolve_targets};
use crate::AppState;
use crate::api::extract::{Params, PathParams};
use crate::api::response::Reply;
use crate::error::{Error, Result};

const CAT_PARAMS: &[&str] = &[
    "v",
    "h",
    "s",
    "help",
    "bytes",
    "local",
    "master_timeout",
    "expand_wildcards",
    "health",
    "pri",
    "time",
    "include_unloaded_segments",
];

struct Column {
    name: &'static str,
    numeric: bool,
    /// Shown without `h`; other columns only when asked for, as in ES.
    default: bool,
}

impl Column {
    /// A left-aligned text column.
    const fn text(name: &'static str) -> Column {
        Column {
            name,
            numeric: false,
            default: true,
        }
    }

    /// A right-aligned numeric column (sorted numerically).
    const fn number(name: &'static str) -> Column {
        Column {
            name,
            numeric: true,
            default: true,
        }
    }

    /// A numeric column listed only when `h` names it.
    const fn extra_number(name: &'static str) -> Column {
        Column {
            name,
            numeric: true,
            default: false,
        }
    }
}

/// Formats a byte count as ES's `ByteSizeValue` does ("249b", "4.5kb", "1mb").
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["kb", "mb", "gb", "tb", "pb"];
    if bytes < 1024 {
        return format!("{bytes}b");
    }
    let mut value = bytes as f64;
    let mut unit = "b";
    for candidate in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = candidate;
    }
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{}{unit}", rounded as u64)
    } else {
        format!("{rounded:.1}{unit}")
    }
}

fn render(columns: &[Column], rows: Vec<Vec<String>>, params: &Params) -> Result<Reply> {
    let selected: Vec<usize> = match params.list("h") {
        Some(names) => names
            .iter()
            .map(|name| {
                columns
                    .iter()
                    .position(|column| column.name == name)
                    .ok_or_else(|| Error::illegal_argument(format!("header [{name}] does not exist")))
            })
            .collect::<Result<_>>()?,
        None => (0..columns.len()).filter(|&at| columns[at].default).collect(),
    };
    let mut rows = rows;
    if let Some(sorts) = params.list("s") {
        for sort in sorts.iter().rev() {
            let (name, descending) = match sort.split_once(':') {
                Some((name, order)) => (name, order == "desc"),
                None => (sort.as_str(), false),
            };
            let Some(at) = columns.iter().position(|column| column.name == name) else {
                return Err(Error::illegal_argument(format!(
                    "Unable to sort by unknown sort key `{name}`"
                )));
            };
            let numeric = columns[at].numeric;
            rows.sort_by(|left, right| {
                let ordering = if numeric {
                    let parse = |text: &str| text.parse::<f64>().unwrap_or(f64::NEG_INFINITY);
                    parse(&left[at]).total_cmp(&parse(&right[at]))
                } else {
                    left[at].cmp(&right[at])
                };
                if descending { ordering.reverse() } else { ordering }
            });
        }
    }
    if params.get("format") == Some("json") {
        let json_rows: Vec<Value> = rows
            .iter()
            .map(|row| {
                let object: Map<String, Value> = selected
                    .iter()
                    .map(|&at| (columns[at].name.to_string(), Value::from(row[at].clone())))
                    .collect();
                Value::Object(object)
            })
            .collect();
        return Ok(Reply::ok(Value::Array(json_rows)));
    }
    let with_header = params.bool("v", false)?;
    let mut table: Vec<Vec<String>> = Vec::new();
    if with_header {
        table.push(selected.iter().map(|&at| columns[at].name.to_string()).collect());
    }
    for row in &rows {
        table.push(selected.iter().map(|&at| row[at].clone()).collect());
    }
    let widths: Vec<usize> = (0..selected.len())
        .map(|position| table.iter().map(|row| row[position].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for (row_index, row) in table.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(position, cell)| {
                let right = columns[selected[position]].numeric && !(with_header && row_index == 0);
                if right {
                    format!("{cell:>width$}", width = widths[position])
                } else {
                    format!("{cell:<width$}", width = widths[position])
                }
            })
            .collect();
        text.push_str(cells.join(" ").trim_end());
        text.push('\n');
    }
    Ok(Reply::text(StatusCode::OK, text))
}

pub async fn indices(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(CAT_PARAMS)?;
    let handles = resolve_targets(&state, &path, &params)?;
    let columns = [
        Column::text("health"),
        Column::text("status"),
        Column::text("index"),
        Column::text("uuid"),
        Column::number("pri"),
        Column::number("rep"),
        Column::number("docs.count"),
        Column::number("docs.deleted"),
        Column::number("store.size"),
        Column::number("pri.store.size"),
        Column::number("dataset.size"),
        Column::extra_number("dense_vector.value_count"),
        Column::extra_number("vectors.memory"),
    ];
    let raw_bytes = params.get("bytes") == Some("b");
    let rows = super::blocking(move || {
        Ok(handles
            .iter()
            .map(|handle| {
                let counts = handle.doc_counts();
                let replicas = replicas_of(handle);
                let size = handle.store_size_bytes();
                let size_text = if raw_bytes { size.to_string() } else { human_bytes(size) };
                vec![
                    ShardSummary::of(std::slice::from_ref(handle)).status().to_string(),
                    "open".to_string(),
                    handle.name(),
                    handle.uuid.clone(),
                    "1".to_string(),
                    replicas.to_string(),
                    counts.live.to_string(),
                    counts.deleted.to_string(),
                    size_text.clone(),
                    size_text.clone(),
                    size_text,
                    handle.vectors().count().to_string(),
                    if raw_bytes {
                        handle.vectors().memory_bytes().to_string()
                    } else {
                        human_bytes(handle.vectors().memory_bytes())
                    },
                ]
            })
            .collect::<Vec<_>>())
    })
    .await?;
    render(&columns, rows, &params)
}

pub async fn health(State(state): State<AppState>, params: Params) -> Result<Reply> {
    params.check_allowed(CAT_PARAMS)?;
    let shards = ShardSummary::of(&state.registry().all());
    let now = chrono::Utc::now();
    let columns = [
        Column::number("epoch"),
        Column::text("timestamp"),
        Column::text("cluster"),
        Column::text("status"),
        Column::number("node.total"),
        Column::number("node.data"),
        Column::number("shards"),
        Column::number("pri"),
        Column::number("relo"),
        Column::number("init"),
        Column::number("unassign"),
        Column::number("unassign.pri"),
        Column::number("pending_tasks"),
        Column::text("max_task_wait_time"),
        Column::text("active_shards_percent"),
    ];
    let row = vec![
        now.timestamp().to_string(),
        now.format("%H:%M:%S").to_string(),
        state.cluster().cluster_name.clone(),
        shards.status().to_string(),
        "1".into(),
        "1".into(),
        shards.primaries.to_string(),
        shards.primaries.to_string(),
        "0".into(),
        "0".into(),
        shards.unassigned.to_string(),
        "0".into(),
        "0".into(),
        "-".into(),
        format!("{:.1}%", shards.active_percent()),
    ];
    render(&columns, vec![row], &params)
}

pub async fn count(State(state): State<AppState>, path: PathParams, params: Params) -> Result<Reply> {
    params.check_allowed(CAT_PARAMS)?;
    let handles = resolve_targets(&state, &path, &params)?;
    let total: u64 = handles.iter().map(|handle| handle.doc_counts().live).sum();
    let now = chrono::Utc::now();
    let columns = [
        Column::number("epoch"),
        Column::text("timestamp"),
        Column::number("count"),
    ];
    render(
        &columns,
        vec![vec![
            now.timestamp().to_string(),
            now.format("%H:%M:%S").to_string(),
            total.to_string(),
        ]],
        &params,
    )
}

pub async fn aliases(State(state): State<AppState>, params: Params) -> Result<Reply> {
    params.check_allowed(CAT_PARAMS)?;
    let columns = [
        Column::text("alias"),
        Column::text("index"),
        Column::text("filter"),
        Column::text("routing.index"),
        Column::text("routing.search"),
        Column::text("is_write_index"),
    ];
    let mut rows = Vec::new();
    for handle in state.registry().all() {
        let index_state = handle.state();
        for (alias, definition) in &index_state.aliases {
            rows.push(vec![
                alias.clone(),
                index_state.name.clone(),
                if definition.filter.is_some() { "*" } else { "-" }.to_string(),
                definition.index_routing.clone().unwrap_or_else(|| "-".into()),
                definition.search_routing.clone().unwrap_or_else(|| "-".into()),
                definition
                    .is_write_index
                    .map(|flag| flag.to_string())
                    .unwrap_or_else(|| "-".into()),
            ]);
        }
    }
    render(&columns, rows, &params)
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn formats_bytes_like_es() {
        assert_eq!(human_bytes(249), "249b");
        assert_eq!(human_bytes(4608), "4.5kb");
        assert_eq!(human_bytes(1024 * 1024), "1mb");
    }
}
