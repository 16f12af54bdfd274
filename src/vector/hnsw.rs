//! HNSW graph (Malkov & Yashunin, <https://arxiv.org/abs/1603.09320>): layered proximity
//! graph, greedy descent through the upper layers, beam search (`ef`) on layer 0, neighbours
//! chosen by the paper's heuristic (Algorithm 4), `M` links per node above layer 0 and
//! `M0 = 2M` on layer 0, levels drawn with `mult = 1 / ln(M)`.
//!
//! Layout: each node's layer-0 list is one fixed slot `[count, id × M0]` in a single contiguous
//! array; the few nodes above layer 0 have their upper slots `[count, id × M]` per level in a
//! second array. Slots are `AtomicU32`, so searches read them while inserts rewrite them
//! (relaxed loads compile to plain loads; a reader may see a list mid-update, which costs at
//! most a slightly different path, never an invalid id). Writers to a node's lists hold that
//! node's lock, so inserts run in parallel. Nodes are appended with `&mut self` (under the
//! index's write lock), linked with `&self` (under its read lock).
//!
//! The graph knows nothing of vectors: the caller passes a [`Scorer`] (distance from the
//! query, or from the node being inserted, to a node: f32 rows or quantized codes) and a
//! pairwise distance for the heuristic.

use std::cmp::Reverse;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::VectorError;
use super::scratch::{Candidate, Scratch, push_bounded};
use super::storage::{Decoder, Encoder};

/// Distance from a fixed query to stored nodes.
pub(crate) trait Scorer {
    fn distance(&self, id: u32) -> f32;
    /// Starts loading what `distance(id)` will read.
    fn prefetch(&self, id: u32);
}

const NO_ENTRY: u64 = u64::MAX;
/// Whether layer-0 lists are topped up with the closest candidates the heuristic pruned
/// (the paper's `keepPrunedConnections`): on tightly clustered data the heuristic alone keeps
/// few links between clusters and queries that fall between clusters get lost.
const KEEP_PRUNED_LEVEL0: bool = true;
/// How many neighbours ahead of the one being scored are prefetched.
const PREFETCH_AHEAD: usize = 1;
/// Levels are capped (a level above 16 at M ≥ 2 has probability < 2⁻¹⁶ per node).
const MAX_LEVEL: u8 = 16;

pub(crate) struct Graph {
    m: usize,
    m0: usize,
    level_multiplier: f64,
    links0: Vec<AtomicU32>,
    levels: Vec<u8>,
    /// Start of each node's upper slots in `upper` (meaningless for level-0 nodes).
    upper_offsets: Vec<u32>,
    upper: Vec<AtomicU32>,
    locks: Vec<Mutex<()>>,
    /// `(max level << 32) | node`, or `NO_ENTRY`.
    entry: AtomicU64,
    entry_lock: Mutex<()>,
}

impl Graph {
    pub(crate) fn new(m: usize) -> Graph {
        let m = m.max(2);
        Graph {
            m,
            m0: 2 * m,
            level_multiplier: 1.0 / (m as f64).ln(),
            links0: Vec::new(),
            levels: Vec::new(),
            upper_offsets: Vec::new(),
            upper: Vec::new(),
            locks: Vec::new(),
            entry: AtomicU64::new(NO_ENTRY),
            entry_lock: Mutex::new(()),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.levels.len()
    }

    /// Draws a level: `floor(-ln(U) · mult)`.
    pub(crate) fn random_level(&self, random: &mut fastrand::Rng) -> u8 {
        let uniform = 1.0 - random.f64(); // (0, 1]
        ((-uniform.ln() * self.level_multiplier) as u64).min(MAX_LEVEL as u64) as u8
    }

    pub(crate) fn reserve(&mut self, nodes: usize) {
        self.links0.reserve(nodes * (1 + self.m0));
        self.levels.reserve(nodes);
        self.upper_offsets.reserve(nodes);
        self.locks.reserve(nodes);
    }

    /// Appends an unlinked node; it becomes reachable once [`Graph::link`] runs.
    pub(crate) fn push_node(&mut self, level: u8) -> u32 {
        let id = self.levels.len() as u32;
        self.links0.extend((0..1 + self.m0).map(|_| AtomicU32::new(0)));
        self.levels.push(level);
        self.upper_offsets.push(self.upper.len() as u32);
        self.upper
            .extend((0..level as usize * (1 + self.m)).map(|_| AtomicU32::new(0)));
        self.locks.push(Mutex::new(()));
        id
    }

    fn entry_point(&self) -> Option<(u32, u8)> {
        let packed = self.entry.load(Ordering::Acquire);
        (packed != NO_ENTRY).then_some((packed as u32, (packed >> 32) as u8))
    }

    fn set_entry(&self, node: u32, level: u8) {
        self.entry
            .store(((level as u64) << 32) | node as u64, Ordering::Release);
    }

    /// The slot `[count, ids...]` of `node` at `level`.
    #[inline]
    fn slot(&self, node: u32, level: u8) -> &[AtomicU32] {
        if level == 0 {
            let start = node as usize * (1 + self.m0);
            &self.links0[start..start + 1 + self.m0]
        } else {
            let start = self.upper_offsets[node as usize] as usize + (level as usize - 1) * (1 + self.m);
            &self.upper[start..start + 1 + self.m]
        }
    }

    fn capacity(&self, level: u8) -> usize {
        if level == 0 { self.m0 } else { self.m }
    }

    /// Copies the neighbour ids of `node` at `level` into `out`.
    #[inline]
    fn read_neighbors(&self, node: u32, level: u8, out: &mut Vec<u32>) {
        out.clear();
        let slot = self.slot(node, level);
        let count = (slot[0].load(Ordering::Acquire) as usize).min(slot.len() - 1);
        out.extend(slot[1..1 + count].iter().map(|id| id.load(Ordering::Relaxed)));
    }

    fn write_neighbors(&self, node: u32, level: u8, ids: impl Iterator<Item = u32>) {
        let slot = self.slot(node, level);
        let mut count = 0;
        for (position, id) in ids.take(slot.len() - 1).enumerate() {
            slot[1 + position].store(id, Ordering::Relaxed);
            count = position + 1;
        }
        slot[0].store(count as u32, Ordering::Release);
    }

    /// Greedy descent from the entry point to layer 1; returns the layer-0 entry candidate.
    fn descend<S: Scorer>(&self, scorer: &S, down_to: u8, scratch: &mut Scratch) -> Option<(Candidate, u8)> {
        let (entry, max_level) = self.entry_point()?;
        let mut current = Candidate {
            distance: scorer.distance(entry),
            id: entry,
        };
        let mut level = max_level;
        while level > down_to {
            let mut improved = true;
            while improved {
                improved = false;
                self.read_neighbors(current.id, level, &mut scratch.neighbors);
                for &neighbor in &scratch.neighbors {
                    let distance = scorer.distance(neighbor);
                    if distance < current.distance {
                        current = Candidate { distance, id: neighbor };
                        improved = true;
                    }
                }
            }
            level -= 1;
        }
        Some((current, max_level))
    }

    /// Beam search of one layer from `entry_points`: leaves the best `ef` nodes for which
    /// `accept` holds in `scratch.results`. Rejected nodes are still traversed; while fewer
    /// than `ef` are accepted the search keeps expanding, so it finds `ef` accepted nodes
    /// whenever they are reachable.
    fn search_layer<S: Scorer, A: Fn(u32) -> bool>(
        &self,
        scorer: &S,
        entry_points: &[Candidate],
        level: u8,
        ef: usize,
        accept: &A,
        scratch: &mut Scratch,
    ) {
        let Scratch {
            visited,
            candidates,
            results,
            neighbors,
            ..
        } = scratch;
        visited.clear(self.len());
        candidates.clear();
        results.clear();
        for entry in entry_points {
            if visited.check_and_mark(entry.id) {
                continue;
            }
            candidates.push(Reverse(*entry));
            if accept(entry.id) {
                push_bounded(results, ef, *entry);
            }
        }
        let mut bound = results.peek().map_or(f32::INFINITY, |worst| worst.distance);
        while let Some(Reverse(closest)) = candidates.pop() {
            if closest.distance > bound && results.len() >= ef {
                break;
            }
            self.read_neighbors(closest.id, level, neighbors);
            neighbors.retain(|id| !visited.check_and_mark(*id));
            for &ahead in neighbors.iter().take(PREFETCH_AHEAD) {
                scorer.prefetch(ahead);
            }
            for (position, &neighbor) in neighbors.iter().enumerate() {
                // Start loading a row a few neighbours ahead while this one is scored
                // (prefetching every row at once stalls on the line-fill buffers).
                if let Some(ahead) = neighbors.get(position + PREFETCH_AHEAD) {
                    scorer.prefetch(*ahead);
                }
                let distance = scorer.distance(neighbor);
                if results.len() < ef || distance < bound {
                    let candidate = Candidate { distance, id: neighbor };
                    candidates.push(Reverse(candidate));
                    if accept(neighbor) {
                        push_bounded(results, ef, candidate);
                        if results.len() >= ef {
                            bound = results.peek().map_or(f32::INFINITY, |worst| worst.distance);
                        }
                    }
                }
            }
        }
    }

    /// Searches for the `ef` nearest accepted nodes; they are left in `scratch.results`.
    pub(crate) fn search<S: Scorer, A: Fn(u32) -> bool>(
        &self,
        scorer: &S,
        ef: usize,
        accept: &A,
        scratch: &mut Scratch,
    ) {
        scratch.results.clear();
        let Some((entry, _)) = self.descend(scorer, 0, scratch) else {
            return;
        };
        self.search_layer(scorer, &[entry], 0, ef.max(1), accept, scratch);
    }

    /// Links `node` (already pushed, its vector scored by `scorer`) into every layer up to its
    /// level. `pair_distance(a, b)` is the distance between two stored nodes.
    pub(crate) fn link<S: Scorer, D: Fn(u32, u32) -> f32>(
        &self,
        node: u32,
        scorer: &S,
        pair_distance: &D,
        ef_construction: usize,
        scratch: &mut Scratch,
    ) {
        let node_level = self.levels[node as usize];
        let Some((entry, max_level)) = self.entry_point() else {
            let _guard = self.entry_lock.lock();
            if self.entry_point().is_none() {
                self.set_entry(node, node_level);
                return;
            }
            drop(_guard);
            return self.link(node, scorer, pair_distance, ef_construction, scratch);
        };
        if entry == node {
            return;
        }
        let Some((start, _)) = self.descend(scorer, node_level, scratch) else {
            return;
        };
        let mut entry_points = vec![start];
        let mut selected = Vec::with_capacity(self.m0 + 1);
        for level in (0..=node_level.min(max_level)).rev() {
            self.search_layer(scorer, &entry_points, level, ef_construction, &|_| true, scratch);
            scratch.drain_results_sorted();
            select_by_heuristic(
                &scratch.sorted,
                self.m,
                level == 0 && KEEP_PRUNED_LEVEL0,
                pair_distance,
                &mut selected,
            );
            {
                let _guard = self.locks[node as usize].lock();
                self.read_neighbors(node, level, &mut scratch.neighbors);
                if scratch.neighbors.is_empty() {
                    self.write_neighbors(node, level, selected.iter().map(|candidate| candidate.id));
                } else {
                    // Another insert linked to this node meanwhile: keep the best of both.
                    let mut merged: Vec<Candidate> = scratch
                        .neighbors
                        .iter()
                        .filter(|id| !selected.iter().any(|chosen| chosen.id == **id))
                        .map(|&id| Candidate {
                            distance: pair_distance(node, id),
                            id,
                        })
                        .chain(selected.iter().copied())
                        .collect();
                    merged.sort_unstable();
                    let mut kept = Vec::new();
                    select_by_heuristic(
                        &merged,
                        self.capacity(level),
                        level == 0 && KEEP_PRUNED_LEVEL0,
                        pair_distance,
                        &mut kept,
                    );
                    self.write_neighbors(node, level, kept.iter().map(|candidate| candidate.id));
                }
            }
            for chosen in &selected {
                self.add_backlink(chosen.id, node, chosen.distance, level, pair_distance);
            }
            entry_points.clear();
            entry_points.extend_from_slice(&scratch.sorted);
        }
        if node_level > max_level {
            let _guard = self.entry_lock.lock();
            if self
                .entry_point()
                .is_none_or(|(_, current_max)| node_level > current_max)
            {
                self.set_entry(node, node_level);
            }
        }
    }

    /// Adds `new` to the list of `target` at `level`, pruning with the heuristic when full.
    fn add_backlink<D: Fn(u32, u32) -> f32>(&self, target: u32, new: u32, distance: f32, level: u8, pair_distance: &D) {
        let _guard = self.locks[target as usize].lock();
        let slot = self.slot(target, level);
        let count = (slot[0].load(Ordering::Acquire) as usize).min(slot.len() - 1);
        if slot[1..1 + count].iter().any(|id| id.load(Ordering::Relaxed) == new) {
            return;
        }
        if count < self.capacity(level) {
            slot[1 + count].store(new, Ordering::Relaxed);
            slot[0].store(count as u32 + 1, Ordering::Release);
            return;
        }
        let mut candidates: Vec<Candidate> = slot[1..1 + count]
            .iter()
            .map(|id| {
                let id = id.load(Ordering::Relaxed);
                Candidate {
                    distance: pair_distance(target, id),
                    id,
                }
            })
            .collect();
        candidates.push(Candidate { distance, id: new });
        candidates.sort_unstable();
        let mut kept = Vec::with_capacity(self.capacity(level));
        select_by_heuristic(
            &candidates,
            self.capacity(level),
            level == 0 && KEEP_PRUNED_LEVEL0,
            pair_distance,
            &mut kept,
        );

        self.write_neighbors(target, level, kept.iter().map(|candidate| candidate.id));
    }

    /// Bytes held: link slots, levels, offsets and locks.
    pub(crate) fn heap_bytes(&self) -> u64 {
        ((self.links0.capacity() + self.upper.capacity() + self.upper_offsets.capacity()) * 4
            + self.levels.capacity()
            + self.locks.capacity() * std::mem::size_of::<Mutex<()>>()) as u64
    }

    pub(crate) fn encode(&self, encoder: &mut Encoder) {
        encoder.u32(self.m as u32);
        encoder.bytes(&self.levels);
        encoder.u64(self.entry.load(Ordering::Acquire));
        encoder.u32s(self.links0.iter().map(|slot| slot.load(Ordering::Relaxed)));
        encoder.u32s(self.upper.iter().map(|slot| slot.load(Ordering::Relaxed)));
    }

    pub(crate) fn decode(decoder: &mut Decoder) -> Result<Graph, VectorError> {
        let m = decoder.u32()? as usize;
        let mut graph = Graph::new(m);
        let levels = decoder.bytes()?;
        let entry = decoder.u64()?;
        let links0 = decoder.u32s()?;
        let upper = decoder.u32s()?;
        let nodes = levels.len();
        let upper_needed: usize = levels.iter().map(|level| *level as usize * (1 + graph.m)).sum();
        if links0.len() != nodes * (1 + graph.m0) || upper.len() != upper_needed {
            return Err(VectorError::Corrupt("graph arrays do not match the node count".into()));
        }
        // Counts are at most `nodes - 1` (no self or duplicate links), ids below `nodes`.
        if nodes > 0 && links0.iter().chain(&upper).any(|value| *value as usize >= nodes) {
            return Err(VectorError::Corrupt("graph links point past the last node".into()));
        }
        if entry != NO_ENTRY
            && (entry as u32 as usize >= nodes || ((entry >> 32) as u8) != levels[entry as u32 as usize])
        {
            return Err(VectorError::Corrupt("graph entry point is invalid".into()));
        }
        graph.reserve(nodes);
        for level in levels {
            graph.push_node(level);
        }
        for (slot, value) in graph.links0.iter().zip(links0) {
            slot.store(value, Ordering::Relaxed);
        }
        for (slot, value) in graph.upper.iter().zip(upper) {
            slot.store(value, Ordering::Relaxed);
        }
        graph.entry.store(entry, Ordering::Release);
        Ok(graph)
    }
}

/// HNSW Algorithm 4 (no extension, no kept pruned links): walks `sorted` (closest first) and
/// keeps a candidate only if it is closer to the base than to every neighbour already kept,
/// which spreads links across directions instead of bunching them in one cluster.
fn select_by_heuristic<D: Fn(u32, u32) -> f32>(
    sorted: &[Candidate],
    capacity: usize,
    keep_pruned: bool,
    pair_distance: &D,
    selected: &mut Vec<Candidate>,
) {
    selected.clear();
    if sorted.len() < capacity {
        selected.extend_from_slice(sorted);
        return;
    }
    for candidate in sorted {
        if selected.len() >= capacity {
            break;
        }
        let diverse = selected
            .iter()
            .all(|kept| pair_distance(candidate.id, kept.id) >= candidate.distance);
        if diverse {
            selected.push(*candidate);
        }
    }
    if keep_pruned && selected.len() < capacity {
        let before = selected.len();
        for candidate in sorted {
            if selected.len() >= capacity {
                break;
            }
            if !selected[..before].iter().any(|kept| kept.id == candidate.id) {
                selected.push(*candidate);
            }
        }
        selected.sort_unstable();
    }
}
