//! Giving memory back after a burst: the records of 100,000 tasks are freed when they complete,
//! but glibc's allocator keeps the freed pages in its arenas (one per thread that allocated) until
//! asked to trim them. `LargeBlocksMapped` (the addon's global allocator) keeps our large blocks out
//! of glibc, whose thresholds they would otherwise raise.

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
}

/// A global allocator for the addon: the system allocator, except that blocks of
/// [`LargeBlocksMapped::THRESHOLD`] bytes or more are mapped and unmapped directly.
///
/// A burst of records grows the queue and the cancel table to megabytes. glibc would map such
/// blocks itself, but each time it unmaps one it raises its process-wide thresholds for mapping
/// and for trimming to that size, and from then on the whole process (V8 included) keeps more
/// freed memory resident. Mapping them here leaves those thresholds alone.
#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
pub struct LargeBlocksMapped;

#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
impl LargeBlocksMapped {
    /// glibc's initial mapping threshold.
    pub const THRESHOLD: usize = 128 * 1024;
    const PAGE: usize = 4096;

    fn mapped(layout: std::alloc::Layout) -> bool {
        layout.size() >= Self::THRESHOLD && layout.align() <= Self::PAGE
    }
}

// SAFETY: small blocks are the system allocator's. A large block is a fresh anonymous private
// mapping of at least `size` bytes, page-aligned (so aligned for any `align` up to a page,
// which `mapped` checks), zeroed by the kernel, and unmapped with the same length when freed;
// `mapped` depends on the layout alone, so a block is always freed the way it was allocated.
#[cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]
unsafe impl std::alloc::GlobalAlloc for LargeBlocksMapped {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        if !Self::mapped(layout) {
            return unsafe { std::alloc::System.alloc(layout) };
        }
        let address = unsafe {
            libc::mmap(std::ptr::null_mut(), layout.size(), libc::PROT_READ | libc::PROT_WRITE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0)
        };
        if address == libc::MAP_FAILED { std::ptr::null_mut() } else { address.cast() }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        if Self::mapped(layout) {
            unsafe { self.alloc(layout) } // fresh mappings are zeroed
        } else {
            unsafe { std::alloc::System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        if Self::mapped(layout) {
            unsafe { libc::munmap(ptr.cast(), layout.size()) };
        } else {
            unsafe { std::alloc::System.dealloc(ptr, layout) }
        }
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu", not(loom)))]
mod tests {
    use std::alloc::{GlobalAlloc, Layout};

    use super::LargeBlocksMapped;

    /// Blocks glibc has mapped itself.
    fn glibc_mapped_blocks() -> usize {
        // SAFETY: `mallinfo2` takes no arguments and returns a plain struct.
        unsafe { libc::mallinfo2() }.hblks
    }

    #[test]
    fn large_blocks_bypass_glibc_and_keep_their_contents() {
        let layout = Layout::from_size_align(3 * LargeBlocksMapped::THRESHOLD, 64).unwrap();
        let before = glibc_mapped_blocks();
        // SAFETY: a non-zero layout; the block is used within its size and freed with it.
        unsafe {
            let block = LargeBlocksMapped.alloc_zeroed(layout);
            assert!(!block.is_null());
            assert_eq!(glibc_mapped_blocks(), before, "mapped by us, not by glibc");
            assert!((0..layout.size()).all(|i| *block.add(i) == 0), "zeroed");
            for i in 0..layout.size() {
                *block.add(i) = (i % 251) as u8;
            }
            let grown = LargeBlocksMapped.realloc(block, layout, 2 * layout.size());
            assert!((0..layout.size()).all(|i| *grown.add(i) == (i % 251) as u8), "realloc keeps the contents");
            LargeBlocksMapped.dealloc(grown, Layout::from_size_align(2 * layout.size(), 64).unwrap());
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
