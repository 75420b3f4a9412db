"""Fixtures: a yc-emulator per test module, reset before every test.

Environment:
  YC_EMULATOR    the emulator binary (default <repo>/build/bin/yc-emulator)
  YCBG_LIBRARY   libycbg.so.0 to test (default: the package's usual lookup)
  YCBG_TEST_INSTALLED=1  test the installed ycbg instead of this source tree
"""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

import pytest

HERE = Path(__file__).resolve().parent
PKG_ROOT = HERE.parent                      # bindings/python
REPO = PKG_ROOT.parent.parent               # the project root

if not os.environ.get("YCBG_TEST_INSTALLED"):
    sys.path.insert(0, str(PKG_ROOT))

API_KEY = "ycbg-py-test-key-7f3a9c"   # distinctive, so leaks can be searched for
IAM_TOKEN = "ycbg-py-test-iam-2b8d41"
FOLDER = "b1gtestfolder"
# Every wall-clock bound in these tests adds this slack, in seconds:
# YCBG_TIME_SLACK_MS (default 2500), the one slack every suite of ycbg reads.
_SLACK_MS = os.environ.get("YCBG_TIME_SLACK_MS", "")
SLACK = int(_SLACK_MS) / 1000 if _SLACK_MS.isdigit() and int(_SLACK_MS) > 0 else 2.5
_LINE = re.compile(r"yc-emulator listening on (http://127\.0\.0\.1:(\d+)/v1)")


def emulator_binary() -> Path:
    env = os.environ.get("YC_EMULATOR")
    candidates = [Path(env)] if env else [REPO / "build" / "bin" / "yc-emulator",
                                          REPO / ".build-emu" / "debug" / "yc-emulator"]
    for c in candidates:
        if c.is_file():
            return c
    pytest.fail(f"yc-emulator not found (tried {', '.join(map(str, candidates))}); "
                "build it or set YC_EMULATOR", pytrace=False)
    raise AssertionError  # unreachable


class Emulator:
    """A running yc-emulator plus helpers for its /_emulator control endpoints."""

    def __init__(self, *extra_args: str) -> None:
        args = [str(emulator_binary()), "--port", "0", "--exit-on-stdin-eof",
                "--queue-ms", "100", "--work-ms", "200",
                "--api-key", API_KEY, "--iam-token", IAM_TOKEN, *extra_args]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line: List[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(15)
        m = _LINE.search(line[0]) if line else None
        if not m:
            self.stop()
            raise RuntimeError(f"yc-emulator did not start (first line: {line!r})")
        self.base_url = m.group(1)
        self.root = self.base_url[: -len("/v1")]
        self.port = int(m.group(2))

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()          # --exit-on-stdin-eof
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        for f in (self.proc.stdout,):
            if f:
                f.close()

    # -- control endpoints (urllib, no auth) ---------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.root + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def reset(self) -> None:
        self._request("POST", "/_emulator/reset", {})

    def faults(self, *faults: Dict[str, Any]) -> None:
        self._request("POST", "/_emulator/faults", list(faults))

    def clear_faults(self) -> None:
        self._request("DELETE", "/_emulator/faults")

    def settings(self, **settings: Any) -> None:
        self._request("POST", "/_emulator/settings", settings)

    def stats(self) -> Dict[str, Any]:
        return self._request("GET", "/_emulator/stats")

    def requests(self, limit: int = 100) -> List[Dict[str, Any]]:
        return self._request("GET", f"/_emulator/requests?limit={limit}")

    # -- client helpers ---------------------------------------------------------

    def config(self, **overrides: Any) -> Dict[str, Any]:
        cfg: Dict[str, Any] = {"base_url": self.base_url, "api_key": API_KEY,
                               "folder_id": FOLDER, "poll_interval_ms": 50,
                               "max_poll_interval_ms": 200}
        cfg.update(overrides)
        return cfg

    def client(self, **overrides: Any):  # -> ycbg.Client
        import ycbg
        return ycbg.Client(**self.config(**overrides))


@pytest.fixture(scope="module")
def _emulator_process() -> Iterator[Emulator]:
    emu = Emulator()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emu(_emulator_process: Emulator) -> Emulator:
    """The module's emulator, reset (faults, responses, counters, settings)."""
    _emulator_process.reset()
    return _emulator_process


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests configure clients explicitly; the caller's YC_* must not leak in."""
    for name in ("YC_BASE_URL", "YC_API_KEY", "YC_IAM_TOKEN", "YC_FOLDER_ID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    """Ctrl-C (and _thread.interrupt_main) raises KeyboardInterrupt during the test, also where
    the suite was started with SIGINT ignored (a shell's background job: Python then installs no
    handler of its own, and interrupt_main does nothing)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture
def client(emu: Emulator) -> Iterator[Any]:
    c = emu.client()
    try:
        yield c
    finally:
        c.close()
