"""Applying one archive's extraction, and queueing failed ones again, written once for both
backends.

``apply_diff`` runs inside the caller's transaction: it writes new and updated memory files with
provenance (``memory_sources``; a memory stated again unchanged gains provenance only), removes
deleted ones (their provenance goes with them by ``ON DELETE CASCADE``) and records what it did — the diff with before and after texts, the
per-category counts and the token usage — in ``archive_extractions``, keyed by the archive (and
removed with it). ``requeue`` queues failed archives for extraction again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from ..errors import FailedPreconditionError, NotFoundError
from .dialect import Conn
from .model import DiffEntry, MemoryDiff, MemoryFact, MemoryRef, Requeued, TokenUsage
from .rows import USAGE_COLUMNS, parent

EnsureParents = Callable[[Any, str, str, float], None]


class Applied(msgspec.Struct, kw_only=True):
    created: int = 0
    updated: int = 0
    deleted: int = 0
    #: Memories stated again with the text they already had: not written, not in the diff,
    #: but this archive now supports them too (provenance).
    unchanged: int = 0
    diff: MemoryDiff = msgspec.field(default_factory=MemoryDiff)
    #: Memories written (created or changed) per category: what the diff shows.
    by_category: dict[str, int] = msgspec.field(default_factory=dict)

    @property
    def written(self) -> int:
        """Memories created or changed: the number an archive "extracted", as its diff shows
        (``adds`` + ``updates``)."""
        return self.created + self.updated


_RECORDED = ", ".join(
    f"{c} = EXCLUDED.{c}"
    for c in ["extracted_at", "memory_diff", "by_category", *USAGE_COLUMNS.split(", ")]
)
FIND_FILE = "SELECT pk, is_dir, content FROM files WHERE account = ? AND path = ? FOR UPDATE"
INSERT_FILE = (
    "INSERT INTO files (account, path, parent, is_dir, content, created_at, updated_at) "
    "VALUES (?, ?, ?, FALSE, ?, ?, ?) RETURNING pk"
)
UPDATE_FILE = "UPDATE files SET content = ?, updated_at = ? WHERE pk = ?"
ADD_SOURCE = (
    "INSERT INTO memory_sources (file_pk, account, user_name, session_id, archive_no, "
    "session_created_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
SESSION_CREATED = "SELECT created_at FROM sessions WHERE pk = ?"
DELETE_FILE = "DELETE FROM files WHERE account = ? AND path = ? AND NOT is_dir RETURNING content"
RECORD = (
    "INSERT INTO archive_extractions (session_pk, archive_no, extracted_at, memory_diff, "
    f"by_category, {USAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    f"ON CONFLICT (session_pk, archive_no) DO UPDATE SET {_RECORDED}"
)
FAILED_ARCHIVES = (
    "SELECT archive_no FROM archives WHERE session_pk = ? AND status = 'failed' ORDER BY archive_no"
)
ARCHIVE_STATUS = "SELECT status FROM archives WHERE session_pk = ? AND archive_no = ?"
LIVE_TASK = (
    "SELECT task_id FROM tasks WHERE session_pk = ? AND archive_no = ? AND status IN "
    "('pending', 'running') ORDER BY created_at DESC LIMIT 1"
)
RESET_ARCHIVE = (
    "UPDATE archives SET status = 'pending', error = NULL WHERE session_pk = ? AND archive_no = ?"
)
INSERT_TASK = (
    "INSERT INTO tasks (task_id, account, user_name, task_type, session_id, session_pk, "
    "archive_no, status, created_at, updated_at) "
    "VALUES (?, ?, ?, 'session_commit', ?, ?, ?, 'pending', ?, ?)"
)


def text_of(value: bytes | None) -> str:
    return bytes(value or b"").decode("utf-8", errors="replace")


def apply_diff(
    conn: Conn,
    *,
    account: str,
    user: str,
    session_id: str,
    session_pk: int,
    archive_no: int,
    upserts: Sequence[MemoryFact],
    deletes: Sequence[MemoryRef],
    usage: TokenUsage,
    now: float,
    ensure_parents: EnsureParents,
) -> Applied:
    """Apply one archive's extraction and record it; paths outside the user's memories are
    ignored (a defence: callers build the paths)."""
    root = f"user/{user}/memories/"
    out = Applied()
    incarnation = None  # the session's created_at, read once a memory needs provenance
    for fact in upserts:
        if not fact.path.startswith(root):
            continue
        data = fact.content.encode()
        existing = conn.execute(FIND_FILE, (account, fact.path)).fetchone()
        if existing is not None and existing[1]:
            continue  # a directory stands where the fact would go; skip it
        changed = True
        if existing is None:
            ensure_parents(conn, account, fact.path, now)
            (file_pk,) = conn.execute(
                INSERT_FILE, (account, fact.path, parent(fact.path), data, now, now)
            ).fetchone()
            out.created += 1
            out.diff.adds.append(
                DiffEntry(path=fact.path, category=fact.category, after=fact.content)
            )
        else:
            file_pk = existing[0]
            before = bytes(existing[2] or b"")
            changed = before != data
            if not changed:
                out.unchanged += 1
            else:
                conn.execute(UPDATE_FILE, (data, now, file_pk))
                out.updated += 1
                out.diff.updates.append(
                    DiffEntry(
                        path=fact.path,
                        category=fact.category,
                        before=text_of(before),
                        after=fact.content,
                    )
                )
        if incarnation is None:
            (incarnation,) = conn.execute(SESSION_CREATED, (session_pk,)).fetchone()
        conn.execute(ADD_SOURCE, (file_pk, account, user, session_id, archive_no, incarnation, now))
        if changed:
            out.by_category[fact.category] = out.by_category.get(fact.category, 0) + 1
    for ref in deletes:
        if not ref.path.startswith(root):
            continue
        gone = conn.execute(DELETE_FILE, (account, ref.path)).fetchone()
        if gone is not None:  # its memory_sources rows go with it (ON DELETE CASCADE)
            out.deleted += 1
            out.diff.deletes.append(
                DiffEntry(path=ref.path, category=ref.category, before=text_of(gone[0]))
            )
    conn.execute(
        RECORD,
        (
            session_pk,
            archive_no,
            now,
            msgspec.json.encode(out.diff),
            msgspec.json.encode(out.by_category).decode(),
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens,
            usage.cached_tokens,
            usage.reasoning_tokens,
        ),
    )
    return out


def requeue(
    conn: Conn,
    *,
    account: str,
    user: str,
    session_id: str,
    session_pk: int,
    archive_no: int | None,
    new_task_id: Callable[[], str],
    now: float,
) -> list[Requeued]:
    """Queue failed archives for extraction again: one named archive, or every failed one.
    A named archive that is already queued reports its task; one already extracted is a
    ``FailedPreconditionError``; a missing one ``NotFoundError``. The caller holds the
    session's write lock."""
    if archive_no is None:
        failed = [r[0] for r in conn.execute(FAILED_ARCHIVES, (session_pk,))]
    else:
        name = f"archive_{archive_no:03d}"
        got = conn.execute(ARCHIVE_STATUS, (session_pk, archive_no)).fetchone()
        if got is None:
            raise NotFoundError.of("archive", name)
        if got[0] == "done":
            raise FailedPreconditionError(
                f"{name} of session {session_id} was already extracted",
                {"type": "archive", "resource": name, "reason": "already_extracted"},
            )
        if got[0] == "pending":
            task = conn.execute(LIVE_TASK, (session_pk, archive_no)).fetchone()
            if task is not None:
                return [Requeued(archive_no=archive_no, task_id=task[0], already_queued=True)]
        failed = [archive_no]  # failed, or pending with no live task (an orphan): queue it
    out: list[Requeued] = []
    for no in failed:
        task_id = new_task_id()
        conn.execute(RESET_ARCHIVE, (session_pk, no))
        conn.execute(INSERT_TASK, (task_id, account, user, session_id, session_pk, no, now, now))
        out.append(Requeued(archive_no=no, task_id=task_id))
    return out
