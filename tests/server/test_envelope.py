"""Contract §2: the envelope, request headers, routing errors, validation and internal errors."""

from __future__ import annotations

import pytest

from .conftest import MakeServer, Server
from .helpers import Caller, assert_error, assert_headers, assert_ok, assert_validation


def test_success_envelope_shape(client: Caller) -> None:
    resp = client.post("/api/v1/sessions", json={"session_id": "s1"})
    assert resp.headers["content-type"].startswith("application/json")
    result = assert_ok(resp)
    assert result["session_id"] == "s1"


def test_error_envelope_shape(client: Caller) -> None:
    resp = client.get("/api/v1/sessions/missing")
    assert resp.headers["content-type"].startswith("application/json")
    err = assert_error(resp, 404, "NOT_FOUND", {"type": "session", "resource": "missing"})
    assert "detail" not in resp.json()
    assert err["message"] == "Session not found: missing"


def test_valid_request_id_is_echoed(client: Caller) -> None:
    resp = client.get("/api/v1/sessions", headers={"X-Request-ID": "req-123.abc_X"})
    assert_ok(resp)
    assert resp.headers["x-request-id"] == "req-123.abc_X"


def test_request_id_echoed_on_errors(client: Caller) -> None:
    resp = client.get("/api/v1/sessions/nope", headers={"X-Request-ID": "trace-42"})
    assert_error(resp, 404, "NOT_FOUND")
    assert resp.headers["x-request-id"] == "trace-42"


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", "a/b"])
def test_invalid_request_id_is_replaced(client: Caller, bad: str) -> None:
    resp = client.get("/api/v1/sessions", headers={"X-Request-ID": bad})
    assert_ok(resp)
    rid = resp.headers["x-request-id"]
    assert rid and rid != bad
    assert len(rid) == 32 and int(rid, 16) >= 0


def test_request_id_generated_when_absent(client: Caller) -> None:
    first = client.get("/api/v1/sessions")
    second = client.get("/api/v1/sessions")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert float(first.headers["x-process-time"]) >= 0


def test_health_is_bare_and_unauthenticated(api: Server) -> None:
    resp = api.client.get("/health")
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "ok"
    assert body["healthy"] is True
    assert isinstance(body["version"], str) and body["version"]
    assert "result" not in body and "error" not in body
    assert_headers(resp)
    # a wrong key does not matter either
    resp = api.client.get("/health", headers={"X-API-Key": "nonsense"})
    assert resp.status_code == 200 and resp.json()["healthy"] is True


def test_health_in_dev_mode(dev: Server) -> None:
    resp = dev.client.get("/health")
    assert resp.status_code == 200 and resp.json()["healthy"] is True
    assert_headers(resp)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/api/v1/nope"),
        ("POST", "/api/v1/sessions/s1/unknown"),
        ("GET", "/api/v1/sessions/s1/archives"),
        ("DELETE", "/api/v1/content"),
    ],
)
def test_unknown_route_is_404_envelope(client: Caller, method: str, path: str) -> None:
    err = assert_error(client.request(method, path), 404, "NOT_FOUND")
    assert err["details"].get("type") == "route"


def test_unknown_route_in_api_key_mode_is_an_envelope(api: Server) -> None:
    assert_error(api.client.get("/api/v1/nope"), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/v1/sessions"),
        ("PATCH", "/api/v1/sessions/s1"),
        ("GET", "/api/v1/sessions/s1/messages"),
        ("GET", "/api/v1/sessions/s1/commit"),
        ("POST", "/api/v1/content/read"),
        ("GET", "/api/v1/content/write"),
        ("POST", "/api/v1/fs/ls"),
        ("GET", "/api/v1/fs/mkdir"),
        ("POST", "/health"),
    ],
)
def test_wrong_method_is_405_envelope(client: Caller, method: str, path: str) -> None:
    resp = client.request(method, path)
    assert resp.status_code == 405, resp.text
    body = resp.json()
    assert body["status"] == "error" and body["result"] is None
    assert isinstance(body["time"], float)
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert method in body["error"]["message"]
    assert_headers(resp)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/sessions",
        "/api/v1/sessions/s1/messages",
        "/api/v1/sessions/s1/messages/batch",
        "/api/v1/sessions/s1/commit",
        "/api/v1/content/write",
        "/api/v1/fs/mkdir",
        "/api/v1/fs/mv",
    ],
)
def test_malformed_json_is_invalid_argument(client: Caller, path: str) -> None:
    resp = client.post(
        path, content=b'{"role": "user", ', headers={"content-type": "application/json"}
    )
    err = assert_error(resp, 400, "INVALID_ARGUMENT")
    problems = err["details"]["validation_errors"]
    assert problems and problems[0]["loc"][0] == "body"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/sessions", {"session_id": 5}, "session_id"),
        ("/api/v1/sessions/s1/messages", {"content": "hi"}, "role"),
        ("/api/v1/sessions/s1/messages", {"role": 5, "content": "hi"}, "role"),
        ("/api/v1/sessions/s1/messages", {"role": "user", "content": 7}, "content"),
        ("/api/v1/sessions/s1/messages", {"role": "user", "parts": [{"kind": "bogus"}]}, "parts"),
        ("/api/v1/sessions/s1/messages", {"role": "user", "parts": [{"type": "text"}]}, "parts"),
        ("/api/v1/sessions/s1/messages", {"role": "", "content": "x"}, "role"),
        ("/api/v1/sessions/s1/messages/batch", {"messages": "nope"}, "messages"),
        ("/api/v1/sessions/s1/messages/batch", {}, "messages"),
        ("/api/v1/sessions/s1/commit", {"keep_recent_count": -1}, "keep_recent_count"),
        ("/api/v1/sessions/s1/commit", {"wait": "soon"}, "wait"),
        ("/api/v1/content/write", {"uri": "viking://user/default/x.md"}, "content"),
        ("/api/v1/content/write", {"content": "x"}, "uri"),
        (
            "/api/v1/content/write",
            {"uri": "viking://user/default/x.md", "content": "x", "mode": "upsert"},
            "mode",
        ),
        ("/api/v1/fs/mkdir", {}, "uri"),
        ("/api/v1/fs/mv", {"from_uri": "viking://user/default/a"}, "to_uri"),
    ],
)
def test_body_validation_names_the_field(
    client: Caller, path: str, body: object, field: str
) -> None:
    assert_validation(client.post(path, json=body), field)


def test_body_not_an_object_is_invalid_argument(client: Caller) -> None:
    err = assert_error(
        client.post("/api/v1/sessions/s1/messages", json=[1, 2]), 400, "INVALID_ARGUMENT"
    )
    assert err["details"]["validation_errors"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/sessions", {"limit": "abc"}, "limit"),
        ("/api/v1/sessions", {"limit": "0"}, "limit"),
        ("/api/v1/sessions", {"limit": "-3"}, "limit"),
        ("/api/v1/sessions", {"include_deleted": "perhaps"}, "include_deleted"),
        ("/api/v1/sessions/s1", {"auto_create": "perhaps"}, "auto_create"),
        ("/api/v1/content/read", {}, "uri"),
        ("/api/v1/content/read", {"uri": "viking://user/default/x", "offset": "-1"}, "offset"),
        ("/api/v1/content/read", {"uri": "viking://user/default/x", "limit": "x"}, "limit"),
        ("/api/v1/fs/ls", {}, "uri"),
        ("/api/v1/fs/ls", {"uri": "viking://", "recursive": "maybe"}, "recursive"),
        ("/api/v1/fs/tree", {"uri": "viking://", "level_limit": "0"}, "level_limit"),
        ("/api/v1/fs/stat", {}, "uri"),
    ],
)
def test_query_validation_names_the_field(
    client: Caller, path: str, params: dict[str, str], field: str
) -> None:
    assert_validation(client.get(path, params=params), field)


def test_delete_query_validation(client: Caller) -> None:
    client.add("s1", "hello")
    assert_validation(client.delete("/api/v1/sessions/s1", params={"mode": "weird"}), "mode")
    assert_validation(client.delete("/api/v1/fs", params={}), "uri")
    client.meta("s1")  # untouched


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/sessions", {"session_id": "s" + "x" * 500}),
        ("/api/v1/sessions/s1/messages", {"role": "user", "content": "x" * 5000}),
        ("/api/v1/content/write", {"uri": "viking://user/default/big.md", "content": "y" * 5000}),
    ],
)
def test_oversized_body_is_413_with_the_limit(
    make_server: MakeServer, path: str, body: object
) -> None:
    server = make_server(max_body_bytes=256)
    c = server.caller()
    err = assert_error(c.post(path, json=body), 413, "PAYLOAD_TOO_LARGE")
    assert err["details"] == {"reason": "body_too_large", "limit": 256}
    assert "256 bytes" in err["message"] and "max_body_bytes" in err["message"]
    # nothing was stored, and small bodies still work
    assert assert_ok(c.get("/api/v1/sessions")) == []
    assert_ok(c.post("/api/v1/sessions/s1/messages", json={"role": "user", "content": "ok"}))


def test_oversized_body_without_content_length(make_server: MakeServer) -> None:
    server = make_server(max_body_bytes=256)

    def chunks():  # a streamed body: no Content-Length header
        for _ in range(10):
            yield b"x" * 100

    resp = server.client.post(
        "/api/v1/sessions/s1/messages",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 413, resp.text
    assert resp.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_unexpected_exception_is_internal_envelope(
    dev: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(dev.services.sessions, "list_sessions", boom)
    resp = dev.caller().get("/api/v1/sessions", headers={"X-Request-ID": "boom-1"})
    err = assert_error(resp, 500, "INTERNAL")
    assert "secret internal detail" not in resp.text
    assert "RuntimeError" not in resp.text
    assert "Traceback" not in resp.text
    assert 'File "' not in resp.text
    assert err["details"].get("request_id") == "boom-1"
    # the app keeps serving
    monkeypatch.undo()
    assert_ok(dev.caller().get("/api/v1/sessions"))


def test_unexpected_exception_in_write_route(dev: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(dev.services.sessions, "add_message", boom)
    resp = dev.caller().post("/api/v1/sessions/s1/messages", json={"role": "user", "content": "x"})
    assert_error(resp, 500, "INTERNAL")
    assert "kaboom" not in resp.text


def test_openapi_schema_is_served(client: Caller) -> None:
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    assert "/api/v1/sessions" in resp.json()["paths"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/sessions", "/api/v1/sessions/s1/messages", "/api/v1/sessions/s1/commit"],
)
def test_absurdly_nested_json_is_400_not_500(client: Caller, path: str) -> None:
    body = b"[" * 20_000 + b"]" * 20_000
    resp = client.post(path, content=body, headers={"content-type": "application/json"})
    err = assert_error(resp, 400, "INVALID_ARGUMENT")
    assert err["details"]["validation_errors"][0]["loc"] == ["body"]


@pytest.mark.parametrize(
    "body",
    [b"null", b"[]", b'"text"', b"42", b"\xef\xbb\xbf{}", b"\xff\xfe{}"],
)
def test_non_object_or_undecodable_bodies_are_400(client: Caller, body: bytes) -> None:
    for path in ("/api/v1/sessions", "/api/v1/sessions/s1/messages", "/api/v1/content/write"):
        resp = client.post(path, content=body, headers={"content-type": "application/json"})
        assert_error(resp, 400, "INVALID_ARGUMENT")
    assert assert_ok(client.get("/api/v1/sessions")) == []


def test_ready_is_an_envelope(client: Caller) -> None:
    result = assert_ok(client.get("/ready"))
    assert result["ready"] is True
