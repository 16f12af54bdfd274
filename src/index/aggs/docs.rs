//! The documents aggregations run over: the matches of the main query, the documents of
//! a `filter` query, every live document (`global`, `min_doc_count: 0` terms).

use tantivy::query::{EnableScoring, Query};
use tantivy::{BitSet, DocId, Score, Searcher};

use super::AggTarget;
use crate::error::{Error, Result};
use crate::index::to_tantivy::QueryBuilder;
use crate::query::QueryAst;

/// One matching document: its target index (position in the search's targets), segment,
/// doc id in the segment, and score (1.0 when scores are not needed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DocRef {
    pub target: u32,
    pub segment: u32,
    pub doc: DocId,
    pub score: Score,
}

/// Returns the live documents of `searcher` matching `query`, in doc order.
///
/// `with_scores` computes BM25 scores (for `top_hits` and `min_score`); `min_score`
/// drops documents below it, as ES does before aggregating.
pub fn collect_matches(
    searcher: &Searcher,
    query: &dyn Query,
    target: usize,
    with_scores: bool,
    min_score: Option<f32>,
) -> Result<Vec<DocRef>> {
    let scoring = if with_scores || min_score.is_some() {
        EnableScoring::enabled_from_searcher(searcher)
    } else {
        EnableScoring::disabled_from_searcher(searcher)
    };
    let weight = query.weight(scoring)?;
    let mut matches = Vec::new();
    for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
        let alive = segment.alive_bitset();
        weight.for_each(segment, &mut |doc, score| {
            if alive.is_some_and(|bits| !bits.is_alive(doc)) {
                return;
            }
            if min_score.is_some_and(|minimum| score < minimum) {
                return;
            }
            matches.push(DocRef {
                target: target as u32,
                segment: segment_ord as u32,
                doc,
                score: if with_scores { score } else { 1.0 },
            });
        })?;
    }
    Ok(matches)
}

/// A set of documents across targets and segments (one bitset per segment).
pub struct DocSet {
    bits: Vec<Vec<BitSet>>,
}

impl DocSet {
    /// Returns true when `doc` is in the set.
    pub fn contains(&self, doc: &DocRef) -> bool {
        self.bits
            .get(doc.target as usize)
            .and_then(|segments| segments.get(doc.segment as usize))
            .is_some_and(|bits| doc.doc < bits.max_value() && bits.contains(doc.doc))
    }

    /// Returns a set of doc ids of target 0, segment 0 (unit tests).
    #[cfg(test)]
    pub fn from_doc_ids(ids: &[DocId]) -> DocSet {
        let mut bits = BitSet::with_max_value(ids.iter().max().map_or(1, |max| max + 1));
        for id in ids {
            bits.insert(*id);
        }
        DocSet { bits: vec![vec![bits]] }
    }
}

/// Returns the documents of every target matching `query` (a `filter`/`filters` query),
/// built with each index's mapping like the main query.
pub fn query_doc_set(targets: &[AggTarget<'_>], query: &QueryAst, now_millis: i64) -> Result<DocSet> {
    let mut bits = Vec::with_capacity(targets.len());
    for target in targets {
        let state = target.handle.state();
        let builder = QueryBuilder {
            state: &state,
            fields: target.handle.fields(),
            vectors: target.handle.vectors(),
            now_millis,
        };
        let built = builder
            .build(query)
            .map_err(|error| Error::search_phase(error, &target.handle.name()))?;
        let weight = built.weight(EnableScoring::disabled_from_searcher(target.searcher))?;
        let mut per_segment = Vec::new();
        for segment in target.searcher.segment_readers() {
            let mut segment_bits = BitSet::with_max_value(segment.max_doc());
            weight.for_each_no_score(segment, &mut |docs| {
                for doc in docs {
                    segment_bits.insert(*doc);
                }
            })?;
            per_segment.push(segment_bits);
        }
        bits.push(per_segment);
    }
    Ok(DocSet { bits })
}

/// Returns every live document of every target, with score 1.0.
pub fn all_docs(targets: &[AggTarget<'_>]) -> Vec<DocRef> {
    let mut docs = Vec::new();
    for (target_position, target) in targets.iter().enumerate() {
        for (segment_ord, segment) in target.searcher.segment_readers().iter().enumerate() {
            let alive = segment.alive_bitset();
            docs.extend(
                (0..segment.max_doc())
                    .filter(|doc| alive.is_none_or(|bits| bits.is_alive(*doc)))
                    .map(|doc| DocRef {
                        target: target_position as u32,
                        segment: segment_ord as u32,
                        doc,
                        score: 1.0,
                    }),
            );
        }
    }
    docs
}

/// Returns documents 0..count of target 0, segment 0, scored 1.0 (unit tests).
#[cfg(test)]
pub fn test_docs(count: u32) -> Vec<DocRef> {
    (0..count)
        .map(|doc| DocRef {
            target: 0,
            segment: 0,
            doc,
            score: 1.0,
        })
        .collect()
}
