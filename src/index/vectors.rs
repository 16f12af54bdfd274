//! The vector fields of one index: one [`VectorIndex`] per mapped, indexed vector field,
//! keyed by the index's stable document key (`_ord`), stored under `<index>/vectors/`.
//!
//! This is the only place where mapping vocabulary (ES `dense_vector`, OpenSearch
//! `knn_vector`) turns into the engine's configuration and `_score` formula.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::mapping::{
    FieldType, Mapping, VectorElement, VectorIndexKind, VectorParams, VectorQuantization, VectorSimilarity,
};
use super::vector_source::{ApartField, restore};
use crate::error::{Error, Result};
use crate::vector::{ElementType, IndexKind, Quantization, ScoreFormula, Similarity, VectorFieldConfig, VectorIndex};

/// Returns the engine configuration and score formula of a vector field (None until the
/// field knows its dims, or when it is not indexed).
pub fn engine_config(params: &VectorParams) -> Option<(VectorFieldConfig, ScoreFormula)> {
    let dims = params.dims?;
    if !params.indexed {
        return None;
    }
    let element_type = match params.element {
        VectorElement::Float => ElementType::Float,
        VectorElement::Byte => ElementType::Byte,
        VectorElement::Bit => ElementType::Bit,
    };
    let bits = params.element == VectorElement::Bit;
    let (similarity, formula) = match params.similarity {
        VectorSimilarity::Cosine => (Similarity::Cosine, ScoreFormula::EsCosine),
        VectorSimilarity::DotProduct if params.element == VectorElement::Float => {
            (Similarity::DotProduct, ScoreFormula::EsDotProductFloat)
        }
        VectorSimilarity::DotProduct => (Similarity::DotProduct, ScoreFormula::EsDotProductByte { dims }),
        VectorSimilarity::L2Norm if bits => (Similarity::Hamming, ScoreFormula::EsBitHamming { bits: dims }),
        VectorSimilarity::L2Norm => (Similarity::L2Norm, ScoreFormula::EsL2),
        VectorSimilarity::MaxInnerProduct => (Similarity::MaxInnerProduct, ScoreFormula::EsMaxInnerProduct),
        VectorSimilarity::OsL2 => (Similarity::L2Norm, ScoreFormula::OsL2),
        VectorSimilarity::OsCosine => (Similarity::Cosine, ScoreFormula::OsCosine),
        VectorSimilarity::OsInnerProduct => (Similarity::MaxInnerProduct, ScoreFormula::OsInnerProduct),
        VectorSimilarity::OsL1 => (Similarity::L1, ScoreFormula::OsL1),
        VectorSimilarity::OsLInf => (Similarity::LInf, ScoreFormula::OsLInf),
        VectorSimilarity::OsHamming => (Similarity::Hamming, ScoreFormula::OsHamming),
    };
    let index = match params.index_kind {
        VectorIndexKind::Flat => IndexKind::Flat,
        VectorIndexKind::Hnsw { m, ef_construction } => IndexKind::Hnsw { m, ef_construction },
    };
    let quantization = match params.quantization {
        VectorQuantization::None => Quantization::None,
        VectorQuantization::Int8 => Quantization::Int8,
        VectorQuantization::Binary => Quantization::Binary,
    };
    Some((
        VectorFieldConfig {
            dims,
            similarity,
            element_type,
            index,
            quantization,
        },
        formula,
    ))
}

/// Vectors written by one request, inserted together at its end so the graph links them
/// in parallel.
#[derive(Default)]
pub struct PendingVectors {
    by_field: HashMap<String, (VectorParams, Vec<u64>, Vec<f32>)>,
}

impl PendingVectors {
    /// Queues a document's vector.
    pub fn add(&mut self, path: &str, params: &VectorParams, key: u64, vector: &[f32]) {
        let entry = self
            .by_field
            .entry(path.to_string())
            .or_insert_with(|| (params.clone(), Vec::new(), Vec::new()));
        entry.1.push(key);
        entry.2.extend_from_slice(vector);
    }

    /// Drops a queued key (its document was replaced or deleted later in the request).
    pub fn remove(&mut self, key: u64) {
        for (_, keys, vectors) in self.by_field.values_mut() {
            if let Some(position) = keys.iter().position(|queued| *queued == key) {
                let dims = vectors.len() / keys.len();
                keys.remove(position);
                vectors.drain(position * dims..(position + 1) * dims);
            }
        }
    }
}

/// The open vector indexes of one index.
pub struct VectorFields {
    folder: PathBuf,
    open: RwLock<HashMap<String, Arc<VectorIndex>>>,
    compactions: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

/// Share of tombstoned rows at which a field is rebuilt in the background.
pub const COMPACT_DELETED_FRACTION: f64 = 0.3;

fn vector_error(error: crate::vector::VectorError) -> Error {
    Error::internal(format!("vector index failure: {error}"))
}

impl VectorFields {
    /// Opens every vector field the mapping defines (their graphs load as flushed).
    pub fn open(index_folder: &Path, mapping: &Mapping) -> Result<VectorFields> {
        let fields = VectorFields {
            folder: index_folder.join("vectors"),
            open: RwLock::new(HashMap::new()),
            compactions: Mutex::new(Vec::new()),
        };
        for field in mapping.fields() {
            if let FieldType::DenseVector(params) | FieldType::KnnVector(params) = &field.field_type {
                fields.field(&field.path, params)?;
            }
        }
        Ok(fields)
    }

    /// Returns the vector index of a field, opening it on first use.
    pub fn field(&self, path: &str, params: &VectorParams) -> Result<Option<Arc<VectorIndex>>> {
        if let Some(open) = self.open.read().get(path) {
            return Ok(Some(open.clone()));
        }
        let Some((config, _)) = engine_config(params) else {
            return Ok(None);
        };
        let mut open = self.open.write();
        if let Some(existing) = open.get(path) {
            return Ok(Some(existing.clone()));
        }
        // Field paths may hold any character: name the folder by the path's bytes.
        let folder_name: String = path.bytes().map(|byte| format!("{byte:02x}")).collect();
        let index = Arc::new(VectorIndex::open(&self.folder.join(folder_name), config).map_err(vector_error)?);
        open.insert(path.to_string(), index.clone());
        Ok(Some(index))
    }

    /// Adds a document's vector unless the index already holds the key (log replay).
    pub fn insert_missing(&self, path: &str, params: &VectorParams, key: u64, vector: &[f32]) -> Result<()> {
        let Some(index) = self.field(path, params)? else {
            return Ok(());
        };
        if index.contains(key) {
            return Ok(());
        }
        index.insert(key, vector).map_err(vector_error)
    }

    /// Inserts the vectors a request queued, one batch per field.
    pub fn insert_pending(&self, pending: PendingVectors) -> Result<()> {
        for (path, (params, keys, vectors)) in pending.by_field {
            if keys.is_empty() {
                continue;
            }
            if let Some(index) = self.field(&path, &params)? {
                index.insert_batch(&keys, &vectors).map_err(vector_error)?;
            }
        }
        Ok(())
    }

    /// The vector of `key` in the field at `field.path`, as the document gave it (see
    /// `vector_source::restore`).
    pub fn restored(&self, field: &ApartField, key: u64, magnitude: &serde_json::Value) -> Option<Vec<f32>> {
        let stored = self.open.read().get(&field.path)?.stored_vector(key)?;
        Some(restore(stored, magnitude, field.integers))
    }

    /// Removes a document's vectors from every field.
    pub fn delete(&self, key: u64) {
        for index in self.open.read().values() {
            index.delete(key);
        }
    }

    /// Makes every vector index durable (called before each engine commit).
    pub fn flush(&self) -> Result<()> {
        for index in self.open.read().values() {
            index.flush().map_err(vector_error)?;
        }
        Ok(())
    }

    /// Starts a background rebuild of every field where tombstones (deleted or replaced
    /// vectors) make up at least [`COMPACT_DELETED_FRACTION`] of the rows: they slow searches
    /// down and hold memory. Searches and writes go on during the rebuild.
    pub fn compact_if_due(&self) {
        for (path, index) in self.open.read().iter() {
            if index.deleted_fraction() < COMPACT_DELETED_FRACTION || index.compaction_running() {
                continue;
            }
            let index = index.clone();
            let path = path.clone();
            let spawned =
                std::thread::Builder::new()
                    .name("iris-compact".into())
                    .spawn(move || match index.compact() {
                        Ok(()) => tracing::info!(field = path, "compacted vector index"),
                        Err(error) => tracing::warn!(field = path, %error, "vector compaction failed"),
                    });
            match spawned {
                Ok(handle) => {
                    let mut compactions = self.compactions.lock();
                    compactions.retain(|running| !running.is_finished());
                    compactions.push(handle);
                }
                Err(error) => tracing::warn!(%error, "cannot start vector compaction"),
            }
        }
    }

    /// Waits for background compactions (before the index closes: they write its files).
    pub fn wait_for_compactions(&self) {
        let running: Vec<_> = std::mem::take(&mut *self.compactions.lock());
        for handle in running {
            if handle.join().is_err() {
                tracing::warn!("vector compaction panicked");
            }
        }
    }

    /// Returns how many live vectors the fields hold.
    pub fn count(&self) -> u64 {
        self.open.read().values().map(|index| index.len() as u64).sum()
    }

    /// Returns the RAM held by vectors, codes and graphs.
    pub fn memory_bytes(&self) -> u64 {
        self.open.read().values().map(|index| index.memory_bytes()).sum()
    }
}

impl std::fmt::Debug for VectorFields {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("VectorFields")
            .field("folder", &self.folder)
            .field("fields", &self.open.read().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Drop for VectorFields {
    /// An index dropped without `close` (tests reopening a folder) must not leave a
    /// compaction writing its files.
    fn drop(&mut self) {
        self.wait_for_compactions();
    }
}
