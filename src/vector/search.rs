//! Search: exact scans, filtered pre-filtering with the switch to exact search, HNSW on f32
//! rows or quantized codes, and the exact f32 rescoring of the quantized short list.

use super::distance::{Metric, distance_f32, prefetch};
use super::flat::exact_top_k;
use super::hnsw::{Graph, Scorer};
use super::index::State;
use super::quantize::{Quantizer, QueryCodes};
use super::scratch::{Candidate, Scratch};
use super::storage::{Bitset, RowStore};
use super::{Neighbor, SearchParams, VectorError, VectorIndex};

/// Bytes of a row prefetched ahead of scoring (the hardware prefetcher streams the rest).
const PREFETCH_BYTES: usize = 64;

/// Distances from a query row to stored f32 rows.
pub(super) struct RowScorer<'a> {
    pub(super) rows: &'a RowStore,
    pub(super) query: &'a [f32],
    pub(super) metric: Metric,
}

impl Scorer for RowScorer<'_> {
    #[inline]
    fn distance(&self, id: u32) -> f32 {
        distance_f32(self.metric, self.query, self.rows.row(id as usize))
    }

    #[inline]
    fn prefetch(&self, id: u32) {
        let row = self.rows.row(id as usize);
        prefetch(row.as_ptr().cast(), std::mem::size_of_val(row).min(PREFETCH_BYTES));
    }
}

/// Approximate distances from a prepared query to stored codes.
struct CodeScorer<'a> {
    quantizer: &'a Quantizer,
    codes: &'a [u8],
    code_bytes: usize,
    corrections: &'a [f32],
    query: &'a QueryCodes,
    metric: Metric,
}

impl Scorer for CodeScorer<'_> {
    #[inline]
    fn distance(&self, id: u32) -> f32 {
        let start = id as usize * self.code_bytes;
        let code = &self.codes[start..start + self.code_bytes];
        self.quantizer
            .approximate_distance(self.metric, self.query, code, self.corrections[id as usize])
    }

    #[inline]
    fn prefetch(&self, id: u32) {
        let start = id as usize * self.code_bytes;
        prefetch(self.codes[start..].as_ptr(), self.code_bytes.min(PREFETCH_BYTES));
    }
}

impl VectorIndex {
    /// Returns the `k` nearest live vectors that pass `filter` (by document key), best first;
    /// exactly `min(k, matching)` of them. Exact search answers `Flat` indexes, `exact`
    /// requests and filters that pass at most `exact_filter_threshold` vectors; otherwise
    /// HNSW (on codes, then rescored with exact f32 rows when quantized), falling back to
    /// exact search should the graph walk find fewer than `k`.
    pub fn search(
        &self,
        query: &[f32],
        params: &SearchParams,
        filter: Option<&dyn Fn(u64) -> bool>,
    ) -> Result<Vec<Neighbor>, VectorError> {
        let mut scratch = self.take_scratch();
        let mut query_row = std::mem::take(&mut scratch.query);
        let encoded = self.layout.encode_row(query, &mut query_row);
        let outcome = encoded.map(|()| {
            let state = self.state.read();
            self.search_state(&state, &query_row, params, filter, &mut scratch);
            scratch
                .sorted
                .iter()
                .map(|candidate| Neighbor {
                    key: state.keys.key(candidate.id as usize),
                    raw: self.layout.similarity.raw_from_distance(candidate.distance),
                })
                .collect()
        });
        scratch.query = query_row;
        self.return_scratch(scratch);
        outcome
    }

    /// Leaves the hits in `scratch.sorted` (exact distances, closest first).
    fn search_state(
        &self,
        state: &State,
        query: &[f32],
        params: &SearchParams,
        filter: Option<&dyn Fn(u64) -> bool>,
        scratch: &mut Scratch,
    ) {
        scratch.sorted.clear();
        let k = params.k;
        let stored = state.rows.len() as u32;
        let live = state.keys.live_count();
        if k == 0 || live == 0 {
            return;
        }
        let exact_scan = |ids: &mut dyn Iterator<Item = u32>, scratch: &mut Scratch| {
            exact_top_k(
                ids,
                k,
                |id| state.exact_distance(&self.layout, query, id),
                &mut scratch.results,
                &mut scratch.sorted,
            );
        };
        let limit = params.key_limit;
        let Some(filter) = filter else {
            let visible = |id: u32| !state.tombstones.contains(id as usize) && state.keys.key(id as usize) < limit;
            let graph = state.graph.as_ref().filter(|_| !params.exact);
            if let Some(graph) = graph {
                if state.dead == 0 && limit == u64::MAX {
                    self.graph_search(state, graph, query, params, &|_| true, scratch);
                } else {
                    self.graph_search(state, graph, query, params, &visible, scratch);
                }
                if scratch.sorted.len() >= k.min(live) {
                    return;
                }
            }
            let mut visible_ids = (0..stored).filter(|id| visible(*id));
            exact_scan(&mut visible_ids, scratch);
            return;
        };
        let mut allowed = Bitset::default();
        let mut matching = 0;
        for id in 0..stored as usize {
            let key = state.keys.key(id);
            if !state.tombstones.contains(id) && key < limit && filter(key) {
                allowed.insert(id);
                matching += 1;
            }
        }
        if matching == 0 {
            return;
        }
        if let Some(graph) = state.graph.as_ref()
            && !params.exact
            && matching > params.exact_filter_threshold
        {
            self.graph_search(
                state,
                graph,
                query,
                params,
                &|id| allowed.contains(id as usize),
                scratch,
            );
            if scratch.sorted.len() >= k.min(matching) {
                return;
            }
        }
        let mut allowed_ids = (0..stored).filter(|id| allowed.contains(*id as usize));
        exact_scan(&mut allowed_ids, scratch);
    }

    /// HNSW search of the `num_candidates` best accepted nodes, rescored exactly, cut to `k`.
    fn graph_search<A: Fn(u32) -> bool>(
        &self,
        state: &State,
        graph: &Graph,
        query: &[f32],
        params: &SearchParams,
        accept: &A,
        scratch: &mut Scratch,
    ) {
        let ef = params.num_candidates.max(params.k);
        match state.quantizer.as_ref() {
            Some(quantizer) => {
                let mut prepared = std::mem::take(&mut scratch.query_codes);
                quantizer.prepare_query(query, &mut prepared);
                let scorer = CodeScorer {
                    quantizer,
                    codes: &state.codes,
                    code_bytes: quantizer.code_bytes(),
                    corrections: &state.corrections,
                    query: &prepared,
                    metric: self.layout.metric,
                };
                graph.search(&scorer, ef, accept, scratch);
                scratch.query_codes = prepared;
                // Rescore the short list with the exact f32 rows.
                scratch.sorted.clear();
                for candidate in scratch.results.iter() {
                    let row = state.rows.row(candidate.id as usize);
                    prefetch(row.as_ptr().cast(), std::mem::size_of_val(row));
                }
                let metric = self.layout.metric;
                scratch.sorted.extend(scratch.results.drain().map(|candidate| {
                    let distance = distance_f32(metric, query, state.rows.row(candidate.id as usize));
                    Candidate { distance, ..candidate }
                }));
                scratch.sorted.sort_unstable();
            }
            None => {
                let scorer = RowScorer {
                    rows: &state.rows,
                    query,
                    metric: self.layout.metric,
                };
                graph.search(&scorer, ef, accept, scratch);
                scratch.drain_results_sorted();
            }
        }
        scratch.sorted.truncate(params.k);
    }
}
