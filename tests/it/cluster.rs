use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn root_answers_like_elasticsearch_with_product_header() {
    let app = TestApp::new();
    let response = app.call("GET", "/", None).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.headers["x-elastic-product"], "Elasticsearch");
    assert!(
        response.headers["content-type"]
            .to_str()
            .expect("text")
            .starts_with("application/json")
    );
    assert_eq!(response.json["version"]["build_flavor"], "default");
    assert_eq!(response.json["tagline"], "You Know, for Search");
    let head = app.call("HEAD", "/", None).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.headers["x-elastic-product"], "Elasticsearch");
}

#[tokio::test]
async fn accepts_compatibility_media_types() {
    let app = TestApp::new();
    let response = app
        .raw(
            "PUT",
            "/compat",
            "application/vnd.elasticsearch+json; compatible-with=9",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let response = app
        .raw("PUT", "/form", "application/x-www-form-urlencoded", b"{}".to_vec())
        .await;
    assert_eq!(response.status, 406);
    assert_eq!(
        response.json["error"],
        "Content-Type header [application/x-www-form-urlencoded] is not supported"
    );
}

#[tokio::test]
async fn health_nodes_and_console_endpoints_have_es_shapes() {
    let app = TestApp::new();
    app.call("PUT", "/a", Some(json!({"settings": {"number_of_replicas": 0}})))
        .await;
    let health = app.call("GET", "/_cluster/health", None).await;
    assert_eq!(health.json["status"], "green");
    assert_eq!(health.json["active_primary_shards"], 1);
    let nodes = app
        .call(
            "GET",
            "/_nodes/_all/http?filter_path=nodes.*.http.publish_address",
            None,
        )
        .await;
    let node = nodes.json["nodes"]
        .as_object()
        .expect("nodes")
        .values()
        .next()
        .expect("one node")
        .clone();
    assert!(node["http"]["publish_address"].is_string());
    assert_eq!(
        app.call("GET", "/_index_template", None).await.json,
        json!({"index_templates": []})
    );
    assert_eq!(
        app.call("GET", "/_component_template", None).await.json,
        json!({"component_templates": []})
    );
    assert_eq!(
        app.call("GET", "/_data_stream/*", None).await.json,
        json!({"data_streams": []})
    );
    assert_eq!(app.call("GET", "/_template", None).await.json, json!({}));
    assert!(app.call("GET", "/_mapping", None).await.json["a"]["mappings"].is_object());
    assert!(app.call("GET", "/_alias", None).await.json["a"]["aliases"].is_object());
}
