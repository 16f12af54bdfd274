//! Weighted sum of normalised scores, as Elasticsearch's `linear` retriever computes it.
//!
//! `score(d) = Σᵢ wᵢ · normalizerᵢ(scoreᵢ(d))` over the lists whose first `rank_window_size` hits
//! contain `d`; a list that does not contain `d` adds nothing. Each list is normalised on its own,
//! over its window only, before the sum.
//!
//! Sources: Elasticsearch `x-pack/plugin/rank-rrf/src/main/java/org/elasticsearch/xpack/rank/linear/`
//! `LinearRetrieverBuilder.java` (`combineInnerRetrieverResults`), `LinearRetrieverComponent.java`
//! (weight default and check), `ScoreNormalizer.java` (names), `MinMaxScoreNormalizer.java` (after
//! elastic/elasticsearch#128689, which gives equal scores 1.0), `L2ScoreNormalizer.java`,
//! `IdentityScoreNormalizer.java`, `LinearRankDoc.java` (explain); YAML REST test
//! `x-pack/plugin/rank-rrf/src/yamlRestTest/.../linear/10_linear_retriever.yml`.

use std::str::FromStr;

use super::{FusedDoc, FusionError, FusionKey, RankedList, ScoredDoc, validate_weight, weighted_sum};

/// Java's `Float.MIN_VALUE`, the smallest positive subnormal, which `MinMaxScoreNormalizer` uses as
/// the starting maximum.
const JAVA_FLOAT_MIN_VALUE: f32 = f32::from_bits(1);
/// `MinMaxScoreNormalizer.EPSILON` and `L2ScoreNormalizer.EPSILON`.
const EPSILON: f32 = 1e-6;

/// How a list's scores are rescaled before the weighted sum (`"normalizer"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalizer {
    /// `none`: scores are used as they are.
    #[default]
    None,
    /// `minmax`: `(s − min) / (max − min)` over the list's window.
    MinMax,
    /// `l2_norm`: `s / √(Σ s²)` over the list's window.
    L2Norm,
}

impl Normalizer {
    /// The name Elasticsearch prints, e.g. in explain output.
    pub fn name(self) -> &'static str {
        match self {
            Normalizer::None => "none",
            Normalizer::MinMax => "minmax",
            Normalizer::L2Norm => "l2_norm",
        }
    }

    /// Rescales one list's scores (given best first); `NaN` marks a score to ignore.
    pub fn normalize(self, scores: &[f32]) -> Vec<f32> {
        match self {
            Normalizer::None => scores.to_vec(),
            Normalizer::MinMax => min_max(scores),
            Normalizer::L2Norm => l2_norm(scores),
        }
    }
}

impl FromStr for Normalizer {
    type Err = FusionError;

    /// Parses a normalizer name, ignoring case as `ScoreNormalizer.valueOf` does.
    ///
    /// Fails with `Unknown normalizer [{name}]`.
    fn from_str(name: &str) -> Result<Normalizer, FusionError> {
        [Normalizer::MinMax, Normalizer::L2Norm, Normalizer::None]
            .into_iter()
            .find(|normalizer| normalizer.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| FusionError::UnknownNormalizer(name.to_string()))
    }
}

/// `MinMaxScoreNormalizer.normalizeScores`.
///
/// - `NaN` scores take no part in finding the minimum and maximum, and stay `NaN`; a list of only
///   `NaN`s comes back unchanged.
/// - When the minimum and maximum are within `1e-6` of each other (one document, or all scores
///   equal) every document gets 1.0.
/// - The maximum starts at Java's `Float.MIN_VALUE` (`1.4e-45`), not at `-∞`: a list of only
///   negative scores is normalised against a maximum just above zero, so its best score maps
///   below 1. Lucene scores are never negative, so this only shows with scores from elsewhere;
///   it is kept to give the same numbers as Elasticsearch.
fn min_max(scores: &[f32]) -> Vec<f32> {
    let mut min = f32::MAX;
    let mut max = JAVA_FLOAT_MIN_VALUE;
    let mut has_valid_score = false;
    for score in scores {
        has_valid_score |= !score.is_nan();
        if *score > max {
            max = *score;
        }
        if *score < min {
            min = *score;
        }
    }
    if !has_valid_score {
        return scores.to_vec();
    }
    let min_equals_max = (min - max).abs() < EPSILON;
    scores
        .iter()
        .map(|score| {
            if min_equals_max {
                1.0
            } else {
                (score - min) / (max - min)
            }
        })
        .collect()
}

/// `L2ScoreNormalizer.normalizeScores`.
///
/// Squares are taken in `f32` and summed in `f64`; each score is divided by the norm in `f64`.
/// `NaN` scores are left out of the norm and stay `NaN`. When there is no valid score, or the norm
/// is below `1e-6` (all scores zero), the scores come back unchanged.
fn l2_norm(scores: &[f32]) -> Vec<f32> {
    let mut sum_of_squares = 0.0_f64;
    let mut has_valid_score = false;
    for score in scores {
        if !score.is_nan() {
            has_valid_score = true;
            sum_of_squares += f64::from(score * score);
        }
    }
    let norm = sum_of_squares.sqrt();
    if !has_valid_score || norm < f64::from(EPSILON) {
        return scores.to_vec();
    }
    scores.iter().map(|score| (f64::from(*score) / norm) as f32).collect()
}

/// One entry of the `linear` retriever's `retrievers` array, without the retriever itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearComponent {
    /// `weight`, default 1.0, never negative.
    pub weight: f32,
    /// `normalizer`, default `none`.
    pub normalizer: Normalizer,
}

impl Default for LinearComponent {
    fn default() -> Self {
        LinearComponent {
            weight: super::DEFAULT_WEIGHT,
            normalizer: Normalizer::None,
        }
    }
}

impl LinearComponent {
    pub fn new(weight: f32, normalizer: Normalizer) -> LinearComponent {
        LinearComponent { weight, normalizer }
    }
}

/// Parameters of Elasticsearch's `linear` retriever.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearParams {
    /// `rank_window_size`: how many hits of each list take part (and are normalised), and how
    /// many fused hits come out.
    pub rank_window_size: usize,
    /// One per list, in list order.
    pub components: Vec<LinearComponent>,
}

impl LinearParams {
    /// Elasticsearch's defaults for `list_count` retrievers: weight 1.0 and normalizer `none` each.
    pub fn new(list_count: usize, rank_window_size: usize) -> LinearParams {
        LinearParams {
            rank_window_size,
            components: vec![LinearComponent::default(); list_count],
        }
    }

    pub fn with_components(self, components: Vec<LinearComponent>) -> LinearParams {
        LinearParams { components, ..self }
    }
}

/// Fuses lists as Elasticsearch's `linear` retriever does.
///
/// Each list is cut to `rank_window_size` and normalised with its component's normalizer; then
/// `score(d) = Σᵢ wᵢ · nᵢ(d)` is summed in `f32` in list order over the lists that contain `d`.
/// A normalised value that is `NaN` counts as 0, as does a missing document. The fused ranking is
/// cut to `rank_window_size`; ties go to the smaller key.
///
/// Fails with `[weight] must be non-negative` or
/// `The number of weights must match the number of inner retrievers`.
pub fn fuse<K: FusionKey>(lists: &[RankedList<K>], params: &LinearParams) -> Result<Vec<FusedDoc<K>>, FusionError> {
    if params.components.len() != lists.len() {
        return Err(FusionError::RetrieverCountMismatch);
    }
    for component in &params.components {
        validate_weight(component.weight)?;
    }
    let windows: Vec<&[ScoredDoc<K>]> = lists.iter().map(|list| list.window(params.rank_window_size)).collect();
    let normalized_by_list: Vec<Vec<f32>> = windows
        .iter()
        .zip(&params.components)
        .map(|(window, component)| {
            let raw_scores: Vec<f32> = window.iter().map(|hit| hit.score).collect();
            component.normalizer.normalize(&raw_scores)
        })
        .collect();
    // A NaN weight cannot come from JSON; LinearRetrieverBuilder would use 1.0 for it.
    let weights: Vec<f32> = params
        .components
        .iter()
        .map(|component| {
            if component.weight.is_nan() {
                super::DEFAULT_WEIGHT
            } else {
                component.weight
            }
        })
        .collect();
    Ok(weighted_sum(
        &windows,
        &weights,
        |list_index, position, weight| {
            let normalized = normalized_by_list[list_index][position];
            let usable_score = if normalized.is_nan() { 0.0 } else { normalized };
            (Some(normalized), weight * usable_score)
        },
        params.rank_window_size,
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fusion::Component;
    use crate::fusion::testing::{assert_close, doc_list, fused_keys, fused_scores, lists_strategy};

    fn params(window: usize, components: &[(f32, Normalizer)]) -> LinearParams {
        let components = components
            .iter()
            .map(|(weight, normalizer)| LinearComponent::new(*weight, *normalizer))
            .collect();
        LinearParams::new(0, window).with_components(components)
    }

    /// The YAML REST test's standard retriever (constant scores 10, 9 and 5) and its knn retriever
    /// (doc 4 at distance 0, so score 1/(1+0) = 1.0).
    fn yaml_lists() -> Vec<RankedList<u64>> {
        vec![doc_list(&[(1, 10.0), (2, 9.0), (3, 5.0)]), doc_list(&[(4, 1.0)])]
    }

    #[test]
    fn weighted_sum_without_normalizer() {
        // 10_linear_retriever.yml "basic linear weighted combination": 0.5·10 and 2.0·1.0.
        let lists = vec![doc_list(&[(1, 10.0)]), doc_list(&[(4, 1.0)])];
        let fused = fuse(&lists, &params(10, &[(0.5, Normalizer::None), (2.0, Normalizer::None)])).expect("valid");
        assert_eq!(fused_keys(&fused), vec![1, 4]);
        assert_eq!(fused_scores(&fused), vec![5.0, 2.0]);
        // "interleaved results": 2·10, 3·5, 3·4, 2·5.
        let lists = vec![doc_list(&[(1, 10.0), (2, 5.0)]), doc_list(&[(3, 5.0), (4, 4.0)])];
        let fused = fuse(&lists, &params(10, &[(2.0, Normalizer::None), (3.0, Normalizer::None)])).expect("valid");
        assert_eq!(fused_keys(&fused), vec![1, 3, 4, 2]);
        assert_eq!(fused_scores(&fused), vec![20.0, 15.0, 12.0, 10.0]);
    }

    #[test]
    fn minmax_normalizes_each_list_over_its_window() {
        // "should normalize initial scores": min 5, max 10 → 1.0, 0.8, 0.0, times 10; doc 4 2·1.0.
        let components = [(10.0, Normalizer::MinMax), (2.0, Normalizer::None)];
        let fused = fuse(&yaml_lists(), &params(10, &components)).expect("valid");
        assert_eq!(fused_keys(&fused), vec![1, 2, 4, 3]);
        assert_eq!(fused_scores(&fused), vec![10.0, 8.0, 2.0, 0.0]);
        let doc_two = &fused[1];
        assert_eq!(doc_two.components[0].raw_score, Some(9.0));
        assert_eq!(doc_two.components[0].rank, Some(2));
        assert_eq!(doc_two.components[0].normalized, Some(0.8));
        assert_eq!(doc_two.components[0].weight, 10.0);
        assert_eq!(doc_two.components[0].contribution, 8.0);
        assert_eq!(doc_two.components[1], Component::absent(2.0));
        // "should respect rank_window_size": window 2 keeps scores 10 and 9 → 1.0 and 0.0;
        // doc 4 2.0, doc 1 1.0, doc 2 0.0, and the output keeps two.
        let components = [(1.0, Normalizer::MinMax), (2.0, Normalizer::None)];
        let fused = fuse(&yaml_lists(), &params(2, &components)).expect("valid");
        assert_eq!(fused_keys(&fused), vec![4, 1]);
        assert_eq!(fused_scores(&fused), vec![2.0, 1.0]);
    }

    #[test]
    fn l2_norm_divides_by_the_norm_of_the_window() {
        // Lexical 3 and 4: norm 5 → 0.6 and 0.8. Vector 2 and 1, weight 0.5, no normalizer.
        let lists = vec![doc_list(&[(1, 3.0), (2, 4.0)]), doc_list(&[(2, 2.0), (3, 1.0)])];
        let components = [(1.0, Normalizer::L2Norm), (0.5, Normalizer::None)];
        let fused = fuse(&lists, &params(10, &components)).expect("valid");
        assert_eq!(fused_keys(&fused), vec![2, 1, 3]);
        let scores = fused_scores(&fused);
        // doc 2: 4/5 + 0.5·2 = 0.8 + 1.0
        assert_close(scores[0], 1.8);
        // doc 1: 3/5
        assert_close(scores[1], 0.6);
        // doc 3: 0.5·1
        assert_close(scores[2], 0.5);
        // A 3-4-12 list: norm 13.
        assert_eq!(
            Normalizer::L2Norm.normalize(&[3.0, 4.0, 12.0]),
            vec![3.0 / 13.0, 4.0 / 13.0, 12.0 / 13.0]
        );
    }

    #[test]
    fn minmax_edge_cases() {
        // One document, or all scores within 1e-6: every document gets 1.0.
        assert_eq!(Normalizer::MinMax.normalize(&[7.0]), vec![1.0]);
        assert_eq!(Normalizer::MinMax.normalize(&[3.0, 3.0]), vec![1.0, 1.0]);
        assert_eq!(Normalizer::MinMax.normalize(&[2.0, 2.000_000_5]), vec![1.0, 1.0]);
        // All zero: the maximum stays at Float.MIN_VALUE, within 1e-6 of 0, so 1.0 each.
        assert_eq!(Normalizer::MinMax.normalize(&[0.0, 0.0, 0.0]), vec![1.0, 1.0, 1.0]);
        // Only negative scores: max is Float.MIN_VALUE, so -1 → (−1 + 3)/(1.4e-45 + 3) = 2/3, −3 → 0.
        let negative = Normalizer::MinMax.normalize(&[-1.0, -3.0]);
        assert_close(negative[0], 0.666_666_667);
        assert_eq!(negative[1], 0.0);
        // NaN scores are ignored for min and max and stay NaN; only NaN comes back as it was.
        let with_nan = Normalizer::MinMax.normalize(&[4.0, f32::NAN, 2.0]);
        assert_eq!(with_nan[0], 1.0);
        assert!(with_nan[1].is_nan());
        assert_eq!(with_nan[2], 0.0);
        assert!(
            Normalizer::MinMax
                .normalize(&[f32::NAN])
                .iter()
                .all(|score| score.is_nan())
        );
        assert!(Normalizer::MinMax.normalize(&[]).is_empty());
    }

    #[test]
    fn l2_norm_edge_cases() {
        // Zero norm: scores come back unchanged.
        assert_eq!(Normalizer::L2Norm.normalize(&[0.0, 0.0]), vec![0.0, 0.0]);
        // One document: s/|s| = 1.
        assert_eq!(Normalizer::L2Norm.normalize(&[5.0]), vec![1.0]);
        // NaN is left out of the norm: [NaN, 3, 4] has norm 5.
        let with_nan = Normalizer::L2Norm.normalize(&[f32::NAN, 3.0, 4.0]);
        assert!(with_nan[0].is_nan());
        assert_eq!(&with_nan[1..], &[0.6, 0.8]);
    }

    #[test]
    fn nan_and_missing_scores_contribute_zero() {
        // Two hits without scores (NaN), normalised with minmax: left as NaN, counted as 0.
        let lists = vec![doc_list(&[(1, f32::NAN), (2, f32::NAN)]), doc_list(&[(2, 3.0)])];
        let components = [(5.0, Normalizer::MinMax), (1.0, Normalizer::None)];
        let fused = fuse(&lists, &params(10, &components)).expect("valid");
        assert_eq!(fused_keys(&fused), vec![2, 1]);
        // doc 2: 5·0 (NaN) + 1·3; doc 1: 5·0.
        assert_eq!(fused_scores(&fused), vec![3.0, 0.0]);
        assert!(fused[1].components[0].normalized.expect("present").is_nan());
        assert_eq!(fused[1].components[0].contribution, 0.0);
        assert_eq!(fused[1].components[1], Component::absent(1.0));
    }

    #[test]
    fn equal_scores_tie_by_key() {
        // Single-hit and equal-score lists all normalise to 1.0.
        let lists = vec![doc_list(&[(7, 2.0)]), doc_list(&[(3, 5.0), (1, 5.0)])];
        let components = [(1.0, Normalizer::MinMax), (1.0, Normalizer::MinMax)];
        let fused = fuse(&lists, &params(10, &components)).expect("valid");
        assert_eq!(fused_keys(&fused), vec![1, 3, 7]);
        assert_eq!(fused_scores(&fused), vec![1.0, 1.0, 1.0]);
    }

    #[test]
    fn rejects_bad_params() {
        let error = fuse(
            &yaml_lists(),
            &params(10, &[(1.0, Normalizer::None), (-10.0, Normalizer::None)]),
        )
        .expect_err("negative weight");
        assert_eq!(error.to_string(), "[weight] must be non-negative");
        let error = fuse(&yaml_lists(), &params(10, &[(1.0, Normalizer::None)])).expect_err("one component");
        assert_eq!(
            error.to_string(),
            "The number of weights must match the number of inner retrievers"
        );
        let error = "aardvark".parse::<Normalizer>().expect_err("unknown name");
        assert_eq!(error.to_string(), "Unknown normalizer [aardvark]");
        assert_eq!("MinMax".parse::<Normalizer>(), Ok(Normalizer::MinMax));
        assert_eq!("l2_norm".parse::<Normalizer>(), Ok(Normalizer::L2Norm));
        assert_eq!("NONE".parse::<Normalizer>(), Ok(Normalizer::None));
        // A zero weight is allowed.
        let fused = fuse(
            &yaml_lists(),
            &params(10, &[(0.0, Normalizer::None), (1.0, Normalizer::None)]),
        )
        .expect("valid");
        assert_eq!(fused_keys(&fused), vec![4, 1, 2, 3]);
        assert_eq!(fused_scores(&fused), vec![1.0, 0.0, 0.0, 0.0]);
    }

    fn normalizer_strategy() -> impl Strategy<Value = Normalizer> {
        prop_oneof![
            Just(Normalizer::None),
            Just(Normalizer::MinMax),
            Just(Normalizer::L2Norm)
        ]
    }

    proptest! {
        #[test]
        fn minmax_maps_finite_scores_into_the_unit_interval(
            scores in proptest::collection::vec(-1000.0_f32..1000.0, 1..30),
        ) {
            let normalized = Normalizer::MinMax.normalize(&scores);
            prop_assert_eq!(normalized.len(), scores.len());
            for value in &normalized {
                prop_assert!((0.0..=1.0).contains(value), "{} out of [0, 1]", value);
            }
        }

        #[test]
        fn l2_norm_output_has_unit_norm(scores in proptest::collection::vec(0.01_f32..1000.0, 1..30)) {
            let normalized = Normalizer::L2Norm.normalize(&scores);
            let norm: f64 = normalized.iter().map(|value| f64::from(*value) * f64::from(*value)).sum::<f64>().sqrt();
            prop_assert!((norm - 1.0).abs() < 1e-5, "norm {}", norm);
        }

        #[test]
        fn linear_ignores_the_order_of_its_inputs(
            (lists, components, order) in lists_strategy().prop_flat_map(|lists| {
                let list_count = lists.len();
                let component = (0.0_f32..4.0, normalizer_strategy())
                    .prop_map(|(weight, normalizer)| LinearComponent::new(weight, normalizer));
                (
                    Just(lists),
                    proptest::collection::vec(component, list_count),
                    Just((0..list_count).collect::<Vec<usize>>()).prop_shuffle(),
                )
            }),
        ) {
            let params = LinearParams::new(0, 1000).with_components(components.clone());
            let permuted_lists: Vec<RankedList<u64>> = order.iter().map(|index| lists[*index].clone()).collect();
            let permuted_params = LinearParams::new(0, 1000)
                .with_components(order.iter().map(|index| components[*index]).collect());
            let original = fuse(&lists, &params).expect("valid params");
            let permuted = fuse(&permuted_lists, &permuted_params).expect("valid params");
            prop_assert_eq!(original.len(), permuted.len());
            let permuted_by_key: std::collections::HashMap<u64, f32> =
                permuted.iter().map(|doc| (doc.key, doc.score)).collect();
            for doc in &original {
                let permuted_score = permuted_by_key[&doc.key];
                // Summing in another order can only move the last bits of each addition.
                let magnitude: f32 = doc.components.iter().map(|component| component.contribution.abs()).sum();
                prop_assert!(
                    (doc.score - permuted_score).abs() <= 1e-6 * magnitude + f32::MIN_POSITIVE,
                    "{} vs {}", doc.score, permuted_score
                );
            }
        }

        #[test]
        fn doubling_every_weight_doubles_every_linear_score(
            (lists, components) in lists_strategy().prop_flat_map(|lists| {
                let list_count = lists.len();
                let component = (0.0_f32..4.0, normalizer_strategy())
                    .prop_map(|(weight, normalizer)| LinearComponent::new(weight, normalizer));
                (Just(lists), proptest::collection::vec(component, list_count))
            }),
            window in 1_usize..20,
        ) {
            let doubled: Vec<LinearComponent> = components
                .iter()
                .map(|component| LinearComponent::new(component.weight * 2.0, component.normalizer))
                .collect();
            let original = fuse(&lists, &LinearParams::new(0, window).with_components(components)).expect("valid");
            let twice = fuse(&lists, &LinearParams::new(0, window).with_components(doubled)).expect("valid");
            prop_assert_eq!(fused_keys(&original), fused_keys(&twice));
            for (single, double) in original.iter().zip(&twice) {
                prop_assert_eq!(single.score * 2.0, double.score);
            }
        }
    }
}
