//! ES retrievers (`standard`, `knn`, `rrf`, `linear`, nested to any depth) and the legacy
//! `rank: {"rrf": {...}}` option, parsed into [`Retriever`] with ES's validation messages.
//! <https://www.elastic.co/docs/reference/elasticsearch/rest-apis/retrievers>

use serde_json::{Map, Value};

use super::knn::parse_es_knn;
use super::parse_query;
use crate::error::{Error, Result};
use crate::query::ast::QueryAst;
use crate::query::retriever::{DEFAULT_RANK_CONSTANT, Normalizer, Retriever, WeightedRetriever};

fn filters(value: Option<&Value>) -> Result<Vec<QueryAst>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(parse_query).collect(),
        Some(single) => Ok(vec![parse_query(single)?]),
    }
}

/// Retriever options Elasticsearch takes that Iris does not run yet: they get a clear "not
/// supported" rather than ES's message for a field it does not know.
const UNSUPPORTED_OPTIONS: &[(&str, &str)] = &[
    ("standard", "sort"),
    ("standard", "collapse"),
    ("standard", "search_after"),
    ("standard", "terminate_after"),
    ("standard", "rescore"),
    ("rrf", "query"),
    ("rrf", "fields"),
    ("linear", "query"),
    ("linear", "fields"),
    ("linear", "min_score"),
];

fn check_keys(name: &str, object: &Map<String, Value>, allowed: &[&str]) -> Result<()> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) if UNSUPPORTED_OPTIONS.contains(&(name, key.as_str())) => Err(Error::illegal_argument(format!(
            "[{key}] in a [{name}] retriever is not supported by Iris yet"
        ))),
        Some(key) => Err(Error::x_content(format!("[1:1] [{name}] unknown field [{key}]"))),
        None => Ok(()),
    }
}

/// `min_score` of an `rrf` or `linear` retriever: a number, not negative.
fn compound_min_score(name: &str, object: &Map<String, Value>) -> Result<Option<f32>> {
    match object.get("min_score") {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_f64() {
            Some(score) if score >= 0.0 => Ok(Some(score as f32)),
            Some(score) => Err(Error::illegal_argument(format!(
                "[min_score] must be greater than or equal to 0, was: [{}]",
                crate::encoding::java_decimal(score as f32)
            ))),
            None => Err(Error::x_content(format!(
                "[1:1] [{name}] failed to parse field [min_score]"
            ))),
        },
    }
}

fn positive(object: &Map<String, Value>, name: &str, key: &str) -> Result<Option<usize>> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => match value.as_i64() {
            Some(number) if number > 0 => Ok(Some(number as usize)),
            Some(_) => Err(Error::illegal_argument(format!(
                "[{key}] must be greater than 0 for [{name}]"
            ))),
            None => Err(Error::x_content(format!(
                "[1:1] [{name}] failed to parse field [{key}]"
            ))),
        },
    }
}

/// Parses a normalizer name (case-insensitive, as ES's `ScoreNormalizer.valueOf`).
pub fn parse_normalizer(value: &Value) -> Result<Normalizer> {
    let Some(name) = value.as_str() else {
        return Err(Error::x_content("[1:1] [linear] failed to parse field [normalizer]"));
    };
    match name.to_ascii_lowercase().as_str() {
        "none" => Ok(Normalizer::None),
        "minmax" => Ok(Normalizer::MinMax),
        "l2_norm" => Ok(Normalizer::L2Norm),
        _ => Err(Error::illegal_argument(format!("Unknown normalizer [{name}]"))),
    }
}

/// Parses a `retriever` object: exactly one retriever type.
pub fn parse_retriever(value: &Value) -> Result<Retriever> {
    let Some((name, body)) = value
        .as_object()
        .filter(|object| object.len() == 1)
        .and_then(|object| object.iter().next())
    else {
        return Err(Error::parsing(
            "retriever must be an object with exactly one retriever type",
        ));
    };
    let Value::Object(body) = body else {
        return Err(Error::x_content(format!("[1:1] [{name}] must be an object")));
    };
    match name.as_str() {
        "standard" => {
            check_keys(name, body, &["query", "filter", "min_score", "_name"])?;
            let query = match body.get("query") {
                Some(query) => parse_query(query)?,
                None => QueryAst::MatchAll { boost: 1.0 },
            };
            let min_score = match body.get("min_score") {
                None | Some(Value::Null) => None,
                Some(value) => Some(
                    value
                        .as_f64()
                        .ok_or_else(|| Error::x_content("[1:1] [standard] failed to parse field [min_score]"))?
                        as f32,
                ),
            };
            Ok(Retriever::Standard {
                query,
                filter: filters(body.get("filter"))?,
                min_score,
                name: body.get("_name").and_then(Value::as_str).map(str::to_string),
            })
        }
        "knn" => {
            for required in ["field", "k", "num_candidates"] {
                if !body.contains_key(required) {
                    return Err(Error::illegal_argument(format!(
                        "[knn] retriever requires [{required}]"
                    )));
                }
            }
            Ok(Retriever::Knn(parse_es_knn(&Value::Object(body.clone()))?))
        }
        "rrf" => {
            check_keys(
                name,
                body,
                &[
                    "retrievers",
                    "rank_window_size",
                    "rank_constant",
                    "filter",
                    "min_score",
                    "_name",
                ],
            )?;
            let rank_constant = match body.get("rank_constant") {
                None | Some(Value::Null) => DEFAULT_RANK_CONSTANT,
                Some(value) => match value.as_i64() {
                    Some(constant) if constant >= 1 => constant as u32,
                    Some(_) => {
                        return Err(Error::illegal_argument(
                            "[rank_constant] must be greater or equal to [1] for [rrf]",
                        ));
                    }
                    None => return Err(Error::x_content("[1:1] [rrf] failed to parse field [rank_constant]")),
                },
            };
            Ok(Retriever::Rrf {
                children: children(name, body, None)?,
                rank_window_size: positive(body, name, "rank_window_size")?,
                rank_constant,
                filter: filters(body.get("filter"))?,
                min_score: compound_min_score(name, body)?,
            })
        }
        "linear" => {
            check_keys(
                name,
                body,
                &[
                    "retrievers",
                    "rank_window_size",
                    "normalizer",
                    "filter",
                    "min_score",
                    "_name",
                ],
            )?;
            let default_normalizer = body.get("normalizer").map(parse_normalizer).transpose()?;
            Ok(Retriever::Linear {
                children: children(name, body, Some(default_normalizer.unwrap_or(Normalizer::None)))?,
                rank_window_size: positive(body, name, "rank_window_size")?,
                filter: filters(body.get("filter"))?,
                min_score: compound_min_score(name, body)?,
            })
        }
        "text_similarity_reranker" | "rule" | "pinned" | "rescorer" | "diversify" => {
            Err(Error::illegal_argument(format!(
                "the [{name}] retriever is not supported by Iris; supported retrievers: standard, knn, rrf, linear"
            )))
        }
        other => Err(Error::x_content(format!("[1:1] unknown retriever [{other}]"))),
    }
}

/// The `retrievers` list of a compound retriever: plain retriever objects, or
/// `{"retriever": ..., "weight": w, "normalizer": n}` entries (ES 9.2 weighted form).
fn children(
    name: &str,
    body: &Map<String, Value>,
    linear_default: Option<Normalizer>,
) -> Result<Vec<WeightedRetriever>> {
    let Some(Value::Array(entries)) = body.get("retrievers") else {
        return Err(Error::illegal_argument(format!("[{name}] requires [retrievers]")));
    };
    if entries.is_empty() {
        return Err(Error::illegal_argument(format!(
            "[{name}] requires at least one retriever in [retrievers]"
        )));
    }
    entries
        .iter()
        .map(|entry| {
            let Some(object) = entry.as_object() else {
                return Err(Error::x_content(format!("[1:1] [{name}] failed to parse field [retrievers]")));
            };
            if !object.contains_key("retriever") {
                if linear_default.is_some() {
                    // ES's linear retriever always takes the wrapped form.
                    return Err(Error::illegal_argument(
                        "[linear] retrievers must be given as {\"retriever\": ..., \"weight\": ..., \"normalizer\": ...}",
                    ));
                }
                return Ok(WeightedRetriever {
                    retriever: parse_retriever(entry)?,
                    weight: 1.0,
                    normalizer: Normalizer::None,
                });
            }
            check_keys(name, object, &["retriever", "weight", "normalizer"])?;
            let weight = match object.get("weight") {
                None | Some(Value::Null) => 1.0,
                Some(value) => value
                    .as_f64()
                    .ok_or_else(|| Error::x_content(format!("[1:1] [{name}] failed to parse field [weight]")))?
                    as f32,
            };
            if weight < 0.0 {
                return Err(Error::illegal_argument("[weight] must be non-negative"));
            }
            let normalizer = match (object.get("normalizer"), linear_default) {
                (Some(value), Some(_)) => parse_normalizer(value)?,
                (None, Some(default)) => default,
                (Some(_), None) => {
                    return Err(Error::x_content(format!("[1:1] [{name}] unknown field [normalizer]")));
                }
                (None, None) => Normalizer::None,
            };
            Ok(WeightedRetriever {
                retriever: parse_retriever(&object["retriever"])?,
                weight,
                normalizer,
            })
        })
        .collect()
}

/// The legacy `rank: {"rrf": {"rank_window_size" (or `window_size`), "rank_constant"}}`:
/// returns the window (None: ES's default) and the constant.
pub fn parse_legacy_rank(value: &Value) -> Result<(Option<usize>, u32)> {
    let Some(Value::Object(rrf)) = value.get("rrf") else {
        return Err(Error::x_content("[1:1] [rank] supports only [rrf]"));
    };
    check_keys("rrf", rrf, &["rank_window_size", "window_size", "rank_constant"])?;
    let window = match positive(rrf, "rrf", "rank_window_size")? {
        Some(window) => Some(window),
        None => positive(rrf, "rrf", "window_size")?,
    };
    let constant = match rrf.get("rank_constant").and_then(Value::as_i64) {
        None => DEFAULT_RANK_CONSTANT,
        Some(constant) if constant >= 1 => constant as u32,
        Some(_) => {
            return Err(Error::illegal_argument(
                "[rank_constant] must be greater or equal to [1] for [rrf]",
            ));
        }
    };
    Ok((window, constant))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nested_retrievers_with_weights_and_normalizers() {
        let parsed = parse_retriever(&json!({"rrf": {
            "retrievers": [
                {"standard": {"query": {"match": {"caption": "cat"}}, "min_score": 0.5}},
                {"retriever": {"knn": {"field": "v", "query_vector": [1, 0], "k": 5, "num_candidates": 10}}, "weight": 2},
                {"linear": {"retrievers": [
                    {"retriever": {"standard": {}}, "weight": 0.5, "normalizer": "MinMax"},
                    {"retriever": {"standard": {}}}
                ], "normalizer": "l2_norm"}}
            ],
            "rank_window_size": 50,
            "rank_constant": 20
        }}))
        .expect("valid");
        let Retriever::Rrf {
            children,
            rank_window_size,
            rank_constant,
            ..
        } = parsed
        else {
            panic!("rrf");
        };
        assert_eq!((rank_window_size, rank_constant), (Some(50), 20));
        assert_eq!(children[1].weight, 2.0);
        assert!(matches!(children[1].retriever, Retriever::Knn(_)));
        let Retriever::Linear { children: inner, .. } = &children[2].retriever else {
            panic!("linear");
        };
        assert_eq!(inner[0].normalizer, Normalizer::MinMax);
        assert_eq!(inner[1].normalizer, Normalizer::L2Norm);
        assert_eq!(inner[1].weight, 1.0);
    }

    #[test]
    fn validation_messages_follow_es() {
        let error = |value: Value| parse_retriever(&value).unwrap_err().reason;
        assert_eq!(
            error(json!({"rrf": {"retrievers": [{"standard": {}}], "rank_constant": 0}})),
            "[rank_constant] must be greater or equal to [1] for [rrf]"
        );
        assert_eq!(
            error(json!({"linear": {"retrievers": [{"retriever": {"standard": {}}, "weight": -1}]}})),
            "[weight] must be non-negative"
        );
        assert_eq!(
            error(json!({"linear": {"retrievers": [{"retriever": {"standard": {}}, "normalizer": "zz"}]}})),
            "Unknown normalizer [zz]"
        );
        assert_eq!(error(json!({"nope": {}})), "[1:1] unknown retriever [nope]");
        assert_eq!(
            error(json!({"knn": {"field": "v", "query_vector": [1], "k": 1}})),
            "[knn] retriever requires [num_candidates]"
        );
        assert_eq!(
            parse_legacy_rank(&json!({"rrf": {"window_size": 7, "rank_constant": 3}})).expect("rank"),
            (Some(7), 3)
        );
    }
}
