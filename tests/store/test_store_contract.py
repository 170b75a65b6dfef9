"""The behavioural contract of ``skald_core.store.protocol.Store``.

Every backend must pass every test here (see ``conftest.py``). Each test is one scenario told
through the protocol alone: arrange with the helpers below, act, and assert on what the
protocol shows afterwards. The ``store`` fixture also checks ``check_integrity() == []`` once
each scenario is over.
"""

from __future__ import annotations

import msgspec
import pytest

from skald_core.errors import (
    AlreadyExistsError,
    ConflictError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    SkaldError,
)
from skald_core.identity import Identity
from skald_core.ids import new_task_id
from skald_core.schemas import AddMessageRequest, TextPart, ToolPart, message_decoder
from skald_core.service.messages import build_message
from skald_core.store.model import ClaimedTask, MemoryFact, NewMessage, Owner
from skald_core.store.protocol import Store

ALICE = Owner("acme", "alice")
BOB = Owner("acme", "bob")
ALICE_AT_GLOBEX = Owner("globex", "alice")  # same user name, another account

T0 = 1_700_000_000.0
LEASE = 30.0


# ---------------------------------------------------------------------------- helpers


def message(text: str, *, role: str = "user", owner: Owner = ALICE, now: float = T0) -> NewMessage:
    request = AddMessageRequest(role=role, content=text)
    return build_message(request, Identity(account=owner.account, user=owner.user), now)


def tool_message(tool_id: str, *, owner: Owner = ALICE) -> NewMessage:
    request = AddMessageRequest(
        role="assistant",
        parts=[TextPart(text="calling a tool"), ToolPart(tool_id=tool_id, tool_name="search")],
    )
    return build_message(request, Identity(account=owner.account, user=owner.user), T0)


def add(store: Store, owner: Owner, sid: str, *texts: str, now: float = T0) -> list[NewMessage]:
    rows = [message(t, owner=owner, now=now) for t in texts]
    store.append_messages(owner, sid, rows, now, auto_create=True)
    return rows


def texts_of(store: Store, owner: Owner, sid: str, archive_no: int | None = 0) -> list[str]:
    out = []
    for row in store.messages(owner, sid, archive_no=archive_no):
        part = message_decoder.decode(row.body).parts[0]
        assert isinstance(part, TextPart)
        out.append(part.text)
    return out


def commit(store: Store, owner: Owner, sid: str, keep: int = 0, now: float = T0):
    return store.commit(owner, sid, keep, now, new_task_id())


def session_key(owner: Owner, sid: str, rel: str) -> str:
    return f"user/{owner.user}/sessions/{sid}/{rel}"


def write_session_file(store: Store, owner: Owner, sid: str, rel: str, text: str) -> str:
    path = session_key(owner, sid, rel)
    store.write_file(
        owner.account, path, text.encode(), "create", T0, session=(owner, sid), stop_at=4
    )
    return path


def memory(owner: Owner, slug: str, content: str) -> MemoryFact:
    return MemoryFact(
        path=f"user/{owner.user}/memories/profile/{slug}.md", category="profile", content=content
    )


def claim(store: Store, task_id: str, now: float = T0) -> ClaimedTask:
    claimed = store.claim_task(task_id, now, LEASE)
    assert claimed is not None, f"task {task_id} could not be claimed"
    return claimed


def extract(store: Store, task_id: str, facts: list[MemoryFact], now: float = T0):
    claimed = claim(store, task_id, now)
    return store.complete_extraction(task_id, claimed.claim, facts, b'{"ok":true}', now)


def content(store: Store, account: str, path: str) -> bytes | None:
    row = store.get_file(account, path)
    return None if row is None else row.content


# ---------------------------------------------------------------------------- sessions


def test_a_new_session_starts_empty_and_reads_back(store: Store) -> None:
    created = store.create_session(ALICE, "s1", T0)

    assert (created.account, created.user, created.session_id) == ("acme", "alice", "s1")
    assert created.created_at == created.updated_at == T0
    assert (created.message_count, created.total_message_count, created.commit_count) == (0, 0, 0)
    assert created.memories_extracted == 0
    assert created.deleted_at is None
    assert store.get_session(ALICE, "s1") == created


def test_a_missing_session_reads_as_none(store: Store) -> None:
    assert store.get_session(ALICE, "nope") is None


def test_creating_an_existing_id_is_refused_and_keeps_the_original(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)
    add(store, ALICE, "s1", "hello")

    with pytest.raises(AlreadyExistsError) as caught:
        store.create_session(ALICE, "s1", T0 + 5)

    assert caught.value.details == {"type": "session", "resource": "s1"}
    row = store.get_session(ALICE, "s1")
    assert row is not None and row.created_at == T0 and row.message_count == 1


def test_sessions_list_newest_first_and_ties_break_on_id(store: Store) -> None:
    store.create_session(ALICE, "old", T0)
    store.create_session(ALICE, "tie-a", T0 + 1)
    store.create_session(ALICE, "tie-b", T0 + 1)
    store.create_session(ALICE, "new", T0 + 2)

    listed = [r.session_id for r in store.list_sessions(ALICE, limit=None, after=None)]

    assert listed == ["new", "tie-b", "tie-a", "old"]


def test_listing_pages_with_limit_and_after_visits_every_session_once(store: Store) -> None:
    for i in range(7):
        store.create_session(ALICE, f"s{i}", T0 + i // 2)  # pairs share a timestamp
    everything = [r.session_id for r in store.list_sessions(ALICE, limit=None, after=None)]

    pages: list[list[str]] = []
    after = None
    while True:
        page = store.list_sessions(ALICE, limit=3, after=after)
        if not page:
            break
        pages.append([r.session_id for r in page])
        after = (page[-1].created_at, page[-1].session_id)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [sid for page in pages for sid in page] == everything
    assert len(set(everything)) == 7


def test_listing_shows_only_the_owners_sessions(store: Store) -> None:
    store.create_session(ALICE, "mine", T0)
    store.create_session(BOB, "his", T0)
    store.create_session(ALICE_AT_GLOBEX, "elsewhere", T0)

    assert [r.session_id for r in store.list_sessions(ALICE, limit=None, after=None)] == ["mine"]


# ---------------------------------------------------------------------------- messages


def test_appended_messages_keep_their_order_and_update_the_counters(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)
    question = message("What is the capital of France?")
    answer = message("Paris.", role="assistant")

    row = store.append_messages(ALICE, "s1", [question, answer], T0 + 1, auto_create=False)

    assert texts_of(store, ALICE, "s1") == ["What is the capital of France?", "Paris."]
    assert row.message_count == row.total_message_count == 2
    assert row.pending_tokens == row.total_tokens == question.tokens + answer.tokens > 0
    assert row.total_turns == 1  # the user's question starts a turn, the answer does not
    assert row.updated_at == row.last_message_at == T0 + 1
    assert store.get_session(ALICE, "s1") == row


def test_appending_to_a_missing_session_without_auto_create_changes_nothing(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.append_messages(ALICE, "ghost", [message("hi")], T0, auto_create=False)

    assert store.get_session(ALICE, "ghost") is None
    assert store.list_sessions(ALICE, limit=None, after=None) == []


def test_appending_with_auto_create_creates_the_session(store: Store) -> None:
    row = store.append_messages(ALICE, "fresh", [message("hi")], T0, auto_create=True)

    assert row.session_id == "fresh" and row.created_at == T0 and row.message_count == 1
    assert texts_of(store, ALICE, "fresh") == ["hi"]


def test_an_empty_append_with_auto_create_only_creates_the_session(store: Store) -> None:
    row = store.append_messages(ALICE, "empty", [], T0, auto_create=True)

    assert row.message_count == 0
    assert store.get_session(ALICE, "empty") is not None
    assert store.messages(ALICE, "empty") == []


def test_a_batch_with_one_bad_row_stores_none_of_it(store: Store) -> None:
    add(store, ALICE, "s1", "before")
    before = store.get_session(ALICE, "s1")
    unstorable = msgspec.structs.replace(message("three"), role=None)  # a NOT NULL column
    batch = [message("one"), message("two"), unstorable]

    with pytest.raises(SkaldError):  # never a raw driver exception
        store.append_messages(ALICE, "s1", batch, T0 + 1, auto_create=True)

    assert texts_of(store, ALICE, "s1") == ["before"]
    assert store.get_session(ALICE, "s1") == before


def test_a_failed_batch_does_not_auto_create_its_session(store: Store) -> None:
    unstorable = msgspec.structs.replace(message("two"), role=None)

    with pytest.raises(SkaldError):
        store.append_messages(ALICE, "new", [message("one"), unstorable], T0, auto_create=True)

    assert store.get_session(ALICE, "new") is None


# ---------------------------------------------------------------------------- commit


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


# ---------------------------------------------------------------------------- delete


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

    assert counts.messages == 4  # two archived, two live
    assert counts.archives == 1
    assert counts.files == 2  # the caller's files, not the directory made for them
    assert counts.tool_records == 1
    assert counts.pending_tasks == 0
    assert counts.memories_kept == 2
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

    assert counts.pending_tasks == 1
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
        store.delete_session(ALICE, "s1", T0, require_committed=True)

    assert caught.value.details["uncommitted_messages"] == 1
    assert texts_of(store, ALICE, "s1") == ["not yet committed"]

    commit(store, ALICE, "s1")
    counts = store.delete_session(ALICE, "s1", T0, require_committed=True)

    assert counts.messages == 1 and store.get_session(ALICE, "s1") is None


def test_require_committed_accepts_a_session_that_never_had_messages(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)

    counts = store.delete_session(ALICE, "s1", T0, require_committed=True)

    assert counts.messages == 0 and store.get_session(ALICE, "s1") is None


# ---------------------------------------------------------------------------- tasks


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


# ---------------------------------------------------------------------------- files


def test_create_makes_the_missing_parent_directories(store: Store) -> None:
    row = store.write_file(
        "acme", "user/alice/memories/a/b/c.md", b"deep", "create", T0, session=None, stop_at=3
    )

    assert (row.path, row.is_dir, row.size) == ("user/alice/memories/a/b/c.md", False, 4)
    for directory in ("user/alice/memories/a", "user/alice/memories/a/b"):
        parent = store.get_file("acme", directory)
        assert parent is not None and parent.is_dir
    assert store.get_file("acme", "user/alice/memories") is None  # above stop_at: a fixed dir
    assert [r.path for r in store.list_children("acme", "user/alice/memories/a")] == [
        "user/alice/memories/a/b"
    ]


def test_create_refuses_an_existing_file(store: Store) -> None:
    store.write_file("acme", "resources/x.md", b"first", "create", T0, session=None, stop_at=1)

    with pytest.raises(AlreadyExistsError):
        store.write_file("acme", "resources/x.md", b"second", "create", T0, session=None, stop_at=1)

    assert content(store, "acme", "resources/x.md") == b"first"


@pytest.mark.parametrize("mode", ["replace", "append"])
def test_replace_and_append_need_an_existing_file(store: Store, mode: str) -> None:
    with pytest.raises(NotFoundError):
        store.write_file("acme", "resources/x.md", b"text", mode, T0, session=None, stop_at=1)  # type: ignore[arg-type]

    assert store.get_file("acme", "resources/x.md") is None


def test_replace_overwrites_and_append_adds_to_the_end(store: Store) -> None:
    store.write_file("acme", "resources/x.md", b"one", "create", T0, session=None, stop_at=1)

    store.write_file(
        "acme", "resources/x.md", "twö".encode(), "replace", T0 + 1, session=None, stop_at=1
    )
    row = store.write_file(
        "acme", "resources/x.md", "+thrée".encode(), "append", T0 + 2, session=None, stop_at=1
    )

    assert content(store, "acme", "resources/x.md") == "twö+thrée".encode()
    assert (row.size, row.created_at, row.updated_at) == (11, T0, T0 + 2)
    store.write_file("acme", "resources/x.md", b"!", "append", T0 + 3, session=None, stop_at=1)
    assert content(store, "acme", "resources/x.md") == "twö+thrée!".encode()


def test_upsert_creates_then_replaces(store: Store) -> None:
    store.write_file("acme", "resources/u/x.md", b"v1", "upsert", T0, session=None, stop_at=1)
    assert content(store, "acme", "resources/u/x.md") == b"v1"

    store.write_file("acme", "resources/u/x.md", b"v2", "upsert", T0, session=None, stop_at=1)

    assert content(store, "acme", "resources/u/x.md") == b"v2"


def test_writes_refuse_directories_in_the_way(store: Store) -> None:
    store.write_file("acme", "resources/d/f.md", b"f", "create", T0, session=None, stop_at=1)

    with pytest.raises(InvalidArgumentError):  # the target is a directory
        store.write_file("acme", "resources/d", b"x", "upsert", T0, session=None, stop_at=1)
    with pytest.raises(InvalidArgumentError):  # a parent is a file
        store.write_file("acme", "resources/d/f.md/g", b"x", "create", T0, session=None, stop_at=1)

    assert store.get_file("acme", "resources/d/f.md/g") is None
    assert content(store, "acme", "resources/d/f.md") == b"f"


def test_a_session_file_belongs_to_its_session(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)

    path = write_session_file(store, ALICE, "s1", "sub/notes.md", "hi")

    assert [f.path for f in store.session_files(ALICE, "s1")] == [
        session_key(ALICE, "s1", "sub"),
        path,
    ]
    with pytest.raises(NotFoundError):
        write_session_file(store, ALICE, "ghost", "notes.md", "nobody home")
    assert store.get_file("acme", session_key(ALICE, "ghost", "notes.md")) is None


def test_removing_a_file_and_a_missing_file(store: Store) -> None:
    store.write_file("acme", "resources/x.md", b"x", "create", T0, session=None, stop_at=1)

    store.remove("acme", "resources/x.md", recursive=False)

    assert store.get_file("acme", "resources/x.md") is None
    with pytest.raises(NotFoundError):
        store.remove("acme", "resources/x.md", recursive=False)


def test_a_non_empty_directory_needs_recursive_remove(store: Store) -> None:
    store.write_file("acme", "resources/d/a/b.md", b"b", "create", T0, session=None, stop_at=1)

    with pytest.raises(InvalidArgumentError):
        store.remove("acme", "resources/d", recursive=False)
    assert content(store, "acme", "resources/d/a/b.md") == b"b"

    store.remove("acme", "resources/d", recursive=True)

    assert store.get_file("acme", "resources/d") is None
    assert store.list_descendants("acme", "resources") == []


def test_recursive_remove_spares_siblings_sharing_a_name_prefix(store: Store) -> None:
    for path in ("resources/notes/a.md", "resources/notes2.md", "resources/notes-old/b.md"):
        store.write_file("acme", path, b"x", "create", T0, session=None, stop_at=1)
    store.write_file("acme", "resources/notes.md", b"x", "create", T0, session=None, stop_at=1)

    store.remove("acme", "resources/notes", recursive=True)

    assert [r.path for r in store.list_descendants("acme", "resources")] == [
        "resources/notes-old",
        "resources/notes-old/b.md",
        "resources/notes.md",
        "resources/notes2.md",
    ]


def test_removing_an_empty_directory_needs_no_recursion(store: Store) -> None:
    store.make_dir("acme", "resources/empty", T0, session=None, stop_at=1)

    store.remove("acme", "resources/empty", recursive=False)

    assert store.get_file("acme", "resources/empty") is None


def test_moving_a_directory_carries_its_descendants(store: Store) -> None:
    store.write_file("acme", "resources/a/x.md", b"x", "create", T0, session=None, stop_at=1)
    store.write_file("acme", "resources/a/sub/y.md", b"y", "create", T0, session=None, stop_at=1)

    store.move("acme", "resources/a", "resources/new/b", T0 + 1, session=None, stop_at=1)

    assert [r.path for r in store.list_descendants("acme", "resources")] == [
        "resources/new",
        "resources/new/b",
        "resources/new/b/sub",
        "resources/new/b/sub/y.md",
        "resources/new/b/x.md",
    ]
    assert content(store, "acme", "resources/new/b/sub/y.md") == b"y"
    assert [r.path for r in store.list_children("acme", "resources/new/b")] == [
        "resources/new/b/sub",
        "resources/new/b/x.md",
    ]


def test_move_refuses_missing_sources_taken_targets_and_moves_into_itself(store: Store) -> None:
    store.write_file("acme", "resources/a/x.md", b"x", "create", T0, session=None, stop_at=1)
    store.write_file("acme", "resources/b.md", b"b", "create", T0, session=None, stop_at=1)
    before = store.list_descendants("acme", "resources")

    with pytest.raises(NotFoundError):
        store.move("acme", "resources/ghost", "resources/c", T0, session=None, stop_at=1)
    with pytest.raises(AlreadyExistsError):
        store.move("acme", "resources/a/x.md", "resources/b.md", T0, session=None, stop_at=1)
    with pytest.raises(InvalidArgumentError):
        store.move("acme", "resources/a", "resources/a/inner", T0, session=None, stop_at=1)

    assert store.list_descendants("acme", "resources") == before


def test_a_file_moved_out_of_a_session_survives_its_deletion(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)
    src = write_session_file(store, ALICE, "s1", "keep.md", "precious")

    store.move("acme", src, "user/alice/resources/keep.md", T0, session=None, stop_at=3)
    counts = store.delete_session(ALICE, "s1", T0 + 1)

    assert counts.files == 0
    assert content(store, "acme", "user/alice/resources/keep.md") == b"precious"


def test_files_are_scoped_per_account(store: Store) -> None:
    store.write_file("acme", "agent/memories/x.md", b"acme", "create", T0, session=None, stop_at=2)
    store.write_file(
        "globex", "agent/memories/x.md", b"globex", "create", T0, session=None, stop_at=2
    )

    store.remove("acme", "agent/memories/x.md", recursive=False)

    assert store.get_file("acme", "agent/memories/x.md") is None
    assert content(store, "globex", "agent/memories/x.md") == b"globex"


# ---------------------------------------------------------------------------- owner isolation


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

    assert (counts.messages, counts.memories_kept) == (1, 0)
    assert store.get_session(ALICE, "shared-id") is not None
    assert store.get_session(ALICE_AT_GLOBEX, "shared-id") is not None
    assert content(store, "acme", "user/alice/memories/profile/name.md") == b"Alice"


# ---------------------------------------------------------------------------- idempotency keys


def test_a_retried_append_with_the_same_key_is_stored_once(store: Store) -> None:
    first = store.append_messages(
        ALICE, "s1", [message("hello")], T0, auto_create=True, idempotency_key="k-1"
    )
    again = store.append_messages(
        ALICE, "s1", [message("hello")], T0 + 1, auto_create=True, idempotency_key="k-1"
    )

    assert again.message_count == first.message_count == 1
    assert texts_of(store, ALICE, "s1") == ["hello"]


def test_an_idempotency_key_belongs_to_its_owner(store: Store) -> None:
    store.append_messages(ALICE, "s1", [message("a")], T0, auto_create=True, idempotency_key="k")
    store.append_messages(
        BOB, "s1", [message("b", owner=BOB)], T0, auto_create=True, idempotency_key="k"
    )

    assert texts_of(store, BOB, "s1") == ["b"]


def test_reusing_a_key_for_another_request_is_a_conflict(store: Store) -> None:
    store.append_messages(ALICE, "s1", [message("a")], T0, auto_create=True, idempotency_key="k")

    with pytest.raises(ConflictError):
        store.commit(ALICE, "s1", 0, T0, new_task_id(), idempotency_key="k")

    assert store.archives(ALICE, "s1") == []


def test_a_retried_commit_with_the_same_key_archives_once(store: Store) -> None:
    add(store, ALICE, "s1", "one", "two")
    first = store.commit(ALICE, "s1", 0, T0, new_task_id(), idempotency_key="c")
    add(store, ALICE, "s1", "three")
    again = store.commit(ALICE, "s1", 0, T0, new_task_id(), idempotency_key="c")

    assert again.archive_no == first.archive_no == 1
    assert again.task_id == first.task_id
    assert [a.archive_no for a in store.archives(ALICE, "s1")] == [1]
    assert texts_of(store, ALICE, "s1") == ["three"]
