//! What every request and response goes through: media-type checks, the
//! `X-Elastic-Product` header clients verify, `filter_path`/`pretty`, ES-shaped 405s,
//! and one log line per request.

use std::time::Instant;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::extract::Params;
use super::filter_path::filter_path;
use super::response::{ErrorReason, string_error};
use crate::error::{Error, ErrorKind};

const PRODUCT_HEADER: &str = "x-elastic-product";

/// Checks a media type header; returns the `compatible-with` version if vendor-specific.
fn check_media_type(value: &str, header_name: &str) -> Result<Option<u8>, String> {
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let compatible = value
        .split(';')
        .skip(1)
        .filter_map(|parameter| parameter.trim().strip_prefix("compatible-with="))
        .next()
        .map(|version| version.trim().parse::<u8>().map_err(|_| version.to_string()));
    match essence.as_str() {
        "application/json" | "application/x-ndjson" | "*/*" | "" | "text/plain" | "application/*" => Ok(None),
        "application/vnd.elasticsearch+json" | "application/vnd.elasticsearch+x-ndjson" => match compatible {
            Some(Ok(version)) if (7..=9).contains(&version) => Ok(Some(version)),
            Some(Ok(version)) => Err(format!(
                "A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version and the compatible versions must match. Accept={value}, Content-Type={value}; {header_name} version must be either version 9, 8 or 7, but found {version}"
            )),
            Some(Err(raw)) => Err(format!("invalid compatible-with value [{raw}]")),
            None => Ok(None),
        },
        _ => Err(String::new()),
    }
}

fn wants_vendor_type(headers: &HeaderMap) -> Option<u8> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    accept
        .split(',')
        .find_map(|part| check_media_type(part, "Accept").ok().flatten())
}

/// The ES-compatibility layer around every route.
pub async fn es_layer(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let uri = request.uri().clone();
    let params = Params::parse(uri.path(), uri.query());
    if let Some(rejection) = reject_media_types(request.headers()) {
        return finish(rejection, &method, uri.path(), started, None);
    }
    let vendor_version = wants_vendor_type(request.headers());
    let mut response = next.run(request).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED && response.extensions().get::<ErrorReason>().is_none() {
        let allowed = response
            .headers()
            .get(header::ALLOW)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
            .replace(',', ", ");
        response = string_error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: [{allowed}]"),
        );
    }
    let wants_filter = params.get("filter_path").is_some() || params.bool("pretty", false).unwrap_or(false);
    if wants_filter && method != Method::HEAD {
        response = rewrite_json(response, &params).await;
    }
    finish(response, &method, uri.path(), started, vendor_version)
}

fn reject_media_types(headers: &HeaderMap) -> Option<Response> {
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let text = content_type.to_str().unwrap_or("");
        if let Err(detail) = check_media_type(text, "Content-Type") {
            if detail.is_empty() {
                return Some(string_error(
                    StatusCode::NOT_ACCEPTABLE,
                    format!("Content-Type header [{text}] is not supported"),
                ));
            }
            let error = Error::new(
                ErrorKind::MediaTypeHeader,
                "Invalid media-type value on headers [Content-Type, Accept]",
            )
            .caused_by(Error::new(ErrorKind::Status, detail));
            return Some(error.into_response());
        }
    }
    if let Some(accept) = headers.get(header::ACCEPT) {
        let text = accept.to_str().unwrap_or("");
        for part in text.split(',') {
            if let Err(detail) = check_media_type(part, "Accept")
                && !detail.is_empty()
            {
                let error = Error::new(
                    ErrorKind::MediaTypeHeader,
                    "Invalid media-type value on headers [Content-Type, Accept]",
                )
                .caused_by(Error::new(ErrorKind::Status, detail));
                return Some(error.into_response());
            }
        }
    }
    None
}

async fn rewrite_json(response: Response, params: &Params) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("json"));
    if !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    if let Some(filters) = params.get("filter_path") {
        value = filter_path(&value, filters);
    }
    let rendered = if params.bool("pretty", false).unwrap_or(false) {
        let mut text = serde_json::to_vec_pretty(&value).unwrap_or_default();
        text.push(b'\n');
        text
    } else {
        serde_json::to_vec(&value).unwrap_or_default()
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(rendered))
}

fn finish(
    mut response: Response,
    method: &Method,
    path: &str,
    started: Instant,
    vendor_version: Option<u8>,
) -> Response {
    let headers = response.headers_mut();
    headers.insert(PRODUCT_HEADER, HeaderValue::from_static("Elasticsearch"));
    if let Some(version) = vendor_version {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if is_json
            && let Ok(value) =
                HeaderValue::from_str(&format!("application/vnd.elasticsearch+json;compatible-with={version}"))
        {
            headers.insert(header::CONTENT_TYPE, value);
        }
    }
    let status = response.status().as_u16();
    let took_us = started.elapsed().as_micros() as u64;
    if status >= 500 {
        let reason = response
            .extensions()
            .get::<ErrorReason>()
            .map(|reason| reason.0.clone())
            .unwrap_or_default();
        tracing::error!(%method, path, status, took_us, reason, "request failed");
    } else {
        tracing::info!(%method, path, status, took_us, "request");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_compatible_vendor_types() {
        assert_eq!(
            check_media_type("application/vnd.elasticsearch+json; compatible-with=9", "Accept"),
            Ok(Some(9))
        );
        assert_eq!(
            check_media_type("application/vnd.elasticsearch+x-ndjson;compatible-with=8", "Accept"),
            Ok(Some(8))
        );
        assert_eq!(check_media_type("application/json; charset=UTF-8", "Accept"), Ok(None));
        assert!(check_media_type("application/vnd.elasticsearch+json; compatible-with=6", "Accept").is_err());
        assert_eq!(
            check_media_type("application/x-www-form-urlencoded", "Content-Type"),
            Err(String::new())
        );
    }
}
