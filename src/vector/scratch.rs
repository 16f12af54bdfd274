//! Per-search working memory, reused across searches so a query allocates nothing: the
//! generation-stamped visited set and the two heaps of the HNSW layer search.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::quantize::QueryCodes;

/// A node and its distance to the query; ordered by distance, then id (a total order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) distance: f32,
    pub(crate) id: u32,
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance
            .total_cmp(&other.distance)
            .then_with(|| self.id.cmp(&other.id))
    }
}

/// Visited flags as generation stamps: clearing is one increment, not a memset.
#[derive(Default)]
pub(crate) struct VisitedSet {
    stamps: Vec<u32>,
    generation: u32,
}

impl VisitedSet {
    /// Starts a new search over ids `0..nodes`.
    pub(crate) fn clear(&mut self, nodes: usize) {
        if self.stamps.len() < nodes {
            self.stamps.resize(nodes, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.fill(0);
            self.generation = 1;
        }
    }

    /// Marks `id` and returns whether it was already marked.
    #[inline]
    pub(crate) fn check_and_mark(&mut self, id: u32) -> bool {
        let stamp = &mut self.stamps[id as usize];
        let seen = *stamp == self.generation;
        *stamp = self.generation;
        seen
    }
}

/// Everything one search (or one insert's link step) needs.
#[derive(Default)]
pub(crate) struct Scratch {
    pub(crate) visited: VisitedSet,
    /// Nodes to expand, closest first.
    pub(crate) candidates: BinaryHeap<Reverse<Candidate>>,
    /// The best `ef` accepted nodes, worst on top.
    pub(crate) results: BinaryHeap<Candidate>,
    /// Unvisited neighbours of the node being expanded.
    pub(crate) neighbors: Vec<u32>,
    /// The query as stored rows are (normalised for cosine, bits packed).
    pub(crate) query: Vec<f32>,
    pub(crate) query_codes: QueryCodes,
    /// Sorted output of a layer search or an exact scan.
    pub(crate) sorted: Vec<Candidate>,
}

impl Scratch {
    /// Moves `results` into `sorted`, closest first.
    pub(crate) fn drain_results_sorted(&mut self) {
        self.sorted.clear();
        self.sorted.extend(self.results.drain());
        self.sorted.sort_unstable();
    }
}

/// Keeps the `capacity` smallest candidates pushed into it (a bounded max-heap).
pub(crate) fn push_bounded(heap: &mut BinaryHeap<Candidate>, capacity: usize, candidate: Candidate) {
    if heap.len() < capacity {
        heap.push(candidate);
    } else if let Some(mut worst) = heap.peek_mut()
        && candidate < *worst
    {
        *worst = candidate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visited_set_resets_by_generation() {
        let mut visited = VisitedSet::default();
        visited.clear(4);
        assert!(!visited.check_and_mark(2));
        assert!(visited.check_and_mark(2));
        visited.clear(4);
        assert!(!visited.check_and_mark(2));
    }

    #[test]
    fn bounded_heap_keeps_the_smallest() {
        let mut heap = BinaryHeap::new();
        for (id, distance) in [5.0, 1.0, 4.0, 2.0, 3.0].into_iter().enumerate() {
            push_bounded(
                &mut heap,
                2,
                Candidate {
                    distance,
                    id: id as u32,
                },
            );
        }
        let mut kept: Vec<f32> = heap.into_iter().map(|candidate| candidate.distance).collect();
        kept.sort_by(f32::total_cmp);
        assert_eq!(kept, vec![1.0, 2.0]);
    }
}
