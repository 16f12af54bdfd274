//! Normalise-then-combine fusion, as OpenSearch's `normalization-processor` computes it (and its
//! `score-ranker-processor`, which is the same pipeline with rrf on both steps).
//!
//! Each sub-query's list is normalised on its own ([`Normalization`]); then every document's
//! normalised scores, one per sub-query, are combined into one ([`Combination`]). A sub-query that
//! did not return the document hands the combination a score of 0.0, exactly as OpenSearch's
//! `ScoreCombiner` does (its per-document array starts zeroed): `arithmetic_mean` and `rrf` count
//! that 0.0 and its weight, `geometric_mean` and `harmonic_mean` skip it like any score `≤ 0`.
//! Every document of every list comes out; ties go to the smaller key.
//!
//! The per-list normalisers live in `normalize.rs`, the combinations in `combine.rs`.
//!
//! Sources (opensearch-project/neural-search, `src/main/java/org/opensearch/neuralsearch/processor/`):
//! `normalization/MinMaxScoreNormalizer.java`, `MinMaxScoreNormalizationTechnique.java` and
//! `bounds/{LowerBound,UpperBound,BoundMode,ScoreBound}.java` (`min_max`);
//! `normalization/L2ScoreNormalizer.java` (`l2`); `normalization/ZScoreNormalizer.java` and
//! `ZScoreNormalizationTechnique.java` (`z_score`); `normalization/RRFScoreNormalizer.java` (`rrf`);
//! `combination/{ArithmeticMean,GeometricMean,HarmonicMean,RRF}ScoreCombinationTechnique.java`;
//! `combination/ScoreCombinationUtil.java` (weights); `combination/ScoreCombiner.java` (missing
//! documents, order); `factory/NormalizationProcessorFactory.java` (defaults, `z_score` check);
//! `normalization/ScoreNormalizationFactory.java` and `combination/ScoreCombinationFactory.java`
//! (names).

use std::cmp::Ordering;

use super::rrf::{DEFAULT_RANK_CONSTANT, opensearch_rank_score, validate_opensearch_rank_constant};
use super::{
    Appearances, Component, FusedDoc, FusionError, FusionKey, RankedList, ScoredDoc, java_float_compare,
    java_float_list_string, sort_fused,
};

mod combine;
mod normalize;

pub use combine::Combination;
pub use normalize::{
    BoundMode, DEFAULT_LOWER_BOUND_SCORE, DEFAULT_UPPER_BOUND_SCORE, MAX_BOUND_SCORE, MIN_BOUND_SCORE, MIN_MAX_FLOOR,
    MinMaxBounds, ScoreBound, Z_SCORE_FLOOR, l2, min_max, z_score,
};

/// The most sub-queries a `hybrid` query takes (`HybridQueryBuilder.MAX_NUMBER_OF_SUB_QUERIES`).
pub const MAX_SUB_QUERIES: usize = 5;
/// `fuzzyEquals` tolerance on the sum of weights (`DELTA_FOR_WEIGHTS_ASSERTION`).
const WEIGHT_SUM_TOLERANCE: f32 = 0.01;

/// `normalization.technique` with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalization {
    /// `min_max` (the default).
    MinMax(MinMaxBounds),
    /// `l2`.
    L2,
    /// `z_score` (only with `arithmetic_mean`).
    ZScore,
    /// `rrf`: each hit's rank score; what the `score-ranker-processor` uses.
    Rrf { rank_constant: u32 },
}

impl Default for Normalization {
    fn default() -> Self {
        Normalization::MinMax(MinMaxBounds::default())
    }
}

impl Normalization {
    pub fn technique_name(&self) -> &'static str {
        match self {
            Normalization::MinMax(_) => "min_max",
            Normalization::L2 => "l2",
            Normalization::ZScore => "z_score",
            Normalization::Rrf { .. } => "rrf",
        }
    }

    /// The technique called `name`, with default parameters (names are case-sensitive, as in
    /// `ScoreNormalizationFactory`).
    ///
    /// Fails with `provided normalization technique is not supported`.
    pub fn from_technique_name(name: &str) -> Result<Normalization, FusionError> {
        match name {
            "min_max" => Ok(Normalization::default()),
            "l2" => Ok(Normalization::L2),
            "z_score" => Ok(Normalization::ZScore),
            "rrf" => Ok(Normalization::Rrf {
                rank_constant: DEFAULT_RANK_CONSTANT,
            }),
            _ => Err(FusionError::UnknownNormalizationTechnique),
        }
    }

    /// Normalises the list at `list_index`, whose scores are given best first.
    fn normalize(&self, list_index: usize, scores: &[f32]) -> Vec<f32> {
        match self {
            Normalization::MinMax(bounds) => {
                let bound_of =
                    |bounds_opt: &Option<Vec<ScoreBound>>| bounds_opt.as_ref().map(|bounds| bounds[list_index]);
                min_max(scores, bound_of(&bounds.lower_bounds), bound_of(&bounds.upper_bounds))
            }
            Normalization::L2 => l2(scores),
            Normalization::ZScore => z_score(scores),
            Normalization::Rrf { rank_constant } => (1..=scores.len())
                .map(|rank| opensearch_rank_score(rank, *rank_constant))
                .collect(),
        }
    }
}

/// Checks `combination.parameters.weights` as `ScoreCombinationUtil.validateWeights` does: each
/// weight in `[0.0, 1.0]` (by Java's `Float.compare`, so `-0.0` and `NaN` are out), and their
/// `f32` sum within 0.01 of 1.0.
///
/// Fails with `all weights must be in range [0.0 ... 1.0], submitted weights: [...]` or
/// `sum of weights for combination must be equal to 1.0, submitted weights: [...]`.
pub fn validate_weights(weights: &[f32]) -> Result<(), FusionError> {
    let is_out_of_range = weights.iter().any(|weight| {
        java_float_compare(*weight, 0.0) == Ordering::Less || java_float_compare(*weight, 1.0) == Ordering::Greater
    });
    if is_out_of_range {
        return Err(FusionError::WeightOutOfRange(java_float_list_string(weights)));
    }
    let sum_of_weights = weights.iter().fold(0.0_f32, |sum, weight| sum + weight);
    if (1.0 - f64::from(sum_of_weights)).abs() > f64::from(WEIGHT_SUM_TOLERANCE) {
        return Err(FusionError::WeightsDoNotSumToOne(java_float_list_string(weights)));
    }
    Ok(())
}

/// Parameters of OpenSearch's `normalization-processor`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NormalizationProcessorParams {
    pub normalization: Normalization,
    pub combination: Combination,
    /// `combination.parameters.weights`: one per sub-query; `None` when absent, which weighs every
    /// sub-query 1.0.
    pub weights: Option<Vec<f32>>,
}

impl NormalizationProcessorParams {
    /// The checks OpenSearch makes when the pipeline is created, in its order: normalisation
    /// parameters, then the `z_score` pairing, then the weights.
    ///
    /// Fails with `lower_bounds size {n} should be less than or equal to 5`, `min_score must be a
    /// valid finite number between -10000.000000 and 10000.000000` (and the `upper_bounds` /
    /// `max_score` twins), `rank constant must be in the interval between 1 and 10000, submitted
    /// rank constant: {k}`, `Z Score supports only arithmetic_mean combination technique`, or a
    /// weights message of [`validate_weights`].
    pub fn validate(&self) -> Result<(), FusionError> {
        match &self.normalization {
            Normalization::MinMax(bounds) => {
                validate_bounds("lower_bounds", "min_score", bounds.lower_bounds.as_deref())?;
                validate_bounds("upper_bounds", "max_score", bounds.upper_bounds.as_deref())?;
            }
            Normalization::Rrf { rank_constant } => {
                validate_opensearch_rank_constant(i64::from(*rank_constant))?;
            }
            Normalization::L2 | Normalization::ZScore => {}
        }
        if self.normalization == Normalization::ZScore && self.combination != Combination::ArithmeticMean {
            return Err(FusionError::ZScoreNeedsArithmeticMean);
        }
        if let Some(weights) = &self.weights {
            validate_weights(weights)?;
        }
        Ok(())
    }
}

fn validate_bounds(
    parameter: &'static str,
    score_parameter: &'static str,
    bounds_opt: Option<&[ScoreBound]>,
) -> Result<(), FusionError> {
    let Some(bounds) = bounds_opt else {
        return Ok(());
    };
    if bounds.len() > MAX_SUB_QUERIES {
        return Err(FusionError::TooManyBounds {
            parameter,
            size: bounds.len(),
        });
    }
    // `!(a <= x && x <= b)` so that NaN fails, as Java's `Validate.isTrue` check does.
    let has_bad_score = bounds
        .iter()
        .any(|bound| !(MIN_BOUND_SCORE <= bound.score && bound.score <= MAX_BOUND_SCORE));
    if has_bad_score {
        return Err(FusionError::BoundScoreOutOfRange {
            parameter: score_parameter,
        });
    }
    Ok(())
}

/// Fuses sub-query results as OpenSearch's `normalization-processor` does.
///
/// After [`NormalizationProcessorParams::validate`], and only when some list has hits (OpenSearch
/// checks these while processing results): bounds and weights must have one entry per list,
/// failing with `expected bounds array to contain {n} elements matching the number of
/// sub-queries, but found a mismatch` or `number of weights [{w}] must match number of
/// sub-queries [{n}] in hybrid query`.
pub fn normalization_processor<K: FusionKey>(
    lists: &[RankedList<K>],
    params: &NormalizationProcessorParams,
) -> Result<Vec<FusedDoc<K>>, FusionError> {
    params.validate()?;
    let list_count = lists.len();
    if lists.iter().all(|list| list.is_empty()) {
        return Ok(Vec::new());
    }
    if let Normalization::MinMax(bounds) = &params.normalization {
        let counts = [&bounds.lower_bounds, &bounds.upper_bounds].map(|bounds_opt| bounds_opt.as_ref().map(Vec::len));
        if counts.into_iter().flatten().any(|count| count != list_count) {
            return Err(FusionError::BoundsCountMismatch(list_count));
        }
    }
    if let Some(weights) = &params.weights
        && weights.len() != list_count
    {
        return Err(FusionError::SubQueryWeightCountMismatch {
            weights: weights.len(),
            sub_queries: list_count,
        });
    }
    let weights = params.weights.clone().unwrap_or_else(|| vec![1.0; list_count]);
    let docs_by_list: Vec<&[ScoredDoc<K>]> = lists.iter().map(|list| list.docs()).collect();
    let normalized_by_list: Vec<Vec<f32>> = docs_by_list
        .iter()
        .enumerate()
        .map(|(list_index, docs)| {
            let raw_scores: Vec<f32> = docs.iter().map(|hit| hit.score).collect();
            params.normalization.normalize(list_index, &raw_scores)
        })
        .collect();
    let appearances = Appearances::collect(&docs_by_list);
    let mut fused: Vec<FusedDoc<K>> = Vec::with_capacity(appearances.keys.len());
    for (key, positions) in appearances.keys.iter().zip(&appearances.positions) {
        let combined_inputs: Vec<f32> = positions
            .iter()
            .enumerate()
            .map(|(list_index, position_opt)| {
                position_opt.map_or(0.0, |position| normalized_by_list[list_index][position])
            })
            .collect();
        let score = params.combination.combine(&combined_inputs, &weights);
        let contributions = params.combination.contributions(&combined_inputs, &weights, score);
        let components = positions
            .iter()
            .enumerate()
            .map(|(list_index, position_opt)| match *position_opt {
                None => Component::absent(weights[list_index]),
                Some(position) => Component {
                    raw_score: Some(docs_by_list[list_index][position].score),
                    rank: Some(position + 1),
                    normalized: Some(normalized_by_list[list_index][position]),
                    weight: weights[list_index],
                    contribution: contributions[list_index],
                },
            })
            .collect();
        fused.push(FusedDoc {
            key: (*key).clone(),
            score,
            components,
        });
    }
    sort_fused(&mut fused);
    Ok(fused)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fusion::testing::{assert_close, doc_list, fused_keys, fused_scores, lists_strategy};

    /// Lexical scores 4, 3, 1 and vector scores 0.9, 0.5:
    /// min_max gives doc 1 1.0, doc 2 (3−1)/(4−1) = 0.666666667, doc 3 0 → 0.001;
    /// doc 2 1.0, doc 4 0 → 0.001.
    fn hybrid_lists() -> Vec<RankedList<u64>> {
        vec![
            doc_list(&[(1, 4.0), (2, 3.0), (3, 1.0)]),
            doc_list(&[(2, 0.9), (4, 0.5)]),
        ]
    }

    fn run(normalization: Normalization, combination: Combination, weights: Option<Vec<f32>>) -> Vec<FusedDoc<u64>> {
        let params = NormalizationProcessorParams {
            normalization,
            combination,
            weights,
        };
        normalization_processor(&hybrid_lists(), &params).expect("valid params")
    }

    #[test]
    fn min_max_with_arithmetic_mean_counts_missing_sub_queries() {
        let fused = run(Normalization::default(), Combination::ArithmeticMean, None);
        assert_eq!(fused_keys(&fused), vec![2, 1, 3, 4]);
        let scores = fused_scores(&fused);
        // doc 2: (0.666666667 + 1.0) / 2
        assert_close(scores[0], 0.833_333_333);
        // doc 1: (1.0 + 0.0 missing) / 2 — the missing sub-query's weight still counts
        assert_close(scores[1], 0.5);
        // docs 3 and 4: (0.001 + 0.0) / 2, a tie broken by key
        assert_close(scores[2], 0.0005);
        assert_close(scores[3], 0.0005);
        let doc_one = &fused[1];
        assert_eq!(doc_one.components[0].raw_score, Some(4.0));
        assert_eq!(doc_one.components[0].rank, Some(1));
        assert_eq!(doc_one.components[0].normalized, Some(1.0));
        assert_eq!(doc_one.components[0].contribution, 0.5);
        assert_eq!(doc_one.components[1], Component::absent(1.0));
    }

    #[test]
    fn min_max_with_weighted_arithmetic_mean() {
        let fused = run(
            Normalization::default(),
            Combination::ArithmeticMean,
            Some(vec![0.3, 0.7]),
        );
        assert_eq!(fused_keys(&fused), vec![2, 1, 4, 3]);
        let scores = fused_scores(&fused);
        // doc 2: (0.3 · 0.666666667 + 0.7 · 1.0) / (0.3 + 0.7)
        assert_close(scores[0], 0.9);
        // doc 1: 0.3 · 1.0 / 1.0
        assert_close(scores[1], 0.3);
        // doc 4: 0.7 · 0.001
        assert_close(scores[2], 0.0007);
        // doc 3: 0.3 · 0.001
        assert_close(scores[3], 0.0003);
        let contributions: Vec<f32> = fused[0]
            .components
            .iter()
            .map(|component| component.contribution)
            .collect();
        assert_close(contributions[0], 0.2);
        assert_close(contributions[1], 0.7);
    }

    #[test]
    fn min_max_with_geometric_mean_skips_missing_sub_queries() {
        let fused = run(Normalization::default(), Combination::GeometricMean, None);
        assert_eq!(fused_keys(&fused), vec![1, 2, 3, 4]);
        let scores = fused_scores(&fused);
        // doc 1: only the lexical 1.0 counts: exp(ln 1.0 / 1)
        assert_close(scores[0], 1.0);
        // doc 2: exp((ln 0.666666667 + ln 1.0) / 2) = √0.666666667
        assert_close(scores[1], 0.816_496_581);
        // docs 3 and 4: 0.001 alone
        assert_close(scores[2], 0.001);
        assert_close(scores[3], 0.001);
        // Contributions are the exponent's terms: ln(0.666666667)/2 and ln(1)/2.
        assert_close(fused[1].components[0].contribution, -0.202_732_554);
        assert_eq!(fused[1].components[1].contribution, 0.0);
        let weighted = run(
            Normalization::default(),
            Combination::GeometricMean,
            Some(vec![0.3, 0.7]),
        );
        // doc 2: exp((0.3 ln 0.666666667 + 0.7 ln 1.0) / 1.0)
        assert_eq!(weighted[0].key, 1);
        assert_close(weighted[1].score, 0.885_467_493);
    }

    #[test]
    fn min_max_with_harmonic_mean_skips_missing_sub_queries() {
        let fused = run(Normalization::default(), Combination::HarmonicMean, None);
        assert_eq!(fused_keys(&fused), vec![1, 2, 3, 4]);
        let scores = fused_scores(&fused);
        // doc 1: 1 / (1 / 1.0)
        assert_close(scores[0], 1.0);
        // doc 2: 2 / (1 / 0.666666667 + 1 / 1.0) = 2 / 2.5
        assert_close(scores[1], 0.8);
        assert_close(scores[2], 0.001);
        assert_close(scores[3], 0.001);
        // Shares of 0.8: 1.5/2.5 and 1/2.5 of it.
        assert_close(fused[1].components[0].contribution, 0.48);
        assert_close(fused[1].components[1].contribution, 0.32);
        let weighted = run(
            Normalization::default(),
            Combination::HarmonicMean,
            Some(vec![0.3, 0.7]),
        );
        // doc 2: 1.0 / (0.3 / 0.666666667 + 0.7 / 1.0)
        assert_close(weighted[1].score, 0.869_565_217);
    }

    #[test]
    fn l2_with_arithmetic_mean() {
        let fused = run(Normalization::L2, Combination::ArithmeticMean, None);
        assert_eq!(fused_keys(&fused), vec![2, 1, 4, 3]);
        let scores = fused_scores(&fused);
        // Lexical norm √(16 + 9 + 1) = 5.099019514; vector norm √(0.81 + 0.25) = 1.029563014.
        // doc 2: (3 / 5.099019514 + 0.9 / 1.029563014) / 2 = (0.588348405 + 0.874157276) / 2
        assert_close(scores[0], 0.731_252_841);
        // doc 1: 4 / 5.099019514 / 2 = 0.784464541 / 2
        assert_close(scores[1], 0.392_232_270);
        // doc 4: 0.5 / 1.029563014 / 2 = 0.485642931 / 2
        assert_close(scores[2], 0.242_821_466);
        // doc 3: 1 / 5.099019514 / 2 = 0.196116135 / 2
        assert_close(scores[3], 0.098_058_068);
    }

    #[test]
    fn z_score_with_arithmetic_mean() {
        let fused = run(Normalization::ZScore, Combination::ArithmeticMean, None);
        assert_eq!(fused_keys(&fused), vec![2, 1, 3, 4]);
        let scores = fused_scores(&fused);
        // Lexical: mean 2.666666667, sample sd 1.527525232 → doc 1 0.872871561, doc 2 0.218217890,
        // doc 3 negative → 0.001. Vector: mean 0.7, sample sd 0.282842712 → doc 2 0.707106781,
        // doc 4 negative → 0.001.
        // doc 2: (0.218217890 + 0.707106781) / 2
        assert_close(scores[0], 0.462_662_336);
        // doc 1: 0.872871561 / 2
        assert_close(scores[1], 0.436_435_780);
        // docs 3 and 4: 0.001 / 2
        assert_close(scores[2], 0.0005);
        assert_close(scores[3], 0.0005);
    }

    #[test]
    fn bounds_apply_per_sub_query() {
        let bounds = MinMaxBounds {
            lower_bounds: Some(vec![
                ScoreBound::new(BoundMode::Apply, 2.0),
                ScoreBound::new(BoundMode::Ignore, 0.0),
            ]),
            upper_bounds: None,
        };
        let fused = run(Normalization::MinMax(bounds), Combination::ArithmeticMean, None);
        assert_eq!(fused_keys(&fused), vec![2, 1, 3, 4]);
        let scores = fused_scores(&fused);
        // doc 2: (0.5 + 1.0) / 2; doc 1: (1.0 + 0) / 2; docs 3 and 4: 0.001 / 2.
        assert_close(scores[0], 0.75);
        assert_close(scores[1], 0.5);
        assert_close(scores[2], 0.0005);
        assert_close(scores[3], 0.0005);
    }

    #[test]
    fn empty_results_pass_every_count_check() {
        let params = NormalizationProcessorParams {
            weights: Some(vec![1.0]),
            ..NormalizationProcessorParams::default()
        };
        let lists: Vec<RankedList<u64>> = vec![RankedList::default(), RankedList::default()];
        assert_eq!(normalization_processor(&lists, &params), Ok(Vec::new()));
    }

    #[test]
    fn rejects_bad_params() {
        let lists = hybrid_lists();
        let message = |params: NormalizationProcessorParams| {
            normalization_processor(&lists, &params)
                .expect_err("invalid params")
                .to_string()
        };
        let z_score_geometric = NormalizationProcessorParams {
            normalization: Normalization::ZScore,
            combination: Combination::GeometricMean,
            weights: None,
        };
        assert_eq!(
            message(z_score_geometric),
            "Z Score supports only arithmetic_mean combination technique"
        );
        let out_of_range = NormalizationProcessorParams {
            weights: Some(vec![1.5, -0.5]),
            ..NormalizationProcessorParams::default()
        };
        assert_eq!(
            message(out_of_range),
            "all weights must be in range [0.0 ... 1.0], submitted weights: [1.5, -0.5]"
        );
        let not_one = NormalizationProcessorParams {
            weights: Some(vec![0.5, 0.2]),
            ..NormalizationProcessorParams::default()
        };
        assert_eq!(
            message(not_one),
            "sum of weights for combination must be equal to 1.0, submitted weights: [0.5, 0.2]"
        );
        let too_many = NormalizationProcessorParams {
            weights: Some(vec![0.2, 0.3, 0.5]),
            ..NormalizationProcessorParams::default()
        };
        assert_eq!(
            message(too_many),
            "number of weights [3] must match number of sub-queries [2] in hybrid query"
        );
        let bounds = |lower: Vec<ScoreBound>| {
            Normalization::MinMax(MinMaxBounds {
                lower_bounds: Some(lower),
                upper_bounds: None,
            })
        };
        let far_bound = NormalizationProcessorParams {
            normalization: bounds(vec![ScoreBound::new(BoundMode::Apply, 10_001.0); 2]),
            ..NormalizationProcessorParams::default()
        };
        assert_eq!(
            message(far_bound),
            "min_score must be a valid finite number between -10000.000000 and 10000.000000"
        );
        let six_bounds = NormalizationProcessorParams {
            normalization: bounds(vec![ScoreBound::new(BoundMode::Apply, 0.0); 6]),
            ..NormalizationProcessorParams::default()
        };
        assert_eq!(
            message(six_bounds),
            "lower_bounds size 6 should be less than or equal to 5"
        );
        let one_bound = NormalizationProcessorParams {
            normalization: bounds(vec![ScoreBound::new(BoundMode::Apply, 0.0)]),
            ..NormalizationProcessorParams::default()
        };
        assert_eq!(
            message(one_bound),
            "expected bounds array to contain 2 elements matching the number of sub-queries, but found a mismatch"
        );
        let upper_nan = NormalizationProcessorParams {
            normalization: Normalization::MinMax(MinMaxBounds {
                lower_bounds: None,
                upper_bounds: Some(vec![ScoreBound::new(BoundMode::Clip, f32::NAN); 2]),
            }),
            ..NormalizationProcessorParams::default()
        };
        assert_eq!(
            message(upper_nan),
            "max_score must be a valid finite number between -10000.000000 and 10000.000000"
        );
        assert_eq!(BoundMode::parse("clip"), Ok(BoundMode::Clip));
        assert_eq!(BoundMode::parse("IGNORE"), Ok(BoundMode::Ignore));
        assert_eq!(BoundMode::parse(" "), Ok(BoundMode::Apply));
        assert_eq!(
            BoundMode::parse("bogus").expect_err("unknown mode").to_string(),
            "invalid mode: bogus, valid values are: apply, clip, ignore"
        );
        assert_eq!(
            Normalization::from_technique_name("minmax")
                .expect_err("Elasticsearch's name")
                .to_string(),
            "provided normalization technique is not supported"
        );
        assert_eq!(Normalization::from_technique_name("z_score"), Ok(Normalization::ZScore));
        assert_eq!(
            Combination::from_technique_name("sum")
                .expect_err("unknown")
                .to_string(),
            "provided combination technique is not supported"
        );
        assert_eq!(
            Combination::from_technique_name("harmonic_mean"),
            Ok(Combination::HarmonicMean)
        );
        // Within 0.01 of 1.0 is close enough.
        assert_eq!(validate_weights(&[0.333, 0.333, 0.333]), Ok(()));
    }

    proptest! {
        #[test]
        fn arithmetic_mean_ignores_the_order_of_its_inputs(
            (lists, raw_weights, order) in lists_strategy().prop_flat_map(|lists| {
                let list_count = lists.len();
                (
                    Just(lists),
                    proptest::collection::vec(0.05_f32..1.0, list_count),
                    Just((0..list_count).collect::<Vec<usize>>()).prop_shuffle(),
                )
            }),
        ) {
            let total: f32 = raw_weights.iter().sum();
            let weights: Vec<f32> = raw_weights.iter().map(|weight| weight / total).collect();
            let params = NormalizationProcessorParams { weights: Some(weights.clone()), ..Default::default() };
            let permuted_lists: Vec<RankedList<u64>> = order.iter().map(|index| lists[*index].clone()).collect();
            let permuted_params = NormalizationProcessorParams {
                weights: Some(order.iter().map(|index| weights[*index]).collect()),
                ..Default::default()
            };
            let original = normalization_processor(&lists, &params).expect("valid params");
            let permuted = normalization_processor(&permuted_lists, &permuted_params).expect("valid params");
            prop_assert_eq!(original.len(), permuted.len());
            let permuted_by_key: std::collections::HashMap<u64, f32> =
                permuted.iter().map(|doc| (doc.key, doc.score)).collect();
            for doc in &original {
                let permuted_score = permuted_by_key[&doc.key];
                prop_assert!((doc.score - permuted_score).abs() <= 1e-6, "{} vs {}", doc.score, permuted_score);
            }
        }
    }
}
