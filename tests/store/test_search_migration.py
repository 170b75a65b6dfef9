"""Migration 5 (the full-text index) indexes what a store of version 4 already holds, on both
backends: a store is filled, its index taken away as if it had never been made, and opening
it again finds everything."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skald_core.store.model import Owner
from skald_core.store.protocol import Store
from skald_core.store.schema import SCHEMA_VERSION
from skald_core.store.sqlite import DB_FILENAME, SQLiteStore

from .helpers import ALICE, T0, add

SQLITE_INDEX = (
    "DROP TABLE files_fts",
    *(f"DROP TRIGGER files_fts_{op}" for op in ("insert", "delete", "update")),
    "DELETE FROM skald_schema_migrations WHERE version >= 5",  # and the later ones
)
POSTGRES_INDEX = (
    "DROP TRIGGER files_tsv ON files",
    "ALTER TABLE files DROP COLUMN search_tsv",
    "DROP FUNCTION skald_files_tsv, skald_file_text",
    "DELETE FROM skald_schema_migrations WHERE version >= 5",  # and the later ones
)


def fill(store: Store) -> None:
    add(store, ALICE, "s1", "We talked about the quagga herd")
    store.write_file(
        "acme",
        "user/alice/memories/profile/q.md",
        b"Likes quaggas",
        "create",
        T0,
        session=None,
        stop_at=3,
    )


def found(store: Store, owner: Owner = ALICE) -> tuple[list[str], list[str]]:
    files = [h.path for h in store.search_files("acme", ["user/alice"], "quagga", 10)]
    return files, [h.session_id for h in store.search_messages(owner, None, "quagga", 10)]


def sqlite_v3(tmp_path: Path) -> Callable[[], Store]:
    store = SQLiteStore(tmp_path)
    fill(store)
    store.close()
    with sqlite3.connect(tmp_path / DB_FILENAME) as raw:
        for statement in SQLITE_INDEX:
            raw.execute(statement)
    return lambda: SQLiteStore(tmp_path)


def postgres_v3(tmp_path: Path) -> Callable[[], Store]:
    from postgres.support import DATABASE_URL, drop_schema, new_schema_name, require_postgres

    require_postgres()
    from skald_core.store.postgres import PostgresStore

    schema = new_schema_name()
    store = PostgresStore(DATABASE_URL, schema=schema, max_size=2)
    fill(store)
    store.close()
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as raw:
        raw.execute("SELECT set_config('search_path', %s, false)", (schema,))
        for statement in POSTGRES_INDEX:
            raw.execute(statement)  # type: ignore[arg-type]

    class Dropped(PostgresStore):
        def close(self) -> None:
            try:
                super().close()
            finally:
                drop_schema(schema)

    return lambda: Dropped(DATABASE_URL, schema=schema, max_size=2)


@pytest.mark.parametrize("make", [sqlite_v3, postgres_v3], ids=["sqlite", "postgres"])
def test_migration_4_indexes_what_is_already_there(tmp_path: Path, make: Any) -> None:
    reopen = make(tmp_path)
    store = reopen()
    try:
        assert store.schema_version() == SCHEMA_VERSION
        assert found(store) == (["user/alice/memories/profile/q.md"], ["s1"])
        assert store.check_integrity() == []
    finally:
        store.close()


def test_messages_carry_no_index_sqlite(tmp_path: Path) -> None:
    # The write and delete paths of conversations pay nothing for search: no trigger on
    # messages, no FTS table of them (search_sql.py says why).
    SQLiteStore(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_FILENAME) as raw:
        on_messages = raw.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages'"
        ).fetchall()
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    assert on_messages == []
    assert "files_fts" in tables
    assert not any(t.startswith("messages_fts") for t in tables)


def test_messages_carry_no_index_postgres(tmp_path: Path) -> None:
    from postgres.support import DATABASE_URL, drop_schema, new_schema_name, require_postgres

    require_postgres()
    import psycopg

    from skald_core.store.postgres import PostgresStore

    schema = new_schema_name()
    PostgresStore(DATABASE_URL, schema=schema, max_size=2).close()
    try:
        with psycopg.connect(DATABASE_URL, autocommit=True) as raw:
            triggers = raw.execute(
                "SELECT event_object_table FROM information_schema.triggers "
                "WHERE trigger_schema = %s",
                (schema,),
            ).fetchall()
            columns = raw.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = 'messages'",
                (schema,),
            ).fetchall()
    finally:
        drop_schema(schema)
    on = {t[0] for t in triggers}
    assert "files" in on and "messages" not in on  # (sessions: the users' session counts)
    assert "search_tsv" not in {c[0] for c in columns}
