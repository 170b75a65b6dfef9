"""Group commit of appends (``skald_server.grouping``): appends that reach the server together
share one transaction, and each is still answered as if it had been alone — its own count,
its own error, nothing lost or doubled, also when the database is busy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.locks import write_lock_held

from skald_server.app import build_services, create_app
from skald_server.config import ServerConfig
from skald_server.context import Services

MESSAGES = "/api/v1/sessions/{}/messages"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Any, Services, list[int]]]:
    """The app, its services, and the sizes of the groups its store committed."""
    config = ServerConfig(path=str(tmp_path / "data"))
    services = build_services(config)
    groups: list[int] = []
    run_group = services.store.run_group

    def counted(calls: Any) -> Any:
        groups.append(len(calls))
        return run_group(calls)

    services.store.run_group = counted  # type: ignore[method-assign]
    app = create_app(config, services=services, start_worker=False)
    try:
        yield app, services, groups
    finally:
        services.close()


async def _together(
    app: Any, requests: list[tuple[str, dict[str, Any], dict[str, str]]]
) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return list(
            await asyncio.gather(
                *(client.post(path, json=body, headers=headers) for path, body, headers in requests)
            )
        )


def test_appends_sent_together_are_committed_together_and_each_counted(
    served: tuple[Any, Services, list[int]],
) -> None:
    app, services, groups = served
    requests = [
        (MESSAGES.format("one"), {"role": "user", "content": f"m{i}"}, {}) for i in range(16)
    ]
    answers = asyncio.run(_together(app, requests))
    assert [a.status_code for a in answers] == [200] * 16
    counts = [a.json()["result"]["message_count"] for a in answers]
    assert sorted(counts) == list(range(1, 17))
    assert max(groups) > 1  # they did share transactions
    stored = services.store.messages(_owner(), "one")
    assert len(stored) == 16
    by_count = {count: i for i, count in enumerate(counts)}  # the order they were appended in
    texts = [_text(m.body) for m in stored]
    assert texts == [f"m{by_count[n]}" for n in range(1, 17)]


def test_a_failing_append_fails_alone(served: tuple[Any, Services, list[int]]) -> None:
    app, services, groups = served
    first = asyncio.run(
        _together(
            app,
            [(MESSAGES.format("s"), {"role": "user", "content": "a"}, {"Idempotency-Key": "k"})],
        )
    )
    assert first[0].status_code == 200
    warm_up = [(MESSAGES.format("w"), {"role": "user", "content": "w"}, {}) for _ in range(16)]
    asyncio.run(_together(app, warm_up))  # calls now come together: they wait for each other
    requests = [
        (MESSAGES.format("s"), {"role": "user", "content": "b"}, {}),
        (MESSAGES.format("s"), {"role": "user", "content": "other"}, {"Idempotency-Key": "k"}),
        (MESSAGES.format("s"), {"role": "user", "content": "a"}, {"Idempotency-Key": "k"}),
        (MESSAGES.format("s"), {"role": "user"}, {}),
        (MESSAGES.format("s"), {"role": "user", "content": "d"}, {}),
    ]
    answers = asyncio.run(_together(app, requests))
    assert [a.status_code for a in answers] == [200, 409, 200, 400, 200]
    assert answers[2].json()["result"]["message_count"] == 1  # the replay of the first answer
    assert groups[-1] == 5  # all five in one transaction
    assert [_text(m.body) for m in services.store.messages(_owner(), "s")] == ["a", "b", "d"]


def test_appends_sent_one_after_another_do_not_wait_for_company(
    served: tuple[Any, Services, list[int]],
) -> None:
    """One client appending its turns one by one: each append runs at once (a lone call
    runs as before), but for one in ``PROBE`` that waits for the end of its turn."""
    from skald_server.grouping import PROBE

    app, _, groups = served

    async def one_by_one() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            counts = []
            for i in range(4 * PROBE):
                answer = await c.post(
                    MESSAGES.format("seq"), json={"role": "user", "content": f"{i}"}
                )
                counts.append(answer.json()["result"]["message_count"])
            return counts

    assert asyncio.run(one_by_one()) == list(range(1, 4 * PROBE + 1))
    assert groups == []  # never a group: a probe found itself alone and ran as a lone call


def test_appends_wait_for_a_busy_database_and_are_all_kept(
    served: tuple[Any, Services, list[int]],
) -> None:
    """Another thread holds the write lock: the group does not run, each append is made alone
    once the lock is free."""
    app, services, _ = served
    requests = [
        (MESSAGES.format("busy"), {"role": "user", "content": f"m{i}"}, {}) for i in range(8)
    ]
    with write_lock_held(services.store, for_seconds=0.05):
        answers = asyncio.run(_together(app, requests))
    assert [a.status_code for a in answers] == [200] * 8
    assert sorted(a.json()["result"]["message_count"] for a in answers) == list(range(1, 9))
    assert len(services.store.messages(_owner(), "busy")) == 8


def _owner() -> Any:
    from skald_core.store.model import Owner

    return Owner("default", "default")


def _text(body: bytes) -> str:
    from skald_core.schemas import message_decoder

    part = message_decoder.decode(body).parts[0]
    return str(part.text)  # type: ignore[union-attr]
