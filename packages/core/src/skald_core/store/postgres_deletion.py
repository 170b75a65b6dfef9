"""Deletion in PostgreSQL: hard delete (purge), soft delete, restore, user erasure, the audit log.

The same semantics as ``sqlite_deletion`` (each function runs inside the caller's transaction
and writes its audit row in it), plus the locks SQLite's single writer made unnecessary: the
session row is taken ``FOR UPDATE`` first, so a concurrent append, commit or extraction of the
same session (in this process or another replica) either finished before or waits until this
transaction is over, and then finds the session gone.
"""

from __future__ import annotations

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
from .postgres_common import SESSION_COLUMNS, Conn, lock_owner, session_row

__all__ = [
    "CANCELLED",
    "audit",
    "erase_user",
    "expired_sessions",
    "find",
    "hard_delete",
    "list_audit",
    "refuse_trashed_id",
    "restore",
    "soft_delete",
]


def audit(
    conn: Conn,
    actor: Identity,
    action: str,
    owner: Owner,
    session_id: str | None,
    counts: dict[str, int],
    now: float,
) -> None:
    conn.execute(
        "INSERT INTO audit_log (at, actor_account, actor_user, actor_role, action, account, "
        "user_name, session_id, counts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
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


def find(conn: Conn, owner: Owner, session_id: str, *, lock: str = "") -> SessionRow | None:
    """The session row; ``lock`` is a row-lock clause such as ``FOR UPDATE``."""
    row = conn.execute(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE account = %s AND user_name = %s "
        f"AND session_id = %s {lock}",
        (owner.account, owner.user, session_id),
    ).fetchone()
    return session_row(row) if row else None


def _check_committed(conn: Conn, row: SessionRow, require_extracted: bool) -> None:
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
        got = conn.execute(
            "SELECT COUNT(*) FROM archives WHERE session_pk = %s AND status = 'pending'", (row.pk,)
        ).fetchone()
        pending = int(got[0]) if got else 0
        if pending:
            raise FailedPreconditionError(
                f"Session {row.session_id} has {pending} archives still waiting for extraction",
                {"type": "session", "resource": row.session_id, "pending_archives": pending},
            )


def _one(conn: Conn, sql: str, args: tuple[Any, ...]) -> int:
    got = conn.execute(sql, args).fetchone()
    return int(got[0]) if got and got[0] is not None else 0


def _counts(conn: Conn, owner: Owner, row: SessionRow) -> DeletionCounts:
    """What a deletion of ``row`` removes and keeps, in one statement."""
    got = conn.execute(
        # The message body is JSON (msgspec-encoded, so valid UTF-8), read with PostgreSQL's
        # JSON functions as SQLite's json_each reads it. PostgreSQL cannot turn a "\u0000"
        # escape into text (a message text may hold NUL), so those escapes - the ones not
        # themselves escaped, after an even run of backslashes - are dropped first; tool ids
        # and part types are what is read here. "tool_parts > 0 OR context_parts > 0" lets the
        # planner use messages_with_parts.
        "SELECT (SELECT COUNT(DISTINCT p.value ->> 'tool_id') FROM messages m, "
        "json_array_elements(regexp_replace(convert_from(m.body, 'UTF8'), "
        r"'(?<!\\)((\\\\)*)\\u0000', '\1', 'g')::json -> 'parts') p "
        "WHERE m.session_pk = %(pk)s AND (m.tool_parts > 0 OR m.context_parts > 0) "
        "AND m.tool_parts > 0 AND p.value ->> 'type' = 'tool'), "
        "(SELECT COUNT(*) FROM archives WHERE session_pk = %(pk)s), "
        "(SELECT COUNT(*) FROM files WHERE session_pk = %(pk)s AND NOT is_dir), "
        # Provenance written since this session was created: an earlier, deleted session that
        # used the same id keeps its own (older) provenance rows.
        "(SELECT COUNT(DISTINCT file_pk) FROM memory_sources WHERE account = %(account)s "
        "AND user_name = %(user)s AND session_id = %(sid)s AND created_at >= %(since)s)",
        {
            "pk": row.pk,
            "account": owner.account,
            "user": owner.user,
            "sid": row.session_id,
            "since": row.created_at,
        },
    ).fetchone()
    assert got is not None
    return DeletionCounts(
        messages=row.total_message_count,  # kept with the rows; check_integrity verifies it
        archives=int(got[1]),
        files=int(got[2]),
        tool_records=int(got[0]),
        pending_tasks=0,
        memories_kept=int(got[3]),
    )


def _forget_memories(conn: Conn, owner: Owner, row: SessionRow) -> int:
    """Remove memories supported only by this session; strip its provenance from the rest.

    "This session" is this incarnation of the id: provenance written since it was created. An
    earlier, deleted session with the same id counts as another source."""
    mine = "s.account = %s AND s.user_name = %s AND s.session_id = %s AND s.created_at >= %s"
    args = (owner.account, owner.user, row.session_id, row.created_at)
    gone = conn.execute(
        f"DELETE FROM files WHERE pk IN (SELECT s.file_pk FROM memory_sources s WHERE {mine} "
        "AND NOT EXISTS (SELECT 1 FROM memory_sources o WHERE o.file_pk = s.file_pk "
        "AND (o.session_id <> s.session_id OR o.created_at < %s)))",
        (*args, row.created_at),
    ).rowcount
    conn.execute(f"DELETE FROM memory_sources AS s WHERE {mine}", args)
    return max(gone, 0)


def hard_delete(
    conn: Conn,
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
    (column, cutoff) re-checks a retention decision taken earlier, inside this transaction
    and under the session's row lock, so a session restored or used since it was selected is
    left alone."""
    row = find(conn, owner, session_id, lock="FOR UPDATE")
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
    counts.pending_tasks = max(
        conn.execute(
            "UPDATE tasks SET status = 'cancelled', error = %s, claim = NULL, updated_at = %s "
            "WHERE session_pk = %s AND status IN ('pending', 'running')",
            (CANCELLED, now, row.pk),
        ).rowcount,
        0,
    )
    if forget_memories:
        lock_owner(conn, owner.account, owner.user)  # memory writes of this user wait
        counts.memories_deleted = _forget_memories(conn, owner, row)
        counts.memories_kept -= counts.memories_deleted
        # Task results name the memory files they wrote; those names go with the memories.
        conn.execute("UPDATE tasks SET result = NULL WHERE session_pk = %s", (row.pk,))
    conn.execute("DELETE FROM sessions WHERE pk = %s", (row.pk,))
    if row.deleted_at is not None and action == "delete":
        action = "purge"
    audit(conn, actor, action, owner, session_id, receipt_counts(counts), now)
    return counts


def soft_delete(
    conn: Conn,
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
    row = find(conn, owner, session_id, lock="FOR UPDATE")
    if row is None or row.deleted_at is not None:
        raise NotFoundError.of("session", session_id)
    if older_than is not None:
        check_still_old(row, *older_than)
    if require_committed:
        _check_committed(conn, row, require_extracted)
    counts = _counts(conn, owner, row)
    by = actor.actor
    conn.execute(
        "UPDATE sessions SET deleted_at = %s, deleted_by = %s WHERE pk = %s", (now, by, row.pk)
    )
    audit(conn, actor, "soft_delete", owner, session_id, receipt_counts(counts), now)
    return counts


def restore(conn: Conn, owner: Owner, session_id: str, now: float, *, actor: Identity) -> None:
    row = find(conn, owner, session_id, lock="FOR UPDATE")
    if row is None:
        raise NotFoundError.of("session", session_id)
    if row.deleted_at is None:
        raise FailedPreconditionError(
            f"Session {session_id} is not in the trash",
            {"type": "session", "resource": session_id, "reason": "not_deleted"},
        )
    conn.execute(
        "UPDATE sessions SET deleted_at = NULL, deleted_by = NULL, updated_at = %s WHERE pk = %s",
        (now, row.pk),
    )
    audit(conn, actor, "restore", owner, session_id, {"messages": row.total_message_count}, now)


def refuse_trashed_id(conn: Conn, owner: Owner, session_id: str) -> None:
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
    conn: Conn, account: str, user: str, now: float, *, actor: Identity
) -> ErasureCounts:
    """Everything of one user: sessions (live and trashed), memories, files, tasks, keys."""
    owner = Owner(account, user)
    # Lock order as everywhere: session rows (here all of the user's, by key), then the owner.
    conn.execute(
        "SELECT pk FROM sessions WHERE account = %s AND user_name = %s ORDER BY pk FOR UPDATE",
        (account, user),
    ).fetchall()
    lock_owner(conn, account, user)
    got = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(total_message_count), 0) FROM sessions "
        "WHERE account = %s AND user_name = %s",
        (account, user),
    ).fetchone()
    n_sessions, n_messages = (int(got[0]), int(got[1])) if got else (0, 0)
    archives = _one(
        conn,
        "SELECT COUNT(*) FROM archives a JOIN sessions s ON s.pk = a.session_pk "
        "WHERE s.account = %s AND s.user_name = %s",
        (account, user),
    )
    prefix = f"user/{user}"
    lo, hi = prefix + "/", prefix + "0"
    memories = _one(
        conn,
        "SELECT COUNT(*) FROM files WHERE account = %s AND NOT is_dir AND path >= %s AND path < %s",
        (account, f"{prefix}/memories/", f"{prefix}/memories0"),
    )
    files = _one(
        conn,
        "SELECT COUNT(*) FROM files WHERE account = %s AND NOT is_dir AND path >= %s AND path < %s",
        (account, lo, hi),
    )
    tasks = conn.execute(
        "DELETE FROM tasks WHERE account = %s AND user_name = %s", (account, user)
    ).rowcount
    conn.execute("DELETE FROM sessions WHERE account = %s AND user_name = %s", (account, user))
    conn.execute(
        "DELETE FROM files WHERE account = %s AND (path = %s OR (path >= %s AND path < %s))",
        (account, prefix, lo, hi),
    )
    conn.execute(
        "DELETE FROM memory_sources WHERE account = %s AND user_name = %s", (account, user)
    )
    conn.execute(
        "DELETE FROM idempotency_keys WHERE account = %s AND user_name = %s", (account, user)
    )
    keys = conn.execute(
        "DELETE FROM api_keys WHERE account = %s AND user_name = %s", (account, user)
    ).rowcount
    counts = ErasureCounts(
        sessions=n_sessions,
        messages=n_messages,
        archives=archives,
        files=files - memories,
        memories=memories,
        tasks=max(tasks, 0),
        keys=max(keys, 0),
    )
    audit(conn, actor, "erase_user", owner, None, msgspec.structs.asdict(counts), now)
    return counts


def expired_sessions(
    conn: Conn,
    owner: Owner | None,
    cutoff: float,
    by: Literal["created_at", "updated_at"],
    *,
    trashed: bool,
) -> list[SessionRow]:
    """Sessions whose ``by`` time is before ``cutoff`` (live ones, or trashed by deletion time)."""
    if by not in ("created_at", "updated_at"):
        raise ValueError(f"cannot order sessions by {by!r}")
    column = "deleted_at" if trashed else by
    where = "deleted_at IS NOT NULL" if trashed else "deleted_at IS NULL"
    sql = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE {where} AND {column} < %s"
    args: list[Any] = [cutoff]
    if owner is not None:
        sql += " AND account = %s AND user_name = %s"
        args += [owner.account, owner.user]
    sql += f" ORDER BY {column}, session_id"
    return [session_row(r) for r in conn.execute(sql, args)]


def list_audit(
    conn: Conn,
    account: str | None,
    *,
    limit: int,
    action: str | None,
    session_id: str | None,
    before: int | None,
) -> list[AuditRow]:
    sql, args = audit_query(
        "%s", "user_name", account, limit=limit, action=action, session_id=session_id, before=before
    )
    return audit_rows(conn.execute(sql, args))
