"""Fixtures for the ycbg command-line tool's tests.

The emulator fixtures (`emulator`, `start`) are the ones of Tests/emulator;
`ycbg` runs build/bin/ycbg (or $YCBG_CLI) against an emulator, with the
library's environment variables and nothing else from the caller's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

sys.path.insert(0, str(REPO / "Tests"))
from emulator_fixtures import (  # noqa: E402,F401  (pytest finds the fixtures by name here)
    API_KEY, FOLDER, MODEL, SLACK, Emulator, emulator, emulator_conftest, emulator_session, start)


def ycbg_binary() -> Path:
    path = Path(os.environ.get("YCBG_CLI", REPO / "build/bin/ycbg"))
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise RuntimeError(f"{path} not found: build it with `make cli`")
    return path


def cli_env(emulator: Emulator | None, **extra: str) -> dict[str, str]:
    """A clean environment: PATH, LANG, and the library's variables for `emulator`."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TERM")}
    if emulator is not None:
        env.update(YC_API_KEY=API_KEY, YC_BASE_URL=emulator.v1, YC_FOLDER_ID=FOLDER)
    env.update(extra)
    return env


@pytest.fixture
def ycbg(emulator):
    """Runs `ycbg ARGS...` against the test's emulator: a CompletedProcess with text output."""

    def _run(*args: str, input: str | None = None, timeout: float = 60, env: dict | None = None,
             target: Emulator | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(ycbg_binary()), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout + SLACK,
            env=env if env is not None else cli_env(target or emulator),
            cwd=REPO,
        )

    return _run
