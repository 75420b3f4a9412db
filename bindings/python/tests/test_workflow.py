"""The seed workflow and the task lifecycle against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ycbg
from conftest import API_KEY, FOLDER, IAM_TOKEN, REPO, Emulator, SLACK

TERMINAL = ("completed", "failed", "cancelled", "incomplete")


def test_library_version() -> None:
    v = ycbg.library_version()
    parts = v.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts), v
    assert Path(ycbg.library_path).is_file()


def test_seed_workflow(emu: Emulator) -> None:
    client = ycbg.Client(api_key=API_KEY, folder_id=FOLDER, base_url=emu.base_url)
    resp = client.create_background(model="yandexgpt", input="Hello, background!")
    assert isinstance(resp.id, str) and resp.id
    assert resp.status in ("queued", "in_progress")
    seen = []
    while True:
        status = resp.poll()
        seen.append(status)
        assert isinstance(status, str)
        if status in TERMINAL:
            break
        time.sleep(0.05)
    assert status == "completed" and status is ycbg.Status.COMPLETED
    assert str(status) == "completed" and f"{status}" == "completed"
    assert resp.status == "completed" and resp.done
    assert resp.output_text == "Echo: Hello, background!"
    assert set(seen) <= {"queued", "in_progress", "completed"}
    # the model short name was expanded with the folder, background forced on
    creates = [r for r in emu.requests() if r["method"] == "POST" and r["path"] == "/v1/responses"]
    assert len(creates) == 1
    body = json.loads(creates[0]["body"])
    assert body["model"] == f"gpt://{FOLDER}/yandexgpt"
    assert body["background"] is True
    assert body["input"] == "Hello, background!"
    client.close()
    resp.close()


def test_result_document_usage_and_response(client: ycbg.Client) -> None:
    with client.create_background(model="yandexgpt", input="one two three") as resp:
        assert resp.usage is None            # null until terminal
        assert resp.output_text == ""
        assert resp.wait(timeout=10 + SLACK) == "completed"
        r = resp.result
        assert r["id"] == resp.id and r["status"] == "completed"
        assert r["output_text"] == "Echo: one two three"
        assert r["error"] is None and resp.error is None
        assert isinstance(resp.usage, dict)
        assert resp.usage["input_tokens"] == 3
        assert resp.usage["output_tokens"] == 4
        assert resp.response is not None and resp.response["id"] == resp.id


def test_output_text_computed_from_output_items(emu: Emulator) -> None:
    emu.settings(output_text=False)            # OpenAI shape: no top-level output_text
    with emu.client() as c, c.create_background(model="yandexgpt", input="Привет, мир") as t:
        assert t.wait(timeout=10 + SLACK) == "completed"
        assert "output_text" not in t.response
        assert t.output_text == "Echo: Привет, мир"


def test_other_fields_are_forwarded(client: ycbg.Client, emu: Emulator) -> None:
    t = client.create_background(model="yandexgpt", input="x", instructions="be brief",
                                 temperature=0.5, max_output_tokens=None,
                                 metadata={"emulator_output_text": "custom"})
    assert t.wait(timeout=10 + SLACK) == "completed"
    assert t.output_text == "custom"
    body = json.loads([r for r in emu.requests() if r["path"] == "/v1/responses"][0]["body"])
    assert body["instructions"] == "be brief" and body["temperature"] == 0.5
    assert "max_output_tokens" not in body      # None keywords are omitted


def test_request_as_mapping_and_as_json_text(client: ycbg.Client) -> None:
    t1 = client.create_background({"model": "yandexgpt", "input": "from dict"})
    t2 = client.create_background('{"model": "yandexgpt", "input": "from json"}')
    t3 = client.create_background({"model": "yandexgpt", "input": "old"}, input="overridden")
    assert t1.wait(10) == t2.wait(10) == t3.wait(10) == "completed"
    assert t1.output_text == "Echo: from dict"
    assert t2.output_text == "Echo: from json"
    assert t3.output_text == "Echo: overridden"


def test_wait_with_timeout_returns_non_terminal_quickly(emu: Emulator) -> None:
    emu.settings(work_ms=10_000)
    with emu.client() as c, c.create_background(model="yandexgpt", input="slow") as t:
        start = time.monotonic()
        status = t.wait(timeout=0.5)
        elapsed = time.monotonic() - start
        assert status in ("queued", "in_progress")
        assert not status.terminal and not t.done
        assert 0.4 <= elapsed < 2.0 + SLACK, elapsed
        start = time.monotonic()
        assert t.wait(timeout=0) in ("queued", "in_progress")   # at most one poll
        assert time.monotonic() - start < 1.0


def test_wait_until_done(client: ycbg.Client) -> None:
    t = client.create_background(model="yandexgpt", input="wait for me")
    assert t.wait() == "completed"
    assert t.output_text == "Echo: wait for me"


def test_cancel(emu: Emulator) -> None:
    emu.settings(work_ms=10_000)
    with emu.client() as c, c.create_background(model="yandexgpt", input="stop me") as t:
        assert t.cancel() == "cancelled"
        assert t.status == "cancelled" and t.done
        before = emu.stats()["requests"]
        # terminal: no further request
        assert t.poll() == "cancelled"
        assert t.wait() == "cancelled"
        assert t.cancel() == "cancelled"
        assert emu.stats()["requests"] == before


def test_cancel_after_completion_stays_completed(client: ycbg.Client) -> None:
    t = client.create_background(model="yandexgpt", input="quick")
    assert t.wait(10) == "completed"
    assert t.cancel() == "completed"


def test_attach_from_a_fresh_client(emu: Emulator) -> None:
    with emu.client() as c1:
        rid = c1.create_background(model="yandexgpt", input="saved id").id
    with emu.client() as c2:
        t = c2.attach(rid)
        assert t.id == rid
        assert t.client is c2
        assert t.wait(timeout=10 + SLACK) == "completed"
        assert t.output_text == "Echo: saved id"
        again = c2.attach(rid)            # attach to a finished one: already terminal
        assert again.status == "completed" and again.done
        assert again.output_text == "Echo: saved id"


def test_attach_unknown_id(client: ycbg.Client) -> None:
    with pytest.raises(ycbg.APIError) as ei:
        client.attach("00000000-0000-0000-0000-000000000000")
    assert ei.value.kind == "api" and ei.value.http_status == 404
    assert ei.value.code == "not_found"


def test_generation_failed_and_incomplete(client: ycbg.Client) -> None:
    failed = client.create_background(model="yandexgpt", input="x",
                                      metadata={"emulator_outcome": "failed"})
    assert failed.wait(10) == "failed"          # terminal: returned, not raised
    assert failed.poll() == "failed"
    err = failed.error
    assert isinstance(err, ycbg.GenerationError) and err.kind == "generation"
    assert err.code == "server_error"

    inc = client.create_background(model="yandexgpt", input="a b c d e", max_output_tokens=2)
    assert inc.wait(10) == "incomplete"
    assert isinstance(inc.error, ycbg.GenerationError)
    assert inc.error.code == "max_output_tokens"
    assert inc.output_text == "Echo: a"


def test_context_managers_and_close(emu: Emulator) -> None:
    with emu.client() as c:
        with c.create_background(model="yandexgpt", input="ctx") as t:
            assert t.wait(10) == "completed"
        assert t.closed
        # properties answer from the snapshot taken at close
        assert t.output_text == "Echo: ctx" and t.status == "completed"
        assert t.result["status"] == "completed" and t.usage is not None
        t.close()                              # idempotent
        with pytest.raises(ycbg.InvalidArgumentError, match="closed"):
            t.poll()
        with pytest.raises(ycbg.Error):
            t.wait()
    assert c.closed
    c.close()
    with pytest.raises(ycbg.InvalidArgumentError, match="closed"):
        c.create_background(model="yandexgpt", input="after close")
    with pytest.raises(ycbg.InvalidArgumentError, match="closed"):
        c.attach("x")


def test_task_outlives_closed_client(emu: Emulator) -> None:
    c = emu.client()
    t = c.create_background(model="yandexgpt", input="orphan")
    c.close()
    assert t.wait(10) == "completed"           # the C library keeps the client alive
    assert t.output_text == "Echo: orphan"
    t.close()


def test_config_from_environment(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YC_BASE_URL", emu.base_url)
    monkeypatch.setenv("YC_API_KEY", API_KEY)
    monkeypatch.setenv("YC_FOLDER_ID", FOLDER)
    with ycbg.Client(api_key=None, folder_id=None, base_url=None) as c:   # None -> env
        t = c.create_background(model="yandexgpt", input="env")
        assert t.wait(10) == "completed" and t.output_text == "Echo: env"


def test_iam_token_credential(emu: Emulator) -> None:
    with ycbg.Client(iam_token=IAM_TOKEN, folder_id=FOLDER, base_url=emu.base_url) as c:
        t = c.create_background(model="yandexgpt", input="iam")
        assert t.wait(10) == "completed"
    auth = emu.requests()[-1]["headers"]["authorization"]
    assert auth.startswith("Bearer ")


def test_status_enum() -> None:
    assert ycbg.Status("queued") is ycbg.Status.QUEUED
    assert ycbg.Status.IN_PROGRESS == "in_progress"
    assert "completed" in (ycbg.Status.COMPLETED,)
    assert ycbg.Status.COMPLETED in ("completed", "failed")
    assert {s.value for s in ycbg.TERMINAL_STATUSES} == set(TERMINAL)
    assert not ycbg.Status.QUEUED.terminal and ycbg.Status.CANCELLED.terminal


def test_example_workflow_script(emu: Emulator) -> None:
    script = REPO / "examples" / "python" / "workflow.py"
    env = dict(os.environ, YC_BASE_URL=emu.base_url, YC_API_KEY=API_KEY, YC_FOLDER_ID=FOLDER,
               YCBG_POLL_SECONDS="0.1")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "bindings" / "python")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    out = subprocess.run([sys.executable, str(script), "Hello from the example"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("Task sent: ") and len(lines[0]) > len("Task sent: ")
    statuses = [l[len("Status: "):] for l in lines if l.startswith("Status: ")]
    assert statuses and statuses[-1] == "completed"
    assert set(statuses) <= {"queued", "in_progress", "completed"}
    assert lines[-1] == "Final response: Echo: Hello from the example"


def test_output_text_keeps_a_nul_inside(client: ycbg.Client) -> None:
    # JSON text may carry "\u0000"; output_text returns all of it, the same
    # text as the result document (yc_output_text_len, not yc_output_text).
    with client.create_background(model="yandexgpt", input="before\x00after") as resp:
        assert resp.wait(timeout=10) == "completed"
        assert resp.output_text == "Echo: before\x00after"
        assert resp.result["output_text"] == resp.output_text
