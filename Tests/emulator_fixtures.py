"""The emulator fixtures of Tests/emulator/conftest.py, for the conftests of
other suites (Tests/cli, Tests/dask): they put Tests/ on sys.path and import
the names they need from here; pytest finds fixtures by name in a conftest.
The module is loaded once, under the name "emulator_conftest" (its
dataclasses look their module up in sys.modules)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

emulator_conftest = sys.modules.get("emulator_conftest")
if emulator_conftest is None:
    _spec = importlib.util.spec_from_file_location(
        "emulator_conftest", Path(__file__).resolve().parent / "emulator/conftest.py")
    emulator_conftest = importlib.util.module_from_spec(_spec)
    sys.modules["emulator_conftest"] = emulator_conftest
    _spec.loader.exec_module(emulator_conftest)

emulator_session = emulator_conftest.emulator_session
emulator = emulator_conftest.emulator
start = emulator_conftest.start
Emulator = emulator_conftest.Emulator
API_KEY = emulator_conftest.API_KEY
FOLDER = emulator_conftest.FOLDER
MODEL = emulator_conftest.MODEL
SLACK = emulator_conftest.SLACK
