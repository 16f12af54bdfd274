//! Tests on the real default models under `models/`, through their committed manifests.
//! `scripts/fetch_models.sh` (run by `scripts/test.sh` and CI) provides the files that are not
//! committed; without them these tests fail and say so, rather than skip.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

use super::{EmbedError, EmbedInput, Embedder, ModelRegistry};

fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
}

/// One registry for every test, so each session is created once per test binary.
fn registry() -> &'static ModelRegistry {
    static REGISTRY: OnceLock<ModelRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let models = models_dir();
        for needed in [
            "runtime/libonnxruntime.so.1.31.1",
            "efficientnet-lite0/manifest.json",
            "efficientnet-lite0/model.onnx",
            "minilm-l6-v2/manifest.json",
            "minilm-l6-v2/model.onnx",
            "minilm-l6-v2/tokenizer.json",
        ] {
            assert!(
                models.join(needed).is_file(),
                "{} is missing: run `bash scripts/fetch_models.sh` before the tests (these tests need the real models)",
                models.join(needed).display()
            );
        }
        ModelRegistry::open(&models, None, 2, 50_000_000).expect("the committed manifests load")
    })
}

fn norm(vector: &[f32]) -> f32 {
    vector.iter().map(|value| value * value).sum::<f32>().sqrt()
}

fn dot(left: &[f32], right: &[f32]) -> f32 {
    left.iter().zip(right).map(|(a, b)| a * b).sum()
}

fn encoded(image: &RgbImage, format: ImageFormat) -> EmbedInput {
    let mut bytes = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image.clone())
        .write_to(&mut bytes, format)
        .expect("encode");
    EmbedInput::Image(Arc::new(bytes.into_inner()))
}

/// A 320 × 240 picture: a sky-to-grass gradient with an orange disc.
fn synthetic_photo() -> RgbImage {
    RgbImage::from_fn(320, 240, |x, y| {
        let (dx, dy) = (x as f32 - 160.0, y as f32 - 120.0);
        if dx * dx + dy * dy < 60.0 * 60.0 {
            Rgb([240, 140, 30])
        } else if y < 140 {
            Rgb([90, 150, (200 + y / 4) as u8])
        } else {
            Rgb([40, (120 + y / 8) as u8, 40])
        }
    })
}

fn embed_one(model_id: &str, input: EmbedInput) -> Vec<f32> {
    let mut results = registry().embed(model_id, &[input]).expect("embed");
    results.remove(0).expect("embedded")
}

#[test]
fn image_endpoints_give_unit_vectors_of_the_declared_dims() {
    let photo = encoded(&synthetic_photo(), ImageFormat::Png);
    let features = embed_one("efficientnet-lite0", photo.clone());
    let text_space = embed_one("efficientnet-lite0-text-space", photo);
    println!(
        "efficientnet-lite0: {} dims, norm {:.6}; text space: {} dims, norm {:.6}",
        features.len(),
        norm(&features),
        text_space.len(),
        norm(&text_space)
    );
    assert_eq!(features.len(), 1280);
    assert!((norm(&features) - 1.0).abs() < 1e-3, "norm {}", norm(&features));
    assert_eq!(text_space.len(), 384);
    assert!((norm(&text_space) - 1.0).abs() < 1e-3, "norm {}", norm(&text_space));
}

#[test]
fn a_batch_matches_single_runs_and_keeps_bad_images_per_input() {
    let photo = synthetic_photo();
    let flipped = image::imageops::flip_horizontal(&photo);
    let inputs = [
        encoded(&photo, ImageFormat::Png),
        EmbedInput::Image(Arc::new(b"not an image at all".to_vec())),
        encoded(&flipped, ImageFormat::Jpeg),
    ];
    let results = registry().embed("efficientnet-lite0", &inputs).expect("embed");
    assert_eq!(
        results[1],
        Err(EmbedError::BadImage(
            "unsupported image format: expected JPEG, PNG, WebP, GIF, BMP or TIFF".into()
        ))
    );
    let batched_first = results[0].as_ref().expect("first");
    let batched_third = results[2].as_ref().expect("third");
    let single_first = embed_one("efficientnet-lite0", inputs[0].clone());
    let single_third = embed_one("efficientnet-lite0", inputs[2].clone());
    assert!(dot(batched_first, &single_first) > 0.9999);
    assert!(dot(batched_third, &single_third) > 0.9999);
    // A mirror image is still very much the same picture.
    let mirror_similarity = dot(batched_first, batched_third);
    println!("photo vs its mirror image (JPEG): cosine {mirror_similarity:.4}");
    assert!(mirror_similarity > 0.8, "{mirror_similarity}");
}

#[test]
fn minilm_puts_a_cat_near_a_kitten_and_far_from_a_rocket() {
    let texts = ["a cat", "a kitten", "a rocket"].map(|text| EmbedInput::Text(text.to_string()));
    let results = registry().embed("minilm-l6-v2", &texts).expect("embed");
    let vectors: Vec<&Vec<f32>> = results.iter().map(|result| result.as_ref().expect("text")).collect();
    let (cat_kitten, cat_rocket) = (dot(vectors[0], vectors[1]), dot(vectors[0], vectors[2]));
    println!(
        "minilm: norm(a cat) {:.6}; cos(a cat, a kitten) {cat_kitten:.4}; cos(a cat, a rocket) {cat_rocket:.4}",
        norm(vectors[0])
    );
    for vector in &vectors {
        assert_eq!(vector.len(), 384);
        assert!((norm(vector) - 1.0).abs() < 1e-4);
    }
    assert!(cat_kitten > cat_rocket + 0.2, "{cat_kitten} vs {cat_rocket}");

    // The bridge endpoint's text route is the same model: the same vectors.
    let bridged = embed_one("efficientnet-lite0-text-space", texts[0].clone());
    assert!(dot(&bridged, vectors[0]) > 0.9999);
}

#[test]
fn texts_longer_than_max_tokens_are_truncated_not_refused() {
    let long_text = "the quick brown fox jumps over the lazy dog ".repeat(100);
    let vector = embed_one("minilm-l6-v2", EmbedInput::Text(long_text));
    assert!((norm(&vector) - 1.0).abs() < 1e-4);
    // One-text batches and padded batches agree: padding is masked out of the mean.
    let inputs = [
        EmbedInput::Text("a cat".into()),
        EmbedInput::Text("a much longer sentence about a cat that sits on a warm mat".into()),
    ];
    let batched = registry().embed("minilm-l6-v2", &inputs).expect("embed");
    let alone = embed_one("minilm-l6-v2", inputs[0].clone());
    assert!(dot(batched[0].as_ref().expect("short"), &alone) > 0.9999);
}

#[test]
fn endpoints_sharing_an_image_tower_reuse_one_run_with_the_same_vectors() {
    let photo = encoded(&synthetic_photo(), ImageFormat::Png);
    let uncached = ModelRegistry::open(&models_dir(), None, 2, 50_000_000)
        .expect("manifests")
        .without_output_cache();
    let expected = uncached
        .embed("efficientnet-lite0-text-space", std::slice::from_ref(&photo))
        .expect("embed")
        .remove(0)
        .expect("vector");
    // The first endpoint runs the model; the second reads its output from the cache.
    let fresh = ModelRegistry::open(&models_dir(), None, 2, 50_000_000).expect("manifests");
    let image_embeds = fresh
        .embed("efficientnet-lite0", std::slice::from_ref(&photo))
        .expect("embed");
    assert_eq!(image_embeds[0].as_ref().expect("vector").len(), 1280);
    let (results, timings) = fresh
        .embed_with_timings("efficientnet-lite0-text-space", std::slice::from_ref(&photo))
        .expect("embed");
    assert_eq!(results[0].as_ref().expect("vector"), &expected);
    assert_eq!(
        timings.inference,
        std::time::Duration::ZERO,
        "served from the output cache"
    );
}
