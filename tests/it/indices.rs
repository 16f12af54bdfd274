use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn create_get_exists_delete() {
    let app = TestApp::new();
    let created = app
        .call(
            "PUT",
            "/photos",
            Some(
                json!({"settings": {"number_of_shards": 1}, "mappings": {"properties": {"caption": {"type": "text"}}}}),
            ),
        )
        .await;
    assert_eq!(
        created.json,
        json!({"acknowledged": true, "shards_acknowledged": true, "index": "photos"})
    );
    let again = app.call("PUT", "/photos", None).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json["error"]["type"], "resource_already_exists_exception");
    let got = app.call("GET", "/photos", None).await;
    assert_eq!(
        got.json["photos"]["mappings"],
        json!({"properties": {"caption": {"type": "text"}}})
    );
    assert_eq!(got.json["photos"]["settings"]["index"]["number_of_shards"], "1");
    assert_eq!(app.call("HEAD", "/photos", None).await.status, 200);
    assert_eq!(app.call("HEAD", "/nope", None).await.status, 404);
    assert_eq!(
        app.call("DELETE", "/photos", None).await.json,
        json!({"acknowledged": true})
    );
    assert_eq!(app.call("HEAD", "/photos", None).await.status, 404);
}

#[tokio::test]
async fn invalid_names_are_rejected_like_es() {
    let app = TestApp::new();
    let response = app.call("PUT", "/Photos", None).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.json["error"]["type"], "invalid_index_name_exception");
    assert_eq!(
        response.json["error"]["reason"],
        "Invalid index name [Photos], must be lowercase"
    );
}

#[tokio::test]
async fn mappings_grow_and_conflicts_are_rejected() {
    let app = TestApp::new();
    app.call(
        "PUT",
        "/m",
        Some(json!({"mappings": {"properties": {"a": {"type": "keyword"}}}})),
    )
    .await;
    let added = app
        .call(
            "PUT",
            "/m/_mapping",
            Some(json!({"properties": {"b": {"type": "long"}}})),
        )
        .await;
    assert_eq!(added.json, json!({"acknowledged": true}));
    let mapping = app.call("GET", "/m/_mapping", None).await;
    assert_eq!(
        mapping.json["m"]["mappings"]["properties"]["b"],
        json!({"type": "long"})
    );
    let conflict = app
        .call(
            "PUT",
            "/m/_mapping",
            Some(json!({"properties": {"a": {"type": "text"}}})),
        )
        .await;
    assert_eq!(conflict.status, 400);
    assert_eq!(
        conflict.json["error"]["reason"],
        "mapper [a] cannot be changed from type [keyword] to [text]"
    );
}

#[tokio::test]
async fn dynamic_mapping_follows_es_defaults() {
    let app = TestApp::new();
    app.call(
        "PUT",
        "/d/_doc/1?refresh=true",
        Some(json!({"title": "Red", "count": 3, "ratio": 0.5, "ok": true, "when": "2024-05-01T10:00:00Z"})),
    )
    .await;
    let mapping = app.call("GET", "/d/_mapping", None).await;
    assert_eq!(
        mapping.json["d"]["mappings"]["properties"],
        json!({
            "count": {"type": "long"},
            "ok": {"type": "boolean"},
            "ratio": {"type": "float"},
            "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
            "when": {"type": "date"}
        })
    );
}

#[tokio::test]
async fn aliases_route_searches() {
    let app = TestApp::new();
    app.call("PUT", "/one/_doc/1?refresh=true", Some(json!({"x": 1}))).await;
    let added = app
        .call(
            "POST",
            "/_aliases",
            Some(json!({"actions": [{"add": {"index": "one", "alias": "current"}}]})),
        )
        .await;
    assert_eq!(added.json["acknowledged"], true);
    let hits = app.call("GET", "/current/_search", None).await;
    assert_eq!(hits.json["hits"]["total"]["value"], 1);
    assert_eq!(hits.json["hits"]["hits"][0]["_index"], "one");
    let listed = app.call("GET", "/_alias/current", None).await;
    assert_eq!(listed.json, json!({"one": {"aliases": {"current": {}}}}));
}

#[tokio::test]
async fn cat_indices_text_and_json() {
    let app = TestApp::new();
    app.call("PUT", "/catme", Some(json!({"settings": {"number_of_replicas": 0}})))
        .await;
    let text = app.call("GET", "/_cat/indices?v&h=health,index,docs.count", None).await;
    let lines: Vec<&str> = text.text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        vec!["health", "index", "docs.count"]
    );
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        vec!["green", "catme", "0"]
    );
    let json_rows = app.call("GET", "/_cat/indices?format=json", None).await;
    assert_eq!(json_rows.json[0]["index"], "catme");
    assert_eq!(json_rows.json[0]["docs.count"], "0");
}

#[tokio::test]
async fn alias_filters_restrict_searches_counts_and_aggregations() {
    let app = TestApp::new();
    for (id, tag) in [("1", "cat"), ("2", "dog"), ("3", "cat")] {
        app.call("PUT", &format!("/pets/_doc/{id}"), Some(json!({"tag": tag})))
            .await;
    }
    app.call("POST", "/pets/_refresh", None).await;
    app.call(
        "POST",
        "/_aliases",
        Some(json!({"actions": [
            {"add": {"index": "pets", "alias": "cats", "filter": {"term": {"tag.keyword": "cat"}}}}
        ]})),
    )
    .await;
    let through_alias = app
        .call(
            "POST",
            "/cats/_search",
            Some(json!({"aggs": {"tags": {"terms": {"field": "tag.keyword"}}}})),
        )
        .await;
    assert_eq!(through_alias.json["hits"]["total"]["value"], 2);
    assert_eq!(through_alias.json["hits"]["hits"][0]["_score"], 1.0);
    assert_eq!(
        through_alias.json["aggregations"]["tags"]["buckets"],
        json!([{"key": "cat", "doc_count": 2}])
    );
    assert_eq!(app.call("GET", "/cats/_count", None).await.json["count"], 2);
    // Naming the index directly (even next to the alias) removes the filter.
    assert_eq!(app.call("GET", "/cats,pets/_count", None).await.json["count"], 3);
    let deleted = app
        .call(
            "POST",
            "/cats/_delete_by_query?refresh=true",
            Some(json!({"query": {"match_all": {}}})),
        )
        .await;
    assert_eq!(deleted.json["deleted"], 2);
    assert_eq!(app.call("GET", "/pets/_count", None).await.json["count"], 1);
}
