//! A deterministic embedder for unit tests: vectors derived from the input bytes, no model
//! files. HTTP tests of real embedding use the real models.

use super::{EmbedError, EmbedInput, Embedder, ModelInfo};

/// Endpoints `fake-text` (text, 4 dims), `fake-image` (image, 4 dims) and `fake-both`
/// (both, 4 dims). Images whose bytes start with `bad` fail as corrupt.
#[derive(Debug, Default, Clone)]
pub struct FakeEmbedder;

const DIMS: usize = 4;

fn info(id: &str, text: bool, image: bool) -> ModelInfo {
    ModelInfo {
        id: id.to_string(),
        description: format!("test endpoint {id}"),
        dims: DIMS,
        accepts_text: text,
        accepts_image: image,
        normalized: true,
        license: "test".to_string(),
        model_folder: "fake".to_string(),
    }
}

/// A unit vector that depends on every byte (FNV-1a hashes seeded per dimension).
pub fn fake_vector(bytes: &[u8]) -> Vec<f32> {
    let mut vector: Vec<f32> = (0..DIMS as u64)
        .map(|dim| {
            let mut hash = 0xcbf2_9ce4_8422_2325_u64 ^ dim;
            for byte in bytes {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            (hash % 2001) as f32 / 1000.0 - 1.0 + 0.001
        })
        .collect();
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    vector.iter_mut().for_each(|x| *x /= norm);
    vector
}

impl Embedder for FakeEmbedder {
    fn models(&self) -> Vec<ModelInfo> {
        vec![
            info("fake-both", true, true),
            info("fake-image", false, true),
            info("fake-text", true, false),
        ]
    }

    fn embed(&self, model_id: &str, inputs: &[EmbedInput]) -> Result<Vec<Result<Vec<f32>, EmbedError>>, EmbedError> {
        let model = self.model(model_id)?;
        Ok(inputs
            .iter()
            .map(|input| {
                if !model.accepts(input.kind()) {
                    return Err(EmbedError::UnsupportedInput {
                        model: model.id.clone(),
                        kind: input.kind().name(),
                    });
                }
                match input {
                    EmbedInput::Text(text) => Ok(fake_vector(text.as_bytes())),
                    EmbedInput::Image(bytes) if bytes.starts_with(b"bad") => {
                        Err(EmbedError::BadImage("the image is corrupt".to_string()))
                    }
                    EmbedInput::Image(bytes) => Ok(fake_vector(bytes)),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn vectors_are_unit_length_and_input_dependent() {
        let embedder = FakeEmbedder;
        let out = embedder
            .embed(
                "fake-both",
                &[
                    EmbedInput::Text("a cat".into()),
                    EmbedInput::Text("a dog".into()),
                    EmbedInput::Image(Arc::new(b"bad bytes".to_vec())),
                ],
            )
            .expect("embed");
        let first = out[0].as_ref().expect("first");
        assert!((first.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        assert_ne!(out[0], out[1]);
        assert!(out[2].is_err());
        assert_eq!(
            embedder.embed("nope", &[]).unwrap_err(),
            EmbedError::UnknownModel("nope".into())
        );
        let text_only = embedder
            .embed("fake-text", &[EmbedInput::Image(Arc::new(vec![1]))])
            .expect("embed");
        assert!(matches!(text_only[0], Err(EmbedError::UnsupportedInput { .. })));
    }
}
