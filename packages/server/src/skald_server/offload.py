"""Where a handler's work runs: on the event loop when the store is in process, else in a thread.

A thread hop costs more than a short SQLite call itself (measured with bench/wrk_bench.py:
about 150-250 µs of server CPU per request, against a few tens of µs for the store work of an
append or a read), so the handlers of short calls are written as ``@store_call``: with an
in-process store (``inline_capable``) the handler runs on the event loop inside
``store.inline()``, where a busy database raises ``WouldBlock`` before anything changed and
the handler then runs in a worker thread after all. With PostgreSQL (every call a network
round trip that may stall) it always runs in a thread: one of ``handoff.STORE_THREADS``, which
hand a call over for less CPU than Litestar's ``sync_to_thread`` (``run_in_executor``).

Handlers that wait — commit with ``wait``, ``commit_first`` deletions, cleanups, erasures,
reads of whole files — stay on threads (``sync_to_thread=True``), or pass ``inline=False``.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from litestar.concurrency import sync_to_thread

from skald_core.store.protocol import Store
from skald_core.store.sql_store import WouldBlock

from .handoff import STORE_THREADS

P = ParamSpec("P")
T = TypeVar("T")


# How long a call that found the database busy waits on the loop before it is tried again: the
# lock is mostly held for a few hundred µs (another thread's write, the background checkpoint).
# Handing the call to a thread at once instead made the next ones find the lock held by that
# thread, and so on: under load most appends ran in threads (measured: 61% of them at 8
# connections), at twice the CPU. After these pauses (about 20 ms in all) it runs in a thread.
RETRY_PAUSES = (0.0002, 0.0005, 0.001, 0.002, 0.004, 0.012)


async def run(store: Store, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` on the event loop if ``store`` allows it and is free (waiting a
    little, without blocking the loop, when it is busy), else in a store thread."""
    if store.inline_capable:
        for pause in (*RETRY_PAUSES, None):
            try:
                return store.run_inline(fn, *args, **kwargs)
            except WouldBlock:
                if pause is None:
                    break
                await asyncio.sleep(pause)
    return await STORE_THREADS.run(fn, *args, **kwargs)


async def in_thread(store: Store, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` in a worker thread (work that may wait), whatever the store."""
    return await sync_to_thread(fn, *args, **kwargs)


def store_call(fn: Callable[P, T]) -> Callable[P, Coroutine[Any, Any, T]]:
    """A sync handler method taking ``services`` made an async one that runs it with ``run``
    (its signature, and so its parameters and OpenAPI, unchanged)."""

    @functools.wraps(fn)
    async def handler(*args: P.args, **kwargs: P.kwargs) -> T:
        services = kwargs["services"]
        return await run(services.store, fn, *args, **kwargs)  # type: ignore[attr-defined]

    return handler
