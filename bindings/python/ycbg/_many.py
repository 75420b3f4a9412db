"""Many tasks at once: as_completed() and as_completed_async() over the
client's events (yc_next_events / yc_client_fd), see _Dispatcher."""

from __future__ import annotations

import asyncio
import collections
import time
from typing import AsyncIterator, Deque, Iterable, Iterator, List, Optional

from ._client import Task, _call_on_loop, _Dispatcher
from ._errors import InvalidArgumentError
from ._errors import TimeoutError as _YCTimeoutError

__all__ = ["as_completed", "as_completed_async"]


def _prepare(tasks: Iterable[Task]) -> "tuple[List[Task], Optional[_Dispatcher]]":
    """The distinct tasks, in order, and their client's dispatcher; every task
    is driven by the client (watched first if it was not submitted)."""
    unique: List[Task] = []
    seen = set()
    for t in tasks:
        if not isinstance(t, Task):
            raise InvalidArgumentError(f"as_completed takes ycbg.Task objects, not {type(t).__name__}")
        if id(t) not in seen:
            seen.add(id(t))
            unique.append(t)
    if not unique:
        return unique, None
    disp = unique[0].client._dispatcher
    if any(t.client._dispatcher is not disp for t in unique):
        raise InvalidArgumentError(
            "as_completed takes tasks of one client; call it once per client")
    for t in unique:
        if not t._finished():
            disp.ensure_driven(t)
    return unique, disp


def _timed_out(done: int, total: int, timeout: Optional[float]) -> _YCTimeoutError:
    return _YCTimeoutError(
        f"as_completed: {total - done} of {total} tasks not finished after {timeout} s")


def as_completed(tasks: Iterable[Task], timeout: Optional[float] = None) -> Iterator[Task]:
    """Yield each of ``tasks`` once, as it finishes (blocking iterator).

    The tasks must come from one client (else :class:`InvalidArgumentError`).
    Tasks from ``create_background`` / ``attach`` are watched by the client
    first (``yc_watch``); submitted ones already are.  A yielded task is
    terminal or failed: ``task.wait()`` then answers at once with its status
    or raises its error (e.g. a failed create); ``task.error`` tells without
    raising.  Raises :class:`ycbg.TimeoutError` (also a built-in
    ``TimeoutError``) when ``timeout`` seconds pass before all are yielded.
    Events are taken in slices of ``WAIT_SLICE_SECONDS``, so Ctrl-C works.
    The client must be open.
    """
    unique, disp = _prepare(tasks)
    if disp is None:
        return
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    ready: Deque[Task] = collections.deque()
    disp.listen(unique, ready.append)
    try:
        for done in range(len(unique)):
            if not disp.wait_until(lambda: bool(ready), deadline):
                raise _timed_out(done, len(unique), timeout)
            yield ready.popleft()
    finally:
        disp.unlisten(unique, ready.append)


async def as_completed_async(tasks: Iterable[Task],
                             timeout: Optional[float] = None) -> AsyncIterator[Task]:
    """``async for task in ycbg.as_completed_async(tasks):`` — :func:`as_completed`
    for asyncio, without threads and without polling: the running loop
    watches the client's event fd (``loop.add_reader``) and the events wake
    this iterator.  Leaving the loop early releases the reader when the
    generator is closed (``contextlib.aclosing`` makes that immediate)."""
    unique, disp = _prepare(tasks)
    if disp is None:
        return
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + max(0.0, timeout)
    ready: Deque[Task] = collections.deque()
    wake: List[Optional["asyncio.Future[None]"]] = [None]

    def _set() -> None:
        fut = wake[0]
        if fut is not None and not fut.done():
            fut.set_result(None)

    def finished(task: Task) -> None:
        ready.append(task)
        _call_on_loop(loop, _set)

    disp.reader_acquire(loop)
    try:
        disp.listen(unique, finished)
        try:
            for done in range(len(unique)):
                while not ready:
                    left = None if deadline is None else deadline - loop.time()
                    if left is not None and left <= 0:
                        raise _timed_out(done, len(unique), timeout)
                    fut: "asyncio.Future[None]" = loop.create_future()
                    wake[0] = fut
                    timer = None if left is None else loop.call_later(left, _set)
                    try:
                        await fut           # woken by a finished task, or by the timer
                    finally:
                        wake[0] = None
                        if timer is not None:
                            timer.cancel()
                yield ready.popleft()
        finally:
            disp.unlisten(unique, finished)
    finally:
        disp.reader_release(loop)
