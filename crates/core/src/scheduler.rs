//! Scheduling policy: how many records a worker takes at once, and how `map` cuts its input into
//! chunks. Both are pure functions of a few numbers, so they are easy to test and to reason about.

/// Work a worker may take in one go, in nanoseconds of estimated run time. Small enough that a
/// worker holding a batch never leaves another idle for long; large enough that tiny tasks cross
/// the binding a few hundred at a time.
pub const BATCH_BUDGET_NS: u64 = 200_000;

/// How long a worker that ran out of work keeps looking before it parks. Work that arrives in
/// this window (the next task of a stream, or of a caller awaiting each result) costs no wake-up
/// system call on either side. Zero under loom, which does not model time.
pub const LINGER: std::time::Duration =
    std::time::Duration::from_micros(if cfg!(loom) { 0 } else { 50 });

/// Upper bound on the items of one batch, whatever the estimate says.
pub const MAX_ITEMS: usize = 4096;

/// How many items a worker should take now: this is both the batch of small records and the
/// size of a range cut from a `map` job (guided self-scheduling, cut at take time).
///
/// `item_cost_ns` is the worker's measured mean run time per item (0 when it has not measured one
/// yet: it then takes one item, to measure); `queued` is the number of items waiting; `workers`
/// the live workers. The answer is at least 1, fits the time budget, and leaves a fair share of
/// the queue to the other workers, so the last items are spread one by one and the workers finish
/// together, and a few slow items among many fast ones cannot strand work behind them.
pub fn batch_size(item_cost_ns: u64, queued: usize, workers: usize) -> usize {
    if item_cost_ns == 0 {
        return 1;
    }
    let by_budget = (BATCH_BUDGET_NS / item_cost_ns).max(1) as usize;
    let fair_share = queued.div_ceil(workers.max(1) * 2).max(1);
    by_budget.min(fair_share).min(MAX_ITEMS)
}

/// Guided self-scheduling for `map` with `chunksize: 'auto'`: the next chunk is a fraction of the
/// items still to be cut, so chunks are large while much input remains and shrink to 1 at the end.
///
/// `item_cost_ns` is the mean run time per item measured so far; it caps a chunk at
/// [`BATCH_BUDGET_NS`] of work so a few slow items cannot strand a large chunk on one worker.
/// Unknown (0): every chunk is one item. Chunks grow only from a measured cost, since a user
/// would see a guess that is too large (results in bursts, the first one late).
#[derive(Debug, Clone)]
pub struct ChunkPlanner {
    workers: usize,
    max_chunk: usize,
}

impl ChunkPlanner {
    /// Chunks never exceed this many items, so results stream back while the rest still runs.
    pub const MAX_CHUNK: usize = 4096;

    pub fn new(workers: usize) -> Self {
        ChunkPlanner { workers: workers.max(1), max_chunk: Self::MAX_CHUNK }
    }

    /// The size of the next chunk when `remaining` items are left to cut.
    pub fn next_chunk(&self, remaining: usize, item_cost_ns: u64) -> usize {
        if remaining == 0 {
            return 0;
        }
        let guided = remaining.div_ceil(self.workers * 4);
        // No measured cost yet (0): one item.
        let by_cost = BATCH_BUDGET_NS.checked_div(item_cost_ns).map_or(1, |n| n.max(1) as usize);
        guided.min(by_cost).min(self.max_chunk).clamp(1, remaining)
    }

    /// Cuts `total` items into consecutive chunk lengths (for a fixed cost estimate).
    pub fn plan(&self, total: usize, item_cost_ns: u64) -> Vec<usize> {
        let mut chunks = Vec::new();
        let mut remaining = total;
        while remaining > 0 {
            let n = self.next_chunk(remaining, item_cost_ns);
            chunks.push(n);
            remaining -= n;
        }
        chunks
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn unknown_cost_takes_one() {
        assert_eq!(batch_size(0, 1000, 2), 1);
    }

    #[test]
    fn cheap_records_batch_up_to_fair_share() {
        assert_eq!(batch_size(1_000, 100_000, 2), 200);
        assert_eq!(batch_size(1_000, 10, 2), 3);
        assert_eq!(batch_size(1, 1_000_000, 1), MAX_ITEMS);
    }

    #[test]
    fn slow_records_go_one_by_one() {
        assert_eq!(batch_size(10_000_000, 40, 2), 1);
    }

    #[test]
    fn batch_size_is_at_least_one_and_bounded_by_budget_fair_share_and_cap() {
        for cost in [1u64, 2, 49, 50, 999, 1_000, 7_777, 199_999, 200_000, 200_001, 10_000_000] {
            for queued in [0usize, 1, 2, 3, 4, 5, 17, 1_000, 8_192, 16_384, 16_385, 1_000_000] {
                for workers in [0usize, 1, 2, 3, 4, 16] {
                    let n = batch_size(cost, queued, workers);
                    let by_budget = (BATCH_BUDGET_NS / cost).max(1) as usize;
                    let fair_share = queued.div_ceil(2 * workers.max(1)).max(1);
                    assert_eq!(n, by_budget.min(fair_share).min(MAX_ITEMS), "{cost} ns, {queued} queued, {workers} workers");
                    assert!((1..=MAX_ITEMS).contains(&n));
                }
            }
        }
        assert_eq!(batch_size(1, 16_384, 2), MAX_ITEMS, "the fair share reaches the cap exactly");
        assert_eq!(batch_size(1, 16_380, 2), MAX_ITEMS - 1, "just below it");
    }

    #[test]
    fn unknown_cost_cuts_one_item_per_chunk() {
        let planner = ChunkPlanner::new(2);
        assert_eq!(planner.plan(5, 0), vec![1; 5]);
        assert_eq!(planner.next_chunk(1_000_000, 0), 1);
    }

    #[test]
    fn plan_covers_every_item_once_and_shrinks() {
        let planner = ChunkPlanner::new(2);
        for total in [0usize, 1, 2, 7, 100, 12_345, 1_000_000] {
            let plan = planner.plan(total, 1);
            assert_eq!(plan.iter().sum::<usize>(), total);
            assert!(plan.iter().all(|&n| n >= 1 && n <= ChunkPlanner::MAX_CHUNK));
            assert!(plan.windows(2).all(|w| w[0] >= w[1]), "chunks never grow: {plan:?}");
            if total > 0 {
                assert_eq!(*plan.last().unwrap(), 1, "the tail is cut one by one");
            }
        }
    }

    #[test]
    fn slow_items_cap_chunks() {
        let planner = ChunkPlanner::new(2);
        assert_eq!(planner.next_chunk(1_000, 50_000_000), 1);
        assert_eq!(planner.next_chunk(1_000_000, 100), ChunkPlanner::MAX_CHUNK.min(2_000));
    }
}
