"""A write whose answer is lost is retried with its Idempotency-Key and stored exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar.testing import TestClient
from litestar.testing.transport import (
    TestClientTransport as AppTransport,  # renamed: pytest collects Test* names
)
from support.asgi import URL

import skald
from skald_server.app import create_app
from skald_server.config import ServerConfig


class LoseFirstAnswers(httpx.BaseTransport):
    """Delivers every request to the server, but drops the first ``n`` answers on the way back."""

    def __init__(self, inner: AppTransport[Any], n: int) -> None:
        self.inner, self.to_lose, self.keys = inner, n, []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST":
            self.keys.append(request.headers.get("idempotency-key"))
            if self.to_lose > 0:
                self.to_lose -= 1
                raise httpx.ReadError("connection reset after the request was sent")
        return response


@pytest.fixture
def served(tmp_path: Path) -> Iterator[TestClient[Any]]:
    """The app, running (lifespan included) for the test."""
    with TestClient(create_app(ServerConfig(path=str(tmp_path))), base_url=URL) as http:
        yield http


def client_losing(served: TestClient[Any], n: int) -> tuple[skald.SyncHTTPClient, LoseFirstAnswers]:
    transport = LoseFirstAnswers(AppTransport(served), n)
    client = skald.SyncHTTPClient(url=URL, transport=transport, max_retries=3)
    client.retry = msgspec.structs.replace(client.retry, base_delay=0.0)
    return client, transport


def test_a_lost_append_answer_is_retried_and_the_message_stored_once(
    served: TestClient[Any],
) -> None:
    client, transport = client_losing(served, n=2)

    result = client.add_message("s1", "user", "hello once")

    assert result["message_count"] == 1
    assert len(transport.keys) == 3 and len(set(transport.keys)) == 1
    assert [m.parts[0].text for m in client.session("s1", must_exist=True).messages] == [
        "hello once"
    ]


def test_a_lost_commit_answer_is_retried_and_archives_once(served: TestClient[Any]) -> None:
    client, transport = client_losing(served, n=0)
    client.batch_add_messages("s1", [{"role": "user", "content": "a"}])
    transport.to_lose = 1

    result = client.commit_session("s1")

    assert result["archive_uri"].endswith("/history/archive_001")
    assert client.get_session("s1")["commit_count"] == 1


def test_two_logical_appends_are_two_messages(served: TestClient[Any]) -> None:
    client, transport = client_losing(served, n=0)

    client.add_message("s1", "user", "same text")
    client.add_message("s1", "user", "same text")

    assert client.get_session("s1")["message_count"] == 2
    assert transport.keys[0] != transport.keys[1]


class RefuseFirstConnections(httpx.BaseTransport):
    """Answers the first ``n`` requests as a server past its connection cap does (its exact 503,
    sent before reading anything), then delivers the rest to the app."""

    def __init__(self, inner: AppTransport[Any], n: int, head: bytes, body: bytes) -> None:
        self.inner, self.to_refuse, self.sent = inner, n, 0
        lines = head.decode().split("\r\n")[1:]
        self.headers = [tuple(line.split(": ", 1)) for line in lines]
        self.body = body

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        if self.to_refuse > 0:
            self.to_refuse -= 1
            return httpx.Response(503, headers=self.headers, content=self.body)
        return self.inner.handle_request(request)


@pytest.mark.parametrize("reason", ["too_many_connections", "unreachable"])
def test_a_call_refused_at_the_connection_cap_is_sent_again_whatever_it_is(
    served: TestClient[Any], reason: str
) -> None:
    """Creating a session is not retried after a 503 in general (it may have been created),
    but the connection cap's 503 comes before the server read the request."""
    from skald_server.connections import refusal_answer

    head, body = refusal_answer(100)
    body = body.replace(b'"too_many_connections"', f'"{reason}"'.encode())
    head = head.replace(b"Retry-After: 1", b"Retry-After: 0")
    transport = RefuseFirstConnections(AppTransport(served), 1, head, body)
    client = skald.SyncHTTPClient(url=URL, transport=transport, max_retries=3)
    client.retry = msgspec.structs.replace(client.retry, base_delay=0.0)

    if reason == "too_many_connections":
        assert client.create_session("s1")["session_id"] == "s1"
        assert transport.sent == 2
        assert client.get_session("s1")["session_id"] == "s1"
    else:
        with pytest.raises(skald.UnavailableError):
            client.create_session("s1")
        assert transport.sent == 1
