"""The server's one log format: every record of Skald, uvicorn, Litestar and psycopg goes through
one handler on the root logger, as readable text (the default) or as one JSON object per line
(``--log-format json``), to stderr.

Text:  ``2026-12-01T15:19:07.716Z WARNING skald.tasks: task worker: ... key=value``
JSON:  ``{"time": "...", "level": "warning", "logger": "skald.tasks", "message": "...", ...}``

Fields a record carries in ``extra`` become JSON keys, or ``key=value`` after the text message;
those under ``extra={"fields": {...}}`` are JSON keys only (the text message already says them:
the access log's ``method``, ``route``, ``status``, ``duration_ms`` and ``request_id``).

Repeated warnings are rate-limited (``RepeatFilter``): the same warning (same logger and message
template) is written at most once per ``window`` seconds; the next one written says how many
were left out. An unreachable database therefore logs a few lines a minute, not several a second.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any, TextIO

import msgspec

#: The record attributes logging itself sets; anything else on a record came from ``extra``.
_STANDARD = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "color_message", "taskName"}
)

#: Loggers whose own handlers are removed so that their records reach the root handler once.
_THIRD_PARTY = ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar", "psycopg", "httpx")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v
        for k, v in record.__dict__.items()
        if k not in _STANDARD and k != "fields" and not k.startswith("_")
    }


def _name(record: logging.LogRecord) -> str:
    # uvicorn logs its lifecycle as "uvicorn.error", which reads like an error; it is not
    return "uvicorn" if record.name == "uvicorn.error" else record.name


_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    global _second
    whole = int(created)
    if whole != _second[0]:  # strftime once a second, not once a line
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int(created % 1 * 1000):03d}Z"


def _access_message(method: str, route: str, status: int, ms: float, request_id: str) -> str:
    return f"{method} {route} {status} {ms:.2f}ms request_id={request_id}"


class TextFormatter(logging.Formatter):
    def access_line(
        self, created: float, method: str, route: str, status: int, ms: float, request_id: str
    ) -> str:
        """What ``format`` makes of ``access``'s record, without making the record."""
        message = _access_message(method, route, status, ms, request_id)
        return f"{_timestamp(created)} INFO skald.access: {message}"

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record.created)} {record.levelname} {_name(record)}: {record.getMessage()}"
        extra = _extras(record)
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JSONFormatter(logging.Formatter):
    _encoder = msgspec.json.Encoder()

    def access_line(
        self, created: float, method: str, route: str, status: int, ms: float, request_id: str
    ) -> str:
        """What ``format`` makes of ``access``'s record, without making the record."""
        out = {
            "time": _timestamp(created),
            "level": "info",
            "logger": "skald.access",
            "message": _access_message(method, route, status, ms, request_id),
            **_access_fields(method, route, status, ms, request_id),
        }
        return self._encoder.encode(out).decode()

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": _name(record),
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        for key, value in _extras(record).items():
            out[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return self._encoder.encode(out).decode()


class RepeatFilter(logging.Filter):
    """Lets a warning (or worse) through at most once per ``window`` seconds per (logger,
    message template); the one let through after a quiet spell says how many were dropped."""

    def __init__(self, window: float = 60.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.name, str(record.msg))
        now = self.clock()
        with self._lock:
            last, dropped = self._seen.get(key, (float("-inf"), 0))
            if now - last < self.window:
                self._seen[key] = (last, dropped + 1)
                return False
            self._seen[key] = (now, 0)
            if len(self._seen) > 10_000:  # unbounded templates would be a bug; stay bounded
                self._seen = {key: (now, 0)}
        if dropped:
            record.msg = f"{record.msg} (and {dropped} more like it in the last {self.window:g}s)"
        return True


_access = logging.getLogger("skald.access")
_NO_LOCK = threading.RLock()

#: How long an access line may wait in memory before it is written (``ServerHandler``).
ACCESS_FLUSH_SECONDS = 0.1
#: ... or how many may wait.
ACCESS_MAX_PENDING = 512


class ServerHandler(logging.StreamHandler[TextIO]):
    """The one handler ``configure`` installs. A record is written when it is logged. Access
    lines (one per request, from ``access``) are gathered and written together: within
    ``ACCESS_FLUSH_SECONDS``, or once ``ACCESS_MAX_PENDING`` wait, and always before any
    other record (so the order of lines is the order of events), at ``flush`` and at exit.

    A write per request was a third of what the logging cost a small request (callgrind:
    about 33,000 instructions of a get's 660,000); a busy server now writes ten times a
    second. What a ``kill -9`` loses is at most the last tenth of a second of access lines,
    never another record."""

    def __init__(self, stream: TextIO, interval: float = ACCESS_FLUSH_SECONDS) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._closed = threading.Event()
        self._writer = threading.Thread(
            target=self._write_every, args=(interval,), name="skald-access-log", daemon=True
        )
        self._writer.start()

    def add_access_line(self, line: str) -> None:
        with self.lock or _NO_LOCK:
            self._pending.append(line)
            if len(self._pending) >= ACCESS_MAX_PENDING:
                self._write_pending()

    def _write_pending(self) -> None:
        """Under the lock: the waiting access lines, in one write."""
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self.stream.write(text)
            super().flush()

    def _write_every(self, interval: float) -> None:
        while not self._closed.wait(interval):
            if self._pending:
                self.flush()

    def emit(self, record: logging.LogRecord) -> None:
        with self.lock or _NO_LOCK:
            self._write_pending()
            super().emit(record)

    def flush(self) -> None:
        with self.lock or _NO_LOCK:
            self._write_pending()
            super().flush()

    def close(self) -> None:
        self._closed.set()
        self.flush()
        super().close()


#: The handler ``configure`` installed: ``access`` hands it lines directly while it is the
#: one handler the access logger's records reach.
_direct: ServerHandler | None = None


def _access_fields(
    method: str, route: str, status: int, ms: float, request_id: str
) -> dict[str, Any]:
    return {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": ms,
        "request_id": request_id,
    }


def access(method: str, route: str, status: int, seconds: float, request_id: str) -> None:
    """The access line of one answered request (``skald.access`` at info): method, route
    template, status, duration and request id.

    A record through ``logging`` costs about 100 µs (measured with ``timeit``: the record, the
    caller lookup, the formatter), more than a small request's own work. While the handler
    ``configure`` installed is the only one the line reaches, it is formatted by that handler's
    formatter and handed to it directly (``ServerHandler.add_access_line``, which writes such
    lines in batches): the same line, a few µs. Otherwise (tests
    capturing records, an embedding application's own logging) it goes through ``logging``."""
    if not _access.isEnabledFor(logging.INFO):
        return
    ms = round(seconds * 1000, 2)
    handler = _direct
    root = logging.root
    if (
        handler is None
        or _access.handlers
        or not _access.propagate
        or len(root.handlers) != 1
        or root.handlers[0] is not handler
        or handler.level > logging.INFO
    ):
        message = _access_message(method, route, status, ms, request_id)
        fields = _access_fields(method, route, status, ms, request_id)
        _access.info("%s", message, extra={"fields": fields})
        return
    formatter = handler.formatter
    assert isinstance(formatter, TextFormatter | JSONFormatter)
    line = formatter.access_line(time.time(), method, route, status, ms, request_id)
    handler.add_access_line(line + handler.terminator)


def configure(
    level: str = "info",
    fmt: str = "text",
    *,
    stream: TextIO | None = None,
    repeat_window: float = 60.0,
) -> logging.Handler:
    """Route every logger through one handler on the root logger; returns the handler."""
    global _direct
    if _direct is not None:
        _direct.close()  # its waiting access lines written, its writer thread stopped
    handler = _direct = ServerHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RepeatFilter(repeat_window))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _THIRD_PARTY:
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    # httpx logs every request it sends (the language-model calls) and psycopg's pool every
    # connection it asks for, at info: chatter an operator wants only when debugging
    for chatty in ("httpx", "psycopg"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    return handler
