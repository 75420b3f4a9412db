//! [`Error`] and [`ErrorKind`]: the library's error documents as Rust values.

use std::fmt;

use crate::json::Value;

/// What went wrong; mirrors the `"kind"` of libycbg's error documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A NULL or unusable argument; valid JSON that is not an object.  The
    /// binding also uses it for a string argument containing a NUL byte.
    InvalidArgument,
    /// Text that does not parse as JSON (the message names line and column).
    InvalidJson,
    /// Bad configuration: unknown key, wrong type, conflicting or missing
    /// credentials, a model short name without a folder id, plain http://
    /// to a non-loopback host.  The message names the key.
    Config,
    /// No connection, DNS, TLS, or a reset before a complete answer.
    Network,
    /// `connect_timeout_ms` or `timeout_ms` ran out.
    Timeout,
    /// An HTTP error status whose body is not a recognised error (HTML from
    /// a proxy, an empty body).
    Http,
    /// An HTTP error status with an OpenAI- or Yandex-shaped error body.
    Api,
    /// A 2xx answer that is not a valid Response object.
    Protocol,
    /// The server reports the task `failed` or `incomplete`.
    Generation,
    /// A kind this binding does not know (a newer library), or the library
    /// reported a failure without a readable error document.
    Other,
}

impl ErrorKind {
    /// The library's name for the kind (`"invalid_json"`, `"api"`, ...);
    /// `"other"` for [`ErrorKind::Other`].
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::InvalidJson => "invalid_json",
            ErrorKind::Config => "config",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Http => "http",
            ErrorKind::Api => "api",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Generation => "generation",
            ErrorKind::Other => "other",
        }
    }

    /// The kind named `name`; [`ErrorKind::Other`] for an unknown name.
    pub fn from_name(name: &str) -> ErrorKind {
        match name {
            "invalid_argument" => ErrorKind::InvalidArgument,
            "invalid_json" => ErrorKind::InvalidJson,
            "config" => ErrorKind::Config,
            "network" => ErrorKind::Network,
            "timeout" => ErrorKind::Timeout,
            "http" => ErrorKind::Http,
            "api" => ErrorKind::Api,
            "protocol" => ErrorKind::Protocol,
            "generation" => ErrorKind::Generation,
            _ => ErrorKind::Other,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error reported by libycbg (or, for a few argument problems, by the
/// binding itself before calling it).
///
/// The message never contains the API key or IAM token (the library
/// redacts them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    http_status: Option<u16>,
    code: Option<String>,
    request_id: Option<String>,
    retryable: bool,
}

impl Error {
    /// An error made on the Rust side (not from a library document).
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error { kind, message: message.into(), http_status: None, code: None, request_id: None, retryable: false }
    }

    /// Reads a library error document (`{"kind": ..., "message": ...}`).
    /// Text that is not such a document still gives an error, of kind
    /// [`ErrorKind::Other`], carrying the text as its message.
    pub fn from_json(text: &str) -> Error {
        match Value::parse(text) {
            Ok(v) => Error::from_value(&v)
                .unwrap_or_else(|| Error::new(ErrorKind::Other, format!("unreadable error document: {text}"))),
            Err(e) => Error::new(ErrorKind::Other, format!("unreadable error document ({e}): {text}")),
        }
    }

    /// Reads a parsed error document; `None` if `v` is not an object.
    pub fn from_value(v: &Value) -> Option<Error> {
        v.as_object()?;
        let kind = v.get("kind").and_then(Value::as_str).map_or(ErrorKind::Other, ErrorKind::from_name);
        let message = match v.get("message") {
            Some(Value::String(s)) => s.clone(),
            Some(other) if !other.is_null() => other.to_string(),
            _ => String::from("(no message)"),
        };
        let http_status = v.get("http_status").and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok());
        let text_of = |key: &str| match v.get_non_null(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()), // e.g. a numeric gRPC code
            None => None,
        };
        let retryable = v.get("retryable").and_then(Value::as_bool).unwrap_or(false);
        Some(Error { kind, message, http_status, code: text_of("code"), request_id: text_of("request_id"), retryable })
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// A human-readable description.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status, when an HTTP response was received.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The server's error code (e.g. `"invalid_api_key"`), when it gave one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The server's `x-request-id`, when it gave one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Whether trying again may succeed (network, timeout, and HTTP 408,
    /// 409, 429 and >= 500).
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {}", self.kind, self.message)?;
        let mut extra = Vec::new();
        if let Some(s) = self.http_status {
            extra.push(format!("HTTP {s}"));
        }
        if let Some(c) = &self.code {
            extra.push(format!("code {c}"));
        }
        if let Some(r) = &self.request_id {
            extra.push(format!("request id {r}"));
        }
        if !extra.is_empty() {
            write!(f, " ({})", extra.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// `Result<T, ycbg::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_full_document() {
        let e = Error::from_json(
            r#"{"kind":"api","message":"Too many","http_status":429,"code":"rate_limit_exceeded","request_id":"r-1","retryable":true}"#,
        );
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.message(), "Too many");
        assert_eq!(e.http_status(), Some(429));
        assert_eq!(e.code(), Some("rate_limit_exceeded"));
        assert_eq!(e.request_id(), Some("r-1"));
        assert!(e.is_retryable());
        assert_eq!(e.to_string(), "api error: Too many (HTTP 429, code rate_limit_exceeded, request id r-1)");
    }

    #[test]
    fn reads_minimal_and_odd_documents() {
        let e = Error::from_json(r#"{"kind":"invalid_json","message":"bad at line 1, column 2","retryable":false}"#);
        assert_eq!(e.kind(), ErrorKind::InvalidJson);
        assert_eq!((e.http_status(), e.code(), e.request_id(), e.is_retryable()), (None, None, None, false));
        assert_eq!(e.to_string(), "invalid_json error: bad at line 1, column 2");

        let e = Error::from_json(r#"{"kind":"api","message":"x","code":14,"http_status":null,"retryable":true}"#);
        assert_eq!(e.code(), Some("14"));
        assert_eq!(e.http_status(), None);

        let e = Error::from_json(r#"{"kind":"brand_new","message":"m"}"#);
        assert_eq!(e.kind(), ErrorKind::Other);

        let e = Error::from_json("not json");
        assert_eq!(e.kind(), ErrorKind::Other);
        assert!(e.message().contains("not json"));
    }

    #[test]
    fn kind_names_round_trip() {
        for k in [
            ErrorKind::InvalidArgument,
            ErrorKind::InvalidJson,
            ErrorKind::Config,
            ErrorKind::Network,
            ErrorKind::Timeout,
            ErrorKind::Http,
            ErrorKind::Api,
            ErrorKind::Protocol,
            ErrorKind::Generation,
        ] {
            assert_eq!(ErrorKind::from_name(k.as_str()), k);
        }
    }
}
