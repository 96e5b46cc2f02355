//! A child process that ends with its parent.
//!
//! A `ProcessPoolExecutor`'s child notices its parent's exit through the IPC channel, but only
//! when its event loop turns: a child in a long synchronous task would run on, orphaned, until the
//! task ends (forever, for an endless one). The operating system's own mechanism, or a thread of
//! its own, ends it without waiting for JavaScript.

/// Makes this process end (SIGKILL) when the process `parent_pid` is gone. On Linux the kernel
/// does it (`PR_SET_PDEATHSIG`); on other Unix systems a thread checks the parent every 200 ms.
/// Answers whether this system has such a mechanism (`false` on Windows, where it does nothing).
///
/// `parent_pid` is given, not read: a parent that exited before this call has already made this
/// process an orphan, and `getppid()` would name the new parent.
///
/// Linux sends the signal when the *thread* that forked this process exits: a pool made on a
/// worker thread loses its children with that thread, which also ends that pool.
pub fn exit_with_parent(parent_pid: u32) -> bool {
    #[cfg(unix)]
    {
        #[cfg(target_os = "linux")]
        // SAFETY: prctl with PR_SET_PDEATHSIG reads only its integer arguments.
        let armed = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) } == 0;
        #[cfg(not(target_os = "linux"))]
        let armed = false;
        if !parent_alive(parent_pid) {
            kill_self();
        }
        if !armed {
            let spawned = std::thread::Builder::new().name("parent-watch".into()).spawn(move || loop {
                std::thread::sleep(std::time::Duration::from_millis(200));
                if !parent_alive(parent_pid) {
                    kill_self();
                }
            });
            return spawned.is_ok();
        }
        true
    }
    #[cfg(not(unix))]
    {
        let _ = parent_pid;
        false
    }
}

/// Whether this process is still the child of `parent_pid` (an orphan is adopted by another).
#[cfg(unix)]
fn parent_alive(parent_pid: u32) -> bool {
    // SAFETY: getppid has no arguments and cannot fail.
    let parent = unsafe { libc::getppid() };
    u32::try_from(parent) == Ok(parent_pid)
}

#[cfg(unix)]
fn kill_self() -> ! {
    // SAFETY: kill and getpid take plain integers; SIGKILL cannot be caught, so this does not return.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    std::process::abort()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn the_parent_of_this_process_is_alive() {
        // SAFETY: getppid has no arguments and cannot fail.
        let parent = unsafe { libc::getppid() } as u32;
        assert!(parent_alive(parent));
        assert!(!parent_alive(parent.wrapping_add(1)));
    }
}
