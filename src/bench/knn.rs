//! `iris bench knn`: builds a [`VectorIndex`] from TEXMEX `.fvecs` files, flushes it, reopens
//! it from disk (the graph is loaded, not rebuilt), then measures recall@k, QPS and latency per
//! `ef_search`, printing one JSON line each, the same lines `bench/peers.py` prints for faiss
//! and hnswlib. Data sets: `bench/make_dataset.py`; how to run both: `bench/README.md`.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::vector::{ElementType, IndexKind, Quantization, SearchParams, Similarity, VectorFieldConfig, VectorIndex};

/// Benchmark settings (`iris bench knn --help`).
#[derive(Debug, Clone)]
pub struct KnnBenchOptions {
    pub base: PathBuf,
    pub queries: PathBuf,
    pub groundtruth: PathBuf,
    pub k: usize,
    pub similarity: Similarity,
    pub m: usize,
    pub ef_construction: usize,
    pub ef_search: Vec<usize>,
    pub quantization: Quantization,
    /// Search threads (queries are split between them).
    pub threads: usize,
    /// Threads that link the graph while building.
    pub build_threads: usize,
    /// Passes over the queries per `ef`; QPS is the best pass.
    pub repeat: usize,
    /// Queries also answered by exact search (0 = skip that line).
    pub exact_queries: usize,
    /// Folder for the index files (default: a temporary folder, removed afterwards); an
    /// index already there with as many rows as the base file is reused, not rebuilt.
    pub folder: Option<PathBuf>,
}

/// Rows of a TEXMEX file: each row is `dims: i32` then `dims` 4-byte values.
fn read_vecs(path: &Path) -> anyhow::Result<(usize, Vec<[u8; 4]>)> {
    let mut bytes = Vec::new();
    BufReader::new(File::open(path).with_context(|| format!("cannot open {}", path.display()))?)
        .read_to_end(&mut bytes)?;
    if bytes.len() < 4 {
        return Ok((0, Vec::new()));
    }
    let dims = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let row_bytes = 4 * (dims + 1);
    if dims == 0 || bytes.len() % row_bytes != 0 {
        anyhow::bail!("{} is not a TEXMEX file of {dims}-d rows", path.display());
    }
    let mut values = Vec::with_capacity(bytes.len() / 4);
    for row in bytes.chunks_exact(row_bytes) {
        if row[..4] != bytes[..4] {
            anyhow::bail!("{} has rows of different lengths", path.display());
        }
        values.extend(
            row[4..]
                .chunks_exact(4)
                .map(|word| [word[0], word[1], word[2], word[3]]),
        );
    }
    Ok((dims, values))
}

/// Reads an `.fvecs` file: `(dims, rows × dims values)`.
pub fn read_fvecs(path: &Path) -> anyhow::Result<(usize, Vec<f32>)> {
    let (dims, words) = read_vecs(path)?;
    Ok((dims, words.into_iter().map(f32::from_le_bytes).collect()))
}

/// Reads an `.ivecs` file: `(dims, rows × dims values)`.
pub fn read_ivecs(path: &Path) -> anyhow::Result<(usize, Vec<i32>)> {
    let (dims, words) = read_vecs(path)?;
    Ok((dims, words.into_iter().map(i32::from_le_bytes).collect()))
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// CPU time of the calling thread (excludes time preempted by other processes, which matters
/// on a shared two-core machine).
fn thread_cpu_time() -> Duration {
    let mut spec = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `spec` is a valid, writable timespec for the duration of the call.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut spec) };
    if status != 0 {
        return Duration::ZERO;
    }
    Duration::new(spec.tv_sec as u64, spec.tv_nsec as u32)
}

fn percentile_us(sorted: &[Duration], fraction: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * fraction) as usize].as_micros()
}

/// One pass over the queries.
#[derive(Default)]
struct QueryPass {
    /// Keys found, per query.
    hits: Vec<Vec<u64>>,
    latencies: Vec<Duration>,
    /// Wall time of the whole pass.
    elapsed: Duration,
    /// CPU time the search threads used.
    cpu: Duration,
}

/// Answers every query once on `threads` threads.
fn run_queries(
    index: &VectorIndex,
    queries: &[f32],
    dims: usize,
    params: &SearchParams,
    threads: usize,
) -> anyhow::Result<QueryPass> {
    let count = queries.len() / dims;
    let per_thread = count.div_ceil(threads.max(1));
    let started = Instant::now();
    let outcomes: Vec<anyhow::Result<QueryPass>> = std::thread::scope(|scope| {
        let workers: Vec<_> = queries
            .chunks(per_thread * dims)
            .map(|chunk| {
                scope.spawn(move || -> anyhow::Result<QueryPass> {
                    let cpu_started = thread_cpu_time();
                    let mut pass = QueryPass::default();
                    for query in chunk.chunks_exact(dims) {
                        let sent = Instant::now();
                        let found = index.search(query, params, None)?;
                        pass.latencies.push(sent.elapsed());
                        pass.hits.push(found.iter().map(|neighbor| neighbor.key).collect());
                    }
                    pass.cpu = thread_cpu_time().saturating_sub(cpu_started);
                    Ok(pass)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("query worker panicked")))
            })
            .collect()
    });
    let mut total = QueryPass {
        elapsed: started.elapsed(),
        ..QueryPass::default()
    };
    for outcome in outcomes {
        let worker = outcome?;
        total.hits.extend(worker.hits);
        total.latencies.extend(worker.latencies);
        total.cpu += worker.cpu;
    }
    Ok(total)
}

fn recall(hits: &[Vec<u64>], truth: &[i32], truth_dims: usize, k: usize) -> f64 {
    let mut found = 0;
    for (query, row) in hits.iter().enumerate() {
        let expected = &truth[query * truth_dims..query * truth_dims + k.min(truth_dims)];
        found += row
            .iter()
            .take(k)
            .filter(|key| expected.contains(&(**key as i32)))
            .count();
    }
    found as f64 / (hits.len() * k).max(1) as f64
}

/// Runs the benchmark and prints one JSON line per `ef` (plus one for exact search).
pub fn run_knn(options: &KnnBenchOptions) -> anyhow::Result<Vec<Value>> {
    let (dims, base) = read_fvecs(&options.base)?;
    let (query_dims, queries) = read_fvecs(&options.queries)?;
    let (truth_dims, truth) = read_ivecs(&options.groundtruth)?;
    if dims != query_dims || truth.len() / truth_dims.max(1) != queries.len() / dims.max(1) || truth_dims < options.k {
        anyhow::bail!(
            "base, queries and ground truth do not match (dims {dims}/{query_dims}, truth width {truth_dims})"
        );
    }
    let rows = base.len() / dims;
    eprintln!("iris bench knn: {rows} x {dims}, {} queries", queries.len() / dims);
    let scratch_folder = std::env::temp_dir().join(format!("iris-bench-knn-{}", std::process::id()));
    let folder = options.folder.clone().unwrap_or_else(|| scratch_folder.clone());
    let config = VectorFieldConfig {
        dims,
        similarity: options.similarity,
        element_type: ElementType::Float,
        index: IndexKind::Hnsw {
            m: options.m,
            ef_construction: options.ef_construction,
        },
        quantization: options.quantization,
    };
    let keys: Vec<u64> = (0..rows as u64).collect();
    // A `--folder` that already holds this data set (same row count and config) is reused.
    let reusable =
        options.folder.is_some() && VectorIndex::open(&folder, config).is_ok_and(|index| index.len() == rows);
    let build_s = if reusable {
        eprintln!("reusing the index in {}", folder.display());
        f64::NAN
    } else {
        let _ = std::fs::remove_dir_all(&folder);
        let index = VectorIndex::open(&folder, config)?;
        index.set_build_threads(options.build_threads);
        let started = Instant::now();
        index.insert_batch(&keys, &base)?;
        let build_s = started.elapsed().as_secs_f64();
        let flushing = Instant::now();
        index.flush()?;
        eprintln!(
            "built in {build_s:.2} s, flushed in {:.2} s",
            flushing.elapsed().as_secs_f64()
        );
        build_s
    };
    drop(base);
    let opening = Instant::now();
    let index = VectorIndex::open(&folder, config)?;
    eprintln!(
        "reopened in {:.3} s: {} vectors, memory {:?}",
        opening.elapsed().as_secs_f64(),
        index.len(),
        index.memory_report()
    );
    let quantization = match options.quantization {
        Quantization::None => "none",
        Quantization::Int8 => "int8",
        Quantization::Binary => "binary",
    };
    let mut lines = Vec::new();
    let mut emit = |ef: usize, recall_at_k: f64, qps: f64, cpu_qps: f64, latencies: &mut Vec<Duration>| {
        latencies.sort();
        let mut line = json!({
            "engine": if ef == 0 { "iris-exact" } else { "iris" },
            "quantization": quantization,
            "ef": ef,
        });
        line[format!("recall_at_{}", options.k)] = json!((recall_at_k * 10_000.0).round() / 10_000.0);
        line["qps"] = json!(qps.round());
        line["cpu_qps"] = json!(cpu_qps.round());
        line["p50_us"] = json!(percentile_us(latencies, 0.50));
        line["p99_us"] = json!(percentile_us(latencies, 0.99));
        line["build_s"] = if build_s.is_nan() {
            Value::Null
        } else {
            json!((build_s * 100.0).round() / 100.0)
        };
        line["index_bytes"] = json!(index.memory_bytes());
        line["rss_bytes"] = json!(rss_bytes());
        println!("{line}");
        lines.push(line);
    };
    for &ef in &options.ef_search {
        let params = SearchParams::new(options.k).with_num_candidates(ef);
        let mut best = Duration::MAX;
        let mut best_cpu = Duration::MAX;
        let mut all_latencies = Vec::new();
        let mut last_hits = Vec::new();
        for _ in 0..options.repeat.max(1) {
            let pass = run_queries(&index, &queries, dims, &params, options.threads)?;
            best = best.min(pass.elapsed);
            best_cpu = best_cpu.min(pass.cpu);
            all_latencies.extend(pass.latencies);
            last_hits = pass.hits;
        }
        let qps = last_hits.len() as f64 / best.as_secs_f64();
        let cpu_qps = last_hits.len() as f64 / best_cpu.as_secs_f64() * options.threads as f64;
        let recall_at_k = recall(&last_hits, &truth, truth_dims, options.k);
        emit(ef, recall_at_k, qps, cpu_qps, &mut all_latencies);
    }
    if options.exact_queries > 0 {
        let subset = &queries[..(options.exact_queries * dims).min(queries.len())];
        let params = SearchParams {
            exact: true,
            ..SearchParams::new(options.k)
        };
        let mut pass = run_queries(&index, subset, dims, &params, options.threads)?;
        let qps = pass.hits.len() as f64 / pass.elapsed.as_secs_f64();
        let cpu_qps = pass.hits.len() as f64 / pass.cpu.as_secs_f64() * options.threads as f64;
        let recall_at_k = recall(&pass.hits, &truth, truth_dims, options.k);
        emit(0, recall_at_k, qps, cpu_qps, &mut pass.latencies);
    }
    drop(index);
    if options.folder.is_none() {
        let _ = std::fs::remove_dir_all(&scratch_folder);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_vecs(path: &Path, dims: usize, values: &[[u8; 4]]) {
        let mut bytes = Vec::new();
        for row in values.chunks(dims) {
            bytes.extend_from_slice(&(dims as i32).to_le_bytes());
            row.iter().for_each(|word| bytes.extend_from_slice(word));
        }
        std::fs::write(path, bytes).expect("write");
    }

    #[test]
    fn reads_fvecs_and_ivecs() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("a.fvecs");
        let values: Vec<[u8; 4]> = [1.0_f32, 2.0, 3.0, 4.0]
            .iter()
            .map(|value| value.to_le_bytes())
            .collect();
        write_vecs(&path, 2, &values);
        assert_eq!(read_fvecs(&path).expect("read"), (2, vec![1.0, 2.0, 3.0, 4.0]));
        let ids: Vec<[u8; 4]> = [7_i32, 9, 11].iter().map(|value| value.to_le_bytes()).collect();
        let ivecs = folder.path().join("g.ivecs");
        write_vecs(&ivecs, 3, &ids);
        assert_eq!(read_ivecs(&ivecs).expect("read"), (3, vec![7, 9, 11]));
        std::fs::write(&ivecs, [3, 0, 0, 0, 1]).expect("write");
        assert!(read_ivecs(&ivecs).is_err());
    }

    #[test]
    fn recall_counts_true_neighbours_in_the_top_k() {
        let truth = [1, 2, 3, 4, 5, 6];
        let hits = vec![vec![2, 1], vec![9, 4]];
        assert_eq!(recall(&hits, &truth, 3, 2), 0.75);
    }
}
