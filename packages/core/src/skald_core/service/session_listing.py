"""A page of ``list_sessions``: its JSON written straight from the store's rows.

``GET /api/v1/sessions?limit=1000`` answers with the largest body the session API builds from
rows. Made into 1,000 ``SessionListItem`` structs from 1,000 ``SessionRow``s and then encoded,
a page cost about 2.6 ms of server time (measured in process, SQLite); here the store reads only
the columns a listing shows (``ListedSession``) and each item's JSON is one f-string of its row,
about half of that. The bytes are the ones msgspec writes for the structs, field for field
(``tests/core/test_session_listing.py`` compares them, odd ids and trashed and cross-user pages
included). The structs are made only for callers that look at the items (the console, the
CLI, in-process callers): a ``SessionListing`` is a read-only sequence of them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast, overload

import msgspec

from .. import clock, uris
from ..schemas import SessionListItem
from ..store.model import ListedSession, LiveListed, Owner
from ..structs import Encoded

_encode = msgspec.json.Encoder().encode
_SESSIONS = uris.SCHEME + "user/"


def json_text(s: str) -> str:
    """``s`` as msgspec writes it between a JSON string's quotes (mostly ``s`` itself)."""
    if '"' in s or "\\" in s or not s.isprintable():
        return _encode(s).decode()[1:-1]
    return s


def list_item(row: ListedSession, across: bool = False) -> SessionListItem:
    """One item of a listing; ``across``: it names its account and user (a cross-user
    listing)."""
    session_id, created, updated, count, deleted_at, deleted_by, account, user = row
    shown = clock.iso_ms(updated)
    item = SessionListItem(
        session_id=session_id,
        uri=uris.session_uri(user, session_id),
        is_dir=True,
        mod_time=shown[:19] + "Z",
        created_at=clock.iso_ms(created),
        updated_at=shown,
        message_count=count,
    )
    if deleted_at is not None:
        item.deleted_at = clock.iso_ms(deleted_at)
        item.deleted_by = deleted_by or ""
    if across:
        item.account = account
        item.user = user
    return item


def listing_json(rows: Sequence[ListedSession], across: bool = False) -> bytes:
    """``msgspec.json.encode([list_item(r, across) for r in rows])``, without the structs."""
    iso = clock.iso_ms_at
    users: dict[str, str] = {}
    parts = []
    for session_id, created, updated, count, deleted_at, deleted_by, account, user in rows:
        shown = iso(updated)
        sid = session_id
        if '"' in sid or "\\" in sid or not sid.isprintable():
            sid = json_text(sid)
        owner = users.get(user)
        if owner is None:
            owner = users[user] = json_text(user)
        part = (
            f'{{"session_id":"{sid}","uri":"{_SESSIONS}{owner}/sessions/{sid}","is_dir":true,'
            f'"mod_time":"{shown[:19]}Z","created_at":"{iso(created)}","updated_at":"{shown}",'
            f'"message_count":{count}'
        )
        if deleted_at is not None:
            part += (
                f',"deleted_at":"{iso(deleted_at)}","deleted_by":"{json_text(deleted_by or "")}"'
            )
        if across:
            part += f',"account":"{json_text(account)}","user":"{owner}"'
        parts.append(part + "}")
    return ("[" + ",".join(parts) + "]").encode()


def live_listing_json(rows: Sequence[LiveListed], owner: Owner) -> bytes:
    """``listing_json`` of one owner's live sessions, from the four columns read of them."""
    iso = clock.iso_ms_at
    uri = f"{_SESSIONS}{json_text(owner.user)}/sessions/"
    parts = []
    for session_id, created, updated, count in rows:
        shown = iso(updated)
        sid = session_id
        if '"' in sid or "\\" in sid or not sid.isprintable():
            sid = json_text(sid)
        parts.append(
            f'{{"session_id":"{sid}","uri":"{uri}{sid}","is_dir":true,'
            f'"mod_time":"{shown[:19]}Z","created_at":"{iso(created)}","updated_at":"{shown}",'
            f'"message_count":{count}}}'
        )
    return ("[" + ",".join(parts) + "]").encode()


class SessionListing(Sequence[SessionListItem], Encoded[list[SessionListItem]]):
    """A page of sessions: a sequence of ``SessionListItem`` (made on first look), and
    ``json()``, the page as the wire shows it, made from the rows without them. ``rows``:
    ``ListedSession``s (``across``: naming their owners), or ``LiveListed``s of ``owner``'s
    live sessions."""

    __slots__ = ("_across", "_items", "_owner", "_rows")

    def __init__(
        self,
        rows: list[ListedSession] | list[LiveListed],
        *,
        across: bool = False,
        owner: Owner | None = None,
    ) -> None:
        self._rows = rows
        self._across = across
        self._owner = owner
        self._items: list[SessionListItem] | None = None

    def _full(self) -> list[ListedSession]:
        """The rows as ``ListedSession``s."""
        owner = self._owner
        if owner is None:
            return cast(list[ListedSession], self._rows)
        return [(*r[:4], None, None, owner.account, owner.user) for r in self._rows]

    def json(self) -> bytes:
        if self._owner is not None:
            return live_listing_json(cast(list[LiveListed], self._rows), self._owner)
        return listing_json(cast(list[ListedSession], self._rows), self._across)

    def items(self) -> list[SessionListItem]:
        if self._items is None:
            self._items = [list_item(r, self._across) for r in self._full()]
        return self._items

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> SessionListItem: ...
    @overload
    def __getitem__(self, index: slice) -> list[SessionListItem]: ...
    def __getitem__(self, index: int | slice) -> SessionListItem | list[SessionListItem]:
        return self.items()[index]

    def __iter__(self) -> Iterator[SessionListItem]:
        return iter(self.items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SessionListing):
            other = other.items()
        return isinstance(other, list) and self.items() == other

    __hash__ = None  # type: ignore[assignment]  # compared by items, as a list is

    def __repr__(self) -> str:
        return f"SessionListing({self.items()!r})"
