//! Blocks: large arrays (64 KB or more) that travel beside their frames instead of in them,
//! copied once, by the sender, and received as they are (the receiver's `ArrayBuffer` is the block). The sending thread stashes each one (`stashBlock`) while it encodes;
//! its next `submitBatch` or `complete` hands them to the frames that count them. The receiving
//! thread's `take` or `drain` keeps the blocks of the frames it wrote, and the thread takes them
//! at once with `takeBlocks`, before anything else can receive.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use concurrent_futures_core::frames::ValueFrame;
use concurrent_futures_core::{Block, Payload};
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
    Records(Vec<Arc<Payload>>),
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
    STASHED.with_borrow_mut(|stashed| stashed.entry(writer).or_default().push_back(bytes.to_vec()));
}

/// The blocks of the frames this thread last received (`take` or `drain`), in frame order, each
/// as a `Buffer` over the block itself (an external buffer: no copy), whose whole `ArrayBuffer`
/// the decoded view takes, as a clone's would. The block is freed when the garbage collector
/// frees the buffer. A record's block is handed over once (see `Block`): a record stolen from
/// another worker's reservation gets a copy. Where the runtime refuses external buffers, napi-rs
/// copies instead.
///
/// Measured with 4 MB arguments and results, 200 in flight on 2 workers: copying every block into
/// a buffer of Node's cost the receiving thread a fresh 4 MB allocation and a copy each time.
#[napi]
pub fn take_blocks(env: &Env) -> Result<Vec<BufferSlice<'_>>> {
    match RECEIVED.with_borrow_mut(|last| std::mem::replace(last, Received::Nothing)) {
        Received::Nothing => Ok(Vec::new()),
        Received::Records(batch) => batch.iter().flat_map(|p| p.blocks.iter().map(move |block| (p, block))).map(|(payload, block)| record_block(env, payload, block)).collect(),
        Received::Outcomes(blocks) => blocks.into_iter().map(|block| BufferSlice::from_data(env, block)).collect(),
    }
}

fn record_block<'env>(env: &'env Env, payload: &Arc<Payload>, block: &Block) -> Result<BufferSlice<'env>> {
    match block.hand_over() {
        // SAFETY: `bytes` is the block's `len()` bytes, which live as long as the payload that
        // owns the block; the buffer holds a reference to that payload until it is finalized.
        Some(bytes) => unsafe { BufferSlice::from_external(env, bytes, block.len(), Arc::clone(payload), |_, payload| drop(payload)) },
        // SAFETY: handed over before to a worker that does not run this record (it was stolen
        // from that worker's reservation), so no one writes the bytes.
        None => BufferSlice::copy_from(env, unsafe { block.bytes() }),
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
