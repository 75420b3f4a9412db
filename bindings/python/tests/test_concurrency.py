"""Threads, asyncio and Ctrl-C."""

from __future__ import annotations

import _thread
import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List

import pytest

import ycbg
from conftest import Emulator, SLACK


def test_sixteen_threads_share_one_client(client: ycbg.Client, emu: Emulator) -> None:
    barrier = threading.Barrier(16)

    def work(i: int) -> str:
        barrier.wait()
        with client.create_background(model="yandexgpt", input=f"thread {i}") as t:
            assert t.wait(timeout=30 + SLACK) == "completed"
            return t.output_text

    with ThreadPoolExecutor(16) as pool:
        texts = list(pool.map(work, range(16)))
    assert texts == [f"Echo: thread {i}" for i in range(16)]
    assert emu.stats()["responses"] == 16


def test_threads_share_one_task(client: ycbg.Client) -> None:
    t = client.create_background(model="yandexgpt", input="shared task")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: t.wait(timeout=30 + SLACK), range(8)))
    assert results == ["completed"] * 8
    assert t.output_text == "Echo: shared task"


def test_close_while_another_thread_waits(emu: Emulator) -> None:
    emu.settings(work_ms=600)
    c = emu.client()
    t = c.create_background(model="yandexgpt", input="x")
    errors: List[BaseException] = []
    done = threading.Event()

    def waiter() -> None:
        try:
            t.wait(timeout=10 + SLACK)
        except ycbg.Error as e:       # closed between two slices
            errors.append(e)
        done.set()

    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.3)
    t.close()                           # must not free the handle under the running call
    c.close()
    th.join(15)
    assert done.is_set()
    assert all(isinstance(e, ycbg.InvalidArgumentError) for e in errors)
    # freed by whichever finished last, exactly once
    assert t._handle._ptr is None and t._handle._users == 0
    assert t.status in ("in_progress", "completed")


def test_close_client_while_threads_create(emu: Emulator) -> None:
    emu.settings(queue_ms=0, work_ms=0)
    c = emu.client()
    outcomes: List[str] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        for j in range(20):
            try:
                t = c.create_background(model="yandexgpt", input=f"{i}-{j}")
            except ycbg.InvalidArgumentError:
                with lock:
                    outcomes.append("closed")
                return
            try:
                # tasks outlive the closed client
                ok = t.wait(timeout=10 + SLACK) == "completed" and t.output_text == f"Echo: {i}-{j}"
                t.close()
            except BaseException as e:  # reported below, not lost in the thread
                ok, _ = False, e
            with lock:
                outcomes.append("ok" if ok else "bad")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    time.sleep(0.05)
    c.close()
    for th in threads:
        th.join(30)
    assert c._handle._ptr is None
    assert len(outcomes) >= 8 and set(outcomes) <= {"ok", "closed"}


def test_wait_async_does_not_block_the_loop(emu: Emulator) -> None:
    emu.settings(queue_ms=200, work_ms=600)

    async def main() -> None:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        tick_task = asyncio.create_task(ticker())
        with emu.client() as c:
            tasks = [c.create_background(model="yandexgpt", input=f"async {i}") for i in range(4)]
            start = time.monotonic()
            statuses = await asyncio.gather(*(t.wait_async(timeout=20 + SLACK) for t in tasks))
            elapsed = time.monotonic() - start
            stop.set()
            await tick_task
            assert statuses == ["completed"] * 4
            assert [t.output_text for t in tasks] == [f"Echo: async {i}" for i in range(4)]
            # the loop kept running while the tasks were waited for
            assert ticks >= elapsed / 0.01 * 0.2, (ticks, elapsed)
            for t in tasks:
                t.close()

    asyncio.run(main())


def test_wait_async_timeout_and_cancellation(emu: Emulator) -> None:
    emu.settings(work_ms=10_000)

    async def main() -> None:
        with emu.client() as c, c.create_background(model="yandexgpt", input="x") as t:
            start = time.monotonic()
            status = await t.wait_async(timeout=0.5)
            assert status in ("queued", "in_progress")
            assert time.monotonic() - start < 2.0 + SLACK
            waiter = asyncio.create_task(t.wait_async())
            await asyncio.sleep(0.3)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            assert t.cancel() == "cancelled"
            assert await t.wait_async() == "cancelled"

    asyncio.run(main())


def test_wait_is_interruptible_by_ctrl_c(emu: Emulator, sigint_raises: None) -> None:
    emu.settings(work_ms=30_000)
    with emu.client() as c, c.create_background(model="yandexgpt", input="x") as t:
        timer = threading.Timer(0.3, _thread.interrupt_main)
        start = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            t.wait()
        elapsed = time.monotonic() - start
        timer.join()
        assert elapsed < 1.5 + SLACK, elapsed
        assert t.cancel() == "cancelled"
