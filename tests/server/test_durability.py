"""The ``durability`` setting: when a write is acknowledged, as each backend's own setting —
SQLite's ``synchronous`` (FULL: on disk first; NORMAL in WAL mode: survives a crash of the
process) and PostgreSQL's ``synchronous_commit`` (on / off) — set on every connection the
store opens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from postgres.support import DATABASE_URL, fresh_schema

from skald_core.errors import InvalidArgumentError
from skald_server import config as config_mod
from skald_server.app import open_configured_store
from skald_server.config import ServerConfig

SQLITE_SYNCHRONOUS = {1: "NORMAL", 2: "FULL"}


def _sqlite_synchronous(store: Any) -> str:
    # every connection the store opens: the calling thread's, and a fresh one
    mine = store._conn().raw.execute("PRAGMA synchronous").fetchone()[0]
    other = store._connect().execute("PRAGMA synchronous").fetchone()[0]
    assert mine == other
    return SQLITE_SYNCHRONOUS[mine]


@pytest.mark.parametrize(
    ("durability", "expected"), [(None, "NORMAL"), ("crash", "NORMAL"), ("fsync", "FULL")]
)
def test_sqlite_synchronous_follows_durability(
    tmp_path: Path, durability: str | None, expected: str
) -> None:
    store = open_configured_store(ServerConfig(path=str(tmp_path), durability=durability))  # type: ignore[arg-type]
    try:
        assert _sqlite_synchronous(store) == expected
    finally:
        store.close()


@pytest.mark.parametrize(
    ("durability", "expected"), [(None, "on"), ("fsync", "on"), ("crash", "off")]
)
def test_postgres_synchronous_commit_follows_durability(
    durability: str | None, expected: str
) -> None:
    with fresh_schema("skald_dur") as schema:
        cfg = ServerConfig(database_url=DATABASE_URL, database_schema=schema, durability=durability)  # type: ignore[arg-type]
        store = open_configured_store(cfg)
        try:
            with store._pool.connection() as conn:
                assert conn.execute("SHOW synchronous_commit").fetchone()[0] == expected
        finally:
            store.close()


def test_durability_from_the_environment_and_a_bad_value_said_clearly(tmp_path: Path) -> None:
    env = {"SKALD_DURABILITY": "fsync", "SKALD_PATH": str(tmp_path)}
    assert config_mod.load(None, {}, environ=env).durability == "fsync"
    with pytest.raises(InvalidArgumentError) as caught:
        config_mod.load(None, {}, environ={"SKALD_DURABILITY": "sometimes"})
    assert "durability" in caught.value.message
