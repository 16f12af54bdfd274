//! Durability: a real `iris serve` process is killed with SIGKILL in the middle of a bulk
//! load; after a restart every acknowledged document must be there and readable.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start(data: &std::path::Path, port: u16) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_iris"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .env("IRIS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn iris");
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("iris did not start listening on {port}");
}

/// Sends one HTTP/1.1 request and returns (status, body).
fn request(port: u16, method: &str, path: &str, content_type: &str, body: &[u8]) -> std::io::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            content_length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; content_length];
    reader.read_exact(&mut body)?;
    Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

#[test]
fn acknowledged_documents_survive_sigkill_during_bulk_load() {
    let folder = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut server = start(folder.path(), port);
    let (status, _) = request(
        port,
        "PUT",
        "/crash",
        "application/json",
        br#"{"settings":{"index":{"refresh_interval":"200ms"}},"mappings":{"properties":{"vec":{"type":"dense_vector","dims":4,"similarity":"l2_norm"}}}}"#,
    )
    .expect("create");
    assert_eq!(status, 200);
    // A writer thread sends batches; the main thread kills the server mid-stream.
    let writer = std::thread::spawn(move || {
        let mut acknowledged: Vec<String> = Vec::new();
        for batch in 0..10_000 {
            let mut body = Vec::new();
            for item in 0..50 {
                let id = format!("{batch}-{item}");
                body.extend(serde_json::to_vec(&json!({"index": {"_index": "crash", "_id": id}})).expect("json"));
                body.push(b'\n');
                body.extend(
                    serde_json::to_vec(&json!({"caption": format!("photo {id}"), "n": batch, "vec": [batch as f32, item as f32, 1.0, 0.0]}))
                        .expect("json"),
                );
                body.push(b'\n');
            }
            match request(port, "POST", "/_bulk", "application/x-ndjson", &body) {
                Ok((200, response)) => {
                    for item in response["items"].as_array().into_iter().flatten() {
                        if item["index"]["status"].as_u64().is_some_and(|code| code < 300) {
                            acknowledged.push(item["index"]["_id"].as_str().unwrap_or_default().to_string());
                        }
                    }
                }
                _ => break,
            }
        }
        acknowledged
    });
    std::thread::sleep(Duration::from_millis(1500));
    server.kill().expect("SIGKILL");
    server.wait().expect("reap");
    let acknowledged = writer.join().expect("writer thread");
    assert!(
        acknowledged.len() >= 50,
        "the load acknowledged too little before the kill: {}",
        acknowledged.len()
    );

    let mut restarted = start(folder.path(), port);
    let (status, count) = request(port, "GET", "/crash/_count", "application/json", b"").expect("count");
    assert_eq!(status, 200);
    assert!(count["count"].as_u64().expect("count") >= acknowledged.len() as u64);
    let mut missing = Vec::new();
    for chunk in acknowledged.chunks(500) {
        let body = serde_json::to_vec(&json!({"ids": chunk})).expect("json");
        let (_, docs) = request(port, "POST", "/crash/_mget", "application/json", &body).expect("mget");
        for doc in docs["docs"].as_array().expect("docs") {
            if doc["found"] != true || doc["_source"]["caption"].as_str().is_none() {
                missing.push(doc["_id"].clone());
            }
        }
    }
    // Every acknowledged vector is searchable after the restart too.
    let k = acknowledged.len().min(10_000);
    let knn = serde_json::to_vec(&json!({"knn": {"field": "vec", "query_vector": [0.0, 0.0, 1.0, 0.0], "k": k, "num_candidates": 10_000}, "size": 0, "track_total_hits": true}))
        .expect("json");
    let (status, found) = request(port, "POST", "/crash/_search", "application/json", &knn).expect("knn");
    assert_eq!(status, 200, "{found}");
    assert_eq!(
        found["hits"]["total"]["value"].as_u64(),
        Some(k as u64),
        "kNN after restart: {found}"
    );
    restarted.kill().expect("stop");
    restarted.wait().expect("reap");
    assert!(
        missing.is_empty(),
        "{} acknowledged documents lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}
