//! One open index: the tantivy index and its single writer, the write-ahead log, the
//! realtime view of writes not yet refreshed, and the index metadata.
//!
//! Writes run under the writer lock: version checks, WAL append, tantivy add/delete,
//! and one fsync per request (group commit) before the reply. `refresh` commits tantivy
//! (making writes searchable and durable in the segments), reloads the reader, empties
//! the WAL and forgets the realtime entries it covered.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};
use tantivy::schema::Value as _;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use super::document::{DocumentWalk, ParsedDocument, parse_document};
use super::meta::IndexState;
use super::schema::{SchemaFields, build_schema, fields_of};
use super::tantivy_doc::build_tantivy_document;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{Wal, WalOp, WalRecord};

const WRITER_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// The version information of a live document.
#[derive(Debug, Clone)]
pub struct DocVersion {
    pub seq_no: u64,
    pub version: u64,
    pub source: Arc<Vec<u8>>,
}

/// A write not yet covered by a refresh: what realtime GET and version checks see.
#[derive(Debug, Clone)]
struct LiveEntry {
    seq_no: u64,
    version: u64,
    /// None for a delete (a tombstone that hides the committed document).
    source: Option<Arc<Vec<u8>>>,
}

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

struct WriteSide {
    writer: Option<IndexWriter>,
    wal: Wal,
    next_seq_no: u64,
    next_ord: u64,
    dirty: bool,
}

/// Counters for `_stats`.
#[derive(Debug, Default)]
pub struct IndexCounters {
    pub index_total: AtomicU64,
    pub delete_total: AtomicU64,
    pub search_total: AtomicU64,
    pub refresh_total: AtomicU64,
}

/// An open index.
pub struct IndexHandle {
    pub uuid: String,
    folder: PathBuf,
    state: RwLock<Arc<IndexState>>,
    engine: Index,
    reader: IndexReader,
    fields: SchemaFields,
    write_side: Mutex<WriteSide>,
    live: Mutex<HashMap<String, LiveEntry>>,
    deleted: AtomicBool,
    last_refresh: Mutex<Instant>,
    pub counters: IndexCounters,
}

#[derive(serde::Serialize, serde::Deserialize, Default)]
struct CommitPayload {
    max_seq_no: Option<u64>,
    next_ord: u64,
}

impl IndexHandle {
    /// Creates the on-disk index in `folder` (which must not exist yet) and opens it.
    pub fn create(folder: &Path, state: IndexState) -> Result<IndexHandle> {
        std::fs::create_dir_all(folder.join("tantivy"))?;
        state.save(folder)?;
        let (schema, _) = build_schema();
        let directory = tantivy::directory::MmapDirectory::open(folder.join("tantivy"))
            .map_err(|error| Error::internal(format!("cannot open index folder: {error}")))?;
        Index::create(directory, schema, tantivy::IndexSettings::default())?;
        IndexHandle::open(folder)
    }

    /// Opens an existing index and replays its write-ahead log.
    pub fn open(folder: &Path) -> Result<IndexHandle> {
        let state = IndexState::load(folder)?;
        let engine = Index::open_in_dir(folder.join("tantivy"))?;
        let fields = fields_of(&engine.schema())?;
        let reader = engine.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer: IndexWriter = engine.writer_with_num_threads(1, WRITER_MEMORY_BYTES)?;
        let payload: CommitPayload = engine
            .load_metas()?
            .payload
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let (wal, records) = Wal::open(&folder.join("translog.wal"))?;
        let handle = IndexHandle {
            uuid: state.uuid.clone(),
            folder: folder.to_path_buf(),
            state: RwLock::new(Arc::new(state)),
            engine,
            reader,
            fields,
            write_side: Mutex::new(WriteSide {
                writer: Some(writer),
                wal,
                next_seq_no: payload.max_seq_no.map_or(0, |max| max + 1),
                next_ord: payload.next_ord,
                dirty: false,
            }),
            live: Mutex::new(HashMap::new()),
            deleted: AtomicBool::new(false),
            last_refresh: Mutex::new(Instant::now()),
            counters: IndexCounters::default(),
        };
        handle.replay(records, payload.max_seq_no)?;
        Ok(handle)
    }

    fn replay(&self, records: Vec<WalRecord>, committed_max: Option<u64>) -> Result<()> {
        let pending: Vec<WalRecord> = records
            .into_iter()
            .filter(|record| committed_max.is_none_or(|max| record.seq_no > max))
            .collect();
        if pending.is_empty() {
            return Ok(());
        }
        tracing::info!(index = %self.name(), operations = pending.len(), "replaying write-ahead log");
        {
            let mut side = self.write_side.lock();
            let state = self.state();
            for record in &pending {
                let writer = side.writer.as_ref().ok_or_else(|| Error::internal("writer closed"))?;
                writer.delete_term(Term::from_field_text(self.fields.id, &record.id));
                if record.op == WalOp::Index {
                    let parsed = self.parse_for_index(&state, &record.id, &record.source)?;
                    let document = build_tantivy_document(
                        &self.fields,
                        &state,
                        &record.id,
                        record.ord,
                        record.seq_no,
                        record.version,
                        &record.source,
                        &parsed,
                    );
                    writer.add_document(document)?;
                }
                side.next_seq_no = side.next_seq_no.max(record.seq_no + 1);
                side.next_ord = side.next_ord.max(record.ord + 1);
            }
            side.dirty = true;
        }
        self.refresh()
    }

    fn parse_for_index(&self, state: &IndexState, id: &str, source: &[u8]) -> Result<ParsedDocument> {
        let value: Value = serde_json::from_slice(source)?;
        let Value::Object(object) = value else {
            return Err(Error::internal("logged source is not an object"));
        };
        match parse_document(&state.mapping, &object, id)? {
            DocumentWalk::Parsed(parsed) => Ok(parsed),
            DocumentWalk::NeedsMappingUpdate(_) => Err(Error::internal(
                "logged document needs a mapping update that was not persisted",
            )),
        }
    }

    /// Returns the index name.
    pub fn name(&self) -> String {
        self.state.read().name.clone()
    }

    /// Returns a snapshot of the metadata.
    pub fn state(&self) -> Arc<IndexState> {
        self.state.read().clone()
    }

    /// Returns the schema field handles.
    pub fn fields(&self) -> &SchemaFields {
        &self.fields
    }

    /// Returns the tantivy index (for searches).
    pub fn engine(&self) -> &Index {
        &self.engine
    }

    /// Returns a searcher over the last refresh: a consistent snapshot.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Returns the folder holding this index.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Returns true once the index has been deleted.
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::SeqCst)
    }

    /// Replaces the metadata (mapping, settings, aliases) and persists it first.
    pub fn update_state<F>(&self, change: F) -> Result<Arc<IndexState>>
    where
        F: FnOnce(&mut IndexState) -> Result<()>,
    {
        let mut guard = self.state.write();
        let mut next = (**guard).clone();
        change(&mut next)?;
        next.assign_text_slots()?;
        next.save(&self.folder)?;
        let next = Arc::new(next);
        *guard = next.clone();
        Ok(next)
    }

    /// Returns the live document for `id`: unrefreshed writes first (realtime), then the
    /// last refresh.
    pub fn get(&self, id: &str) -> Result<Option<DocVersion>> {
        if let Some(entry) = self.live.lock().get(id) {
            return Ok(entry.source.clone().map(|source| DocVersion {
                seq_no: entry.seq_no,
                version: entry.version,
                source,
            }));
        }
        let searcher = self.searcher();
        self.committed(&searcher, id)
    }

    fn committed(&self, searcher: &Searcher, id: &str) -> Result<Option<DocVersion>> {
        let Some(address) = self.find_address(searcher, id)? else {
            return Ok(None);
        };
        let document: TantivyDocument = searcher.doc(address)?;
        Ok(Some(self.version_of(&document)))
    }

    /// Returns the address of the live document with `id` in this searcher.
    pub fn find_address(&self, searcher: &Searcher, id: &str) -> Result<Option<DocAddress>> {
        let term = Term::from_field_text(self.fields.id, id);
        for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
            let inverted = segment.inverted_index(self.fields.id)?;
            let Some(mut postings) = inverted.read_postings(&term, tantivy::schema::IndexRecordOption::Basic)? else {
                continue;
            };
            let alive = segment.alive_bitset();
            let mut doc = tantivy::DocSet::doc(&postings);
            while doc != tantivy::TERMINATED {
                if alive.is_none_or(|bits| bits.is_alive(doc)) {
                    return Ok(Some(DocAddress::new(segment_ord as u32, doc)));
                }
                doc = tantivy::DocSet::advance(&mut postings);
            }
        }
        Ok(None)
    }

    /// Reads the version fields and source of a stored document.
    pub fn version_of(&self, document: &TantivyDocument) -> DocVersion {
        let read_u64 = |field| document.get_first(field).and_then(|value| value.as_u64()).unwrap_or(0);
        let source = document
            .get_first(self.fields.source)
            .and_then(|value| value.as_bytes())
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        DocVersion {
            seq_no: read_u64(self.fields.seq_no),
            version: read_u64(self.fields.version),
            source: Arc::new(source),
        }
    }

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
        Ok(results)
    }

    fn current(&self, id: &str) -> Result<Option<DocVersion>> {
        self.get(id)
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
                let current = self.current(&id)?;
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
                let current = self.current(&id)?;
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
                self.live.lock().insert(
                    id.clone(),
                    LiveEntry {
                        seq_no,
                        version,
                        source: None,
                    },
                );
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
                let current = self.current(&id)?;
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
                let existing: Value = serde_json::from_slice(&current.source)?;
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
                        source: Some(current.source.clone()),
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
        let stored_source = super::source_filter::stored_source(&state.mapping, &object, source)?;
        let seq_no = side.next_seq_no;
        let ord = side.next_ord;
        let version = current.map_or(1, |current| current.version + 1);
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
        let document = build_tantivy_document(&self.fields, &state, id, ord, seq_no, version, &stored_source, &parsed);
        writer.add_document(document)?;
        let stored_source = Arc::new(stored_source);
        self.live.lock().insert(
            id.to_string(),
            LiveEntry {
                seq_no,
                version,
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

    /// Makes all acknowledged writes searchable: commit, reload, empty the WAL.
    pub fn refresh(&self) -> Result<()> {
        let mut side = self.write_side.lock();
        *self.last_refresh.lock() = Instant::now();
        if !side.dirty {
            return Ok(());
        }
        let payload = CommitPayload {
            max_seq_no: side.next_seq_no.checked_sub(1),
            next_ord: side.next_ord,
        };
        let payload_text = serde_json::to_string(&payload)
            .map_err(|error| Error::internal(format!("cannot encode commit payload: {error}")))?;
        let writer = side.writer.as_mut().ok_or_else(|| Error::internal("writer closed"))?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload_text);
        prepared.commit()?;
        self.reader.reload()?;
        side.wal.reset()?;
        self.live.lock().clear();
        side.dirty = false;
        self.counters.refresh_total.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Refreshes when writes are waiting and the refresh interval has passed.
    pub fn refresh_if_due(&self, default_interval_ms: u64) -> Result<()> {
        let Some(interval_ms) = self.state().settings.refresh_interval_ms(default_interval_ms) else {
            return Ok(());
        };
        let due = self.last_refresh.lock().elapsed().as_millis() as u64 >= interval_ms;
        let dirty = self.write_side.lock().dirty;
        if due && dirty {
            self.refresh()?;
        }
        Ok(())
    }

    /// Returns the number of operations waiting for a refresh (WAL bytes as a proxy).
    pub fn translog_bytes(&self) -> u64 {
        self.write_side.lock().wal.size_bytes()
    }

    /// Stops the writer and marks the index deleted; the caller removes the folder.
    pub fn close(&self) {
        self.deleted.store(true, Ordering::SeqCst);
        let mut side = self.write_side.lock();
        if let Some(writer) = side.writer.take()
            && let Err(error) = writer.wait_merging_threads()
        {
            tracing::warn!(%error, "merge threads ended with an error while closing an index");
        }
    }

    /// Returns the on-disk size of the index folder.
    pub fn store_size_bytes(&self) -> u64 {
        folder_size(&self.folder)
    }
}

fn folder_size(folder: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    entries
        .filter_map(|entry| entry.ok())
        .map(|entry| match entry.metadata() {
            Ok(metadata) if metadata.is_dir() => folder_size(&entry.path()),
            Ok(metadata) => metadata.len(),
            Err(_) => 0,
        })
        .sum()
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
