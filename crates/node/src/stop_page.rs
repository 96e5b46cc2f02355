//! A child process's stop page (see `concurrent_futures_core::stop_page`): the parent's handle
//! (`ChildStopPage`), and the child's mapping as an `ArrayBuffer` (`mapStopPage`), read in
//! JavaScript with `Atomics` (`src/hosts/process/stop-page.ts`). Where the system has no such
//! memory (Windows), there is no page: the stops travel by IPC alone.

use napi::bindgen_prelude::*;
use napi_derive::napi;

#[cfg(unix)]
use concurrent_futures_core::stop_page as page;

#[napi]
pub const STOP_PAGE_LEN: u32 = 64 * 1024 + 1024 * 1024;
#[napi]
pub const STOP_PAGE_WORD_OUTCOMES_COMMITTED: u32 = 64 * 1024 / 4;
#[napi]
pub const STOP_PAGE_OUTCOMES_OFFSET: u32 = 64 * 1024 + 8;
#[napi]
pub const STOP_PAGE_WORD_BATCH: u32 = 2;
#[napi]
pub const STOP_PAGE_WORD_LOG_END: u32 = 3;
#[napi]
pub const STOP_PAGE_BITMAP_OFFSET: u32 = 16;
#[napi]
pub const STOP_PAGE_BITMAP_RECORDS: u32 = 8192;
#[napi]
pub const STOP_PAGE_LOG_OFFSET: u32 = 16 + 8192 / 8;
#[napi]
pub const STOP_PAGE_LOG_ENTRY_HEADER: u32 = 8;

#[cfg(unix)]
const _: () = {
    assert!(page::PAGE_LEN == STOP_PAGE_LEN as usize);
    assert!(page::WORD_BATCH == STOP_PAGE_WORD_BATCH as usize);
    assert!(page::WORD_LOG_END == STOP_PAGE_WORD_LOG_END as usize);
    assert!(page::BITMAP_OFFSET == STOP_PAGE_BITMAP_OFFSET as usize);
    assert!(page::BITMAP_RECORDS == STOP_PAGE_BITMAP_RECORDS as usize);
    assert!(page::LOG_OFFSET == STOP_PAGE_LOG_OFFSET as usize);
    assert!(page::LOG_ENTRY_HEADER == STOP_PAGE_LOG_ENTRY_HEADER as usize);
    assert!(page::WORD_OUTCOMES_COMMITTED == STOP_PAGE_WORD_OUTCOMES_COMMITTED as usize);
    assert!(page::OUTCOMES_OFFSET == STOP_PAGE_OUTCOMES_OFFSET as usize);
};

/// The parent's side of one child's stop page.
#[napi]
pub struct ChildStopPage {
    #[cfg(unix)]
    page: Option<page::StopPage>,
}

#[napi]
impl ChildStopPage {
    /// The descriptor to give the child (`null` once closed).
    #[napi(getter)]
    pub fn fd(&self) -> Option<i32> {
        #[cfg(unix)]
        return self.page.as_ref().and_then(|p| p.fd());
        #[cfg(not(unix))]
        None
    }

    /// Closes this side's descriptor, once the child is forked (or could not be).
    #[napi]
    pub fn close_fd(&mut self) {
        #[cfg(unix)]
        if let Some(p) = &mut self.page {
            p.close_fd();
        }
    }

    /// Marks record `index` of batch `batch` stopped, with `reason` (serialized) or none; `false`
    /// when it does not fit, or the page is closed: that stop travels by IPC alone.
    #[napi]
    pub fn stop(&self, batch: u32, index: u32, reason: Option<&[u8]>) -> bool {
        #[cfg(unix)]
        return self.page.as_ref().is_some_and(|p| p.stop(batch, index, reason));
        #[cfg(not(unix))]
        {
            let _ = (batch, index, reason);
            false
        }
    }

    /// The outcome frames the child finished and never sent, once it has exited (see
    /// `StopPage::take_outcomes`); `null` when there are none.
    #[napi]
    pub fn take_outcomes(&self) -> Option<Buffer> {
        #[cfg(unix)]
        return self.page.as_ref().and_then(|p| p.take_outcomes()).map(Buffer::from);
        #[cfg(not(unix))]
        None
    }

    /// Unmaps the page and closes the descriptor (the child has exited).
    #[napi]
    pub fn close(&mut self) {
        #[cfg(unix)]
        {
            self.page = None;
        }
    }
}

/// A new stop page for a child about to be forked, or `null` where there is none (Windows, or
/// the system refused: the child then learns of stops by IPC alone).
#[napi]
pub fn create_stop_page(token: u32) -> Option<ChildStopPage> {
    #[cfg(unix)]
    return page::StopPage::create(token).ok().map(|p| ChildStopPage { page: Some(p) });
    #[cfg(not(unix))]
    {
        let _ = token;
        None
    }
}

/// In a child: maps the stop page inherited as descriptor `fd` (checked with `token`) and answers
/// it as an `ArrayBuffer` over the shared memory itself, or `null` when `fd` is not the page or
/// the runtime cannot make an external `ArrayBuffer` (a copy would never change). The mapping is
/// never unmapped: it lives as long as the process.
#[napi]
pub fn map_stop_page(env: &Env, fd: i32, token: u32) -> Option<ArrayBuffer<'_>> {
    #[cfg(unix)]
    {
        let base = page::map_inherited(fd, token).ok()?;
        // SAFETY: `base` is a live mapping of `PAGE_LEN` bytes that is never unmapped (the
        // finalizer does nothing), so the buffer's memory stays valid for the life of the process
        // whatever the garbage collector does. Both processes write and read it only as the
        // module `concurrent_futures_core::stop_page` describes.
        let buffer = unsafe { ArrayBuffer::from_external(env, base.as_ptr(), page::PAGE_LEN, (), |_, _| {}) }.ok()?;
        // A runtime that refuses external buffers answers a copy: of no use here.
        (buffer.as_ptr() == base.as_ptr().cast_const()).then_some(buffer)
    }
    #[cfg(not(unix))]
    {
        let _ = (env, fd, token);
        None
    }
}
