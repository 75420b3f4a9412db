"""The simulated round trip (--rtt-ms, --connect-ms) and the request quotas (--quota-*-rps):
delays are lower bounds only; quotas answer 429 with Retry-After, count them, and create nothing."""

from __future__ import annotations

import math
import time

from conftest import MODEL
from h2client import H2Client


def timed(fn):
    t0 = time.monotonic()
    result = fn()
    return result, time.monotonic() - t0


# ---------------------------------------------------------------- round trip


def test_rtt_from_the_command_line(start):
    emulator = start("--rtt-ms", "300", "--connect-ms", "400")
    settings = emulator.control("POST", "settings", {}).json()
    assert settings["rtt_ms"] == 300 and settings["connect_ms"] == 400
    conn = emulator.connection()
    # A new connection's first API answer: the handshake plus the round trip.
    first, elapsed_first = timed(lambda: emulator.create(conn=conn))
    assert first.status == 200 and elapsed_first >= 0.69
    # The next one on the same connection: the round trip only (no upper bound asserted).
    second, elapsed_second = timed(lambda: emulator.retrieve(first.json()["id"]))  # own connection: handshake
    assert second.status == 200 and elapsed_second >= 0.69
    third, elapsed_third = timed(lambda: emulator.request("GET", f"/v1/responses/{first.json()['id']}", conn=conn))
    assert third.status == 200 and elapsed_third >= 0.29
    conn.close()
    # Control endpoints are never delayed: they answered the settings call above at once, and
    # the request log holds the API requests with their statuses.
    assert [r["status"] for r in emulator.recorded()] == [200, 200, 200]


def test_rtt_setting_and_reset(emulator):
    assert emulator.control("POST", "settings", {"rtt_ms": 200}).json()["connect_ms"] == 200  # defaults to rtt
    conn = emulator.connection()
    _, first = timed(lambda: emulator.create(conn=conn))
    _, second = timed(lambda: emulator.create(conn=conn))
    conn.close()
    assert first >= 0.39 and second >= 0.19
    emulator.reset()
    settings = emulator.control("POST", "settings", {}).json()
    assert settings["rtt_ms"] == 0 and settings["connect_ms"] == 0
    bad = emulator.control("POST", "settings", {"rtt_ms": -1})
    assert bad.status == 400 and bad.json()["error"]["param"] == "rtt_ms"


def test_rtt_applies_to_every_stream_at_once(emulator):
    # Many concurrent streams each wait for the round trip on its own timer, not one after another.
    client = H2Client(emulator.host, emulator.port)
    try:
        assert client.request("POST", "/_emulator/settings", {"rtt_ms": 250, "connect_ms": 0}, auth=None).status == 200
        sids = [client.create(input=f"n{i}") for i in range(200)]
        client.wait(sids, timeout=60)
        for sid in sids:
            stream = client.streams[sid]
            assert stream.status == 200 and stream.finished - stream.started >= 0.24
        assert client.stats()["connections"] == 1
    finally:
        client.close()


def test_rtt_delays_faults_too(emulator):
    emulator.control("POST", "settings", {"rtt_ms": 150, "connect_ms": 0})
    emulator.add_faults({"match": "create", "kind": "status", "status": 503})
    answer, elapsed = timed(lambda: emulator.create())
    assert answer.status == 503 and elapsed >= 0.14


# ---------------------------------------------------------------- quotas


def check_429(answer, kind_word: str) -> int:
    assert answer.status == 429
    error = answer.json()["error"]
    assert error["code"] == "rate_limit_exceeded" and error["type"] == "requests"
    assert kind_word in error["message"]
    ms = int(answer.headers["retry-after-ms"])
    assert ms >= 1 and int(answer.headers["retry-after"]) == math.ceil(ms / 1000)
    return ms


def test_create_quota_refuses_and_creates_nothing(start):
    # 0.1 per second with a burst of 2: two creates pass, the next ones wait 10 s for a token.
    emulator = start("--quota-create-rps", "0.1", "--quota-burst", "2")
    t0 = time.monotonic()
    answers = [emulator.create(input=f"q{i}") for i in range(5)]
    elapsed = time.monotonic() - t0
    assert elapsed < 9, "too slow a machine for this test's arithmetic"
    assert [a.status for a in answers] == [200, 200, 429, 429, 429]
    for a in answers[2:]:
        assert 1 <= check_429(a, "create") <= 10_000
    stats = emulator.stats()
    assert stats["responses"] == 2 and stats["requests"]["create"] == 5
    assert stats["rate_limited"] == {"create": 3, "retrieve": 0, "cancel": 0}
    log = emulator.recorded()
    assert [(r["status"], r["fault"]) for r in log] == [(200, None)] * 2 + [(429, None)] * 3
    # Polls are not limited by the create quota.
    assert emulator.retrieve(answers[0].json()["id"]).status == 200


def test_poll_and_cancel_quotas_through_settings(emulator):
    created = emulator.create().json()["id"]
    settings = emulator.control("POST", "settings",
                                {"quota_poll_rps": 0.1, "quota_cancel_rps": 0.1, "quota_burst": 1}).json()
    assert settings["quota_poll_rps"] == 0.1 and settings["quota_burst"] == 1 and settings["quota_create_rps"] is None
    t0 = time.monotonic()
    polls = [emulator.retrieve(created) for _ in range(3)]
    cancels = [emulator.request("POST", f"/v1/responses/{created}/cancel") for _ in range(2)]
    assert time.monotonic() - t0 < 9, "too slow a machine for this test's arithmetic"
    assert [a.status for a in polls] == [200, 429, 429]
    assert [a.status for a in cancels] == [200, 429]
    check_429(polls[1], "poll")
    check_429(cancels[1], "cancel")
    assert emulator.stats()["rate_limited"] == {"create": 0, "retrieve": 2, "cancel": 1}
    # Creates are not limited; null lifts a limit; reset restores the command line's (none).
    assert emulator.create().status == 200
    emulator.control("POST", "settings", {"quota_poll_rps": None})
    assert emulator.retrieve(created).status == 200
    bad = emulator.control("POST", "settings", {"quota_create_rps": 0})
    assert bad.status == 400 and bad.json()["error"]["param"] == "quota_create_rps"
    emulator.reset()
    assert emulator.control("POST", "settings", {}).json()["quota_cancel_rps"] is None


def test_quota_refills_at_its_rate(emulator):
    emulator.control("POST", "settings", {"quota_create_rps": 5, "quota_burst": 1})
    assert emulator.create().status == 200
    refused = emulator.create()
    if refused.status == 429:  # (a slow machine may already have refilled the token)
        ms = check_429(refused, "create")
        assert ms <= 200
        time.sleep(ms / 1000 + 0.05)
    assert emulator.create().status == 200


def test_quota_over_h2(emulator):
    emulator.control("POST", "settings", {"quota_create_rps": 0.1, "quota_burst": 3})
    client = H2Client(emulator.host, emulator.port)
    try:
        sids = [client.create(input=f"h{i}") for i in range(10)]
        client.wait(sids, timeout=30)
        statuses = sorted(client.streams[s].status for s in sids)
        assert statuses == [200] * 3 + [429] * 7
        refused = next(client.streams[s] for s in sids if client.streams[s].status == 429)
        assert refused.json()["error"]["code"] == "rate_limit_exceeded" and int(refused.headers["retry-after"]) >= 1
        stats = client.stats()
        assert stats["responses"] == 3 and stats["rate_limited"]["create"] == 7
    finally:
        client.close()


def test_quota_command_line_checks(start):
    import subprocess
    from conftest import emulator_binary

    for args in (["--quota-create-rps", "0"], ["--quota-poll-rps", "x"], ["--quota-burst", "0"], ["--rtt-ms", "-5"]):
        out = subprocess.run([str(emulator_binary()), *args], capture_output=True, text=True, timeout=10)
        assert out.returncode == 2 and args[0] in out.stderr, (args, out.stderr)


def test_tls_options_give_a_clear_error(tmp_path):
    # A file that is no PEM certificate: exit 1, naming the files and OpenSSL's reason.
    import subprocess
    from conftest import emulator_binary

    cert = tmp_path / "c.pem"
    cert.write_text("not a certificate")
    out = subprocess.run([str(emulator_binary()), "--tls-cert", str(cert), "--tls-key", str(cert)],
                         capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    assert out.returncode == 1, out.stderr
    assert "cannot use the TLS certificate and key" in out.stderr and str(cert) in out.stderr, out.stderr
    assert "cannot read the PEM certificate chain" in out.stderr, out.stderr
