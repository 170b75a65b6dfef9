"""Deletion: hard delete (purge), soft delete, restore, user erasure and the audit log, written
once for every SQL backend (``Dialect`` supplies the row locks and the JSON reading).

Each function runs inside the caller's write transaction and writes its audit row in it, so
the audit survives exactly the deletions that happened; audit rows record ids, verbs and
counts, never content. Where a backend has row locks, the session row is taken ``FOR UPDATE``
first: a concurrent append, commit or extraction of the same session either finished before
or waits until this transaction is over, and then finds the session gone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, Literal

import msgspec

from ..errors import AlreadyExistsError, FailedPreconditionError, NotFoundError
from ..identity import Identity
from ..literals import SessionState
from ..schemas import (
    KEPT_URIS_LISTED,
    DeletedCounts,
    DeletionReceipt,
    ErasedCounts,
    KeptCounts,
)
from .deletion_rules import (
    CANCELLED,
    check_still_old,
)
from .dialect import Conn, lock_key
from .model import AuditRow, Owner, SessionRow
from .rows import SESSION_COLUMNS, below, session_row


def lock_owner(conn: Conn, account: str, user: str) -> None:
    """Serialise writes to one user's memories (extractions, forgetting, erasure) across
    processes until this transaction ends; a no-op where writers are serialised anyway."""
    if conn.d.advisory_lock is not None:
        conn.execute(conn.d.advisory_lock, (lock_key("skald:owner", account, user),))


_FIND = {
    lock: f"SELECT {SESSION_COLUMNS} FROM sessions WHERE account = ? AND user_name = ? "
    f"AND session_id = ?{lock}"
    for lock in ("", " FOR UPDATE", " FOR KEY SHARE")
}


def find(conn: Conn, owner: Owner, session_id: str, *, lock: str = "") -> SessionRow | None:
    """The session row; ``lock``: "", " FOR UPDATE" or " FOR KEY SHARE"."""
    row = conn.execute(_FIND[lock], (owner.account, owner.user, session_id)).fetchone()
    return session_row(row) if row else None


def audit(
    conn: Conn,
    actor: Identity,
    action: str,
    owner: Owner,
    session_id: str | None,
    counts: dict[str, int],
    now: float,
    *,
    key_id: str | None = None,
) -> None:
    """One audit row, in the caller's transaction: who did ``action`` to whose session (or,
    ``key_id``, to which API key), when, and counts."""
    conn.execute(
        "INSERT INTO audit_log (at, actor_account, actor_user, actor_role, action, account, "
        "user_name, session_id, counts, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            key_id,
        ),
    )


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
        pending = int(
            conn.one(
                "SELECT COUNT(*) FROM archives WHERE session_pk = ? AND status = 'pending'",
                (row.pk,),
            )
        )
        if pending:
            raise FailedPreconditionError(
                f"Session {row.session_id} has {pending} archives still waiting for extraction",
                {"type": "session", "resource": row.session_id, "pending_archives": pending},
            )


#: This incarnation's provenance (``s``): written since the session was created, so an
#: earlier, deleted session that used the same id keeps its own (older) rows.
_MINE = "s.account = ? AND s.user_name = ? AND s.session_id = ? AND s.session_created_at >= ?"
#: ... and supported by another session too (or an earlier one with this id).
_ALSO_ELSEWHERE = (
    " AND EXISTS (SELECT 1 FROM memory_sources o WHERE o.file_pk = s.file_pk "
    "AND (o.session_id <> s.session_id OR o.session_created_at < ?))"
)
_KEPT_REASON = {
    "soft": "a soft delete keeps everything; restore the session or purge it",
    "hard": "memories outlive the session that produced them; delete with "
    "forget_memories=true to also remove the ones only this session supports",
    "forget": "also supported by another session (or an earlier session with this id)",
}


def _kept(conn: Conn, owner: Owner, row: SessionRow, how: str) -> KeptCounts:
    """The memories this session supports that a deletion ``how`` leaves, and why."""
    mine: tuple[object, ...] = (owner.account, owner.user, row.session_id, row.created_at)
    where, args = _MINE, mine
    if how == "forget":
        where, args = _MINE + _ALSO_ELSEWHERE, (*mine, row.created_at)
    count = int(
        conn.one(f"SELECT COUNT(DISTINCT s.file_pk) FROM memory_sources s WHERE {where}", args)
    )
    uris: list[str] = []
    if count:
        uris = [
            "viking://" + r[0]
            for r in conn.execute(
                "SELECT f.path FROM files f WHERE f.pk IN (SELECT s.file_pk FROM "
                f"memory_sources s WHERE {where}) ORDER BY f.path LIMIT {KEPT_URIS_LISTED}",
                args,
            )
        ]
    return KeptCounts(memories=count, memory_uris=uris, reason=_KEPT_REASON[how])


def _receipt(
    conn: Conn, owner: Owner, row: SessionRow, soft: bool, forget: bool = False
) -> DeletionReceipt:
    """What a deletion of ``row`` removes and keeps (before tasks are cancelled and memories
    forgotten)."""
    got = conn.execute(
        (
            "SELECT (SELECT COUNT(*) FROM archives WHERE session_pk = ?), "
            "(SELECT COUNT(*) FROM files WHERE session_pk = ? AND NOT is_dir)"
        ),
        (row.pk, row.pk),
    ).fetchone()
    deleted = DeletedCounts(
        messages=row.total_message_count,  # kept with the rows; check_integrity verifies it
        archives=int(got[0]),
        files=int(got[1]),
        tool_records=int(conn.raw.execute(conn.d.count_tool_ids, (row.pk,)).fetchone()[0]),
        pending_tasks=0,
    )
    return DeletionReceipt(
        session_id=row.session_id,
        mode="soft" if soft else "hard",
        deleted=deleted,
        kept=_kept(conn, owner, row, "soft" if soft else "forget" if forget else "hard"),
    )


def audit_counts(receipt: DeletionReceipt) -> dict[str, int]:
    """What an audit row records of a deletion: counts only, never content."""
    d = receipt.deleted
    return {
        "messages": d.messages,
        "archives": d.archives,
        "files": d.files,
        "tool_records": d.tool_records,
        "pending_tasks": d.pending_tasks,
        "memories_kept": receipt.kept.memories,
        "memories_deleted": d.memories,
    }


def _forget_memories(conn: Conn, owner: Owner, row: SessionRow) -> int:
    """Remove memories supported only by this session; strip its provenance from the rest.

    "This session" is this incarnation of the id: provenance written since it was created. An
    earlier, deleted session with the same id counts as another source."""
    gone = conn.execute(
        f"DELETE FROM files WHERE pk IN ({_ONLY_MINE})", _only_mine_args(owner, row)
    ).rowcount
    conn.execute(f"DELETE FROM memory_sources AS s WHERE {_MINE}", _only_mine_args(owner, row)[:4])
    return max(int(gone), 0)


def forgettable_paths(conn: Conn, owner: Owner, row: SessionRow) -> list[str]:
    """The paths ``_forget_memories`` would remove for ``row``, sorted (nothing changes)."""
    got = conn.execute(
        f"SELECT path FROM files WHERE pk IN ({_ONLY_MINE}) ORDER BY path",
        _only_mine_args(owner, row),
    )
    return [r[0] for r in got]


#: Provenance rows of this incarnation of a session, and the memories only they support.
#: The memories only this session supports (what forget_memories removes).
_ONLY_MINE = (
    f"SELECT s.file_pk FROM memory_sources s WHERE {_MINE} "
    f"AND NOT{_ALSO_ELSEWHERE.removeprefix(' AND')}"
)


def _only_mine_args(owner: Owner, row: SessionRow) -> tuple[Any, ...]:
    return (owner.account, owner.user, row.session_id, row.created_at, row.created_at)


def delete(
    conn: Conn,
    owner: Owner,
    session_id: str,
    now: float,
    *,
    actor: Identity,
    soft: bool = False,
    action: str = "delete",
    require_committed: bool = False,
    require_extracted: bool = False,
    forget_memories: bool = False,
    state: SessionState | None = None,
    older_than: tuple[str, float] | None = None,
) -> DeletionReceipt:
    """Remove the session (in the ``state`` asked for, else either; ``soft``: a live one) and every row
    under it, in this transaction — or, ``soft``, hide it everywhere, restorable until purged,
    its rows untouched. ``older_than`` (column, cutoff) re-checks a retention decision taken
    earlier, inside this transaction and under the session's row lock, so a session restored
    or used since it was selected is left alone."""
    state = "live" if soft else state
    row = find(conn, owner, session_id, lock=" FOR UPDATE")
    if (
        row is None
        or (state == "trashed" and row.deleted_at is None)
        or (state == "live" and row.deleted_at is not None)
    ):
        raise NotFoundError.of("session", session_id)
    if older_than is not None:
        check_still_old(row, *older_than)
    # Purging the trash needs no commit; but commit_first (require_extracted) must not purge
    # a session trashed - or deleted, re-created and trashed - since it committed it.
    if require_committed and (row.deleted_at is None or require_extracted):
        _check_committed(conn, row, require_extracted)
    receipt = _receipt(conn, owner, row, soft, forget_memories)
    if soft:
        conn.execute(
            "UPDATE sessions SET deleted_at = ?, deleted_by = ? WHERE pk = ?",
            (now, actor.actor, row.pk),
        )
        action = "soft_delete"
    else:
        receipt.deleted.pending_tasks = max(
            conn.execute(
                "UPDATE tasks SET status = 'cancelled', error = ?, claim = NULL, updated_at = ? "
                "WHERE session_pk = ? AND status IN ('pending', 'running')",
                (CANCELLED, now, row.pk),
            ).rowcount,
            0,
        )
        if forget_memories:
            lock_owner(conn, owner.account, owner.user)  # memory writes of this user wait
            receipt.deleted.memories = _forget_memories(conn, owner, row)
            # Task results name the memory files they wrote; those names go with the memories.
            conn.execute("UPDATE tasks SET result = NULL WHERE session_pk = ?", (row.pk,))
        drop_messages(conn, "session_pk = ?", (row.pk,))
        conn.execute("DELETE FROM sessions WHERE pk = ?", (row.pk,))
        if row.deleted_at is not None and action == "delete":
            action = "purge"
    audit(conn, actor, action, owner, session_id, audit_counts(receipt), now)
    return receipt


def drop_messages(conn: Conn, where: str, args: tuple[object, ...]) -> None:
    """Delete the messages ``where`` says, in a statement of their own, before their sessions.

    The cascade from ``sessions`` would delete them too, but inside the statement that also
    cascades into ``files``, whose search triggers write a virtual table (``search_sql.py``):
    SQLite then keeps a statement journal of every page that statement changes. Measured on
    the same file: a session of 10,000 messages took 43 ms to delete by the cascade, 32 ms
    this way (as without the search index)."""
    conn.execute(f"DELETE FROM messages WHERE {where}", args)


def restore(
    conn: Conn, owner: Owner, session_id: str, now: float, *, actor: Identity
) -> SessionRow:
    row = find(conn, owner, session_id, lock=" FOR UPDATE")
    if row is None:
        raise NotFoundError.of("session", session_id)
    if row.deleted_at is None:
        raise FailedPreconditionError(
            f"Session {session_id} is not in the trash",
            {"type": "session", "resource": session_id, "reason": "not_deleted"},
        )
    restored = conn.execute(
        "UPDATE sessions SET deleted_at = NULL, deleted_by = NULL, updated_at = ? "
        f"WHERE pk = ? RETURNING {SESSION_COLUMNS}",
        (now, row.pk),
    ).fetchone()
    audit(conn, actor, "restore", owner, session_id, {"messages": row.total_message_count}, now)
    return session_row(restored)


def refuse_taken_id(conn: Conn, owner: Owner, session_id: str) -> None:
    """``AlreadyExistsError`` saying whether the id is live or in the trash, if it is taken."""
    row = find(conn, owner, session_id)
    if row is not None:
        detail = {"type": "session", "resource": session_id}
        if row.deleted_at is not None:
            raise AlreadyExistsError(
                f"Session {session_id} is in the trash; restore or purge it before re-creating it",
                {**detail, "reason": "in_trash"},
            )
        raise AlreadyExistsError.of("session", session_id)


def erase_user(conn: Conn, account: str, user: str, now: float, *, actor: Identity) -> ErasedCounts:
    """Everything of one user: sessions (live and trashed), memories, files, tasks, keys."""
    owner = Owner(account, user)
    by_owner = (account, user)
    # Lock order as everywhere: session rows (here all of the user's, by key), then the owner.
    if conn.d.row_locks:
        conn.execute(
            "SELECT pk FROM sessions WHERE account = ? AND user_name = ? ORDER BY pk FOR UPDATE",
            by_owner,
        ).fetchall()
    lock_owner(conn, account, user)
    prefix = f"user/{user}"
    lo, hi = below(prefix)
    files_below = (
        "SELECT COUNT(*) FROM files WHERE account = ? AND NOT is_dir AND path >= ? AND path < ?"
    )
    got = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(total_message_count), 0), (SELECT COUNT(*) FROM archives "
        "a JOIN sessions s ON s.pk = a.session_pk WHERE s.account = ? AND s.user_name = ?), "
        f"({files_below}), ({files_below}) FROM sessions WHERE account = ? AND user_name = ?",
        (*by_owner, account, *below(f"{prefix}/memories"), account, lo, hi, *by_owner),
    ).fetchone()
    tasks = conn.execute("DELETE FROM tasks WHERE account = ? AND user_name = ?", by_owner).rowcount
    drop_messages(
        conn,
        "session_pk IN (SELECT pk FROM sessions WHERE account = ? AND user_name = ?)",
        by_owner,
    )
    for table in ("sessions", "memory_sources", "idempotency_keys"):
        conn.execute(f"DELETE FROM {table} WHERE account = ? AND user_name = ?", by_owner)
    conn.execute(
        "DELETE FROM files WHERE account = ? AND (path = ? OR (path >= ? AND path < ?))",
        (account, prefix, lo, hi),
    )
    keys = conn.execute("DELETE FROM api_keys WHERE account = ? AND user_name = ?", by_owner)
    shared = _erase_shared_writes(conn, account, user)
    _redact_audit(conn, account, user)
    memories = int(got[3])
    counts = ErasedCounts(
        sessions=int(got[0]),
        messages=int(got[1]),
        archives=int(got[2]),
        files=int(got[4]) - memories + shared,
        memories=memories,
        tasks=max(tasks, 0),
        keys=max(keys.rowcount, 0),
    )
    audit(conn, actor, "erase_user", owner, None, msgspec.structs.asdict(counts), now)
    return counts


def _erase_shared_writes(conn: Conn, account: str, user: str) -> int:
    """Remove the files of the account's shared trees the user wrote (alone or with others:
    text they appended is in there too), and the directories they created once nothing is
    left in them; the number of files removed. A directory of theirs that still holds
    others' files stays (its name is part of those files' paths)."""
    mine = "SELECT file_pk FROM file_writers WHERE account = ? AND user_name = ?"
    files = conn.execute(
        f"DELETE FROM files WHERE pk IN ({mine}) AND NOT is_dir", (account, user)
    ).rowcount
    while True:  # deepest first: a directory empties once its subdirectories are gone
        gone = conn.execute(
            f"DELETE FROM files WHERE pk IN ({mine}) AND is_dir AND NOT EXISTS "
            "(SELECT 1 FROM files c WHERE c.account = files.account AND c.parent = files.path)",
            (account, user),
        ).rowcount
        if gone <= 0:
            break
    conn.execute("DELETE FROM file_writers WHERE account = ? AND user_name = ?", (account, user))
    return max(int(files), 0)


def _redact_audit(conn: Conn, account: str, user: str) -> None:
    """Older audit rows about the user keep their verbs, times and counts, but their session
    ids become ``erased-<hash>``: keyed with a secret drawn for this erasure and then
    forgotten, so rows of one session still match each other, and no id can be recovered
    (not even by hashing guesses)."""
    key = secrets.token_bytes(32)
    rows = conn.execute(
        "SELECT DISTINCT session_id FROM audit_log WHERE account = ? AND user_name = ? "
        "AND session_id IS NOT NULL",
        (account, user),
    ).fetchall()
    for (session_id,) in rows:
        token = hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()[:24]
        conn.execute(
            "UPDATE audit_log SET session_id = ? WHERE account = ? AND user_name = ? "
            "AND session_id = ?",
            (f"erased-{token}", account, user, session_id),
        )


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
    sql = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE {where} AND {column} < ?"
    args: list[Any] = [cutoff]
    if owner is not None:
        sql += " AND account = ? AND user_name = ?"
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
    """Newest first; ``before``: an audit id, for the next page."""
    sql = (
        "SELECT id, at, actor_account, actor_user, actor_role, action, account, user_name, "
        "session_id, counts, key_id FROM audit_log WHERE 1 = 1"
    )
    args: list[Any] = []
    for column, value in (("account", account), ("action", action), ("session_id", session_id)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
    if before is not None:
        sql += " AND id < ?"
        args.append(before)
    rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
    return [AuditRow(*r[:9], msgspec.json.decode(r[9]), r[10]) for r in rows]  # type: ignore[call-arg]
