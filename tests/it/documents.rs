use serde_json::json;

use crate::common::TestApp;

#[tokio::test]
async fn index_get_update_delete_cycle() {
    let app = TestApp::new();
    let created = app
        .call("PUT", "/docs/_doc/1", Some(json!({"title": "one", "n": 1})))
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(created.json["result"], "created");
    assert_eq!(created.json["_version"], 1);
    assert_eq!(created.json["_seq_no"], 0);
    // Realtime GET sees the write before any refresh.
    let got = app.call("GET", "/docs/_doc/1", None).await;
    assert_eq!(got.json["_source"], json!({"title": "one", "n": 1}));
    let updated = app
        .call("POST", "/docs/_update/1", Some(json!({"doc": {"n": 2}})))
        .await;
    assert_eq!(updated.json["result"], "updated");
    assert_eq!(updated.json["_version"], 2);
    let noop = app
        .call("POST", "/docs/_update/1", Some(json!({"doc": {"n": 2}})))
        .await;
    assert_eq!(noop.json["result"], "noop");
    let source = app.call("GET", "/docs/_source/1", None).await;
    assert_eq!(source.json, json!({"title": "one", "n": 2}));
    let deleted = app.call("DELETE", "/docs/_doc/1", None).await;
    assert_eq!(deleted.json["result"], "deleted");
    let missing = app.call("GET", "/docs/_doc/1", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json, json!({"_index": "docs", "_id": "1", "found": false}));
}

#[tokio::test]
async fn optimistic_concurrency_and_create_conflicts() {
    let app = TestApp::new();
    app.call("PUT", "/occ/_doc/1", Some(json!({"v": 1}))).await;
    let stale = app
        .call(
            "PUT",
            "/occ/_doc/1?if_seq_no=5&if_primary_term=1",
            Some(json!({"v": 2})),
        )
        .await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.json["error"]["type"], "version_conflict_engine_exception");
    let fresh = app
        .call(
            "PUT",
            "/occ/_doc/1?if_seq_no=0&if_primary_term=1",
            Some(json!({"v": 2})),
        )
        .await;
    assert_eq!(fresh.status, 200);
    let create = app.call("PUT", "/occ/_create/1", Some(json!({"v": 3}))).await;
    assert_eq!(create.status, 409);
    assert_eq!(
        create.json["error"]["reason"],
        "[1]: version conflict, document already exists (current version [2])"
    );
}

#[tokio::test]
async fn upserts_and_missing_documents() {
    let app = TestApp::new();
    let missing = app.call("POST", "/up/_update/9", Some(json!({"doc": {"a": 1}}))).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json["error"]["type"], "document_missing_exception");
    let upserted = app
        .call(
            "POST",
            "/up/_update/9",
            Some(json!({"doc": {"a": 1}, "doc_as_upsert": true})),
        )
        .await;
    assert_eq!(upserted.json["result"], "created");
    let script = app
        .call("POST", "/up/_update/9", Some(json!({"script": "ctx._source.a++"})))
        .await;
    assert_eq!(script.status, 400);
    assert!(
        script.json["error"]["reason"]
            .as_str()
            .expect("reason")
            .contains("not supported")
    );
}

#[tokio::test]
async fn auto_ids_and_mget() {
    let app = TestApp::new();
    let created = app.call("POST", "/auto/_doc", Some(json!({"k": "v"}))).await;
    let id = created.json["_id"].as_str().expect("id").to_string();
    assert_eq!(id.len(), 20);
    let docs = app
        .call(
            "POST",
            "/_mget",
            Some(json!({"docs": [{"_index": "auto", "_id": id}, {"_index": "auto", "_id": "nope"}]})),
        )
        .await;
    assert_eq!(docs.json["docs"][0]["found"], true);
    assert_eq!(docs.json["docs"][1]["found"], false);
}

#[tokio::test]
async fn bulk_reports_per_item_results() {
    let app = TestApp::new();
    let response = app
        .ndjson(
            "POST",
            "/_bulk?refresh=true",
            &[
                json!({"index": {"_index": "b", "_id": "1"}}),
                json!({"n": 1}),
                json!({"create": {"_index": "b", "_id": "1"}}),
                json!({"n": 2}),
                json!({"update": {"_index": "b", "_id": "1"}}),
                json!({"doc": {"n": 3}}),
                json!({"delete": {"_index": "b", "_id": "404"}}),
            ],
        )
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json["errors"], true);
    let items = response.json["items"].as_array().expect("items");
    assert_eq!(items[0]["index"]["status"], 201);
    assert_eq!(items[1]["create"]["status"], 409);
    assert_eq!(items[2]["update"]["result"], "updated");
    assert_eq!(items[3]["delete"]["status"], 404);
    let count = app.call("GET", "/b/_count", None).await;
    assert_eq!(count.json["count"], 1);
}

#[tokio::test]
async fn bad_document_fails_only_its_item() {
    let app = TestApp::new();
    app.call(
        "PUT",
        "/typed",
        Some(json!({"mappings": {"properties": {"price": {"type": "long"}}}})),
    )
    .await;
    let mut body = b"{\"index\":{\"_index\":\"typed\",\"_id\":\"1\"}}\n{\"price\":\"cheap\"}\n".to_vec();
    body.extend(b"{\"index\":{\"_index\":\"typed\",\"_id\":\"2\"}}\n{not json}\n");
    body.extend(b"{\"index\":{\"_index\":\"typed\",\"_id\":\"3\"}}\n{\"price\":7}\n");
    let response = app
        .raw("POST", "/_bulk?refresh=true", "application/x-ndjson", body)
        .await;
    let items = response.json["items"].as_array().expect("items");
    assert_eq!(items[0]["index"]["error"]["type"], "document_parsing_exception");
    assert_eq!(items[1]["index"]["status"], 400);
    assert_eq!(items[2]["index"]["status"], 201);
    assert_eq!(app.call("GET", "/typed/_count", None).await.json["count"], 1);
}

#[tokio::test]
async fn writes_survive_restart() {
    let app = TestApp::new();
    app.call("PUT", "/keep/_doc/1", Some(json!({"title": "kept"}))).await;
    app.call("PUT", "/keep/_doc/2?refresh=true", Some(json!({"title": "also kept"})))
        .await;
    app.call("PUT", "/keep/_doc/3", Some(json!({"title": "unrefreshed"})))
        .await;
    let app = app.reopen();
    for id in ["1", "2", "3"] {
        let got = app.call("GET", &format!("/keep/_doc/{id}"), None).await;
        assert_eq!(got.json["found"], true, "doc {id} lost");
    }
    assert_eq!(app.call("GET", "/keep/_count", None).await.json["count"], 3);
}

#[tokio::test]
async fn doubles_round_trip_exactly() {
    let app = TestApp::new();
    app.call(
        "PUT",
        "/f",
        Some(json!({"mappings": {"properties": {"price": {"type": "double"}}}})),
    )
    .await;
    app.call(
        "PUT",
        "/f/_doc/1?refresh=true",
        Some(json!({"price": 1183.8899999999999})),
    )
    .await;
    let got = app.call("GET", "/f/_doc/1", None).await;
    assert_eq!(got.json["_source"]["price"].as_f64(), Some(1183.8899999999999));
    let exact = app
        .call(
            "POST",
            "/f/_count",
            Some(json!({"query": {"term": {"price": 1183.89}}})),
        )
        .await;
    assert_eq!(exact.json["count"], 0);
}
