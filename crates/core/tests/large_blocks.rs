//! `LargeBlocksMapped` keeps large blocks out of glibc. glibc's count of the blocks it has mapped
//! is process-wide, and any other test allocating a large block would move it: this check has a
//! test binary of its own, with one test.
#![cfg(all(target_os = "linux", target_env = "gnu", not(loom)))]

use std::alloc::{GlobalAlloc, Layout};

use concurrent_futures_core::LargeBlocksMapped;

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
