//! `do: <api>: {params}` → HTTP request, resolved through `api-spec/openapi.yaml`: every
//! operation carries `x-es-api`; the path template decides which params go in the path.

use crate::client::Request;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// APIs whose body is newline-delimited JSON.
const NDJSON_APIS: &[&str] = &["bulk", "msearch"];

/// One method + path template of an API.
struct Operation {
    method: String,
    template: String,
    /// `{name}` parts of the template, in order.
    parts: Vec<String>,
}

/// Every operation of the OpenAPI file, grouped by ES API name.
pub struct ApiSpec {
    apis: BTreeMap<String, Vec<Operation>>,
}

impl ApiSpec {
    pub fn load(path: &Path) -> Result<ApiSpec, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))?;
        let paths = doc
            .get("paths")
            .and_then(|p| p.as_mapping())
            .ok_or("openapi.yaml has no `paths` map")?;
        let mut apis: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
        for (template, methods) in paths {
            let template = template.as_str().ok_or("non-string path in openapi.yaml")?;
            let Some(methods) = methods.as_mapping() else { continue };
            for (method, operation) in methods {
                let (Some(method), Some(api)) = (method.as_str(), operation.get("x-es-api").and_then(|a| a.as_str()))
                else {
                    continue;
                };
                apis.entry(api.to_string()).or_default().push(Operation {
                    method: method.to_ascii_uppercase(),
                    template: template.to_string(),
                    parts: template_parts(template),
                });
            }
        }
        Ok(ApiSpec { apis })
    }

    /// Builds the request for `api` with `params` (already unstashed; `body` and `ignore` removed).
    pub fn request(&self, api: &str, params: &Map<String, Value>, body: Option<&Value>) -> Result<Request, String> {
        let operations = self
            .apis
            .get(api)
            .ok_or_else(|| format!("api [{api}] is not in api-spec/openapi.yaml"))?;
        let best = operations
            .iter()
            .filter(|op| op.parts.iter().all(|part| params.contains_key(part)))
            .map(|op| (op.parts.len(), std::cmp::Reverse(op.template.len()), op))
            .max_by_key(|(parts, length, _)| (*parts, *length))
            .map(|(_, _, op)| op)
            .ok_or_else(|| {
                format!(
                    "api [{api}]: no path of the spec can be built from params {:?}",
                    params.keys()
                )
            })?;
        let candidates: Vec<&Operation> = operations.iter().filter(|op| op.template == best.template).collect();
        let method = choose_method(api, params.contains_key("id"), body.is_some(), &candidates);

        let mut path = best.template.clone();
        for part in &best.parts {
            let value = param_text(&params[part]);
            path = path.replace(&format!("{{{part}}}"), &encode(&value));
        }
        let query: Vec<String> = params
            .iter()
            .filter(|(name, _)| !best.parts.contains(name))
            .map(|(name, value)| format!("{}={}", encode(name), encode(&param_text(value))))
            .collect();
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        let (content_type, bytes) = match body {
            None => (None, Vec::new()),
            Some(body) if NDJSON_APIS.contains(&api) => (Some("application/x-ndjson"), ndjson(body)),
            Some(Value::String(text)) => (Some("application/json"), text.clone().into_bytes()),
            Some(body) => (Some("application/json"), body.to_string().into_bytes()),
        };
        let mut headers = Vec::new();
        if let Some(content_type) = content_type {
            headers.push(("content-type".to_string(), content_type.to_string()));
        }
        Ok(Request {
            method,
            path,
            headers,
            body: bytes,
        })
    }
}

/// ES's client choices: `index`/`create` use PUT with an id and POST without; a body prefers
/// POST then PUT; no body prefers GET, HEAD, then the others.
fn choose_method(api: &str, has_id: bool, has_body: bool, candidates: &[&Operation]) -> String {
    let order: &[&str] = match (api, has_body) {
        ("index" | "create", _) if has_id => &["PUT", "POST"],
        ("index" | "create", _) => &["POST", "PUT"],
        (_, true) => &["POST", "PUT", "GET", "DELETE", "HEAD"],
        (_, false) => &["GET", "HEAD", "POST", "PUT", "DELETE"],
    };
    order
        .iter()
        .find(|method| candidates.iter().any(|op| op.method == **method))
        .map(|method| method.to_string())
        .unwrap_or_else(|| candidates[0].method.clone())
}

fn template_parts(template: &str) -> Vec<String> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_string()))
        .collect()
}

/// A param value as the ES clients send it: lists joined with commas, booleans as words.
fn param_text(value: &Value) -> String {
    match value {
        Value::Array(items) => items.iter().map(param_text).collect::<Vec<_>>().join(","),
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Percent-encodes everything but unreserved characters and `,` `*` (kept readable in logs).
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' | b'*' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A bulk/msearch body: a list of objects or strings, one line each, or a ready string.
fn ndjson(body: &Value) -> Vec<u8> {
    let mut text = match body {
        Value::Array(lines) => lines
            .iter()
            .map(|line| match line {
                Value::String(raw) => raw.trim_end_matches('\n').to_string(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.into_bytes()
}
