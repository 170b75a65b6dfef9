"""The store threads (``handoff``): ``run_in_executor``'s contract, handed over more cheaply."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from skald_server.handoff import Handoff

WHO: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")


def test_a_call_runs_in_another_thread_with_the_callers_context() -> None:
    handoff = Handoff(threads=2)

    def call(x: int, *, y: int) -> tuple[int, str, int]:
        return x + y, WHO.get(), threading.get_ident()

    async def scenario() -> tuple[int, str, int]:
        WHO.set("alice")
        return await handoff.run(call, 1, y=2)

    total, who, thread = asyncio.run(scenario())

    assert (total, who) == (3, "alice")
    assert thread != threading.get_ident()


def test_an_exception_reaches_the_caller_as_raised() -> None:
    handoff = Handoff(threads=1)

    class Refused(Exception):
        pass

    def call() -> None:
        raise Refused("no")

    with pytest.raises(Refused, match="no"):
        asyncio.run(handoff.run(call))


def test_calls_run_side_by_side_on_the_threads() -> None:
    handoff = Handoff(threads=3)
    together = threading.Barrier(3, timeout=10)

    def call(n: int) -> int:
        together.wait()  # only returns once all three calls run at the same time
        return n

    async def scenario() -> list[int]:
        return list(await asyncio.gather(*(handoff.run(call, n) for n in range(3))))

    assert asyncio.run(scenario()) == [0, 1, 2]


def test_a_cancelled_caller_leaves_its_call_running_to_its_end() -> None:
    handoff = Handoff(threads=1)
    started, release, finished = threading.Event(), threading.Event(), threading.Event()

    def call() -> str:
        started.set()
        release.wait(10)
        finished.set()
        return "done"

    async def scenario() -> str:
        task = asyncio.ensure_future(handoff.run(call))
        while not started.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        # The thread finishes the call, and then takes the next one.
        return await handoff.run(lambda: "next")

    assert asyncio.run(scenario()) == "next"
    assert finished.is_set()


def test_threads_start_again_in_a_forked_process() -> None:
    handoff = Handoff(threads=1, name="test-handoff")
    asyncio.run(handoff.run(lambda: None))
    handoff._forked()  # what a fork tells the child of a handoff its parent started

    asyncio.run(handoff.run(lambda: None))

    names = [t.name for t in threading.enumerate() if t.name.startswith("test-handoff")]
    assert len(names) == 2  # the old thread (idle, the "parent's") and a new one


def test_a_forked_child_runs_calls_on_threads_of_its_own() -> None:
    import os

    handoff = Handoff(threads=1, name="test-fork")
    asyncio.run(handoff.run(lambda: None))  # the parent's thread, which the child lacks
    pid = os.fork()
    if pid == 0:  # the child: a call must not wait for a thread that is not there
        ok = asyncio.run(asyncio.wait_for(handoff.run(lambda: "done"), 5)) == "done"
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0


def test_a_store_that_cannot_run_inline_has_its_calls_run_on_the_store_threads() -> None:
    from types import SimpleNamespace

    from skald_server.offload import run

    remote = SimpleNamespace(inline_capable=False)  # as PostgreSQL's store

    name = asyncio.run(run(remote, lambda: threading.current_thread().name))  # type: ignore[arg-type]

    assert name.startswith("skald-store-")
