//! The happy paths against the emulator: seed workflow, wait with a
//! timeout, cancel, attach, generation outcomes, threads.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use ycbg::json::Value;
use ycbg::{Client, Config, ErrorKind, Status};

/// A wait long enough for any job of these tests, plus the slack.
fn long() -> Option<Duration> {
    Some(Duration::from_secs(30) + slack())
}

#[test]
fn version_and_status_names_match_the_library() {
    let v = ycbg::version();
    let parts: Vec<&str> = v.split('.').collect();
    assert_eq!(parts.len(), 3, "version {v:?}");
    assert!(parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())), "version {v:?}");
    for st in Status::ALL {
        assert_eq!(ycbg::status_name(st.to_raw()), st.to_string());
    }
    assert_eq!(ycbg::status_name(ycbg::sys::YC_STATUS_ERROR), "error");
    assert_eq!(ycbg::status_name(42), "unknown");
}

#[test]
fn seed_workflow() {
    let emu = Emulator::start();
    let client = emu.client();
    let input = "Hello, \"world\"!\n\tПривет, мир 😀 \\ back/slash \u{1} end";
    let task = client.create(MODEL, input).expect("create");
    assert!(!task.id().is_empty());

    let first = task.result().expect("result");
    assert_eq!(first.id, task.id());
    assert_eq!(first.status, Status::Queued);
    assert!(!first.status.is_terminal());
    assert_eq!(first.output_text, "");
    assert!(first.error.is_none(), "{:?}", first.error);
    assert_eq!(task.output_text().unwrap(), "");

    let status = task.wait(long()).expect("wait");
    assert_eq!(status, Status::Completed);
    let expected = format!("Echo: {input}");
    assert_eq!(task.output_text().unwrap(), expected);

    let r = task.result().unwrap();
    assert_eq!(r.id, task.id());
    assert_eq!(r.status, Status::Completed);
    assert_eq!(r.output_text, expected);
    assert!(r.error.is_none(), "{:?}", r.error);
    let usage = r.usage.as_ref().expect("usage once completed");
    assert!(usage.get("input_tokens").and_then(Value::as_u64).unwrap() > 0, "{usage}");
    assert!(usage.get("output_tokens").and_then(Value::as_u64).unwrap() > 0, "{usage}");
    assert!(r.usage_json().unwrap().starts_with('{'));
    let response = r.response.as_ref().expect("response");
    assert_eq!(response.get("id").and_then(Value::as_str), Some(task.id()));
    assert_eq!(response.get("status").and_then(Value::as_str), Some("completed"));
    // The model short name went out expanded with the folder id.
    assert_eq!(response.get("model").and_then(Value::as_str), Some(format!("gpt://{FOLDER}/{MODEL}").as_str()));
    assert!(Value::parse(&r.raw).is_ok());

    // Terminal: poll, wait and cancel answer without a request.
    let before = (emu.request_count("retrieve"), emu.request_count("cancel"));
    assert_eq!(task.poll().unwrap(), Status::Completed);
    assert_eq!(task.wait(None).unwrap(), Status::Completed);
    assert_eq!(task.cancel().unwrap(), Status::Completed);
    assert_eq!((emu.request_count("retrieve"), emu.request_count("cancel")), before);
}

#[test]
fn output_text_computed_from_output_parts() {
    // Without the server's top-level output_text the library joins the
    // message's output_text parts (the emulator splits the text in two).
    let emu = Emulator::start_with(0, 0, &["--no-output-text"]);
    let client = emu.client();
    let task = client.create(MODEL, "split me in halves, please").unwrap();
    assert_eq!(task.wait(long()).unwrap(), Status::Completed);
    assert_eq!(task.output_text().unwrap(), "Echo: split me in halves, please");
    let r = task.result().unwrap();
    assert!(r.response.unwrap().get("output_text").is_none());
}

#[test]
fn config_struct_and_iam_token() {
    let emu = Emulator::start_with(0, 0, &[]);
    let config = Config {
        base_url: Some(emu.base_url.clone()),
        iam_token: Some(IAM_TOKEN.into()),
        folder_id: Some(FOLDER.into()),
        poll_interval: Some(Duration::from_millis(10)),
        data_logging: Some(false),
        user_agent: Some("ycbg-rust-test/1".into()),
        ..Config::default()
    };
    let client = Client::new(&config).expect("client");
    let task = client.create(MODEL, "via IAM").unwrap();
    assert_eq!(task.wait(long()).unwrap(), Status::Completed);
    assert_eq!(task.output_text().unwrap(), "Echo: via IAM");

    let (status, body) = emu.http("GET", "/_emulator/requests?limit=1", None);
    assert_eq!(status, 200);
    let reqs = Value::parse(&body).unwrap();
    let last = reqs.as_array().and_then(|a| a.last()).expect("a recorded request");
    let headers = last.get("headers").unwrap();
    assert_eq!(headers.get("authorization").and_then(Value::as_str), Some(format!("Bearer {IAM_TOKEN}").as_str()));
    assert_eq!(headers.get("x-data-logging-enabled").and_then(Value::as_str), Some("false"));
    assert_eq!(headers.get("user-agent").and_then(Value::as_str), Some("ycbg-rust-test/1"));
}

#[test]
fn wait_with_timeout_returns_non_terminal_status() {
    let emu = Emulator::start();
    let client = emu.client();
    let task = client.create_background(&slow_request("take your time", 2000)).unwrap();

    let t0 = Instant::now();
    let status = task.wait(Some(Duration::from_millis(300))).expect("wait");
    let elapsed = t0.elapsed();
    assert!(!status.is_terminal(), "status {status}");
    assert!(elapsed >= Duration::from_millis(200), "returned after {elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500) + slack(), "returned after {elapsed:?}");

    // Zero: at most one poll, at once.
    let t0 = Instant::now();
    assert!(!task.wait(Some(Duration::ZERO)).unwrap().is_terminal());
    assert!(t0.elapsed() < Duration::from_millis(1000) + slack());

    assert_eq!(task.wait(long()).unwrap(), Status::Completed);
    assert_eq!(task.output_text().unwrap(), "Echo: take your time");
}

#[test]
fn cancel_stops_a_running_task() {
    let emu = Emulator::start();
    let client = emu.client();
    let task = client.create_background(&slow_request("never finishes", 60_000)).unwrap();
    assert!(!task.poll().unwrap().is_terminal());

    assert_eq!(task.cancel().expect("cancel"), Status::Cancelled);
    assert_eq!(emu.request_count("cancel"), 1);
    let r = task.result().unwrap();
    assert_eq!(r.status, Status::Cancelled);
    assert!(r.error.is_none(), "{:?}", r.error);

    let before = emu.request_count("retrieve");
    assert_eq!(task.poll().unwrap(), Status::Cancelled);
    assert_eq!(task.wait(None).unwrap(), Status::Cancelled);
    assert_eq!(task.cancel().unwrap(), Status::Cancelled);
    assert_eq!(emu.request_count("retrieve"), before);
    assert_eq!(emu.request_count("cancel"), 1);

    // Another view of the same response agrees.
    let again = client.attach(task.id()).unwrap();
    assert_eq!(again.result().unwrap().status, Status::Cancelled);
}

#[test]
fn attach_to_an_existing_response() {
    let emu = Emulator::start();
    let id = {
        let client = emu.client();
        let task = client.create(MODEL, "saved for later").unwrap();
        task.id().to_string()
        // client and task dropped: the response lives on in the server
    };
    let client = emu.client();
    let task = client.attach(&id).expect("attach");
    assert_eq!(task.id(), id);
    assert_eq!(task.result().unwrap().id, id);
    assert_eq!(task.wait(long()).unwrap(), Status::Completed);
    assert_eq!(task.output_text().unwrap(), "Echo: saved for later");

    let err = client.attach("00000000-0000-4000-8000-000000000000").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api, "{err}");
    assert_eq!(err.http_status(), Some(404), "{err}");
    assert!(!err.is_retryable());

    assert!(client.attach("").is_err());
    let err = client.attach("abc\0def").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn generation_failure_and_incomplete() {
    let emu = Emulator::start_with(0, 50, &[]);
    let client = emu.client();

    let failed = client.create_background(&request_with_metadata("doomed", &[("emulator_outcome", "failed")])).unwrap();
    assert_eq!(failed.wait(long()).expect("a failed generation is a status, not an Err"), Status::Failed);
    let err = failed.result().unwrap().error.expect("generation error");
    assert_eq!(err.kind(), ErrorKind::Generation);
    assert_eq!(err.code(), Some("server_error"));

    let request = format!("{{\"model\":\"{MODEL}\",\"input\":\"one two three four five\",\"max_output_tokens\":2}}");
    let cut = client.create_background(&request).unwrap();
    assert_eq!(cut.wait(long()).unwrap(), Status::Incomplete);
    assert_eq!(cut.output_text().unwrap(), "Echo: one");
    let r = cut.result().unwrap();
    let err = r.error.expect("incomplete error");
    assert_eq!(err.kind(), ErrorKind::Generation);
    assert_eq!(err.code(), Some("max_output_tokens"));
}

#[test]
fn task_outlives_its_client() {
    let emu = Emulator::start();
    let client = emu.client();
    let task = client.create(MODEL, "orphan").unwrap();
    drop(client);
    assert_eq!(task.wait(long()).unwrap(), Status::Completed);
    assert_eq!(task.output_text().unwrap(), "Echo: orphan");
}

#[test]
fn sixteen_threads_share_one_client() {
    let emu = Emulator::start_with(50, 100, &[]);
    let client = Arc::new(emu.client());
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let client = Arc::clone(&client);
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for j in 0..3 {
                    let input = format!("thread {i} round {j}");
                    let task = client.create(MODEL, &input).expect("create");
                    assert_eq!(task.wait(long()).expect("wait"), Status::Completed);
                    assert_eq!(task.output_text().unwrap(), format!("Echo: {input}"));
                    ids.push(task.id().to_string());
                }
                ids
            })
        })
        .collect();
    let mut ids: Vec<String> = handles.into_iter().flat_map(|h| h.join().expect("thread panicked")).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 48, "every create made its own response");
    assert_eq!(emu.request_count("create"), 48);
}

#[test]
fn tasks_move_between_threads() {
    let emu = Emulator::start();
    let client = emu.client();
    let tasks: Vec<_> = (0..4).map(|i| client.create(MODEL, &format!("moved {i}")).unwrap()).collect();
    let handles: Vec<_> = tasks
        .into_iter()
        .enumerate()
        .map(|(i, task)| {
            std::thread::spawn(move || {
                assert_eq!(task.wait(long()).unwrap(), Status::Completed);
                assert_eq!(task.output_text().unwrap(), format!("Echo: moved {i}"));
                task // and back again
            })
        })
        .collect();
    for h in handles {
        let task = h.join().unwrap();
        assert_eq!(task.result().unwrap().status, Status::Completed);
    }
}

#[test]
fn output_text_keeps_a_nul_inside() {
    // JSON text may carry "\u0000": output_text returns all of it, the same
    // text as the result document (yc_output_text_len, not yc_output_text).
    let emu = Emulator::start_with(20, 30, &[]);
    let client = emu.client();
    let task = client.create(MODEL, "before\0after").expect("create");
    assert_eq!(task.wait(long()).expect("wait"), Status::Completed);
    assert_eq!(task.output_text().unwrap(), "Echo: before\0after");
    assert_eq!(task.result().unwrap().output_text, "Echo: before\0after");
}
