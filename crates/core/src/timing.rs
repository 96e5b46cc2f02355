//! How long records wait in the queue and how long they run, for `stats()`: two HdrHistograms
//! (two significant digits, 1 µs to an hour: 13 KB each, where three digits took 260 KB, which a
//! test that starts 100 executors saw in the process's memory) and the time workers spent running,
//! from which the utilization of the pool's capacity follows.
//!
//! A record is timed from its submission (or, for a range of a `map` job, the job's) to its
//! start, and from its start to the start of the next record its worker ran in the same batch, or
//! to the batch's `complete` for the last one. A record of `n` items counts as `n` items of its
//! duration divided by `n`.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Durations are recorded in nanoseconds, from 1 µs to an hour.
const LOWEST_NS: u64 = 1_000;
const HIGHEST_NS: u64 = 3_600_000_000_000;

/// Percentiles of one histogram, in milliseconds; all 0 before anything was recorded.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Percentiles {
    pub count: u64,
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// What [`Timing::summary`] answers.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TimingSummary {
    /// Time from submission to start, per item.
    pub wait: Percentiles,
    /// Time from start to end, per item.
    pub run: Percentiles,
    /// The share of the pool's capacity (`max_workers` since the first submission) spent running
    /// records, from 0 to 1.
    pub utilization: f64,
}

pub(crate) struct Timing {
    wait: Histogram<u32>,
    run: Histogram<u32>,
    busy: Duration,
}

impl Timing {
    pub(crate) fn new() -> Self {
        let histogram = || Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, 2).expect("valid bounds");
        Timing { wait: histogram(), run: histogram(), busy: Duration::ZERO }
    }

    /// A record of `items` items waited `wait` and ran `run`.
    pub(crate) fn record(&mut self, items: u32, wait: Duration, run: Duration) {
        let items = items.max(1);
        self.wait.saturating_record_n(clamp(wait, items), items);
        self.run.saturating_record_n(clamp(run, items), items);
        self.busy += run;
    }

    /// `since`: the pool's first submission, if any.
    pub(crate) fn summary(&self, max_workers: usize, since: Option<Instant>, now: Instant) -> TimingSummary {
        let capacity = since.map_or(0.0, |since| now.duration_since(since).as_secs_f64() * max_workers as f64);
        let utilization = if capacity > 0.0 { (self.busy.as_secs_f64() / capacity).min(1.0) } else { 0.0 };
        TimingSummary { wait: percentiles(&self.wait), run: percentiles(&self.run), utilization }
    }
}

/// A record's duration per item, in nanoseconds, within the histograms' bounds.
fn clamp(duration: Duration, items: u32) -> u64 {
    let per_item = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX) / u64::from(items);
    per_item.clamp(LOWEST_NS, HIGHEST_NS)
}

fn percentiles(histogram: &Histogram<u32>) -> Percentiles {
    if histogram.is_empty() {
        return Percentiles::default();
    }
    let ms = |ns: u64| ns as f64 / 1e6;
    Percentiles {
        count: histogram.len(),
        mean: histogram.mean() / 1e6,
        p50: ms(histogram.value_at_quantile(0.5)),
        p90: ms(histogram.value_at_quantile(0.9)),
        p99: ms(histogram.value_at_quantile(0.99)),
        max: ms(histogram.max()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_per_item_and_utilization() {
        let mut timing = Timing::new();
        let start = Instant::now();
        for ms in 1..=100 {
            timing.record(1, Duration::from_micros(500), Duration::from_millis(ms));
        }
        // A chunk of 4 items that ran 40 ms: four items of 10 ms.
        timing.record(4, Duration::from_millis(2), Duration::from_millis(40));
        let summary = timing.summary(2, Some(start), start + Duration::from_secs(10));
        assert_eq!(summary.run.count, 104);
        assert!((summary.run.p50 - 48.0).abs() < 0.5, "{:?}", summary.run); // two significant digits: within 1% // the 52nd of 104: 1-9, five 10s, 11-48
        assert!((summary.run.p99 - 99.0).abs() < 1.0, "{:?}", summary.run);
        assert!((summary.run.max - 100.0).abs() < 1.0);
        assert!((summary.wait.p50 - 0.5).abs() < 0.005 && (summary.wait.max - 0.5).abs() < 0.005, "{:?}", summary.wait);
        // 5,050 ms + 40 ms busy over 2 workers × 10 s.
        assert!((summary.utilization - 5.09 / 20.0).abs() < 1e-6, "{}", summary.utilization);
    }

    #[test]
    fn empty_before_anything_ran() {
        assert_eq!(Timing::new().summary(4, None, Instant::now()), TimingSummary::default());
    }
}
