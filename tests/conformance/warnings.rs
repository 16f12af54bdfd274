//! `Warning` response headers (`299 Elasticsearch-9.2.0-... "text"`) against a `do` step's
//! `warnings`, `warnings_regex`, `allowed_warnings` and `allowed_warnings_regex`. As in ES, an
//! expected warning that is absent fails, and so does a warning nobody expected or allowed.

use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

static HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"^\d{3} \S+ "((?:\\.|[^"\\])*)""#).expect("valid warning header regex"));

#[derive(Default)]
pub struct Expectations {
    expected: Vec<String>,
    expected_regex: Vec<Regex>,
    allowed: Vec<String>,
    allowed_regex: Vec<Regex>,
}

impl Expectations {
    pub fn from_do(section: &Map<String, Value>) -> Result<Expectations, String> {
        Ok(Expectations {
            expected: strings(section, "warnings")?,
            expected_regex: regexes(section, "warnings_regex")?,
            allowed: strings(section, "allowed_warnings")?,
            allowed_regex: regexes(section, "allowed_warnings_regex")?,
        })
    }

    pub fn check(&self, headers: &[&str]) -> Result<(), String> {
        let mut missing = self.expected.clone();
        let mut missing_regex: Vec<&Regex> = self.expected_regex.iter().collect();
        let mut unexpected = Vec::new();
        for header in headers.iter().flat_map(|h| split_header(h)) {
            let text = message(&header);
            if let Some(at) = missing.iter().position(|m| *m == text) {
                missing.remove(at);
            } else if let Some(at) = missing_regex.iter().position(|r| r.is_match(&text)) {
                missing_regex.remove(at);
            } else if !self.allowed.contains(&text) && !self.allowed_regex.iter().any(|r| r.is_match(&text)) {
                unexpected.push(header);
            }
        }
        let mut problems = Vec::new();
        if !unexpected.is_empty() {
            problems.push(format!("unexpected warning headers {unexpected:?}"));
        }
        if !missing.is_empty() {
            problems.push(format!("missing expected warnings {missing:?}"));
        }
        if !missing_regex.is_empty() {
            let patterns: Vec<&str> = missing_regex.iter().map(|r| r.as_str()).collect();
            problems.push(format!("no warning matched {patterns:?}"));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

/// One header line may carry several comma-separated warnings.
fn split_header(header: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = header.trim();
    while let Some(found) = HEADER.find(rest) {
        out.push(found.as_str().to_string());
        rest = rest[found.end()..].trim_start();
        // an optional quoted warn-date follows the text
        if let Some(after_date) = rest.strip_prefix('"').and_then(|r| r.split_once('"')).map(|(_, r)| r) {
            rest = after_date.trim_start();
        }
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    if out.is_empty() {
        out.push(header.to_string());
    }
    out
}

/// The unescaped warn-text of a header (the whole header if it isn't in `code agent "text"` form).
fn message(header: &str) -> String {
    match HEADER.captures(header) {
        Some(caps) => caps[1].replace("\\\"", "\"").replace("\\\\", "\\"),
        None => header.to_string(),
    }
}

fn strings(section: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    match section.get(key) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("[{key}] must be a list of strings"))
            })
            .collect(),
        Some(_) => Err(format!("[{key}] must be a list of strings")),
    }
}

/// Warning regexes match the whole message, as Java's `matches()` does.
fn regexes(section: &Map<String, Value>, key: &str) -> Result<Vec<Regex>, String> {
    strings(section, key)?
        .into_iter()
        .map(|pattern| Regex::new(&format!("^(?:{pattern})$")).map_err(|e| format!("bad [{key}] regex: {e}")))
        .collect()
}
