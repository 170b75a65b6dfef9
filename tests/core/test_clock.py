"""The hand-rolled timestamp formatting agrees with ``datetime`` everywhere."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from skald_core import clock

epochs = st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False)


@given(epochs)
def test_iso_ms_matches_datetime(epoch: float) -> None:
    dt = datetime.fromtimestamp(epoch, UTC)
    assert (
        clock.iso_ms(epoch) == dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    )


@given(epochs)
def test_iso_seconds_matches_datetime(epoch: float) -> None:
    dt = datetime.fromtimestamp(epoch, UTC)
    assert clock.iso_seconds(epoch) == dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@given(epochs)
def test_iso_ms_parses_back_to_the_same_millisecond(epoch: float) -> None:
    parsed = clock.parse_iso(clock.iso_ms(epoch)).timestamp()
    assert abs(parsed - epoch) < 0.0011


def test_never_is_an_empty_string() -> None:
    assert clock.iso_ms(None) == ""
