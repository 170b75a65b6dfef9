"""Connection limits of ``skald serve``: uvicorn's HTTP/1.1 protocol (httptools, the parser
uvicorn picks when it is installed, as it is with the server) with timeouts for a request head,
a request body and a client that takes no answer, and a cap on open connections.

uvicorn closes a keep-alive connection that stays idle after an answer
(``timeout_keep_alive``), but nothing else: a connection that sends nothing, half a request
head or half a body stays open for good, and a few hundred of them exhaust the process's open
files. ``protocol_class(limits)`` gives uvicorn a protocol that also

* closes a connection whose request head is not complete ``header_timeout`` seconds after its
  first byte (or after the connection opened, for one that sends nothing),
* closes a connection that sends no byte of a started request body for ``body_timeout``
  seconds (the clock only runs while the server waits for the body: not while the app works,
  nor while uvicorn stopped reading because the app has not consumed what came),
* drops a connection whose client takes no byte of an answer for ``send_timeout`` seconds
  while the server's send buffer is full (uvicorn then pauses the app's sending, for good if
  the client never reads: the app, its buffered answer and the connection would stay),
* answers a new connection ``503 UNAVAILABLE`` (the error envelope, ``Retry-After``,
  ``Connection: close``) and closes it while ``max_connections`` are open, without reading its
  request, so the server never runs out of file descriptors and keeps answering the
  connections it has (``fit_to_open_files`` lowers the cap, and the accept burst, to fit
  ``ulimit -n``).

A timed-out connection is closed without an answer (its client stopped sending, or reading;
an app still waiting for that body, or to send, sees a disconnect). A timer is set only while
a request is split across reads (and for a new connection until its first request), or while
the send buffer is full: a request that arrives in one read, and an answer the socket takes
whole, cost a few attribute checks, no timer.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import resource
import socket
import struct
import termios
import time
from collections.abc import Mapping
from typing import Any

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from skald_core.errors import UnavailableError
from skald_core.ids import new_request_id

from .envelope import failure

log = logging.getLogger("skald.server")

#: File descriptors kept for everything but client connections: the listening socket, the
#: event loop, logs, and the store's files (SQLite: a connection, two files, per worker thread)
#: or PostgreSQL connections.
RESERVED_FDS = 128
#: uvicorn's listen backlog, which asyncio also uses as the most connections it accepts in
#: one go (each holds a file until the protocol closes a refused one).
DEFAULT_BACKLOG = 2048
#: Seconds a connection refused past the cap stays open after its 503 (its end of the
#: connection shut): what its client still sends is read and dropped meanwhile, so that
#: closing sends no reset that could cost the client the answer.
REFUSAL_LINGER = 1.0
#: The ``Retry-After`` of that 503, in seconds.
REFUSAL_RETRY_AFTER = 1
#: ``SO_LINGER`` on, 0 seconds: closing the socket resets the connection, unsent data dropped.
_RESET = struct.pack("ii", 1, 0)
#: The ioctl giving the bytes in a socket's send queue (Linux), if this system has one.
_OUTQ: int | None = getattr(termios, "TIOCOUTQ", None)


class ConnectionLimits(msgspec.Struct, frozen=True, kw_only=True):
    header_timeout: float
    body_timeout: float
    send_timeout: float
    max_connections: int
    #: The listen backlog (``uvicorn.run(backlog=...)``); also the most refused connections
    #: kept lingering at a time (past it, one is closed at once, without its 503).
    backlog: int = DEFAULT_BACKLOG


def fit_to_open_files(limits: ConnectionLimits) -> ConnectionLimits:
    """``limits`` within the open-file limit (``RLIMIT_NOFILE``): the accept burst (the
    backlog) is lowered to an eighth of the limit, and the cap to what is left after
    ``RESERVED_FDS``, one burst and as many refused connections awaiting the end of their
    503 (at least 1)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return limits
    backlog = min(limits.backlog, max(16, soft // 8))
    return msgspec.structs.replace(
        limits,
        max_connections=max(1, min(limits.max_connections, soft - RESERVED_FDS - 2 * backlog)),
        backlog=backlog,
    )


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits (``limits`` set by ``protocol_class``):
    the parser's callbacks say where a request stands (a message begun, its head complete, a
    body piece, the message complete)."""

    limits: ConnectionLimits
    #: The 503 of a refused connection, but for its request id (``_refusal``).
    refusal_head: bytes = b""
    refusal_body: bytes = b""
    _timer: asyncio.TimerHandle | None = None
    _timer_kind: str = ""
    _refused: bool = False
    _in_head: bool = False
    _in_body: bool = False
    _last_read: float = 0.0
    _send_timer: asyncio.TimerHandle | None = None
    _send_buffered: int = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
            _refusals.note(len(self.connections))
            if _Refused.lingering >= self.limits.backlog:
                transport.abort()  # a flood: no 503 that would keep one more file open
            else:
                transport.set_protocol(_Refused(transport, self._refusal()))
            return
        super().connection_made(transport)
        self._arm("header", self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._disarm()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        super().connection_lost(exc)

    def _refusal(self) -> bytes:
        request_id = new_request_id().encode()
        return b"%s\r\nX-Request-ID: %s\r\n\r\n%s" % (
            self.refusal_head,
            request_id,
            self.refusal_body,
        )

    # The transport calls these when its send buffer goes over its high-water mark and back
    # under the low one: uvicorn holds the app's next send meanwhile.

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_buffered = self._unsent()
            self._send_timer = self.loop.call_later(self.limits.send_timeout, self._send_expired)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None

    def _unsent(self) -> int:
        """Bytes of answers the client has not taken yet: in the transport's buffer, and in
        the kernel's (not sent, or not acknowledged: ``TIOCOUTQ``, where the system has it),
        which holds megabytes a slow reader may take for long before the transport's shrinks."""
        unsent = self.transport.get_write_buffer_size()
        sock = self.transport.get_extra_info("socket")
        if sock is not None and _OUTQ is not None:
            with contextlib.suppress(OSError):
                unsent += struct.unpack("i", fcntl.ioctl(sock.fileno(), _OUTQ, b"\0" * 4))[0]
        return unsent

    def _send_expired(self) -> None:
        self._send_timer = None
        buffered = self._unsent()
        if buffered < self._send_buffered:
            # The client took some of the answer meanwhile: slow, but reading.
            self._send_buffered = buffered
            self._send_timer = self.loop.call_later(self.limits.send_timeout, self._send_expired)
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info(
            "closed the connection of %s: it took no byte of its answer within %ss "
            "(send_timeout; %d bytes left unsent)",
            client,
            self.limits.send_timeout,
            buffered,
        )
        # ``close`` would wait for the buffer to be sent, which is what never happens; and the
        # kernel would keep the socket's own buffer (megabytes) until its retries give up:
        # a reset (linger 0) frees both now.
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
        self.transport.abort()

    def _arm(self, kind: str, seconds: float, *, restart: bool = False) -> None:
        if self._timer is not None:
            if self._timer_kind == kind and not restart:
                return
            self._timer.cancel()
        self._timer_kind = kind
        self._timer = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._timer_kind = ""

    def _expired(self) -> None:
        kind, self._timer, self._timer_kind = self._timer_kind, None, ""
        if self.transport.is_closing():
            return
        if kind == "body":
            if not self._in_body:
                return
            if self.flow.read_paused:
                # uvicorn stopped reading until the app takes what came: not the client's fault.
                self._arm("body", self.limits.body_timeout)
                return
            idle = self.loop.time() - self._last_read
            if idle < self.limits.body_timeout:
                self._arm("body", self.limits.body_timeout - idle)  # a piece came meanwhile
                return
        seconds = self.limits.header_timeout if kind == "header" else self.limits.body_timeout
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
        log.info(
            "closed the connection of %s: no complete request %s within %ss (%s_timeout)",
            client,
            "head" if kind == "header" else "body piece",
            seconds,
            kind,
        )
        self.transport.close()

    # The parser's callbacks only note where the request stands; ``data_received`` sets the
    # timer once per read. A request that arrives whole in one read sets no timer at all.

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._in_head, self._in_body = False, True

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_body = False

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
        elif self._in_body:
            # Also after an early answer (415, say): the rest of the body must still come.
            self._last_read = self.loop.time()
            if self._timer_kind != "body":
                self._arm("body", self.limits.body_timeout)
        elif self._in_head or self.cycle is None or self.cycle.response_complete:
            # Part of a head (or bytes that are not one yet): its clock runs from the first
            # byte after the last answer, or from the opening.
            if self._timer_kind != "header":
                self._arm("header", self.limits.header_timeout)
        elif self._timer is not None:
            self._disarm()  # a whole request came: the app works, then keep-alive runs


class _Refused(asyncio.Protocol):
    """A connection refused past the cap, after its 503 and the shutdown of the server's end:
    drops what its client sends, closes when the client does or after ``REFUSAL_LINGER``.
    ``lingering`` counts those open."""

    lingering = 0

    def __init__(self, transport: asyncio.Transport, answer: bytes) -> None:
        self.transport = transport
        transport.write(answer)
        transport.write_eof()
        self.timer = asyncio.get_running_loop().call_later(REFUSAL_LINGER, transport.abort)
        _Refused.lingering += 1

    def data_received(self, data: bytes) -> None:
        pass  # the request is not read: not parsed, not kept

    def eof_received(self) -> bool:
        return False  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.timer.cancel()
        _Refused.lingering -= 1


class _Refusals:
    """Counts refused connections; logs at most one warning per ``EVERY`` seconds (a flood of
    connections must not become a flood of log lines)."""

    EVERY = 10.0

    def __init__(self) -> None:
        self.count = 0
        self.logged_at = -self.EVERY

    def note(self, open_connections: int) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self.logged_at >= self.EVERY:
            log.warning(
                "refused %d connection(s) in the last %.0fs: %d open (max_connections)",
                self.count,
                min(now - self.logged_at, self.EVERY),
                open_connections,
            )
            self.count, self.logged_at = 0, now


_refusals = _Refusals()


def refusal_answer(
    max_connections: int, codes: Mapping[str, str] | None = None
) -> tuple[bytes, bytes]:
    """The 503 a connection past the cap gets: its status line and headers (without the
    request id, nor the blank line) and its body, the error envelope (``codes`` renames wire
    codes, as the ``error_codes`` setting does)."""
    err = UnavailableError(
        f"The server has {max_connections} open connections, its most (max_connections); try again",
        {
            "reason": "too_many_connections",
            "max_connections": max_connections,
            "retry_after": REFUSAL_RETRY_AFTER,
        },
    )
    body = msgspec.json.encode(failure(err, 0.0, codes))
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        f"Retry-After: {REFUSAL_RETRY_AFTER}\r\n"
        "X-Process-Time: 0.000000"
    )
    return head.encode(), body


def protocol_class(
    limits: ConnectionLimits, codes: Mapping[str, str] | None = None
) -> type[asyncio.Protocol]:
    """A ``LimitedHttpToolsProtocol`` bound to ``limits``, for ``uvicorn.run(http=...)``;
    ``codes`` renames wire codes in its 503s (the ``error_codes`` setting)."""
    head, body = refusal_answer(limits.max_connections, codes)
    attributes: dict[str, Any] = {"limits": limits, "refusal_head": head, "refusal_body": body}
    return type("SkaldHttpToolsProtocol", (LimitedHttpToolsProtocol,), attributes)
