"""Client and Task: thin, thread-safe wrappers over the yc_client / yc_task handles."""

from __future__ import annotations

import asyncio
import ctypes
import datetime
import enum
import json
import math
import os
import threading
import time
import weakref
from typing import Any, Callable, Dict, Mapping, Optional, Union

from . import _native
from ._errors import Error, InvalidArgumentError, ProtocolError, error_from_document, error_from_json

__all__ = ["Client", "Task", "Status", "TERMINAL_STATUSES", "WAIT_SLICE_SECONDS",
           "library_version"]

_lib = _native.lib

#: Task.wait()/wait_async() call yc_wait() in slices of at most this many
#: seconds, so Ctrl-C (KeyboardInterrupt) and asyncio cancellation are
#: noticed at least this often.
WAIT_SLICE_SECONDS: float = 0.2


def library_version() -> str:
    """The version of the loaded libycbg ("MAJOR.MINOR.PATCH")."""
    raw: bytes = _lib.yc_version()
    return raw.decode("ascii", errors="replace")


class Status(str, enum.Enum):
    """The state of a task.  A ``str``: ``Status.COMPLETED == "completed"``."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INCOMPLETE = "incomplete"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def terminal(self) -> bool:
        """COMPLETED, FAILED, CANCELLED and INCOMPLETE are terminal."""
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.INCOMPLETE})

_YC_STATUS_ERROR = -1
_BY_CODE: Dict[int, Status] = {
    0: Status.QUEUED,
    1: Status.IN_PROGRESS,
    2: Status.COMPLETED,
    3: Status.FAILED,
    4: Status.CANCELLED,
    5: Status.INCOMPLETE,
}


class _Handle:
    """Owns one C handle; frees it exactly once, never while a call is using it.

    ``acquire()``/``release()`` bracket every C call.  ``close()`` (explicit,
    from a ``with`` block, or from the owner's ``weakref.finalize`` when it is
    garbage-collected) marks the handle closed; the handle is freed at once
    if no call is running, otherwise by the last running call when it ends.
    This object must not reference its owner (the finalizer holds it).
    """

    __slots__ = ("_ptr", "_free", "_lock", "_users", "_closed", "_what")

    def __init__(self, ptr: int, free: Callable[[int], None], what: str) -> None:
        self._ptr: Optional[int] = ptr
        self._free = free
        self._lock = threading.Lock()
        self._users = 0
        self._closed = False
        self._what = what

    @property
    def closed(self) -> bool:
        return self._closed

    def acquire(self) -> int:
        with self._lock:
            if self._closed or self._ptr is None:
                raise InvalidArgumentError(f"the {self._what} is closed")
            self._users += 1
            return self._ptr

    def release(self) -> None:
        ptr = None
        with self._lock:
            self._users -= 1
            if self._closed and self._users == 0 and self._ptr is not None:
                ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._free(ptr)

    def close(self) -> None:
        ptr = None
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._users == 0 and self._ptr is not None:
                ptr, self._ptr = self._ptr, None
        if ptr is not None:
            self._free(ptr)


def _encode_json(value: Any, what: str) -> bytes:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:  # not serializable, NaN, lone surrogate
        raise InvalidArgumentError(f"{what} cannot be encoded as JSON: {exc}") from exc


#: A ``*_ms`` key takes an int (milliseconds) or a :class:`datetime.timedelta`.
_Millis = Optional[Union[int, datetime.timedelta]]


def _config_value(name: str, value: Any) -> Any:
    """A keyword's value as the JSON the library reads: a timedelta given for
    a ``*_ms`` key becomes whole milliseconds (rounded up), a path a str, a
    mapping a dict."""
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        if not name.endswith("_ms"):
            raise InvalidArgumentError(f"{name} does not take a timedelta")
        micros = (value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds
        return -((-micros) // 1000)
    if name == "ca_file":
        return os.fspath(value)
    if name == "headers":
        return dict(value)
    return value


def _decode(data: Optional[bytes]) -> str:
    return "" if data is None else data.decode("utf-8", errors="replace")


class Client:
    """A libycbg client: configuration plus a pool of reusable connections.

    Every keyword is a key of the library's configuration (see the C header);
    a keyword given as ``None`` (the default) is left out, so the library
    falls back to its environment variable (``YC_BASE_URL``, ``YC_API_KEY``,
    ``YC_IAM_TOKEN``, ``YC_FOLDER_ID``) or its default.  Keys not listed
    below may be passed as keywords too; the library rejects unknown keys
    with :class:`ConfigError` naming the key.

    Thread-safe: one client may be shared by any number of threads.  Use it
    as a context manager or call :meth:`close`; a client that is simply
    dropped is freed when it is garbage-collected.  Tasks made from a client
    stay usable after the client is closed.
    """

    def __init__(
        self,
        *,
        # One keyword per key of the header's config table (the names are the
        # keys; tests/test_config_keys.py checks that none is missing).
        api_key: Optional[str] = None,
        folder_id: Optional[str] = None,
        base_url: Optional[str] = None,
        iam_token: Optional[str] = None,
        timeout_ms: _Millis = None,
        connect_timeout_ms: _Millis = None,
        max_retries: Optional[int] = None,
        poll_interval_ms: _Millis = None,
        max_poll_interval_ms: _Millis = None,
        data_logging: Optional[bool] = None,
        user_agent: Optional[str] = None,
        ca_file: Optional[Union[str, "os.PathLike[str]"]] = None,
        headers: Optional[Mapping[str, str]] = None,
        max_response_bytes: Optional[int] = None,
        allow_insecure_http: Optional[bool] = None,
        trust_idempotency_key: Optional[bool] = None,
        **config: Any,
    ) -> None:
        given: Dict[str, Any] = dict(locals())   # the keywords above, by name
        for name in ("self", "config", "__class__"):
            given.pop(name, None)
        given.update(config)
        given = {name: _config_value(name, value) for name, value in given.items()}
        payload = _encode_json({k: v for k, v in given.items() if v is not None},
                               "the configuration")
        err = _native.new_error_slot()
        ptr = _lib.yc_client_new(payload, ctypes.byref(err))
        err_text = _native.take_string(err.value)
        if not ptr:
            raise error_from_json(err_text, "yc_client_new failed")
        self._handle = _Handle(ptr, _lib.yc_client_free, "client")
        self._finalizer = weakref.finalize(self, self._handle.close)

    # -- lifetime -----------------------------------------------------------

    def close(self) -> None:
        """Release the client.  Idempotent and thread-safe; tasks stay usable."""
        self._handle.close()

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ycbg.Client{' closed' if self.closed else ''}>"

    # -- tasks --------------------------------------------------------------

    def create_background(
        self,
        request: Union[Mapping[str, Any], str, bytes, None] = None,
        /,
        *,
        model: Optional[str] = None,
        input: Any = None,
        **fields: Any,
    ) -> "Task":
        """Start a background response (``POST {base_url}/responses``).

        Fields of the Responses API request are given as keywords (``model``,
        ``input``, ``instructions``, ``max_output_tokens``, ``temperature``,
        ``metadata``, ...); keywords whose value is ``None`` are left out.
        ``request`` may carry a whole request object as a mapping (keywords
        are added to it) or as JSON text, passed to the library verbatim.

        Returns a :class:`Task` once the server has answered with an id.
        """
        body: Dict[str, Any] = {"model": model, "input": input}
        body.update(fields)
        body = {k: v for k, v in body.items() if v is not None}
        if isinstance(request, (str, bytes)):
            if body:
                raise InvalidArgumentError(
                    "give the request either as JSON text or as keywords, not both")
            payload = request.encode("utf-8") if isinstance(request, str) else request
            if b"\x00" in payload:
                raise InvalidArgumentError("the request JSON contains a NUL character")
        else:
            if request is not None:
                merged = dict(request)
                merged.update(body)
                body = merged
            payload = _encode_json(body, "the request")
        err = _native.new_error_slot()
        client_ptr = self._handle.acquire()
        try:
            ptr = _lib.yc_create_background(client_ptr, payload, ctypes.byref(err))
        finally:
            self._handle.release()
        err_text = _native.take_string(err.value)
        if not ptr:
            raise error_from_json(err_text, "yc_create_background failed")
        return Task(self, ptr)

    def attach(self, response_id: str) -> "Task":
        """A task for an existing response id; fetches its state once (GET)."""
        if not isinstance(response_id, str):
            raise InvalidArgumentError("response_id must be a str")
        raw = response_id.encode("utf-8", errors="surrogatepass")
        if b"\x00" in raw:
            raise InvalidArgumentError("response_id contains a NUL character")
        err = _native.new_error_slot()
        client_ptr = self._handle.acquire()
        try:
            ptr = _lib.yc_attach(client_ptr, raw, ctypes.byref(err))
        finally:
            self._handle.release()
        err_text = _native.take_string(err.value)
        if not ptr:
            raise error_from_json(err_text, "yc_attach failed")
        return Task(self, ptr)


class Task:
    """One background response on the server (made by :meth:`Client.create_background`
    or :meth:`Client.attach`).

    Thread-safe (the library serializes calls on one task).  Use it as a
    context manager or call :meth:`close`; a dropped task is freed when it is
    garbage-collected.  After :meth:`close`, the read-only properties keep
    answering from the last snapshot taken at close time.
    """

    def __init__(self, client: Client, ptr: int) -> None:
        # Internal: tasks are made by Client.create_background / Client.attach.
        self.client = client
        self._handle = _Handle(ptr, _lib.yc_task_free, "task")
        self._finalizer = weakref.finalize(self, self._handle.close)
        self.id: str = _decode(_lib.yc_task_id(ptr))
        self._final_snapshot: Optional[bytes] = None
        self._status: Status = Status.QUEUED
        snap = self._snapshot()
        self._status = self._status_of(snap)

    # -- helpers ------------------------------------------------------------

    def _raw_result(self) -> bytes:
        if self._handle.closed and self._final_snapshot is not None:
            return self._final_snapshot
        ptr = self._handle.acquire()
        try:
            data = _native.take_string(_lib.yc_result(ptr))
        finally:
            self._handle.release()
        if data is None:
            raise Error("yc_result returned NULL (out of memory?)", kind="unknown")
        return data

    def _snapshot(self) -> Dict[str, Any]:
        raw = self._raw_result()
        try:
            doc = json.loads(raw.decode("utf-8", errors="replace"))
        except ValueError as exc:
            raise ProtocolError(f"unreadable result document from libycbg: {exc}") from exc
        if not isinstance(doc, dict):
            raise ProtocolError("unreadable result document from libycbg")
        return doc

    def _status_of(self, doc: Mapping[str, Any]) -> Status:
        try:
            return Status(doc.get("status"))
        except ValueError:
            return self._status

    def _finish(self, code: int) -> Status:
        """Map a yc_status: a status is remembered; YC_STATUS_ERROR raises the recorded error."""
        status = _BY_CODE.get(code)
        if status is not None:
            self._status = status
            return status
        if code == _YC_STATUS_ERROR:
            err = self._snapshot().get("error")
            if isinstance(err, dict):
                raise error_from_document(err)
            raise Error("the call failed but libycbg recorded no error", kind="unknown")
        raise ProtocolError(f"libycbg returned an unknown status {code}")

    def _call(self, fn: Callable[..., int], *args: Any) -> Status:
        ptr = self._handle.acquire()
        try:
            code = fn(ptr, *args)
        finally:
            self._handle.release()
        return self._finish(code)

    def _wait_slice(self, timeout_ms: int) -> Status:
        return self._call(_lib.yc_wait, timeout_ms)

    @staticmethod
    def _slice_ms(deadline: Optional[float]) -> int:
        step = int(WAIT_SLICE_SECONDS * 1000)
        if deadline is None:
            return step
        remaining = deadline - time.monotonic()
        return max(0, min(step, int(math.ceil(remaining * 1000))))

    # -- operations ---------------------------------------------------------

    def poll(self) -> Status:
        """One refresh (``GET /responses/{id}``, retried per the retry policy).

        Returns the status; on a terminal task, without any request.  If the
        refresh fails, raises the error (:class:`Error` subclass); the task
        keeps its last status and a later ``poll()`` may succeed.
        """
        return self._call(_lib.yc_poll)

    def wait(self, timeout: Optional[float] = None) -> Status:
        """Poll until the task is terminal or ``timeout`` seconds have passed.

        ``timeout=None`` waits without limit; ``0`` polls at most once.
        Returns the terminal status, or — when the time runs out — the last
        (non-terminal) status from the server: timing out is not an error.
        A non-retryable failure raises.  The library's ``yc_wait`` is called
        in slices of at most :data:`WAIT_SLICE_SECONDS`, so Ctrl-C interrupts
        the wait promptly.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            status = self._wait_slice(self._slice_ms(deadline))
            if status.terminal:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status

    async def wait_async(self, timeout: Optional[float] = None) -> Status:
        """:meth:`wait` for asyncio: the yc_wait slices run in the loop's
        default executor, so the event loop is never blocked."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            status = await loop.run_in_executor(
                None, self._wait_slice, self._slice_ms(deadline))
            if status.terminal:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status

    def cancel(self) -> Status:
        """Ask the server to stop the response (best effort).

        Returns the status the server reports afterwards (a task that
        finished first stays completed); raises on failure.
        """
        return self._call(_lib.yc_cancel)

    # -- snapshot (no I/O) ----------------------------------------------------

    @property
    def status(self) -> Status:
        """The last status from the server (no I/O)."""
        return self._status

    @property
    def done(self) -> bool:
        """True once the status is terminal (no I/O)."""
        return self._status.terminal

    @property
    def result(self) -> Dict[str, Any]:
        """The ``yc_result`` document: id, status, output_text, usage, error, response."""
        return self._snapshot()

    @property
    def output_text(self) -> str:
        """The generated text ("" until there is output)."""
        if self._handle.closed:
            text = self._snapshot().get("output_text")
            return text if isinstance(text, str) else ""
        ptr = self._handle.acquire()
        length = ctypes.c_size_t(0)
        try:
            # _len: the whole text, also past a NUL inside it (as in result).
            data = _native.take_string_len(
                _lib.yc_output_text_len(ptr, ctypes.byref(length)), length.value)
        finally:
            self._handle.release()
        return _decode(data)

    @property
    def usage(self) -> Optional[Dict[str, Any]]:
        """Token usage as the server reported it (None until terminal)."""
        usage = self._snapshot().get("usage")
        return usage if isinstance(usage, dict) else None

    @property
    def error(self) -> Optional[Error]:
        """The last call's error if it failed, else the task's generation error
        (failed / incomplete), else None.  Returned, not raised."""
        err = self._snapshot().get("error")
        return error_from_document(err) if isinstance(err, dict) else None

    @property
    def response(self) -> Optional[Dict[str, Any]]:
        """The last Response object from the server."""
        resp = self._snapshot().get("response")
        return resp if isinstance(resp, dict) else None

    # -- lifetime -----------------------------------------------------------

    def close(self) -> None:
        """Free the task (the response on the server is not cancelled).

        Idempotent and thread-safe.  The properties keep answering from a
        snapshot taken here."""
        if self._handle.closed:
            return
        try:
            self._final_snapshot = self._raw_result()
        except Error:
            pass
        self._handle.close()

    @property
    def closed(self) -> bool:
        return self._handle.closed

    def __enter__(self) -> "Task":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        extra = " closed" if self.closed else ""
        return f"<ycbg.Task id={self.id!r} status={self._status.value!r}{extra}>"
