//! ES `boosting` query: documents matching `positive` keep their score, multiplied by
//! `negative_boost` when they also match `negative`.
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-boosting-query.html>

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED};

/// The boosting query; `negative` never adds documents, it only demotes.
#[derive(Debug)]
pub struct BoostingQuery {
    positive: Box<dyn Query>,
    negative: Box<dyn Query>,
    negative_boost: Score,
}

impl BoostingQuery {
    pub fn new(positive: Box<dyn Query>, negative: Box<dyn Query>, negative_boost: Score) -> BoostingQuery {
        BoostingQuery {
            positive,
            negative,
            negative_boost,
        }
    }
}

impl Clone for BoostingQuery {
    fn clone(&self) -> BoostingQuery {
        BoostingQuery {
            positive: self.positive.box_clone(),
            negative: self.negative.box_clone(),
            negative_boost: self.negative_boost,
        }
    }
}

impl Query for BoostingQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        // The negative side only filters; its scores are never used.
        let negative_scoring = match enable_scoring {
            EnableScoring::Enabled { searcher, .. } => EnableScoring::disabled_from_searcher(searcher),
            disabled => disabled,
        };
        Ok(Box::new(BoostingWeight {
            positive: self.positive.weight(enable_scoring)?,
            negative: self.negative.weight(negative_scoring)?,
            negative_boost: self.negative_boost,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        self.positive.query_terms(visitor);
    }
}

struct BoostingWeight {
    positive: Box<dyn Weight>,
    negative: Box<dyn Weight>,
    negative_boost: Score,
}

fn matches(scorer: &mut dyn Scorer, doc: DocId) -> bool {
    let current = scorer.doc();
    if current == doc {
        return true;
    }
    current < doc && scorer.seek(doc) == doc
}

impl Weight for BoostingWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(BoostingScorer {
            positive: self.positive.scorer(reader, boost)?,
            negative: self.negative.scorer(reader, 1.0)?,
            negative_boost: self.negative_boost,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let positive = self.positive.explain(reader, doc)?;
        let mut negative = self.negative.scorer(reader, 1.0)?;
        if !matches(negative.as_mut(), doc) {
            return Ok(positive);
        }
        let mut explanation = Explanation::new("product of:", positive.value() * self.negative_boost);
        explanation.add_detail(positive);
        explanation.add_const("negative_boost", self.negative_boost);
        Ok(explanation)
    }
}

struct BoostingScorer {
    positive: Box<dyn Scorer>,
    negative: Box<dyn Scorer>,
    negative_boost: Score,
}

impl DocSet for BoostingScorer {
    fn advance(&mut self) -> DocId {
        self.positive.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.positive.seek(target)
    }

    fn doc(&self) -> DocId {
        self.positive.doc()
    }

    fn size_hint(&self) -> u32 {
        self.positive.size_hint()
    }
}

impl Scorer for BoostingScorer {
    fn score(&mut self) -> Score {
        let doc = self.positive.doc();
        let score = self.positive.score();
        if doc != TERMINATED && matches(self.negative.as_mut(), doc) {
            score * self.negative_boost
        } else {
            score
        }
    }
}
