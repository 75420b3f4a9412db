//! Errors surface as `Err(ycbg::Error)` with the library's kind, HTTP
//! status, code and request id; retryable faults are absorbed.

mod common;

use std::time::Duration;

use common::*;
use ycbg::{Client, ErrorKind, Status};

/// A wait long enough for any job of these tests, plus the slack.
fn long() -> Option<Duration> {
    Some(Duration::from_secs(30) + slack())
}

#[test]
fn wrong_api_key_is_api_401() {
    let emu = Emulator::start();
    let secret = "wrong-secret-key-5up3r";
    let client = emu.builder().api_key(secret).build().expect("config is fine; the key is checked by the server");
    let err = client.create(MODEL, "hi").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api, "{err}");
    assert_eq!(err.http_status(), Some(401), "{err}");
    assert_eq!(err.code(), Some("invalid_api_key"), "{err}");
    assert!(!err.is_retryable());
    assert!(err.request_id().is_some_and(|r| !r.is_empty()), "{err}");
    assert!(!err.message().is_empty());
    assert!(!err.message().contains(secret) && !err.to_string().contains(secret), "{err}");
    assert!(err.to_string().contains("401"), "{err}");
    // std::error::Error: usable with `?` into Box<dyn Error>.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    assert!(!boxed.to_string().is_empty());
    assert_eq!(emu.request_count("create"), 1, "a 401 is not retried");
}

#[test]
fn retryable_poll_fault_is_absorbed() {
    let emu = Emulator::start();
    let client = emu.client();
    let task = client.create_background(&slow_request("patience", 5000)).unwrap();
    let retrieves = emu.request_count("retrieve");
    let applied = emu.faults_applied();
    emu.add_fault(r#"{"match":"retrieve","kind":"status","status":503,"retry_after":"0","count":1}"#);

    let status = task.poll().expect("the 503 is retried inside the library");
    assert!(!status.is_terminal(), "{status}");
    assert_eq!(emu.faults_applied(), applied + 1);
    assert_eq!(emu.request_count("retrieve"), retrieves + 2, "one faulted attempt, one retry");
    assert!(task.result().unwrap().error.is_none());
}

#[test]
fn wait_goes_on_after_retryable_failures() {
    let emu = Emulator::start();
    let client = emu.builder().max_retries(0).build().unwrap();
    let task = client.create(MODEL, "keep going").unwrap();
    emu.add_fault(r#"{"match":"retrieve","kind":"status","status":503,"retry_after":"0","count":3}"#);
    assert_eq!(task.wait(long()).expect("retryable failures do not end wait"), Status::Completed);
    assert_eq!(emu.faults_applied(), 3);
    assert_eq!(task.output_text().unwrap(), "Echo: keep going");
}

#[test]
fn html_502_without_retries_is_http() {
    let emu = Emulator::start();
    let client = emu.builder().max_retries(0).build().unwrap();
    emu.add_fault(r#"{"match":"create","kind":"html","status":502,"count":1}"#);
    let err = client.create(MODEL, "through a proxy").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Http, "{err}");
    assert_eq!(err.http_status(), Some(502), "{err}");
    assert!(err.is_retryable());
    assert_eq!(emu.request_count("create"), 1);
    // The fault is used up: the next create works.
    let task = client.create(MODEL, "second try").unwrap();
    assert_eq!(task.wait(long()).unwrap(), Status::Completed);
}

#[test]
fn malformed_answer_is_protocol_and_task_recovers() {
    let emu = Emulator::start();
    let client = emu.builder().max_retries(0).build().unwrap();
    let task = client.create_background(&slow_request("garbled", 5000)).unwrap();
    emu.add_fault(r#"{"match":"retrieve","kind":"malformed","count":1}"#);

    let err = task.poll().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(!err.is_retryable());
    let recorded = task.result().unwrap();
    assert_eq!(recorded.error.as_ref().map(|e| e.kind()), Some(ErrorKind::Protocol));
    assert!(!recorded.status.is_terminal(), "the task keeps its last status");

    let status = task.poll().expect("a later poll succeeds");
    assert!(!status.is_terminal());
    assert!(task.result().unwrap().error.is_none(), "the next successful call clears the error");
}

#[test]
fn non_retryable_failure_ends_wait_with_err() {
    let emu = Emulator::start();
    let client = emu.client();
    let task = client.create_background(&slow_request("stopped", 5000)).unwrap();
    emu.add_fault(r#"{"match":"retrieve","kind":"status","status":400,"count":1}"#);
    let err = task.wait(long()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api, "{err}");
    assert_eq!(err.http_status(), Some(400));
    assert!(!err.is_retryable());
}

#[test]
fn invalid_request_json() {
    let emu = Emulator::start();
    let client = emu.client();

    let err = client.create_background("{\"model\": \"yandexgpt\",\n \"input\": }").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidJson, "{err}");
    let msg = err.message().to_ascii_lowercase();
    assert!(msg.contains("line") && msg.contains("column"), "{err}");

    let err = client.create_background("[1, 2, 3]").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");

    let err = client.create_background("{\"model\":\"yandexgpt\",\"input\":\"a\0b\"}").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");

    assert_eq!(emu.request_count("create"), 0, "nothing reached the server");
}

#[test]
fn invalid_config() {
    let err = Client::from_json(r#"{"api_key":"k","bogus_key":1}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("bogus_key"), "{err}");
    assert!(!err.is_retryable());

    let err = Client::from_json(r#"{"api_key":"k","timeout_ms":"soon"}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.message().contains("timeout_ms"), "{err}");

    let err = Client::from_json(r#"{"api_key":"k","iam_token":"t"}"#).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");

    let err =
        Client::builder().base_url("http://example.com/v1").api_key("secret-over-plain-http").build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(!err.message().contains("secret-over-plain-http"));

    let err = Client::from_json("{\"api_key\": ").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidJson, "{err}");

    let err = Client::from_json("[]").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");

    let err = Client::from_json("{}\0").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

#[test]
fn no_server_is_network() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .api_key(API_KEY)
        .folder_id(FOLDER)
        .max_retries(0)
        .connect_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let err = client.create(MODEL, "anyone there?").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    assert!(err.is_retryable());
    assert_eq!(err.http_status(), None);
}
