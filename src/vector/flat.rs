//! Exact search: score every accepted row. The reference the HNSW tests measure recall
//! against, the search of `Flat` indexes, and the fallback of selective filters (ES switches
//! to exact search below ~10k matching documents so a filtered kNN always finds `k`).

use std::collections::BinaryHeap;

use super::scratch::{Candidate, push_bounded};

/// Returns the `k` smallest `distance(id)` over `ids`, closest first.
pub(crate) fn exact_top_k(
    ids: impl Iterator<Item = u32>,
    k: usize,
    distance: impl Fn(u32) -> f32,
    heap: &mut BinaryHeap<Candidate>,
    sorted: &mut Vec<Candidate>,
) {
    heap.clear();
    sorted.clear();
    if k == 0 {
        return;
    }
    for id in ids {
        push_bounded(
            heap,
            k,
            Candidate {
                distance: distance(id),
                id,
            },
        );
    }
    sorted.extend(heap.drain());
    sorted.sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_k_closest_in_order() {
        let values = [5.0_f32, -1.0, 3.0, 0.5, 9.0];
        let mut heap = BinaryHeap::new();
        let mut sorted = Vec::new();
        exact_top_k(0..5, 3, |id| values[id as usize], &mut heap, &mut sorted);
        let ids: Vec<u32> = sorted.iter().map(|candidate| candidate.id).collect();
        assert_eq!(ids, vec![1, 3, 2]);
        exact_top_k(
            (0..5).filter(|id| id % 2 == 0),
            10,
            |id| values[id as usize],
            &mut heap,
            &mut sorted,
        );
        assert_eq!(sorted.len(), 3);
    }
}
