//! Request extractors whose failures are ES-shaped errors: query parameters, path
//! parameters and the body (with the configured size limit).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};

/// Parameters every ES endpoint accepts.
const COMMON_PARAMS: &[&str] = &[
    "pretty",
    "human",
    "error_trace",
    "filter_path",
    "source",
    "source_content_type",
    "format",
];

/// Query-string parameters, percent-decoded.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub path: String,
    values: HashMap<String, String>,
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        index += 1;
                    }
                }
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Params {
    /// Parses a raw query string.
    pub fn parse(path: &str, query: Option<&str>) -> Params {
        let mut values = HashMap::new();
        for pair in query.unwrap_or("").split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            values.insert(percent_decode(key), percent_decode(value));
        }
        Params {
            path: path.to_string(),
            values,
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Rejects parameters the endpoint does not know, with ES's message.
    pub fn check_allowed(&self, allowed: &[&str]) -> Result<()> {
        let mut unknown: Vec<&str> = self
            .values
            .keys()
            .map(String::as_str)
            .filter(|key| !allowed.contains(key) && !COMMON_PARAMS.contains(key))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        unknown.sort_unstable();
        let noun = if unknown.len() == 1 { "parameter" } else { "parameters" };
        Err(Error::illegal_argument(format!(
            "request [{}] contains unrecognized {noun}: [{}]",
            self.path,
            unknown.join("], [")
        )))
    }

    /// Parses an ES boolean parameter: "", "true" → true; "false" → false.
    pub fn bool(&self, name: &str, default: bool) -> Result<bool> {
        match self.get(name) {
            None => Ok(default),
            Some("") | Some("true") => Ok(true),
            Some("false") => Ok(false),
            Some(other) => Err(Error::illegal_argument(format!(
                "Failed to parse value [{other}] as only [true] or [false] are allowed."
            ))),
        }
    }

    /// Parses an unsigned integer parameter.
    pub fn u64(&self, name: &str) -> Result<Option<u64>> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                Error::illegal_argument(format!("Failed to parse int parameter [{name}] with value [{text}]"))
            }),
        }
    }

    /// Parses a signed integer parameter.
    pub fn i64(&self, name: &str) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => text.parse().map(Some).map_err(|_| {
                Error::illegal_argument(format!("Failed to parse int parameter [{name}] with value [{text}]"))
            }),
        }
    }

    /// Returns a comma-separated list parameter.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|text| {
            text.split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(str::to_string)
                .collect()
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Params> {
        Ok(Params::parse(parts.uri.path(), parts.uri.query()))
    }
}

/// Path parameters by name (`{index}`, `{id}`), percent-decoded.
#[derive(Debug, Clone, Default)]
pub struct PathParams(HashMap<String, String>);

impl PathParams {
    /// Returns a path parameter the route declares.
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<PathParams> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| Error::illegal_argument(format!("invalid path: {rejection}")))?;
        Ok(PathParams(
            raw.iter()
                .map(|(key, value)| (key.to_string(), value.to_string()))
                .collect(),
        ))
    }
}

/// The raw request body, read once, within the configured size limit.
#[derive(Debug, Clone, Default)]
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Body> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(Body(bytes)),
            Err(rejection) => {
                let status = rejection.status().as_u16();
                let mut error = Error::new(
                    if status == 413 {
                        ErrorKind::ContentTooLong
                    } else {
                        ErrorKind::IllegalArgument
                    },
                    if status == 413 {
                        "request body is larger than the configured limit [max_content_length_bytes]".to_string()
                    } else {
                        format!("failed to read request body: {rejection}")
                    },
                );
                error.status_override = Some(status);
                Err(error)
            }
        }
    }
}

impl Body {
    /// Returns true when the body is empty or whitespace.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(u8::is_ascii_whitespace)
    }

    /// Parses the body as one JSON value; an empty body is None.
    pub fn json(&self) -> Result<Option<Value>> {
        if self.is_empty() {
            return Ok(None);
        }
        parse_json(&self.0).map(Some)
    }

    /// Parses the body as a JSON object, required.
    pub fn required_json(&self) -> Result<Value> {
        self.json()?.ok_or_else(|| Error::parsing("request body is required"))
    }
}

/// Parses JSON bytes; failures are `x_content_parse_exception` with a line:column.
pub fn parse_json(bytes: &[u8]) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|error| {
        Error::new(
            ErrorKind::XContentParse,
            format!("[{}:{}] {}", error.line(), error.column(), json_error_text(&error)),
        )
    })
}

fn json_error_text(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => format!("Unexpected character or end of input: {}", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_checks_parameters() {
        let params = Params::parse("/_search", Some("q=title%3Ared+shoes&size=5&bogus=1"));
        assert_eq!(params.get("q"), Some("title:red shoes"));
        assert_eq!(params.u64("size").expect("size"), Some(5));
        let error = params.check_allowed(&["q", "size"]).unwrap_err();
        assert_eq!(
            error.reason,
            "request [/_search] contains unrecognized parameter: [bogus]"
        );
    }

    #[test]
    fn parses_es_booleans() {
        let params = Params::parse("/", Some("a&b=false&c=maybe"));
        assert!(params.bool("a", false).expect("a"));
        assert!(!params.bool("b", true).expect("b"));
        assert!(params.bool("c", true).is_err());
    }
}
