"""The task runner with a slow language model: other users' extractions keep moving, one
user's extractions run one at a time (they read and write the same memories)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from skald_core import clock
from skald_core.identity import Identity
from skald_core.ids import new_task_id
from skald_core.schemas import AddMessageRequest
from skald_core.service.llm_extractor import LLMConfig, LLMExtractor
from skald_core.service.messages import build_message
from skald_core.service.tasks import TaskRunner
from skald_core.store.model import Owner
from skald_core.store.sqlite import SQLiteStore

from .fake_provider import answer, conversation_in, existing_in

ALICE = Owner("acme", "alice")
BOB = Owner("acme", "bob")
ENDPOINT = "http://llm.test/v1/chat/completions"


def commit(store: SQLiteStore, owner: Owner, sid: str, text: str) -> str:
    now = clock.now()
    message = build_message(
        AddMessageRequest(role="user", content=text),
        Identity(account=owner.account, user=owner.user),
        now,
    )
    store.append_messages(owner, sid, [message], now, auto_create=True)
    task_id = store.commit(owner, sid, 0, now, new_task_id()).task_id
    assert task_id is not None
    return task_id


def status(store: SQLiteStore, owner: Owner, task_id: str) -> str:
    task = store.get_task(owner, task_id)
    assert task is not None
    return task.status


def wait_until(condition: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path)
    yield s
    assert s.check_integrity() == []
    s.close()


def extractor(concurrency: int) -> LLMExtractor:
    config = LLMConfig(
        base_url="http://llm.test/v1", model="m", timeout=10, max_concurrency=concurrency
    )
    return LLMExtractor(config, backoff_base=0.01)


def test_a_slow_answer_for_one_user_does_not_hold_up_another(store: SQLiteStore) -> None:
    release = threading.Event()

    def provider(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if "alice" in conversation_in(body):
            release.wait(120)  # a provider that takes its time for this one
        name = "alice" if "alice" in conversation_in(body) else "bob"
        return httpx.Response(
            200, json=answer(adds=[{"category": "profile", "name": "name", "content": name}])
        )

    slow = commit(store, ALICE, "s1", "I am alice")  # queued first
    fast = commit(store, BOB, "s1", "I am bob")
    with respx.mock:
        respx.post(ENDPOINT).mock(side_effect=provider)
        runner = TaskRunner(store, extractor(2))
        runner.start(poll_seconds=0.05)
        try:
            wait_until(lambda: status(store, BOB, fast) == "completed")
            assert status(store, ALICE, slow) == "running"
            release.set()
            wait_until(lambda: status(store, ALICE, slow) == "completed")
        finally:
            release.set()
            runner.stop()

    bob = store.get_file("acme", "user/bob/memories/profile/name.md")
    alice = store.get_file("acme", "user/alice/memories/profile/name.md")
    assert bob is not None and bob.content == b"bob"
    assert alice is not None and alice.content == b"alice"


def test_one_users_extractions_run_one_at_a_time_and_see_each_others_memories(
    store: SQLiteStore,
) -> None:
    lock = threading.Lock()
    active = 0
    most = 0
    seen: list[list[str]] = []

    def provider(request: httpx.Request) -> httpx.Response:
        nonlocal active, most
        body = json.loads(request.content)
        with lock:
            active += 1
            most = max(most, active)
            seen.append(sorted(m["uri"].rsplit("/", 1)[-1] for m in existing_in(body)))
        time.sleep(0.05)
        with lock:
            active -= 1
        fact = conversation_in(body).split()[-1]
        return httpx.Response(
            200, json=answer(adds=[{"category": "facts", "name": fact, "content": fact}])
        )

    first = commit(store, ALICE, "s1", "remember red")
    second = commit(store, ALICE, "s2", "remember blue")
    with respx.mock:
        respx.post(ENDPOINT).mock(side_effect=provider)
        runner = TaskRunner(store, extractor(4))
        runner.start(poll_seconds=0.05)
        try:
            wait_until(
                lambda: status(store, ALICE, first) == status(store, ALICE, second) == "completed"
            )
        finally:
            runner.stop()

    assert most == 1
    assert seen == [[], ["red.md"]]


def test_the_lease_outlasts_the_longest_extraction(store: SQLiteStore) -> None:
    slow = LLMExtractor(
        LLMConfig(base_url="http://llm.test/v1", model="m", timeout=120, max_retries=3)
    )
    runner = TaskRunner(store, slow, lease_seconds=30)
    assert runner.lease_seconds > slow.max_seconds >= 120 * 4
    assert runner.concurrency == 4
    slow.close()
