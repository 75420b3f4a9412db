//! Test support: one yc-emulator per test, and a tiny HTTP/1.1 client for
//! its control endpoints (test-only code; the binding itself has no HTTP).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use ycbg::json::Value;
use ycbg::{Client, ClientBuilder};

pub const API_KEY: &str = "test-key";
pub const IAM_TOKEN: &str = "test-iam-token";
pub const FOLDER: &str = "b1gtestfolder";
pub const MODEL: &str = "yandexgpt";

/// The slack every wall-clock bound of these tests adds: `YCBG_TIME_SLACK_MS`
/// (milliseconds, default 2500), the one slack every suite of ycbg reads.
pub fn slack() -> Duration {
    match std::env::var("YCBG_TIME_SLACK_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        Some(ms) if ms > 0 => Duration::from_millis(ms),
        _ => Duration::from_millis(2500),
    }
}

/// `<repo>` (this file is `<repo>/bindings/rust/ycbg/tests/common/mod.rs`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

/// The emulator binary: `$YC_EMULATOR`, else `<repo>/build/bin/yc-emulator`
/// (or, while only the emulator's own SwiftPM build exists,
/// `<repo>/.build-emu/debug/yc-emulator`).
pub fn emulator_path() -> PathBuf {
    if let Some(p) = std::env::var_os("YC_EMULATOR").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let default = repo_root().join("build/bin/yc-emulator");
    if default.exists() {
        return default;
    }
    let dev = repo_root().join(".build-emu/debug/yc-emulator");
    if dev.exists() {
        return dev;
    }
    default
}

/// A running emulator; killed (and reaped) on drop.  Its stdin is a pipe
/// held here, so with `--exit-on-stdin-eof` it also exits if the test
/// process dies without running destructors.
pub struct Emulator {
    child: Child,
    _stdin: ChildStdin,
    pub port: u16,
    /// `http://127.0.0.1:<port>/v1`
    pub base_url: String,
}

impl Emulator {
    /// An emulator whose responses stay queued 200 ms, then in progress
    /// 300 ms.
    pub fn start() -> Emulator {
        Emulator::start_with(200, 300, &[])
    }

    pub fn start_with(queue_ms: u64, work_ms: u64, extra: &[&str]) -> Emulator {
        let path = emulator_path();
        let mut child = Command::new(&path)
            .args(["--port", "0", "--exit-on-stdin-eof"])
            .args(["--queue-ms", &queue_ms.to_string(), "--work-ms", &work_ms.to_string()])
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the emulator {} ({e}); set YC_EMULATOR", path.display()));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the emulator never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = match rx.recv_timeout(Duration::from_secs(30) + slack()) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the emulator printed no listening line within 30 s");
            }
        };
        let url = line
            .trim()
            .strip_prefix("yc-emulator listening on ")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("unexpected first line from the emulator: {line:?}")
            })
            .to_string();
        let port: u16 = url
            .strip_prefix("http://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/v1"))
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("cannot read the port from {url:?}"));
        Emulator { child, _stdin: stdin, port, base_url: url }
    }

    /// A builder pointed at this emulator with valid credentials, a folder
    /// id and short poll intervals.
    pub fn builder(&self) -> ClientBuilder {
        Client::builder()
            .base_url(self.base_url.clone())
            .api_key(API_KEY)
            .folder_id(FOLDER)
            .poll_interval(Duration::from_millis(20))
            .max_poll_interval(Duration::from_millis(100))
            .timeout(Duration::from_secs(20))
    }

    pub fn client(&self) -> Client {
        self.builder().build().expect("client for the emulator")
    }

    /// One request to the emulator; returns (status, body).
    pub fn http(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        http_request(self.port, method, path, body)
    }

    /// POST /_emulator/faults with one fault object or an array of them.
    pub fn add_fault(&self, fault_json: &str) {
        let (status, body) = self.http("POST", "/_emulator/faults", Some(fault_json));
        assert!((200..300).contains(&status), "adding fault {fault_json}: HTTP {status} {body}");
    }

    pub fn clear_faults(&self) {
        let (status, body) = self.http("DELETE", "/_emulator/faults", None);
        assert!((200..300).contains(&status), "clearing faults: HTTP {status} {body}");
    }

    /// POST /_emulator/settings.
    pub fn settings(&self, settings_json: &str) {
        let (status, body) = self.http("POST", "/_emulator/settings", Some(settings_json));
        assert!((200..300).contains(&status), "settings {settings_json}: HTTP {status} {body}");
    }

    /// GET /_emulator/stats, parsed.
    pub fn stats(&self) -> Value {
        let (status, body) = self.http("GET", "/_emulator/stats", None);
        assert_eq!(status, 200, "stats: {body}");
        Value::parse(&body).unwrap_or_else(|e| panic!("stats not JSON ({e}): {body}"))
    }

    /// stats.requests.<kind> (create, retrieve, cancel, delete, other).
    pub fn request_count(&self, kind: &str) -> u64 {
        let s = self.stats();
        s.get("requests")
            .and_then(|r| r.get(kind))
            .and_then(Value::as_u64)
            .unwrap_or_else(|| panic!("no requests.{kind} in {s}"))
    }

    pub fn faults_applied(&self) -> u64 {
        let s = self.stats();
        s.get("faults_applied").and_then(Value::as_u64).unwrap_or_else(|| panic!("no faults_applied in {s}"))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 exchange with 127.0.0.1:`port`: sends one request,
/// reads one answer (Content-Length, chunked, or until close).
pub fn http_request(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the emulator");
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("send request");

    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).expect("read answer");
        assert!(n > 0, "connection closed before the headers ended");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut rest = buf[header_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line in {head:?}"));
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim();
            if name == "content-length" {
                content_length = value.parse::<usize>().ok();
            } else if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            }
        }
    }
    let read_more = |stream: &mut TcpStream, rest: &mut Vec<u8>| -> bool {
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                rest.extend_from_slice(&chunk[..n]);
                true
            }
        }
    };
    let body = if chunked {
        loop {
            if let Some(decoded) = decode_chunked(&rest) {
                break decoded;
            }
            assert!(read_more(&mut stream, &mut rest), "connection closed inside a chunked body");
        }
    } else if let Some(len) = content_length {
        while rest.len() < len {
            assert!(read_more(&mut stream, &mut rest), "connection closed inside the body");
        }
        rest.truncate(len);
        rest
    } else {
        while read_more(&mut stream, &mut rest) {}
        rest
    };
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The decoded body once `data` holds a complete chunked body.
fn decode_chunked(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// `{"model": MODEL, "input": input, "metadata": {k: v, ...}}`.
pub fn request_with_metadata(input: &str, metadata: &[(&str, &str)]) -> String {
    let members: Vec<String> =
        metadata.iter().map(|(k, v)| format!("{}:{}", ycbg::json::quote(k), ycbg::json::quote(v))).collect();
    format!(
        "{{\"model\":{},\"input\":{},\"metadata\":{{{}}}}}",
        ycbg::json::quote(MODEL),
        ycbg::json::quote(input),
        members.join(",")
    )
}

/// A request whose response stays queued 100 ms, then works for `work_ms`.
pub fn slow_request(input: &str, work_ms: u64) -> String {
    request_with_metadata(input, &[("emulator_queue_ms", "100"), ("emulator_work_ms", &work_ms.to_string())])
}
