"""Extraction in SQLite: applying a memory diff, recording it per archive, re-queueing.

Each function runs inside the caller's transaction. Applying the diff is
``extraction_apply.apply_diff`` with this module's ``SQL``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

import msgspec

from ..errors import FailedPreconditionError, NotFoundError
from .extraction_apply import ExtractionSQL
from .model import (
    ArchiveExtraction,
    ExtractionSummary,
    MemoryDiff,
    Requeued,
    TokenCounts,
)

_diff_decoder = msgspec.json.Decoder(MemoryDiff)
_counts_decoder = msgspec.json.Decoder(dict[str, int])

SQL = ExtractionSQL.dialect(param="?", lock="", user_column="user")
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
