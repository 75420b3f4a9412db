"""Fixtures for the Dask example's test: the emulator fixtures of Tests/emulator
(`emulator_session`, `emulator`), through Tests/emulator_fixtures.py."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

sys.path.insert(0, str(REPO / "Tests"))
from emulator_fixtures import (  # noqa: E402,F401  (pytest finds the fixtures by name here)
    API_KEY, FOLDER, MODEL, SLACK, emulator, emulator_session)
