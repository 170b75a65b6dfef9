"""The one retry policy (``skald_core.retry``): attempts, jittered capped backoff, Retry-After."""

from __future__ import annotations

import email.utils
import math

import msgspec
import pytest

from skald_core.retry import RetryPolicy, retry_after_seconds


def test_attempts_count_the_first_try() -> None:
    policy = RetryPolicy(attempts=4)

    assert policy.retries == 3


@pytest.mark.parametrize(("attempt", "backoff"), [(0, 0.25), (1, 0.5), (2, 1.0), (5, 8.0)])
def test_the_backoff_doubles_up_to_the_cap_with_jitter(attempt: int, backoff: float) -> None:
    policy = RetryPolicy(base_delay=0.25, max_delay=8.0, jitter=(0.75, 1.25))

    delays = [policy.delay(attempt) for _ in range(200)]

    assert all(0.75 * backoff <= d <= 1.25 * backoff for d in delays)
    assert len(set(delays)) > 1  # jittered, not constant


def test_jitter_is_a_range_of_factors() -> None:
    policy = RetryPolicy(base_delay=0.001, max_delay=math.inf, jitter=(1.0, 5.0))

    assert all(0.008 <= policy.delay(3) <= 0.04 for _ in range(200))


def test_retry_after_is_honoured_up_to_its_cap() -> None:
    capped = RetryPolicy(max_retry_after=60.0)
    uncapped = RetryPolicy()

    assert capped.delay(0, retry_after=7.0) == 7.0
    assert capped.delay(3, retry_after=120.0) == 60.0
    assert uncapped.delay(0, retry_after=120.0) == 120.0
    assert capped.delay(0, retry_after=0.0) == 0.0


def test_the_policy_is_frozen() -> None:
    policy = RetryPolicy()

    with pytest.raises(AttributeError):
        policy.attempts = 5  # type: ignore[misc]
    assert msgspec.structs.replace(policy, attempts=5).attempts == 5


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("7", 7.0), (" 2.5 ", 2.5), ("-3", 0.0), ("", None), (None, None), ("soon", None)],
)
def test_retry_after_as_seconds(value: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(value) == seconds


def test_retry_after_as_an_http_date() -> None:
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)

    assert retry_after_seconds(header, now=now) == 30.0
    assert retry_after_seconds(header, now=now + 60) == 0.0
