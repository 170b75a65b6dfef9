"""Stores written by Skald 0.1 upgrade in place, and read back exactly what 0.1 read.

``legacy/v0_1`` holds an SQLite data directory and a ``pg_dump`` of a PostgreSQL schema, both
written by Skald 0.1 (``legacy/make_fixtures.py``, commit 0b5ce35), and ``expected.json``: what
0.1's store read back from them through the storage protocol (``legacy/snapshot.py``). Each
test copies a fixture, opens it with the current store (which migrates it) and compares every
session, message, archive, extraction, memory, file, task, key and audit row with that.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from skald_core.identity import Identity
from skald_core.store import schema
from skald_core.store.model import Owner
from skald_core.store.sqlite import DB_FILENAME, SQLiteStore

sys.path.insert(0, str(Path(__file__).parent / "legacy"))
from snapshot import snapshot

FIXTURES = Path(__file__).parent / "legacy" / "v0_1"
FIXTURE_SCHEMA = "skald_legacy_fixture"  # the schema name inside postgres.sql
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "expected.json").read_text())


def tasks_of(backend: str) -> list[tuple[str, str, str]]:
    return [tuple(t) for t in EXPECTED["tasks"][backend]]  # type: ignore[misc]


def sqlite_schema(path: Path) -> dict[str, object]:
    """Each table's columns (name, type, not null, default, key), foreign keys and WITHOUT
    ROWID flag, and each index's definition."""
    out: dict[str, object] = {}
    with sqlite3.connect(path) as raw:
        for kind, name, sql in raw.execute("SELECT type, name, sql FROM sqlite_master"):
            if name == "sqlite_sequence":
                continue
            if kind == "table":
                out[name] = (
                    [tuple(r[1:]) for r in raw.execute(f"PRAGMA table_info({name})")],
                    [tuple(r[2:]) for r in raw.execute(f"PRAGMA foreign_key_list({name})")],
                    "WITHOUT ROWID" in (sql or "").upper(),
                )
            else:
                out[name] = (
                    kind,
                    [tuple(r) for r in raw.execute(f"PRAGMA index_xinfo({name})")],
                    " ".join((sql or "").split()),
                )
    return out


def postgres_schema(conn: Any, name: str) -> dict[str, object]:
    """Each column's type, nullability, default and collation, and each index's definition."""
    columns = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable, column_default, "
        "collation_name, is_identity FROM information_schema.columns WHERE table_schema = %s "
        "ORDER BY table_name, ordinal_position",
        (name,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, replace(indexdef, %s, 'S') FROM pg_indexes WHERE schemaname = %s "
        "ORDER BY indexname",
        (name, name),
    ).fetchall()
    return {"columns": columns, "indexes": indexes}


def still_works(store: Any) -> None:
    """The upgraded store writes too: append, commit, delete on an old session."""
    ada = Owner("default", "default")
    before = store.get_session(ada, "ada")
    store.append_messages(ada, "ada", [], 2e9, auto_create=False)
    store.delete_session(ada, "ada", 2e9, actor=Identity())
    assert store.get_session(ada, "ada") is None
    assert before.total_message_count > 0
    assert store.check_integrity() == []


def test_an_sqlite_store_of_0_1_upgrades_in_place(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "sqlite", tmp_path / "data")
    with sqlite3.connect(tmp_path / "data" / DB_FILENAME) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (3,)
        assert "user" in {r[1] for r in raw.execute("PRAGMA table_info(sessions)")}

    store = SQLiteStore(tmp_path / "data")
    try:
        assert store.schema_version() == schema.SCHEMA_VERSION
        assert snapshot(store, tasks_of("sqlite")) == EXPECTED["sqlite"]
        assert store.check_integrity() == []
        still_works(store)
    finally:
        store.close()

    # Opened again, nothing more to do; and the file now has exactly a new store's schema.
    SQLiteStore(tmp_path / "data").close()
    SQLiteStore(tmp_path / "fresh").close()
    migrated = sqlite_schema(tmp_path / "data" / DB_FILENAME)
    fresh = sqlite_schema(tmp_path / "fresh" / DB_FILENAME)
    assert "sessions" in fresh and "tasks_runnable" in fresh
    assert migrated == fresh
    with sqlite3.connect(tmp_path / "data" / DB_FILENAME) as raw:
        assert raw.execute("PRAGMA user_version").fetchone() == (schema.SQLITE_FENCE_VERSION,)
        versions = raw.execute("SELECT version FROM skald_schema_migrations ORDER BY version")
        assert [v for (v,) in versions] == [m.version for m in schema.MIGRATIONS]


def test_sqlite_0_1_columns_are_renamed_and_the_old_release_is_fenced_out(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "sqlite", tmp_path / "data")
    SQLiteStore(tmp_path / "data").close()
    with sqlite3.connect(tmp_path / "data" / DB_FILENAME) as raw:
        for table in ("sessions", "tasks", "memory_sources", "idempotency_keys", "audit_log"):
            columns = {r[1] for r in raw.execute(f"PRAGMA table_info({table})")}
            assert "user_name" in columns and "user" not in columns, table
        # Skald 0.1 refuses files whose user_version is above its own 3.
        assert raw.execute("PRAGMA user_version").fetchone()[0] > 3


def test_a_postgres_schema_of_0_1_upgrades_in_place() -> None:
    from postgres.support import DATABASE_URL, fresh_schema

    from skald_core.store.postgres import PostgresStore

    with fresh_schema("skald_legacy") as name:
        dump = "\n".join(
            line
            for line in (FIXTURES / "postgres.sql").read_text().splitlines()
            if not line.startswith("\\")  # psql meta-commands (\restrict) are not SQL
        ).replace(FIXTURE_SCHEMA, name)
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            conn.execute(dump)  # type: ignore[call-overload]
            got = conn.execute(f'SELECT MAX(version) FROM "{name}".skald_schema_migrations')
            assert got.fetchone() == (1,)
        store = PostgresStore(DATABASE_URL, schema=name, max_size=2)
        try:
            assert store.schema_version() == schema.SCHEMA_VERSION
            assert snapshot(store, tasks_of("postgres")) == EXPECTED["postgres"]
            assert store.check_integrity() == []
            still_works(store)
        finally:
            store.close()
        with fresh_schema("skald_fresh") as fresh:
            PostgresStore(DATABASE_URL, schema=fresh, max_size=1).close()
            with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
                migrated, made = postgres_schema(conn, name), postgres_schema(conn, fresh)
        assert len(made["indexes"]) > 10  # type: ignore[arg-type]
        assert migrated == made


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_fixtures_hold_one_of_everything(backend: str) -> None:
    """A guard on the fixtures themselves: the comparison above covers every kind of row."""
    got = EXPECTED[backend]
    rows = [s["row"] for s in got["sessions"].values()]
    assert {r["deleted_at"] is None for r in rows} == {True, False}  # live and trashed
    assert any(s.get("archives") for s in got["sessions"].values())
    assert any(s.get("extractions") for s in got["sessions"].values())
    assert any(s.get("tool_messages") for s in got["sessions"].values())
    assert any(s.get("session_files") for s in got["sessions"].values())
    assert any("/memories/" in path for path in got["files"])
    assert any(path.startswith("default:resources/") for path in got["files"])
    assert {k["revoked_at"] is None for k in got["keys"]} == {True, False}
    assert {a["action"] for a in got["audit"]} >= {"delete", "soft_delete", "restore"}
    assert len(got["tasks"]) >= 3 and all(t["status"] == "completed" for t in got["tasks"].values())
    assert {r["account"] for r in rows} == {"default", "acme"}


def test_skald_db_upgrade_upgrades_a_0_1_data_directory(tmp_path: Path) -> None:
    from support.server import run_skald

    shutil.copytree(FIXTURES / "sqlite", tmp_path / "data")
    done = run_skald("db", "upgrade", "--path", str(tmp_path / "data"))
    assert done.returncode == 0, done.stderr
    assert f"now at schema version {schema.SCHEMA_VERSION}" in done.stdout
    assert "applied schema migrations" in done.stdout
    store = SQLiteStore(tmp_path / "data")
    try:
        assert snapshot(store, tasks_of("sqlite")) == EXPECTED["sqlite"]
    finally:
        store.close()
