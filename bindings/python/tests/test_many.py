"""Many tasks per client: submit, as_completed, wait_async over the client's event fd."""

from __future__ import annotations

import asyncio
import gc
import json
import select
import threading
from typing import Any, Dict, List, Tuple

import pytest

import ycbg
from ycbg import _native
from conftest import Emulator


def os_threads() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads: line in /proc/self/status")


def client_fd(client: ycbg.Client) -> int:
    fd = _native.lib.yc_client_fd(client._handle._ptr)
    assert fd >= 0
    return fd


def answered(task: ycbg.Task) -> None:
    """Until the server has answered the task's create (bounded)."""
    for _ in range(3000):
        if task.id is not None:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the create was not answered")


def creates(emu: Emulator) -> int:
    return emu.stats()["requests"]["create"]


def test_submit_returns_at_once_and_as_completed_yields_each_once(
        client: ycbg.Client, emu: Emulator) -> None:
    emu.settings(queue_ms=300, work_ms=200)
    n = 60
    tasks = [client.submit(model="yandexgpt", input=f"many {i}") for i in range(n)]
    assert all(t.status == "queued" for t in tasks)
    seen: List[ycbg.Task] = []
    for t in ycbg.as_completed(tasks, timeout=60):
        assert t.status == "completed"
        seen.append(t)
        assert len(seen) <= n
    assert len(seen) == n and len({id(t) for t in seen}) == n
    for i, t in enumerate(tasks):
        assert t.output_text == f"Echo: many {i}"
        assert isinstance(t.id, str) and t.id
        assert t.wait(timeout=0) == "completed"
    assert len({t.id for t in tasks}) == n
    assert emu.stats()["responses"] == n and creates(emu) == n     # none sent twice
    # every event was taken: the client's fd is no longer readable
    assert select.select([client_fd(client)], [], [], 0)[0] == []


def test_submit_takes_the_request_as_create_background_does(
        client: ycbg.Client, emu: Emulator) -> None:
    as_dict = client.submit({"model": "yandexgpt", "input": "from a dict"}, temperature=0.1)
    as_text = client.submit(json.dumps({"model": "yandexgpt", "input": "from text"}))
    with pytest.raises(ycbg.InvalidJSONError):
        client.submit("{not json")
    with pytest.raises(ycbg.InvalidArgumentError):
        client.submit("{}", model="yandexgpt")
    with pytest.raises(ycbg.InvalidArgumentError):
        client.submit(model="yandexgpt", input="x", stream=True)
    done = list(ycbg.as_completed([as_dict, as_text], timeout=30))
    assert len(done) == 2
    assert as_dict.output_text == "Echo: from a dict"
    assert as_text.output_text == "Echo: from text"
    assert creates(emu) == 2          # the refused requests sent nothing


def test_as_completed_timeout(client: ycbg.Client, emu: Emulator) -> None:
    emu.settings(work_ms=30_000)
    tasks = [client.submit(model="yandexgpt", input=f"slow {i}") for i in range(3)]
    it = ycbg.as_completed(tasks, timeout=0.3)
    with pytest.raises(ycbg.TimeoutError) as ei:
        next(it)
    assert isinstance(ei.value, TimeoutError)          # the built-in one too
    assert "3 of 3" in str(ei.value)
    for t in tasks:            # still driven: cancelling ends each with an event
        answered(t)
        assert t.cancel() == "cancelled"
    assert sorted(t.status for t in ycbg.as_completed(tasks, timeout=30)) == ["cancelled"] * 3


def test_failed_create_is_that_tasks_error(client: ycbg.Client, emu: Emulator) -> None:
    emu.faults({"match": "create", "kind": "status", "status": 400, "count": 1})
    bad = client.submit(model="yandexgpt", input="refused")
    good = client.submit(model="yandexgpt", input="accepted")
    got = list(ycbg.as_completed([bad, good], timeout=30))
    assert sorted(map(id, got)) == sorted(map(id, [bad, good]))
    assert good.status == "completed" and good.output_text == "Echo: accepted"
    assert bad.id is None and bad.status == "queued"
    assert isinstance(bad.error, ycbg.APIError) and bad.error.http_status == 400
    with pytest.raises(ycbg.APIError) as ei:      # the event's error, at once
        bad.wait()
    assert ei.value.http_status == 400
    assert good.wait(timeout=0) == "completed"


def test_wait_async_raises_a_failed_create(client: ycbg.Client, emu: Emulator) -> None:
    emu.faults({"match": "create", "kind": "status", "status": 400, "count": 1})

    async def main() -> None:
        bad = client.submit(model="yandexgpt", input="refused")
        with pytest.raises(ycbg.APIError):
            await bad.wait_async(timeout=30)
        with pytest.raises(ycbg.APIError):       # and again, at once
            await bad.wait_async()

    asyncio.run(main())


def test_as_completed_watches_created_and_attached_tasks(
        client: ycbg.Client, emu: Emulator) -> None:
    created = client.create_background(model="yandexgpt", input="created")
    attached = client.attach(client.create_background(model="yandexgpt", input="attached").id)
    submitted = client.submit(model="yandexgpt", input="submitted")
    got = list(ycbg.as_completed([created, attached, submitted, created], timeout=30))
    assert len(got) == 3                                  # a task given twice comes once
    assert [t.output_text for t in (created, attached, submitted)] == \
        ["Echo: created", "Echo: attached", "Echo: submitted"]


def test_as_completed_refuses_tasks_of_two_clients(emu: Emulator) -> None:
    with emu.client() as a, emu.client() as b:
        ta = a.submit(model="yandexgpt", input="a")
        tb = b.submit(model="yandexgpt", input="b")
        with pytest.raises(ycbg.InvalidArgumentError, match="one client"):
            next(ycbg.as_completed([ta, tb]))
        with pytest.raises(ycbg.InvalidArgumentError):
            next(ycbg.as_completed(["not a task"]))  # type: ignore[list-item]
        assert [t.wait(timeout=30) for t in (ta, tb)] == ["completed", "completed"]
    assert list(ycbg.as_completed([])) == []


def test_events_of_tasks_nobody_waits_on_are_kept(client: ycbg.Client, emu: Emulator) -> None:
    n = 20
    tasks = [client.submit(model="yandexgpt", input=f"kept {i}") for i in range(n)]
    # Finish all on the server first, then wait for the last one only: the
    # drainer takes the others' events too, and they must not be lost.
    # (a raw yc_wait: the binding does not see these statuses, only the events)
    for t in tasks:
        assert _native.lib.yc_wait(t._handle._ptr, 30_000) == 2      # COMPLETED
    assert all(t.status == "queued" for t in tasks)
    assert [t.id for t in ycbg.as_completed([tasks[-1]], timeout=30)] == [tasks[-1].id]
    kept = [t for t in tasks if t._outcome is not None]
    assert len(kept) > 1
    # Each of the others is yielded by a later call of its own.
    for t in tasks[:-1]:
        assert list(ycbg.as_completed([t], timeout=30)) == [t]
    assert select.select([client_fd(client)], [], [], 0)[0] == []


def test_blocking_wait_and_as_completed_mixed_on_one_client(
        client: ycbg.Client, emu: Emulator) -> None:
    emu.settings(queue_ms=100, work_ms=300)
    by_wait = [client.submit(model="yandexgpt", input=f"w {i}") for i in range(10)]
    by_iter_a = [client.create_background(model="yandexgpt", input=f"a {i}") for i in range(10)]
    by_iter_b = [client.submit(model="yandexgpt", input=f"b {i}") for i in range(10)]
    results: Dict[str, Any] = {}

    def waiter() -> None:
        results["wait"] = [t.wait(timeout=30) for t in by_wait]

    def iterate(name: str, tasks: List[ycbg.Task]) -> None:
        results[name] = [t.output_text for t in ycbg.as_completed(tasks, timeout=30)]

    threads = [threading.Thread(target=waiter),
               threading.Thread(target=iterate, args=("a", by_iter_a)),
               threading.Thread(target=iterate, args=("b", by_iter_b))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads)
    assert results["wait"] == ["completed"] * 10
    assert sorted(results["a"]) == sorted(f"Echo: a {i}" for i in range(10))
    assert sorted(results["b"]) == sorted(f"Echo: b {i}" for i in range(10))
    # the waited tasks' events are still there for an iterator afterwards
    assert len(list(ycbg.as_completed(by_wait, timeout=30))) == 10
    assert emu.stats()["responses"] == 30


def test_closing_a_task_ends_its_wait(client: ycbg.Client, emu: Emulator) -> None:
    emu.settings(work_ms=30_000)
    slow = client.submit(model="yandexgpt", input="closed while awaited")
    fine = client.submit(model="yandexgpt", input="x")
    it = ycbg.as_completed([slow], timeout=30)
    threading.Timer(0.2, slow.close).start()
    assert next(it) is slow                       # not a timeout
    with pytest.raises(ycbg.InvalidArgumentError, match="closed"):
        slow.wait()
    answered(fine)
    fine.cancel()
    assert list(ycbg.as_completed([fine], timeout=30)) == [fine]


def test_a_thread_takes_the_events_an_asyncio_wait_needs(
        client: ycbg.Client, emu: Emulator) -> None:
    # The events go to whichever taker gets them first: a blocking
    # as_completed in a thread, or the loop's reader; both must see all.
    tasks = [client.submit(model="yandexgpt", input=f"both {i}") for i in range(40)]
    seen: List[ycbg.Task] = []
    th = threading.Thread(target=lambda: seen.extend(ycbg.as_completed(tasks, timeout=60)))

    async def main() -> List[ycbg.Status]:
        th.start()
        return await asyncio.wait_for(asyncio.gather(*(t.wait_async() for t in tasks)), 60)

    assert asyncio.run(main()) == ["completed"] * 40
    th.join(60)
    assert not th.is_alive() and len(seen) == 40 and len({id(t) for t in seen}) == 40


# -- asyncio ------------------------------------------------------------------


class ReaderLog:
    """Records the fds the loop is asked to watch."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.added: List[int] = []
        real = loop.add_reader

        def add_reader(fd: int, *args: Any) -> None:
            self.added.append(fd)
            real(fd, *args)

        loop.add_reader = add_reader  # type: ignore[method-assign]


async def _count_threads(stop: asyncio.Event, peak: List[Tuple[int, int]]) -> None:
    for _ in range(100_000):          # bounded; stopped long before
        peak.append((threading.active_count(), os_threads()))
        if stop.is_set():
            return
        await asyncio.sleep(0.005)


def _many_async(emu: Emulator, use_iterator: bool) -> None:
    emu.settings(queue_ms=50, work_ms=100)
    n = 1000
    gc.collect()
    base_py, base_os = threading.active_count(), os_threads()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        log = ReaderLog(loop)
        samples: List[Tuple[int, int]] = []
        stop = asyncio.Event()
        with emu.client(max_in_flight=32) as c:
            sampler = asyncio.create_task(_count_threads(stop, samples))
            tasks = [c.submit(model="yandexgpt", input=f"async {i}") for i in range(n)]
            if use_iterator:
                got = []
                async for t in ycbg.as_completed_async(tasks, timeout=120):
                    got.append(t)
                    assert len(got) <= n
                assert len({id(t) for t in got}) == n
                assert all(t.status == "completed" for t in tasks)
            else:
                statuses = await asyncio.wait_for(
                    asyncio.gather(*(t.wait_async() for t in tasks)), 120)
                assert statuses == ["completed"] * n
            stop.set()
            await sampler
            fd = client_fd(c)
            assert [t.output_text for t in tasks] == [f"Echo: async {i}" for i in range(n)]
            # one fd watched, once, and no reader left behind
            assert log.added == [fd]
            assert loop.remove_reader(fd) is False
            assert c._dispatcher._readers == {}
            for t in tasks:
                t.close()
        assert len(samples) >= 2
        # no Python thread at all, and at most the library's one I/O thread
        assert max(s[0] for s in samples) <= base_py
        assert max(s[1] for s in samples) <= base_os + 1, (base_os, samples[-5:])

    asyncio.run(main())
    assert emu.stats()["responses"] == n and creates(emu) == n


def test_thousand_tasks_awaited_with_gather(emu: Emulator) -> None:
    _many_async(emu, use_iterator=False)


def test_thousand_tasks_with_as_completed_async(emu: Emulator) -> None:
    _many_async(emu, use_iterator=True)


def test_wait_async_cancellation_leaves_no_reader(client: ycbg.Client, emu: Emulator) -> None:
    emu.settings(work_ms=30_000)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        t = client.submit(model="yandexgpt", input="cancel me")
        other = client.submit(model="yandexgpt", input="keeps waiting")
        first = asyncio.create_task(t.wait_async())
        second = asyncio.create_task(other.wait_async())
        for _ in range(200):             # until both wait (bounded)
            if t._listeners and other._listeners:
                break
            await asyncio.sleep(0.01)
        assert len(client._dispatcher._readers[loop]) == 3
        assert client._dispatcher._readers[loop][2] == 2      # one reader, two users
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert t._listeners == []
        assert client._dispatcher._readers[loop][2] == 1      # the other still waits
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        fd = client_fd(client)
        assert client._dispatcher._readers == {}
        assert loop.remove_reader(fd) is False                # nothing dangling
        # The tasks are still driven: a later wait gets their events.
        for task in (t, other):
            answered(task)
            assert task.cancel() == "cancelled"
            assert await task.wait_async(timeout=30) == "cancelled"

    asyncio.run(main())


def test_as_completed_async_timeout_and_early_exit(client: ycbg.Client, emu: Emulator) -> None:
    emu.settings(work_ms=30_000)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        tasks = [client.submit(model="yandexgpt", input=f"slow {i}") for i in range(2)]
        with pytest.raises(ycbg.TimeoutError):
            async for _ in ycbg.as_completed_async(tasks, timeout=0.3):
                raise AssertionError("nothing finishes")
        assert client._dispatcher._readers == {}
        assert loop.remove_reader(client_fd(client)) is False
        assert await tasks[0].wait_async(timeout=0.2) in ("queued", "in_progress")
        for t in tasks:
            answered(t)
            assert t.cancel() == "cancelled"
        statuses = [t.status async for t in ycbg.as_completed_async(tasks, timeout=30)]
        assert statuses == ["cancelled", "cancelled"]

    asyncio.run(main())


def test_wait_async_survives_closing_the_client(emu: Emulator) -> None:
    async def main() -> None:
        c = emu.client()
        t = c.submit(model="yandexgpt", input="outlives")
        undriven = c.create_background(model="yandexgpt", input="not driven")
        waiter = asyncio.create_task(t.wait_async(timeout=30))
        await asyncio.sleep(0)
        c.close()                      # freed only once the loop stops watching
        assert c._handle._ptr is not None
        assert await waiter == "completed"
        assert c._handle._ptr is None
        assert t.output_text == "Echo: outlives"
        assert list(ycbg.as_completed([t])) == [t]       # finished: no client needed
        with pytest.raises(ycbg.InvalidArgumentError, match="closed"):
            next(ycbg.as_completed([undriven]))           # a closed client takes no new waits
        assert undriven.wait(timeout=30) == "completed"   # the blocking wait still works
    asyncio.run(main())


def test_as_completed_is_interruptible_by_ctrl_c(client: ycbg.Client, emu: Emulator, sigint_raises: None) -> None:
    import _thread
    emu.settings(work_ms=30_000)
    tasks = [client.submit(model="yandexgpt", input="slow")]
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    with pytest.raises(KeyboardInterrupt):     # not the TimeoutError a minute later
        list(ycbg.as_completed(tasks, timeout=60))
    timer.join()
    answered(tasks[0])
    assert tasks[0].cancel() == "cancelled"
    assert list(ycbg.as_completed(tasks, timeout=30)) == tasks   # its event was not lost
