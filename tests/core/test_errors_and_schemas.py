"""The error taxonomy of contract §2 and the wire schemas' validation behaviour."""

from __future__ import annotations

import msgspec
import pytest

from skald_core import errors
from skald_core.errors import (
    ERROR_CLASSES,
    AlreadyExistsError,
    ForbiddenError,
    InvalidArgumentError,
    InvalidURIError,
    NotFoundError,
    SkaldError,
    error_from_wire,
    http_status_for,
)
from skald_core.identity import Identity
from skald_core.schemas import (
    AddMessageRequest,
    BatchMessagesRequest,
    ContextPart,
    Message,
    Part,
    TextPart,
    ToolPart,
    message_decoder,
)
from skald_core.service.messages import build_message
from skald_core.validation import convert, decode_json

# Contract §2, copied from the table: code → HTTP status.
CONTRACT_CODES = {
    "INVALID_ARGUMENT": 400,
    "INVALID_URI": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "CONFLICT": 409,
    "ABORTED": 409,
    "SESSION_EXPIRED": 410,
    "FAILED_PRECONDITION": 412,
    "RESOURCE_EXHAUSTED": 429,
    "INTERNAL": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(("code", "status"), sorted(CONTRACT_CODES.items()))
def test_every_contract_code_has_its_class_and_http_status(code: str, status: int) -> None:
    cls = ERROR_CLASSES[code]

    assert issubclass(cls, SkaldError)
    assert (cls.code, cls.http_status) == (code, status)
    assert http_status_for(code) == status


def test_each_contract_code_has_a_class_of_its_own() -> None:
    classes = [ERROR_CLASSES[code] for code in CONTRACT_CODES]

    assert len(set(classes)) == len(CONTRACT_CODES)


def test_the_code_table_maps_every_class_back_to_its_own_code() -> None:
    for code, cls in ERROR_CLASSES.items():
        if code != "PERMISSION_DENIED":
            assert cls.code == code, f"{code} maps to {cls.__name__} whose code is {cls.code}"


@pytest.mark.parametrize(("code", "status"), sorted(CONTRACT_CODES.items()))
def test_a_wire_error_comes_back_as_its_class(code: str, status: int) -> None:
    details = {"type": "session", "resource": "s1"}

    err = error_from_wire(code, "it went wrong", details)

    assert type(err) is ERROR_CLASSES[code]
    assert (err.code, err.http_status, err.message) == (code, status, "it went wrong")
    assert err.details == details
    assert err.to_wire() == {"code": code, "message": "it went wrong", "details": details}


def test_permission_denied_is_the_forbidden_error() -> None:
    err = error_from_wire("PERMISSION_DENIED", "nope", {})

    assert isinstance(err, ForbiddenError) and isinstance(err, PermissionError)
    assert err.http_status == 403
    assert errors.PermissionDeniedError is ForbiddenError


def test_an_unknown_code_gives_the_base_error_keeping_code_and_details() -> None:
    err = error_from_wire("QUOTA_FROZEN", "frozen", {"until": "tomorrow"})

    assert type(err) is SkaldError
    assert err.wire_code == "QUOTA_FROZEN"
    assert err.details == {"until": "tomorrow"}
    assert err.to_wire() == {
        "code": "QUOTA_FROZEN",
        "message": "frozen",
        "details": {"until": "tomorrow"},
    }
    assert http_status_for("QUOTA_FROZEN") == 500


def test_an_unknown_code_is_visible_as_exc_code() -> None:
    assert error_from_wire("QUOTA_FROZEN", "frozen", {}).code == "QUOTA_FROZEN"


def test_builtin_exception_families_catch_skald_errors() -> None:
    with pytest.raises(LookupError):
        raise NotFoundError.of("session", "s1")
    with pytest.raises(ValueError):
        raise InvalidArgumentError("bad")
    with pytest.raises(ValueError):
        raise InvalidURIError("bad uri")
    with pytest.raises(InvalidArgumentError):
        raise InvalidURIError("an invalid URI is an invalid argument")


def test_not_found_names_its_resource_the_way_clients_rebuild_it() -> None:
    err = NotFoundError.of("session", "abc")

    assert err.message == "Session not found: abc"
    assert err.details == {"type": "session", "resource": "abc"}
    assert AlreadyExistsError.of("file", "viking://x").message == "File already exists: viking://x"


def test_details_are_copied_not_shared() -> None:
    details = {"k": 1}
    err = SkaldError("m", details)
    details["k"] = 2

    assert err.details == {"k": 1}


# ---------------------------------------------------------------------------- parts union

part_decoder = msgspec.json.Decoder(Part)


def test_the_part_union_decodes_each_type_by_its_tag() -> None:
    text = part_decoder.decode(b'{"type":"text","text":"hi"}')
    context = part_decoder.decode(
        b'{"type":"context","uri":"viking://user/u/memories/a.md","abstract":"a"}'
    )
    tool = part_decoder.decode(
        b'{"type":"tool","tool_id":"t1","tool_name":"search","tool_input":{"q":"x"}}'
    )

    assert text == TextPart(text="hi")
    assert context == ContextPart(uri="viking://user/u/memories/a.md", abstract="a")
    assert context.context_type == "memory"
    assert isinstance(tool, ToolPart)
    assert (tool.tool_id, tool.tool_name, tool.tool_input, tool.tool_status) == (
        "t1",
        "search",
        {"q": "x"},
        "pending",
    )


@pytest.mark.parametrize(
    "raw",
    [
        b'{"type":"image","url":"x"}',
        b'{"text":"no type"}',
        b'{"type":"tool","tool_name":"no id"}',
        b'{"type":"context","uri":"viking://x","context_type":"weather"}',
    ],
)
def test_the_part_union_refuses_unknown_or_incomplete_parts(raw: bytes) -> None:
    with pytest.raises(msgspec.ValidationError):
        part_decoder.decode(raw)


def test_a_message_encodes_its_parts_with_their_tags() -> None:
    message = Message(
        id="msg_1",
        role="user",
        parts=[TextPart(text="hi"), ToolPart(tool_id="t")],
        created_at="2026-01-01T00:00:00+00:00",
    )

    wire = msgspec.to_builtins(message)

    assert [p["type"] for p in wire["parts"]] == ["text", "tool"]
    assert message_decoder.decode(msgspec.json.encode(message)) == message


# ---------------------------------------------------------------------------- validation errors


def validation_error_of(call) -> dict:
    with pytest.raises(InvalidArgumentError) as caught:
        call()
    err = caught.value
    assert err.code == "INVALID_ARGUMENT" and err.http_status == 400
    (entry,) = err.details["validation_errors"]
    assert set(entry) == {"loc", "message", "type"}
    assert entry["loc"][0] == "body"
    return {**entry, "error_message": err.message}


def test_a_part_of_an_unknown_type_is_kept_as_given() -> None:
    request = decode_json(
        b'{"role":"user","parts":[{"type":"image","url":"u","n":[1,{"x":null}]}]}',
        AddMessageRequest,
    )

    message = build_message(request, Identity(), 0.0)

    body = msgspec.json.decode(message.body)
    assert body["parts"] == [{"type": "image", "url": "u", "n": [1, {"x": None}]}]
    assert message_decoder.decode(message.body).parts == body["parts"]


def test_a_part_without_a_type_names_where_it_is() -> None:
    request = decode_json(b'{"role":"user","parts":[{"text":"untyped"}]}', AddMessageRequest)

    found = validation_error_of(lambda: build_message(request, Identity(), 0.0))

    assert found["loc"] == ["body", "parts", 0]
    assert "parts.0" in found["error_message"]
    assert found["type"] == "value_error"


def test_a_wrong_type_names_the_field() -> None:
    found = validation_error_of(lambda: decode_json(b'{"role":5}', AddMessageRequest))

    assert found["loc"] == ["body", "role"]
    assert "'role'" in found["error_message"]


def test_a_missing_required_field_is_named_in_the_message() -> None:
    found = validation_error_of(lambda: decode_json(b'{"content":"hi"}', AddMessageRequest))

    assert "role" in found["error_message"] and "role" in found["message"]


def test_malformed_json_is_reported_as_json_invalid() -> None:
    found = validation_error_of(lambda: decode_json(b'{"role":', AddMessageRequest))

    assert found["type"] == "json_invalid"
    assert found["loc"] == ["body"]


def test_a_known_part_is_checked_when_the_message_is_built() -> None:
    request = convert({"role": "user", "parts": [{"type": "tool"}]}, AddMessageRequest)

    found = validation_error_of(lambda: build_message(request, Identity(), 0.0))

    assert found["loc"] == ["body", "parts", 0]
    assert "tool_id" in found["message"] and "tool_id" in found["error_message"]


def test_a_batch_holds_at_most_100_messages() -> None:
    body = msgspec.json.encode({"messages": [{"role": "user", "content": "x"}] * 101})

    found = validation_error_of(lambda: decode_json(body, BatchMessagesRequest))

    assert found["loc"] == ["body", "messages"]
    assert decode_json(b'{"messages":[]}', BatchMessagesRequest).messages == []


def test_requests_tolerate_the_optional_extras_openviking_clients_send() -> None:
    request = decode_json(
        b'{"role":"user","content":"hi","telemetry":false,"something_new":1}', AddMessageRequest
    )

    assert (request.role, request.content) == ("user", "hi")
