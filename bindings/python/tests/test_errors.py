"""Errors: kinds, classes, attributes, retries, faults, and no secret in any message."""

from __future__ import annotations

import builtins
import pickle
from typing import Any, List

import pytest

import ycbg
from conftest import API_KEY, FOLDER, IAM_TOKEN, Emulator

SECRETS = (API_KEY, IAM_TOKEN, "wrong-secret-key-51c0e2")


def assert_no_secret(err: BaseException) -> None:
    texts = [str(err), repr(err)]
    if isinstance(err, ycbg.Error):
        texts += [err.message, repr(err.document)]
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"secret leaked in {text!r}"


def test_wrong_key_is_api_error_401(emu: Emulator) -> None:
    with emu.client(api_key="wrong-secret-key-51c0e2") as c:
        with pytest.raises(ycbg.APIError) as ei:
            c.create_background(model="yandexgpt", input="x")
    e = ei.value
    assert isinstance(e, ycbg.Error)
    assert e.kind == "api" and e.http_status == 401
    assert e.code == "invalid_api_key"
    assert e.retryable is False
    assert isinstance(e.request_id, str) and e.request_id
    assert e.message and e.message in str(e) and "401" in str(e)
    assert e.document["kind"] == "api"
    assert_no_secret(e)
    # 401 is not retried
    assert emu.stats()["requests"]["create"] == 1


def test_poll_fault_is_retried(client: ycbg.Client, emu: Emulator) -> None:
    t = client.create_background(model="yandexgpt", input="retry me")
    emu.faults({"match": "retrieve", "kind": "status", "status": 503,
                "retry_after": "0", "count": 1})
    before = emu.stats()["requests"]["retrieve"]
    assert t.poll() in ("queued", "in_progress", "completed")
    stats = emu.stats()
    assert stats["requests"]["retrieve"] - before == 2     # the 503, then the retry
    assert stats["faults_applied"] == 1
    assert t.error is None                                 # the successful call cleared it
    assert t.wait(10) == "completed"


def test_create_fault_is_retried_with_same_idempotency_key(client: ycbg.Client,
                                                           emu: Emulator) -> None:
    emu.faults({"match": "create", "kind": "status", "status": 429, "retry_after": "0"})
    t = client.create_background(model="yandexgpt", input="again")
    assert t.wait(10) == "completed"
    creates = [r for r in emu.requests() if r["path"] == "/v1/responses"]
    assert [r["status"] for r in creates] == [429, 200]
    assert creates[0]["headers"]["idempotency-key"] == creates[1]["headers"]["idempotency-key"]
    assert emu.stats()["responses"] == 1


def test_html_502_is_http_error(emu: Emulator) -> None:
    with emu.client(max_retries=0) as c:
        t = c.create_background(model="yandexgpt", input="x")
        emu.faults({"match": "retrieve", "kind": "html", "status": 502, "count": 3})
        with pytest.raises(ycbg.HTTPError) as ei:
            t.poll()
        e = ei.value
        assert e.kind == "http" and e.http_status == 502 and e.retryable is True
        # the task keeps its last status and records the error
        assert t.status in ("queued", "in_progress")
        assert isinstance(t.error, ycbg.HTTPError)
        assert_no_secret(e)
        # create fails the same way
        emu.faults({"match": "create", "kind": "html", "status": 502})
        with pytest.raises(ycbg.HTTPError):
            c.create_background(model="yandexgpt", input="y")
        emu.clear_faults()
        assert t.wait(10) == "completed"          # a later call succeeds


def test_retries_exhausted_surface_the_last_error(client: ycbg.Client, emu: Emulator) -> None:
    t = client.create_background(model="yandexgpt", input="x")     # default max_retries = 2
    emu.faults({"match": "retrieve", "kind": "html", "status": 502, "count": 3,
                "retry_after": "0"})
    before = emu.stats()["requests"]["retrieve"]
    with pytest.raises(ycbg.HTTPError) as ei:
        t.poll()
    assert ei.value.http_status == 502
    assert emu.stats()["requests"]["retrieve"] - before == 3        # 1 + 2 retries
    assert t.poll() in ("queued", "in_progress", "completed")       # fault used up


def test_malformed_is_protocol_error(client: ycbg.Client, emu: Emulator) -> None:
    t = client.create_background(model="yandexgpt", input="x")
    emu.faults({"match": "retrieve", "kind": "malformed"})
    with pytest.raises(ycbg.ProtocolError) as ei:
        t.poll()
    assert ei.value.kind == "protocol" and ei.value.retryable is False
    assert t.wait(10) == "completed"


@pytest.mark.parametrize("kind", ["unknown_status", "missing_id", "not_object"])
def test_bad_response_objects_are_protocol_errors(client: ycbg.Client, emu: Emulator,
                                                  kind: str) -> None:
    emu.faults({"match": "create", "kind": kind})
    with pytest.raises(ycbg.ProtocolError):
        client.create_background(model="yandexgpt", input="x")


def test_wait_raises_non_retryable_error(client: ycbg.Client, emu: Emulator) -> None:
    t = client.create_background(model="yandexgpt", input="x")
    emu.faults({"match": "retrieve", "kind": "error_200"})
    with pytest.raises(ycbg.APIError):
        t.wait(10)


def test_cancel_error_raises(client: ycbg.Client, emu: Emulator) -> None:
    emu.settings(work_ms=10_000)
    t = client.create_background(model="yandexgpt", input="x")
    emu.faults({"match": "cancel", "kind": "status", "status": 400})
    with pytest.raises(ycbg.APIError) as ei:
        t.cancel()
    assert ei.value.http_status == 400
    assert t.cancel() == "cancelled"


def test_connection_refused_is_network_error(emu: Emulator) -> None:
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                    # nothing listens there now
    with ycbg.Client(api_key=API_KEY, folder_id=FOLDER, max_retries=0,
                     base_url=f"http://127.0.0.1:{port}/v1") as c:
        with pytest.raises(ycbg.NetworkError) as ei:
            c.create_background(model="yandexgpt", input="x")
    assert ei.value.kind == "network" and ei.value.retryable is True
    assert_no_secret(ei.value)


def test_request_timeout_is_timeout_error(emu: Emulator) -> None:
    with emu.client(timeout_ms=300, max_retries=0) as c:
        t = c.create_background(model="yandexgpt", input="x")
        emu.faults({"match": "retrieve", "kind": "hang", "delay_ms": 3000})
        with pytest.raises(ycbg.TimeoutError) as ei:
            t.poll()
    assert ei.value.kind == "timeout" and ei.value.retryable is True
    assert isinstance(ei.value, builtins.TimeoutError)   # `except TimeoutError` works


def test_invalid_request_json(client: ycbg.Client) -> None:
    with pytest.raises(ycbg.InvalidJSONError) as ei:
        client.create_background('{"model": "yandexgpt",\n "input": }')
    e = ei.value
    assert e.kind == "invalid_json"
    assert "line" in e.message.lower() and "column" in e.message.lower()
    with pytest.raises(ycbg.InvalidArgumentError) as ei2:
        client.create_background("[1, 2, 3]")
    assert ei2.value.kind == "invalid_argument"


def test_invalid_arguments_in_python(client: ycbg.Client) -> None:
    with pytest.raises(ycbg.InvalidArgumentError):
        client.create_background(model="yandexgpt", input=object())        # not JSON
    with pytest.raises(ycbg.InvalidArgumentError):
        client.create_background(model="yandexgpt", input="x", temperature=float("nan"))
    with pytest.raises(ycbg.InvalidArgumentError):
        client.create_background('{"model": "m"}', input="both")
    with pytest.raises(ycbg.InvalidArgumentError):
        client.attach("abc\x00def")
    with pytest.raises(ycbg.Error) as ei:
        client.attach("")
    assert ei.value.kind == "invalid_argument"


def test_server_side_validation_error(client: ycbg.Client) -> None:
    with pytest.raises(ycbg.APIError) as ei:
        client.create_background(model="yandexgpt", input="x", no_such_field=1)
    assert ei.value.http_status == 400
    assert "no_such_field" in ei.value.message


@pytest.mark.parametrize("kwargs, key", [
    ({"bogus_option": 1}, "bogus_option"),
    ({"timeout_ms": "soon"}, "timeout_ms"),
    ({"max_retries": True}, "max_retries"),
    ({"headers": {"x": 1}}, "headers"),
    ({"iam_token": IAM_TOKEN}, "iam_token"),                 # both credentials
])
def test_config_errors_name_the_key(emu: Emulator, kwargs: Any, key: str) -> None:
    with pytest.raises(ycbg.ConfigError) as ei:
        ycbg.Client(**emu.config(**kwargs))
    e = ei.value
    assert e.kind == "config" and e.retryable is False
    assert key in e.message
    assert_no_secret(e)
    assert emu.stats()["requests"] == {"create": 0, "retrieve": 0, "cancel": 0,
                                       "delete": 0, "other": 0}


def test_no_credentials_is_config_error() -> None:
    with pytest.raises(ycbg.ConfigError):
        ycbg.Client(base_url="http://127.0.0.1:9/v1")


def test_credentials_over_plain_http_to_remote_host() -> None:
    with pytest.raises(ycbg.ConfigError) as ei:
        ycbg.Client(api_key=API_KEY, base_url="http://example.invalid/v1")
    assert_no_secret(ei.value)


def test_model_short_name_without_folder(emu: Emulator) -> None:
    with ycbg.Client(api_key=API_KEY, base_url=emu.base_url) as c:
        with pytest.raises(ycbg.ConfigError) as ei:
            c.create_background(model="yandexgpt", input="x")
        assert "folder" in ei.value.message.lower()
        t = c.create_background(model=f"gpt://{FOLDER}/yandexgpt", input="full uri")
        assert t.wait(10) == "completed"


def test_echoed_secret_is_redacted(emu: Emulator) -> None:
    body = '{"error": {"message": "bad key %s", "type": "invalid_request_error", ' \
           '"code": "invalid_api_key"}}' % API_KEY
    emu.faults({"match": "create", "kind": "status", "status": 401, "body": body,
                "content_type": "application/json"})
    with emu.client() as c:
        with pytest.raises(ycbg.APIError) as ei:
            c.create_background(model="yandexgpt", input="x")
    assert ei.value.http_status == 401
    assert_no_secret(ei.value)


def test_no_secret_in_any_error_message(emu: Emulator) -> None:
    """Drive many failure paths; no API key / IAM token in any message."""
    errors: List[BaseException] = []

    def collect(fn: Any) -> None:
        try:
            fn()
        except ycbg.Error as e:
            errors.append(e)

    collect(lambda: emu.client(api_key="wrong-secret-key-51c0e2").create_background(
        model="yandexgpt", input="x"))
    collect(lambda: emu.client(iam_token="wrong-secret-key-51c0e2", api_key=None)
            .create_background(model="yandexgpt", input="x"))
    collect(lambda: ycbg.Client(**emu.config(iam_token=IAM_TOKEN)))
    collect(lambda: ycbg.Client(**emu.config(base_url="http://ycbg-remote.invalid/v1")))
    collect(lambda: ycbg.Client(**emu.config(base_url="not a url")))
    with emu.client(max_retries=0) as c:
        t = c.create_background(model="yandexgpt", input="x")
        for kind in ("html", "empty", "malformed", "yandex", "yandex_gateway", "error_200"):
            emu.faults({"match": "retrieve", "kind": kind})
            collect(t.poll)
        emu.faults({"match": "retrieve", "kind": "status", "status": 500})
        collect(t.poll)
        collect(lambda: c.attach("does-not-exist"))
        collect(lambda: c.create_background(model="yandexgpt", input="x", bad=1))
    assert len(errors) >= 12
    for e in errors:
        assert_no_secret(e)


def test_error_class_mapping_and_pickle() -> None:
    e = ycbg._errors.error_from_document(
        {"kind": "api", "message": "slow down", "http_status": 429,
         "code": "rate_limit_exceeded", "request_id": "rid", "retryable": True})
    assert type(e) is ycbg.APIError
    assert (e.kind, e.http_status, e.code, e.request_id, e.retryable) == \
        ("api", 429, "rate_limit_exceeded", "rid", True)
    e2 = pickle.loads(pickle.dumps(e))
    assert type(e2) is ycbg.APIError and e2.document == e.document
    kinds = {"invalid_argument": ycbg.InvalidArgumentError, "invalid_json": ycbg.InvalidJSONError,
             "config": ycbg.ConfigError, "network": ycbg.NetworkError,
             "timeout": ycbg.TimeoutError, "http": ycbg.HTTPError, "api": ycbg.APIError,
             "protocol": ycbg.ProtocolError, "generation": ycbg.GenerationError}
    for kind, cls in kinds.items():
        err = ycbg._errors.error_from_document({"kind": kind, "message": "m", "retryable": False})
        assert type(err) is cls and err.kind == kind and isinstance(err, ycbg.Error)
    other = ycbg._errors.error_from_document({"kind": "brand_new", "message": "m"})
    assert type(other) is ycbg.Error and other.kind == "brand_new"
