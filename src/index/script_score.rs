//! ES `script_score` for vector functions: exact scoring of every document the inner query
//! matches, reading each document's vector from the vector index (or from its stored
//! `_source` when the index keeps vectors there).

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::Value as _;
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyDocument};

use super::knn_query::PrecomputedScorer;
use super::source_filter::values_at;
use super::vector_source::{ApartField, parse_apart};
use super::vectors::VectorFields;
use crate::error::Error;
use crate::query::script::{Script, ScriptContext, VectorFunction};
use crate::vector::{dot_f32, l1_f32, squared_l2_f32};

/// The parts of a `script_score` query the scorer needs.
#[derive(Debug, Clone)]
pub struct ScriptScoreQuery {
    pub inner: Arc<Box<dyn Query>>,
    pub script: Arc<Script>,
    pub params: Arc<HashMap<String, Vec<f32>>>,
    /// Field name in the script → path of its values in `_source`.
    pub source_paths: Arc<HashMap<String, String>>,
    pub source_field: tantivy::schema::Field,
    /// `_vectors`: which vectors a document keeps apart from its source.
    pub apart_field: tantivy::schema::Field,
    pub ord_field: tantivy::schema::Field,
    /// The vector fields kept apart, and where their values are.
    pub apart: Arc<Vec<ApartField>>,
    pub vectors: Arc<VectorFields>,
    pub min_score: Option<f32>,
}

impl Query for ScriptScoreQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let inner = self.inner.weight(enable_scoring)?;
        Ok(Box::new(ScriptScoreWeight {
            query: self.clone(),
            inner,
        }))
    }
}

struct ScriptScoreWeight {
    query: ScriptScoreQuery,
    inner: Box<dyn Weight>,
}

struct DocumentContext<'a> {
    query: &'a ScriptScoreQuery,
    source: &'a Value,
    /// The document's `_vectors` (path → magnitude) and key.
    apart: &'a serde_json::Map<String, Value>,
    ord: u64,
    score: f64,
}

impl ScriptContext for DocumentContext<'_> {
    fn vector(&self, function: VectorFunction, param: &str, field: &str) -> crate::error::Result<f64> {
        let Some(query_vector) = self.query.params.get(param) else {
            return Err(Error::illegal_argument(format!(
                "script_score: missing parameter [params.{param}]"
            )));
        };
        let path = self.query.source_paths.get(field).map_or(field, String::as_str);
        let apart = self
            .query
            .apart
            .iter()
            .find(|apart| apart.path == field)
            .and_then(|apart| Some((apart, self.apart.get(field)?)));
        let values: Vec<f32> = match apart {
            Some((apart, magnitude)) => self
                .query
                .vectors
                .restored(apart, self.ord, magnitude)
                .unwrap_or_default(),
            None => values_at(self.source, path)
                .into_iter()
                .filter_map(|value| value.as_f64().map(|number| number as f32))
                .collect(),
        };
        if values.is_empty() {
            return Err(Error::illegal_argument(
                "A document doesn't have a value for a vector field!",
            ));
        }
        if values.len() != query_vector.len() {
            return Err(Error::illegal_argument(format!(
                "The query vector has a different number of dimensions [{}] than the document vectors [{}].",
                query_vector.len(),
                values.len()
            )));
        }
        Ok(f64::from(match function {
            VectorFunction::DotProduct => dot_f32(query_vector, &values),
            VectorFunction::CosineSimilarity => {
                let norms = (dot_f32(query_vector, query_vector) * dot_f32(&values, &values)).sqrt();
                if norms == 0.0 {
                    0.0
                } else {
                    dot_f32(query_vector, &values) / norms
                }
            }
            VectorFunction::L1Norm => l1_f32(query_vector, &values),
            VectorFunction::L2Norm => squared_l2_f32(query_vector, &values).sqrt(),
            VectorFunction::Hamming => query_vector
                .iter()
                .zip(&values)
                .map(|(left, right)| ((*left as i8 as u8) ^ (*right as i8 as u8)).count_ones() as f32)
                .sum(),
        }))
    }

    fn score(&self) -> f64 {
        self.score
    }
}

impl ScriptScoreWeight {
    /// Scores every matching document of the segment (doc order), or fails like ES does.
    fn segment_scores(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Vec<(DocId, Score)>> {
        let store = reader.get_store_reader(64)?;
        let mut inner = self.inner.scorer(reader, 1.0)?;
        let alive = reader.alive_bitset();
        let mut scores = Vec::new();
        let mut doc = inner.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|bits| bits.is_alive(doc)) {
                let stored: TantivyDocument = store.get(doc)?;
                let text = |field| stored.get_first(field).and_then(|value| value.as_str());
                let source: Value = text(self.query.source_field)
                    .and_then(|text| serde_json::from_str(text).ok())
                    .unwrap_or(Value::Null);
                let apart = text(self.query.apart_field)
                    .and_then(|text| parse_apart(text.as_bytes()).ok())
                    .unwrap_or_default();
                let context = DocumentContext {
                    query: &self.query,
                    source: &source,
                    apart: &apart,
                    ord: stored
                        .get_first(self.query.ord_field)
                        .and_then(|value| value.as_u64())
                        .unwrap_or(0),
                    score: f64::from(inner.score()),
                };
                let value = self
                    .query
                    .script
                    .evaluate(&context)
                    .map_err(|error| tantivy::TantivyError::InvalidArgument(error.reason))?
                    as f32;
                if !value.is_finite() || value < 0.0 {
                    return Err(tantivy::TantivyError::InvalidArgument(format!(
                        "script score query returned an invalid score [{value}] for doc [{doc}]."
                    )));
                }
                if self.query.min_score.is_none_or(|minimum| value >= minimum) {
                    scores.push((doc, value * boost));
                }
            }
            doc = inner.advance();
        }
        Ok(scores)
    }
}

impl Weight for ScriptScoreWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(PrecomputedScorer::new(
            self.segment_scores(reader, 1.0)?,
            boost,
        )))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let scores = self.segment_scores(reader, 1.0)?;
        match scores.iter().find(|(hit, _)| *hit == doc) {
            Some((_, score)) => Ok(Explanation::new("script score function, computed with script", *score)),
            None => Err(tantivy::TantivyError::InvalidArgument(format!(
                "Document #({doc}) does not match"
            ))),
        }
    }
}
