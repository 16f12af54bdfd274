//! Analyzed full-text queries on text fields: `match`, `match_phrase`, `match_phrase_prefix`.

use serde_json::Value;
use tantivy::Term;
use tantivy::query::{AllQuery, BooleanQuery, EmptyQuery, FuzzyTermQuery, Occur, PhraseQuery, RegexQuery, TermQuery};
use tantivy::schema::IndexRecordOption;

use super::{BoxQuery, QueryBuilder, boosted, constant, regex_escape, shard_error};
use crate::analysis::{EsAnalyzer, analyze};
use crate::dsl::common::scalar_text;
use crate::error::{Error, Result};
use crate::index::mapping::{FieldDef, FieldType};
use crate::query::Operator;
use crate::query::ast::MatchOptions;

impl QueryBuilder<'_> {
    pub(super) fn analyzer_for(&self, def: &FieldDef, override_name: Option<&str>) -> Result<EsAnalyzer> {
        let name = match (override_name, &def.field_type) {
            (Some(name), _) => name.to_string(),
            (None, FieldType::Text { search_analyzer, .. }) => search_analyzer.clone(),
            (None, _) => "keyword".to_string(),
        };
        EsAnalyzer::builtin(&name)
            .ok_or_else(|| shard_error(format!("failed to create query: [{name}] analyzer not found")))
    }

    pub(super) fn match_query(
        &self,
        path: &str,
        query: &Value,
        options: &MatchOptions,
        boost: f32,
    ) -> Result<BoxQuery> {
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

    pub(super) fn phrase(
        &self,
        path: &str,
        text: &str,
        slop: u32,
        analyzer: Option<&str>,
        boost: f32,
    ) -> Result<BoxQuery> {
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

    pub(super) fn phrase_prefix(&self, path: &str, text: &str, boost: f32) -> Result<BoxQuery> {
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
}
