"""The benchmark's Python clients, one per process (bench/run.py starts them).

usage: py_client.py KIND BASE_URL N HTTP_VERSION CA_FILE POLL_MS WORKERS

KIND:
  yc-py         this library through its C ABI with ctypes: yc_submit for every
                task, then yc_next_events when yc_client_fd() is readable
                (the binding's loaded library, ycbg._native.lib; the
                many-task calls are declared here, thinly)
  openai-sync   the official openai SDK, OpenAI, a ThreadPoolExecutor of
                WORKERS threads, each task: responses.create(background=True),
                retrieve every POLL_MS until terminal, output_text
  openai-async  the same with AsyncOpenAI, all N tasks as coroutines at once

Prints one JSON line like the C clients: cpu_s and wall_s are measured from
after the imports to the end (interpreter start-up and imports are left out),
maxrss_kb is ru_maxrss of the whole process.
"""

import json
import os
import resource
import select
import sys
import time

KIND, BASE, N, VERSION, CA, POLL_MS, WORKERS = sys.argv[1:8]
N, POLL_MS, WORKERS = int(N), int(POLL_MS), int(WORKERS)
POLL_S = POLL_MS / 1000.0
MODEL = "gpt://b1gbench/yandexgpt"
# Enough for the quota rows (429s with retry-after); no effect without quotas.
MAX_RETRIES = 200
TERMINAL = {"completed", "failed", "cancelled", "incomplete"}


def threads_now():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def cpu_now():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_yc():
    import ctypes
    from ycbg import _native
    lib = _native.lib

    class Event(ctypes.Structure):
        _fields_ = [("task", ctypes.c_void_p), ("tag", ctypes.c_uint64),
                    ("status", ctypes.c_int), ("error_json", ctypes.c_void_p)]

    lib.yc_submit.restype = ctypes.c_void_p
    lib.yc_submit.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64,
                              ctypes.POINTER(ctypes.c_void_p)]
    lib.yc_next_events.restype = ctypes.c_int
    lib.yc_next_events.argtypes = [ctypes.c_void_p, ctypes.POINTER(Event), ctypes.c_int,
                                   ctypes.c_long]
    lib.yc_client_fd.restype = ctypes.c_int
    lib.yc_client_fd.argtypes = [ctypes.c_void_p]

    config = {"base_url": BASE, "api_key": "test-key", "folder_id": "b1gbench",
              "http_version": VERSION, "poll_interval_ms": POLL_MS,
              "max_poll_interval_ms": POLL_MS, "max_in_flight": WORKERS}
    if CA:
        config["ca_file"] = CA
    err = _native.new_error_slot()
    client = lib.yc_client_new(json.dumps(config).encode(), ctypes.byref(err))
    if not client:
        raise SystemExit("yc_client_new: %r" % _native.take_string(err.value))
    fd = lib.yc_client_fd(client)
    for i in range(N):
        req = b'{"model":"yandexgpt","input":"bench %d"}' % i
        if not lib.yc_submit(client, req, i, ctypes.byref(err)):
            raise SystemExit("yc_submit: %r" % _native.take_string(err.value))
    events = (Event * 256)()
    done = ok = 0
    deadline = time.monotonic() + 600
    while done < N and time.monotonic() < deadline:
        select.select([fd], [], [], 1.0)
        got = lib.yc_next_events(client, events, 256, 0)
        for k in range(got):
            ev = events[k]
            done += 1
            text = _native.take_string(lib.yc_output_text(ev.task)) or b""
            if ev.status == 2 and text.startswith(b"Echo: bench "):
                ok += 1
            if ev.error_json:
                lib.yc_free(ev.error_json)
            lib.yc_task_free(ev.task)
    lib.yc_client_free(client)
    return ok


def http_client(sync):
    import openai
    kw = {"http2": VERSION != "1.1"}
    if CA:
        kw["verify"] = CA
    return (openai.DefaultHttpxClient if sync else openai.DefaultAsyncHttpxClient)(**kw)


def run_openai_sync():
    import openai
    from concurrent.futures import ThreadPoolExecutor
    client = openai.OpenAI(base_url=BASE, api_key="test-key", max_retries=MAX_RETRIES,
                           http_client=http_client(True))

    def one(i):
        r = client.responses.create(model=MODEL, input="bench %d" % i, background=True)
        while r.status not in TERMINAL:
            time.sleep(POLL_S)
            r = client.responses.retrieve(r.id)
        return r.status == "completed" and r.output_text.startswith("Echo: bench ")

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        ok = sum(pool.map(one, range(N)))
    client.close()
    return ok


def run_openai_async():
    import asyncio
    import openai

    async def main():
        client = openai.AsyncOpenAI(base_url=BASE, api_key="test-key", max_retries=MAX_RETRIES,
                                    http_client=http_client(False))

        async def one(i):
            r = await client.responses.create(model=MODEL, input="bench %d" % i, background=True)
            while r.status not in TERMINAL:
                await asyncio.sleep(POLL_S)
                r = await client.responses.retrieve(r.id)
            return r.status == "completed" and r.output_text.startswith("Echo: bench ")

        results = await asyncio.gather(*(one(i) for i in range(N)))
        await client.close()
        return sum(results)

    return asyncio.run(main())


RUN = {"yc-py": run_yc, "openai-sync": run_openai_sync, "openai-async": run_openai_async}[KIND]
if KIND != "yc-py":
    import openai  # noqa: F401  (imports are not measured)
    import httpx2  # noqa: F401
threads_before = threads_now()
c0, t0 = cpu_now(), time.monotonic()
ok = RUN()
t1, c1 = time.monotonic(), cpu_now()
print(json.dumps({"ok": ok, "failed": N - ok, "cpu_s": c1 - c0, "wall_s": t1 - t0,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "threads_before": threads_before}), flush=True)
sys.exit(0 if ok == N else 1)
