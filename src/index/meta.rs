//! What an index remembers besides its documents: name, settings, mapping, aliases and
//! the text-slot assignment. Persisted as `meta.json`, replaced atomically.

use super::source_filter::SourceFilter;
use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::mapping::{FieldType, Mapping};
use super::schema::TEXT_SLOTS;
use super::settings::IndexSettings;
use crate::error::{Error, Result};
use crate::store::write_atomic;

/// An alias as `_aliases` actions define it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AliasDef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_routing: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search_routing: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_write_index: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_hidden: Option<bool>,
}

/// The serialized form of [`IndexState`].
#[derive(Debug, Serialize, Deserialize)]
struct StoredMeta {
    name: String,
    uuid: String,
    creation_date_ms: i64,
    settings: Value,
    mappings: Value,
    aliases: BTreeMap<String, AliasDef>,
    text_slots: BTreeMap<String, usize>,
}

/// Mutable metadata of an open index.
#[derive(Debug, Clone)]
pub struct IndexState {
    pub name: String,
    pub uuid: String,
    pub creation_date_ms: i64,
    pub settings: IndexSettings,
    pub mapping: Mapping,
    pub aliases: BTreeMap<String, AliasDef>,
    /// ES text field path → tantivy text slot.
    pub text_slots: BTreeMap<String, usize>,
}

impl IndexState {
    /// The vector fields a response leaves out of `_source` under `filter`: all of them unless
    /// the request asks for `exclude_vectors: false` or the index sets
    /// `index.mapping.exclude_source_vectors: false` (ES 9.2 behaviour).
    pub fn hidden_source_vectors(&self, filter: &SourceFilter) -> Vec<String> {
        if !filter.exclude_vectors.unwrap_or_else(|| self.excludes_source_vectors()) {
            return Vec::new();
        }
        self.vector_paths()
    }

    /// `index.mapping.exclude_source_vectors` (default true, as for indices created on 9.2).
    pub fn excludes_source_vectors(&self) -> bool {
        self.settings.get("mapping.exclude_source_vectors") != Some("false")
    }

    /// The vector fields whose values the engine stores apart from `_source`.
    pub fn apart_vector_fields(&self) -> Vec<super::vector_source::ApartField> {
        if !self.excludes_source_vectors() {
            return Vec::new();
        }
        super::vector_source::apart_fields(&self.mapping)
    }

    /// Paths of the `dense_vector` and `knn_vector` fields.
    pub fn vector_paths(&self) -> Vec<String> {
        self.mapping
            .fields()
            .filter(|field| matches!(field.field_type, FieldType::DenseVector(_) | FieldType::KnnVector(_)))
            .map(|field| field.path.clone())
            .collect()
    }

    /// Gives every text field of the mapping a slot; errors when slots run out.
    pub fn assign_text_slots(&mut self) -> Result<()> {
        let text_paths: Vec<String> = self
            .mapping
            .fields()
            .filter(|field| matches!(field.field_type, FieldType::Text { .. }))
            .map(|field| field.path.clone())
            .collect();
        for path in text_paths {
            if self.text_slots.contains_key(&path) {
                continue;
            }
            let used: std::collections::BTreeSet<usize> = self.text_slots.values().copied().collect();
            let Some(free) = (0..TEXT_SLOTS).find(|slot| !used.contains(slot)) else {
                return Err(Error::illegal_argument(format!(
                    "Limit of text fields [{TEXT_SLOTS}] in index [{}] has been exceeded while adding new field [{path}]",
                    self.name
                )));
            };
            self.text_slots.insert(path, free);
        }
        Ok(())
    }

    /// Writes `meta.json` atomically into `folder`.
    pub fn save(&self, folder: &Path) -> Result<()> {
        let stored = StoredMeta {
            name: self.name.clone(),
            uuid: self.uuid.clone(),
            creation_date_ms: self.creation_date_ms,
            settings: self.settings.to_json(),
            mappings: self.mapping.to_json(),
            aliases: self.aliases.clone(),
            text_slots: self.text_slots.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&stored)
            .map_err(|error| Error::internal(format!("cannot encode index metadata: {error}")))?;
        write_atomic(&folder.join("meta.json"), &bytes)?;
        Ok(())
    }

    /// Reads `meta.json` from `folder`.
    pub fn load(folder: &Path) -> Result<IndexState> {
        let bytes = std::fs::read(folder.join("meta.json"))?;
        let stored: StoredMeta = serde_json::from_slice(&bytes)
            .map_err(|error| Error::internal(format!("corrupt index metadata in {}: {error}", folder.display())))?;
        let settings = IndexSettings::from_stored(&stored.settings);
        Ok(IndexState {
            name: stored.name,
            uuid: stored.uuid,
            creation_date_ms: stored.creation_date_ms,
            settings,
            mapping: Mapping::parse(&stored.mappings)?,
            aliases: stored.aliases,
            text_slots: stored.text_slots,
        })
    }
}
