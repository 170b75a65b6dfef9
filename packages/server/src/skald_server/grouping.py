"""Group commit: writes that arrive in the same turn of the event loop share one transaction.

Under load the event loop takes many requests at once (one per connection with data); each
append used to be its own transaction on the loop: BEGIN, its statements, COMMIT and a write
of the WAL. ``Grouped.run`` gathers the calls made in one turn and runs them with
``store.run_group`` right after it: one transaction, each call in a savepoint of its own (one
that fails leaves nothing and gets its own error; the others are kept), one COMMIT, and only
then is any of them answered, so an acknowledged write is as durable as before.

Where the store cannot group (PostgreSQL) or the database is busy, each call is made alone
with ``offload.run`` (which waits on the loop, retries, or takes a thread). A lone call is
run as ``run_inline`` runs it, without a savepoint.

Waiting for the turn to end costs a lone call a few µs and a pass of the loop, and one client
sending one call after another (an agent appending its turns) would pay that on every call.
So while the calls come alone (the last group had one call), a call runs at once, except
every ``PROBE``-th: that one waits, and finds the others if calls have started to arrive
together.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from skald_core.store.protocol import Store
from skald_core.store.sql_store import WouldBlock

from .offload import run

P = ParamSpec("P")
T = TypeVar("T")

_Pending = tuple[Callable[[], Any], "asyncio.Future[Any]"]

#: While calls come alone, one in this many still waits for the end of its turn of the loop.
PROBE = 8


class Grouped:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[_Pending] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._alone: set[asyncio.Task[None]] = set()
        self._last_size = 0  # calls in the last group
        self._since_probe = 0  # calls run at once since one last waited

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)``, committed with the other calls of this turn of the loop."""
        if not self.store.inline_capable:
            return await run(self.store, fn, *args, **kwargs)
        if self._last_size <= 1 and not self._pending and self._since_probe < PROBE:
            self._since_probe += 1  # calls come alone: this one too, most likely
            return await run(self.store, fn, *args, **kwargs)
        self._since_probe = 0
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # one group per event loop (tests run several)
            self._loop, self._pending = loop, []
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((functools.partial(fn, *args, **kwargs), future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        return cast(T, await future)

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        self._last_size = len(batch)
        try:
            if len(batch) == 1:
                outcomes = [_outcome(self.store.run_inline, batch[0][0])]
            else:
                outcomes = self.store.run_group([call for call, _ in batch])
        except WouldBlock:  # nothing ran: each alone, as a store call
            for call, future in batch:
                task = asyncio.ensure_future(self._run_alone(call, future))
                self._alone.add(task)
                task.add_done_callback(self._alone.discard)
            return
        except Exception as exc:  # the commit failed: none of them was kept
            outcomes = [(False, exc)] * len(batch)
        except BaseException as exc:  # the process is stopping: nobody is left waiting
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            raise
        for (_, future), (done, value) in zip(batch, outcomes, strict=True):
            if future.done():  # its caller was cancelled; the call ran all the same
                continue
            if done:
                future.set_result(value)
            else:
                future.set_exception(cast(Exception, value))

    async def _run_alone(self, call: Callable[[], Any], future: asyncio.Future[Any]) -> None:
        try:
            result = await run(self.store, call)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
        else:
            if not future.done():
                future.set_result(result)


def _outcome(run_inline: Callable[..., Any], call: Callable[[], Any]) -> tuple[bool, Any]:
    """``call`` as ``run_inline`` runs it; its exception as its outcome (``WouldBlock``, that
    nothing ran, is raised)."""
    try:
        return True, run_inline(call)
    except WouldBlock:
        raise
    except Exception as exc:
        return False, exc
