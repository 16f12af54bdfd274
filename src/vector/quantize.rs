//! Compact codes that the graph traversal scores instead of f32 rows; the short list of
//! candidates is then rescored with the exact f32 rows (see `index.rs`), so returned scores
//! are always exact.
//!
//! - **Int8** (faiss SQ8 / Lucene int8 style): a min/max range per dimension, trained on a
//!   sample, maps each dimension onto 256 levels. Storing `x·127` for every dimension (usearch)
//!   wastes most levels on unit vectors and caps recall near 0.96; per-dimension ranges don't.
//!   The query is folded into the code space once per search: with `x̂_d = offset_d + c_d·step_d`,
//!   `q·x̂ = Σ q_d·offset_d + Σ (q_d·step_d)·c_d`; the weights `q_d·step_d` are quantized to i8
//!   with one scale per query, so scoring a candidate is one i8 dot product (VNNI where the CPU
//!   has it). For L2, `|q - x̂|² = |q|² - 2 q·x̂ + |x̂|²`, with `|x̂|²` stored per vector.
//! - **Binary** (sign of each dimension around the trained mean, like the first bit of BBQ):
//!   scored by Hamming distance; a coarse traversal that needs a longer rescored list.

use super::distance::{Metric, dot_i8, hamming_bytes};

/// How many rows the quantizer trains on at most (a uniform prefix sample of the index).
pub(crate) const TRAIN_SAMPLE_ROWS: usize = 25_000;
/// Fewest rows before a quantizer is trained; smaller indexes traverse on f32 rows.
pub(crate) const TRAIN_MIN_ROWS: usize = 256;

/// A trained code book.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Quantizer {
    Int8 {
        /// `min_d + 128·step_d`: the value of code 0.
        offsets: Vec<f32>,
        /// `(max_d - min_d) / 255`.
        steps: Vec<f32>,
    },
    Binary {
        means: Vec<f32>,
    },
}

/// A query prepared for scoring codes.
#[derive(Default)]
pub(crate) struct QueryCodes {
    pub(crate) codes: Vec<u8>,
    /// Int8: `q·x̂ ≈ constant + scale · dot_i8(codes, c)`.
    pub(crate) scale: f32,
}

impl Quantizer {
    /// Trains int8 ranges on `rows` (all of the same length).
    pub(crate) fn train_int8<'a>(dims: usize, rows: impl Iterator<Item = &'a [f32]>) -> Quantizer {
        let mut minimums = vec![f32::INFINITY; dims];
        let mut maximums = vec![f32::NEG_INFINITY; dims];
        for row in rows {
            for ((value, minimum), maximum) in row.iter().zip(&mut minimums).zip(&mut maximums) {
                *minimum = minimum.min(*value);
                *maximum = maximum.max(*value);
            }
        }
        let mut offsets = Vec::with_capacity(dims);
        let mut steps = Vec::with_capacity(dims);
        for (minimum, maximum) in minimums.iter().zip(&maximums) {
            let range = maximum - minimum;
            // A constant (or untrained) dimension: every value maps to code -128 = minimum.
            let step = if range.is_finite() && range > 0.0 {
                range / 255.0
            } else {
                1.0
            };
            let minimum = if minimum.is_finite() { *minimum } else { 0.0 };
            offsets.push(minimum + 128.0 * step);
            steps.push(step);
        }
        Quantizer::Int8 { offsets, steps }
    }

    /// Trains the per-dimension means of binary codes.
    pub(crate) fn train_binary<'a>(dims: usize, rows: impl Iterator<Item = &'a [f32]>) -> Quantizer {
        let mut sums = vec![0.0_f64; dims];
        let mut count = 0_usize;
        for row in rows {
            for (sum, value) in sums.iter_mut().zip(row) {
                *sum += *value as f64;
            }
            count += 1;
        }
        let means = sums.iter().map(|sum| (sum / count.max(1) as f64) as f32).collect();
        Quantizer::Binary { means }
    }

    /// Bytes of one code.
    pub(crate) fn code_bytes(&self) -> usize {
        match self {
            Quantizer::Int8 { steps, .. } => steps.len(),
            Quantizer::Binary { means } => means.len().div_ceil(8),
        }
    }

    /// Appends the code of `row` to `codes` and returns its correction term (`|x̂|²` for int8).
    pub(crate) fn encode(&self, row: &[f32], codes: &mut Vec<u8>) -> f32 {
        match self {
            Quantizer::Int8 { offsets, steps } => {
                let mut squared_norm = 0.0_f32;
                for ((value, offset), step) in row.iter().zip(offsets).zip(steps) {
                    let code = ((value - offset) / step).round().clamp(-128.0, 127.0);
                    let reconstructed = offset + code * step;
                    squared_norm += reconstructed * reconstructed;
                    codes.push(code as i8 as u8);
                }
                squared_norm
            }
            Quantizer::Binary { means } => {
                codes.extend(pack_signs(row, means));
                0.0
            }
        }
    }

    /// Folds `query` into code space (see the module comment).
    pub(crate) fn prepare_query(&self, query: &[f32], prepared: &mut QueryCodes) {
        prepared.codes.clear();
        match self {
            Quantizer::Int8 { steps, .. } => {
                let largest = query
                    .iter()
                    .zip(steps)
                    .fold(0.0_f32, |largest, (value, step)| largest.max((value * step).abs()));
                let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
                prepared.scale = scale;
                prepared.codes.extend(
                    query
                        .iter()
                        .zip(steps)
                        .map(|(value, step)| (value * step / scale).round().clamp(-127.0, 127.0) as i8 as u8),
                );
            }
            Quantizer::Binary { means } => {
                prepared.scale = 1.0;
                prepared.codes.extend(pack_signs(query, means));
            }
        }
    }

    /// The approximate distance (same order as the exact one) of a prepared query to a code.
    #[inline]
    pub(crate) fn approximate_distance(&self, metric: Metric, query: &QueryCodes, code: &[u8], correction: f32) -> f32 {
        match self {
            Quantizer::Int8 { .. } => {
                let dot = query.scale * dot_i8(as_i8(&query.codes), as_i8(code));
                match metric {
                    Metric::SquaredL2 => correction - 2.0 * dot,
                    Metric::NegativeDot | Metric::L1 | Metric::LInf | Metric::Hamming => -dot,
                }
            }
            Quantizer::Binary { .. } => hamming_bytes(&query.codes, code),
        }
    }

    /// Whether quantized traversal supports `metric` (the ones with an inner-product form).
    pub(crate) fn supports(metric: Metric) -> bool {
        matches!(metric, Metric::NegativeDot | Metric::SquaredL2)
    }
}

fn pack_signs<'a>(row: &'a [f32], means: &'a [f32]) -> impl Iterator<Item = u8> + 'a {
    row.chunks(8).zip(means.chunks(8)).map(|(values, centers)| {
        values
            .iter()
            .zip(centers)
            .enumerate()
            .fold(0_u8, |byte, (bit, (value, center))| {
                byte | (u8::from(value > center) << bit)
            })
    })
}

#[inline]
pub(crate) fn as_i8(bytes: &[u8]) -> &[i8] {
    // SAFETY: u8 and i8 have the same size, alignment and validity (every bit pattern).
    unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<i8>(), bytes.len()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vector::distance::dot_f32;

    fn sample(rows: usize, dims: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut random = fastrand::Rng::with_seed(seed);
        (0..rows)
            .map(|_| (0..dims).map(|_| random.f32() * 2.0 - 1.0).collect())
            .collect()
    }

    #[test]
    fn int8_codes_reconstruct_within_half_a_step() {
        let rows = sample(200, 16, 1);
        let quantizer = Quantizer::train_int8(16, rows.iter().map(Vec::as_slice));
        let Quantizer::Int8 { offsets, steps } = &quantizer else {
            panic!("int8 expected")
        };
        for row in &rows {
            let mut codes = Vec::new();
            quantizer.encode(row, &mut codes);
            for (dim, code) in codes.iter().enumerate() {
                let reconstructed = offsets[dim] + (*code as i8) as f32 * steps[dim];
                assert!((reconstructed - row[dim]).abs() <= steps[dim] * 0.5 + 1e-6);
            }
        }
    }

    #[test]
    fn int8_approximate_dot_tracks_the_exact_dot() {
        let rows = sample(300, 64, 2);
        let quantizer = Quantizer::train_int8(64, rows.iter().map(Vec::as_slice));
        let query = &sample(1, 64, 3)[0];
        let mut prepared = QueryCodes::default();
        quantizer.prepare_query(query, &mut prepared);
        let Quantizer::Int8 { offsets, .. } = &quantizer else {
            panic!("int8 expected")
        };
        let constant = dot_f32(query, offsets);
        for row in &rows {
            let mut codes = Vec::new();
            quantizer.encode(row, &mut codes);
            let approximate = constant - quantizer.approximate_distance(Metric::NegativeDot, &prepared, &codes, 0.0);
            assert!((approximate - dot_f32(query, row)).abs() < 0.1, "{approximate}");
        }
    }

    #[test]
    fn binary_codes_are_signs_around_the_mean() {
        let quantizer = Quantizer::Binary { means: vec![0.0; 10] };
        let mut codes = Vec::new();
        quantizer.encode(&[1.0, -1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0, -1.0], &mut codes);
        assert_eq!(codes, vec![0b0000_1101, 0b0000_0001]);
        assert_eq!(quantizer.code_bytes(), 2);
    }
}
