"""Envelope decoding and retry policy, shared by the sync and async clients (no I/O here)."""

from __future__ import annotations

import email.utils
import random
import time
from typing import Any

import msgspec

from skald_core.errors import BadResponseError, SkaldError, error_from_wire

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_encoder = msgspec.json.Encoder()


def encode(body: Any) -> bytes:
    return _encoder.encode(body)


def decode_result(status: int, content: bytes, content_type: str) -> Any:
    """The ``result`` of a success envelope, or the typed error of an error envelope."""
    try:
        body = msgspec.json.decode(content) if content else None
    except msgspec.DecodeError:
        body = None
    if isinstance(body, dict) and body.get("status") == "error":
        err = body.get("error") or {}
        if not isinstance(err, dict):
            err = {}
        details = err.get("details")
        raise error_from_wire(
            err.get("code"),
            str(err.get("message") or f"HTTP {status}"),
            details if isinstance(details, dict) else {},
        )
    if isinstance(body, dict) and body.get("status") == "ok" and "result" in body:
        if status >= 400:
            raise BadResponseError(f"HTTP {status} with a success envelope", {"status": status})
        return body["result"]
    snippet = content[:200].decode("utf-8", errors="replace")
    raise BadResponseError(
        f"HTTP {status}: the server's answer is not a Skald envelope ({content_type or 'no type'}):"
        f" {snippet!r}",
        {"status": status, "content_type": content_type},
    )


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):  # neither seconds nor an HTTP date: ignore it
        return None
    return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))


class RetryPolicy(msgspec.Struct, kw_only=True):
    max_retries: int = 2
    base_delay: float = 0.25
    max_delay: float = 8.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, 60.0)
        backoff = min(self.max_delay, self.base_delay * (2**attempt))
        return float(backoff * random.uniform(0.75, 1.25))


def is_retryable_error(exc: SkaldError) -> bool:
    return exc.http_status in RETRY_STATUSES
