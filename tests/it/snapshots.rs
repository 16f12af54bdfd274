//! Searches that run while documents are written see one consistent snapshot: the last
//! refresh, never a half-applied batch, and totals that agree with hits and aggregations.

use serde_json::{Value, json};

use crate::common::TestApp;

const BATCH: usize = 50;
const BATCHES: usize = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_during_writes_see_whole_refreshes() {
    let app = std::sync::Arc::new(TestApp::new());
    app.call(
        "PUT",
        "/live",
        Some(json!({"settings": {"refresh_interval": "-1"}, "mappings": {"properties": {"batch": {"type": "long"}}}})),
    )
    .await;
    let writer = {
        let app = app.clone();
        tokio::spawn(async move {
            for batch in 0..BATCHES {
                let mut lines: Vec<Value> = Vec::new();
                for item in 0..BATCH {
                    lines.push(json!({"index": {"_index": "live", "_id": format!("{batch}-{item}")}}));
                    lines.push(json!({"batch": batch}));
                }
                let response = app.ndjson("POST", "/_bulk", &lines).await;
                assert_eq!(response.json["errors"], false);
                app.call("POST", "/live/_refresh", None).await;
            }
        })
    };
    let mut observed = 0;
    while !writer.is_finished() || observed == 0 {
        let response = app
            .call(
                "POST",
                "/live/_search",
                Some(json!({
                    "size": 10_000,
                    "track_total_hits": true,
                    "aggs": {"batches": {"value_count": {"field": "batch"}}}
                })),
            )
            .await;
        let total = response.json["hits"]["total"]["value"].as_u64().expect("total") as usize;
        let hits = response.json["hits"]["hits"].as_array().expect("hits").len();
        assert_eq!(total, hits, "total and hits disagree");
        assert_eq!(total % BATCH, 0, "a search saw part of a bulk request: {total}");
        assert_eq!(
            response.json["aggregations"]["batches"]["value"].as_u64(),
            Some(total as u64)
        );
        observed += 1;
    }
    writer.await.expect("writer");
    let count = app.call("GET", "/live/_count", None).await;
    assert_eq!(count.json["count"], BATCH * BATCHES);
}
