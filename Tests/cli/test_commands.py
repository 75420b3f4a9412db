"""The one-job commands of ycbg (run, submit, status, wait, cancel, result) against the emulator.

Each test runs the real binary in its own process, as a shell would, and checks stdout, stderr,
the exit status and what the emulator saw (its recorded requests and its own view of the job).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import subprocess
import time

import pytest

from conftest import API_KEY, FOLDER, SLACK, cli_env, ycbg_binary

# Commands that poll do so every 50 ms at first (the library's default is 500 ms).
FAST = ("--poll-interval-ms", "50")
# A job that stays in progress far longer than any test (cancelled or left to the emulator).
SLOW = json.dumps({"metadata": {"emulator_queue_ms": "100", "emulator_work_ms": "600000"}})
ID = re.compile(r"^[A-Za-z0-9_-]+$")


def creates(emulator) -> list[dict]:
    """The bodies of the creates the emulator received, oldest first."""
    return [json.loads(r["body"]) for r in emulator.recorded()
            if r["method"] == "POST" and r["path"].rstrip("/").endswith("/responses")]


def status_lines(stderr: str, response_id: str) -> list[str]:
    """The statuses `run`/`wait` reported for `response_id`, in order."""
    pattern = re.compile(rf"^ycbg: {re.escape(response_id)}: (\w+) \(\d+\.\d s\)$")
    return [m.group(1) for m in map(pattern.match, stderr.splitlines()) if m]


def submit_slow(ycbg, emulator) -> str:
    result = ycbg("submit", "--request-json", SLOW, "a long job")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# --- run ---------------------------------------------------------------------------------------


def test_run_prints_exactly_the_text_and_shows_each_status(ycbg, emulator):
    assert emulator.control("POST", "settings", {"queue_ms": 300, "work_ms": 1000}).status == 200
    result = ycbg("run", *FAST, "hello  world")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Echo: hello  world"  # no newline added when stdout is not a terminal
    response_id = re.search(r"ycbg: (\S+): queued", result.stderr).group(1)
    assert status_lines(result.stderr, response_id) == ["queued", "in_progress", "completed"]
    [body] = creates(emulator)
    assert body["background"] is True
    assert body["model"] == f"gpt://{FOLDER}/yandexgpt/latest"  # the default model, expanded
    assert emulator.wait_terminal(response_id)["status"] == "completed"


def test_on_a_terminal_the_status_is_one_line_redrawn(emulator):
    assert emulator.control("POST", "settings", {"queue_ms": 300, "work_ms": 1000}).status == 200
    master, slave = pty.openpty()
    process = subprocess.Popen([str(ycbg_binary()), "run", *FAST, "on a terminal"], stdout=subprocess.PIPE,
                               stderr=slave, stdin=subprocess.DEVNULL, env=cli_env(emulator))
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 20 + SLACK
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        try:
            chunk = os.read(master, 4096) if ready else b""
        except OSError:  # EIO: the program closed the terminal
            break
        if ready and not chunk:
            break
        seen += chunk
    os.close(master)
    assert process.wait(timeout=10 + SLACK) == 0
    assert process.stdout.read() == b"Echo: on a terminal"
    screen = seen.decode()
    # Each redraw returns to the line's start and clears it; one newline, at the very end.
    assert screen.startswith("\r\x1b[K") and screen.endswith("\r\n") and screen.count("\n") == 1
    frames = screen.removesuffix("\r\n").split("\r\x1b[K")[1:]
    statuses = [re.match(r"ycbg: \S+: (\w+) \(\d+\.\d s\)$", frame).group(1) for frame in frames]
    assert list(dict.fromkeys(statuses)) == ["queued", "in_progress", "completed"]
    assert len(frames) > 3  # the elapsed time ticks between status changes


def test_run_quiet_shows_no_status(ycbg, emulator):
    result = ycbg("run", *FAST, "-q", "shh")
    assert (result.returncode, result.stdout, result.stderr) == (0, "Echo: shh", "")


@pytest.mark.parametrize("source", ["argument", "file", "dash", "piped"])
def test_the_prompt_comes_from_an_argument_a_file_or_stdin(ycbg, emulator, tmp_path, source):
    text = f"prompt from the {source}"
    if source == "argument":
        result = ycbg("run", *FAST, text)
    elif source == "file":
        path = tmp_path / "prompt.txt"
        path.write_text(text + "\n")
        result = ycbg("run", *FAST, "-f", str(path))
    else:
        args = ("-",) if source == "dash" else ()
        result = ycbg("run", *FAST, *args, input=text + "\r\n\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Echo: {text}"  # trailing newlines of a file or stdin are not the prompt
    assert [b["input"] for b in creates(emulator)] == [text]


def test_prompt_mistakes_are_usage_errors(ycbg, emulator, tmp_path):
    empty = ycbg("run", "-", input="\n")
    assert empty.returncode == 2 and "the prompt is empty" in empty.stderr
    both = ycbg("run", "-f", str(tmp_path / "p.txt"), "also an argument")
    assert both.returncode == 2 and "not both" in both.stderr
    missing = ycbg("run", "-f", str(tmp_path / "missing.txt"))
    assert missing.returncode == 2 and "missing.txt" in missing.stderr
    bad_utf8 = tmp_path / "latin1.txt"
    bad_utf8.write_bytes(b"caf\xe9")
    latin1 = ycbg("run", "-f", str(bad_utf8))
    assert latin1.returncode == 2 and "not UTF-8" in latin1.stderr
    master, slave = pty.openpty()  # no prompt, and stdin is a terminal: not read
    try:
        on_terminal = subprocess.run([str(ycbg_binary()), "run"], stdin=slave, capture_output=True, text=True,
                                     timeout=30, env=cli_env(emulator))
    finally:
        os.close(slave)
        os.close(master)
    assert on_terminal.returncode == 2 and "no prompt" in on_terminal.stderr
    assert emulator.stats()["requests"]["create"] == 0


def test_request_json_is_the_request_and_flags_override_its_keys(ycbg, emulator, tmp_path):
    request = {"model": "gpt://folder/other", "input": "from the json", "instructions": "be brief",
               "temperature": 0.1, "max_output_tokens": 3, "metadata": {"kept": "yes"}}
    result = ycbg("run", *FAST, "--request-json", json.dumps(request), "--model", "yandexgpt-lite",
                  "--temperature", "0.5", "--max-output-tokens", "70")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Echo: from the json"
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    result = ycbg("run", *FAST, "--request-json", f"@{path}", "--instructions", "be kind", "the argument")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Echo: the argument"
    first, second = creates(emulator)
    assert first == {**request, "model": f"gpt://{FOLDER}/yandexgpt-lite", "temperature": 0.5,
                     "max_output_tokens": 70, "background": True}
    assert second == {**request, "input": "the argument", "instructions": "be kind", "background": True}


@pytest.mark.parametrize("args, message", [
    (("--request-json", "{not json"), "not valid JSON"),
    (("--request-json", "[1]"), "not a JSON object"),
    (("--max-output-tokens", "0", "x"), "--max-output-tokens"),
    (("--temperature", "nan", "x"), "--temperature"),
    (("--timeout", "-1", "x"), "--timeout"),
    (("--request-json", '{"stream": true}', "x"), "stream"),
])
def test_bad_requests_are_usage_errors(ycbg, emulator, args, message):
    result = ycbg("run", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""
    assert emulator.stats()["requests"]["create"] == 0


def test_failed_or_incomplete_generation_exits_1(ycbg, emulator):
    failed = ycbg("run", *FAST, "--request-json", '{"metadata": {"emulator_outcome": "failed"}}', "doomed")
    assert failed.returncode == 1
    assert failed.stdout == ""
    assert re.search(r"ycbg: \S+ ended failed: the response failed", failed.stderr), failed.stderr
    cut = ycbg("run", *FAST, "--max-output-tokens", "2", "one two three four five six")
    assert cut.returncode == 1
    assert cut.stdout and "Echo: one two three four five six".startswith(cut.stdout)  # the partial text
    assert "ended incomplete: the response is incomplete: max_output_tokens" in cut.stderr


def test_run_rides_out_429_and_503(ycbg, emulator):
    emulator.add_faults([{"match": "create", "kind": "yandex", "status": 429, "retry_after_ms": "50"},
                         {"match": "retrieve", "kind": "status", "status": 503, "count": 2}])
    result = ycbg("run", *FAST, "despite it all")
    assert (result.returncode, result.stdout) == (0, "Echo: despite it all"), result.stderr
    stats = emulator.stats()
    assert stats["faults_applied"] == 3
    assert stats["responses"] == 1  # the refused create started no job; the retry started one


def test_run_timeout_exits_4_and_names_the_job(ycbg, emulator):
    result = ycbg("run", *FAST, "--timeout", "0.5", "--request-json", SLOW, "slow")
    assert result.returncode == 4
    assert result.stdout == ""
    response_id = re.search(r"timed out after \d+\.\d s: (\S+) is still in_progress", result.stderr).group(1)
    assert f"`ycbg wait {response_id}`" in result.stderr
    assert emulator.retrieve(response_id).json()["status"] == "in_progress"  # it goes on running


# --- submit, status, wait, result, cancel: one process each ------------------------------------


def test_submit_status_wait_result_in_separate_processes(ycbg, emulator):
    assert emulator.control("POST", "settings", {"queue_ms": 1500, "work_ms": 500}).status == 200
    submitted = ycbg("submit", "pick me up later")
    assert submitted.returncode == 0, submitted.stderr
    response_id = submitted.stdout.removesuffix("\n")
    assert ID.match(response_id) and submitted.stdout == response_id + "\n"
    assert submitted.stderr == ""

    early = ycbg("result", response_id)
    assert early.returncode == 4 and early.stdout == ""
    assert re.search(rf"{response_id} is still (queued|in_progress): no result yet; `ycbg wait {response_id}`",
                     early.stderr), early.stderr
    status = ycbg("status", response_id)
    assert status.returncode == 4 and status.stdout in ("queued\n", "in_progress\n")
    as_json = ycbg("status", "--json", response_id)
    assert as_json.returncode == 4
    response = json.loads(as_json.stdout)
    assert response["id"] == response_id and response["status"] in ("queued", "in_progress")

    waited = ycbg("wait", *FAST, response_id)
    assert (waited.returncode, waited.stdout) == (0, "completed\n"), waited.stderr
    assert status_lines(waited.stderr, response_id)[-1] == "completed"
    status = ycbg("status", response_id)
    assert (status.returncode, status.stdout) == (0, "completed\n")
    result = ycbg("result", response_id)
    assert (result.returncode, result.stdout, result.stderr) == (0, "Echo: pick me up later", "")
    document = ycbg("result", "--json", response_id)
    assert document.returncode == 0
    doc = json.loads(document.stdout)
    assert {k: doc[k] for k in ("id", "status", "output_text", "error")} == {
        "id": response_id, "status": "completed", "output_text": "Echo: pick me up later", "error": None}
    assert doc["usage"]["total_tokens"] > 0
    assert doc["response"] == emulator.retrieve(response_id).json()
    assert emulator.stats()["requests"]["create"] == 1


def test_cancel_a_running_job(ycbg, emulator):
    response_id = submit_slow(ycbg, emulator)
    cancelled = ycbg("cancel", response_id)
    assert (cancelled.returncode, cancelled.stdout) == (0, "cancelled\n"), cancelled.stderr
    assert emulator.retrieve(response_id).json()["status"] == "cancelled"
    assert (ycbg("cancel", response_id).returncode, ycbg("cancel", response_id).stdout) == (0, "cancelled\n")
    for command in ("status", "wait"):
        result = ycbg(command, response_id)
        assert (result.returncode, result.stdout) == (3, "cancelled\n")
    result = ycbg("result", response_id)
    assert (result.returncode, result.stdout) == (3, "")
    assert f"{response_id} was cancelled" in result.stderr


def test_cancel_of_a_finished_job_says_so(ycbg, emulator):
    response_id = emulator.create(input="done already").json()["id"]
    emulator.wait_terminal(response_id)
    result = ycbg("cancel", response_id)
    assert (result.returncode, result.stdout) == (1, "completed\n")
    assert "had already ended (completed): nothing to cancel" in result.stderr
    assert emulator.stats()["requests"]["cancel"] == 0


def test_wait_timeout_exits_4_with_the_id(ycbg, emulator):
    response_id = submit_slow(ycbg, emulator)
    result = ycbg("wait", *FAST, "--timeout", "0.5", response_id)
    assert result.returncode == 4
    assert result.stdout == "in_progress\n"
    assert f"{response_id} is still in_progress on the server; `ycbg wait {response_id}`" in result.stderr


# --- errors ------------------------------------------------------------------------------------


def test_bad_config_exits_2_with_a_clear_message(ycbg, emulator):
    not_url = ycbg("run", "--base-url", "not a url", "hi")
    assert not_url.returncode == 2
    assert "base_url" in not_url.stderr
    no_key = ycbg("submit", "hi", env={k: v for k, v in cli_env(emulator).items() if k != "YC_API_KEY"})
    assert no_key.returncode == 2
    assert "no credentials" in no_key.stderr
    no_folder = ycbg("submit", "hi", env={k: v for k, v in cli_env(emulator).items() if k != "YC_FOLDER_ID"})
    assert no_folder.returncode == 2
    assert "folder_id" in no_folder.stderr
    with_config = ycbg("status", "--config", "/nonexistent/ycbg.json", "resp_x")
    assert with_config.returncode == 2 and "/nonexistent/ycbg.json" in with_config.stderr
    for result in (not_url, no_key, no_folder, with_config):
        assert result.stdout == ""
        assert result.stderr.startswith("ycbg: ") and result.stderr.count("\n") == 1
    assert emulator.stats()["requests"]["create"] == 0


@pytest.mark.parametrize("command", ["status", "wait", "cancel", "result"])
def test_an_unknown_id_is_an_api_error(ycbg, emulator, command):
    result = ycbg(command, "resp_doesnotexist")
    assert result.returncode == 5
    assert result.stdout == ""
    assert "404" in result.stderr


def test_the_api_key_never_appears_even_when_the_server_echoes_it(ycbg, emulator):
    echo = json.dumps({"error": {"message": f"invalid key {API_KEY} (Api-Key {API_KEY})",
                                 "type": "invalid_request_error", "code": API_KEY}})
    emulator.add_faults([{"match": "create", "kind": "status", "status": 400, "body": echo},
                         {"match": "retrieve", "kind": "status", "status": 400, "body": echo}])
    results = [ycbg("run", "hi"), ycbg("status", "resp_anything")]
    for result in results:
        assert result.returncode == 5
        assert "invalid key" in result.stderr
    # The model echoes the prompt: a key pasted into a prompt does not come back out either.
    results.append(ycbg("run", *FAST, f"my key is {API_KEY}"))
    assert results[-1].returncode == 0 and results[-1].stdout.startswith("Echo: my key is ")
    response_id = re.search(r"ycbg: (\S+): completed", results[-1].stderr).group(1)
    results += [ycbg("result", "--json", response_id), ycbg("status", "--json", response_id)]
    for result in results:
        assert API_KEY not in result.stdout + result.stderr


# --- help --------------------------------------------------------------------------------------


@pytest.mark.parametrize("command, options", [
    ("run", ["--request-json", "--model", "--timeout", "--cancel-on-interrupt", "-f, --file"]),
    ("submit", ["--request-json", "--instructions", "--max-output-tokens", "--temperature"]),
    ("status", ["--json", "<id>"]),
    ("wait", ["--timeout", "<id>"]),
    ("cancel", ["<id>"]),
    ("result", ["--json", "<id>"]),
])
def test_every_command_has_help_with_an_example(command, options):
    result = subprocess.run([str(ycbg_binary()), command, "--help"], capture_output=True, text=True,
                            timeout=30, env=cli_env(None))
    assert result.returncode == 0
    assert "Example:" in result.stdout and f"ycbg {command}" in result.stdout
    for option in options + ["--base-url", "--config"]:
        assert option in result.stdout
    root = subprocess.run([str(ycbg_binary()), "--help"], capture_output=True, text=True, timeout=30,
                          env=cli_env(None))
    assert re.search(rf"^\s+{command}\s+\S", root.stdout, re.M)


# --- Ctrl-C ------------------------------------------------------------------------------------


def run_until_in_progress(emulator, *args: str) -> tuple[subprocess.Popen, str]:
    """Starts `ycbg run` on a slow job; returns it once it reported in_progress, with its id."""
    process = subprocess.Popen([str(ycbg_binary()), "run", *FAST, "--request-json", SLOW, *args, "slow"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=cli_env(emulator), stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10 + SLACK
    seen = ""
    while "in_progress" not in seen:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([process.stderr], [], [], max(left, 0))
        line = process.stderr.readline() if ready else ""
        if not line:
            process.kill()
            raise AssertionError(f"no in_progress from ycbg run: {seen!r}")
        seen += line
    return process, re.search(r"ycbg: (\S+): in_progress", seen).group(1)


def test_ctrl_c_stops_waiting_not_the_job(emulator):
    process, response_id = run_until_in_progress(emulator)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=10 + SLACK)
    assert process.returncode == 130
    assert stdout == ""
    assert f"interrupted: {response_id} goes on running on the server; `ycbg wait {response_id}`" in stderr
    assert emulator.retrieve(response_id).json()["status"] == "in_progress"
    assert emulator.stats()["requests"]["cancel"] == 0


def test_ctrl_c_with_cancel_on_interrupt_cancels_the_job(emulator):
    process, response_id = run_until_in_progress(emulator, "--cancel-on-interrupt")
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=10 + SLACK)
    assert process.returncode == 130
    assert f"interrupted: {response_id} is cancelled" in stderr
    assert emulator.retrieve(response_id).json()["status"] == "cancelled"
