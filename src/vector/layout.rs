//! The field constants derived from a [`VectorFieldConfig`] once: the similarity the kernels
//! compute, the row width, and the conversion of a given vector into its stored row.

use super::distance::{Metric, Similarity};
use super::quantize::Quantizer;
use super::{ElementType, IndexKind, Quantization, VectorError, VectorFieldConfig};

/// Field constants derived from the config once.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    pub(super) config: VectorFieldConfig,
    /// The similarity the kernels compute (`bit` vectors always use Hamming).
    pub(super) similarity: Similarity,
    pub(super) metric: Metric,
    pub(super) row_words: usize,
}

impl Layout {
    pub(super) fn new(config: VectorFieldConfig) -> Result<Layout, VectorError> {
        let invalid = |reason: &str| Err(VectorError::InvalidConfig(reason.to_string()));
        if config.dims == 0 {
            return invalid("[dims] must be at least 1");
        }
        let similarity = match (config.element_type, config.similarity) {
            (ElementType::Bit, Similarity::Hamming | Similarity::L2Norm) => Similarity::Hamming,
            (ElementType::Bit, _) => return invalid("[bit] vectors support only [l2_norm] (hamming) similarity"),
            (_, Similarity::Hamming) => return invalid("[hamming] similarity needs [bit] vectors"),
            (_, similarity) => similarity,
        };
        let row_words = match config.element_type {
            ElementType::Bit if !config.dims.is_multiple_of(8) => {
                return invalid("[bit] vectors need [dims] divisible by 8");
            }
            ElementType::Bit => (config.dims / 8).div_ceil(4),
            ElementType::Float | ElementType::Byte => config.dims,
        };
        let metric = similarity.metric();
        if config.quantization != Quantization::None {
            if config.element_type == ElementType::Bit {
                return invalid("[bit] vectors are already binary and take no quantization");
            }
            if !Quantizer::supports(metric) {
                return invalid("quantization supports cosine, dot_product, max_inner_product and l2_norm");
            }
        }
        if let IndexKind::Hnsw { m, ef_construction } = config.index
            && (m < 2 || ef_construction == 0)
        {
            return invalid("[m] must be at least 2 and [ef_construction] at least 1");
        }
        Ok(Layout {
            config,
            similarity,
            metric,
            row_words,
        })
    }

    /// Converts a stored row back into the vector as given (cosine rows stay normalised;
    /// `bit` rows come back as signed bytes, the way ES shows them).
    pub(super) fn decode_row(&self, row: &[f32]) -> Vec<f32> {
        match self.config.element_type {
            ElementType::Float | ElementType::Byte => row.to_vec(),
            ElementType::Bit => row
                .iter()
                .flat_map(|word| word.to_ne_bytes())
                .take(self.config.dims / 8)
                .map(|byte| f32::from(byte as i8))
                .collect(),
        }
    }

    /// Converts a given vector into its stored row (validated, normalised for cosine).
    pub(super) fn encode_row(&self, vector: &[f32], row: &mut Vec<f32>) -> Result<(), VectorError> {
        row.clear();
        let expected = match self.config.element_type {
            ElementType::Bit => self.config.dims / 8,
            ElementType::Float | ElementType::Byte => self.config.dims,
        };
        if vector.len() != expected {
            return Err(VectorError::DimensionMismatch {
                expected,
                actual: vector.len(),
            });
        }
        match self.config.element_type {
            ElementType::Float => {
                if let Some(bad) = vector.iter().find(|value| !value.is_finite()) {
                    return Err(VectorError::InvalidValue(format!("[{bad}] is not a finite number")));
                }
                row.extend_from_slice(vector);
            }
            ElementType::Byte => {
                if let Some(bad) = vector
                    .iter()
                    .find(|value| value.fract() != 0.0 || !(-128.0..=127.0).contains(*value))
                {
                    return Err(VectorError::InvalidValue(format!(
                        "[{bad}] is not a byte in [-128, 127]"
                    )));
                }
                row.extend_from_slice(vector);
            }
            ElementType::Bit => {
                let mut bytes = Vec::with_capacity(self.row_words * 4);
                for value in vector {
                    if value.fract() != 0.0 || !(-128.0..=255.0).contains(value) {
                        return Err(VectorError::InvalidValue(format!("[{value}] is not a byte")));
                    }
                    bytes.push(*value as i32 as u8);
                }
                bytes.resize(self.row_words * 4, 0);
                row.extend(
                    bytes
                        .chunks_exact(4)
                        .map(|word| f32::from_ne_bytes([word[0], word[1], word[2], word[3]])),
                );
            }
        }
        if self.similarity == Similarity::Cosine {
            let norm = row.iter().map(|value| value * value).sum::<f32>().sqrt();
            if norm == 0.0 {
                return Err(VectorError::ZeroVector);
            }
            row.iter_mut().for_each(|value| *value /= norm);
        }
        Ok(())
    }
}
