//! Score fusion: turns several ranked result lists into one ranking, the way Elasticsearch's `rrf`
//! and `linear` retrievers and OpenSearch's `score-ranker-processor` and `normalization-processor`
//! do it.
//!
//! Everything here is a pure function of its inputs: ranked lists in, fused documents out. The
//! lists may come from the local index or from a remote cluster; nothing here knows which.
//!
//! # Numbers
//! Scores are `f32`, like Lucene's, and every method adds and multiplies them in the same order
//! and the same precision as the Java code it mirrors, so that a fused `_score` prints the same
//! digits as the reference engine (the YAML REST tests compare scores exactly). Each method's file
//! names the Java class it follows.
//!
//! # Ties
//! [`FusedDoc`]s come out ordered by fused score, highest first, then by key, smallest first.
//! Elasticsearch's `RankDoc.compareTo` orders by score descending, then shard index ascending,
//! then Lucene doc id ascending; a key that orders like `(shard, doc)` (a `u64` doc ordinal, or an
//! `(index, id)` pair) gives the same order. OpenSearch's `ScoreCombiner` stable-sorts a `HashMap`'s
//! keys by score, which leaves equal scores in hash order; key order is the deterministic stand-in.
//! A `NaN` fused score (only possible from `NaN` input scores) sorts last.
//!
//! # Explain
//! Every [`FusedDoc`] carries one [`Component`] per input list, in input order, with what that
//! list knew about the document (raw score, 1-based rank, normalised value) and what it added to
//! the fused score, so an `explain` response can show every step.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hash;

pub mod explain;
pub mod linear;
pub mod opensearch;
pub mod rrf;
pub mod search_pipeline;

/// Elasticsearch's default `rank_window_size` for compound retrievers
/// (`RankBuilder.DEFAULT_RANK_WINDOW_SIZE`).
pub const DEFAULT_RANK_WINDOW_SIZE: usize = 10;

/// Elasticsearch's default weight of an `rrf` or `linear` retriever component.
pub const DEFAULT_WEIGHT: f32 = 1.0;

/// Checks the weight of an Elasticsearch `rrf` or `linear` retriever component.
///
/// Fails with `[weight] must be non-negative` (`RRFRetrieverComponent`, `LinearRetrieverComponent`).
/// A weight of zero is allowed: the list still brings its documents, each contributing 0.
pub fn validate_weight(weight: f32) -> Result<f32, FusionError> {
    if weight < 0.0 {
        return Err(FusionError::NegativeWeight);
    }
    Ok(weight)
}

/// What a document key must support: equality and hashing to merge lists, ordering to break ties.
pub trait FusionKey: Clone + Eq + Hash + Ord {}

impl<T: Clone + Eq + Hash + Ord> FusionKey for T {}

/// One hit of one retriever: the document's key and the score that retriever gave it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredDoc<K> {
    pub key: K,
    pub score: f32,
}

impl<K> ScoredDoc<K> {
    pub fn new(key: K, score: f32) -> ScoredDoc<K> {
        ScoredDoc { key, score }
    }
}

/// The hits of one retriever, best first. A hit's rank is its position plus one.
///
/// The order is the retriever's own: it is usually score order, but a retriever that sorts by a
/// field ranks by that field, and rank-based fusion must use that order, so [`RankedList::new`]
/// keeps it as given. A key appears at most once.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedList<K> {
    docs: Vec<ScoredDoc<K>>,
}

impl<K> Default for RankedList<K> {
    fn default() -> Self {
        RankedList { docs: Vec::new() }
    }
}

impl<K: FusionKey> RankedList<K> {
    /// Takes hits in the order the retriever ranked them, best first.
    ///
    /// A key that appears again is dropped: a document has one rank per list, and the first
    /// occurrence is the better one.
    pub fn new(docs: impl IntoIterator<Item = ScoredDoc<K>>) -> RankedList<K> {
        let mut seen_keys = std::collections::HashSet::new();
        let unique_docs = docs
            .into_iter()
            .filter(|doc| seen_keys.insert(doc.key.clone()))
            .collect();
        RankedList { docs: unique_docs }
    }

    /// Orders hits by score, highest first, then by key (`NaN` scores last), and keeps the first
    /// hit of each key in that order.
    pub fn by_score(docs: impl IntoIterator<Item = ScoredDoc<K>>) -> RankedList<K> {
        let mut sorted_docs: Vec<ScoredDoc<K>> = docs.into_iter().collect();
        sorted_docs.sort_by(|left, right| by_score_then_key(left.score, &left.key, right.score, &right.key));
        RankedList::new(sorted_docs)
    }
}

impl<K> RankedList<K> {
    pub fn docs(&self) -> &[ScoredDoc<K>] {
        &self.docs
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The best `window_size` hits: what a child retriever returns when its parent asks for
    /// `rank_window_size` documents.
    pub fn window(&self, window_size: usize) -> &[ScoredDoc<K>] {
        &self.docs[..self.docs.len().min(window_size)]
    }
}

/// What one input list contributed to one fused document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Component {
    /// The score this list gave the document; `None` when the list (within its window) does not
    /// contain it.
    pub raw_score: Option<f32>,
    /// The document's 1-based position in this list; `None` when absent.
    pub rank: Option<usize>,
    /// The value the method combined in place of the raw score (normaliser output, or the rank
    /// score for OpenSearch's rrf); `None` when absent, and for Elasticsearch's rrf, which uses
    /// only ranks.
    pub normalized: Option<f32>,
    /// The weight this list had in the combination.
    pub weight: f32,
    /// This list's part of the fused score. For every method but two, the fused score is the sum
    /// of the contributions (up to `f32` rounding). For OpenSearch's `geometric_mean` it is the
    /// term in the exponent, `wᵢ·ln(sᵢ)/Σw`, so the fused score is `exp(Σ contributions)`; for
    /// `harmonic_mean` it is this list's share `(wᵢ/sᵢ)/Σ(w/s) · fused`. Zero when the list did not
    /// count.
    pub contribution: f32,
}

impl Component {
    /// The component of a list that does not contain the document.
    pub fn absent(weight: f32) -> Component {
        Component {
            raw_score: None,
            rank: None,
            normalized: None,
            weight,
            contribution: 0.0,
        }
    }
}

/// One document of the fused ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct FusedDoc<K> {
    pub key: K,
    pub score: f32,
    /// One entry per input list, in input order.
    pub components: Vec<Component>,
}

/// Invalid fusion parameters.
///
/// The messages are the reference engines' own, word for word (capitals included), because
/// clients and the YAML REST tests match on them; the caller wraps them in an
/// `illegal_argument_exception`. Each variant names the Java class it comes from.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FusionError {
    /// Elasticsearch `RRFRetrieverComponent` and `LinearRetrieverComponent`.
    #[error("[weight] must be non-negative")]
    NegativeWeight,
    /// Elasticsearch `ScoreNormalizer.valueOf`.
    #[error("Unknown normalizer [{0}]")]
    UnknownNormalizer(String),
    /// Elasticsearch `RRFRankBuilder` (the retriever is built from the same checks).
    #[error("[rank_constant] must be greater or equal to [1] for [rrf]")]
    RankConstantBelowOne,
    /// Elasticsearch `RRFRetrieverBuilder` and `LinearRetrieverBuilder` constructors.
    #[error("The number of weights must match the number of inner retrievers")]
    RetrieverCountMismatch,
    /// OpenSearch `RRFScoreNormalizer.validateRankConstant`.
    #[error("rank constant must be in the interval between 1 and 10000, submitted rank constant: {0}")]
    RankConstantOutOfRange(i64),
    /// OpenSearch `ScoreCombinationUtil.validateWeights`; the list is printed as Java prints it.
    #[error("all weights must be in range [0.0 ... 1.0], submitted weights: {0}")]
    WeightOutOfRange(String),
    /// OpenSearch `ScoreCombinationUtil.validateWeights`.
    #[error("sum of weights for combination must be equal to 1.0, submitted weights: {0}")]
    WeightsDoNotSumToOne(String),
    /// OpenSearch `ScoreCombinationUtil.validateIfWeightsMatchScores`.
    #[error("number of weights [{weights}] must match number of sub-queries [{sub_queries}] in hybrid query")]
    SubQueryWeightCountMismatch { weights: usize, sub_queries: usize },
    /// OpenSearch `ScoreNormalizationFactory`.
    #[error("provided normalization technique is not supported")]
    UnknownNormalizationTechnique,
    /// OpenSearch `ScoreCombinationFactory`.
    #[error("provided combination technique is not supported")]
    UnknownCombinationTechnique,
    /// OpenSearch `NormalizationProcessorFactory`.
    #[error("Z Score supports only arithmetic_mean combination technique")]
    ZScoreNeedsArithmeticMean,
    /// OpenSearch `BoundMode.fromString`.
    #[error("invalid mode: {0}, valid values are: apply, clip, ignore")]
    InvalidBoundMode(String),
    /// OpenSearch `MinMaxScoreNormalizationTechnique.validateBoundScore` (Java's `%f` prints six
    /// decimals).
    #[error("{parameter} must be a valid finite number between -10000.000000 and 10000.000000")]
    BoundScoreOutOfRange { parameter: &'static str },
    /// OpenSearch `MinMaxScoreNormalizationTechnique.getBoundsParams`; a hybrid query has at most
    /// five sub-queries.
    #[error("{parameter} size {size} should be less than or equal to 5")]
    TooManyBounds { parameter: &'static str, size: usize },
    /// OpenSearch `MinMaxScoreNormalizationTechnique.normalize`.
    #[error("expected bounds array to contain {0} elements matching the number of sub-queries, but found a mismatch")]
    BoundsCountMismatch(usize),
}

/// A fusion method with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum FusionMethod {
    /// Elasticsearch `rrf` retriever (and the legacy `rank.rrf` it replaced).
    Rrf(rrf::RrfParams),
    /// Elasticsearch `linear` retriever.
    Linear(linear::LinearParams),
    /// OpenSearch `score-ranker-processor` (its only technique is rrf).
    OpenSearchRrf(rrf::ScoreRankerParams),
    /// OpenSearch `normalization-processor`.
    OpenSearchNormalization(opensearch::NormalizationProcessorParams),
}

/// Fuses `lists` (one per retriever or sub-query, in request order) with `method`, best first.
pub fn fuse<K: FusionKey>(lists: &[RankedList<K>], method: &FusionMethod) -> Result<Vec<FusedDoc<K>>, FusionError> {
    match method {
        FusionMethod::Rrf(params) => rrf::fuse(lists, params),
        FusionMethod::Linear(params) => linear::fuse(lists, params),
        FusionMethod::OpenSearchRrf(params) => rrf::fuse_opensearch(lists, params),
        FusionMethod::OpenSearchNormalization(params) => opensearch::normalization_processor(lists, params),
    }
}

/// Orders by score descending, `NaN` last, then by key ascending; `-0.0` and `0.0` tie, as they
/// do in Java's `score != other.score`.
pub(crate) fn by_score_then_key<K: Ord>(left_score: f32, left_key: &K, right_score: f32, right_key: &K) -> Ordering {
    let score_order = match (left_score.is_nan(), right_score.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => right_score.partial_cmp(&left_score).expect("neither score is NaN"),
    };
    score_order.then_with(|| left_key.cmp(right_key))
}

/// Sorts fused documents best first (see the module docs on ties).
pub(crate) fn sort_fused<K: Ord>(fused: &mut [FusedDoc<K>]) {
    fused.sort_by(|left, right| by_score_then_key(left.score, &left.key, right.score, &right.key));
}

/// A weighted sum over every document of `windows`, the fusion `rrf` and `linear` share: list
/// `i` weighs `weights[i]`, and `part(i, position, weight)` gives a present document's
/// normalised value (if the method has one) and its contribution. Contributions are summed in
/// `f32` in list order; the result is sorted (ties to the smaller key) and cut to `keep`.
pub(crate) fn weighted_sum<K: FusionKey>(
    windows: &[&[ScoredDoc<K>]],
    weights: &[f32],
    part: impl Fn(usize, usize, f32) -> (Option<f32>, f32),
    keep: usize,
) -> Vec<FusedDoc<K>> {
    let appearances = Appearances::collect(windows);
    let mut fused: Vec<FusedDoc<K>> = Vec::with_capacity(appearances.keys.len());
    for (key, positions) in appearances.keys.iter().zip(&appearances.positions) {
        let mut score = 0.0_f32;
        let mut components = Vec::with_capacity(windows.len());
        for (list_index, position_opt) in positions.iter().enumerate() {
            let weight = weights[list_index];
            let Some(position) = *position_opt else {
                components.push(Component::absent(weight));
                continue;
            };
            let (normalized, contribution) = part(list_index, position, weight);
            score += contribution;
            components.push(Component {
                raw_score: Some(windows[list_index][position].score),
                rank: Some(position + 1),
                normalized,
                weight,
                contribution,
            });
        }
        fused.push(FusedDoc {
            key: (*key).clone(),
            score,
            components,
        });
    }
    sort_fused(&mut fused);
    fused.truncate(keep);
    fused
}

/// Collects, for every document in any of `lists`, its position and score in each list.
///
/// Documents come out in order of first appearance (list by list, best first), which is the order
/// the Java implementations visit them in; per-document accumulation order follows list order.
pub(crate) struct Appearances<'a, K> {
    /// Distinct keys, in order of first appearance.
    pub keys: Vec<&'a K>,
    /// `positions[doc][list]`: the 0-based position of `keys[doc]` in `lists[list]`.
    pub positions: Vec<Vec<Option<usize>>>,
}

impl<'a, K: FusionKey> Appearances<'a, K> {
    pub(crate) fn collect(lists: &[&'a [ScoredDoc<K>]]) -> Appearances<'a, K> {
        let mut doc_index_by_key: HashMap<&'a K, usize> = HashMap::new();
        let mut keys = Vec::new();
        let mut positions: Vec<Vec<Option<usize>>> = Vec::new();
        for (list_index, list) in lists.iter().enumerate() {
            for (position, doc) in list.iter().enumerate() {
                let doc_index = match doc_index_by_key.entry(&doc.key) {
                    Entry::Occupied(occupied) => *occupied.get(),
                    Entry::Vacant(vacant) => {
                        keys.push(&doc.key);
                        positions.push(vec![None; lists.len()]);
                        *vacant.insert(keys.len() - 1)
                    }
                };
                debug_assert!(
                    positions[doc_index][list_index].is_none(),
                    "a ranked list holds each key once"
                );
                positions[doc_index][list_index] = Some(position);
            }
        }
        Appearances { keys, positions }
    }
}

/// Java's `Float.compare`: a total order in which `-0.0 < 0.0` and `NaN` is above everything.
pub(crate) fn java_float_compare(left: f32, right: f32) -> Ordering {
    if left < right {
        return Ordering::Less;
    }
    if left > right {
        return Ordering::Greater;
    }
    let canonical_bits = |value: f32| {
        if value.is_nan() {
            0x7fc0_0000_i32
        } else {
            value.to_bits() as i32
        }
    };
    canonical_bits(left).cmp(&canonical_bits(right))
}

/// Java's `Float.toString`, for values echoed in error messages (`0.5`, `1.0`, `1.0E-4`).
pub(crate) fn java_float_string(value: f32) -> String {
    crate::encoding::java_decimal(value)
}

/// Java's `Arrays.toString(Float[])`: `[0.3, 0.7]`.
pub(crate) fn java_float_list_string(values: &[f32]) -> String {
    let items: Vec<String> = values.iter().map(|value| java_float_string(*value)).collect();
    format!("[{}]", items.join(", "))
}

/// Builders and strategies shared by the tests of every method.
#[cfg(test)]
pub(crate) mod testing {
    use proptest::prelude::*;

    use super::{FusedDoc, RankedList, ScoredDoc};

    /// A list ranked in the given order.
    pub(crate) fn doc_list(hits: &[(u64, f32)]) -> RankedList<u64> {
        RankedList::new(hits.iter().map(|(key, score)| ScoredDoc::new(*key, *score)))
    }

    pub(crate) fn fused_keys(fused: &[FusedDoc<u64>]) -> Vec<u64> {
        fused.iter().map(|doc| doc.key).collect()
    }

    pub(crate) fn fused_scores(fused: &[FusedDoc<u64>]) -> Vec<f32> {
        fused.iter().map(|doc| doc.score).collect()
    }

    /// Compares with a hand computation written to 9 or 10 significant digits; `f32` carries about 7.
    #[track_caller]
    pub(crate) fn assert_close(actual: f32, expected: f64) {
        let tolerance = 4e-7 * expected.abs().max(1e-3);
        assert!(
            (f64::from(actual) - expected).abs() <= tolerance,
            "expected {expected}, got {actual}"
        );
    }

    /// One to four score-ordered lists over keys 0..30 with finite scores, some of them empty.
    pub(crate) fn lists_strategy() -> impl Strategy<Value = Vec<RankedList<u64>>> {
        let hit = (0_u64..30, -100.0_f32..100.0);
        let list = proptest::collection::vec(hit, 0..15)
            .prop_map(|hits| RankedList::by_score(hits.into_iter().map(|(key, score)| ScoredDoc::new(key, score))));
        proptest::collection::vec(list, 1..5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(key: u64, score: f32) -> ScoredDoc<u64> {
        ScoredDoc::new(key, score)
    }

    #[test]
    fn ranked_list_keeps_the_given_order_and_the_first_copy_of_a_key() {
        let list = RankedList::new([doc(7, 1.0), doc(3, 5.0), doc(7, 9.0), doc(1, 2.0)]);
        assert_eq!(list.docs(), &[doc(7, 1.0), doc(3, 5.0), doc(1, 2.0)]);
        assert_eq!(list.window(2), &[doc(7, 1.0), doc(3, 5.0)]);
        assert_eq!(list.window(10).len(), 3);
    }

    #[test]
    fn ranked_list_by_score_orders_score_descending_then_key_with_nan_last() {
        let list = RankedList::by_score([doc(5, 1.0), doc(2, f32::NAN), doc(4, 3.0), doc(1, 1.0), doc(3, -0.0)]);
        let keys: Vec<u64> = list.docs().iter().map(|hit| hit.key).collect();
        assert_eq!(keys, vec![4, 1, 5, 3, 2]);
    }

    #[test]
    fn ties_put_the_smaller_key_first_and_zero_signs_tie() {
        assert_eq!(by_score_then_key(1.0, &1, 1.0, &2), Ordering::Less);
        assert_eq!(by_score_then_key(0.0, &2, -0.0, &1), Ordering::Greater);
        assert_eq!(by_score_then_key(2.0, &9, 1.0, &1), Ordering::Less);
    }

    #[test]
    fn java_float_compare_matches_java() {
        assert_eq!(java_float_compare(-0.0, 0.0), Ordering::Less);
        assert_eq!(java_float_compare(f32::NAN, f32::INFINITY), Ordering::Greater);
        assert_eq!(java_float_compare(f32::NAN, f32::NAN), Ordering::Equal);
        assert_eq!(java_float_compare(1.0, 2.0), Ordering::Less);
    }

    #[test]
    fn java_float_strings_match_java() {
        assert_eq!(java_float_string(0.5), "0.5");
        assert_eq!(java_float_string(1.0), "1.0");
        assert_eq!(java_float_string(0.0), "0.0");
        assert_eq!(java_float_string(-0.5), "-0.5");
        assert_eq!(java_float_string(2.4), "2.4");
        assert_eq!(java_float_string(0.001), "0.001");
        assert_eq!(java_float_string(1e-4), "1.0E-4");
        assert_eq!(java_float_string(1.5e7), "1.5E7");
        assert_eq!(java_float_list_string(&[0.3, 0.7]), "[0.3, 0.7]");
    }

    #[test]
    fn fuse_dispatches_to_each_method() {
        let lists = vec![
            RankedList::new([doc(1, 3.0), doc(2, 1.0)]),
            RankedList::new([doc(2, 0.5)]),
        ];
        let rrf_params = rrf::RrfParams::new(2, 10);
        let by_rrf = fuse(&lists, &FusionMethod::Rrf(rrf_params.clone())).expect("valid");
        assert_eq!(by_rrf, rrf::fuse(&lists, &rrf_params).expect("valid"));
        let linear_params = linear::LinearParams::new(2, 10);
        let by_linear = fuse(&lists, &FusionMethod::Linear(linear_params.clone())).expect("valid");
        assert_eq!(by_linear, linear::fuse(&lists, &linear_params).expect("valid"));
        let ranker_params = rrf::ScoreRankerParams::default();
        let by_ranker = fuse(&lists, &FusionMethod::OpenSearchRrf(ranker_params.clone())).expect("valid");
        assert_eq!(by_ranker, rrf::fuse_opensearch(&lists, &ranker_params).expect("valid"));
        let normalization_params = opensearch::NormalizationProcessorParams::default();
        let by_normalization = fuse(
            &lists,
            &FusionMethod::OpenSearchNormalization(normalization_params.clone()),
        )
        .expect("valid");
        assert_eq!(
            by_normalization,
            opensearch::normalization_processor(&lists, &normalization_params).expect("valid")
        );
    }
}
