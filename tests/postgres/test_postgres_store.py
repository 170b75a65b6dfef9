"""What is particular to the PostgreSQL store (the shared behaviour is the contract suite in
``tests/store``): byte-wise ordering whatever the database's locale, message bodies that JSON
functions must read, values PostgreSQL cannot hold, the integrity check finding damage, the
schema where it was asked to be, erasure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from skald_core.errors import InvalidArgumentError
from skald_core.identity import Identity
from skald_core.schemas import AddMessageRequest, TextPart, ToolPart
from skald_core.service.messages import build_message
from skald_core.store.model import Owner

from .support import DATABASE_URL, fresh_schema, query

ALICE = Owner("acme", "alice")
T0 = 1_700_000_000.0


@pytest.fixture
def store() -> Iterator[Any]:
    from skald_core.store.postgres import PostgresStore

    with fresh_schema("skald_pg") as schema:
        opened = PostgresStore(DATABASE_URL, schema=schema, max_size=2)
        try:
            yield opened
        finally:
            opened.close()


def test_ids_and_paths_order_bytewise_as_in_sqlite(store: Any) -> None:
    for sid in ("b", "B", "a-1", "a_1", "a", "ä"):
        store.create_session(ALICE, sid, T0)
    listed = [r.session_id for r in store.list_sessions(ALICE, limit=None, after=None)]
    assert listed == sorted(["b", "B", "a-1", "a_1", "a", "ä"], key=str.encode, reverse=True)

    for path in ("resources/x/b.md", "resources/x/B.md", "resources/x-y.md", "resources/x0.md"):
        store.write_file("acme", path, b"", "create", T0, session=None, stop_at=1)
    below = [r.path for r in store.list_descendants("acme", "resources/x")]
    assert below == ["resources/x/B.md", "resources/x/b.md"]  # not x-y.md, not x0.md


def test_tool_records_are_counted_from_bodies_with_nul_escapes(store: Any) -> None:
    who = Identity(account="acme", user="alice")
    messages = [
        build_message(
            AddMessageRequest(
                role="assistant",
                parts=[TextPart(text="nul \x00 inside"), ToolPart(tool_id="t1", tool_name="x")],
            ),
            who,
            T0,
        ),
        build_message(
            AddMessageRequest(role="assistant", parts=[ToolPart(tool_id="t2", tool_name="y")]),
            who,
            T0,
        ),
    ]
    store.append_messages(ALICE, "s1", messages, T0, auto_create=True)

    counts = store.delete_session(ALICE, "s1", T0)

    assert (counts.deleted.messages, counts.deleted.tool_records) == (2, 2)


def test_one_message_is_sent_as_plain_values_and_stored_as_in_a_batch(
    store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An append of ONE message (the common one, creating its session or not) binds its seven
    values as plain parameters, not as arrays (psycopg dumps arrays in Python: a third of an
    append's CPU in the client), and stores exactly the row a batch would."""
    import psycopg

    who = Identity(account="acme", user="alice")
    requests = [
        AddMessageRequest(role="user", parts=[TextPart(text="héllo \x00 nul")]),
        AddMessageRequest(
            role="assistant",
            parts=[TextPart(text="x" * 5000), ToolPart(tool_id="t1", tool_name="x")],
        ),
    ]
    sent: list[tuple[Any, ...]] = []
    execute = psycopg.Connection.execute

    def spy(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        sent.append(tuple(params or ()))
        return execute(self, query, params, **kw)

    monkeypatch.setattr(psycopg.Connection, "execute", spy)
    for request in requests:  # the first creates the session, the second bumps it
        store.append_messages(ALICE, "one", [build_message(request, who, T0)], T0, auto_create=True)
    assert sent and not [p for p in sent if any(isinstance(v, list) for v in p)]
    monkeypatch.undo()
    store.append_messages(
        ALICE, "batch", [build_message(r, who, T0) for r in requests], T0, auto_create=True
    )

    def stored(sid: str) -> list[tuple[Any, ...]]:
        return query(
            store.schema,
            "SELECT m.role, m.tokens, m.is_turn, m.tool_parts, m.context_parts, m.body, "
            "m.archive_no FROM messages m JOIN sessions s ON s.pk = m.session_pk "
            "WHERE s.session_id = %s ORDER BY m.pk",
            (sid,),
        )

    def without_ids(sid: str) -> list[tuple[Any, ...]]:
        return [(*r[:5], _body_without_id(r[5]), r[6]) for r in stored(sid)]

    assert len(stored("one")) == 2
    assert without_ids("one") == without_ids("batch")
    one, batch = store.get_session(ALICE, "one"), store.get_session(ALICE, "batch")
    assert (one.message_count, one.pending_tokens, one.total_turns) == (
        batch.message_count,
        batch.pending_tokens,
        batch.total_turns,
    )


def _body_without_id(body: bytes) -> Any:
    import json

    decoded = json.loads(bytes(body))
    decoded.pop("id", None)
    return decoded


def test_text_postgresql_cannot_hold_is_invalid_argument(store: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        store.create_session(ALICE, "nul\x00id", T0)
    assert store.list_sessions(ALICE, limit=None, after=None) == []


def test_the_integrity_check_finds_broken_counters_and_orphans(store: Any) -> None:
    store.append_messages(
        ALICE,
        "s1",
        [build_message(AddMessageRequest(role="user", content="hi"), Identity(), T0)],
        T0,
        auto_create=True,
    )
    assert store.check_integrity() == []
    query(store.schema, "UPDATE sessions SET message_count = 5 RETURNING pk")
    query(
        store.schema,
        "INSERT INTO files (account, path, parent, is_dir, created_at, updated_at) VALUES "
        "('acme', 'user/alice/sessions/gone/x.md', 'user/alice/sessions/gone', FALSE, 0, 0) "
        "RETURNING pk",
    )

    problems = store.check_integrity()

    assert any("counters" in p for p in problems)
    assert any("not tied to a session" in p for p in problems)


def test_tables_live_in_the_named_schema_only(store: Any) -> None:
    tables = query(
        store.schema,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
        (store.schema,),
    )
    names = {t[0] for t in tables}
    assert {
        "sessions",
        "messages",
        "tasks",
        "files",
        "api_keys",
        "skald_schema_migrations",
    } <= names
    public = query(
        store.schema,
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_name = 'skald_schema_migrations'",
    )
    assert public == [(0,)]


def test_erasure_removes_every_row_of_the_user(store: Any) -> None:
    keys = store.key_store()
    keys.create_key("acme", "alice", "user", False, T0)
    keys.create_key("acme", "bob", "user", False, T0)
    for owner in (ALICE, Owner("acme", "bob")):
        store.append_messages(
            owner,
            "s1",
            [build_message(AddMessageRequest(role="user", content="secret"), Identity(), T0)],
            T0,
            auto_create=True,
        )
        store.write_file(
            "acme", f"user/{owner.user}/memories/x.md", b"m", "create", T0, session=None, stop_at=3
        )

    counts = store.erase_user("acme", "alice", T0, actor=Identity(role="root"))

    assert (counts.sessions, counts.messages, counts.memories, counts.keys) == (1, 1, 1, 1)
    assert store.get_session(ALICE, "s1") is None
    assert store.list_descendants("acme", "user/alice") == []
    assert [k.user for k in keys.list_keys("acme")] == ["bob"]
    assert store.get_session(Owner("acme", "bob"), "s1") is not None
    assert store.list_audit("acme", action="erase_user")[0].user == "alice"
    assert store.check_integrity() == []


def test_calls_one_after_another_reuse_the_connection_given_back_last() -> None:
    """Three connections open; calls made one at a time all run on the one given back last,
    so it stays warm (statements prepared, the backend's caches full) and the others idle."""
    import threading

    from skald_core.store.postgres import PostgresStore

    with fresh_schema("skald_pg") as schema:
        store = PostgresStore(DATABASE_URL, schema=schema, min_size=1, max_size=3)
        try:
            together = threading.Barrier(3)

            def backend_pid() -> int:
                return int(store._tx(lambda c: c.one("SELECT pg_backend_pid()"), write=False))

            def held_at_once() -> None:
                def hold(c: Any) -> None:
                    together.wait(10)  # three calls at once: the pool grows to three
                    c.one("SELECT 1")

                store._tx(hold, write=False)

            threads = [threading.Thread(target=held_at_once) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            used = [backend_pid() for _ in range(12)]
        finally:
            store.close()

    assert len(set(used)) == 1, used
