//! Aggregations over HTTP: every aggregation type, nesting, filters, `top_hits`, errors
//! and merging across indices. Expected values are computed by hand in comments.

use serde_json::{Value, json};

use crate::common::TestApp;

const MAPPING: &str = r#"{"mappings": {"properties": {
    "caption": {"type": "text"}, "tags": {"type": "keyword"}, "price": {"type": "double"},
    "taken": {"type": "date"}, "views": {"type": "long"}, "in_stock": {"type": "boolean"}
}}}"#;

async fn create(app: &TestApp, index: &str, docs: &[(&str, Value)]) {
    let mapping: Value = serde_json::from_str(MAPPING).expect("mapping");
    let created = app.call("PUT", &format!("/{index}"), Some(mapping)).await;
    assert_eq!(created.status, 200, "{}", created.text);
    let mut lines = Vec::new();
    for (id, doc) in docs {
        lines.push(json!({"index": {"_index": index, "_id": id}}));
        lines.push(doc.clone());
    }
    let response = app.ndjson("POST", "/_bulk?refresh=true", &lines).await;
    assert_eq!(response.json["errors"], false, "{}", response.text);
}

/// Five photos. Prices 12.5, 40, 3, 25 (doc 5 has none): sum 80.5, mean 20.125.
async fn photos() -> TestApp {
    let app = TestApp::new();
    create(
        &app,
        "photos",
        &[
            ("1", json!({"caption": "A cat on a red sofa", "tags": ["cat", "sofa"], "price": 12.5, "taken": "2024-01-05", "views": 10, "in_stock": true})),
            ("2", json!({"caption": "Red shoes on the street", "tags": ["shoes"], "price": 40, "taken": "2024-03-01T10:00:00Z", "views": 200, "in_stock": false})),
            ("3", json!({"caption": "A cup of coffee", "tags": ["coffee"], "price": 3, "taken": "2023-12-31", "views": 50, "in_stock": true})),
            ("4", json!({"caption": "A black cat sleeping", "tags": ["cat"], "price": 25, "taken": "2024-01-20T08:30:00Z", "views": 75, "in_stock": true})),
            ("5", json!({"caption": "Empty street at night", "tags": [], "taken": "2024-03-15"})),
        ],
    )
    .await;
    app
}

/// `photos` plus `archive` (prices 7.5 and 60, taken in 2020).
async fn photos_and_archive() -> TestApp {
    let app = photos().await;
    create(
        &app,
        "archive",
        &[
            ("a1", json!({"caption": "Old cat photo", "tags": ["cat", "vintage"], "price": 7.5, "taken": "2020-06-01", "views": 5, "in_stock": false})),
            ("a2", json!({"caption": "Vintage shoes", "tags": ["shoes", "vintage"], "price": 60, "taken": "2020-07-15", "views": 15, "in_stock": true})),
        ],
    )
    .await;
    app
}

/// Returns the `aggregations` of a search on `photos`.
async fn aggs(app: &TestApp, body: Value) -> Value {
    aggs_on(app, "/photos/_search", body).await
}

async fn aggs_on(app: &TestApp, path: &str, body: Value) -> Value {
    let response = app.call("POST", path, Some(body)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.json["aggregations"].clone()
}

fn ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .expect("date")
        .timestamp_millis()
}

fn assert_close(actual: &Value, expected: f64) {
    let number = actual.as_f64().unwrap_or_else(|| panic!("not a number: {actual}"));
    assert!((number - expected).abs() < 1e-9, "{number} vs {expected}");
}

#[tokio::test]
async fn terms_counts_orders_and_truncates() {
    let app = photos().await;
    let result = aggs(&app, json!({"aggs": {"tags": {"terms": {"field": "tags", "size": 2}}}})).await;
    // cat: docs 1, 4; coffee, shoes, sofa: one each (ties by key). size 2 leaves shoes + sofa.
    assert_eq!(
        result["tags"],
        json!({"doc_count_error_upper_bound": 0, "sum_other_doc_count": 2, "buckets": [
            {"key": "cat", "doc_count": 2}, {"key": "coffee", "doc_count": 1}
        ]})
    );
    let by_key_request = json!({"aggs": {"tags": {"terms": {"field": "tags", "order": {"_key": "desc"}}}}});
    let by_key = aggs(&app, by_key_request).await;
    let keys: Vec<&str> = by_key["tags"]["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, vec!["sofa", "shoes", "coffee", "cat"]);
}

#[tokio::test]
async fn terms_options_missing_include_exclude_min_doc_count() {
    let app = photos().await;
    let request = json!({"aggs": {
        "with_missing": {"terms": {"field": "tags", "missing": "untagged", "include": ["untagged", "cat"]}},
        "pattern": {"terms": {"field": "tags", "include": "s.*", "exclude": ["sofa"]}},
        "stock": {"terms": {"field": "in_stock"}},
        "views": {"terms": {"field": "views", "size": 1, "order": {"_key": "asc"}}},
        "unmapped": {"terms": {"field": "nope"}}
    }});
    let result = aggs(&app, request).await;
    assert_eq!(
        result["with_missing"]["buckets"],
        json!([{"key": "cat", "doc_count": 2}, {"key": "untagged", "doc_count": 1}])
    );
    assert_eq!(result["pattern"]["buckets"], json!([{"key": "shoes", "doc_count": 1}]));
    // in_stock: true for docs 1, 3, 4; false for doc 2.
    assert_eq!(
        result["stock"]["buckets"],
        json!([{"key": 1, "key_as_string": "true", "doc_count": 3}, {"key": 0, "key_as_string": "false", "doc_count": 1}])
    );
    // views 10, 50, 75, 200: smallest first, three others.
    assert_eq!(result["views"]["buckets"], json!([{"key": 10, "doc_count": 1}]));
    assert_eq!(result["views"]["sum_other_doc_count"], 3);
    assert_eq!(
        result["unmapped"],
        json!({"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": []})
    );
    // Only doc 2 matches; min_doc_count 0 still lists the other terms with 0.
    let zero_request = json!({"query": {"term": {"tags": "shoes"}},
        "aggs": {"tags": {"terms": {"field": "tags", "min_doc_count": 0}}}});
    let zero = aggs(&app, zero_request).await;
    assert_eq!(
        zero["tags"]["buckets"],
        json!([{"key": "shoes", "doc_count": 1}, {"key": "cat", "doc_count": 0}, {"key": "coffee", "doc_count": 0}, {"key": "sofa", "doc_count": 0}])
    );
}

#[tokio::test]
async fn terms_with_avg_sub_aggregation_and_order_by_it() {
    let app = photos().await;
    let request = json!({"aggs": {"tags": {
        "terms": {"field": "tags", "order": {"avg_price": "desc"}},
        "aggs": {"avg_price": {"avg": {"field": "price"}}}
    }}});
    let result = aggs(&app, request).await;
    // shoes 40; cat (12.5 + 25) / 2 = 18.75; sofa 12.5; coffee 3.
    assert_eq!(
        result["tags"]["buckets"],
        json!([
            {"key": "shoes", "doc_count": 1, "avg_price": {"value": 40.0}},
            {"key": "cat", "doc_count": 2, "avg_price": {"value": 18.75}},
            {"key": "sofa", "doc_count": 1, "avg_price": {"value": 12.5}},
            {"key": "coffee", "doc_count": 1, "avg_price": {"value": 3.0}}
        ])
    );
    let response = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"aggs": {"tags": {"terms": {"field": "tags", "order": {"nope": "desc"}}}}})),
        )
        .await;
    assert_eq!(response.status, 400, "{}", response.text);
}

#[tokio::test]
async fn metrics_by_hand() {
    let app = photos().await;
    let request = json!({"aggs": {
        "avg": {"avg": {"field": "price"}},
        "sum": {"sum": {"field": "price"}},
        "min": {"min": {"field": "price"}},
        "max": {"max": {"field": "price"}},
        "stats": {"stats": {"field": "price"}},
        "count": {"value_count": {"field": "price"}},
        "tag_values": {"value_count": {"field": "tags"}},
        "distinct_tags": {"cardinality": {"field": "tags"}},
        "avg_with_missing": {"avg": {"field": "price", "missing": 0}},
        "first_taken": {"min": {"field": "taken"}},
        "last_taken": {"max": {"field": "taken"}},
        "avg_views": {"avg": {"field": "views"}}
    }});
    let result = aggs(&app, request).await;
    assert_eq!(result["avg"], json!({"value": 20.125}));
    assert_eq!(result["sum"], json!({"value": 80.5}));
    assert_eq!(result["min"], json!({"value": 3.0}));
    assert_eq!(result["max"], json!({"value": 40.0}));
    assert_eq!(
        result["stats"],
        json!({"count": 4, "min": 3.0, "max": 40.0, "avg": 20.125, "sum": 80.5})
    );
    assert_eq!(result["count"], json!({"value": 4}));
    // cat, sofa, shoes, coffee, cat: 5 values, 4 distinct.
    assert_eq!(result["tag_values"], json!({"value": 5}));
    assert_eq!(result["distinct_tags"], json!({"value": 4}));
    // 80.5 / 5 with doc 5 counted as 0.
    assert_eq!(result["avg_with_missing"], json!({"value": 16.1}));
    assert_eq!(
        result["first_taken"],
        json!({"value": ms("2023-12-31T00:00:00Z") as f64, "value_as_string": "2023-12-31T00:00:00.000Z"})
    );
    assert_eq!(
        result["last_taken"],
        json!({"value": ms("2024-03-15T00:00:00Z") as f64, "value_as_string": "2024-03-15T00:00:00.000Z"})
    );
    // (10 + 200 + 50 + 75) / 4 = 83.75.
    assert_eq!(result["avg_views"], json!({"value": 83.75}));
}

#[tokio::test]
async fn metrics_on_empty_and_unmapped_fields() {
    let app = photos().await;
    let request = json!({"query": {"match_none": {}}, "aggs": {
        "avg": {"avg": {"field": "price"}},
        "sum": {"sum": {"field": "price"}},
        "min": {"min": {"field": "price"}},
        "unmapped_avg": {"avg": {"field": "nope"}},
        "unmapped_count": {"value_count": {"field": "nope"}},
        "unmapped_cardinality": {"cardinality": {"field": "nope"}}
    }});
    let result = aggs(&app, request).await;
    assert_eq!(result["avg"], json!({"value": null}));
    assert_eq!(result["sum"], json!({"value": 0.0}));
    assert_eq!(result["min"], json!({"value": null}));
    assert_eq!(result["unmapped_avg"], json!({"value": null}));
    assert_eq!(result["unmapped_count"], json!({"value": 0}));
    assert_eq!(result["unmapped_cardinality"], json!({"value": 0}));
}

#[tokio::test]
async fn percentiles_interpolate_like_es() {
    let app = photos().await;
    let request = json!({"aggs": {
        "default": {"percentiles": {"field": "price"}},
        "list": {"percentiles": {"field": "price", "percents": [50], "keyed": false}}
    }});
    let result = aggs(&app, request).await;
    // Sorted prices [3, 12.5, 25, 40]; rank = p/100 * 3, interpolated between neighbours.
    let values = &result["default"]["values"];
    let expected = [
        ("1.0", 3.0 + 0.03 * 9.5),
        ("5.0", 3.0 + 0.15 * 9.5),
        ("25.0", 3.0 + 0.75 * 9.5),
        ("50.0", 12.5 + 0.5 * 12.5),
        ("75.0", 25.0 + 0.25 * 15.0),
        ("95.0", 25.0 + 0.85 * 15.0),
        ("99.0", 25.0 + 0.97 * 15.0),
    ];
    assert_eq!(values.as_object().expect("values").len(), expected.len());
    for (name, value) in expected {
        assert_close(&values[name], value);
    }
    assert_eq!(result["list"], json!({"values": [{"key": 50.0, "value": 18.75}]}));
}

#[tokio::test]
async fn range_and_date_range() {
    let app = photos().await;
    let result = aggs(&app, json!({"aggs": {
        "prices": {"range": {"field": "price", "ranges": [{"from": 30}, {"to": 10}, {"from": 10, "to": 30}]}},
        "named": {"range": {"field": "price", "keyed": true, "ranges": [{"key": "cheap", "to": 20}, {"key": "dear", "from": 20}]}},
        "periods": {"date_range": {"field": "taken", "format": "yyyy-MM-dd", "ranges": [
            {"to": "2024-01-01"}, {"from": "2024-01-01", "to": "2024-02-01"}, {"from": "2024-02-01"}
        ]}},
        "math": {"date_range": {"field": "taken", "ranges": [{"from": "2024-01-01||+1M"}]}}
    }})).await;
    // Prices 3 | 12.5, 25 | 40, sorted by from.
    assert_eq!(
        result["prices"]["buckets"],
        json!([
            {"key": "*-10.0", "to": 10.0, "doc_count": 1},
            {"key": "10.0-30.0", "from": 10.0, "to": 30.0, "doc_count": 2},
            {"key": "30.0-*", "from": 30.0, "doc_count": 1}
        ])
    );
    assert_eq!(
        result["named"]["buckets"],
        json!({"cheap": {"to": 20.0, "doc_count": 2}, "dear": {"from": 20.0, "doc_count": 2}})
    );
    let jan = ms("2024-01-01T00:00:00Z") as f64;
    let feb = ms("2024-02-01T00:00:00Z") as f64;
    // Doc 3 (2023-12-31) | docs 1, 4 | docs 2, 5.
    assert_eq!(
        result["periods"]["buckets"],
        json!([
            {"key": "*-2024-01-01", "to": jan, "to_as_string": "2024-01-01", "doc_count": 1},
            {"key": "2024-01-01-2024-02-01", "from": jan, "from_as_string": "2024-01-01", "to": feb, "to_as_string": "2024-02-01", "doc_count": 2},
            {"key": "2024-02-01-*", "from": feb, "from_as_string": "2024-02-01", "doc_count": 2}
        ])
    );
    assert_eq!(
        result["math"]["buckets"],
        json!([{"key": "2024-02-01T00:00:00.000Z-*", "from": feb, "from_as_string": "2024-02-01T00:00:00.000Z", "doc_count": 2}])
    );
}

#[tokio::test]
async fn histogram_fills_gaps() {
    let app = photos().await;
    let request = json!({"aggs": {
        "prices": {"histogram": {"field": "price", "interval": 10}},
        "sparse": {"histogram": {"field": "price", "interval": 10, "min_doc_count": 1, "offset": 5}}
    }});
    let result = aggs(&app, request).await;
    // 3 → 0, 12.5 → 10, 25 → 20, 40 → 40; 30 is empty.
    assert_eq!(
        result["prices"]["buckets"],
        json!([
            {"key": 0.0, "doc_count": 1}, {"key": 10.0, "doc_count": 1}, {"key": 20.0, "doc_count": 1},
            {"key": 30.0, "doc_count": 0}, {"key": 40.0, "doc_count": 1}
        ])
    );
    // Offset 5: 3 → -5, 12.5 → 5, 25 → 25, 40 → 35.
    let keys: Vec<f64> = result["sparse"]["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["key"].as_f64().expect("key"))
        .collect();
    assert_eq!(keys, vec![-5.0, 5.0, 25.0, 35.0]);
}

#[tokio::test]
async fn date_histogram_with_nested_terms() {
    let app = photos().await;
    let request = json!({"aggs": {"months": {
        "date_histogram": {"field": "taken", "calendar_interval": "month", "format": "yyyy-MM"},
        "aggs": {"tags": {"terms": {"field": "tags"}}}
    }}});
    let result = aggs(&app, request).await;
    let empty_terms = json!({"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": []});
    // 2023-12: doc 3; 2024-01: docs 1, 4; 2024-02: none; 2024-03: docs 2, 5 (5 has no tags).
    assert_eq!(
        result["months"]["buckets"],
        json!([
            {"key_as_string": "2023-12", "key": ms("2023-12-01T00:00:00Z"), "doc_count": 1, "tags": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [{"key": "coffee", "doc_count": 1}]}},
            {"key_as_string": "2024-01", "key": ms("2024-01-01T00:00:00Z"), "doc_count": 2, "tags": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [{"key": "cat", "doc_count": 2}, {"key": "sofa", "doc_count": 1}]}},
            {"key_as_string": "2024-02", "key": ms("2024-02-01T00:00:00Z"), "doc_count": 0, "tags": empty_terms},
            {"key_as_string": "2024-03", "key": ms("2024-03-01T00:00:00Z"), "doc_count": 2, "tags": {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [{"key": "shoes", "doc_count": 1}]}}
        ])
    );
}

#[tokio::test]
async fn date_histogram_fixed_interval_and_time_zone() {
    let app = photos().await;
    let request = json!({"query": {"ids": {"values": ["2"]}}, "aggs": {
        "days": {"date_histogram": {"field": "taken", "fixed_interval": "1d", "time_zone": "-05:00"}},
        "weeks": {"date_histogram": {"field": "taken", "calendar_interval": "1w", "keyed": true}}
    }});
    let result = aggs(&app, request).await;
    // 2024-03-01T10:00Z is 05:00 local at -05:00: the local day starts at 05:00 UTC.
    assert_eq!(
        result["days"]["buckets"],
        json!([{"key_as_string": "2024-03-01T00:00:00.000-05:00", "key": ms("2024-03-01T05:00:00Z"), "doc_count": 1}])
    );
    // 2024-03-01 is a Friday: its ISO week starts on Monday 2024-02-26.
    assert_eq!(
        result["weeks"]["buckets"],
        json!({"2024-02-26T00:00:00.000Z": {"key_as_string": "2024-02-26T00:00:00.000Z", "key": ms("2024-02-26T00:00:00Z"), "doc_count": 1}})
    );
}

#[tokio::test]
async fn filter_filters_missing_and_global() {
    let app = photos().await;
    let request = json!({"query": {"exists": {"field": "price"}}, "aggs": {
        "dear": {"filter": {"range": {"price": {"gte": 20}}}, "aggs": {"avg_price": {"avg": {"field": "price"}}}},
        "named": {"filters": {"other_bucket": true, "filters": {
            "cheap": {"range": {"price": {"lt": 20}}},
            "cats": {"term": {"tags": "cat"}}
        }}},
        "anonymous": {"filters": {"filters": [{"match": {"caption": "red"}}, {"term": {"tags": "coffee"}}]}},
        "no_views": {"missing": {"field": "views"}},
        "everything": {"global": {}, "aggs": {"priced": {"value_count": {"field": "price"}}}}
    }});
    let result = aggs(&app, request).await;
    // The query keeps docs 1-4. Price >= 20: docs 2 (40) and 4 (25), mean 32.5.
    assert_eq!(result["dear"], json!({"doc_count": 2, "avg_price": {"value": 32.5}}));
    // cats: 1, 4; cheap: 1 (12.5), 3 (3); neither: 2. Named filters come sorted by name.
    assert_eq!(
        result["named"],
        json!({"buckets": {"cats": {"doc_count": 2}, "cheap": {"doc_count": 2}, "_other_": {"doc_count": 1}}})
    );
    let named_keys: Vec<&String> = result["named"]["buckets"]
        .as_object()
        .expect("buckets")
        .keys()
        .collect();
    assert_eq!(named_keys, vec!["cats", "cheap", "_other_"]);
    // "red": docs 1, 2; coffee: doc 3.
    assert_eq!(
        result["anonymous"],
        json!({"buckets": [{"doc_count": 2}, {"doc_count": 1}]})
    );
    assert_eq!(result["no_views"], json!({"doc_count": 0}));
    // global ignores the query: 5 documents, 4 prices.
    assert_eq!(result["everything"], json!({"doc_count": 5, "priced": {"value": 4}}));
}

#[tokio::test]
async fn top_hits_with_sort_and_source_filtering() {
    let app = photos().await;
    let result = aggs(&app, json!({"aggs": {"tags": {
        "terms": {"field": "tags", "size": 1},
        "aggs": {"best": {"top_hits": {"size": 1, "sort": [{"price": "desc"}], "_source": {"includes": ["caption"]}}}}
    }}})).await;
    // cat: docs 1 (12.5) and 4 (25); the dearest is doc 4.
    assert_eq!(
        result["tags"]["buckets"][0]["best"],
        json!({"hits": {"total": {"value": 2, "relation": "eq"}, "max_score": null, "hits": [
            {"_index": "photos", "_id": "4", "_score": null, "_source": {"caption": "A black cat sleeping"}, "sort": [25.0]}
        ]}})
    );
    let scored_request = json!({"query": {"match": {"caption": "cat"}},
        "aggs": {"best": {"top_hits": {"_source": false}}}});
    let scored = aggs(&app, scored_request).await;
    let hits = scored["best"]["hits"]["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 2);
    // Doc 4 is shorter than doc 1, so it scores higher for "cat" under BM25.
    assert_eq!(hits[0]["_id"], "4");
    assert_eq!(hits[1]["_id"], "1");
    assert!(hits[0].get("_source").is_none());
    assert_eq!(scored["best"]["hits"]["max_score"], hits[0]["_score"]);
    let search = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"query": {"match": {"caption": "cat"}}})),
        )
        .await;
    assert_eq!(hits[0]["_score"], search.json["hits"]["hits"][0]["_score"]);
}

#[tokio::test]
async fn aggregations_ignore_post_filter_and_size() {
    let app = photos().await;
    let response = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({
                "size": 0,
                "post_filter": {"term": {"tags": "cat"}},
                "aggregations": {"tags": {"terms": {"field": "tags"}, "meta": {"color": "blue"}}}
            })),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.json["hits"]["total"]["value"], 2);
    assert_eq!(response.json["hits"]["hits"], json!([]));
    let tags = &response.json["aggregations"]["tags"];
    assert_eq!(tags["meta"], json!({"color": "blue"}));
    assert_eq!(tags["buckets"].as_array().expect("buckets").len(), 4);
    let keys: Vec<&String> = response.json.as_object().expect("body").keys().collect();
    assert_eq!(keys.last().map(|key| key.as_str()), Some("aggregations"));
    let plain = app.call("POST", "/photos/_search", Some(json!({"size": 0}))).await;
    assert!(plain.json.get("aggregations").is_none());
}

#[tokio::test]
async fn multi_index_results_merge() {
    let app = photos_and_archive().await;
    let result = aggs_on(
        &app,
        "/photos,archive/_search",
        json!({"aggs": {
            "tags": {"terms": {"field": "tags"}},
            "indices": {"terms": {"field": "_index"}},
            "avg_price": {"avg": {"field": "price"}},
            "first_taken": {"min": {"field": "taken"}},
            "dearest": {"top_hits": {"size": 2, "sort": [{"price": "desc"}], "_source": ["price"]}}
        }}),
    )
    .await;
    // cat: 1, 4, a1; shoes: 2, a2; vintage: a1, a2; coffee: 3; sofa: 1.
    assert_eq!(
        result["tags"]["buckets"],
        json!([
            {"key": "cat", "doc_count": 3}, {"key": "shoes", "doc_count": 2}, {"key": "vintage", "doc_count": 2},
            {"key": "coffee", "doc_count": 1}, {"key": "sofa", "doc_count": 1}
        ])
    );
    assert_eq!(
        result["indices"]["buckets"],
        json!([{"key": "photos", "doc_count": 5}, {"key": "archive", "doc_count": 2}])
    );
    // (80.5 + 7.5 + 60) / 6 prices.
    assert_close(&result["avg_price"]["value"], 148.0 / 6.0);
    assert_eq!(result["first_taken"]["value_as_string"], "2020-06-01T00:00:00.000Z");
    assert_eq!(
        result["dearest"]["hits"]["hits"],
        json!([
            {"_index": "archive", "_id": "a2", "_score": null, "_source": {"price": 60}, "sort": [60.0]},
            {"_index": "photos", "_id": "2", "_score": null, "_source": {"price": 40}, "sort": [40.0]}
        ])
    );
}

#[tokio::test]
async fn deleted_and_updated_documents_across_segments() {
    let app = photos().await;
    // A second segment with doc 6; doc 3 (coffee) deleted; doc 2 re-tagged.
    let writes = [
        json!({"index": {"_index": "photos", "_id": "6"}}),
        json!({"caption": "Cat on a roof", "tags": ["cat"], "price": 8}),
        json!({"delete": {"_index": "photos", "_id": "3"}}),
        json!({"index": {"_index": "photos", "_id": "2"}}),
        json!({"caption": "Red shoes", "tags": ["shoes", "red"], "price": 40}),
    ];
    let response = app.ndjson("POST", "/_bulk?refresh=true", &writes).await;
    assert_eq!(response.json["errors"], false, "{}", response.text);
    let request = json!({"aggs": {
        "tags": {"terms": {"field": "tags"}},
        "distinct": {"cardinality": {"field": "tags"}},
        "all": {"global": {}},
        "sum": {"sum": {"field": "price"}}
    }});
    let result = aggs(&app, request).await;
    // cat: 1, 4, 6; red, shoes: 2; sofa: 1.
    assert_eq!(
        result["tags"]["buckets"],
        json!([{"key": "cat", "doc_count": 3}, {"key": "red", "doc_count": 1}, {"key": "shoes", "doc_count": 1}, {"key": "sofa", "doc_count": 1}])
    );
    assert_eq!(result["distinct"], json!({"value": 4}));
    assert_eq!(result["all"], json!({"doc_count": 5}));
    // 12.5 + 40 + 25 + 8.
    assert_eq!(result["sum"], json!({"value": 85.5}));
}

#[tokio::test]
async fn errors_are_es_shaped() {
    let app = photos().await;
    let text = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"aggs": {"c": {"terms": {"field": "caption"}}}})),
        )
        .await;
    assert_eq!(text.status, 400, "{}", text.text);
    assert_eq!(text.json["error"]["type"], "search_phase_execution_exception");
    assert_eq!(
        text.json["error"]["root_cause"][0]["type"],
        "illegal_argument_exception"
    );
    assert_eq!(
        text.json["error"]["root_cause"][0]["reason"],
        "Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [caption] in order to load field data by uninverting the inverted index. Note that this can use significant memory."
    );
    let unknown = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"aggs": {"c": {"term": {"field": "tags"}}}})),
        )
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.json["error"]["type"], "parsing_exception");
    assert_eq!(
        unknown.json["error"]["reason"],
        "Unknown aggregation type [term] did you mean [terms]?"
    );
    let keyword_avg = app
        .call(
            "POST",
            "/photos/_search",
            Some(json!({"aggs": {"a": {"avg": {"field": "tags"}}}})),
        )
        .await;
    assert_eq!(keyword_avg.status, 400);
    assert_eq!(
        keyword_avg.json["error"]["root_cause"][0]["reason"],
        "Field [tags] of type [keyword] is not supported for aggregation [avg]"
    );
    let no_field = app
        .call("POST", "/photos/_search", Some(json!({"aggs": {"a": {"terms": {}}}})))
        .await;
    assert_eq!(no_field.status, 400);
    assert_eq!(no_field.json["error"]["type"], "illegal_argument_exception");
    assert_eq!(
        no_field.json["error"]["reason"],
        "Required one of fields [field, script], but none were specified."
    );
}
