"""Handles are freed exactly once; no growth of memory or file descriptors."""

from __future__ import annotations

import gc
import os
import weakref

import ycbg
from conftest import Emulator, SLACK

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_create_wait_close_cycles_do_not_leak(emu: Emulator) -> None:
    emu.settings(queue_ms=0, work_ms=0)
    samples = {}
    with emu.client(poll_interval_ms=1, max_poll_interval_ms=10) as c:
        for i in range(1, 2001):
            t = c.create_background(model="yandexgpt", input=f"cycle {i}")
            assert t.wait(timeout=10 + SLACK) == "completed"
            if i % 500 == 0:
                assert t.output_text == f"Echo: cycle {i}"
            t.close()
            if i in (200, 2000):
                gc.collect()
                samples[i] = (rss_bytes(), open_fds())
    rss_200, fds_200 = samples[200]
    rss_2000, fds_2000 = samples[2000]
    assert rss_2000 - rss_200 < 20 * 1024 * 1024, (rss_200, rss_2000)
    assert fds_2000 - fds_200 <= 10, (fds_200, fds_2000)
    stats = emu.stats()
    assert stats["responses"] == 2000
    # Polls reuse connections; each create gets a fresh one (so that a create
    # is never resent on a reused connection), so about one per cycle.
    assert stats["connections"] <= 2000 + 50


def test_forgotten_handles_are_freed_by_the_garbage_collector(emu: Emulator) -> None:
    c = emu.client()
    t = c.create_background(model="yandexgpt", input="forgotten")
    task_handle, client_handle = t._handle, c._handle
    task_ref, client_ref = weakref.ref(t), weakref.ref(c)
    assert not task_handle.closed and not client_handle.closed
    del c                                   # the task still refers to its client
    gc.collect()
    assert client_ref() is not None and not client_handle.closed
    del t
    gc.collect()
    assert task_ref() is None and client_ref() is None
    assert task_handle.closed and client_handle.closed
    assert task_handle._ptr is None and client_handle._ptr is None


def test_handle_freed_exactly_once() -> None:
    freed = []
    h = ycbg._client._Handle(1234, freed.append, "thing")
    p = h.acquire()
    h.close()                 # in use: freeing is deferred to the last user
    h.close()
    assert freed == [] and h.closed
    h.release()
    assert freed == [p]
    h.close()
    assert freed == [1234]
    try:
        h.acquire()
    except ycbg.InvalidArgumentError as e:
        assert "closed" in e.message
    else:
        raise AssertionError("acquire after close must fail")


def test_many_clients_and_forgotten_tasks(emu: Emulator) -> None:
    emu.settings(queue_ms=0, work_ms=0)
    for _ in range(20):                      # warm up
        ycbg.Client(**emu.config()).create_background(model="yandexgpt", input="w").wait(5)
    gc.collect()
    fds = open_fds()
    for i in range(200):
        c = ycbg.Client(**emu.config())
        c.create_background(model="yandexgpt", input=str(i)).wait(5)
        # neither closed: the GC must release both, and the client's connections
    gc.collect()
    assert open_fds() - fds <= 10
