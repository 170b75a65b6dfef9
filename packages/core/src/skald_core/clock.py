"""Timestamps: stored as UTC epoch seconds, shown in the formats OpenViking uses."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> float:
    return time.time()


def iso_ms(epoch: float | None) -> str:
    """``2026-11-25T21:30:13.037Z`` — the session meta format; empty for "never"."""
    if epoch is None:
        return ""
    dt = datetime.fromtimestamp(epoch, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def iso_seconds(epoch: float) -> str:
    """``2026-11-25T21:30:13Z`` — the listing/ls ``mod_time`` format."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_micro(epoch: float) -> str:
    """``2026-11-25T21:30:13.058220+00:00`` — message ``created_at`` and task times."""
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def parse_iso(value: str) -> datetime:
    """Parse any of the formats above (and plain ISO 8601) into an aware UTC datetime."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def to_local_naive(value: str) -> datetime:
    """The seed computes ``datetime.now() - sess.created_at``: a naive *local* datetime."""
    return parse_iso(value).astimezone().replace(tzinfo=None)
