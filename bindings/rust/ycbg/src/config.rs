//! [`Config`] (every key of libycbg's `config_json`, all optional) and
//! [`ClientBuilder`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::json::write_quoted;
use crate::{Client, Result};

/// Client configuration.  Every field is optional: `None` leaves the key
/// out of the JSON, so the library falls back to its environment variable
/// (`YC_BASE_URL`, `YC_API_KEY`, `YC_IAM_TOKEN`, `YC_FOLDER_ID`) or its
/// default.  Durations are sent in whole milliseconds, rounded up.
///
/// `Debug` output redacts `api_key` and `iam_token`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Default `https://ai.api.cloud.yandex.net/v1`.
    pub base_url: Option<String>,
    /// Sent as `Authorization: Api-Key <key>`.
    pub api_key: Option<String>,
    /// Sent as `Authorization: Bearer <token>`.
    pub iam_token: Option<String>,
    /// Sent as `OpenAI-Project`; expands model short names to
    /// `gpt://<folder>/<model>`.
    pub folder_id: Option<String>,
    /// One whole HTTP request (default 600 s).
    pub timeout: Option<Duration>,
    /// Connection set-up (default 5 s).
    pub connect_timeout: Option<Duration>,
    /// Retries after the first attempt (default 2).
    pub max_retries: Option<u32>,
    /// First `wait` interval (default 500 ms).
    pub poll_interval: Option<Duration>,
    /// Ceiling of the growing `wait` interval (default 5 s).
    pub max_poll_interval: Option<Duration>,
    /// `Some(false)` sends `x-data-logging-enabled: false`.
    pub data_logging: Option<bool>,
    /// Default `ycbg/<version>`.
    pub user_agent: Option<String>,
    /// A PEM bundle to trust instead of the system store.
    pub ca_file: Option<String>,
    /// Extra request headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// Largest accepted answer (default 64 MiB).
    pub max_response_bytes: Option<u64>,
    /// Allow credentials over plain `http://` to non-loopback hosts.
    pub allow_insecure_http: Option<bool>,
}

fn millis(d: Duration) -> u64 {
    // Whole milliseconds, rounded up so that a non-zero duration never
    // becomes 0; saturating at i64::MAX (JSON integers the library reads).
    let ms = d.as_nanos().div_ceil(1_000_000);
    ms.min(i64::MAX as u128) as u64
}

impl Config {
    /// An empty configuration (everything from the environment/defaults).
    pub fn new() -> Config {
        Config::default()
    }

    /// The `config_json` document for `yc_client_new`.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        let key = |out: &mut String, name: &str| {
            if out.len() > 1 {
                out.push(',');
            }
            write_quoted(out, name);
            out.push(':');
        };
        let strings = [
            ("base_url", &self.base_url),
            ("api_key", &self.api_key),
            ("iam_token", &self.iam_token),
            ("folder_id", &self.folder_id),
            ("user_agent", &self.user_agent),
            ("ca_file", &self.ca_file),
        ];
        for (name, v) in strings {
            if let Some(v) = v {
                key(&mut out, name);
                write_quoted(&mut out, v);
            }
        }
        let durations = [
            ("timeout_ms", self.timeout),
            ("connect_timeout_ms", self.connect_timeout),
            ("poll_interval_ms", self.poll_interval),
            ("max_poll_interval_ms", self.max_poll_interval),
        ];
        for (name, v) in durations {
            if let Some(v) = v {
                key(&mut out, name);
                out.push_str(&millis(v).to_string());
            }
        }
        let integers =
            [("max_retries", self.max_retries.map(u64::from)), ("max_response_bytes", self.max_response_bytes)];
        for (name, v) in integers {
            if let Some(v) = v {
                key(&mut out, name);
                out.push_str(&v.to_string());
            }
        }
        for (name, v) in [("data_logging", self.data_logging), ("allow_insecure_http", self.allow_insecure_http)] {
            if let Some(v) = v {
                key(&mut out, name);
                out.push_str(if v { "true" } else { "false" });
            }
        }
        if let Some(headers) = &self.headers {
            key(&mut out, "headers");
            out.push('{');
            for (i, (name, value)) in headers.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_quoted(&mut out, name);
                out.push(':');
                write_quoted(&mut out, value);
            }
            out.push('}');
        }
        out.push('}');
        out
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("api_key", &redacted(&self.api_key))
            .field("iam_token", &redacted(&self.iam_token))
            .field("folder_id", &self.folder_id)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_retries", &self.max_retries)
            .field("poll_interval", &self.poll_interval)
            .field("max_poll_interval", &self.max_poll_interval)
            .field("data_logging", &self.data_logging)
            .field("user_agent", &self.user_agent)
            .field("ca_file", &self.ca_file)
            .field("headers", &self.headers)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
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

macro_rules! setters {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty => $conv:expr ;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, value: $ty) -> Self {
                #[allow(clippy::redundant_closure_call)]
                { self.config.$name = Some(($conv)(value)); }
                self
            }
        )*
    };
}

impl ClientBuilder {
    /// A builder with nothing set.
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    setters! {
        /// `base_url`.
        base_url: impl Into<String> => Into::into;
        /// `api_key`.
        api_key: impl Into<String> => Into::into;
        /// `iam_token`.
        iam_token: impl Into<String> => Into::into;
        /// `folder_id`.
        folder_id: impl Into<String> => Into::into;
        /// `timeout_ms`.
        timeout: Duration => |d| d;
        /// `connect_timeout_ms`.
        connect_timeout: Duration => |d| d;
        /// `max_retries`.
        max_retries: u32 => |n| n;
        /// `poll_interval_ms`.
        poll_interval: Duration => |d| d;
        /// `max_poll_interval_ms`.
        max_poll_interval: Duration => |d| d;
        /// `data_logging`.
        data_logging: bool => |b| b;
        /// `user_agent`.
        user_agent: impl Into<String> => Into::into;
        /// `ca_file`.
        ca_file: impl Into<String> => Into::into;
        /// `max_response_bytes`.
        max_response_bytes: u64 => |n| n;
        /// `allow_insecure_http`.
        allow_insecure_http: bool => |b| b;
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
            .allow_insecure_http(true);
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
        assert_eq!(v.as_object().unwrap().len(), 14);
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
