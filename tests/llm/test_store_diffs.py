"""The store side of extraction diffs: one transaction for adds, updates and deletes with
provenance, the per-archive record (and its migration), and re-queueing failed archives."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from skald_core.errors import FailedPreconditionError, NotFoundError
from skald_core.identity import Identity
from skald_core.ids import new_task_id
from skald_core.schemas import AddMessageRequest
from skald_core.service.messages import build_message
from skald_core.store.model import MemoryFact, MemoryRef, Owner, TokenUsage
from skald_core.store.schema import SCHEMA_VERSION, SQLITE_FENCE_VERSION
from skald_core.store.sqlite import DB_FILENAME, SQLiteStore

ALICE = Owner("acme", "alice")
T0 = 1_700_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path)
    yield s
    assert s.check_integrity() == []
    s.close()


def commit(store: SQLiteStore, sid: str, text: str, now: float = T0) -> str:
    message = build_message(
        AddMessageRequest(role="user", content=text), Identity(account="acme", user="alice"), now
    )
    store.append_messages(ALICE, sid, [message], now, auto_create=True)
    task_id = store.commit(ALICE, sid, 0, now, new_task_id()).task_id
    assert task_id is not None
    return task_id


def fact(path: str, content: str) -> MemoryFact:
    category = path.split("/")[0]
    return MemoryFact(path=f"user/alice/memories/{path}", category=category, content=content)


def ref(path: str) -> MemoryRef:
    return MemoryRef(path=f"user/alice/memories/{path}", category=path.split("/")[0])


def run(store: SQLiteStore, task_id: str, facts: list[MemoryFact], **kw: object) -> object:
    claimed = store.claim_task(task_id, T0, 30)
    assert claimed is not None
    return store.complete_extraction(task_id, claimed.claim, facts, b"{}", T0 + 1, **kw)  # type: ignore[arg-type]


def content(store: SQLiteStore, path: str) -> bytes | None:
    row = store.get_file("acme", f"user/alice/memories/{path}")
    return None if row is None else row.content


def test_one_extraction_adds_updates_and_deletes_and_records_the_diff(store: SQLiteStore) -> None:
    run(store, commit(store, "s1", "a"), [fact("profile/name.md", "Ada"), fact("facts/x.md", "x")])
    second = commit(store, "s2", "b")

    outcome = run(
        store,
        second,
        [fact("profile/name.md", "Grace"), fact("events/trip.md", "Trip")],
        deletes=[
            ref("facts/x.md"),
            ref("facts/never-was.md"),
            MemoryRef(path="user/bob/x.md", category="x"),
        ],
        usage=TokenUsage(prompt_tokens=10, completion_tokens=5, total_tokens=15),
    )

    assert (outcome.created, outcome.updated, outcome.deleted, outcome.memories) == (1, 1, 1, 2)  # type: ignore[attr-defined]
    assert content(store, "profile/name.md") == b"Grace"
    assert content(store, "facts/x.md") is None
    # x.md came from s1 only; its provenance went with the file.
    assert store.memory_count_for_session(ALICE, "s1") == 1
    assert store.memory_count_for_session(ALICE, "s2") == 2
    (x,) = store.archive_extractions(ALICE, "s2")
    assert x.archive_no == 1 and x.extracted_at == T0 + 1
    assert [(e.path, e.before, e.after) for e in x.diff.updates] == [
        ("user/alice/memories/profile/name.md", "Ada", "Grace")
    ]
    assert [(e.path, e.after) for e in x.diff.adds] == [
        ("user/alice/memories/events/trip.md", "Trip")
    ]
    assert [(e.path, e.before) for e in x.diff.deletes] == [("user/alice/memories/facts/x.md", "x")]
    assert x.by_category == {"profile": 1, "events": 1}
    summary = store.extraction_summary(ALICE, "s2")
    assert summary.by_category == {"events": 1, "profile": 1}
    assert (summary.usage.prompt_tokens, summary.usage.total_tokens) == (10, 15)
    # the session's get reads the row and the same summary in one statement
    found = store.session_and_extraction(ALICE, "s2")
    assert found is not None
    assert found[0] == store.get_session(ALICE, "s2") and found[1] == summary
    plain = store.session_and_extraction(ALICE, "s1")  # extracted: its own summary
    assert plain is not None and plain[1] == store.extraction_summary(ALICE, "s1")
    assert store.session_and_extraction(ALICE, "no-such") is None


def test_a_stale_claim_applies_no_deletes(store: SQLiteStore) -> None:
    run(store, commit(store, "s1", "a"), [fact("facts/x.md", "x")])
    task_id = commit(store, "s2", "b")
    slow = store.claim_task(task_id, T0, 30)
    fast = store.claim_task(task_id, T0 + 31, 30)
    assert slow is not None and fast is not None

    late = store.complete_extraction(
        task_id, slow.claim, [], b"{}", T0 + 40, deletes=[ref("facts/x.md")]
    )

    assert late.status == "stale"
    assert content(store, "facts/x.md") == b"x"
    assert store.archive_extractions(ALICE, "s2") == []


def test_deleting_the_session_removes_its_extraction_records(
    store: SQLiteStore, tmp_path: Path
) -> None:
    run(store, commit(store, "s1", "a"), [fact("facts/x.md", "x")])

    store.delete_session(ALICE, "s1", T0 + 5)

    with sqlite3.connect(tmp_path / DB_FILENAME) as raw:
        assert raw.execute("SELECT COUNT(*) FROM archive_extractions").fetchone() == (0,)
    assert content(store, "facts/x.md") == b"x"  # memories are kept


def test_the_migration_adds_the_table_to_an_older_database_and_is_idempotent(
    tmp_path: Path,
) -> None:
    SQLiteStore(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_FILENAME) as raw:  # as a 0.1 version-2 database was
        raw.execute("DROP TABLE archive_extractions")
        raw.execute("DROP TABLE skald_schema_migrations")
        raw.execute("PRAGMA user_version = 2")

    for _ in range(2):
        store = SQLiteStore(tmp_path)
        run(store, commit(store, f"s{_}", "a"), [fact("facts/x.md", "x")])
        assert len(store.archive_extractions(ALICE, f"s{_}")) == 1
        store.close()
    with sqlite3.connect(tmp_path / DB_FILENAME) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (SQLITE_FENCE_VERSION,)
    store = SQLiteStore(tmp_path)
    assert store.schema_version() == SCHEMA_VERSION
    store.close()


def test_requeue_takes_failed_archives_only(store: SQLiteStore) -> None:
    failed = commit(store, "s1", "a")
    claimed = store.claim_task(failed, T0, 30)
    assert claimed is not None
    store.fail_task(failed, claimed.claim, "provider down", T0 + 1, result=b'{"token_usage":{}}')
    done = commit(store, "s1", "b")
    run(store, done, [])
    pending = commit(store, "s1", "c")
    task = store.get_task(ALICE, failed)
    assert task is not None and task.result == b'{"token_usage":{}}'

    with pytest.raises(FailedPreconditionError, match="already extracted"):
        store.requeue_extraction(ALICE, "s1", 2, T0 + 2, new_task_id)
    with pytest.raises(NotFoundError):
        store.requeue_extraction(ALICE, "s1", 9, T0 + 2, new_task_id)
    (again,) = store.requeue_extraction(ALICE, "s1", 3, T0 + 2, new_task_id)
    assert (again.archive_no, again.task_id, again.already_queued) == (3, pending, True)

    (queued,) = store.requeue_extraction(ALICE, "s1", None, T0 + 2, new_task_id)

    assert queued.archive_no == 1 and queued.task_id != failed and not queued.already_queued
    archives = {a.archive_no: (a.status, a.error) for a in store.archives(ALICE, "s1")}
    assert archives == {1: ("pending", None), 2: ("done", None), 3: ("pending", None)}
    assert store.requeue_extraction(ALICE, "s1", None, T0 + 3, new_task_id) == []
    assert store.runnable_tasks(T0 + 3) == [pending, queued.task_id]
    with pytest.raises(NotFoundError):
        store.requeue_extraction(ALICE, "nope", None, T0, new_task_id)


def test_a_busy_owner_is_skipped_when_claiming(store: SQLiteStore) -> None:
    task_id = commit(store, "s1", "a")

    assert store.claim_task(task_id, T0, 30, busy=[ALICE]) is None
    assert (
        store.claim_task(task_id, T0, 30, busy=[Owner("acme", "bob"), Owner("x", "alice")])
        is not None
    )
