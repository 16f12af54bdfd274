//! Term-level queries: `term`, `terms`, `range`, `exists`, `ids`, `prefix`, `wildcard`,
//! `regexp`, `fuzzy`.

use serde_json::Value;

use super::common::{bool_of, boost_of, check_keys, named, named_opt, one_field, parse_fuzziness, scalar_text};
use crate::error::{Error, Result};
use crate::query::ast::RangeBounds;
use crate::query::{Fuzziness, QueryAst};

pub fn parse_term(body: &Value) -> Result<QueryAst> {
    let (field, value) = one_field("term", body)?;
    match value {
        Value::Object(object) => {
            check_keys("term", object, &["value", "case_insensitive"])?;
            let Some(term) = object.get("value") else {
                return Err(Error::parsing("[term] query requires a value"));
            };
            if term.is_object() || term.is_array() || term.is_null() {
                return Err(Error::parsing(
                    "[term] query does not support array of values".to_string(),
                ));
            }
            Ok(named(
                object,
                QueryAst::Term {
                    field: field.to_string(),
                    value: term.clone(),
                    boost: boost_of(object, "term")?,
                    case_insensitive: bool_of(object.get("case_insensitive"), false),
                },
            ))
        }
        Value::Array(_) => Err(Error::parsing("[term] query does not support array of values")),
        Value::Null => Err(Error::illegal_argument("value cannot be null")),
        scalar => Ok(QueryAst::Term {
            field: field.to_string(),
            value: scalar.clone(),
            boost: 1.0,
            case_insensitive: false,
        }),
    }
}

pub fn parse_terms(body: &Value) -> Result<QueryAst> {
    let Value::Object(object) = body else {
        return Err(Error::parsing(
            "[terms] query malformed, no start_object after query name",
        ));
    };
    let mut field_values = None;
    for (key, value) in object {
        if key == "boost" || key == "_name" {
            continue;
        }
        if field_values.is_some() {
            return Err(Error::parsing(
                "[terms] query does not support multiple fields".to_string(),
            ));
        }
        let Value::Array(values) = value else {
            if value.is_object() {
                return Err(Error::parsing("[terms] query does not support terms lookup in Iris"));
            }
            return Err(Error::parsing(format!("[terms] query does not support [{key}]")));
        };
        field_values = Some((key.clone(), values.clone()));
    }
    let Some((field, values)) = field_values else {
        return Err(Error::parsing("[terms] query requires a field"));
    };
    Ok(named(
        object,
        QueryAst::Terms {
            field,
            values,
            boost: boost_of(object, "terms")?,
        },
    ))
}

pub fn parse_range(body: &Value) -> Result<QueryAst> {
    let (field, value) = one_field("range", body)?;
    let Value::Object(object) = value else {
        return Err(Error::parsing(
            "[range] query malformed, no start_object after query name".to_string(),
        ));
    };
    check_keys(
        "range",
        object,
        &[
            "gt",
            "gte",
            "lt",
            "lte",
            "from",
            "to",
            "include_lower",
            "include_upper",
            "format",
            "time_zone",
            "relation",
        ],
    )?;
    let mut bounds = RangeBounds {
        gt: object.get("gt").filter(|v| !v.is_null()).cloned(),
        gte: object.get("gte").filter(|v| !v.is_null()).cloned(),
        lt: object.get("lt").filter(|v| !v.is_null()).cloned(),
        lte: object.get("lte").filter(|v| !v.is_null()).cloned(),
        format: object.get("format").and_then(Value::as_str).map(str::to_string),
        time_zone: object.get("time_zone").and_then(Value::as_str).map(str::to_string),
    };
    if let Some(from) = object.get("from").filter(|v| !v.is_null()) {
        if bool_of(object.get("include_lower"), true) {
            bounds.gte = Some(from.clone());
        } else {
            bounds.gt = Some(from.clone());
        }
    }
    if let Some(to) = object.get("to").filter(|v| !v.is_null()) {
        if bool_of(object.get("include_upper"), true) {
            bounds.lte = Some(to.clone());
        } else {
            bounds.lt = Some(to.clone());
        }
    }
    Ok(named(
        object,
        QueryAst::Range {
            field: field.to_string(),
            bounds,
            boost: boost_of(object, "range")?,
        },
    ))
}

pub fn parse_exists(body: &Value) -> Result<QueryAst> {
    let Value::Object(object) = body else {
        return Err(Error::parsing(
            "[exists] query malformed, no start_object after query name",
        ));
    };
    check_keys("exists", object, &["field"])?;
    let Some(field) = object.get("field").and_then(Value::as_str) else {
        return Err(Error::parsing("[exists] must be provided with a [field]"));
    };
    Ok(named(
        object,
        QueryAst::Exists {
            field: field.to_string(),
            boost: boost_of(object, "exists")?,
        },
    ))
}

pub fn parse_ids(body: &Value) -> Result<QueryAst> {
    let Value::Object(object) = body else {
        return Err(Error::parsing(
            "[ids] query malformed, no start_object after query name",
        ));
    };
    check_keys("ids", object, &["values", "type"])?;
    let values = match object.get("values") {
        Some(Value::Array(values)) => values.iter().filter_map(scalar_text).collect(),
        _ => {
            return Err(Error::parsing("[ids] query malformed, [values] must be an array"));
        }
    };
    Ok(named(
        object,
        QueryAst::Ids {
            values,
            boost: boost_of(object, "ids")?,
        },
    ))
}

/// Reads `{"f": "v"}` or `{"f": {"value": "v", ...}}` for prefix/wildcard/regexp.
/// (field, value, boost, case_insensitive, long-form object).
type StringQuery<'a> = (String, String, f32, bool, Option<&'a serde_json::Map<String, Value>>);

fn string_query<'a>(query_name: &str, body: &'a Value, value_key: &str, allowed: &[&str]) -> Result<StringQuery<'a>> {
    let (field, value) = one_field(query_name, body)?;
    match value {
        Value::Object(object) => {
            check_keys(query_name, object, allowed)?;
            let text = object
                .get(value_key)
                .or_else(|| object.get("value"))
                .and_then(scalar_text)
                .ok_or_else(|| Error::parsing(format!("[{query_name}] query requires a value")))?;
            Ok((
                field.to_string(),
                text,
                boost_of(object, query_name)?,
                bool_of(object.get("case_insensitive"), false),
                Some(object),
            ))
        }
        scalar => {
            let text =
                scalar_text(scalar).ok_or_else(|| Error::parsing(format!("[{query_name}] query requires a value")))?;
            Ok((field.to_string(), text, 1.0, false, None))
        }
    }
}

pub fn parse_prefix(body: &Value) -> Result<QueryAst> {
    let (field, value, boost, case_insensitive, object) =
        string_query("prefix", body, "value", &["value", "rewrite", "case_insensitive"])?;
    let query = QueryAst::Prefix {
        field,
        value,
        boost,
        case_insensitive,
    };
    Ok(named_opt(object, query))
}

pub fn parse_wildcard(body: &Value) -> Result<QueryAst> {
    let (field, pattern, boost, case_insensitive, object) = string_query(
        "wildcard",
        body,
        "wildcard",
        &["value", "wildcard", "rewrite", "case_insensitive"],
    )?;
    let query = QueryAst::Wildcard {
        field,
        pattern,
        boost,
        case_insensitive,
    };
    Ok(named_opt(object, query))
}

pub fn parse_regexp(body: &Value) -> Result<QueryAst> {
    let (field, pattern, boost, case_insensitive, object) = string_query(
        "regexp",
        body,
        "value",
        &[
            "value",
            "flags",
            "max_determinized_states",
            "rewrite",
            "case_insensitive",
        ],
    )?;
    let query = QueryAst::Regexp {
        field,
        pattern,
        boost,
        case_insensitive,
    };
    Ok(named_opt(object, query))
}

pub fn parse_fuzzy(body: &Value) -> Result<QueryAst> {
    let (field, value) = one_field("fuzzy", body)?;
    match value {
        Value::Object(object) => {
            check_keys(
                "fuzzy",
                object,
                &[
                    "value",
                    "fuzziness",
                    "prefix_length",
                    "max_expansions",
                    "transpositions",
                    "rewrite",
                ],
            )?;
            let term = object
                .get("value")
                .cloned()
                .ok_or_else(|| Error::parsing("[fuzzy] query requires a value"))?;
            let fuzziness = match object.get("fuzziness") {
                Some(value) => parse_fuzziness(value)?,
                None => Fuzziness::Auto { low: 3, high: 6 },
            };
            Ok(named(
                object,
                QueryAst::Fuzzy {
                    field: field.to_string(),
                    value: term,
                    fuzziness,
                    prefix_length: object.get("prefix_length").and_then(Value::as_u64).unwrap_or(0) as usize,
                    transpositions: bool_of(object.get("transpositions"), true),
                    boost: boost_of(object, "fuzzy")?,
                },
            ))
        }
        scalar => Ok(QueryAst::Fuzzy {
            field: field.to_string(),
            value: scalar.clone(),
            fuzziness: Fuzziness::Auto { low: 3, high: 6 },
            prefix_length: 0,
            transpositions: true,
            boost: 1.0,
        }),
    }
}
