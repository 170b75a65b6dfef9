"""``run_group``: several calls in one transaction, each all or nothing of its own, committed
once (SQLite, on the event loop's connection; the server's group commit of appends). A store
that cannot group (PostgreSQL) says so before anything runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.locks import write_lock_held

from skald_core.errors import NotFoundError, StorageUnavailableError
from skald_core.store.sql_store import WouldBlock
from skald_core.store.sqlite import SQLiteStore

from .helpers import ALICE, BOB, T0, add, message, texts_of


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path)
    try:
        yield store
        assert store.check_integrity() == []
    finally:
        store.close()


def append(store: SQLiteStore, owner: Any, sid: str, text: str, *, auto_create: bool = True) -> Any:
    return lambda: store.append_messages(owner, sid, [message(text)], T0, auto_create=auto_create)


def test_each_call_keeps_its_writes_and_a_failing_one_leaves_nothing(sqlite: SQLiteStore) -> None:
    add(sqlite, ALICE, "s1", "first")

    def writes_then_fails() -> None:
        sqlite.append_messages(ALICE, "s1", [message("not kept")], T0, auto_create=True)
        raise NotFoundError("a failure after a write")

    outcomes = sqlite.run_group(
        [
            append(sqlite, ALICE, "s1", "second"),
            writes_then_fails,
            append(sqlite, ALICE, "missing", "x", auto_create=False),
            append(sqlite, BOB, "s2", "bob's"),
            append(sqlite, ALICE, "s1", "third"),
        ]
    )
    assert [done for done, _ in outcomes] == [True, False, False, True, True]
    assert isinstance(outcomes[1][1], NotFoundError)
    assert isinstance(outcomes[2][1], NotFoundError)
    assert outcomes[0][1].message_count == 2 and outcomes[4][1].message_count == 3
    assert texts_of(sqlite, ALICE, "s1") == ["first", "second", "third"]
    assert texts_of(sqlite, BOB, "s2") == ["bob's"]
    assert sqlite.get_session(ALICE, "missing") is None


def test_a_group_whose_transaction_is_lost_keeps_nothing(sqlite: SQLiteStore) -> None:
    """Where SQLite rolls the whole transaction back (disk full, I/O error), no call of the
    group is kept and every one fails, rather than later calls committing one by one."""
    add(sqlite, ALICE, "s1", "first")

    def loses_the_transaction() -> None:
        sqlite._local.group.raw.execute("ROLLBACK")  # as SQLite does after SQLITE_FULL

    with pytest.raises(StorageUnavailableError):
        sqlite.run_group(
            [
                append(sqlite, ALICE, "s1", "before"),
                loses_the_transaction,
                append(sqlite, ALICE, "s1", "after"),
            ]
        )
    assert texts_of(sqlite, ALICE, "s1") == ["first"]
    add(sqlite, ALICE, "s1", "later")  # the store goes on
    assert texts_of(sqlite, ALICE, "s1") == ["first", "later"]


def test_a_busy_database_runs_nothing(sqlite: SQLiteStore) -> None:
    ran: list[str] = []
    with write_lock_held(sqlite), pytest.raises(WouldBlock):
        sqlite.run_group([lambda: ran.append("x")])
    assert ran == []


def test_stores_that_cannot_group_say_so_before_running_anything() -> None:
    from skald_core.store.sql_store import SQLStore

    ran: list[str] = []
    with pytest.raises(WouldBlock):
        SQLStore.run_group(object(), [lambda: ran.append("x")])  # type: ignore[arg-type]
    assert ran == []
