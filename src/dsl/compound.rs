//! Compound queries: `match_all`, `bool`, `constant_score`, `dis_max`, `boosting`.

use serde_json::{Map, Value};

use super::common::{boost_of, check_keys, named, number_f32, parse_minimum_should_match};
use super::parse_query;
use crate::error::{Error, Result};
use crate::query::QueryAst;

fn object<'a>(query_name: &str, body: &'a Value) -> Result<&'a Map<String, Value>> {
    body.as_object().ok_or_else(|| {
        Error::parsing(format!(
            "[{query_name}] query malformed, no start_object after query name"
        ))
    })
}

pub fn parse_match_all(body: &Value) -> Result<QueryAst> {
    let body = object("match_all", body)?;
    check_keys("match_all", body, &[])?;
    Ok(named(
        body,
        QueryAst::MatchAll {
            boost: boost_of(body, "match_all")?,
        },
    ))
}

/// Reads a clause list given as one query object or an array of them.
fn clauses(value: Option<&Value>) -> Result<Vec<QueryAst>> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(parse_query).collect(),
        Some(single) => Ok(vec![parse_query(single)?]),
    }
}

pub fn parse_bool(body: &Value) -> Result<QueryAst> {
    let body = object("bool", body)?;
    for key in body.keys() {
        if ![
            "must",
            "should",
            "filter",
            "must_not",
            "minimum_should_match",
            "boost",
            "_name",
            "adjust_pure_negative",
        ]
        .contains(&key.as_str())
        {
            return Err(Error::parsing(format!("[bool] query does not support [{key}]")));
        }
    }
    let minimum_should_match = match body.get("minimum_should_match") {
        Some(value) => Some(parse_minimum_should_match(value)?),
        None => None,
    };
    Ok(named(
        body,
        QueryAst::Bool {
            must: clauses(body.get("must"))?,
            should: clauses(body.get("should"))?,
            filter: clauses(body.get("filter"))?,
            must_not: clauses(body.get("must_not"))?,
            minimum_should_match,
            boost: boost_of(body, "bool")?,
        },
    ))
}

pub fn parse_constant_score(body: &Value) -> Result<QueryAst> {
    let body = object("constant_score", body)?;
    check_keys("constant_score", body, &["filter"])?;
    let Some(filter) = body.get("filter") else {
        return Err(Error::parsing("[constant_score] requires a 'filter' element"));
    };
    Ok(named(
        body,
        QueryAst::ConstantScore {
            filter: Box::new(parse_query(filter)?),
            boost: boost_of(body, "constant_score")?,
        },
    ))
}

pub fn parse_dis_max(body: &Value) -> Result<QueryAst> {
    let body = object("dis_max", body)?;
    check_keys("dis_max", body, &["queries", "tie_breaker"])?;
    let queries = clauses(body.get("queries"))?;
    if queries.is_empty() {
        return Err(Error::parsing(
            "[dis_max] requires 'queries' field with at least one clause",
        ));
    }
    let tie_breaker = body.get("tie_breaker").and_then(number_f32).unwrap_or(0.0);
    Ok(named(
        body,
        QueryAst::DisMax {
            queries,
            tie_breaker,
            boost: boost_of(body, "dis_max")?,
        },
    ))
}

pub fn parse_boosting(body: &Value) -> Result<QueryAst> {
    let body = object("boosting", body)?;
    check_keys("boosting", body, &["positive", "negative", "negative_boost"])?;
    let positive = body
        .get("positive")
        .ok_or_else(|| Error::parsing("[boosting] query requires 'positive' query"))?;
    let negative = body
        .get("negative")
        .ok_or_else(|| Error::parsing("[boosting] query requires 'negative' query"))?;
    let negative_boost = body.get("negative_boost").and_then(number_f32).ok_or_else(|| {
        Error::parsing("[boosting] query requires 'negative_boost' to be set to be a positive value'")
    })?;
    if negative_boost < 0.0 {
        return Err(Error::parsing(
            "[boosting] query requires 'negative_boost' to be set to be a positive value'",
        ));
    }
    Ok(named(
        body,
        QueryAst::Boosting {
            positive: Box::new(parse_query(positive)?),
            negative: Box::new(parse_query(negative)?),
            negative_boost,
            boost: boost_of(body, "boosting")?,
        },
    ))
}
