//! Reciprocal rank fusion, as Elasticsearch's `rrf` retriever and OpenSearch's
//! `score-ranker-processor` compute it.
//!
//! Both score a document `Σᵢ wᵢ / (rank_constant + rankᵢ(d))` over the lists that contain it, with
//! 1-based ranks, and neither looks at the lists' scores. They differ in four ways, which is why
//! there are two entry points:
//!
//! | | Elasticsearch [`fuse`] | OpenSearch [`fuse_opensearch`] |
//! |---|---|---|
//! | rank score | `1.0f / (k + rank)` in `f32` | `1 / (k + rank)` rounded half-up to 10 decimals, then `f32` |
//! | `rank_constant` | `≥ 1`, default 60 | `1..=10000`, default 60 |
//! | weights | any `≥ 0`, default 1.0 each (9.2+) | each in `[0, 1]`, summing to 1.0 ± 0.01; default 1.0 each |
//! | window | each list cut to `rank_window_size`, and so is the output | none: every document of every list comes out |
//!
//! Sources: Elasticsearch `x-pack/plugin/rank-rrf/.../rrf/RRFRetrieverBuilder.java`
//! (`combineInnerRetrieverResults`), `RRFRetrieverComponent.java` (weights), `RRFRankDoc.java`
//! (explain), `server/.../search/rank/RankDoc.java` (`compareTo`, ties); OpenSearch neural-search
//! `processor/normalization/RRFScoreNormalizer.java` (`scoreForRank`),
//! `processor/combination/RRFScoreCombinationTechnique.java`,
//! `processor/factory/RRFProcessorFactory.java`.

use super::opensearch::{self, Combination, Normalization, NormalizationProcessorParams};
use super::{FusedDoc, FusionError, FusionKey, RankedList, ScoredDoc, validate_weight, weighted_sum};

/// Default `rank_constant` of both engines.
pub const DEFAULT_RANK_CONSTANT: u32 = 60;
/// Largest `rank_constant` OpenSearch accepts.
pub const OPENSEARCH_MAX_RANK_CONSTANT: u32 = 10_000;

/// Parameters of Elasticsearch's `rrf` retriever.
#[derive(Debug, Clone, PartialEq)]
pub struct RrfParams {
    /// `rank_constant`, at least 1.
    pub rank_constant: u32,
    /// `rank_window_size`: how many hits of each list take part, and how many fused hits come out.
    pub rank_window_size: usize,
    /// One weight per list (`{"retriever": ..., "weight": w}`), each `≥ 0`.
    pub weights: Vec<f32>,
}

impl RrfParams {
    /// Elasticsearch's defaults for `list_count` retrievers: `rank_constant` 60, weight 1.0 each.
    pub fn new(list_count: usize, rank_window_size: usize) -> RrfParams {
        RrfParams {
            rank_constant: DEFAULT_RANK_CONSTANT,
            rank_window_size,
            weights: vec![super::DEFAULT_WEIGHT; list_count],
        }
    }

    pub fn with_rank_constant(self, rank_constant: u32) -> RrfParams {
        RrfParams { rank_constant, ..self }
    }

    pub fn with_weights(self, weights: Vec<f32>) -> RrfParams {
        RrfParams { weights, ..self }
    }
}

/// Checks an Elasticsearch `rank_constant` (a Java `int`).
///
/// Fails with `[rank_constant] must be greater or equal to [1] for [rrf]` below 1.
pub fn validate_rank_constant(rank_constant: i32) -> Result<u32, FusionError> {
    u32::try_from(rank_constant)
        .ok()
        .filter(|value| *value >= 1)
        .ok_or(FusionError::RankConstantBelowOne)
}

/// Elasticsearch's rank score, `1.0f / (rank_constant + rank)`: an `int` sum turned into a `float`
/// and divided in `float`, exactly as `RRFRetrieverBuilder` does. `rank` is 1-based.
pub fn elasticsearch_rank_score(rank: usize, rank_constant: u32) -> f32 {
    let denominator = u64::from(rank_constant) + rank as u64;
    1.0 / denominator as f32
}

/// Fuses lists as Elasticsearch's `rrf` retriever does.
///
/// `score(d) = Σᵢ wᵢ · (1.0f / (rank_constant + rankᵢ(d)))`, summed in `f32` in list order over the
/// lists whose first `rank_window_size` hits contain `d`. The fused ranking is cut to
/// `rank_window_size`; ties go to the smaller key (see the module docs of [`super`]).
///
/// Fails with `[rank_constant] must be greater or equal to [1] for [rrf]`,
/// `[weight] must be non-negative`, or
/// `The number of weights must match the number of inner retrievers`.
pub fn fuse<K: FusionKey>(lists: &[RankedList<K>], params: &RrfParams) -> Result<Vec<FusedDoc<K>>, FusionError> {
    if params.rank_constant < 1 {
        return Err(FusionError::RankConstantBelowOne);
    }
    if params.weights.len() != lists.len() {
        return Err(FusionError::RetrieverCountMismatch);
    }
    for weight in &params.weights {
        validate_weight(*weight)?;
    }
    let windows: Vec<&[ScoredDoc<K>]> = lists.iter().map(|list| list.window(params.rank_window_size)).collect();
    let rank_constant = params.rank_constant;
    Ok(weighted_sum(
        &windows,
        &params.weights,
        |_, position, weight| (None, weight * elasticsearch_rank_score(position + 1, rank_constant)),
        params.rank_window_size,
    ))
}

/// Parameters of OpenSearch's `score-ranker-processor`:
/// `{"combination": {"technique": "rrf", "rank_constant": k, "parameters": {"weights": [...]}}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRankerParams {
    /// `rank_constant`, `1..=10000`.
    pub rank_constant: u32,
    /// `parameters.weights`; `None` when absent, which weighs every sub-query 1.0.
    pub weights: Option<Vec<f32>>,
}

impl Default for ScoreRankerParams {
    fn default() -> Self {
        ScoreRankerParams {
            rank_constant: DEFAULT_RANK_CONSTANT,
            weights: None,
        }
    }
}

impl ScoreRankerParams {
    /// The checks OpenSearch makes when the pipeline is created (see [`validate_opensearch_rank_constant`]
    /// and [`opensearch::validate_weights`]).
    pub fn validate(&self) -> Result<(), FusionError> {
        validate_opensearch_rank_constant(i64::from(self.rank_constant))?;
        if let Some(weights) = &self.weights {
            opensearch::validate_weights(weights)?;
        }
        Ok(())
    }

    fn as_pipeline(&self) -> NormalizationProcessorParams {
        NormalizationProcessorParams {
            normalization: Normalization::Rrf {
                rank_constant: self.rank_constant,
            },
            combination: Combination::Rrf,
            weights: self.weights.clone(),
        }
    }
}

/// Checks an OpenSearch `rank_constant`.
///
/// Fails with `rank constant must be in the interval between 1 and 10000, submitted rank constant: {k}`.
pub fn validate_opensearch_rank_constant(rank_constant: i64) -> Result<u32, FusionError> {
    u32::try_from(rank_constant)
        .ok()
        .filter(|value| (1..=OPENSEARCH_MAX_RANK_CONSTANT).contains(value))
        .ok_or(FusionError::RankConstantOutOfRange(rank_constant))
}

/// OpenSearch's rank score: `1 / (rank_constant + rank)` rounded half-up to 10 decimal places,
/// then narrowed to `f32` (`RRFScoreNormalizer.scoreForRank`). The rounding is done in integers,
/// `⌊(2·10¹⁰ + d) / 2d⌋`, and the quotient divided by 10¹⁰ in `f64` before the one narrowing, which
/// is bit-identical to the `BigDecimal` original. `rank` is 1-based.
pub fn opensearch_rank_score(rank: usize, rank_constant: u32) -> f32 {
    const SCALE: u64 = 10_000_000_000;
    let denominator = u64::from(rank_constant) + rank as u64;
    let rounded_numerator = (2 * SCALE + denominator) / (2 * denominator);
    (rounded_numerator as f64 / SCALE as f64) as f32
}

/// Fuses sub-query results as OpenSearch's `score-ranker-processor` does.
///
/// Each hit's rank score is [`opensearch_rank_score`]; a document's fused score is
/// `Σᵢ wᵢ · rank_scoreᵢ(d)` summed in `f32` in sub-query order, a sub-query that missed the
/// document adding nothing. Every document of every list comes out; ties go to the smaller key.
///
/// Fails as [`ScoreRankerParams::validate`] does, or with `number of weights [n] must match number
/// of sub-queries [m] in hybrid query` when weights are given for a different number of lists.
pub fn fuse_opensearch<K: FusionKey>(
    lists: &[RankedList<K>],
    params: &ScoreRankerParams,
) -> Result<Vec<FusedDoc<K>>, FusionError> {
    opensearch::normalization_processor(lists, &params.as_pipeline())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fusion::Component;
    use crate::fusion::testing::{assert_close, doc_list, fused_keys, fused_scores, lists_strategy};

    /// Lexical hits then vector hits of one query, the shape used throughout these tests.
    fn bm25_and_knn() -> Vec<RankedList<u64>> {
        vec![
            doc_list(&[(1, 12.0), (2, 9.0), (3, 3.0)]),
            doc_list(&[(3, 0.9), (1, 0.8), (4, 0.7)]),
        ]
    }

    #[test]
    fn elasticsearch_rrf_scores_every_document_by_rank() {
        let fused = fuse(&bm25_and_knn(), &RrfParams::new(2, 10)).expect("valid params");
        assert_eq!(fused_keys(&fused), vec![1, 3, 2, 4]);
        let scores = fused_scores(&fused);
        // doc 1: rank 1 lexical, rank 2 vector: 1/61 + 1/62 = 0.016393443 + 0.016129032
        assert_close(scores[0], 0.032_522_475);
        // doc 3: rank 3 lexical, rank 1 vector: 1/63 + 1/61 = 0.015873016 + 0.016393443
        assert_close(scores[1], 0.032_266_459);
        // doc 2: rank 2 lexical only: 1/62
        assert_close(scores[2], 0.016_129_032);
        // doc 4: rank 3 vector only: 1/63
        assert_close(scores[3], 0.015_873_016);
        // The sum is taken in f32 in list order, as RRFRetrieverBuilder does.
        assert_eq!(scores[0], 1.0_f32 / 61.0 + 1.0_f32 / 62.0);
    }

    #[test]
    fn elasticsearch_rrf_components_explain_each_list() {
        let fused = fuse(&bm25_and_knn(), &RrfParams::new(2, 10)).expect("valid params");
        let doc_two = &fused[2];
        assert_eq!(doc_two.components.len(), 2);
        assert_eq!(doc_two.components[0].raw_score, Some(9.0));
        assert_eq!(doc_two.components[0].rank, Some(2));
        assert_eq!(doc_two.components[0].normalized, None);
        assert_eq!(doc_two.components[0].weight, 1.0);
        assert_eq!(doc_two.components[0].contribution, 1.0 / 62.0);
        assert_eq!(doc_two.components[1], Component::absent(1.0));
    }

    #[test]
    fn elasticsearch_rrf_weights_and_rank_window() {
        // Window 3 drops doc 5 from the lexical list before fusion and doc 4 from the output.
        let lists = vec![
            doc_list(&[(1, 9.0), (2, 8.0), (3, 7.0), (5, 6.0)]),
            doc_list(&[(2, 0.9), (4, 0.8), (1, 0.7)]),
        ];
        let params = RrfParams::new(2, 3).with_rank_constant(10).with_weights(vec![2.0, 0.5]);
        let fused = fuse(&lists, &params).expect("valid params");
        assert_eq!(fused_keys(&fused), vec![1, 2, 3]);
        let scores = fused_scores(&fused);
        // doc 1: 2/(10+1) + 0.5/(10+3) = 0.181818182 + 0.038461538
        assert_close(scores[0], 0.220_279_720);
        // doc 2: 2/(10+2) + 0.5/(10+1) = 0.166666667 + 0.045454545
        assert_close(scores[1], 0.212_121_212);
        // doc 3: 2/(10+3)
        assert_close(scores[2], 0.153_846_154);
        // doc 4 would have scored 0.5/(10+2) = 0.041666667, below the window.
    }

    #[test]
    fn elasticsearch_rrf_ties_go_to_the_smaller_key_and_zero_weight_adds_nothing() {
        let lists = vec![
            doc_list(&[(9, 1.0), (2, 0.5)]),
            doc_list(&[(2, 1.0), (9, 0.5)]),
            doc_list(&[(5, 1.0)]),
        ];
        let params = RrfParams::new(3, 10).with_weights(vec![1.0, 1.0, 0.0]);
        let fused = fuse(&lists, &params).expect("valid params");
        // docs 2 and 9 both score 1/61 + 1/62 = 0.032522475; doc 5 scores 0 · 1/61 = 0.
        assert_eq!(fused_keys(&fused), vec![2, 9, 5]);
        assert_eq!(fused[0].score, fused[1].score);
        assert_close(fused[0].score, 0.032_522_475);
        assert_eq!(fused[2].score, 0.0);
    }

    #[test]
    fn elasticsearch_rrf_rejects_bad_params() {
        let lists = bm25_and_knn();
        let zero_constant = RrfParams::new(2, 10).with_rank_constant(0);
        let error = fuse(&lists, &zero_constant).expect_err("rank_constant 0");
        assert_eq!(
            error.to_string(),
            "[rank_constant] must be greater or equal to [1] for [rrf]"
        );
        let negative_weight = RrfParams::new(2, 10).with_weights(vec![1.0, -0.5]);
        let error = fuse(&lists, &negative_weight).expect_err("negative weight");
        assert_eq!(error.to_string(), "[weight] must be non-negative");
        let one_weight = RrfParams::new(1, 10);
        let error = fuse(&lists, &one_weight).expect_err("one weight for two lists");
        assert_eq!(
            error.to_string(),
            "The number of weights must match the number of inner retrievers"
        );
        assert_eq!(validate_rank_constant(-3), Err(FusionError::RankConstantBelowOne));
        assert_eq!(validate_rank_constant(1), Ok(1));
    }

    #[test]
    fn opensearch_rank_scores_are_rounded_to_ten_decimals() {
        // The ten-decimal value is read as a double and narrowed once, as OpenSearch does.
        // 1/61 = 0.01639344262... → 0.0163934426
        assert_eq!(opensearch_rank_score(1, 60), 0.016_393_442_6_f64 as f32);
        // 1/62 = 0.01612903225... → 0.0161290323
        assert_eq!(opensearch_rank_score(2, 60), 0.016_129_032_3_f64 as f32);
        // Half-up: 1/16 = 0.0625 exactly.
        assert_eq!(opensearch_rank_score(1, 15), 0.0625);
        // With a large constant the decimal rounding moves the value by several f32 ulps:
        // 1/10007 = 0.0000999300489... → 0.0000999300, while Elasticsearch keeps 1.0f/10007.
        assert_eq!(opensearch_rank_score(7, 10_000), 0.000_099_930_0_f64 as f32);
        assert_eq!(elasticsearch_rank_score(7, 10_000), 1.0_f32 / 10_007.0);
        assert_ne!(opensearch_rank_score(7, 10_000), elasticsearch_rank_score(7, 10_000));
    }

    #[test]
    fn opensearch_rrf_scores_every_document() {
        let fused = fuse_opensearch(&bm25_and_knn(), &ScoreRankerParams::default()).expect("valid params");
        assert_eq!(fused_keys(&fused), vec![1, 3, 2, 4]);
        let scores = fused_scores(&fused);
        // doc 1: 0.0163934426 + 0.0161290323
        assert_close(scores[0], 0.032_522_474_9);
        // doc 3: 0.0158730159 + 0.0163934426
        assert_close(scores[1], 0.032_266_458_5);
        // doc 2: 0.0161290323
        assert_close(scores[2], 0.016_129_032_3);
        // doc 4: 0.0158730159
        assert_close(scores[3], 0.015_873_015_9);
        let doc_four = &fused[3];
        assert_eq!(doc_four.components[0], Component::absent(1.0));
        assert_eq!(doc_four.components[1].rank, Some(3));
        assert_eq!(doc_four.components[1].raw_score, Some(0.7));
        assert_eq!(doc_four.components[1].normalized, Some(opensearch_rank_score(3, 60)));
    }

    #[test]
    fn opensearch_rrf_weights_scale_each_sub_query() {
        let params = ScoreRankerParams {
            rank_constant: 60,
            weights: Some(vec![0.7, 0.3]),
        };
        let fused = fuse_opensearch(&bm25_and_knn(), &params).expect("valid params");
        assert_eq!(fused_keys(&fused), vec![1, 3, 2, 4]);
        let scores = fused_scores(&fused);
        // doc 1: 0.7 · 0.0163934426 + 0.3 · 0.0161290323 = 0.0114754098 + 0.0048387097
        assert_close(scores[0], 0.016_314_119_5);
        // doc 3: 0.7 · 0.0158730159 + 0.3 · 0.0163934426 = 0.0111111111 + 0.0049180328
        assert_close(scores[1], 0.016_029_143_9);
        // doc 2: 0.7 · 0.0161290323
        assert_close(scores[2], 0.011_290_322_6);
        // doc 4: 0.3 · 0.0158730159
        assert_close(scores[3], 0.004_761_904_8);
    }

    #[test]
    fn opensearch_rrf_rejects_bad_params() {
        let lists = bm25_and_knn();
        let out_of_range = ScoreRankerParams {
            rank_constant: 10_001,
            weights: None,
        };
        let error = fuse_opensearch(&lists, &out_of_range).expect_err("rank_constant above 10000");
        assert_eq!(
            error.to_string(),
            "rank constant must be in the interval between 1 and 10000, submitted rank constant: 10001"
        );
        assert_eq!(
            validate_opensearch_rank_constant(0),
            Err(FusionError::RankConstantOutOfRange(0))
        );
        let unbalanced = ScoreRankerParams {
            rank_constant: 60,
            weights: Some(vec![0.5, 0.2]),
        };
        let error = fuse_opensearch(&lists, &unbalanced).expect_err("weights sum to 0.7");
        assert_eq!(
            error.to_string(),
            "sum of weights for combination must be equal to 1.0, submitted weights: [0.5, 0.2]"
        );
        let single = ScoreRankerParams {
            rank_constant: 60,
            weights: Some(vec![1.0]),
        };
        let error = fuse_opensearch(&lists, &single).expect_err("one weight for two sub-queries");
        assert_eq!(
            error.to_string(),
            "number of weights [1] must match number of sub-queries [2] in hybrid query"
        );
    }

    /// Replaces every score, keeping each list's order (and so every rank).
    fn rescored(lists: &[RankedList<u64>], factor: f32, offset: f32) -> Vec<RankedList<u64>> {
        lists
            .iter()
            .map(|list| {
                RankedList::new(
                    list.docs()
                        .iter()
                        .map(|hit| ScoredDoc::new(hit.key, hit.score * factor + offset)),
                )
            })
            .collect()
    }

    fn without_raw_scores(fused: &[FusedDoc<u64>]) -> Vec<(u64, f32, Vec<Option<usize>>)> {
        fused
            .iter()
            .map(|doc| {
                (
                    doc.key,
                    doc.score,
                    doc.components.iter().map(|component| component.rank).collect(),
                )
            })
            .collect()
    }

    proptest! {
        #[test]
        fn rrf_depends_only_on_ranks(
            lists in lists_strategy(),
            factor in 0.001_f32..1000.0,
            offset in -50.0_f32..50.0,
            window in 1_usize..20,
        ) {
            let params = RrfParams::new(lists.len(), window);
            let original = fuse(&lists, &params).expect("valid params");
            let changed = fuse(&rescored(&lists, factor, offset), &params).expect("valid params");
            prop_assert_eq!(without_raw_scores(&original), without_raw_scores(&changed));
            let ranker = ScoreRankerParams::default();
            let original = fuse_opensearch(&lists, &ranker).expect("valid params");
            let changed = fuse_opensearch(&rescored(&lists, factor, offset), &ranker).expect("valid params");
            prop_assert_eq!(without_raw_scores(&original), without_raw_scores(&changed));
        }

        #[test]
        fn rrf_ignores_the_order_of_its_inputs(
            (lists, weights, order) in lists_strategy().prop_flat_map(|lists| {
                let list_count = lists.len();
                (
                    Just(lists),
                    proptest::collection::vec(0.0_f32..4.0, list_count),
                    Just((0..list_count).collect::<Vec<usize>>()).prop_shuffle(),
                )
            }),
        ) {
            // A window wider than any list, so that f32 rounding of near-ties cannot move the cut.
            let params = RrfParams::new(lists.len(), 1000).with_weights(weights.clone());
            let permuted_lists: Vec<RankedList<u64>> = order.iter().map(|index| lists[*index].clone()).collect();
            let permuted_weights: Vec<f32> = order.iter().map(|index| weights[*index]).collect();
            let original = fuse(&lists, &params).expect("valid params");
            let permuted = fuse(&permuted_lists, &params.clone().with_weights(permuted_weights)).expect("valid params");
            prop_assert_eq!(original.len(), permuted.len());
            let permuted_by_key: std::collections::HashMap<u64, f32> =
                permuted.iter().map(|doc| (doc.key, doc.score)).collect();
            for doc in &original {
                let permuted_score = permuted_by_key[&doc.key];
                prop_assert!((doc.score - permuted_score).abs() <= 1e-6 * doc.score.abs().max(1e-3));
            }
        }

        #[test]
        fn doubling_every_weight_doubles_every_rrf_score(lists in lists_strategy(), window in 1_usize..20) {
            let params = RrfParams::new(lists.len(), window);
            let doubled_params = params.clone().with_weights(vec![2.0; lists.len()]);
            let original = fuse(&lists, &params).expect("valid params");
            let doubled = fuse(&lists, &doubled_params).expect("valid params");
            prop_assert_eq!(fused_keys(&original), fused_keys(&doubled));
            for (single, double) in original.iter().zip(&doubled) {
                prop_assert_eq!(single.score * 2.0, double.score);
            }
        }
    }
}
