//! Behaviour of [`VectorIndex`] as a whole: recall against exact search, filters, quantized
//! rescoring, persistence, deletes and concurrency. Sizes stay small: these run in debug builds.

use std::collections::HashSet;
use std::sync::Arc;

use proptest::prelude::*;

use super::distance::dot_f32;
use super::*;

fn hnsw(dims: usize, similarity: Similarity, quantization: Quantization) -> VectorFieldConfig {
    VectorFieldConfig {
        dims,
        similarity,
        element_type: ElementType::Float,
        index: IndexKind::Hnsw {
            m: 8,
            ef_construction: 64,
        },
        quantization,
    }
}

fn uniform(rows: usize, dims: usize, seed: u64) -> Vec<f32> {
    let mut random = fastrand::Rng::with_seed(seed);
    (0..rows * dims).map(|_| random.f32() * 2.0 - 1.0).collect()
}

/// Draws `rows` base vectors and then `queries` query vectors from one mixture: `clusters`
/// centres, members spread around them (queries come from the same process, not from
/// elsewhere in space).
fn clustered_with_queries(
    rows: usize,
    queries: usize,
    dims: usize,
    clusters: usize,
    seed: u64,
) -> (Vec<f32>, Vec<f32>) {
    let mut random = fastrand::Rng::with_seed(seed);
    let centres: Vec<f32> = (0..clusters * dims).map(|_| random.f32() * 2.0 - 1.0).collect();
    let mut values = Vec::with_capacity((rows + queries) * dims);
    for _ in 0..rows + queries {
        let centre = random.usize(..clusters);
        for dim in 0..dims {
            let noise = (random.f32() + random.f32() + random.f32() - 1.5) * 0.3;
            values.push(centres[centre * dims + dim] + noise);
        }
    }
    let query_values = values.split_off(rows * dims);
    (values, query_values)
}

fn normalised(vectors: &[f32], dims: usize) -> Vec<f32> {
    vectors
        .chunks_exact(dims)
        .flat_map(|row| {
            let norm = row.iter().map(|value| value * value).sum::<f32>().sqrt();
            row.iter().map(move |value| value / norm)
        })
        .collect()
}

fn build(folder: &std::path::Path, config: VectorFieldConfig, vectors: &[f32]) -> VectorIndex {
    let index = VectorIndex::open(folder, config).expect("open");
    let keys: Vec<u64> = (0..(vectors.len() / config.dims) as u64).collect();
    index.insert_batch(&keys, vectors).expect("insert");
    index
}

fn keys(neighbors: &[Neighbor]) -> Vec<u64> {
    neighbors.iter().map(|neighbor| neighbor.key).collect()
}

/// Mean recall@k of the index against its own exact search over `queries`.
fn recall_against_exact(index: &VectorIndex, queries: &[f32], dims: usize, k: usize, ef: usize) -> f64 {
    let approximate = SearchParams::new(k).with_num_candidates(ef);
    let exact = SearchParams {
        exact: true,
        ..SearchParams::new(k)
    };
    let mut found = 0;
    let mut total = 0;
    for query in queries.chunks_exact(dims) {
        let truth: HashSet<u64> = keys(&index.search(query, &exact, None).expect("exact"))
            .into_iter()
            .collect();
        let hits = index.search(query, &approximate, None).expect("search");
        assert_eq!(hits.len(), k.min(index.len()));
        found += hits.iter().filter(|hit| truth.contains(&hit.key)).count();
        total += truth.len();
    }
    found as f64 / total as f64
}

#[test]
fn hnsw_recall_against_flat_on_random_and_clustered_data() {
    let dims = 24;
    let (clustered_rows, clustered_queries) = clustered_with_queries(1500, 40, dims, 20, 2);
    let data_sets = [
        ("uniform", uniform(1500, dims, 1), uniform(40, dims, 3)),
        ("clustered", clustered_rows, clustered_queries),
    ];
    for (name, vectors, queries) in data_sets {
        for quantization in [Quantization::None, Quantization::Int8] {
            let folder = tempfile::tempdir().expect("temp dir");
            let index = build(folder.path(), hnsw(dims, Similarity::L2Norm, quantization), &vectors);
            let recall = recall_against_exact(&index, &queries, dims, 10, 64);
            assert!(recall >= 0.9, "{name} {quantization:?}: recall {recall}");
        }
    }
}

#[test]
fn binary_quantization_with_a_long_candidate_list_still_finds_neighbours() {
    let dims = 32;
    let folder = tempfile::tempdir().expect("temp dir");
    let (vectors, queries) = clustered_with_queries(1200, 30, dims, 12, 4);
    let index = build(
        folder.path(),
        hnsw(dims, Similarity::Cosine, Quantization::Binary),
        &vectors,
    );
    let recall = recall_against_exact(&index, &queries, dims, 10, 200);
    assert!(recall >= 0.8, "recall {recall}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn hnsw_recall_holds_for_any_seed(seed in any::<u64>(), metric in 0..3_usize) {
        let dims = 16;
        let similarity = [Similarity::Cosine, Similarity::DotProduct, Similarity::L2Norm][metric];
        let folder = tempfile::tempdir().expect("temp dir");
        // ES `dot_product` requires unit vectors (a raw inner product is not a distance).
        let (rows, queries) = clustered_with_queries(600, 20, dims, 8, seed);
        let vectors = normalised(&rows, dims);
        let index = build(folder.path(), hnsw(dims, similarity, Quantization::None), &vectors);
        let recall = recall_against_exact(&index, &queries, dims, 5, 48);
        prop_assert!(recall >= 0.9, "recall {}", recall);
    }

    #[test]
    fn selective_filters_give_the_exact_filtered_answer(seed in any::<u64>(), modulo in 3..40_u64) {
        let dims = 12;
        let folder = tempfile::tempdir().expect("temp dir");
        let index = build(folder.path(), hnsw(dims, Similarity::DotProduct, Quantization::Int8), &uniform(800, dims, seed));
        let query = uniform(1, dims, seed ^ 7);
        let filter = |key: u64| key % modulo == 1;
        let params = SearchParams::new(10).with_num_candidates(20);
        let hits = index.search(&query, &params, Some(&filter)).expect("search");
        let expected: Vec<Neighbor> = {
            let mut all: Vec<Neighbor> = (0..800_u64)
                .filter(|key| filter(*key))
                .map(|key| {
                    let row = &uniform(800, dims, seed)[key as usize * dims..(key as usize + 1) * dims];
                    Neighbor { key, raw: dot_f32(&query, row) }
                })
                .collect();
            all.sort_by(|a, b| b.raw.total_cmp(&a.raw).then(a.key.cmp(&b.key)));
            all.truncate(10);
            all
        };
        prop_assert_eq!(hits, expected);
    }
}

#[test]
fn unselective_filters_search_the_graph_and_still_return_k_hits() {
    let dims = 16;
    let folder = tempfile::tempdir().expect("temp dir");
    let (vectors, queries) = clustered_with_queries(2000, 20, dims, 10, 5);
    let index = build(
        folder.path(),
        hnsw(dims, Similarity::L2Norm, Quantization::None),
        &vectors,
    );
    let params = SearchParams {
        exact_filter_threshold: 100,
        ..SearchParams::new(10).with_num_candidates(40)
    };
    let exact = SearchParams { exact: true, ..params };
    let filter = |key: u64| key.is_multiple_of(4); // 500 pass: above the threshold, so HNSW answers.
    let mut found = 0;
    for query in queries.chunks_exact(dims) {
        let hits = index.search(query, &params, Some(&filter)).expect("search");
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|hit| filter(hit.key)));
        let truth: HashSet<u64> = keys(&index.search(query, &exact, Some(&filter)).expect("exact"))
            .into_iter()
            .collect();
        found += hits.iter().filter(|hit| truth.contains(&hit.key)).count();
    }
    assert!(found as f64 / 200.0 >= 0.9, "filtered recall {found}/200");
}

#[test]
fn quantized_search_returns_exact_f32_scores() {
    let dims = 32;
    let (vectors, query) = clustered_with_queries(1000, 1, dims, 10, 8);
    let folder = tempfile::tempdir().expect("temp dir");
    let quantized = build(
        folder.path(),
        hnsw(dims, Similarity::Cosine, Quantization::Int8),
        &vectors,
    );
    let hits = quantized
        .search(&query, &SearchParams::new(10).with_num_candidates(50), None)
        .expect("search");
    assert_eq!(hits.len(), 10);
    let normalise = |vector: &[f32]| -> Vec<f32> {
        let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
        vector.iter().map(|value| value / norm).collect()
    };
    let unit_query = normalise(&query);
    for hit in &hits {
        let row = normalise(&vectors[hit.key as usize * dims..(hit.key as usize + 1) * dims]);
        let cosine = dot_f32(&unit_query, &row);
        assert!((hit.raw - cosine).abs() < 1e-6, "{} vs {cosine}", hit.raw);
    }
    assert!(hits.windows(2).all(|pair| pair[0].raw >= pair[1].raw));
}

#[test]
fn every_similarity_reports_its_raw_value() {
    let query = [1.0_f32, 2.0, 2.0];
    let stored = [2.0_f32, 0.0, 1.0];
    let cases = [
        (Similarity::Cosine, 4.0 / (3.0 * 5.0_f32.sqrt())),
        (Similarity::DotProduct, 4.0),
        (Similarity::MaxInnerProduct, 4.0),
        (Similarity::L2Norm, 6.0_f32.sqrt()),
        (Similarity::L1, 4.0),
        (Similarity::LInf, 2.0),
    ];
    for (similarity, expected) in cases {
        for index_kind in [
            IndexKind::Flat,
            IndexKind::Hnsw {
                m: 4,
                ef_construction: 8,
            },
        ] {
            let folder = tempfile::tempdir().expect("temp dir");
            let config = VectorFieldConfig {
                dims: 3,
                similarity,
                element_type: ElementType::Float,
                index: index_kind,
                quantization: Quantization::None,
            };
            let index = VectorIndex::open(folder.path(), config).expect("open");
            index.insert(42, &stored).expect("insert");
            let hits = index.search(&query, &SearchParams::new(1), None).expect("search");
            assert_eq!(hits.len(), 1);
            assert!(
                (hits[0].raw - expected).abs() < 1e-5,
                "{similarity:?}: {} vs {expected}",
                hits[0].raw
            );
        }
    }
}

#[test]
fn byte_and_bit_vectors() {
    let folder = tempfile::tempdir().expect("temp dir");
    let bytes = VectorIndex::open(
        folder.path(),
        VectorFieldConfig {
            dims: 3,
            similarity: Similarity::DotProduct,
            element_type: ElementType::Byte,
            index: IndexKind::Flat,
            quantization: Quantization::None,
        },
    )
    .expect("open");
    bytes.insert(1, &[127.0, -128.0, 3.0]).expect("insert");
    assert!(matches!(
        bytes.insert(2, &[1.5, 0.0, 0.0]),
        Err(VectorError::InvalidValue(_))
    ));
    let hits = bytes
        .search(&[1.0, 1.0, 1.0], &SearchParams::new(5), None)
        .expect("search");
    assert_eq!(hits, vec![Neighbor { key: 1, raw: 2.0 }]);
    assert_eq!(
        score(ScoreFormula::EsDotProductByte { dims: 3 }, hits[0].raw),
        0.5 + 2.0 / (32768.0 * 3.0)
    );

    let folder = tempfile::tempdir().expect("temp dir");
    let bits = VectorIndex::open(
        folder.path(),
        VectorFieldConfig {
            dims: 16,
            similarity: Similarity::L2Norm,
            element_type: ElementType::Bit,
            index: IndexKind::Hnsw {
                m: 4,
                ef_construction: 16,
            },
            quantization: Quantization::None,
        },
    )
    .expect("open");
    bits.insert(1, &[0.0, 0.0]).expect("insert");
    bits.insert(2, &[255.0, 1.0]).expect("insert");
    bits.insert(3, &[-1.0, 0.0]).expect("insert"); // -1 is 0xff
    let hits = bits.search(&[15.0, 0.0], &SearchParams::new(3), None).expect("search");
    assert_eq!(keys(&hits), vec![1, 3, 2]);
    assert_eq!(hits[0].raw, 4.0);
    assert_eq!(hits[2].raw, 5.0);
    assert_eq!(score(ScoreFormula::EsBitHamming { bits: 16 }, hits[0].raw), 0.75);
}

#[test]
fn invalid_configs_and_vectors_are_rejected() {
    let folder = tempfile::tempdir().expect("temp dir");
    let mut config = hnsw(4, Similarity::L1, Quantization::Int8);
    assert!(matches!(
        VectorIndex::open(folder.path(), config),
        Err(VectorError::InvalidConfig(_))
    ));
    config = hnsw(4, Similarity::Hamming, Quantization::None);
    assert!(matches!(
        VectorIndex::open(folder.path(), config),
        Err(VectorError::InvalidConfig(_))
    ));
    let index = VectorIndex::open(folder.path(), hnsw(4, Similarity::Cosine, Quantization::None)).expect("open");
    assert!(matches!(
        index.insert(1, &[1.0, 2.0]),
        Err(VectorError::DimensionMismatch { expected: 4, actual: 2 })
    ));
    assert!(matches!(index.insert(1, &[0.0; 4]), Err(VectorError::ZeroVector)));
    assert!(matches!(
        index.insert(1, &[f32::NAN, 0.0, 0.0, 1.0]),
        Err(VectorError::InvalidValue(_))
    ));
    assert!(index.search(&[1.0], &SearchParams::new(1), None).is_err());
    assert!(index.is_empty());
}

#[test]
fn persistence_round_trip_reads_the_graph_back() {
    let dims = 16;
    let folder = tempfile::tempdir().expect("temp dir");
    let config = hnsw(dims, Similarity::Cosine, Quantization::Int8);
    let (vectors, queries) = clustered_with_queries(700, 10, dims, 7, 10);
    let params = SearchParams::new(5).with_num_candidates(30);
    let answers = |index: &VectorIndex| -> Vec<Vec<Neighbor>> {
        queries
            .chunks_exact(dims)
            .map(|query| index.search(query, &params, None).expect("search"))
            .collect()
    };
    let (before, state_bytes) = {
        let index = build(folder.path(), config, &vectors[..500 * dims]);
        index.delete(3);
        index.flush().expect("flush");
        assert_eq!(index.max_flushed_key(), Some(499));
        // Unflushed work is lost by a "crash" (dropping without flush).
        index.insert(10_000, &vectors[..dims]).expect("insert");
        (
            answers(&index),
            std::fs::read(folder.path().join("state.bin")).expect("state"),
        )
    };
    let reopened = VectorIndex::open(folder.path(), config).expect("reopen");
    assert_eq!(reopened.len(), 499);
    assert!(!reopened.contains(3) && !reopened.contains(10_000));
    assert_eq!(reopened.max_flushed_key(), Some(499));
    let after: Vec<Vec<Neighbor>> = answers(&reopened);
    for (old, new) in before.iter().zip(&after) {
        let old: Vec<&Neighbor> = old.iter().filter(|hit| hit.key != 10_000).collect();
        let new: Vec<&Neighbor> = new.iter().take(old.len()).collect();
        assert_eq!(old, new);
    }
    // A flush without changes rewrites nothing; the graph read back encodes identically.
    reopened.flush().expect("flush");
    assert_eq!(
        std::fs::read(folder.path().join("state.bin")).expect("state"),
        state_bytes
    );
    // Appending after a reopen, then reopening again.
    let more: Vec<u64> = (500..700).collect();
    reopened.insert_batch(&more, &vectors[500 * dims..]).expect("insert");
    reopened.flush().expect("flush");
    drop(reopened);
    let again = VectorIndex::open(folder.path(), config).expect("reopen");
    assert_eq!(again.len(), 699);
    let recall = recall_against_exact(&again, &queries, dims, 5, 30);
    assert!(recall >= 0.9, "recall after reopen {recall}");
    // A different mapping cannot open the same files.
    assert!(matches!(
        VectorIndex::open(folder.path(), hnsw(dims, Similarity::L2Norm, Quantization::Int8)),
        Err(VectorError::InvalidConfig(_))
    ));
}

#[test]
fn corrupt_state_is_reported() {
    let folder = tempfile::tempdir().expect("temp dir");
    let config = hnsw(4, Similarity::L2Norm, Quantization::None);
    let index = build(folder.path(), config, &uniform(50, 4, 1));
    index.flush().expect("flush");
    drop(index);
    let path = folder.path().join("state.bin");
    let mut bytes = std::fs::read(&path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&path, bytes).expect("write");
    assert!(matches!(
        VectorIndex::open(folder.path(), config),
        Err(VectorError::Corrupt(_))
    ));
}

#[test]
fn deletes_updates_and_compaction() {
    let dims = 8;
    let folder = tempfile::tempdir().expect("temp dir");
    let config = hnsw(dims, Similarity::L2Norm, Quantization::Int8);
    let vectors = uniform(600, dims, 12);
    let index = build(folder.path(), config, &vectors);
    index.flush().expect("flush");
    // Delete 90%: searches still return k live hits.
    for key in 0..600 {
        if key % 10 != 0 {
            index.delete(key);
        }
    }
    assert_eq!(index.len(), 60);
    let params = SearchParams::new(10).with_num_candidates(10);
    for query in uniform(10, dims, 13).chunks_exact(dims) {
        let hits = index.search(query, &params, None).expect("search");
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|hit| hit.key % 10 == 0));
    }
    // An update moves the key to its new vector.
    let target = vec![5.0_f32; dims];
    index.insert(20, &target).expect("update");
    assert_eq!(index.len(), 60);
    let hits = index.search(&target, &SearchParams::new(1), None).expect("search");
    assert_eq!(hits, vec![Neighbor { key: 20, raw: 0.0 }]);
    assert!(index.deleted_fraction() > 0.8);
    index.compact().expect("compact");
    assert_eq!(index.deleted_fraction(), 0.0);
    assert_eq!(index.len(), 60);
    let recall = recall_against_exact(&index, &uniform(10, dims, 14), dims, 10, 20);
    assert!(recall >= 0.95, "recall after compaction {recall}");
    drop(index);
    let reopened = VectorIndex::open(folder.path(), config).expect("reopen");
    assert_eq!(reopened.len(), 60);
    let hits = reopened.search(&target, &SearchParams::new(1), None).expect("search");
    assert_eq!(hits, vec![Neighbor { key: 20, raw: 0.0 }]);
    let files: Vec<String> = std::fs::read_dir(folder.path())
        .expect("list")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 3, "old generations removed: {files:?}");
}

#[test]
fn writes_during_compaction_are_kept() {
    let dims = 8;
    let folder = tempfile::tempdir().expect("temp dir");
    let config = hnsw(dims, Similarity::L2Norm, Quantization::None);
    let vectors = uniform(2000, dims, 21);
    let index = Arc::new(build(folder.path(), config, &vectors));
    for key in 0..1000 {
        index.delete(key);
    }
    let writer = {
        let index = index.clone();
        std::thread::spawn(move || {
            // Deletes, updates and new keys racing with the rebuild.
            for key in 1000..1100 {
                index.delete(key);
            }
            for key in 1100..1200 {
                index.insert(key, &[key as f32; 8]).expect("update");
            }
            for key in 5000..5200 {
                index.insert(key, &[key as f32; 8]).expect("insert");
            }
        })
    };
    index.compact().expect("compact");
    writer.join().expect("writer");
    assert_eq!(index.len(), 900 + 200);
    for key in (0..1100).step_by(7) {
        assert!(!index.contains(key), "deleted key {key} came back");
    }
    for key in (1100..2000).chain(5000..5200) {
        assert!(index.contains(key), "key {key} lost");
    }
    for key in [1100_u64, 1199, 5000, 5199] {
        let hits = index
            .search(&[key as f32; 8], &SearchParams::new(1), None)
            .expect("search");
        assert_eq!(hits, vec![Neighbor { key, raw: 0.0 }]);
    }
}

#[test]
fn searches_run_while_batches_are_inserted() {
    let dims = 16;
    let folder = tempfile::tempdir().expect("temp dir");
    let index = Arc::new(build(
        folder.path(),
        hnsw(dims, Similarity::DotProduct, Quantization::None),
        &uniform(300, dims, 15),
    ));
    let writer = {
        let index = index.clone();
        std::thread::spawn(move || {
            for batch in 0..6_u64 {
                let keys: Vec<u64> = (1000 + batch * 300..1000 + (batch + 1) * 300).collect();
                index
                    .insert_batch(&keys, &uniform(300, dims, 100 + batch))
                    .expect("insert");
            }
        })
    };
    let queries = uniform(50, dims, 16);
    let mut searches = 0;
    while !writer.is_finished() || searches < 50 {
        let query = &queries[(searches % 50) * dims..(searches % 50 + 1) * dims];
        let hits = index.search(query, &SearchParams::new(10), None).expect("search");
        assert_eq!(hits.len(), 10);
        searches += 1;
    }
    writer.join().expect("writer");
    assert_eq!(index.len(), 2100);
    let recall = recall_against_exact(&index, &queries, dims, 10, 64);
    assert!(recall >= 0.9, "recall {recall}");
}

#[test]
fn memory_report_counts_codes_instead_of_mapped_rows() {
    let dims = 64;
    let vectors = uniform(400, dims, 17);
    let plain_folder = tempfile::tempdir().expect("temp dir");
    let plain = build(
        plain_folder.path(),
        hnsw(dims, Similarity::L2Norm, Quantization::None),
        &vectors,
    );
    plain.flush().expect("flush");
    let quantized_folder = tempfile::tempdir().expect("temp dir");
    let quantized = build(
        quantized_folder.path(),
        hnsw(dims, Similarity::L2Norm, Quantization::Int8),
        &vectors,
    );
    quantized.flush().expect("flush");
    let report = quantized.memory_report();
    assert_eq!(report.vectors_in_memory, 0);
    assert_eq!(report.vectors_mapped, (400 * dims * 4) as u64);
    assert!(plain.memory_bytes() >= (400 * dims * 4) as u64);
    assert!(quantized.memory_bytes() < plain.memory_bytes() / 2);
}

#[test]
fn keys_above_the_limit_are_invisible_with_and_without_filters() {
    let dims = 8;
    let folder = tempfile::tempdir().expect("temp dir");
    for quantization in [Quantization::None, Quantization::Int8] {
        let index = build(
            folder.path().join(format!("{quantization:?}")).as_path(),
            hnsw(dims, Similarity::L2Norm, quantization),
            &uniform(1500, dims, 31),
        );
        for query in uniform(5, dims, 32).chunks_exact(dims) {
            let limited = SearchParams::new(10).with_num_candidates(40).with_key_limit(1000);
            let hits = index.search(query, &limited, None).expect("search");
            assert_eq!(hits.len(), 10);
            assert!(hits.iter().all(|hit| hit.key < 1000));
            let even = |key: u64| key.is_multiple_of(2);
            let hits = index.search(query, &limited, Some(&even)).expect("search");
            assert_eq!(hits.len(), 10);
            assert!(hits.iter().all(|hit| hit.key < 1000 && hit.key.is_multiple_of(2)));
            // Only 5 keys visible: all 5 come back, found by the exact fallback.
            let tiny = SearchParams::new(10).with_key_limit(5);
            assert_eq!(keys(&index.search(query, &tiny, None).expect("search")).len(), 5);
        }
    }
}
