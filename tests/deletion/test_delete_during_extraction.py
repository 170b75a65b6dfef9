"""A delete landing while a commit's extraction is queued or running (issue 5, point 8), through
the embedded client and over HTTP (the real app in-process).

* hard delete while queued or running: no archive is left, no memory is written afterwards,
  nothing reappears under the deleted path, and the task ends ``cancelled``;
* ``commit_first`` while queued or running: the extraction finishes (memories written), then the
  session is gone;
* ``commit_first`` racing a soft delete: a session trashed after it committed is never purged
  with messages it did not commit (regression test).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.asgi import sync_client

import skald
from skald_core.service.extraction import BuiltinExtractor, ExistingMemory, Extraction
from skald_core.store.protocol import Store
from skald_server.app import build_services, create_app
from skald_server.config import ServerConfig

MEMORIES = "viking://user/default/memories"
#: Waits, not performance requirements: each ends as soon as its event happens.
WAIT = 60.0


class SlowExtractor:
    """The built-in extractor, held at the door until the test releases it."""

    name = "slow"
    categories: Sequence[str] = ()

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()

    def extract_diff(
        self, messages: Sequence[Any], user: str, existing: Sequence[ExistingMemory]
    ) -> Extraction:
        self.started.set()
        assert self.release.wait(2 * WAIT), "the test never released the extractor"
        try:
            return Extraction(facts=BuiltinExtractor().extract(messages, user))
        finally:
            self.finished.set()


@dataclass
class Setup:
    client: Any
    store: Store
    start_worker: Callable[[], None]


Factory = Callable[..., Setup]


@pytest.fixture(params=["embedded", "http-inprocess"])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """``make(extractor=None, worker=True)``: a client whose background worker runs or not."""
    opened = ExitStack()

    def factory(extractor: Any = None, worker: bool = True) -> Setup:
        data = tmp_path / "data"
        if request.param == "embedded":
            client = skald.OpenViking(path=data, extractor=extractor)
            opened.callback(client.close)  # not entered: that would start its worker
            if worker:
                client.initialize()
            return Setup(client, client.services.store, client.initialize)
        config = ServerConfig(path=str(data), task_poll_seconds=0.02)
        services = build_services(config, extractor=extractor)
        app = create_app(config, services=services, start_worker=worker)
        remote = opened.enter_context(sync_client(app))
        return Setup(remote, services.store, lambda: services.runner.start(poll_seconds=0.02))

    with opened:
        yield factory


def chat(client: Any, sid: str) -> None:
    client.add_message(sid, "user", "My name is Ada. I love hiking.")
    client.add_message(sid, "assistant", "Noted.")


def memories(client: Any) -> list[str]:
    return [n["uri"] for n in client.ls(MEMORIES, recursive=True) if not n["isDir"]]


def task_status(client: Any, task_id: str) -> str:
    task = client.get_task(task_id)
    assert task is not None, f"task {task_id} vanished"
    return str(task["status"])


def wait_for(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)
    return value


def assert_gone(setup: Setup, sid: str) -> None:
    client = setup.client
    assert not client.session_exists(sid)
    assert sid not in [s["session_id"] for s in client.list_sessions(include_deleted=True)]
    sessions = client.ls("viking://user/default/sessions")
    assert not [n for n in sessions if n["uri"].rstrip("/").endswith(f"/{sid}")]
    assert setup.store.check_integrity() == []


# ------------------------------------------------------------------ hard delete wins


def test_hard_delete_while_extraction_is_queued(make: Factory) -> None:
    setup = make(worker=False)  # nobody runs the queue: the extraction stays queued
    client = setup.client
    chat(client, "s1")
    task_id = client.commit_session("s1")["task_id"]
    assert task_status(client, task_id) == "pending"

    receipt = client.delete_session("s1")

    assert receipt["deleted"]["archives"] == 1 and receipt["deleted"]["pending_tasks"] == 1
    assert task_status(client, task_id) == "cancelled"
    setup.start_worker()  # the queue runs now: there is nothing left for it to do
    time.sleep(0.3)
    assert task_status(client, task_id) == "cancelled"
    assert memories(client) == []
    assert_gone(setup, "s1")


def test_hard_delete_while_extraction_is_running(make: Factory) -> None:
    slow = SlowExtractor()
    setup = make(extractor=slow)
    client = setup.client
    chat(client, "s1")
    task_id = client.commit_session("s1")["task_id"]
    assert slow.started.wait(WAIT), "the extraction never started"
    assert task_status(client, task_id) == "running"

    receipt = client.delete_session("s1")
    slow.release.set()  # the extractor now returns its facts, too late
    assert slow.finished.wait(WAIT)

    assert receipt["deleted"]["archives"] == 1 and receipt["deleted"]["pending_tasks"] == 1
    time.sleep(0.2)  # give a late write every chance to land
    assert task_status(client, task_id) == "cancelled"
    assert memories(client) == []
    assert_gone(setup, "s1")


# ------------------------------------------------------------------ commit_first extracts first


def test_commit_first_runs_a_queued_extraction_then_deletes(make: Factory) -> None:
    setup = make(worker=False)
    client = setup.client
    chat(client, "s1")
    task_id = client.commit_session("s1")["task_id"]

    receipt = client.delete_session("s1", commit_first=True)

    assert receipt["deleted"]["archives"] == 1 and receipt["deleted"]["pending_tasks"] == 0
    assert receipt["kept"]["memories"] == 2
    assert task_status(client, task_id) == "completed"
    assert len(memories(client)) == 2
    assert_gone(setup, "s1")


def test_commit_first_waits_for_a_running_extraction_then_deletes(make: Factory) -> None:
    slow = SlowExtractor()
    setup = make(extractor=slow)
    client = setup.client
    chat(client, "s1")
    task_id = client.commit_session("s1")["task_id"]
    assert slow.started.wait(WAIT)
    chat(client, "s1")  # more live messages: commit_first commits them too

    answers: list[Any] = []
    deleting = threading.Thread(
        target=lambda: answers.append(client.delete_session("s1", commit_first=True))
    )
    deleting.start()
    time.sleep(0.3)
    assert not answers, "commit_first deleted before the extraction finished"
    assert client.session_exists("s1")
    slow.release.set()
    deleting.join(WAIT)

    (receipt,) = answers
    assert receipt["deleted"]["archives"] == 2 and receipt["deleted"]["pending_tasks"] == 0
    assert receipt["kept"]["memories"] == 2
    assert task_status(client, task_id) == "completed"
    assert len(memories(client)) == 2
    assert_gone(setup, "s1")


# ------------------------------------------------------------------ commit_first vs the trash


def test_commit_first_never_purges_what_it_did_not_commit(tmp_path: Path) -> None:
    """Regression: the session is trashed (with a new, uncommitted message) between the moment
    commit_first finished extracting and its delete. It used to purge the trashed session —
    losing the message unextracted while reporting success; now it answers NOT_FOUND (the
    session is in the trash) and the trash keeps every message."""
    with skald.OpenViking(path=tmp_path / "data") as client:
        chat(client, "s1")
        service = client.services.deletion
        finish = service._finish_extractions
        meddled: list[bool] = []

        def finish_then_meddle(owner: Any, session_id: str) -> None:
            finish(owner, session_id)
            if not meddled:
                meddled.append(True)
                client.add_message("s1", "user", "I love sailing.")  # acknowledged...
                client.delete_session("s1", mode="soft")  # ...then trashed by someone else

        service._finish_extractions = finish_then_meddle  # type: ignore[method-assign]

        with pytest.raises(skald.NotFoundError):
            client.delete_session("s1", commit_first=True)

        assert meddled
        trashed = {s["session_id"]: s for s in client.list_sessions(include_deleted=True)}
        assert trashed["s1"]["deleted_at"]
        client.restore_session("s1")
        assert client.get_session("s1")["total_message_count"] == 3
        assert client.services.store.check_integrity() == []
