"""Fixtures for testing yc-emulator itself.

The emulator binary comes from $YC_EMULATOR, else build/bin/yc-emulator, else
.build-emu/debug/yc-emulator (paths relative to the repository root). One emulator
process serves the whole session; every test starts from POST /_emulator/reset.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import select
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
API_KEY = "test-key"
IAM_TOKEN = "test-iam-token"
FOLDER = "folder"
MODEL = f"gpt://{FOLDER}/yandexgpt"
# Every wall-clock bound in these tests adds this slack, in seconds:
# YCBG_TIME_SLACK_MS (default 2500), the one slack every suite of ycbg reads.
_SLACK_MS = os.environ.get("YCBG_TIME_SLACK_MS", "")
SLACK = int(_SLACK_MS) / 1000 if _SLACK_MS.isdigit() and int(_SLACK_MS) > 0 else 2.5
LISTENING = re.compile(r"^yc-emulator listening on http://127\.0\.0\.1:(\d+)/v1$")


def emulator_binary() -> Path:
    candidates = []
    if os.environ.get("YC_EMULATOR"):
        candidates.append(Path(os.environ["YC_EMULATOR"]))
    candidates += [REPO / "build/bin/yc-emulator", REPO / ".build-emu/debug/yc-emulator"]
    for path in candidates:
        path = path if path.is_absolute() else REPO / path
        if path.is_file() and os.access(path, os.X_OK):
            return path
    raise RuntimeError(
        "yc-emulator binary not found; build it with "
        "`swift build --product yc-emulator --scratch-path .build-emu` or set YC_EMULATOR"
    )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Emulator:
    """A running emulator process and small raw-HTTP helpers for talking to it."""

    process: subprocess.Popen
    port: int
    line: str
    stderr_path: str
    host: str = "127.0.0.1"
    extra: dict = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def v1(self) -> str:
        return f"{self.base_url}/v1"

    def connection(self, timeout: float = 10) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        auth: str | None = f"Api-Key {API_KEY}",
        conn: http.client.HTTPConnection | None = None,
        timeout: float = 10,
    ) -> Answer:
        """One request; `body` may be bytes, str or a JSON-able value. Uses `conn` if given (kept open)."""
        all_headers = dict(headers or {})
        if auth is not None:
            all_headers.setdefault("Authorization", auth)
        data: bytes | None
        if body is None:
            data = None
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        own = conn is None
        c = conn or self.connection(timeout)
        try:
            c.request(method, path, body=data, headers=all_headers)
            r = c.getresponse()
            payload = r.read()
            return Answer(r.status, {k.lower(): v for k, v in r.getheaders()}, payload)
        finally:
            if own:
                c.close()

    def control(self, method: str, path: str, body: Any = None, conn=None) -> Answer:
        return self.request(method, "/_emulator/" + path, body, auth=None, conn=conn)

    def reset(self) -> None:
        assert self.control("POST", "reset").status == 200

    def add_faults(self, faults: Any) -> Answer:
        answer = self.control("POST", "faults", faults)
        assert answer.status == 200, answer.body
        return answer

    def stats(self, conn=None) -> dict:
        return self.control("GET", "stats", conn=conn).json()

    def recorded(self, limit: int = 100) -> list:
        return self.control("GET", f"requests?limit={limit}").json()

    def create(self, headers=None, conn=None, **fields) -> Answer:
        body = {"model": MODEL, "input": "hello", "background": True}
        body.update(fields)
        return self.request("POST", "/v1/responses", body, headers=headers, conn=conn)

    def retrieve(self, response_id: str) -> Answer:
        return self.request("GET", f"/v1/responses/{response_id}")

    def wait_terminal(self, response_id: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout + SLACK
        while True:
            answer = self.retrieve(response_id)
            assert answer.status == 200, answer.body
            obj = answer.json()
            if obj["status"] not in ("queued", "in_progress"):
                return obj
            assert time.monotonic() < deadline, f"{response_id} still {obj['status']}"
            time.sleep(0.02)


def start_emulator(*args: str) -> Emulator:
    """Starts the binary on a free port and waits for its one 'listening on' line."""
    stderr = tempfile.NamedTemporaryFile(prefix="yc-emulator-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [str(emulator_binary()), "--port", "0", "--exit-on-stdin-eof", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=REPO,
    )
    ready, _, _ = select.select([process.stdout], [], [], 20 + SLACK)
    line = process.stdout.readline().decode().rstrip("\n") if ready else ""
    match = LISTENING.match(line)
    if not match:
        process.kill()
        process.wait()
        raise RuntimeError(f"emulator did not start: {line!r}; stderr: {Path(stderr.name).read_text()}")
    return Emulator(process, int(match.group(1)), line, stderr.name)


def stop_emulator(emulator: Emulator) -> int | None:
    process = emulator.process
    try:
        process.stdin.close()  # --exit-on-stdin-eof
        return process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None
    finally:
        process.stdout.close()
        os.unlink(emulator.stderr_path)


@pytest.fixture(scope="session")
def emulator_session():
    emulator = start_emulator("--queue-ms", "100", "--work-ms", "200")
    yield emulator
    stop_emulator(emulator)


@pytest.fixture
def emulator(emulator_session) -> Emulator:
    """The shared emulator, reset to its command-line state."""
    assert emulator_session.process.poll() is None, "the emulator died during an earlier test"
    emulator_session.reset()
    return emulator_session


@pytest.fixture
def start():
    """Starts extra emulators with their own arguments; all are stopped after the test."""
    started: list[Emulator] = []

    def _start(*args: str) -> Emulator:
        started.append(start_emulator(*args))
        return started[-1]

    yield _start
    for emulator in started:
        if emulator.process.poll() is None:
            stop_emulator(emulator)
