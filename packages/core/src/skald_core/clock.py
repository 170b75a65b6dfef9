"""Timestamps: stored as UTC epoch seconds, shown in the formats OpenViking uses."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=4096)
def _day(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%d")


def _split(epoch: float) -> tuple[str, int, int, int, int]:
    """(date, hour, minute, second, millisecond) of a UTC epoch, without strftime per call."""
    whole = int(epoch // 1)
    micro = round((epoch - whole) * 1e6)  # as datetime.fromtimestamp rounds
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    ms = micro // 1000
    days, rest = divmod(whole, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return _day(days), hour, minute, second, ms


def now() -> float:
    return time.time()


def iso_ms(epoch: float | None) -> str:
    """``2026-11-25T21:30:13.037Z`` — the session meta format; empty for "never"."""
    if epoch is None:
        return ""
    day, h, m, s, ms = _split(epoch)
    return f"{day}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}Z"


def iso_seconds(epoch: float) -> str:
    """``2026-11-25T21:30:13Z`` — the listing/ls ``mod_time`` format."""
    day, h, m, s, _ = _split(epoch)
    return f"{day}T{h:02d}:{m:02d}:{s:02d}Z"


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
    try:
        return dt.astimezone(UTC)
    except OverflowError:  # e.g. year 1 with a positive offset: out of datetime's range in UTC
        raise ValueError(f"timestamp out of range: {value!r}") from None


def to_local_naive(value: str) -> datetime:
    """The seed computes ``datetime.now() - sess.created_at``: a naive *local* datetime."""
    return parse_iso(value).astimezone().replace(tzinfo=None)
