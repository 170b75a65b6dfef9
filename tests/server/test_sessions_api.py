"""Contract §4: every sessions route, success and error paths, through the HTTP envelope."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from .conftest import Server
from .helpers import (
    Caller,
    assert_error,
    assert_not_found,
    assert_ok,
    assert_validation,
)

AUTO_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{16}$")
MSG_ID = re.compile(r"^msg_[0-9a-f]{32}$")
RECEIPT_KEYS = {"session_id", "mode", "deleted", "kept"}


def messages_of(c: Caller, sid: str) -> list[dict]:
    text = c.read(f"viking://session/{sid}/messages.jsonl")
    return [json.loads(line) for line in text.splitlines() if line]


# ------------------------------------------------------------------------------------ create
def test_create_without_body_generates_id(client: Caller) -> None:
    result = assert_ok(client.post("/api/v1/sessions"))
    assert AUTO_ID.match(result["session_id"]), result
    sid = result["session_id"]
    assert result["uri"] == f"viking://user/default/sessions/{sid}"
    assert result["user"]["user_id"] == "default"
    assert result["user"]["account_id"] == client.headers["X-OpenViking-Account"]
    assert result["created_at"]
    client.meta(sid)


@pytest.mark.parametrize("body", [{}, {"session_id": ""}, {"session_id": None}])
def test_create_with_empty_body_generates_id(client: Caller, body: dict) -> None:
    result = assert_ok(client.post("/api/v1/sessions", json=body))
    assert AUTO_ID.match(result["session_id"]), result


def test_create_with_whitespace_body(client: Caller) -> None:
    resp = client.post(
        "/api/v1/sessions", content=b"  \n", headers={"content-type": "application/json"}
    )
    assert AUTO_ID.match(assert_ok(resp)["session_id"])


def test_create_with_explicit_id_and_unknown_fields(client: Caller) -> None:
    body = {"session_id": "my-chat", "telemetry": {"x": 1}, "unknown_field": True}
    result = assert_ok(client.post("/api/v1/sessions", json=body))
    assert result["session_id"] == "my-chat"
    assert result["uri"] == "viking://user/default/sessions/my-chat"
    meta = client.meta("my-chat")
    assert meta["message_count"] == 0 and meta["commit_count"] == 0


def test_create_duplicate_is_409(client: Caller) -> None:
    assert_ok(client.post("/api/v1/sessions", json={"session_id": "dup"}))
    client.add("dup", "keep me")
    err = assert_error(
        client.post("/api/v1/sessions", json={"session_id": "dup"}), 409, "ALREADY_EXISTS"
    )
    assert err["details"] == {"type": "session", "resource": "dup"}
    assert client.meta("dup")["message_count"] == 1


@pytest.mark.parametrize(
    "bad",
    ["a/b", "..", ".", " lead", "trail ", "x" * 129, "tab\there", "back\\slash", "nul\x00"],
)
def test_create_with_bad_id_is_400(client: Caller, bad: str) -> None:
    err = assert_error(
        client.post("/api/v1/sessions", json={"session_id": bad}), 400, "INVALID_ARGUMENT"
    )
    assert err["details"].get("field") == "session_id"
    assert assert_ok(client.get("/api/v1/sessions")) == []


def test_create_with_odd_but_valid_id(client: Caller) -> None:
    for sid in ["has space", "ünïcødé", "x" * 128, "a.b_c-d"]:
        assert (
            assert_ok(client.post("/api/v1/sessions", json={"session_id": sid}))["session_id"]
            == sid
        )
        assert client.meta(sid)["session_id"] == sid


# ------------------------------------------------------------------------------------ list
def _make_sessions(c: Caller, *sids: str) -> None:
    for sid in sids:
        assert_ok(c.post("/api/v1/sessions", json={"session_id": sid}))
        time.sleep(0.002)  # distinct creation times


def test_list_empty(client: Caller) -> None:
    assert assert_ok(client.get("/api/v1/sessions")) == []


def test_list_newest_first_with_item_shape(client: Caller) -> None:
    _make_sessions(client, "s1", "s2", "s3")
    client.add("s2", "hello")
    items = assert_ok(client.get("/api/v1/sessions"))
    assert [i["session_id"] for i in items] == ["s3", "s2", "s1"]
    for item in items:
        assert {
            "session_id",
            "uri",
            "is_dir",
            "mod_time",
            "created_at",
            "updated_at",
            "message_count",
        } <= set(item)
        assert item["is_dir"] is True
        assert item["uri"] == f"viking://user/default/sessions/{item['session_id']}"
    assert {i["session_id"]: i["message_count"] for i in items} == {"s1": 0, "s2": 1, "s3": 0}


def test_list_limit_and_cursor(client: Caller) -> None:
    _make_sessions(client, "s1", "s2", "s3", "s4", "s5")
    page1 = assert_ok(client.get("/api/v1/sessions", params={"limit": 2}))
    assert [i["session_id"] for i in page1] == ["s5", "s4"]
    page2 = assert_ok(client.get("/api/v1/sessions", params={"limit": 2, "cursor": "s4"}))
    assert [i["session_id"] for i in page2] == ["s3", "s2"]
    page3 = assert_ok(client.get("/api/v1/sessions", params={"limit": 2, "cursor": "s2"}))
    assert [i["session_id"] for i in page3] == ["s1"]
    rest = assert_ok(client.get("/api/v1/sessions", params={"cursor": "s3"}))
    assert [i["session_id"] for i in rest] == ["s2", "s1"]


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "10001"])
def test_list_bad_limit_is_400(client: Caller, limit: str) -> None:
    assert_validation(client.get("/api/v1/sessions", params={"limit": limit}), "limit")


def test_list_unknown_cursor_is_400(client: Caller) -> None:
    _make_sessions(client, "s1")
    err = assert_error(
        client.get("/api/v1/sessions", params={"cursor": "nope"}), 400, "INVALID_ARGUMENT"
    )
    assert err["details"].get("field") == "cursor"


def test_list_shows_trashed_sessions_only_with_include_deleted(client: Caller) -> None:
    _make_sessions(client, "live", "trashed")
    assert_ok(client.delete("/api/v1/sessions/trashed", params={"mode": "soft"}))

    plain = assert_ok(client.get("/api/v1/sessions"))
    everything = assert_ok(client.get("/api/v1/sessions", params={"include_deleted": "true"}))

    assert [s["session_id"] for s in plain] == ["live"]
    trashed = {s["session_id"]: s for s in everything}["trashed"]
    assert trashed["deleted_at"] and trashed["deleted_by"]


# ------------------------------------------------------------------------------------ get
def test_get_meta_shape(client: Caller) -> None:
    client.add("s1", "My name is Ada.")
    meta = client.meta("s1")
    for key in (
        "session_id",
        "uri",
        "user",
        "created_at",
        "updated_at",
        "message_count",
        "total_message_count",
        "commit_count",
        "memories_extracted",
        "last_commit_at",
        "pending_tokens",
    ):
        assert key in meta, key
    assert meta["session_id"] == "s1"
    assert meta["uri"] == "viking://user/default/sessions/s1"
    assert meta["user"] == {
        "account_id": client.headers["X-OpenViking-Account"],
        "user_id": "default",
    }
    assert meta["message_count"] == 1 and meta["total_message_count"] == 1
    assert meta["commit_count"] == 0
    assert meta["memories_extracted"]["total"] == 0
    assert meta["pending_tokens"] > 0


def test_get_missing_is_404_with_details(client: Caller) -> None:
    assert_not_found(client.get("/api/v1/sessions/ghost"), "session", "ghost")
    # a GET never creates
    assert assert_ok(client.get("/api/v1/sessions")) == []


def test_get_auto_create(client: Caller) -> None:
    assert_not_found(
        client.get("/api/v1/sessions/auto", params={"auto_create": "false"}), "session", "auto"
    )
    meta = assert_ok(client.get("/api/v1/sessions/auto", params={"auto_create": "true"}))
    assert meta["session_id"] == "auto" and meta["message_count"] == 0
    assert [i["session_id"] for i in assert_ok(client.get("/api/v1/sessions"))] == ["auto"]
    # and on an existing one it just reads
    client.add("auto", "x")
    again = assert_ok(client.get("/api/v1/sessions/auto", params={"auto_create": "true"}))
    assert again["message_count"] == 1


def test_get_bad_id_is_400(client: Caller) -> None:
    assert_error(client.get("/api/v1/sessions/%2E%2E"), 400, "INVALID_ARGUMENT")


# ------------------------------------------------------------------------------------ messages
def test_add_message_auto_creates(client: Caller) -> None:
    result = assert_ok(
        client.post("/api/v1/sessions/new1/messages", json={"role": "user", "content": "hi there"})
    )
    assert result == {
        "session_id": "new1",
        "message_count": 1,
        "pending_tokens": result["pending_tokens"],
    }
    assert result["pending_tokens"] > 0
    result = client.add("new1", "second", role="assistant")
    assert result["message_count"] == 2
    assert client.meta("new1")["message_count"] == 2


def test_add_message_content_becomes_text_part(client: Caller) -> None:
    client.add("s1", "hello world")
    (msg,) = messages_of(client, "s1")
    assert MSG_ID.match(msg["id"])
    assert msg["role"] == "user"
    assert msg["parts"] == [{"type": "text", "text": "hello world"}]
    assert msg["created_at"]


def test_add_message_with_parts_and_optional_fields(client: Caller) -> None:
    body = {
        "role": "assistant",
        "parts": [
            {"type": "text", "text": "Looking it up"},
            {
                "type": "tool",
                "tool_id": "call_1",
                "tool_name": "search",
                "tool_input": {"q": "weather"},
                "tool_output": "sunny",
                "tool_status": "completed",
            },
            {
                "type": "context",
                "uri": "viking://user/default/memories/profile/name.md",
                "context_type": "memory",
                "abstract": "the user's name",
            },
        ],
        "peer_id": "peer-7",
        "turn_id": "turn-1",
        "message_kind": "assistant_step",
        "created_at": "2025-01-02T03:04:05+00:00",
        "telemetry": {"ignored": True},
    }
    result = assert_ok(client.post("/api/v1/sessions/s1/messages", json=body))
    assert result["message_count"] == 1
    (msg,) = messages_of(client, "s1")
    assert [p["type"] for p in msg["parts"]] == ["text", "tool", "context"]
    assert msg["parts"][1]["tool_input"] == {"q": "weather"}
    assert msg["parts"][2]["uri"] == "viking://user/default/memories/profile/name.md"
    assert msg["peer_id"] == "peer-7" and msg["turn_id"] == "turn-1"
    assert msg["message_kind"] == "assistant_step"
    assert msg["created_at"] == "2025-01-02T03:04:05+00:00"
    tool = json.loads(client.read("viking://session/s1/tools/call_1/tool.json"))
    assert tool["tool_name"] == "search" and tool["tool_output"] == "sunny"
    relations = json.loads(client.read("viking://session/s1/.relations.json"))
    assert relations[0]["uri"] == "viking://user/default/memories/profile/name.md"


def test_context_part_alias_uri_is_canonicalised(client: Caller) -> None:
    body = {"role": "user", "parts": [{"type": "context", "uri": "viking://~/memories/x.md"}]}
    assert_ok(client.post("/api/v1/sessions/s1/messages", json=body))
    (msg,) = messages_of(client, "s1")
    assert msg["parts"][0]["uri"] == "viking://user/default/memories/x.md"


@pytest.mark.parametrize("role", ["banana", "system", "tool", "ROLE with spaces"])
def test_unknown_role_is_accepted(client: Caller, role: str) -> None:
    client.add("s1", "x", role=role)
    assert messages_of(client, "s1")[0]["role"] == role


@pytest.mark.parametrize("role", ["", "   "])
def test_empty_role_is_400(client: Caller, role: str) -> None:
    resp = client.post("/api/v1/sessions/s1/messages", json={"role": role, "content": "x"})
    assert_validation(resp, "role")
    assert_not_found(client.get("/api/v1/sessions/s1"), "session", "s1")


def test_overlong_role_is_400(client: Caller) -> None:
    resp = client.post("/api/v1/sessions/s1/messages", json={"role": "r" * 65, "content": "x"})
    assert_validation(resp, "role")


@pytest.mark.parametrize("body", [{"role": "user"}, {"role": "user", "content": None}])
def test_neither_content_nor_parts_is_400(client: Caller, body: dict) -> None:
    client.add("s1", "first")
    err = assert_error(
        client.post("/api/v1/sessions/s1/messages", json=body), 400, "INVALID_ARGUMENT"
    )
    assert "content" in err["message"] and "parts" in err["message"]
    assert err["details"]["validation_errors"][0]["loc"] == ["body"]
    assert client.meta("s1")["message_count"] == 1


def test_empty_content_is_accepted(client: Caller) -> None:
    assert client.add("s1", "")["message_count"] == 1


def test_tool_part_without_tool_id_is_400(client: Caller) -> None:
    body = {"role": "assistant", "parts": [{"type": "tool", "tool_id": ""}]}
    err = assert_error(
        client.post("/api/v1/sessions/s1/messages", json=body), 400, "INVALID_ARGUMENT"
    )
    assert "tool_id" in err["message"]
    assert err["details"]["validation_errors"][0]["loc"][:2] == ["body", "parts"]


def test_bad_created_at_is_400(client: Caller) -> None:
    body = {"role": "user", "content": "x", "created_at": "yesterday"}
    assert_validation(client.post("/api/v1/sessions/s1/messages", json=body), "created_at")


def test_context_part_with_bad_uri_is_400(client: Caller) -> None:
    body = {"role": "user", "parts": [{"type": "context", "uri": "viking://user/../x"}]}
    assert_error(client.post("/api/v1/sessions/s1/messages", json=body), 400, "INVALID_URI")
    assert_not_found(client.get("/api/v1/sessions/s1"), "session", "s1")


def test_add_message_bad_session_id_is_400(client: Caller) -> None:
    resp = client.post("/api/v1/sessions/%20x/messages", json={"role": "user", "content": "x"})
    assert_error(resp, 400, "INVALID_ARGUMENT")


# ------------------------------------------------------------------------------------ batch
def test_batch_adds_all(client: Caller) -> None:
    client.add("s1", "before")
    msgs = [{"role": "user", "content": f"m{i}"} for i in range(3)]
    msgs.append({"role": "assistant", "parts": [{"type": "text", "text": "p"}]})
    result = assert_ok(client.post("/api/v1/sessions/s1/messages/batch", json={"messages": msgs}))
    assert result["session_id"] == "s1"
    assert result["added"] == 4 and result["message_count"] == 5
    assert result["pending_tokens"] > 0
    texts = [m["parts"][0]["text"] for m in messages_of(client, "s1")]
    assert texts == ["before", "m0", "m1", "m2", "p"]


def test_batch_auto_creates(client: Caller) -> None:
    body = {"messages": [{"role": "user", "content": "x"}]}
    assert assert_ok(client.post("/api/v1/sessions/b1/messages/batch", json=body))["added"] == 1
    assert client.meta("b1")["message_count"] == 1


def test_batch_of_100_is_accepted(client: Caller) -> None:
    msgs = [{"role": "user", "content": str(i)} for i in range(100)]
    result = assert_ok(client.post("/api/v1/sessions/s1/messages/batch", json={"messages": msgs}))
    assert result["added"] == 100


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"role": "user"}, "body"),
        ({"role": "", "content": "x"}, "role"),
        ({"content": "x"}, "role"),
        ({"role": "user", "parts": [{"type": "tool"}]}, "parts"),
        ({"role": "user", "content": "x", "created_at": "never"}, "created_at"),
    ],
)
def test_batch_is_all_or_nothing(client: Caller, bad: dict, field: str) -> None:
    client.add("s1", "existing")
    msgs = [{"role": "user", "content": "ok1"}, bad, {"role": "user", "content": "ok3"}]
    resp = client.post("/api/v1/sessions/s1/messages/batch", json={"messages": msgs})
    err = assert_error(resp, 400, "INVALID_ARGUMENT")
    assert err["details"]["validation_errors"], err
    assert client.meta("s1")["message_count"] == 1
    assert [m["parts"][0]["text"] for m in messages_of(client, "s1")] == ["existing"]
    # nor is a missing session created by a failing batch
    resp = client.post("/api/v1/sessions/fresh/messages/batch", json={"messages": msgs})
    assert_error(resp, 400, "INVALID_ARGUMENT")
    assert_not_found(client.get("/api/v1/sessions/fresh"), "session", "fresh")


def test_batch_reports_the_bad_index(client: Caller) -> None:
    msgs = [{"role": "user", "content": "ok"}, {"role": "user"}]
    err = assert_error(
        client.post("/api/v1/sessions/s1/messages/batch", json={"messages": msgs}),
        400,
        "INVALID_ARGUMENT",
    )
    assert err["details"].get("index") == 1


@pytest.mark.parametrize("count", [101, 150])
def test_batch_size_limits(client: Caller, count: int) -> None:
    msgs = [{"role": "user", "content": "x"}] * count
    resp = client.post("/api/v1/sessions/s1/messages/batch", json={"messages": msgs})
    assert_validation(resp, "messages")
    assert_not_found(client.get("/api/v1/sessions/s1"), "session", "s1")


# ------------------------------------------------------------------------------------ commit
def test_commit_accepted_then_task_completes(client: Caller) -> None:
    client.add("s1", "My name is Ada. I love hiking.")
    client.add("s1", "Nice to meet you", role="assistant")
    result = client.commit("s1")
    assert result["session_id"] == "s1"
    assert result["status"] == "accepted"
    assert result["archived"] is True
    assert result["task_id"]
    assert result["archive_uri"] == "viking://user/default/sessions/s1/history/archive_001"
    # the archive step is synchronous
    meta = client.meta("s1")
    assert meta["message_count"] == 0 and meta["total_message_count"] == 2
    assert meta["commit_count"] == 1
    task = client.wait_task(result["task_id"])
    assert task["status"] == "completed", task
    assert task["task_id"] == result["task_id"]
    assert {"task_id", "task_type", "status", "result", "error", "created_at", "updated_at"} <= set(
        task
    )
    assert task["error"] is None
    assert task["result"]["memories_extracted"]["total"] == 2
    assert client.meta("s1")["memories_extracted"]["total"] == 2


def test_commit_wait_true_completes(client: Caller) -> None:
    client.add("s1", "My name is Ada. I really like tea.")
    result = client.commit("s1", wait=True)
    assert result["status"] == "completed"
    assert result["memories_extracted"] == 2
    assert result["archived"] is True
    task = assert_ok(client.get(f"/api/v1/tasks/{result['task_id']}"))
    assert task["status"] == "completed"
    assert "Ada" in client.read("viking://user/default/memories/profile/name.md")


def test_commit_without_body(client: Caller) -> None:
    client.add("s1", "x")
    result = assert_ok(client.post("/api/v1/sessions/s1/commit"))
    assert result["status"] == "accepted"


def test_commit_with_nothing_pending_is_skipped(client: Caller) -> None:
    assert_ok(client.post("/api/v1/sessions", json={"session_id": "s1"}))
    result = client.commit("s1")
    assert result["status"] == "skipped"
    assert result["reason"] == "no_messages"
    assert result["task_id"] is None and result["archived"] is False
    client.add("s1", "x")
    client.commit("s1", wait=True)
    again = client.commit("s1")
    assert again["status"] == "skipped" and again["reason"] == "no_messages"
    assert client.meta("s1")["commit_count"] == 1


def test_commit_keep_recent_count(client: Caller) -> None:
    for i in range(3):
        client.add("s1", f"m{i}")
    result = client.commit("s1", keep_recent_count=1, wait=True)
    assert result["status"] == "completed"
    assert client.meta("s1")["message_count"] == 1
    assert [m["parts"][0]["text"] for m in messages_of(client, "s1")] == ["m2"]
    skipped = client.commit("s1", keep_recent_count=5)
    assert skipped["status"] == "skipped"


def test_commit_missing_session_is_404(client: Caller) -> None:
    assert_not_found(client.post("/api/v1/sessions/ghost/commit", json={}), "session", "ghost")
    assert_not_found(client.get("/api/v1/sessions/ghost"), "session", "ghost")


@pytest.mark.parametrize("bad", [-1, 10001, "two"])
def test_commit_bad_keep_recent_count_is_400(client: Caller, bad: object) -> None:
    client.add("s1", "x")
    resp = client.post("/api/v1/sessions/s1/commit", json={"keep_recent_count": bad})
    assert_validation(resp, "keep_recent_count")
    assert client.meta("s1")["commit_count"] == 0


def test_commit_unknown_fields_ignored(client: Caller) -> None:
    client.add("s1", "x")
    resp = client.post("/api/v1/sessions/s1/commit", json={"telemetry": True, "whatever": 1})
    assert assert_ok(resp)["status"] == "accepted"


# ------------------------------------------------------------------------------------ tasks
def test_unknown_task_is_404(client: Caller) -> None:
    assert_not_found(client.get("/api/v1/tasks/no-such-task"), "task", "no-such-task")


# ------------------------------------------------------------------------------------ context
def test_context(client: Caller) -> None:
    client.add("s1", "My name is Ada.")
    client.commit("s1", wait=True)
    client.add("s1", "live message")
    ctx = assert_ok(client.get("/api/v1/sessions/s1/context"))
    assert {"latest_archive_overview", "messages", "estimatedTokens", "stats"} <= set(ctx)
    assert [m["parts"][0]["text"] for m in ctx["messages"]] == ["live message"]
    assert ctx["latest_archive_overview"]
    assert ctx["stats"]["totalArchives"] == 1
    assert ctx["estimatedTokens"] > 0


def test_context_token_budget(client: Caller) -> None:
    client.add("s1", "a" * 400)
    client.add("s1", "b" * 4)
    ctx = assert_ok(client.get("/api/v1/sessions/s1/context", params={"token_budget": 10}))
    assert [m["parts"][0]["text"] for m in ctx["messages"]] == ["b" * 4]
    empty = assert_ok(client.get("/api/v1/sessions/s1/context", params={"token_budget": 0}))
    assert empty["messages"] == []


def test_context_errors(client: Caller) -> None:
    assert_not_found(client.get("/api/v1/sessions/ghost/context"), "session", "ghost")
    client.add("s1", "x")
    assert_error(
        client.get("/api/v1/sessions/s1/context", params={"token_budget": -1}),
        400,
        "INVALID_ARGUMENT",
    )
    assert_validation(
        client.get("/api/v1/sessions/s1/context", params={"token_budget": "lots"}), "token_budget"
    )


# ------------------------------------------------------------------------------------ archives
def test_archive(client: Caller) -> None:
    client.add("s1", "My name is Ada.")
    client.add("s1", "Hello Ada", role="assistant")
    client.commit("s1", wait=True)
    archive = assert_ok(client.get("/api/v1/sessions/s1/archives/archive_001"))
    assert archive["archive_id"] == "archive_001"
    assert archive["abstract"] and archive["overview"]
    assert [m["role"] for m in archive["messages"]] == ["user", "assistant"]


@pytest.mark.parametrize("archive_id", ["archive_002", "archive_999", "nonsense", "archive_"])
def test_unknown_archive_is_404(client: Caller, archive_id: str) -> None:
    client.add("s1", "x")
    client.commit("s1", wait=True)
    assert_not_found(
        client.get(f"/api/v1/sessions/s1/archives/{archive_id}"), "archive", archive_id
    )


def test_archive_of_missing_session_is_404(client: Caller) -> None:
    assert_not_found(client.get("/api/v1/sessions/ghost/archives/archive_001"), "session", "ghost")


# ------------------------------------------------------------------------------------ delete
def test_delete_receipt_and_second_delete(client: Caller) -> None:
    client.add("s1", "My name is Ada.")
    client.commit("s1", wait=True)
    client.add("s1", "live one")
    client.write("viking://session/s1/.deleted.json", "{}")
    receipt = assert_ok(client.delete("/api/v1/sessions/s1"))
    assert set(receipt) == RECEIPT_KEYS
    assert receipt["session_id"] == "s1" and receipt["mode"] == "hard"
    assert receipt["deleted"]["messages"] == 2
    assert receipt["deleted"]["archives"] == 1
    assert receipt["deleted"]["files"] >= 1
    assert receipt["kept"]["memories"] == 1
    assert_not_found(client.get("/api/v1/sessions/s1"), "session", "s1")
    assert_not_found(client.delete("/api/v1/sessions/s1"), "session", "s1")
    assert assert_ok(client.get("/api/v1/sessions")) == []
    # memories are kept
    assert "Ada" in client.read("viking://user/default/memories/profile/name.md")
    # the id can be reused, and starts empty
    assert_ok(client.post("/api/v1/sessions", json={"session_id": "s1"}))
    assert client.meta("s1")["total_message_count"] == 0


def test_delete_never_existing_is_404(client: Caller) -> None:
    assert_not_found(client.delete("/api/v1/sessions/ghost"), "session", "ghost")


def test_delete_require_committed(client: Caller) -> None:
    client.add("s1", "a")
    client.add("s1", "b")
    resp = client.delete("/api/v1/sessions/s1", params={"require_committed": "true"})
    err = assert_error(resp, 412, "FAILED_PRECONDITION")
    assert err["details"]["uncommitted_messages"] == 2
    assert client.meta("s1")["message_count"] == 2
    client.commit("s1", wait=True)
    receipt = assert_ok(client.delete("/api/v1/sessions/s1", params={"require_committed": "true"}))
    assert receipt["deleted"]["messages"] == 2
    assert_not_found(client.get("/api/v1/sessions/s1"), "session", "s1")


def test_delete_explicit_hard_mode(client: Caller) -> None:
    client.add("s1", "x")
    assert (
        assert_ok(client.delete("/api/v1/sessions/s1", params={"mode": "hard"}))["mode"] == "hard"
    )


def test_soft_delete_hides_and_restore_brings_back(client: Caller) -> None:
    client.add("s1", "x")
    receipt = assert_ok(client.delete("/api/v1/sessions/s1", params={"mode": "soft"}))
    assert receipt["mode"] == "soft" and receipt["deleted"]["messages"] == 1

    assert_not_found(client.get("/api/v1/sessions/s1"), "session", "s1")
    assert_ok(client.post("/api/v1/sessions/s1/restore"))
    assert client.meta("s1")["message_count"] == 1


def test_delete_removes_pending_task(client: Caller, shared_dev: Server) -> None:
    client.add("s1", "My name is Ada.")
    shared_dev.services.runner.stop()  # keep the extraction task queued
    try:
        result = client.commit("s1")
        receipt = assert_ok(client.delete("/api/v1/sessions/s1"))
    finally:
        shared_dev.services.runner.start(poll_seconds=0.05)
    assert receipt["deleted"]["pending_tasks"] == 1
    task = client.get(f"/api/v1/tasks/{result['task_id']}")
    if task.status_code == 200:
        assert assert_ok(task)["status"] in ("cancelled", "failed")
    else:
        assert_not_found(task, "task", result["task_id"])
    assert_error(
        client.get(
            "/api/v1/content/read", params={"uri": "viking://user/default/memories/profile/name.md"}
        ),
        404,
        "NOT_FOUND",
    )


def test_an_append_while_the_store_is_busy_runs_in_a_thread_and_is_stored_once(
    dev: Any,
) -> None:
    """The handler runs on the event loop only while the store is free; a held write lock
    sends it to a worker thread, where it waits and then appends exactly once."""
    from support.locks import write_lock_held

    store = dev.services.store
    assert store.inline_capable  # the server suite runs on SQLite
    client = dev.caller()
    with write_lock_held(store, for_seconds=0.3):
        r = client.post("/api/v1/sessions/busy/messages", json={"role": "user", "content": "x"})
    assert r.status_code == 200 and r.json()["result"]["message_count"] == 1
    r = client.get("/api/v1/sessions/busy")
    assert r.json()["result"]["message_count"] == 1
