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
use serde_json::Value;
use tantivy::schema::Value as _;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use super::document::{DocumentWalk, IndexedValue, ParsedDocument, parse_document};
use super::mapping::FieldType;
use super::vectors::{PendingVectors, VectorFields};

mod write;
use super::meta::IndexState;
use super::schema::{SchemaFields, build_schema, fields_of};
use super::tantivy_doc::build_tantivy_document;
use crate::error::{Error, Result};
use crate::store::{Wal, WalOp, WalRecord};
pub use write::{WriteOp, WriteOutcome, WriteResult, deep_merge};

/// How long a delete's version is remembered (ES `index.gc_deletes` default).
const GC_DELETES: std::time::Duration = std::time::Duration::from_secs(60);

const WRITER_MEMORY_BYTES: usize = 64 * 1024 * 1024;

/// Bytes per compressed block of stored documents.
const DOCSTORE_BLOCK_BYTES: usize = 4096;

/// The version information of a live document.
#[derive(Debug, Clone)]
pub struct DocVersion {
    pub seq_no: u64,
    pub version: u64,
    /// The stable document key (vector rows are keyed by it).
    pub ord: u64,
    pub source: Arc<Vec<u8>>,
    /// `_vectors`: the vector paths taken out of `source` (see `vector_source.rs`).
    pub vectors: Option<Arc<Vec<u8>>>,
}

/// Document counts as `_stats` and `_cat` report them (as of the last refresh).
#[derive(Debug, Clone, Copy)]
pub struct DocCounts {
    pub live: u64,
    pub deleted: u64,
    pub segments: usize,
}

/// A write not yet covered by a refresh: what realtime GET and version checks see.
#[derive(Debug, Clone)]
struct LiveEntry {
    seq_no: u64,
    version: u64,
    ord: u64,
    /// None for a delete (a tombstone that hides the committed document).
    source: Option<Arc<Vec<u8>>>,
}

struct WriteSide {
    writer: Option<IndexWriter>,
    wal: Wal,
    next_seq_no: u64,
    next_ord: u64,
    dirty: bool,
    /// Vectors of the request being applied, inserted in one batch at its end.
    pending_vectors: PendingVectors,
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
    vectors: Arc<VectorFields>,
    /// Documents with a key below this were visible at the last refresh (kNN must not
    /// return vectors of documents searches cannot see yet).
    visible_ords: AtomicU64,
    /// Versions of recently deleted ids (ES `index.gc_deletes`, 60 s).
    tombstones: Mutex<HashMap<String, (u64, Instant)>>,
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
        // Small store blocks: a hit reads (and decompresses) the whole block its document is
        // in, and hits are scattered, so tantivy's 16 KB default costs more than it saves.
        let settings = tantivy::IndexSettings {
            docstore_blocksize: DOCSTORE_BLOCK_BYTES,
            ..tantivy::IndexSettings::default()
        };
        Index::create(directory, schema, settings)?;
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
        let vectors = Arc::new(VectorFields::open(folder, &state.mapping)?);
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
                pending_vectors: PendingVectors::default(),
            }),
            live: Mutex::new(HashMap::new()),
            vectors,
            visible_ords: AtomicU64::new(payload.next_ord),
            tombstones: Mutex::new(HashMap::new()),
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
            let searcher = self.searcher();
            // Keys of documents this replay wrote, so a later delete can drop their vectors.
            let mut replayed_ords: HashMap<&str, u64> = HashMap::new();
            for record in &pending {
                let writer = side.writer.as_ref().ok_or_else(|| Error::internal("writer closed"))?;
                writer.delete_term(Term::from_field_text(self.fields.id, &record.id));
                let previous = match replayed_ords.get(record.id.as_str()) {
                    Some(ord) => Some(*ord),
                    None => self.committed(&searcher, &record.id)?.map(|version| version.ord),
                };
                if let Some(previous) = previous
                    && previous != record.ord
                {
                    self.vectors.delete(previous);
                }
                if record.op == WalOp::Index {
                    replayed_ords.insert(&record.id, record.ord);
                    let parsed = self.parse_for_index(&state, &record.id, &record.source)?;
                    self.replay_vectors(&state, &parsed, record.ord)?;
                    let document = build_tantivy_document(
                        &self.fields,
                        &state,
                        &record.id,
                        record.ord,
                        record.seq_no,
                        record.version,
                        &record.source,
                        &parsed,
                    )?;
                    writer.add_document(document)?;
                }
                side.next_seq_no = side.next_seq_no.max(record.seq_no + 1);
                side.next_ord = side.next_ord.max(record.ord + 1);
            }
            side.dirty = true;
        }
        self.refresh()
    }

    /// Adds the vectors of a replayed document unless the flushed vector index has them.
    fn replay_vectors(&self, state: &IndexState, parsed: &ParsedDocument, ord: u64) -> Result<()> {
        for (path, value) in &parsed.values {
            let IndexedValue::Vector(vector) = value else {
                continue;
            };
            if let Some(FieldType::DenseVector(params) | FieldType::KnnVector(params)) =
                state.mapping.field(path).map(|field| &field.field_type)
            {
                self.vectors.insert_missing(path, params, ord, vector)?;
            }
        }
        Ok(())
    }

    /// Queues the vectors of a parsed document for the end of the request.
    fn queue_vectors(&self, side: &mut WriteSide, state: &IndexState, parsed: &ParsedDocument, ord: u64) {
        for (path, value) in &parsed.values {
            let IndexedValue::Vector(vector) = value else {
                continue;
            };
            if let Some(FieldType::DenseVector(params) | FieldType::KnnVector(params)) =
                state.mapping.field(path).map(|field| &field.field_type)
            {
                side.pending_vectors.add(path, params, ord, vector);
            }
        }
    }

    /// Removes a document's vectors, queued or already indexed.
    fn drop_vectors(&self, side: &mut WriteSide, ord: u64) {
        side.pending_vectors.remove(ord);
        self.vectors.delete(ord);
    }

    /// Renders stored source bytes for a response: `filter` applied, vector fields left out
    /// unless asked for (see [`IndexState::hidden_source_vectors`]).
    pub fn render_source(&self, bytes: &[u8], filter: &crate::index::source_filter::SourceFilter) -> Result<Value> {
        let hidden = self.state().hidden_source_vectors(filter);
        crate::index::source_filter::render_source(bytes, filter, &hidden)
    }

    /// Renders a stored document's source for a response, merging its vectors back in only
    /// when the response shows them.
    pub fn render_document(
        &self,
        document: &DocVersion,
        filter: &crate::index::source_filter::SourceFilter,
    ) -> Result<Value> {
        let hidden = self.state().hidden_source_vectors(filter);
        if hidden.is_empty() {
            return crate::index::source_filter::render_source(&self.full_source(document)?, filter, &hidden);
        }
        crate::index::source_filter::render_source(&document.source, filter, &hidden)
    }

    /// A stored document's whole source, its vectors put back from the vector index.
    pub fn full_source(&self, document: &DocVersion) -> Result<Arc<Vec<u8>>> {
        let Some(apart) = &document.vectors else {
            return Ok(document.source.clone());
        };
        let fields = crate::index::vector_source::apart_fields(&self.state().mapping);
        let merged = crate::index::vector_source::merge(&document.source, apart, &fields, |field, magnitude| {
            self.vectors.restored(field, document.ord, magnitude)
        })?;
        Ok(Arc::new(merged))
    }

    /// Returns the vector fields of this index.
    pub fn vectors(&self) -> &Arc<VectorFields> {
        &self.vectors
    }

    /// Returns the first document key not visible to searches yet.
    pub fn visible_ords(&self) -> u64 {
        self.visible_ords.load(Ordering::SeqCst)
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
                ord: entry.ord,
                source,
                vectors: None,
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

    /// Returns the `_id` of a stored document.
    pub fn id_of(&self, document: &TantivyDocument) -> String {
        document
            .get_first(self.fields.id)
            .and_then(|value| value.as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// Returns live and deleted document counts and the segment count of the last refresh.
    pub fn doc_counts(&self) -> DocCounts {
        let searcher = self.searcher();
        let segments = searcher.segment_readers();
        DocCounts {
            live: searcher.num_docs(),
            deleted: segments
                .iter()
                .map(|segment| u64::from(segment.num_deleted_docs()))
                .sum(),
            segments: segments.len(),
        }
    }

    /// Reads the version fields and source of a stored document.
    pub fn version_of(&self, document: &TantivyDocument) -> DocVersion {
        let read_u64 = |field| document.get_first(field).and_then(|value| value.as_u64()).unwrap_or(0);
        let source = document
            .get_first(self.fields.source)
            .and_then(|value| value.as_str())
            .map(|text| text.as_bytes().to_vec())
            .unwrap_or_default();
        let vectors = document
            .get_first(self.fields.vectors)
            .and_then(|value| value.as_str())
            .map(|text| Arc::new(text.as_bytes().to_vec()));
        DocVersion {
            seq_no: read_u64(self.fields.seq_no),
            version: read_u64(self.fields.version),
            ord: read_u64(self.fields.ord),
            source: Arc::new(source),
            vectors,
        }
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
        // Vectors first: a commit must never reference a key whose vector is not durable.
        self.vectors.flush()?;
        let writer = side.writer.as_mut().ok_or_else(|| Error::internal("writer closed"))?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload_text);
        prepared.commit()?;
        self.reader.reload()?;
        self.visible_ords.store(side.next_ord, Ordering::SeqCst);
        side.wal.reset()?;
        self.live.lock().clear();
        self.tombstones
            .lock()
            .retain(|_, (_, deleted_at)| deleted_at.elapsed() < GC_DELETES);
        side.dirty = false;
        self.counters.refresh_total.fetch_add(1, Ordering::Relaxed);
        self.vectors.compact_if_due();
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
        drop(side);
        self.vectors.wait_for_compactions();
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
