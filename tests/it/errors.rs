use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn unknown_index_is_404_with_es_envelope() {
    let app = TestApp::new();
    let response = app.call("GET", "/missing/_search", None).await;
    assert_eq!(response.status, 404);
    assert_eq!(
        response.json["error"]["root_cause"][0]["type"],
        "index_not_found_exception"
    );
    assert_eq!(response.json["error"]["reason"], "no such index [missing]");
    assert_eq!(response.json["status"], 404);
}

#[tokio::test]
async fn malformed_json_is_x_content_parse_error() {
    let app = TestApp::new();
    let response = app
        .raw("POST", "/_search", "application/json", b"{\"query\": ".to_vec())
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json["error"]["type"], "x_content_parse_exception");
}

#[tokio::test]
async fn unknown_query_is_parsing_error() {
    let app = TestApp::new();
    app.call("PUT", "/e", None).await;
    let response = app
        .call("POST", "/e/_search", Some(json!({"query": {"frobnicate": {}}})))
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json["error"]["type"], "parsing_exception");
    assert_eq!(response.json["error"]["reason"], "unknown query [frobnicate]");
}

#[tokio::test]
async fn bad_value_on_good_json_is_search_phase_error() {
    let app = TestApp::new();
    app.call(
        "PUT",
        "/e",
        Some(json!({"mappings": {"properties": {"n": {"type": "long"}}}})),
    )
    .await;
    let response = app
        .call("POST", "/e/_search", Some(json!({"query": {"term": {"n": "abc"}}})))
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json["error"]["type"], "search_phase_execution_exception");
    assert_eq!(response.json["error"]["root_cause"][0]["type"], "query_shard_exception");
}

#[tokio::test]
async fn wrong_method_and_unknown_route() {
    let app = TestApp::new();
    let response = app.call("DELETE", "/_search", None).await;
    assert_eq!(response.status, 405);
    assert!(
        response.json["error"]
            .as_str()
            .expect("string error")
            .starts_with("Incorrect HTTP method for uri [/_search] and method [DELETE]")
    );
    let unknown = app.call("GET", "/_nothing/here/at/all", None).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(
        unknown.json["error"],
        "no handler found for uri [/_nothing/here/at/all] and method [GET]"
    );
}

#[tokio::test]
async fn unknown_parameters_are_rejected() {
    let app = TestApp::new();
    let response = app.call("GET", "/_search?bogus=1", None).await;
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json["error"]["reason"],
        "request [/_search] contains unrecognized parameter: [bogus]"
    );
}

#[tokio::test]
async fn strict_mapping_rejects_new_fields() {
    let app = TestApp::new();
    app.call(
        "PUT",
        "/s",
        Some(json!({"mappings": {"dynamic": "strict", "properties": {"a": {"type": "keyword"}}}})),
    )
    .await;
    let response = app.call("PUT", "/s/_doc/1", Some(json!({"b": 1}))).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json["error"]["type"], "strict_dynamic_mapping_exception");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let app = TestApp::with_config(iris::config::Config {
        max_content_length_bytes: 1024,
        ..iris::config::Config::default()
    });
    let mut body = Vec::new();
    for id in 0..100 {
        body.extend(
            format!("{{\"index\":{{\"_index\":\"big\",\"_id\":\"{id}\"}}}}\n{{\"caption\":\"some words\"}}\n")
                .into_bytes(),
        );
    }
    let response = app.raw("POST", "/_bulk", "application/x-ndjson", body).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.json["status"], 413);
    assert_eq!(response.json["error"]["type"], "content_too_long_exception");
    assert_eq!(app.call("HEAD", "/big", None).await.status, 404);
}
