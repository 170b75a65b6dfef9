"""A hard delete's WAL truncation (issue 12 §5) and the store's own background checkpointer
(SQLite): they never fight over SQLite's checkpoint lock, and the delete does not inherit a
WAL file that a burst of writes made large.

SQLite runs one checkpoint at a time and answers any other with SQLITE_BUSY at once (its busy
handler is not consulted for that lock). A delete whose truncation met a pass of the
background checkpointer used to back off 10 ms or more before it tried again. Every checkpoint
of one store now holds the store's checkpoint lock, so the truncation waits for the pass to
end instead, and succeeds at its first attempt."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from store.helpers import T0, add

from skald_core.store import sqlite as sqlite_module
from skald_core.store.model import Owner
from skald_core.store.sqlite import SQLiteStore

ALICE = Owner("acme", "alice")


def test_every_checkpoint_of_a_store_holds_its_checkpoint_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The background passes (and the delete's truncation) run under ``_checkpoint_lock``."""
    monkeypatch.setattr(sqlite_module, "CHECKPOINT_DELAY", 0.0)
    seen: list[tuple[str, bool]] = []
    stores: list[SQLiteStore] = []
    connect = SQLiteStore._checkpoint_connection

    class Watched:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
            if "wal_checkpoint" in sql:
                seen.append((sql, stores[0]._checkpoint_lock.locked()))
            return self.conn.execute(sql, *args)

        def close(self) -> None:
            self.conn.close()

    monkeypatch.setattr(SQLiteStore, "_checkpoint_connection", lambda self: Watched(connect(self)))
    store = SQLiteStore(tmp_path)
    stores.append(store)
    try:
        add(store, ALICE, "s", *(f"message {i}" for i in range(50)))
        deadline = time.monotonic() + 10
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen, "the background checkpointer ran no checkpoint"
        assert all(held for _, held in seen), seen
    finally:
        store.close()


def test_a_delete_truncates_the_wal_at_once_while_the_checkpointer_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deletes and appends in a loop, the checkpointer passing as often as it can: no
    truncation is ever refused and retried (the retry's sleep is what is counted)."""
    monkeypatch.setattr(sqlite_module, "CHECKPOINT_DELAY", 0.0)
    sleeps: list[float] = []
    real_sleep = time.sleep
    main = threading.current_thread()

    def counting_sleep(seconds: float) -> None:
        if threading.current_thread() is main:
            sleeps.append(seconds)
        real_sleep(seconds)

    store = SQLiteStore(tmp_path)
    monkeypatch.setattr(sqlite_module.time, "sleep", counting_sleep)
    try:
        for i in range(40):
            for batch in range(5):
                add(store, ALICE, f"s{i}", *(f"message {batch}-{j}" for j in range(100)))
            store.delete_session(ALICE, f"s{i}", T0)
        assert sleeps == [], f"{len(sleeps)} truncations were refused and retried"
        assert store.check_integrity() == []
    finally:
        store.close()


def _wal_bytes(path: Path) -> int:
    wal = path / "skald.db-wal"
    return wal.stat().st_size if wal.exists() else 0


@pytest.mark.parametrize("shrink", [True, False], ids=["past the limit", "under it"])
def test_a_wal_grown_by_a_burst_is_truncated_once_writes_pause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shrink: bool
) -> None:
    """Truncating a WAL of several MB took the next delete 8-36 ms (and the one after it up
    to 74 ms): the checkpointer does it first, once writes have paused."""
    monkeypatch.setattr(sqlite_module, "CHECKPOINT_DELAY", 0.01)
    monkeypatch.setattr(sqlite_module, "WAL_QUIET", 0.2)
    monkeypatch.setattr(sqlite_module, "WAL_SHRINK_BYTES", 64 << 10 if shrink else 64 << 20)
    store = SQLiteStore(tmp_path)
    try:
        for i in range(20):
            add(store, ALICE, f"s{i}", *(f"message {i}-{j} " + "x" * 200 for j in range(100)))
        grown = _wal_bytes(tmp_path)
        assert grown > 64 << 10
        deadline = time.monotonic() + (10 if shrink else 1)
        while _wal_bytes(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        if shrink:
            assert _wal_bytes(tmp_path) == 0
        else:
            assert _wal_bytes(tmp_path) >= grown  # the WAL keeps its size until a delete
        assert len(store.list_sessions(ALICE, limit=None, after=None)) == 20
    finally:
        store.close()
