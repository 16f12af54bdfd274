//! `query_string`, `simple_query_string` and URI search (`q=`): the parsed query-string
//! syntax tree ([`super::query_string_syntax`]) turned into [`QueryAst`].
//!
//! Terms without a field apply to the default fields (`default_field`/`fields`, ES default
//! `*`, i.e. every searchable field) through [`QueryAst::AnyField`], which the engine
//! expands against each index's mapping.

use serde_json::{Map, Value};

use super::common::{bool_of, boost_of, check_keys, named, number_f32, parse_fuzziness, parse_minimum_should_match};
use super::full_text::parse_boosted_field;
use super::query_string_syntax::{
    DefaultOperator, Occur, QsError, QsNode, SimpleFlags, parse_query_string, parse_simple_query_string,
};
use crate::error::{Error, ErrorKind, Result};
use crate::query::ast::{BoostedField, MatchOptions, RangeBounds};
use crate::query::{Fuzziness, MinimumShouldMatch, Operator, QueryAst};

/// Options that shape how query-string nodes become queries.
#[derive(Debug, Clone)]
pub struct QueryStringOptions {
    pub fields: Vec<BoostedField>,
    pub default_operator: DefaultOperator,
    pub analyzer: Option<String>,
    pub fuzziness: Fuzziness,
    pub phrase_slop: u32,
    pub lenient: bool,
    pub tie_breaker: f32,
    pub minimum_should_match: Option<MinimumShouldMatch>,
    pub time_zone: Option<String>,
}

impl Default for QueryStringOptions {
    fn default() -> QueryStringOptions {
        QueryStringOptions {
            fields: vec![BoostedField {
                field: "*".into(),
                boost: 1.0,
            }],
            default_operator: DefaultOperator::Or,
            analyzer: None,
            fuzziness: Fuzziness::Auto { low: 3, high: 6 },
            phrase_slop: 0,
            lenient: false,
            tie_breaker: 0.0,
            minimum_should_match: None,
            time_zone: None,
        }
    }
}

fn syntax_error(error: QsError) -> Error {
    let cause_kind = match error {
        QsError::Syntax { .. } => ErrorKind::Parse,
        QsError::UnknownFlag(_) => ErrorKind::IllegalArgument,
    };
    let kind = match error {
        QsError::Syntax { .. } => ErrorKind::QueryShard,
        QsError::UnknownFlag(_) => ErrorKind::IllegalArgument,
    };
    Error::new(kind, error.reason()).caused_by(Error::new(cause_kind, error.cause()))
}

fn parse_operator(value: Option<&Value>) -> Result<DefaultOperator> {
    match value.and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
        None | Some("or") => Ok(DefaultOperator::Or),
        Some("and") => Ok(DefaultOperator::And),
        Some(other) => Err(Error::illegal_argument(format!(
            "operator needs to be either [and] or [or], but was [{other}]"
        ))),
    }
}

fn parse_fields(object: &Map<String, Value>) -> Result<Vec<BoostedField>> {
    if let Some(fields) = object.get("fields") {
        let Value::Array(items) = fields else {
            return Err(Error::parsing("[fields] must be an array"));
        };
        return items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| Error::parsing("[fields] must contain strings"))
                    .and_then(parse_boosted_field)
            })
            .collect();
    }
    if let Some(field) = object.get("default_field").and_then(Value::as_str) {
        return Ok(vec![parse_boosted_field(field)?]);
    }
    Ok(QueryStringOptions::default().fields)
}

fn common_options(object: &Map<String, Value>) -> Result<QueryStringOptions> {
    Ok(QueryStringOptions {
        fields: parse_fields(object)?,
        default_operator: parse_operator(object.get("default_operator"))?,
        analyzer: object.get("analyzer").and_then(Value::as_str).map(str::to_string),
        fuzziness: match object.get("fuzziness") {
            Some(value) => parse_fuzziness(value)?,
            None => Fuzziness::Auto { low: 3, high: 6 },
        },
        phrase_slop: object.get("phrase_slop").and_then(Value::as_u64).unwrap_or(0) as u32,
        lenient: bool_of(object.get("lenient"), false),
        tie_breaker: object.get("tie_breaker").and_then(number_f32).unwrap_or(0.0),
        minimum_should_match: object
            .get("minimum_should_match")
            .map(parse_minimum_should_match)
            .transpose()?,
        time_zone: object.get("time_zone").and_then(Value::as_str).map(str::to_string),
    })
}

const QUERY_STRING_KEYS: &[&str] = &[
    "query",
    "default_field",
    "fields",
    "default_operator",
    "analyzer",
    "quote_analyzer",
    "allow_leading_wildcard",
    "analyze_wildcard",
    "enable_position_increments",
    "fuzziness",
    "fuzzy_max_expansions",
    "fuzzy_prefix_length",
    "fuzzy_transpositions",
    "phrase_slop",
    "lenient",
    "minimum_should_match",
    "quote_field_suffix",
    "rewrite",
    "time_zone",
    "type",
    "tie_breaker",
    "auto_generate_synonyms_phrase_query",
    "max_determinized_states",
    "escape",
];

const SIMPLE_KEYS: &[&str] = &[
    "query",
    "fields",
    "default_operator",
    "analyzer",
    "flags",
    "fuzzy_max_expansions",
    "fuzzy_prefix_length",
    "fuzzy_transpositions",
    "lenient",
    "minimum_should_match",
    "quote_field_suffix",
    "analyze_wildcard",
    "auto_generate_synonyms_phrase_query",
];

/// Parses `{"query_string": {...}}`.
pub fn parse_query_string_query(body: &Value) -> Result<QueryAst> {
    let Value::Object(object) = body else {
        return Err(Error::parsing(
            "[query_string] query malformed, no start_object after query name",
        ));
    };
    check_keys("query_string", object, QUERY_STRING_KEYS)?;
    let Some(text) = object.get("query").and_then(Value::as_str) else {
        return Err(Error::parsing("[query_string] requires 'query' field"));
    };
    let options = common_options(object)?;
    let tree = parse_query_string(text, options.default_operator).map_err(syntax_error)?;
    let query = convert(&tree, &options, true);
    Ok(named(object, with_boost(query, boost_of(object, "query_string")?)))
}

/// Parses `{"simple_query_string": {...}}`; it never fails on bad syntax.
pub fn parse_simple_query_string_query(body: &Value) -> Result<QueryAst> {
    let Value::Object(object) = body else {
        return Err(Error::parsing(
            "[simple_query_string] query malformed, no start_object after query name",
        ));
    };
    check_keys("simple_query_string", object, SIMPLE_KEYS)?;
    let Some(text) = object.get("query").and_then(Value::as_str) else {
        return Err(Error::parsing("[simple_query_string] requires 'query' field"));
    };
    let mut options = common_options(object)?;
    // simple_query_string is always lenient about values that don't fit a field.
    options.lenient = true;
    let flags = match object.get("flags") {
        Some(Value::String(spec)) => SimpleFlags::parse(spec).map_err(syntax_error)?,
        Some(Value::Number(bits)) => SimpleFlags::from_bits(bits.as_u64().unwrap_or(u64::from(u32::MAX)) as u32),
        _ => SimpleFlags::ALL,
    };
    let tree = parse_simple_query_string(text, options.default_operator, flags);
    let query = convert(&tree, &options, true);
    Ok(named(
        object,
        with_boost(query, boost_of(object, "simple_query_string")?),
    ))
}

fn with_boost(query: QueryAst, boost: f32) -> QueryAst {
    if (boost - 1.0).abs() < f32::EPSILON {
        return query;
    }
    QueryAst::Bool {
        must: vec![query],
        should: Vec::new(),
        filter: Vec::new(),
        must_not: Vec::new(),
        minimum_should_match: None,
        boost,
    }
}

/// Applies `per_field` to the node's explicit field, or to the default fields.
fn on_fields(field: &Option<String>, options: &QueryStringOptions, per_field: QueryAst) -> QueryAst {
    let fields = match field {
        Some(field) => vec![BoostedField {
            field: field.clone(),
            boost: 1.0,
        }],
        None => options.fields.clone(),
    };
    QueryAst::AnyField {
        fields,
        query: Box::new(per_field),
        tie_breaker: options.tie_breaker,
    }
}

fn convert(node: &QsNode, options: &QueryStringOptions, top_level: bool) -> QueryAst {
    let boost = node.boost().unwrap_or(1.0);
    match node {
        QsNode::Term { field, text, .. } => {
            let lenient =
                options.lenient || field.as_deref().is_none_or(|name| name.contains('*')) || options.fields.len() > 1;
            let match_options = MatchOptions {
                operator: match options.default_operator {
                    DefaultOperator::Or => Operator::Or,
                    DefaultOperator::And => Operator::And,
                },
                analyzer: options.analyzer.clone(),
                lenient,
                ..MatchOptions::default()
            };
            on_fields(
                field,
                options,
                QueryAst::Match {
                    field: String::new(),
                    query: Value::from(text.clone()),
                    options: match_options,
                    boost,
                },
            )
        }
        QsNode::Phrase { field, text, slop, .. } => {
            let slop = if *slop == 0 { options.phrase_slop } else { *slop };
            on_fields(
                field,
                options,
                QueryAst::MatchPhrase {
                    field: String::new(),
                    query: text.clone(),
                    slop,
                    analyzer: options.analyzer.clone(),
                    boost,
                },
            )
        }
        QsNode::Prefix { field, prefix, .. } => on_fields(
            field,
            options,
            QueryAst::Prefix {
                field: String::new(),
                value: prefix.clone(),
                boost,
                case_insensitive: false,
            },
        ),
        QsNode::Wildcard { field, pattern, .. } => on_fields(
            field,
            options,
            QueryAst::Wildcard {
                field: String::new(),
                pattern: pattern.clone(),
                boost,
                case_insensitive: false,
            },
        ),
        QsNode::Regex { field, pattern, .. } => on_fields(
            field,
            options,
            QueryAst::Regexp {
                field: String::new(),
                pattern: pattern.clone(),
                boost,
                case_insensitive: false,
            },
        ),
        QsNode::Fuzzy {
            field, text, distance, ..
        } => {
            let fuzziness = distance.map_or(options.fuzziness, |distance| Fuzziness::Distance(distance.min(2)));
            on_fields(
                field,
                options,
                QueryAst::Fuzzy {
                    field: String::new(),
                    value: Value::from(text.clone()),
                    fuzziness,
                    prefix_length: 0,
                    transpositions: true,
                    boost,
                },
            )
        }
        QsNode::Range {
            field,
            lower,
            upper,
            include_lower,
            include_upper,
            ..
        } => {
            let bound = |value: &Option<String>| {
                value
                    .as_ref()
                    .filter(|text| text.as_str() != "*")
                    .map(|text| Value::from(text.clone()))
            };
            let bounds = RangeBounds {
                gt: if *include_lower { None } else { bound(lower) },
                gte: if *include_lower { bound(lower) } else { None },
                lt: if *include_upper { None } else { bound(upper) },
                lte: if *include_upper { bound(upper) } else { None },
                format: None,
                time_zone: options.time_zone.clone(),
            };
            on_fields(
                field,
                options,
                QueryAst::Range {
                    field: String::new(),
                    bounds,
                    boost,
                },
            )
        }
        QsNode::Exists { field } => QueryAst::AnyField {
            fields: vec![BoostedField {
                field: field.clone(),
                boost: 1.0,
            }],
            query: Box::new(QueryAst::Exists {
                field: String::new(),
                boost: 1.0,
            }),
            tie_breaker: 0.0,
        },
        QsNode::MatchAll => QueryAst::MatchAll { boost: 1.0 },
        QsNode::Bool { clauses, .. } => {
            if clauses.is_empty() {
                return QueryAst::MatchNone;
            }
            let mut must = Vec::new();
            let mut should = Vec::new();
            let mut must_not = Vec::new();
            for (occur, clause) in clauses {
                let converted = convert(clause, options, false);
                match occur {
                    Occur::Must => must.push(converted),
                    Occur::Should => should.push(converted),
                    Occur::MustNot => must_not.push(converted),
                }
            }
            let minimum_should_match = if top_level {
                options.minimum_should_match.clone()
            } else {
                None
            };
            QueryAst::Bool {
                must,
                should,
                filter: Vec::new(),
                must_not,
                minimum_should_match,
                boost,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn terms_and_operators_become_bool_clauses() {
        let query = parse_query_string_query(&json!({"query": "title:red +shoes -boots", "default_field": "caption"}))
            .expect("parse");
        let QueryAst::Bool {
            must, should, must_not, ..
        } = query
        else {
            panic!("expected bool, got {query:?}");
        };
        assert_eq!(must.len(), 1);
        assert_eq!(should.len(), 1);
        assert_eq!(must_not.len(), 1);
        let QueryAst::AnyField { fields, .. } = &should[0] else {
            panic!("expected a field group");
        };
        assert_eq!(fields[0].field, "title");
    }

    #[test]
    fn syntax_errors_are_shard_errors_with_parse_cause() {
        let error = parse_query_string_query(&json!({"query": "foo AND"})).unwrap_err();
        assert_eq!(error.kind, ErrorKind::QueryShard);
        assert_eq!(error.reason, "Failed to parse query [foo AND]");
        assert_eq!(error.caused_by.expect("cause").kind, ErrorKind::Parse);
    }

    #[test]
    fn simple_query_string_never_fails_on_syntax() {
        assert!(parse_simple_query_string_query(&json!({"query": "\"unbalanced (quote"})).is_ok());
        assert!(parse_simple_query_string_query(&json!({"query": "x", "flags": "BOGUS"})).is_err());
    }

    #[test]
    fn ranges_map_bounds_and_open_ends() {
        let query = parse_query_string_query(&json!({"query": "price:[10 TO *}"})).expect("parse");
        let QueryAst::AnyField { query, .. } = query else {
            panic!("expected a field group")
        };
        let QueryAst::Range { bounds, .. } = *query else {
            panic!("expected a range")
        };
        assert_eq!(bounds.gte, Some(json!("10")));
        assert_eq!(bounds.lt, None);
        assert_eq!(bounds.lte, None);
    }
}
