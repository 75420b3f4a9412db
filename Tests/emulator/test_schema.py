"""Every lifecycle state and directive of the emulator produces a Response object that validates
against Tests/emulator/response.schema.json: components.schemas.Response of the OpenAI OpenAPI
description, written out as a standalone JSON Schema (its "$comment" says what it keeps)."""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from conftest import MODEL

SCHEMA = Path(os.environ.get("YC_RESPONSE_SCHEMA", Path(__file__).resolve().parent / "response.schema.json"))
LONG = 60_000  # ms: a phase that will not end during the test


@pytest.fixture(scope="module")
def validator():
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    # Standalone: every $ref points into the file's own $defs, and each resolves.
    refs = re.findall(r'"\$ref": "([^"]*)"', json.dumps(schema))
    assert refs and all(r.startswith("#/$defs/") and r[len("#/$defs/"):] in schema["$defs"] for r in refs)
    return cls(schema)


def check(validator, obj: dict) -> dict:
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    return obj


def created(emulator, **fields) -> dict:
    answer = emulator.create(**fields)
    assert answer.status == 200, answer.body
    return answer.json()


def text_of(obj: dict) -> str:
    return "".join(
        part["text"]
        for item in obj["output"]
        if item["type"] == "message"
        for part in item["content"]
        if part["type"] == "output_text"
    )


def test_validator_is_not_vacuous(validator, emulator):
    obj = check(validator, created(emulator, metadata={"emulator_queue_ms": "0", "emulator_work_ms": "0"}))
    for required in ("tools", "tool_choice", "parallel_tool_calls", "metadata", "temperature", "top_p", "id"):
        broken = copy.deepcopy(obj)
        del broken[required]
        assert list(validator.iter_errors(broken)), f"dropping {required} still validated"
    broken = copy.deepcopy(obj)
    broken["status"] = "paused"
    assert list(validator.iter_errors(broken))
    broken = copy.deepcopy(obj)
    del broken["output"][0]["content"][0]["logprobs"]
    assert list(validator.iter_errors(broken))


def test_queued(validator, emulator):
    obj = check(validator, created(emulator, metadata={"emulator_queue_ms": str(LONG)}))
    assert obj["status"] == "queued"
    assert obj["background"] is True
    assert obj["output"] == [] and "usage" not in obj and obj["completed_at"] is None
    assert obj["output_text"] == ""
    again = emulator.retrieve(obj["id"]).json()
    check(validator, again)
    assert again["status"] == "queued"


def test_in_progress(validator, emulator):
    obj = created(emulator, metadata={"emulator_queue_ms": "0", "emulator_work_ms": str(LONG)})
    check(validator, obj)
    assert obj["status"] == "in_progress"
    assert "usage" not in obj


def test_completed(validator, emulator):
    obj = created(emulator, input="one two three")
    final = check(validator, emulator.wait_terminal(obj["id"]))
    assert final["status"] == "completed"
    assert final["output_text"] == "Echo: one two three" == text_of(final)
    assert final["completed_at"] >= final["created_at"]
    assert final["error"] is None and final["incomplete_details"] is None
    message = final["output"][0]
    assert message["type"] == "message" and message["role"] == "assistant" and message["status"] == "completed"
    assert [p["type"] for p in message["content"]] == ["output_text", "output_text"]
    usage = final["usage"]
    assert usage["input_tokens"] == 3 and usage["output_tokens"] == 4 and usage["total_tokens"] == 7


def test_failed(validator, emulator):
    obj = created(emulator, metadata={"emulator_outcome": "failed"})
    final = check(validator, emulator.wait_terminal(obj["id"]))
    assert final["status"] == "failed"
    assert final["error"] == {"code": "server_error", "message": "Emulated generation failure"}
    assert final["output"] == [] and final["output_text"] == ""
    assert final["completed_at"] is None


def test_incomplete_by_max_output_tokens(validator, emulator):
    obj = created(emulator, input="a b c d e f", max_output_tokens=3)
    final = check(validator, emulator.wait_terminal(obj["id"]))
    assert final["status"] == "incomplete"
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["max_output_tokens"] == 3
    assert final["output_text"] == "Echo: a b" == text_of(final)
    assert final["output"][0]["status"] == "incomplete"
    assert final["usage"]["output_tokens"] == 3


def test_incomplete_by_directive(validator, emulator):
    obj = created(emulator, input="a b c d e f g", metadata={"emulator_outcome": "incomplete"})
    final = check(validator, emulator.wait_terminal(obj["id"]))
    assert final["status"] == "incomplete"
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    assert final["output_text"] == "Echo: a b c"  # the first half of 8 words


def test_content_filter(validator, emulator):
    obj = created(emulator, metadata={"emulator_outcome": "content_filter"})
    final = check(validator, emulator.wait_terminal(obj["id"]))
    assert final["status"] == "incomplete"
    assert final["incomplete_details"] == {"reason": "content_filter"}


def test_cancelled(validator, emulator):
    obj = created(emulator, metadata={"emulator_queue_ms": str(LONG)})
    answer = emulator.request("POST", f"/v1/responses/{obj['id']}/cancel")
    assert answer.status == 200
    cancelled = check(validator, answer.json())
    assert cancelled["status"] == "cancelled"
    assert cancelled["output"] == []
    assert check(validator, emulator.retrieve(obj["id"]).json())["status"] == "cancelled"


def test_omit_output_text_directive(validator, emulator):
    obj = created(emulator, input="x y", metadata={"emulator_omit_output_text": "true"})
    final = check(validator, emulator.wait_terminal(obj["id"]))
    assert "output_text" not in final
    assert text_of(final) == "Echo: x y"


def test_omit_output_text_setting(validator, emulator):
    assert emulator.control("POST", "settings", {"output_text": False}).status == 200
    obj = created(emulator, input="x y")
    assert "output_text" not in check(validator, obj)
    final = check(validator, emulator.wait_terminal(obj["id"]))
    assert "output_text" not in final and text_of(final) == "Echo: x y"


def test_large_output(validator, emulator):
    size = 1_000_000
    obj = created(emulator, metadata={"emulator_output_bytes": str(size)})
    final = check(validator, emulator.wait_terminal(obj["id"]))
    assert final["status"] == "completed"
    text = final["output_text"]
    assert len(text.encode()) == size and text == text_of(final)
    assert text.startswith("abcdefghi abcdefghi ")
    assert final["usage"]["output_tokens"] == size // 10


def test_non_ascii_output(validator, emulator):
    phrase = "Привет, мир! 你好 👋🏽 naïve café"
    obj = created(emulator, input=phrase)
    final = check(validator, emulator.wait_terminal(obj["id"]))
    assert final["output_text"] == "Echo: " + phrase == text_of(final)
    halves = [p["text"] for p in final["output"][0]["content"]]
    assert all(halves) and "".join(halves) == "Echo: " + phrase


def test_non_background(validator, emulator):
    answer = emulator.create(background=False, input="right now")
    obj = check(validator, answer.json())
    assert obj["status"] == "completed" and obj["background"] is False
    assert obj["output_text"] == "Echo: right now"
    body = {"model": MODEL, "input": "no flag"}
    obj = check(validator, emulator.request("POST", "/v1/responses", body).json())
    assert obj["status"] == "completed" and obj["background"] is False


def test_settings_are_echoed(validator, emulator):
    tool = {
        "type": "function",
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "strict": True,
    }
    text = {"format": {"type": "json_schema", "name": "answer", "schema": {"type": "object"}, "strict": True}}
    fields = dict(
        instructions="Be brief.",
        temperature=0.3,
        top_p=0.9,
        max_output_tokens=100,
        text=text,
        tools=[tool, {"type": "function", "name": "bare", "parameters": {"type": "object"}}],
        tool_choice="required",
        parallel_tool_calls=False,
        metadata={"trace": "t-1", "emulator_queue_ms": "0", "emulator_work_ms": "0"},
        previous_response_id="3f0d8f64-1111-2222-3333-444455556666",
        store=True,
        user="user-1",
        truncation="auto",
        reasoning={"effort": "low"},
        service_tier="auto",
        prompt_cache_key="cache-1",
        safety_identifier="safety-1",
    )
    obj = check(validator, created(emulator, **fields))
    for key in ("instructions", "temperature", "top_p", "max_output_tokens", "text", "tool_choice",
                "parallel_tool_calls", "metadata", "previous_response_id", "store", "user", "truncation",
                "service_tier", "prompt_cache_key", "safety_identifier"):
        assert obj[key] == fields[key], key
    assert obj["tools"][0] == tool
    assert obj["tools"][1]["strict"] is True  # filled in, as OpenAI does
    assert obj["reasoning"]["effort"] == "low"
    assert obj["model"] == MODEL


def test_defaults_when_not_given(validator, emulator):
    obj = check(validator, created(emulator))
    assert obj["tools"] == [] and obj["tool_choice"] == "auto" and obj["parallel_tool_calls"] is True
    assert obj["metadata"] == {} and obj["instructions"] is None and obj["previous_response_id"] is None
    assert obj["text"] == {"format": {"type": "text"}} and obj["store"] is True


def test_item_array_input_and_conversation(validator, emulator):
    items = [
        {"role": "system", "content": "Be nice."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Hi there"}]},
    ]
    obj = created(emulator, input=items, conversation="conv-1")
    final = check(validator, emulator.wait_terminal(obj["id"]))
    assert final["output_text"] == "Echo: Be nice.\nHi there"
    assert final["conversation"] == {"id": "conv-1"}


@pytest.mark.parametrize("kind", ["missing_id", "unknown_status"])
def test_shape_faults_do_not_validate(validator, emulator, kind):
    # The faults exist to produce objects a client must reject: check they really are invalid.
    emulator.add_faults({"kind": kind, "match": "create"})
    obj = emulator.create().json()
    assert list(validator.iter_errors(obj))
