"""Extraction in SQLite: applying a memory diff, recording it per archive, re-queueing.

Each function runs inside the caller's transaction. ``apply_diff`` writes new and updated
memory files with provenance (``memory_sources``), removes deleted ones (their provenance
goes with them by ``ON DELETE CASCADE``) and records what it did — the diff with before and
after texts, the per-category counts and the token usage — in ``archive_extractions``, keyed
by the archive (and removed with it).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

import msgspec

from ..errors import FailedPreconditionError, NotFoundError
from .model import (
    ArchiveExtraction,
    DiffEntry,
    ExtractionSummary,
    MemoryDiff,
    MemoryFact,
    MemoryRef,
    Requeued,
    TokenCounts,
)

_diff_decoder = msgspec.json.Decoder(MemoryDiff)
_counts_decoder = msgspec.json.Decoder(dict[str, int])

EnsureParents = Callable[[sqlite3.Connection, str, str, float], None]


class Applied(msgspec.Struct, kw_only=True):
    created: int = 0
    updated: int = 0
    deleted: int = 0
    #: Memories written (created, changed or re-stated), the number an archive "extracted".
    written: int = 0
    diff: MemoryDiff = msgspec.field(default_factory=MemoryDiff)
    by_category: dict[str, int] = msgspec.field(default_factory=dict)


def _text(value: bytes | None) -> str:
    return bytes(value or b"").decode("utf-8", errors="replace")


def apply_diff(
    conn: sqlite3.Connection,
    *,
    account: str,
    user: str,
    session_id: str,
    session_pk: int,
    archive_no: int,
    upserts: Sequence[MemoryFact],
    deletes: Sequence[MemoryRef],
    usage: TokenCounts,
    now: float,
    ensure_parents: EnsureParents,
) -> Applied:
    """Apply one archive's extraction and record it; paths outside the user's memories are
    ignored (a defence: callers build the paths)."""
    root = f"user/{user}/memories/"
    out = Applied()
    for fact in upserts:
        if not fact.path.startswith(root):
            continue
        data = fact.content.encode()
        existing = conn.execute(
            "SELECT pk, is_dir, content FROM files WHERE account = ? AND path = ?",
            (account, fact.path),
        ).fetchone()
        if existing is not None and existing[1]:
            continue  # a directory stands where the fact would go; skip it
        if existing is None:
            ensure_parents(conn, account, fact.path, now)
            file_pk = conn.execute(
                "INSERT INTO files (account, path, parent, is_dir, content, created_at, "
                "updated_at) VALUES (?, ?, ?, 0, ?, ?, ?)",
                (account, fact.path, fact.path.rsplit("/", 1)[0], data, now, now),
            ).lastrowid
            out.created += 1
            out.diff.adds.append(
                DiffEntry(path=fact.path, category=fact.category, after=fact.content)
            )
        else:
            file_pk = existing[0]
            before = bytes(existing[2] or b"")
            if before != data:
                conn.execute(
                    "UPDATE files SET content = ?, updated_at = ? WHERE pk = ?",
                    (data, now, file_pk),
                )
                out.updated += 1
                out.diff.updates.append(
                    DiffEntry(
                        path=fact.path,
                        category=fact.category,
                        before=_text(before),
                        after=fact.content,
                    )
                )
        conn.execute(
            "INSERT OR IGNORE INTO memory_sources (file_pk, account, user, session_id, "
            "archive_no, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (file_pk, account, user, session_id, archive_no, now),
        )
        out.written += 1
        out.by_category[fact.category] = out.by_category.get(fact.category, 0) + 1
    for ref in deletes:
        if not ref.path.startswith(root):
            continue
        gone = conn.execute(
            "DELETE FROM files WHERE account = ? AND path = ? AND is_dir = 0 RETURNING content",
            (account, ref.path),
        ).fetchone()
        if gone is not None:  # its memory_sources rows go with it (ON DELETE CASCADE)
            out.deleted += 1
            out.diff.deletes.append(
                DiffEntry(path=ref.path, category=ref.category, before=_text(gone[0]))
            )
    conn.execute(
        "INSERT OR REPLACE INTO archive_extractions (session_pk, archive_no, extracted_at, "
        "memory_diff, by_category, prompt_tokens, completion_tokens, total_tokens, "
        "cached_tokens, reasoning_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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


_USAGE_COLUMNS = "prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens"


def _usage(row: Sequence[int]) -> TokenCounts:
    return TokenCounts(
        prompt_tokens=row[0],
        completion_tokens=row[1],
        total_tokens=row[2],
        cached_tokens=row[3],
        reasoning_tokens=row[4],
    )


def summary(conn: sqlite3.Connection, session_pk: int) -> ExtractionSummary:
    by_category: dict[str, int] = {}
    for (counts,) in conn.execute(
        "SELECT by_category FROM archive_extractions WHERE session_pk = ?", (session_pk,)
    ):
        for category, n in _counts_decoder.decode(counts).items():
            by_category[category] = by_category.get(category, 0) + n
    sums = conn.execute(
        "SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), "
        "COALESCE(SUM(total_tokens), 0), COALESCE(SUM(cached_tokens), 0), "
        "COALESCE(SUM(reasoning_tokens), 0) FROM archive_extractions WHERE session_pk = ?",
        (session_pk,),
    ).fetchone()
    return ExtractionSummary(by_category=dict(sorted(by_category.items())), usage=_usage(sums))


def extractions(conn: sqlite3.Connection, session_pk: int) -> list[ArchiveExtraction]:
    cur = conn.execute(
        f"SELECT archive_no, extracted_at, memory_diff, by_category, {_USAGE_COLUMNS} "
        "FROM archive_extractions WHERE session_pk = ? ORDER BY archive_no",
        (session_pk,),
    )
    return [
        ArchiveExtraction(
            archive_no=r[0],
            extracted_at=r[1],
            diff=_diff_decoder.decode(r[2]),
            by_category=_counts_decoder.decode(r[3]),
            usage=_usage(r[4:9]),
        )
        for r in cur
    ]


def requeue(
    conn: sqlite3.Connection,
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
    ``FailedPreconditionError``; a missing one ``NotFoundError``."""
    if archive_no is None:
        failed = [
            r[0]
            for r in conn.execute(
                "SELECT archive_no FROM archives WHERE session_pk = ? AND status = 'failed' "
                "ORDER BY archive_no",
                (session_pk,),
            )
        ]
    else:
        name = f"archive_{archive_no:03d}"
        got = conn.execute(
            "SELECT status FROM archives WHERE session_pk = ? AND archive_no = ?",
            (session_pk, archive_no),
        ).fetchone()
        if got is None:
            raise NotFoundError.of("archive", name)
        if got[0] == "done":
            raise FailedPreconditionError(
                f"{name} of session {session_id} was already extracted",
                {"type": "archive", "resource": name, "reason": "already_extracted"},
            )
        if got[0] == "pending":
            task = conn.execute(
                "SELECT task_id FROM tasks WHERE session_pk = ? AND archive_no = ? AND status IN "
                "('pending', 'running') ORDER BY created_at DESC LIMIT 1",
                (session_pk, archive_no),
            ).fetchone()
            if task is not None:
                return [Requeued(archive_no=archive_no, task_id=task[0], already_queued=True)]
        failed = [archive_no]  # failed, or pending with no live task (an orphan): queue it
    out: list[Requeued] = []
    for no in failed:
        task_id = new_task_id()
        conn.execute(
            "UPDATE archives SET status = 'pending', error = NULL WHERE session_pk = ? "
            "AND archive_no = ?",
            (session_pk, no),
        )
        conn.execute(
            "INSERT INTO tasks (task_id, account, user, task_type, session_id, session_pk, "
            "archive_no, status, created_at, updated_at) "
            "VALUES (?, ?, ?, 'session_commit', ?, ?, ?, 'pending', ?, ?)",
            (task_id, account, user, session_id, session_pk, no, now, now),
        )
        out.append(Requeued(archive_no=no, task_id=task_id))
    return out
