//! Step execution: `do` (catch, headers, warnings, ignore), `set`, and the assertions.

use crate::api::ApiSpec;
use crate::assertions;
use crate::client::Transport;
use crate::prereq;
use crate::response::Response;
use crate::stash::{self, Stash};
use crate::warnings;
use regex::Regex;
use serde_json::{Map, Value};

/// The state of one running section.
pub struct Context<'a> {
    transport: &'a mut dyn Transport,
    spec: &'a ApiSpec,
    stash: Stash,
    last: Option<Response>,
}

impl<'a> Context<'a> {
    pub fn new(transport: &'a mut dyn Transport, spec: &'a ApiSpec) -> Context<'a> {
        Context {
            transport,
            spec,
            stash: Stash::default(),
            last: None,
        }
    }

    /// Runs steps in order; the error names the failing step and shows the last response.
    pub fn run(&mut self, phase: &str, steps: &[Value]) -> Result<(), String> {
        for (index, step) in steps.iter().enumerate() {
            if prereq::is_prerequisite(step) {
                continue;
            }
            if let Err(error) = self.step(step) {
                let yaml = serde_yaml::to_string(step).unwrap_or_else(|_| step.to_string());
                let last = self
                    .last
                    .as_ref()
                    .map_or_else(|| "none".to_string(), Response::describe);
                return Err(format!(
                    "{phase} step {} failed: {error}\n--- step:\n{}--- last response: {last}",
                    index + 1,
                    yaml
                ));
            }
        }
        Ok(())
    }

    fn step(&mut self, step: &Value) -> Result<(), String> {
        let map = step.as_object().ok_or("a step must be a map")?;
        for (kind, body) in map {
            match kind.as_str() {
                "do" => self.run_do(body)?,
                "set" => self.run_set(body)?,
                "is_true" | "is_false" => {
                    let field = body.as_str().ok_or("is_true/is_false takes a field name")?;
                    let actual = self.actual(field)?;
                    if assertions::truthy(actual.as_ref()) != (kind == "is_true") {
                        let shown = actual.map_or_else(|| "absent".to_string(), |v| v.to_string());
                        return Err(format!("field [{field}] is not {}: {shown}", &kind[3..]));
                    }
                }
                "match" | "length" | "contains" | "gt" | "gte" | "lt" | "lte" | "close_to" => {
                    let pairs = body.as_object().ok_or_else(|| format!("{kind} takes a map"))?;
                    for (field, expected) in pairs {
                        let expected = self.stash.replace(expected)?;
                        let actual = self.actual(field)?;
                        let actual = actual.as_ref();
                        match kind.as_str() {
                            "match" => assertions::check_match(field, actual, &expected)?,
                            "length" => assertions::check_length(field, actual, &expected)?,
                            "contains" => assertions::check_contains(field, actual, &expected)?,
                            "close_to" => assertions::check_close_to(field, actual, &expected)?,
                            op => assertions::check_order(op, field, actual, &expected)?,
                        }
                    }
                }
                other => return Err(format!("unsupported step [{other}]")),
            }
        }
        Ok(())
    }

    /// The value an assertion looks at: a stash reference (`$body`, `$var`) or a path in the
    /// last response.
    fn actual(&self, field: &str) -> Result<Option<Value>, String> {
        if Stash::is_ref(field) && field.starts_with('$') {
            return self.stash.resolve(field).map(Some);
        }
        let last = self.last.as_ref().ok_or("no request was made before this assertion")?;
        match last.document() {
            Some(document) => stash::evaluate(&document, field, &self.stash),
            None => Ok(None),
        }
    }

    fn run_set(&mut self, body: &Value) -> Result<(), String> {
        let pairs = body.as_object().ok_or("set takes a map of path: name")?;
        for (path, name) in pairs {
            let name = name.as_str().ok_or("set: the stash name must be a string")?;
            let value = self.actual(path)?.unwrap_or(Value::Null);
            self.stash.set(name, value);
        }
        Ok(())
    }

    fn run_do(&mut self, body: &Value) -> Result<(), String> {
        let section = body.as_object().ok_or("do takes a map")?;
        let catch = section.get("catch").and_then(Value::as_str);
        if catch == Some("param") {
            // ES: the client rejects the call before sending it.
            return Ok(());
        }
        let expectations = warnings::Expectations::from_do(section)?;
        let mut api = None;
        for (key, value) in section {
            match key.as_str() {
                "catch" | "warnings" | "warnings_regex" | "allowed_warnings" | "allowed_warnings_regex" | "headers" => {
                }
                "node_selector" => return Err("node_selector is not supported".to_string()),
                name => api = Some((name, value)),
            }
        }
        let (api, params) = api.ok_or("do without an api call")?;
        let params = self.stash.replace(params)?;
        let mut params = match params {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => return Err(format!("params of [{api}] must be a map, got {other}")),
        };
        let body = params.remove("body");
        let ignore = ignored_statuses(params.remove("ignore"));
        let mut request = self.spec.request(api, &params, body.as_ref())?;
        if let Some(Value::Object(headers)) = section.get("headers") {
            for (name, value) in headers {
                let value = stash::display(&self.stash.replace(value)?);
                request.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
                request.headers.push((name.to_ascii_lowercase(), value));
            }
        }
        let raw = self.transport.send(&request)?;
        let response = Response::new(raw, request.method == "HEAD");
        self.stash.set("body", response.body());
        let result = check_status(catch, &response, &ignore, &request.method, &request.path);
        let warned = expectations.check(&response.header_values("warning"));
        self.last = Some(response);
        result?;
        // ES checks the product header and warning headers of successful calls only.
        if catch.is_none() {
            let last = self.last.as_ref().expect("the response was just stored");
            if !last.header_values("x-elastic-product").contains(&"Elasticsearch") {
                return Err("the response lacks the header X-Elastic-Product: Elasticsearch".to_string());
            }
            warned?;
        }
        Ok(())
    }
}

/// `ignore: 404` or `ignore: [400, 404]`.
fn ignored_statuses(value: Option<Value>) -> Vec<u16> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(status_of).collect(),
        Some(one) => status_of(&one).into_iter().collect(),
        None => Vec::new(),
    }
}

fn status_of(value: &Value) -> Option<u16> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// ES `catch` semantics; without `catch`, any status ≥ 400 fails (HEAD 404 and `ignore` aside).
fn check_status(
    catch: Option<&str>,
    response: &Response,
    ignore: &[u16],
    method: &str,
    path: &str,
) -> Result<(), String> {
    let status = response.status;
    let is_error = status >= 400 && !ignore.contains(&status) && !(response.is_head && status == 404);
    let Some(catch) = catch else {
        return if is_error {
            Err(format!("{method} {path} returned {status}, expected 2xx"))
        } else {
            Ok(())
        };
    };
    if !is_error {
        return Err(format!(
            "{method} {path} returned {status}, expected an error (catch: {catch})"
        ));
    }
    let expected: Option<u16> = match catch {
        "bad_request" => Some(400),
        "unauthorized" => Some(401),
        "forbidden" => Some(403),
        "missing" => Some(404),
        "request_timeout" => Some(408),
        "conflict" => Some(409),
        "gone" => Some(410),
        "unavailable" => Some(503),
        _ => None,
    };
    if let Some(expected) = expected {
        return if status == expected {
            Ok(())
        } else {
            Err(format!(
                "{method} {path} returned {status}, expected {expected} (catch: {catch})"
            ))
        };
    }
    if catch == "request" {
        return if [400, 401, 403, 404, 408, 409, 410].contains(&status) {
            Err(format!(
                "{method} {path} returned {status}; catch: request excludes it (use its specific name)"
            ))
        } else {
            Ok(())
        };
    }
    let pattern = catch
        .strip_prefix('/')
        .and_then(|rest| rest.strip_suffix('/'))
        .ok_or_else(|| format!("unsupported catch value [{catch}]"))?;
    let regex = Regex::new(pattern).map_err(|e| format!("bad catch regex /{pattern}/: {e}"))?;
    let error = response
        .json
        .as_ref()
        .and_then(|json| json.get("error"))
        .ok_or("catch /regex/: the response has no `error`")?;
    let text = stash::display(error);
    if regex.is_match(&text) {
        Ok(())
    } else {
        Err(format!("error {text} does not match /{pattern}/"))
    }
}
