//! A tantivy query over scores computed elsewhere: the documents (by stable `_ord` key) the
//! vector engine returned, each with its kNN `_score`. It lets kNN results take part in
//! `bool`, `dis_max`, boosts, aggregations and explain like any other query.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

/// Matches exactly the documents in `scores`, scoring each with its precomputed score.
#[derive(Debug, Clone)]
pub struct PrecomputedScoresQuery {
    ord_field: Field,
    scores: Arc<HashMap<u64, Score>>,
    description: String,
}

impl PrecomputedScoresQuery {
    pub fn new(ord_field: Field, scores: HashMap<u64, Score>, description: String) -> PrecomputedScoresQuery {
        PrecomputedScoresQuery {
            ord_field,
            scores: Arc::new(scores),
            description,
        }
    }
}

impl Query for PrecomputedScoresQuery {
    fn weight(&self, _enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(PrecomputedWeight { query: self.clone() }))
    }
}

struct PrecomputedWeight {
    query: PrecomputedScoresQuery,
}

impl PrecomputedWeight {
    /// Returns the segment's matching documents in doc order with their scores.
    fn segment_hits(&self, reader: &SegmentReader) -> tantivy::Result<Vec<(DocId, Score)>> {
        let inverted = reader.inverted_index(self.query.ord_field)?;
        let alive = reader.alive_bitset();
        let mut hits = Vec::new();
        for (ord, score) in self.query.scores.iter() {
            let term = Term::from_field_u64(self.query.ord_field, *ord);
            let Some(mut postings) = inverted.read_postings(&term, IndexRecordOption::Basic)? else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if alive.is_none_or(|bits| bits.is_alive(doc)) {
                    hits.push((doc, *score));
                    break;
                }
                doc = postings.advance();
            }
        }
        hits.sort_unstable_by_key(|(doc, _)| *doc);
        Ok(hits)
    }
}

impl Weight for PrecomputedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(PrecomputedScorer::new(self.segment_hits(reader)?, boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let hits = self.segment_hits(reader)?;
        match hits.iter().find(|(hit, _)| *hit == doc) {
            Some((_, score)) => Ok(Explanation::new_with_string(self.query.description.clone(), *score)),
            None => Err(tantivy::TantivyError::InvalidArgument(format!(
                "Document #({doc}) does not match"
            ))),
        }
    }
}

/// A scorer over (doc, score) pairs computed up front, in doc order.
pub(crate) struct PrecomputedScorer {
    hits: Vec<(DocId, Score)>,
    position: usize,
    boost: Score,
}

impl PrecomputedScorer {
    /// `hits` must be sorted by doc id.
    pub(crate) fn new(hits: Vec<(DocId, Score)>, boost: Score) -> PrecomputedScorer {
        debug_assert!(hits.windows(2).all(|pair| pair[0].0 < pair[1].0));
        PrecomputedScorer {
            hits,
            position: 0,
            boost,
        }
    }
}

impl DocSet for PrecomputedScorer {
    fn advance(&mut self) -> DocId {
        self.position += 1;
        self.doc()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        while self.doc() < target {
            self.position += 1;
        }
        self.doc()
    }

    fn doc(&self) -> DocId {
        self.hits.get(self.position).map_or(TERMINATED, |(doc, _)| *doc)
    }

    fn size_hint(&self) -> u32 {
        self.hits.len() as u32
    }
}

impl Scorer for PrecomputedScorer {
    fn score(&mut self) -> Score {
        self.hits
            .get(self.position)
            .map_or(0.0, |(_, score)| score * self.boost)
    }
}
