"""Store contract — owner isolation: one session id under two users, and under two accounts.

Scenarios told through ``skald_core.store.protocol.Store`` alone, on every backend; see
``conftest.py``.
"""

from __future__ import annotations

from skald_core.store.protocol import Store

from .helpers import (
    ALICE,
    ALICE_AT_GLOBEX,
    BOB,
    T0,
    add,
    commit,
    content,
    extract,
    memory,
    texts_of,
)


def test_one_session_id_under_two_users_is_two_independent_sessions(store: Store) -> None:
    add(store, ALICE, "shared-id", "alice 1", "alice 2")
    add(store, BOB, "shared-id", "bob 1")
    add(store, ALICE_AT_GLOBEX, "shared-id", "globex alice 1")

    alice_task = commit(store, ALICE, "shared-id").task_id
    assert alice_task is not None
    extract(store, alice_task, [memory(ALICE, "name", "Alice")])

    assert texts_of(store, ALICE, "shared-id", archive_no=1) == ["alice 1", "alice 2"]
    assert texts_of(store, BOB, "shared-id") == ["bob 1"]
    assert texts_of(store, ALICE_AT_GLOBEX, "shared-id") == ["globex alice 1"]
    assert store.archives(BOB, "shared-id") == []
    bob = store.get_session(BOB, "shared-id")
    assert bob is not None and (bob.message_count, bob.commit_count) == (1, 0)
    assert store.memory_count_for_session(BOB, "shared-id") == 0
    assert store.get_task(BOB, alice_task) is None
    assert store.get_task(ALICE_AT_GLOBEX, alice_task) is None

    counts = store.delete_session(BOB, "shared-id", T0)

    assert (counts.deleted.messages, counts.kept.memories) == (1, 0)
    assert store.get_session(ALICE, "shared-id") is not None
    assert store.get_session(ALICE_AT_GLOBEX, "shared-id") is not None
    assert content(store, "acme", "user/alice/memories/profile/name.md") == b"Alice"
