//! Submitted tasks cost no thread each: /proc/self/status `Threads` while
//! 200 tasks are driven stays within a small constant of the count before.
//! Its own test binary, so no other test adds threads meanwhile.

mod common;

use std::time::Duration;

use common::*;
use ycbg::Task;

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|n| n.trim().parse().ok()).expect("a Threads line")
}

#[test]
fn no_thread_per_submitted_task() {
    let emu = Emulator::start_with(50, 300, &[]);
    let client = emu.client();
    let before = threads();
    let tasks: Vec<Task> =
        (0..200).map(|i| client.submit(&format!(r#"{{"model":"{MODEL}","input":"t{i}"}}"#)).unwrap()).collect();
    let during = threads();
    let refs: Vec<&Task> = tasks.iter().collect();
    let done = client.completed(&refs, Some(Duration::from_secs(120))).filter(|r| r.is_ok()).count();
    let after = threads();
    eprintln!("threads: {before} before, {during} while 200 tasks were driven, {after} after");
    assert_eq!(done, 200);
    assert!(during <= before + 4, "threads grew from {before} to {during}");
    assert!(after <= before + 4, "threads grew from {before} to {after}");
}
