"""Worker threads for the store calls that cannot run on the event loop, handed over cheaply.

``loop.run_in_executor`` (what Litestar's ``sync_to_thread`` uses) wraps every call in a
``concurrent.futures.Future`` (a lock and a condition), chains it to an asyncio future through
callbacks, and checks at every submit whether to start a thread. Here a call is one item on a
queue, and its outcome comes back with one ``call_soon_threadsafe``: with PostgreSQL, where
every store call runs in a thread, that took the server's CPU per request down by about a
tenth (``bench/wrk_bench.py --backends``; figures in the commit).

The contract is ``run_in_executor``'s: the call runs with the caller's context variables; a
caller cancelled while its call runs gets ``CancelledError`` and the call still runs to its end
(a transaction is never cut short), its outcome dropped; as many threads as the default
executor has (``min(32, CPUs + 4)``), started at the first call of each process (so a
supervisor that forks workers hands none of its threads down).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any, ParamSpec, TypeAlias, TypeVar, cast

P = ParamSpec("P")
T = TypeVar("T")

#: As many threads as ``concurrent.futures.ThreadPoolExecutor`` starts by default.
THREADS = min(32, (os.cpu_count() or 1) + 4)

_Item: TypeAlias = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():  # not if its caller was cancelled meanwhile
        future.set_result(result)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def _work(items: queue.SimpleQueue[_Item]) -> None:
    while True:
        loop, future, call = items.get()
        try:
            outcome = call()
        except BaseException as exc:  # the caller's to handle, as run_in_executor hands it
            settle: Callable[..., None] = _fail
            outcome = exc
        else:
            settle = _settle
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits for it
            loop.call_soon_threadsafe(settle, future, outcome)
        del loop, future, call, outcome  # do not hold on to the last call's objects


class Handoff:
    """A fixed set of daemon threads taking calls from one queue."""

    def __init__(self, threads: int = THREADS, name: str = "skald-store") -> None:
        self.threads = threads
        self.name = name
        self._items: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._started = False  # in this process (a forked child has none of the threads)
        self._lock = threading.Lock()
        _HANDOFFS.add(self)

    def _start(self) -> None:
        with self._lock:
            if self._started:
                return
            self._items = queue.SimpleQueue()
            for i in range(self.threads):
                threading.Thread(
                    target=_work, args=(self._items,), name=f"{self.name}-{i}", daemon=True
                ).start()
            self._started = True

    def _forked(self) -> None:
        self._started = False
        self._lock = threading.Lock()  # it may have been held by a thread the child lacks

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` in one of the threads, awaited."""
        if not self._started:
            self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        context = contextvars.copy_context()
        self._items.put((loop, future, functools.partial(context.run, fn, *args, **kwargs)))
        return cast(T, await future)


# Told of a fork in the child (not found out by comparing pids at every call: a system call).
_HANDOFFS: weakref.WeakSet[Handoff] = weakref.WeakSet()


def _after_fork() -> None:
    for handoff in list(_HANDOFFS):
        handoff._forked()


os.register_at_fork(after_in_child=_after_fork)

#: The threads of the store calls of this process (``offload.run``).
STORE_THREADS = Handoff()
