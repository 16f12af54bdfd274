//! Running one search's independent parts (a compound retriever's children, several top-level
//! kNN clauses) on several threads, but only while cores are idle: on a busy server the parts
//! run one after the other and leave the cores to the other searches.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Error, Result};

/// How many searches are running now.
static SEARCHES_RUNNING: AtomicUsize = AtomicUsize::new(0);

/// Counts one search as running while it lives.
pub(super) struct RunningSearch;

impl RunningSearch {
    pub(super) fn start() -> RunningSearch {
        SEARCHES_RUNNING.fetch_add(1, Ordering::Relaxed);
        RunningSearch
    }
}

impl Drop for RunningSearch {
    fn drop(&mut self) {
        SEARCHES_RUNNING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Whether fewer searches run than there are cores: only then does spreading one search's parts
/// over threads make it faster rather than take time from the others.
fn cores_to_spare() -> bool {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    SEARCHES_RUNNING.load(Ordering::Relaxed) < cores
}

/// `work` applied to every item, results in item order; the first error wins. With two or more
/// items and cores to spare, all but the first run on scoped threads; an item that gets no
/// thread runs on this one.
pub(super) fn map_parts<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> Result<R> + Sync) -> Result<Vec<R>> {
    let Some((first, rest)) = items.split_first() else {
        return Ok(Vec::new());
    };
    if rest.is_empty() || !cores_to_spare() {
        return items.iter().map(work).collect();
    }
    let work = &work;
    std::thread::scope(|scope| {
        let spawned: Vec<_> = rest
            .iter()
            .map(|item| std::thread::Builder::new().spawn_scoped(scope, move || work(item)).ok())
            .collect();
        let mut results = vec![work(first)];
        for (item, handle) in rest.iter().zip(spawned) {
            results.push(match handle {
                Some(handle) => handle
                    .join()
                    .unwrap_or_else(|_| Err(Error::internal("a part of the search stopped unexpectedly"))),
                None => work(item),
            });
        }
        results.into_iter().collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_item_order_and_the_first_error_wins() {
        let squares = map_parts(&[1, 2, 3, 4], |n| Ok(n * n)).expect("squares");
        assert_eq!(squares, vec![1, 4, 9, 16]);
        let failed = map_parts(&[1, 2, 3], |n| {
            if *n >= 2 {
                Err(Error::illegal_argument(format!("part {n}")))
            } else {
                Ok(*n)
            }
        });
        assert!(failed.is_err_and(|error| error.to_string().contains("part 2")));
        assert!(map_parts(&[] as &[u8], |n| Ok(*n)).expect("empty").is_empty());
    }
}
