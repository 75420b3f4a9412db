//! 2,000 create → wait → result → drop cycles must not grow the process:
//! resident memory and open file descriptors are compared between cycle 200
//! (after warm-up: connection pool, allocator arenas) and cycle 2,000.
//!
//! Its own test binary, so no other test shares the process while it
//! measures.

mod common;

use std::time::Duration;

use common::*;
use ycbg::Status;

/// Resident set size in bytes (/proc/self/statm, field 2, in pages).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("statm resident field");
    pages * page_size()
}

/// The page size, from the kernel's view of our own mappings (no libc).
fn page_size() -> u64 {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/self/smaps").ok())
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("KernelPageSize:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(4096, |kb| kb * 1024)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

#[test]
fn no_growth_over_2000_cycles() {
    let emu = Emulator::start();
    emu.settings(r#"{"queue_ms":0,"work_ms":0}"#);
    let client = emu.builder().poll_interval(Duration::from_millis(1)).build().unwrap();

    // ~1.2 kB of input, echoed back: each cycle moves a few kB of strings
    // through the ABI (result document, output text, error-free paths),
    // so a leaked string per cycle would show up as megabytes.
    let input = "lorem ipsum dolor sit amet, ".repeat(40);
    let expected = format!("Echo: {input}");

    let mut at_200 = None;
    for i in 1..=2000u32 {
        let task = client.create(MODEL, &input).expect("create");
        assert_eq!(task.wait(Some(Duration::from_secs(10) + slack())).expect("wait"), Status::Completed);
        let r = task.result().expect("result");
        assert_eq!(r.status, Status::Completed);
        assert_eq!(r.output_text.len(), expected.len());
        assert_eq!(task.output_text().unwrap().len(), expected.len());
        if i % 250 == 0 {
            assert_eq!(r.output_text, expected);
        }
        drop(task);
        if i == 200 {
            at_200 = Some((rss_bytes(), open_fds()));
        }
    }
    // One error path per cycle-batch is exercised too: a failed attach
    // frees its error document.
    for _ in 0..100 {
        assert!(client.attach("00000000-0000-4000-8000-000000000000").is_err());
    }
    let (rss_200, fds_200) = at_200.unwrap();
    let (rss_2000, fds_2000) = (rss_bytes(), open_fds());
    let growth = rss_2000.saturating_sub(rss_200);
    eprintln!(
        "no_growth: rss {:.1} MiB -> {:.1} MiB (+{:.1} MiB), fds {fds_200} -> {fds_2000}",
        rss_200 as f64 / 1048576.0,
        rss_2000 as f64 / 1048576.0,
        growth as f64 / 1048576.0
    );
    // 1,800 cycles x (result ~4 kB + output text ~1.2 kB + request) leaked
    // would be > 9 MiB; allocator noise stays far below this margin.
    assert!(growth < 8 * 1024 * 1024, "RSS grew by {growth} bytes between cycle 200 and 2000");
    assert!(fds_2000 <= fds_200 + 4, "open fds grew from {fds_200} to {fds_2000}");
    assert_eq!(emu.request_count("create"), 2000);
}
