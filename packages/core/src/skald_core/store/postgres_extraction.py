"""Extraction in PostgreSQL: applying a memory diff, recording it per archive, re-queueing.

The same semantics as ``sqlite_extraction``; the caller (``PostgresStore``) holds the session
row lock and the owner's memory lock while ``apply_diff`` runs, so two replicas extracting for
one user write their diffs one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import FailedPreconditionError, NotFoundError
from .extraction_apply import ExtractionSQL
from .model import (
    ArchiveExtraction,
    ExtractionSummary,
    Requeued,
)
from .postgres_common import Conn
from .sqlite_extraction import _counts_decoder, _diff_decoder, _usage

SQL = ExtractionSQL.dialect(param="%s", lock=" FOR UPDATE", user_column="user_name")


def summary_of(categories: Sequence[str], sums: Sequence[int]) -> ExtractionSummary:
    """The summary from each extraction's per-category counts (JSON) and the token sums."""
    by_category: dict[str, int] = {}
    for counts in categories:
        for category, n in _counts_decoder.decode(counts).items():
            by_category[category] = by_category.get(category, 0) + n
    return ExtractionSummary(by_category=dict(sorted(by_category.items())), usage=_usage(sums))


def extractions_of(rows: Sequence[Sequence[Any]]) -> list[ArchiveExtraction]:
    """Rows of (archive_no, extracted_at, memory_diff, by_category, five token counts)."""
    return [
        ArchiveExtraction(
            archive_no=r[0],
            extracted_at=r[1],
            diff=_diff_decoder.decode(r[2]),
            by_category=_counts_decoder.decode(r[3]),
            usage=_usage(r[4:9]),
        )
        for r in rows
    ]


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
    """Queue failed archives for extraction again (see ``sqlite_extraction.requeue``). The
    caller holds the session row lock."""
    if archive_no is None:
        failed = [
            r[0]
            for r in conn.execute(
                "SELECT archive_no FROM archives WHERE session_pk = %s AND status = 'failed' "
                "ORDER BY archive_no",
                (session_pk,),
            )
        ]
    else:
        name = f"archive_{archive_no:03d}"
        got = conn.execute(
            "SELECT status FROM archives WHERE session_pk = %s AND archive_no = %s",
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
                "SELECT task_id FROM tasks WHERE session_pk = %s AND archive_no = %s AND status "
                "IN ('pending', 'running') ORDER BY created_at DESC LIMIT 1",
                (session_pk, archive_no),
            ).fetchone()
            if task is not None:
                return [Requeued(archive_no=archive_no, task_id=task[0], already_queued=True)]
        failed = [archive_no]  # failed, or pending with no live task (an orphan): queue it
    out: list[Requeued] = []
    for no in failed:
        task_id = new_task_id()
        conn.execute(
            "UPDATE archives SET status = 'pending', error = NULL WHERE session_pk = %s "
            "AND archive_no = %s",
            (session_pk, no),
        )
        conn.execute(
            "INSERT INTO tasks (task_id, account, user_name, task_type, session_id, session_pk, "
            "archive_no, status, created_at, updated_at) "
            "VALUES (%s, %s, %s, 'session_commit', %s, %s, %s, 'pending', %s, %s)",
            (task_id, account, user, session_id, session_pk, no, now, now),
        )
        out.append(Requeued(archive_no=no, task_id=task_id))
    return out
