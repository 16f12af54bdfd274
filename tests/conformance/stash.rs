//! The stash (`set` values and the last response body under `body`) and object paths
//! (`hits.hits.0._id`, `\.` escapes, `$var` segments, `_arbitrary_key_`).

use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// `${key}` inside a longer string.
static EMBEDDED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\$\{([^}]+)\}").expect("valid stash regex"));

/// Values saved by `set` plus `body`, the last response body.
#[derive(Default)]
pub struct Stash {
    values: Map<String, Value>,
}

impl Stash {
    pub fn set(&mut self, key: &str, value: Value) {
        self.values.insert(key.to_string(), value);
    }

    /// `$key`, `${key}` or a string with embedded `${key}`.
    pub fn is_ref(text: &str) -> bool {
        (text.len() > 1 && text.starts_with('$')) || EMBEDDED.is_match(text)
    }

    /// The value a stash reference stands for. A whole `$key` / `${key}` gives the stashed JSON
    /// value (keys may be paths such as `body.hits.total`); embedded `${key}` gives a string.
    pub fn resolve(&self, text: &str) -> Result<Value, String> {
        if let Some(whole) = EMBEDDED.captures(text).filter(|c| c[0].len() == text.len()) {
            return self.lookup(&whole[1]);
        }
        if EMBEDDED.is_match(text) {
            let mut out = String::new();
            let mut last = 0;
            for caps in EMBEDDED.captures_iter(text) {
                let all = caps.get(0).expect("group 0 always exists");
                out.push_str(&text[last..all.start()]);
                out.push_str(&display(&self.lookup(&caps[1])?));
                last = all.end();
            }
            out.push_str(&text[last..]);
            return Ok(Value::String(out));
        }
        match text.strip_prefix('$') {
            Some(key) if !key.is_empty() => self.lookup(key),
            _ => Ok(Value::String(text.to_string())),
        }
    }

    fn lookup(&self, key: &str) -> Result<Value, String> {
        let parts = split_path(key);
        let found = match parts.split_first() {
            Some((first, rest)) => match self.values.get(first) {
                Some(value) => evaluate_parts(value, rest, &Stash::default())?,
                None => None,
            },
            None => None,
        };
        match found {
            Some(Value::Null) | None => Err(format!("stashed value not found for key [${key}]")),
            Some(value) => Ok(value),
        }
    }

    /// Replaces stash references in every string and object key of `value`.
    pub fn replace(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(text) if Stash::is_ref(text) => self.resolve(text)?,
            Value::Array(items) => Value::Array(items.iter().map(|v| self.replace(v)).collect::<Result<_, _>>()?),
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, item) in map {
                    let key = if Stash::is_ref(key) {
                        display(&self.resolve(key)?)
                    } else {
                        key.clone()
                    };
                    out.insert(key, self.replace(item)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

/// A value as text: strings bare, everything else as JSON.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Splits a path on unescaped dots; `\.` keeps a dot inside a segment.
pub fn split_path(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in path.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            '.' if !escaped => {
                if !current.is_empty() {
                    parts.push(std::mem::take(&mut current));
                }
            }
            _ => {
                escaped = false;
                current.push(c);
            }
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// The value at `path` in `root` (`None` when a key is absent), ES `ObjectPath.evaluate`.
pub fn evaluate(root: &Value, path: &str, stash: &Stash) -> Result<Option<Value>, String> {
    evaluate_parts(root, &split_path(path), stash)
}

fn evaluate_parts(root: &Value, parts: &[String], stash: &Stash) -> Result<Option<Value>, String> {
    let mut current = root;
    let mut owned;
    for part in parts {
        let key = if Stash::is_ref(part) {
            display(&stash.resolve(part)?)
        } else {
            part.clone()
        };
        match current {
            Value::Object(map) if key == "_arbitrary_key_" => {
                let first = map
                    .keys()
                    .next()
                    .ok_or("requested [_arbitrary_key_] but the map was empty")?;
                owned = Value::String(first.clone());
                current = &owned;
            }
            Value::Object(map) => match map.get(&key) {
                Some(next) => current = next,
                None => return Ok(None),
            },
            Value::Array(items) => {
                let index: usize = key
                    .parse()
                    .map_err(|_| format!("element was a list, but [{key}] was not numeric"))?;
                current = items.get(index).ok_or_else(|| {
                    format!(
                        "element was a list with {} elements, but [{key}] was out of bounds",
                        items.len()
                    )
                })?;
            }
            Value::Null => return Ok(None),
            other => return Err(format!("no object found for [{key}] within {other}")),
        }
    }
    Ok(Some(current.clone()))
}
