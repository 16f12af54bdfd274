//! Named JSON definitions kept in one file and parsed once: ingest pipelines
//! (`<data>/ingest_pipelines.json`) and search pipelines (`<data>/search_pipelines.json`).
//! The file is rewritten atomically on every change; readers see the parsed values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::{Map, Value};

use super::write_atomic;
use crate::error::{Error, Result};

/// A parsed definition that remembers the JSON it was parsed from (returned by `GET`).
pub trait Definition: Sized {
    fn parse(definition: &Value) -> Result<Self>;
    fn definition(&self) -> &Value;
}

pub struct DefinitionStore<T> {
    path: PathBuf,
    items: RwLock<BTreeMap<String, Arc<T>>>,
}

/// Whether `id` matches a comma-separated list of ids or wildcard patterns.
fn matches(pattern: &str, id: &str) -> bool {
    pattern
        .split(',')
        .any(|part| wildmatch::WildMatch::new(part.trim()).matches(id))
}

impl<T: Definition> DefinitionStore<T> {
    /// Loads `<data_folder>/<file_name>` (empty when the file does not exist yet).
    pub fn open(data_folder: &Path, file_name: &str) -> Result<DefinitionStore<T>> {
        let path = data_folder.join(file_name);
        let mut items = BTreeMap::new();
        if path.exists() {
            let stored: Map<String, Value> = serde_json::from_slice(&std::fs::read(&path)?)?;
            for (id, definition) in stored {
                let parsed = T::parse(&definition).map_err(|error| {
                    Error::internal(format!(
                        "stored definition [{id}] in {file_name} is invalid: {}",
                        error.reason
                    ))
                })?;
                items.insert(id, Arc::new(parsed));
            }
        }
        Ok(DefinitionStore {
            path,
            items: RwLock::new(items),
        })
    }

    pub fn get(&self, id: &str) -> Option<Arc<T>> {
        self.items.read().get(id).cloned()
    }

    /// Definitions matching a comma-separated list of ids or wildcards (all when None).
    pub fn matching(&self, pattern: Option<&str>) -> Vec<(String, Arc<T>)> {
        self.items
            .read()
            .iter()
            .filter(|(id, _)| pattern.is_none_or(|pattern| matches(pattern, id)))
            .map(|(id, item)| (id.clone(), item.clone()))
            .collect()
    }

    /// Creates or replaces a definition.
    pub fn put(&self, id: &str, item: T) -> Result<()> {
        if id.is_empty() || id.contains(['*', ',', ' ']) {
            return Err(Error::illegal_argument(format!("invalid pipeline id [{id}]")));
        }
        self.update(|items| {
            items.insert(id.to_string(), Arc::new(item));
            true
        })
    }

    /// Removes the definitions matching `pattern`; returns how many there were.
    pub fn remove_matching(&self, pattern: &str) -> Result<usize> {
        let mut removed = 0;
        self.update(|items| {
            let before = items.len();
            items.retain(|id, _| !matches(pattern, id));
            removed = before - items.len();
            removed > 0
        })?;
        Ok(removed)
    }

    /// Applies `change` to a copy; when it reports a change, writes the file, then swaps the
    /// copy in (a failed write leaves the old definitions in place).
    fn update(&self, change: impl FnOnce(&mut BTreeMap<String, Arc<T>>) -> bool) -> Result<()> {
        let mut items = self.items.write();
        let mut next = items.clone();
        if change(&mut next) {
            let stored: Map<String, Value> = next
                .iter()
                .map(|(id, item)| (id.clone(), item.definition().clone()))
                .collect();
            write_atomic(&self.path, &serde_json::to_vec_pretty(&Value::Object(stored))?)?;
        }
        *items = next;
        Ok(())
    }
}
