"""Configured limits through the API (issue 12, section 3): every quota answers 429
RESOURCE_EXHAUSTED naming its setting and limit, and writes nothing; ``GET /sessions`` has a
default and a maximum page size; ``fs/ls`` and ``fs/tree`` stop at ``node_limit``; the HTTP
client does not retry a quota error. Settings are those of ``ServerConfig`` (env
``SKALD_MAX_SESSION_MESSAGES`` etc.)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import skald
from skald_server.config import load

from .conftest import MakeServer
from .helpers import assert_error, assert_ok

QUOTA = {"reason": "quota_exceeded"}


def post(caller: Any, sid: str, content: str) -> httpx.Response:
    return caller.post(
        f"/api/v1/sessions/{sid}/messages", json={"role": "user", "content": content}
    )


def test_message_size_quota(make_server: MakeServer) -> None:
    server = make_server(max_message_bytes=2000)
    c = server.caller()
    err = assert_error(
        post(c, "s", "x" * 3000),
        429,
        "RESOURCE_EXHAUSTED",
        {**QUOTA, "quota": "max_message_bytes", "limit": 2000},
    )
    assert "2,000" in err["message"] and "max_message_bytes" in err["message"]
    batch = {
        "messages": [{"role": "user", "content": "ok"}, {"role": "user", "content": "y" * 3000}]
    }
    err = assert_error(
        c.post("/api/v1/sessions/s/messages/batch", json=batch),
        429,
        "RESOURCE_EXHAUSTED",
        {"quota": "max_message_bytes", "index": 1},
    )
    assert assert_ok(c.get("/api/v1/sessions")) == []  # nothing written, no session made
    assert_ok(post(c, "s", "x" * 1000))


def test_session_quotas_and_sessions_per_user(make_server: MakeServer) -> None:
    server = make_server(max_session_messages=2, max_user_sessions=2, max_session_bytes=10_000)
    c = server.caller()
    assert_ok(post(c, "a", "one"))
    assert_ok(post(c, "a", "two"))
    assert_error(
        post(c, "a", "three"),
        429,
        "RESOURCE_EXHAUSTED",
        {**QUOTA, "quota": "max_session_messages", "limit": 2},
    )
    assert assert_ok(c.get("/api/v1/sessions/a"))["message_count"] == 2
    assert_ok(post(c, "b", "z" * 5000))
    assert_error(
        post(c, "b", "z" * 5000),
        429,
        "RESOURCE_EXHAUSTED",
        {"quota": "max_session_bytes", "limit": 10_000},
    )
    assert_error(
        c.post("/api/v1/sessions", json={"session_id": "c"}),
        429,
        "RESOURCE_EXHAUSTED",
        {"quota": "max_user_sessions", "limit": 2},
    )
    assert_error(post(c, "c", "hi"), 429, "RESOURCE_EXHAUSTED", {"quota": "max_user_sessions"})
    assert sorted(s["session_id"] for s in assert_ok(c.get("/api/v1/sessions"))) == ["a", "b"]


def test_list_sessions_default_and_maximum_page(make_server: MakeServer) -> None:
    server = make_server(list_default=3, list_max=5)
    c = server.caller()
    for i in range(7):
        assert_ok(c.post("/api/v1/sessions", json={"session_id": f"s{i}"}))
    assert len(assert_ok(c.get("/api/v1/sessions"))) == 3
    assert len(assert_ok(c.get("/api/v1/sessions", params={"limit": 5}))) == 5
    assert_error(
        c.get("/api/v1/sessions", params={"limit": 6}), 400, "INVALID_ARGUMENT", {"field": "limit"}
    )


def test_ls_and_tree_stop_at_node_limit(make_server: MakeServer) -> None:
    server = make_server(node_limit=4, node_limit_max=6)
    c = server.caller()
    for i in range(8):
        assert_ok(
            c.post(
                "/api/v1/content/write",
                json={"uri": f"viking://resources/d/f{i}.md", "content": "x", "mode": "create"},
            )
        )
    for route in ("ls", "tree"):
        url = f"/api/v1/fs/{route}"
        assert len(assert_ok(c.get(url, params={"uri": "viking://resources/d"}))) == 4
        deep = {"uri": "viking://resources", "recursive": True}
        got = assert_ok(c.get(url, params={**deep, "node_limit": 6}))
        assert len(got) == 6
        assert_error(
            c.get(url, params={**deep, "node_limit": 7}),
            400,
            "INVALID_ARGUMENT",
            {"field": "node_limit"},
        )
    assert (
        len(
            assert_ok(
                c.get(
                    "/api/v1/fs/ls",
                    params={"uri": "viking://resources", "recursive": True, "limit": 5},
                )
            )
        )
        == 5
    )


def test_limits_are_settings_and_are_checked() -> None:
    config = load(environ={"SKALD_MAX_SESSION_MESSAGES": "7", "SKALD_NODE_LIMIT": "9"})
    assert config.limits.max_session_messages == 7 and config.limits.node_limit == 9
    with pytest.raises(skald.InvalidArgumentError, match="max_user_sessions"):
        load(environ={"SKALD_MAX_USER_SESSIONS": "0"})
    with pytest.raises(skald.InvalidArgumentError, match="maximum"):
        load(environ={"SKALD_LIST_DEFAULT": "20000"})


def test_the_http_client_does_not_retry_a_quota_error() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            429,
            json={
                "status": "error",
                "result": None,
                "time": 0.0,
                "error": {
                    "code": "RESOURCE_EXHAUSTED",
                    "message": "too many",
                    "details": {
                        "reason": "quota_exceeded",
                        "quota": "max_user_sessions",
                        "limit": 1,
                    },
                },
            },
        )

    client = skald.SyncHTTPClient(url="http://skald.test", max_retries=3)
    client._http = httpx.Client(
        base_url="http://skald.test", transport=httpx.MockTransport(handler)
    )  # type: ignore[attr-defined]
    with pytest.raises(skald.ResourceExhaustedError) as exc:
        client.add_message("s", "user", "hi")
    assert exc.value.details["quota"] == "max_user_sessions"
    assert len(calls) == 1


def write(caller: Any, uri: str, content: str, mode: str = "append") -> httpx.Response:
    return caller.post("/api/v1/content/write", json={"uri": uri, "content": content, "mode": mode})


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_appends_to_a_shared_file_stop_at_max_file_bytes(
    make_server: MakeServer, backend: str
) -> None:
    """Two users of one account append to ``viking://agent/...``: the append that would take
    the file past ``max_file_bytes`` is 429 RESOURCE_EXHAUSTED and the file keeps what it had."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        options: dict[str, Any] = {"max_file_bytes": 1000}
        if backend == "postgres":
            from postgres.support import DATABASE_URL, fresh_schema

            schema = stack.enter_context(fresh_schema("skald_fq"))
            options |= {"database_url": DATABASE_URL, "database_schema": schema}
        server = make_server(**options)
        alice = server.caller(user="alice")
        bob = server.caller(user="bob")
        uri = "viking://agent/shared/log.md"
        assert_ok(write(alice, uri, "a" * 600))
        assert_ok(write(bob, uri, "b" * 400))
        err = assert_error(
            write(alice, uri, "c"),
            429,
            "RESOURCE_EXHAUSTED",
            {**QUOTA, "quota": "max_file_bytes", "limit": 1000},
        )
        assert "max_file_bytes" in err["message"]
        got = assert_ok(alice.get("/api/v1/content/read", params={"uri": uri}))
        assert got == "a" * 600 + "b" * 400
        assert_error(
            write(bob, "viking://resources/big.md", "r" * 1001, "replace"),
            429,
            "RESOURCE_EXHAUSTED",
        )
        assert_error(
            bob.get("/api/v1/fs/stat", params={"uri": "viking://resources/big.md"}),
            404,
            "NOT_FOUND",
        )


def test_quota_flags_of_skald_serve(tmp_path: Any) -> None:
    """The quota settings are ``skald serve`` flags (``--max-file-bytes`` ...)."""
    from support.server import running_skald

    flags = ["--max-message-bytes", "2000", "--max-user-sessions", "1", "--max-file-bytes", "50"]
    with (
        running_skald(tmp_path / "data", extra_args=flags) as server,
        httpx.Client(base_url=server.url, timeout=30) as c,
    ):
        assert_error(post(c, "s", "x" * 3000), 429, "RESOURCE_EXHAUSTED", {"limit": 2000})
        assert_ok(post(c, "s", "hi"))
        assert_error(post(c, "t", "hi"), 429, "RESOURCE_EXHAUSTED", {"limit": 1})
        assert_error(
            write(c, "viking://resources/f.md", "y" * 51),
            429,
            "RESOURCE_EXHAUSTED",
            {"quota": "max_file_bytes", "limit": 50},
        )
