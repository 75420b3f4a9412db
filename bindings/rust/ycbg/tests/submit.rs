//! Submitted tasks: `Client::submit`, the `completed` iterator, the event
//! fd (`AsRawFd`), errors through the `_ex` calls, and drops while tasks
//! are driven.  Every loop is bounded; no timing assertions (the timeouts
//! below only turn a hang into a failure).

mod common;

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::time::Duration;

use common::*;
use ycbg::{ErrorKind, Status, Task};

const BOUND: Option<Duration> = Some(Duration::from_secs(120));

fn request(input: &str) -> String {
    format!(r#"{{"model":"{MODEL}","input":"{input}"}}"#)
}

fn long_request(input: &str) -> String {
    format!(r#"{{"model":"{MODEL}","input":"{input}","metadata":{{"emulator_work_ms":"60000"}}}}"#)
}

#[test]
fn two_hundred_submitted_tasks_each_finish_once_with_their_text() {
    let emu = Emulator::start_with(20, 200, &[]);
    let client = emu.client();
    const N: usize = 200;
    let tasks: Vec<Task> = (0..N).map(|i| client.submit(&request(&format!("task {i}"))).expect("submit")).collect();
    let refs: Vec<&Task> = tasks.iter().collect();
    let index: HashMap<*const Task, usize> = tasks.iter().enumerate().map(|(i, t)| (t as *const Task, i)).collect();
    let mut seen = vec![0u32; N];
    for item in client.completed(&refs, BOUND) {
        let task = item.expect("a finished task");
        seen[index[&(task as *const Task)]] += 1;
    }
    assert!(seen.iter().all(|&n| n == 1), "each task once: {seen:?}");
    let mut ids = std::collections::HashSet::new();
    for (i, task) in tasks.iter().enumerate() {
        assert_eq!(task.outcome().expect("an outcome").expect("no error"), Status::Completed, "task {i}");
        assert_eq!(task.wait(Some(Duration::ZERO)).unwrap(), Status::Completed);
        assert_eq!(task.output_text().unwrap(), format!("Echo: task {i}"));
        assert!(!task.id().is_empty() && ids.insert(task.id().to_string()), "task {i}: id {:?}", task.id());
    }
    assert_eq!(emu.request_count("create"), N as u64, "one create per task");
}

#[test]
fn a_failed_create_surfaces_its_error() {
    let emu = Emulator::start_with(20, 50, &[]);
    let client = emu.builder().api_key("wrong-key-31c9").build().unwrap();
    // Refused at once: nothing is sent.
    assert_eq!(client.submit(r#"{"model":"#).unwrap_err().kind(), ErrorKind::InvalidJson);
    assert_eq!(client.submit("[1]").unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(client.submit("{\"a\":\"\0\"}").unwrap_err().kind(), ErrorKind::InvalidArgument);

    let task = client.submit(&request("denied")).unwrap();
    let done: Vec<_> = client.completed(&[&task], BOUND).collect();
    assert_eq!(done.len(), 1);
    assert!(std::ptr::eq(*done[0].as_ref().unwrap(), &task));
    let err = task.outcome().expect("an outcome").unwrap_err();
    assert_eq!((err.kind(), err.http_status(), err.is_retryable()), (ErrorKind::Api, Some(401), false), "{err}");
    assert!(!err.to_string().contains("wrong-key-31c9"));
    assert_eq!(task.wait(None).unwrap_err(), err);
    assert_eq!(task.id(), "");
    assert_eq!(emu.request_count("create"), 1);
}

#[test]
fn poll_errors_come_from_the_call_itself() {
    let emu = Emulator::start_with(20, 50, &[]);
    let client = emu.client();
    let task = client.submit(&long_request("malformed answers")).unwrap();
    for _ in 0..2000 {
        if !task.id().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!task.id().is_empty(), "the create was never answered");
    emu.add_fault(r#"{"match":"retrieve","kind":"malformed","count":1000}"#);
    assert_eq!(task.poll().unwrap_err().kind(), ErrorKind::Protocol);
    let done: Vec<_> = client.completed(&[&task], BOUND).collect();
    assert_eq!(done.len(), 1);
    assert_eq!(task.outcome().unwrap().unwrap_err().kind(), ErrorKind::Protocol);
}

#[test]
fn timeout_and_foreign_tasks() {
    let emu = Emulator::start_with(20, 50, &[]);
    let client = emu.client();
    let other = emu.client();
    let long = client.submit(&long_request("slow")).unwrap();
    let foreign = other.submit(&request("elsewhere")).unwrap();
    let plain = client.create(MODEL, "not submitted").unwrap();
    let items: Vec<_> = client.completed(&[&long, &foreign, &plain], Some(Duration::from_millis(50))).collect();
    assert_eq!(items.len(), 3, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(items[1].as_ref().unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(items[2].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    assert!(long.outcome().is_none());
    // The foreign task is still handed out by its own client.
    let done: Vec<_> = other.completed(&[&foreign], BOUND).collect();
    assert!(done.len() == 1 && done[0].is_ok());
    assert_eq!(foreign.output_text().unwrap(), "Echo: elsewhere");
    // Cancel on a driven task ends it.
    assert_eq!(long.cancel().unwrap(), Status::Cancelled);
    let done: Vec<_> = client.completed(&[&long], BOUND).collect();
    assert!(done.len() == 1 && done[0].is_ok(), "{done:?}");
    assert_eq!(long.outcome().unwrap().unwrap(), Status::Cancelled);
}

#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

extern "C" {
    fn poll(fds: *mut PollFd, nfds: std::ffi::c_ulong, timeout: i32) -> i32;
}

fn readable(fd: i32, timeout_ms: i32) -> bool {
    let mut p = PollFd { fd, events: 1, revents: 0 }; // POLLIN
                                                      // SAFETY: one valid pollfd.
    let n = unsafe { poll(&mut p, 1, timeout_ms) };
    n == 1 && p.revents & 1 != 0
}

#[test]
fn the_event_fd_is_level_triggered() {
    let emu = Emulator::start_with(20, 50, &[]);
    let client = emu.client();
    let task = client.submit(&request("fd")).unwrap();
    let fd = client.as_raw_fd();
    assert!(fd >= 0);
    assert!(readable(fd, 60_000), "the fd never became readable");
    assert!(readable(fd, 0), "level-triggered: still readable before draining");
    let done: Vec<_> = client.completed(&[&task], Some(Duration::ZERO)).collect();
    assert!(done.len() == 1 && done[0].is_ok(), "{done:?}");
    assert!(!readable(fd, 0), "readable after every event was taken");
    assert_eq!(task.output_text().unwrap(), "Echo: fd");
}

#[test]
fn drops_while_tasks_are_driven() {
    let emu = Emulator::start_with(20, 100, &[]);
    let client = emu.client();
    // Tasks dropped while driven: their events are dropped.
    let dropped: Vec<Task> = (0..30).map(|i| client.submit(&long_request(&format!("dropped {i}"))).unwrap()).collect();
    drop(dropped);
    // Tasks whose client is dropped while they are driven go on working.
    let kept: Vec<Task> = (0..30).map(|i| client.submit(&request(&format!("kept {i}"))).unwrap()).collect();
    let long = client.submit(&long_request("cancel me")).unwrap();
    drop(client);
    for (i, task) in kept.iter().enumerate() {
        assert_eq!(task.wait(Some(Duration::from_secs(60))).unwrap(), Status::Completed, "task {i}");
        assert_eq!(task.output_text().unwrap(), format!("Echo: kept {i}"));
    }
    assert_eq!(long.cancel().unwrap(), Status::Cancelled);
    drop(kept);
    drop(long);
}

#[test]
fn several_threads_iterate_over_one_client() {
    let emu = Emulator::start_with(20, 100, &[]);
    let client = emu.client();
    const THREADS: usize = 4;
    const PER: usize = 40;
    let sets: Vec<Vec<Task>> = (0..THREADS)
        .map(|t| (0..PER).map(|i| client.submit(&request(&format!("t{t} n{i}"))).unwrap()).collect())
        .collect();
    std::thread::scope(|s| {
        for (t, set) in sets.into_iter().enumerate() {
            let client = &client;
            s.spawn(move || {
                let refs: Vec<&Task> = set.iter().collect();
                let done: Vec<_> = client.completed(&refs, BOUND).collect();
                assert_eq!(done.len(), PER, "thread {t}");
                for item in done {
                    let task = item.unwrap_or_else(|e| panic!("thread {t}: {e}"));
                    assert!(set.iter().any(|x| std::ptr::eq(x, task)), "thread {t} got another thread's task");
                }
                for (i, task) in set.iter().enumerate() {
                    assert_eq!(task.outcome().unwrap().unwrap(), Status::Completed);
                    assert_eq!(task.output_text().unwrap(), format!("Echo: t{t} n{i}"));
                }
            });
        }
    });
}

#[test]
fn an_iterator_finds_outcomes_another_one_stored_before_it_drains_again() {
    // Iterator B scans the table and takes z's event; iterator A then takes
    // y's event (stored for B) while B is not looking; B must look at the
    // table again before it waits in yc_next_events, where y's event no
    // longer is.  (This lost tasks for a thread of several_threads_... under load.)
    let emu = Emulator::start_with(0, 50, &[]);
    let client = emu.client();
    let z = client.submit(&request("z")).unwrap();
    assert_eq!(z.wait(BOUND).unwrap(), Status::Completed); // z's event is now queued
    let y = client.submit(&request_with_metadata("y", &[("emulator_work_ms", "800")])).unwrap();
    let x = client.submit(&long_request("x")).unwrap();
    let mut b = client.completed(&[&z, &y], Some(Duration::from_secs(20) + slack()));
    assert!(std::ptr::eq(b.next().unwrap().unwrap(), &z));
    // A drains for 3 s: y finishes meanwhile and A stores its outcome.
    let a: Vec<_> = client.completed(&[&x], Some(Duration::from_secs(3))).collect();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].as_ref().unwrap_err().kind(), ErrorKind::Timeout);
    assert_eq!(y.outcome().expect("y's outcome, stored by A").unwrap(), Status::Completed);
    let next = b.next().expect("y from B").expect("y, not a timeout");
    assert!(std::ptr::eq(next, &y));
    assert!(b.next().is_none());
    assert_eq!(x.cancel().unwrap(), Status::Cancelled);
}
