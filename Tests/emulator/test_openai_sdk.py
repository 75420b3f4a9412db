"""The official openai package drives the emulator unchanged."""

from __future__ import annotations

import time

import openai
import pytest

from conftest import API_KEY, FOLDER, IAM_TOKEN, MODEL, SLACK

TERMINAL = {"completed", "failed", "cancelled", "incomplete"}


@pytest.fixture
def client(emulator):
    with openai.OpenAI(api_key=API_KEY, base_url=emulator.v1, project=FOLDER, max_retries=2, timeout=10) as c:
        yield c


def poll(client, response_id: str, timeout: float = 10):
    deadline = time.monotonic() + timeout + SLACK
    response = client.responses.retrieve(response_id)
    while response.status not in TERMINAL:
        assert time.monotonic() < deadline, f"still {response.status}"
        time.sleep(0.05)
        response = client.responses.retrieve(response_id)
    return response


def test_background_create_poll_output_text(client, emulator):
    created = client.responses.create(background=True, model=MODEL, input="Hello from the SDK")
    assert created.status in ("queued", "in_progress")
    assert created.background is True
    final = poll(client, created.id)
    assert final.id == created.id
    assert final.status == "completed"
    assert final.output_text == "Echo: Hello from the SDK"
    assert final.usage.input_tokens == 4 and final.usage.output_tokens == 5
    # What the SDK really sent: its project header carries the folder, its key is a Bearer token.
    create_request = next(r for r in emulator.recorded() if r["method"] == "POST")
    assert create_request["headers"]["openai-project"] == FOLDER
    assert create_request["headers"]["authorization"] == f"Bearer {API_KEY}"


def test_output_text_is_computed_from_parts_without_the_field(client, emulator):
    # OpenAI's shape: no top-level output_text; the SDK joins the two output_text parts itself.
    emulator.control("POST", "settings", {"output_text": False})
    created = client.responses.create(background=True, model=MODEL, input="split me in two")
    final = poll(client, created.id)
    assert len(final.output[0].content) == 2
    assert final.output_text == "Echo: split me in two"


def test_item_input_and_settings(client):
    created = client.responses.create(
        background=True,
        model=MODEL,
        input=[{"role": "user", "content": "one"}, {"role": "user", "content": [{"type": "input_text", "text": "two"}]}],
        instructions="Be brief.",
        temperature=0.5,
        metadata={"run": "sdk"},
    )
    final = poll(client, created.id)
    assert final.output_text == "Echo: one\ntwo"
    assert final.instructions == "Be brief." and final.temperature == 0.5 and final.metadata == {"run": "sdk"}


def test_incomplete_and_failed(client):
    final = poll(client, client.responses.create(background=True, model=MODEL, input="a b c d", max_output_tokens=2).id)
    assert final.status == "incomplete" and final.incomplete_details.reason == "max_output_tokens"
    assert final.output_text == "Echo: a"
    failed = poll(client, client.responses.create(
        background=True, model=MODEL, input="x", metadata={"emulator_outcome": "failed"}).id)
    assert failed.status == "failed" and failed.error.code == "server_error"


def test_cancel(client):
    created = client.responses.create(
        background=True, model=MODEL, input="slow", metadata={"emulator_queue_ms": "60000"})
    cancelled = client.responses.cancel(created.id)
    assert cancelled.id == created.id and cancelled.status == "cancelled"
    assert client.responses.retrieve(created.id).status == "cancelled"


def test_delete(client):
    created = client.responses.create(background=False, model=MODEL, input="bye")
    assert created.status == "completed" and created.output_text == "Echo: bye"
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_iam_token_is_accepted(emulator):
    with openai.OpenAI(api_key=IAM_TOKEN, base_url=emulator.v1, project=FOLDER) as c:
        assert c.responses.create(model=MODEL, input="iam").output_text == "Echo: iam"


def test_bad_key_is_authentication_error(emulator):
    with openai.OpenAI(api_key="wrong-secret", base_url=emulator.v1, project=FOLDER, max_retries=0) as c:
        with pytest.raises(openai.AuthenticationError) as caught:
            c.responses.create(background=True, model=MODEL, input="x")
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert "wrong-secret" not in str(caught.value)


def test_unknown_id_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.responses.retrieve("00000000-0000-0000-0000-000000000000")
    assert caught.value.status_code == 404 and caught.value.code == "not_found"


def test_validation_errors_are_bad_request(client, emulator):
    with pytest.raises(openai.BadRequestError) as caught:
        client.responses.create(background=True, model="yandexgpt", input="x")
    assert caught.value.code == "invalid_model"
    with openai.OpenAI(api_key=API_KEY, base_url=emulator.v1, project="another-folder") as other:
        with pytest.raises(openai.BadRequestError):
            other.responses.create(background=True, model=MODEL, input="x")


def test_injected_503_on_retrieve_is_retried(client, emulator):
    created = client.responses.create(background=True, model=MODEL, input="retry me")
    emulator.add_faults({"match": "retrieve", "kind": "status", "status": 503, "retry_after_ms": "10"})
    final = poll(client, created.id)
    assert final.output_text == "Echo: retry me"
    stats = emulator.stats()
    assert stats["faults_applied"] == 1
    faulted = [r for r in emulator.recorded() if r["fault"]]
    assert [(r["fault"], r["status"]) for r in faulted] == [("status", 503)]


def test_injected_429_on_create_is_retried(client, emulator):
    emulator.add_faults({"match": "create", "kind": "status", "status": 429, "retry_after": "0.01",
                         "retry_after_ms": "10"})
    created = client.responses.create(background=True, model=MODEL, input="again")
    assert poll(client, created.id).output_text == "Echo: again"
    assert emulator.stats()["requests"]["create"] == 2
    assert emulator.stats()["responses"] == 1  # the faulted attempt created nothing


def test_should_retry_false_is_honoured(client, emulator):
    emulator.add_faults({"match": "retrieve", "kind": "status", "status": 503, "should_retry": "false"})
    created = client.responses.create(background=True, model=MODEL, input="x")
    with pytest.raises(openai.InternalServerError):
        client.responses.retrieve(created.id)
    assert emulator.stats()["requests"]["retrieve"] == 1


def test_connection_reset_is_retried(client, emulator):
    emulator.add_faults({"match": "retrieve", "kind": "reset"})
    created = client.responses.create(background=True, model=MODEL, input="reset")
    assert poll(client, created.id).output_text == "Echo: reset"
    assert emulator.stats()["faults_applied"] == 1
