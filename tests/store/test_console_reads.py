"""Store contract — the reads behind the web console's pages: how many sessions a listing
holds, a session's commit tasks, and which memories a ``forget_memories`` deletion would
remove (the same rule as the deletion itself); on every backend."""

from __future__ import annotations

import pytest

from skald_core.errors import NotFoundError
from skald_core.schemas import DeleteOptions
from skald_core.store.protocol import Store

from .helpers import ALICE, BOB, T0, add, commit, extract, memory


def test_count_sessions_by_state_and_creation_range(store: Store) -> None:
    for n in range(5):
        store.create_session(ALICE, f"s{n}", T0 + n)
    store.create_session(BOB, "b0", T0)
    store.delete_session(ALICE, "s1", T0 + 10, DeleteOptions(mode="soft"))

    assert store.count_sessions(ALICE) == 4
    assert store.count_sessions(ALICE, state="trash") == 1
    assert store.count_sessions(ALICE, state="all") == 5
    assert store.count_sessions(ALICE, created_since=T0 + 1, created_before=T0 + 4) == 2  # s2, s3
    assert store.count_sessions(ALICE, state="all", created_since=T0 + 1) == 4
    assert store.count_sessions(BOB) == 1


def test_session_tasks_are_the_live_sessions_own(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")
    first = commit(store, ALICE, "s1")
    add(store, ALICE, "s1", "I love hiking.", now=T0 + 1)
    second = commit(store, ALICE, "s1", now=T0 + 1)
    assert first.task_id is not None and second.task_id is not None
    extract(store, first.task_id, [memory(ALICE, "name", "Ada")])

    tasks = store.session_tasks(ALICE, "s1")

    assert [(t.task_id, t.archive_no, t.status) for t in tasks] == [
        (first.task_id, 1, "completed"),
        (second.task_id, 2, "pending"),
    ]
    store.delete_session(ALICE, "s1", T0 + 2)
    store.create_session(ALICE, "s1", T0 + 3)  # the same id, another session
    assert store.session_tasks(ALICE, "s1") == []
    with pytest.raises(NotFoundError):
        store.session_tasks(ALICE, "nope")


def test_forgettable_memories_are_exactly_what_forgetting_removes(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.", "I love hiking.")
    first = commit(store, ALICE, "s1")
    assert first.task_id is not None
    extract(store, first.task_id, [memory(ALICE, "name", "Ada"), memory(ALICE, "hiking", "hi")])
    add(store, ALICE, "s2", "Call me Ada.")
    second = commit(store, ALICE, "s2")
    assert second.task_id is not None
    extract(store, second.task_id, [memory(ALICE, "name", "Ada L.")])  # two sources now

    names = store.forgettable_memories(ALICE, "s1")

    assert names == ["user/alice/memories/profile/hiking.md"]
    assert store.forgettable_memories(ALICE, "s2") == []  # name.md came from s1 too
    receipt = store.delete_session(ALICE, "s1", T0 + 5, DeleteOptions(forget_memories=True))
    assert receipt.deleted.memories == len(names)
    assert store.get_file("acme", names[0]) is None
    assert store.get_file("acme", "user/alice/memories/profile/name.md") is not None
    with pytest.raises(NotFoundError):
        store.forgettable_memories(ALICE, "s1")


def test_key_changes_are_audited_with_who_did_them(store: Store) -> None:
    from skald_core.identity import Identity

    keys = store.key_store()
    boss = Identity(account="acme", user="boss", role="admin")
    made = keys.create_key("acme", "carol", "admin", True, T0, actor=boss)
    cli = keys.create_key("acme", "dave", "user", False, T0 + 1)  # skald keys: the operator
    assert keys.revoke_key(made.record.key_id, T0 + 2, actor=boss)
    assert not keys.revoke_key(made.record.key_id, T0 + 3, actor=boss)  # nothing to audit

    rows = store.list_audit("acme")

    assert [(r.action, r.key_id, r.actor_user, r.user, r.session_id) for r in rows] == [
        ("revoke_key", made.record.key_id, "acme/boss", "carol", None),
        ("create_key", cli.record.key_id, "system/operator", "dave", None),
        ("create_key", made.record.key_id, "acme/boss", "carol", None),
    ]
    assert rows[0].counts == {"admin": 1, "read_only": 1}
    assert rows[1].counts == {"admin": 0, "read_only": 0}
    assert cli.key not in str(rows) and made.key not in str(rows)  # never a secret
    assert [r.action for r in store.list_audit("acme", action="create_key")] == ["create_key"] * 2
