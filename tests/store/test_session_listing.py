"""Store contract — ``list_session_items``, the read behind ``GET /sessions``: the same sessions
in the same order as ``list_sessions`` / ``list_sessions_across`` for every paging, order,
trash and owner choice, with what a listing shows of them; on every backend."""

from __future__ import annotations

import itertools
from typing import Any

from skald_core.schemas import DeleteOptions
from skald_core.store.model import ListedSession, LiveListed, SessionRow
from skald_core.store.protocol import Store

from .helpers import ALICE, ALICE_AT_GLOBEX, BOB, T0, add


def shown(row: SessionRow, brief: bool = False) -> ListedSession | LiveListed:
    """What a listing reads of ``row``; ``brief``: of one owner's live sessions, the first four."""
    full: ListedSession = (
        row.session_id,
        row.created_at,
        row.updated_at,
        row.message_count,
        row.deleted_at,
        row.deleted_by,
        row.account,
        row.user,
    )
    return full[:4] if brief else full


def test_listed_sessions_are_the_listed_rows(store: Store) -> None:
    # Ties on created_at, odd ids, sub-millisecond times, messages, the trash, three owners.
    store.create_session(ALICE, "a1", T0 + 0.0004)
    store.create_session(BOB, "b1", T0 + 0.0004)
    store.create_session(ALICE, 'say "hi"', T0 + 1.9995)
    store.create_session(ALICE, "naïve ☃", T0 + 1.9995)
    add(store, ALICE, "a1", "My name is Ada.", now=T0 + 5.123456)
    store.create_session(ALICE_AT_GLOBEX, "g1", T0 + 2)
    store.create_session(ALICE, "gone", T0 + 3)
    store.delete_session(ALICE, "gone", T0 + 4.25, DeleteOptions(mode="soft"))

    for limit, deleted, newest in itertools.product((None, 1, 2, 10), (False, True), (True, False)):
        options: dict[str, Any] = {
            "limit": limit,
            "include_deleted": deleted,
            "newest_first": newest,
        }
        brief = not deleted
        mine = store.list_sessions(ALICE, after=None, **options)
        assert store.list_session_items(ALICE, after=None, **options) == [
            shown(r, brief) for r in mine
        ]
        if mine:
            r = mine[-1]
            after = (r.created_at, r.session_id)
            assert store.list_session_items(ALICE, after=after, **options) == [
                shown(r, brief) for r in store.list_sessions(ALICE, after=after, **options)
            ]
        for account in ("acme", None):
            rows = store.list_sessions_across(account, after=None, **options)
            assert store.list_session_items(None, account, after=None, **options) == [
                shown(r) for r in rows
            ]
            if rows:
                r = rows[0]
                key = (r.created_at, r.account, r.user, r.session_id)
                assert store.list_session_items(None, account, after=key, **options) == [
                    shown(r) for r in store.list_sessions_across(account, after=key, **options)
                ]
