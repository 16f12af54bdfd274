//! [`VectorIndex`]: rows + keys + quantized codes + graph behind one `RwLock`.
//!
//! Locking: a writer mutex serialises inserts, deletes, flushes and compaction. An insert
//! appends its rows, codes and unlinked graph nodes under the write lock (a memcpy), then
//! downgrades to a read lock to link the nodes (the slow part, in parallel): searches hold the
//! read lock and run concurrently with the linking of an ingest batch.
//!
//! Memory accounting ([`VectorIndex::memory_bytes`]) counts what must stay in RAM for the
//! search to run at speed: without quantization the f32 rows, the graph and the keys; with
//! quantization the codes, the graph and the keys, since f32 rows are only read to rescore the
//! short list and are memory-mapped from the vectors file once flushed (they may be paged out).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock, RwLockWriteGuard};

use super::distance::distance_f32;
use super::hnsw::Graph;
use super::layout::Layout;
use super::persist;
use super::quantize::{Quantizer, TRAIN_MIN_ROWS, TRAIN_SAMPLE_ROWS};
use super::scratch::Scratch;
use super::search::RowScorer;
use super::storage::{Bitset, KeyMap, RowStore};
use super::{IndexKind, Quantization, VectorError, VectorFieldConfig};

/// Everything a search reads.
pub(super) struct State {
    pub(super) rows: RowStore,
    pub(super) keys: KeyMap,
    pub(super) tombstones: Bitset,
    pub(super) dead: usize,
    pub(super) quantizer: Option<Quantizer>,
    /// How many rows the quantizer was trained on (retrained as the index doubles, up to
    /// `TRAIN_SAMPLE_ROWS`).
    pub(super) trained_on: usize,
    pub(super) codes: Vec<u8>,
    /// Per-row correction term of the quantized distance (`|x̂|²` for int8 L2).
    pub(super) corrections: Vec<f32>,
    pub(super) graph: Option<Graph>,
    random: fastrand::Rng,
}

/// What the writer knows about the files (guarded by the writer mutex).
#[derive(Default)]
pub(super) struct Persisted {
    pub(super) flushed_rows: usize,
    pub(super) vectors_generation: u64,
    pub(super) codes_generation: u64,
    /// The rows changed places (compaction): write a new vectors file.
    pub(super) vectors_need_rewrite: bool,
    /// Every code changed (quantizer retrained, compaction): write a new codes file.
    pub(super) codes_need_rewrite: bool,
    pub(super) dirty: bool,
    pub(super) max_flushed_key: Option<u64>,
}

/// Bytes held in memory, by part (see the module comment for what counts as resident).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryReport {
    /// f32 rows in process memory (all rows without quantization; only unflushed ones with).
    pub vectors_in_memory: u64,
    /// f32 rows served from the memory-mapped file (quantized indexes; not counted as resident).
    pub vectors_mapped: u64,
    pub codes: u64,
    pub graph: u64,
    pub keys: u64,
}

impl MemoryReport {
    /// The resident total: everything but the memory-mapped rows.
    pub fn resident(&self) -> u64 {
        self.vectors_in_memory + self.codes + self.graph + self.keys
    }
}

pub struct VectorIndex {
    folder: PathBuf,
    pub(super) layout: Layout,
    pub(super) state: RwLock<State>,
    writer: Mutex<Persisted>,
    scratch_pool: Mutex<Vec<Scratch>>,
    build_threads: AtomicUsize,
    /// Held for the whole of a compaction, so two never overlap.
    compaction: Mutex<()>,
}

impl State {
    pub(super) fn new(layout: &Layout) -> State {
        State {
            rows: RowStore::new(layout.row_words),
            keys: KeyMap::default(),
            tombstones: Bitset::default(),
            dead: 0,
            quantizer: None,
            trained_on: 0,
            codes: Vec::new(),
            corrections: Vec::new(),
            graph: match layout.config.index {
                IndexKind::Flat => None,
                IndexKind::Hnsw { m, .. } => Some(Graph::new(m)),
            },
            random: fastrand::Rng::with_seed(0x1215_u64),
        }
    }

    pub(super) fn exact_distance(&self, layout: &Layout, query: &[f32], id: u32) -> f32 {
        distance_f32(layout.metric, query, self.rows.row(id as usize))
    }

    /// Trains (or retrains on a larger sample) the quantizer; returns whether every code was
    /// rewritten.
    fn train_if_due(&mut self, layout: &Layout) -> bool {
        let rows = self.rows.len();
        let due = match layout.config.quantization {
            Quantization::None => false,
            Quantization::Int8 | Quantization::Binary => {
                rows >= TRAIN_MIN_ROWS && self.trained_on < TRAIN_SAMPLE_ROWS && rows >= 2 * self.trained_on.max(1)
            }
        };
        if !due {
            return false;
        }
        let sample = rows.min(TRAIN_SAMPLE_ROWS);
        // An evenly spaced sample, so a sorted ingest does not bias the ranges.
        let sampled = (0..sample).map(|position| self.rows.row(position * rows / sample));
        let quantizer = match layout.config.quantization {
            Quantization::Binary => Quantizer::train_binary(layout.row_words, sampled),
            Quantization::Int8 | Quantization::None => Quantizer::train_int8(layout.row_words, sampled),
        };
        self.codes.clear();
        self.corrections.clear();
        self.codes.reserve(rows * quantizer.code_bytes());
        for id in 0..rows {
            let correction = quantizer.encode(self.rows.row(id), &mut self.codes);
            self.corrections.push(correction);
        }
        self.quantizer = Some(quantizer);
        self.trained_on = sample;
        true
    }
}

impl VectorIndex {
    /// Opens the index stored in `folder`, creating an empty one when there is none. The graph
    /// is read back as it was flushed; nothing is rebuilt.
    pub fn open(folder: &Path, config: VectorFieldConfig) -> Result<VectorIndex, VectorError> {
        let layout = Layout::new(config)?;
        std::fs::create_dir_all(folder)?;
        let (state, persisted) = persist::load(folder, &layout)?;
        Ok(VectorIndex {
            folder: folder.to_path_buf(),
            layout,
            state: RwLock::new(state),
            writer: Mutex::new(persisted),
            scratch_pool: Mutex::new(Vec::new()),
            build_threads: AtomicUsize::new(std::thread::available_parallelism().map_or(1, |count| count.get())),
            compaction: Mutex::new(()),
        })
    }

    pub fn config(&self) -> VectorFieldConfig {
        self.layout.config
    }

    /// Sets how many threads link a batch of inserts (default: all cores).
    pub fn set_build_threads(&self, threads: usize) {
        self.build_threads.store(threads.max(1), Ordering::Relaxed);
    }

    /// Inserts or replaces the vector of `key` (an update tombstones the old row).
    pub fn insert(&self, key: u64, vector: &[f32]) -> Result<(), VectorError> {
        self.insert_batch(&[key], vector)
    }

    /// Inserts `keys.len()` vectors given row after row in `vectors`, linking them into the
    /// graph in parallel. Either every vector is valid and all are inserted, or none is.
    pub fn insert_batch(&self, keys: &[u64], vectors: &[f32]) -> Result<(), VectorError> {
        if keys.is_empty() {
            return Ok(());
        }
        let given_dims = vectors.len() / keys.len();
        if given_dims * keys.len() != vectors.len() {
            return Err(VectorError::InvalidValue(
                "the batch is not a whole number of vectors".into(),
            ));
        }
        let mut rows = Vec::with_capacity(keys.len() * self.layout.row_words);
        let mut row = Vec::with_capacity(self.layout.row_words);
        for vector in vectors.chunks_exact(given_dims.max(1)) {
            self.layout.encode_row(vector, &mut row)?;
            rows.extend_from_slice(&row);
        }
        self.insert_rows(keys, &rows);
        Ok(())
    }

    /// Appends stored-form rows (see [`Layout::encode_row`]) and links them.
    fn insert_rows(&self, keys: &[u64], rows: &[f32]) {
        let mut persisted = self.writer.lock();
        let mut state = self.state.write();
        let first_new = state.rows.len();
        state.rows.reserve(keys.len());
        if let Some(graph) = state.graph.as_mut() {
            graph.reserve(keys.len());
        }
        for (key, row) in keys.iter().zip(rows.chunks_exact(self.layout.row_words)) {
            if let Some(replaced) = state.keys.push(*key) {
                state.tombstones.insert(replaced as usize);
                state.dead += 1;
            }
            state.rows.push(row);
            let State { graph, random, .. } = &mut *state;
            if let Some(graph) = graph.as_mut() {
                let level = graph.random_level(random);
                graph.push_node(level);
            }
        }
        if state.train_if_due(&self.layout) {
            persisted.codes_need_rewrite = true;
        } else if let Some(quantizer) = state.quantizer.take() {
            let State {
                rows,
                codes,
                corrections,
                ..
            } = &mut *state;
            for id in first_new..rows.len() {
                corrections.push(quantizer.encode(rows.row(id), codes));
            }
            state.quantizer = Some(quantizer);
        }
        persisted.dirty = true;
        let state = RwLockWriteGuard::downgrade(state);
        if let (Some(graph), IndexKind::Hnsw { ef_construction, .. }) = (&state.graph, self.layout.config.index) {
            self.link_nodes(&state, graph, first_new..state.rows.len(), ef_construction);
        }
        drop(persisted);
    }

    fn link_nodes(&self, state: &State, graph: &Graph, ids: std::ops::Range<usize>, ef_construction: usize) {
        let link_one = |id: usize, scratch: &mut Scratch| {
            let scorer = RowScorer {
                rows: &state.rows,
                query: state.rows.row(id),
                metric: self.layout.metric,
            };
            let pair_distance = |a: u32, b: u32| {
                distance_f32(
                    self.layout.metric,
                    state.rows.row(a as usize),
                    state.rows.row(b as usize),
                )
            };
            graph.link(id as u32, &scorer, &pair_distance, ef_construction, scratch);
        };
        let mut next = ids.start;
        let mut scratch = self.take_scratch();
        // The first nodes go in alone, so parallel workers start from a connected graph.
        while next < ids.end && next < 64.min(graph.len()) {
            link_one(next, &mut scratch);
            next += 1;
        }
        let threads = self
            .build_threads
            .load(Ordering::Relaxed)
            .min((ids.end - next) / 256)
            .max(1);
        if threads == 1 {
            for id in next..ids.end {
                link_one(id, &mut scratch);
            }
            self.return_scratch(scratch);
            return;
        }
        self.return_scratch(scratch);
        let cursor = AtomicUsize::new(next);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let mut scratch = self.take_scratch();
                    loop {
                        let id = cursor.fetch_add(1, Ordering::Relaxed);
                        if id >= ids.end {
                            break;
                        }
                        link_one(id, &mut scratch);
                    }
                    self.return_scratch(scratch);
                });
            }
        });
    }

    /// Tombstones the vector of `key` (no-op when absent). The node stays in the graph as a
    /// waypoint until [`VectorIndex::compact`] rebuilds without it.
    pub fn delete(&self, key: u64) {
        let mut persisted = self.writer.lock();
        let mut state = self.state.write();
        if let Some(id) = state.keys.remove(key) {
            state.tombstones.insert(id as usize);
            state.dead += 1;
            persisted.dirty = true;
        }
    }

    /// Live vectors.
    pub fn len(&self) -> usize {
        self.state.read().keys.live_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live vector of `key` as stored: as given, except that cosine vectors are
    /// normalised to unit length (the caller keeps the magnitude if it needs the original).
    pub fn stored_vector(&self, key: u64) -> Option<Vec<f32>> {
        let state = self.state.read();
        let id = state.keys.live_id(key)?;
        Some(self.layout.decode_row(state.rows.row(id as usize)))
    }

    /// Whether `key` has a live vector.
    pub fn contains(&self, key: u64) -> bool {
        self.state.read().keys.live_id(key).is_some()
    }

    /// Resident bytes per the accounting in the module comment.
    pub fn memory_bytes(&self) -> u64 {
        self.memory_report().resident()
    }

    pub fn memory_report(&self) -> MemoryReport {
        let state = self.state.read();
        let (vectors_in_memory, vectors_mapped) = if state.rows.is_mapped() {
            (
                state.rows.heap_bytes(),
                state.rows.total_bytes().saturating_sub(state.rows.heap_bytes()),
            )
        } else {
            (state.rows.heap_bytes(), 0)
        };
        MemoryReport {
            vectors_in_memory,
            vectors_mapped,
            codes: (state.codes.capacity() + state.corrections.capacity() * 4) as u64,
            graph: state.graph.as_ref().map_or(0, Graph::heap_bytes),
            keys: state.keys.heap_bytes() + (state.tombstones.words().len() * 8) as u64,
        }
    }

    /// The largest key whose vector is durable on disk: after a crash the caller re-inserts
    /// the keys above it from its own log.
    pub fn max_flushed_key(&self) -> Option<u64> {
        self.writer.lock().max_flushed_key
    }

    /// Makes every insert and delete so far durable (see `persist.rs` for the file order).
    pub fn flush(&self) -> Result<(), VectorError> {
        let mut persisted = self.writer.lock();
        self.flush_locked(&mut persisted)
    }

    fn flush_locked(&self, persisted: &mut Persisted) -> Result<(), VectorError> {
        if !persisted.dirty {
            return Ok(());
        }
        let state = self.state.read();
        persist::flush(&self.folder, &self.layout, &state, persisted)?;
        let remap = self.layout.config.quantization != Quantization::None && state.rows.heap_bytes() > 0;
        drop(state);
        if remap {
            // Quantized indexes serve f32 rows from the file: release the in-memory copy.
            let rows = RowStore::open(
                &persist::vectors_path(&self.folder, persisted.vectors_generation),
                self.layout.row_words,
                persisted.flushed_rows,
                true,
            )?;
            self.state.write().rows = rows;
        }
        Ok(())
    }

    /// Rebuilds rows, codes and graph from the live vectors only (dropping tombstones) and
    /// writes them as new files. The rebuild runs on a snapshot without holding the writer
    /// lock, so searches and ingest go on meanwhile; the writes that landed during the rebuild
    /// are replayed onto the new state under the lock before it replaces the old one.
    pub fn compact(&self) -> Result<(), VectorError> {
        let _one_at_a_time = self.compaction.lock();
        let (snapshot_rows, keys, rows) = {
            let state = self.state.read();
            if state.dead == 0 {
                return Ok(());
            }
            let mut keys = Vec::with_capacity(state.keys.live_count());
            let mut rows = Vec::with_capacity(state.keys.live_count() * self.layout.row_words);
            for id in 0..state.rows.len() {
                if !state.tombstones.contains(id) {
                    keys.push(state.keys.key(id));
                    rows.extend_from_slice(state.rows.row(id));
                }
            }
            (state.rows.len(), keys, rows)
        };
        let fresh = VectorIndex {
            folder: self.folder.clone(),
            layout: self.layout,
            state: RwLock::new(State::new(&self.layout)),
            writer: Mutex::new(Persisted::default()),
            scratch_pool: Mutex::new(Vec::new()),
            build_threads: AtomicUsize::new(self.build_threads.load(Ordering::Relaxed)),
            compaction: Mutex::new(()),
        };
        fresh.insert_rows(&keys, &rows);

        let mut persisted = self.writer.lock();
        {
            let state = self.state.read();
            // Deleted since the snapshot (an update re-inserts its key below).
            for key in &keys {
                if state.keys.live_id(*key).is_none() {
                    fresh.delete(*key);
                }
            }
            // Inserted or updated since the snapshot.
            let mut new_keys = Vec::new();
            let mut new_rows = Vec::new();
            for id in snapshot_rows..state.rows.len() {
                if !state.tombstones.contains(id) {
                    new_keys.push(state.keys.key(id));
                    new_rows.extend_from_slice(state.rows.row(id));
                }
            }
            if !new_keys.is_empty() {
                fresh.insert_rows(&new_keys, &new_rows);
            }
        }
        *self.state.write() = fresh.state.into_inner();
        persisted.vectors_need_rewrite = true;
        persisted.codes_need_rewrite = true;
        persisted.dirty = true;
        self.flush_locked(&mut persisted)
    }

    /// Whether a compaction is rebuilding this index now.
    pub fn compaction_running(&self) -> bool {
        self.compaction.is_locked()
    }

    /// Fraction of stored rows that are tombstones.
    pub fn deleted_fraction(&self) -> f64 {
        let state = self.state.read();
        state.dead as f64 / state.rows.len().max(1) as f64
    }

    pub(super) fn take_scratch(&self) -> Scratch {
        self.scratch_pool.lock().pop().unwrap_or_default()
    }

    pub(super) fn return_scratch(&self, scratch: Scratch) {
        self.scratch_pool.lock().push(scratch);
    }
}
