//! A page of memory shared by a parent process and one child, where the parent says which
//! records of the child's current batch were stopped, and why; and where the child writes the
//! outcomes of its batch as it goes, so that the parent can hand over those it finished should the
//! child die in the middle of the batch (out of memory, killed).
//!
//! A `ProcessPoolExecutor`'s child learns of a stop from an IPC message, which it reads only when
//! its event loop turns: a task in a synchronous loop never would, and `currentTask().signal`
//! could not turn inside it. A worker thread reads an interrupt word in shared memory instead;
//! this page is that word for a child process. The parent creates it ([`StopPage::create`]),
//! hands its file descriptor to the child it forks (an extra `stdio` entry), and closes its own
//! copy of the descriptor; the child maps it once at start-up ([`map_inherited`]) and keeps the
//! mapping for the rest of its life.
//!
//! # Layout
//!
//! 32-bit words, then bytes, all little-endian as the machine writes them (parent and child run
//! on the same machine):
//!
//! | offset            | what                                                                 |
//! |-------------------|----------------------------------------------------------------------|
//! | `WORD_MAGIC`      | [`MAGIC`], written once by the parent before the child starts        |
//! | `WORD_TOKEN`      | a number the parent also gives the child in its environment          |
//! | `WORD_BATCH`      | the batch the stops below are about (the parent's count of batches)  |
//! | `WORD_LOG_END`    | how many bytes of the reason log are written                         |
//! | `BITMAP_OFFSET`   | one bit per record index of that batch: stopped                      |
//! | `LOG_OFFSET`      | the reason log: entries `[index u32][len u32][len bytes, padded to 4]` |
//! | `STOPS_LEN`       | `WORD_OUTCOMES_COMMITTED` (a word): how many bytes of the outcome frames below are the finished outcomes of the child's batch |
//! | `OUTCOMES_OFFSET` | the child's outcome frames, as it sends them, while they fit (`OUTCOMES_LEN`) |
//!
//! # Protocol and invariants
//!
//! - One writer: the parent's main thread, and only while the child runs batch `n` (the parent
//!   sent it and has not had its outcomes back). The child only reads.
//! - Batch identity: the first stop of batch `n` finds `WORD_BATCH != n`; it clears the bitmap
//!   and the log (the child ignores both meanwhile, since `WORD_BATCH` still names an older
//!   batch), writes its entry and bit, and only then stores `n` in `WORD_BATCH`. So the child,
//!   which reads `WORD_BATCH` first and compares it with the batch it runs, never sees a stop of
//!   an older batch as one of its own.
//! - Within a batch, bits and log entries are only added: a reason's entry is written, then
//!   `WORD_LOG_END` is stored (release), then the bit is set (release). A child that sees the
//!   bit (acquire) sees the entry.
//! - What does not fit (a record index beyond the bitmap, a reason larger than the log's room)
//!   is not written: [`StopPage::stop`] answers `false`, and that stop travels by IPC alone.
//! - The outcome region has one writer too, the child: it writes its outcome frames there, stores
//!   the length of those finished in `WORD_OUTCOMES_COMMITTED` (release) before it starts each
//!   record (`OUTCOMES_UNKNOWN` when they do not fit), and stores 0 once it has sent them, before
//!   its next batch. The parent reads the region only once the child has exited in the middle of a
//!   batch ([`StopPage::take_outcomes`]): what is committed then was never sent, and the record
//!   after it is the one the child died running.
//!
//! The parent closes its descriptor once the child has been forked, and unmaps the page when the
//! child has exited ([`StopPage`]'s `Drop`). The child's mapping lives as long as the child.

use std::sync::atomic::{AtomicU32, Ordering};

/// The stops' part of the page, in bytes.
pub const STOPS_LEN: usize = 64 * 1024;
/// The page's size in bytes: the stops, then the outcomes. Untouched parts cost no memory (the
/// kernel allocates on first write).
pub const PAGE_LEN: usize = STOPS_LEN + 1024 * 1024;
/// The word (index in 32-bit words) that counts the finished bytes of the outcome frames.
pub const WORD_OUTCOMES_COMMITTED: usize = STOPS_LEN / 4;
/// Where the outcome frames start, in bytes, and how many fit.
pub const OUTCOMES_OFFSET: usize = STOPS_LEN + 8;
pub const OUTCOMES_LEN: usize = PAGE_LEN - OUTCOMES_OFFSET;
/// What `WORD_OUTCOMES_COMMITTED` holds when the child's finished outcomes are not in the page.
pub const OUTCOMES_UNKNOWN: u32 = u32::MAX;
/// The first word: says that the descriptor the child was given is this page.
pub const MAGIC: u32 = 0x4346_5350; // "CFSP"
/// Word indices (in 32-bit words).
pub const WORD_MAGIC: usize = 0;
pub const WORD_TOKEN: usize = 1;
pub const WORD_BATCH: usize = 2;
pub const WORD_LOG_END: usize = 3;
/// The bitmap of stopped records: this many records per batch can be told here (a batch holds at
/// most `scheduler::MAX_ITEMS` records, 4096).
pub const BITMAP_RECORDS: usize = 8192;
/// Where the bitmap starts, in bytes.
pub const BITMAP_OFFSET: usize = 16;
/// Where the reason log starts, in bytes.
pub const LOG_OFFSET: usize = BITMAP_OFFSET + BITMAP_RECORDS / 8;
/// A log entry's header: the record index and the reason's length.
pub const LOG_ENTRY_HEADER: usize = 8;

/// The parent's side of one child's page: mapped read-write, with the descriptor to hand to the
/// child until [`StopPage::close_fd`].
#[cfg(unix)]
pub struct StopPage {
    /// The mapping, `PAGE_LEN` bytes, 4-byte aligned (page aligned). Invariant: valid and mapped
    /// `MAP_SHARED` read-write from `create` until `Drop`.
    base: std::ptr::NonNull<u8>,
    fd: Option<std::os::fd::OwnedFd>,
}

// SAFETY: the mapping is plain memory owned by this value, touched only through atomics and raw
// copies (never through references that could alias a `&mut`); moving it to another thread, or
// sharing it, is as safe as for an `Arc<[AtomicU32]>`.
#[cfg(unix)]
unsafe impl Send for StopPage {}
#[cfg(unix)]
unsafe impl Sync for StopPage {}

#[cfg(unix)]
impl StopPage {
    /// Creates a page for a child about to be forked: an anonymous shared memory file (Linux:
    /// `memfd_create`; other Unix systems: a file in the temporary directory, unlinked at once),
    /// sized and mapped, its magic and `token` written.
    pub fn create(token: u32) -> std::io::Result<StopPage> {
        use std::os::fd::AsRawFd;
        let fd = anonymous_file()?;
        // SAFETY: `fd` is an open descriptor this function owns; ftruncate reads integers only.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), PAGE_LEN as libc::off_t) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let base = map(&fd)?;
        let page = StopPage { base, fd: Some(fd) };
        page.word(WORD_TOKEN).store(token, Ordering::Relaxed);
        page.word(WORD_MAGIC).store(MAGIC, Ordering::Release);
        Ok(page)
    }

    /// The descriptor to give the child (`None` once closed).
    pub fn fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        self.fd.as_ref().map(|fd| fd.as_raw_fd())
    }

    /// Closes this side's descriptor (the child has its own copy; the mapping stays).
    pub fn close_fd(&mut self) {
        self.fd = None;
    }

    /// Marks record `index` of batch `batch` stopped, with `reason` (serialized; `None`: it has
    /// none, its `map` run was cancelled). Answers `false` when it does not fit (see the module's
    /// invariants): nothing was written for it.
    pub fn stop(&self, batch: u32, index: u32, reason: Option<&[u8]>) -> bool {
        let index = index as usize;
        if index >= BITMAP_RECORDS {
            return false;
        }
        let fresh = self.word(WORD_BATCH).load(Ordering::Relaxed) != batch;
        let log_end = if fresh { 0 } else { self.word(WORD_LOG_END).load(Ordering::Relaxed) as usize };
        let reason_room = match reason {
            None => 0,
            Some(bytes) => LOG_ENTRY_HEADER + bytes.len().div_ceil(4) * 4,
        };
        if LOG_OFFSET + log_end + reason_room > STOPS_LEN {
            return false;
        }
        if fresh {
            // The child ignores the bitmap and the log while `WORD_BATCH` names another batch.
            for w in 0..BITMAP_RECORDS / 32 {
                self.word(BITMAP_OFFSET / 4 + w).store(0, Ordering::Relaxed);
            }
            self.word(WORD_LOG_END).store(0, Ordering::Relaxed);
        }
        if let Some(bytes) = reason {
            let at = LOG_OFFSET + log_end;
            self.word(at / 4).store(index as u32, Ordering::Relaxed);
            self.word(at / 4 + 1).store(bytes.len() as u32, Ordering::Relaxed);
            // SAFETY: `at + LOG_ENTRY_HEADER + bytes.len() <= STOPS_LEN` (checked above), so the
            // destination lies inside the mapping; `bytes` is a distinct slice of this process's
            // memory, so they do not overlap. The child reads these bytes only after it has seen
            // the `WORD_LOG_END` stored below (release), and nothing rewrites them in this batch.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.as_ptr().add(at + LOG_ENTRY_HEADER), bytes.len()) };
            self.word(WORD_LOG_END).store((log_end + reason_room) as u32, Ordering::Release);
        }
        self.word(BITMAP_OFFSET / 4 + index / 32).fetch_or(1 << (index % 32), Ordering::Release);
        if fresh {
            self.word(WORD_BATCH).store(batch, Ordering::Release);
        }
        true
    }

    /// The word at `index` (in 32-bit words) of the page.
    /// The outcome frames the child finished and never sent (see the layout), once: to be
    /// called after the child has exited in the middle of a batch. Empty when it finished none
    /// (it died running the batch's first record); `None` when that is not known (its outcomes
    /// did not fit, [`OUTCOMES_UNKNOWN`]), or taken already.
    pub fn take_outcomes(&self) -> Option<Vec<u8>> {
        let committed = self.word(WORD_OUTCOMES_COMMITTED).swap(OUTCOMES_UNKNOWN, Ordering::Acquire);
        if committed == OUTCOMES_UNKNOWN || committed as usize > OUTCOMES_LEN {
            return None;
        }
        let committed = committed as usize;
        let mut frames = vec![0; committed];
        // SAFETY: `OUTCOMES_OFFSET + committed <= PAGE_LEN` (checked above) lies inside the mapping,
        // which lives as long as `self`; the child that wrote it has exited, so nothing writes it
        // meanwhile, and `frames` is a separate allocation of `committed` bytes.
        unsafe { std::ptr::copy_nonoverlapping(self.base.as_ptr().add(OUTCOMES_OFFSET), frames.as_mut_ptr(), committed) };
        Some(frames)
    }

    fn word(&self, index: usize) -> &AtomicU32 {
        assert!(index < PAGE_LEN / 4);
        // SAFETY: the mapping is `PAGE_LEN` bytes, page aligned, alive as long as `self` (the
        // reference cannot outlive it); the index is in bounds (asserted). `AtomicU32` has the
        // size and alignment of `u32`, and every access to these words, here and in the child,
        // is atomic.
        unsafe { &*(self.base.as_ptr().add(index * 4) as *const AtomicU32) }
    }
}

#[cfg(unix)]
impl Drop for StopPage {
    fn drop(&mut self) {
        // SAFETY: `base` was mapped by `map` with `PAGE_LEN` bytes and is unmapped only here; no
        // reference into it outlives `self`.
        unsafe { libc::munmap(self.base.as_ptr().cast(), PAGE_LEN) };
    }
}

/// The child's side: maps the page whose descriptor `fd` it inherited, if it is one (its size,
/// magic and `token` match), and then closes `fd`. The mapping is never unmapped: it lives as
/// long as the process. Answers its address, or an error (then `fd` is left as it was: it may be
/// something else the runtime put there).
#[cfg(unix)]
pub fn map_inherited(fd: i32, token: u32) -> std::io::Result<std::ptr::NonNull<u8>> {
    use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd};
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("descriptor {fd} is not a stop page: {what}"));
    // SAFETY: an all-zero `stat` is a valid value of that plain C struct.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes into `stat`, which is valid for writes; a bad `fd` is an error, not UB.
    if unsafe { libc::fstat(fd, &mut stat) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if (stat.st_mode & libc::S_IFMT) != libc::S_IFREG || stat.st_size != PAGE_LEN as libc::off_t {
        return Err(invalid("not a file of the page's size"));
    }
    // SAFETY: `fd` is open (fstat succeeded) for the duration of this call.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    let base = map(&borrowed)?;
    // SAFETY: the mapping is `PAGE_LEN` bytes and page aligned; words 0 and 1 are read atomically.
    let (magic, given) = unsafe {
        let words = base.as_ptr() as *const AtomicU32;
        ((*words.add(WORD_MAGIC)).load(Ordering::Acquire), (*words.add(WORD_TOKEN)).load(Ordering::Relaxed))
    };
    if magic != MAGIC || given != token {
        // SAFETY: mapped just above with `PAGE_LEN` bytes, never handed out.
        unsafe { libc::munmap(base.as_ptr().cast(), PAGE_LEN) };
        return Err(invalid("its magic or token differ"));
    }
    // The page is ours: its descriptor is not needed anymore (the mapping holds the memory).
    // SAFETY: `fd` is open and, being our page's descriptor, nobody else in this process uses it.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    Ok(base)
}

/// An anonymous file to share: a `memfd` on Linux, elsewhere a temporary file unlinked at once.
#[cfg(unix)]
fn anonymous_file() -> std::io::Result<std::os::fd::OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::FromRawFd;
        // SAFETY: the name is a NUL-terminated C string; memfd_create reads it and an integer.
        let fd = unsafe { libc::memfd_create(c"concurrent-futures-stop-page".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nobody else.
        Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        use std::os::unix::fs::OpenOptionsExt;
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let path = std::env::temp_dir().join(format!("concurrent-futures-stop-{}-{}-{}", std::process::id(), nanos, NEXT.fetch_add(1, Ordering::Relaxed)));
        let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path)?;
        // Unlinked at once: the file lives on only through its descriptors and mappings.
        let _ = std::fs::remove_file(&path);
        Ok(file.into())
    }
}

/// Maps `PAGE_LEN` bytes of `fd` shared and read-write.
#[cfg(unix)]
fn map(fd: &impl std::os::fd::AsRawFd) -> std::io::Result<std::ptr::NonNull<u8>> {
    // SAFETY: a fresh mapping chosen by the kernel (null hint) of a file at least `PAGE_LEN`
    // bytes long; it aliases no Rust object. Failure is MAP_FAILED, checked below.
    let base = unsafe { libc::mmap(std::ptr::null_mut(), PAGE_LEN, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd.as_raw_fd(), 0) };
    if base == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    std::ptr::NonNull::new(base.cast()).ok_or_else(|| std::io::Error::other("mmap answered a null address"))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// What the child does in JavaScript (`src/hosts/process/stop-page.ts`), over a second mapping.
    struct Reader(std::ptr::NonNull<u8>);

    impl Reader {
        fn word(&self, index: usize) -> u32 {
            // SAFETY: a live `PAGE_LEN` mapping (leaked by `map_inherited`), index in bounds.
            unsafe { (*(self.0.as_ptr() as *const AtomicU32).add(index)).load(Ordering::Acquire) }
        }
        fn stopped(&self, batch: u32, index: usize) -> bool {
            self.word(WORD_BATCH) == batch && self.word(BITMAP_OFFSET / 4 + index / 32) & (1 << (index % 32)) != 0
        }
        fn reason(&self, index: u32) -> Option<Vec<u8>> {
            let end = self.word(WORD_LOG_END) as usize;
            let mut at = LOG_OFFSET;
            while at < LOG_OFFSET + end {
                let (i, len) = (self.word(at / 4), self.word(at / 4 + 1) as usize);
                if i == index {
                    // SAFETY: inside the mapping (the writer checked it fits).
                    return Some(unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(at + LOG_ENTRY_HEADER), len) }.to_vec());
                }
                at += LOG_ENTRY_HEADER + len.div_ceil(4) * 4;
            }
            None
        }
    }

    /// A second mapping of the same page, as a child gets it (a duplicate of the descriptor).
    fn reader(page: &StopPage, token: u32) -> std::io::Result<Reader> {
        // SAFETY: dup reads an integer; the parent's descriptor is open.
        let fd = unsafe { libc::dup(page.fd().unwrap()) };
        assert!(fd >= 0);
        map_inherited(fd, token).map(Reader)
    }

    #[test]
    fn a_stop_is_seen_through_another_mapping_with_its_reason() {
        let page = StopPage::create(7).unwrap();
        let child = reader(&page, 7).unwrap();
        assert!(!child.stopped(1, 3));
        assert!(page.stop(1, 3, Some(b"why")));
        assert!(child.stopped(1, 3));
        assert!(!child.stopped(1, 2));
        assert_eq!(child.reason(3).as_deref(), Some(b"why".as_slice()));
        assert!(page.stop(1, 40, None));
        assert!(child.stopped(1, 40));
        assert_eq!(child.reason(40), None);
        assert_eq!(child.reason(3).as_deref(), Some(b"why".as_slice()));
    }

    #[test]
    fn a_stop_of_one_batch_is_not_one_of_the_next() {
        let page = StopPage::create(1).unwrap();
        let child = reader(&page, 1).unwrap();
        assert!(page.stop(1, 0, Some(b"first")));
        // Batch 2 runs: the stop of batch 1 is not about it, at the same index.
        assert!(!child.stopped(2, 0));
        assert!(page.stop(2, 5, Some(b"second")));
        assert!(!child.stopped(2, 0), "the bitmap of batch 1 was cleared");
        assert!(child.stopped(2, 5));
        assert_eq!(child.reason(0), None, "the log of batch 1 was cleared");
        assert_eq!(child.reason(5).as_deref(), Some(b"second".as_slice()));
    }

    #[test]
    fn what_does_not_fit_is_not_written() {
        let page = StopPage::create(1).unwrap();
        let child = reader(&page, 1).unwrap();
        assert!(!page.stop(1, BITMAP_RECORDS as u32, None));
        assert!(!page.stop(1, 0, Some(&vec![0; STOPS_LEN])));
        assert!(!child.stopped(1, 0));
        assert!(page.stop(1, 0, Some(&vec![1; STOPS_LEN - LOG_OFFSET - LOG_ENTRY_HEADER])), "a reason that just fits");
        assert!(!page.stop(1, 1, Some(b"x")), "the log is full");
        assert!(page.stop(1, 1, None), "a stop without a reason still fits");
    }

    #[test]
    fn the_outcomes_a_child_committed_are_taken_once() {
        let page = StopPage::create(1).unwrap();
        let child = reader(&page, 1).unwrap();
        assert_eq!(page.take_outcomes().as_deref(), Some(b"".as_slice()), "none finished: it died running the first record");
        assert_eq!(page.take_outcomes(), None, "taken once");
        // SAFETY: as in `Reader::word`.
        unsafe { (*(child.0.as_ptr() as *const AtomicU32).add(WORD_OUTCOMES_COMMITTED)).store(OUTCOMES_UNKNOWN, Ordering::Release) };
        assert_eq!(page.take_outcomes(), None, "not known: they did not fit");
        // The child writes two frames' worth and commits the first 3 bytes.
        // SAFETY: inside the child's mapping of the page, in the outcome region.
        unsafe { std::ptr::copy_nonoverlapping(b"abcdef".as_ptr(), child.0.as_ptr().add(OUTCOMES_OFFSET), 6) };
        // SAFETY: as in `Reader::word`.
        unsafe { (*(child.0.as_ptr() as *const AtomicU32).add(WORD_OUTCOMES_COMMITTED)).store(3, Ordering::Release) };
        assert_eq!(page.take_outcomes().as_deref(), Some(b"abc".as_slice()));
        assert_eq!(page.take_outcomes(), None, "taken once");
        assert_eq!(child.word(WORD_OUTCOMES_COMMITTED), OUTCOMES_UNKNOWN);
    }

    #[test]
    fn another_descriptor_or_token_is_refused() {
        let page = StopPage::create(9).unwrap();
        assert!(reader(&page, 8).is_err());
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(map_inherited(std::os::fd::AsRawFd::as_raw_fd(&file), 9).is_err());
    }
}
