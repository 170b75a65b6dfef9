"""Deletion in SQLite: hard delete (purge), soft delete, restore, user erasure and the audit log.

Each function runs inside the caller's write transaction, writes its audit row in that same
transaction (so the audit survives exactly the deletions that happened), and records ids,
verbs and counts only — never content.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Literal

import msgspec

from ..errors import AlreadyExistsError, FailedPreconditionError, NotFoundError
from ..identity import Identity
from .deletion_rules import (
    CANCELLED,
    audit_query,
    audit_rows,
    check_still_old,
    receipt_counts,
)
from .model import AuditRow, DeletionCounts, ErasureCounts, Owner, SessionRow


def audit(
    conn: sqlite3.Connection,
    actor: Identity,
    action: str,
    owner: Owner,
    session_id: str | None,
    counts: dict[str, int],
    now: float,
) -> None:
    conn.execute(
        "INSERT INTO audit_log (at, actor_account, actor_user, actor_role, action, account, user, "
        "session_id, counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            now,
            actor.account,
            actor.actor,
            actor.role,
            action,
            owner.account,
            owner.user,
            session_id,
            msgspec.json.encode(counts).decode(),
        ),
    )


def _check_committed(conn: sqlite3.Connection, row: SessionRow, require_extracted: bool) -> None:
    if row.message_count:
        raise FailedPreconditionError(
            f"Session {row.session_id} has {row.message_count} uncommitted messages; commit it "
            "first or delete without require_committed",
            {
                "type": "session",
                "resource": row.session_id,
                "uncommitted_messages": row.message_count,
            },
        )
    if require_extracted:
        pending = conn.execute(
            "SELECT COUNT(*) FROM archives WHERE session_pk = ? AND status = 'pending'", (row.pk,)
        ).fetchone()[0]
        if pending:
            raise FailedPreconditionError(
                f"Session {row.session_id} has {pending} archives still waiting for extraction",
                {"type": "session", "resource": row.session_id, "pending_archives": pending},
            )


def _counts(conn: sqlite3.Connection, owner: Owner, row: SessionRow) -> DeletionCounts:
    n_messages = row.total_message_count  # kept with the rows; check_integrity verifies it
    # "tool_parts > 0 OR context_parts > 0" lets SQLite use the partial index messages_with_parts
    tool_records = conn.execute(
        "SELECT COUNT(DISTINCT json_extract(p.value, '$.tool_id')) FROM messages m, "
        "json_each(m.body, '$.parts') p WHERE m.session_pk = ? "
        "AND (m.tool_parts > 0 OR m.context_parts > 0) AND m.tool_parts > 0 "
        "AND json_extract(p.value, '$.type') = 'tool'",
        (row.pk,),
    ).fetchone()[0]
    n_archives = conn.execute(
        "SELECT COUNT(*) FROM archives WHERE session_pk = ?", (row.pk,)
    ).fetchone()[0]
    n_files = conn.execute(
        "SELECT COUNT(*) FROM files WHERE session_pk = ? AND is_dir = 0", (row.pk,)
    ).fetchone()[0]
    # Provenance written since this session was created: an earlier, deleted session that used
    # the same id keeps its own (older) provenance rows.
    memories = conn.execute(
        "SELECT COUNT(DISTINCT file_pk) FROM memory_sources WHERE account = ? AND user = ? "
        "AND session_id = ? AND created_at >= ?",
        (owner.account, owner.user, row.session_id, row.created_at),
    ).fetchone()[0]
    return DeletionCounts(
        messages=n_messages,
        archives=n_archives,
        files=n_files,
        tool_records=tool_records,
        pending_tasks=0,
        memories_kept=memories,
    )


def _forget_memories(conn: sqlite3.Connection, owner: Owner, row: SessionRow) -> int:
    """Remove memories supported only by this session; strip its provenance from the rest.

    "This session" is this incarnation of the id: provenance written since it was created. An
    earlier, deleted session with the same id counts as another source."""
    mine = "s.account = ? AND s.user = ? AND s.session_id = ? AND s.created_at >= ?"
    args = (owner.account, owner.user, row.session_id, row.created_at)
    only_here = [
        r[0]
        for r in conn.execute(
            f"SELECT s.file_pk FROM memory_sources s WHERE {mine} AND NOT EXISTS "
            "(SELECT 1 FROM memory_sources o WHERE o.file_pk = s.file_pk "
            "AND (o.session_id != s.session_id OR o.created_at < ?)) GROUP BY s.file_pk",
            (*args, row.created_at),
        )
    ]
    conn.executemany("DELETE FROM files WHERE pk = ?", [(pk,) for pk in only_here])
    conn.execute(f"DELETE FROM memory_sources AS s WHERE {mine}", args)
    return len(only_here)


def find(conn: sqlite3.Connection, owner: Owner, session_id: str) -> SessionRow | None:
    from .sqlite import SESSION_COLUMNS, _session

    row = conn.execute(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE account = ? AND user = ? AND session_id = ?",
        (owner.account, owner.user, session_id),
    ).fetchone()
    return _session(row) if row else None


def hard_delete(
    conn: sqlite3.Connection,
    owner: Owner,
    session_id: str,
    now: float,
    *,
    actor: Identity,
    action: str = "delete",
    require_committed: bool = False,
    require_extracted: bool = False,
    forget_memories: bool = False,
    only_trashed: bool = False,
    only_live: bool = False,
    older_than: tuple[str, float] | None = None,
) -> DeletionCounts:
    """Remove the session (live or in the trash) and every row under it, in this transaction.

    ``only_trashed`` / ``only_live`` restrict which state may be removed; ``older_than``
    (column, cutoff) re-checks a retention decision taken earlier, inside this transaction, so a
    session restored or used since it was selected is left alone."""
    row = find(conn, owner, session_id)
    if (
        row is None
        or (only_trashed and row.deleted_at is None)
        or (only_live and row.deleted_at is not None)
    ):
        raise NotFoundError.of("session", session_id)
    if older_than is not None:
        check_still_old(row, *older_than)
    # Purging the trash needs no commit; but commit_first (require_extracted) must not purge
    # a session trashed - or deleted, re-created and trashed - since it committed it.
    if require_committed and (row.deleted_at is None or require_extracted):
        _check_committed(conn, row, require_extracted)
    counts = _counts(conn, owner, row)
    counts.pending_tasks = conn.execute(
        "UPDATE tasks SET status = 'cancelled', error = ?, claim = NULL, updated_at = ? "
        "WHERE session_pk = ? AND status IN ('pending', 'running')",
        (CANCELLED, now, row.pk),
    ).rowcount
    if forget_memories:
        counts.memories_deleted = _forget_memories(conn, owner, row)
        counts.memories_kept -= counts.memories_deleted
        # Task results name the memory files they wrote; those names go with the memories.
        conn.execute("UPDATE tasks SET result = NULL WHERE session_pk = ?", (row.pk,))
    conn.execute("DELETE FROM sessions WHERE pk = ?", (row.pk,))
    if row.deleted_at is not None and action == "delete":
        action = "purge"
    audit(conn, actor, action, owner, session_id, receipt_counts(counts), now)
    return counts


def soft_delete(
    conn: sqlite3.Connection,
    owner: Owner,
    session_id: str,
    now: float,
    *,
    actor: Identity,
    require_committed: bool = False,
    require_extracted: bool = False,
    older_than: tuple[str, float] | None = None,
) -> DeletionCounts:
    """Hide the session everywhere, restorable until purged. Its rows stay, untouched."""
    row = find(conn, owner, session_id)
    if row is None or row.deleted_at is not None:
        raise NotFoundError.of("session", session_id)
    if older_than is not None:
        check_still_old(row, *older_than)
    if require_committed:
        _check_committed(conn, row, require_extracted)
    counts = _counts(conn, owner, row)
    by = actor.actor
    conn.execute(
        "UPDATE sessions SET deleted_at = ?, deleted_by = ? WHERE pk = ?", (now, by, row.pk)
    )
    audit(conn, actor, "soft_delete", owner, session_id, receipt_counts(counts), now)
    return counts


def restore(
    conn: sqlite3.Connection, owner: Owner, session_id: str, now: float, *, actor: Identity
) -> None:
    row = find(conn, owner, session_id)
    if row is None:
        raise NotFoundError.of("session", session_id)
    if row.deleted_at is None:
        raise FailedPreconditionError(
            f"Session {session_id} is not in the trash",
            {"type": "session", "resource": session_id, "reason": "not_deleted"},
        )
    conn.execute(
        "UPDATE sessions SET deleted_at = NULL, deleted_by = NULL, updated_at = ? WHERE pk = ?",
        (now, row.pk),
    )
    audit(conn, actor, "restore", owner, session_id, {"messages": row.total_message_count}, now)


def refuse_trashed_id(conn: sqlite3.Connection, owner: Owner, session_id: str) -> None:
    row = find(conn, owner, session_id)
    if row is not None:
        detail = {"type": "session", "resource": session_id}
        if row.deleted_at is not None:
            raise AlreadyExistsError(
                f"Session {session_id} is in the trash; restore or purge it before re-creating it",
                {**detail, "reason": "in_trash"},
            )
        raise AlreadyExistsError.of("session", session_id)


def erase_user(
    conn: sqlite3.Connection, account: str, user: str, now: float, *, actor: Identity
) -> ErasureCounts:
    """Everything of one user: sessions (live and trashed), memories, files, tasks, keys."""
    owner = Owner(account, user)
    sessions = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(total_message_count), 0) FROM sessions "
        "WHERE account = ? AND user = ?",
        (account, user),
    ).fetchone()
    archives = conn.execute(
        "SELECT COUNT(*) FROM archives a JOIN sessions s ON s.pk = a.session_pk "
        "WHERE s.account = ? AND s.user = ?",
        (account, user),
    ).fetchone()[0]
    prefix = f"user/{user}"
    lo, hi = prefix + "/", prefix + "0"
    memories = conn.execute(
        "SELECT COUNT(*) FROM files WHERE account = ? AND is_dir = 0 AND path >= ? AND path < ?",
        (account, f"{prefix}/memories/", f"{prefix}/memories0"),
    ).fetchone()[0]
    files = conn.execute(
        "SELECT COUNT(*) FROM files WHERE account = ? AND is_dir = 0 AND path >= ? AND path < ?",
        (account, lo, hi),
    ).fetchone()[0]
    tasks = conn.execute(
        "DELETE FROM tasks WHERE account = ? AND user = ?", (account, user)
    ).rowcount
    conn.execute("DELETE FROM sessions WHERE account = ? AND user = ?", (account, user))
    conn.execute(
        "DELETE FROM files WHERE account = ? AND (path = ? OR (path >= ? AND path < ?))",
        (account, prefix, lo, hi),
    )
    conn.execute("DELETE FROM memory_sources WHERE account = ? AND user = ?", (account, user))
    conn.execute("DELETE FROM idempotency_keys WHERE account = ? AND user = ?", (account, user))
    keys = conn.execute(
        "DELETE FROM api_keys WHERE account = ? AND user = ?", (account, user)
    ).rowcount
    counts = ErasureCounts(
        sessions=sessions[0],
        messages=sessions[1],
        archives=archives,
        files=files - memories,
        memories=memories,
        tasks=tasks,
        keys=keys,
    )
    audit(conn, actor, "erase_user", owner, None, msgspec.structs.asdict(counts), now)
    return counts


def expired_sessions(
    conn: sqlite3.Connection,
    owner: Owner | None,
    cutoff: float,
    by: Literal["created_at", "updated_at"],
    *,
    trashed: bool,
) -> list[SessionRow]:
    """Sessions whose ``by`` time is before ``cutoff`` (live ones, or trashed by deletion time)."""
    from .sqlite import SESSION_COLUMNS, _session

    column = "deleted_at" if trashed else by
    where = "deleted_at IS NOT NULL" if trashed else "deleted_at IS NULL"
    sql = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE {where} AND {column} < ?"
    args: list[Any] = [cutoff]
    if owner is not None:
        sql += " AND account = ? AND user = ?"
        args += [owner.account, owner.user]
    sql += f" ORDER BY {column}, session_id"
    return [_session(r) for r in conn.execute(sql, args)]


def list_audit(
    conn: sqlite3.Connection,
    account: str | None,
    *,
    limit: int,
    action: str | None,
    session_id: str | None,
    before: int | None,
) -> list[AuditRow]:
    sql, args = audit_query(
        "?", "user", account, limit=limit, action=action, session_id=session_id, before=before
    )
    return audit_rows(conn.execute(sql, args))
