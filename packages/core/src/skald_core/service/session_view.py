"""Everything a person reviewing one session wants on one page (the web console's view):
its meta, the live transcript, and each archive with its summary, the state of its
extraction and the memories that extraction added, updated and deleted.

Read through the same owner scoping as every session operation (``owner_of(identity)``):
an identity sees its own sessions only, exactly as the API lets it."""

from __future__ import annotations

import msgspec

from .. import clock, ids, uris
from ..errors import NotFoundError
from ..identity import Identity
from ..schemas import Message, SessionMeta
from ..store.model import DiffEntry, MemoryDiff
from .sessions import SessionService, decode_messages, owner_of, session_meta
from .summaries import archive_abstract, archive_overview


class ArchiveView(msgspec.Struct, kw_only=True):
    archive_id: str
    status: str  # pending | done | failed: the state of its extraction task
    created_at: str
    message_count: int
    tokens: int
    abstract: str
    overview: str
    error: str | None
    done_at: str | None
    messages: list[Message]
    diff: MemoryDiff


class SessionView(msgspec.Struct, kw_only=True):
    session_id: str
    uri: str
    trashed: bool
    deleted_at: str | None
    deleted_by: str | None
    meta: SessionMeta
    messages: list[Message]  # live (not yet committed)
    archives: list[ArchiveView]


def memory_uri(entry: DiffEntry) -> str:
    return "viking://" + entry.path


def session_view(sessions: SessionService, identity: Identity, session_id: str) -> SessionView:
    """The session of ``identity`` named ``session_id``, live or in the trash (a trashed one
    shows its meta only: its content is hidden until it is restored)."""
    ids.check_id(session_id)
    owner = owner_of(identity)
    store = sessions.store
    row = store.get_session(owner, session_id)
    if row is None:
        raise NotFoundError.of("session", session_id)
    trashed = row.deleted_at is not None
    view = SessionView(
        session_id=row.session_id,
        uri=uris.session_uri(row.user, row.session_id),
        trashed=trashed,
        deleted_at=clock.iso_ms(row.deleted_at) if row.deleted_at is not None else None,
        deleted_by=row.deleted_by,
        meta=session_meta(row),
        messages=[],
        archives=[],
    )
    if trashed:
        return view
    view.meta = session_meta(row, extraction=store.extraction_summary(owner, session_id))
    view.messages = decode_messages(store.messages(owner, session_id))
    diffs = {x.archive_no: x.diff for x in store.archive_extractions(owner, session_id)}
    for a in store.archives(owner, session_id):
        msgs = decode_messages(store.messages(owner, session_id, archive_no=a.archive_no))
        view.archives.append(
            ArchiveView(
                archive_id=uris.archive_name(a.archive_no),
                status=a.status,
                created_at=clock.iso_ms(a.created_at),
                message_count=a.message_count,
                tokens=a.tokens,
                abstract=archive_abstract(a, msgs) if a.status == "done" else "",
                overview=archive_overview(a, msgs) if a.status == "done" else "",
                error=a.error,
                done_at=clock.iso_ms(a.done_at) if a.done_at is not None else None,
                messages=msgs,
                diff=diffs.get(a.archive_no, MemoryDiff()),
            )
        )
    return view
