//! kNN through HTTP: ES `dense_vector` + top-level `knn` and `knn` query, OpenSearch
//! `knn_vector` + `knn` query, with exact ES/OpenSearch scores, filters and validation.

use serde_json::{Value, json};

use crate::common::TestApp;

fn ids(response: &Value) -> Vec<String> {
    response["hits"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["_id"].as_str().expect("id").to_string())
        .collect()
}

fn scores(response: &Value) -> Vec<f64> {
    response["hits"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["_score"].as_f64().expect("score"))
        .collect()
}

async fn vectors(similarity: &str, docs: &[(&str, Value, &str)]) -> TestApp {
    let app = TestApp::new();
    let created = app
        .call(
            "PUT",
            "/v",
            Some(json!({"mappings": {"properties": {
                "vec": {"type": "dense_vector", "dims": 3, "similarity": similarity},
                "tag": {"type": "keyword"}
            }}})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let mut lines = Vec::new();
    for (id, vector, tag) in docs {
        lines.push(json!({"index": {"_index": "v", "_id": id}}));
        lines.push(json!({"vec": vector, "tag": tag}));
    }
    let response = app.ndjson("POST", "/_bulk?refresh=true", &lines).await;
    assert_eq!(response.json["errors"], false, "{}", response.text);
    app
}

fn close(left: f64, right: f64) -> bool {
    (left - right).abs() < 1e-5
}

#[tokio::test]
async fn each_similarity_scores_like_es() {
    let query = [1.0f64, 2.0, 2.0];
    let doc = [2.0f64, 1.0, 0.0];
    let dot: f64 = query.iter().zip(doc).map(|(a, b)| a * b).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let cosine = dot / (norm(&query) * norm(&doc));
    let l2_squared: f64 = query.iter().zip(doc).map(|(a, b)| (a - b) * (a - b)).sum();
    for (similarity, expected) in [
        ("cosine", (1.0 + cosine) / 2.0),
        ("l2_norm", 1.0 / (1.0 + l2_squared)),
        ("max_inner_product", dot + 1.0),
    ] {
        let app = vectors(similarity, &[("d", json!(doc), "x")]).await;
        let response = app
            .call(
                "POST",
                "/v/_search",
                Some(json!({"knn": {"field": "vec", "query_vector": query, "k": 1}})),
            )
            .await;
        assert!(
            close(scores(&response.json)[0], expected),
            "{similarity}: {} vs {expected}",
            response.text
        );
    }
    // max_inner_product's negative branch: 1 / (1 - dot).
    let app = vectors("max_inner_product", &[("n", json!([-1.0, 0.0, 0.0]), "x")]).await;
    let response = app
        .call(
            "POST",
            "/v/_search",
            Some(json!({"knn": {"field": "vec", "query_vector": [2.0, 0.0, 0.0], "k": 1}})),
        )
        .await;
    assert!(close(scores(&response.json)[0], 1.0 / 3.0));
    // dot_product on unit vectors: (1 + dot) / 2.
    let app = vectors("dot_product", &[("u", json!([0.6, 0.8, 0.0]), "x")]).await;
    let response = app
        .call(
            "POST",
            "/v/_search",
            Some(json!({"knn": {"field": "vec", "query_vector": [0.0, 1.0, 0.0], "k": 1}})),
        )
        .await;
    assert!(close(scores(&response.json)[0], (1.0 + 0.8) / 2.0));
}

fn sample() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        ("a", json!([1.0, 0.0, 0.0]), "x"),
        ("b", json!([0.9, 0.1, 0.0]), "y"),
        ("c", json!([0.0, 1.0, 0.0]), "x"),
        ("d", json!([0.0, 0.0, 1.0]), "y"),
    ]
}

#[tokio::test]
async fn filters_are_pre_filters_and_k_hits_come_back() {
    let app = vectors("cosine", &sample()).await;
    let response = app
        .call("POST", "/v/_search", Some(json!({"knn": {"field": "vec", "query_vector": [1, 0, 0], "k": 2, "num_candidates": 10, "filter": {"term": {"tag": "y"}}}})))
        .await;
    assert_eq!(ids(&response.json), vec!["b", "d"]);
    assert_eq!(response.json["hits"]["total"]["value"], 2);
}

#[tokio::test]
async fn query_and_knn_scores_add_with_boosts() {
    let app = vectors("cosine", &sample()).await;
    let term_only = app
        .call("POST", "/v/_search", Some(json!({"query": {"term": {"tag": "y"}}})))
        .await;
    let term_score = scores(&term_only.json)[0];
    let response = app
        .call(
            "POST",
            "/v/_search",
            Some(json!({
                "query": {"term": {"tag": {"value": "y", "boost": 0.5}}},
                "knn": {"field": "vec", "query_vector": [1, 0, 0], "k": 1, "boost": 2.0}
            })),
        )
        .await;
    // a: only kNN (2·1.0); b and d: only the term (0.5·term).
    assert_eq!(ids(&response.json)[0], "a");
    assert!(close(scores(&response.json)[0], 2.0));
    assert!(close(scores(&response.json)[1], 0.5 * term_score));
    assert_eq!(response.json["hits"]["total"]["value"], 3);
}

#[tokio::test]
async fn knn_query_inside_bool_and_named_clauses() {
    let app = vectors("cosine", &sample()).await;
    let response = app
        .call(
            "POST",
            "/v/_search",
            Some(json!({
                "query": {"bool": {
                    "must": [{"knn": {"field": "vec", "query_vector": [1, 0, 0], "k": 3, "_name": "near"}}],
                    "filter": [{"term": {"tag": "x"}}]
                }},
                "size": 5
            })),
        )
        .await;
    // kNN picks a, b, c; the bool filter (a post-filter for the knn query) keeps a and c.
    assert_eq!(ids(&response.json), vec!["a", "c"]);
    assert_eq!(response.json["hits"]["hits"][0]["matched_queries"], json!(["near"]));
}

#[tokio::test]
async fn several_knn_clauses_and_aggregations_over_results() {
    let app = vectors("cosine", &sample()).await;
    let response = app
        .call(
            "POST",
            "/v/_search",
            Some(json!({
                "knn": [
                    {"field": "vec", "query_vector": [1, 0, 0], "k": 1},
                    {"field": "vec", "query_vector": [0, 0, 1], "k": 1}
                ],
                "aggs": {"tags": {"terms": {"field": "tag"}}}
            })),
        )
        .await;
    let mut found = ids(&response.json);
    found.sort();
    assert_eq!(found, vec!["a", "d"]);
    assert_eq!(
        response.json["aggregations"]["tags"]["buckets"],
        json!([{"key": "x", "doc_count": 1}, {"key": "y", "doc_count": 1}])
    );
}

#[tokio::test]
async fn validation_follows_es() {
    let app = vectors("cosine", &sample()).await;
    let response = app
        .call(
            "POST",
            "/v/_search",
            Some(json!({"knn": {"field": "vec", "query_vector": [1, 0, 0], "k": 10, "num_candidates": 5}})),
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json["error"]["root_cause"][0]["reason"],
        "[num_candidates] cannot be less than [k]"
    );
    let dims = app
        .call(
            "POST",
            "/v/_search",
            Some(json!({"knn": {"field": "vec", "query_vector": [1, 0], "k": 1}})),
        )
        .await;
    assert_eq!(dims.status, 400);
    assert_eq!(
        dims.json["error"]["root_cause"][0]["reason"],
        "The query vector has a different number of dimensions [2] than the document vectors [3]."
    );
    let search_type = app
        .call(
            "POST",
            "/v/_search?search_type=query_then_fetch",
            Some(json!({"knn": {"field": "vec", "query_vector": [1, 0, 0], "k": 1}})),
        )
        .await;
    assert_eq!(
        search_type.json["error"]["reason"],
        "cannot set [search_type] when using [knn] search, since the search type is determined automatically"
    );
    let zero = app.call("PUT", "/v/_doc/z", Some(json!({"vec": [0, 0, 0]}))).await;
    assert_eq!(zero.status, 400);
    assert_eq!(zero.json["error"]["type"], "document_parsing_exception");
    assert!(
        zero.json["error"]["reason"]
            .as_str()
            .expect("reason")
            .contains("zero magnitude")
    );
    let unmapped = app
        .call(
            "POST",
            "/v/_search",
            Some(json!({"knn": {"field": "nothing", "query_vector": [1, 0, 0], "k": 1}})),
        )
        .await;
    assert_eq!(unmapped.json["hits"]["total"]["value"], 0);
}

#[tokio::test]
async fn dims_come_from_the_first_document() {
    let app = TestApp::new();
    app.call(
        "PUT",
        "/auto",
        Some(json!({"mappings": {"properties": {"vec": {"type": "dense_vector", "similarity": "l2_norm"}}}})),
    )
    .await;
    app.call("PUT", "/auto/_doc/1?refresh=true", Some(json!({"vec": [1, 2, 3, 4]})))
        .await;
    let mapping = app.call("GET", "/auto/_mapping", None).await;
    assert_eq!(mapping.json["auto"]["mappings"]["properties"]["vec"]["dims"], 4);
    let response = app
        .call(
            "POST",
            "/auto/_search",
            Some(json!({"knn": {"field": "vec", "query_vector": [1, 2, 3, 5], "k": 1}})),
        )
        .await;
    assert!(close(scores(&response.json)[0], 0.5));
}

#[tokio::test]
async fn updates_deletes_and_restarts_keep_vectors_right() {
    let app = vectors("cosine", &sample()).await;
    app.call(
        "PUT",
        "/v/_doc/a?refresh=true",
        Some(json!({"vec": [0.0, 0.0, -1.0], "tag": "x"})),
    )
    .await;
    app.call("DELETE", "/v/_doc/b?refresh=true", None).await;
    let app = app.reopen();
    let response = app
        .call(
            "POST",
            "/v/_search",
            Some(json!({"knn": {"field": "vec", "query_vector": [1, 0, 0], "k": 4}})),
        )
        .await;
    let mut found = ids(&response.json);
    assert_eq!(found.len(), 3, "{}", response.text);
    found.sort();
    assert_eq!(found, vec!["a", "c", "d"]);
    // `a` now points away from the query: its score is (1 + 0) / 2.
    let a_score = response.json["hits"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .find(|hit| hit["_id"] == "a")
        .expect("a")["_score"]
        .as_f64()
        .expect("score");
    assert!(close(a_score, 0.5));
}

#[tokio::test]
async fn opensearch_knn_vector_and_query() {
    let app = TestApp::new();
    let created = app
        .call("PUT", "/os", Some(json!({
            "settings": {"index": {"knn": true, "knn.algo_param.ef_search": 100}},
            "mappings": {"properties": {"emb": {"type": "knn_vector", "dimension": 2, "method": {"name": "hnsw", "space_type": "l2", "engine": "faiss", "parameters": {"m": 16, "ef_construction": 64}}}}}
        })))
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    for (id, vector) in [("p", [0.0, 0.0]), ("q", [3.0, 4.0]), ("r", [1.0, 1.0])] {
        app.call("PUT", &format!("/os/_doc/{id}"), Some(json!({"emb": vector})))
            .await;
    }
    app.call("POST", "/os/_refresh", None).await;
    let response = app
        .call(
            "POST",
            "/os/_search",
            Some(json!({"query": {"knn": {"emb": {"vector": [0.0, 0.0], "k": 2}}}})),
        )
        .await;
    assert_eq!(ids(&response.json), vec!["p", "r"]);
    // OpenSearch l2: 1 / (1 + squared distance).
    assert!(close(scores(&response.json)[1], 1.0 / 3.0));
    let radial = app
        .call(
            "POST",
            "/os/_search",
            Some(json!({"query": {"knn": {"emb": {"vector": [0.0, 0.0], "max_distance": 2.5}}}})),
        )
        .await;
    assert_eq!(ids(&radial.json), vec!["p", "r"]);
    let by_score = app
        .call(
            "POST",
            "/os/_search",
            Some(json!({"query": {"knn": {"emb": {"vector": [0.0, 0.0], "min_score": 0.9}}}})),
        )
        .await;
    assert_eq!(ids(&by_score.json), vec!["p"]);
}

#[tokio::test]
async fn script_score_vector_functions_score_exactly() {
    let app = TestApp::new();
    // ES's documented setup: vectors not indexed for kNN, scored by script.
    app.call("PUT", "/s", Some(json!({"mappings": {"properties": {"vec": {"type": "dense_vector", "dims": 3, "index": false}, "tag": {"type": "keyword"}}}}))).await;
    app.call("PUT", "/s/_doc/1", Some(json!({"vec": [0.5, 10, 6], "tag": "a"})))
        .await;
    app.call(
        "PUT",
        "/s/_doc/2?refresh=true",
        Some(json!({"vec": [-0.5, 10, 10], "tag": "b"})),
    )
    .await;
    let query = [-0.5f64, 1.0, 6.0];
    let run = |source: &'static str| json!({"query": {"script_score": {"query": {"match_all": {}}, "script": {"source": source, "params": {"query_vector": query}}}}});
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let doc1 = [0.5f64, 10.0, 6.0];
    let cosine1 = query.iter().zip(doc1).map(|(a, b)| a * b).sum::<f64>() / (norm(&query) * norm(&doc1));
    let response = app
        .call(
            "POST",
            "/s/_search",
            Some(run("cosineSimilarity(params.query_vector, 'vec') + 1.0")),
        )
        .await;
    let hit1 = response.json["hits"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .find(|hit| hit["_id"] == "1")
        .expect("doc 1")
        .clone();
    assert!(
        close(hit1["_score"].as_f64().expect("score"), cosine1 + 1.0),
        "{}",
        response.text
    );
    let l2 = app
        .call(
            "POST",
            "/s/_search",
            Some(run("1 / (1 + l2norm(params.query_vector, 'vec'))")),
        )
        .await;
    let distance1 = query
        .iter()
        .zip(doc1)
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    let score1 = l2.json["hits"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .find(|hit| hit["_id"] == "1")
        .expect("doc 1")["_score"]
        .as_f64()
        .expect("score");
    assert!(close(score1, 1.0 / (1.0 + distance1)));
    let sigmoid = app
        .call(
            "POST",
            "/s/_search",
            Some(run(
                "double value = dotProduct(params.query_vector, 'vec');\nreturn sigmoid(1, Math.E, -value);",
            )),
        )
        .await;
    assert_eq!(sigmoid.json["hits"]["total"]["value"], 2);
    let filtered = app
        .call("POST", "/s/_search", Some(json!({"query": {"script_score": {"query": {"term": {"tag": "b"}}, "script": {"source": "l1norm(params.query_vector, 'vec')", "params": {"query_vector": query}}}}})))
        .await;
    assert_eq!(ids(&filtered.json), vec!["2"]);
    assert!(close(scores(&filtered.json)[0], 0.0 + 9.0 + 4.0));
    let negative = app
        .call(
            "POST",
            "/s/_search",
            Some(run("cosineSimilarity(params.query_vector, 'vec') - 5")),
        )
        .await;
    assert_eq!(negative.status, 400);
    let unsupported = app.call("POST", "/s/_search", Some(run("doc['vec'].size() * 2"))).await;
    assert_eq!(unsupported.status, 400);
    assert!(
        unsupported.json["error"]["reason"]
            .as_str()
            .expect("reason")
            .contains("not supported by Iris")
    );
}

#[tokio::test]
async fn vector_memory_is_reported() {
    let app = vectors("cosine", &sample()).await;
    let stats = app.call("GET", "/v/_stats", None).await;
    assert_eq!(
        stats.json["indices"]["v"]["primaries"]["dense_vector"]["value_count"],
        4
    );
    assert!(
        stats.json["indices"]["v"]["primaries"]["dense_vector"]["memory_in_bytes"]
            .as_u64()
            .expect("bytes")
            >= 4 * 3 * 4
    );
    let cat = app
        .call(
            "GET",
            "/_cat/indices?h=index,dense_vector.value_count,vectors.memory&bytes=b&format=json",
            None,
        )
        .await;
    assert_eq!(cat.json[0]["dense_vector.value_count"], "4");
    let default_columns = app.call("GET", "/_cat/indices?format=json", None).await;
    assert!(default_columns.json[0].get("vectors.memory").is_none());
}

#[tokio::test]
async fn deleting_most_documents_compacts_in_the_background_without_losing_hits() {
    let docs: Vec<(String, Value, &str)> = (0..300)
        .map(|n| {
            let angle = n as f64 / 300.0 * std::f64::consts::PI;
            (n.to_string(), json!([angle.cos(), angle.sin(), 0.5]), "t")
        })
        .collect();
    let borrowed: Vec<(&str, Value, &str)> = docs.iter().map(|(id, v, t)| (id.as_str(), v.clone(), *t)).collect();
    let app = vectors("cosine", &borrowed).await;
    let deletes: Vec<Value> = (0..300)
        .filter(|n| n % 3 != 0)
        .map(|n| json!({"delete": {"_index": "v", "_id": n.to_string()}}))
        .collect();
    let response = app.ndjson("POST", "/_bulk?refresh=true", &deletes).await;
    assert_eq!(response.json["errors"], false, "{}", response.text);
    // The refresh started a rebuild (two thirds of the rows are tombstones); searches during
    // and after it see exactly the live documents.
    for round in 0..20 {
        let response = app
            .call(
                "POST",
                "/v/_search",
                Some(json!({"size": 100, "knn": {"field": "vec", "query_vector": [1, 0, 0.5], "k": 100, "num_candidates": 300}})),
            )
            .await;
        let found = ids(&response.json);
        assert_eq!(found.len(), 100, "round {round}: {}", response.text);
        assert!(
            found.iter().all(|id| id.parse::<u32>().expect("id") % 3 == 0),
            "round {round}"
        );
    }
    let app = app.reopen();
    let stats = app.call("GET", "/v/_stats", None).await;
    assert_eq!(
        stats.json["indices"]["v"]["primaries"]["dense_vector"]["value_count"],
        100
    );
}

#[tokio::test]
async fn partial_updates_and_update_by_query_keep_vectors_stored_apart() {
    let app = vectors("cosine", &sample()).await;
    let updated = app
        .call(
            "POST",
            "/v/_update/a?refresh=true",
            Some(json!({"doc": {"tag": "changed"}})),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let by_query = app
        .call(
            "POST",
            "/v/_update_by_query?refresh=true",
            Some(json!({"query": {"ids": {"values": ["c"]}}})),
        )
        .await;
    assert_eq!(by_query.json["updated"], 1, "{}", by_query.text);
    for (id, expected) in [("a", sample()[0].1.clone()), ("c", sample()[2].1.clone())] {
        let full = app
            .call("GET", &format!("/v/_doc/{id}?_source_exclude_vectors=false"), None)
            .await;
        assert_eq!(full.json["_source"]["vec"], expected, "{}", full.text);
        let default = app.call("GET", &format!("/v/_doc/{id}"), None).await;
        assert!(default.json["_source"].get("vec").is_none(), "{}", default.text);
    }
    let response = app
        .call(
            "POST",
            "/v/_search",
            Some(json!({"knn": {"field": "vec", "query_vector": sample()[0].1, "k": 1}, "_source": {"exclude_vectors": false}})),
        )
        .await;
    assert_eq!(ids(&response.json), vec!["a"]);
    assert_eq!(response.json["hits"]["hits"][0]["_source"]["tag"], "changed");
    assert_eq!(response.json["hits"]["hits"][0]["_source"]["vec"], sample()[0].1);
}

#[tokio::test]
async fn vectors_come_back_as_given_when_asked_for() {
    let app = TestApp::new();
    let created = app
        .call(
            "PUT",
            "/r",
            Some(json!({"mappings": {"properties": {
                "cos": {"type": "dense_vector", "dims": 4, "similarity": "cosine"},
                "dot": {"type": "dense_vector", "dims": 2, "similarity": "dot_product"},
                "b": {"type": "dense_vector", "dims": 3, "element_type": "byte", "similarity": "cosine"},
                "bits": {"type": "dense_vector", "dims": 16, "element_type": "bit"},
                "raw": {"type": "dense_vector", "dims": 2, "index": false},
                "obj": {"properties": {"v": {"type": "dense_vector", "dims": 2, "similarity": "l2_norm"}}}
            }}})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.text);
    let document = json!({
        "title": "t",
        "cos": [0.3, -1.7, 2.9, 1e-3],
        "dot": [0.6, 0.8],
        "b": [-128, 5, 127],
        "bits": [-1, 3],
        "raw": [1.5, 2.5],
        "obj": {"v": [0.25, 9.5], "note": "n"}
    });
    let indexed = app.call("PUT", "/r/_doc/1?refresh=true", Some(document.clone())).await;
    assert_eq!(indexed.status, 201, "{}", indexed.text);
    for path in [
        "/r/_doc/1?_source_exclude_vectors=false",
        "/r/_source/1?_source_exclude_vectors=false",
    ] {
        let response = app.call("GET", path, None).await;
        let source = if path.contains("_doc") {
            &response.json["_source"]
        } else {
            &response.json
        };
        for field in ["title", "cos", "dot", "b", "bits", "raw", "obj"] {
            assert_eq!(source[field], document[field], "{path} {field}: {}", response.text);
        }
    }
    let hidden = app.call("GET", "/r/_doc/1", None).await;
    assert_eq!(
        hidden.json["_source"],
        json!({"title": "t", "obj": {"note": "n"}}),
        "{}",
        hidden.text
    );
    let scored = app
        .call(
            "POST",
            "/r/_search",
            Some(json!({"query": {"script_score": {
                "query": {"match_all": {}},
                "script": {"source": "dotProduct(params.q, 'cos') + 10", "params": {"q": [1, 0, 0, 0]}}
            }}})),
        )
        .await;
    let score = scored.json["hits"]["hits"][0]["_score"].as_f64().expect("score");
    assert!((score - 10.3).abs() < 1e-5, "{}", scored.text);
}
