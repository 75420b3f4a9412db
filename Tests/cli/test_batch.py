"""`ycbg batch`: OpenAI Batch JSONL through one client, crash-safe and resumable.

Every test runs the real binary against a real emulator and checks the output
lines, the journal and what the emulator made (its stats and request log).
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

from conftest import FOLDER, SLACK, cli_env, ycbg_binary

FAST = ("--queue-ms", "20", "--work-ms", "60")


def write_lines(path: Path, items) -> Path:
    path.write_text("".join((item if isinstance(item, str) else json.dumps(item)) + "\n" for item in items))
    return path


def short(i: int, **extra) -> dict:
    return {"custom_id": f"line-{i}", "input": f"prompt {i}", **extra}


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def batch_cmd(inp: Path, out: Path, *args: str) -> list[str]:
    return [str(ycbg_binary()), "batch", str(inp), "-o", str(out), *args]


def run_batch(emulator, inp: Path, out: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(batch_cmd(inp, out, *args), capture_output=True, text=True, timeout=timeout + SLACK,
                          env=cli_env(emulator))


def created_jobs(emulator) -> int:
    return emulator.stats()["responses"]


def check_answered(line: dict, expected_input: str) -> dict:
    """`line` is an answered output line for `expected_input`; returns its Response body."""
    assert line["id"].startswith("batch_req_") and len(line["id"]) > len("batch_req_")
    assert line["error"] is None
    response = line["response"]
    assert response["status_code"] == 200
    assert "request_id" in response
    body = response["body"]
    assert body["object"] == "response"
    assert body["status"] == "completed", body
    assert body["output_text"] == f"Echo: {expected_input}", (line["custom_id"], body["output_text"])
    return body


def fnv1a64(text: str) -> int:
    h = 0xCBF29CE484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def test_both_input_forms_give_openai_batch_output(emulator, tmp_path):
    items = [
        {"custom_id": "long-1", "method": "POST", "url": "/v1/responses",
         "body": {"model": "yandexgpt", "input": "long one"}},
        {"custom_id": "long-2", "method": "POST", "url": "/v1/responses", "body": {"input": "long two"}},
        "",
        {"custom_id": "short-1", "input": "short one", "model": "yandexgpt-lite"},
        {"custom_id": "short-2", "input": "short two", "instructions": "be brief"},
    ]
    inp = write_lines(tmp_path / "in.jsonl", items)
    out = tmp_path / "out.jsonl"
    result = run_batch(emulator, inp, out, "--model", "my-model")
    assert result.returncode == 0, result.stderr
    lines = read_jsonl(out)
    assert sorted(line["custom_id"] for line in lines) == ["long-1", "long-2", "short-1", "short-2"]
    by_id = {line["custom_id"]: line for line in lines}
    models = {cid: check_answered(by_id[cid], text)["model"] for cid, text in
              [("long-1", "long one"), ("long-2", "long two"), ("short-1", "short one"), ("short-2", "short two")]}
    assert models == {"long-1": f"gpt://{FOLDER}/yandexgpt", "long-2": f"gpt://{FOLDER}/my-model",
                      "short-1": f"gpt://{FOLDER}/yandexgpt-lite", "short-2": f"gpt://{FOLDER}/my-model"}
    assert by_id["short-2"]["response"]["body"]["instructions"] == "be brief"
    assert len({line["id"] for line in lines}) == 4
    assert created_jobs(emulator) == 4
    # The journal: a key before each create, the id after it.
    journal = read_jsonl(Path(str(out) + ".journal"))
    keys = {r["custom_id"]: r["key"] for r in journal if "key" in r}
    ids = {r["custom_id"]: r["id"] for r in journal if "id" in r}
    assert set(keys) == set(ids) == set(by_id)
    assert all(ids[cid] == by_id[cid]["response"]["body"]["id"] for cid in ids)
    assert not (tmp_path / "out.errors.jsonl").exists()
    assert "finished: 4 completed, 0 failed" in result.stderr
    # Run again: everything is already done, nothing is sent.
    again = run_batch(emulator, inp, out)
    assert again.returncode == 0, again.stderr
    assert len(read_jsonl(out)) == 4 and created_jobs(emulator) == 4
    assert "4 already done" in again.stderr


def test_bad_lines_are_reported_with_their_numbers_and_strict_sends_nothing(emulator, tmp_path):
    items = [
        short(1),                                                             # 1
        "this is not json",                                                   # 2
        {"input": "no id"},                                                   # 3
        {"custom_id": "", "input": "empty id"},                               # 4
        {"custom_id": "bad-url", "method": "POST", "url": "/v1/chat/completions", "body": {"input": "x"}},  # 5
        {"custom_id": "bad-method", "method": "GET", "url": "/v1/responses", "body": {"input": "x"}},  # 6
        {"custom_id": "bad-body", "method": "POST", "url": "/v1/responses", "body": "text"},  # 7
        {"custom_id": "streamed", "input": "x", "stream": True},              # 8
        "   ",                                                                # 9 (blank: ignored)
        {"custom_id": "line-1", "input": "again"},                            # 10 (duplicate)
        short(2),                                                             # 11
        "[1, 2]",                                                             # 12
    ]
    inp = write_lines(tmp_path / "in.jsonl", items)
    out = tmp_path / "out.jsonl"

    strict = run_batch(emulator, inp, out, "--strict")
    assert strict.returncode == 2, strict.stderr
    assert created_jobs(emulator) == 0
    assert not out.exists()
    assert "--strict" in strict.stderr

    result = run_batch(emulator, inp, out)
    assert result.returncode == 1, result.stderr
    for n in (2, 3, 4, 5, 6, 7, 8, 10, 12):
        assert f"line {n}: " in result.stderr, (n, result.stderr)
    assert "line 9:" not in result.stderr and "line 1:" not in result.stderr and "line 11:" not in result.stderr
    assert "already used on line 1" in result.stderr
    lines = read_jsonl(out)
    by_id = collections.Counter(line["custom_id"] for line in lines)
    assert by_id == collections.Counter(["line-1", "line-2", "bad-url", "bad-method", "bad-body", "streamed"])
    answered = {line["custom_id"]: line for line in lines if line["error"] is None}
    check_answered(answered["line-1"], "prompt 1")  # the first line-1 ran, not the duplicate
    check_answered(answered["line-2"], "prompt 2")
    for line in lines:
        if line["custom_id"] in ("bad-url", "bad-method", "bad-body", "streamed"):
            assert line["response"] is None and line["error"]["code"] and line["error"]["message"].startswith("line ")
    assert created_jobs(emulator) == 2
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert len(errors) == 9  # 4 with an output line, 5 without a custom_id of their own
    assert sorted(int(e["error"]["message"].split(":")[0].split()[1]) for e in errors) == [2, 3, 4, 5, 6, 7, 8, 10, 12]
    assert f"error lines: {tmp_path / 'out.errors.jsonl'}" in result.stderr
    assert "API_KEY" not in result.stderr and "test-key" not in json.dumps(errors)


def test_resume_cuts_torn_lines_and_polls_journaled_ids_instead_of_creating(emulator, tmp_path):
    n = 6
    inp = write_lines(tmp_path / "in.jsonl", [short(i) for i in range(n)])
    out = tmp_path / "out.jsonl"
    journal = Path(str(out) + ".journal")
    assert run_batch(emulator, inp, out).returncode == 0
    lines = out.read_text().splitlines(keepends=True)
    lost = json.loads(lines[-1])
    # A crash that tore the last output line and the journal's last record.
    out.write_text("".join(lines[:-1]) + lines[-1][:40])
    with journal.open("a") as f:
        f.write('{"custom_id": "line-0", "ke')
    result = run_batch(emulator, inp, out)
    assert result.returncode == 0, result.stderr
    after = read_jsonl(out)  # every line parses: the torn one was cut off
    assert collections.Counter(line["custom_id"] for line in after) == collections.Counter(f"line-{i}" for i in range(n))
    redone = [line for line in after if line["custom_id"] == lost["custom_id"]][0]
    assert redone["response"]["body"]["id"] == lost["response"]["body"]["id"]  # polled by its journaled id
    assert created_jobs(emulator) == n
    assert journal.read_text().endswith("\n")


def test_an_output_that_cannot_be_written_is_a_local_file_error(emulator, tmp_path):
    inp = write_lines(tmp_path / "in.jsonl", [short(0)])
    result = run_batch(emulator, inp, tmp_path / "no-such-dir" / "out.jsonl")
    assert result.returncode == 6, result.stderr
    assert "no-such-dir" in result.stderr


def test_one_file_in_two_roles_is_refused_before_anything_is_sent(emulator, tmp_path):
    inp = write_lines(tmp_path / "in.jsonl", [short(i) for i in range(3)])
    before = inp.read_bytes()
    (tmp_path / "sub").mkdir()
    cases = [
        (inp, (), "the input and -o"),
        (tmp_path / "o.jsonl", ("--journal", str(tmp_path / "o.jsonl")), "-o and --journal"),
        (tmp_path / "o.jsonl", ("--errors", str(tmp_path / "sub/../o.jsonl")), "-o and --errors"),
        (tmp_path / "o.jsonl", ("--errors", str(tmp_path / "o.jsonl.journal")), "--journal and --errors"),
    ]
    for out, args, roles in cases:
        result = run_batch(emulator, inp, out, *args)
        assert result.returncode == 2, (roles, result.stderr)
        assert f"{roles} are the same file" in result.stderr
    assert inp.read_bytes() == before
    assert not (tmp_path / "o.jsonl").exists() and not (tmp_path / "o.jsonl.journal").exists()
    assert emulator.stats()["requests"]["create"] == 0


def test_a_second_run_of_the_same_batch_at_once_is_refused(start, tmp_path):
    emulator = start("--queue-ms", "20", "--work-ms", "60000")  # jobs that outlast the test
    n = 5
    inp = write_lines(tmp_path / "in.jsonl", [short(i) for i in range(n)])
    out = tmp_path / "out.jsonl"
    journal = tmp_path / "out.jsonl.journal"
    first = subprocess.Popen(batch_cmd(inp, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             env=cli_env(emulator))
    try:
        deadline = time.monotonic() + 20 + SLACK
        while journal.read_text().count('"id"') < n if journal.exists() else True:
            assert first.poll() is None and time.monotonic() < deadline, "the first run did not create its jobs"
            time.sleep(0.05)
        second = run_batch(emulator, inp, out)
        assert second.returncode == 2, second.stderr
        assert "another ycbg batch is running with the journal" in second.stderr
        assert emulator.stats()["requests"]["create"] == n  # the second run sent nothing
    finally:
        first.kill()
        first.communicate(timeout=30 + SLACK)
    # A killed run leaves no lock behind: the next run gets past it and picks
    # the journaled jobs up (they outlast task_timeout_ms: error lines, exit 1).
    config = tmp_path / "config.json"
    config.write_text('{"task_timeout_ms": 300}')
    third = run_batch(emulator, inp, out, "--config", str(config))
    assert third.returncode == 1, third.stderr
    assert "another ycbg batch" not in third.stderr
    assert len(read_jsonl(out)) == n
    assert emulator.stats()["requests"]["create"] == n


def test_faults_and_a_create_quota_still_give_every_line_one_job(start, tmp_path):
    emulator = start(*FAST, "--quota-create-rps", "40", "--quota-burst", "5")
    emulator.add_faults([
        {"match": "create", "kind": "status", "status": 429, "retry_after": "1", "count": 3},
        {"match": "create", "kind": "status", "status": 500, "count": 3},
        {"match": "create", "kind": "reset", "count": 2},
        {"match": "create", "kind": "accept_then_reset", "count": 3},
        {"match": "retrieve", "kind": "status", "status": 503, "count": 4},
        {"match": "retrieve", "kind": "reset", "count": 2},
    ])
    n = 120
    inp = write_lines(tmp_path / "in.jsonl", [short(i) for i in range(n)])
    out = tmp_path / "out.jsonl"
    result = run_batch(emulator, inp, out, "--trust-idempotency-key", "--max-in-flight", "16", "--max-running", "30",
                       timeout=90)
    assert result.returncode == 0, result.stderr
    lines = read_jsonl(out)
    assert collections.Counter(line["custom_id"] for line in lines) == collections.Counter(f"line-{i}" for i in range(n))
    bodies = [check_answered(line, "prompt " + line["custom_id"].split("-")[1]) for line in lines]
    assert len({b["id"] for b in bodies}) == n
    stats = emulator.stats()
    assert stats["faults_applied"] >= 17
    assert stats["rate_limited"]["create"] > 0, stats  # the quota spoke, and the engine waited
    assert stats["responses"] == n, stats  # an accepted-then-reset create was resent with its key, not made twice


def test_shards_are_disjoint_and_cover_the_input(emulator, tmp_path):
    n, shards = 60, 3
    inp = write_lines(tmp_path / "in.jsonl", [short(i) for i in range(n)])
    seen: dict[str, int] = {}
    for k in range(shards):
        out = tmp_path / f"out-{k}.jsonl"
        result = run_batch(emulator, inp, out, "--shard", f"{k}/{shards}")
        assert result.returncode == 0, result.stderr
        for line in read_jsonl(out):
            assert line["custom_id"] not in seen, "a line ran in two shards"
            assert fnv1a64(line["custom_id"]) % shards == k  # the documented hash
            check_answered(line, "prompt " + line["custom_id"].split("-")[1])
            seen[line["custom_id"]] = k
    assert set(seen) == {f"line-{i}" for i in range(n)}
    assert len(set(seen.values())) == shards  # each shard had work
    assert created_jobs(emulator) == n
    for bad in ("3/3", "1/0", "x/2", "2"):
        result = run_batch(emulator, inp, tmp_path / "never.jsonl", "--shard", bad)
        assert result.returncode == 2 and "--shard" in result.stderr, (bad, result.stderr)


def test_ctrl_c_stops_and_the_printed_command_resumes(start, tmp_path):
    emulator = start("--queue-ms", "100", "--work-ms", "300")
    n = 80
    inp = write_lines(tmp_path / "in.jsonl", [short(i) for i in range(n)])
    out = tmp_path / "out.jsonl"
    journal = Path(str(out) + ".journal")
    process = subprocess.Popen(batch_cmd(inp, out, "--creates-per-second", "20"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=cli_env(emulator))
    deadline = time.monotonic() + 20 + SLACK
    while time.monotonic() < deadline and len(read_jsonl(journal)) < 20:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30 + SLACK)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    resume = [line for line in stderr.splitlines() if "to resume, run: " in line]
    assert len(resume) == 1, stderr
    assert resume[0].split("to resume, run: ")[1] == " ".join(batch_cmd(inp, out, "--creates-per-second", "20"))
    first = read_jsonl(out)
    assert len(first) < n, "the batch ended before Ctrl-C; nothing was tested"
    # Every create that was sent got its answer and its id journaled before the exit.
    records = read_jsonl(journal)
    keyed = {r["custom_id"] for r in records if "key" in r}
    with_id = {r["custom_id"] for r in records if "id" in r}
    assert keyed == with_id and len(keyed) < n

    again = run_batch(emulator, inp, out)
    assert again.returncode == 0, again.stderr
    lines = read_jsonl(out)
    assert collections.Counter(line["custom_id"] for line in lines) == collections.Counter(f"line-{i}" for i in range(n))
    for line in lines:
        check_answered(line, "prompt " + line["custom_id"].split("-")[1])
    assert created_jobs(emulator) == n


def test_second_ctrl_c_leaves_at_once_and_the_journal_still_resumes(start, tmp_path):
    emulator = start("--queue-ms", "100", "--work-ms", "300")
    n = 60
    inp = write_lines(tmp_path / "in.jsonl", [short(i) for i in range(n)])
    out = tmp_path / "out.jsonl"
    journal = Path(str(out) + ".journal")
    args = ["--creates-per-second", "20", "--trust-idempotency-key"]
    process = subprocess.Popen(batch_cmd(inp, out, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=cli_env(emulator))
    deadline = time.monotonic() + 20 + SLACK
    while time.monotonic() < deadline and len(read_jsonl(journal)) < 10:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=10 + SLACK)
    assert process.returncode == 130, stderr
    assert len(read_jsonl(out)) < n
    again = run_batch(emulator, inp, out, *args)
    assert again.returncode == 0, again.stderr
    lines = read_jsonl(out)
    assert collections.Counter(line["custom_id"] for line in lines) == collections.Counter(f"line-{i}" for i in range(n))
    for line in lines:
        check_answered(line, "prompt " + line["custom_id"].split("-")[1])
    assert created_jobs(emulator) == n


def kill_runs(emulator, inp: Path, out: Path, args: list[str], kills: int, seed: int) -> dict:
    """Runs the batch, killing it with SIGKILL after a random delay, `kills` times; then runs it to its end."""
    rng = random.Random(seed)
    done_kills = 0
    runs = 0
    finished = None
    while done_kills < kills and runs < kills * 3:
        runs += 1
        process = subprocess.Popen(batch_cmd(inp, out, *args), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=cli_env(emulator))
        time.sleep(rng.uniform(0.02, 0.4))
        if process.poll() is None:
            process.kill()
            done_kills += 1
        process.communicate(timeout=30 + SLACK)
        if process.returncode in (0, 1):
            finished = process.returncode
            break
        assert process.returncode == -signal.SIGKILL, process.returncode
    last = run_batch(emulator, inp, out, *args, timeout=60)
    return {"kills": done_kills, "runs": runs + 1, "finished_early": finished, "last": last}


def kill_test_files(label: str, inputs: dict, tmp_path: Path, capsys) -> tuple[int, Path, Path]:
    """The seed (printed, YCBG_KILL_SEED repeats it), the input file of
    `inputs` (custom_id -> input) and the output path of a kill test."""
    seed = int(os.environ.get("YCBG_KILL_SEED", time.time_ns() % 1_000_000))
    with capsys.disabled():
        print(f"\n{label}: seed {seed} (YCBG_KILL_SEED={seed} repeats it)")
    inp = write_lines(tmp_path / "in.jsonl", [{"custom_id": cid, "input": text} for cid, text in inputs.items()])
    return seed, inp, tmp_path / "out.jsonl"


def test_kill_9_many_times_then_resume_makes_each_job_once(start, tmp_path, capsys):
    emulator = start(*FAST)
    n = 500
    inputs = {f"line-{i}": f"prompt {i} {random.Random(i).random():.6f}" for i in range(n)}
    seed, inp, out = kill_test_files("kill test", inputs, tmp_path, capsys)
    args = ["--trust-idempotency-key", "--creates-per-second", "40", "--max-in-flight", "16"]
    figures = kill_runs(emulator, inp, out, args, kills=20, seed=seed)
    last = figures["last"]
    assert last.returncode == 0, last.stderr

    lines = read_jsonl(out)
    counts = collections.Counter(line["custom_id"] for line in lines)
    duplicates = sum(c - 1 for c in counts.values() if c > 1)
    lost = len(set(inputs) - set(counts))
    jobs = created_jobs(emulator)
    with capsys.disabled():
        print(f"kill test: {figures['kills']} kills over {figures['runs']} runs, {duplicates} duplicate lines, "
              f"{lost} lines lost, {jobs} jobs made for {n} lines")
    assert figures["kills"] >= 20, "the batch finished before 20 kills"
    assert duplicates == 0 and lost == 0
    assert set(counts) == set(inputs)
    bodies = [check_answered(line, inputs[line["custom_id"]]) for line in lines]
    assert len({b["id"] for b in bodies}) == n
    # 500 jobs on the server, 500 distinct ones in the output: no input was made into two jobs.
    assert jobs == n


def test_kill_9_without_trust_never_makes_a_second_job(start, tmp_path, capsys):
    emulator = start("--queue-ms", "20", "--work-ms", "60", "--poll-after-ms", "200")
    n = 200
    inputs = {f"line-{i}": f"untrusted {i}" for i in range(n)}
    seed, inp, out = kill_test_files("kill test (no trust)", inputs, tmp_path, capsys)
    # 200 lines at 20 creates/s outlast 8 kills (0.4 s at most each) by far.
    args = ["--creates-per-second", "20", "--max-in-flight", "8"]
    figures = kill_runs(emulator, inp, out, args, kills=8, seed=seed)
    last = figures["last"]
    assert last.returncode in (0, 1), last.stderr

    lines = read_jsonl(out)
    counts = collections.Counter(line["custom_id"] for line in lines)
    assert set(counts) == set(inputs) and max(counts.values()) == 1
    unconfirmed = [line for line in lines if line["error"] is not None]
    for line in unconfirmed:
        assert line["error"]["code"] == "create_unconfirmed", line
        assert "--trust-idempotency-key" in line["error"]["message"]
    answered = [line for line in lines if line["error"] is None]
    for line in answered:
        check_answered(line, inputs[line["custom_id"]])
    # The emulator's log holds every request of this test (checked by the
    # count): no input went out in two creates.
    stats = emulator.stats()
    total = sum(stats["requests"].values())
    assert total <= 1000, f"{total} requests: the request log no longer holds them all"
    creates = [json.loads(r["body"])["input"] for r in emulator.recorded(1000) if r["method"] == "POST"]
    per_input = collections.Counter(creates)
    second_jobs = sum(v - 1 for v in per_input.values())
    with capsys.disabled():
        print(f"kill test (no trust): {figures['kills']} kills, {second_jobs} second creates, {len(unconfirmed)} "
              f"lines ended as 'create_unconfirmed', {stats['responses']} jobs made for {n} lines")
    assert len(creates) == stats["requests"]["create"]
    assert max(per_input.values()) == 1, [k for k, v in per_input.items() if v > 1]
    assert len({line["response"]["body"]["id"] for line in answered}) == len(answered)
    assert len(answered) <= stats["responses"] <= len(answered) + len(unconfirmed)
    assert figures["kills"] >= 8
    if unconfirmed:
        assert last.returncode == 1
