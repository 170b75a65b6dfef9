"""Messages: text, tool and context parts; batches are all or nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

import skald

TOOL_PART = {
    "type": "tool",
    "tool_id": "call_1",
    "tool_name": "search",
    "tool_input": {"query": "hiking trails"},
    "tool_output": "3 trails found",
    "tool_status": "completed",
}
CONTEXT_PART = {
    "type": "context",
    "uri": "viking://user/default/memories/profile/name.md",
    "context_type": "memory",
    "abstract": "The user's name is Ada.",
}


def test_add_text_message_counts_it(client: Any) -> None:
    first = client.add_message("s-text", "user", "Hello.")
    second = client.add_message("s-text", "assistant", "Hi!")

    assert first["session_id"] == "s-text"
    assert first["message_count"] == 1
    assert second["message_count"] == 2
    messages = client.session("s-text").messages
    assert [(m.role, m.parts) for m in messages] == [
        ("user", [skald.TextPart(text="Hello.")]),
        ("assistant", [skald.TextPart(text="Hi!")]),
    ]
    assert all(m.id.startswith("msg_") and len(m.id) == 36 for m in messages)


def test_add_message_creates_the_session(client: Any) -> None:
    assert not client.session_exists("s-auto")

    client.add_message("s-auto", "user", "Anyone there?")

    assert client.get_session("s-auto")["message_count"] == 1


def test_tool_part_is_stored_with_a_tool_record(client: Any) -> None:
    client.add_message("s-tool", "user", "Find me a trail.")

    client.add_message("s-tool", "assistant", parts=[TOOL_PART])

    [_, message] = client.session("s-tool").messages
    assert message.parts == [
        skald.ToolPart(
            tool_id="call_1",
            tool_name="search",
            tool_input={"query": "hiking trails"},
            tool_output="3 trails found",
            tool_status="completed",
        )
    ]
    record = client.read("viking://session/s-tool/tools/call_1/tool.json")
    assert '"tool_name": "search"' in record
    assert f'"message_id": "{message.id}"' in record


def test_context_and_text_parts_keep_their_order(client: Any) -> None:
    text = {"type": "text", "text": "Welcome back, Ada."}

    client.add_message("s-ctx", "assistant", parts=[CONTEXT_PART, text])

    [message] = client.session("s-ctx").messages
    assert message.parts == [
        skald.ContextPart(
            uri="viking://user/default/memories/profile/name.md",
            context_type="memory",
            abstract="The user's name is Ada.",
        ),
        skald.TextPart(text="Welcome back, Ada."),
    ]


def test_a_tool_result_message_does_not_start_a_turn(client: Any) -> None:
    client.add_message("s-turns", "user", "Find me a trail.")
    client.add_message("s-turns", "assistant", parts=[TOOL_PART])
    client.add_message("s-turns", "assistant", "Try the ridge trail.")
    client.add_message("s-turns", "user", "Thanks!")

    assert client.session("s-turns").stats.total_turns == 2


def test_batch_adds_every_message(client: Any) -> None:
    client.add_message("s-batch", "user", "Before.")

    result = client.batch_add_messages(
        "s-batch",
        [
            {"role": "user", "content": "One."},
            {"role": "assistant", "parts": [TOOL_PART]},
            {"role": "assistant", "content": "Two."},
        ],
    )

    assert result["session_id"] == "s-batch"
    assert result["added"] == 3
    assert result["message_count"] == 4
    assert [m.role for m in client.session("s-batch").messages] == [
        "user",
        "user",
        "assistant",
        "assistant",
    ]


def test_batch_with_one_bad_message_adds_nothing(client: Any) -> None:
    client.add_message("s-batch-bad", "user", "Before.")

    with pytest.raises(skald.InvalidArgumentError):
        client.batch_add_messages(
            "s-batch-bad",
            [
                {"role": "user", "content": "Fine."},
                {"role": "assistant", "content": "Also fine."},
                {"role": "", "content": "No role."},
            ],
        )

    assert client.get_session("s-batch-bad")["message_count"] == 1
    assert len(client.session("s-batch-bad").messages) == 1


def test_an_empty_batch_adds_nothing_and_creates_the_session(client: Any) -> None:
    result = client.batch_add_messages("s-batch-empty", [])

    assert result == {
        "session_id": "s-batch-empty",
        "message_count": 0,
        "added": 0,
        "pending_tokens": 0,
    }
    assert client.get_session("s-batch-empty")["message_count"] == 0


def test_empty_parts_add_nothing(client: Any) -> None:
    client.add_message("s-empty-parts", "user", "one")

    result = client.add_message("s-empty-parts", "user", parts=[])

    assert result["message_count"] == 1
    assert len(client.session("s-empty-parts").messages) == 1


IMAGE_PART = {
    "type": "image_url",
    "image_url": {"url": "https://example.com/cat.png", "detail": "low"},
}
FILE_PART = {"type": "file", "file": {"file_id": "file-1", "filename": "report.pdf"}}
FUTURE_PART = {"type": "hologram", "beam": [1, 2.5], "meta": {"k": None, "deep": [{"x": True}]}}


def test_every_part_type_is_stored_and_returned_as_given(client: Any) -> None:
    parts = [IMAGE_PART, {"type": "text", "text": "what is this?"}, FILE_PART, FUTURE_PART]
    client.add_message("s-parts", "user", parts=parts)
    client.batch_add_messages("s-parts", [{"role": "user", "parts": [FUTURE_PART]}])

    context = client.get_session_context("s-parts")
    assert [m["parts"] for m in context["messages"]] == [parts, [FUTURE_PART]]
    lines = client.read("viking://session/s-parts/messages.jsonl").splitlines()
    assert [json.loads(line)["parts"] for line in lines] == [parts, [FUTURE_PART]]
    messages = client.session("s-parts").messages
    assert messages[0].parts == [
        IMAGE_PART,
        skald.TextPart(text="what is this?"),
        FILE_PART,
        FUTURE_PART,
    ]
    client.commit_session("s-parts", wait=True)
    archive = client.get_session_archive("s-parts", "archive_001")
    assert [m["parts"] for m in archive["messages"]] == [parts, [FUTURE_PART]]


def test_the_published_clients_image_part_is_stored_in_its_wire_form(client: Any) -> None:
    from openviking_sdk.message import ImagePart, TextPart

    client.add_message(
        "s-ov-parts", "user", parts=[ImagePart(url="https://x/y.png"), TextPart(text="hi")]
    )

    (message,) = client.get_session_context("s-ov-parts")["messages"]
    assert message["parts"] == [
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        {"type": "text", "text": "hi"},
    ]
