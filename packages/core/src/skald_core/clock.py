"""Timestamps: stored as UTC epoch seconds, shown in the formats OpenViking uses."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TypeAlias

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=1 << 16)
def _second(whole: int) -> str:
    """``2026-11-25T21:30:13`` for a whole UTC epoch second (cached: listings repeat them)."""
    days, rest = divmod(whole, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    day = (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%d")
    return f"{day}T{hour:02d}:{minute:02d}:{second:02d}"


def _split(epoch: float) -> tuple[int, int]:
    """(whole second, millisecond) of a UTC epoch, rounded to the microsecond first as
    ``datetime.fromtimestamp`` does."""
    whole = int(epoch // 1)
    micro = round((epoch - whole) * 1e6)
    if micro >= 1_000_000:
        return whole + 1, 0
    return whole, micro // 1000


def now() -> float:
    """The real clock: the current UTC epoch, in seconds."""
    return time.time()


#: Where a service reads the current time (UTC epoch seconds): ``now`` above, unless whoever
#: builds the services injects another clock (``OpenViking(now=...)``,
#: ``build_services(config, now=...)``), as the tests do to make sessions that are days old.
Clock: TypeAlias = Callable[[], float]


def iso_ms(epoch: float | None) -> str:
    """``2026-11-25T21:30:13.037Z`` — the session meta format; empty for "never"."""
    if epoch is None:
        return ""
    return iso_ms_at(epoch)


@lru_cache(maxsize=1 << 14)  # about 2.5 MB when full
def iso_ms_at(epoch: float) -> str:
    """``iso_ms`` of a time, never None (cached: a session's times are shown again at every
    get, and listings repeat them; a listing calls this directly, thousands of times)."""
    whole = int(epoch // 1)
    micro = round((epoch - whole) * 1e6)
    if micro >= 1_000_000:
        return f"{_second(whole + 1)}.000Z"
    return f"{_second(whole)}.{micro // 1000:03d}Z"


def iso_seconds(epoch: float) -> str:
    """``2026-11-25T21:30:13Z`` — the listing/ls ``mod_time`` format."""
    return _second(_split(epoch)[0]) + "Z"


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
