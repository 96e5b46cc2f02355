//! Giving memory back after a burst: the records of 100,000 tasks are freed when they complete,
//! but glibc's allocator keeps the freed pages in its arenas (one per thread that allocated) until
//! asked to trim them.

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
