//! The combinations of the `normalization-processor`: how one document's normalised scores, one
//! per sub-query, become its fused score.

use crate::fusion::FusionError;

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

    /// Each sub-query's part of `fused` (see [`Component::contribution`](crate::fusion::Component::contribution)).
    pub(super) fn contributions(self, scores: &[f32], weights: &[f32], fused: f32) -> Vec<f32> {
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn combination_strategy() -> impl Strategy<Value = Combination> {
        prop_oneof![
            Just(Combination::ArithmeticMean),
            Just(Combination::GeometricMean),
            Just(Combination::HarmonicMean)
        ]
    }

    proptest! {
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
