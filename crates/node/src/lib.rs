//! Node-API binding of `concurrent-futures-core`: converts arguments and answers, owns no policy.
//!
//! - [`pool::NativePool`]: one object on the main thread per executor; each worker thread attaches
//!   to the same core [`Pool`](concurrent_futures_core::Pool) by its numeric id (Rust statics are
//!   shared by every env of the process, while each worker has its own JS objects).
//! - [`blocks`]: large arrays that travel beside the frames.
//! - [`answers`]: how calls answer (codes and dispatches), decoded on the JavaScript side in one place.
//! - `main_wake`: the main thread's wake-up, at most once per drain.
//! - [`stop_page`]: a child process's stop page (where its parent says which tasks were aborted).
//!
//! Frames are read and written with `concurrent_futures_core::frames`; their layout constants are
//! exported below, so that `index.d.ts` carries them and `src/wire/frames.ts` reads them from here.

mod answers;
mod blocks;
mod main_wake;
mod pool;
mod stop_page;

use concurrent_futures_core::frames;
use napi_derive::napi;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: concurrent_futures_core::LargeBlocksMapped = concurrent_futures_core::LargeBlocksMapped;

// The frame layouts (see `concurrent_futures_core::frames`).
#[napi]
pub const VALUE_HEADER: u32 = frames::VALUE_HEADER as u32;
#[napi]
pub const VALUE_LEN: u32 = frames::VALUE_LEN as u32;
#[napi]
pub const RECORD_FUNC: u32 = frames::RECORD_FUNC as u32;
#[napi]
pub const RECORD_ITEMS: u32 = frames::RECORD_ITEMS as u32;
#[napi]
pub const RECORD_VALUE: u32 = frames::RECORD_VALUE as u32;
#[napi]
pub const RECORD_HEADER: u32 = frames::RECORD_HEADER as u32;
#[napi]
pub const COMPLETION_ID: u32 = frames::COMPLETION_ID as u32;
#[napi]
pub const COMPLETION_FIRST: u32 = frames::COMPLETION_FIRST as u32;
#[napi]
pub const COMPLETION_ITEMS: u32 = frames::COMPLETION_ITEMS as u32;
#[napi]
pub const COMPLETION_STATUS: u32 = frames::COMPLETION_STATUS as u32;
#[napi]
pub const COMPLETION_VALUE: u32 = frames::COMPLETION_VALUE as u32;
#[napi]
pub const COMPLETION_HEADER: u32 = frames::COMPLETION_HEADER as u32;
#[napi]
pub const BATCH_HEADER: u32 = frames::BATCH_HEADER as u32;
#[napi]
pub const BATCH_HAS_BLOCKS: u32 = frames::BATCH_HAS_BLOCKS;
#[napi]
pub const KIND_HAS_BLOCKS: u32 = frames::KIND_HAS_BLOCKS as u32;

// Record and completion states (`concurrent_futures_core::{State, Status}`).
#[napi]
pub const STATE_RUNNING: i32 = concurrent_futures_core::State::Running as i32;
#[napi]
pub const STATUS_BROKEN: u32 = concurrent_futures_core::Status::Broken as u32;
#[napi]
pub const STATUS_SKIPPED: u32 = concurrent_futures_core::Status::Skipped as u32;

/// Gives back the large blocks kept for reuse, unless some executor has work in flight; executors
/// call it once they have been idle for a while (see `memory.rs` in the core).
#[napi]
pub fn release_idle_memory() {
    concurrent_futures_core::release_idle_memory();
}

/// The most workers this process may run at once, as the system says (`u32::MAX` where it does
/// not say); see `concurrent_futures_core::limits`.
#[napi]
pub fn max_workers_allowed() -> u32 {
    concurrent_futures_core::limits::max_workers_allowed()
}

/// Called by a child process first thing: it ends when `parent_pid` exits, even in the middle of
/// a synchronous task; see `concurrent_futures_core::parent`. Answers whether the system can.
#[napi]
pub fn exit_with_parent(parent_pid: u32) -> bool {
    concurrent_futures_core::parent::exit_with_parent(parent_pid)
}

/// A new id for a `SharedArrayBuffer`, unique in the process, whichever thread asks: the main
/// thread and the workers each name the shared memory they send by such ids.
#[napi]
pub fn next_shared_memory_id() -> f64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as f64
}
