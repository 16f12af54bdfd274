//! `script_score` with ES's vector functions (see `query/script.rs` for the script subset).
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-script-score-query.html>

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use super::common::{boost_of, check_keys, named, number_f32};
use super::parse_query;
use crate::error::{Error, Result};
use crate::query::QueryAst;
use crate::query::script::parse_script;

/// Parses `{"script_score": {"query": .., "script": {"source": .., "params": {..}}, "min_score": ..}}`.
pub fn parse_script_score(body: &Value) -> Result<QueryAst> {
    let Value::Object(object) = body else {
        return Err(Error::parsing(
            "[script_score] query malformed, no start_object after query name",
        ));
    };
    check_keys("script_score", object, &["query", "script", "min_score"])?;
    let Some(query) = object.get("query") else {
        return Err(Error::parsing("[script_score] requires 'query' field"));
    };
    let (source, raw_params) = match object.get("script") {
        Some(Value::String(source)) => (source.clone(), None),
        Some(Value::Object(script)) => {
            if let Some(lang) = script.get("lang").and_then(Value::as_str)
                && lang != "painless"
            {
                return Err(Error::illegal_argument(format!(
                    "script_score: script language [{lang}] is not supported by Iris"
                )));
            }
            if script.contains_key("id") {
                return Err(Error::illegal_argument(
                    "script_score: stored scripts are not supported by Iris",
                ));
            }
            let source = script
                .get("source")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::parsing("[script] requires [source]"))?;
            (source.to_string(), script.get("params"))
        }
        _ => return Err(Error::parsing("[script_score] requires 'script' field")),
    };
    let mut params = HashMap::new();
    if let Some(Value::Object(raw_params)) = raw_params {
        for (name, value) in raw_params {
            if let Value::Array(items) = value {
                let vector = items
                    .iter()
                    .map(|item| item.as_f64().map(|number| number as f32))
                    .collect::<Option<Vec<f32>>>()
                    .ok_or_else(|| {
                        Error::illegal_argument(format!("script_score: [params.{name}] must be an array of numbers"))
                    })?;
                params.insert(name.clone(), vector);
            }
        }
    }
    let script = parse_script(&source)?;
    for (param, _) in script.vector_uses() {
        if !params.contains_key(&param) {
            return Err(Error::illegal_argument(format!(
                "script_score: the script reads [params.{param}] but no such vector parameter was given"
            )));
        }
    }
    Ok(named(
        object,
        QueryAst::ScriptScore {
            query: Box::new(parse_query(query)?),
            script: Arc::new(script),
            params: Arc::new(params),
            min_score: object.get("min_score").and_then(number_f32),
            boost: boost_of(object, "script_score")?,
        },
    ))
}
