//! `iris bench http`: `_bulk` ingest rate and `_search` throughput and latency over real
//! HTTP, against a server Iris starts itself (or any ES-compatible `--url`).

pub mod client;
pub mod data;
pub mod embed;
pub mod fusion;
pub mod knn;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use self::client::Connection;
use self::data::Generator;

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct HttpBenchOptions {
    /// `host:port` of the server.
    pub address: String,
    pub documents: usize,
    pub batch_size: usize,
    pub queries: usize,
    pub concurrency: Vec<usize>,
    pub index: String,
    /// Dimensions of a `dense_vector` field to load and kNN-search (0: none).
    pub vector_dims: usize,
    /// TEXMEX base and query vectors to use instead of random ones (their dims win).
    pub vector_files: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// Images documents carry, embedded at ingest by a default pipeline.
    pub images: Option<std::path::PathBuf>,
    /// Documents also carry `image_vec` and `text_space` vectors, and the fused queries over
    /// them and the caption run beside their parts (`fusion.rs`).
    pub fusion: bool,
}

/// The pipeline `--images` indexes through: both image endpoints, then the bytes dropped.
const IMAGE_PIPELINE: &str = "bench-photos-embed";

/// Reads every image of a folder, sorted by name.
fn read_images(folder: &std::path::Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .and_then(|extension| extension.to_str())
                .is_some_and(|extension| {
                    ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"]
                        .contains(&extension.to_ascii_lowercase().as_str())
                })
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        anyhow::bail!("no images in {}", folder.display());
    }
    paths.iter().map(|path| Ok(std::fs::read(path)?)).collect()
}

impl HttpBenchOptions {
    /// The document and query generator for these options (same seed, same data).
    fn generator(&self, seed: u64) -> anyhow::Result<Generator> {
        let mut generator = Generator::new(seed);
        if self.fusion {
            generator = generator.with_fusion_fields();
        }
        if let Some(folder) = &self.images {
            generator = generator.with_images(Arc::new(read_images(folder)?));
        }
        Ok(match &self.vector_files {
            Some((base, queries)) => generator.with_vector_rows(Arc::new(data::VectorRows::read(base, queries)?)),
            None => generator.with_vectors(self.vector_dims),
        })
    }

    fn has_vectors(&self) -> bool {
        self.vector_dims > 0 || self.vector_files.is_some()
    }
}

fn check(status: u16, body: &[u8], what: &str) -> anyhow::Result<()> {
    if status >= 300 {
        anyhow::bail!("{what} failed with {status}: {}", String::from_utf8_lossy(body));
    }
    Ok(())
}

/// Loads the documents with `_bulk` and returns the figures as a JSON line.
fn ingest(options: &HttpBenchOptions) -> anyhow::Result<Value> {
    let mut connection = Connection::open(&options.address)?;
    let _ = connection.send("DELETE", &format!("/{}", options.index), "application/json", b"")?;
    let mut mapping = data::mapping(options.generator(42)?.vector_dims());
    if options.images.is_some() {
        let pipeline = json!({"processors": [
            {"inference": {"model_id": "efficientnet-lite0", "input_output": {"input_field": "image", "output_field": "image_vec"}}},
            {"inference": {"model_id": "efficientnet-lite0-text-space", "input_output": {"input_field": "image", "output_field": "text_space"}}},
            {"remove": {"field": "image"}}
        ]});
        let path = format!("/_ingest/pipeline/{IMAGE_PIPELINE}");
        let (status, body) = connection.send("PUT", &path, "application/json", &serde_json::to_vec(&pipeline)?)?;
        check(status, &body, "create pipeline")?;
        mapping["settings"]["index.default_pipeline"] = json!(IMAGE_PIPELINE);
        mapping["mappings"]["properties"]["image_vec"] =
            json!({"type": "dense_vector", "dims": 1280, "similarity": "cosine"});
        mapping["mappings"]["properties"]["text_space"] =
            json!({"type": "dense_vector", "dims": 384, "similarity": "cosine"});
    }
    if options.fusion {
        let path = format!("/_search/pipeline/{}", fusion::SEARCH_PIPELINE);
        let pipeline = serde_json::to_vec(&fusion::search_pipeline())?;
        let (status, body) = connection.send("PUT", &path, "application/json", &pipeline)?;
        check(status, &body, "create search pipeline")?;
        fusion::extend_mapping(&mut mapping);
    }
    let (status, body) = connection.send(
        "PUT",
        &format!("/{}", options.index),
        "application/json",
        &serde_json::to_vec(&mapping)?,
    )?;
    check(status, &body, "create index")?;
    let mut generator = options.generator(42)?;
    let started = Instant::now();
    let mut sent = 0;
    while sent < options.documents {
        let count = options.batch_size.min(options.documents - sent);
        let mut body = Vec::with_capacity(count * 200);
        for n in sent..sent + count {
            body.extend(serde_json::to_vec(
                &json!({"index": {"_index": options.index, "_id": n.to_string()}}),
            )?);
            body.push(b'\n');
            body.extend(serde_json::to_vec(&generator.document(n))?);
            body.push(b'\n');
        }
        let (status, response) = connection.send("POST", "/_bulk", "application/x-ndjson", &body)?;
        check(status, &response, "bulk")?;
        let parsed: Value = serde_json::from_slice(&response)?;
        if parsed["errors"] == true {
            anyhow::bail!("bulk reported item errors");
        }
        sent += count;
    }
    let (status, body) = connection.send("POST", &format!("/{}/_refresh", options.index), "application/json", b"")?;
    check(status, &body, "refresh")?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(json!({
        "bench": "bulk",
        "docs": options.documents,
        "batch": options.batch_size,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "docs_per_s": (options.documents as f64 / seconds).round()
    }))
}

fn percentile(sorted: &[Duration], fraction: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_micros()
}

/// Makes one query body from the generator.
pub(crate) type QueryMaker = fn(&mut Generator) -> Value;

/// Runs `total` queries from `concurrency` threads and returns QPS and latencies.
fn search(
    options: &HttpBenchOptions,
    name: &str,
    concurrency: usize,
    make: fn(&mut Generator) -> Value,
) -> anyhow::Result<Value> {
    let mut generator = options.generator(7)?;
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..options.queries)
            .map(|_| serde_json::to_vec(&make(&mut generator)))
            .collect::<Result<_, _>>()?,
    );
    let next = Arc::new(AtomicUsize::new(0));
    let path = format!("/{}/_search", options.index);
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let bodies = bodies.clone();
            let next = next.clone();
            let address = options.address.clone();
            let path = path.clone();
            std::thread::spawn(move || -> anyhow::Result<Vec<Duration>> {
                let mut connection = Connection::open(&address)?;
                let mut latencies = Vec::new();
                loop {
                    let position = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(position) else {
                        return Ok(latencies);
                    };
                    let sent = Instant::now();
                    let (status, response) = connection.send("POST", &path, "application/json", body)?;
                    latencies.push(sent.elapsed());
                    check(status, &response, "search")?;
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        let joined = worker
            .join()
            .map_err(|_| anyhow::anyhow!("benchmark worker panicked"))?;
        latencies.extend(joined?);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort();
    Ok(json!({
        "bench": "search",
        "query": name,
        "concurrency": concurrency,
        "queries": latencies.len(),
        "qps": (latencies.len() as f64 / seconds).round(),
        "p50_us": percentile(&latencies, 0.50),
        "p99_us": percentile(&latencies, 0.99)
    }))
}

/// Runs the whole HTTP benchmark and prints one JSON line per figure.
pub fn run_http(options: &HttpBenchOptions) -> anyhow::Result<Vec<Value>> {
    let mut lines = vec![ingest(options)?];
    println!("{}", lines[0]);
    let mut kinds: Vec<(&str, QueryMaker)> = vec![
        ("match", Generator::match_query),
        ("bool_range", Generator::bool_range_query),
    ];
    if options.has_vectors() {
        kinds.push(("knn", Generator::knn_query));
    }
    if options.images.is_some() {
        kinds.push(("text_to_image", Generator::text_to_image_query));
    }
    if options.fusion {
        kinds.extend(fusion::PARTS);
        kinds.extend(fusion::FUSED);
    }
    for (name, make) in kinds {
        for &concurrency in &options.concurrency {
            let line = search(options, name, concurrency, make)?;
            println!("{line}");
            lines.push(line);
        }
    }
    if options.fusion {
        for &concurrency in &options.concurrency {
            let line = fusion::summary(&lines, concurrency);
            println!("{line}");
            lines.push(line);
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic() {
        let first = Generator::new(42).document(0);
        assert_eq!(first, Generator::new(42).document(0));
        assert!(first["caption"].as_str().expect("caption").starts_with("A "));
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let latencies: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&latencies, 0.5), 50);
        assert_eq!(percentile(&latencies, 0.99), 99);
    }
}
