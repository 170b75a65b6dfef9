"""Everything a person reviewing one session wants on one page (the web console's view):
its meta, the live transcript, each archive with its summary, the state of its extraction
and the memories that extraction added, updated and deleted, and its commit tasks; and, for
the sessions list and the delete preview, the total count and the memories a deletion with
``forget_memories`` would remove.

Read through the same owner scoping as every session operation (``owner_of(identity)``):
an identity sees its own sessions only, exactly as the API lets it."""

from __future__ import annotations

from typing import Literal

import msgspec

from .. import clock, ids, uris
from ..errors import InvalidArgumentError, NotFoundError
from ..identity import Identity
from ..schemas import Message, SessionMeta, message_decoder
from ..store.model import ArchiveRow, DiffEntry, MemoryDiff, Owner, TaskRow
from .sessions import SessionService, owner_of, session_meta
from .summaries import OVERVIEW_MESSAGES, archive_abstract, archive_overview, first_text


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
    messages: list[Message]  # the first ones, up to SHOWN_BYTES (of message_count)
    diff: MemoryDiff
    #: Paths in ``diff`` (added or updated) whose memory is gone since (deleted or forgotten).
    gone: list[str] = msgspec.field(default_factory=list)


class TaskView(msgspec.Struct, kw_only=True):
    """One commit task (the extraction of one archive) as a record."""

    task_id: str
    task_type: str
    archive_id: str | None
    status: str  # pending | running | completed | failed | cancelled
    created_at: str
    finished_at: str | None  # when it completed, failed or was cancelled
    attempts: int
    error: str | None


FINISHED = frozenset({"completed", "failed", "cancelled"})


def task_view(task: TaskRow) -> TaskView:
    return TaskView(
        task_id=task.task_id,
        task_type=task.task_type,
        archive_id=uris.archive_name(task.archive_no) if task.archive_no is not None else None,
        status=task.status,
        created_at=clock.iso_ms(task.created_at),
        finished_at=clock.iso_ms(task.updated_at) if task.status in FINISHED else None,
        attempts=task.attempts,
        error=task.error,
    )


#: The bytes of messages (as stored) one transcript of the page shows at most: its first
#: messages up to this (at least one); the count says how many there are in all.
SHOWN_BYTES = 4 * 1024 * 1024


class SessionView(msgspec.Struct, kw_only=True):
    session_id: str
    uri: str
    trashed: bool
    deleted_at: str | None
    deleted_by: str | None
    meta: SessionMeta
    messages: list[Message]  # live (not yet committed): the first ones, up to SHOWN_BYTES
    message_count: int = 0  # live messages in all
    archives: list[ArchiveView]
    tasks: list[TaskView] = msgspec.field(default_factory=list)


def memory_uri(entry: DiffEntry) -> str:
    return "viking://" + entry.path


def session_view(sessions: SessionService, identity: Identity, session_id: str) -> SessionView:
    """The session of ``identity`` named ``session_id``, live or in the trash (a trashed one
    shows its meta only: its content is hidden until it is restored)."""
    ids.check_id(session_id)
    owner = owner_of(identity)
    store = sessions.store
    found = store.session_and_extraction(owner, session_id)
    if found is None:
        raise NotFoundError.of("session", session_id)
    row, extraction = found
    trashed = row.deleted_at is not None
    view = SessionView(
        session_id=row.session_id,
        uri=uris.session_uri(row.user, row.session_id),
        trashed=trashed,
        deleted_at=clock.iso_ms(row.deleted_at) if row.deleted_at is not None else None,
        deleted_by=row.deleted_by,
        # a trashed session shows its meta without the extraction figures
        meta=session_meta(row, extraction=None if trashed else extraction),
        messages=[],
        archives=[],
    )
    if trashed:
        return view
    view.messages = _shown(sessions, owner, session_id, 0)
    view.message_count = row.message_count
    view.tasks = [task_view(t) for t in store.session_tasks(owner, session_id)]
    diffs = {x.archive_no: x.diff for x in store.archive_extractions(owner, session_id)}
    for a in store.archives(owner, session_id):
        msgs = _shown(sessions, owner, session_id, a.archive_no)
        done = a.status == "done"
        view.archives.append(
            ArchiveView(
                archive_id=uris.archive_name(a.archive_no),
                status=a.status,
                created_at=clock.iso_ms(a.created_at),
                message_count=a.message_count,
                tokens=a.tokens,
                abstract=archive_abstract(a, _first_with_text(sessions, owner, session_id, a))
                if done
                else "",
                overview=archive_overview(
                    a, sessions._decoded(owner, session_id, a.archive_no, OVERVIEW_MESSAGES)
                )
                if done
                else "",
                error=a.error,
                done_at=clock.iso_ms(a.done_at) if a.done_at is not None else None,
                messages=msgs,
                diff=(diff := diffs.get(a.archive_no, MemoryDiff())),
                gone=[
                    e.path
                    for e in (*diff.adds, *diff.updates)
                    if store.get_file(owner.account, e.path) is None
                ],
            )
        )
    return view


def _shown(
    sessions: SessionService, owner: Owner, session_id: str, archive_no: int
) -> list[Message]:
    """The first messages of one archive (``0``: the live ones) up to ``SHOWN_BYTES``, read
    batch by batch: the page never holds a large session whole."""
    shown: list[Message] = []
    total = 0
    for batch in sessions.store.message_batches(owner, session_id, archive_no):
        for m in batch:
            if shown and total + len(m.body) > SHOWN_BYTES:
                return shown
            shown.append(message_decoder.decode(m.body))
            total += len(m.body)
    return shown


def _first_with_text(
    sessions: SessionService, owner: Owner, session_id: str, archive: ArchiveRow
) -> list[Message]:
    found = (m for m in sessions._decoded(owner, session_id, archive.archive_no) if first_text([m]))
    return [m for m in (next(found, None),) if m is not None]


def count_sessions(
    sessions: SessionService,
    identity: Identity,
    state: Literal["live", "trash", "all"] = "live",
    *,
    created_since: float | None = None,
    created_before: float | None = None,
) -> int:
    """How many of ``identity``'s sessions a listing with these filters holds, in all."""
    if state not in ("live", "trash", "all"):
        raise InvalidArgumentError("state must be live, trash or all", {"field": "state"})
    return sessions.store.count_sessions(
        owner_of(identity),
        state=state,
        created_since=created_since,
        created_before=created_before,
    )


def forgettable_memories(
    sessions: SessionService, identity: Identity, session_id: str
) -> list[str]:
    """The URIs of the memories deleting ``session_id`` with ``forget_memories`` would remove
    (those only it produced), sorted: the names behind the dry-run receipt's count."""
    ids.check_id(session_id)
    paths = sessions.store.forgettable_memories(owner_of(identity), session_id)
    return [uris.SCHEME + p for p in paths]
