"""End to end: a real ``skald serve`` process, configured by environment to extract memories
with a small OpenAI-compatible provider that this test runs on loopback (a real HTTP server).

Sessions are committed over HTTP with the ``skald`` clients; the extracted memories and each
archive's ``memory_diff.json`` are read back through the files API. The provider then goes
down: the commit's extraction fails with a readable reason, the archive stays, and once the
provider is back ``extract_session`` re-extracts it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.server import SkaldServer, running_skald

import skald

from .fake_provider import FakeProvider, Reply, answer, conversation_in, existing_in

MEMORIES = "viking://user/default/memories"
SESSION = "viking://user/default/sessions/trip"


#: A wait, not a performance requirement: it ends as soon as the task is done.
TASK_TIMEOUT = 60.0


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    with fake.running():
        yield fake


@pytest.fixture
def served(tmp_path: Path, provider: FakeProvider) -> Iterator[SkaldServer]:
    env = {
        "SKALD_LLM_BASE_URL": provider.base_url,
        "SKALD_LLM_MODEL": "fake-model",
        "SKALD_LLM_API_KEY": "sk-e2e",
        # Generous: a slow answer of the loopback provider on a loaded machine must not
        # turn into a retry (the test counts the provider's requests).
        "SKALD_LLM_TIMEOUT": "60",
        "SKALD_LLM_MAX_RETRIES": "1",
    }
    with running_skald(tmp_path / "data", env=env) as server:
        yield server


def little_model(body: dict[str, Any]) -> Reply:
    """A deterministic 'model': reads the conversation and the existing memories it was sent."""
    said = conversation_in(body)
    known = {
        m["uri"].rsplit("/", 2)[-2] + "/" + m["uri"].rsplit("/", 1)[-1]: m
        for m in existing_in(body)
    }
    adds: list[dict[str, str]] = []
    updates: list[dict[str, str]] = []
    deletes: list[dict[str, str]] = []
    if "my name is Ada" in said:
        adds.append({"category": "profile", "name": "name", "content": "The user's name is Ada."})
    if "I love hiking" in said:
        adds.append(
            {"category": "preferences", "name": "hiking", "content": "The user loves hiking."}
        )
    if "Lisbon" in said:
        adds.append(
            {
                "category": "events",
                "name": "lisbon-trip",
                "content": "The user is going to Lisbon in May.",
            }
        )
    if "my knee" in said and "preferences/hiking.md" in known:
        updates.append(
            {
                "uri": known["preferences/hiking.md"]["uri"],
                "content": "The user used to love hiking but stopped after a knee injury.",
            }
        )
    if "trip is cancelled" in said and "events/lisbon-trip.md" in known:
        deletes.append({"uri": known["events/lisbon-trip.md"]["uri"], "reason": "cancelled"})
    return 200, answer(adds, updates, deletes, prompt_tokens=300, completion_tokens=40), {}


def test_skald_serve_extracts_memories_with_a_language_model(
    served: SkaldServer, provider: FakeProvider
) -> None:
    provider.handler = little_model
    client = skald.SyncHTTPClient(served.url)
    try:
        client.add_message("trip", "user", "Hi, my name is Ada and I love hiking.")
        client.add_message("trip", "assistant", "Nice to meet you, Ada!")
        client.add_message("trip", "user", "I'm planning a trip to Lisbon in May.")
        first = client.commit_session("trip", wait=True)
        client.add_message("trip", "user", "Bad news: I hurt my knee, so no more hiking.")
        client.add_message("trip", "user", "And the trip is cancelled.")
        second = client.commit_session("trip", wait=True)

        assert (first["status"], first["memories_extracted"]) == ("completed", 3)
        assert (second["status"], second["memories_extracted"]) == ("completed", 1)
        memories = {
            n["uri"][len(MEMORIES) + 1 :]: client.read(n["uri"])
            for n in client.ls(MEMORIES, recursive=True)
            if not n["isDir"]
        }
        assert memories == {
            "profile/name.md": "The user's name is Ada.",
            "preferences/hiking.md": "The user used to love hiking but stopped after a knee injury.",
        }
        archive = client.ls(f"{SESSION}/history/archive_002", show_all_hidden=True)
        assert "memory_diff.json" in {n["name"] for n in archive}
        diff = json.loads(client.read(f"{SESSION}/history/archive_002/memory_diff.json"))
        assert diff["archive_uri"] == f"{SESSION}/history/archive_002"
        assert diff["operations"]["updates"] == [
            {
                "uri": f"{MEMORIES}/preferences/hiking.md",
                "memory_type": "preferences",
                "before": "The user loves hiking.",
                "after": "The user used to love hiking but stopped after a knee injury.",
            }
        ]
        assert diff["operations"]["deletes"] == [
            {
                "uri": f"{MEMORIES}/events/lisbon-trip.md",
                "memory_type": "events",
                "deleted_content": "The user is going to Lisbon in May.",
            }
        ]
        assert diff["operations"]["adds"] == []
        first_diff = json.loads(client.read(f"{SESSION}/history/archive_001/memory_diff.json"))
        assert first_diff["summary"] == {"total_adds": 3, "total_updates": 0, "total_deletes": 0}

        meta = client.get_session("trip")
        assert meta["memories_extracted"] == {
            "total": 4,
            "events": 1,
            "preferences": 2,
            "profile": 1,
        }
        assert meta["llm_token_usage"]["prompt_tokens"] == 600
        assert meta["llm_token_usage"]["total_tokens"] == 680
        task = client.get_task(second["task_id"])
        assert task is not None and task["result"]["token_usage"]["llm"]["total_tokens"] == 340
        assert (
            task["result"]["memory_diff_uri"] == f"{SESSION}/history/archive_002/memory_diff.json"
        )
        # What the provider saw: the model, the key, JSON mode, and the existing memories.
        assert len(provider.requests) == 2
        assert provider.requests[0]["model"] == "fake-model"
        assert provider.requests[0]["response_format"] == {"type": "json_object"}
        assert provider.headers[0]["authorization"] == "Bearer sk-e2e"
        assert len(existing_in(provider.requests[1])) == 3
    finally:
        client.close()
    assert "memory extraction: language model fake-model" in served.log()


def test_a_provider_outage_fails_the_task_and_extract_session_recovers_it(
    served: SkaldServer, provider: FakeProvider
) -> None:
    provider.handler = lambda body: (503, {"error": {"message": "upstream overloaded"}}, {})

    async def scenario() -> None:
        async with skald.AsyncHTTPClient(served.url) as client:
            await client.add_message("trip", "user", "Hi, my name is Ada.")
            failed = await client.commit_session("trip", wait=True)
            assert failed["status"] == "failed"
            assert failed["error"] == (
                f"The language model at {provider.base_url}/chat/completions failed 2 times; "
                "last: a server error (503: upstream overloaded)"
            )
            names = {
                n["name"]
                for n in await client.ls(f"{SESSION}/history/archive_001", show_all_hidden=True)
            }
            assert names == {".failed.json", ".meta.json", "messages.jsonl"}
            assert "my name is Ada" in await client.read(
                f"{SESSION}/history/archive_001/messages.jsonl"
            )

            provider.handler = little_model
            queued = await client.extract_session("trip")
            (item,) = queued["tasks"]
            deadline = time.monotonic() + TASK_TIMEOUT
            while (task := await client.get_task(item["task_id"])) and task["status"] not in (
                "completed",
                "failed",
            ):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            assert task is not None and task["status"] == "completed", task
            assert await client.read(f"{MEMORIES}/profile/name.md") == "The user's name is Ada."
            diff = json.loads(await client.read(f"{SESSION}/history/archive_001/memory_diff.json"))
            assert diff["summary"]["total_adds"] == 1

    asyncio.run(scenario())
