//! [`Config`] (every key of libycbg's `config_json`, all optional) and
//! [`ClientBuilder`].
//!
//! Both are generated from one list, [`config_keys!`]: one line there per
//! key of the header's config table gives the `Config` field, its JSON key,
//! its `ClientBuilder` setter and its entry in [`Config::KEYS`]
//! (`tests/config_keys.rs` checks the list against `ycbg.h`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::json::write_quoted;
use crate::{Client, Result};

/// A value of a config key, written as the JSON the library reads.
trait ConfigValue {
    fn write_json(&self, out: &mut String);
}

impl ConfigValue for String {
    fn write_json(&self, out: &mut String) {
        write_quoted(out, self);
    }
}

impl ConfigValue for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl ConfigValue for u32 {
    fn write_json(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

impl ConfigValue for u64 {
    fn write_json(&self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

/// A rate in requests per second (`max_creates_per_second`,
/// `max_polls_per_second`); `PerSecond(0.0)` is no fixed limit.  Compared
/// bit for bit, so that [`Config`] stays `Eq`.
#[derive(Clone, Copy, Debug)]
pub struct PerSecond(pub f64);

impl PartialEq for PerSecond {
    fn eq(&self, other: &PerSecond) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for PerSecond {}

impl ConfigValue for PerSecond {
    fn write_json(&self, out: &mut String) {
        // A finite number in JSON; the library range-checks it.
        let v = if self.0.is_finite() { self.0 } else { -1.0 };
        out.push_str(&format!("{v:?}"));
    }
}

/// Durations are sent in whole milliseconds (the `*_ms` keys).
impl ConfigValue for Duration {
    fn write_json(&self, out: &mut String) {
        out.push_str(&millis(*self).to_string());
    }
}

impl ConfigValue for BTreeMap<String, String> {
    fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (name, value)) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_quoted(out, name);
            out.push(':');
            write_quoted(out, value);
        }
        out.push('}');
    }
}

fn millis(d: Duration) -> u64 {
    // Whole milliseconds, rounded up so that a non-zero duration never
    // becomes 0; saturating at i64::MAX (JSON integers the library reads).
    let ms = d.as_nanos().div_ceil(1_000_000);
    ms.min(i64::MAX as u128) as u64
}

/// Fields whose values `Debug` does not show.
const SECRETS: &[&str] = &["api_key", "iam_token"];

/// `field: Type = "json_key", setter(argument type) => conversion;` per key.
macro_rules! config_keys {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty = $key:literal, set($arg:ty) => $conv:expr ;)*) => {
        /// Client configuration.  Every field is optional: `None` leaves the key
        /// out of the JSON, so the library falls back to its environment variable
        /// (`YC_BASE_URL`, `YC_API_KEY`, `YC_IAM_TOKEN`, `YC_FOLDER_ID`) or its
        /// default.  Durations are sent in whole milliseconds, rounded up.
        ///
        /// `Debug` output redacts `api_key` and `iam_token`.
        #[derive(Clone, Default, PartialEq, Eq)]
        pub struct Config {
            $( $(#[$doc])* pub $field: Option<$ty>, )*
        }

        impl Config {
            /// The JSON keys this type writes, in field order: every key of
            /// the header's config table.
            pub const KEYS: &'static [&'static str] = &[$($key),*];

            /// The `config_json` document for `yc_client_new`: the keys that
            /// are set, in field order.
            pub fn to_json(&self) -> String {
                let mut out = String::from("{");
                $(
                    if let Some(v) = &self.$field {
                        if out.len() > 1 {
                            out.push(',');
                        }
                        write_quoted(&mut out, $key);
                        out.push(':');
                        v.write_json(&mut out);
                    }
                )*
                out.push('}');
                out
            }
        }

        impl fmt::Debug for Config {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut d = f.debug_struct("Config");
                $(
                    if SECRETS.contains(&stringify!($field)) {
                        d.field(stringify!($field), &self.$field.as_ref().map(|_| "<redacted>"));
                    } else {
                        d.field(stringify!($field), &self.$field);
                    }
                )*
                d.finish()
            }
        }

        impl ClientBuilder {
            $(
                #[doc = concat!("Sets `", $key, "`.")]
                pub fn $field(mut self, value: $arg) -> Self {
                    #[allow(clippy::redundant_closure_call)]
                    { self.config.$field = Some(($conv)(value)); }
                    self
                }
            )*
        }
    };
}

config_keys! {
    /// Default `https://ai.api.cloud.yandex.net/v1`.
    base_url: String = "base_url", set(impl Into<String>) => Into::into;
    /// Sent as `Authorization: Api-Key <key>`.
    api_key: String = "api_key", set(impl Into<String>) => Into::into;
    /// Sent as `Authorization: Bearer <token>`.
    iam_token: String = "iam_token", set(impl Into<String>) => Into::into;
    /// Sent as `OpenAI-Project`; expands model short names to
    /// `gpt://<folder>/<model>`.
    folder_id: String = "folder_id", set(impl Into<String>) => Into::into;
    /// One whole HTTP request (default 600 s).
    timeout: Duration = "timeout_ms", set(Duration) => |d| d;
    /// Connection set-up (default 5 s).
    connect_timeout: Duration = "connect_timeout_ms", set(Duration) => |d| d;
    /// Retries after the first attempt (default 2).
    max_retries: u32 = "max_retries", set(u32) => |n| n;
    /// First `wait` interval (default 500 ms).  Shorter notices the end of a
    /// short job sooner, at the cost of more requests.
    poll_interval: Duration = "poll_interval_ms", set(Duration) => |d| d;
    /// Ceiling of the growing `wait` interval (default 5 s).
    max_poll_interval: Duration = "max_poll_interval_ms", set(Duration) => |d| d;
    /// `Some(false)` sends `x-data-logging-enabled: false`.
    data_logging: bool = "data_logging", set(bool) => |b| b;
    /// Default `ycbg/<version>`.
    user_agent: String = "user_agent", set(impl Into<String>) => Into::into;
    /// A PEM bundle to trust instead of the system store.
    ca_file: String = "ca_file", set(impl Into<String>) => Into::into;
    /// Extra request headers (see also [`ClientBuilder::header`]).
    headers: BTreeMap<String, String> = "headers", set(BTreeMap<String, String>) => |h| h;
    /// Largest accepted answer (default 64 MiB).
    max_response_bytes: u64 = "max_response_bytes", set(u64) => |n| n;
    /// Allow credentials over plain `http://` to non-loopback hosts.
    allow_insecure_http: bool = "allow_insecure_http", set(bool) => |b| b;
    /// The server honours `Idempotency-Key`, so a create whose answer was
    /// lost may be resent with the same key (default false).
    trust_idempotency_key: bool = "trust_idempotency_key", set(bool) => |b| b;
    /// `"auto"` (default: HTTP/2 over TLS by ALPN, HTTP/1.1 over plain
    /// http), `"1.1"`, or `"2"` (over plain http: prior knowledge).
    http_version: String = "http_version", set(impl Into<String>) => Into::into;
    /// HTTP requests the client runs at once (default 64, 1..10000).
    max_in_flight: u32 = "max_in_flight", set(u32) => |n| n;
    /// Fixed pacing of creates (default 0: none; still slowed after a 429).
    max_creates_per_second: PerSecond = "max_creates_per_second", set(f64) => PerSecond;
    /// Fixed pacing of polls (default 0: none; still slowed after a 429).
    max_polls_per_second: PerSecond = "max_polls_per_second", set(f64) => PerSecond;
    /// A submitted task not terminal after this long ends with an
    /// [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) error (default: none).
    task_timeout: Duration = "task_timeout_ms", set(Duration) => |d| d;
}

impl Config {
    /// An empty configuration (everything from the environment/defaults).
    pub fn new() -> Config {
        Config::default()
    }
}

/// Builds a [`Client`] step by step:
///
/// ```no_run
/// use std::time::Duration;
/// let client = ycbg::Client::builder()
///     .base_url("http://127.0.0.1:8080/v1")
///     .api_key("test-key")
///     .folder_id("b1g000")
///     .poll_interval(Duration::from_millis(200))
///     .build()?;
/// # Ok::<(), ycbg::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientBuilder {
    config: Config,
}

impl ClientBuilder {
    /// A builder with nothing set.
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Adds one extra request header (`headers`).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.config.headers.get_or_insert_with(BTreeMap::new).insert(name.into(), value.into());
        self
    }

    /// The configuration so far.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Creates the client (no network request is made).
    pub fn build(&self) -> Result<Client> {
        Client::new(&self.config)
    }
}

impl From<Config> for ClientBuilder {
    fn from(config: Config) -> ClientBuilder {
        ClientBuilder { config }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Value;

    #[test]
    fn empty_config_is_empty_object() {
        assert_eq!(Config::new().to_json(), "{}");
    }

    #[test]
    fn every_key_serialised() {
        let b = ClientBuilder::new()
            .base_url("http://127.0.0.1:1/v1")
            .api_key("k\"ey")
            .folder_id("f")
            .timeout(Duration::from_secs(3))
            .connect_timeout(Duration::from_micros(1500))
            .max_retries(0)
            .poll_interval(Duration::from_millis(20))
            .max_poll_interval(Duration::from_millis(100))
            .data_logging(false)
            .user_agent("ua/1")
            .ca_file("/etc/ca.pem")
            .header("X-A", "1")
            .header("X-B", "two\nlines")
            .max_response_bytes(1024)
            .allow_insecure_http(true)
            .trust_idempotency_key(true);
        let v = Value::parse(&b.config().to_json()).unwrap();
        assert_eq!(v.get("base_url").and_then(Value::as_str), Some("http://127.0.0.1:1/v1"));
        assert_eq!(v.get("api_key").and_then(Value::as_str), Some("k\"ey"));
        assert!(v.get("iam_token").is_none());
        assert_eq!(v.get("folder_id").and_then(Value::as_str), Some("f"));
        assert_eq!(v.get("timeout_ms").and_then(Value::as_u64), Some(3000));
        assert_eq!(v.get("connect_timeout_ms").and_then(Value::as_u64), Some(2));
        assert_eq!(v.get("max_retries").and_then(Value::as_u64), Some(0));
        assert_eq!(v.get("poll_interval_ms").and_then(Value::as_u64), Some(20));
        assert_eq!(v.get("max_poll_interval_ms").and_then(Value::as_u64), Some(100));
        assert_eq!(v.get("data_logging").and_then(Value::as_bool), Some(false));
        assert_eq!(v.get("user_agent").and_then(Value::as_str), Some("ua/1"));
        assert_eq!(v.get("ca_file").and_then(Value::as_str), Some("/etc/ca.pem"));
        let h = v.get("headers").unwrap();
        assert_eq!(h.get("X-A").and_then(Value::as_str), Some("1"));
        assert_eq!(h.get("X-B").and_then(Value::as_str), Some("two\nlines"));
        assert_eq!(v.get("max_response_bytes").and_then(Value::as_u64), Some(1024));
        assert_eq!(v.get("allow_insecure_http").and_then(Value::as_bool), Some(true));
        assert_eq!(v.get("trust_idempotency_key").and_then(Value::as_bool), Some(true));
        assert_eq!(v.as_object().unwrap().len(), 15);
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Config { api_key: Some("sekrit-1".into()), iam_token: Some("sekrit-2".into()), ..Config::default() };
        let d = format!("{c:?}");
        assert!(!d.contains("sekrit"), "{d}");
        assert!(d.contains("<redacted>"));
    }

    #[test]
    fn millis_rounding() {
        assert_eq!(millis(Duration::ZERO), 0);
        assert_eq!(millis(Duration::from_nanos(1)), 1);
        assert_eq!(millis(Duration::from_millis(7)), 7);
        assert_eq!(millis(Duration::MAX), i64::MAX as u64);
    }
}
