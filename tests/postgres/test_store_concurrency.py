"""The PostgreSQL store under concurrency, in one process: two ``PostgresStore`` objects (two
connection pools, as two replicas would have) on one schema, driven from many threads.

What SQLite gets from its single writer, PostgreSQL must get from row and advisory locks:
no lost append, contiguous archives, a task claimed once, an idempotency key honoured across
stores, no append landing in a deleted session, migrations that tolerate simultaneous starts.
Plus the failure path: an unreachable database is ``StorageUnavailableError`` with
``retry_after``, quickly, and the store serves again when it is back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest

from skald_core.errors import NotFoundError, ResourceExhaustedError, StorageUnavailableError
from skald_core.identity import Identity
from skald_core.ids import new_task_id
from skald_core.schemas import AddMessageRequest, DeleteOptions, message_decoder
from skald_core.service.messages import build_message
from skald_core.store.model import MemoryFact, NewMessage, Owner, Quota

from .proxy import TcpProxy
from .support import DATABASE_URL, fresh_schema, query, require_postgres

ALICE = Owner("acme", "alice")
T0 = 1_700_000_000.0


def message(text: str) -> NewMessage:
    return build_message(AddMessageRequest(role="user", content=text), Identity(), T0)


def texts(rows: Any) -> list[str]:
    return [message_decoder.decode(r.body).parts[0].text for r in rows]  # type: ignore[union-attr]


@pytest.fixture
def schema() -> Iterator[str]:
    with fresh_schema("skald_cc") as name:
        yield name


@pytest.fixture
def stores(schema: str) -> Iterator[list[Any]]:
    from skald_core.store.postgres import PostgresStore

    opened = [PostgresStore(DATABASE_URL, schema=schema, max_size=4) for _ in range(2)]
    try:
        yield opened
    finally:
        for store in opened:
            store.close()


def run_all(n: int, fn: Any) -> list[Any]:
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, range(n)))


def test_appends_through_two_stores_lose_nothing_and_keep_each_writers_order(
    stores: list[Any],
) -> None:
    def writer(w: int) -> None:
        store = stores[w % 2]
        for i in range(40):
            store.append_messages(ALICE, "s1", [message(f"{w}:{i}")], T0, auto_create=True)

    run_all(8, writer)

    stored = texts(stores[0].messages(ALICE, "s1"))
    assert len(stored) == 320 and len(set(stored)) == 320
    for w in range(8):
        mine = [int(t.split(":")[1]) for t in stored if t.startswith(f"{w}:")]
        assert mine == list(range(40))
    row = stores[1].get_session(ALICE, "s1")
    assert row is not None and row.message_count == row.total_message_count == 320
    assert stores[0].check_integrity() == []


def test_concurrent_commits_archive_each_message_once(stores: list[Any]) -> None:
    def worker(w: int) -> int:
        store = stores[w % 2]
        archived = 0
        for i in range(25):
            store.append_messages(ALICE, "s1", [message(f"{w}:{i}")], T0, auto_create=True)
            if i % 3 == 2:
                outcome = store.commit(ALICE, "s1", 0, T0, new_task_id())
                archived += outcome.archive_no is not None
        return archived

    archived = sum(run_all(6, worker))

    numbers = [a.archive_no for a in stores[0].archives(ALICE, "s1")]
    assert numbers == list(range(1, archived + 1))
    everything = texts(stores[1].messages(ALICE, "s1", archive_no=None))
    assert sorted(everything) == sorted(f"{w}:{i}" for w in range(6) for i in range(25))
    assert len(stores[0].runnable_tasks(T0 + 1, limit=1000)) == archived
    assert stores[0].check_integrity() == []


def test_a_commit_archives_an_append_that_committed_while_it_waited_for_the_lock(
    schema: str, stores: list[Any]
) -> None:
    """The one-statement commit reads the live messages in the snapshot its statement began
    with; an append that committed while it waited for the session's lock is not in it. It
    must not archive only part of the live messages: it commits again with a fresh snapshot."""
    import psycopg

    store = stores[0]
    store.append_messages(ALICE, "s1", [message("m1"), message("m2")], T0, auto_create=True)
    late = message("late")
    with psycopg.connect(DATABASE_URL, autocommit=True) as other:
        other.execute("SELECT set_config('search_path', %s, false)", (f'"{schema}"',))
        other.execute("BEGIN")
        (pk,) = other.execute(
            "SELECT pk FROM sessions WHERE session_id = 's1' FOR UPDATE"
        ).fetchone()  # type: ignore[misc]
        with ThreadPoolExecutor(max_workers=1) as pool:
            done = pool.submit(store.commit, ALICE, "s1", 0, T0 + 1, new_task_id())
            deadline = time.monotonic() + 10
            while not query(  # the commit waits for the lock, its snapshot taken
                schema,
                "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'WITH s AS %%' AND datname = current_database()",
            ):
                assert time.monotonic() < deadline and not done.done()
                time.sleep(0.01)
            # An append, as the store makes one: its message and the session's counters.
            other.execute(
                "INSERT INTO messages (session_pk, message_id, role, tokens, is_turn, "
                "tool_parts, context_parts, body) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (pk, late.message_id, late.role, late.tokens, late.is_turn, late.tool_parts,
                 late.context_parts, late.body),
            )  # fmt: skip
            other.execute(
                "UPDATE sessions SET message_count = message_count + 1, total_message_count = "
                "total_message_count + 1, pending_tokens = pending_tokens + %s, total_tokens = "
                "total_tokens + %s, total_turns = total_turns + %s, message_bytes = "
                "message_bytes + %s WHERE pk = %s",
                (late.tokens, late.tokens, int(late.is_turn), len(late.body), pk),
            )
            other.execute("COMMIT")
            outcome = done.result(timeout=30)

    assert outcome.archive_no == 1 and outcome.session.message_count == 0
    assert texts(store.messages(ALICE, "s1", archive_no=1)) == ["m1", "m2", "late"]
    assert store.messages(ALICE, "s1") == []
    (archive,) = store.archives(ALICE, "s1")
    assert archive.message_count == 3 and archive.last_message_id == late.message_id
    assert store.check_integrity() == []


def test_each_task_is_claimed_by_exactly_one_store(stores: list[Any]) -> None:
    task_ids = []
    for n in range(30):  # 30 users: one user's tasks run one at a time (the next test)
        owner = Owner("acme", f"user{n}")
        stores[0].append_messages(owner, "s", [message("hello")], T0, auto_create=True)
        task_ids.append(stores[0].commit(owner, "s", 0, T0, new_task_id()).task_id)
    claims: list[tuple[int, str]] = []
    lock = threading.Lock()

    def claimer(w: int) -> None:
        store = stores[w % 2]
        for task_id in store.runnable_tasks(T0 + 1, limit=100):
            got = store.claim_task(task_id, T0 + 1, 30.0)
            if got is not None:
                with lock:
                    claims.append((w, task_id))

    run_all(8, claimer)

    assert sorted(t for _, t in claims) == sorted(task_ids)  # every task once, none twice
    assert stores[1].runnable_tasks(T0 + 2) == []
    # Leases expire: each task can be taken again exactly once more.
    retaken = run_all(6, lambda w: stores[w % 2].claim_task(task_ids[0], T0 + 40, 30.0))
    assert sum(r is not None for r in retaken) == 1


def test_two_stores_never_run_two_tasks_of_one_user_at_once(stores: list[Any]) -> None:
    # Each round, two tasks of one user, claimed at the same moment by two stores (two
    # replicas): one claim wins; the other task waits until the first is done.
    for round_no in range(15):
        owner = Owner("acme", f"r{round_no}")
        tasks = []
        for sid in ("a", "b"):
            stores[0].append_messages(owner, sid, [message("hi")], T0, auto_create=True)
            tasks.append(stores[0].commit(owner, sid, 0, T0, new_task_id()).task_id)
        start = threading.Barrier(2)

        def claimer(w: int, tasks: list[str] = tasks, start: threading.Barrier = start) -> Any:
            start.wait()
            return stores[w].claim_task(tasks[w], T0 + 1, 30.0)

        claimed = [c for c in run_all(2, claimer) if c is not None]

        assert len(claimed) == 1, round_no
        (first,) = claimed
        other = tasks[1 - tasks.index(first.task.task_id)]
        assert stores[1].claim_task(other, T0 + 2, 30.0) is None  # still running
        stores[0].complete_extraction(first.task.task_id, first.claim, [], b"{}", T0 + 3)
        assert stores[1].claim_task(other, T0 + 4, 30.0) is not None


def test_the_last_places_of_a_session_quota_are_taken_once_across_stores(
    stores: list[Any],
) -> None:
    quota = Quota(user_sessions=10)
    for n in range(7):
        stores[0].create_session(ALICE, f"held{n}", T0, quota=quota)
    start = threading.Barrier(12)

    def create(w: int) -> bool:
        start.wait()
        try:
            if w % 2:
                stores[w % 2].create_session(ALICE, f"new{w}", T0, quota=quota)
            else:
                stores[w % 2].append_messages(
                    ALICE, f"new{w}", [message("hi")], T0, auto_create=True, quota=quota
                )
        except ResourceExhaustedError:
            return False
        return True

    made = run_all(12, create)

    assert sum(made) == 3  # three places were left, and twelve asked at once
    assert len(stores[1].list_sessions(ALICE, limit=None, after=None)) == 10
    assert stores[0].check_integrity() == []


def test_one_idempotency_key_appends_once_across_stores(stores: list[Any]) -> None:
    answers = run_all(
        8,
        lambda w: stores[w % 2].append_messages(
            ALICE, "s1", [message("once")], T0, auto_create=True, idempotency_key="k-1"
        ),
    )

    assert texts(stores[0].messages(ALICE, "s1")) == ["once"]
    assert {a.message_count for a in answers} == {1}


def test_an_append_never_lands_in_a_deleted_session(stores: list[Any]) -> None:
    for round_no in range(10):
        sid = f"r{round_no}"
        stores[0].create_session(ALICE, sid, T0)
        deleted = threading.Event()
        late: list[str] = []

        def appender(
            w: int, sid: str = sid, deleted: threading.Event = deleted, late: list[str] = late
        ) -> None:
            store = stores[w % 2]
            for i in range(200):
                after_delete = deleted.is_set()
                try:
                    store.append_messages(ALICE, sid, [message(f"{w}:{i}")], T0, auto_create=False)
                except NotFoundError:
                    return
                if after_delete:
                    late.append(f"{w}:{i}")

        threads = [threading.Thread(target=appender, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.02)
        stores[1].delete_session(ALICE, sid, T0)
        deleted.set()
        for t in threads:
            t.join()

        assert late == [], f"appends acknowledged after the delete: {late}"
        assert stores[0].get_session(ALICE, sid) is None
    assert stores[0].check_integrity() == []


def test_extractions_of_one_user_from_two_stores_serialise(stores: list[Any]) -> None:
    tasks = []
    for n in range(12):
        stores[0].append_messages(ALICE, f"s{n}", [message("hi")], T0, auto_create=True)
        tasks.append(stores[0].commit(ALICE, f"s{n}", 0, T0, new_task_id()).task_id)
    facts = [
        MemoryFact(path=f"user/alice/memories/profile/f{k}.md", category="profile", content="x")
        for k in range(5)
    ]

    # One user's tasks are claimed one at a time, each once the last one's lease ran out
    # (its worker gone quiet); all twelve then complete at once, some of their sessions
    # being deleted meanwhile.
    claims = []
    for n in range(12):
        claimed = stores[n % 2].claim_task(tasks[n], T0 + 31 * n, 30.0)
        assert claimed is not None
        claims.append(claimed)

    def extract(n: int) -> str:
        store = stores[n % 2]
        claimed = claims[n]
        if n % 4 == 3:  # some sessions go while others extract (forgetting their memories)
            store.delete_session(ALICE, f"s{n}", T0, DeleteOptions(forget_memories=True))
        outcome = store.complete_extraction(tasks[n], claimed.claim, facts, b"{}", T0)
        return str(outcome.status)

    statuses = run_all(12, extract)

    assert statuses.count("completed") == 9 and statuses.count("stale") == 3
    rows = query(
        stores[0].schema,
        "SELECT session_id, COUNT(*) FROM memory_sources GROUP BY session_id ORDER BY 1",
    )
    assert {r[0] for r in rows} == {f"s{n}" for n in range(12) if n % 4 != 3}
    assert all(r[1] == 5 for r in rows)
    assert stores[0].check_integrity() == []


def test_replicas_starting_together_migrate_once(schema: str) -> None:
    from skald_core.store.postgres import PostgresStore
    from skald_core.store.schema import MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_VERSION

    barrier = threading.Barrier(6)

    def start(_: int) -> int:
        barrier.wait()
        store = PostgresStore(DATABASE_URL, schema=schema, min_size=0, max_size=1)
        try:
            return int(store.schema_version())
        finally:
            store.close()

    assert run_all(6, start) == [SCHEMA_VERSION] * 6
    rows = query(schema, f"SELECT version FROM {MIGRATIONS_TABLE} ORDER BY version")
    assert [r[0] for r in rows] == [m.version for m in MIGRATIONS]


def test_a_newer_schema_is_refused(schema: str) -> None:
    from skald_core.store.postgres import PostgresStore
    from skald_core.store.schema import MIGRATIONS_TABLE

    PostgresStore(DATABASE_URL, schema=schema).close()
    query(schema, f"INSERT INTO {MIGRATIONS_TABLE} VALUES (999, 'future', 0) RETURNING version")

    with pytest.raises(StorageUnavailableError) as caught:
        PostgresStore(DATABASE_URL, schema=schema)

    assert caught.value.details["reason"] == "schema_too_new"


def _database() -> tuple[str, int]:
    target = urlsplit(DATABASE_URL)
    return target.hostname or "127.0.0.1", target.port or 5432


def _via(proxy: TcpProxy) -> str:
    """DATABASE_URL, through ``proxy``'s port."""
    return DATABASE_URL.replace(
        urlsplit(DATABASE_URL).netloc.split("@")[-1], f"127.0.0.1:{proxy.port}"
    )


def test_an_unreachable_database_is_unavailable_quickly_with_retry_after() -> None:
    require_postgres()
    with TcpProxy(_database()) as never_started:  # a reserved port nobody listens on
        _unreachable_quickly(_via(never_started))


def _unreachable_quickly(url: str) -> None:
    from skald_core.store.postgres import PostgresStore

    started = time.monotonic()
    with pytest.raises(StorageUnavailableError) as caught:
        PostgresStore(url)
    assert time.monotonic() - started < 6
    assert caught.value.details["reason"] == "unreachable"
    assert caught.value.details["retry_after"] >= 1
    assert "password" not in caught.value.message

    lazy = PostgresStore(url, lazy=True)  # the server's way: open now, serve when it is back
    try:
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(StorageUnavailableError) as caught:
                lazy.get_session(ALICE, "s1")
            assert time.monotonic() - started < 3
            assert caught.value.details["retry_after"] >= 1
    finally:
        lazy.close()


def test_the_store_recovers_when_the_database_comes_back(schema: str) -> None:
    from skald_core.store.postgres import PostgresStore

    with TcpProxy(_database()) as proxy:
        url = _via(proxy)
        store = PostgresStore(url, schema=schema, lazy=True, max_size=3, timeout=2.0)
        try:
            with pytest.raises(StorageUnavailableError):
                store.append_messages(ALICE, "s1", [message("early")], T0, auto_create=True)
            proxy.start()
            _eventually(
                lambda: store.append_messages(ALICE, "s1", [message("one")], T0, auto_create=True)
            )

            proxy.stop()
            with pytest.raises(StorageUnavailableError) as caught:
                for _ in range(5):  # the first calls may find their connection dead
                    store.append_messages(ALICE, "s1", [message("down")], T0, auto_create=True)
            assert caught.value.details["retry_after"] >= 1

            proxy.start()
            _eventually(
                lambda: store.append_messages(ALICE, "s1", [message("two")], T0, auto_create=True)
            )
            assert texts(store.messages(ALICE, "s1")) == ["one", "two"]
        finally:
            store.close()


def _eventually(fn: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except StorageUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
