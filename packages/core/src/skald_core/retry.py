"""One retry policy: how many attempts, and how long to wait between them.

Exponential backoff with jitter, capped, or the wait a server asked for (``Retry-After``). The
policy only computes delays; the caller decides what may be retried and does the waiting, so a
synchronous loop, an async one and a database transaction loop all use it the same way::

    for attempt in range(policy.attempts):
        ...try, and return or re-raise if it cannot be retried...
        if attempt + 1 < policy.attempts:
            time.sleep(policy.delay(attempt, retry_after))
"""

from __future__ import annotations

import email.utils
import math
import random
import time

from msgspec import Struct


class RetryPolicy(Struct, frozen=True, kw_only=True):
    """``attempts`` tries in all; before try ``n + 2`` wait ``delay(n)`` seconds."""

    #: Tries in all, the first one included (so ``attempts - 1`` retries).
    attempts: int = 3
    #: The wait after the first failed try, before jitter; it doubles after each further one.
    base_delay: float = 0.25
    #: The backoff never grows past this (before jitter).
    max_delay: float = 8.0
    #: The backoff is multiplied by a random factor drawn uniformly from this range.
    jitter: tuple[float, float] = (0.75, 1.25)
    #: A server's ``Retry-After`` is honoured up to this many seconds.
    max_retry_after: float = math.inf

    @property
    def retries(self) -> int:
        return self.attempts - 1

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try ``attempt`` (0 for the first) before the next one:
        ``retry_after`` (capped at ``max_retry_after``) when the server gave one, else the
        jittered exponential backoff."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        low, high = self.jitter
        return float(min(self.max_delay, self.base_delay * 2**attempt) * random.uniform(low, high))


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` header as seconds from ``now`` (a number, or an HTTP date); ``None``
    when there is none or it is neither."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


__all__ = ["RetryPolicy", "retry_after_seconds"]
