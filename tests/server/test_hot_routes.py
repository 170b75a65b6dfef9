"""The hot routes (``skald_server.hot_routes``) answer exactly as the Litestar handlers do.

The same requests, good and bad, go to two apps built alike, one with the hot routes and one
without (``app.hot = None``: Litestar answers everything); status, headers and bodies must be
the same, but for what differs between any two runs (the request id, the times, the random
message ids). The requests the hot routes must hand to Litestar are counted as handed over.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import skald_server.hot_routes as hot_routes
from skald_server.hot_routes import HotRoutes

from .conftest import ROOT_KEY, MakeServer, Server

_TIMESTAMP = re.compile(rb'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"')
_TIME = re.compile(rb'"time":[0-9.e-]+')

Send = Callable[[Server], httpx.Response]


def _answer(resp: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    volatile = ("x-request-id", "x-process-time", "content-length")
    headers = [(k, v) for k, v in resp.headers.items() if k not in volatile]
    if resp.request.method != "HEAD":
        assert int(resp.headers["content-length"]) == len(resp.content)
    body = _TIME.sub(b'"time":0', _TIMESTAMP.sub(b'"T"', resp.content))
    return resp.status_code, headers, body


def _post(path: str, **kw: Any) -> Send:
    return lambda s: s.client.post(path, **kw)


def _get(path: str, **kw: Any) -> Send:
    return lambda s: s.client.get(path, **kw)


MESSAGES = "/api/v1/sessions/{}/messages"
JSON = {"content-type": "application/json"}


def _keyed(content: str, key: str) -> Send:
    """An append to session s4 with an ``Idempotency-Key``."""
    return _post(
        MESSAGES.format("s4"),
        json={"role": "user", "content": content},
        headers={"Idempotency-Key": key},
    )


#: (what, request, answered by the hot route itself)
DEV_CASES: list[tuple[str, Send, bool]] = [
    ("append", _post(MESSAGES.format("s1"), json={"role": "user", "content": "hello"}), True),
    (
        "append again",
        _post(MESSAGES.format("s1"), json={"role": "assistant", "content": "hi"}),
        True,
    ),
    (
        "append parts",
        _post(
            MESSAGES.format("s1"), json={"role": "user", "parts": [{"type": "text", "text": "p"}]}
        ),
        True,
    ),
    ("get", _get("/api/v1/sessions/s1"), True),
    ("get missing", _get("/api/v1/sessions/nope"), True),
    ("get bad id", _get("/api/v1/sessions/bad%20id"), True),
    ("get too long id", _get("/api/v1/sessions/" + "x" * 300), True),
    ("get auto_create", _get("/api/v1/sessions/s2?auto_create=true"), False),
    ("head", lambda s: s.client.head("/api/v1/sessions/s1"), True),
    ("get trailing slash", _get("/api/v1/sessions/s1/"), False),
    ("get a fixed route's path", _get("/api/v1/sessions/cleanup"), False),
    ("append no role", _post(MESSAGES.format("s1"), json={"content": "x"}), False),
    ("append no content", _post(MESSAGES.format("s1"), json={"role": "user"}), True),
    ("append bad role", _post(MESSAGES.format("s1"), json={"role": "robot", "content": "x"}), True),
    ("append wrong type", _post(MESSAGES.format("s1"), json={"role": "user", "content": 5}), False),
    (
        "append unknown field",
        _post(MESSAGES.format("s1"), json={"role": "user", "content": "x", "zz": 1}),
        True,
    ),
    ("append a list", _post(MESSAGES.format("s1"), json=[1, 2]), False),
    ("append not json", _post(MESSAGES.format("s1"), content=b"{nope", headers=JSON), False),
    ("append no body", _post(MESSAGES.format("s1"), headers=JSON), False),
    (
        "append invalid utf-8",
        _post(MESSAGES.format("s1"), content=b'{"role":"user","content":"\xff"}', headers=JSON),
        False,
    ),
    ("append nested deep", _post(MESSAGES.format("s1"), content=b"[" * 5000, headers=JSON), False),
    (
        "append bad id",
        _post(MESSAGES.format("bad%20id"), json={"role": "user", "content": "x"}),
        True,
    ),
    (
        "append query",
        _post(MESSAGES.format("s3") + "?x=1", json={"role": "user", "content": "x"}),
        False,
    ),
    ("append idempotent", _keyed("x", "k1"), True),
    ("append replayed", _keyed("x", "k1"), True),
    ("append key reused", _keyed("y", "k1"), True),
    ("append bad key", _keyed("x", "bad key"), True),
    (
        "append other user",
        _post(
            MESSAGES.format("s1"),
            json={"role": "user", "content": "x"},
            headers={"X-OpenViking-User": "bob"},
        ),
        True,
    ),
    ("get other user", _get("/api/v1/sessions/s1", headers={"X-OpenViking-User": "bob"}), True),
    (
        "get bad user header",
        _get("/api/v1/sessions/s1", headers={"X-OpenViking-User": "b b"}),
        True,
    ),
    ("delete", lambda s: s.client.delete("/api/v1/sessions/s1"), False),
    ("get deleted", _get("/api/v1/sessions/s1"), True),
    (
        "append to deleted",
        _post(MESSAGES.format("s1"), json={"role": "user", "content": "x"}),
        True,
    ),
]


def _run(
    server: Server, cases: list[tuple[str, Send, bool]], monkeypatch: pytest.MonkeyPatch
) -> list[Any]:
    """Each case's answer, and whether the hot route answered it itself."""
    answered: list[bool] = []
    caller_of = hot_routes.caller_of

    async def counted(scope: Any, services: Any) -> Any:
        answered.append(True)
        return await caller_of(scope, services)

    monkeypatch.setattr(hot_routes, "caller_of", counted)
    out = []
    for i, (what, send, _) in enumerate(cases):
        random.seed(i)  # the same message ids in both apps
        before = len(answered)
        out.append((what, _answer(send(server)), len(answered) > before))
    return out


def _compare(
    make: Callable[[], Server], cases: list[tuple[str, Send, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    hot, plain = make(), make()
    assert isinstance(hot.client.app.hot, HotRoutes)  # type: ignore[attr-defined]
    plain.client.app.hot = None  # type: ignore[attr-defined]
    with_hot = _run(hot, cases, monkeypatch)
    without = _run(plain, cases, monkeypatch)
    rows = zip(with_hot, without, cases, strict=True)
    differ = [what for (what, answer, _), (_, expected, _), _ in rows if answer != expected]
    assert not differ, differ
    taken = {what: took for what, _, took in with_hot}
    assert taken == {what: should_take for what, _, should_take in cases}


def test_dev_mode_answers_are_litestars(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _compare(make_server, DEV_CASES, monkeypatch)


def test_key_mode_answers_are_litestars(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    servers: list[Server] = []

    def make() -> Server:
        server = make_server(root_api_key=ROOT_KEY)
        servers.append(server)
        return server

    def with_key(kind: str, send: Callable[[dict[str, str]], Send]) -> Send:
        def go(server: Server) -> httpx.Response:
            if kind == "user":
                key = server.mint("acme", "ada")
            elif kind == "read-only":
                key = server.mint("acme", "ada", read_only=True)
            elif kind == "root":
                key = ROOT_KEY
            else:
                key = "not-a-key"
            return send({"X-API-Key": key})(server)

        return go

    add = {"role": "user", "content": "hello"}

    def append(headers: dict[str, str]) -> Send:
        return _post(MESSAGES.format("k1"), json=add, headers=headers)

    def get(headers: dict[str, str]) -> Send:
        return _get("/api/v1/sessions/k1", headers=headers)

    cases: list[tuple[str, Send, bool]] = [
        ("no key", append({}), True),
        ("bad key", with_key("bad", append), True),
        ("user key", with_key("user", append), True),
        ("user key get", with_key("user", get), True),
        ("read-only append", with_key("read-only", append), True),
        ("read-only get", with_key("read-only", get), True),
        (
            "root get",
            with_key(
                "root",
                lambda h: _get(
                    "/api/v1/sessions/k1",
                    headers={**h, "X-OpenViking-Account": "acme", "X-OpenViking-User": "ada"},
                ),
            ),
            True,
        ),
        (
            "a Host the router refuses",
            with_key(
                "root",
                lambda h: _post(MESSAGES.format("k2"), json=add, headers={**h, "Host": "a/b"}),
            ),
            False,
        ),
        (
            "bearer",
            lambda s: s.client.get(
                "/api/v1/sessions/k1", headers={"Authorization": f"Bearer {s.mint('acme', 'ada')}"}
            ),
            True,
        ),
    ]
    _compare(make, cases, monkeypatch)


def test_openviking_error_codes_are_litestars(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``error_codes = openviking``: a read-only key's append is PERMISSION_DENIED either way."""

    def read_only_append(server: Server) -> httpx.Response:
        key = server.mint("acme", "ada", read_only=True)
        body = {"role": "user", "content": "x"}
        resp = server.client.post(MESSAGES.format("o1"), json=body, headers={"X-API-Key": key})
        assert resp.json()["error"]["code"] == "PERMISSION_DENIED"
        return resp

    cases: list[tuple[str, Send, bool]] = [("read-only append", read_only_append, True)]
    _compare(
        lambda: make_server(root_api_key=ROOT_KEY, error_codes="openviking"), cases, monkeypatch
    )


def test_an_unexpected_error_is_answered_as_litestar_answers_it(
    make_server: MakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a service: 500 INTERNAL with the request id, logged, as from Litestar."""
    hot, plain = make_server(), make_server()
    plain.client.app.hot = None  # type: ignore[attr-defined]

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    for server in (hot, plain):
        monkeypatch.setattr(server.services.sessions, "get", broken)
    answers = []
    for server in (hot, plain):
        resp = server.client.get("/api/v1/sessions/s1")
        error = resp.json()["error"]
        assert error["details"]["request_id"] == resp.headers["x-request-id"]
        error["details"]["request_id"] = "id"
        answers.append((resp.status_code, error))
    assert answers[0] == answers[1]
    assert answers[0][0] == 500 and answers[0][1]["code"] == "INTERNAL"


def test_routes_with_cors_or_tracing_are_litestars(make_server: MakeServer) -> None:
    assert make_server(cors_origins=["http://localhost:3000"]).client.app.hot is None  # type: ignore[attr-defined]


def test_a_fixed_route_path_is_never_taken(make_server: MakeServer) -> None:
    hot = make_server().client.app.hot  # type: ignore[attr-defined]
    assert isinstance(hot, HotRoutes)

    def scope(method: str, path: str, query: bytes = b"") -> dict[str, Any]:
        return {"method": method, "path": path, "query_string": query, "headers": []}

    assert hot.match(scope("GET", "/api/v1/sessions/s1")) is not None
    assert hot.match(scope("POST", "/api/v1/sessions/s1/messages")) is not None
    for fixed in ("cleanup", "batch-delete"):
        assert hot.match(scope("GET", f"/api/v1/sessions/{fixed}")) is None
    assert hot.match(scope("GET", "/api/v1/sessions/s1", b"auto_create=true")) is None
    mounted = {**scope("GET", "/api/v1/sessions/s1"), "root_path": "/api"}
    assert hot.match(mounted) is None  # Litestar strips the prefix: it routes those
    bad_host = {**scope("GET", "/api/v1/sessions/s1"), "headers": [(b"host", b"a/b")]}
    assert hot.match(bad_host) is None  # its router answers 400
    assert hot.match(scope("DELETE", "/api/v1/sessions/s1")) is None
    assert hot.match(scope("POST", "/api/v1/sessions/s1/messages/batch")) is None


def test_a_hot_route_the_app_does_not_have_stops_the_app_from_starting(
    make_server: MakeServer,
) -> None:
    services = make_server().services
    with pytest.raises(RuntimeError, match="not a route of the app"):
        HotRoutes(services, ["/api/v1/sessions/{session_id:str}"], 1000)


def test_the_hot_routes_are_counted_and_logged_under_their_templates(
    make_server: MakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server()
    with caplog.at_level("INFO", logger="skald.access"):
        server.client.post(MESSAGES.format("m1"), json={"role": "user", "content": "x"})
        server.client.get("/api/v1/sessions/m1")
    lines = [r.getMessage() for r in caplog.records if r.name == "skald.access"]
    assert any("POST /api/v1/sessions/{session_id}/messages 200" in line for line in lines), lines
    assert any("GET /api/v1/sessions/{session_id} 200" in line for line in lines), lines
    exposition = server.client.get("/metrics").text
    assert 'route="/api/v1/sessions/{session_id}/messages",status="200"' in exposition
