//! Distance kernels and the ES / OpenSearch `_score` conventions. This is the only file that
//! calls simsimd (dynamic dispatch picks the widest SIMD the CPU has: AVX2, AVX-512, VNNI...).
//!
//! Internally every search ranks by a *distance* (smaller is better): `-dot` for cosine, dot
//! product and max inner product, the squared L2 distance for `l2_norm`, and the plain L1, L∞
//! and Hamming distances. [`Similarity::raw_from_distance`] turns it back into the raw value
//! that ES thresholds and scores work on (cosine, dot, L2 distance, ...), and [`score`] turns a
//! raw value into a `_score`, pinned per engine by tests:
//! <https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/dense-vector#dense-vector-params>
//! and OpenSearch `SpaceType.java`.

use simsimd::{BinarySimilarity, SpatialSimilarity};

/// The similarity of a vector field, with the raw kernel semantics of `Neighbor::raw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Similarity {
    /// Cosine of the angle; vectors are normalised at insert, so it is the dot product of
    /// unit vectors. Raw value: the cosine in [-1, 1].
    Cosine,
    /// Dot product (ES requires unit vectors for float `dot_product`). Raw value: the dot.
    DotProduct,
    /// Euclidean distance. Raw value: the L2 distance (not squared).
    L2Norm,
    /// Unbounded inner product. Raw value: the dot.
    MaxInnerProduct,
    /// Manhattan distance (OpenSearch `l1`). Raw value: the distance.
    L1,
    /// Chebyshev distance (OpenSearch `linf`). Raw value: the distance.
    LInf,
    /// Number of differing bits between packed bit vectors (ES `bit` + `l2_norm`, OpenSearch
    /// `hamming`). Raw value: the bit count.
    Hamming,
}

/// The kernel a similarity ranks by; see the module comment for the sign conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    /// `-dot(a, b)`.
    NegativeDot,
    /// `|a - b|²`.
    SquaredL2,
    L1,
    LInf,
    /// Differing bits of byte-packed vectors.
    Hamming,
}

impl Similarity {
    pub(crate) fn metric(self) -> Metric {
        match self {
            Similarity::Cosine | Similarity::DotProduct | Similarity::MaxInnerProduct => Metric::NegativeDot,
            Similarity::L2Norm => Metric::SquaredL2,
            Similarity::L1 => Metric::L1,
            Similarity::LInf => Metric::LInf,
            Similarity::Hamming => Metric::Hamming,
        }
    }

    /// Turns an internal distance (smaller is better) into the raw similarity or distance.
    pub fn raw_from_distance(self, distance: f32) -> f32 {
        match self {
            Similarity::Cosine | Similarity::DotProduct | Similarity::MaxInnerProduct => -distance,
            Similarity::L2Norm => distance.max(0.0).sqrt(),
            Similarity::L1 | Similarity::LInf | Similarity::Hamming => distance,
        }
    }

    /// Turns a raw similarity or distance into the internal distance (inverse of
    /// [`Similarity::raw_from_distance`]).
    pub fn distance_from_raw(self, raw: f32) -> f32 {
        match self {
            Similarity::Cosine | Similarity::DotProduct | Similarity::MaxInnerProduct => -raw,
            Similarity::L2Norm => raw * raw,
            Similarity::L1 | Similarity::LInf | Similarity::Hamming => raw,
        }
    }
}

/// How a raw similarity becomes a `_score`, per engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScoreFormula {
    /// ES `cosine`: `(1 + cos) / 2`.
    EsCosine,
    /// ES `dot_product` on float vectors: `(1 + dot) / 2`.
    EsDotProductFloat,
    /// ES `dot_product` on byte vectors: `0.5 + dot / (32768 · dims)`.
    EsDotProductByte { dims: usize },
    /// ES `l2_norm`: `1 / (1 + l2²)`.
    EsL2,
    /// ES `max_inner_product`: `dot < 0 → 1 / (1 - dot)`, else `dot + 1`.
    EsMaxInnerProduct,
    /// ES `l2_norm` on `bit` vectors: `(bits - hamming) / bits`.
    EsBitHamming { bits: usize },
    /// OpenSearch `l2`: `1 / (1 + l2²)`.
    OsL2,
    /// OpenSearch `cosinesimil`: `max((2 - (1 - cos)) / 2, 0)`.
    OsCosine,
    /// OpenSearch `innerproduct`: `dot ≤ 0 → 1 / (1 - dot)`, else `dot + 1`.
    OsInnerProduct,
    /// OpenSearch `l1`: `1 / (1 + l1)`.
    OsL1,
    /// OpenSearch `linf`: `1 / (1 + linf)`.
    OsLInf,
    /// OpenSearch `hamming`: `1 / (1 + hamming)`.
    OsHamming,
}

/// Returns the `_score` of a raw similarity (see [`Similarity`] for what `raw` holds).
pub fn score(formula: ScoreFormula, raw: f32) -> f32 {
    match formula {
        ScoreFormula::EsCosine | ScoreFormula::EsDotProductFloat => (1.0 + raw) / 2.0,
        ScoreFormula::EsDotProductByte { dims } => 0.5 + raw / (32768.0 * dims.max(1) as f32),
        ScoreFormula::EsL2 | ScoreFormula::OsL2 => 1.0 / (1.0 + raw * raw),
        ScoreFormula::EsMaxInnerProduct | ScoreFormula::OsInnerProduct => {
            if raw < 0.0 {
                1.0 / (1.0 - raw)
            } else {
                raw + 1.0
            }
        }
        ScoreFormula::EsBitHamming { bits } => (bits as f32 - raw) / bits.max(1) as f32,
        ScoreFormula::OsCosine => ((2.0 - (1.0 - raw)) / 2.0).max(0.0),
        ScoreFormula::OsL1 | ScoreFormula::OsLInf | ScoreFormula::OsHamming => 1.0 / (1.0 + raw),
    }
}

/// `a · b` of two f32 slices of equal length.
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    <f32 as SpatialSimilarity>::dot(a, b).unwrap_or(f64::NAN) as f32
}

/// `|a - b|²` of two f32 slices of equal length.
#[inline]
pub fn squared_l2_f32(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    <f32 as SpatialSimilarity>::l2sq(a, b).unwrap_or(f64::NAN) as f32
}

/// `Σ |a_i - b_i|` (simsimd has no L1 kernel; this loop auto-vectorises).
#[inline]
pub fn l1_f32(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

/// `max |a_i - b_i|`.
#[inline]
pub fn linf_f32(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0.0_f32, |max, (x, y)| max.max((x - y).abs()))
}

/// Number of differing bits between two byte-packed bit vectors.
#[inline]
pub fn hamming_bytes(a: &[u8], b: &[u8]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    <u8 as BinarySimilarity>::hamming(a, b).unwrap_or(f64::NAN) as f32
}

/// Exact integer `a · b` of two i8 slices (int8 codes).
#[inline]
pub fn dot_i8(a: &[i8], b: &[i8]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    <i8 as SpatialSimilarity>::dot(a, b).unwrap_or(f64::NAN) as f32
}

/// The internal distance between two f32 rows (bit rows go through [`hamming_bytes`]).
#[inline]
pub(crate) fn distance_f32(metric: Metric, a: &[f32], b: &[f32]) -> f32 {
    match metric {
        Metric::NegativeDot => -dot_f32(a, b),
        Metric::SquaredL2 => squared_l2_f32(a, b),
        Metric::L1 => l1_f32(a, b),
        Metric::LInf => linf_f32(a, b),
        Metric::Hamming => hamming_bytes(as_bytes(a), as_bytes(b)),
    }
}

/// Views f32 storage as bytes (bit vectors are packed into f32 words; see `storage.rs`).
#[inline]
pub(crate) fn as_bytes(words: &[f32]) -> &[u8] {
    // SAFETY: every bit pattern of an f32 is a valid sequence of 4 bytes, u8 has alignment 1,
    // and the byte slice covers exactly the same memory as `words` for the same lifetime.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), std::mem::size_of_val(words)) }
}

/// Hints the CPU to start loading `bytes` bytes from `pointer` (a row about to be scored).
#[inline]
pub(crate) fn prefetch(pointer: *const u8, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let mut offset = 0;
        while offset < bytes {
            // SAFETY: prefetch never faults, whatever the address; it is only a hint.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    pointer.wrapping_add(offset).cast::<i8>(),
                )
            };
            offset += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (pointer, bytes);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn close(actual: f32, expected: f64, tolerance: f64) -> bool {
        (actual as f64 - expected).abs() <= tolerance * (1.0 + expected.abs())
    }

    #[test]
    fn es_scores_match_the_documented_formulas() {
        // ES 40_knn_search_cosine.yml: cos 0.99881 → (1 + cos) / 2.
        assert_eq!(score(ScoreFormula::EsCosine, 0.5), 0.75);
        assert_eq!(score(ScoreFormula::EsCosine, -1.0), 0.0);
        assert_eq!(score(ScoreFormula::EsDotProductFloat, 0.2), 0.6);
        // byte dot: 0.5 + dot / (32768 · dims); dot 16384 over 2 dims → 0.5 + 0.25.
        assert_eq!(score(ScoreFormula::EsDotProductByte { dims: 2 }, 16384.0), 0.75);
        assert_eq!(score(ScoreFormula::EsDotProductByte { dims: 4 }, -32768.0), 0.25);
        // l2_norm: 1 / (1 + l2²); l2 = 3 → 0.1.
        assert_eq!(score(ScoreFormula::EsL2, 3.0), 0.1);
        assert_eq!(score(ScoreFormula::EsL2, 0.0), 1.0);
        // max_inner_product, 40_knn_search.yml: dot 58693.902 → 58694.902.
        assert_eq!(score(ScoreFormula::EsMaxInnerProduct, 58693.902), 58694.902);
        assert_eq!(score(ScoreFormula::EsMaxInnerProduct, -3.0), 0.25);
        assert_eq!(score(ScoreFormula::EsMaxInnerProduct, 0.0), 1.0);
        // bit + l2_norm: (bits - hamming) / bits.
        assert_eq!(score(ScoreFormula::EsBitHamming { bits: 16 }, 4.0), 0.75);
    }

    #[test]
    fn opensearch_scores_match_space_type() {
        assert_eq!(score(ScoreFormula::OsL2, 1.0), 0.5);
        assert_eq!(score(ScoreFormula::OsCosine, 0.5), 0.75);
        assert_eq!(score(ScoreFormula::OsCosine, -1.0), 0.0);
        assert_eq!(score(ScoreFormula::OsInnerProduct, 2.0), 3.0);
        assert_eq!(score(ScoreFormula::OsInnerProduct, -1.0), 0.5);
        assert_eq!(score(ScoreFormula::OsL1, 3.0), 0.25);
        assert_eq!(score(ScoreFormula::OsLInf, 1.0), 0.5);
        assert_eq!(score(ScoreFormula::OsHamming, 9.0), 0.1);
    }

    #[test]
    fn raw_and_distance_round_trip() {
        for similarity in [
            Similarity::Cosine,
            Similarity::DotProduct,
            Similarity::L2Norm,
            Similarity::MaxInnerProduct,
            Similarity::L1,
            Similarity::LInf,
            Similarity::Hamming,
        ] {
            let raw = 1.5_f32;
            assert_eq!(similarity.raw_from_distance(similarity.distance_from_raw(raw)), raw);
        }
    }

    #[test]
    fn hand_computed_kernels() {
        let a = [1.0_f32, 2.0, 3.0];
        let b = [4.0_f32, -5.0, 6.0];
        assert_eq!(dot_f32(&a, &b), 12.0);
        assert_eq!(squared_l2_f32(&a, &b), 9.0 + 49.0 + 9.0);
        assert_eq!(l1_f32(&a, &b), 3.0 + 7.0 + 3.0);
        assert_eq!(linf_f32(&a, &b), 7.0);
        assert_eq!(hamming_bytes(&[0b1010_1010, 0xff], &[0b0101_1010, 0x0f]), 8.0);
        assert_eq!(dot_i8(&[-128, 127, 3], &[-128, -128, 2]), 16384.0 - 16256.0 + 6.0);
    }

    fn vector_pair() -> impl Strategy<Value = (Vec<f32>, Vec<f32>)> {
        (1usize..300).prop_flat_map(|len| {
            (
                proptest::collection::vec(-10.0_f32..10.0, len),
                proptest::collection::vec(-10.0_f32..10.0, len),
            )
        })
    }

    proptest! {
        #[test]
        fn f32_kernels_match_an_f64_reference((a, b) in vector_pair()) {
            let dot: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let l2: f64 = a.iter().zip(&b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum();
            let scale: f64 = a.iter().zip(&b).map(|(x, y)| (*x as f64 * *y as f64).abs()).sum();
            // f32 accumulation over n terms: error ≤ n·ε·Σ|terms|, far below this bound.
            prop_assert!((dot_f32(&a, &b) as f64 - dot).abs() <= 1e-4 * (1.0 + scale));
            prop_assert!(close(squared_l2_f32(&a, &b), l2, 1e-4));
        }

        #[test]
        fn i8_and_hamming_kernels_are_exact(
            pairs in proptest::collection::vec((any::<i8>(), any::<i8>()), 1..400)
        ) {
            let (a, b): (Vec<i8>, Vec<i8>) = pairs.into_iter().unzip();
            let dot: i64 = a.iter().zip(&b).map(|(x, y)| *x as i64 * *y as i64).sum();
            prop_assert_eq!(dot_i8(&a, &b) as i64, dot);
            let bytes_a: Vec<u8> = a.iter().map(|x| *x as u8).collect();
            let bytes_b: Vec<u8> = b.iter().map(|x| *x as u8).collect();
            let bits: u32 = bytes_a.iter().zip(&bytes_b).map(|(x, y)| (x ^ y).count_ones()).sum();
            prop_assert_eq!(hamming_bytes(&bytes_a, &bytes_b) as u32, bits);
        }
    }
}
