//! [`QueryAst`] → tantivy query, resolved against the index mapping: analysis with the
//! field's search analyzer, typed terms for keyword/numeric/date/boolean values, and
//! Lucene-exact BM25 statistics per field.

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery, FuzzyTermQuery, Occur, Query,
    TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

mod patterns;
mod text;
mod values;

pub use patterns::{regex_escape, wildcard_to_regex};

use super::bm25::{FieldStatsQuery, TokenCount};
use super::boosting::BoostingQuery;
use super::knn_query::PrecomputedScoresQuery;
use super::mapping::{FieldDef, FieldType};
use super::meta::IndexState;
use super::schema::SchemaFields;
use super::script_score::ScriptScoreQuery;
use crate::dsl::common::scalar_text;
use crate::error::{Error, ErrorKind, Result};
use crate::query::QueryAst;
use crate::query::ast::{BoostedField, MultiMatchType};

type BoxQuery = Box<dyn Query>;

/// Up to this many ids, an `ids` query is a disjunction of term lookups rather than a set query.
const IDS_LOOKED_UP_ONE_BY_ONE: usize = 64;

/// Converts query trees for one index.
pub struct QueryBuilder<'a> {
    pub state: &'a IndexState,
    pub fields: &'a SchemaFields,
    /// The index's vector fields (`script_score` reads document vectors from them).
    pub vectors: &'a std::sync::Arc<crate::index::vectors::VectorFields>,
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
            QueryAst::Knn(clause) => self.knn(clause),
            QueryAst::ScriptScore {
                query,
                script,
                params,
                min_score,
                boost,
            } => {
                let mut source_paths = std::collections::HashMap::new();
                for (_, field) in script.vector_uses() {
                    let Some(def) = self.state.mapping.field(&field) else {
                        return Err(shard_error(format!(
                            "failed to create query: No field found for [{field}] in mapping"
                        )));
                    };
                    if !matches!(def.field_type, FieldType::DenseVector(_) | FieldType::KnnVector(_)) {
                        return Err(shard_error(format!(
                            "failed to create query: vector functions need a [dense_vector] field; [{field}] is [{}]",
                            def.field_type.type_name()
                        )));
                    }
                    source_paths.insert(field.clone(), def.source_path.clone());
                }
                let query = ScriptScoreQuery {
                    inner: std::sync::Arc::new(self.build(query)?),
                    script: script.clone(),
                    params: params.clone(),
                    source_paths: std::sync::Arc::new(source_paths),
                    source_field: self.fields.source,
                    apart_field: self.fields.vectors,
                    ord_field: self.fields.ord,
                    apart: std::sync::Arc::new(self.state.apart_vector_fields()),
                    vectors: self.vectors.clone(),
                    min_score: *min_score,
                };
                Ok(boosted(Box::new(query), *boost))
            }
            QueryAst::ScoredKeys {
                scores,
                boost,
                description,
            } => Ok(boosted(
                Box::new(PrecomputedScoresQuery::new(
                    self.fields.ord,
                    (**scores).clone(),
                    description.clone(),
                )),
                *boost,
            )),
            QueryAst::AnyField {
                fields,
                query,
                tie_breaker,
            } => self.any_field(fields, query, *tie_breaker),
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
                // A few ids are looked up one by one: the set query walks the term dictionary
                // with an automaton, which costs far more than a handful of lookups (retriever
                // searches load their page with an `ids` query).
                let query: Box<dyn Query> = if values.len() <= IDS_LOOKED_UP_ONE_BY_ONE {
                    Box::new(BooleanQuery::union(
                        terms
                            .map(|term| Box::new(TermQuery::new(term, IndexRecordOption::Basic)) as Box<dyn Query>)
                            .collect(),
                    ))
                } else {
                    Box::new(TermSetQuery::new(terms))
                };
                Ok(constant(query, *boost))
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
            QueryAst::Boosting {
                positive,
                negative,
                negative_boost,
                boost,
            } => {
                let query = BoostingQuery::new(self.build(positive)?, self.build(negative)?, *negative_boost);
                Ok(boosted(Box::new(query), *boost))
            }
        }
    }

    /// kNN clauses are answered by the vector engine, wired in `search.rs`.
    fn knn(&self, clause: &crate::query::ast::KnnClause) -> Result<BoxQuery> {
        Err(shard_error(format!(
            "failed to create query: kNN search on field [{}] is not available yet",
            clause.field
        )))
    }

    /// Builds `query` on every field the patterns name; fields a pattern reaches whose type
    /// does not fit the value are skipped, as ES's lenient multi-field parsing does.
    fn any_field(&self, fields: &[BoostedField], query: &QueryAst, tie_breaker: f32) -> Result<BoxQuery> {
        let lenient = fields.len() > 1 || fields.iter().any(|field| field.field.contains('*'));
        let mut parts = Vec::new();
        for (path, boost) in self.expand_fields(fields.iter().map(|field| (field.field.as_str(), field.boost))) {
            let Some(per_field) = query.with_field(&path) else {
                return Err(Error::internal("query-string clause has no field to apply"));
            };
            match self.build(&per_field) {
                Ok(built) => parts.push(boosted(built, boost)),
                Err(_) if lenient => {}
                Err(error) => return Err(error),
            }
        }
        Ok(match parts.len() {
            0 => Box::new(EmptyQuery),
            1 => parts.remove(0),
            _ => Box::new(DisjunctionMaxQuery::with_tie_breaker(parts, tie_breaker)),
        })
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

    /// Returns the term-dictionary prefix shared by every keyword term of `path`.
    fn keyword_path_prefix(&self, path: &str) -> Vec<u8> {
        let mut prefix_term = Term::from_field_json_path(self.fields.values, path, true);
        prefix_term.append_type_and_str("");
        prefix_term.serialized_value_bytes().to_vec()
    }

    fn keyword_stats(&self, query: BoxQuery, path: &str) -> BoxQuery {
        let path_prefix = self.keyword_path_prefix(path);
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
}
