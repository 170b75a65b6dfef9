"""Store contract — extraction tasks: claims and leases, memories applied exactly once with their
provenance, stale claims, failures.

Scenarios told through ``skald_core.store.protocol.Store`` alone, on every backend; see
``conftest.py``.
"""

from __future__ import annotations

import pytest

from skald_core.schemas import message_decoder
from skald_core.store.model import TaskQueue
from skald_core.store.protocol import Store

from .helpers import ALICE, BOB, LEASE, T0, add, claim, commit, content, extract, memory


def test_a_claim_hands_over_exactly_the_archived_messages(store: Store) -> None:
    add(store, ALICE, "s1", "m1", "m2", "m3")
    outcome = commit(store, ALICE, "s1", keep=1)
    assert outcome.task_id is not None

    claimed = claim(store, outcome.task_id, T0 + 1)

    assert [message_decoder.decode(m.body).parts[0].text for m in claimed.messages] == ["m1", "m2"]
    assert (claimed.task.status, claimed.task.attempts) == ("running", 1)
    assert claimed.claim


def test_a_task_is_claimed_only_once(store: Store) -> None:
    add(store, ALICE, "s1", "hello")
    task_id = commit(store, ALICE, "s1").task_id
    assert task_id is not None

    first = store.claim_task(task_id, T0, LEASE)
    second = store.claim_task(task_id, T0 + 1, LEASE)

    assert first is not None and second is None
    assert store.runnable_tasks(T0 + 1) == []


def test_one_users_tasks_run_one_at_a_time(store: Store) -> None:
    add(store, ALICE, "s1", "first")
    add(store, ALICE, "s2", "second")
    add(store, BOB, "s3", "bob's")
    first, second, bobs = (
        commit(store, o, s).task_id for o, s in ((ALICE, "s1"), (ALICE, "s2"), (BOB, "s3"))
    )
    assert first is not None and second is not None and bobs is not None

    running = claim(store, first, T0 + 1)

    assert store.claim_task(second, T0 + 2, LEASE) is None  # Alice's first task runs
    assert store.claim_task(bobs, T0 + 2, LEASE) is not None  # another user's is free
    store.complete_extraction(first, running.claim, [], b"{}", T0 + 3)
    assert store.claim_task(second, T0 + 4, LEASE) is not None


def test_a_users_task_waits_for_the_running_ones_lease_only(store: Store) -> None:
    add(store, ALICE, "s1", "first")
    add(store, ALICE, "s2", "second")
    first, second = commit(store, ALICE, "s1").task_id, commit(store, ALICE, "s2").task_id
    assert first is not None and second is not None
    claim(store, first, T0)  # its worker dies: the lease runs out at T0 + LEASE

    assert store.claim_task(second, T0 + LEASE - 1, LEASE) is None
    assert store.claim_task(second, T0 + LEASE + 1, LEASE) is not None


def test_completed_extraction_writes_memories_with_provenance(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")
    task_id = commit(store, ALICE, "s1").task_id
    assert task_id is not None

    outcome = extract(store, task_id, [memory(ALICE, "name", "The user's name is Ada.")], T0 + 1)

    assert (outcome.status, outcome.memories, outcome.created, outcome.updated) == (
        "completed",
        1,
        1,
        0,
    )
    assert (
        content(store, "acme", "user/alice/memories/profile/name.md") == b"The user's name is Ada."
    )
    parent = store.get_file("acme", "user/alice/memories/profile")
    assert parent is not None and parent.is_dir
    (archive,) = store.archives(ALICE, "s1")
    assert (archive.status, archive.memories_extracted, archive.done_at) == ("done", 1, T0 + 1)
    task = store.get_task(ALICE, task_id)
    assert task is not None and (task.status, task.result) == ("completed", b'{"ok":true}')
    row = store.get_session(ALICE, "s1")
    assert row is not None and row.memories_extracted == 1
    assert store.memory_count_for_session(ALICE, "s1") == 1


def test_extraction_never_applies_twice_for_one_archive(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")
    task_id = commit(store, ALICE, "s1").task_id
    assert task_id is not None
    claimed = claim(store, task_id)
    facts = [memory(ALICE, "name", "Ada")]
    store.complete_extraction(task_id, claimed.claim, facts, b"{}", T0)

    again = store.complete_extraction(task_id, claimed.claim, facts, b"{}", T0 + 1)

    assert again.status == "stale" and again.memories == 0
    assert store.claim_task(task_id, T0 + 10 * LEASE, LEASE) is None
    row = store.get_session(ALICE, "s1")
    assert row is not None and row.memories_extracted == 1
    assert store.archives(ALICE, "s1")[0].memories_extracted == 1


def test_an_expired_lease_lets_another_worker_retake_the_task(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")
    task_id = commit(store, ALICE, "s1").task_id
    assert task_id is not None
    crashed = claim(store, task_id, T0)

    assert store.runnable_tasks(T0 + LEASE - 1) == []  # still leased to the first worker
    assert store.claim_task(task_id, T0 + LEASE - 1, LEASE) is None
    assert store.runnable_tasks(T0 + LEASE + 1) == [task_id]
    retaken = claim(store, task_id, T0 + LEASE + 1)

    assert retaken.claim != crashed.claim
    assert retaken.task.attempts == 2
    outcome = store.complete_extraction(
        task_id, retaken.claim, [memory(ALICE, "name", "Ada")], b"{}", T0 + LEASE + 2
    )
    assert outcome.status == "completed"


def test_a_stale_claim_writes_nothing(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")
    task_id = commit(store, ALICE, "s1").task_id
    assert task_id is not None
    slow = claim(store, task_id, T0)
    fast = claim(store, task_id, T0 + LEASE + 1)

    late = store.complete_extraction(
        task_id, slow.claim, [memory(ALICE, "name", "from the slow worker")], b"{}", T0 + 40
    )

    assert (late.status, late.memories) == ("stale", 0)
    assert store.get_file("acme", "user/alice/memories/profile/name.md") is None
    assert store.archives(ALICE, "s1")[0].status == "pending"

    done = store.complete_extraction(
        task_id, fast.claim, [memory(ALICE, "name", "from the fast worker")], b"{}", T0 + 41
    )

    assert done.status == "completed"
    assert content(store, "acme", "user/alice/memories/profile/name.md") == b"from the fast worker"


def test_extraction_finishing_after_delete_writes_nothing(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")
    task_id = commit(store, ALICE, "s1").task_id
    assert task_id is not None
    claimed = claim(store, task_id, T0)
    store.delete_session(ALICE, "s1", T0 + 1)

    outcome = store.complete_extraction(
        task_id, claimed.claim, [memory(ALICE, "name", "Ada")], b"{}", T0 + 2
    )

    assert outcome.status != "completed" and outcome.memories == 0
    assert store.get_file("acme", "user/alice/memories/profile/name.md") is None
    assert store.list_descendants("acme", "user/alice") == []
    task = store.get_task(ALICE, task_id)
    assert task is not None and task.status == "cancelled"
    assert store.get_session(ALICE, "s1") is None


def test_a_task_for_a_deleted_session_cannot_be_claimed(store: Store) -> None:
    add(store, ALICE, "s1", "My name is Ada.")
    task_id = commit(store, ALICE, "s1").task_id
    assert task_id is not None
    store.delete_session(ALICE, "s1", T0 + 1)

    assert store.claim_task(task_id, T0 + 2, LEASE) is None
    task = store.get_task(ALICE, task_id)
    assert task is not None and task.status == "cancelled"


def test_the_same_fact_from_two_archives_updates_one_memory_file(store: Store) -> None:
    add(store, ALICE, "s1", "I love hiking.")
    first = commit(store, ALICE, "s1").task_id
    add(store, ALICE, "s1", "I love hiking!")
    second = commit(store, ALICE, "s1").task_id
    assert first is not None and second is not None

    created = extract(store, first, [memory(ALICE, "likes-hiking", "likes hiking")], T0 + 1)
    updated = extract(store, second, [memory(ALICE, "likes-hiking", "loves hiking")], T0 + 2)

    assert (created.created, created.updated) == (1, 0)
    assert (updated.created, updated.updated) == (0, 1)
    assert [f.path for f in store.list_descendants("acme", "user/alice/memories")] == [
        "user/alice/memories/profile",
        "user/alice/memories/profile/likes-hiking.md",
    ]
    assert content(store, "acme", "user/alice/memories/profile/likes-hiking.md") == b"loves hiking"
    assert store.memory_count_for_session(ALICE, "s1") == 1


def test_a_failed_task_marks_its_archive_failed_once(store: Store) -> None:
    add(store, ALICE, "s1", "hello")
    task_id = commit(store, ALICE, "s1").task_id
    assert task_id is not None
    claimed = claim(store, task_id)

    store.fail_task(task_id, "not-the-claim", "ignored", T0 + 1)
    still_running = store.get_task(ALICE, task_id)
    assert still_running is not None and still_running.status == "running"
    store.fail_task(task_id, claimed.claim, "extractor exploded", T0 + 2)

    task = store.get_task(ALICE, task_id)
    assert task is not None and (task.status, task.error) == ("failed", "extractor exploded")
    (archive,) = store.archives(ALICE, "s1")
    assert (archive.status, archive.error) == ("failed", "extractor exploded")
    assert store.claim_task(task_id, T0 + 10 * LEASE, LEASE) is None


def test_the_task_queue_counts_waiting_and_running_tasks(store: Store) -> None:
    assert store.task_queue(T0) == TaskQueue(pending=0, running=0, oldest_pending_age=0.0)
    add(store, ALICE, "s1", "hello")
    first = commit(store, ALICE, "s1").task_id
    add(store, ALICE, "s2", "hi")
    second = store.commit(ALICE, "s2", 0, T0 + 5, "task-second").task_id
    assert first is not None and second is not None

    assert store.task_queue(T0 + 10) == TaskQueue(pending=2, running=0, oldest_pending_age=10.0)

    claim(store, first, T0 + 10)
    assert store.task_queue(T0 + 12) == TaskQueue(pending=1, running=1, oldest_pending_age=7.0)


def test_a_claim_without_messages_names_the_session_and_holds_the_task(store: Store) -> None:
    add(store, ALICE, "s1", "m1", "m2")
    task_id = commit(store, ALICE, "s1").task_id
    assert task_id is not None
    session = store.get_session(ALICE, "s1")
    assert session is not None

    claimed = store.claim_task(task_id, T0 + 1, LEASE, with_messages=False)

    assert claimed is not None and claimed.messages == []
    assert claimed.session_pk == session.pk
    assert (claimed.task.status, claimed.task.attempts, claimed.task.archive_no) == (
        "running",
        1,
        1,
    )
    assert store.claim_task(task_id, T0 + 2, LEASE, with_messages=False) is None
    outcome = store.complete_extraction(task_id, claimed.claim, [], b"{}", T0 + 3)
    assert outcome.status == "completed"
    (archive,) = store.archives(ALICE, "s1")
    assert archive.status == "done"


@pytest.mark.parametrize("with_messages", [True, False])
def test_a_runnable_task_whose_session_is_gone_is_cancelled_not_handed_out(
    store: Store, with_messages: bool
) -> None:
    add(store, ALICE, "s1", "m1")
    task_id = commit(store, ALICE, "s1").task_id
    assert task_id is not None
    # Its session row gone without the deletion's cancelling (say, a row older than it):
    # only the store's own SQL can make one.
    store._tx(  # type: ignore[attr-defined]
        lambda c: c.execute("UPDATE tasks SET session_pk = NULL WHERE task_id = ?", (task_id,))
    )

    assert store.claim_task(task_id, T0 + 1, LEASE, with_messages=with_messages) is None
    task = store.get_task(ALICE, task_id)
    assert task is not None and task.status == "cancelled"
    assert store.runnable_tasks(T0 + 2) == []
