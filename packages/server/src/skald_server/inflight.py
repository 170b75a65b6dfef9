"""A budget for request bodies being handled at once (``max_body_bytes_in_flight``).

Each request holds what its body declares (``Content-Length``; a body of unknown length, sent
chunked, counts as ``max_body_bytes``) from before the app reads it until it is answered, at
most the whole budget. A request that does not fit waits, unread (uvicorn stops reading a
body the app has not asked for, and the body timeout does not run meanwhile), until enough
earlier ones are answered; requests without a body never wait. So however many clients upload
near-limit bodies at once, the server holds about this many bytes of them (and the copies
parsing and storing make), not one body per connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


def declared_size(scope: Any, max_body_bytes: int) -> int:
    """What a request's body will be at most, from its headers."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return min(int(value), max_body_bytes)
            except ValueError:
                return max_body_bytes
        if name == b"transfer-encoding":
            return max_body_bytes
    return 0


class BodyBudget:
    def __init__(self, limit: int, max_body_bytes: int = 8 * 1024 * 1024) -> None:
        self.limit, self.max_body_bytes = limit, max_body_bytes
        self.used = 0
        self._cond: asyncio.Condition | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _condition(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()
        if self._cond is None or self._loop is not loop:  # one per event loop (tests run several)
            self._cond, self._loop, self.used = asyncio.Condition(), loop, 0
        return self._cond

    @asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        """Hold ``size`` bytes of the budget (at most all of it) for the block, waiting for
        room first."""
        need = min(size, self.limit)
        if need <= 0:
            yield
            return
        cond = self._condition()
        async with cond:
            await cond.wait_for(lambda: self.used + need <= self.limit)
            self.used += need
        try:
            yield
        finally:
            async with cond:
                self.used -= need
                cond.notify_all()
