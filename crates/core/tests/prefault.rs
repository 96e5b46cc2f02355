//! `copy_to_block` and `prefault`: faulting pages in ahead of a copy changes no byte, whatever the
//! range's alignment and size (under, at and over `PREFAULT_MIN_BYTES`, unaligned starts and ends).

use concurrent_futures_core::{copy_to_block, prefault, PREFAULT_MIN_BYTES};

fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + seed) % 251) as u8).collect()
}

#[test]
fn a_block_is_an_exact_copy() {
    for len in [0, 1, 4095, PREFAULT_MIN_BYTES - 1, PREFAULT_MIN_BYTES, PREFAULT_MIN_BYTES + 4097, 4 << 20] {
        let bytes = pattern(len, len);
        let block = copy_to_block(&bytes);
        assert_eq!(block.len(), len);
        assert!(block == bytes, "{len} bytes copied exactly");
    }
}

#[test]
fn prefaulting_keeps_every_byte() {
    let len = 3 * PREFAULT_MIN_BYTES + 123;
    let mut memory = pattern(len, 7);
    let expected = memory.clone();
    for (start, end) in [(0, len), (1, len - 1), (4095, len - 4097), (17, 17 + PREFAULT_MIN_BYTES), (0, 10)] {
        // SAFETY: `[start, end)` lies inside `memory`, which this test owns and may write.
        unsafe { prefault(memory.as_mut_ptr().add(start), end - start) };
        assert!(memory == expected, "bytes kept after prefaulting {start}..{end}");
    }
}
