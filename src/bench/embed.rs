//! `iris bench embed`: image embedding throughput of a model endpoint on a folder of images,
//! end to end (decode + preprocess + inference) and per stage, one JSON line per batch size.
//! The first batch is run before timing, so session creation is not counted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::embed::registry::StageTimings;
use crate::embed::{EmbedInput, Embedder, ModelRegistry};

/// Benchmark settings (`iris bench embed --help`).
#[derive(Debug, Clone)]
pub struct EmbedBenchOptions {
    /// Folder of images (JPEG, PNG, WebP, GIF, BMP, TIFF), read once before timing.
    pub images: PathBuf,
    pub batch_sizes: Vec<usize>,
    /// Endpoint id.
    pub model: String,
    pub models_dir: PathBuf,
    pub onnxruntime: Option<PathBuf>,
    pub inference_threads: usize,
    pub max_pixels: u64,
    /// Images embedded per batch size at least (the folder is cycled through).
    pub min_images: usize,
}

const IMAGE_EXTENSIONS: [&str; 8] = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"];

/// Every image file directly in `folder`, sorted by name.
fn read_images(folder: &Path) -> anyhow::Result<Vec<EmbedInput>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)
        .with_context(|| format!("cannot list {}", folder.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| IMAGE_EXTENSIONS.contains(&extension.to_ascii_lowercase().as_str()))
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Ok(EmbedInput::Image(Arc::new(bytes)))
        })
        .collect()
}

fn per_image_ms(total: Duration, images: usize) -> f64 {
    let milliseconds = total.as_secs_f64() * 1000.0 / images.max(1) as f64;
    (milliseconds * 100.0).round() / 100.0
}

/// Embeds at least `min_images` images in batches of `batch` and returns the figures.
fn measure(
    registry: &ModelRegistry,
    options: &EmbedBenchOptions,
    images: &[EmbedInput],
    batch: usize,
) -> anyhow::Result<Value> {
    let batches = options.min_images.max(images.len()).div_ceil(batch);
    let mut stages = StageTimings::default();
    let mut embedded = 0;
    let mut failed = 0;
    let started = Instant::now();
    for batch_number in 0..batches {
        let inputs: Vec<EmbedInput> = (0..batch)
            .map(|offset| images[(batch_number * batch + offset) % images.len()].clone())
            .collect();
        let (results, timings) = registry.embed_with_timings(&options.model, &inputs)?;
        stages.decode += timings.decode;
        stages.preprocess += timings.preprocess;
        stages.inference += timings.inference;
        embedded += results.iter().filter(|result| result.is_ok()).count();
        failed += results.iter().filter(|result| result.is_err()).count();
    }
    let seconds = started.elapsed().as_secs_f64();
    let count = embedded + failed;
    Ok(json!({
        "bench": "embed",
        "model": options.model,
        "batch": batch,
        "images": count,
        "failed": failed,
        "images_per_s": ((count as f64 / seconds) * 10.0).round() / 10.0,
        "decode_ms": per_image_ms(stages.decode, count),
        "preprocess_ms": per_image_ms(stages.preprocess, count),
        "inference_ms": per_image_ms(stages.inference, count),
    }))
}

/// Runs the benchmark and prints one JSON line per batch size. `decode_ms` and
/// `preprocess_ms` are per image summed over the preprocessing threads (CPU time, which
/// overlaps when they run together); `inference_ms` is ONNX wall time per image.
pub fn run_embed(options: &EmbedBenchOptions) -> anyhow::Result<Vec<Value>> {
    let images = read_images(&options.images)?;
    if images.is_empty() {
        anyhow::bail!(
            "no images ({}) in {}",
            IMAGE_EXTENSIONS.join(", "),
            options.images.display()
        );
    }
    if options.batch_sizes.contains(&0) {
        anyhow::bail!("batch sizes must be positive");
    }
    // The benchmark cycles through its images: without the output cache, so that every
    // image is decoded and run.
    let registry = ModelRegistry::open(
        &options.models_dir,
        options.onnxruntime.clone(),
        options.inference_threads,
        options.max_pixels,
    )?
    .without_output_cache();
    let info = registry.model(&options.model)?;
    if !info.accepts_image {
        anyhow::bail!("model [{}] does not accept images", options.model);
    }
    let warmup_started = Instant::now();
    registry.embed(&options.model, &images[..1])?;
    tracing::info!(
        elapsed_ms = warmup_started.elapsed().as_millis() as u64,
        images = images.len(),
        "session ready"
    );
    let mut lines = Vec::with_capacity(options.batch_sizes.len());
    for &batch in &options.batch_sizes {
        let line = measure(&registry, options, &images, batch)?;
        println!("{line}");
        lines.push(line);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_image_files_are_read_in_name_order() {
        let folder = tempfile::tempdir().expect("tempdir");
        for name in ["b.PNG", "a.jpg", "notes.txt"] {
            std::fs::write(folder.path().join(name), name.as_bytes()).expect("write");
        }
        let images = read_images(folder.path()).expect("read");
        assert_eq!(
            images,
            vec![
                EmbedInput::Image(Arc::new(b"a.jpg".to_vec())),
                EmbedInput::Image(Arc::new(b"b.PNG".to_vec()))
            ]
        );
    }

    #[test]
    fn stage_times_are_reported_per_image() {
        assert_eq!(per_image_ms(Duration::from_millis(150), 4), 37.5);
        assert_eq!(per_image_ms(Duration::from_millis(1), 0), 1.0);
    }
}
