"""Idle and half-sent connections are closed (issue 12 §4), with raw sockets against real
``skald serve`` processes.

* A connection that sends nothing, part of a request head (even one byte at a time, forever)
  or part of a body is closed within ``header_timeout`` / ``body_timeout``; an idle
  keep-alive connection after ``keep_alive_timeout``. A slow client that keeps sending body
  pieces, and one that reuses its connection, are served.
* A client that stops reading its answer is dropped after ``send_timeout`` (the server stays
  up for others); one that reads slowly, a little at a time, gets all of it.
* Past ``max_connections`` a new connection is answered 503 UNAVAILABLE (the error envelope,
  ``Retry-After``, ``Connection: close``) and closed, while the open ones are answered.
* With a low open-file limit (``ulimit -n 200``), hundreds of idle connections neither make
  the server fail with "Too many open files" nor lock others out beyond the header timeout.

Bounds: a timer never fires early, so "closed, and not before the timeout" is exact; the
upper bound leaves seconds of slack for a loaded machine.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from support.server import (
    SkaldServer,
    assert_clean_exit,
    clean_env,
    running_skald,
    skald_serve,
    start_server,
)

from skald_core.errors import UnavailableError, error_from_wire

TIMEOUT = 1.0
SLACK = 4.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SkaldServer]:
    base = tmp_path_factory.mktemp("conn")
    args = ["--header-timeout", "1", "--body-timeout", "1", "--keep-alive-timeout", "1"]
    args += ["--send-timeout", "1"]
    with running_skald(base / "data", extra_args=args) as running:
        yield running


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    return sock


def seconds_until_closed(sock: socket.socket, limit: float = TIMEOUT + SLACK) -> float | None:
    """Reads until the server closes; seconds it took, or None if still open at ``limit``."""
    start = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """One whole response (Content-Length framed): status and body."""
    status, _headers, body = read_full_response(sock)
    return status, body


def read_full_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One whole response (Content-Length framed): status, headers (lower-case names), body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode().split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "closed in the middle of a response"
        body += chunk
    return int(head.split(b" ", 2)[1]), headers, body


def head(port: int, method: str = "GET", path: str = "/health", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()


def body_head(port: int, length: int) -> bytes:
    extra = f"Content-Type: application/json\r\nContent-Length: {length}\r\n"
    return head(port, "POST", "/api/v1/sessions", extra)


def chunked_head(port: int) -> bytes:
    extra = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    return head(port, "POST", "/api/v1/sessions", extra)


HALF_SENT = {
    "nothing": lambda port: b"",
    "half a request line": lambda port: b"GET /hea",
    "a request line": lambda port: b"GET /health HTTP/1.1\r\n",
    "a head without its blank line": lambda port: head(port)[:-2],
    "half a body": lambda port: body_head(port, 100) + b'{"session_id": ',
    "a head announcing a body": lambda port: body_head(port, 10),
    "half a chunked body": lambda port: chunked_head(port) + b'5\r\n{"ses\r\n',
}


@pytest.mark.parametrize("what", list(HALF_SENT))
def test_a_half_sent_request_is_closed_within_the_timeout(server: SkaldServer, what: str) -> None:
    with connect(server.port) as sock:
        sock.sendall(HALF_SENT[what](server.port))
        took = seconds_until_closed(sock)
    assert took is not None, f"{what}: still open after {TIMEOUT + SLACK}s"
    assert took >= TIMEOUT * 0.9, f"{what}: closed after {took:.2f}s, before the timeout"


def test_a_head_sent_a_byte_at_a_time_is_closed_although_bytes_keep_coming(
    server: SkaldServer,
) -> None:
    """The header timeout counts from the first byte, not from the last one (slowloris)."""
    endless = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 10_000
    with connect(server.port) as sock:
        start = time.monotonic()
        try:
            for byte in endless:
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
                if time.monotonic() - start > TIMEOUT + SLACK:
                    break
            closed = False
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        took = time.monotonic() - start
        if not closed:
            closed = seconds_until_closed(sock, 0.5) is not None
    assert closed, f"still open after trickling for {took:.1f}s"
    assert took < TIMEOUT + SLACK


def test_a_body_sent_in_slow_pieces_is_served(server: SkaldServer) -> None:
    """The body timeout is between pieces: a slow but live upload gets its answer."""
    body = b'{"session_id": "slow-upload"}'
    pieces = [body[i : i + 8] for i in range(0, len(body), 8)]
    with connect(server.port) as sock:
        sock.sendall(body_head(server.port, len(body)))
        for piece in pieces:
            time.sleep(TIMEOUT * 0.6)
            sock.sendall(piece)
        status, answer = read_response(sock)
    assert status == 200, answer
    assert len(pieces) * TIMEOUT * 0.6 > TIMEOUT  # the whole upload took longer than a timeout


def test_an_idle_keep_alive_connection_is_closed_and_a_busy_one_kept(server: SkaldServer) -> None:
    with connect(server.port) as sock:
        for _ in range(4):  # requests closer together than the timeout: one connection
            sock.sendall(head(server.port))
            assert read_response(sock)[0] == 200
            time.sleep(TIMEOUT * 0.5)
        took = seconds_until_closed(sock)
    assert took is not None, "an idle keep-alive connection stayed open"
    assert took >= TIMEOUT * 0.4


# ----------------------------------------------------------------------------- answers not read

SEND_TIMEOUT = 1.0
BIG = 4 << 20  # bytes of the file read: far more than the socket buffers on both sides hold


@pytest.fixture(scope="module")
def big_file(server: SkaldServer) -> str:
    uri = "viking://user/default/big.md"
    with httpx.Client(base_url=server.url, timeout=60) as client:
        answer = client.post(
            "/api/v1/content/write", json={"uri": uri, "content": "x" * BIG, "mode": "replace"}
        )
    assert answer.status_code == 200, answer.text
    return uri


@pytest.fixture(scope="module")
def big_session(server: SkaldServer) -> str:
    sid = "big-context"
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for path, body in [
            ("/api/v1/sessions", {"session_id": sid}),
            (f"/api/v1/sessions/{sid}/messages", {"role": "user", "content": "y" * BIG}),
        ]:
            answer = client.post(path, json=body)
            assert answer.status_code == 200, answer.text
    return sid


def small_window(port: int) -> socket.socket:
    """A connection whose receive buffer (so the window it offers) is a few kilobytes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    return sock


def read_request(port: int, uri: str) -> bytes:
    path = f"/api/v1/content/read?uri={quote(uri, safe='')}"
    return head(port, path=path, extra="Connection: close\r\n")


def dechunk(body: bytes) -> bytes:
    """A chunked body (as a streamed answer comes), whole, without its framing."""
    out = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return b"".join(out)
        out.append(body[:size])
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]


TCP_ESTABLISHED = 1
DROPPED = "took no byte of its answer within 1.0s (send_timeout"


def seconds_until_dropped(sock: socket.socket, limit: float) -> float | None:
    """Seconds until the connection leaves ESTABLISHED (the server reset or ended it), seen
    from the kernel without reading; None if still established at ``limit``."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != TCP_ESTABLISHED:
            return time.monotonic() - start
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("answer", ["streamed (a file)", "whole (a session's context)"])
def test_a_client_that_reads_no_answer_is_dropped_after_the_send_timeout(
    server: SkaldServer, big_file: str, big_session: str, answer: str
) -> None:
    """A streamed answer leaves the app waiting to send; a whole one is handed to the
    transport at once, and the connection waits to flush it: either is dropped."""
    if answer.startswith("streamed"):
        request = read_request(server.port, big_file)
    else:
        path = f"/api/v1/sessions/{big_session}/context?token_budget=100000000"
        request = head(server.port, path=path)
    logged = server.log().count(DROPPED)
    with small_window(server.port) as sock:
        sock.sendall(request)
        took = seconds_until_dropped(sock, SEND_TIMEOUT + SLACK + 5)
        assert took is not None, "a client that reads nothing kept its connection"
        assert took >= SEND_TIMEOUT * 0.9, f"dropped after {took:.2f}s, before the timeout"
        received = 0
        try:
            while chunk := sock.recv(65536):
                received += len(chunk)
        except ConnectionResetError:
            pass
    assert received < BIG, "the whole answer came"
    assert server.log().count(DROPPED) == logged + 1
    with connect(server.port) as other:  # the server is fine
        other.sendall(head(server.port, extra="Connection: close\r\n"))
        assert read_response(other)[0] == 200


def test_a_client_that_reads_slowly_gets_the_whole_answer(
    server: SkaldServer, big_file: str
) -> None:
    """Reading a few kilobytes now and then keeps the server's send buffer full for many
    send timeouts in a row: the connection is kept, as the client takes bytes meanwhile."""
    with small_window(server.port) as sock:
        sock.sendall(read_request(server.port, big_file))
        start = time.monotonic()
        data = b""
        while time.monotonic() - start < 4 * SEND_TIMEOUT:
            chunk = sock.recv(4096)
            assert chunk, f"closed after {len(data)} bytes"
            data += chunk
            time.sleep(0.2)
        assert len(data) < BIG // 4  # slow indeed: the rest still waits on the server
        while chunk := sock.recv(65536):  # then the rest, fast, until the server closes
            data += chunk
    head_part, _, body = data.partition(b"\r\n\r\n")
    assert head_part.startswith(b"HTTP/1.1 200 "), head_part
    assert b"transfer-encoding: chunked" in head_part.lower()
    answer = json.loads(dechunk(body))
    assert answer["status"] == "ok" and len(answer["result"]) == BIG


# ----------------------------------------------------------------------------- the cap

CAP = 8


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SkaldServer]:
    base = tmp_path_factory.mktemp("cap")
    args = ["--max-connections", str(CAP), "--header-timeout", "60"]
    with running_skald(base / "data", extra_args=args) as running:
        yield running


def assert_refused(sock: socket.socket) -> None:
    """``sock`` was answered the cap's 503: the error envelope, then the server closed."""
    status, headers, body = read_full_response(sock)
    assert status == 503, body
    assert headers["connection"] == "close"
    assert headers["retry-after"] == "1"
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"]
    envelope = json.loads(body)
    assert envelope["status"] == "error" and envelope["result"] is None, envelope
    error = error_from_wire(**envelope["error"])
    assert isinstance(error, UnavailableError), envelope
    assert envelope["error"]["details"] == {
        "reason": "too_many_connections",
        "max_connections": CAP,
        "retry_after": 1,
    }
    took = seconds_until_closed(sock, 10.0)
    assert took is not None and took < 5.0, "a refused connection stayed open"


def test_connections_past_the_cap_get_503_and_the_others_are_answered(
    capped: SkaldServer,
) -> None:
    with connect(capped.port) as probe:  # the server is up and has no other connection
        probe.sendall(head(capped.port, extra="Connection: close\r\n"))
        assert read_response(probe)[0] == 200
    time.sleep(0.3)
    held = [connect(capped.port) for _ in range(CAP)]
    try:
        time.sleep(0.3)  # all accepted
        with connect(capped.port) as extra:  # a whole request
            extra.sendall(head(capped.port))
            assert_refused(extra)
        with connect(capped.port) as extra:  # nothing sent
            assert_refused(extra)
        with connect(capped.port) as extra:  # a body that is never read, nor waited for
            extra.sendall(body_head(capped.port, 100 << 20) + b"x" * 65536)
            assert_refused(extra)
        for sock in held:  # every connection within the cap is still served
            sock.sendall(head(capped.port))
            assert read_response(sock)[0] == 200
    finally:
        for sock in held[: CAP // 2]:
            sock.close()
    time.sleep(0.3)
    try:
        with connect(capped.port) as again:  # room again: served
            again.sendall(head(capped.port))
            assert read_response(again)[0] == 200
    finally:
        for sock in held[CAP // 2 :]:
            sock.close()
    time.sleep(0.3)
    more = [connect(capped.port) for _ in range(CAP)]  # all released: the whole cap again
    try:
        for sock in more:
            sock.sendall(head(capped.port, extra="Connection: close\r\n"))
            assert read_response(sock)[0] == 200
    finally:
        for sock in more:
            sock.close()
    assert "connection(s) in the last" in capped.log()


# ----------------------------------------------------------------------------- few files

NOFILE = 200


def test_a_low_open_file_limit_is_not_exhausted_by_idle_connections(tmp_path: Path) -> None:
    """``ulimit -n 200`` and 250 idle and half-sent connections: the cap (lowered to fit the
    limit) refuses the surplus at once, the header and body timeouts close the rest, and the
    server answers again after them, with no "Too many open files" and a clean shutdown.

    The listen backlog is lowered with the limit (25 here), so a client opening connections
    this fast waits for SYN retries now and then: the flood takes seconds."""
    header_timeout = 3.0
    serve = skald_serve(
        tmp_path / "data",
        *("--header-timeout", str(header_timeout), "--body-timeout", str(header_timeout)),
    )

    def command(port: int) -> list[str]:
        return ["sh", "-c", f"ulimit -n {NOFILE} && exec {shlex.join(serve(port))}"]

    server = start_server("skald serve (ulimit)", command, tmp_path / "server.log", env=clean_env())
    status: int | None = None
    try:
        assert "lowered to fit the open-file limit" in server.log()
        flood = []
        try:
            half_sent = list(HALF_SENT.values())
            for i in range(250):
                sock = connect(server.port)
                flood.append(sock)
                with contextlib.suppress(OSError):  # a refused one may be reset already
                    sock.sendall(half_sent[i % len(half_sent)](server.port))
            time.sleep(1.5)  # the refused ones have gone
            with connect(server.port) as sock:  # answered, 503 while the cap is still full
                sock.sendall(head(server.port, extra="Connection: close\r\n"))
                code, body = read_response(sock)
                assert code == 200 or json.loads(body)["error"]["code"] == "UNAVAILABLE", body
            time.sleep(header_timeout)
            with connect(server.port) as sock:
                sock.sendall(head(server.port, extra="Connection: close\r\n"))
                assert read_response(sock)[0] == 200
            closed = sum(seconds_until_closed(s, 0.2) is not None for s in flood)
            assert closed == len(flood), f"{len(flood) - closed} idle connections still open"
        finally:
            for sock in flood:
                sock.close()
    finally:
        status = server.stop()
    log = server.log()
    assert "Too many open files" not in log and "out of system resource" not in log, log
    assert "connection(s) in the last" in log, "the cap was never reached"
    assert_clean_exit(server, status)
