//! Raw FFI declarations for `libycbg` — a one-to-one transcription of
//! `include/ycbg.h`.  See that header (and `docs/` in the repository) for the
//! contract: ownership, errors and threading.  The safe API is the `ycbg`
//! crate.
//!
//! Every `*mut c_char` returned by a function here, and every string stored
//! through an `error_json` out-parameter, is owned by the caller and must be
//! released with [`yc_free`] exactly once.  `*const c_char` results are
//! borrowed (static, or valid as long as the handle they came from).

#![no_std]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_int, c_long, c_void};

/// Opaque client: configuration plus a pool of reusable connections.
/// Thread-safe.
#[repr(C)]
pub struct yc_client {
    _private: [u8; 0],
    _not_send_sync: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// Opaque task: one background response on the server.
#[repr(C)]
pub struct yc_task {
    _private: [u8; 0],
    _not_send_sync: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// `enum yc_status`.  A C enum is an `int`; it is declared as a plain
/// integer here (not a Rust enum) so a value outside the list can never be
/// undefined behaviour.
pub type yc_status = c_int;

pub const YC_STATUS_ERROR: yc_status = -1;
pub const YC_STATUS_QUEUED: yc_status = 0;
pub const YC_STATUS_IN_PROGRESS: yc_status = 1;
pub const YC_STATUS_COMPLETED: yc_status = 2;
pub const YC_STATUS_FAILED: yc_status = 3;
pub const YC_STATUS_CANCELLED: yc_status = 4;
pub const YC_STATUS_INCOMPLETE: yc_status = 5;

/// `struct yc_event`: one finished task, as `yc_next_events` hands it out.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct yc_event {
    /// Borrowed: valid until the caller's `yc_task_free`.
    pub task: *mut yc_task,
    /// The caller's tag from `yc_submit` / `yc_watch`.
    pub tag: u64,
    /// A terminal status, or `YC_STATUS_ERROR`.
    pub status: yc_status,
    /// When status is ERROR: owned, release with `yc_free`; else NULL.
    pub error_json: *mut c_char,
}

extern "C" {
    /// The library version, "MAJOR.MINOR.PATCH".  Static; never NULL.
    pub fn yc_version() -> *const c_char;

    /// Lower-case name of a status ("unknown" outside the enum).  Static;
    /// never NULL.
    pub fn yc_status_name(s: yc_status) -> *const c_char;

    /// Releases a string returned by this library.  NULL is a no-op.
    pub fn yc_free(ptr: *mut c_void);

    /// Creates a client from `config_json` (NULL, "{}" or a JSON object).
    /// NULL on failure, with an error document in `*error_json` when
    /// `error_json` is not NULL (set to NULL on success).
    pub fn yc_client_new(config_json: *const c_char, error_json: *mut *mut c_char) -> *mut yc_client;

    /// Releases the caller's reference to a client.  NULL is a no-op.
    pub fn yc_client_free(client: *mut yc_client);

    /// Starts a background response (POST {base_url}/responses).
    pub fn yc_create_background(
        client: *mut yc_client,
        request_json: *const c_char,
        error_json: *mut *mut c_char,
    ) -> *mut yc_task;

    /// Makes a task for an existing response id and fetches its state once.
    pub fn yc_attach(client: *mut yc_client, response_id: *const c_char, error_json: *mut *mut c_char) -> *mut yc_task;

    /// The server's response id.  Borrowed; lives as long as the task.
    pub fn yc_task_id(task: *const yc_task) -> *const c_char;

    /// One refresh.  YC_STATUS_ERROR on failure (error in yc_result).
    pub fn yc_poll(task: *mut yc_task) -> yc_status;

    /// Polls until terminal or `timeout_ms` passed (< 0: no limit).
    pub fn yc_wait(task: *mut yc_task, timeout_ms: c_long) -> yc_status;

    /// Asks the server to cancel the response.
    pub fn yc_cancel(task: *mut yc_task) -> yc_status;

    /// JSON snapshot of the task; owned by the caller (yc_free).
    pub fn yc_result(task: *mut yc_task) -> *mut c_char;

    /// The result's output_text; owned by the caller (yc_free).
    pub fn yc_output_text(task: *mut yc_task) -> *mut c_char;

    /// The whole output text, NULs inside included: `*length` (when not
    /// NULL) receives its byte count, without the terminating NUL that
    /// follows it.  Owned by the caller (yc_free); NULL (and `*length` 0)
    /// for a NULL task or on exhausted memory.
    pub fn yc_output_text_len(task: *mut yc_task, length: *mut usize) -> *mut c_char;

    /// Frees a task.  NULL is a no-op.  A driven task stops being driven
    /// and its event, if not yet taken, is dropped.
    pub fn yc_task_free(task: *mut yc_task);

    /// `yc_poll`, and on YC_STATUS_ERROR the error of this very call in
    /// `*error_json` (owned; NULL otherwise).
    pub fn yc_poll_ex(task: *mut yc_task, error_json: *mut *mut c_char) -> yc_status;

    /// `yc_wait`, with the error of this very call as in `yc_poll_ex`.
    pub fn yc_wait_ex(task: *mut yc_task, timeout_ms: c_long, error_json: *mut *mut c_char) -> yc_status;

    /// `yc_cancel`, with the error of this very call as in `yc_poll_ex`.
    pub fn yc_cancel_ex(task: *mut yc_task, error_json: *mut *mut c_char) -> yc_status;

    /// Checks a create request at once and returns a task the client
    /// drives (create, polls, one event with `tag`) without waiting for the
    /// network; NULL and an error in `*error_json` when the request is
    /// refused.
    pub fn yc_submit(
        client: *mut yc_client,
        request_json: *const c_char,
        tag: u64,
        error_json: *mut *mut c_char,
    ) -> *mut yc_task;

    /// The client drives a task made by `yc_create_background` or
    /// `yc_attach`; 0, or -1 for a bad task or one already driven.
    pub fn yc_watch(task: *mut yc_task, tag: u64) -> c_int;

    /// Moves up to `max_events` pending events into `events`, waiting up to
    /// `timeout_ms` for one (0: no wait; < 0: no limit).  How many it
    /// stored, 0 when none came in time (or the client was freed), -1 for
    /// invalid arguments.
    pub fn yc_next_events(
        client: *mut yc_client,
        events: *mut yc_event,
        max_events: c_int,
        timeout_ms: c_long,
    ) -> c_int;

    /// An fd readable exactly while events are pending (level-triggered).
    /// Owned by the client: do not read, write or close it.  -1 for a bad
    /// client.
    pub fn yc_client_fd(client: *mut yc_client) -> c_int;
}
