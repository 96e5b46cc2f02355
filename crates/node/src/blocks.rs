//! Blocks: large arrays (64 KB or more) that travel beside their frames instead of in them, each
//! copied once on each side. The sending thread stashes each one (`stashBlock`) while it encodes;
//! its next `submitBatch` or `complete` hands them to the frames that count them. The receiving
//! thread's `take` or `drain` keeps the blocks of the frames it wrote, and the thread takes them
//! at once with `takeBlocks`, before anything else can receive.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use concurrent_futures_core::frames::ValueFrame;
use concurrent_futures_core::Taken;
use napi::bindgen_prelude::*;
use napi_derive::napi;

thread_local! {
    /// Blocks this thread copied out of the values it encoded, by the writer that encoded them and
    /// in order, until that writer's frames are handed over. By writer: several executors batch
    /// submits on one thread.
    static STASHED: RefCell<HashMap<u32, VecDeque<Vec<u8>>>> = RefCell::new(HashMap::new());
    /// The blocks of the frames this thread last received, until `takeBlocks`.
    static RECEIVED: RefCell<Received> = const { RefCell::new(Received::Nothing) };
}

/// The blocks of the frames of one `take` or `drain`, in frame order.
pub enum Received {
    Nothing,
    /// A batch's records, whose blocks stay the pool's until the records complete.
    Records(Vec<Taken>),
    Outcomes(Vec<Vec<u8>>),
}

impl Received {
    fn has_blocks(&self) -> bool {
        match self {
            Received::Nothing => false,
            Received::Records(batch) => batch.iter().any(|p| !p.blocks.is_empty()),
            Received::Outcomes(blocks) => !blocks.is_empty(),
        }
    }
}

/// Keeps `received` as this thread's last received blocks, for `takeBlocks`.
pub fn receive(received: Received) {
    let kept = if received.has_blocks() { received } else { Received::Nothing };
    RECEIVED.with_borrow_mut(|last| *last = kept);
}

/// Copies `bytes` (a large array a value holds) into a block of its own, which the next
/// `submitBatch` or `complete` of frames `writer` wrote on this thread attaches to the frame that
/// counts it. Copied now, as a clone is taken when the value is sent: the array may change before
/// its frame is handed over (the other tasks of a worker's batch run first).
#[napi]
pub fn stash_block(writer: u32, bytes: &[u8]) {
    let block = concurrent_futures_core::copy_to_block(bytes);
    STASHED.with_borrow_mut(|stashed| stashed.entry(writer).or_default().push_back(block));
}

/// The blocks of the frames this thread last received (`take` or `drain`), in frame order, each
/// copied into a `Buffer` of its own (Node's allocator, not zero-filled first), whose whole
/// `ArrayBuffer` the decoded view takes, as a clone's would. Copied blocks go back to the core's
/// cache as soon as their record or outcome is done, and the next block reuses that memory.
/// Not faulted in ahead, as `stashBlock`'s blocks are: a `Buffer` whose bytes are known before the
/// copy comes zero-filled from Node's allocator, and received memory is mostly recycled, where
/// that zeroing costs more than the page faults it would save.
///
/// Handing the blocks themselves over (external buffers) spares the copy but leaves their memory
/// to the garbage collector, and on a worker thread to its event loop, where Node runs the
/// finalizers of external buffers: a busy worker seldom gets there. Measured here: a 1 MB array
/// echoed with 4 in flight took 1.2-1.8 ms a task that way against 0.57-0.84 with the copy, and
/// the process held 6 GB after 6,000 tasks (170-210 MB with the copy); only 200 arguments of
/// 4 MB in flight at once went faster (120-175 tasks/s against 70-125), which `run`'s `transfer`
/// serves better (500/s, no copy at all).
#[napi]
pub fn take_blocks(env: &Env) -> Result<Vec<BufferSlice<'_>>> {
    match RECEIVED.with_borrow_mut(|last| std::mem::replace(last, Received::Nothing)) {
        Received::Nothing => Ok(Vec::new()),
        Received::Records(batch) => batch.iter().flat_map(|p| &p.blocks).map(|block| BufferSlice::copy_from(env, block)).collect(),
        Received::Outcomes(blocks) => blocks.into_iter().map(|block| BufferSlice::copy_from(env, block)).collect(),
    }
}

/// The blocks `writer` stashed on this thread, to hand to its frames in order. Taken whole: a
/// block that no frame counts is dropped, so that it cannot be taken for a later frame's.
pub struct Stash(VecDeque<Vec<u8>>);

impl Stash {
    pub fn of(writer: u32) -> Self {
        Stash(STASHED.with_borrow_mut(|stashed| stashed.remove(&writer)).unwrap_or_default())
    }

    /// The blocks `frame` owns: the next ones stashed, as many as it counts.
    pub fn blocks_of(&mut self, frame: &ValueFrame<'_>) -> Result<Vec<Vec<u8>>> {
        let count = frame.block_count().map_err(|e| Error::new(Status::InvalidArg, e.to_string()))?;
        if self.0.len() < count {
            return Err(Error::new(Status::InvalidArg, "a frame counts blocks that were not stashed"));
        }
        Ok(self.0.drain(..count).collect())
    }
}
