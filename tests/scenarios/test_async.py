"""The async twins: a few scenarios over ``AsyncOpenViking`` and an in-process
``AsyncHTTPClient`` (``support.asgi.async_client``).

Each test writes its scenario as a coroutine taking the client and hands it to ``run``, which
opens the client (for HTTP: the app with its lifespan, so the task worker runs) and drives it
with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from support.asgi import async_client

import skald
from skald_server.app import create_app
from skald_server.config import ServerConfig

T = TypeVar("T")
Run = Callable[[Callable[[Any], Awaitable[T]]], T]


@asynccontextmanager
async def open_async_client(kind: str, path: Path) -> AsyncIterator[Any]:
    if kind == "embedded":
        async with skald.AsyncOpenViking(path=path) as embedded:
            yield embedded
    else:
        app = create_app(ServerConfig(path=str(path)))
        async with app.lifespan(), async_client(app) as remote:
            yield remote


@pytest.fixture(params=["embedded", "http-inprocess"])
def run(request: pytest.FixtureRequest, tmp_path: Path) -> Run[Any]:
    """``run(scenario)``: ``asyncio.run`` the coroutine ``scenario(client)`` on a fresh client."""

    def _run(scenario: Callable[[Any], Awaitable[T]]) -> T:
        async def main() -> T:
            async with open_async_client(request.param, tmp_path / "data") as client:
                return await scenario(client)

        return asyncio.run(main())

    return _run


async def chat(client: Any, session_id: str, *user_lines: str) -> None:
    for line in user_lines:
        await client.add_message(session_id, "user", line)
        await client.add_message(session_id, "assistant", "Noted.")


async def memories(client: Any) -> dict[str, str]:
    nodes = await client.ls("viking://user/default/memories", recursive=True)
    return {n["uri"]: await client.read(n["uri"]) for n in nodes if not n["isDir"]}


def test_session_object_over_async(run: Run[Any]) -> None:
    async def scenario(client: Any) -> Any:
        await chat(client, "s-async", "My name is Ada.", "I love hiking.")
        return await client.session("s-async")

    session = run(scenario)

    assert isinstance(session, skald.AsyncSession)
    assert [m.role for m in session.messages] == ["user", "assistant", "user", "assistant"]
    assert session.stats.total_turns == 2
    assert session.created_at.tzinfo is None
    assert abs(datetime.now() - session.created_at) < timedelta(seconds=60)


def test_session_commit_waits_and_memories_survive_delete(run: Run[Any]) -> None:
    async def scenario(client: Any) -> tuple[Any, ...]:
        await chat(client, "s-async", "My name is Ada.", "I love hiking.")
        session = await client.session("s-async")
        committed = await session.commit()
        receipt = await client.delete_session("s-async")
        return committed, receipt, await memories(client)

    committed, receipt, kept = run(scenario)

    assert committed["status"] == "completed"
    assert isinstance(committed["memories_extracted"], int)
    assert committed["memories_extracted"] == 2
    assert receipt["deleted"]["messages"] == 4
    assert receipt["deleted"]["archives"] == 1
    assert receipt["kept"]["memories"] == 2
    assert receipt["kept"]["memory_uris"] == [
        "viking://user/default/memories/preferences/likes-hiking.md",
        "viking://user/default/memories/profile/name.md",
    ]
    assert "forget_memories" in receipt["kept"]["reason"]
    assert sorted(kept.values()) == ["The user likes hiking.", "The user's name is Ada."]


def test_commit_without_wait_then_the_task_completes(run: Run[Any]) -> None:
    async def scenario(client: Any) -> tuple[Any, Any]:
        await chat(client, "s-async", "My name is Grace.")
        accepted = await client.commit_session("s-async")
        deadline = time.monotonic() + 60  # a wait: it ends as soon as the task completed
        while time.monotonic() < deadline:
            task = await client.get_task(accepted["task_id"])
            if task and task["status"] == "completed":
                return accepted, task
            await asyncio.sleep(0.02)
        raise AssertionError("the extraction task did not complete within 60 s")

    accepted, task = run(scenario)

    assert accepted["status"] == "accepted"
    assert task["result"]["memories_extracted"]["total"] == 1


def test_delete_twice_and_get_after_delete_are_not_found(run: Run[Any]) -> None:
    async def scenario(client: Any) -> list[str]:
        await chat(client, "s-async", "Hello.")
        await client.delete_session("s-async")
        outcomes = []
        for attempt in (client.get_session("s-async"), client.delete_session("s-async")):
            try:
                await attempt
            except skald.NotFoundError as exc:
                outcomes.append(exc.message)
        missing = await client.delete_session("s-async", missing_ok=True)
        outcomes.append(str(missing["deleted"]))
        return outcomes

    assert run(scenario) == ["Session not found: s-async", "Session not found: s-async", "None"]


def test_concurrent_adds_all_land(run: Run[Any]) -> None:
    async def scenario(client: Any) -> Any:
        await client.create_session("s-gather")
        await asyncio.gather(
            *(client.add_message("s-gather", "user", f"Message {n}.") for n in range(10))
        )
        return await client.session("s-gather")

    session = run(scenario)

    assert sorted(m.parts[0].text for m in session.messages) == sorted(
        f"Message {n}." for n in range(10)
    )


def test_viking_fs_write_file_is_awaitable(run: Run[Any]) -> None:
    async def scenario(client: Any) -> str:
        await client.add_message("s-async", "user", "Hello.")
        marker = "viking://session/s-async/.deleted.json"
        await client._viking_fs.write_file(marker, '{"deleted": true}', ctx=client.ctx)
        return str(await client.read(marker))

    assert run(scenario) == '{"deleted": true}'


def test_errors_are_the_same_classes(run: Run[Any]) -> None:
    async def scenario(client: Any) -> list[type[BaseException]]:
        calls = [
            client.add_message("s-async", "", "Hello."),
            client.read("viking://user/default/../../etc/passwd"),
            client.read("viking://user/default/resources/nope.md"),
        ]
        raised = []
        for call in calls:
            try:
                await call
            except skald.SkaldError as exc:
                raised.append(type(exc))
        return raised

    assert run(scenario) == [skald.InvalidArgumentError, skald.InvalidURIError, skald.NotFoundError]


def test_find_search_grep_glob_over_async(run: Run[Any]) -> None:
    async def scenario(client: Any) -> tuple[Any, ...]:
        uri = "viking://user/default/memories/events/run.md"
        await client.write(uri, "Ran the Jungfrau marathon.", mode="create")
        await client.add_message("s-find", "user", "The jungfrau view was great.")
        found = await client.find("jungfrau marathon")
        talk = await client.search(
            "jungfrau", session_id="s-find", target_uri="viking://user/default/sessions"
        )
        grepped = await client.grep("viking://user/default/memories", "Jungfrau")
        globbed = await client.glob("**/run.md")
        return (
            [h["uri"] for h in found["memories"]],
            [h["session_id"] for h in talk["resources"]],
            grepped["count"],
            globbed["matches"],
        )

    uri = "viking://user/default/memories/events/run.md"
    assert run(scenario) == ([uri], ["s-find"], 1, [uri])


def test_openviking_routes_over_async(run: Run[Any]) -> None:
    root = "viking://user/default/resources/batch"

    async def scenario(client: Any) -> tuple[Any, ...]:
        await client.write(f"{root}/kept.md", "old\n", mode="create")
        batch = await client.batch_write(
            root,
            [
                {"uri": f"{root}/new.md", "content": "fresh", "mode": "create"},
                {"uri": f"{root}/kept.md", "content": "more\n", "mode": "append"},
            ],
        )
        copied = await client.cp(f"{root}/new.md", f"{root}/copy.md", recursive=False)
        texts = [await client.read(f"{root}/{n}.md") for n in ("new", "kept", "copy")]
        data = await client.download_bytes(f"{root}/kept.md")
        await client.add_message("s-ov", "user", "My name is Ada.")
        committed = await client.commit_session("s-ov")
        config = await client.update_session_config("s-ov", {"auto_commit_policy": None})
        waited = await client.wait_processed()
        task = await client.get_task(committed["task_id"])
        raised = []
        for call in (client.cancel_task(committed["task_id"]), client.cancel_task("nope")):
            try:
                await call
            except skald.SkaldError as exc:
                raised.append(type(exc))
        attrs = await client.attrs(f"{root}/new.md")
        tags = await client.set_tags(f"{root}/new.md", ["a"], mode="add", recursive=False)
        rebuilt = await client.reindex(f"{root}/new.md", mode="vectors_only", force=True)
        return batch, copied, texts, data, config, waited, task, raised, attrs, tags, rebuilt

    batch, copied, texts, data, config, waited, task, raised, attrs, tags, rebuilt = run(scenario)

    assert (batch["created"], batch["updated"]) == ([f"{root}/new.md"], [f"{root}/kept.md"])
    assert (copied["to"], copied["files_created"]) == (f"{root}/copy.md", 1)
    assert texts == ["fresh", "old\nmore\n", "fresh"]
    assert data == b"old\nmore\n"
    assert config["session_id"] == "s-ov"
    assert waited["SessionCommit"]["error_count"] == 0
    assert task["status"] == "completed"
    assert raised == [skald.FailedPreconditionError, skald.NotFoundError]
    assert attrs == {"uri": f"{root}/new.md", "context_type": "resource", "attrs": {"tags": []}}
    assert (tags["mode"], tags["tags_updated"]) == ("add", False)
    assert (rebuilt["uri"], rebuilt["status"]) == (f"{root}/new.md", "completed")
