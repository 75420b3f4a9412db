"""The typed configuration accepts every key of the header's config table,
and the package's version is the library's (YCBG_VERSION_* in ycbg.h)."""

from __future__ import annotations

import datetime
import inspect
import re
import sys
from pathlib import Path
from typing import List

import pytest

import ycbg
from ycbg import _client
from conftest import PKG_ROOT, REPO, Emulator

HEADER = REPO / "include" / "ycbg.h"


def header_config_keys() -> List[str]:
    """The keys of the config_json table in the comment of yc_client_new."""
    text = HEADER.read_text()
    table = text.split("config_json: NULL", 1)[1].split("\n *\n", 1)[1].split("\n *\n", 1)[0]
    keys = re.findall(r"^ \*   ([a-z_]+) +(?:string|integer|number|bool|object)\b", table, re.M)
    assert len(keys) >= 16, table  # the table was found and read
    return keys


def header_version() -> str:
    text = HEADER.read_text()
    parts = [re.search(rf"^#define YCBG_VERSION_{p} +(\d+)", text, re.M) for p in ("MAJOR", "MINOR", "PATCH")]
    assert all(parts), "YCBG_VERSION_* macros missing from ycbg.h"
    return ".".join(m.group(1) for m in parts if m)


def test_every_header_key_is_a_client_keyword() -> None:
    params = inspect.signature(ycbg.Client.__init__).parameters
    typed = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    missing = [k for k in header_config_keys() if k not in typed]
    assert not missing, f"ycbg.Client has no typed keyword for {missing}"


def test_every_keyword_is_sent_under_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every typed keyword given a value lands in the config JSON under the
    # header's name for it.
    sent = []
    real = _client._encode_json
    monkeypatch.setattr(_client, "_encode_json", lambda v, what: (sent.append(v), real(v, what))[1])
    text = HEADER.read_text()
    keys = header_config_keys()
    sample = {"string": "x", "integer": 1, "number": 1.5, "bool": True, "object": {}}
    kinds = {k: re.search(rf"^ \*   {k} +(\w+)", text, re.M).group(1) for k in keys}  # type: ignore[union-attr]
    with pytest.raises(ycbg.ConfigError):   # api_key and iam_token both given
        ycbg.Client(**{k: sample[kinds[k]] for k in keys})
    assert sorted(sent[0]) == sorted(keys)


def test_trust_idempotency_key_is_accepted(emu: Emulator) -> None:
    ycbg.Client(**emu.config(trust_idempotency_key=True)).close()
    with pytest.raises(ycbg.ConfigError, match="no_such_key"):
        ycbg.Client(**emu.config(no_such_key=1))


def test_ms_keys_take_a_timedelta(emu: Emulator) -> None:
    assert _client._config_value("poll_interval_ms", datetime.timedelta(seconds=1.5)) == 1500
    assert _client._config_value("timeout_ms", datetime.timedelta(microseconds=1)) == 1  # rounded up
    assert _client._config_value("timeout_ms", 250) == 250
    with pytest.raises(ycbg.InvalidArgumentError):
        _client._config_value("max_retries", datetime.timedelta(seconds=1))
    client = ycbg.Client(**emu.config(poll_interval_ms=datetime.timedelta(milliseconds=20),
                                      max_poll_interval_ms=datetime.timedelta(milliseconds=100)))
    with client, client.create_background(model="yandexgpt", input="td") as task:
        assert task.wait(timeout=10) == "completed"


def test_version_is_the_headers() -> None:
    assert ycbg.__version__ == header_version()
    assert ycbg.library_version() == header_version()
    pyproject = (PKG_ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = {attr = "ycbg._version.__version__"}' in pyproject


def test_version_compatibility_rule() -> None:
    from ycbg import _native
    assert _native.compatible("0.1.0", "0.1.0")
    assert _native.compatible("0.1.0", "0.2.3")       # a later minor only adds
    assert not _native.compatible("0.2.0", "0.1.9")   # older minor: functions missing
    assert not _native.compatible("0.1.0", "1.1.0")   # another major
    assert not _native.compatible("0.1.0", "")
    assert not _native.compatible("0.1.0", "x.y")
