//! Safe Rust API for **libycbg**: Yandex Cloud AI Studio text generation in
//! background mode.
//!
//! A request is submitted with `"background": true`; the server answers at
//! once with a response id, and the [`Task`] polls or waits for the result
//! without holding a connection open while the model works.  All request
//! logic (HTTP, retries, back-off, error mapping) lives in the C library;
//! this crate only marshals strings and JSON across its ABI.
//!
//! ```no_run
//! use std::time::Duration;
//! use ycbg::{Client, Status};
//!
//! let client = Client::from_env()?; // YC_BASE_URL, YC_API_KEY, YC_FOLDER_ID
//! let task = client.create("yandexgpt", "Say hello")?;
//! println!("Task sent: {}", task.id());
//! if task.wait(Some(Duration::from_secs(120)))? == Status::Completed {
//!     println!("{}", task.output_text()?);
//! }
//! # Ok::<(), ycbg::Error>(())
//! ```
//!
//! Many tasks: [`Client::submit`] returns a [`Task`] without waiting for the
//! network (the library's one I/O thread per client drives it), and
//! [`Client::completed`] yields tasks as they finish:
//!
//! ```no_run
//! # let client = ycbg::Client::from_env()?;
//! let tasks = vec![client.submit(r#"{"model":"yandexgpt","input":"a"}"#)?,
//!                  client.submit(r#"{"model":"yandexgpt","input":"b"}"#)?];
//! let refs: Vec<&ycbg::Task> = tasks.iter().collect();
//! for done in client.completed(&refs, None) {
//!     let task = done?;
//!     println!("{:?}: {}", task.outcome(), task.output_text()?);
//! }
//! # Ok::<(), ycbg::Error>(())
//! ```
//!
//! Threads: [`Client`] is `Send + Sync` (share it in an `Arc`); [`Task`] is
//! `Send` but not `Sync`.  A task keeps its client alive inside the library,
//! so tasks may outlive the `Client` value they came from.

use std::cell::OnceCell;
use std::ffi::{c_char, c_long, CStr, CString};
use std::ptr::{self, NonNull};
use std::sync::Arc;
use std::time::Duration;

pub use ycbg_sys as sys;

mod config;
mod driven;
mod error;
pub mod json;
mod status;

pub use config::{ClientBuilder, Config, PerSecond};
pub use driven::Completed;
pub use error::{Error, ErrorKind, Result};
pub use status::{Status, UnknownStatus};

use json::Value;

/// The library version, `"MAJOR.MINOR.PATCH"`.
pub fn version() -> &'static str {
    // SAFETY: yc_version returns a static, NUL-terminated string, never NULL.
    unsafe { static_str(sys::yc_version()) }
}

/// Checks that the loaded library is the major version this crate was made
/// for and at least its minor version (a minor release only adds
/// functions).  [`Client`]'s constructors call it; a mismatch is an
/// [`ErrorKind::Config`] error naming both versions.
pub fn check_version() -> Result<()> {
    let want = env!("CARGO_PKG_VERSION");
    let have = version();
    if compatible(want, have) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Config,
        format!("the ycbg crate {want} needs libycbg {want} or a later minor version of it, but the loaded library is {have:?}"),
    ))
}

/// Whether library version `have` serves a crate made for `want`: the same
/// major version and at least its minor.
fn compatible(want: &str, have: &str) -> bool {
    let major_minor = |v: &str| -> Option<(u64, u64)> {
        let mut parts = v.split('.').map(|p| p.parse::<u64>().ok());
        Some((parts.next()??, parts.next()??))
    };
    matches!((major_minor(want), major_minor(have)), (Some(w), Some(h)) if h.0 == w.0 && h.1 >= w.1)
}

/// The library's own name for a raw status value (`yc_status_name`):
/// `"error"` for `YC_STATUS_ERROR`, `"unknown"` outside the enum.
pub fn status_name(raw: sys::yc_status) -> &'static str {
    // SAFETY: yc_status_name returns a static string, never NULL.
    unsafe { static_str(sys::yc_status_name(raw)) }
}

unsafe fn static_str(p: *const c_char) -> &'static str {
    if p.is_null() {
        return "";
    }
    CStr::from_ptr(p).to_str().unwrap_or("")
}

/// A string owned by the caller of libycbg: copied out, then released with
/// `yc_free` exactly once (in `Drop`, so also on unwinding).
struct LibString(NonNull<c_char>);

impl LibString {
    /// Takes ownership of `p`; `None` for NULL.
    unsafe fn take(p: *mut c_char) -> Option<LibString> {
        NonNull::new(p).map(LibString)
    }

    fn to_string_lossy(&self) -> String {
        // SAFETY: the library returns NUL-terminated strings, valid until
        // yc_free, which only Drop calls.
        unsafe { CStr::from_ptr(self.0.as_ptr()) }.to_string_lossy().into_owned()
    }
}

impl Drop for LibString {
    fn drop(&mut self) {
        // SAFETY: the pointer came from libycbg and is freed only here.
        unsafe { sys::yc_free(self.0.as_ptr().cast()) }
    }
}

/// Copies and releases an owned library string.
unsafe fn take_string(p: *mut c_char) -> Option<String> {
    LibString::take(p).map(|s| s.to_string_lossy())
}

fn c_string(what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|e| {
        Error::new(ErrorKind::InvalidArgument, format!("{what} contains a NUL byte at offset {}", e.nul_position()))
    })
}

/// The error a constructor stored through `error_json`, or a fallback when
/// it returned NULL without one.
unsafe fn constructor_error(err: *mut c_char, what: &str) -> Error {
    match take_string(err) {
        Some(doc) => Error::from_json(&doc),
        None => Error::new(ErrorKind::Other, format!("{what} failed without an error document")),
    }
}

/// A client: configuration plus a pool of reusable connections.
///
/// `Send + Sync`: the library allows any number of threads to use one
/// client at once, so share it as `Arc<Client>`.
pub struct Client {
    raw: NonNull<sys::yc_client>,
    /// The outcomes of this client's submitted tasks, by tag.
    driven: Arc<driven::Driven>,
}

// SAFETY: the C ABI documents yc_client as thread-safe: every function may
// be called from any thread, and a client may be shared by any number of
// threads at once.  yc_client_free may be called from any thread.
unsafe impl Send for Client {}
unsafe impl Sync for Client {}

impl Client {
    /// Creates a client from `config`; unset fields come from the
    /// environment or the library's defaults.  No network request is made.
    pub fn new(config: &Config) -> Result<Client> {
        Client::from_json(&config.to_json())
    }

    /// A [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Creates a client from a `config_json` document (see `ycbg.h`).
    /// Unknown keys and wrong types are [`ErrorKind::Config`] errors.
    pub fn from_json(config_json: &str) -> Result<Client> {
        let c = c_string("config_json", config_json)?;
        Client::from_ptr(c.as_ptr())
    }

    /// Creates a client configured only from the environment
    /// (`YC_BASE_URL`, `YC_API_KEY` or `YC_IAM_TOKEN`, `YC_FOLDER_ID`).
    pub fn from_env() -> Result<Client> {
        Client::from_ptr(ptr::null())
    }

    fn from_ptr(config: *const c_char) -> Result<Client> {
        check_version()?;
        let mut err: *mut c_char = ptr::null_mut();
        // SAFETY: config is NULL or a NUL-terminated string alive for the
        // call; err is a valid out-pointer.
        let raw = unsafe { sys::yc_client_new(config, &mut err) };
        match NonNull::new(raw) {
            Some(raw) => {
                // Contract: NULL on success; free it anyway if not.
                unsafe { drop(LibString::take(err)) };
                Ok(Client { raw, driven: Arc::new(driven::Driven::default()) })
            }
            None => Err(unsafe { constructor_error(err, "yc_client_new") }),
        }
    }

    /// Starts a background response from a Responses API request object
    /// (`{"model": ..., "input": ..., ...}`); `"background"` is forced to
    /// true and a model short name is expanded with the folder id.
    ///
    /// Text that is not JSON is [`ErrorKind::InvalidJson`]; JSON that is not
    /// an object, or text with a NUL byte, is [`ErrorKind::InvalidArgument`].
    pub fn create_background(&self, request_json: &str) -> Result<Task> {
        let req = c_string("request_json", request_json)?;
        let mut err: *mut c_char = ptr::null_mut();
        // SAFETY: self.raw is a live client; req outlives the call.
        let raw = unsafe { sys::yc_create_background(self.raw.as_ptr(), req.as_ptr(), &mut err) };
        unsafe { Task::from_result(raw, err, "yc_create_background") }
    }

    /// [`Client::create_background`] with `{"model": model, "input": input}`.
    pub fn create(&self, model: &str, input: &str) -> Result<Task> {
        let mut req = String::with_capacity(model.len() + input.len() + 24);
        req.push_str("{\"model\":");
        json::write_quoted(&mut req, model);
        req.push_str(",\"input\":");
        json::write_quoted(&mut req, input);
        req.push('}');
        self.create_background(&req)
    }

    /// A task for an existing response id (saved by another process, say);
    /// fetches its state once.  An unknown id is an [`ErrorKind::Api`]
    /// error with HTTP status 404.
    pub fn attach(&self, response_id: &str) -> Result<Task> {
        let id = c_string("response_id", response_id)?;
        let mut err: *mut c_char = ptr::null_mut();
        // SAFETY: as in create_background.
        let raw = unsafe { sys::yc_attach(self.raw.as_ptr(), id.as_ptr(), &mut err) };
        unsafe { Task::from_result(raw, err, "yc_attach") }
    }

    /// Checks a request at once (as [`Client::create_background`] does) and
    /// returns a [`Task`] without waiting for the network.  The library's
    /// one I/O thread for this client then sends the create, polls the task
    /// until it is terminal, and posts its event; [`Client::completed`]
    /// hands out the finished tasks.  A request refused at once (bad JSON,
    /// not an object, `"stream"`) is an error here and nothing is sent; a
    /// create that fails for good later ends the task with that error (see
    /// [`Task::outcome`]).  Until the create is answered, [`Task::id`] is
    /// `""`.
    pub fn submit(&self, request_json: &str) -> Result<Task> {
        let req = c_string("request_json", request_json)?;
        let tag = self.driven.new_tag();
        let mut err: *mut c_char = ptr::null_mut();
        // SAFETY: self.raw is a live client; req outlives the call.
        let raw = unsafe { sys::yc_submit(self.raw.as_ptr(), req.as_ptr(), tag, &mut err) };
        match unsafe { Task::from_result(raw, err, "yc_submit") } {
            Ok(mut task) => {
                task.driven = Some((Arc::clone(&self.driven), tag));
                Ok(task)
            }
            Err(e) => {
                self.driven.forget(tag);
                Err(e)
            }
        }
    }

    /// An iterator over `tasks` (made by this client's [`Client::submit`])
    /// that yields each one once, as it finishes: reached a terminal status
    /// or failed for good (see [`Task::outcome`]).  It blocks in the
    /// library's `yc_next_events` while nothing is ready; no thread of its
    /// own, no polling.  When `timeout` (for the whole iteration; `None`: no
    /// limit) passes with tasks left, it yields one [`ErrorKind::Timeout`]
    /// error and ends.  A task not submitted to this client gives an
    /// [`ErrorKind::InvalidArgument`] error in its place.  Several threads
    /// may iterate over tasks of one client at once.
    pub fn completed<'a>(&'a self, tasks: &[&'a Task], timeout: Option<Duration>) -> Completed<'a> {
        Completed::new(self, tasks, timeout)
    }

    /// The raw handle, for calling `ycbg_sys` directly.  It stays owned by
    /// this `Client`.
    pub fn as_ptr(&self) -> *mut sys::yc_client {
        self.raw.as_ptr()
    }
}

/// The client's event fd (`yc_client_fd`): readable exactly while events of
/// submitted tasks are pending, level-triggered, for users who plug it into
/// their own poller or runtime and then drain with [`Client::completed`]
/// (timeout zero).  Owned by the client: do not read, write or close it.
impl std::os::fd::AsRawFd for Client {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        // SAFETY: self.raw is a live client.
        unsafe { sys::yc_client_fd(self.raw.as_ptr()) }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: we own this reference; tasks keep their own.
        unsafe { sys::yc_client_free(self.raw.as_ptr()) }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("raw", &self.raw).finish()
    }
}

/// One background response on the server.  Freed (`yc_task_free`) on drop;
/// dropping does not cancel or delete the response on the server.
///
/// `Send` but not `Sync`.  The library does serialise concurrent calls on
/// one task, so sharing would be memory-safe, but it would not be useful:
/// a `cancel` from a second thread would just queue up behind a running
/// `wait`.  To stop waiting early, call [`Task::wait`] with short timeouts.
///
/// ```compile_fail
/// fn assert_sync<T: Sync>() {}
/// assert_sync::<ycbg::Task>();
/// ```
pub struct Task {
    raw: NonNull<sys::yc_task>,
    /// Set once the server's id is known (at once, except for a submitted
    /// task whose create is not answered yet).
    id: OnceCell<String>,
    /// For a task made by [`Client::submit`]: its client's table and its tag.
    driven: Option<(Arc<driven::Driven>, u64)>,
}

// SAFETY: every function may be called from any thread (the C ABI's thread
// rules); the task holds no thread-affine state.
unsafe impl Send for Task {}

impl Task {
    unsafe fn from_result(raw: *mut sys::yc_task, err: *mut c_char, what: &str) -> Result<Task> {
        match NonNull::new(raw) {
            Some(raw) => {
                drop(LibString::take(err));
                let task = Task { raw, id: OnceCell::new(), driven: None };
                task.id();
                Ok(task)
            }
            None => Err(constructor_error(err, what)),
        }
    }

    /// The server's response id.  For a task made by [`Client::submit`] it
    /// is `""` until the server has answered the create (and stays so if
    /// the create failed).
    pub fn id(&self) -> &str {
        if let Some(id) = self.id.get() {
            return id;
        }
        // SAFETY: self.raw is live; the id is borrowed for the task's life
        // and copied at once.
        let p = unsafe { sys::yc_task_id(self.raw.as_ptr()) };
        if p.is_null() {
            return "";
        }
        self.id.get_or_init(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    }

    /// Runs one `_ex` call: on `YC_STATUS_ERROR` its error is the error of
    /// that very call, whatever other threads do on the task meanwhile.
    fn call_ex(
        &self,
        what: &str,
        call: impl FnOnce(*mut sys::yc_task, *mut *mut c_char) -> sys::yc_status,
    ) -> Result<Status> {
        let mut err: *mut c_char = ptr::null_mut();
        let raw = call(self.raw.as_ptr(), &mut err);
        // SAFETY: the error document, if any, is ours to free.
        let doc = unsafe { take_string(err) };
        if let Some(st) = Status::from_raw(raw) {
            return Ok(st);
        }
        if raw != sys::YC_STATUS_ERROR {
            return Err(Error::new(ErrorKind::Other, format!("libycbg returned an unknown status value {raw}")));
        }
        Err(match doc {
            Some(doc) => Error::from_json(&doc),
            None => Error::new(ErrorKind::Other, format!("{what} failed without an error document")),
        })
    }

    /// One refresh (`GET /responses/{id}`, with the library's retries).
    /// On a terminal task, returns its status without a request.  A failure
    /// leaves the task usable: a later `poll` may succeed.
    pub fn poll(&self) -> Result<Status> {
        // SAFETY: self.raw is live until Drop; err is a valid out-pointer.
        self.call_ex("yc_poll_ex", |t, e| unsafe { sys::yc_poll_ex(t, e) })
    }

    /// Polls until the task is terminal or `timeout` has passed (`None`: no
    /// limit; `Some(Duration::ZERO)`: at most one poll).  Returns the
    /// terminal status, or the last (non-terminal) status when time ran out;
    /// `Err` on a non-retryable failure.  Sub-millisecond parts of the
    /// timeout are rounded up.
    ///
    /// On a task made by [`Client::submit`] whose event a [`Completed`]
    /// iterator has already taken, returns that outcome at once; otherwise
    /// it waits for the client's own polling (no extra requests).
    pub fn wait(&self, timeout: Option<Duration>) -> Result<Status> {
        if let Some(outcome) = self.outcome() {
            return outcome;
        }
        let ms: c_long = match timeout {
            None => -1,
            Some(d) => {
                let ms = d.as_nanos().div_ceil(1_000_000);
                ms.min(c_long::MAX as u128) as c_long
            }
        };
        // SAFETY: self.raw is live until Drop; err is a valid out-pointer.
        self.call_ex("yc_wait_ex", |t, e| unsafe { sys::yc_wait_ex(t, ms, e) })
    }

    /// For a task made by [`Client::submit`] whose event has been taken
    /// (by a [`Completed`] iterator): `Ok` with its terminal status, or the
    /// error that ended it for good (a refused create, a non-retryable poll
    /// error, `task_timeout_ms`).  `None` before that, and for other tasks.
    pub fn outcome(&self) -> Option<Result<Status>> {
        let (driven, tag) = self.driven.as_ref()?;
        driven.outcome(*tag)
    }

    /// Asks the server to stop the response (best effort: one that finished
    /// first stays completed).  Returns the status afterwards.
    pub fn cancel(&self) -> Result<Status> {
        // SAFETY: self.raw is live until Drop; err is a valid out-pointer.
        self.call_ex("yc_cancel_ex", |t, e| unsafe { sys::yc_cancel_ex(t, e) })
    }

    /// The `yc_result` document, as text.
    pub fn result_json(&self) -> Result<String> {
        // SAFETY: self.raw is live; the string is ours to free.
        unsafe { take_string(sys::yc_result(self.raw.as_ptr())) }
            .ok_or_else(|| Error::new(ErrorKind::Other, "yc_result returned NULL"))
    }

    /// A snapshot of the task (no network request).
    pub fn result(&self) -> Result<TaskResult> {
        TaskResult::parse(&self.result_json()?)
    }

    /// The output text (`""` until there is output; no network request):
    /// all of it, also past a NUL inside it, as in [`TaskResult::output_text`].
    pub fn output_text(&self) -> Result<String> {
        let mut len: usize = 0;
        // SAFETY: self.raw is live; the string is ours to free, and holds
        // `len` bytes before its terminating NUL.
        unsafe {
            let s = LibString::take(sys::yc_output_text_len(self.raw.as_ptr(), &mut len))
                .ok_or_else(|| Error::new(ErrorKind::Other, "yc_output_text_len returned NULL"))?;
            let bytes = std::slice::from_raw_parts(s.0.as_ptr().cast::<u8>(), len);
            Ok(String::from_utf8_lossy(bytes).into_owned())
        }
    }

    /// The raw handle, for calling `ycbg_sys` directly.  It stays owned by
    /// this `Task`.
    pub fn as_ptr(&self) -> *mut sys::yc_task {
        self.raw.as_ptr()
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        // SAFETY: we own the task and free it once.  A driven task's event,
        // if not yet taken, is dropped by the library; then its outcome is.
        unsafe { sys::yc_task_free(self.raw.as_ptr()) }
        if let Some((driven, tag)) = &self.driven {
            driven.forget(*tag);
        }
    }
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task").field("id", &self.id()).finish()
    }
}

/// A snapshot of a task: the `yc_result` document, read.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskResult {
    /// The response id.
    pub id: String,
    /// The last status the server reported.
    pub status: Status,
    /// The output text; `""` until there is output.
    pub output_text: String,
    /// Token usage as the server reported it (`None` until terminal).
    /// `usage.to_string()` gives it back as compact JSON.
    pub usage: Option<Value>,
    /// The last call's error if it failed, else the generation error of a
    /// failed or incomplete task, else `None`.
    pub error: Option<Error>,
    /// The last Response object from the server.
    pub response: Option<Value>,
    /// The whole `yc_result` document as the library produced it.
    pub raw: String,
}

impl TaskResult {
    /// Reads a `yc_result` document.
    pub fn parse(raw: &str) -> Result<TaskResult> {
        let bad = |why: String| Error::new(ErrorKind::Other, format!("unreadable yc_result document: {why}"));
        let v = Value::parse(raw).map_err(|e| bad(e.to_string()))?;
        if v.as_object().is_none() {
            return Err(bad("not an object".into()));
        }
        let id = v.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let status_name = v.get("status").and_then(Value::as_str).unwrap_or_default();
        let status = status_name.parse::<Status>().map_err(|e| bad(e.to_string()))?;
        let output_text = v.get("output_text").and_then(Value::as_str).unwrap_or_default().to_string();
        let error = v.get_non_null("error").and_then(Error::from_value);
        Ok(TaskResult {
            id,
            status,
            output_text,
            usage: v.get_non_null("usage").cloned(),
            error,
            response: v.get_non_null("response").cloned(),
            raw: raw.to_string(),
        })
    }

    /// `usage` as compact JSON text.
    pub fn usage_json(&self) -> Option<String> {
        self.usage.as_ref().map(Value::to_string)
    }

    /// `response` as compact JSON text.
    pub fn response_json(&self) -> Option<String> {
        self.response.as_ref().map(Value::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_result_document() {
        let doc = r#"{"id":"r1","status":"completed","output_text":"Echo: hi","usage":{"input_tokens":1,"output_tokens":2},"error":null,"response":{"id":"r1","status":"completed"}}"#;
        let r = TaskResult::parse(doc).unwrap();
        assert_eq!(r.id, "r1");
        assert_eq!(r.status, Status::Completed);
        assert_eq!(r.output_text, "Echo: hi");
        assert_eq!(r.usage_json().as_deref(), Some(r#"{"input_tokens":1,"output_tokens":2}"#));
        assert!(r.error.is_none());
        assert_eq!(r.response.as_ref().and_then(|v| v.get("id")).and_then(Value::as_str), Some("r1"));
        assert_eq!(r.raw, doc);
    }

    #[test]
    fn parses_result_with_error() {
        let doc = r#"{"id":"r2","status":"failed","output_text":"","usage":null,"error":{"kind":"generation","message":"Emulated","code":"server_error","retryable":false},"response":null}"#;
        let r = TaskResult::parse(doc).unwrap();
        assert_eq!(r.status, Status::Failed);
        assert!(r.usage.is_none() && r.response.is_none());
        let e = r.error.unwrap();
        assert_eq!(e.kind(), ErrorKind::Generation);
        assert_eq!(e.code(), Some("server_error"));
    }

    #[test]
    fn rejects_bad_result_documents() {
        assert!(TaskResult::parse("[]").is_err());
        assert!(TaskResult::parse(r#"{"id":"x","status":"error"}"#).is_err());
        assert!(TaskResult::parse("{").is_err());
    }

    #[test]
    fn thread_markers() {
        fn send<T: Send>() {}
        fn sync<T: Sync>() {}
        send::<Client>();
        sync::<Client>();
        send::<Task>();
        send::<Error>();
        sync::<Error>();
        send::<TaskResult>();
    }

    #[test]
    fn version_compatibility_rule() {
        assert!(compatible("0.1.0", "0.1.0"));
        assert!(compatible("0.1.0", "0.2.3")); // a later minor only adds
        assert!(!compatible("0.2.0", "0.1.9")); // older minor: functions missing
        assert!(!compatible("0.1.0", "1.1.0")); // another major
        assert!(!compatible("0.1.0", ""));
        assert!(!compatible("0.1.0", "x.y"));
    }

    #[test]
    fn nul_bytes_rejected_before_the_call() {
        let e = c_string("request_json", "a\0b").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("offset 1"));
    }
}
