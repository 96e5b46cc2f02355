//! What the operating system allows: the most workers a pool could ever run at once.
//!
//! A pool has no limit of its own (slots are `u32`); what bounds `max_workers` is how many
//! threads or processes the system lets this process start. On Linux every thread and every
//! process takes a task id (`/proc/sys/kernel/pid_max`), the kernel caps all of them together
//! (`/proc/sys/kernel/threads-max`), and the user's `RLIMIT_NPROC` caps them per user. Elsewhere
//! the limit is not known up front, and a worker that cannot start breaks the pool when it is
//! started (as in Python).

/// The most workers (threads or child processes) this process may have at once, as far as the
/// system says; `u32::MAX` where it does not say.
pub fn max_workers_allowed() -> u32 {
    #[cfg(target_os = "linux")]
    {
        let read = |path: &str| std::fs::read_to_string(path).ok()?.trim().parse::<u64>().ok();
        let mut limit = u64::from(u32::MAX);
        for known in [read("/proc/sys/kernel/pid_max"), read("/proc/sys/kernel/threads-max"), nproc_limit()].into_iter().flatten() {
            limit = limit.min(known);
        }
        limit.max(1) as u32
    }
    #[cfg(not(target_os = "linux"))]
    {
        u32::MAX
    }
}

/// The soft `RLIMIT_NPROC`, unless unlimited.
#[cfg(target_os = "linux")]
fn nproc_limit() -> Option<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `getrlimit` writes one `rlimit` through the pointer, which points at one.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut limit) };
    (status == 0 && limit.rlim_cur != libc::RLIM_INFINITY).then_some(limit.rlim_cur)
}

#[cfg(all(test, not(loom), target_os = "linux"))]
mod tests {
    #[test]
    fn the_limit_is_the_systems_tightest_bound() {
        let limit = u64::from(super::max_workers_allowed());
        let pid_max: u64 = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap().trim().parse().unwrap();
        assert!(limit <= pid_max, "{limit} > pid_max {pid_max}");
        assert!(super::nproc_limit().is_none_or(|nproc| limit <= nproc));
        assert!(limit > 1, "this test runs on several threads, which the system allowed");
    }
}
