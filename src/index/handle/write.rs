//! The write path of an index: version checks, the WAL record, the tantivy add/delete and
//! the realtime entry, for each operation of a request, under the writer lock.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Map, Value};
use tantivy::Term;

use super::{DocVersion, IndexHandle, LiveEntry, WriteSide};
use crate::error::{Error, ErrorKind, Result};
use crate::index::document::{DocumentWalk, parse_document};
use crate::index::tantivy_doc::build_tantivy_document;
use crate::store::{WalOp, WalRecord};

/// What a write asks for.
#[derive(Debug, Clone)]
pub enum WriteOp {
    Index {
        id: String,
        source: Vec<u8>,
        create_only: bool,
        if_seq_no: Option<u64>,
        if_primary_term: Option<u64>,
    },
    Delete {
        id: String,
        if_seq_no: Option<u64>,
        if_primary_term: Option<u64>,
    },
    Update {
        id: String,
        doc: Option<Map<String, Value>>,
        upsert: Option<Map<String, Value>>,
        doc_as_upsert: bool,
        detect_noop: bool,
        if_seq_no: Option<u64>,
        if_primary_term: Option<u64>,
    },
}

/// What a successful write did, as ES reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    Created,
    Updated,
    Deleted,
    NotFound,
    Noop,
}

impl WriteOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            WriteOutcome::Created => "created",
            WriteOutcome::Updated => "updated",
            WriteOutcome::Deleted => "deleted",
            WriteOutcome::NotFound => "not_found",
            WriteOutcome::Noop => "noop",
        }
    }
}

/// The answer for one write.
#[derive(Debug, Clone)]
pub struct WriteResult {
    pub id: String,
    pub version: u64,
    pub seq_no: u64,
    pub outcome: WriteOutcome,
    /// The source after an update (for `_source` in update responses).
    pub source: Option<Arc<Vec<u8>>>,
}

impl IndexHandle {
    /// Applies writes in order, each succeeding or failing on its own, and makes every
    /// success durable (one WAL fsync) before returning.
    pub fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<Result<WriteResult>>> {
        if self.is_deleted() {
            return Err(Error::index_not_found(&self.name()));
        }
        let mut side = self.write_side.lock();
        let mut results = Vec::with_capacity(ops.len());
        let mut logged = 0usize;
        for op in ops {
            let result = self.apply_one(&mut side, op);
            if let Ok(done) = &result
                && done.outcome != WriteOutcome::Noop
                && done.outcome != WriteOutcome::NotFound
            {
                logged += 1;
            }
            results.push(result);
        }
        if logged > 0 {
            side.wal.sync()?;
            side.dirty = true;
        }
        let pending = std::mem::take(&mut side.pending_vectors);
        self.vectors().insert_pending(pending)?;
        Ok(results)
    }

    fn check_conditions(
        &self,
        id: &str,
        current: Option<&DocVersion>,
        if_seq_no: Option<u64>,
        if_primary_term: Option<u64>,
    ) -> Result<()> {
        let Some(expected_seq_no) = if_seq_no else {
            return Ok(());
        };
        let expected_term = if_primary_term.unwrap_or(1);
        match current {
            Some(current) if current.seq_no == expected_seq_no && expected_term == 1 => Ok(()),
            Some(current) => Err(self.version_conflict(id, format!(
                "required seqNo [{expected_seq_no}], primary term [{expected_term}]. current document has seqNo [{}] and primary term [1]",
                current.seq_no
            ))),
            None => Err(self.version_conflict(id, format!(
                "required seqNo [{expected_seq_no}], primary term [{expected_term}] but no document was found"
            ))),
        }
    }

    fn version_conflict(&self, id: &str, detail: String) -> Error {
        Error::new(
            ErrorKind::VersionConflict,
            format!("[{id}]: version conflict, {detail}"),
        )
        .with_meta("index_uuid", self.uuid.clone())
        .with_meta("shard", "0")
        .with_meta("index", self.name())
    }

    fn apply_one(&self, side: &mut WriteSide, op: WriteOp) -> Result<WriteResult> {
        match op {
            WriteOp::Index {
                id,
                source,
                create_only,
                if_seq_no,
                if_primary_term,
            } => {
                let current = self.get(&id)?;
                if create_only && let Some(current) = &current {
                    return Err(self.version_conflict(
                        &id,
                        format!("document already exists (current version [{}])", current.version),
                    ));
                }
                self.check_conditions(&id, current.as_ref(), if_seq_no, if_primary_term)?;
                self.index_document(side, &id, source, current.as_ref())
            }
            WriteOp::Delete {
                id,
                if_seq_no,
                if_primary_term,
            } => {
                let current = self.get(&id)?;
                self.check_conditions(&id, current.as_ref(), if_seq_no, if_primary_term)?;
                let Some(current) = current else {
                    return Ok(WriteResult {
                        id,
                        version: 1,
                        seq_no: side.next_seq_no,
                        outcome: WriteOutcome::NotFound,
                        source: None,
                    });
                };
                let seq_no = side.next_seq_no;
                let version = current.version + 1;
                side.wal.append(&[WalRecord {
                    op: WalOp::Delete,
                    seq_no,
                    version,
                    ord: 0,
                    id: id.clone(),
                    source: Vec::new(),
                }])?;
                side.next_seq_no += 1;
                let writer = side.writer.as_ref().ok_or_else(|| Error::internal("writer closed"))?;
                writer.delete_term(Term::from_field_text(self.fields.id, &id));
                self.drop_vectors(side, current.ord);
                self.live.lock().insert(
                    id.clone(),
                    LiveEntry {
                        seq_no,
                        version,
                        ord: current.ord,
                        source: None,
                    },
                );
                self.tombstones
                    .lock()
                    .insert(id.clone(), (version, std::time::Instant::now()));
                self.counters.delete_total.fetch_add(1, Ordering::Relaxed);
                Ok(WriteResult {
                    id,
                    version,
                    seq_no,
                    outcome: WriteOutcome::Deleted,
                    source: None,
                })
            }
            WriteOp::Update {
                id,
                doc,
                upsert,
                doc_as_upsert,
                detect_noop,
                if_seq_no,
                if_primary_term,
            } => {
                let current = self.get(&id)?;
                self.check_conditions(&id, current.as_ref(), if_seq_no, if_primary_term)?;
                let Some(current) = current else {
                    let new_source = match (upsert, doc_as_upsert, doc) {
                        (Some(upsert), _, _) => upsert,
                        (None, true, Some(doc)) => doc,
                        _ => {
                            return Err(
                                Error::new(ErrorKind::DocumentMissing, format!("[{id}]: document missing"))
                                    .with_meta("index_uuid", self.uuid.clone())
                                    .with_meta("shard", "0")
                                    .with_meta("index", self.name()),
                            );
                        }
                    };
                    let bytes = serde_json::to_vec(&Value::Object(new_source))?;
                    return self.index_document(side, &id, bytes, None);
                };
                let existing: Value = serde_json::from_slice(&self.full_source(&current)?)?;
                let Value::Object(mut merged) = existing else {
                    return Err(Error::internal("stored source is not an object"));
                };
                let before = merged.clone();
                if let Some(doc) = doc {
                    deep_merge(&mut merged, doc);
                }
                if detect_noop && merged == before {
                    return Ok(WriteResult {
                        id,
                        version: current.version,
                        seq_no: current.seq_no,
                        outcome: WriteOutcome::Noop,
                        source: Some(self.full_source(&current)?),
                    });
                }
                let bytes = serde_json::to_vec(&Value::Object(merged))?;
                self.index_document(side, &id, bytes, Some(&current))
            }
        }
    }

    fn index_document(
        &self,
        side: &mut WriteSide,
        id: &str,
        source: Vec<u8>,
        current: Option<&DocVersion>,
    ) -> Result<WriteResult> {
        let value: Value = serde_json::from_slice(&source)
            .map_err(|error| Error::new(ErrorKind::DocumentParsing, format!("failed to parse: {error}")))?;
        let Value::Object(object) = value else {
            return Err(Error::new(
                ErrorKind::DocumentParsing,
                "[1:1] failed to parse: the document must be a JSON object",
            ));
        };
        let mut state = self.state();
        let parsed = loop {
            match parse_document(&state.mapping, &object, id)? {
                DocumentWalk::Parsed(parsed) => break parsed,
                DocumentWalk::NeedsMappingUpdate(update) => {
                    state = self.update_state(|next| {
                        next.mapping = next.mapping.merge(&update)?;
                        Ok(())
                    })?;
                }
            }
        };
        let stored_source = crate::index::source_filter::stored_source(&state.mapping, &object, source)?;
        let seq_no = side.next_seq_no;
        let ord = side.next_ord;
        // A recently deleted id continues its version, as ES's `index.gc_deletes` does.
        let tombstone = self.tombstones.lock().remove(id).map(|(version, _)| version);
        let version = current
            .map(|current| current.version)
            .or(tombstone)
            .map_or(1, |version| version + 1);
        side.wal.append(&[WalRecord {
            op: WalOp::Index,
            seq_no,
            version,
            ord,
            id: id.to_string(),
            source: stored_source.clone(),
        }])?;
        side.next_seq_no += 1;
        side.next_ord += 1;
        let writer = side.writer.as_ref().ok_or_else(|| Error::internal("writer closed"))?;
        writer.delete_term(Term::from_field_text(self.fields.id, id));
        let document = build_tantivy_document(&self.fields, &state, id, ord, seq_no, version, &stored_source, &parsed)?;
        writer.add_document(document)?;
        if let Some(current) = current {
            self.drop_vectors(side, current.ord);
        }
        self.queue_vectors(side, &state, &parsed, ord);
        let stored_source = Arc::new(stored_source);
        self.live.lock().insert(
            id.to_string(),
            LiveEntry {
                seq_no,
                version,
                ord,
                source: Some(stored_source.clone()),
            },
        );
        self.counters.index_total.fetch_add(1, Ordering::Relaxed);
        Ok(WriteResult {
            id: id.to_string(),
            version,
            seq_no,
            outcome: if current.is_some() {
                WriteOutcome::Updated
            } else {
                WriteOutcome::Created
            },
            source: Some(stored_source),
        })
    }
}

/// Merges `patch` into `target` the way ES partial updates do: objects merge key by key,
/// everything else is replaced.
pub fn deep_merge(target: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        match (target.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(inner)) => deep_merge(existing, inner),
            (_, value) => {
                target.insert(key, value);
            }
        }
    }
}
