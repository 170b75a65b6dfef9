"""``GET /api/v1/sessions`` answers byte for byte what it answered when every item was a
``SessionListItem`` encoded by msgspec in the envelope (its page is now written straight from
the store's rows): one user's page, the trash, and every user's page."""

from __future__ import annotations

from typing import Any

import msgspec

from skald_core import clock, uris
from skald_core.schemas import DeleteOptions, SessionListItem
from skald_core.store.model import Owner, SessionRow

from .conftest import Server

LIST = "/api/v1/sessions"


def item(r: SessionRow, across: bool) -> SessionListItem:
    updated = clock.iso_ms(r.updated_at)
    got = SessionListItem(
        session_id=r.session_id,
        uri=uris.session_uri(r.user, r.session_id),
        is_dir=True,
        mod_time=updated[:19] + "Z",
        created_at=clock.iso_ms(r.created_at),
        updated_at=updated,
        message_count=r.message_count,
    )
    if r.deleted_at is not None:
        got.deleted_at = clock.iso_ms(r.deleted_at)
        got.deleted_by = r.deleted_by or ""
    if across:
        got.account, got.user = r.account, r.user
    return got


def result_bytes(body: bytes) -> bytes:
    head, _, rest = body.partition(b'"result":')
    assert head == b'{"status":"ok",'
    result, _, tail = rest.rpartition(b',"error":null,"time":')
    assert tail.endswith(b"}")
    return result


def test_listing_bodies_are_the_encoded_items(shared_api: Server, account: str) -> None:
    alice = shared_api.caller(shared_api.mint(account, "alice"))
    bob = shared_api.caller(shared_api.mint(account, "bob"))
    for caller, sid in ((alice, "a1"), (bob, "b1"), (alice, 'say "hi" ☃'), (alice, "gone")):
        caller.add(sid, "hello")
    store = shared_api.services.store
    me = Owner(account, "alice")
    store.delete_session(me, "gone", clock.now(), DeleteOptions(mode="soft"))
    root = shared_api.root
    header = {"X-OpenViking-Account": account}

    cases: list[tuple[Any, dict[str, Any], dict[str, str], list[SessionRow], bool]] = [
        (alice, {}, {}, store.list_sessions(me, limit=100, after=None), False),
        (
            alice,
            {"include_deleted": "true", "order": "asc"},
            {},
            store.list_sessions(
                me, limit=100, after=None, include_deleted=True, newest_first=False
            ),
            False,
        ),
        (
            root,
            {"user": "*", "include_deleted": "true"},
            header,
            store.list_sessions_across(account, limit=100, after=None, include_deleted=True),
            True,
        ),
    ]
    for caller, params, headers, rows, across in cases:
        response = caller.get(LIST, params=params, headers=headers)
        assert response.status_code == 200
        assert len(rows) >= 2
        assert result_bytes(response.content) == msgspec.json.encode(
            [item(r, across) for r in rows]
        )
