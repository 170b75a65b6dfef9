"""What OpenViking 0.5.2 answers beyond the seed, answered the same way (issue 11): the
``error_codes`` setting, and the session, commit and task fields its client may read."""

from __future__ import annotations

import pytest

from skald_core.errors import InvalidArgumentError
from skald_server.config import load

from .conftest import ROOT_KEY, MakeServer
from .helpers import assert_error, assert_ok


def test_error_codes_default_to_the_seeds(make_server: MakeServer) -> None:
    server = make_server(root_api_key=ROOT_KEY)
    ro = server.caller(server.mint("acme", "u", read_only=True))

    assert_error(ro.delete("/api/v1/sessions/s1"), 403, "FORBIDDEN")
    assert_error(server.root.request("PUT", "/api/v1/sessions"), 405, "METHOD_NOT_ALLOWED")


def test_error_codes_openviking_sends_openvikings_codes(make_server: MakeServer) -> None:
    server = make_server(root_api_key=ROOT_KEY, error_codes="openviking")
    ro = server.caller(server.mint("acme", "u", read_only=True))
    user = server.caller(server.mint("acme", "v"))

    assert_error(ro.delete("/api/v1/sessions/s1"), 403, "PERMISSION_DENIED")
    foreign = user.get("/api/v1/content/read", params={"uri": "viking://user/u/memories/x.md"})
    assert_error(foreign, 403, "PERMISSION_DENIED")
    assert_error(server.root.request("PUT", "/api/v1/sessions"), 405, "UNKNOWN")
    # the other codes are OpenViking's already
    assert_error(user.get("/api/v1/sessions/nope"), 404, "NOT_FOUND")
    assert_error(server.caller("wrong").get("/api/v1/sessions"), 401, "UNAUTHENTICATED")


def test_error_codes_is_read_from_the_environment_and_checked() -> None:
    assert load(environ={"SKALD_ERROR_CODES": "openviking"}).error_codes == "openviking"
    assert load(environ={}).error_codes == "skald"
    with pytest.raises(InvalidArgumentError, match="error_codes"):
        load(environ={"SKALD_ERROR_CODES": "grpc"})


def test_session_commit_and_task_carry_openvikings_fields(make_server: MakeServer) -> None:
    client = make_server().caller()
    client.add("s1", "hello")

    meta = assert_ok(client.get("/api/v1/sessions/s1"))
    assert meta["embedding_token_usage"] == {"total_tokens": 0}
    assert meta["keep_recent_turn_count"] == 0
    assert meta["retained_message_token_budget"] == 0
    assert meta["min_raw_tail_steps"] == 1
    assert meta["last_auto_commit_at"] == ""
    committed = assert_ok(client.post("/api/v1/sessions/s1/commit", json={"wait": True}))
    assert committed["trace_id"] == ""
    assert committed["estimated_active_tokens"] == 0
    assert committed["budget_exceeded"] is False
    assert committed["effective_enable_working_memory"] is False
    task = assert_ok(client.get(f"/api/v1/tasks/{committed['task_id']}"))
    assert task["status"] == "completed"
    assert task["stage"] is None and task["meta"] == {}
    assert isinstance(task["processing_seconds"], float) and task["processing_seconds"] >= 0
    stored = client.read("viking://session/s1/.meta.json")
    assert '"min_raw_tail_steps": 1' in stored
