"""The emulator's own behaviour over raw HTTP: command line, API semantics, control endpoints,
every fault kind, and connection handling."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import API_KEY, IAM_TOKEN, MODEL

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
AUTH = f"Authorization: Api-Key {API_KEY}\r\n"


# ---------------------------------------------------------------- raw HTTP helpers


def raw_request(method: str, path: str, body: dict | bytes | None = None, extra: str = AUTH) -> bytes:
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
    head = f"{method} {path} HTTP/1.1\r\nHost: emulator\r\n{extra}Content-Length: {len(data)}\r\n\r\n"
    return head.encode() + data


def create_bytes(**fields) -> bytes:
    body = {"model": MODEL, "input": "hello", "background": True}
    body.update(fields)
    return raw_request("POST", "/v1/responses", body)


def read_until_closed(sock: socket.socket, timeout: float = 5) -> bytes:
    sock.settimeout(timeout)
    chunks = []
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def read_answer(sock: socket.socket, buffered: bytearray | None = None) -> tuple[int, dict, bytes]:
    """Reads one answer (status, lower-case headers, body) by its Content-Length."""
    buf = buffered if buffered is not None else bytearray()
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before the headers: {bytes(buf)!r}"
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed inside the body"
        body += chunk
    buf[:] = body[length:]
    return status, headers, bytes(body[:length])


def connect(emulator, timeout: float = 5) -> socket.socket:
    return socket.create_connection((emulator.host, emulator.port), timeout=timeout)


def wait_for(predicate, timeout: float = 3) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def error_of(answer) -> dict:
    body = answer.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]


# ---------------------------------------------------------------- command line and process


def test_listening_line_and_port_file(start, tmp_path):
    port_file = tmp_path / "port"
    emulator = start("--port-file", str(port_file))
    assert emulator.line == f"yc-emulator listening on http://127.0.0.1:{emulator.port}/v1"
    assert port_file.read_text() == f"{emulator.port}\n"


def test_custom_credentials_and_no_output_text(start):
    emulator = start("--api-key", "k1", "--iam-token", "t1", "--no-output-text", "--queue-ms", "0", "--work-ms", "0")
    assert emulator.create(headers={"Authorization": "Api-Key test-key"}).status == 401
    answer = emulator.create(headers={"Authorization": "Bearer t1"})
    assert answer.status == 200 and "output_text" not in answer.json()
    assert answer.json()["status"] == "completed"  # --queue-ms 0 --work-ms 0
    assert emulator.create(headers={"Authorization": "Api-Key k1"}).status == 200


def test_bad_argument_exits_with_usage():
    from conftest import emulator_binary

    result = subprocess.run([str(emulator_binary()), "--bogus"], capture_output=True, timeout=10)
    assert result.returncode == 2 and b"usage" in result.stderr


@pytest.mark.parametrize("how", ["sigterm", "sigint", "stdin"])
def test_clean_stop(start, how):
    emulator = start()
    if how == "stdin":
        emulator.process.stdin.close()
    else:
        emulator.process.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGINT)
    assert emulator.process.wait(timeout=5) == 0


# ---------------------------------------------------------------- auth


@pytest.mark.parametrize("auth", [f"Api-Key {API_KEY}", f"Bearer {API_KEY}", f"Api-Key {IAM_TOKEN}",
                                  f"Bearer {IAM_TOKEN}", f"bearer {API_KEY}"])
def test_auth_accepted(emulator, auth):
    assert emulator.create(headers={"Authorization": auth}).status == 200


@pytest.mark.parametrize("auth", [None, "", "Api-Key wrong-secret", "Bearer wrong-secret", f"Basic {API_KEY}",
                                  API_KEY])
def test_auth_rejected(emulator, auth):
    answer = emulator.request("POST", "/v1/responses", {"model": MODEL, "input": "x"}, auth=auth)
    assert answer.status == 401
    error = error_of(answer)
    assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"
    assert "wrong-secret" not in answer.body.decode()
    assert emulator.stats()["responses"] == 0


def test_auth_comes_before_routing(emulator):
    assert emulator.request("GET", "/v1/nothing", auth=None).status == 401
    assert emulator.request("GET", "/v1/nothing").status == 404


# ---------------------------------------------------------------- validation


VALID = {"model": MODEL, "input": "x"}


@pytest.mark.parametrize(
    "body, headers, param, code",
    [
        (b"{not json", {}, None, "invalid_json"),
        (b"", {}, None, "invalid_json"),
        ([1, 2], {}, None, "invalid_json"),
        ({"input": "x"}, {}, "model", "missing_required_parameter"),
        ({"model": 5, "input": "x"}, {}, "model", "invalid_type"),
        ({"model": "yandexgpt", "input": "x"}, {}, "model", "invalid_model"),
        ({"model": "gpt://folder", "input": "x"}, {}, "model", "invalid_model"),
        ({"model": "gpt://folder/m/v/extra", "input": "x"}, {}, "model", "invalid_model"),
        ({"model": "gpt:///yandexgpt", "input": "x"}, {}, "model", "invalid_model"),
        (VALID, {"OpenAI-Project": "other-folder"}, "model", "folder_mismatch"),
        ({"model": MODEL}, {}, "input", "missing_required_parameter"),
        ({"model": MODEL, "input": 5}, {}, "input", "invalid_type"),
        ({"model": MODEL, "input": ["text"]}, {}, "input[0]", "invalid_type"),
        ({**VALID, "foo": 1}, {}, "foo", "unknown_parameter"),
        ({**VALID, "stream": True}, {}, "stream", "unsupported_parameter"),
        ({**VALID, "background": True, "store": False}, {}, "store", "invalid_value"),
        ({**VALID, "background": "yes"}, {}, "background", "invalid_type"),
        ({**VALID, "temperature": 2.5}, {}, "temperature", "invalid_value"),
        ({**VALID, "temperature": -0.1}, {}, "temperature", "invalid_value"),
        ({**VALID, "temperature": "hot"}, {}, "temperature", "invalid_type"),
        ({**VALID, "max_output_tokens": 0}, {}, "max_output_tokens", "invalid_value"),
        ({**VALID, "max_output_tokens": 1.5}, {}, "max_output_tokens", "invalid_value"),
        ({**VALID, "max_output_tokens": "5"}, {}, "max_output_tokens", "invalid_value"),
        ({**VALID, "metadata": ["a"]}, {}, "metadata", "invalid_type"),
        ({**VALID, "metadata": {"a": 1}}, {}, "metadata.a", "invalid_type"),
        ({**VALID, "metadata": {"emulator_outcome": "exploded"}}, {}, "metadata.emulator_outcome", "invalid_value"),
        ({**VALID, "metadata": {"emulator_output_bytes": "-1"}}, {}, "metadata.emulator_output_bytes",
         "invalid_value"),
        ({**VALID, "metadata": {"emulator_queue_ms": "soon"}}, {}, "metadata.emulator_queue_ms", "invalid_value"),
        ({**VALID, "metadata": {"emulator_typo": "1"}}, {}, "metadata.emulator_typo", "invalid_value"),
    ],
)
def test_create_validation(emulator, body, headers, param, code):
    answer = emulator.request("POST", "/v1/responses", body, headers=headers)
    assert answer.status == 400, answer.body
    error = error_of(answer)
    assert error["type"] == "invalid_request_error"
    assert (error["param"], error["code"]) == (param, code)
    assert error["message"]
    assert emulator.stats()["responses"] == 0


def test_unknown_field_message(emulator):
    error = error_of(emulator.request("POST", "/v1/responses", {**VALID, "foo": 1}))
    assert error["message"] == "Unrecognized request argument supplied: foo"


def test_valid_edge_cases(emulator):
    ok = [
        {"model": MODEL, "prompt": {"id": "pmpt_1"}},  # prompt instead of input
        {**VALID, "temperature": 0}, {**VALID, "temperature": 2}, {**VALID, "temperature": None},
        {**VALID, "max_output_tokens": None}, {**VALID, "metadata": None}, {**VALID, "stream": False},
        {"model": f"gpt://{'folder'}/yandexgpt/latest", "input": "x"},
        {"model": "gpt://folder/yandexgpt/rc@tuned", "input": "x"},
        {**VALID, "background": True, "store": True},
    ]
    for body in ok:
        answer = emulator.request("POST", "/v1/responses", body, headers={"OpenAI-Project": "folder"})
        assert answer.status == 200, (body, answer.body)


def test_hostile_bodies_do_not_crash(emulator):
    for body in [b"[" * 100_000, b'{"a":' * 50_000, bytes(range(256)) * 10, b'"\\ud800"', b"1e999",
                 b'{"model": "\xff\xfe"}', b"\x00" * 1000]:
        assert emulator.request("POST", "/v1/responses", body).status == 400
    assert emulator.create().status == 200


def test_body_too_large(emulator):
    with connect(emulator) as sock:
        sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: x\r\n" + AUTH.encode()
                     + b"Content-Length: 40000000\r\n\r\n{\"model\":")
        status, headers, body = read_answer(sock)
        assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large"
        assert headers["connection"] == "close"


def test_malformed_http_is_400(emulator):
    with connect(emulator) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        status, headers, _ = read_answer(sock)
        assert status == 400 and UUID.match(headers["x-request-id"])


# ---------------------------------------------------------------- API semantics


def test_lifecycle_follows_the_clock(emulator):
    obj = emulator.create(metadata={"emulator_queue_ms": "600", "emulator_work_ms": "600"}).json()
    started = time.monotonic()
    assert obj["status"] == "queued"
    time.sleep(max(0, 0.9 - (time.monotonic() - started)))
    assert emulator.retrieve(obj["id"]).json()["status"] == "in_progress"
    time.sleep(max(0, 1.35 - (time.monotonic() - started)))
    assert emulator.retrieve(obj["id"]).json()["status"] == "completed"


def test_command_line_durations_apply(emulator):
    obj = emulator.create().json()  # session emulator: --queue-ms 100 --work-ms 200
    assert obj["status"] == "queued"
    assert emulator.wait_terminal(obj["id"], timeout=3)["status"] == "completed"


def test_ids_are_uuids_and_distinct(emulator):
    ids = {emulator.create().json()["id"] for _ in range(5)}
    assert len(ids) == 5 and all(UUID.match(i) for i in ids)


def test_cancel_semantics(emulator):
    slow = emulator.create(metadata={"emulator_queue_ms": "60000"}).json()
    first = emulator.request("POST", f"/v1/responses/{slow['id']}/cancel")
    assert first.status == 200 and first.json()["status"] == "cancelled"
    again = emulator.request("POST", f"/v1/responses/{slow['id']}/cancel")
    assert again.status == 200 and again.json()["status"] == "cancelled"
    done = emulator.create(background=False).json()
    assert emulator.request("POST", f"/v1/responses/{done['id']}/cancel").json()["status"] == "completed"
    missing = emulator.request("POST", "/v1/responses/nope/cancel")
    assert missing.status == 404 and error_of(missing)["code"] == "not_found"


def test_delete(emulator):
    obj = emulator.create().json()
    answer = emulator.request("DELETE", f"/v1/responses/{obj['id']}")
    assert answer.status == 200 and answer.json() == {"id": obj["id"], "object": "response", "deleted": True}
    assert emulator.retrieve(obj["id"]).status == 404
    assert emulator.request("DELETE", f"/v1/responses/{obj['id']}").status == 404


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/v1/responses/unknown-id", 404), ("GET", "/v1/other", 404), ("GET", "/", 404),
    ("GET", "/v1/responses/x/input_items", 404), ("GET", "/v1/responses/", 404),
    ("GET", "/v1/responses", 405), ("PUT", "/v1/responses", 405), ("PATCH", "/v1/responses/x", 405),
    ("GET", "/v1/responses/x/cancel", 405),
])
def test_unknown_paths_and_methods(emulator, method, path, status):
    answer = emulator.request(method, path)
    assert answer.status == status
    error_of(answer)
    if status == 405:
        assert "allow" in answer.headers


def test_idempotency_key(emulator):
    key = {"Idempotency-Key": "key-1"}
    first = emulator.create(headers=key, metadata={"emulator_queue_ms": "60000"}).json()
    emulator.request("POST", f"/v1/responses/{first['id']}/cancel")
    second = emulator.create(headers=key, input="something else").json()
    assert second["id"] == first["id"] and second["status"] == "cancelled"  # its current state
    third = emulator.create(headers={"Idempotency-Key": "key-2"}).json()
    assert third["id"] != first["id"]
    stats = emulator.stats()
    assert stats["responses"] == 2 and stats["requests"]["create"] == 3


def test_poll_after_header(emulator):
    assert emulator.control("POST", "settings", {"poll_after_ms": 250}).json()["poll_after_ms"] == 250
    created = emulator.create(metadata={"emulator_queue_ms": "60000"})
    assert created.headers["openai-poll-after-ms"] == "250"
    assert emulator.retrieve(created.json()["id"]).headers["openai-poll-after-ms"] == "250"
    done = emulator.create(background=False)
    assert "openai-poll-after-ms" not in done.headers
    assert "openai-poll-after-ms" not in emulator.retrieve(done.json()["id"]).headers
    emulator.control("POST", "settings", {"poll_after_ms": None})
    assert "openai-poll-after-ms" not in emulator.create().headers


def test_poll_after_from_command_line(start):
    emulator = start("--poll-after-ms", "40")
    assert emulator.create().headers["openai-poll-after-ms"] == "40"


# ---------------------------------------------------------------- directives


def test_directive_output_text(emulator):
    obj = emulator.create(background=False, metadata={"emulator_output_text": "Exactly this, ünïcode."}).json()
    assert obj["output_text"] == "Exactly this, ünïcode."


def test_directive_output_bytes(emulator):
    obj = emulator.create(background=False, metadata={"emulator_output_bytes": "25"}).json()
    assert obj["output_text"] == "abcdefghi abcdefghi abcde"
    assert emulator.create(background=False, metadata={"emulator_output_bytes": "0"}).json()["output_text"] == ""


def test_directive_durations(emulator):
    obj = emulator.create(metadata={"emulator_queue_ms": "0", "emulator_work_ms": "60000"}).json()
    assert obj["status"] == "in_progress"
    obj = emulator.create(metadata={"emulator_queue_ms": "0", "emulator_work_ms": "0"}).json()
    assert obj["status"] == "completed"


# ---------------------------------------------------------------- control endpoints


PACING_DEFAULTS = {"rtt_ms": 0, "connect_ms": 0, "quota_create_rps": None, "quota_poll_rps": None,
                   "quota_cancel_rps": None, "quota_burst": None}


def test_settings_endpoint(emulator):
    answer = emulator.control("POST", "settings", {"queue_ms": 0, "work_ms": 0})
    assert answer.json() == {"queue_ms": 0, "work_ms": 0, "poll_after_ms": None, "output_text": True,
                             **PACING_DEFAULTS}
    assert emulator.create().json()["status"] == "completed"
    for bad in [{"queue_ms": -1}, {"queue_ms": "1"}, {"output_text": "no"}, {"speed": 1}, [1], b"{"]:
        assert emulator.control("POST", "settings", bad).status == 400
    assert emulator.control("POST", "settings", b"").json()["queue_ms"] == 0  # empty body: no change
    emulator.reset()
    assert emulator.control("POST", "settings", {}).json() == {
        "queue_ms": 100, "work_ms": 200, "poll_after_ms": None, "output_text": True, **PACING_DEFAULTS}


def test_reset_clears_everything(emulator):
    obj = emulator.create().json()
    emulator.add_faults({"kind": "status", "match": "delete"})
    emulator.control("POST", "settings", {"queue_ms": 7})
    emulator.reset()
    assert emulator.retrieve(obj["id"]).status == 404
    assert emulator.request("DELETE", "/v1/responses/x").status == 404  # the fault is gone
    stats = emulator.stats()
    assert stats["responses"] == 0 and stats["faults_applied"] == 0
    assert stats["requests"] == {"create": 0, "retrieve": 1, "cancel": 0, "delete": 1, "other": 0}
    assert len(emulator.recorded()) == 2


def test_stats_counts_by_kind(emulator):
    obj = emulator.create().json()
    emulator.retrieve(obj["id"])
    emulator.retrieve(obj["id"])
    emulator.request("POST", f"/v1/responses/{obj['id']}/cancel")
    emulator.request("DELETE", f"/v1/responses/{obj['id']}")
    emulator.request("GET", "/v1/models")
    stats = emulator.stats()
    assert stats["requests"] == {"create": 1, "retrieve": 2, "cancel": 1, "delete": 1, "other": 1}
    assert stats["responses"] == 1 and stats["open_connections"] >= 1


def test_requests_log(emulator):
    emulator.create(input="first", headers={"X-Custom": "a"})
    emulator.add_faults({"kind": "status", "status": 503, "match": "retrieve"})
    emulator.retrieve("some-id")
    emulator.retrieve("other-id")
    log = emulator.recorded()
    assert [r["method"] for r in log] == ["POST", "GET", "GET"]
    first = log[0]
    assert first["path"] == "/v1/responses" and first["headers"]["x-custom"] == "a"
    assert first["headers"]["authorization"] == f"Api-Key {API_KEY}"
    assert json.loads(first["body"])["input"] == "first"
    assert (first["fault"], first["status"]) == (None, 200)
    assert (log[1]["fault"], log[1]["status"]) == ("status", 503)
    assert (log[2]["path"], log[2]["fault"], log[2]["status"]) == ("/v1/responses/other-id", None, 404)
    assert [r["path"] for r in emulator.recorded(limit=1)] == ["/v1/responses/other-id"]
    assert emulator.recorded(limit=0) == []
    assert emulator.control("GET", "requests?limit=x").status == 400


def test_requests_log_keeps_the_last_thousand(emulator):
    conn = emulator.connection()
    for i in range(1010):
        emulator.request("GET", f"/v1/responses/r{i}", conn=conn)
    conn.close()
    log = emulator.recorded(limit=5000)
    assert len(log) == 1000
    assert log[0]["path"] == "/v1/responses/r10" and log[-1]["path"] == "/v1/responses/r1009"


def test_control_unknown_and_wrong_method(emulator):
    assert emulator.control("GET", "nothing").status == 404
    assert emulator.control("GET", "faults").status == 405
    assert emulator.control("POST", "stats").status == 405


# ---------------------------------------------------------------- faults: answers


def test_status_fault_with_retry_headers(emulator):
    emulator.add_faults({"kind": "status", "status": 429, "retry_after": "1", "retry_after_ms": "50",
                         "should_retry": "false"})
    answer = emulator.create()
    assert answer.status == 429
    assert answer.headers["retry-after"] == "1" and answer.headers["retry-after-ms"] == "50"
    assert answer.headers["x-should-retry"] == "false"
    error = error_of(answer)
    assert error["code"] == "rate_limit_exceeded"
    assert emulator.stats()["responses"] == 0  # not processed
    assert emulator.create().status == 200  # count 1: used up


def test_status_fault_defaults_and_body_override(emulator):
    emulator.add_faults([{"kind": "status"},
                         {"kind": "status", "status": 503, "body": "upstream says no", "content_type": "text/plain"}])
    first = emulator.create()
    assert first.status == 500 and error_of(first)["code"] == "server_error"
    assert "retry-after" not in first.headers
    second = emulator.create()
    assert second.status == 503 and second.body == b"upstream says no"
    assert second.headers["content-type"] == "text/plain"


def test_yandex_fault(emulator):
    emulator.add_faults([{"kind": "yandex"}, {"kind": "yandex", "status": 429, "retry_after": "2"}])
    first = emulator.create()
    assert first.status == 503
    body = first.json()
    assert body["code"] == 14 and isinstance(body["message"], str) and body["details"] == []
    second = emulator.create()
    assert second.status == 429 and second.json()["code"] == 8 and second.headers["retry-after"] == "2"


def test_yandex_gateway_fault(emulator):
    emulator.add_faults({"kind": "yandex_gateway"})
    answer = emulator.create()
    assert answer.status == 503
    error = answer.json()["error"]
    assert error["grpcCode"] == 14 and error["httpCode"] == 503
    assert error["httpStatus"] == "Service Unavailable" and error["details"] == [] and error["message"]


def test_html_fault(emulator):
    emulator.add_faults({"kind": "html"})
    answer = emulator.create()
    assert answer.status == 502 and answer.headers["content-type"] == "text/html"
    assert answer.body.lstrip().startswith(b"<html") and b"502 Bad Gateway" in answer.body


def test_empty_fault(emulator):
    emulator.add_faults([{"kind": "empty"}, {"kind": "empty", "status": 502}])
    answer = emulator.create()
    assert answer.status == 504 and answer.body == b"" and answer.headers["content-length"] == "0"
    assert emulator.create().status == 502


def test_malformed_fault(emulator):
    emulator.add_faults({"kind": "malformed"})
    answer = emulator.create()
    assert answer.status == 200 and answer.headers["content-type"] == "application/json"
    assert int(answer.headers["content-length"]) == len(answer.body) > 0
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.body)


def test_not_object_fault(emulator):
    emulator.add_faults({"kind": "not_object"})
    answer = emulator.create()
    assert answer.status == 200 and answer.json() == [1, 2, 3]


def test_error_200_fault(emulator):
    emulator.add_faults({"kind": "error_200"})
    answer = emulator.create()
    assert answer.status == 200 and error_of(answer)["code"] == "server_error"


def test_missing_id_and_unknown_status_faults(emulator):
    emulator.add_faults([{"kind": "missing_id"}, {"kind": "unknown_status"}])
    first = emulator.create().json()
    assert "id" not in first and first["object"] == "response"
    second = emulator.create().json()
    assert second["status"] == "paused" and UUID.match(second["id"])
    assert emulator.stats()["responses"] == 2  # both processed


def test_large_fault(emulator):
    emulator.add_faults({"kind": "large", "bytes": 3_000_000})
    answer = emulator.create()
    assert answer.status == 200 and len(answer.body) >= 3_000_000
    obj = answer.json()
    assert obj["object"] == "response" and UUID.match(obj["id"])
    assert emulator.retrieve(obj["id"]).status == 200


def test_shape_faults_leave_errors_alone(emulator):
    emulator.add_faults({"kind": "missing_id", "match": "retrieve"})
    answer = emulator.retrieve("unknown")
    assert answer.status == 404 and error_of(answer)["code"] == "not_found"


# ---------------------------------------------------------------- faults: the wire


def test_truncated_fault(emulator):
    emulator.add_faults({"kind": "truncated"})
    with connect(emulator) as sock:
        sock.sendall(create_bytes())
        data = read_until_closed(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    assert len(body) == length // 2 < length
    assert emulator.stats()["responses"] == 1


def test_reset_fault(emulator):
    emulator.add_faults({"kind": "reset"})
    with connect(emulator) as sock:
        sock.sendall(create_bytes())
        with pytest.raises(ConnectionResetError):
            read_until_closed(sock)
    assert emulator.stats()["responses"] == 0  # not processed
    record = emulator.recorded()[-1]
    assert (record["fault"], record["status"]) == ("reset", None)


def test_accept_then_reset_fault(emulator):
    emulator.add_faults({"kind": "accept_then_reset"})
    key = "Idempotency-Key: job-1\r\n"
    with connect(emulator) as sock:
        sock.sendall(raw_request("POST", "/v1/responses", {"model": MODEL, "input": "kept", "background": True},
                                 extra=AUTH + key))
        with pytest.raises(ConnectionResetError):
            read_until_closed(sock)
    assert emulator.stats()["responses"] == 1  # the job exists
    again = emulator.create(headers={"Idempotency-Key": "job-1"}).json()
    assert emulator.wait_terminal(again["id"])["output_text"] == "Echo: kept"
    assert emulator.stats()["responses"] == 1


def test_hang_with_delay(emulator):
    emulator.add_faults({"kind": "hang", "delay_ms": 300})
    started = time.monotonic()
    answer = emulator.create()
    assert answer.status == 200 and time.monotonic() - started >= 0.29


def test_hang_until_client_leaves(emulator):
    emulator.add_faults({"kind": "hang", "match": "retrieve"})
    # Earlier tests' connections may still be closing; start from just the stats request's own.
    wait_for(lambda: emulator.stats()["open_connections"] == 1)
    baseline = 1
    with connect(emulator, timeout=0.4) as sock:
        sock.sendall(raw_request("GET", "/v1/responses/x"))
        with pytest.raises(socket.timeout):
            sock.recv(1)
        wait_for(lambda: emulator.stats()["open_connections"] == baseline + 1)
    # Once the client is gone, so is the connection: nothing held.
    wait_for(lambda: emulator.stats()["open_connections"] == baseline)
    assert emulator.retrieve("x").status == 404


def test_delay_fault(emulator):
    emulator.add_faults({"kind": "delay", "delay_ms": 250, "match": "retrieve"})
    obj = emulator.create().json()
    started = time.monotonic()
    answer = emulator.retrieve(obj["id"])
    assert answer.status == 200 and answer.json()["id"] == obj["id"]
    assert time.monotonic() - started >= 0.24


def test_trickle_fault(emulator):
    emulator.add_faults({"kind": "trickle", "interval_ms": 2, "match": "retrieve"})
    with connect(emulator) as sock:
        started = time.monotonic()
        sock.sendall(raw_request("GET", "/v1/responses/trickled"))
        reads = 0
        buf = bytearray()
        while b"\r\n\r\n" not in buf or not buf.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            assert chunk
            reads += 1
            buf += chunk
        elapsed = time.monotonic() - started
        status, _, body = read_answer(sock, buf)
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    assert reads > 20  # it came in many small pieces
    assert elapsed >= 0.8 * 0.002 * (len(buf) + len(body))  # and no faster than one byte per interval


def test_trickle_keeps_the_connection_usable(emulator):
    emulator.add_faults({"kind": "trickle", "interval_ms": 0, "match": "retrieve"})
    conn = emulator.connection()
    assert emulator.request("GET", "/v1/responses/a", conn=conn).status == 404
    assert emulator.request("GET", "/v1/responses/b", conn=conn).status == 404
    conn.close()


# ---------------------------------------------------------------- faults: selection


def test_count_and_order(emulator):
    emulator.add_faults([{"kind": "status", "status": 500, "count": 2}, {"kind": "status", "status": 502}])
    assert [emulator.create().status for _ in range(4)] == [500, 500, 502, 200]
    assert emulator.stats()["faults_applied"] == 3


def test_match_filters(emulator):
    emulator.add_faults({"kind": "status", "status": 503, "match": "delete"})
    obj = emulator.create()
    assert obj.status == 200
    assert emulator.retrieve(obj.json()["id"]).status == 200
    assert emulator.request("POST", f"/v1/responses/{obj.json()['id']}/cancel").status == 200
    assert emulator.request("DELETE", f"/v1/responses/{obj.json()['id']}").status == 503
    assert emulator.request("DELETE", f"/v1/responses/{obj.json()['id']}").status == 200


def test_any_matches_other_routes_too(emulator):
    emulator.add_faults({"kind": "status", "status": 418, "count": 2})
    assert emulator.request("GET", "/v1/nothing").status == 418
    assert emulator.request("GET", "/v1/responses/x").status == 418
    assert emulator.request("GET", "/v1/responses/x").status == 404


def test_probability_faults(emulator):
    emulator.add_faults({"kind": "status", "status": 503, "probability": 1.0, "match": "retrieve"})
    assert [emulator.retrieve("x").status for _ in range(5)] == [503] * 5  # never used up
    emulator.control("DELETE", "faults")
    emulator.add_faults({"kind": "status", "status": 503, "probability": 0.0})
    assert [emulator.retrieve("x").status for _ in range(5)] == [404] * 5
    emulator.control("DELETE", "faults")
    emulator.add_faults({"kind": "status", "status": 503, "probability": 0.5})
    conn = emulator.connection()
    statuses = [emulator.request("GET", "/v1/responses/x", conn=conn).status for _ in range(300)]
    conn.close()
    assert 75 < statuses.count(503) < 225 and statuses.count(503) + statuses.count(404) == 300


def test_counted_faults_come_before_probability_faults(emulator):
    emulator.add_faults([{"kind": "status", "status": 503, "probability": 1.0},
                         {"kind": "status", "status": 429}])
    assert [emulator.create().status for _ in range(3)] == [429, 503, 503]


def test_control_endpoints_are_never_faulted(emulator):
    emulator.add_faults({"kind": "reset", "probability": 1.0})
    assert emulator.control("GET", "stats").status == 200
    assert emulator.control("GET", "requests").status == 200
    assert emulator.control("POST", "settings", {}).status == 200
    assert emulator.control("DELETE", "faults").json() == {"faults": 0}
    assert emulator.create().status == 200


@pytest.mark.parametrize("fault", [
    {}, {"kind": "explode"}, {"kind": "status", "colour": "red"}, {"kind": "status", "count": 0},
    {"kind": "status", "count": 1.5}, {"kind": "status", "probability": 1.5}, {"kind": "status", "status": 99},
    {"kind": "status", "status": "503"}, {"kind": "status", "match": "sometimes"}, {"kind": "delay", "delay_ms": -1},
    {"kind": "status", "retry_after": "1\r\nX-Evil: 1"}, {"kind": "status", "body": 5}, "status", 5,
    [{"kind": "status"}, {"kind": "nope"}],
])
def test_bad_fault_objects(emulator, fault):
    answer = emulator.control("POST", "faults", fault)
    assert answer.status == 400 and error_of(answer)["message"]
    assert emulator.create().status == 200  # nothing was added


def test_fault_added_answer(emulator):
    assert emulator.add_faults([{"kind": "delay"}, {"kind": "delay"}]).json() == {"added": 2, "faults": 2}
    assert emulator.add_faults({"kind": "delay"}).json() == {"added": 1, "faults": 3}
    assert emulator.control("POST", "faults", b"{").status == 400


# ---------------------------------------------------------------- connections


def test_keep_alive_uses_one_connection(emulator):
    conn = emulator.connection()
    obj = emulator.create(conn=conn).json()
    for _ in range(5):
        assert emulator.request("GET", f"/v1/responses/{obj['id']}", conn=conn).status == 200
    assert emulator.request("GET", "/v1/responses/nope", conn=conn).status == 404
    stats = emulator.stats(conn=conn)
    conn.close()
    assert stats["connections"] == 1
    assert stats["requests"]["retrieve"] == 6


def test_pipelined_requests_are_answered_in_order(emulator):
    emulator.add_faults({"kind": "delay", "delay_ms": 100, "match": "retrieve"})
    with connect(emulator) as sock:
        sock.sendall(raw_request("GET", "/v1/responses/first") + raw_request("GET", "/v1/nothing")
                     + raw_request("POST", "/v1/responses", {"model": MODEL, "input": "third"}))
        buf = bytearray()
        answers = [read_answer(sock, buf) for _ in range(3)]
    assert [a[0] for a in answers] == [404, 404, 200]
    assert b"first" in answers[0][2] and json.loads(answers[2][2])["output_text"] == "Echo: third"


def test_expect_100_continue(emulator):
    body = json.dumps({"model": MODEL, "input": "continued"}).encode()
    with connect(emulator) as sock:
        sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: x\r\n" + AUTH.encode()
                     + f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode())
        buf = bytearray()
        status, _, _ = read_answer(sock, buf)
        assert status == 100
        sock.sendall(body)
        status, _, answer = read_answer(sock, buf)
    assert status == 200 and json.loads(answer)["output_text"] == "Echo: continued"


def test_connection_close_is_honoured(emulator):
    with connect(emulator) as sock:
        sock.sendall(raw_request("GET", "/v1/responses/x", extra=AUTH + "Connection: close\r\n"))
        data = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 404") and b"connection: close" in data.lower()


def test_x_request_id_on_every_answer(emulator):
    emulator.add_faults([{"kind": "status", "match": "retrieve"}, {"kind": "empty", "match": "delete"}])
    answers = [
        emulator.create(), emulator.retrieve("x"), emulator.request("DELETE", "/v1/responses/x"),
        emulator.request("GET", "/v1/responses/x", auth=None), emulator.request("PUT", "/v1/responses"),
        emulator.request("GET", "/v1/x"), emulator.control("GET", "stats"), emulator.control("GET", "nothing"),
        emulator.request("POST", "/v1/responses", b"{"),
    ]
    ids = [a.headers.get("x-request-id", "") for a in answers]
    assert all(UUID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert all(a.headers.get("content-type") == "application/json" for i, a in enumerate(answers) if i != 2)


def test_concurrent_keep_alive_clients(emulator):
    created = emulator.create(background=False).json()

    def client(n: int) -> list[int]:
        conn = emulator.connection()
        statuses = []
        for i in range(40):
            if i % 4 == 0:
                statuses.append(emulator.create(conn=conn, input=f"c{n} {i}").status)
            else:
                statuses.append(emulator.request("GET", f"/v1/responses/{created['id']}", conn=conn).status)
        conn.close()
        return statuses

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(client, range(16)))
    assert all(s == 200 for r in results for s in r)
    stats = emulator.stats()
    assert stats["connections"] == 18  # the first create, 16 clients and this stats request
    assert stats["requests"]["create"] == 1 + 16 * 10 and stats["responses"] == 1 + 16 * 10


def test_many_connections_open_and_close(emulator):
    def one(_):
        with connect(emulator) as sock:
            sock.sendall(raw_request("GET", "/v1/nothing", extra=AUTH + "Connection: close\r\n"))
            return read_until_closed(sock)[:12]

    with ThreadPoolExecutor(16) as pool:
        heads = list(pool.map(one, range(400)))
    assert all(h == b"HTTP/1.1 404" for h in heads)
    wait_for(lambda: emulator.stats()["open_connections"] == 1)


def test_client_that_vanishes_mid_request(emulator):
    for _ in range(20):
        with connect(emulator) as sock:
            sock.sendall(b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"mo")
    with connect(emulator) as sock:
        sock.sendall(b"GET /v1/responses/x HTTP/1.1\r\nHost: x\r\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    wait_for(lambda: emulator.stats()["open_connections"] == 1)
    assert emulator.create().status == 200


def test_soak_memory_stays_flat(emulator):
    """Thousands of keep-alive requests from 16 clients: per-request memory must not accumulate."""
    created = emulator.create(background=False).json()
    pid = emulator.process.pid

    def rss_kib() -> int:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    def client(count: int) -> int:
        conn = emulator.connection()
        bad = 0
        for i in range(count):
            path = f"/v1/responses/{created['id']}" if i % 5 else "/v1/responses/missing"
            bad += emulator.request("GET", path, conn=conn).status not in (200, 404)
        conn.close()
        return bad

    def round_of(count: int) -> int:
        with ThreadPoolExecutor(16) as pool:
            return sum(pool.map(client, [count] * 16))

    assert round_of(150) == 0  # warm-up: request log full, allocator settled
    before = rss_kib()
    assert round_of(500) == 0
    grown = rss_kib() - before
    assert grown < 4096, f"RSS grew by {grown} KiB over 8,000 requests"
    assert emulator.stats()["requests"]["retrieve"] == 16 * 650
