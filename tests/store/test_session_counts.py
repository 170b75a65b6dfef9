"""Store contract — the sessions a user holds are counted as they are made and removed
(``user_session_counts``, kept by triggers), so ``max_user_sessions`` reads one row instead of
counting every session at each creation.

``check_integrity`` compares each count with the rows (every test of this suite ends with it);
here each path that makes or removes a session is walked, with the check after each step.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from skald_core.errors import ResourceExhaustedError
from skald_core.export_format import FORMAT, VERSION, Header, read, writer
from skald_core.identity import Identity
from skald_core.ids import new_task_id
from skald_core.schemas import DeleteOptions
from skald_core.store.model import Owner, Quota
from skald_core.store.protocol import Store

from .helpers import ALICE, BOB, T0, add, message


def counted(store: Store, owner: Owner) -> int | None:
    """The user's count row (None: no row), read past the protocol."""
    sql = "SELECT sessions FROM user_session_counts WHERE account = ? AND user_name = ?"
    got: Any = store._tx(  # type: ignore[attr-defined]
        lambda c: c.one(sql, (owner.account, owner.user)), write=False
    )
    return None if got is None else int(got)


def step(store: Store, owner: Owner, expected: int | None) -> None:
    assert counted(store, owner) == expected
    assert store.check_integrity() == []


def test_every_path_that_makes_or_removes_a_session_keeps_the_count(store: Store) -> None:
    step(store, ALICE, None)
    store.create_session(ALICE, "made", T0)
    step(store, ALICE, 1)
    add(store, ALICE, "appended", "the first append makes it")
    step(store, ALICE, 2)
    store.append_messages(ALICE, "appended", [message("again")], T0, auto_create=True)
    step(store, ALICE, 2)  # an append to a session makes none
    add(store, BOB, "bobs", "hello")
    step(store, BOB, 1)

    store.delete_session(ALICE, "made", T0, DeleteOptions(mode="soft"))
    step(store, ALICE, 2)  # trashed sessions count until purged
    store.restore_session(ALICE, "made", T0, actor=Identity())
    step(store, ALICE, 2)
    store.delete_session(ALICE, "made", T0)  # hard
    step(store, ALICE, 1)
    store.delete_session(ALICE, "appended", T0, DeleteOptions(mode="soft"))
    store.delete_session(ALICE, "appended", T0)  # purged from the trash
    step(store, ALICE, None)  # the last one gone: no row left
    step(store, BOB, 1)


def test_an_import_and_an_erasure_keep_the_count(store: Store) -> None:
    for sid in ("a", "b", "c"):
        add(store, ALICE, sid, f"in {sid}")
    out = io.BytesIO()
    emit, finish = writer(out, Header(format=FORMAT, version=VERSION, account="acme", user="x"))
    store.export_records(ALICE, None, emit)
    finish()
    _, records = read(out.getvalue().splitlines())
    carol = Owner("acme", "carol")

    store.import_records(carol, records, T0, actor=Identity(), new_task_id=new_task_id)
    step(store, carol, 3)

    store.erase_user("acme", "alice", T0, actor=Identity())
    step(store, ALICE, None)
    step(store, carol, 3)


def test_the_quota_counts_what_the_user_holds(store: Store) -> None:
    q = Quota(user_sessions=3)
    for sid in ("a", "b", "c"):
        store.create_session(ALICE, sid, T0, quota=q)
    with pytest.raises(ResourceExhaustedError):
        store.create_session(ALICE, "d", T0, quota=q)
    with pytest.raises(ResourceExhaustedError):
        store.append_messages(ALICE, "d", [message("x")], T0, auto_create=True, quota=q)
    step(store, ALICE, 3)  # the refused creations left nothing, their counts included
    assert store.get_session(ALICE, "d") is None
    store.create_session(BOB, "d", T0, quota=q)  # another user's place is free
    store.delete_session(ALICE, "a", T0)
    store.create_session(ALICE, "d", T0, quota=q)
    step(store, ALICE, 3)


def test_migration_8_counts_the_sessions_already_there(tmp_path: Any) -> None:
    import sqlite3

    from skald_core.store.sqlite import DB_FILENAME, SQLiteStore

    store = SQLiteStore(tmp_path)
    for sid in ("a", "b"):
        add(store, ALICE, sid, "hi")
    add(store, BOB, "c", "hi")
    store.close()
    with sqlite3.connect(tmp_path / DB_FILENAME) as raw:  # back to version 7
        raw.execute("DROP TRIGGER sessions_counted")
        raw.execute("DROP TRIGGER sessions_uncounted")
        raw.execute("DROP TABLE user_session_counts")
        raw.execute("DELETE FROM skald_schema_migrations WHERE version >= 8")

    store = SQLiteStore(tmp_path)
    try:
        step(store, ALICE, 2)
        step(store, BOB, 1)
        with pytest.raises(ResourceExhaustedError):
            store.create_session(ALICE, "d", T0, quota=Quota(user_sessions=2))
    finally:
        store.close()


def test_the_integrity_check_finds_a_count_that_is_not_the_rows(store: Store) -> None:
    add(store, ALICE, "a", "hi")

    def run(sql: str) -> None:
        store._tx(lambda c: c.execute(sql, ("acme", "alice")))  # type: ignore[attr-defined]

    run("UPDATE user_session_counts SET sessions = 5 WHERE account = ? AND user_name = ?")
    assert store.check_integrity() == ["user acme/alice: 5 sessions counted, 1 held"]
    run("DELETE FROM user_session_counts WHERE account = ? AND user_name = ?")
    assert store.check_integrity() == ["user acme/alice: 0 sessions counted, 1 held"]
    store._tx(  # type: ignore[attr-defined]
        lambda c: c.execute(
            "INSERT INTO user_session_counts (account, user_name, sessions) VALUES (?, ?, 1)",
            ("acme", "alice"),
        )
    )
