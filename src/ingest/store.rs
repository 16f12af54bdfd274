//! The cluster's ingest pipelines, kept in `<data>/ingest_pipelines.json` (rewritten
//! atomically on every change) and parsed once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use serde_json::{Map, Value};

use super::pipeline::Pipeline;
use crate::error::{Error, ErrorKind, Result};
use crate::store::write_atomic;

const FILE_NAME: &str = "ingest_pipelines.json";

pub struct PipelineStore {
    path: PathBuf,
    pipelines: RwLock<BTreeMap<String, Arc<Pipeline>>>,
}

impl PipelineStore {
    /// Loads the stored pipelines (none on first start).
    pub fn open(data_folder: &Path) -> Result<PipelineStore> {
        let path = data_folder.join(FILE_NAME);
        let mut pipelines = BTreeMap::new();
        if path.exists() {
            let stored: Map<String, Value> = serde_json::from_slice(&std::fs::read(&path)?)?;
            for (id, definition) in stored {
                let pipeline = Pipeline::parse(&definition)
                    .map_err(|error| Error::internal(format!("stored pipeline [{id}] is invalid: {}", error.reason)))?;
                pipelines.insert(id, Arc::new(pipeline));
            }
        }
        Ok(PipelineStore {
            path,
            pipelines: RwLock::new(pipelines),
        })
    }

    /// Creates or replaces a pipeline (already parsed by the caller).
    pub fn put(&self, id: &str, pipeline: Pipeline) -> Result<()> {
        if id.is_empty() || id.contains(['*', ',', ' ']) {
            return Err(Error::illegal_argument(format!("invalid pipeline id [{id}]")));
        }
        let mut pipelines = self.pipelines.write();
        let mut next = pipelines.clone();
        next.insert(id.to_string(), Arc::new(pipeline));
        self.save(&next)?;
        *pipelines = next;
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<Arc<Pipeline>> {
        self.pipelines.read().get(id).cloned()
    }

    /// Pipelines matching a comma-separated list of ids or wildcard patterns (all when None).
    pub fn matching(&self, pattern: Option<&str>) -> Vec<(String, Arc<Pipeline>)> {
        let pipelines = self.pipelines.read();
        pipelines
            .iter()
            .filter(|(id, _)| pattern.is_none_or(|pattern| matches(pattern, id)))
            .map(|(id, pipeline)| (id.clone(), pipeline.clone()))
            .collect()
    }

    /// Deletes the pipelines matching `pattern`; ES's 404 when none does.
    pub fn delete(&self, pattern: &str) -> Result<()> {
        let mut pipelines = self.pipelines.write();
        let mut next = pipelines.clone();
        next.retain(|id, _| !matches(pattern, id));
        if next.len() == pipelines.len() {
            return Err(Error::new(
                ErrorKind::ResourceNotFound,
                format!("pipeline [{pattern}] is missing"),
            ));
        }
        self.save(&next)?;
        *pipelines = next;
        Ok(())
    }

    fn save(&self, pipelines: &BTreeMap<String, Arc<Pipeline>>) -> Result<()> {
        let stored: Map<String, Value> = pipelines
            .iter()
            .map(|(id, pipeline)| (id.clone(), pipeline.definition.clone()))
            .collect();
        write_atomic(&self.path, &serde_json::to_vec_pretty(&Value::Object(stored))?)?;
        Ok(())
    }
}

fn matches(pattern: &str, id: &str) -> bool {
    pattern
        .split(',')
        .any(|part| wildmatch::WildMatch::new(part.trim()).matches(id))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pipelines_survive_a_restart_and_delete_by_pattern() {
        let folder = tempfile::tempdir().expect("temp dir");
        let store = PipelineStore::open(folder.path()).expect("open");
        let definition = json!({"processors": [{"set": {"field": "a", "value": 1}}]});
        store
            .put("p1", Pipeline::parse(&definition).expect("parse"))
            .expect("put");
        store
            .put("p2", Pipeline::parse(&definition).expect("parse"))
            .expect("put");
        store
            .put("other", Pipeline::parse(&definition).expect("parse"))
            .expect("put");
        let reopened = PipelineStore::open(folder.path()).expect("reopen");
        assert_eq!(reopened.get("p1").expect("p1").definition, definition);
        assert_eq!(reopened.matching(Some("p*")).len(), 2);
        reopened.delete("p*").expect("delete");
        assert_eq!(reopened.matching(None).len(), 1);
        assert_eq!(reopened.delete("p1").unwrap_err().reason, "pipeline [p1] is missing");
        assert!(store.put("a*b", Pipeline::parse(&definition).expect("parse")).is_err());
    }
}
