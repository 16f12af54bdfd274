//! Fusion properties over HTTP, on random result lists: a BM25-style list (ids with random
//! boosts) and a kNN list (random vectors), fused by `rrf`, `linear` and an OpenSearch pipeline.
//! Every expected score is computed here from the two lists fetched on their own.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::common::TestApp;

/// Random documents: one boost (0 = not matched) and one 1-d vector each, a query vector, k.
#[derive(Debug, Clone)]
struct Case {
    boosts: Vec<u32>,
    vectors: Vec<i32>,
    query_vector: i32,
    k: usize,
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (2usize..10).prop_flat_map(|docs| {
        (
            prop::collection::vec(0u32..6, docs),
            prop::collection::vec(-20i32..20, docs),
            -20i32..20,
            1..=docs,
        )
            .prop_map(|(mut boosts, vectors, query_vector, k)| {
                // At least one keyword match, so that the keyword list is never empty.
                boosts[0] = boosts[0].max(1);
                Case {
                    boosts,
                    vectors,
                    query_vector,
                    k,
                }
            })
    })
}

impl Case {
    /// The keyword list: every document with a boost, scored by it (times `scale`).
    fn standard(&self, scale: u32) -> Value {
        let should: Vec<Value> = self
            .boosts
            .iter()
            .enumerate()
            .filter(|(_, boost)| **boost > 0)
            .map(|(id, boost)| json!({"ids": {"values": [id.to_string()], "boost": boost * scale}}))
            .collect();
        json!({"standard": {"query": {"bool": {"should": should, "minimum_should_match": 1}}}})
    }

    fn knn(&self) -> Value {
        json!({"knn": {"field": "v", "query_vector": [self.query_vector], "k": self.k, "num_candidates": 100}})
    }

    fn window(&self) -> usize {
        self.boosts.len()
    }
}

async fn load(app: &TestApp, case: &Case) {
    let created = app
        .call(
            "PUT",
            "/p",
            Some(json!({"mappings": {"properties": {
                "v": {"type": "dense_vector", "dims": 1, "similarity": "l2_norm", "index_options": {"type": "flat"}}
            }}})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let mut lines = Vec::new();
    for (id, vector) in case.vectors.iter().enumerate() {
        lines.push(json!({"index": {"_index": "p", "_id": id.to_string()}}));
        lines.push(json!({"v": [vector]}));
    }
    let bulk = app.ndjson("POST", "/_bulk?refresh=true", &lines).await;
    assert_eq!(bulk.json["errors"], false, "{}", bulk.text);
}

/// (ids best first, id → score) of a search.
async fn search(app: &TestApp, path: &str, body: Value) -> (Vec<String>, HashMap<String, f64>) {
    let response = app.call("POST", path, Some(body.clone())).await;
    assert_eq!(response.status, 200, "{body} -> {}", response.text);
    let hits = response.json["hits"]["hits"].as_array().cloned().unwrap_or_default();
    let ids = hits
        .iter()
        .map(|hit| hit["_id"].as_str().unwrap_or_default().to_string())
        .collect();
    let scores = hits
        .iter()
        .map(|hit| {
            let id = hit["_id"].as_str().unwrap_or_default().to_string();
            (id, hit["_score"].as_f64().unwrap_or(f64::NAN))
        })
        .collect();
    (ids, scores)
}

fn rrf(lists: &[&[String]]) -> HashMap<String, f64> {
    let mut fused = HashMap::new();
    for list in lists {
        for (position, id) in list.iter().enumerate() {
            *fused.entry(id.clone()).or_insert(0.0) += 1.0 / (60.0 + position as f64 + 1.0);
        }
    }
    fused
}

fn min_max(scores: &HashMap<String, f64>) -> HashMap<String, f64> {
    let low = scores.values().copied().fold(f64::INFINITY, f64::min);
    let high = scores.values().copied().fold(f64::NEG_INFINITY, f64::max);
    scores
        .iter()
        .map(|(id, score)| {
            let normalized = if high - low < 1e-6 {
                1.0
            } else {
                (score - low) / (high - low)
            };
            (id.clone(), normalized)
        })
        .collect()
}

fn assert_scores(what: &str, got: &HashMap<String, f64>, expected: &HashMap<String, f64>) {
    let mut got_ids: Vec<&String> = got.keys().collect();
    let mut expected_ids: Vec<&String> = expected.keys().collect();
    got_ids.sort();
    expected_ids.sort();
    assert_eq!(got_ids, expected_ids, "{what}: documents");
    for (id, score) in expected {
        assert!(
            (got[id] - score).abs() < 1e-5,
            "{what}: {id} scored {}, expected {score}",
            got[id]
        );
    }
}

async fn check(case: Case) {
    let app = TestApp::new();
    load(&app, &case).await;
    let window = case.window();
    let size = json!(window);
    let (standard_ids, standard_scores) =
        search(&app, "/p/_search", json!({"retriever": case.standard(1), "size": size})).await;
    let (knn_ids, knn_scores) = search(&app, "/p/_search", json!({"retriever": case.knn(), "size": size})).await;

    // RRF: 1 / (60 + rank) summed over the lists, whatever the scores are.
    let rrf_body = |first: Value, second: Value| json!({"size": size, "retriever": {"rrf": {"rank_window_size": window, "retrievers": [first, second]}}});
    let expected = rrf(&[&standard_ids, &knn_ids]);
    let (_, fused) = search(&app, "/p/_search", rrf_body(case.standard(1), case.knn())).await;
    assert_scores("rrf", &fused, &expected);
    let (_, swapped) = search(&app, "/p/_search", rrf_body(case.knn(), case.standard(1))).await;
    assert_scores("rrf, retrievers swapped", &swapped, &expected);
    let (_, scaled) = search(&app, "/p/_search", rrf_body(case.standard(2), case.knn())).await;
    assert_scores("rrf, keyword scores doubled", &scaled, &expected);

    // linear with minmax: Σ w · (s − min) / (max − min), in [0, Σ w].
    let linear = json!({"size": size, "retriever": {"linear": {"rank_window_size": window, "retrievers": [
        {"retriever": case.standard(1), "weight": 2.0, "normalizer": "minmax"},
        {"retriever": case.knn(), "weight": 0.5, "normalizer": "minmax"}
    ]}}});
    let mut expected: HashMap<String, f64> = HashMap::new();
    for (weight, scores) in [(2.0, &standard_scores), (0.5, &knn_scores)] {
        for (id, normalized) in min_max(scores) {
            *expected.entry(id).or_insert(0.0) += weight * normalized;
        }
    }
    let (_, fused) = search(&app, "/p/_search", linear).await;
    assert_scores("linear minmax", &fused, &expected);
    assert!(
        fused.values().all(|score| (0.0..=2.5 + 1e-6).contains(score)),
        "{fused:?}"
    );

    // OpenSearch min_max + arithmetic_mean with weights summing to 1: every score in [0, 1].
    let pipeline = app
        .call(
            "PUT",
            "/_search/pipeline/mm",
            Some(json!({"phase_results_processors": [{"normalization-processor": {
                "normalization": {"technique": "min_max"},
                "combination": {"technique": "arithmetic_mean", "parameters": {"weights": [0.6, 0.4]}}}}]})),
        )
        .await;
    assert_eq!(pipeline.status, 200, "{}", pipeline.text);
    let hybrid = json!({"size": size, "query": {"hybrid": {"queries": [
        case.standard(1)["standard"]["query"].clone(),
        {"knn": {"v": {"vector": [case.query_vector], "k": case.k}}}
    ]}}});
    let (_, fused) = search(&app, "/p/_search?search_pipeline=mm", hybrid).await;
    let mut union: Vec<&String> = standard_ids.iter().chain(&knn_ids).collect();
    union.sort();
    union.dedup();
    assert_eq!(fused.len(), union.len(), "hybrid returns every document of either list");
    assert!(
        fused.values().all(|score| (0.0..=1.0 + 1e-6).contains(score)),
        "{fused:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn fused_scores_follow_the_formulas(case in case_strategy()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(check(case));
    }
}
