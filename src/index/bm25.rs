//! Lucene-exact BM25 statistics for one field.
//!
//! tantivy computes BM25 with N = all documents of the index and avgdl = tokens / N.
//! Lucene (and so ES) uses the field's own statistics: N = `docCount` (documents that
//! have the field) and avgdl = `sumTotalTermFreq / docCount`. Iris stores every text
//! field in its own tantivy field, and keywords per path in a JSON field, so this
//! wrapper hands tantivy the per-field numbers. The score formula itself matches ES's
//! `LegacyBM25Similarity`: `boost · (k1+1) · idf · tf / (tf + k1·(1 − b + b·dl/avgdl))`.

use tantivy::query::{Bm25StatisticsProvider, EnableScoring, Query, Weight};
use tantivy::schema::Field;
use tantivy::{Searcher, Term};

/// Where the field's total token count comes from.
#[derive(Debug, Clone)]
pub enum TokenCount {
    /// A text slot: tantivy knows its token total exactly.
    WholeField(Field),
    /// A keyword path of the JSON field: docs-only postings, so the total is the sum of
    /// document frequencies of the path's terms (`sumDocFreq`), as in Lucene.
    JsonPath { field: Field, path_prefix: Vec<u8> },
}

/// A query whose BM25 statistics are those of one ES field.
#[derive(Debug)]
pub struct FieldStatsQuery {
    inner: Box<dyn Query>,
    exists_term: Term,
    token_count: TokenCount,
}

impl FieldStatsQuery {
    /// Wraps `inner`, which must only score terms of the field described.
    pub fn new(inner: Box<dyn Query>, exists_field: Field, path: &str, token_count: TokenCount) -> FieldStatsQuery {
        FieldStatsQuery {
            inner,
            exists_term: Term::from_field_text(exists_field, path),
            token_count,
        }
    }
}

impl Clone for FieldStatsQuery {
    fn clone(&self) -> FieldStatsQuery {
        FieldStatsQuery {
            inner: self.inner.box_clone(),
            exists_term: self.exists_term.clone(),
            token_count: self.token_count.clone(),
        }
    }
}

struct FieldStatistics<'a> {
    searcher: &'a Searcher,
    doc_count: u64,
    total_tokens: u64,
}

impl Bm25StatisticsProvider for FieldStatistics<'_> {
    fn total_num_tokens(&self, _field: Field) -> tantivy::Result<u64> {
        Ok(self.total_tokens)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.doc_count.max(1))
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        // A term can never be in more documents than the field (deleted documents
        // included on both sides, as in Lucene).
        Ok(self.searcher.doc_freq(term)?.min(self.doc_count.max(1)))
    }
}

fn sum_doc_freq_under(searcher: &Searcher, field: Field, path_prefix: &[u8]) -> tantivy::Result<u64> {
    let mut total = 0u64;
    let mut upper = path_prefix.to_vec();
    if let Some(last) = upper.last_mut() {
        *last = last.saturating_add(1);
    }
    for segment in searcher.segment_readers() {
        let inverted = segment.inverted_index(field)?;
        let mut stream = inverted.terms().range().ge(path_prefix).lt(&upper).into_stream()?;
        while stream.advance() {
            total += u64::from(stream.value().doc_freq);
        }
    }
    Ok(total)
}

impl Query for FieldStatsQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let EnableScoring::Enabled { searcher, .. } = enable_scoring else {
            return self.inner.weight(enable_scoring);
        };
        let doc_count = searcher.doc_freq(&self.exists_term)?;
        let total_tokens = match &self.token_count {
            TokenCount::WholeField(field) => {
                let mut total = 0u64;
                for segment in searcher.segment_readers() {
                    total += segment.inverted_index(*field)?.total_num_tokens();
                }
                total
            }
            TokenCount::JsonPath { field, path_prefix } => sum_doc_freq_under(searcher, *field, path_prefix)?,
        };
        let statistics = FieldStatistics {
            searcher,
            doc_count,
            total_tokens,
        };
        self.inner
            .weight(EnableScoring::enabled_from_statistics_provider(&statistics, searcher))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.inner.query_terms(visitor);
    }
}
