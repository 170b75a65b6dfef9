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
    """The budget: ``take`` before a body is read, ``give_back`` once it is answered (or
    ``hold`` for a block). Taking what fits costs a comparison and an addition: no lock and
    no await (one event loop uses it; a request that does not fit waits on a future)."""

    def __init__(self, limit: int, max_body_bytes: int = 8 * 1024 * 1024) -> None:
        self.limit, self.max_body_bytes = limit, max_body_bytes
        self.used = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def take(self, size: int) -> int:
        """Take ``size`` bytes of the budget (at most all of it), waiting for room first;
        what was taken, for ``give_back``."""
        need = min(size, self.limit)
        if need <= 0:
            return 0
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # one budget per event loop (tests run several)
            self._loop, self.used, self._waiters = loop, 0, []
        while self.used + need > self.limit:
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self.used += need
        return need

    def give_back(self, taken: int) -> None:
        """Return what ``take`` took; the waiting requests look again whether they fit."""
        if taken <= 0:
            return
        self.used -= taken
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    @asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        """Hold ``size`` bytes of the budget (at most all of it) for the block, waiting for
        room first."""
        taken = await self.take(size)
        try:
            yield
        finally:
            self.give_back(taken)
