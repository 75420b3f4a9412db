"""HTTP/2 on the emulator's plain port: h2c with prior knowledge beside HTTP/1.1, many streams on
one connection, the control endpoints and every fault kind as an HTTP/2 client sees them."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time

import pytest

from conftest import MODEL
from h2client import H2Client

REFUSED_STREAM = 0x7
INTERNAL_ERROR = 0x2
MAX_CONCURRENT_STREAMS = 0x3


@pytest.fixture
def h2(emulator):
    clients: list[H2Client] = []

    def connect() -> H2Client:
        clients.append(H2Client(emulator.host, emulator.port))
        return clients[-1]

    yield connect
    for client in clients:
        client.close()


def test_prior_knowledge_create_and_retrieve(emulator, h2):
    client = h2()
    created = client.request("POST", "/v1/responses", {"model": MODEL, "input": "over h2", "background": True})
    assert created.status == 200, created.body
    assert created.headers["content-type"] == "application/json"
    assert len(created.headers["x-request-id"]) == 36
    obj = created.json()
    assert obj["object"] == "response" and obj["status"] == "queued"
    got = client.request("GET", f"/v1/responses/{obj['id']}")
    assert got.status == 200 and got.json()["id"] == obj["id"]
    # The request log says which protocol carried each request.
    log = emulator.recorded()
    assert [(r["method"], r["protocol"], r["status"]) for r in log] == [("POST", "h2", 200), ("GET", "h2", 200)]
    assert log[0]["headers"]["authorization"] == "Api-Key test-key"
    assert log[0]["headers"]["host"] == client.authority  # from :authority
    assert json.loads(log[0]["body"])["input"] == "over h2"
    stats = client.stats()
    assert stats["h2_connections"] == 1 and stats["h2_streams"] == 3  # create, retrieve, stats
    assert stats["requests_by_protocol"] == {"http/1.1": 0, "h2": 2}
    assert stats["connections"] == 2  # this one and the HTTP/1.1 one of recorded()


def test_http1_on_the_same_port(emulator, h2):
    client = h2()
    assert client.request("POST", "/v1/responses", {"model": MODEL, "input": "a"}).status == 200
    answer = emulator.create(input="b")  # http.client: HTTP/1.1 on the same port
    assert answer.status == 200 and answer.headers["connection"] == "keep-alive"
    assert [r["protocol"] for r in emulator.recorded()] == ["h2", "http/1.1"]
    stats = emulator.stats()
    assert stats["requests_by_protocol"] == {"http/1.1": 1, "h2": 1}
    assert stats["h2_connections"] == 1


def test_http1_request_that_starts_like_the_preface(emulator):
    # "PRI" is a prefix of the HTTP/2 preface: the emulator waits for more bytes, then sees that this
    # is not the preface and answers as HTTP/1.1 (its parser rejects the method).
    with socket.create_connection((emulator.host, emulator.port), timeout=10) as sock:
        sock.sendall(b"PRI")
        time.sleep(0.05)
        sock.sendall(b" /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            assert chunk, data
            data += chunk
    assert data.startswith(b"HTTP/1.1 400 ")
    assert emulator.stats()["h2_connections"] == 0


def test_many_concurrent_streams_on_one_connection(emulator, h2):
    client = h2()
    n = 300
    sids = [client.create(input=f"task {i}") for i in range(n)]
    client.wait(sids, timeout=60)
    assert client.server_settings.get(MAX_CONCURRENT_STREAMS, 0) >= 1000
    ids = set()
    for sid in sids:
        stream = client.streams[sid]
        assert stream.status == 200, stream.body
        ids.add(stream.json()["id"])
    assert len(ids) == n
    # Retrieve them all at once too.
    gets = [client.send("GET", f"/v1/responses/{i}") for i in ids]
    client.wait(gets, timeout=60)
    assert all(client.streams[s].status == 200 for s in gets)
    stats = client.stats()
    assert stats["connections"] == 1 and stats["h2_connections"] == 1
    assert stats["h2_streams"] == 2 * n + 1
    assert stats["requests"]["create"] == n and stats["requests"]["retrieve"] == n
    assert stats["responses"] == n


def test_control_endpoints_over_h2(emulator, h2):
    client = h2()
    added = client.request("POST", "/_emulator/faults", {"match": "create", "kind": "status", "status": 503},
                           auth=None)
    assert added.status == 200 and added.json() == {"added": 1, "faults": 1}
    settings = client.request("POST", "/_emulator/settings", {"poll_after_ms": 250}, auth=None)
    assert settings.json()["poll_after_ms"] == 250
    faulted = client.request("POST", "/v1/responses", {"model": MODEL, "input": "x"})
    assert faulted.status == 503 and faulted.json()["error"]["code"] == "server_error"
    requests = client.request("GET", "/_emulator/requests?limit=5", auth=None).json()
    assert [(r["fault"], r["status"], r["protocol"]) for r in requests] == [("status", 503, "h2")]
    assert client.request("POST", "/_emulator/reset", auth=None).json() == {"reset": True}
    assert client.request("GET", "/_emulator/nope", auth=None).status == 404


def test_errors_over_h2(emulator, h2):
    client = h2()
    assert client.request("POST", "/v1/responses", {"model": MODEL, "input": "x"}, auth=None).status == 401
    bad = client.request("POST", "/v1/responses", b"{not json")
    assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_json"
    assert client.request("GET", "/v1/responses/nope").status == 404
    wrong = client.request("PUT", "/v1/responses")
    assert wrong.status == 405 and wrong.headers["allow"] == "POST"


def test_curl_http2_prior_knowledge(emulator):
    # A third-party client: curl with nghttp2. One request per run: the curl 7.88 of Debian 12
    # cannot reuse a prior-knowledge connection (curl issue 10634, fixed in curl 8.0).
    body = json.dumps({"model": MODEL, "input": "from curl", "background": True})
    for _ in range(3):
        out = subprocess.run(
            ["curl", "-sS", "--http2-prior-knowledge", "--noproxy", "*", "--max-time", "30",
             "-H", "Authorization: Api-Key test-key", "-H", "Content-Type: application/json",
             "-d", body, "-w", "\n%{http_version} %{http_code}", f"{emulator.v1}/responses"],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, out.stderr
        text, _, tail = out.stdout.rpartition("\n")
        assert tail == "2 200" and json.loads(text)["status"] == "queued"
    stats = emulator.stats()
    assert stats["requests_by_protocol"]["h2"] == 3 and stats["responses"] == 3
    assert stats["h2_connections"] == 3


# ---------------------------------------------------------------- faults over HTTP/2


def fault(emulator, **spec) -> None:
    emulator.add_faults(spec)


def test_refused_stream_is_not_processed_and_spares_other_streams(emulator, h2):
    fault(emulator, match="create", kind="refused_stream")
    client = h2()
    first = client.create(input="refused")
    client.wait([first])
    assert client.streams[first].reset_code == REFUSED_STREAM and client.streams[first].status is None
    # The connection lives on: the next stream on it is served.
    second = client.create(input="served")
    client.wait([second])
    assert client.streams[second].status == 200
    stats = client.stats()
    assert stats["responses"] == 1 and stats["faults_applied"] == 1
    assert stats["connections"] == 2 and stats["h2_connections"] == 1  # (and the add_faults call's)
    assert [(r["fault"], r["status"]) for r in emulator.recorded()] == [("refused_stream", None), (None, 200)]


def test_refused_stream_over_http1_resets_the_connection(emulator):
    fault(emulator, match="create", kind="refused_stream")
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected)):
        emulator.create()
    assert emulator.stats()["responses"] == 0


@pytest.mark.parametrize("kind, creates", [("reset", 0), ("accept_then_reset", 1)])
def test_reset_kills_the_connection_and_all_its_streams(emulator, h2, kind, creates):
    fault(emulator, match="retrieve", kind="hang")  # keeps a stream open on the connection
    fault(emulator, match="create", kind=kind)
    client = h2()
    held = client.send("GET", "/v1/responses/whatever")
    doomed = client.create(input="doomed")
    client.wait([held, doomed])
    assert client.closed  # the TCP connection is gone (RST), not just the faulted stream
    assert client.streams[doomed].status is None and client.streams[held].status is None
    assert emulator.stats()["responses"] == creates


def test_truncated_over_h2_resets_the_stream(emulator, h2):
    client = h2()
    obj = client.request("POST", "/v1/responses", {"model": MODEL, "input": "x" * 200}).json()
    fault(emulator, match="retrieve", kind="truncated")
    stream = client.request("GET", f"/v1/responses/{obj['id']}")
    assert stream.status == 200 and stream.reset_code == INTERNAL_ERROR and not stream.ended
    assert 0 < len(stream.body) < int(stream.headers["content-length"])
    assert client.request("GET", f"/v1/responses/{obj['id']}").status == 200  # same connection, next stream


@pytest.mark.parametrize("kind, status", [("malformed", 200), ("not_object", 200), ("html", 502), ("empty", 504),
                                          ("error_200", 200), ("yandex", 503), ("yandex_gateway", 503)])
def test_made_up_answers_over_h2(emulator, h2, kind, status):
    fault(emulator, match="create", kind=kind, retry_after="2", should_retry="true")
    stream = h2().request("POST", "/v1/responses", {"model": MODEL, "input": "x"})
    assert stream.status == status and stream.ended
    assert stream.headers["retry-after"] == "2" and stream.headers["x-should-retry"] == "true"
    assert int(stream.headers["content-length"]) == len(stream.body)
    if kind == "malformed":
        with pytest.raises(json.JSONDecodeError):
            stream.json()
    if kind == "empty":
        assert stream.body == b"" and "content-type" not in stream.headers
    assert emulator.stats()["responses"] == 0


def test_hang_holds_one_stream_only(emulator, h2):
    fault(emulator, match="create", kind="hang")
    client = h2()
    held = client.create(input="held")
    other = client.create(input="other")
    client.wait([other])
    assert client.streams[other].status == 200 and not client.streams[held].done
    assert client.stats()["responses"] == 2  # hang processes the request


def test_delay_trickle_and_large_over_h2(emulator, h2):
    client = h2()
    fault(emulator, match="create", kind="delay", delay_ms=100)
    delayed = client.request("POST", "/v1/responses", {"model": MODEL, "input": "d"})
    assert delayed.status == 200 and delayed.finished - delayed.started >= 0.095
    fault(emulator, match="create", kind="trickle", interval_ms=1)
    trickled = client.request("POST", "/v1/responses", {"model": MODEL, "input": "t"})
    assert trickled.status == 200 and trickled.json()["object"] == "response"
    fault(emulator, match="create", kind="large", bytes=3 << 20)
    large = client.request("POST", "/v1/responses", {"model": MODEL, "input": "l"})
    assert large.status == 200 and len(large.body) >= 3 << 20 and "emulator_padding" in large.json()
    fault(emulator, match="create", kind="missing_id")
    assert "id" not in client.request("POST", "/v1/responses", {"model": MODEL, "input": "m"}).json()


def test_too_large_body_over_h2(emulator, h2):
    client = h2()
    sid = client.send("POST", "/v1/responses", None, headers={"content-length": str(33 << 20)})
    client.wait([sid])
    stream = client.streams[sid]
    assert stream.status == 413 and stream.json()["error"]["code"] == "request_too_large"
