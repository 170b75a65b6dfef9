"""Store contract — deleting a session: what goes, what stays (its memories), and
``require_committed``.

Scenarios told through ``skald_core.store.protocol.Store`` alone, on every backend; see
``conftest.py``.
"""

from __future__ import annotations

import pytest

from skald_core.errors import FailedPreconditionError, NotFoundError
from skald_core.schemas import DeleteOptions
from skald_core.store.protocol import Store

from .helpers import (
    ALICE,
    ALICE_AT_GLOBEX,
    BOB,
    LEASE,
    T0,
    add,
    commit,
    content,
    extract,
    memory,
    message,
    session_key,
    texts_of,
    tool_message,
    write_session_file,
)


def test_delete_removes_the_whole_session_but_keeps_its_memories(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.", "I love hiking.")
    first = commit(store, ALICE, "s1")
    assert first.task_id is not None
    extract(
        store,
        first.task_id,
        [memory(ALICE, "name", "Ada"), memory(ALICE, "likes-hiking", "hiking")],
    )
    store.append_messages(
        ALICE, "s1", [tool_message("t1"), message("still live")], T0, auto_create=False
    )
    notes = write_session_file(store, ALICE, "s1", "notes.md", "scratch")
    marker = write_session_file(store, ALICE, "s1", "drafts/.deleted.json", "{}")

    counts = store.delete_session(ALICE, "s1", T0 + 10)

    assert counts.deleted.messages == 4  # two archived, two live
    assert counts.deleted.archives == 1
    assert counts.deleted.files == 2  # the caller's files, not the directory made for them
    assert counts.deleted.tool_records == 1
    assert counts.deleted.pending_tasks == 0
    assert counts.kept.memories == 2
    assert store.get_session(ALICE, "s1") is None
    for path in (notes, marker, session_key(ALICE, "s1", "drafts")):
        assert store.get_file("acme", path) is None
    assert store.list_descendants("acme", "user/alice/sessions/s1") == []
    assert content(store, "acme", "user/alice/memories/profile/name.md") == b"Ada"
    assert content(store, "acme", "user/alice/memories/profile/likes-hiking.md") == b"hiking"
    with pytest.raises(NotFoundError):
        store.messages(ALICE, "s1")


def test_delete_cancels_the_sessions_queued_extraction(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")
    queued = commit(store, ALICE, "s1")
    assert queued.task_id is not None

    counts = store.delete_session(ALICE, "s1", T0 + 1)

    assert counts.deleted.pending_tasks == 1
    task = store.get_task(ALICE, queued.task_id)
    assert task is not None and task.status == "cancelled"
    assert store.runnable_tasks(T0 + 10 * LEASE) == []


def test_deleting_twice_is_not_found(store: Store) -> None:
    add(store, ALICE, "s1", "hello")
    store.delete_session(ALICE, "s1", T0)

    with pytest.raises(NotFoundError) as caught:
        store.delete_session(ALICE, "s1", T0)

    assert caught.value.details == {"type": "session", "resource": "s1"}


def test_delete_leaves_other_sessions_and_other_owners_untouched(store: Store) -> None:
    for owner in (ALICE, BOB, ALICE_AT_GLOBEX):
        add(store, owner, "s1", f"{owner.account}/{owner.user} in s1")
        write_session_file(store, owner, "s1", "notes.md", "keep me")
    add(store, ALICE, "s2", "alice in s2")
    other_task = commit(store, ALICE, "s2").task_id

    store.delete_session(ALICE, "s1", T0 + 1)

    assert texts_of(store, ALICE, "s2", archive_no=1) == ["alice in s2"]
    assert texts_of(store, BOB, "s1") == ["acme/bob in s1"]
    assert texts_of(store, ALICE_AT_GLOBEX, "s1") == ["globex/alice in s1"]
    assert content(store, "acme", session_key(BOB, "s1", "notes.md")) == b"keep me"
    assert content(store, "globex", session_key(ALICE_AT_GLOBEX, "s1", "notes.md")) == b"keep me"
    assert other_task is not None
    task = store.get_task(ALICE, other_task)
    assert task is not None and task.status == "pending"


def test_a_recreated_session_does_not_inherit_anything_deleted(store: Store) -> None:
    add(store, ALICE, "s1", "old secret")
    commit(store, ALICE, "s1")
    add(store, ALICE, "s1", "old live")
    write_session_file(store, ALICE, "s1", "notes.md", "old notes")
    store.delete_session(ALICE, "s1", T0 + 1)

    row = store.create_session(ALICE, "s1", T0 + 2)

    assert (row.message_count, row.total_message_count, row.commit_count) == (0, 0, 0)
    assert store.messages(ALICE, "s1", archive_no=None) == []
    assert store.archives(ALICE, "s1") == []
    assert store.session_files(ALICE, "s1") == []


def test_require_committed_refuses_while_live_messages_remain(store: Store) -> None:
    add(store, ALICE, "s1", "not yet committed")

    with pytest.raises(FailedPreconditionError) as caught:
        store.delete_session(ALICE, "s1", T0, DeleteOptions(require_committed=True))

    assert caught.value.details["uncommitted_messages"] == 1
    assert texts_of(store, ALICE, "s1") == ["not yet committed"]

    commit(store, ALICE, "s1")
    counts = store.delete_session(ALICE, "s1", T0, DeleteOptions(require_committed=True))

    assert counts.deleted.messages == 1 and store.get_session(ALICE, "s1") is None


def test_require_committed_accepts_a_session_that_never_had_messages(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)

    counts = store.delete_session(ALICE, "s1", T0, DeleteOptions(require_committed=True))

    assert counts.deleted.messages == 0 and store.get_session(ALICE, "s1") is None


def test_a_dry_run_gives_the_receipt_and_changes_nothing(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")
    first = commit(store, ALICE, "s1")
    assert first.task_id is not None
    extract(store, first.task_id, [memory(ALICE, "name", "Ada")])
    store.append_messages(ALICE, "s1", [tool_message("t1")], T0, auto_create=False)
    audited = len(store.list_audit(None))
    forget = DeleteOptions(forget_memories=True)

    preview = store.delete_session(ALICE, "s1", T0 + 10, forget, dry_run=True)

    assert (preview.deleted.messages, preview.deleted.archives) == (2, 1)
    assert (preview.deleted.tool_records, preview.deleted.memories) == (1, 1)
    assert preview.kept.memories == 0
    assert store.get_session(ALICE, "s1") is not None  # nothing changed, nothing audited
    assert content(store, "acme", "user/alice/memories/profile/name.md") == b"Ada"
    assert len(store.list_audit(None)) == audited
    assert store.delete_session(ALICE, "s1", T0 + 10, forget) == preview  # the real one agrees
    with pytest.raises(NotFoundError):
        store.delete_session(ALICE, "s1", T0 + 20, dry_run=True)  # the same checks refuse it


def test_a_memory_names_the_sessions_and_archives_it_came_from(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")
    first = commit(store, ALICE, "s1")
    assert first.task_id is not None
    extract(store, first.task_id, [memory(ALICE, "name", "Ada")])
    add(store, ALICE, "s2", "Call me Ada.")
    second = commit(store, ALICE, "s2")
    assert second.task_id is not None
    extract(store, second.task_id, [memory(ALICE, "name", "Ada Lovelace")])
    path = "user/alice/memories/profile/name.md"

    sources = store.memory_sources("acme", path)

    assert [(m.user, m.session_id, m.archive_no) for m in sources] == [
        ("alice", "s1", 1),
        ("alice", "s2", 1),
    ]
    assert store.memory_sources("globex", path) == []  # another account's file: none
    assert store.memory_sources("acme", "user/alice/memories/profile/none.md") == []
