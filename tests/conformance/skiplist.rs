//! `tests/rest/skip.yml`: known differences, as a list of `{test: "<file>::<section>", reason}`.
//! Listed tests still run; their failure is reported as skipped, their success as a notice so
//! the entry can go.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    test: String,
    reason: String,
}

/// Test name → reason.
pub fn load(path: &Path) -> Result<BTreeMap<String, String>, String> {
    if !path.exists() {
        return Ok(BTreeMap::new());
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let entries: Option<Vec<Entry>> = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BTreeMap::new();
    for entry in entries.unwrap_or_default() {
        if entry.reason.trim().is_empty() {
            return Err(format!("skip.yml: entry [{}] needs a reason", entry.test));
        }
        if out.insert(entry.test.clone(), entry.reason).is_some() {
            return Err(format!("skip.yml: [{}] is listed twice", entry.test));
        }
    }
    Ok(out)
}
