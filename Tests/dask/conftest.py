"""Fixtures for the Dask example's test: the emulator fixtures of Tests/emulator
(`emulator_session`, `emulator`), loaded as Tests/cli/conftest.py loads them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

emulator_conftest = sys.modules.get("emulator_conftest")
if emulator_conftest is None:
    _spec = importlib.util.spec_from_file_location("emulator_conftest", REPO / "Tests/emulator/conftest.py")
    emulator_conftest = importlib.util.module_from_spec(_spec)
    sys.modules["emulator_conftest"] = emulator_conftest  # dataclasses look their module up
    _spec.loader.exec_module(emulator_conftest)

# Re-exported: pytest finds fixtures by name in this module.
emulator_session = emulator_conftest.emulator_session
emulator = emulator_conftest.emulator
API_KEY = emulator_conftest.API_KEY
FOLDER = emulator_conftest.FOLDER
MODEL = emulator_conftest.MODEL
SLACK = emulator_conftest.SLACK
