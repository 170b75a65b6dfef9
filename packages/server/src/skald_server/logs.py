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


def _timestamp(created: float) -> str:
    whole = time.gmtime(created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", whole) + f".{int(created % 1 * 1000):03d}Z"


class TextFormatter(logging.Formatter):
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


def configure(
    level: str = "info",
    fmt: str = "text",
    *,
    stream: TextIO | None = None,
    repeat_window: float = 60.0,
) -> logging.Handler:
    """Route every logger through one handler on the root logger; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
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
