//! What handlers return: a status plus a JSON (or text) body. Errors render as the ES
//! envelope; the middleware adds the headers every response carries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::Error;

/// A handler's answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: ReplyBody,
}

#[derive(Debug)]
pub enum ReplyBody {
    Json(Value),
    Text(String),
    Empty,
}

/// Marker extension: the response is an error (the middleware logs 5xx once).
#[derive(Debug, Clone)]
pub struct ErrorReason(pub String);

impl Reply {
    pub fn ok(body: Value) -> Reply {
        Reply::json(StatusCode::OK, body)
    }

    pub fn json(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body: ReplyBody::Json(body),
        }
    }

    pub fn text(status: StatusCode, body: String) -> Reply {
        Reply {
            status,
            body: ReplyBody::Text(body),
        }
    }

    /// An answer to HEAD: status only.
    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            body: ReplyBody::Empty,
        }
    }

    /// `{"acknowledged": true}`.
    pub fn acknowledged() -> Reply {
        Reply::ok(serde_json::json!({"acknowledged": true}))
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self.body {
            ReplyBody::Json(value) => {
                let bytes = serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec());
                let mut response = (self.status, bytes).into_response();
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                response
            }
            ReplyBody::Text(text) => {
                let mut response = (self.status, text).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=UTF-8"),
                );
                response
            }
            ReplyBody::Empty => self.status.into_response(),
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = Reply::json(status, self.to_envelope()).into_response();
        response.extensions_mut().insert(ErrorReason(self.to_string()));
        response
    }
}

/// A string-form error body, as ES uses for routing failures (405, no handler).
pub fn string_error(status: StatusCode, message: String) -> Response {
    Reply::json(status, serde_json::json!({"error": message, "status": status.as_u16()})).into_response()
}
