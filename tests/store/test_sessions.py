"""Store contract — creating, reading and listing sessions.

Scenarios told through ``skald_core.store.protocol.Store`` alone, on every backend; see
``conftest.py``.
"""

from __future__ import annotations

import pytest

from skald_core.errors import AlreadyExistsError
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
