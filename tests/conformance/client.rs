//! Where requests go: the in-process Router on a fresh temporary data folder (default), or a
//! live server at `CONFORMANCE_URL` (see `http.rs`).

use axum::body::Body;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// An HTTP request, path and query already encoded.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// An HTTP response as received.
pub struct RawResponse {
    pub status: u16,
    /// Lower-case names, in arrival order (repeated headers such as `warning` kept apart).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub trait Transport {
    fn send(&mut self, request: &Request) -> Result<RawResponse, String>;
}

/// The app in this process, on its own data folder (removed on drop).
pub struct InProcess {
    router: axum::Router,
    runtime: tokio::runtime::Runtime,
    _folder: tempfile::TempDir,
}

impl InProcess {
    pub fn new() -> Result<InProcess, String> {
        let folder = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?;
        let config = iris::config::Config {
            data: folder.path().to_path_buf(),
            ..iris::config::Config::default()
        };
        let state = iris::AppState::open(config).map_err(|e| format!("open app state: {e}"))?;
        Ok(InProcess {
            router: iris::app(state),
            runtime,
            _folder: folder,
        })
    }
}

impl Transport for InProcess {
    fn send(&mut self, request: &Request) -> Result<RawResponse, String> {
        let mut builder = axum::http::Request::builder()
            .method(request.method.as_str())
            .uri(&request.path);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        let http_request = builder
            .body(Body::from(request.body.clone()))
            .map_err(|e| format!("request: {e}"))?;
        let router = self.router.clone();
        self.runtime.block_on(async move {
            let response = router.oneshot(http_request).await.map_err(|e| format!("router: {e}"))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_string(),
                        String::from_utf8_lossy(value.as_bytes()).to_string(),
                    )
                })
                .collect();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("body: {e}"))?
                .to_bytes()
                .to_vec();
            Ok(RawResponse { status, headers, body })
        })
    }
}
