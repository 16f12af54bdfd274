//! Typed terms for keyword, numeric, date and boolean fields: `term`, `terms`, `range`.

use std::ops::Bound;

use serde_json::Value;
use tantivy::query::{BooleanQuery, EmptyQuery, Occur, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DateTime, Term};

use super::{BoxQuery, QueryBuilder, boosted, constant, regex_escape, shard_error};
use crate::date::{DateFormat, Rounding, eval_date_math_in_zone, parse_time_zone};
use crate::dsl::common::scalar_text;
use crate::error::{Error, ErrorKind, Result};
use crate::index::mapping::{FieldDef, FieldType};
use crate::query::ast::RangeBounds;

impl QueryBuilder<'_> {
    /// Returns the typed term for `value` in a keyword/numeric/date/boolean field.
    pub(super) fn value_term(
        &self,
        def: &FieldDef,
        value: &Value,
        rounding: Rounding,
        format: Option<&DateFormat>,
    ) -> Result<Term> {
        let mut term = Term::from_field_json_path(self.values_field(def), &def.path, true);
        let invalid = |what: &str| shard_error(format!("failed to create query: {what}"));
        match &def.field_type {
            FieldType::Keyword { normalizer, .. } => {
                let text = scalar_text(value).ok_or_else(|| invalid("keyword value must be a scalar"))?;
                let text = if normalizer.as_deref() == Some("lowercase") {
                    text.to_lowercase()
                } else {
                    text
                };
                term.append_type_and_str(&text);
            }
            FieldType::Integer(_) => {
                let number = integer_value(value).ok_or_else(|| {
                    invalid(&format!(
                        "For input string: \"{}\"",
                        scalar_text(value).unwrap_or_default()
                    ))
                })?;
                term.append_type_and_fast_value(number);
            }
            FieldType::Float(_) => {
                let number = float_value(value).ok_or_else(|| {
                    invalid(&format!(
                        "For input string: \"{}\"",
                        scalar_text(value).unwrap_or_default()
                    ))
                })?;
                term.append_type_and_fast_value(number);
            }
            FieldType::Boolean => {
                let flag = match value {
                    Value::Bool(flag) => *flag,
                    Value::String(text) if text == "true" => true,
                    Value::String(text) if text == "false" || text.is_empty() => false,
                    other => {
                        return Err(invalid(&format!(
                            "Can't parse boolean value [{}], expected [true] or [false]",
                            scalar_text(other).unwrap_or_default()
                        )));
                    }
                };
                term.append_type_and_fast_value(flag);
            }
            FieldType::Date { format: field_format } => {
                let millis = self.date_value(value, format.unwrap_or(field_format), rounding, None)?;
                term.append_type_and_fast_value(DateTime::from_timestamp_millis(millis));
            }
            other => {
                return Err(invalid(&format!(
                    "field [{}] of type [{}] does not support this query",
                    def.path,
                    other.type_name()
                )));
            }
        }
        Ok(term)
    }

    pub(super) fn date_value(
        &self,
        value: &Value,
        format: &DateFormat,
        rounding: Rounding,
        time_zone: Option<&str>,
    ) -> Result<i64> {
        let zone = match time_zone {
            Some(zone) => Some(parse_time_zone(zone).map_err(|error| Error::illegal_argument(error.to_string()))?),
            None => None,
        };
        match value {
            Value::Number(number) => number
                .as_i64()
                .ok_or_else(|| shard_error("failed to create query: invalid date".into())),
            Value::String(text) => {
                // ES's date parser raises its own parse exception, which becomes the
                // root cause of the failed search.
                eval_date_math_in_zone(text, format, self.now_millis, rounding, zone).map_err(|error| {
                    Error::new(ErrorKind::ElasticsearchParse, format!("{error}: [{error}]"))
                        .caused_by(Error::new(ErrorKind::IllegalArgument, error.to_string()))
                })
            }
            _ => Err(shard_error(
                "failed to create query: date must be a string or number".into(),
            )),
        }
    }

    pub(super) fn term(&self, path: &str, value: &Value, boost: f32, case_insensitive: bool) -> Result<BoxQuery> {
        if path == "_id" {
            let id = scalar_text(value).unwrap_or_default();
            return Ok(constant(
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.id, &id),
                    IndexRecordOption::Basic,
                )),
                boost,
            ));
        }
        let Some(def) = self.searchable(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        match &def.field_type {
            FieldType::Text { .. } => {
                let slot = self.slot(path)?;
                let text = scalar_text(value).unwrap_or_default();
                if case_insensitive {
                    return self.pattern_query(path, &regex_escape(&text), boost, true);
                }
                let query = Box::new(TermQuery::new(
                    Term::from_field_text(slot, &text),
                    IndexRecordOption::WithFreqs,
                ));
                Ok(boosted(self.text_stats(query, path, slot), boost))
            }
            FieldType::Keyword { .. } => {
                if case_insensitive {
                    let text = scalar_text(value).unwrap_or_default();
                    return self.pattern_query(path, &regex_escape(&text), boost, true);
                }
                let term = self.value_term(def, value, Rounding::Floor, None)?;
                let query = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                Ok(boosted(self.keyword_stats(query, path), boost))
            }
            FieldType::Date { .. } => {
                // A date term matches the whole rounded interval, as ES's date term query does.
                let bounds = RangeBounds {
                    gte: Some(value.clone()),
                    lte: Some(value.clone()),
                    ..RangeBounds::default()
                };
                self.range(path, &bounds, boost)
            }
            FieldType::Integer(_) | FieldType::Float(_) | FieldType::Boolean => {
                let term = self.value_term(def, value, Rounding::Floor, None)?;
                let query: BoxQuery = if def.indexed {
                    Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic))
                } else {
                    Box::new(RangeQuery::new(Bound::Included(term.clone()), Bound::Included(term)))
                };
                Ok(constant(query, boost))
            }
            FieldType::Object { .. } => Ok(Box::new(EmptyQuery)),
            other => Err(shard_error(format!(
                "failed to create query: field [{path}] of type [{}] does not support term queries",
                other.type_name()
            ))),
        }
    }

    pub(super) fn terms(&self, path: &str, values: &[Value], boost: f32) -> Result<BoxQuery> {
        if path == "_id" {
            let terms = values
                .iter()
                .filter_map(scalar_text)
                .map(|id| Term::from_field_text(self.fields.id, &id));
            return Ok(constant(Box::new(TermSetQuery::new(terms)), boost));
        }
        let Some(def) = self.searchable(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        let terms: Vec<Term> = match &def.field_type {
            FieldType::Text { .. } => {
                let slot = self.slot(path)?;
                values
                    .iter()
                    .filter_map(scalar_text)
                    .map(|text| Term::from_field_text(slot, &text))
                    .collect()
            }
            FieldType::Date { .. } => {
                let clauses = values
                    .iter()
                    .map(|value| Ok((Occur::Should, self.term(path, value, 1.0, false)?)))
                    .collect::<Result<Vec<_>>>()?;
                return Ok(constant(Box::new(BooleanQuery::new(clauses)), boost));
            }
            _ => values
                .iter()
                .map(|value| self.value_term(def, value, Rounding::Floor, None))
                .collect::<Result<_>>()?,
        };
        Ok(constant(Box::new(TermSetQuery::new(terms)), boost))
    }

    pub(super) fn range(&self, path: &str, bounds: &RangeBounds, boost: f32) -> Result<BoxQuery> {
        let Some(def) = self.searchable(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        if let FieldType::Text { .. } = def.field_type {
            return Err(shard_error(format!(
                "failed to create query: range queries on text field [{path}] are not supported by Iris; use a keyword field"
            )));
        }
        let format = match (&bounds.format, &def.field_type) {
            (Some(spec), FieldType::Date { .. }) => {
                Some(DateFormat::parse(spec).map_err(|error| Error::illegal_argument(error.to_string()))?)
            }
            _ => None,
        };
        let bound = |value: &Option<Value>, rounding: Rounding, inclusive: bool| -> Result<Bound<Term>> {
            let Some(value) = value else {
                return Ok(Bound::Unbounded);
            };
            let term = match &def.field_type {
                FieldType::Date { format: field_format } => {
                    let millis = self.date_value(
                        value,
                        format.as_ref().unwrap_or(field_format),
                        rounding,
                        bounds.time_zone.as_deref(),
                    )?;
                    let mut term = Term::from_field_json_path(self.values_field(def), path, true);
                    term.append_type_and_fast_value(DateTime::from_timestamp_millis(millis));
                    term
                }
                _ => self.value_term(def, value, rounding, None)?,
            };
            Ok(if inclusive {
                Bound::Included(term)
            } else {
                Bound::Excluded(term)
            })
        };
        // ES rounds date math up for gt/lte and down for gte/lt.
        let lower = match (&bounds.gt, &bounds.gte) {
            (Some(_), _) => bound(&bounds.gt, Rounding::Ceil, false)?,
            (None, Some(_)) => bound(&bounds.gte, Rounding::Floor, true)?,
            (None, None) => Bound::Unbounded,
        };
        let upper = match (&bounds.lt, &bounds.lte) {
            (Some(_), _) => bound(&bounds.lt, Rounding::Floor, false)?,
            (None, Some(_)) => bound(&bounds.lte, Rounding::Ceil, true)?,
            (None, None) => Bound::Unbounded,
        };
        if matches!((&lower, &upper), (Bound::Unbounded, Bound::Unbounded)) {
            let exists = Term::from_field_text(self.fields.exists, path);
            return Ok(constant(
                Box::new(TermQuery::new(exists, IndexRecordOption::Basic)),
                boost,
            ));
        }
        let (lower, upper) = fill_unbounded(lower, upper, self.values_field(def), path, &def.field_type);
        Ok(constant(Box::new(RangeQuery::new(lower, upper)), boost))
    }
}

/// tantivy's range query needs the type from one bound; give the open side a typed
/// extreme value.
fn fill_unbounded(
    lower: Bound<Term>,
    upper: Bound<Term>,
    field: Field,
    path: &str,
    field_type: &FieldType,
) -> (Bound<Term>, Bound<Term>) {
    let extreme = |low: bool| -> Option<Term> {
        let mut term = Term::from_field_json_path(field, path, true);
        match field_type {
            FieldType::Integer(_) => term.append_type_and_fast_value(if low { i64::MIN } else { i64::MAX }),
            FieldType::Float(_) => term.append_type_and_fast_value(if low { f64::NEG_INFINITY } else { f64::INFINITY }),
            FieldType::Date { .. } => {
                term.append_type_and_fast_value(DateTime::from_timestamp_nanos(if low { i64::MIN } else { i64::MAX }))
            }
            FieldType::Boolean => term.append_type_and_fast_value(!low),
            _ => return None,
        }
        Some(term)
    };
    let lower = match lower {
        Bound::Unbounded => extreme(true).map_or(Bound::Unbounded, Bound::Included),
        other => other,
    };
    let upper = match upper {
        Bound::Unbounded => extreme(false).map_or(Bound::Unbounded, Bound::Included),
        other => other,
    };
    (lower, upper)
}

/// Reads an integer query value; None for non-numbers and values with a fractional part.
fn integer_value(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|float| float.fract() == 0.0)
                .map(|float| float as i64)
        }),
        Value::String(text) => text.trim().parse::<i64>().ok().or_else(|| {
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|float| float.fract() == 0.0)
                .map(|float| float as i64)
        }),
        _ => None,
    }
}

fn float_value(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}
