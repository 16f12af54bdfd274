//! The cluster's ingest pipelines, kept in `<data>/ingest_pipelines.json`
//! (`store::definitions`) and parsed once.

use serde_json::Value;

use super::pipeline::Pipeline;
use crate::error::{Error, ErrorKind, Result};
use crate::store::definitions::{Definition, DefinitionStore};

pub type PipelineStore = DefinitionStore<Pipeline>;

/// The file the pipelines live in, under the data folder.
pub const FILE_NAME: &str = "ingest_pipelines.json";

impl Definition for Pipeline {
    fn parse(definition: &Value) -> Result<Pipeline> {
        Pipeline::parse(definition)
    }

    fn definition(&self) -> &Value {
        &self.definition
    }
}

/// Deletes the pipelines matching `pattern`; ES's 404 when none does.
pub fn delete_pipelines(store: &PipelineStore, pattern: &str) -> Result<()> {
    if store.remove_matching(pattern)? == 0 {
        return Err(Error::new(
            ErrorKind::ResourceNotFound,
            format!("pipeline [{pattern}] is missing"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pipelines_survive_a_restart_and_delete_by_pattern() {
        let folder = tempfile::tempdir().expect("temp dir");
        let store = PipelineStore::open(folder.path(), FILE_NAME).expect("open");
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
        let reopened = PipelineStore::open(folder.path(), FILE_NAME).expect("reopen");
        assert_eq!(reopened.get("p1").expect("p1").definition, definition);
        assert_eq!(reopened.matching(Some("p*")).len(), 2);
        delete_pipelines(&reopened, "p*").expect("delete");
        assert_eq!(reopened.matching(None).len(), 1);
        assert_eq!(
            delete_pipelines(&reopened, "p1").unwrap_err().reason,
            "pipeline [p1] is missing"
        );
        assert!(store.put("a*b", Pipeline::parse(&definition).expect("parse")).is_err());
    }
}
