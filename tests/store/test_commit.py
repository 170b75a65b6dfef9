"""Store contract — committing: archives numbered 1, 2, 3, the keep window, and the extraction
task each archive queues.

Scenarios told through ``skald_core.store.protocol.Store`` alone, on every backend; see
``conftest.py``.
"""

from __future__ import annotations

import pytest

from skald_core.errors import NotFoundError
from skald_core.identity import Identity
from skald_core.schemas import DeleteOptions
from skald_core.store.protocol import Store

from .helpers import ALICE, T0, add, commit, texts_of


def test_commits_number_their_archives_1_2_3(store: Store) -> None:
    outcomes = []
    for n in range(3):
        add(store, ALICE, "s1", f"message {n}a", f"message {n}b")
        outcomes.append(commit(store, ALICE, "s1", now=T0 + n))

    assert [o.archive_no for o in outcomes] == [1, 2, 3]
    assert [a.archive_no for a in store.archives(ALICE, "s1")] == [1, 2, 3]
    assert texts_of(store, ALICE, "s1", archive_no=2) == ["message 1a", "message 1b"]
    assert texts_of(store, ALICE, "s1") == []
    row = store.get_session(ALICE, "s1")
    assert row is not None
    assert (row.commit_count, row.message_count, row.total_message_count) == (3, 0, 6)
    assert row.pending_tokens == 0 and row.last_commit_at == T0 + 2


def test_commit_archives_the_oldest_messages_and_keeps_the_recent_ones(store: Store) -> None:
    rows = add(store, ALICE, "s1", "m1", "m2", "m3", "m4", "m5")

    outcome = commit(store, ALICE, "s1", keep=2)

    assert outcome.archive_no == 1 and outcome.reason is None
    assert texts_of(store, ALICE, "s1", archive_no=1) == ["m1", "m2", "m3"]
    assert texts_of(store, ALICE, "s1") == ["m4", "m5"]
    (archive,) = store.archives(ALICE, "s1")
    assert archive.status == "pending" and archive.message_count == 3
    assert (archive.first_message_id, archive.last_message_id) == (
        rows[0].message_id,
        rows[2].message_id,
    )
    assert archive.tokens == sum(r.tokens for r in rows[:3])
    assert outcome.session.message_count == 2
    assert outcome.session.pending_tokens == sum(r.tokens for r in rows[3:])


def test_committing_without_live_messages_is_skipped(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)

    outcome = commit(store, ALICE, "s1")

    assert (outcome.archive_no, outcome.task_id, outcome.reason) == (None, None, "no_messages")
    assert store.archives(ALICE, "s1") == []
    assert store.runnable_tasks(T0 + 1) == []
    row = store.get_session(ALICE, "s1")
    assert row is not None and row.commit_count == 0


def test_committing_inside_the_keep_window_is_skipped(store: Store) -> None:
    add(store, ALICE, "s1", "m1", "m2")

    outcome = commit(store, ALICE, "s1", keep=2)

    assert (outcome.archive_no, outcome.task_id) == (None, None)
    assert outcome.reason == "all_within_keep_window"
    assert texts_of(store, ALICE, "s1") == ["m1", "m2"]
    assert store.runnable_tasks(T0 + 1) == []


def test_commit_queues_one_pending_extraction_task(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")

    outcome = commit(store, ALICE, "s1", now=T0 + 3)

    assert outcome.task_id is not None
    task = store.get_task(ALICE, outcome.task_id)
    assert task is not None
    assert (task.status, task.session_id, task.archive_no) == ("pending", "s1", 1)
    assert (task.account, task.user, task.created_at) == ("acme", "alice", T0 + 3)
    assert task.attempts == 0 and task.result is None
    assert store.runnable_tasks(T0 + 4) == [outcome.task_id]


def test_committing_a_missing_session_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        commit(store, ALICE, "ghost")

    assert store.get_session(ALICE, "ghost") is None


def test_committing_a_trashed_session_is_not_found_and_changes_nothing(store: Store) -> None:
    add(store, ALICE, "s1", "m1", "m2")
    store.delete_session(ALICE, "s1", T0 + 1, DeleteOptions(mode="soft"))

    with pytest.raises(NotFoundError):
        commit(store, ALICE, "s1", now=T0 + 2)

    store.restore_session(ALICE, "s1", T0 + 3, actor=Identity(account="acme", user="alice"))
    assert store.archives(ALICE, "s1") == []
    assert texts_of(store, ALICE, "s1") == ["m1", "m2"]
    assert store.runnable_tasks(T0 + 4) == []


def test_a_commit_after_a_skipped_one_archives_what_came_since(store: Store) -> None:
    add(store, ALICE, "s1", "m1")
    assert commit(store, ALICE, "s1", keep=1).reason == "all_within_keep_window"
    add(store, ALICE, "s1", "m2", "m3")

    outcome = commit(store, ALICE, "s1", keep=1, now=T0 + 5)

    assert (outcome.archive_no, outcome.reason) == (1, None)
    assert texts_of(store, ALICE, "s1", archive_no=1) == ["m1", "m2"]
    assert texts_of(store, ALICE, "s1") == ["m3"]
    row = store.get_session(ALICE, "s1")
    assert row is not None and (row.commit_count, row.message_count) == (1, 1)
    assert row.last_commit_at == T0 + 5
