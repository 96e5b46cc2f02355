//! The main thread's wake-up: calls a JS function on the thread that made the pool when a worker
//! asks, at most once per event-loop turn however many ask.
//!
//! On Unix it is a libuv async handle of the binding's own, not a Node-API threadsafe function.
//! `napi_call_threadsafe_function` calls `uv_async_send` while it holds the function's mutex.
//! With every core busy, the woken main thread is often placed on the caller's core and
//! preempts it there, still holding that mutex; the main thread then blocks on the mutex, the
//! worker runs again only to release it, and wakes it a second time. `perf sched` showed those
//! four switches per completion, and a worker's `complete` cost 30-40 µs instead of a few.
//! `uv_async_send` takes no lock. Other platforms keep the threadsafe function.

#[cfg(unix)]
pub use self::uv::MainWake;
#[cfg(not(unix))]
pub use self::tsfn::MainWake;

#[cfg(unix)]
mod uv {
    use std::ffi::c_void;
    use std::os::raw::c_int;
    use std::ptr;
    use std::sync::{Arc, RwLock};

    use napi::bindgen_prelude::*;
    use napi::sys;

    /// libuv's `uv_async_t`, only ever behind a pointer: its size comes from `uv_handle_size`.
    #[repr(C)]
    struct UvAsync {
        _opaque: [u8; 0],
    }

    /// `UV_ASYNC` in libuv's `uv_handle_type` (stable since libuv 1.0).
    const UV_ASYNC: c_int = 1;

    // Exported by the `node` executable, as the `napi_*` functions are.
    unsafe extern "C" {
        fn uv_handle_size(kind: c_int) -> usize;
        fn uv_async_init(event_loop: *mut sys::uv_loop_s, handle: *mut UvAsync, callback: unsafe extern "C" fn(*mut UvAsync)) -> c_int;
        fn uv_async_send(handle: *mut UvAsync) -> c_int;
        fn uv_close(handle: *mut UvAsync, callback: Option<unsafe extern "C" fn(*mut UvAsync)>);
        fn uv_ref(handle: *mut UvAsync);
        fn uv_unref(handle: *mut UvAsync);
        fn uv_handle_set_data(handle: *mut UvAsync, data: *mut c_void);
        fn uv_handle_get_data(handle: *const UvAsync) -> *mut c_void;
    }

    /// What the handle's callback needs; owned through the handle's `data`, and freed with the
    /// handle's memory once libuv has closed it.
    struct Handle {
        env: sys::napi_env,
        callback: sys::napi_ref,
        /// The handle's memory (`uv_handle_size(UV_ASYNC)` bytes, pointer-aligned).
        memory: Box<[u64]>,
    }

    /// The open handle. Workers send through it under the read lock; `close` takes it out under
    /// the write lock, so that no send can reach a handle being closed.
    struct Open(*mut UvAsync);

    // SAFETY: `uv_async_send` may be called from any thread while the handle is open, which
    // the `RwLock` around `Open` guarantees; every other use is on the loop's own thread.
    unsafe impl Send for Open {}
    unsafe impl Sync for Open {}

    pub struct MainWake {
        open: Arc<RwLock<Option<Open>>>,
        env: sys::napi_env,
    }

    impl MainWake {
        /// Opens the handle on `env`'s event loop (call on that loop's thread), unreferenced:
        /// it keeps the loop alive only while `set_active(true)`.
        pub fn new(env: &Env, callback: Function<(), Unknown<'static>>) -> Result<Self> {
            let env = env.raw();
            let mut event_loop = ptr::null_mut();
            // SAFETY: a valid env on its own thread; each out-pointer is written by the call.
            unsafe {
                check(sys::napi_get_uv_event_loop(env, &mut event_loop))?;
                let mut reference = ptr::null_mut();
                check(sys::napi_create_reference(env, callback.raw(), 1, &mut reference))?;
                let words = uv_handle_size(UV_ASYNC).div_ceil(8);
                let mut handle = Box::new(Handle { env, callback: reference, memory: vec![0u64; words].into_boxed_slice() });
                let uv_handle = handle.memory.as_mut_ptr().cast::<UvAsync>();
                if uv_async_init(event_loop, uv_handle, on_wake) != 0 {
                    sys::napi_delete_reference(env, reference);
                    return Err(Error::new(Status::GenericFailure, "uv_async_init failed"));
                }
                uv_unref(uv_handle);
                uv_handle_set_data(uv_handle, Box::into_raw(handle).cast());
                let wake = MainWake { open: Arc::new(RwLock::new(Some(Open(uv_handle)))), env };
                // The env's teardown closes the handle if the pool never did: an open handle
                // would keep a worker thread's event loop from closing.
                check(sys::napi_add_env_cleanup_hook(env, Some(on_env_teardown), Arc::as_ptr(&wake.open) as *mut c_void))?;
                Ok(wake)
            }
        }

        /// The wake-up for the core's completion queue: callable from any thread, a no-op once
        /// closed.
        pub fn waker(&self) -> impl Fn() + Send + Sync + 'static {
            let open = Arc::clone(&self.open);
            move || {
                if let Some(Open(handle)) = &*open.read().unwrap_or_else(|e| e.into_inner()) {
                    // SAFETY: open (the read lock keeps `close` out); libuv allows any thread.
                    unsafe { uv_async_send(*handle) };
                }
            }
        }

        /// Keeps the event loop alive while work is pending (`true`), or lets it exit.
        pub fn set_active(&self, active: bool) {
            if let Some(Open(handle)) = &*self.open.read().unwrap_or_else(|e| e.into_inner()) {
                // SAFETY: open, and this is the loop's thread (the JS that owns the pool).
                unsafe { if active { uv_ref(*handle) } else { uv_unref(*handle) } }
            }
        }

        /// Closes the handle and releases the JS callback; later wake-ups do nothing.
        pub fn close(&self) {
            if close(&self.open) {
                // SAFETY: on the env's thread; the hook registered with this argument in `new`
                // has not run (it would have closed the handle).
                unsafe { sys::napi_remove_env_cleanup_hook(self.env, Some(on_env_teardown), Arc::as_ptr(&self.open) as *mut c_void) };
            }
        }
    }

    impl Drop for MainWake {
        fn drop(&mut self) {
            self.close();
        }
    }

    /// Closes the handle unless it is closed already; answers whether this call closed it.
    fn close(open: &RwLock<Option<Open>>) -> bool {
        let Some(Open(handle)) = open.write().unwrap_or_else(|e| e.into_inner()).take() else { return false };
        // SAFETY: on the loop's thread; the handle is open and no worker can send to it any more.
        // Its memory is freed by `on_closed`, after libuv is done with it.
        unsafe {
            let data = &*(uv_handle_get_data(handle) as *const Handle);
            sys::napi_delete_reference(data.env, data.callback);
            uv_close(handle, Some(on_closed));
        }
        true
    }

    unsafe extern "C" fn on_env_teardown(open: *mut c_void) {
        // SAFETY: the hook is removed in `close` before the `MainWake` (which owns the `Arc`)
        // goes, so `open` still points at it here.
        close(unsafe { &*(open as *const RwLock<Option<Open>>) });
    }

    unsafe extern "C" fn on_closed(handle: *mut UvAsync) {
        // SAFETY: `data` is the `Handle` boxed in `new`; libuv no longer uses the handle, so
        // its memory (inside that box) may go.
        drop(unsafe { Box::from_raw(uv_handle_get_data(handle) as *mut Handle) });
    }

    /// Calls the JS callback as Node calls back from the event loop (`napi_make_callback`: the
    /// microtasks and `process.nextTick` queue run after it). A throw is an uncaught exception.
    unsafe extern "C" fn on_wake(handle: *mut UvAsync) {
        // SAFETY: on the loop's thread, with the handle open, so the `Handle` and its reference
        // (deleted only by `close`, which stops these calls) are alive.
        unsafe {
            let Handle { env, callback, .. } = *(uv_handle_get_data(handle) as *const Handle);
            let mut scope = ptr::null_mut();
            if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
                return;
            }
            let (mut function, mut global, mut result) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
            sys::napi_get_reference_value(env, callback, &mut function);
            sys::napi_get_global(env, &mut global);
            if !function.is_null() {
                sys::napi_make_callback(env, ptr::null_mut(), global, function, 0, ptr::null(), &mut result);
                // A status alone can also mean that the env is stopping and ran nothing.
                let mut thrown = false;
                sys::napi_is_exception_pending(env, &mut thrown);
                if thrown {
                    let mut error = ptr::null_mut();
                    sys::napi_get_and_clear_last_exception(env, &mut error);
                    sys::napi_fatal_exception(env, error);
                }
            }
            sys::napi_close_handle_scope(env, scope);
        }
    }

    fn check(status: sys::napi_status) -> Result<()> {
        if status == sys::Status::napi_ok { Ok(()) } else { Err(Error::from_status(Status::from(status))) }
    }
}

#[cfg(not(unix))]
mod tsfn {
    use std::sync::{Arc, Mutex};

    use napi::bindgen_prelude::*;
    use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};

    type Waker = ThreadsafeFunction<(), Unknown<'static>, (), Status, false, true>;

    pub struct MainWake {
        tsfn: Arc<Mutex<Option<Waker>>>,
        env: napi::sys::napi_env,
    }

    impl MainWake {
        pub fn new(env: &Env, callback: Function<(), Unknown<'static>>) -> Result<Self> {
            let tsfn = callback.build_threadsafe_function::<()>().callee_handled::<false>().weak::<true>().build()?;
            Ok(MainWake { tsfn: Arc::new(Mutex::new(Some(tsfn))), env: env.raw() })
        }

        pub fn waker(&self) -> impl Fn() + Send + Sync + 'static {
            let tsfn = Arc::clone(&self.tsfn);
            move || {
                // Closing (the env is being torn down) is fine: nobody is left to notify.
                if let Some(tsfn) = &*tsfn.lock().unwrap_or_else(|e| e.into_inner()) {
                    let _ = tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
                }
            }
        }

        pub fn set_active(&self, active: bool) {
            let tsfn = self.tsfn.lock().unwrap_or_else(|e| e.into_inner());
            let Some(tsfn) = &*tsfn else { return };
            if tsfn.aborted() {
                return;
            }
            // SAFETY: on the env's thread, with a live threadsafe function (not aborted), as
            // `napi_(un)ref_threadsafe_function` require.
            unsafe {
                if active {
                    napi::sys::napi_ref_threadsafe_function(self.env, tsfn.raw());
                } else {
                    napi::sys::napi_unref_threadsafe_function(self.env, tsfn.raw());
                }
            }
        }

        pub fn close(&self) {
            self.tsfn.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
    }
}
