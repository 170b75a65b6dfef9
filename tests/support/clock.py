"""A clock the tests inject into the product, to make things that happened days ago.

Sessions have no "created at" setter, and their timestamps are the time the product read when
it wrote them. So a test that needs an old session creates it back then: it builds the product
with ``now=clock`` (``OpenViking(path, now=clock)``, ``build_services(config, now=clock)``) and
writes inside ``with clock.days_ago(40): ...``. Outside such a block the clock is the real one,
so everything else behaves as without it.

The clock keeps running while moved (the real time plus an offset), so writes made in one
block are still ordered as they happened.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from skald_core import clock

DAY = 86_400.0


class TestClock:
    """``TestClock()()`` is the real time, or that time ``days`` ago inside ``days_ago(days)``."""

    __test__ = False  # not a test class, whatever pytest makes of its name

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return clock.now() + self.offset

    @contextmanager
    def days_ago(self, days: float) -> Iterator[None]:
        """Within the block, the product's time is ``days`` days before the real time."""
        previous = self.offset
        self.offset = -days * DAY
        try:
            yield
        finally:
            self.offset = previous
