"""Calls run ``inline`` (on a server's event loop) never wait for a lock before their first
write: they raise ``WouldBlock`` having changed nothing; after a write they wait as usual."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from support.locks import write_lock_held

from skald_core.store.sql_store import WouldBlock
from skald_core.store.sqlite import DB_FILENAME, SQLiteStore

from .helpers import ALICE, T0, add, message, texts_of


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = SQLiteStore(tmp_path)
    yield s
    s.close()


def test_inline_calls_read_and_write_when_nothing_is_busy(store: SQLiteStore) -> None:
    add(store, ALICE, "s1", "one")
    with store.inline():
        assert texts_of(store, ALICE, "s1") == ["one"]
        store.append_messages(ALICE, "s1", [message("two")], T0, auto_create=False)
    assert texts_of(store, ALICE, "s1") == ["one", "two"]


def test_a_write_lock_held_by_another_thread_raises_would_block_and_changes_nothing(
    store: SQLiteStore,
) -> None:
    add(store, ALICE, "s1", "one")
    with write_lock_held(store):
        with store.inline(), pytest.raises(WouldBlock):
            store.append_messages(ALICE, "s1", [message("two")], T0, auto_create=False)
        with store.inline():  # reads do not need the lock
            assert texts_of(store, ALICE, "s1") == ["one"]
    assert texts_of(store, ALICE, "s1") == ["one"]


def test_a_file_locked_by_another_process_raises_would_block(
    store: SQLiteStore, tmp_path: Path
) -> None:
    add(store, ALICE, "s1", "one")
    other = sqlite3.connect(tmp_path / DB_FILENAME, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's writer
    try:
        with store.inline(), pytest.raises(WouldBlock):
            store.append_messages(ALICE, "s1", [message("two")], T0, auto_create=False)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert texts_of(store, ALICE, "s1") == ["one"]


def test_after_a_write_later_calls_wait_instead_of_raising(store: SQLiteStore) -> None:
    add(store, ALICE, "s1", "one")
    held, release = threading.Event(), threading.Event()

    def hold_after_first_write() -> None:
        with store._write_lock:
            held.set()
            release.wait(10)

    with store.inline():
        store.append_messages(ALICE, "s1", [message("two")], T0, auto_create=False)
        t = threading.Thread(target=hold_after_first_write)
        t.start()
        held.wait(10)
        threading.Timer(0.2, release.set).start()
        # Would repeat the first write if it raised: it waits for the lock instead.
        store.append_messages(ALICE, "s1", [message("three")], T0, auto_create=False)
        t.join()
    assert texts_of(store, ALICE, "s1") == ["one", "two", "three"]
