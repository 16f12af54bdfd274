//! The ES query DSL on the wire → [`QueryAst`]. One file per query family; each parser
//! reports ES's own error types and messages (`parsing_exception` for unknown queries
//! and fields, `x_content_parse_exception` for malformed values).

pub mod common;
pub mod compound;
pub mod full_text;
pub mod knn;
pub mod query_string;
pub mod query_string_syntax;
pub mod retriever;
pub mod script_score;
pub mod term_level;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::query::QueryAst;

/// Parses one query object such as `{"match": {"title": "red"}}`.
pub fn parse_query(value: &Value) -> Result<QueryAst> {
    let Value::Object(object) = value else {
        return Err(Error::parsing(
            "[_na] query malformed, must start with start_object".to_string(),
        ));
    };
    let mut entries = object.iter();
    let Some((name, body)) = entries.next() else {
        return Err(Error::parsing("query malformed, empty clause found"));
    };
    if let Some((extra, _)) = entries.next() {
        return Err(Error::parsing(format!(
            "[{name}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]"
        ))
        .with_meta("line", 1)
        .with_meta("col", 1)
        .with_meta("extra_key", extra.clone()));
    }
    let parsed = match name.as_str() {
        "match_all" => compound::parse_match_all(body)?,
        "match_none" => QueryAst::MatchNone,
        "bool" => compound::parse_bool(body)?,
        "constant_score" => compound::parse_constant_score(body)?,
        "dis_max" => compound::parse_dis_max(body)?,
        "boosting" => compound::parse_boosting(body)?,
        "term" => term_level::parse_term(body)?,
        "terms" => term_level::parse_terms(body)?,
        "range" => term_level::parse_range(body)?,
        "exists" => term_level::parse_exists(body)?,
        "ids" => term_level::parse_ids(body)?,
        "prefix" => term_level::parse_prefix(body)?,
        "wildcard" => term_level::parse_wildcard(body)?,
        "regexp" => term_level::parse_regexp(body)?,
        "fuzzy" => term_level::parse_fuzzy(body)?,
        "match" => full_text::parse_match(body)?,
        "match_phrase" => full_text::parse_match_phrase(body)?,
        "match_phrase_prefix" => full_text::parse_match_phrase_prefix(body)?,
        "multi_match" => full_text::parse_multi_match(body)?,
        "query_string" => query_string::parse_query_string_query(body)?,
        "script_score" => script_score::parse_script_score(body)?,
        "knn" => {
            let clause = knn::parse_knn_query(body)?;
            match clause.name.clone() {
                Some(name) => QueryAst::Named {
                    name,
                    query: Box::new(QueryAst::Knn(Box::new(clause))),
                },
                None => QueryAst::Knn(Box::new(clause)),
            }
        }
        "neural" => {
            let clause = knn::parse_neural(body)?;
            match clause.name.clone() {
                Some(name) => QueryAst::Named {
                    name,
                    query: Box::new(QueryAst::Knn(Box::new(clause))),
                },
                None => QueryAst::Knn(Box::new(clause)),
            }
        }
        "simple_query_string" => query_string::parse_simple_query_string_query(body)?,
        "match_bool_prefix" | "combined_fields" | "intervals" | "nested" | "has_child" | "has_parent" | "parent_id"
        | "geo_bounding_box" | "geo_distance" | "geo_polygon" | "geo_shape" | "shape" | "more_like_this" | "script"
        | "function_score" | "percolate" | "rank_feature" | "distance_feature" | "pinned" | "wrapper" | "span_term"
        | "span_near" | "span_or" | "span_not" | "span_first" | "span_multi" | "span_containing" | "span_within"
        | "field_masking_span" | "terms_set" | "type" | "sparse_vector" | "semantic" | "text_expansion"
        | "weighted_tokens" | "rule" | "hybrid" => {
            return Err(Error::parsing(format!("[{name}] query is not supported by Iris yet")));
        }
        other => {
            return Err(Error::parsing(format!("unknown query [{other}]"))
                .with_meta("line", 1)
                .with_meta("col", 1)
                .caused_by(Error::new(
                    crate::error::ErrorKind::NamedObjectNotFound,
                    format!("[1:1] unknown field [{other}]"),
                )));
        }
    };
    Ok(parsed)
}
