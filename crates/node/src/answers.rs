//! How the binding's calls answer. Hot calls answer with plain numbers; each encoding is defined
//! here and decoded on the JavaScript side by one function (`src/wire/native.ts`).
//!
//! - A dispatch (what to do so that queued work runs) is a number: `0` nothing, `slot + 1` ring
//!   that parked worker's doorbell, `-(slot + 1)` start a worker in that slot.
//! - `submitBatch` and `submitJob` answer `[first id, ...dispatches]`, or `[SUBMIT_*]` when
//!   refused.
//! - `take` answers the length of the batch it wrote into the caller's inbox, a buffer of its own
//!   when the batch does not fit, or `TAKE_IDLE` / `TAKE_EXIT`.

use concurrent_futures_core::{Dispatch, SubmitError};
use napi_derive::napi;

#[napi]
pub const SUBMIT_SHUTDOWN: i32 = -1;
#[napi]
pub const SUBMIT_BROKEN: i32 = -2;
/// `submitJob`'s text was not a JSON array.
#[napi]
pub const SUBMIT_NOT_AN_ARRAY: i32 = -3;
/// The worker is parked: it waits for its doorbell.
#[napi]
pub const TAKE_IDLE: i32 = -1;
/// The worker must exit (recycled, shut down or broken).
#[napi]
pub const TAKE_EXIT: i32 = -2;

pub fn dispatch_code(dispatch: Dispatch) -> i64 {
    match dispatch {
        Dispatch::Nothing | Dispatch::Claimed(_) => 0,
        Dispatch::Wake(slot) => i64::from(slot) + 1,
        Dispatch::Spawn(slot) => -(i64::from(slot) + 1),
    }
}

/// `[first id, ...dispatches]`, or the refusal's code.
pub fn submitted(result: Result<(u64, Vec<Dispatch>), SubmitError>) -> Vec<i64> {
    match result {
        Ok((id, dispatches)) => std::iter::once(id as i64).chain(dispatches.into_iter().map(dispatch_code)).collect(),
        Err(SubmitError::Shutdown) => vec![i64::from(SUBMIT_SHUTDOWN)],
        Err(SubmitError::Broken) => vec![i64::from(SUBMIT_BROKEN)],
    }
}

/// What `workerExited` answers.
#[napi(object)]
pub struct WorkerExit {
    /// The worker died holding records: the pool is now broken.
    pub broke: bool,
    /// A replacement to start, when work is still queued (a dispatch, as above).
    pub dispatch: i64,
}

/// What `workerCrashed` answers.
#[napi(object)]
pub struct WorkerCrash {
    /// The worker died while starting: the pool is now broken.
    pub broke: bool,
    /// The records (or ranges of a job's items) it was running, which failed with it.
    pub crashed: Vec<CancelledRange>,
    /// A replacement to start, when work is still queued (a dispatch, as above).
    pub dispatch: i64,
}

/// A record, or a range of a `map` job's items: cancelled by `shutdown`, or failed by a crash.
#[napi(object)]
pub struct CancelledRange {
    pub id: f64,
    pub first: u32,
    pub count: u32,
}

/// What `shutdown` answers.
#[napi(object)]
pub struct ShutdownResult {
    /// Records cancelled (with `cancelFutures`).
    pub cancelled: Vec<f64>,
    pub cancelled_ranges: Vec<CancelledRange>,
    /// Parked workers whose doorbells must be rung so that they exit.
    pub wake: Vec<u32>,
}

#[napi(object)]
pub struct PoolStats {
    pub workers: u32,
    pub idle: u32,
    pub queued: u32,
    pub running: u32,
    pub completed: f64,
}
