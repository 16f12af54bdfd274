use serde_json::{Value, json};

use crate::common::TestApp;

async fn photos() -> TestApp {
    let app = TestApp::new();
    app.call("PUT", "/photos", Some(json!({"mappings": {"properties": {
        "caption": {"type": "text"}, "tags": {"type": "keyword"}, "price": {"type": "double"}, "taken": {"type": "date"}
    }}})))
    .await;
    let docs = [
        json!({"caption": "A cat on a red sofa", "tags": ["cat", "sofa"], "price": 12.5, "taken": "2024-01-05"}),
        json!({"caption": "Red shoes on the street", "tags": ["shoes"], "price": 40, "taken": "2024-03-01T10:00:00Z"}),
        json!({"caption": "A cup of coffee", "tags": ["coffee"], "price": 3, "taken": "2023-12-31"}),
    ];
    let mut lines = Vec::new();
    for (position, doc) in docs.iter().enumerate() {
        lines.push(json!({"index": {"_index": "photos", "_id": (position + 1).to_string()}}));
        lines.push(doc.clone());
    }
    let response = app.ndjson("POST", "/_bulk?refresh=true", &lines).await;
    assert_eq!(response.json["errors"], false, "{}", response.text);
    app
}

fn ids(response: &Value) -> Vec<String> {
    response["hits"]["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|hit| hit["_id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test]
async fn match_scores_with_es_bm25() {
    let app = photos().await;
    let response = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"match": {"caption": "red cat"}}})),
        )
        .await;
    assert_eq!(ids(&response.json), vec!["1", "2"]);
    // Lucene BM25 by hand for doc 2 ("red shoes on the street", 5 terms): N=3, df(red)=2,
    // avgdl=(6+5+4)/3=5, idf=ln(1+(3-2+0.5)/(2+0.5)), tf=1/(1+1.2*(1-0.75+0.75*5/5)).
    let idf = (1.0f64 + (3.0 - 2.0 + 0.5) / (2.0 + 0.5)).ln();
    let expected = 2.2 * idf * (1.0 / (1.0 + 1.2 * (0.25 + 0.75 * 5.0 / 5.0)));
    let actual = response.json["hits"]["hits"][1]["_score"].as_f64().expect("score");
    assert!((actual - expected).abs() < 1e-5, "{actual} vs {expected}");
    assert_eq!(response.json["hits"]["total"], json!({"value": 2, "relation": "eq"}));
}

#[tokio::test]
async fn bool_term_range_and_filters() {
    let app = photos().await;
    let response = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"bool": {
                "must": [{"match": {"caption": "red"}}],
                "filter": [{"range": {"price": {"gte": 20}}}],
                "must_not": [{"term": {"tags": "cat"}}]
            }}})),
        )
        .await;
    assert_eq!(ids(&response.json), vec!["2"]);
    let dates = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"range": {"taken": {"gte": "2024-01-01", "lt": "2024-02-01"}}}})),
        )
        .await;
    assert_eq!(ids(&dates.json), vec!["1"]);
    let terms = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"terms": {"tags": ["coffee", "shoes"]}}, "sort": ["_doc"]})),
        )
        .await;
    assert_eq!(ids(&terms.json), vec!["2", "3"]);
}

#[tokio::test]
async fn sort_paging_and_source_filtering() {
    let app = photos().await;
    let response = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"sort": [{"price": "desc"}], "from": 1, "size": 1, "_source": ["caption"]})),
        )
        .await;
    assert_eq!(ids(&response.json), vec!["1"]);
    assert_eq!(response.json["hits"]["hits"][0]["sort"], json!([12.5]));
    assert_eq!(
        response.json["hits"]["hits"][0]["_source"],
        json!({"caption": "A cat on a red sofa"})
    );
    assert_eq!(response.json["hits"]["max_score"], Value::Null);
    let window = app
        .call("POST", "/photos/_search", Some(json!({"from": 10000, "size": 1})))
        .await;
    assert_eq!(window.status, 400);
    // ES checks the window per shard, so the failure is a failed search phase.
    assert_eq!(window.json["error"]["type"], "search_phase_execution_exception");
    assert!(
        window.json["error"]["root_cause"][0]["reason"]
            .as_str()
            .expect("reason")
            .starts_with("Result window is too large")
    );
}

#[tokio::test]
async fn phrase_prefix_wildcard_exists_ids() {
    let app = photos().await;
    let phrase = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"match_phrase": {"caption": "red sofa"}}})),
        )
        .await;
    assert_eq!(ids(&phrase.json), vec!["1"]);
    let prefix = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"prefix": {"tags": "sho"}}})),
        )
        .await;
    assert_eq!(ids(&prefix.json), vec!["2"]);
    let wildcard = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"wildcard": {"tags": {"value": "c*e"}}}})),
        )
        .await;
    assert_eq!(ids(&wildcard.json), vec!["3"]);
    let exists = app
        .call(
            "POST",
            "/photos/_count",
            Some(json!({"query": {"exists": {"field": "taken"}}})),
        )
        .await;
    assert_eq!(exists.json["count"], 3);
    let by_id = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"ids": {"values": ["3", "9"]}}})),
        )
        .await;
    assert_eq!(ids(&by_id.json), vec!["3"]);
}

#[tokio::test]
async fn multi_index_and_wildcard_targets() {
    let app = photos().await;
    app.call(
        "PUT",
        "/photos-2/_doc/x?refresh=true",
        Some(json!({"caption": "red kite"})),
    )
    .await;
    let response = app
        .call(
            "POST",
            "/photos*/_search",
            Some(json!({"query": {"match": {"caption": "red"}}})),
        )
        .await;
    assert_eq!(response.json["hits"]["total"]["value"], 3);
    assert_eq!(response.json["_shards"]["total"], 2);
    let comma = app.call("GET", "/photos,photos-2/_count", None).await;
    assert_eq!(comma.json["count"], 4);
}

#[tokio::test]
async fn delete_by_query_removes_matches() {
    let app = photos().await;
    let response = app
        .call(
            "POST",
            "/photos/_delete_by_query?refresh=true",
            Some(json!({"query": {"term": {"tags": "cat"}}})),
        )
        .await;
    assert_eq!(response.json["deleted"], 1);
    assert_eq!(app.call("GET", "/photos/_count", None).await.json["count"], 2);
}

#[tokio::test]
async fn explain_reports_each_hits_score() {
    let app = photos().await;
    let response = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"match": {"caption": "red"}}, "explain": true})),
        )
        .await;
    for hit in response.json["hits"]["hits"].as_array().expect("hits") {
        let explained = hit["_explanation"]["value"].as_f64().expect("explanation value");
        assert!((explained - hit["_score"].as_f64().expect("score")).abs() < 1e-5);
    }
    let single = app
        .call(
            "POST",
            "/photos/_explain/2",
            Some(json!({"query": {"match": {"caption": "red"}}})),
        )
        .await;
    assert_eq!(single.json["matched"], true);
}

#[tokio::test]
async fn query_string_syntax_and_uri_search() {
    let app = photos().await;
    let response = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"query_string": {"query": "caption:red AND -tags:cat"}}})),
        )
        .await;
    assert_eq!(ids(&response.json), vec!["2"]);
    let ranged = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"query_string": {"query": "price:[10 TO 20]"}}})),
        )
        .await;
    assert_eq!(ids(&ranged.json), vec!["1"]);
    let default_fields = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"query_string": {"query": "coffee"}}, "sort": ["_doc"]})),
        )
        .await;
    assert_eq!(ids(&default_fields.json), vec!["3"]);
    let uri = app
        .call("GET", "/photos/_search?q=caption:red&sort=price:desc", None)
        .await;
    assert_eq!(ids(&uri.json), vec!["2", "1"]);
    let uri_df = app.call("GET", "/photos/_search?q=sofa&df=caption", None).await;
    assert_eq!(ids(&uri_df.json), vec!["1"]);
    // The same words through match and through q= score the same.
    let matched = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"match": {"caption": "red"}}})),
        )
        .await;
    let uri_scored = app.call("GET", "/photos/_search?q=caption:red", None).await;
    assert_eq!(matched.json["hits"]["max_score"], uri_scored.json["hits"]["max_score"]);
}

#[tokio::test]
async fn query_string_syntax_errors_are_shard_failures() {
    let app = photos().await;
    let response = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"query_string": {"query": "caption:(red AND"}}})),
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json["error"]["type"], "search_phase_execution_exception");
    assert_eq!(response.json["error"]["root_cause"][0]["type"], "query_shard_exception");
    assert_eq!(
        response.json["error"]["root_cause"][0]["reason"],
        "Failed to parse query [caption:(red AND]"
    );
}

#[tokio::test]
async fn simple_query_string_operators() {
    let app = photos().await;
    let response = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"simple_query_string": {"query": "red +sho* -cat", "fields": ["caption", "tags"]}}})),
        )
        .await;
    // As in ES: with the OR default, `-cat` is its own optional clause "everything but cat".
    assert_eq!(ids(&response.json), vec!["2", "3"]);
    let all_required = app
        .call("POST", "/photos/_search", Some(json!({"query": {"simple_query_string": {"query": "red +sho* -cat", "fields": ["caption", "tags"], "default_operator": "and"}}})))
        .await;
    assert_eq!(ids(&all_required.json), vec!["2"]);
    let lenient = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"simple_query_string": {"query": "\"red sofa", "fields": ["caption"]}}})),
        )
        .await;
    assert_eq!(lenient.status, 200);
}

#[tokio::test]
async fn boosting_demotes_negative_matches() {
    let app = photos().await;
    let plain = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"match": {"caption": "red"}}})),
        )
        .await;
    let boosted = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"boosting": {
                "positive": {"match": {"caption": "red"}},
                "negative": {"term": {"tags": "cat"}},
                "negative_boost": 0.5
            }}})),
        )
        .await;
    let score_of = |response: &Value, id: &str| -> f64 {
        response["hits"]["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .find(|hit| hit["_id"] == id)
            .and_then(|hit| hit["_score"].as_f64())
            .expect("score")
    };
    assert!((score_of(&boosted.json, "1") - score_of(&plain.json, "1") * 0.5).abs() < 1e-6);
    assert!((score_of(&boosted.json, "2") - score_of(&plain.json, "2")).abs() < 1e-6);
    assert_eq!(boosted.json["hits"]["total"]["value"], 2);
}

#[tokio::test]
async fn named_queries_highlight_and_fields() {
    let app = photos().await;
    let response = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({
                "query": {"bool": {"should": [
                    {"match": {"caption": {"query": "red", "_name": "is_red"}}},
                    {"term": {"tags": {"value": "coffee", "_name": "is_coffee"}}}
                ]}},
                "highlight": {"fields": {"caption": {}}},
                "fields": ["price", {"field": "taken", "format": "yyyy/MM/dd"}, "tags"],
                "_source": false,
                "sort": ["_doc"]
            })),
        )
        .await;
    let hits = response.json["hits"]["hits"].as_array().expect("hits");
    assert_eq!(hits[0]["matched_queries"], json!(["is_red"]));
    assert_eq!(hits[2]["matched_queries"], json!(["is_coffee"]));
    assert_eq!(
        hits[0]["highlight"],
        json!({"caption": ["A cat on a <em>red</em> sofa"]})
    );
    assert!(hits[2].get("highlight").is_none());
    assert_eq!(
        hits[0]["fields"],
        json!({"price": [12.5], "taken": ["2024/01/05"], "tags": ["cat", "sofa"]})
    );
    assert!(hits[0].get("_source").is_none());
}

#[tokio::test]
async fn terminate_after_stops_collecting() {
    let app = photos().await;
    let response = app
        .call("POST", "/photos/_search", Some(json!({"terminate_after": 2})))
        .await;
    assert_eq!(response.json["terminated_early"], true);
    assert_eq!(response.json["hits"]["total"]["value"], 2);
    let count = app.call("POST", "/photos/_count?terminate_after=1", None).await;
    assert_eq!(count.json["count"], 1);
    assert_eq!(count.json["terminated_early"], true);
    let untouched = app
        .call("POST", "/photos/_search", Some(json!({"terminate_after": 10})))
        .await;
    assert_eq!(untouched.json["terminated_early"], false);
    assert_eq!(untouched.json["hits"]["total"]["value"], 3);
}

#[tokio::test]
async fn track_total_hits_caps_the_count() {
    let app = photos().await;
    let capped = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"track_total_hits": 2, "query": {"match_all": {}}})),
        )
        .await;
    assert_eq!(capped.json["hits"]["total"], json!({"value": 2, "relation": "gte"}));
    let exact = app
        .call("POST", "/photos/_search", Some(json!({"track_total_hits": 3})))
        .await;
    assert_eq!(exact.json["hits"]["total"], json!({"value": 3, "relation": "eq"}));
    let disabled = app
        .call("POST", "/photos/_search", Some(json!({"track_total_hits": false})))
        .await;
    assert!(disabled.json["hits"].get("total").is_none());
    assert_eq!(disabled.json["hits"]["hits"].as_array().map(Vec::len), Some(3));
}
