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
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Union

from . import _native
from ._errors import Error, InvalidArgumentError, ProtocolError, error_from_document, error_from_json
from ._errors import TimeoutError as _YCTimeoutError

__all__ = ["Client", "Task", "Status", "TERMINAL_STATUSES", "WAIT_SLICE_SECONDS",
           "library_version"]

_lib = _native.lib

#: Task.wait() and ycbg.as_completed() call yc_wait() / yc_next_events() in
#: slices of at most this many seconds, so Ctrl-C (KeyboardInterrupt) is
#: noticed at least this often.
WAIT_SLICE_SECONDS: float = 0.2

#: How many events one yc_next_events() call takes at most.
_EVENT_BATCH = 256


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


def _request_payload(request: Union[Mapping[str, Any], str, bytes, None], model: Optional[str],
                     input: Any, fields: Mapping[str, Any]) -> bytes:
    """The request JSON of create_background() / submit()."""
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
        return payload
    if request is not None:
        merged = dict(request)
        merged.update(body)
        body = merged
    return _encode_json(body, "the request")


def _decode(data: Optional[bytes]) -> str:
    return "" if data is None else data.decode("utf-8", errors="replace")


def _call_on_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[], None]) -> None:
    """Run ``fn`` on ``loop``: now if this thread is running it, else soon."""
    try:
        running: Optional[asyncio.AbstractEventLoop] = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        fn()
        return
    try:
        loop.call_soon_threadsafe(fn)
    except RuntimeError:  # that loop is closed: nobody is waiting there any more
        pass


_CLOSED_ERROR = json.dumps({"kind": "invalid_argument", "retryable": False,
                            "message": "the task was closed before it finished"}).encode()

#: What a task's finish is handed to: called once, with the task, by the
#: thread that took its event (never a library thread), outside any lock.
_Listener = Callable[["Task"], None]


class _Dispatcher:
    """The events of one client, taken from yc_next_events() and kept by tag.

    Every task the client drives (submitted, or watched on first use by
    as_completed / wait_async) has a tag here.  Whoever takes an event (a
    blocking as_completed in any thread, or the fd reader of any asyncio
    loop) records it on its task (``Task._outcome``), so it is never lost:
    a later wait on that task answers at once.  Listeners registered on a
    task (as_completed's collectors, wait_async's futures) are called then.

    Blocking takers use one "drainer" at a time: it calls yc_next_events()
    in slices while the others wait on the condition, which every delivery
    notifies.  An asyncio loop watches ``yc_client_fd()`` with add_reader
    (one reader per loop, while anything on that loop waits) and drains with
    timeout 0.  No Python code runs on a library thread.
    """

    def __init__(self, handle: _Handle) -> None:
        self._handle = handle
        self._cond = threading.Condition(threading.Lock())
        self._next_tag = 1
        self._tasks: "weakref.WeakValueDictionary[int, Task]" = weakref.WeakValueDictionary()
        self._reserved: Set[int] = set()
        self._early: Dict[int, Tuple[int, Optional[bytes]]] = {}
        self._draining = False
        # loop -> [fd, client pointer, number of users]
        self._readers: Dict[asyncio.AbstractEventLoop, List[Any]] = {}

    # -- tags -------------------------------------------------------------------

    def reserve_tag(self) -> int:
        with self._cond:
            tag = self._next_tag
            self._next_tag += 1
            self._reserved.add(tag)
            return tag

    def unreserve_tag(self, tag: int) -> None:
        with self._cond:
            self._reserved.discard(tag)
            self._early.pop(tag, None)

    def register(self, task: "Task") -> None:
        """``task`` (made with its reserved tag) is known from now on; an event
        taken for it before this is delivered now."""
        tag = task._tag
        assert tag is not None
        with self._cond:
            self._reserved.discard(tag)
            early = self._early.pop(tag, None)
            if early is None:
                self._tasks[tag] = task
                return
            listeners = task._record(*early)
            self._cond.notify_all()
        for fn in listeners:
            fn(task)

    def ensure_driven(self, task: "Task") -> None:
        """yc_watch() the task with a new tag unless this client already drives it."""
        if task.client._dispatcher is not self:
            raise InvalidArgumentError("the task belongs to another client")
        if task._tag is not None:       # submitted, or watched already (never unset then)
            return
        with self._cond:
            if task._tag is not None:
                return
            tag = self._next_tag
            self._next_tag += 1
            task._tag = tag
            self._tasks[tag] = task
        try:
            ptr = task._handle.acquire()
            try:
                rc = _lib.yc_watch(ptr, tag)
            finally:
                task._handle.release()
            if rc != 0:
                raise InvalidArgumentError("yc_watch refused the task (freed, or driven already)")
        except BaseException:
            with self._cond:
                task._tag = None
                self._tasks.pop(tag, None)
            raise

    def abandon(self, task: "Task") -> None:
        """The task was closed: its event will not come (yc_task_free drops
        it), so it ends here with an error, and its listeners are called."""
        with self._cond:
            if task._tag is not None:
                self._tasks.pop(task._tag, None)
            if task._outcome is not None:
                return
            listeners = task._record(_YC_STATUS_ERROR, _CLOSED_ERROR)
            self._cond.notify_all()
        for fn in listeners:
            fn(task)

    # -- listeners ----------------------------------------------------------------

    def listen(self, tasks: Iterable["Task"], fn: _Listener) -> None:
        """Call ``fn(task)`` once for each task when it finishes (at once for
        one that has finished already)."""
        now: List[Task] = []
        with self._cond:
            for t in tasks:
                if t._finished():
                    now.append(t)
                else:
                    t._listeners.append(fn)
        for t in now:
            fn(t)

    def unlisten(self, tasks: Iterable["Task"], fn: _Listener) -> None:
        with self._cond:
            for t in tasks:
                try:
                    t._listeners.remove(fn)
                except ValueError:
                    pass

    # -- taking events --------------------------------------------------------------

    def _take(self, client_ptr: int, timeout_ms: int) -> int:
        """One yc_next_events() call; records what it took.  Returns the count.

        The events are recorded in a ``finally`` so that a KeyboardInterrupt
        arriving just after the call does not lose them."""
        events = (_native.Event * _EVENT_BATCH)()
        n = 0
        try:
            n = _lib.yc_next_events(client_ptr, events, _EVENT_BATCH, timeout_ms)
        finally:
            calls = self._record_events(events, n) if n > 0 else []
        if n < 0:
            raise InvalidArgumentError("yc_next_events failed (the client is freed)")
        for task, listeners in calls:
            for fn in listeners:
                fn(task)
        return int(n)

    def _record_events(self, events: Any, n: int) -> List[Tuple["Task", List[_Listener]]]:
        """Keep ``n`` taken events on their tasks; the listeners to call."""
        taken = [(events[i].tag, events[i].status, _native.take_string(events[i].error_json))
                 for i in range(n)]
        calls: List[Tuple[Task, List[_Listener]]] = []
        with self._cond:
            for tag, code, err in taken:
                task = self._tasks.pop(tag, None)
                if task is None:
                    if tag in self._reserved:      # submit() has not registered it yet
                        self._early[tag] = (code, err)
                    continue                       # a task dropped meanwhile
                calls.append((task, task._record(code, err)))
            self._cond.notify_all()
        return calls

    def wait_until(self, ready: Callable[[], bool], deadline: Optional[float]) -> bool:
        """Take events (one drainer at a time, in slices) until ``ready()`` or
        the deadline.  Returns ``ready()``.  Raises InvalidArgumentError when
        the client is closed."""
        slice_s = WAIT_SLICE_SECONDS
        while True:
            with self._cond:
                if ready():
                    return True
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                step = slice_s if left is None else min(slice_s, left)
                if self._draining:
                    self._cond.wait(step)
                    continue
                self._draining = True
            try:
                client_ptr = self._handle.acquire()
                try:
                    self._take(client_ptr, max(0, int(math.ceil(step * 1000))))
                finally:
                    self._handle.release()
            finally:
                with self._cond:
                    self._draining = False
                    self._cond.notify_all()

    # -- asyncio ----------------------------------------------------------------------

    def reader_acquire(self, loop: asyncio.AbstractEventLoop) -> None:
        """Something on ``loop`` (its thread) waits: make sure the loop watches
        the client's fd.  The client is kept alive (not freed by close())
        until the matching reader_release()."""
        with self._cond:
            entry = self._readers.get(loop)
            if entry is not None:
                entry[2] += 1
                return
        client_ptr = self._handle.acquire()      # held while the loop watches
        try:
            fd = _lib.yc_client_fd(client_ptr)
            if fd < 0:
                raise InvalidArgumentError("yc_client_fd failed (the client is freed)")
            loop.add_reader(fd, self._on_readable, client_ptr)
        except BaseException:
            self._handle.release()
            raise
        with self._cond:
            self._readers[loop] = [fd, client_ptr, 1]

    def reader_release(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._cond:
            entry = self._readers.get(loop)
            if entry is None:
                return
            entry[2] -= 1
            if entry[2] > 0:
                return
            del self._readers[loop]
        try:
            if not loop.is_closed():
                loop.remove_reader(entry[0])
        finally:
            self._handle.release()

    def _on_readable(self, client_ptr: int) -> None:
        # On the loop's thread; the pointer is alive (held by reader_acquire).
        self._take(client_ptr, 0)


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
        http_version: Optional[str] = None,
        max_in_flight: Optional[int] = None,
        max_creates_per_second: Optional[float] = None,
        max_polls_per_second: Optional[float] = None,
        task_timeout_ms: _Millis = None,
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
        self._dispatcher = _Dispatcher(self._handle)

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
        payload = _request_payload(request, model, input, fields)
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

    def submit(
        self,
        request: Union[Mapping[str, Any], str, bytes, None] = None,
        /,
        *,
        model: Optional[str] = None,
        input: Any = None,
        **fields: Any,
    ) -> "Task":
        """Start a background response without waiting for the network.

        Takes the request exactly as :meth:`create_background` does
        (keywords, a mapping, or JSON text sent verbatim) and checks it at
        once (a bad request raises here, and nothing is sent).  Returns a
        :class:`Task` at once: the client's I/O thread sends the create and
        polls the task until it is terminal.  ``task.id`` is ``None`` until
        the server has answered the create.  Collect finished tasks with
        :func:`ycbg.as_completed` / :func:`ycbg.as_completed_async`, or wait
        for one with :meth:`Task.wait` / :meth:`Task.wait_async`.  A create
        that fails for good is that task's error (raised by ``wait``).
        """
        payload = _request_payload(request, model, input, fields)
        disp = self._dispatcher
        tag = disp.reserve_tag()
        err = _native.new_error_slot()
        try:
            client_ptr = self._handle.acquire()
            try:
                ptr = _lib.yc_submit(client_ptr, payload, tag, ctypes.byref(err))
            finally:
                self._handle.release()
            err_text = _native.take_string(err.value)
            if not ptr:
                raise error_from_json(err_text, "yc_submit failed")
            task = Task(self, ptr, tag=tag)
        except BaseException:
            disp.unreserve_tag(tag)
            raise
        disp.register(task)
        return task

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

    def __init__(self, client: Client, ptr: int, tag: Optional[int] = None) -> None:
        # Internal: tasks are made by Client.create_background / submit / attach.
        self.client = client
        self._handle = _Handle(ptr, _lib.yc_task_free, "task")
        self._finalizer = weakref.finalize(self, self._handle.close)
        # Driven by the client's engine: the tag of its event (see _Dispatcher).
        self._tag: Optional[int] = tag
        # The event once taken: (yc_status, error JSON or None).
        self._outcome: Optional[Tuple[int, Optional[bytes]]] = None
        self._listeners: List[_Listener] = []
        raw_id = _lib.yc_task_id(ptr)
        self._id: Optional[str] = None if raw_id is None else _decode(raw_id)
        self._final_snapshot: Optional[bytes] = None
        self._status: Status = Status.QUEUED
        if tag is None:            # a submitted task is QUEUED until its event
            self._status = self._status_of(self._snapshot())

    # -- helpers ------------------------------------------------------------

    @property
    def id(self) -> Optional[str]:
        """The server's response id; ``None`` for a submitted task until the
        server has answered its create (and for good if the create failed)."""
        if self._id is None and not self._handle.closed:
            try:
                ptr = self._handle.acquire()
            except InvalidArgumentError:       # closed meanwhile
                return self._id
            try:
                raw = _lib.yc_task_id(ptr)
            finally:
                self._handle.release()
            if raw is not None:
                self._id = _decode(raw)
        return self._id

    def _record(self, code: int, err: Optional[bytes]) -> List[_Listener]:
        """The task's event was taken (under the dispatcher's lock): keep it and
        hand back the listeners to call."""
        self._outcome = (code, err)
        status = _BY_CODE.get(code)
        if status is not None:
            self._status = status
        listeners, self._listeners = self._listeners, []
        return listeners

    def _finished(self) -> bool:
        """Its event was taken, or its status is terminal (no I/O)."""
        return self._outcome is not None or self._status.terminal

    def _outcome_status(self) -> Status:
        """The status of a finished task, or its event's error raised."""
        if self._outcome is not None:
            code, err = self._outcome
            status = _BY_CODE.get(code)
            if status is not None:
                return status
            raise error_from_json(err, "the task failed")
        return self._status

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

    def _finish(self, code: int, err: Optional[bytes]) -> Status:
        """Map a yc_status: a status is remembered; YC_STATUS_ERROR raises the
        error of that very call (the _ex functions' error_json)."""
        status = _BY_CODE.get(code)
        if status is not None:
            self._status = status
            return status
        if code == _YC_STATUS_ERROR:
            if err is None:
                raise Error("the call failed but libycbg gave no error", kind="unknown")
            raise error_from_json(err, "the call failed")
        raise ProtocolError(f"libycbg returned an unknown status {code}")

    def _call(self, fn: Callable[..., int], *args: Any) -> Status:
        """A yc_*_ex call on the task."""
        err = _native.new_error_slot()
        ptr = self._handle.acquire()
        try:
            code = fn(ptr, *args, ctypes.byref(err))
        finally:
            self._handle.release()
        return self._finish(code, _native.take_string(err.value))

    def _wait_slice(self, timeout_ms: int) -> Status:
        return self._call(_lib.yc_wait_ex, timeout_ms)

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
        return self._call(_lib.yc_poll_ex)

    def wait(self, timeout: Optional[float] = None) -> Status:
        """Poll until the task is terminal or ``timeout`` seconds have passed.

        ``timeout=None`` waits without limit; ``0`` polls at most once.
        Returns the terminal status, or — when the time runs out — the last
        (non-terminal) status from the server: timing out is not an error.
        A non-retryable failure raises.  The library's ``yc_wait`` is called
        in slices of at most :data:`WAIT_SLICE_SECONDS`, so Ctrl-C interrupts
        the wait promptly.

        A task whose event the client has already handed out (to
        :func:`ycbg.as_completed` or any wait) answers at once: its terminal
        status, or its error (a submitted task whose create failed) raised.
        """
        if self._outcome is not None:
            return self._outcome_status()
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            status = self._wait_slice(self._slice_ms(deadline))
            if status.terminal:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status

    async def wait_async(self, timeout: Optional[float] = None) -> Status:
        """:meth:`wait` for asyncio, without threads and without polling.

        The client drives the task (a task from ``create_background`` or
        ``attach`` is watched on first use) and the running loop watches the
        client's event fd (``loop.add_reader``, one per client and loop, for
        as long as anything on the loop waits); the event resolves this wait.
        Returns the terminal status, or when ``timeout`` seconds pass first,
        the last status known (no I/O; not an error).  Raises the task's error
        (e.g. a failed create, a non-retryable poll failure).  Cancelling the
        awaiting asyncio task removes the waiter (and the reader, when it was
        the last).  The client must be open.
        """
        if self._outcome is not None:
            return self._outcome_status()
        if self._status.terminal:
            return self._status
        loop = asyncio.get_running_loop()
        disp = self.client._dispatcher
        disp.ensure_driven(self)
        fut: "asyncio.Future[None]" = loop.create_future()

        def resolve() -> None:
            if not fut.done():
                fut.set_result(None)

        def finished(_task: "Task") -> None:
            _call_on_loop(loop, resolve)

        disp.reader_acquire(loop)
        try:
            disp.listen((self,), finished)
            timer = None if timeout is None else loop.call_later(max(0.0, timeout), resolve)
            try:
                await fut                   # resolved by the event, or by the timer
            finally:
                if timer is not None:
                    timer.cancel()
                disp.unlisten((self,), finished)
        finally:
            disp.reader_release(loop)
        if self._outcome is not None:
            return self._outcome_status()
        if not self._status.terminal and not self._handle.closed:
            self._status = self._status_of(self._snapshot())
        return self._status

    def cancel(self) -> Status:
        """Ask the server to stop the response (best effort).

        Returns the status the server reports afterwards (a task that
        finished first stays completed); raises on failure.
        """
        return self._call(_lib.yc_cancel_ex)

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
        snapshot taken here.  A driven task whose event was not taken yet
        gets none any more: whoever waits for it (as_completed, wait_async)
        gets it back at once, with an :class:`InvalidArgumentError` as its
        error."""
        if self._handle.closed:
            return
        try:
            self._final_snapshot = self._raw_result()
        except Error:
            pass
        self._handle.close()
        if self._tag is not None:
            self.client._dispatcher.abandon(self)

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
