//! The per-list normalisers of the `normalization-processor`: `min_max` (with its bounds), `l2`
//! and `z_score`. Each takes one sub-query's scores, best first, and returns one normalised score
//! per hit.

use std::cmp::Ordering;

use crate::fusion::{FusionError, java_float_compare};

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
    use crate::fusion::testing::assert_close;

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
    }
}
