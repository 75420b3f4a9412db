"""What a person sees of `ycbg batch`'s progress.

On a terminal: a real `ycbg batch` in a tmux pane of a fixed size, against
the emulator, the pane captured while it runs and at the end. Not on a
terminal: stderr to a file, and a pseudo-terminal under NO_COLOR and
TERM=dumb (the raw bytes, so an escape code cannot hide). Every tmux server
has a socket of its own (-L) and is killed at the end; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import MODEL, SLACK, cli_env, ycbg_binary

# The live line, e.g. "ycbg: 12/80 done, 1 failed, 30 running, 38 queued, 8.1 lines/s, ETA 7s, 96 tokens".
LIVE = re.compile(r"^ycbg: (\d+)/(\d+) done")
FULL_LIVE = re.compile(
    r"^ycbg: (\d+)/(\d+) done, (\d+) failed, (\d+) running, (\d+) queued, "
    r"(--|\d+(?:\.\d)?) lines/s, ETA (--|\d+s|\d+m\d\ds|\d+h\d\dm|>99h), (\d+(?:\.\d[kM])?) tokens$")
# A plain progress line (stderr not a terminal): the elapsed time first.
PLAIN = re.compile(r"^ycbg: \[\S+\] (\d+)/(\d+) done, \d+ failed, \d+ running, \d+ queued, \S+ lines/s, ETA \S+, \d+ tokens$")
ESC = "\x1b"

# Pacing the creates keeps a batch running for a few seconds, whatever the machine.
CREATES_PER_SECOND = "10"


def write_input(path: Path, lines: int, failed_every: int = 0, bad_line: bool = False) -> None:
    """`lines` requests of about a second's work each; every `failed_every`-th ends failed on the
    server; `bad_line` appends a line that is not JSON (an error line, reported by a message)."""
    with path.open("w") as f:
        for i in range(lines):
            metadata = {"emulator_work_ms": "1000"}
            if failed_every and i % failed_every == failed_every - 1:
                metadata["emulator_outcome"] = "failed"
            body = {"model": MODEL, "input": f"prompt number {i}", "metadata": metadata}
            f.write(json.dumps({"custom_id": f"line-{i}", "method": "POST", "url": "/v1/responses", "body": body}) + "\n")
        if bad_line:
            f.write("this is not json\n")


def batch_args(output: str = "out.jsonl") -> list[str]:
    return ["batch", "in.jsonl", "-o", output, "--creates-per-second", CREATES_PER_SECOND, "--max-in-flight", "4",
            "--allow-insecure-http"]


class Pane:
    """One tmux pane running an interactive bash with a clean environment, on a private server."""

    def __init__(self, cwd: Path, width: int, height: int):
        self.socket = f"ycbg-progress-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        # Where tmux puts it (asked from the server once it runs).
        self.socket_path = os.path.join(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.getuid()}", self.socket)
        self.width = width
        self.height = height
        self.cwd = cwd

    def start(self, env: dict[str, str]) -> None:
        shell_env = {**env, "PS1": "$ ", "TERM": "screen", "HISTFILE": "/dev/null"}
        command = shlex.join(["env", "-i", *(f"{k}={v}" for k, v in shell_env.items()),
                              "bash", "--noprofile", "--norc", "-i"])
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", str(self.width), "-y", str(self.height),
                  "-c", str(self.cwd), command)
        self.socket_path = self.tmux("display-message", "-p", "#{socket_path}").strip()
        self.wait_for(lambda text: text.rstrip().endswith("$"), what="the shell's prompt")

    def tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10 + SLACK)
        assert result.returncode == 0, f"tmux {' '.join(args)}: {result.stderr}"
        return result.stdout

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def capture(self) -> list[str]:
        """The visible rows, wrapped rows joined (-J): a row longer than the pane was wrapped."""
        return [row.rstrip() for row in self.tmux("capture-pane", "-p", "-J", "-t", "t").split("\n")]

    def wait_for(self, done, what: str, timeout: float = 20) -> list[str]:
        deadline = time.monotonic() + timeout + SLACK
        while True:
            rows = self.capture()
            if done("\n".join(rows)):
                return rows
            assert time.monotonic() < deadline, f"no {what} in the pane after {timeout + SLACK:.0f} s:\n" + "\n".join(rows)
            time.sleep(0.1)

    def kill(self) -> None:
        """Ends the server and removes its socket (kill-server leaves the file behind)."""
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10 + SLACK)
        if Path(self.socket_path).name == self.socket:
            Path(self.socket_path).unlink(missing_ok=True)


@pytest.fixture
def panes(tmp_path):
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed: run scripts/install-deps.sh test")
    started: list[Pane] = []

    def _pane(env: dict[str, str], width: int, height: int = 10) -> Pane:
        pane = Pane(tmp_path, width, height)
        started.append(pane)  # killed at the end even if it fails to start
        pane.start(env)
        return pane

    yield _pane
    for pane in started:
        pane.kill()


def run_in_pane(pane: Pane, args: list[str]) -> None:
    """Types the command (short, so that it does not wrap): the exit code goes to exit.txt."""
    (pane.cwd / "exit.txt").unlink(missing_ok=True)
    pane.send(f'"$YCBG" {shlex.join(args)}; echo $? > exit.txt', "Enter")


def watch(pane: Pane, timeout: float = 60) -> tuple[list[list[str]], list[str], int]:
    """Captures the pane every 0.4 s until the command's exit code is written: (the captures while
    it ran, the last capture, the exit code)."""
    exit_file = pane.cwd / "exit.txt"
    captures: list[list[str]] = []
    deadline = time.monotonic() + timeout + SLACK
    while not exit_file.exists() or not exit_file.read_text().strip():
        assert time.monotonic() < deadline, "the batch did not end:\n" + "\n".join(pane.capture())
        captures.append(pane.capture())
        time.sleep(0.4)
    final = pane.wait_for(lambda text: text.rstrip().endswith("$"), what="prompt after the batch")
    return captures, final, int(exit_file.read_text())


def live_rows(rows: list[str]) -> list[str]:
    return [row for row in rows if LIVE.match(row)]


def pane_env(emulator) -> dict[str, str]:
    return cli_env(emulator, YCBG=str(ycbg_binary()))


def test_terminal_shows_one_live_line_then_the_summary(emulator, panes, tmp_path):
    write_input(tmp_path / "in.jsonl", 60, failed_every=10, bad_line=True)
    pane = panes(pane_env(emulator), width=100)
    run_in_pane(pane, batch_args())
    captures, final, code = watch(pane)

    running = [rows for rows in captures if live_rows(rows)]
    assert len(running) >= 3, "the live line was seen fewer than 3 times:\n" + "\n\n".join("\n".join(c) for c in captures)
    seen = []
    for rows in running:
        lines = live_rows(rows)
        assert len(lines) == 1, "more than one progress line on the screen:\n" + "\n".join(rows)
        line = lines[0]
        assert len(line) < pane.width, f"the live line fills or wraps the {pane.width}-column pane: {line!r}"
        match = FULL_LIVE.match(line)
        assert match, f"the live line lacks a field: {line!r}"
        assert int(match.group(2)) == 61  # 60 requests and the bad line
        seen.append(match)
        # The bad line's message stays on a line of its own, above the live line.
        text = "\n".join(rows)
        assert "ycbg: line 61: " in text, text
        assert rows.index(line) > next(i for i, row in enumerate(rows) if row.startswith("ycbg: line 61: "))
    assert len({m.group(0) for m in seen}) >= 2, "the live line never changed"
    assert len({m.group(1) for m in seen}) >= 2, "the done count never changed"
    assert any(m.group(6) != "--" for m in seen), "no rate was ever shown"
    assert any(m.group(7) not in ("--", "0s") for m in seen), "no ETA was ever shown"
    assert any(int(m.group(4)) > 0 for m in seen), "no line was ever running"
    assert any(int(m.group(5)) > 0 for m in seen), "no line was ever queued"

    # The end: the summary, the error lines' path, and no live line left over.
    assert code == 1  # some lines failed
    text = "\n".join(final)
    assert not live_rows(final), text
    assert re.search(r"^ycbg: finished: 54 completed, 7 failed, 0 already done; wall time \S+, \d+ tokens$", text, re.M), text
    assert "ycbg: error lines: out.errors.jsonl" in final, text
    assert (tmp_path / "out.errors.jsonl").is_file()
    assert ESC not in text


def test_narrow_terminal_cuts_the_live_line(emulator, panes, tmp_path):
    write_input(tmp_path / "in.jsonl", 30)
    pane = panes(pane_env(emulator), width=40)
    run_in_pane(pane, batch_args())
    captures, final, code = watch(pane)

    running = [live_rows(rows) for rows in captures if live_rows(rows)]
    assert running, "the live line was never seen"
    for lines in running:
        assert len(lines) == 1, lines
        # Cut to 39 columns (the last one stays free): never wrapped onto a second row.
        assert len(lines[0]) <= pane.width - 1, lines[0]
        assert "tokens" not in lines[0]
    assert any(len(lines[0]) == pane.width - 1 for lines in running), running
    assert code == 0
    assert not live_rows(final)
    assert any(row.startswith("ycbg: finished: ") for row in final), final


def test_ctrl_c_in_a_terminal_says_how_to_resume(emulator, panes, tmp_path):
    write_input(tmp_path / "in.jsonl", 60)
    env = pane_env(emulator)
    pane = panes(env, width=100, height=12)
    run_in_pane(pane, batch_args())
    pane.wait_for(lambda text: re.search(r"^ycbg: [1-9]\d*/60 done", text, re.M), what="a line done")
    pane.send("C-c")
    captures, final, code = watch(pane)

    assert code == 130
    text = "\n".join(final)
    assert "ycbg: interrupted: no new creates" in text, text
    assert re.search(r"^ycbg: interrupted: \d+ completed, 0 failed, 0 already done, [1-9]\d* not done; wall time \S+, \d+ tokens$",
                     text, re.M), text
    assert not live_rows(final), text
    hint = next((row for row in final if row.startswith("ycbg: to resume, run: ")), None)
    assert hint, text

    # The hint is a command that finishes the batch: every line exactly once in the output.
    command = shlex.split(hint.removeprefix("ycbg: to resume, run: "))
    assert command[1:] == batch_args(), command
    resumed = subprocess.run([str(ycbg_binary()), *command[1:]], cwd=tmp_path, env=cli_env(emulator),
                             capture_output=True, text=True, timeout=60 + SLACK)
    assert resumed.returncode == 0, resumed.stderr
    ids = [json.loads(line)["custom_id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(ids) == sorted(f"line-{i}" for i in range(60))
    assert re.search(r"^ycbg: finished: \d+ completed, 0 failed, [1-9]\d* already done; ", resumed.stderr, re.M), \
        resumed.stderr


def test_second_ctrl_c_leaves_the_prompt_on_a_line_of_its_own(emulator, panes, tmp_path):
    write_input(tmp_path / "in.jsonl", 60)
    pane = panes(pane_env(emulator), width=100)
    run_in_pane(pane, batch_args())
    pane.wait_for(lambda text: re.search(r"^ycbg: \d+/60 done", text, re.M), what="the live line")
    pane.send("C-c")
    pane.send("C-c")
    _, final, code = watch(pane)

    assert code == 130
    # The live line stays as it was (the last state seen), ended, and the prompt is on the next row.
    rows = [row for row in final if row]
    assert rows[-1] == "$", "\n".join(final)
    assert LIVE.match(rows[-2]), "\n".join(final)


def test_stderr_to_a_file_gets_plain_lines_every_few_seconds(emulator, tmp_path):
    write_input(tmp_path / "in.jsonl", 70)
    started = time.monotonic()
    with (tmp_path / "stderr.txt").open("wb") as stderr:
        result = subprocess.run([str(ycbg_binary()), *batch_args()], cwd=tmp_path, env=cli_env(emulator),
                                stdout=subprocess.PIPE, stderr=stderr, timeout=60 + SLACK)
    wall = time.monotonic() - started
    raw = (tmp_path / "stderr.txt").read_bytes()
    assert result.returncode == 0, raw
    assert b"\x1b" not in raw and b"\r" not in raw, raw
    lines = raw.decode().splitlines()
    progress = [line for line in lines if PLAIN.match(line)]
    # The first at the start, then one every 5 s (the loop updates ten times a second): a 7 s batch at least.
    assert len(progress) >= 2, lines
    assert len(progress) <= wall / 5 + 2, lines
    assert [PLAIN.match(line).group(2) for line in progress] == ["70"] * len(progress)
    assert re.match(r"^ycbg: finished: 70 completed, 0 failed, 0 already done; wall time \S+, \d+ tokens$", lines[-1]), lines


@pytest.mark.parametrize("env, live", [({"TERM": "xterm"}, True), ({"TERM": "dumb"}, False),
                                       ({"TERM": "xterm", "NO_COLOR": "1"}, False)])
def test_terminal_escapes_only_for_a_capable_terminal(emulator, tmp_path, env, live):
    """stderr on a pseudo-terminal: the raw bytes show whether any escape code was written."""
    write_input(tmp_path / "in.jsonl", 5)
    primary, secondary = os.openpty()
    try:
        process = subprocess.Popen([str(ycbg_binary()), *batch_args()], cwd=tmp_path,
                                   env={**cli_env(emulator), **env}, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=secondary)
        os.close(secondary)
        secondary = -1
        raw = b""
        deadline = time.monotonic() + 60 + SLACK
        while time.monotonic() < deadline:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the last writer closed the pseudo-terminal
                break
            if not chunk:
                break
            raw += chunk
        assert process.wait(timeout=10 + SLACK) == 0, raw
    finally:
        os.close(primary)
        if secondary >= 0:
            os.close(secondary)
    text = raw.decode()
    assert "ycbg: finished: " in text, text
    if live:
        assert "\r\x1b[K" in text and re.search(r"\rycbg: \d+/5 done", text), text
    else:
        assert ESC not in text, text
        assert re.search(r"^ycbg: \[\S+\] 0/5 done", text, re.M), text
