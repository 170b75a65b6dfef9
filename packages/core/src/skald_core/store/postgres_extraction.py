"""Extraction in PostgreSQL: applying a memory diff, recording it per archive, re-queueing.

The same semantics as ``sqlite_extraction``; the caller (``PostgresStore``) holds the session
row lock and the owner's memory lock while ``apply_diff`` runs, so two replicas extracting for
one user write their diffs one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from ..errors import FailedPreconditionError, NotFoundError
from .model import (
    ArchiveExtraction,
    DiffEntry,
    ExtractionSummary,
    MemoryFact,
    MemoryRef,
    Requeued,
    TokenCounts,
)
from .postgres_common import Conn
from .sqlite_extraction import Applied, _counts_decoder, _diff_decoder, _text, _usage

EnsureParents = Callable[[Conn, str, str, float], None]


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
            "SELECT pk, is_dir, content FROM files WHERE account = %s AND path = %s FOR UPDATE",
            (account, fact.path),
        ).fetchone()
        if existing is not None and existing[1]:
            continue  # a directory stands where the fact would go; skip it
        if existing is None:
            ensure_parents(conn, account, fact.path, now)
            got = conn.execute(
                "INSERT INTO files (account, path, parent, is_dir, content, created_at, "
                "updated_at) VALUES (%s, %s, %s, FALSE, %s, %s, %s) RETURNING pk",
                (account, fact.path, fact.path.rsplit("/", 1)[0], data, now, now),
            ).fetchone()
            assert got is not None
            file_pk = got[0]
            out.created += 1
            out.diff.adds.append(
                DiffEntry(path=fact.path, category=fact.category, after=fact.content)
            )
        else:
            file_pk = existing[0]
            before = bytes(existing[2] or b"")
            if before != data:
                conn.execute(
                    "UPDATE files SET content = %s, updated_at = %s WHERE pk = %s",
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
            "INSERT INTO memory_sources (file_pk, account, user_name, session_id, archive_no, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (file_pk, account, user, session_id, archive_no, now),
        )
        out.written += 1
        out.by_category[fact.category] = out.by_category.get(fact.category, 0) + 1
    for ref in deletes:
        if not ref.path.startswith(root):
            continue
        gone = conn.execute(
            "DELETE FROM files WHERE account = %s AND path = %s AND NOT is_dir RETURNING content",
            (account, ref.path),
        ).fetchone()
        if gone is not None:  # its memory_sources rows go with it (ON DELETE CASCADE)
            out.deleted += 1
            out.diff.deletes.append(
                DiffEntry(path=ref.path, category=ref.category, before=_text(gone[0]))
            )
    conn.execute(
        "INSERT INTO archive_extractions (session_pk, archive_no, extracted_at, memory_diff, "
        "by_category, prompt_tokens, completion_tokens, total_tokens, cached_tokens, "
        "reasoning_tokens) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (session_pk, archive_no) DO UPDATE SET extracted_at = EXCLUDED.extracted_at, "
        "memory_diff = EXCLUDED.memory_diff, by_category = EXCLUDED.by_category, "
        "prompt_tokens = EXCLUDED.prompt_tokens, completion_tokens = EXCLUDED.completion_tokens, "
        "total_tokens = EXCLUDED.total_tokens, cached_tokens = EXCLUDED.cached_tokens, "
        "reasoning_tokens = EXCLUDED.reasoning_tokens",
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
