//! Submitted tasks: the per-client table of their outcomes (keyed by the tag
//! given to `yc_submit`; no Rust pointer ever goes to C) and the
//! [`Completed`] iterator that fills it from `yc_next_events`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::{c_int, c_long};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::{sys, take_string, Client, Error, ErrorKind, Result, Status, Task};

/// How many events one `yc_next_events` call may take.
const BATCH: usize = 64;

#[derive(Default)]
struct State {
    /// Tags of live submitted tasks (an event of another tag is dropped).
    live: HashSet<u64>,
    /// Outcomes taken from events, until their task is dropped.
    finished: HashMap<u64, Result<Status>>,
    /// Whether some thread is inside `yc_next_events` for this client.
    draining: bool,
    /// How many drains have stored outcomes: an iterator that saw another
    /// number since its last scan of the table looks again, since another
    /// thread may have stored the outcomes it waits for.
    stores: u64,
}

/// One client's record of its submitted tasks; shared by the client and
/// its tasks (a task may outlive its `Client`).
#[derive(Default)]
pub(crate) struct Driven {
    next_tag: AtomicU64,
    state: Mutex<State>,
    /// Signalled when a drainer has stored events and stopped draining.
    drained: Condvar,
}

impl Driven {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh tag, registered as live.
    pub(crate) fn new_tag(&self) -> u64 {
        let tag = self.next_tag.fetch_add(1, Ordering::Relaxed) + 1;
        self.lock().live.insert(tag);
        tag
    }

    /// The task of `tag` is gone: forget it and its outcome.
    pub(crate) fn forget(&self, tag: u64) {
        let mut st = self.lock();
        st.live.remove(&tag);
        st.finished.remove(&tag);
    }

    pub(crate) fn outcome(&self, tag: u64) -> Option<Result<Status>> {
        self.lock().finished.get(&tag).cloned()
    }
}

/// The outcome an event carries.
fn outcome_of(status: sys::yc_status, error: Option<String>) -> Result<Status> {
    if let Some(st) = Status::from_raw(status) {
        return Ok(st);
    }
    Err(match error {
        Some(doc) => Error::from_json(&doc),
        None => Error::new(ErrorKind::Other, format!("a submitted task ended with status {status} and no error")),
    })
}

/// Yields tasks as they finish; made by [`Client::completed`].
pub struct Completed<'a> {
    client: &'a Client,
    pending: HashMap<u64, &'a Task>,
    ready: VecDeque<Result<&'a Task>>,
    deadline: Option<Instant>,
    /// Scan every pending tag against the table (events another thread
    /// took may be there).
    rescan: bool,
    /// `State::stores` when this iterator last scanned the table.
    seen_stores: u64,
    ended: bool,
}

impl<'a> Completed<'a> {
    pub(crate) fn new(client: &'a Client, tasks: &[&'a Task], timeout: Option<Duration>) -> Completed<'a> {
        let mut it = Completed {
            client,
            pending: HashMap::with_capacity(tasks.len()),
            ready: VecDeque::new(),
            deadline: timeout.and_then(|t| Instant::now().checked_add(t)),
            rescan: true,
            seen_stores: 0,
            ended: false,
        };
        for &task in tasks {
            match &task.driven {
                Some((driven, tag)) if std::sync::Arc::ptr_eq(driven, &client.driven) => {
                    it.pending.insert(*tag, task);
                }
                _ => it.ready.push_back(Err(Error::new(
                    ErrorKind::InvalidArgument,
                    "completed(): the task was not made by this client's submit()",
                ))),
            }
        }
        it
    }

    /// Moves pending tasks whose outcome is in the table to `ready`.
    fn collect(&mut self, st: &State, tags: Option<&[u64]>) {
        let found: Vec<u64> = match tags {
            Some(tags) => tags.iter().copied().filter(|t| self.pending.contains_key(t)).collect(),
            None => self.pending.keys().copied().filter(|t| st.finished.contains_key(t)).collect(),
        };
        for tag in found {
            if let Some(task) = self.pending.remove(&tag) {
                self.ready.push_back(Ok(task));
            }
        }
    }

    /// Milliseconds left before the deadline (`-1`: no deadline).
    fn left_ms(&self) -> c_long {
        match self.deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                left.as_nanos().div_ceil(1_000_000).min(c_long::MAX as u128) as c_long
            }
        }
    }

    /// One `yc_next_events` call; stores what it took and returns the tags.
    fn drain(&mut self, timeout_ms: c_long) -> Option<Vec<u64>> {
        let mut events =
            [sys::yc_event { task: ptr::null_mut(), tag: 0, status: 0, error_json: ptr::null_mut() }; BATCH];
        // SAFETY: the client is live (borrowed); events has BATCH slots.
        let n =
            unsafe { sys::yc_next_events(self.client.raw.as_ptr(), events.as_mut_ptr(), BATCH as c_int, timeout_ms) };
        let taken = &events[..n.max(0) as usize];
        // Take ownership of every error document first (freed even if
        // nobody wants the outcome).
        let outcomes: Vec<(u64, Result<Status>)> =
            taken.iter().map(|ev| (ev.tag, outcome_of(ev.status, unsafe { take_string(ev.error_json) }))).collect();
        let driven = &self.client.driven;
        let mut st = driven.lock();
        st.draining = false;
        // Nobody else stored since this iterator's last look: after this
        // drain, its view of the table is complete again.
        let up_to_date = st.stores == self.seen_stores;
        st.stores += 1;
        if up_to_date {
            self.seen_stores = st.stores;
        }
        let mut tags = Vec::with_capacity(outcomes.len());
        for (tag, outcome) in outcomes {
            if st.live.contains(&tag) {
                st.finished.insert(tag, outcome);
                tags.push(tag);
            }
        }
        drop(st);
        driven.drained.notify_all();
        if n < 0 {
            None
        } else {
            Some(tags)
        }
    }
}

impl<'a> Iterator for Completed<'a> {
    type Item = Result<&'a Task>;

    fn next(&mut self) -> Option<Self::Item> {
        // Bounded: each round either yields, ends, or waits for events /
        // the deadline; the number of rounds without progress is limited by
        // the deadline (or, without one, by events arriving).
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.ended || self.pending.is_empty() {
                return None;
            }
            let timeout_ms = self.left_ms();
            let driven = std::sync::Arc::clone(&self.client.driven);
            let mut st = driven.lock();
            if self.rescan || st.stores != self.seen_stores {
                self.rescan = false;
                self.seen_stores = st.stores;
                self.collect(&st, None);
                if !self.ready.is_empty() {
                    continue;
                }
            }
            if st.draining {
                // Another thread is inside yc_next_events: it stores what it
                // takes in the table and wakes us.
                let wait =
                    if timeout_ms < 0 { Duration::from_secs(3600) } else { Duration::from_millis(timeout_ms as u64) };
                let (guard, _) = driven.drained.wait_timeout(st, wait).unwrap_or_else(|e| e.into_inner());
                drop(guard);
                self.rescan = true;
            } else {
                st.draining = true;
                drop(st);
                match self.drain(timeout_ms) {
                    Some(tags) => {
                        let st = driven.lock();
                        self.collect(&st, Some(&tags));
                    }
                    None => {
                        self.ended = true;
                        return Some(Err(Error::new(ErrorKind::InvalidArgument, "yc_next_events refused the client")));
                    }
                }
            }
            if self.ready.is_empty() && timeout_ms == 0 {
                self.ended = true;
                return Some(Err(Error::new(
                    ErrorKind::Timeout,
                    format!("{} submitted task(s) did not finish within the timeout", self.pending.len()),
                )));
            }
        }
    }
}
