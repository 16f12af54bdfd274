//! Full-text queries: `match`, `match_phrase`, `match_phrase_prefix`, `multi_match`.

use serde_json::{Map, Value};

use super::common::{
    bool_of, boost_of, check_keys, named, named_opt, number_f32, one_field, parse_fuzziness,
    parse_minimum_should_match, scalar_text,
};
use crate::error::{Error, Result};
use crate::query::ast::{BoostedField, MatchOptions, MultiMatchType};
use crate::query::{Operator, QueryAst};

fn match_options(object: &Map<String, Value>) -> Result<MatchOptions> {
    let operator = match object
        .get("operator")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("or") => Operator::Or,
        Some("and") => Operator::And,
        Some(other) => {
            return Err(Error::illegal_argument(format!(
                "operator needs to be either [and] or [or], but was [{other}]"
            )));
        }
    };
    Ok(MatchOptions {
        operator,
        minimum_should_match: object
            .get("minimum_should_match")
            .map(parse_minimum_should_match)
            .transpose()?,
        fuzziness: object.get("fuzziness").map(parse_fuzziness).transpose()?,
        prefix_length: object.get("prefix_length").and_then(Value::as_u64).unwrap_or(0) as usize,
        analyzer: object.get("analyzer").and_then(Value::as_str).map(str::to_string),
        lenient: bool_of(object.get("lenient"), false),
        zero_terms_all: object.get("zero_terms_query").and_then(Value::as_str) == Some("all"),
    })
}

const MATCH_KEYS: &[&str] = &[
    "query",
    "operator",
    "minimum_should_match",
    "fuzziness",
    "prefix_length",
    "max_expansions",
    "fuzzy_transpositions",
    "fuzzy_rewrite",
    "analyzer",
    "lenient",
    "zero_terms_query",
    "auto_generate_synonyms_phrase_query",
    "cutoff_frequency",
];

pub fn parse_match(body: &Value) -> Result<QueryAst> {
    let (field, value) = one_field("match", body)?;
    match value {
        Value::Object(object) => {
            check_keys("match", object, MATCH_KEYS)?;
            let Some(query) = object.get("query") else {
                return Err(Error::illegal_argument("[match] requires query value".to_string()));
            };
            Ok(named(
                object,
                QueryAst::Match {
                    field: field.to_string(),
                    query: query.clone(),
                    options: match_options(object)?,
                    boost: boost_of(object, "match")?,
                },
            ))
        }
        Value::Array(_) => Err(Error::parsing(format!(
            "[match] unknown token [START_ARRAY] after [{field}]"
        ))),
        scalar => Ok(QueryAst::Match {
            field: field.to_string(),
            query: scalar.clone(),
            options: MatchOptions::default(),
            boost: 1.0,
        }),
    }
}

/// (field, query text, slop, analyzer, boost, long-form object).
type PhraseParts<'a> = (String, String, u32, Option<String>, f32, Option<&'a Map<String, Value>>);

fn phrase_parts<'a>(query_name: &str, body: &'a Value, allowed: &[&str]) -> Result<PhraseParts<'a>> {
    let (field, value) = one_field(query_name, body)?;
    match value {
        Value::Object(object) => {
            check_keys(query_name, object, allowed)?;
            let query = object
                .get("query")
                .and_then(scalar_text)
                .ok_or_else(|| Error::illegal_argument(format!("[{query_name}] requires query value")))?;
            let slop = object.get("slop").and_then(Value::as_u64).unwrap_or(0) as u32;
            let analyzer = object.get("analyzer").and_then(Value::as_str).map(str::to_string);
            Ok((
                field.to_string(),
                query,
                slop,
                analyzer,
                boost_of(object, query_name)?,
                Some(object),
            ))
        }
        scalar => {
            let query = scalar_text(scalar)
                .ok_or_else(|| Error::parsing(format!("[{query_name}] unknown token after [{field}]")))?;
            Ok((field.to_string(), query, 0, None, 1.0, None))
        }
    }
}

pub fn parse_match_phrase(body: &Value) -> Result<QueryAst> {
    let (field, query, slop, analyzer, boost, object) =
        phrase_parts("match_phrase", body, &["query", "slop", "analyzer", "zero_terms_query"])?;
    let ast = QueryAst::MatchPhrase {
        field,
        query,
        slop,
        analyzer,
        boost,
    };
    Ok(named_opt(object, ast))
}

pub fn parse_match_phrase_prefix(body: &Value) -> Result<QueryAst> {
    let (field, query, slop, _, boost, object) = phrase_parts(
        "match_phrase_prefix",
        body,
        &["query", "slop", "analyzer", "max_expansions", "zero_terms_query"],
    )?;
    let max_expansions = object
        .and_then(|object| object.get("max_expansions"))
        .and_then(Value::as_u64)
        .unwrap_or(50) as usize;
    let ast = QueryAst::MatchPhrasePrefix {
        field,
        query,
        slop,
        max_expansions,
        boost,
    };
    Ok(named_opt(object, ast))
}

/// Parses `"title^2"` into a boosted field.
pub fn parse_boosted_field(spec: &str) -> Result<BoostedField> {
    match spec.split_once('^') {
        Some((field, boost)) => Ok(BoostedField {
            field: field.to_string(),
            boost: boost
                .parse()
                .map_err(|_| Error::parsing(format!("failed to parse boost of field [{spec}]")))?,
        }),
        None => Ok(BoostedField {
            field: spec.to_string(),
            boost: 1.0,
        }),
    }
}

pub fn parse_multi_match(body: &Value) -> Result<QueryAst> {
    let Value::Object(object) = body else {
        return Err(Error::parsing(
            "[multi_match] query malformed, no start_object after query name",
        ));
    };
    let mut allowed = MATCH_KEYS.to_vec();
    allowed.extend_from_slice(&["fields", "type", "tie_breaker", "slop"]);
    check_keys("multi_match", object, &allowed)?;
    let Some(query) = object.get("query") else {
        return Err(Error::parsing("No text specified for multi_match query"));
    };
    let fields = match object.get("fields") {
        None => vec![BoostedField {
            field: "*".into(),
            boost: 1.0,
        }],
        Some(Value::String(single)) => vec![parse_boosted_field(single)?],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| Error::parsing("[multi_match] unknown token in [fields]"))
                    .and_then(parse_boosted_field)
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(Error::parsing("[multi_match] unknown token in [fields]")),
    };
    let kind = match object.get("type").and_then(Value::as_str).unwrap_or("best_fields") {
        "best_fields" => MultiMatchType::BestFields,
        "most_fields" => MultiMatchType::MostFields,
        "cross_fields" => MultiMatchType::CrossFields,
        "phrase" => MultiMatchType::Phrase,
        "phrase_prefix" => MultiMatchType::PhrasePrefix,
        "bool_prefix" => MultiMatchType::BoolPrefix,
        other => {
            return Err(Error::parsing(format!(
                "[multi_match] query does not allow type [{other}]"
            )));
        }
    };
    Ok(named(
        object,
        QueryAst::MultiMatch {
            fields,
            query: query.clone(),
            kind,
            tie_breaker: object.get("tie_breaker").and_then(number_f32),
            slop: object.get("slop").and_then(Value::as_u64).unwrap_or(0) as u32,
            options: match_options(object)?,
            boost: boost_of(object, "multi_match")?,
        },
    ))
}
