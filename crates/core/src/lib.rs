//! The core of `concurrent-futures`: the work queue, the per-task state machine, the worker
//! registry, the completion queue and the scheduling policy behind the JavaScript executors.
//!
//! This crate knows nothing of Node-API. The binding (`crates/node`) converts values and calls
//! [`Pool`]'s methods from the main thread (`submit`, `cancel`, `drain_completions`, `shutdown`,
//! `worker_exited`) and from the worker threads (`take`, `complete`). How records and outcomes
//! travel as bytes between JavaScript and the pool is defined once, in [`frames`].
//!
//! ```
//! use concurrent_futures_core::{Dispatch, Payload, Pool, Take};
//!
//! let pool = Pool::new(1, None, Box::new(|| { /* wake the main thread */ }));
//! # let pool = pool.with_linger(std::time::Duration::ZERO, 0);
//! let payload = Payload { func: 0, items: 1, kind: 0, data: b"[2,10]".to_vec(), blocks: vec![] };
//! let (id, dispatch) = pool.submit(payload).unwrap();
//! assert_eq!(dispatch, Dispatch::Spawn(0)); // no worker yet: start one in slot 0
//!
//! // ...on the worker of slot 0:
//! let Take::Work(batch) = pool.take(0, 0) else { unreachable!() };
//! assert_eq!(batch[0].data, b"[2,10]");
//! pool.complete(0, vec![(0, b"1024".to_vec())]);
//!
//! // ...back on the main thread, once woken:
//! let done = pool.drain_completions();
//! assert_eq!((done[0].id, done[0].data.as_slice()), (id, b"1024".as_slice()));
//! ```

mod completion;
mod cpu;
pub mod frames;
pub mod json;
pub mod limits;
mod memory;
pub mod parent;
pub mod stop_page;
mod pool;
mod registry;
pub mod scheduler;
mod sync;
mod table;
mod task;
mod timing;

pub use completion::{Completion, Outcome, Status};
#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
pub use memory::LargeBlocksMapped;
pub use memory::{copy_to_block, prefault, release_idle_memory, PREFAULT_MIN_BYTES};
pub use pool::{CrashReport, ExitReport, Pool, ShutdownReport, Stats, SubmitError, Take, Taken};
pub use registry::{Dispatch, Slot};
pub use task::{Payload, State, TaskId};
pub use timing::{Percentiles, TimingSummary};
