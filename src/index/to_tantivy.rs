//! [`QueryAst`] → tantivy query, resolved against the index mapping: analysis with the
//! field's search analyzer, typed terms for keyword/numeric/date/boolean values, and
//! Lucene-exact BM25 statistics per field.

use std::ops::Bound;

use serde_json::Value;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery, FuzzyTermQuery, Occur,
    PhraseQuery, Query, RangeQuery, RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DateTime, Term};

use super::bm25::{FieldStatsQuery, TokenCount};
use super::mapping::{FieldDef, FieldType, IntegerType};
use super::meta::IndexState;
use super::schema::SchemaFields;
use crate::analysis::{EsAnalyzer, analyze};
use crate::date::{DateFormat, Rounding, eval_date_math_in_zone, parse_time_zone};
use crate::dsl::common::scalar_text;
use crate::error::{Error, ErrorKind, Result};
use crate::query::ast::{MatchOptions, MultiMatchType, RangeBounds};
use crate::query::{Operator, QueryAst};

type BoxQuery = Box<dyn Query>;

/// Converts query trees for one index.
pub struct QueryBuilder<'a> {
    pub state: &'a IndexState,
    pub fields: &'a SchemaFields,
    pub now_millis: i64,
}

fn boosted(query: BoxQuery, boost: f32) -> BoxQuery {
    if (boost - 1.0).abs() < f32::EPSILON {
        query
    } else {
        Box::new(BoostQuery::new(query, boost))
    }
}

fn constant(query: BoxQuery, boost: f32) -> BoxQuery {
    Box::new(ConstScoreQuery::new(query, boost))
}

fn shard_error(reason: String) -> Error {
    Error::new(ErrorKind::QueryShard, reason)
}

impl QueryBuilder<'_> {
    /// Converts a whole query tree.
    pub fn build(&self, ast: &QueryAst) -> Result<BoxQuery> {
        match ast {
            QueryAst::MatchAll { boost } => Ok(constant(Box::new(AllQuery), *boost)),
            QueryAst::MatchNone => Ok(Box::new(EmptyQuery)),
            QueryAst::Named { query, .. } => self.build(query),
            QueryAst::Term {
                field,
                value,
                boost,
                case_insensitive,
            } => self.term(field, value, *boost, *case_insensitive),
            QueryAst::Terms { field, values, boost } => self.terms(field, values, *boost),
            QueryAst::Match {
                field,
                query,
                options,
                boost,
            } => self.match_query(field, query, options, *boost),
            QueryAst::MatchPhrase {
                field,
                query,
                slop,
                analyzer,
                boost,
            } => self.phrase(field, query, *slop, analyzer.as_deref(), *boost),
            QueryAst::MatchPhrasePrefix {
                field, query, boost, ..
            } => self.phrase_prefix(field, query, *boost),
            QueryAst::MultiMatch {
                fields,
                query,
                kind,
                tie_breaker,
                slop,
                options,
                boost,
            } => {
                let field_paths = self.expand_fields(fields.iter().map(|field| (field.field.as_str(), field.boost)));
                let mut per_field = Vec::new();
                for (path, field_boost) in field_paths {
                    let sub = match kind {
                        MultiMatchType::Phrase => {
                            let Some(text) = scalar_text(query) else {
                                continue;
                            };
                            self.phrase(&path, &text, *slop, options.analyzer.as_deref(), field_boost)?
                        }
                        MultiMatchType::PhrasePrefix => {
                            let Some(text) = scalar_text(query) else {
                                continue;
                            };
                            self.phrase_prefix(&path, &text, field_boost)?
                        }
                        _ => {
                            let mut lenient = options.clone();
                            lenient.lenient = true;
                            self.match_query(&path, query, &lenient, field_boost)?
                        }
                    };
                    per_field.push(sub);
                }
                if per_field.is_empty() {
                    return Ok(Box::new(EmptyQuery));
                }
                let combined: BoxQuery = match kind {
                    MultiMatchType::MostFields | MultiMatchType::BoolPrefix => Box::new(BooleanQuery::new(
                        per_field.into_iter().map(|query| (Occur::Should, query)).collect(),
                    )),
                    MultiMatchType::CrossFields => Box::new(DisjunctionMaxQuery::with_tie_breaker(
                        per_field,
                        tie_breaker.unwrap_or(0.0),
                    )),
                    _ => Box::new(DisjunctionMaxQuery::with_tie_breaker(
                        per_field,
                        tie_breaker.unwrap_or(0.0),
                    )),
                };
                Ok(boosted(combined, *boost))
            }
            QueryAst::Range { field, bounds, boost } => self.range(field, bounds, *boost),
            QueryAst::Exists { field, boost } => {
                let term = Term::from_field_text(self.fields.exists, field);
                Ok(constant(
                    Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                    *boost,
                ))
            }
            QueryAst::Ids { values, boost } => {
                let terms = values.iter().map(|id| Term::from_field_text(self.fields.id, id));
                Ok(constant(Box::new(TermSetQuery::new(terms)), *boost))
            }
            QueryAst::Prefix {
                field,
                value,
                boost,
                case_insensitive,
            } => {
                let pattern = format!("{}.*", regex_escape(value));
                self.pattern_query(field, &pattern, *boost, *case_insensitive)
            }
            QueryAst::Wildcard {
                field,
                pattern,
                boost,
                case_insensitive,
            } => self.pattern_query(field, &wildcard_to_regex(pattern), *boost, *case_insensitive),
            QueryAst::Regexp {
                field,
                pattern,
                boost,
                case_insensitive,
            } => self.pattern_query(field, pattern, *boost, *case_insensitive),
            QueryAst::Fuzzy {
                field,
                value,
                fuzziness,
                transpositions,
                boost,
                ..
            } => {
                let Some(text) = scalar_text(value) else {
                    return Err(Error::parsing("[fuzzy] query requires a value"));
                };
                let Some(def) = self.state.mapping.field(field) else {
                    return Ok(Box::new(EmptyQuery));
                };
                let distance = fuzziness.distance_for(text.chars().count());
                match &def.field_type {
                    FieldType::Text { .. } => {
                        let slot = self.slot(field)?;
                        let term = Term::from_field_text(slot, &text);
                        let query = Box::new(FuzzyTermQuery::new(term, distance, *transpositions));
                        Ok(boosted(self.text_stats(query, field, slot), *boost))
                    }
                    FieldType::Keyword { .. } => {
                        let mut term = Term::from_field_json_path(self.fields.values, field, true);
                        term.append_type_and_str(&text);
                        let query = Box::new(FuzzyTermQuery::new(term, distance, *transpositions));
                        Ok(boosted(self.keyword_stats(query, field), *boost))
                    }
                    _ => self.term(field, value, *boost, false),
                }
            }
            QueryAst::Bool {
                must,
                should,
                filter,
                must_not,
                minimum_should_match,
                boost,
            } => {
                let mut clauses: Vec<(Occur, BoxQuery)> = Vec::new();
                for query in must {
                    clauses.push((Occur::Must, self.build(query)?));
                }
                for query in filter {
                    clauses.push((Occur::Must, constant(self.build(query)?, 0.0)));
                }
                for query in must_not {
                    clauses.push((Occur::MustNot, self.build(query)?));
                }
                let positive = !must.is_empty() || !filter.is_empty();
                let required_should = match minimum_should_match {
                    Some(spec) => spec.required(should.len()),
                    None if positive => 0,
                    None => usize::from(!should.is_empty()),
                };
                if required_should > should.len() {
                    return Ok(Box::new(EmptyQuery));
                }
                for query in should {
                    clauses.push((Occur::Should, self.build(query)?));
                }
                if !positive && should.is_empty() {
                    // A bool of only must_not clauses matches everything else, scoring 0.
                    clauses.push((Occur::Must, constant(Box::new(AllQuery), 0.0)));
                }
                let query: BoxQuery = if required_should > 1 {
                    Box::new(BooleanQuery::with_minimum_required_clauses(clauses, required_should))
                } else if required_should == 1 && positive {
                    Box::new(BooleanQuery::with_minimum_required_clauses(clauses, 1))
                } else {
                    Box::new(BooleanQuery::new(clauses))
                };
                Ok(boosted(query, *boost))
            }
            QueryAst::ConstantScore { filter, boost } => Ok(constant(self.build(filter)?, *boost)),
            QueryAst::DisMax {
                queries,
                tie_breaker,
                boost,
            } => {
                let built = queries
                    .iter()
                    .map(|query| self.build(query))
                    .collect::<Result<Vec<_>>>()?;
                Ok(boosted(
                    Box::new(DisjunctionMaxQuery::with_tie_breaker(built, *tie_breaker)),
                    *boost,
                ))
            }
            QueryAst::Boosting { .. } => Err(shard_error("[boosting] query is not supported by Iris yet".into())),
        }
    }

    /// Expands `*`/`prefix*` field patterns to mapped, searchable fields.
    pub fn expand_fields<'b>(&self, specs: impl Iterator<Item = (&'b str, f32)>) -> Vec<(String, f32)> {
        let mut out = Vec::new();
        for (spec, boost) in specs {
            if spec.contains('*') {
                for field in self.state.mapping.fields() {
                    let searchable =
                        matches!(field.field_type, FieldType::Text { .. } | FieldType::Keyword { .. }) && field.indexed;
                    if searchable && wildmatch::WildMatch::new(spec).matches(&field.path) {
                        out.push((field.path.clone(), boost));
                    }
                }
            } else {
                out.push((spec.to_string(), boost));
            }
        }
        out
    }

    fn slot(&self, path: &str) -> Result<Field> {
        self.state
            .text_slots
            .get(path)
            .map(|slot| self.fields.text_slots[*slot])
            .ok_or_else(|| Error::internal(format!("text field [{path}] has no slot")))
    }

    fn text_stats(&self, query: BoxQuery, path: &str, slot: Field) -> BoxQuery {
        Box::new(FieldStatsQuery::new(
            query,
            self.fields.exists,
            path,
            TokenCount::WholeField(slot),
        ))
    }

    fn keyword_stats(&self, query: BoxQuery, path: &str) -> BoxQuery {
        let mut prefix_term = Term::from_field_json_path(self.fields.values, path, true);
        prefix_term.append_type_and_str("");
        let path_prefix = prefix_term.serialized_value_bytes().to_vec();
        Box::new(FieldStatsQuery::new(
            query,
            self.fields.exists,
            path,
            TokenCount::JsonPath {
                field: self.fields.values,
                path_prefix,
            },
        ))
    }

    fn searchable(&self, path: &str) -> Result<Option<&FieldDef>> {
        let Some(def) = self.state.mapping.field(path) else {
            return Ok(None);
        };
        if !def.indexed && !def.has_doc_values() {
            return Err(shard_error(format!(
                "failed to create query: Cannot search on field [{path}] since it is not indexed."
            )));
        }
        Ok(Some(def))
    }

    fn values_field(&self, def: &FieldDef) -> Field {
        if def.indexed {
            self.fields.values
        } else {
            self.fields.doc_values_only
        }
    }

    /// Returns the typed term for `value` in a keyword/numeric/date/boolean field.
    fn value_term(
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
            FieldType::Integer(integer_type) => {
                let number = integer_value(value, *integer_type).ok_or_else(|| {
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

    fn date_value(
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
                eval_date_math_in_zone(text, format, self.now_millis, rounding, zone).map_err(|error| {
                    Error::new(ErrorKind::QueryShard, format!("failed to create query: {error}"))
                        .caused_by(Error::new(ErrorKind::IllegalArgument, error.to_string()))
                })
            }
            _ => Err(shard_error(
                "failed to create query: date must be a string or number".into(),
            )),
        }
    }

    fn term(&self, path: &str, value: &Value, boost: f32, case_insensitive: bool) -> Result<BoxQuery> {
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

    fn terms(&self, path: &str, values: &[Value], boost: f32) -> Result<BoxQuery> {
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

    fn analyzer_for(&self, def: &FieldDef, override_name: Option<&str>) -> Result<EsAnalyzer> {
        let name = match (override_name, &def.field_type) {
            (Some(name), _) => name.to_string(),
            (None, FieldType::Text { search_analyzer, .. }) => search_analyzer.clone(),
            (None, _) => "keyword".to_string(),
        };
        EsAnalyzer::builtin(&name)
            .ok_or_else(|| shard_error(format!("failed to create query: [{name}] analyzer not found")))
    }

    fn match_query(&self, path: &str, query: &Value, options: &MatchOptions, boost: f32) -> Result<BoxQuery> {
        let Some(def) = self.searchable(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        let FieldType::Text { .. } = def.field_type else {
            return match self.term(path, query, boost, false) {
                Ok(query) => Ok(query),
                Err(_) if options.lenient => Ok(Box::new(EmptyQuery)),
                Err(error) => Err(error),
            };
        };
        let Some(text) = scalar_text(query) else {
            return Err(Error::parsing(
                "[match] query value must be a string, number or boolean",
            ));
        };
        let slot = self.slot(path)?;
        let analyzer = self.analyzer_for(def, options.analyzer.as_deref())?;
        let tokens = analyze(&analyzer, &text);
        if tokens.is_empty() {
            return Ok(if options.zero_terms_all {
                constant(Box::new(AllQuery), boost)
            } else {
                Box::new(EmptyQuery)
            });
        }
        let term_query = |term_text: &str| -> BoxQuery {
            let term = Term::from_field_text(slot, term_text);
            match options.fuzziness {
                Some(fuzziness) => {
                    let distance = fuzziness.distance_for(term_text.chars().count());
                    if distance == 0 {
                        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
                    } else {
                        Box::new(FuzzyTermQuery::new(term, distance, true))
                    }
                }
                None => Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
            }
        };
        let inner: BoxQuery = if tokens.len() == 1 {
            term_query(&tokens[0].term)
        } else {
            let occur = if options.operator == Operator::And {
                Occur::Must
            } else {
                Occur::Should
            };
            let clauses: Vec<(Occur, BoxQuery)> = tokens.iter().map(|token| (occur, term_query(&token.term))).collect();
            let required = match (&options.minimum_should_match, options.operator) {
                (Some(spec), Operator::Or) => spec.required(clauses.len()),
                _ => 0,
            };
            if required > 1 {
                Box::new(BooleanQuery::with_minimum_required_clauses(clauses, required))
            } else {
                Box::new(BooleanQuery::new(clauses))
            }
        };
        Ok(boosted(self.text_stats(inner, path, slot), boost))
    }

    fn phrase(&self, path: &str, text: &str, slop: u32, analyzer: Option<&str>, boost: f32) -> Result<BoxQuery> {
        let Some(def) = self.searchable(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        let FieldType::Text { .. } = def.field_type else {
            return self.term(path, &Value::String(text.to_string()), boost, false);
        };
        let slot = self.slot(path)?;
        let tokens = analyze(&self.analyzer_for(def, analyzer)?, text);
        let inner: BoxQuery = match tokens.len() {
            0 => return Ok(Box::new(EmptyQuery)),
            1 => Box::new(TermQuery::new(
                Term::from_field_text(slot, &tokens[0].term),
                IndexRecordOption::WithFreqs,
            )),
            _ => {
                let terms = tokens
                    .iter()
                    .map(|token| (token.position, Term::from_field_text(slot, &token.term)))
                    .collect();
                Box::new(PhraseQuery::new_with_offset_and_slop(terms, slop))
            }
        };
        Ok(boosted(self.text_stats(inner, path, slot), boost))
    }

    fn phrase_prefix(&self, path: &str, text: &str, boost: f32) -> Result<BoxQuery> {
        let Some(def) = self.searchable(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        let FieldType::Text { .. } = def.field_type else {
            return self.pattern_query(path, &format!("{}.*", regex_escape(text)), boost, false);
        };
        let slot = self.slot(path)?;
        let tokens = analyze(&self.analyzer_for(def, None)?, text);
        let inner: BoxQuery = match tokens.len() {
            0 => return Ok(Box::new(EmptyQuery)),
            1 => {
                let pattern = format!("{}.*", regex_escape(&tokens[0].term));
                Box::new(
                    RegexQuery::from_pattern(&pattern, slot)
                        .map_err(|error| shard_error(format!("failed to create query: {error}")))?,
                )
            }
            _ => {
                let terms = tokens
                    .iter()
                    .map(|token| (token.position, Term::from_field_text(slot, &token.term)))
                    .collect();
                Box::new(tantivy::query::PhrasePrefixQuery::new_with_offset(terms))
            }
        };
        Ok(boosted(self.text_stats(inner, path, slot), boost))
    }

    fn pattern_query(&self, path: &str, pattern: &str, boost: f32, case_insensitive: bool) -> Result<BoxQuery> {
        let Some(def) = self.searchable(path)? else {
            return Ok(Box::new(EmptyQuery));
        };
        let pattern = if case_insensitive {
            format!("(?i:{pattern})")
        } else {
            pattern.to_string()
        };
        let invalid = |error: tantivy::TantivyError| shard_error(format!("failed to create query: {error}"));
        let query: BoxQuery = match &def.field_type {
            FieldType::Text { .. } => Box::new(RegexQuery::from_pattern(&pattern, self.slot(path)?).map_err(invalid)?),
            FieldType::Keyword { .. } => {
                let mut prefix_term = Term::from_field_json_path(self.fields.values, path, true);
                prefix_term.append_type_and_str("");
                let path_prefix = prefix_term.serialized_value_bytes().to_vec();
                let escaped_prefix: String = path_prefix.iter().map(|byte| format!("\\x{byte:02x}")).collect();
                let full_pattern = format!("{escaped_prefix}(?:{pattern})");
                let regex = tantivy_fst::Regex::new(&full_pattern)
                    .map_err(|error| shard_error(format!("failed to create query: {error}")))?;
                Box::new(JsonRegexQuery {
                    field: self.fields.values,
                    regex: std::sync::Arc::new(regex),
                    path_prefix,
                })
            }
            other => {
                return Err(shard_error(format!(
                    "failed to create query: Can only use wildcard, prefix and regexp queries on keyword and text fields - not on [{path}] which is of type [{}]",
                    other.type_name()
                )));
            }
        };
        Ok(constant(query, boost))
    }

    fn range(&self, path: &str, bounds: &RangeBounds, boost: f32) -> Result<BoxQuery> {
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

fn integer_value(value: &Value, integer_type: IntegerType) -> Option<i64> {
    let _ = integer_type;
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

/// Escapes regex metacharacters of a literal.
pub fn regex_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for character in literal.chars() {
        if "\\.+*?()|[]{}^$#&~\"<>@".contains(character) {
            out.push('\\');
        }
        out.push(character);
    }
    out
}

/// Converts an ES wildcard (`*`, `?`, `\` escapes) into a regex.
pub fn wildcard_to_regex(pattern: &str) -> String {
    let mut out = String::new();
    let mut characters = pattern.chars();
    while let Some(character) = characters.next() {
        match character {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '\\' => {
                if let Some(escaped) = characters.next() {
                    out.push_str(&regex_escape(&escaped.to_string()));
                }
            }
            other => out.push_str(&regex_escape(&other.to_string())),
        }
    }
    out
}

/// A regex over the keyword terms of one JSON path.
#[derive(Debug, Clone)]
struct JsonRegexQuery {
    field: Field,
    regex: std::sync::Arc<tantivy_fst::Regex>,
    path_prefix: Vec<u8>,
}

impl Query for JsonRegexQuery {
    fn weight(
        &self,
        _enable_scoring: tantivy::query::EnableScoring<'_>,
    ) -> tantivy::Result<Box<dyn tantivy::query::Weight>> {
        Ok(Box::new(
            tantivy::query::AutomatonWeight::<tantivy_fst::Regex>::new_for_json_path(
                self.field,
                self.regex.clone(),
                &self.path_prefix,
            ),
        ))
    }
}
