//! Giving memory back after a burst: the records of 100,000 tasks are freed when they complete,
//! but glibc's allocator keeps the freed pages in its arenas (one per thread that allocated) until
//! asked to trim them. `LargeBlocksMapped` (the addon's global allocator) keeps our large blocks out
//! of glibc, whose thresholds they would otherwise raise, and keeps a few freed ones for reuse
//! while pools are active.

/// Returns free heap pages to the operating system, where the allocator supports it.
pub(crate) fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: `malloc_trim` is glibc's, thread-safe (it locks each arena in turn) and only
        // releases pages that hold no live allocation; it takes no pointers.
        unsafe {
            malloc_trim(0);
        }
    }
    release_idle_memory();
}

/// [`release_free_memory`] on a thread of its own: trimming after a burst of 100,000 records takes
/// milliseconds (glibc merges every freed chunk), which the thread that completes the burst should
/// not wait for. Inline if no thread can be started.
pub(crate) fn release_free_memory_soon() {
    #[cfg(not(loom))]
    if std::thread::Builder::new().name("cf-release-memory".into()).spawn(release_free_memory).is_ok() {
        return;
    }
    release_free_memory();
}

/// Pools whose executor has work in flight (`Pool::set_active`), over the whole process.
#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
static ACTIVE_POOLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A pool became active or idle. Freed large blocks are cached only while some pool is active;
/// [`release_idle_memory`] unmaps them once none is.
pub(crate) fn pool_active(active: bool) {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
    {
        use std::sync::atomic::Ordering::SeqCst;
        if active {
            ACTIVE_POOLS.fetch_add(1, SeqCst);
        } else {
            ACTIVE_POOLS.fetch_sub(1, SeqCst);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu", not(loom))))]
    let _ = active;
}

/// Unmaps the large blocks kept for reuse, unless some pool is active. Not done the moment the
/// last pool goes idle: a loop of awaited submits goes idle between tasks, and would find the
/// cache empty each time. The executors call this once they have been idle for a while.
pub fn release_idle_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
    {
        // Checked under the cache's lock, which `keep` takes too: a block freed meanwhile is
        // either kept before this (and unmapped here) or sees no active pool (and is unmapped).
        let mut slots = CACHE.lock();
        if ACTIVE_POOLS.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            slots.unmap_all();
        }
    }
}

/// A copy of `bytes` in a block of its own (a large array that travels beside its frame).
///
/// A fresh block's pages are faulted in by one call before the copy (`MADV_POPULATE_WRITE`,
/// Linux 5.14+) rather than one page fault at a time during it: a 4 MB copy into fresh memory
/// took 1.25 ms that way against 1.8 ms (measured with a C program on this project's 2-vCPU VM,
/// 200 blocks held). Where the call is not known, or refused, the copy faults them as usual.
pub fn copy_to_block(bytes: &[u8]) -> Vec<u8> {
    let mut block = Vec::with_capacity(bytes.len());
    // SAFETY: the vector's capacity, which this function owns, is `bytes.len()` bytes or more.
    unsafe { prefault(block.as_mut_ptr(), bytes.len()) };
    block.extend_from_slice(bytes);
    block
}

/// Bytes under which [`prefault`] does nothing: a few pages fault in as cheaply one by one.
pub const PREFAULT_MIN_BYTES: usize = 128 * 1024;

/// Faults in, for writing, the whole pages of the `len` bytes at `start` (see [`copy_to_block`]):
/// for a caller about to write them all (any alignment: the pages wholly inside are faulted in). Does nothing off Linux, under [`PREFAULT_MIN_BYTES`], or
/// where the kernel does not know the call.
///
/// # Safety
/// `[start, start + len)` must be memory the caller may write (it is about to), mapped readable
/// and writable.
pub unsafe fn prefault(start: *mut u8, len: usize) {
    #[cfg(all(target_os = "linux", not(loom)))]
    {
        const MADV_POPULATE_WRITE: libc::c_int = 23;
        const PAGE: usize = 4096;
        if len < PREFAULT_MIN_BYTES {
            return;
        }
        // The whole pages inside the range: madvise takes a page-aligned start.
        let first = (start as usize).next_multiple_of(PAGE);
        let end = (start as usize + len) / PAGE * PAGE;
        if end <= first {
            return;
        }
        // Memory in use before (a block the allocator recycled) has its pages already: a call
        // would only walk them. Told by the first page.
        let mut resident = 0u8;
        // SAFETY: `first` is page-aligned and its page lies inside the caller's range; `mincore`
        // writes one byte for one page into `resident`.
        if unsafe { libc::mincore(first as *mut libc::c_void, PAGE, &mut resident) } == 0 && resident & 1 != 0 {
            return;
        }
        // SAFETY: the pages lie inside the range the caller may write (see above); populating
        // them changes no byte (each page is faulted in as the write about to come would fault
        // it). An error (a kernel before 5.14) leaves them to fault on that write.
        unsafe { libc::madvise(first as *mut libc::c_void, end - first, MADV_POPULATE_WRITE) };
    }
    #[cfg(not(all(target_os = "linux", not(loom))))]
    let _ = (start, len);
}

/// A global allocator for the addon: the system allocator, except that blocks of
/// [`LargeBlocksMapped::THRESHOLD`] bytes or more are mapped and unmapped directly.
///
/// A burst of records grows the queue and the cancel table to megabytes. glibc would map such
/// blocks itself, but each time it unmaps one it raises its process-wide thresholds for mapping
/// and for trimming to that size, and from then on the whole process (V8 included) keeps more
/// freed memory resident. Mapping them here leaves those thresholds alone.
///
/// A fresh mapping costs a page fault for each page it touches (about 0.4 ms a megabyte), and a
/// task that carries a megabyte each way frees and maps several blocks, so a few freed blocks of
/// up to [`LargeBlocksMapped::MAX_CACHED_BLOCK`] bytes are kept for reuse ([`BlockCache`]) while
/// some pool has work in flight; [`release_idle_memory`] unmaps them once none has.
#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
pub struct LargeBlocksMapped;

#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
impl LargeBlocksMapped {
    /// glibc's initial mapping threshold.
    pub const THRESHOLD: usize = 128 * 1024;
    /// Larger blocks are unmapped when freed (the cache holds 32 MB at most).
    pub const MAX_CACHED_BLOCK: usize = 4 * 1024 * 1024;
    const PAGE: usize = 4096;

    fn mapped(layout: std::alloc::Layout) -> bool {
        layout.size() >= Self::THRESHOLD && layout.align() <= Self::PAGE
    }

    /// The length mapped for a block of `size` bytes: rounded up to an eighth of the next power
    /// of two, so that blocks of about the same size share a length and can take each other's
    /// place in the cache (untouched pages of the rounding cost nothing).
    fn mapped_len(size: usize) -> usize {
        let step = (size.next_power_of_two() / 8).max(Self::PAGE);
        size.div_ceil(step) * step
    }

    /// Ordinary pages, not transparent huge pages: with hundreds of 4 MB blocks in flight, the
    /// kernel compacted memory to find huge pages (`defrag` is `madvise` here), and a 4 MB copy
    /// into a fresh block took 10 ms instead of 1.7 (measured with a C program, 200 blocks held).
    fn map(len: usize) -> *mut u8 {
        Self::map_at_any(len)
    }

    fn map_at_any(len: usize) -> *mut u8 {
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing touches no
        // existing memory.
        let address = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        if address == libc::MAP_FAILED { std::ptr::null_mut() } else { address.cast() }
    }

    /// Unmaps the blocks kept for reuse.
    pub fn release_cached() {
        CACHE.lock().unmap_all();
    }
}

/// Freed mapped blocks, by address and mapped length (address 0: an empty slot). The allocator
/// must not allocate, so a fixed array; a `Mutex` (a futex on Linux) neither allocates nor calls
/// back into the allocator. When every slot is taken, a freed block replaces another, each slot in
/// turn: the latest freed are the likeliest to be asked for again.
#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
struct BlockCache {
    slots: std::sync::Mutex<CacheSlots>,
}

#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
struct CacheSlots {
    blocks: [(usize, usize); CACHED_BLOCKS],
    /// The slot the next block goes to when every slot is taken (round robin).
    oldest: usize,
}

#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
impl CacheSlots {
    fn unmap_all(&mut self) {
        for (address, len) in self.blocks.iter_mut() {
            if *address != 0 {
                // SAFETY: a block that `map` mapped with this length and its owner freed; the
                // cache held it alone, and forgets it here.
                unsafe { libc::munmap(*address as *mut libc::c_void, *len) };
                *address = 0;
            }
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
const CACHED_BLOCKS: usize = 8;

#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
static CACHE: BlockCache = BlockCache { slots: std::sync::Mutex::new(CacheSlots { blocks: [(0, 0); CACHED_BLOCKS], oldest: 0 }) };

#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
impl BlockCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheSlots> {
        // Nothing panics while the lock is held: the slots are always consistent.
        self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A cached block of exactly `len` mapped bytes, if there is one.
    fn take(&self, len: usize) -> Option<*mut u8> {
        let mut slots = self.lock();
        let slot = slots.blocks.iter_mut().find(|(address, cached)| *address != 0 && *cached == len)?;
        let (address, _) = std::mem::replace(slot, (0, 0));
        Some(address as *mut u8)
    }

    /// Keeps a freed block; answers the block it replaced, for the caller to unmap (the block
    /// itself when no pool is active).
    fn keep(&self, address: *mut u8, len: usize) -> Option<(usize, usize)> {
        let mut slots = self.lock();
        if ACTIVE_POOLS.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            return Some((address as usize, len));
        }
        let index = match slots.blocks.iter().position(|(cached, _)| *cached == 0) {
            Some(empty) => empty,
            None => {
                let oldest = slots.oldest;
                slots.oldest = (oldest + 1) % CACHED_BLOCKS;
                oldest
            }
        };
        let replaced = std::mem::replace(&mut slots.blocks[index], (address as usize, len));
        (replaced.0 != 0).then_some(replaced)
    }
}

// SAFETY: small blocks are the system allocator's. A large block is an anonymous private mapping
// of `mapped_len(size)` bytes, page-aligned (so aligned for any `align` up to a page, which
// `mapped` checks), either fresh or a freed block of that same length from the cache, which no
// one else holds: `take` removes it under the lock. It is unmapped with that length or cached
// when freed; `mapped` and `mapped_len` depend on the layout alone, so a block is always freed
// the way it was allocated. `alloc_zeroed` clears a cached block; the kernel zeroes new mappings.
#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
unsafe impl std::alloc::GlobalAlloc for LargeBlocksMapped {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if !Self::mapped(layout) {
            return unsafe { std::alloc::System.alloc(layout) };
        }
        let len = Self::mapped_len(layout.size());
        CACHE.take(len).unwrap_or_else(|| Self::map(len))
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if Self::mapped(layout) {
            let len = Self::mapped_len(layout.size());
            // Clearing a cached block costs less than faulting in a fresh one.
            let Some(block) = CACHE.take(len) else { return Self::map(len) };
            unsafe { block.write_bytes(0, layout.size()) };
            block
        } else {
            unsafe { std::alloc::System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if !Self::mapped(layout) {
            return unsafe { std::alloc::System.dealloc(ptr, layout) };
        }
        let len = Self::mapped_len(layout.size());
        let unmap = if len > Self::MAX_CACHED_BLOCK { Some((ptr as usize, len)) } else { CACHE.keep(ptr, len) };
        if let Some((address, len)) = unmap {
            unsafe { libc::munmap(address as *mut libc::c_void, len) };
        }
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu", not(loom)))]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::LargeBlocksMapped;

    /// The cache is process-wide: tests that use large blocks run one at a time.
    fn serial() -> std::sync::MutexGuard<'static, ()> {
        static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cached_blocks() -> usize {
        super::CACHE.lock().blocks.iter().filter(|(address, _)| *address != 0).count()
    }

    #[test]
    fn freed_blocks_of_about_the_same_size_are_reused_while_a_pool_is_active() {
        let _serial = serial();
        let first = Layout::from_size_align((1 << 20) + 9, 8).unwrap();
        let second = Layout::from_size_align((1 << 20) + 4000, 8).unwrap();
        let huge = Layout::from_size_align(LargeBlocksMapped::MAX_CACHED_BLOCK + 1, 8).unwrap();
        // SAFETY: non-zero layouts; each block is used within its size and freed with it.
        unsafe {
            // No pool active: freed blocks go back to the system at once.
            let idle = LargeBlocksMapped.alloc(first);
            idle.write_bytes(1, first.size());
            LargeBlocksMapped.dealloc(idle, first);
            assert_eq!(cached_blocks(), 0);

            super::pool_active(true);
            let block = LargeBlocksMapped.alloc(first);
            block.write_bytes(1, first.size());
            LargeBlocksMapped.dealloc(block, first);
            assert_eq!(cached_blocks(), 1);
            let zeroed = LargeBlocksMapped.alloc_zeroed(second);
            assert_eq!(zeroed, block, "a block of the same rounded length is reused");
            assert!((0..second.size()).all(|i| *zeroed.add(i) == 0), "and cleared when asked for zeroed memory");
            assert_eq!(cached_blocks(), 0);
            LargeBlocksMapped.dealloc(zeroed, second);
            let again = LargeBlocksMapped.alloc(first);
            assert_eq!(again, block);
            LargeBlocksMapped.dealloc(again, first);

            // Full: the block kept longest is unmapped for the latest freed.
            let blocks: Vec<*mut u8> = (0..super::CACHED_BLOCKS + 1).map(|_| LargeBlocksMapped.alloc(first)).collect();
            assert_eq!(cached_blocks(), 0);
            for &b in &blocks {
                b.write_bytes(5, first.size());
                LargeBlocksMapped.dealloc(b, first);
            }
            let mut kept: Vec<usize> = super::CACHE.lock().blocks.iter().map(|&(address, _)| address).collect();
            kept.sort_unstable();
            let mut latest: Vec<usize> = blocks[1..].iter().map(|&b| b as usize).collect();
            latest.sort_unstable();
            assert_eq!(kept, latest, "the first freed was replaced by the last");

            let big = LargeBlocksMapped.alloc(huge);
            big.write_bytes(3, huge.size());
            LargeBlocksMapped.dealloc(big, huge);
            assert_eq!(cached_blocks(), super::CACHED_BLOCKS, "blocks over MAX_CACHED_BLOCK are unmapped at once");
            LargeBlocksMapped::release_cached();
            assert_eq!(cached_blocks(), 0);

            // Two pools active; idle memory is released only once both are idle.
            super::pool_active(true);
            let block = LargeBlocksMapped.alloc(first);
            LargeBlocksMapped.dealloc(block, first);
            super::pool_active(false);
            super::release_idle_memory();
            assert_eq!(cached_blocks(), 1, "one pool is still active");
            super::pool_active(false);
            assert_eq!(cached_blocks(), 1, "kept until asked: the pool may be active again at once");
            super::release_idle_memory();
            assert_eq!(cached_blocks(), 0, "no pool is active");
        }
    }

    #[test]
    fn large_blocks_are_page_aligned() {
        let _serial = serial();
        for size in [LargeBlocksMapped::THRESHOLD, (1 << 20) - 4096, 1 << 20, (5 << 20) + 3] {
            let layout = Layout::from_size_align(size, 8).unwrap();
            // SAFETY: a non-zero layout; the block is written within its size and freed with it.
            unsafe {
                let block = LargeBlocksMapped.alloc(layout);
                assert_eq!(block as usize % 4096, 0, "{size} bytes");
                block.write_bytes(9, size);
                assert_eq!(*block.add(size - 1), 9);
                LargeBlocksMapped.dealloc(block, layout);
            }
        }
    }

    #[test]
    fn small_and_overaligned_blocks_are_the_system_allocators() {
        for layout in [Layout::from_size_align(64, 8).unwrap(), Layout::from_size_align(LargeBlocksMapped::THRESHOLD, 8192).unwrap()] {
            // SAFETY: as above.
            unsafe {
                let block = LargeBlocksMapped.alloc(layout);
                assert!(!block.is_null() && block as usize % layout.align() == 0);
                block.write_bytes(7, layout.size());
                LargeBlocksMapped.dealloc(block, layout);
            }
        }
    }
}
