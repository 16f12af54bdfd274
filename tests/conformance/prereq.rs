//! `skip` / `requires` prerequisites. Iris reports version 9.2.0, has no cluster features,
//! capabilities or x-pack; runner features not listed in `RUNNER_FEATURES` skip the test.

use serde_json::Value;

const IRIS_VERSION: [u64; 3] = [9, 2, 0];

/// Test-runner features this runner implements.
const RUNNER_FEATURES: &[&str] = &[
    "allowed_warnings",
    "allowed_warnings_regex",
    "arbitrary_key",
    "catch_unauthorized",
    "close_to",
    "contains",
    "default_shards",
    "embedded_stash_key",
    "headers",
    "no_xpack",
    "stash_in_key",
    "stash_in_path",
    "stash_path_replace",
    "warnings",
    "warnings_regex",
];

/// Whether a step is a prerequisite (`skip` / `requires`).
pub fn is_prerequisite(step: &Value) -> bool {
    step.as_object()
        .is_some_and(|map| map.keys().all(|k| k == "skip" || k == "requires"))
}

/// `Some(reason)` when the prerequisite step says not to run.
pub fn skip_reason(step: &Value) -> Result<Option<String>, String> {
    let map = step.as_object().ok_or("prerequisite step must be a map")?;
    for (kind, body) in map {
        let reason = body
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or("no reason given")
            .to_string();
        let decision = match kind.as_str() {
            "skip" => check_skip(body)?,
            _ => check_requires(body)?,
        };
        if let Some(why) = decision {
            return Ok(Some(format!("{why} ({reason})")));
        }
    }
    Ok(None)
}

fn check_skip(body: &Value) -> Result<Option<String>, String> {
    if let Some(missing) = missing_features(body.get("features")) {
        return Ok(Some(missing));
    }
    if let Some(issue) = body.get("awaits_fix").and_then(Value::as_str) {
        return Ok(Some(format!("awaits fix {issue}")));
    }
    if let Some(range) = body.get("version").and_then(Value::as_str)
        && version_in_ranges(range)?
    {
        return Ok(Some(format!("version 9.2.0 is in skip range [{range}]")));
    }
    // cluster_features, capabilities, known_issues and os name things Iris doesn't have: run.
    Ok(None)
}

fn check_requires(body: &Value) -> Result<Option<String>, String> {
    if let Some(missing) = missing_features(body.get("test_runner_features")) {
        return Ok(Some(missing));
    }
    if let Some(features) = body.get("cluster_features").filter(|f| !list(Some(f)).is_empty()) {
        return Ok(Some(format!("requires cluster features {features}")));
    }
    if body.get("capabilities").is_some() {
        return Ok(Some("requires capabilities".to_string()));
    }
    Ok(None)
}

fn missing_features(features: Option<&Value>) -> Option<String> {
    let missing: Vec<String> = list(features)
        .into_iter()
        .filter(|feature| !RUNNER_FEATURES.contains(&feature.as_str()))
        .collect();
    (!missing.is_empty()).then(|| format!("runner lacks features {missing:?}"))
}

/// A string or a list of strings.
fn list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// `all`, `7.0.0 - 7.9.99`, ` - 8.0.0`, `8.1.0 - `, comma-separated.
fn version_in_ranges(ranges: &str) -> Result<bool, String> {
    for range in ranges.split(',') {
        let range = range.trim();
        if range == "all" {
            return Ok(true);
        }
        let (low, high) = range
            .split_once('-')
            .ok_or_else(|| format!("bad version range [{range}]"))?;
        let low = parse_version(low.trim())?.unwrap_or([0, 0, 0]);
        let high = parse_version(high.trim())?.unwrap_or([u64::MAX; 3]);
        if low <= IRIS_VERSION && IRIS_VERSION <= high {
            return Ok(true);
        }
    }
    Ok(false)
}

fn parse_version(text: &str) -> Result<Option<[u64; 3]>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    let mut out = [0u64; 3];
    for (slot, part) in out.iter_mut().zip(text.split('.')) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        *slot = digits.parse().map_err(|_| format!("bad version [{text}]"))?;
    }
    Ok(Some(out))
}
