"""``max_body_bytes_in_flight``: request bodies handled at once stay within the budget; a
request that does not fit waits until earlier ones are answered; one larger than the whole
budget still runs (alone); requests without a body never wait."""

from __future__ import annotations

import asyncio

from skald_server.config import load
from skald_server.inflight import BodyBudget, declared_size


def test_bodies_wait_for_room_and_never_exceed_the_budget() -> None:
    async def scenario() -> list[str]:
        budget = BodyBudget(10)
        events: list[str] = []
        peak = 0

        async def request(name: str, size: int, work: float) -> None:
            nonlocal peak
            async with budget.hold(size):
                peak = max(peak, budget.used)
                events.append(f"start {name}")
                await asyncio.sleep(work)
                events.append(f"end {name}")

        await asyncio.gather(
            request("a", 8, 0.05),
            request("b", 5, 0.01),  # does not fit beside a: waits for it
            request("get", 0, 0.0),  # no body: never waits
            request("huge", 50, 0.01),  # more than the budget: holds all of it, alone
        )
        assert peak <= 10 and budget.used == 0
        return events

    events = asyncio.run(scenario())
    assert events.index("start b") > events.index("end a")
    assert events.index("start get") < events.index("end a")
    huge = events.index("start huge")
    assert events[huge + 1] == "end huge"


def test_declared_size_and_setting() -> None:
    scope = {"headers": [(b"content-length", b"1234")]}
    assert declared_size(scope, 1000) == 1000
    assert declared_size({"headers": [(b"content-length", b"12")]}, 1000) == 12
    assert declared_size({"headers": [(b"transfer-encoding", b"chunked")]}, 1000) == 1000
    assert declared_size({"headers": []}, 1000) == 0
    config = load(environ={"SKALD_MAX_BODY_BYTES_IN_FLIGHT": "1000000"})
    assert config.max_body_bytes_in_flight == 1_000_000


def test_skald_serve_returns_large_freed_blocks() -> None:
    """glibc: the mmap threshold is fixed, so freed multi-MB blocks leave the resident set."""
    import platform

    from skald_server.memory import return_large_blocks

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        assert return_large_blocks() in (True, False)
        return
    assert return_large_blocks() is True
