"""examples/dask/ycbg_dask.py on a local Dask cluster (2 worker processes)
against the emulator: every line answered exactly once, from more than one
worker, bad lines as error lines, and one create per line that reached the server."""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter

import pytest
from conftest import API_KEY, FOLDER, MODEL, REPO, SLACK

sys.path.insert(0, str(REPO / "examples/dask"))
import ycbg_dask  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402

GOOD = 60
PARTITIONS = 4
PROXIES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(scope="module")
def cluster(emulator_session, tmp_path_factory):
    """Two worker processes, one thread each, all on 127.0.0.1. The workers
    inherit the emulator's address and credentials through the environment."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("YC_BASE_URL", emulator_session.v1)
        env.setenv("YC_API_KEY", API_KEY)
        env.setenv("YC_FOLDER_ID", FOLDER)
        env.delenv("YC_IAM_TOKEN", raising=False)
        for name in PROXIES + tuple(p.upper() for p in PROXIES):
            env.delenv(name, raising=False)
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.ERROR,
                          local_directory=str(tmp_path_factory.mktemp("dask"))) as cluster:
            with Client(cluster) as client:
                client.wait_for_workers(2, timeout=30 + SLACK)
            yield cluster


def write_input(path):
    """GOOD lines in both forms, and a bad one after every 10; returns {line number: error code}."""
    lines, bad = [], {}
    for i in range(GOOD):
        cid = f"req-{i:03d}"
        if i % 2:
            lines.append({"custom_id": cid, "method": "POST", "url": "/v1/responses",
                          "body": {"model": MODEL, "input": f"prompt {i}"}})
        else:
            lines.append({"custom_id": cid, "input": f"prompt {i}"})   # the short form, --model
        if i % 10 == 5:
            bad_line, code = [
                ('{"custom_id": "broken", ', "invalid_json"),
                ({"input": "no custom_id"}, "invalid_request"),
                ({"custom_id": "req-000", "input": "a duplicate"}, "duplicate_custom_id"),
                ({"custom_id": "bad-url", "method": "POST", "url": "/v1/chat/completions",
                  "body": {"model": MODEL, "input": "x"}}, "invalid_request"),
                ({"custom_id": "bad-body", "method": "POST", "url": "/v1/responses", "body": "x"},
                 "invalid_request"),
                ({"custom_id": "refused", "input": "x", "metadata": {"emulator_outcome": "nonsense"}},
                 "invalid_value"),    # sent, and refused by the server (400)
            ][i // 10]
            lines.append(bad_line)
            bad[len(lines)] = code
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return bad


def output_text(body):
    return "".join(part["text"] for item in body["output"] if item["type"] == "message"
                   for part in item["content"] if part["type"] == "output_text")


@pytest.mark.parametrize("split", ["lines", "hash"])
def test_every_line_once_from_several_workers(cluster, emulator, tmp_path, split):
    source, result = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    bad = write_input(source)
    parts = ycbg_dask.main([str(source), "-o", str(result), "--scheduler", cluster.scheduler_address,
                            "--partitions", str(PARTITIONS), "--split", split, "--model", MODEL,
                            "--timeout", str(30 + SLACK)])

    out = [json.loads(line) for line in result.read_text().splitlines()]
    assert len(out) == GOOD + len(bad)
    ids = Counter(line["custom_id"] for line in out if line["custom_id"] is not None)
    assert sorted(ids) == sorted([f"req-{i:03d}" for i in range(GOOD)] + ["bad-url", "bad-body", "refused"])
    assert set(ids.values()) == {1}

    answered = {line["custom_id"]: line for line in out if line["response"] is not None}
    assert sorted(answered) == [f"req-{i:03d}" for i in range(GOOD)]
    for cid, line in answered.items():
        body = line["response"]["body"]
        assert line["error"] is None and line["response"]["status_code"] == 200
        assert body["object"] == "response" and body["status"] == "completed"
        assert line["id"].startswith("batch_req_")
        assert output_text(body) == f"Echo: prompt {int(cid[4:])}"

    # Each bad line is one error line, naming its line number.
    errors = [line["error"] for line in out if line["response"] is None]
    assert {int(e["message"].split(":")[0].removeprefix("line ")): e["code"] for e in errors} == bad
    assert len(errors) == len(bad)
    assert len({line["id"] for line in out}) == len(out)  # output line ids are unique

    # Four partitions, and the driver's own error lines; more than one worker ran them.
    workers = [p["worker"] for p in parts]
    assert workers.count(None) == 1 and len(workers) == PARTITIONS + 1
    assert len(set(workers) - {None}) > 1
    assert sum(p["lines"] for p in parts) == len(out)

    # One create per line that reached the server: the good ones and the refused one.
    stats = emulator.stats()
    assert stats["requests"]["create"] == GOOD + 1
    assert stats["responses"] == GOOD


def test_hash_partitions_are_ycbg_batch_shards():
    """--split hash puts a line where `ycbg batch --shard K/N` would: FNV-1a 64
    (reference values of the FNV test suite), modulo N."""
    assert ycbg_dask.shard_of("", 1 << 63) == 0xcbf29ce484222325 % (1 << 63)
    assert ycbg_dask.shard_of("a", 1 << 63) == 0xaf63dc4c8601ec8c % (1 << 63)
    assert ycbg_dask.shard_of("foobar", 1 << 63) == 0x85944171f73967e8 % (1 << 63)
