"""Exceptions: one class per error "kind" of the C ABI's error document."""

from __future__ import annotations

import builtins
import json
from typing import Any, Dict, Mapping, Optional, Type

__all__ = [
    "Error",
    "InvalidArgumentError",
    "InvalidJSONError",
    "ConfigError",
    "NetworkError",
    "TimeoutError",
    "HTTPError",
    "APIError",
    "ProtocolError",
    "GenerationError",
    "error_from_document",
    "error_from_json",
]


class Error(Exception):
    """A failure reported by libycbg.

    Attributes mirror the library's error document::

        {"kind": "api", "message": "...", "http_status": 429,
         "code": "rate_limit_exceeded", "request_id": "...", "retryable": true}

    ``document`` holds that document as a dict.  ``str(err)`` is the message
    followed by the known details; the library guarantees the message never
    contains the API key or IAM token.
    """

    #: the kind this class stands for (the base class is used for unknown kinds)
    default_kind: str = "unknown"

    kind: str
    message: str
    http_status: Optional[int]
    code: Optional[str]
    request_id: Optional[str]
    retryable: bool
    document: Dict[str, Any]

    def __init__(
        self,
        message: str,
        *,
        kind: Optional[str] = None,
        http_status: Optional[int] = None,
        code: Optional[str] = None,
        request_id: Optional[str] = None,
        retryable: bool = False,
        document: Optional[Mapping[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind if kind is not None else self.default_kind
        self.message = message
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.retryable = retryable
        if document is None:
            doc: Dict[str, Any] = {"kind": self.kind, "message": message,
                                   "retryable": retryable}
            if http_status is not None:
                doc["http_status"] = http_status
            if code is not None:
                doc["code"] = code
            if request_id is not None:
                doc["request_id"] = request_id
            document = doc
        self.document = dict(document)

    def __str__(self) -> str:
        details = [f"kind={self.kind}"]
        if self.http_status is not None:
            details.append(f"http_status={self.http_status}")
        if self.code is not None:
            details.append(f"code={self.code}")
        if self.request_id is not None:
            details.append(f"request_id={self.request_id}")
        return f"{self.message} ({', '.join(details)})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, kind={self.kind!r})"

    def __reduce__(self) -> Any:  # picklable (multiprocessing, concurrent.futures)
        return (error_from_document, (self.document,))


class InvalidArgumentError(Error):
    """A NULL or unusable argument; valid JSON that is not an object; a closed handle."""
    default_kind = "invalid_argument"


class InvalidJSONError(Error):
    """Text that does not parse as JSON; the message names line and column."""
    default_kind = "invalid_json"


class ConfigError(Error):
    """Bad configuration (unknown key, wrong type, credentials, ...); names the key."""
    default_kind = "config"


class NetworkError(Error):
    """No connection, DNS, TLS, or a reset before a complete answer."""
    default_kind = "network"


class TimeoutError(Error, builtins.TimeoutError):
    """connect_timeout_ms or timeout_ms ran out.

    Also a subclass of the built-in :class:`TimeoutError`, so
    ``except TimeoutError`` catches it.  (``Task.wait(timeout=...)`` running
    out of time is *not* an error: it returns the non-terminal status.)
    """
    default_kind = "timeout"


class HTTPError(Error):
    """An HTTP error status whose body is not a recognised error (proxy HTML, empty)."""
    default_kind = "http"


class APIError(Error):
    """An HTTP error status with an error body in OpenAI or Yandex shape."""
    default_kind = "api"


class ProtocolError(Error):
    """A 2xx answer that is not a valid Response object."""
    default_kind = "protocol"


class GenerationError(Error):
    """The server reports the task failed or incomplete."""
    default_kind = "generation"


_BY_KIND: Dict[str, Type[Error]] = {
    cls.default_kind: cls
    for cls in (InvalidArgumentError, InvalidJSONError, ConfigError, NetworkError,
                TimeoutError, HTTPError, APIError, ProtocolError, GenerationError)
}


def _opt_int(v: Any) -> Optional[int]:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _opt_str(v: Any) -> Optional[str]:
    return v if isinstance(v, str) else None


def error_from_document(doc: Mapping[str, Any]) -> Error:
    """Build the exception (of the class for its kind) from an error document."""
    kind = doc.get("kind")
    kind = kind if isinstance(kind, str) else "unknown"
    message = doc.get("message")
    if not isinstance(message, str):
        message = "unknown error"
    cls = _BY_KIND.get(kind, Error)
    return cls(
        message,
        kind=kind,
        http_status=_opt_int(doc.get("http_status")),
        code=_opt_str(doc.get("code")),
        request_id=_opt_str(doc.get("request_id")),
        retryable=bool(doc.get("retryable", False)),
        document=doc,
    )


def error_from_json(text: Optional[bytes], fallback: str) -> Error:
    """Parse an ``error_json`` string from the library (``None``: no document)."""
    if text is None:
        return Error(fallback, kind="unknown")
    try:
        doc = json.loads(text.decode("utf-8", errors="replace"))
    except ValueError:
        return ProtocolError(f"{fallback}: unreadable error document from libycbg")
    if not isinstance(doc, dict):
        return ProtocolError(f"{fallback}: unreadable error document from libycbg")
    return error_from_document(doc)
