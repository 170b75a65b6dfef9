"""Store contract — creating, reading and listing sessions.

Scenarios told through ``skald_core.store.protocol.Store`` alone, on every backend; see
``conftest.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from skald_core.errors import AlreadyExistsError
from skald_core.schemas import DeleteOptions
from skald_core.store.protocol import Store

from .helpers import ALICE, ALICE_AT_GLOBEX, BOB, T0, add


def test_a_new_session_starts_empty_and_reads_back(store: Store) -> None:
    created = store.create_session(ALICE, "s1", T0)

    assert (created.account, created.user, created.session_id) == ("acme", "alice", "s1")
    assert created.created_at == created.updated_at == T0
    assert (created.message_count, created.total_message_count, created.commit_count) == (0, 0, 0)
    assert created.memories_extracted == 0
    assert created.deleted_at is None
    assert store.get_session(ALICE, "s1") == created


def test_a_missing_session_reads_as_none(store: Store) -> None:
    assert store.get_session(ALICE, "nope") is None


def test_creating_an_existing_id_is_refused_and_keeps_the_original(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)
    add(store, ALICE, "s1", "hello")

    with pytest.raises(AlreadyExistsError) as caught:
        store.create_session(ALICE, "s1", T0 + 5)

    assert caught.value.details == {"type": "session", "resource": "s1"}
    row = store.get_session(ALICE, "s1")
    assert row is not None and row.created_at == T0 and row.message_count == 1


def test_sessions_list_newest_first_and_ties_break_on_id(store: Store) -> None:
    store.create_session(ALICE, "old", T0)
    store.create_session(ALICE, "tie-a", T0 + 1)
    store.create_session(ALICE, "tie-b", T0 + 1)
    store.create_session(ALICE, "new", T0 + 2)

    listed = [r.session_id for r in store.list_sessions(ALICE, limit=None, after=None)]

    assert listed == ["new", "tie-b", "tie-a", "old"]


def test_listing_pages_with_limit_and_after_visits_every_session_once(store: Store) -> None:
    for i in range(7):
        store.create_session(ALICE, f"s{i}", T0 + i // 2)  # pairs share a timestamp
    everything = [r.session_id for r in store.list_sessions(ALICE, limit=None, after=None)]

    pages: list[list[str]] = []
    after = None
    while True:
        page = store.list_sessions(ALICE, limit=3, after=after)
        if not page:
            break
        pages.append([r.session_id for r in page])
        after = (page[-1].created_at, page[-1].session_id)

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [sid for page in pages for sid in page] == everything
    assert len(set(everything)) == 7


def test_listing_shows_only_the_owners_sessions(store: Store) -> None:
    store.create_session(ALICE, "mine", T0)
    store.create_session(BOB, "his", T0)
    store.create_session(ALICE_AT_GLOBEX, "elsewhere", T0)

    assert [r.session_id for r in store.list_sessions(ALICE, limit=None, after=None)] == ["mine"]


def test_listing_across_users_pages_by_time_then_owner(store: Store) -> None:
    """``list_sessions_across``: every user's sessions of one account (or of all accounts),
    ordered by (created_at, account, user, id), paged by that key, trash only on request."""
    store.create_session(ALICE, "a1", T0)
    store.create_session(BOB, "b1", T0)  # same time as a1: the owner breaks the tie
    store.create_session(ALICE, "a2", T0 + 1)
    store.create_session(ALICE_AT_GLOBEX, "g1", T0 + 2)
    store.create_session(BOB, "b2", T0 + 3)
    store.delete_session(BOB, "b2", T0 + 4, DeleteOptions(mode="soft"))

    def keys(rows: list[Any]) -> list[tuple[str, str, str]]:
        return [(r.account, r.user, r.session_id) for r in rows]

    acme = store.list_sessions_across("acme", limit=None, after=None)
    assert keys(acme) == [("acme", "alice", "a2"), ("acme", "bob", "b1"), ("acme", "alice", "a1")]
    everyone = store.list_sessions_across(None, limit=None, after=None, include_deleted=True)
    assert [k[2] for k in keys(everyone)] == ["b2", "g1", "a2", "b1", "a1"]
    # Paging one at a time, oldest first, visits each once.
    seen: list[tuple[str, str, str]] = []
    after = None
    while True:
        page = store.list_sessions_across("acme", limit=1, after=after, newest_first=False)
        if not page:
            break
        seen += keys(page)
        r = page[-1]
        after = (r.created_at, r.account, r.user, r.session_id)
    assert seen == list(reversed(keys(acme)))
