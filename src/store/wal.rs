//! The write-ahead log of one index: every acknowledged operation is appended and
//! fsynced here before the client gets its answer, and replayed on open for whatever
//! the last BM25 commit does not contain.
//!
//! Record layout: `len: u32 LE | crc32(payload): u32 LE | payload`, payload =
//! `kind: u8 | seq_no: u64 | version: u64 | ord: u64 | id_len: u32 | id | source`.
//! A torn tail (short or corrupt record after a crash) ends the replay and is cut off.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What a record does to a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalOp {
    Index,
    Delete,
}

/// One logged operation, enough to redo it without the original request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalRecord {
    pub op: WalOp,
    pub seq_no: u64,
    pub version: u64,
    /// The document's stable key (DocOrd); unused for deletes.
    pub ord: u64,
    pub id: String,
    /// `_source` bytes as stored; empty for deletes.
    pub source: Vec<u8>,
}

const HEADER_BYTES: usize = 8;
const FIXED_PAYLOAD_BYTES: usize = 1 + 8 + 8 + 8 + 4;

/// An open log, positioned at its end.
pub struct Wal {
    path: PathBuf,
    writer: BufWriter<File>,
    bytes: u64,
}

impl WalRecord {
    fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0u8; HEADER_BYTES]);
        out.push(match self.op {
            WalOp::Index => 1,
            WalOp::Delete => 2,
        });
        out.extend_from_slice(&self.seq_no.to_le_bytes());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.ord.to_le_bytes());
        out.extend_from_slice(&(self.id.len() as u32).to_le_bytes());
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(&self.source);
        let payload_len = (out.len() - start - HEADER_BYTES) as u32;
        let crc = crc32fast::hash(&out[start + HEADER_BYTES..]);
        out[start..start + 4].copy_from_slice(&payload_len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    fn decode(payload: &[u8]) -> Option<WalRecord> {
        if payload.len() < FIXED_PAYLOAD_BYTES {
            return None;
        }
        let op = match payload[0] {
            1 => WalOp::Index,
            2 => WalOp::Delete,
            _ => return None,
        };
        let read_u64 =
            |at: usize| -> Option<u64> { Some(u64::from_le_bytes(payload.get(at..at + 8)?.try_into().ok()?)) };
        let seq_no = read_u64(1)?;
        let version = read_u64(9)?;
        let ord = read_u64(17)?;
        let id_len = u32::from_le_bytes(payload.get(25..29)?.try_into().ok()?) as usize;
        let id_bytes = payload.get(29..29 + id_len)?;
        let id = String::from_utf8(id_bytes.to_vec()).ok()?;
        let source = payload.get(29 + id_len..)?.to_vec();
        Some(WalRecord {
            op,
            seq_no,
            version,
            ord,
            id,
            source,
        })
    }
}

impl Wal {
    /// Opens (or creates) the log, returns it with every intact record, and cuts off a
    /// torn tail so later appends follow the last good record.
    pub fn open(path: &Path) -> std::io::Result<(Wal, Vec<WalRecord>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut content = Vec::new();
        file.read_to_end(&mut content)?;
        let mut records = Vec::new();
        let mut position = 0usize;
        while position + HEADER_BYTES <= content.len() {
            let len_bytes: [u8; 4] = content[position..position + 4].try_into().expect("slice of four bytes");
            let crc_bytes: [u8; 4] = content[position + 4..position + 8]
                .try_into()
                .expect("slice of four bytes");
            let payload_len = u32::from_le_bytes(len_bytes) as usize;
            let payload_start = position + HEADER_BYTES;
            let Some(payload) = content.get(payload_start..payload_start + payload_len) else {
                break;
            };
            if crc32fast::hash(payload) != u32::from_le_bytes(crc_bytes) {
                break;
            }
            let Some(record) = WalRecord::decode(payload) else {
                break;
            };
            records.push(record);
            position = payload_start + payload_len;
        }
        if position != content.len() {
            tracing::warn!(
                path = %path.display(),
                kept_bytes = position,
                dropped_bytes = content.len() - position,
                "cutting torn tail off the write-ahead log"
            );
            file.set_len(position as u64)?;
            file.sync_all()?;
        }
        file.seek(SeekFrom::Start(position as u64))?;
        let wal = Wal {
            path: path.to_path_buf(),
            writer: BufWriter::with_capacity(1 << 20, file),
            bytes: position as u64,
        };
        Ok((wal, records))
    }

    /// Appends records to the buffer; they are durable only after [`Wal::sync`].
    pub fn append(&mut self, records: &[WalRecord]) -> std::io::Result<()> {
        let mut encoded = Vec::new();
        for record in records {
            record.encode_into(&mut encoded);
        }
        self.writer.write_all(&encoded)?;
        self.bytes += encoded.len() as u64;
        Ok(())
    }

    /// Flushes and fsyncs everything appended so far.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()
    }

    /// Empties the log once its records are covered by a durable commit.
    pub fn reset(&mut self) -> std::io::Result<()> {
        self.writer.flush()?;
        let file = self.writer.get_mut();
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.sync_all()?;
        self.bytes = 0;
        Ok(())
    }

    /// Returns the size of the log in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.bytes
    }

    /// Returns the log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq_no: u64, id: &str, source: &str) -> WalRecord {
        WalRecord {
            op: WalOp::Index,
            seq_no,
            version: 1,
            ord: seq_no,
            id: id.to_string(),
            source: source.as_bytes().to_vec(),
        }
    }

    #[test]
    fn round_trips_records_across_reopen() {
        let folder = tempfile::tempdir().expect("tempdir");
        let path = folder.path().join("translog.wal");
        let (mut wal, existing) = Wal::open(&path).expect("open");
        assert!(existing.is_empty());
        wal.append(&[record(0, "a", "{\"x\":1}"), record(1, "b", "{}")])
            .expect("append");
        wal.sync().expect("sync");
        drop(wal);
        let (_, replayed) = Wal::open(&path).expect("reopen");
        assert_eq!(replayed, vec![record(0, "a", "{\"x\":1}"), record(1, "b", "{}")]);
    }

    #[test]
    fn cuts_torn_tail_and_keeps_appending() {
        let folder = tempfile::tempdir().expect("tempdir");
        let path = folder.path().join("translog.wal");
        let (mut wal, _) = Wal::open(&path).expect("open");
        wal.append(&[record(0, "a", "{}")]).expect("append");
        wal.sync().expect("sync");
        drop(wal);
        let mut file = OpenOptions::new().append(true).open(&path).expect("open raw");
        file.write_all(&[9, 0, 0, 0, 1, 2]).expect("torn bytes");
        drop(file);
        let (mut wal, replayed) = Wal::open(&path).expect("reopen");
        assert_eq!(replayed.len(), 1);
        wal.append(&[record(1, "b", "{}")]).expect("append");
        wal.sync().expect("sync");
        drop(wal);
        let (_, replayed) = Wal::open(&path).expect("reopen again");
        assert_eq!(replayed.len(), 2);
    }

    #[test]
    fn reset_empties_the_log() {
        let folder = tempfile::tempdir().expect("tempdir");
        let path = folder.path().join("translog.wal");
        let (mut wal, _) = Wal::open(&path).expect("open");
        wal.append(&[record(0, "a", "{}")]).expect("append");
        wal.reset().expect("reset");
        assert_eq!(wal.size_bytes(), 0);
        drop(wal);
        let (_, replayed) = Wal::open(&path).expect("reopen");
        assert!(replayed.is_empty());
    }
}
