"""Dev mode is not reachable from a web page (issue 12 §1), against real ``skald serve``
processes in dev mode on both backends.

A page the user visits can make the browser send "simple" cross-site requests without asking
first (bodies as text/plain, form-urlencoded or multipart, or none), and can point its own DNS
name at 127.0.0.1 to read answers (DNS rebinding). Every such request is refused — bodies that
are not JSON with 415, a Host that is not this loopback server's, an Origin of another page
and a ``Sec-Fetch-Site`` that says a page of another site made it with 403 — on each
destructive route, and the data is still there afterwards. The requests are written on raw
sockets, so the headers are exactly the ones listed (no client library adds or fixes any).

The classes are generated around the server's real port: content types, host spellings
(names, IPv4/IPv6 loopback and not, other ports, no port, malformed), origins and
``Sec-Fetch-Site`` values; what programs send (no Origin, a loopback Host of the bound port,
JSON) keeps working, and so do the real OpenViking SDK and Skald's clients (their own suites).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from support.server import SkaldServer

VICTIM = "victim"
VICTIM_MESSAGES = 2


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> SkaldServer:
    name = "dev_server" if request.param == "sqlite" else "dev_server_postgres"
    found: SkaldServer = request.getfixturevalue(name)
    return found


@pytest.fixture(scope="module")
def http(server: SkaldServer) -> Iterator[httpx.Client]:
    """What a program on this machine sends; the victim session seeded once."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(VICTIM_MESSAGES):
            answer = client.post(
                f"/api/v1/sessions/{VICTIM}/messages", json={"role": "user", "content": f"m{i}"}
            )
            assert answer.status_code == 200, answer.text
        yield client


def assert_data_intact(http: httpx.Client) -> None:
    got = http.get(f"/api/v1/sessions/{VICTIM}")
    assert got.status_code == 200, got.text
    assert got.json()["result"]["message_count"] == VICTIM_MESSAGES
    listed = http.get("/api/v1/sessions").json()["result"]
    assert VICTIM in [s["session_id"] for s in listed]


def raw(
    port: int, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b""
) -> tuple[int, dict[str, Any] | None]:
    """One request written byte for byte (``Connection: close``): the status and JSON body."""
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers)]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, None


#: Requests that would destroy or change the victim's data if they ran: (method, path, body).
ATTACKS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/v1/sessions/cleanup", {"older_than_days": 0}),
    ("POST", "/api/v1/sessions/batch-delete", {"session_ids": [VICTIM]}),
    ("POST", f"/api/v1/sessions/{VICTIM}/messages", {"role": "user", "content": "injected"}),
    ("POST", f"/api/v1/sessions/{VICTIM}/commit", {"wait": False}),
    ("POST", "/api/v1/content/write", {"uri": f"viking://session/{VICTIM}/x.md", "content": "x"}),
    ("DELETE", f"/api/v1/sessions/{VICTIM}", None),
    ("GET", f"/api/v1/sessions/{VICTIM}", None),  # a read a rebinding page wants to see
]
ATTACK_IDS = [f"{m} {p.rsplit('/', 1)[-1]}" for m, p, _ in ATTACKS]


def fire(
    server: SkaldServer,
    headers: Callable[[int], list[tuple[str, str]]],
    *,
    content_type: str | None = "application/json",
    bodies_only: bool = False,
) -> list[tuple[str, int, dict[str, Any] | None]]:
    """Every attack with ``headers(port)`` (the Host included) and the given Content-Type."""
    answers = []
    for method, path, payload in ATTACKS:
        if bodies_only and payload is None:
            continue
        sent = list(headers(server.port))
        body = b""
        if payload is not None:
            body = json.dumps(payload).encode()
            if content_type is not None:
                sent.append(("Content-Type", content_type))
        answers.append((f"{method} {path}", *raw(server.port, method, path, sent, body)))
    return answers


def own_host(port: int) -> list[tuple[str, str]]:
    return [("Host", f"127.0.0.1:{port}")]


# ----------------------------------------------------------------------------- content type

REFUSED_CONTENT_TYPES = [
    None,  # a body without any Content-Type
    "text/plain",
    "text/plain;charset=UTF-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=----x",
    "",
    "text/json",
    "text/html",
    "application/xml",
    "application/octet-stream",
    "application/javascript",
    "application/jsonx",
    "application/json5",
    "application/x-json",
    "json",
    "+json",
    "application/+json",
    "*/*",
    "text/plain; x=application/json",
    "text/plain, application/json",
    "application/json, text/plain",
]
# ``text/plain+json`` is a +json type, so it is accepted: not being one of the three "simple"
# types, a browser sends it cross-site only after a CORS preflight, which is refused.


@pytest.mark.parametrize("content_type", REFUSED_CONTENT_TYPES, ids=repr)
def test_a_body_that_is_not_json_is_refused_415_and_changes_nothing(
    server: SkaldServer, http: httpx.Client, content_type: str | None
) -> None:
    for route, status, body in fire(server, own_host, content_type=content_type, bodies_only=True):
        assert status == 415, (route, status, body)
        assert body is not None and body["status"] == "error", (route, body)
        assert body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE", (route, body)
    assert_data_intact(http)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
        "application/vnd.skald+json; charset=utf-8",
        "text/plain+json",
    ],
)
def test_json_bodies_are_accepted(server: SkaldServer, content_type: str) -> None:
    session = "ct-" + "".join(ch for ch in content_type.lower() if ch.isalnum())[:40]
    body = json.dumps({"session_id": session}).encode()
    status, answer = raw(
        server.port,
        "POST",
        "/api/v1/sessions",
        [*own_host(server.port), ("Content-Type", content_type)],
        body,
    )
    assert status in (200, 409), answer  # 409: the other backend's server is another store
    status, answer = raw(server.port, "GET", f"/api/v1/sessions/{session}", own_host(server.port))
    assert status == 200, answer


def test_requests_without_a_body_need_no_content_type(server: SkaldServer) -> None:
    status, answer = raw(server.port, "POST", "/api/v1/sessions", own_host(server.port))
    assert status == 200, answer  # an empty POST: a session with a generated id
    assert raw(server.port, "GET", "/api/v1/sessions", own_host(server.port))[0] == 200


# ----------------------------------------------------------------------------- Host


def refused_hosts(port: int) -> list[str]:
    return [
        "evil.example",
        f"evil.example:{port}",
        f"localhost.evil.example:{port}",
        f"127.0.0.1.nip.io:{port}",
        f"evil.localhost:{port}",
        f"localhost:{port + 1}",
        f"127.0.0.1:{port - 1}",
        f"[::1]:{port + 1}",
        "localhost",  # port 80
        "127.0.0.1",
        "[::1]",
        f"0.0.0.0:{port}",
        f"10.0.0.1:{port}",
        f"192.168.1.1:{port}",
        f"[::2]:{port}",
        f"[fe80::1]:{port}",
        f"127.1:{port}",
        f"2130706433:{port}",
        f"0x7f000001:{port}",
        f"localhost:{port}:{port}",
        f"localhost:+{port}",
        f"localhost:{port}0",
        "localhost:",
        f"[::1:{port}",
        f"::1:{port}",
        f"[127.0.0.1]:{port}",
        f"evil.example@localhost:{port}",
    ]


HOST_CASES = refused_hosts(0)


@pytest.mark.parametrize("index", range(len(HOST_CASES)), ids=HOST_CASES)
def test_a_foreign_host_is_refused_403_and_changes_nothing(
    server: SkaldServer, http: httpx.Client, index: int
) -> None:
    host = refused_hosts(server.port)[index]
    for route, status, body in fire(server, lambda port: [("Host", host)]):
        assert status == 403, (host, route, status, body)
        assert body is not None and body["error"]["code"] == "FORBIDDEN", (host, route, body)
        assert body["error"]["details"]["reason"] == "foreign_host"
        assert "m0" not in json.dumps(body)  # no answer of the victim's data leaks
    assert_data_intact(http)


def test_no_host_at_all_is_refused(server: SkaldServer, http: httpx.Client) -> None:
    """HTTP/1.0 may leave Host out; dev mode does not serve such a request."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(f"DELETE /api/v1/sessions/{VICTIM} HTTP/1.0\r\n\r\n".encode())
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 403 "), received[:200]
    assert_data_intact(http)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:{port}",
        "localhost:{port}",
        "LocalHost:{port}",
        "[::1]:{port}",
        "[0:0:0:0:0:0:0:1]:{port}",
        "127.0.0.2:{port}",
        "127.255.255.254:{port}",
    ],
)
def test_loopback_hosts_of_the_bound_port_are_served(server: SkaldServer, host: str) -> None:
    headers = [("Host", host.format(port=server.port))]
    status, body = raw(server.port, "GET", "/api/v1/sessions", headers)
    assert status == 200, body
    status, _ = raw(server.port, "GET", "/health", headers)
    assert status == 200


# ----------------------------------------------------------------------------- Origin, Sec-Fetch-Site


def refused_origins(port: int) -> list[str]:
    return [
        "https://evil.example",
        f"http://evil.example:{port}",
        "null",
        f"http://localhost:{port + 1}",
        "http://localhost",
        "http://127.0.0.1",
        f"https://localhost:{port}",
        f"https://127.0.0.1:{port}",
        f"http://localhost.evil.example:{port}",
        f"http://127.0.0.1:{port}.evil.example",
        f"http://[::1]:{port + 1}",
        f"http://10.0.0.1:{port}",
        "file://",
        "chrome-extension://abcdefghijklmnop",
        f"ws://127.0.0.1:{port}",
        f"http://evil.example/http://127.0.0.1:{port}",
        "",
    ]


ORIGIN_CASES = refused_origins(0)


@pytest.mark.parametrize("index", range(len(ORIGIN_CASES)), ids=ORIGIN_CASES)
def test_a_foreign_origin_is_refused_403_and_changes_nothing(
    server: SkaldServer, http: httpx.Client, index: int
) -> None:
    origin = refused_origins(server.port)[index]
    for route, status, body in fire(server, lambda port: [*own_host(port), ("Origin", origin)]):
        assert status == 403, (origin, route, status, body)
        assert body is not None and body["error"]["details"]["reason"] == "cross_site"
    assert_data_intact(http)


@pytest.mark.parametrize("site", ["cross-site", "same-site", "Cross-Site", "bogus", ""])
def test_a_request_a_page_of_another_site_made_is_refused(
    server: SkaldServer, http: httpx.Client, site: str
) -> None:
    for route, status, body in fire(
        server, lambda port: [*own_host(port), ("Sec-Fetch-Site", site)]
    ):
        assert status == 403, (site, route, status, body)
        assert body is not None and body["error"]["details"]["reason"] == "cross_site"
    assert_data_intact(http)


def test_a_browser_vector_with_a_valid_json_body_is_still_refused(
    server: SkaldServer, http: httpx.Client
) -> None:
    """What a page's fetch() really sends cross-site: Origin and Sec-Fetch-Site together."""
    headers = [
        *own_host(server.port),
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Mode", "no-cors"),
    ]
    for route, status, _ in fire(server, lambda port: headers):
        assert status == 403, route
    assert_data_intact(http)


@pytest.mark.parametrize(
    "headers",
    [
        [("Origin", "http://127.0.0.1:{port}"), ("Sec-Fetch-Site", "same-origin")],
        [("Origin", "http://localhost:{port}")],
        [("Origin", "http://[::1]:{port}")],
        [("Sec-Fetch-Site", "none")],
        [("Sec-Fetch-Site", "same-origin")],
    ],
    ids=["same-origin page", "localhost page", "ipv6 page", "typed URL", "same-origin"],
)
def test_this_servers_own_pages_are_served(
    server: SkaldServer, headers: list[tuple[str, str]]
) -> None:
    """The server's own pages (the OpenAPI UI at /schema) may call it."""
    sent = [*own_host(server.port), *((k, v.format(port=server.port)) for k, v in headers)]
    status, body = raw(server.port, "GET", "/api/v1/sessions", sent)
    assert status == 200, body
