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

/// The most sub-queries a `hybrid` query takes (`HybridQueryBuilder.MAX_NUMBER_OF_SUB_QUERIES`).
pub const MAX_SUB_QUERIES: usize = 5;
/// What `min_max` gives the lowest score (and a clipped one) instead of 0, so that the document
/// still counts in `geometric_mean` and `harmonic_mean` (`MinMaxScoreNormalizer.MIN_SCORE`).
pub const MIN_MAX_FLOOR: f32 = 0.001;
/// What `z_score` gives a score at or below the mean (`ZScoreNormalizer.MIN_SCORE`).
pub const Z_SCORE_FLOOR: f32 = 0.001;
/// Bound scores must lie in `[-10000, 10000]` (`ScoreBound.MIN_BOUND_SCORE`, `MAX_BOUND_SCORE`).
pub const MIN_BOUND_SCORE: f32 = -10_000.0;
pub const MAX_BOUND_SCORE: f32 = 10_000.0;
/// `min_score` of a lower bound when not given (`LowerBound.DEFAULT_LOWER_BOUND_SCORE`).
pub const DEFAULT_LOWER_BOUND_SCORE: f32 = 0.0;
/// `max_score` of an upper bound when not given (`UpperBound.DEFAULT_UPPER_BOUND_SCORE`).
pub const DEFAULT_UPPER_BOUND_SCORE: f32 = 1.0;
/// `fuzzyEquals` tolerance on the sum of weights (`DELTA_FOR_WEIGHTS_ASSERTION`).
const WEIGHT_SUM_TOLERANCE: f32 = 0.01;
/// Java's `Float.MIN_VALUE`, the smallest positive subnormal, where `min_max` starts its maximum.
const JAVA_FLOAT_MIN_VALUE: f32 = f32::from_bits(1);

/// How a `min_max` bound is applied (`mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BoundMode {
    /// Normalise against the bound instead of the list's own minimum (maximum), for scores on
    /// the bound's far side of it.
    #[default]
    Apply,
    /// Normalise against the bound, and pin scores beyond it to 0.001 (1.0).
    Clip,
    /// Behave as if there were no bound.
    Ignore,
}

impl BoundMode {
    pub fn name(self) -> &'static str {
        match self {
            BoundMode::Apply => "apply",
            BoundMode::Clip => "clip",
            BoundMode::Ignore => "ignore",
        }
    }

    /// Parses `mode` as `BoundMode.fromString` does: blank means `apply`, case is ignored.
    ///
    /// Fails with `invalid mode: {value}, valid values are: apply, clip, ignore`.
    pub fn parse(value: &str) -> Result<BoundMode, FusionError> {
        if value.trim().is_empty() {
            return Ok(BoundMode::Apply);
        }
        [BoundMode::Apply, BoundMode::Clip, BoundMode::Ignore]
            .into_iter()
            .find(|mode| mode.name().eq_ignore_ascii_case(value))
            .ok_or_else(|| FusionError::InvalidBoundMode(value.to_string()))
    }
}

/// One entry of `lower_bounds` (`{"mode", "min_score"}`) or `upper_bounds` (`{"mode", "max_score"}`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    pub mode: BoundMode,
    pub score: f32,
}

impl ScoreBound {
    pub fn new(mode: BoundMode, score: f32) -> ScoreBound {
        ScoreBound { mode, score }
    }
}

/// `min_max` parameters: `None` when the array is absent, which is not the same as an empty
/// array (an empty one fails the count check once there are results).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MinMaxBounds {
    pub lower_bounds: Option<Vec<ScoreBound>>,
    pub upper_bounds: Option<Vec<ScoreBound>>,
}

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

/// `combination.technique`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Combination {
    /// `arithmetic_mean` (the default): `Σ wᵢsᵢ / Σ wᵢ` over scores `≥ 0`.
    #[default]
    ArithmeticMean,
    /// `geometric_mean`: `exp(Σ wᵢ ln sᵢ / Σ wᵢ)` over scores `> 0`.
    GeometricMean,
    /// `harmonic_mean`: `Σ wᵢ / Σ (wᵢ / sᵢ)` over scores `> 0`.
    HarmonicMean,
    /// `rrf`: `Σ wᵢsᵢ` over scores `≥ 0`; what the `score-ranker-processor` uses.
    Rrf,
}

impl Combination {
    pub fn technique_name(self) -> &'static str {
        match self {
            Combination::ArithmeticMean => "arithmetic_mean",
            Combination::GeometricMean => "geometric_mean",
            Combination::HarmonicMean => "harmonic_mean",
            Combination::Rrf => "rrf",
        }
    }

    /// The technique called `name` (case-sensitive, as in `ScoreCombinationFactory`).
    ///
    /// Fails with `provided combination technique is not supported`.
    pub fn from_technique_name(name: &str) -> Result<Combination, FusionError> {
        [
            Combination::ArithmeticMean,
            Combination::GeometricMean,
            Combination::HarmonicMean,
            Combination::Rrf,
        ]
        .into_iter()
        .find(|combination| combination.technique_name() == name)
        .ok_or(FusionError::UnknownCombinationTechnique)
    }

    /// Combines one document's normalised scores (0.0 for a sub-query that missed it), one weight
    /// per score, in `f32` and in sub-query order as the Java `combine` methods do.
    pub fn combine(self, scores: &[f32], weights: &[f32]) -> f32 {
        debug_assert_eq!(scores.len(), weights.len(), "one weight per sub-query");
        let pairs = scores.iter().copied().zip(weights.iter().copied());
        match self {
            Combination::ArithmeticMean => {
                let (weighted_sum, sum_of_weights) = sum_weighted_non_negative(pairs);
                if sum_of_weights == 0.0 {
                    0.0
                } else {
                    weighted_sum / sum_of_weights
                }
            }
            Combination::Rrf => {
                let (weighted_sum, sum_of_weights) = sum_weighted_non_negative(pairs);
                if sum_of_weights == 0.0 { 0.0 } else { weighted_sum }
            }
            Combination::GeometricMean => {
                let (weighted_ln_sum, sum_of_weights) = geometric_sums(pairs);
                if sum_of_weights == 0.0 {
                    return 0.0;
                }
                f64::from(weighted_ln_sum / sum_of_weights).exp() as f32
            }
            Combination::HarmonicMean => {
                let (sum_of_weights, sum_of_reciprocals) = harmonic_sums(pairs);
                if sum_of_reciprocals > 0.0 {
                    sum_of_weights / sum_of_reciprocals
                } else {
                    0.0
                }
            }
        }
    }

    /// Each sub-query's part of `fused` (see [`Component::contribution`]).
    fn contributions(self, scores: &[f32], weights: &[f32], fused: f32) -> Vec<f32> {
        let pairs = || scores.iter().copied().zip(weights.iter().copied());
        match self {
            Combination::ArithmeticMean | Combination::Rrf => {
                let (_, sum_of_weights) = sum_weighted_non_negative(pairs());
                let divisor = if self == Combination::Rrf || sum_of_weights == 0.0 {
                    1.0
                } else {
                    sum_of_weights
                };
                pairs()
                    .map(|(score, weight)| if score >= 0.0 { score * weight / divisor } else { 0.0 })
                    .collect()
            }
            Combination::GeometricMean => {
                let (_, sum_of_weights) = geometric_sums(pairs());
                pairs()
                    .map(|(score, weight)| {
                        if score <= 0.0 || sum_of_weights == 0.0 {
                            return 0.0;
                        }
                        (f64::from(weight) * f64::from(score).ln() / f64::from(sum_of_weights)) as f32
                    })
                    .collect()
            }
            Combination::HarmonicMean => {
                let (_, sum_of_reciprocals) = harmonic_sums(pairs());
                pairs()
                    .map(|(score, weight)| {
                        if score <= 0.0 || sum_of_reciprocals <= 0.0 {
                            return 0.0;
                        }
                        weight / score / sum_of_reciprocals * fused
                    })
                    .collect()
            }
        }
    }
}

/// `(Σ wᵢsᵢ, Σ wᵢ)` over scores `≥ 0` (a `NaN` score is skipped too, as Java's `score >= 0.0`
/// skips it).
fn sum_weighted_non_negative(pairs: impl Iterator<Item = (f32, f32)>) -> (f32, f32) {
    let mut weighted_sum = 0.0_f32;
    let mut sum_of_weights = 0.0_f32;
    for (score, weight) in pairs {
        if score >= 0.0 {
            weighted_sum += score * weight;
            sum_of_weights += weight;
        }
    }
    (weighted_sum, sum_of_weights)
}

/// `(Σ wᵢ ln sᵢ, Σ wᵢ)` over scores `> 0`. Each step adds a `double` to the `float` running sum
/// and narrows again, as Java's `float += double` does.
fn geometric_sums(pairs: impl Iterator<Item = (f32, f32)>) -> (f32, f32) {
    let mut weighted_ln_sum = 0.0_f32;
    let mut sum_of_weights = 0.0_f32;
    for (score, weight) in pairs {
        // `score <= 0.0` rather than `!(score > 0.0)`: Java lets a NaN score through.
        if score <= 0.0 {
            continue;
        }
        sum_of_weights += weight;
        weighted_ln_sum = (f64::from(weighted_ln_sum) + f64::from(weight) * f64::from(score).ln()) as f32;
    }
    (weighted_ln_sum, sum_of_weights)
}

/// `(Σ wᵢ, Σ wᵢ/sᵢ)` over scores `> 0`.
fn harmonic_sums(pairs: impl Iterator<Item = (f32, f32)>) -> (f32, f32) {
    let mut sum_of_weights = 0.0_f32;
    let mut sum_of_reciprocals = 0.0_f32;
    for (score, weight) in pairs {
        if score <= 0.0 {
            continue;
        }
        sum_of_weights += weight;
        sum_of_reciprocals += weight / score;
    }
    (sum_of_weights, sum_of_reciprocals)
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

/// `min_max` over one sub-query's scores (`MinMaxScoreNormalizationTechnique` with
/// `MinMaxScoreNormalizer.normalizeSingleScore`).
///
/// Without bounds, `n = (s − min) / (max − min)`, with three departures from the textbook formula:
/// - a result of exactly 0.0 (the lowest score) becomes 0.001, so the document still counts in
///   `geometric_mean` and `harmonic_mean`; the range is `(0, 1]`;
/// - when `max == min` (by `Float.compare`) every score is 1.0 (one result, or all equal);
/// - the maximum starts at Java's `Float.MIN_VALUE` (`1.4e-45`), so a list of only negative scores
///   is normalised against a maximum just above zero and its best score maps below 1, and a list
///   of only zeros (one or many) gets 0.001 throughout, not 1.0.
///
/// With a lower bound `b` (`min_score`): `apply` uses `b` as the minimum for scores above it (if the
/// list's maximum is above it too), `clip` uses `b` as the minimum and pins scores below it to
/// 0.001, `ignore` changes nothing. An upper bound (`max_score`) mirrors this at the top, `clip`
/// pinning scores above it to 1.0. When the effective minimum and maximum coincide the score is 1.0.
pub fn min_max(scores: &[f32], lower_bound_opt: Option<ScoreBound>, upper_bound_opt: Option<ScoreBound>) -> Vec<f32> {
    let list_max = scores
        .iter()
        .copied()
        .max_by(|left, right| java_float_compare(*left, *right));
    let list_min = scores
        .iter()
        .copied()
        .min_by(|left, right| java_float_compare(*left, *right));
    let max = java_math_max(JAVA_FLOAT_MIN_VALUE, list_max.unwrap_or(JAVA_FLOAT_MIN_VALUE));
    let min = java_math_min(f32::MAX, list_min.unwrap_or(f32::MAX));
    scores
        .iter()
        .map(|score| min_max_single(*score, min, max, lower_bound_opt, upper_bound_opt))
        .collect()
}

fn min_max_single(
    score: f32,
    min: f32,
    max: f32,
    lower_bound_opt: Option<ScoreBound>,
    upper_bound_opt: Option<ScoreBound>,
) -> f32 {
    let is_single_score =
        java_float_compare(max, min) == Ordering::Equal && java_float_compare(max, score) == Ordering::Equal;
    if is_single_score {
        return 1.0;
    }
    let effective_min = match lower_bound_opt {
        None => min,
        Some(bound) => match bound.mode {
            BoundMode::Apply if max > bound.score && score > bound.score => bound.score,
            BoundMode::Apply => min,
            BoundMode::Clip if max < bound.score => min,
            BoundMode::Clip => bound.score,
            BoundMode::Ignore => min,
        },
    };
    let effective_max = match upper_bound_opt {
        None => max,
        Some(bound) => match bound.mode {
            BoundMode::Apply if min < bound.score && score < bound.score => bound.score,
            BoundMode::Apply => max,
            BoundMode::Clip if min > bound.score => max,
            BoundMode::Clip => bound.score,
            BoundMode::Ignore => max,
        },
    };
    let clips_below = lower_bound_opt.is_some_and(|bound| bound.mode == BoundMode::Clip && score < effective_min);
    if clips_below {
        return MIN_MAX_FLOOR;
    }
    let clips_above = upper_bound_opt.is_some_and(|bound| bound.mode == BoundMode::Clip && score > effective_max);
    if clips_above {
        return 1.0;
    }
    if java_float_compare(effective_max, effective_min) == Ordering::Equal {
        return 1.0;
    }
    let normalized = (score - effective_min) / (effective_max - effective_min);
    if normalized == 0.0 { MIN_MAX_FLOOR } else { normalized }
}

/// Java's `Math.max(float, float)`: `NaN` wins, and `0.0` beats `-0.0`.
fn java_math_max(left: f32, right: f32) -> f32 {
    if left.is_nan() {
        return left;
    }
    if left == 0.0 && right == 0.0 && left.is_sign_negative() {
        return right;
    }
    if left >= right { left } else { right }
}

/// Java's `Math.min(float, float)`: `NaN` wins, and `-0.0` beats `0.0`.
fn java_math_min(left: f32, right: f32) -> f32 {
    if left.is_nan() {
        return left;
    }
    if left == 0.0 && right == 0.0 && right.is_sign_negative() {
        return right;
    }
    if left <= right { left } else { right }
}

/// `l2` over one sub-query's scores (`L2ScoreNormalizer`): `s / √(Σ s²)`, the squares summed in
/// `f32` and the root taken in `f64` then narrowed; a zero norm gives 0.0 for every score.
pub fn l2(scores: &[f32]) -> Vec<f32> {
    let sum_of_squares = scores.iter().fold(0.0_f32, |sum, score| sum + score * score);
    let norm = f64::from(sum_of_squares).sqrt() as f32;
    scores
        .iter()
        .map(|score| if norm == 0.0 { 0.0 } else { score / norm })
        .collect()
}

/// `z_score` over one sub-query's scores (`ZScoreNormalizer`, statistics from Apache Commons
/// Math's `DescriptiveStatistics`, each narrowed to `f32`).
///
/// `z = (s − mean) / sd` with the *sample* standard deviation (divisor `n − 1`; 0 for one score),
/// and these cases, checked in this order:
/// - a score equal to the mean (by `Float.compare`) gets the list's maximum *raw* score — so a
///   single result, or a list of equal scores, keeps its raw score, and in `[1, 2, 3]` the 2 gets 3;
/// - when `sd` is 0 the score gets the list's minimum raw score;
/// - a `z ≤ 0` becomes 0.001.
pub fn z_score(scores: &[f32]) -> Vec<f32> {
    if scores.is_empty() {
        return Vec::new();
    }
    let values: Vec<f64> = scores.iter().map(|score| f64::from(*score)).collect();
    let count = values.len() as f64;
    // Commons Math's `Mean`: the plain average, then a correction pass.
    let rough_mean = values.iter().fold(0.0_f64, |sum, value| sum + value) / count;
    let correction = values.iter().fold(0.0_f64, |sum, value| sum + (value - rough_mean));
    let mean = rough_mean + correction / count;
    // Commons Math's bias-corrected `Variance`, with its compensating second sum.
    let standard_deviation = if values.len() == 1 {
        0.0
    } else {
        let (squared_deviations, deviations) = values.iter().fold((0.0_f64, 0.0_f64), |(squares, plain), value| {
            let deviation = value - mean;
            (squares + deviation * deviation, plain + deviation)
        });
        ((squared_deviations - deviations * deviations / count) / (count - 1.0)).sqrt()
    };
    let max = values.iter().copied().fold(f64::NAN, f64::max) as f32;
    let min = values.iter().copied().fold(f64::NAN, f64::min) as f32;
    let mean = mean as f32;
    let standard_deviation = standard_deviation as f32;
    scores
        .iter()
        .map(|score| {
            if java_float_compare(mean, *score) == Ordering::Equal {
                return max;
            }
            if java_float_compare(standard_deviation, 0.0) == Ordering::Equal {
                return min;
            }
            let normalized = (score - mean) / standard_deviation;
            if normalized <= 0.0 { Z_SCORE_FLOOR } else { normalized }
        })
        .collect()
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
    fn z_score_edge_cases() {
        // One score, or all equal: the score equals the mean, so it gets the maximum raw score.
        assert_eq!(z_score(&[5.0]), vec![5.0]);
        assert_eq!(z_score(&[2.0, 2.0]), vec![2.0, 2.0]);
        // [1, 2, 3]: mean 2, sample sd 1 → 1 gets 0.001, 2 (the mean) gets the max 3, 3 gets 1.
        assert_eq!(z_score(&[1.0, 2.0, 3.0]), vec![0.001, 3.0, 1.0]);
        // OpenSearch's own test: [2, 7, 8] → 0.001, 0.41478074, 0.72586626.
        let published = z_score(&[2.0, 7.0, 8.0]);
        assert_eq!(published[0], 0.001);
        assert_close(published[1], 0.414_780_7);
        assert_close(published[2], 0.725_866_3);
        assert!(z_score(&[]).is_empty());
    }

    #[test]
    fn min_max_edge_cases() {
        // One result, or all equal: 1.0.
        assert_eq!(min_max(&[7.0], None, None), vec![1.0]);
        assert_eq!(min_max(&[2.0, 2.0], None, None), vec![1.0, 1.0]);
        // The lowest score becomes 0.001, never 0.
        assert_eq!(min_max(&[3.0, 1.0], None, None), vec![1.0, 0.001]);
        // Zero scores: the maximum is Float.MIN_VALUE, not 0, so max ≠ min and (0 − 0)/max = 0 →
        // 0.001, where Elasticsearch's minmax gives 1.0.
        assert_eq!(min_max(&[0.0], None, None), vec![0.001]);
        assert_eq!(min_max(&[0.0, 0.0], None, None), vec![0.001, 0.001]);
        // Only negative scores: the maximum stays at Float.MIN_VALUE, so −1 → (−1 + 3)/3 = 0.666666667.
        let negative = min_max(&[-1.0, -3.0], None, None);
        assert_close(negative[0], 0.666_666_667);
        assert_eq!(negative[1], 0.001);
        assert!(min_max(&[], None, None).is_empty());
    }

    #[test]
    fn min_max_bounds() {
        let scores = [4.0, 3.0, 1.0];
        let apply_lower = ScoreBound::new(BoundMode::Apply, 2.0);
        // 4 and 3 are above 2: (4 − 2)/(4 − 2) = 1.0, (3 − 2)/2 = 0.5; 1 is not: (1 − 1)/3 = 0 → 0.001.
        assert_eq!(min_max(&scores, Some(apply_lower), None), vec![1.0, 0.5, 0.001]);
        let clip_lower = ScoreBound::new(BoundMode::Clip, 2.0);
        // Minimum 2 for all; 1 is below it → 0.001.
        assert_eq!(min_max(&scores, Some(clip_lower), None), vec![1.0, 0.5, 0.001]);
        let clip_lower_below_everything = ScoreBound::new(BoundMode::Clip, 0.5);
        // (4 − 0.5)/3.5 = 1.0, (3 − 0.5)/3.5 = 0.714285714, (1 − 0.5)/3.5 = 0.142857143.
        let clipped = min_max(&scores, Some(clip_lower_below_everything), None);
        assert_eq!(clipped[0], 1.0);
        assert_close(clipped[1], 0.714_285_714);
        assert_close(clipped[2], 0.142_857_143);
        let ignore = ScoreBound::new(BoundMode::Ignore, 2.0);
        assert_eq!(
            min_max(&scores, Some(ignore), Some(ignore)),
            min_max(&scores, None, None)
        );
        let apply_upper = ScoreBound::new(BoundMode::Apply, 3.5);
        // 4 is above 3.5: (4 − 1)/3 = 1.0; 3 is below: (3 − 1)/(3.5 − 1) = 0.8; 1 → 0.001.
        assert_eq!(min_max(&scores, None, Some(apply_upper)), vec![1.0, 0.8, 0.001]);
        let clip_upper = ScoreBound::new(BoundMode::Clip, 3.5);
        // Maximum 3.5 for all; 4 is above it → 1.0.
        assert_eq!(min_max(&scores, None, Some(clip_upper)), vec![1.0, 0.8, 0.001]);
        // Bounds that meet: effective minimum and maximum both 2.5 → 1.0.
        let meeting = min_max(
            &scores,
            Some(ScoreBound::new(BoundMode::Clip, 2.5)),
            Some(ScoreBound::new(BoundMode::Clip, 2.5)),
        );
        assert_eq!(meeting, vec![1.0, 1.0, 0.001]);
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

    fn combination_strategy() -> impl Strategy<Value = Combination> {
        prop_oneof![
            Just(Combination::ArithmeticMean),
            Just(Combination::GeometricMean),
            Just(Combination::HarmonicMean)
        ]
    }

    proptest! {
        #[test]
        fn min_max_maps_into_the_open_unit_interval_with_floor_and_ceiling(
            scores in proptest::collection::vec(0.0_f32..1000.0, 2..30),
        ) {
            let normalized = min_max(&scores, None, None);
            let max = scores.iter().copied().fold(f32::MIN, f32::max);
            let min = scores.iter().copied().fold(f32::MAX, f32::min);
            for (score, value) in scores.iter().zip(&normalized) {
                prop_assert!(*value > 0.0 && *value <= 1.0, "{} out of (0, 1]", value);
                if *score == max {
                    prop_assert_eq!(*value, 1.0);
                }
                if *score == min && min != max {
                    prop_assert_eq!(*value, MIN_MAX_FLOOR);
                }
            }
        }

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

        #[test]
        fn scaling_every_weight_leaves_a_weighted_mean_unchanged(
            combination in combination_strategy(),
            scored in proptest::collection::vec((0.0_f32..1.0, 0.01_f32..1.0), 1..6),
            factor in 0.1_f32..10.0,
        ) {
            let scores: Vec<f32> = scored.iter().map(|(score, _)| *score).collect();
            let weights: Vec<f32> = scored.iter().map(|(_, weight)| *weight).collect();
            let doubled: Vec<f32> = weights.iter().map(|weight| weight * 2.0).collect();
            let scaled: Vec<f32> = weights.iter().map(|weight| weight * factor).collect();
            let original = combination.combine(&scores, &weights);
            // A power of two scales every intermediate exactly.
            prop_assert_eq!(original, combination.combine(&scores, &doubled));
            let rescaled = combination.combine(&scores, &scaled);
            prop_assert!((original - rescaled).abs() <= 1e-5 * original.abs().max(1e-3), "{} vs {}", original, rescaled);
        }
    }
}
