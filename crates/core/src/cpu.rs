//! Keeping a lingering worker off the main thread's core.
//!
//! A worker that lingers spins, and so does the main thread while it polls for outcomes (both
//! yield when they find nothing). If the scheduler has put them on the same core, every hand-off
//! between them waits for a yield, and a round trip costs several times more than across two
//! cores. The scheduler is slow to separate them on its own: two threads that never sleep both
//! count as cache-hot, and a thread woken by the main thread tends to be placed beside it. So a
//! lingering worker that finds itself on the core the main thread polls from moves itself once:
//! it drops that core from its allowed set, which migrates it at once, and then restores the set.

/// The index of the core the calling thread runs on, or `None` where that is not known cheaply.
pub(crate) fn current() -> Option<usize> {
    #[cfg(all(target_os = "linux", not(loom)))]
    {
        // SAFETY: `sched_getcpu` takes no arguments and touches no caller memory.
        let cpu = unsafe { libc::sched_getcpu() };
        usize::try_from(cpu).ok()
    }
    #[cfg(not(all(target_os = "linux", not(loom))))]
    {
        None
    }
}

/// Moves the calling thread off core `cpu` if it may run elsewhere; its allowed set is left as
/// it was. Returns whether it moved.
pub(crate) fn move_off(cpu: usize) -> bool {
    #[cfg(all(target_os = "linux", not(loom)))]
    {
        if cpu >= libc::CPU_SETSIZE as usize {
            return false;
        }
        // SAFETY: `cpu_set_t` is plain bits, valid when zeroed; the calls get its exact size and
        // pid 0 (the calling thread); `CPU_ISSET`/`CPU_CLR`/`CPU_COUNT` stay within the set
        // (`cpu` was checked against `CPU_SETSIZE`).
        unsafe {
            let mut allowed: libc::cpu_set_t = std::mem::zeroed();
            let size = std::mem::size_of::<libc::cpu_set_t>();
            if libc::sched_getaffinity(0, size, &mut allowed) != 0 || !libc::CPU_ISSET(cpu, &allowed) || libc::CPU_COUNT(&allowed) < 2 {
                return false;
            }
            let mut elsewhere = allowed;
            libc::CPU_CLR(cpu, &mut elsewhere);
            let moved = libc::sched_setaffinity(0, size, &elsewhere) == 0;
            libc::sched_setaffinity(0, size, &allowed);
            moved
        }
    }
    #[cfg(not(all(target_os = "linux", not(loom))))]
    {
        let _ = cpu;
        false
    }
}

#[cfg(all(test, target_os = "linux", not(loom)))]
mod tests {
    use super::*;

    fn allowed() -> libc::cpu_set_t {
        // SAFETY: as in `move_off`: a zeroed set of the size given, for the calling thread.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            assert_eq!(libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set), 0);
            set
        }
    }

    #[test]
    fn moving_off_a_core_leaves_it_and_restores_the_allowed_set() {
        let cpu = current().expect("sched_getcpu works on Linux");
        let before = allowed();
        // SAFETY: counting the bits of a valid set.
        let cores = unsafe { libc::CPU_COUNT(&before) };
        if cores < 2 {
            assert!(!move_off(cpu), "with one allowed core there is nowhere to go");
            return;
        }
        assert!(move_off(cpu));
        assert_ne!(current(), Some(cpu), "the thread runs elsewhere");
        let after = allowed();
        // SAFETY: reading bits of two valid sets, at indices below `CPU_SETSIZE`.
        let same = (0..libc::CPU_SETSIZE as usize).all(|i| unsafe { libc::CPU_ISSET(i, &before) == libc::CPU_ISSET(i, &after) });
        assert!(same, "the allowed set is as it was");
    }

    #[test]
    fn a_core_the_thread_may_not_use_is_left_alone() {
        assert!(!move_off(libc::CPU_SETSIZE as usize), "out of the set's range");
    }
}
