"""Connection limits of ``skald serve``: uvicorn's HTTP/1.1 protocol (httptools, the parser
uvicorn picks when it is installed, as it is with the server) with timeouts for a request head
and body, and a cap on open connections.

uvicorn closes a keep-alive connection that stays idle after an answer
(``timeout_keep_alive``), but nothing else: a connection that sends nothing, half a request
head or half a body stays open for good, and a few hundred of them exhaust the process's open
files. ``protocol_class(limits)`` gives uvicorn a protocol that also

* closes a connection whose request head is not complete ``header_timeout`` seconds after its
  first byte (or after the connection opened, for one that sends nothing),
* closes a connection that sends no byte of a started request body for ``body_timeout``
  seconds (the clock only runs while the server waits for the body: not while the app works,
  nor while uvicorn stopped reading because the app has not consumed what came),
* closes a new connection at once while ``max_connections`` are open (before reading from it),
  so the server never runs out of file descriptors and keeps answering the connections it has
  (``fit_to_open_files`` lowers the cap, and the accept burst, to fit ``ulimit -n``).

A timed-out connection is closed without an answer (its client stopped sending; an app still
waiting for that body sees a disconnect). A timer is set only while a request is split
across reads (and for a new connection until its first request): a request that arrives in one
read costs a few attribute checks, no timer.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("skald.server")

#: File descriptors kept for everything but client connections: the listening socket, the
#: event loop, logs, and the store's files (SQLite: a connection, two files, per worker thread)
#: or PostgreSQL connections.
RESERVED_FDS = 128
#: uvicorn's listen backlog, which asyncio also uses as the most connections it accepts in
#: one go (each holds a file until the protocol closes a refused one).
DEFAULT_BACKLOG = 2048


class ConnectionLimits(msgspec.Struct, frozen=True, kw_only=True):
    header_timeout: float
    body_timeout: float
    max_connections: int
    #: The listen backlog (``uvicorn.run(backlog=...)``).
    backlog: int = DEFAULT_BACKLOG


def fit_to_open_files(
    configured: int, header_timeout: float, body_timeout: float
) -> ConnectionLimits:
    """The limits for ``configured`` connections within the open-file limit
    (``RLIMIT_NOFILE``): the accept burst (the backlog) is lowered to an eighth of the limit,
    and the cap to what is left after it and ``RESERVED_FDS`` (at least 1)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return ConnectionLimits(
            header_timeout=header_timeout, body_timeout=body_timeout, max_connections=configured
        )
    backlog = min(DEFAULT_BACKLOG, max(16, soft // 8))
    return ConnectionLimits(
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        max_connections=max(1, min(configured, soft - RESERVED_FDS - backlog)),
        backlog=backlog,
    )


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits (``limits`` set by ``protocol_class``):
    the parser's callbacks say where a request stands (a message begun, its head complete, a
    body piece, the message complete)."""

    limits: ConnectionLimits
    _timer: asyncio.TimerHandle | None = None
    _timer_kind: str = ""
    _refused: bool = False
    _in_head: bool = False
    _in_body: bool = False
    _last_read: float = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
            transport.abort()
            _refusals.note(len(self.connections))
            return
        super().connection_made(transport)
        self._arm("header", self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._disarm()
        super().connection_lost(exc)

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


def protocol_class(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """A ``LimitedHttpToolsProtocol`` bound to ``limits``, for ``uvicorn.run(http=...)``."""
    attributes: dict[str, Any] = {"limits": limits}
    return type("SkaldHttpToolsProtocol", (LimitedHttpToolsProtocol,), attributes)
