//! One source of truth: every key of the config table in `include/ycbg.h`
//! has a typed field in `Config`, and the crates' version is the header's
//! (YCBG_VERSION_*) and the loaded library's.

mod common;

use common::*;
use ycbg::json::Value;
use ycbg::Config;

fn header() -> String {
    std::fs::read_to_string(repo_root().join("include/ycbg.h")).expect("include/ycbg.h")
}

/// The keys of the config_json table in the comment of yc_client_new.
fn header_config_keys() -> Vec<String> {
    let text = header();
    let after = text.split("config_json: NULL").nth(1).expect("the config table");
    // The table is the block after the first " *" line, up to the next one.
    let table = after.split("\n *\n").nth(1).expect("the config table");
    let keys: Vec<String> = table
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix(" *   ")?;
            let mut words = rest.split_whitespace();
            let key = words.next()?;
            let kind = words.next()?;
            let is_key = key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
            (is_key && ["string", "integer", "number", "bool", "object"].contains(&kind)).then(|| key.to_string())
        })
        .collect();
    assert!(keys.len() >= 16, "the header's config table was not read: {keys:?}");
    keys
}

fn header_version() -> String {
    let text = header();
    let part = |name: &str| -> String {
        let prefix = format!("#define YCBG_VERSION_{name} ");
        let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {prefix}in ycbg.h"));
        line[prefix.len()..].split_whitespace().next().unwrap().to_string()
    };
    format!("{}.{}.{}", part("MAJOR"), part("MINOR"), part("PATCH"))
}

#[test]
fn every_header_key_is_a_config_field() {
    let missing: Vec<String> =
        header_config_keys().into_iter().filter(|k| !Config::KEYS.contains(&k.as_str())).collect();
    assert!(missing.is_empty(), "ycbg::Config has no field for {missing:?}");
}

#[test]
fn every_config_field_is_written_and_accepted() {
    // A config with every field set writes every key once, and the library
    // accepts each key on its own.
    let emu = Emulator::start();
    let full = emu
        .builder()
        .trust_idempotency_key(true)
        .data_logging(false)
        .allow_insecure_http(false)
        .max_response_bytes(1 << 20)
        .max_retries(1)
        .timeout(std::time::Duration::from_secs(30))
        .connect_timeout(std::time::Duration::from_secs(5))
        .user_agent("ycbg-rust-test")
        .http_version("1.1")
        .max_in_flight(8)
        .max_creates_per_second(50.5)
        .max_polls_per_second(100.0)
        .task_timeout(std::time::Duration::from_secs(60))
        .header("X-Test", "1");
    full.build().expect("every set key is accepted");
    let doc = Value::parse(&full.config().to_json()).unwrap();
    for (key, _) in doc.as_object().unwrap() {
        assert!(Config::KEYS.contains(&key.as_str()), "{key} written but not in KEYS");
    }
}

#[test]
fn crate_versions_are_the_headers() {
    let want = header_version();
    assert_eq!(env!("CARGO_PKG_VERSION"), want, "bindings/rust/Cargo.toml workspace version");
    assert_eq!(ycbg::version(), want, "the loaded library");
    ycbg::check_version().expect("check_version");
}
