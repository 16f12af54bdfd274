//! Row storage: contiguous fixed-width rows addressed by a dense internal id (insert order),
//! the id ↔ document key map, the tombstone bitset, and the file helpers of the on-disk format.
//!
//! Rows are f32 words. Bit vectors are packed 8 dimensions to a byte and the bytes stored in
//! f32 words (see `distance::as_bytes`), so one type serves every element type and a row is
//! always 4-byte aligned in memory and in the mmap.
//!
//! Flushed rows live in `vectors.f32` (append-only, `row_words × 4` bytes per row, no header:
//! the row count is in `state.bin`). They are either read into memory on open (when the search
//! scores f32 rows) or memory-mapped (when it scores quantized codes and touches f32 rows only
//! to rescore a short list, so the OS may keep them on disk).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use memmap2::Mmap;

use super::VectorError;

/// Rows `0..base_rows` come from the memory-mapped file, the rest from `tail`.
pub(crate) struct RowStore {
    row_words: usize,
    mapped: Option<Mmap>,
    mapped_rows: usize,
    tail: Vec<f32>,
}

impl RowStore {
    pub(crate) fn new(row_words: usize) -> RowStore {
        RowStore {
            row_words,
            mapped: None,
            mapped_rows: 0,
            tail: Vec::new(),
        }
    }

    /// Loads the first `rows` rows of `path`, memory-mapped or copied into memory.
    pub(crate) fn open(path: &Path, row_words: usize, rows: usize, map: bool) -> Result<RowStore, VectorError> {
        let mut store = RowStore::new(row_words);
        if rows == 0 {
            return Ok(store);
        }
        let bytes_needed = rows * row_words * 4;
        let mut file = File::open(path)?;
        let length = file.metadata()?.len() as usize;
        if length < bytes_needed {
            return Err(VectorError::Corrupt(format!(
                "[{}] holds {length} bytes, the state needs {bytes_needed}",
                path.display()
            )));
        }
        if map {
            // SAFETY: the file is only ever appended to by this process (under the writer
            // lock, past `bytes_needed`) and truncated back to its flushed length on open,
            // before any mapping exists; the mapped prefix never changes while mapped.
            let mapped = unsafe { Mmap::map(&file)? };
            store.mapped = Some(mapped);
            store.mapped_rows = rows;
        } else {
            let mut bytes = vec![0_u8; bytes_needed];
            file.read_exact(&mut bytes)?;
            store.tail = bytes
                .chunks_exact(4)
                .map(|word| f32::from_le_bytes([word[0], word[1], word[2], word[3]]))
                .collect();
        }
        Ok(store)
    }

    pub(crate) fn len(&self) -> usize {
        self.mapped_rows + self.tail.len() / self.row_words.max(1)
    }

    #[inline]
    pub(crate) fn row(&self, id: usize) -> &[f32] {
        if id < self.mapped_rows {
            let mapped = self.mapped.as_ref().expect("mapped_rows > 0 implies a mapping");
            let start = id * self.row_words * 4;
            let bytes = &mapped[start..start + self.row_words * 4];
            // SAFETY: the mapping is page-aligned and every row starts at a multiple of 4
            // bytes, so the pointer is aligned for f32; any bit pattern is a valid f32; the
            // slice borrows the mapping, which outlives it.
            unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), self.row_words) }
        } else {
            let start = (id - self.mapped_rows) * self.row_words;
            &self.tail[start..start + self.row_words]
        }
    }

    pub(crate) fn push(&mut self, row: &[f32]) {
        debug_assert_eq!(row.len(), self.row_words);
        self.tail.extend_from_slice(row);
    }

    pub(crate) fn reserve(&mut self, rows: usize) {
        self.tail.reserve(rows * self.row_words);
    }

    /// Whether rows are served from a memory map (and so need not be resident in memory).
    pub(crate) fn is_mapped(&self) -> bool {
        self.mapped.is_some()
    }

    /// Bytes of row data held in process memory (the mapped part is page cache, not heap).
    pub(crate) fn heap_bytes(&self) -> u64 {
        (self.tail.capacity() * 4) as u64
    }

    /// Bytes of all rows, wherever they live.
    pub(crate) fn total_bytes(&self) -> u64 {
        (self.len() * self.row_words * 4) as u64
    }

    /// Appends rows `from..len` to `path` (creating it) and fsyncs it.
    pub(crate) fn append_to_file(&self, path: &Path, from: usize) -> Result<(), VectorError> {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        let expected_length = (from * self.row_words * 4) as u64;
        if file.metadata()?.len() != expected_length {
            file.set_len(expected_length)?;
        }
        let mut buffer = Vec::with_capacity(1 << 20);
        for id in from..self.len() {
            for value in self.row(id) {
                buffer.extend_from_slice(&value.to_le_bytes());
            }
            if buffer.len() >= 1 << 20 {
                file.write_all(&buffer)?;
                buffer.clear();
            }
        }
        file.write_all(&buffer)?;
        file.sync_all()?;
        Ok(())
    }
}

/// Live/dead flags for internal ids.
#[derive(Default, Clone)]
pub(crate) struct Bitset {
    words: Vec<u64>,
}

impl Bitset {
    #[inline]
    pub(crate) fn contains(&self, id: usize) -> bool {
        self.words.get(id / 64).is_some_and(|word| word & (1 << (id % 64)) != 0)
    }

    pub(crate) fn insert(&mut self, id: usize) {
        if id / 64 >= self.words.len() {
            self.words.resize(id / 64 + 1, 0);
        }
        self.words[id / 64] |= 1 << (id % 64);
    }

    pub(crate) fn count(&self) -> usize {
        self.words.iter().map(|word| word.count_ones() as usize).sum()
    }

    pub(crate) fn words(&self) -> &[u64] {
        &self.words
    }

    pub(crate) fn from_words(words: Vec<u64>) -> Bitset {
        Bitset { words }
    }
}

/// Document keys by internal id, and the live id of each key.
#[derive(Default)]
pub(crate) struct KeyMap {
    keys: Vec<u64>,
    live_ids: HashMap<u64, u32>,
}

impl KeyMap {
    pub(crate) fn from_keys(keys: Vec<u64>, tombstones: &Bitset) -> KeyMap {
        let mut live_ids = HashMap::with_capacity(keys.len());
        for (id, key) in keys.iter().enumerate() {
            if !tombstones.contains(id) {
                live_ids.insert(*key, id as u32);
            }
        }
        KeyMap { keys, live_ids }
    }

    #[inline]
    pub(crate) fn key(&self, id: usize) -> u64 {
        self.keys[id]
    }

    pub(crate) fn keys(&self) -> &[u64] {
        &self.keys
    }

    pub(crate) fn live_id(&self, key: u64) -> Option<u32> {
        self.live_ids.get(&key).copied()
    }

    /// Records `key` at the next id and returns the id it replaces, if the key was live.
    pub(crate) fn push(&mut self, key: u64) -> Option<u32> {
        let id = self.keys.len() as u32;
        self.keys.push(key);
        self.live_ids.insert(key, id)
    }

    pub(crate) fn remove(&mut self, key: u64) -> Option<u32> {
        self.live_ids.remove(&key)
    }

    pub(crate) fn live_count(&self) -> usize {
        self.live_ids.len()
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        // hashbrown: one control byte plus the (u64, u32) entry (16 bytes padded) per bucket.
        (self.keys.capacity() * 8 + self.live_ids.capacity() * 17) as u64
    }
}

/// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, fsync of the folder.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), VectorError> {
    let temporary = path.with_extension("tmp");
    {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    if let Some(folder) = path.parent() {
        File::open(folder)?.sync_all()?;
    }
    Ok(())
}

/// Little-endian encoder of the state file.
#[derive(Default)]
pub(crate) struct Encoder {
    pub(crate) bytes: Vec<u8>,
}

impl Encoder {
    pub(crate) fn u8(&mut self, value: u8) {
        self.bytes.push(value);
    }
    pub(crate) fn u32(&mut self, value: u32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    pub(crate) fn f32(&mut self, value: f32) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }
    pub(crate) fn u32s(&mut self, values: impl ExactSizeIterator<Item = u32>) {
        self.u64(values.len() as u64);
        for value in values {
            self.u32(value);
        }
    }
    pub(crate) fn u64s(&mut self, values: &[u64]) {
        self.u64(values.len() as u64);
        for value in values {
            self.u64(*value);
        }
    }
    pub(crate) fn f32s(&mut self, values: &[f32]) {
        self.u64(values.len() as u64);
        for value in values {
            self.f32(*value);
        }
    }
    pub(crate) fn bytes(&mut self, values: &[u8]) {
        self.u64(values.len() as u64);
        self.bytes.extend_from_slice(values);
    }
}

/// Little-endian decoder of the state file; every read is bounds-checked.
pub(crate) struct Decoder<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Decoder<'a> {
        Decoder { bytes, position: 0 }
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], VectorError> {
        let end = self
            .position
            .checked_add(count)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| VectorError::Corrupt("state file is truncated".into()))?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], VectorError> {
        let mut array = [0_u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, VectorError> {
        Ok(self.take(1)?[0])
    }
    pub(crate) fn u32(&mut self) -> Result<u32, VectorError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub(crate) fn u64(&mut self) -> Result<u64, VectorError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub(crate) fn f32(&mut self) -> Result<f32, VectorError> {
        Ok(f32::from_le_bytes(self.array()?))
    }
    fn length(&mut self, element_bytes: usize) -> Result<usize, VectorError> {
        let count = self.u64()? as usize;
        if count.saturating_mul(element_bytes) > self.bytes.len() - self.position {
            return Err(VectorError::Corrupt("state file array is longer than the file".into()));
        }
        Ok(count)
    }
    pub(crate) fn u32s(&mut self) -> Result<Vec<u32>, VectorError> {
        let count = self.length(4)?;
        (0..count).map(|_| self.u32()).collect()
    }
    pub(crate) fn u64s(&mut self) -> Result<Vec<u64>, VectorError> {
        let count = self.length(8)?;
        (0..count).map(|_| self.u64()).collect()
    }
    pub(crate) fn f32s(&mut self) -> Result<Vec<f32>, VectorError> {
        let count = self.length(4)?;
        (0..count).map(|_| self.f32()).collect()
    }
    pub(crate) fn bytes(&mut self) -> Result<Vec<u8>, VectorError> {
        let count = self.length(1)?;
        Ok(self.take(count)?.to_vec())
    }
    pub(crate) fn is_at_end(&self) -> bool {
        self.position == self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_the_file_mapped_or_read() {
        let folder = tempfile::tempdir().expect("temp dir");
        let path = folder.path().join("vectors.f32");
        let mut store = RowStore::new(3);
        store.push(&[1.0, 2.0, 3.0]);
        store.push(&[4.0, 5.0, 6.0]);
        store.append_to_file(&path, 0).expect("append");
        store.push(&[7.0, 8.0, 9.0]);
        store.append_to_file(&path, 2).expect("append");
        for map in [false, true] {
            let reopened = RowStore::open(&path, 3, 3, map).expect("open");
            assert_eq!(reopened.len(), 3);
            assert_eq!(reopened.row(2), &[7.0, 8.0, 9.0]);
            assert_eq!(reopened.row(0), &[1.0, 2.0, 3.0]);
            assert_eq!(reopened.is_mapped(), map);
        }
    }

    #[test]
    fn bitset_and_keys() {
        let mut tombstones = Bitset::default();
        tombstones.insert(130);
        assert!(tombstones.contains(130) && !tombstones.contains(129) && !tombstones.contains(9999));
        assert_eq!(tombstones.count(), 1);
        let mut keys = KeyMap::default();
        assert_eq!(keys.push(7), None);
        assert_eq!(keys.push(7), Some(0));
        assert_eq!(keys.live_id(7), Some(1));
        assert_eq!(keys.live_count(), 1);
    }

    #[test]
    fn decoder_rejects_truncated_input() {
        let mut encoder = Encoder::default();
        encoder.u64s(&[1, 2, 3]);
        let truncated = &encoder.bytes[..encoder.bytes.len() - 1];
        assert!(Decoder::new(truncated).u64s().is_err());
        let mut decoder = Decoder::new(&encoder.bytes);
        assert_eq!(decoder.u64s().expect("decode"), vec![1, 2, 3]);
        assert!(decoder.is_at_end());
    }
}
