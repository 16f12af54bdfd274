//! The on-disk format of one vector field (a folder):
//!
//! - `vectors-<generation>.f32`: rows in id order, little-endian f32, append-only;
//! - `codes-<generation>.bin`: quantized codes in id order, append-only;
//! - `state.bin`: magic, format version, the config it was built with, the row count, the
//!   file generations, keys, tombstones, quantizer, per-row corrections and the whole graph,
//!   then a CRC-32 of all of it. Written to a temporary file, fsynced and renamed.
//!
//! A flush appends the new rows and codes (fsync), then replaces `state.bin`: the state is the
//! commit point, and whatever the files hold past the row count it names is ignored (and cut
//! off at the next append). A compaction or a quantizer retrain writes files of the next
//! generation instead, so the previous `state.bin` stays valid until the new one lands.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::hnsw::Graph;
use super::index::{Persisted, State};
use super::layout::Layout;
use super::quantize::Quantizer;
use super::storage::{Bitset, Decoder, Encoder, KeyMap, RowStore, write_atomically};
use super::{ElementType, IndexKind, Quantization, Similarity, VectorError};

const MAGIC: &[u8; 8] = b"IRISVEC\0";
const FORMAT_VERSION: u32 = 1;
const STATE_FILE: &str = "state.bin";

pub(super) fn vectors_path(folder: &Path, generation: u64) -> PathBuf {
    folder.join(format!("vectors-{generation}.f32"))
}

fn codes_path(folder: &Path, generation: u64) -> PathBuf {
    folder.join(format!("codes-{generation}.bin"))
}

fn similarity_tag(similarity: Similarity) -> u8 {
    match similarity {
        Similarity::Cosine => 0,
        Similarity::DotProduct => 1,
        Similarity::L2Norm => 2,
        Similarity::MaxInnerProduct => 3,
        Similarity::L1 => 4,
        Similarity::LInf => 5,
        Similarity::Hamming => 6,
    }
}

/// The config fields the stored data depends on (`ef_construction` may change freely).
fn encode_config(layout: &Layout, encoder: &mut Encoder) {
    let config = layout.config;
    encoder.u32(config.dims as u32);
    encoder.u8(similarity_tag(layout.similarity));
    encoder.u8(match config.element_type {
        ElementType::Float => 0,
        ElementType::Byte => 1,
        ElementType::Bit => 2,
    });
    match config.index {
        IndexKind::Flat => {
            encoder.u8(0);
            encoder.u32(0);
        }
        IndexKind::Hnsw { m, .. } => {
            encoder.u8(1);
            encoder.u32(m as u32);
        }
    }
    encoder.u8(match config.quantization {
        Quantization::None => 0,
        Quantization::Int8 => 1,
        Quantization::Binary => 2,
    });
}

fn encode_state(layout: &Layout, state: &State, persisted: &Persisted) -> Vec<u8> {
    let mut encoder = Encoder::default();
    encoder.bytes.extend_from_slice(MAGIC);
    encoder.u32(FORMAT_VERSION);
    encode_config(layout, &mut encoder);
    encoder.u64(state.rows.len() as u64);
    encoder.u64(persisted.vectors_generation);
    encoder.u64(persisted.codes_generation);
    encoder.u64s(state.keys.keys());
    encoder.u64s(state.tombstones.words());
    match &state.quantizer {
        None => encoder.u8(0),
        Some(Quantizer::Int8 { offsets, steps }) => {
            encoder.u8(1);
            encoder.f32s(offsets);
            encoder.f32s(steps);
        }
        Some(Quantizer::Binary { means }) => {
            encoder.u8(2);
            encoder.f32s(means);
        }
    }
    encoder.u64(state.trained_on as u64);
    encoder.f32s(&state.corrections);
    match &state.graph {
        None => encoder.u8(0),
        Some(graph) => {
            encoder.u8(1);
            graph.encode(&mut encoder);
        }
    }
    let checksum = crc32fast::hash(&encoder.bytes);
    encoder.u32(checksum);
    encoder.bytes
}

/// Writes what changed since the last flush; see the module comment for the order.
pub(super) fn flush(
    folder: &Path,
    layout: &Layout,
    state: &State,
    persisted: &mut Persisted,
) -> Result<(), VectorError> {
    let rows = state.rows.len();
    let mut obsolete = Vec::new();
    let mut next = Persisted {
        flushed_rows: rows,
        vectors_generation: persisted.vectors_generation,
        codes_generation: persisted.codes_generation,
        vectors_need_rewrite: false,
        codes_need_rewrite: false,
        dirty: false,
        max_flushed_key: state.keys.keys().iter().copied().max(),
    };
    if persisted.vectors_need_rewrite {
        next.vectors_generation += 1;
        obsolete.push(vectors_path(folder, persisted.vectors_generation));
        state
            .rows
            .append_to_file(&vectors_path(folder, next.vectors_generation), 0)?;
    } else {
        state
            .rows
            .append_to_file(&vectors_path(folder, next.vectors_generation), persisted.flushed_rows)?;
    }
    if let Some(quantizer) = &state.quantizer {
        let code_bytes = quantizer.code_bytes();
        let (path, from_row) = if persisted.codes_need_rewrite {
            next.codes_generation += 1;
            obsolete.push(codes_path(folder, persisted.codes_generation));
            (codes_path(folder, next.codes_generation), 0)
        } else {
            (codes_path(folder, next.codes_generation), persisted.flushed_rows)
        };
        append_bytes(&path, &state.codes, from_row * code_bytes)?;
    }
    write_atomically(&folder.join(STATE_FILE), &encode_state(layout, state, &next))?;
    for path in obsolete {
        let _ = std::fs::remove_file(path);
    }
    *persisted = next;
    Ok(())
}

/// Writes `bytes[from..]` at offset `from` of `path` (cutting anything past `from`), fsynced.
fn append_bytes(path: &Path, bytes: &[u8], from: usize) -> Result<(), VectorError> {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    file.set_len(from as u64)?;
    file.seek(SeekFrom::Start(from as u64))?;
    file.write_all(&bytes[from..])?;
    file.sync_all()?;
    Ok(())
}

/// Loads the folder's index, or an empty one when nothing was ever flushed.
pub(super) fn load(folder: &Path, layout: &Layout) -> Result<(State, Persisted), VectorError> {
    let state_path = folder.join(STATE_FILE);
    if !state_path.exists() {
        remove_data_files(folder, None)?;
        return Ok((State::new(layout), Persisted::default()));
    }
    let mut bytes = Vec::new();
    File::open(&state_path)?.read_to_end(&mut bytes)?;
    if bytes.len() < MAGIC.len() + 8 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(VectorError::Corrupt(format!(
            "[{}] is not a vector state file",
            state_path.display()
        )));
    }
    let (body, checksum) = bytes.split_at(bytes.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != checksum {
        return Err(VectorError::Corrupt(format!(
            "[{}] fails its checksum",
            state_path.display()
        )));
    }
    let mut decoder = Decoder::new(&body[MAGIC.len()..]);
    let version = decoder.u32()?;
    if version != FORMAT_VERSION {
        return Err(VectorError::Corrupt(format!(
            "unsupported vector format version [{version}]"
        )));
    }
    let mut expected_config = Encoder::default();
    encode_config(layout, &mut expected_config);
    for expected in &expected_config.bytes {
        if decoder.u8()? != *expected {
            return Err(VectorError::InvalidConfig(
                "the field's dims, similarity, element type, m or quantization differ from the stored index".into(),
            ));
        }
    }
    let rows = decoder.u64()? as usize;
    let vectors_generation = decoder.u64()?;
    let codes_generation = decoder.u64()?;
    let keys = decoder.u64s()?;
    let tombstones = Bitset::from_words(decoder.u64s()?);
    let quantizer = match decoder.u8()? {
        0 => None,
        1 => Some(Quantizer::Int8 {
            offsets: decoder.f32s()?,
            steps: decoder.f32s()?,
        }),
        2 => Some(Quantizer::Binary { means: decoder.f32s()? }),
        other => return Err(VectorError::Corrupt(format!("unknown quantizer tag [{other}]"))),
    };
    let trained_on = decoder.u64()? as usize;
    let corrections = decoder.f32s()?;
    let graph = match decoder.u8()? {
        0 => None,
        1 => Some(Graph::decode(&mut decoder)?),
        other => return Err(VectorError::Corrupt(format!("unknown graph tag [{other}]"))),
    };
    if !decoder.is_at_end() {
        return Err(VectorError::Corrupt("trailing bytes in the state file".into()));
    }
    if keys.len() != rows || graph.as_ref().is_some_and(|graph| graph.len() != rows) {
        return Err(VectorError::Corrupt("keys or graph do not match the row count".into()));
    }
    let map_rows = layout.config.quantization != Quantization::None;
    let row_store = RowStore::open(
        &vectors_path(folder, vectors_generation),
        layout.row_words,
        rows,
        map_rows,
    )?;
    let mut codes = Vec::new();
    if let Some(quantizer) = &quantizer {
        let needed = rows * quantizer.code_bytes();
        let mut file = File::open(codes_path(folder, codes_generation))?;
        codes.resize(needed, 0);
        file.read_exact(&mut codes)
            .map_err(|_| VectorError::Corrupt("the codes file is shorter than the state".into()))?;
        if corrections.len() != rows {
            return Err(VectorError::Corrupt("corrections do not match the row count".into()));
        }
    }
    remove_data_files(folder, Some((vectors_generation, codes_generation)))?;
    let dead = tombstones.count();
    let persisted = Persisted {
        flushed_rows: rows,
        vectors_generation,
        codes_generation,
        vectors_need_rewrite: false,
        codes_need_rewrite: false,
        dirty: false,
        max_flushed_key: keys.iter().copied().max(),
    };
    let mut state = State::new(layout);
    state.keys = KeyMap::from_keys(keys, &tombstones);
    state.rows = row_store;
    state.tombstones = tombstones;
    state.dead = dead;
    state.quantizer = quantizer;
    state.trained_on = trained_on;
    state.codes = codes;
    state.corrections = corrections;
    if graph.is_some() {
        state.graph = graph;
    }
    Ok((state, persisted))
}

/// Removes data files of other generations than `keep` (all of them when `None`).
fn remove_data_files(folder: &Path, keep: Option<(u64, u64)>) -> Result<(), VectorError> {
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        let is_current = keep
            .is_some_and(|(vectors, codes)| path == vectors_path(folder, vectors) || path == codes_path(folder, codes));
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        let is_data = (name.starts_with("vectors-") && name.ends_with(".f32"))
            || (name.starts_with("codes-") && name.ends_with(".bin"));
        if is_data && !is_current {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
