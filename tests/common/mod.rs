//! Test helpers: an in-process app on a temporary data folder, and a request helper that
//! returns status, headers and parsed JSON.

#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// An app and the folder it stores data in (removed on drop).
pub struct TestApp {
    pub router: Router,
    pub folder: tempfile::TempDir,
}

/// A parsed response.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl TestApp {
    pub fn new() -> TestApp {
        TestApp::with_config(iris::config::Config::default())
    }

    /// An app with a custom configuration (its data folder is replaced by a temporary one).
    pub fn with_config(config: iris::config::Config) -> TestApp {
        let folder = tempfile::tempdir().expect("tempdir");
        let router = iris::app(
            iris::AppState::open(iris::config::Config {
                data: folder.path().to_path_buf(),
                ..config
            })
            .expect("open state"),
        );
        TestApp { router, folder }
    }

    /// Reopens the same data folder, as a restart would.
    pub fn reopen(self) -> TestApp {
        let TestApp { router, folder } = self;
        drop(router);
        let router = open_router(folder.path());
        TestApp { router, folder }
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> TestResponse {
        let bytes = body
            .map(|value| serde_json::to_vec(&value).expect("json"))
            .unwrap_or_default();
        self.raw(method, path, "application/json", bytes).await
    }

    pub async fn ndjson(&self, method: &str, path: &str, lines: &[Value]) -> TestResponse {
        let mut bytes = Vec::new();
        for line in lines {
            bytes.extend(serde_json::to_vec(line).expect("json"));
            bytes.push(b'\n');
        }
        self.raw(method, path, "application/x-ndjson", bytes).await
    }

    pub async fn raw(&self, method: &str, path: &str, content_type: &str, bytes: Vec<u8>) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        if !bytes.is_empty() {
            builder = builder.header("content-type", content_type);
        }
        let request = builder.body(Body::from(bytes)).expect("request");
        let response = self.router.clone().oneshot(request).await.expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let collected = response.into_body().collect().await.expect("body").to_bytes();
        let text = String::from_utf8_lossy(&collected).to_string();
        let json = serde_json::from_slice(&collected).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            text,
            json,
        }
    }
}

fn open_router(folder: &std::path::Path) -> Router {
    let config = iris::config::Config {
        data: folder.to_path_buf(),
        ..iris::config::Config::default()
    };
    iris::app(iris::AppState::open(config).expect("open state"))
}
