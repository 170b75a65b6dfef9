"""The store's operations, written once over SQL; each backend supplies only its plumbing.

``SQLStore`` is the storage protocol (``protocol.Store``): each operation declared, documented
and written once, with statements in one neutral form that ``dialect.Conn`` turns into the
backend's (``?`` placeholders, PostgreSQL's row-lock clauses, which SQLite drops). A backend
subclass gives:

* ``d``: its ``Dialect``;
* ``_tx(fn, write=..., single=...)``: run ``fn(conn)`` as one transaction (``single``: ``fn``
  runs ONE statement, which may be its own transaction), mapping driver errors to core errors;
* ``_after_erasure``, ``_integrity_extras``, ``describe``, ``ping``, ``migrate``,
  ``schema_version``, ``close``;
* overrides only where the backend has a real fast path; each says what it buys.

Lock order (every transaction that takes more than one of these takes them in this order, so
processes sharing a database never deadlock on them): an idempotency key, then session rows
(several only by primary key, ascending), then the owner's memory lock, then task rows.
SQLite, one writer at a time, needs none of them.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Literal, ParamSpec, TypeVar

import msgspec

from .. import clock
from ..errors import (
    AlreadyExistsError,
    ConflictError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
    SkaldError,
)
from ..export_format import End, Record
from ..identity import Identity, Role
from ..keys import (
    LAST_USED_RESOLUTION,
    OPERATOR,
    KeyRecord,
    NewKey,
    generate,
    key_record,
    matches,
    split,
)
from ..literals import SessionState
from ..schemas import DeleteOptions, DeletionReceipt, ErasedCounts
from . import deletion, search, transfer, vectors
from .deletion_rules import CANCELLED
from .dialect import Conn, Dialect, lock_key
from .extraction_apply import INSERT_TASK, Applied, apply_diff, requeue
from .model import (
    NO_QUOTA,
    ArchiveExtraction,
    ArchiveRow,
    AuditRow,
    ClaimedTask,
    CommitOutcome,
    ExtractionOutcome,
    ExtractionSummary,
    FileRow,
    FileWrite,
    ListedSession,
    LiveListed,
    MemoryFact,
    MemoryRef,
    MemorySource,
    NewMessage,
    Owner,
    Quota,
    Requeued,
    SessionRow,
    StoredMessage,
    TaskQueue,
    TaskRow,
    TokenUsage,
)
from .rows import (
    ARCHIVE_COLUMNS,
    EXTRACTION_COLUMNS,
    SESSION_COLUMNS,
    TASK_COLUMNS,
    USAGE_COLUMNS,
    archive_row,
    below,
    extraction_row,
    extraction_summary,
    file_row,
    message_row,
    parent,
    prefixed,
    session_row,
    task_row,
)

T = TypeVar("T")
P = ParamSpec("P")
log = logging.getLogger("skald.store")


def is_shared(path: str) -> bool:
    """A path of the account's shared trees (``agent/...``, ``resources/...``), not a user's."""
    return not path.startswith("user/")


HARD_DELETE = DeleteOptions()


class _RolledBack(Exception):
    """Carries a dry run's receipt out of the transaction it rolls back."""

    def __init__(self, receipt: DeletionReceipt) -> None:
        super().__init__(receipt.session_id)
        self.receipt = receipt


#: How long a client may retry a keyed write and get the first answer back.
IDEMPOTENCY_TTL_SECONDS = 24 * 3600

#: The bump of a session's counters by an append: (n, n, tokens, tokens, turns, now, now,
#: bytes).
BUMP = (
    "UPDATE sessions SET message_count = message_count + ?, "
    "total_message_count = total_message_count + ?, pending_tokens = pending_tokens + ?, "
    "total_tokens = total_tokens + ?, total_turns = total_turns + ?, updated_at = ?, "
    "last_message_at = ?, message_bytes = message_bytes + ? "
)
#: The quota condition of an append's bump: (room for messages, room for bytes) before it.
WITHIN_QUOTA = "AND total_message_count <= ? AND message_bytes <= ? "
INSERT_MESSAGE = (
    "INSERT INTO messages (session_pk, message_id, role, tokens, is_turn, tool_parts, "
    "context_parts, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _under_live(select: str, join: str, order: str) -> str:
    """A read of rows under a live session in ONE statement: the session joined to its rows
    (no row at all: no live session; one row of NULLs, first column NULL: a session without
    any), so no transaction around several statements, one round trip."""
    return (
        f"SELECT {select} FROM sessions s {join} WHERE s.account = ? AND s.user_name = ? "
        f"AND s.session_id = ? AND s.deleted_at IS NULL ORDER BY {order}"
    )


_MESSAGE = "m.pk, m.archive_no, m.tokens, m.body"
ALL_MESSAGES = _under_live(_MESSAGE, "LEFT JOIN messages m ON m.session_pk = s.pk", "m.pk")
ARCHIVE_MESSAGES = _under_live(
    _MESSAGE, "LEFT JOIN messages m ON m.session_pk = s.pk AND m.archive_no = ?", "m.pk"
)
MESSAGE_TOKENS = _under_live(
    "m.pk, m.tokens", "LEFT JOIN messages m ON m.session_pk = s.pk AND m.archive_no = ?", "m.pk"
)
TOOL_KEYS = _under_live(
    "m.pk, s.pk, octet_length(m.body)",
    "LEFT JOIN messages m ON m.session_pk = s.pk AND (m.tool_parts > 0 OR m.context_parts > 0)",
    "m.pk",
)
TOOL_MESSAGES = _under_live(
    _MESSAGE,
    "LEFT JOIN messages m ON m.session_pk = s.pk AND (m.tool_parts > 0 OR m.context_parts > 0)",
    "m.pk",
)
ARCHIVES = _under_live(
    f"a.archive_no, {prefixed(ARCHIVE_COLUMNS, 'a')}",
    "LEFT JOIN archives a ON a.session_pk = s.pk",
    "a.archive_no",
)
EXTRACTIONS = _under_live(
    f"x.archive_no, {prefixed(EXTRACTION_COLUMNS, 'x')}",
    "LEFT JOIN archive_extractions x ON x.session_pk = s.pk",
    "x.archive_no",
)
SESSION_TASKS = _under_live(
    f"t.task_id, {prefixed(TASK_COLUMNS, 't')}",
    "LEFT JOIN tasks t ON t.session_pk = s.pk",
    "t.created_at, t.task_id",
)
SESSION_FILES = _under_live(
    "f.path, f.path, f.is_dir, COALESCE(octet_length(f.content), 0), f.created_at, "
    "f.updated_at, NULL",
    "LEFT JOIN files f ON f.session_pk = s.pk",
    "f.path",
)
#: Per archive (0: the live messages) of a live session: how many messages, how many bytes.
MESSAGE_SIZES = (
    "SELECT m.archive_no, COUNT(m.pk), COALESCE(SUM(octet_length(m.body)), 0) FROM sessions s "
    "LEFT JOIN messages m ON m.session_pk = s.pk WHERE s.account = ? AND s.user_name = ? "
    "AND s.session_id = ? AND s.deleted_at IS NULL GROUP BY m.archive_no ORDER BY m.archive_no"
)
#: The keys and sizes of one archive's messages (a page of them), never their bodies: (archive,
#: owner, session, limit, offset).
MESSAGE_KEYS = (
    "SELECT m.pk, s.pk, octet_length(m.body) FROM sessions s LEFT JOIN messages m "
    "ON m.session_pk = s.pk AND m.archive_no = ? WHERE s.account = ? AND s.user_name = ? "
    "AND s.session_id = ? AND s.deleted_at IS NULL ORDER BY m.pk LIMIT ? OFFSET ?"
)
NO_LIMIT = 2**62
#: Bodies read in batches of about this many bytes (at least one message per batch).
BATCH_BYTES = 4 * 1024 * 1024
BUMP_LIVE = (
    f"{BUMP}WHERE account = ? AND user_name = ? AND session_id = ? AND deleted_at IS NULL "
    f"{WITHIN_QUOTA}RETURNING {SESSION_COLUMNS}"
)
#: A session row (live or trashed) and each of its extraction records' counts and usage.
SESSION_AND_EXTRACTIONS = (
    f"SELECT {prefixed(SESSION_COLUMNS, 's')}, x.by_category, "
    f"{prefixed(USAGE_COLUMNS, 'x')} FROM sessions s "
    "LEFT JOIN archive_extractions x ON x.session_pk = s.pk "
    "WHERE s.account = ? AND s.user_name = ? AND s.session_id = ?"
)


_SESSION_WIDTH = len(SESSION_COLUMNS.split(","))


class WouldBlock(Exception):
    """A call made ``inline`` found the database busy (a lock held by another thread or
    process) before it changed anything: run it again where waiting is allowed."""


def _check_room(conn: Conn, row: SessionRow | None, room: tuple[int, int], quota: Quota) -> None:
    """Raise the quota error an append that did not fit (``room``: before it) ran into."""
    used = (0, 0)
    if row is not None:
        got = conn.execute(
            "SELECT total_message_count, message_bytes FROM sessions WHERE pk = ?", (row.pk,)
        ).fetchone()
        used = (int(got[0]), int(got[1]))
    if used[0] > room[0] and quota.session_messages is not None:
        raise ResourceExhaustedError.quota(
            "max_session_messages",
            quota.session_messages,
            "This append would take the session past its number of messages",
        )
    if used[1] > room[1] and quota.session_bytes is not None:
        raise ResourceExhaustedError.quota(
            "max_session_bytes",
            quota.session_bytes,
            "This append would take the session past its bytes of messages",
        )


def _check_sessions(conn: Conn, owner: Owner, quota: Quota) -> None:
    """After a session of ``owner`` was inserted in this transaction: refuse it (the caller's
    transaction rolls back) if the user now holds more than ``quota.user_sessions``. Read
    after the insert, whose trigger took the user's count row: on PostgreSQL a concurrent
    creation waits for it and then counts this one too, so two never both take the last
    place."""
    if quota.user_sessions is None:
        return
    held = conn.one(
        "SELECT sessions FROM user_session_counts WHERE account = ? AND user_name = ?",
        (owner.account, owner.user),
    )
    if int(held or 0) > quota.user_sessions:
        raise ResourceExhaustedError.quota(
            "max_user_sessions",
            quota.user_sessions,
            "This user holds as many sessions as allowed (trashed ones count until purged)",
        )


#: Users whose count of sessions (``user_session_counts``, kept by triggers) is not the number
#: of rows they hold, also where either side is missing (a count of 0 has no row).
_USER_COUNTS_VS_ROWS = (
    "SELECT account, user_name, counted, held FROM (SELECT c.account, c.user_name, "
    "c.sessions AS counted, (SELECT COUNT(*) FROM sessions s WHERE s.account = c.account "
    "AND s.user_name = c.user_name) AS held FROM user_session_counts c) x WHERE counted <> held "
    "UNION ALL SELECT s.account, s.user_name, 0, COUNT(*) FROM sessions s WHERE NOT EXISTS "
    "(SELECT 1 FROM user_session_counts c WHERE c.account = s.account "
    "AND c.user_name = s.user_name) GROUP BY s.account, s.user_name"
)

#: What a listing shows of a session (``ListedSession``, in this order); of one owner's live
#: sessions, only the first four (``LiveListed``).
LISTED_COLUMNS = (
    "session_id, created_at, updated_at, message_count, deleted_at, deleted_by, account, user_name"
)
LIVE_LISTED_COLUMNS = "session_id, created_at, updated_at, message_count"


def _listing(
    columns: str,
    owner: Owner | None,
    account: str | None,
    limit: int | None,
    after: tuple[Any, ...] | None,
    include_deleted: bool,
    newest_first: bool,
) -> tuple[str, list[Any]]:
    """The statement of a page of sessions: ``owner``'s by (created_at, session_id), or
    (no ``owner``) every user's of ``account`` (None: of every account) by (created_at,
    account, user, session_id); ``after`` is the last row of the previous page as that key."""
    where: list[str] = []
    args: list[Any] = []
    key: tuple[str, ...]
    if owner is not None:
        where.append("account = ? AND user_name = ?")
        args += [owner.account, owner.user]
        key = ("created_at", "session_id")
    else:
        if account is not None:
            where.append("account = ?")
            args.append(account)
        key = ("created_at", "account", "user_name", "session_id")
    if not include_deleted:
        where.append("deleted_at IS NULL")
    beyond, direction = ("<", "DESC") if newest_first else (">", "ASC")
    if after is not None:
        marks = ", ".join("?" for _ in key)
        where.append(f"({', '.join(key)}) {beyond} ({marks})")
        args += list(after)
    sql = f"SELECT {columns} FROM sessions"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY " + ", ".join(f"{k} {direction}" for k in key)
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return sql, args


def kept(row: SessionRow) -> CommitOutcome:
    """The outcome of a commit that archives nothing of ``row``'s live messages: there are
    none, or all are within the keep window."""
    reason = "no_messages" if row.message_count == 0 else "all_within_keep_window"
    return CommitOutcome(session=row, archive_no=None, task_id=None, reason=reason)


class MessageBatches:
    """Messages read from the store batch by batch, as they are iterated (each iteration
    reads them again); ``count``: how many there were when the batches were planned."""

    __slots__ = ("_read", "count")

    def __init__(self, count: int, read: Callable[[], Iterator[list[StoredMessage]]]) -> None:
        self.count, self._read = count, read

    def __iter__(self) -> Iterator[list[StoredMessage]]:
        return self._read()


class SQLStore:
    """The storage protocol over SQL. Not used directly: see ``SQLiteStore`` and
    ``PostgresStore``."""

    d: ClassVar[Dialect]
    #: Short calls may run on an event loop (``inline``): the database is in process and a
    #: call costs microseconds (SQLite), not a round trip to a server that may stall.
    inline_capable: ClassVar[bool] = False

    @contextmanager
    def inline(self) -> Iterator[None]:
        """Calls in this block must not wait for a lock: until one of them has written, a
        busy database raises ``WouldBlock`` instead (nothing was changed; run the work again
        in a thread); after a write, later calls wait as usual, so work is never repeated."""
        raise WouldBlock("this store does not run calls inline")
        yield  # pragma: no cover

    def run_inline(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` inside ``inline()`` (the path of every short request,
        without a generator context manager's cost)."""
        raise WouldBlock("this store does not run calls inline")

    def run_group(self, calls: Sequence[Callable[[], T]]) -> list[tuple[bool, T | Exception]]:
        """Each call in one transaction of them all, each in a savepoint of its own (a call
        that raises leaves nothing; the others are kept), committed once: per call ``(True,
        result)`` or ``(False, exception)``. ``WouldBlock`` (nothing ran) where the store
        cannot, or the database is busy; a failed commit raises for all of them."""
        raise WouldBlock("this store does not run calls in groups")

    # ------------------------------------------------------------------ plumbing (backend)
    def _tx(self, fn: Callable[[Conn], T], *, write: bool = True, single: bool = False) -> T:
        raise NotImplementedError

    def _after_erasure(self) -> None:
        """Compact storage after an erasure committed (never fails the erasure)."""

    def _after_delete(self) -> None:
        """Make deleted content leave the backend's files, after a delete committed and before
        it is acknowledged (never fails the delete)."""

    def _integrity_extras(self, conn: Conn) -> list[str]:
        """The backend's own consistency checks, run inside ``check_integrity``."""
        return []

    def close(self) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        """Where the data lives, for logs (never a password)."""
        raise NotImplementedError

    def ping(self) -> None:
        """Raise ``StorageUnavailableError`` unless the database answers a query."""
        raise NotImplementedError

    def migrate(self) -> int:
        """Apply pending schema migrations; the schema version after."""
        raise NotImplementedError

    def schema_version(self) -> int:
        raise NotImplementedError

    def key_store(self) -> SQLKeyStore:
        """The API key store living in this store's database."""
        return SQLKeyStore(self)

    # ------------------------------------------------------------------ helpers
    def _find(
        self, conn: Conn, owner: Owner, session_id: str, *, lock: str = ""
    ) -> SessionRow | None:
        return deletion.find(conn, owner, session_id, lock=lock)

    def _live(self, conn: Conn, owner: Owner, session_id: str, *, lock: str = "") -> SessionRow:
        row = self._find(conn, owner, session_id, lock=lock)
        if row is None or row.deleted_at is not None:
            raise NotFoundError.of("session", session_id)
        return row

    def _replayed(
        self,
        conn: Conn,
        owner: Owner,
        key: str | None,
        request: str,
        now: float,
        legacy: str | None = None,
    ) -> bytes | None:
        """The stored answer of an earlier call with this idempotency key, if any; a
        ``ConflictError`` when the key was used for another ``request`` (``legacy``: how the
        same request was recorded before it carried a fingerprint). Where the backend has
        advisory locks, the key's is taken first, so a concurrent call with the same key waits
        for this one and then finds its answer."""
        if key is None:
            return None
        d = self.d
        if d.advisory_lock is not None:
            conn.execute(d.advisory_lock, (lock_key("skald:idem", owner.account, owner.user, key),))
        got = conn.execute(
            "SELECT request, result FROM idempotency_keys WHERE account = ? AND user_name = ? "
            "AND idem_key = ? AND created_at >= ?",
            (owner.account, owner.user, key, now - IDEMPOTENCY_TTL_SECONDS),
        ).fetchone()
        if got is None:
            return None
        if got[0] not in (request, legacy):
            raise ConflictError(
                "This Idempotency-Key was already used for a different request (another "
                "body or target); send a new key with a new request",
                {"reason": "idempotency_key_reused", "request": got[0]},
            )
        return bytes(got[1])

    def _remember(
        self, conn: Conn, owner: Owner, key: str | None, request: str, result: bytes, now: float
    ) -> None:
        if key is None:
            return
        conn.execute(
            "INSERT INTO idempotency_keys (account, user_name, idem_key, request, result, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, user_name, "
            "idem_key) DO UPDATE SET request = EXCLUDED.request, result = EXCLUDED.result, "
            "created_at = EXCLUDED.created_at",
            (owner.account, owner.user, key, request, result, now),
        )
        if secrets.randbelow(256) == 0:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?",
                (now - IDEMPOTENCY_TTL_SECONDS,),
            )

    def _under_live(
        self, owner: Owner, session_id: str, sql: str, args: tuple[Any, ...] = ()
    ) -> list[Any]:
        """The rows of ``sql`` (one of the reads under a live session above, e.g.
        ``ARCHIVES``) without the NULL row; ``NotFoundError`` when there is no live session."""
        params = (*args, owner.account, owner.user, session_id)
        rows: list[Any] = self._tx(
            lambda conn: conn.execute(sql, params).fetchall(), write=False, single=True
        )
        if not rows:
            raise NotFoundError.of("session", session_id)
        return [r for r in rows if r[0] is not None]

    # ------------------------------------------------------------------ sessions
    def create_session(
        self, owner: Owner, session_id: str, now: float, *, quota: Quota = NO_QUOTA
    ) -> SessionRow:
        """Insert a session; ``AlreadyExistsError`` if the id is taken in ``owner``,
        ``ResourceExhaustedError`` if the user holds ``quota.user_sessions`` already."""
        if quota.user_sessions is not None:
            return self._tx(lambda c: self._create_within(c, owner, session_id, now, quota))
        insert = (
            "INSERT INTO sessions (account, user_name, session_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, user_name, session_id) "
            f"DO NOTHING RETURNING {SESSION_COLUMNS}"
        )
        args = (owner.account, owner.user, session_id, now, now)
        got = self._tx(lambda c: c.execute(insert, args).fetchone(), single=True)
        if got is None:  # taken: say whether live or trashed
            self._tx(
                lambda c: deletion.refuse_taken_id(c, owner, session_id),
                write=False,
                single=True,
            )
            raise AlreadyExistsError.of("session", session_id)  # gone again meanwhile
        return session_row(got)

    def _create_within(
        self, conn: Conn, owner: Owner, session_id: str, now: float, quota: Quota
    ) -> SessionRow:
        deletion.refuse_taken_id(conn, owner, session_id)
        got = conn.execute(
            "INSERT INTO sessions (account, user_name, session_id, created_at, updated_at) "
            f"VALUES (?, ?, ?, ?, ?) RETURNING {SESSION_COLUMNS}",
            (owner.account, owner.user, session_id, now, now),
        ).fetchone()
        _check_sessions(conn, owner, quota)
        return session_row(got)

    def get_session(self, owner: Owner, session_id: str) -> SessionRow | None:
        return self._tx(lambda c: self._find(c, owner, session_id), write=False, single=True)

    def list_sessions(
        self,
        owner: Owner,
        *,
        limit: int | None,
        after: tuple[float, str] | None,
        include_deleted: bool = False,
        newest_first: bool = True,
    ) -> list[SessionRow]:
        """By (created_at, session_id), newest first unless not ``newest_first``;
        ``after`` is the last row of the previous page. Trashed sessions only with
        ``include_deleted``."""
        sql, args = _listing(
            SESSION_COLUMNS, owner, None, limit, after, include_deleted, newest_first
        )
        return self._tx(
            lambda c: [session_row(r) for r in c.execute(sql, args)], write=False, single=True
        )

    def count_sessions(
        self,
        owner: Owner,
        *,
        state: Literal["live", "trash", "all"] = "live",
        created_since: float | None = None,
        created_before: float | None = None,
    ) -> int:
        """How many sessions of ``owner`` are live, in the trash, or either (``state``), and
        created in ``[created_since, created_before)`` when given: the total beside a page of
        ``list_sessions``."""
        sql = "SELECT COUNT(*) FROM sessions WHERE account = ? AND user_name = ?"
        args: list[Any] = [owner.account, owner.user]
        if state == "live":
            sql += " AND deleted_at IS NULL"
        elif state == "trash":
            sql += " AND deleted_at IS NOT NULL"
        if created_since is not None:
            sql += " AND created_at >= ?"
            args.append(created_since)
        if created_before is not None:
            sql += " AND created_at < ?"
            args.append(created_before)
        return int(self._tx(lambda c: c.one(sql, args), write=False, single=True))

    def list_sessions_across(
        self,
        account: str | None,
        *,
        limit: int | None,
        after: tuple[float, str, str, str] | None,
        include_deleted: bool = False,
        newest_first: bool = True,
    ) -> list[SessionRow]:
        """Every user's sessions of ``account`` (None: of every account), by (created_at,
        account, user, session_id), newest first unless not ``newest_first``; ``after`` is
        the last row of the previous page as that key. Trashed sessions only with
        ``include_deleted``. For root and admins (the caller checks)."""
        sql, args = _listing(
            SESSION_COLUMNS, None, account, limit, after, include_deleted, newest_first
        )
        return self._tx(
            lambda c: [session_row(r) for r in c.execute(sql, args)], write=False, single=True
        )

    def list_session_items(
        self,
        owner: Owner | None,
        account: str | None = None,
        *,
        limit: int | None,
        after: tuple[float, str] | tuple[float, str, str, str] | None,
        include_deleted: bool = False,
        newest_first: bool = True,
    ) -> list[ListedSession] | list[LiveListed]:
        """``list_sessions`` (an ``owner``) or ``list_sessions_across`` (None, and
        ``account``), the same rows in the same order, but only what a listing shows of them
        (``ListedSession``); of one owner's live sessions only the first four columns
        (``LiveListed``), the rest being known. A page of 1,000 sessions is read in a third of
        the time of their ``SessionRow``s (fewer columns, fewer objects per row)."""
        brief = owner is not None and not include_deleted
        sql, args = _listing(
            LIVE_LISTED_COLUMNS if brief else LISTED_COLUMNS,
            owner,
            account,
            limit,
            after,
            include_deleted,
            newest_first,
        )
        rows: list[Any] = self._tx(
            lambda c: c.execute(sql, args).fetchall(), write=False, single=True
        )
        return rows

    def append_messages(
        self,
        owner: Owner,
        session_id: str,
        messages: Sequence[NewMessage],
        now: float,
        *,
        auto_create: bool,
        idempotency_key: str | None = None,
        quota: Quota = NO_QUOTA,
    ) -> SessionRow:
        """Append all messages or none; create the session first when ``auto_create``.
        A repeated ``idempotency_key`` returns the first call's answer and appends nothing.
        ``ResourceExhaustedError`` (and nothing appended) when the append would take the
        session past ``quota``'s messages or bytes, or a creation the user past its sessions."""
        n = len(messages)
        # What an idempotency key remembers: the target, the count and a hash of the requests
        # (a key reused for other messages is a conflict, not a replay).
        legacy = f"append:{session_id}:{n}"
        request = legacy
        if idempotency_key is not None:  # only then is it remembered
            digest = hashlib.sha256("\n".join(m.fingerprint for m in messages).encode())
            request = f"{legacy}:{digest.hexdigest()}"
        tokens = sum(m.tokens for m in messages)
        size = sum(len(m.body) for m in messages)
        counters = (n, n, tokens, tokens, sum(1 for m in messages if m.is_turn), now, now, size)
        room = (
            NO_LIMIT if quota.session_messages is None else quota.session_messages - n,
            NO_LIMIT if quota.session_bytes is None else quota.session_bytes - size,
        )

        def run(conn: Conn) -> SessionRow:
            earlier = self._replayed(conn, owner, idempotency_key, request, now, legacy)
            if earlier is not None:
                return msgspec.msgpack.decode(earlier, type=SessionRow)
            updated = None
            for _ in range(8):
                updated = self._bump_and_insert(conn, owner, session_id, messages, counters, room)
                if updated is not None:
                    break
                row = self._find(conn, owner, session_id)
                if row is None:
                    break
                if row.deleted_at is not None:
                    raise FailedPreconditionError(
                        f"Session {session_id} is in the trash; restore or purge it first",
                        {"type": "session", "resource": session_id, "reason": "soft_deleted"},
                    )
                _check_room(conn, row, room, quota)
                # Live, yet the UPDATE missed it: with row locks, it was deleted and re-created
                # by others while the UPDATE waited for the old row's lock (READ COMMITTED
                # shows each statement the latest commits). Take the UPDATE path again.
            if updated is None:
                if not auto_create:
                    raise NotFoundError.of("session", session_id)
                if room[0] < 0 or room[1] < 0:
                    _check_room(conn, None, room, quota)
                # A concurrent creator makes this INSERT fail (unique key); the backend then
                # runs the transaction again, and it takes the UPDATE path.
                updated = self._create_and_insert(conn, owner, session_id, messages, counters)
                _check_sessions(conn, owner, quota)
            result = session_row(updated)
            if idempotency_key is not None:
                self._remember(
                    conn, owner, idempotency_key, request, msgspec.msgpack.encode(result), now
                )
            return result

        if idempotency_key is None:
            # First the common case alone: the live session's counters bumped and the
            # messages inserted, in one transaction; no row: no live session, and the
            # transaction below sorts it out.
            got = self._tx(
                lambda c: self._bump_and_insert(c, owner, session_id, messages, counters, room),
                single=True,
            )
            if got is not None:
                return session_row(got)
        return self._tx(run)

    def _bump_and_insert(
        self,
        conn: Conn,
        owner: Owner,
        session_id: str,
        messages: Sequence[NewMessage],
        counters: tuple[Any, ...],
        room: tuple[int, int],
    ) -> Any:
        """Bump the live session's counters (which takes its row lock until the transaction
        ends: appends, commits and deletes of this session queue behind it) and insert the
        messages under it; the session's row, or None when there is no live session (or the
        append does not fit in the ``room`` left: messages, bytes)."""
        updated = conn.execute(
            BUMP_LIVE, (*counters, owner.account, owner.user, session_id, *room)
        ).fetchone()
        if updated is not None:
            self._insert_messages(conn, updated[0], messages)
        return updated

    def _create_and_insert(
        self,
        conn: Conn,
        owner: Owner,
        session_id: str,
        messages: Sequence[NewMessage],
        counters: tuple[Any, ...],
    ) -> Any:
        """Create the session with its counters and insert the messages; its row."""
        now = counters[5]
        (pk,) = conn.execute(
            "INSERT INTO sessions (account, user_name, session_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?) RETURNING pk",
            (owner.account, owner.user, session_id, now, now),
        ).fetchone()
        updated = conn.execute(
            f"{BUMP}WHERE pk = ? RETURNING {SESSION_COLUMNS}", (*counters, pk)
        ).fetchone()
        self._insert_messages(conn, pk, messages)
        return updated

    @staticmethod
    def _insert_messages(conn: Conn, pk: int, messages: Sequence[NewMessage]) -> None:
        rows = [
            (pk, m.message_id, m.role, m.tokens, m.is_turn, m.tool_parts, m.context_parts, m.body)
            for m in messages
        ]
        if len(rows) == 1:
            conn.execute(INSERT_MESSAGE, rows[0])
        elif rows:
            conn.executemany(INSERT_MESSAGE, rows)

    def messages(
        self, owner: Owner, session_id: str, *, archive_no: int | None = 0
    ) -> list[StoredMessage]:
        """Messages in order: ``archive_no=0`` live ones, ``n`` one archive, ``None`` all."""
        if archive_no is None:
            rows = self._under_live(owner, session_id, ALL_MESSAGES)
        else:
            rows = self._under_live(owner, session_id, ARCHIVE_MESSAGES, (archive_no,))
        return [message_row(r[1:]) for r in rows]

    def message_tokens(self, owner: Owner, session_id: str, archive_no: int = 0) -> list[int]:
        """The estimated tokens of each message of one archive (``0``: the live ones), in
        order, read without their bodies. ``NotFoundError`` without a live session."""
        rows = self._under_live(owner, session_id, MESSAGE_TOKENS, (archive_no,))
        return [int(r[1]) for r in rows]

    def message_sizes(self, owner: Owner, session_id: str) -> dict[int, tuple[int, int]]:
        """Per archive (``0``: the live messages) the number of messages and the bytes of
        their bodies, computed without reading a body. ``NotFoundError`` without a live
        session."""
        args = (owner.account, owner.user, session_id)
        rows = self._tx(
            lambda c: c.execute(MESSAGE_SIZES, args).fetchall(), write=False, single=True
        )
        if not rows:
            raise NotFoundError.of("session", session_id)
        return {int(r[0]): (int(r[1]), int(r[2])) for r in rows if r[0] is not None}

    def message_batches(
        self,
        owner: Owner,
        session_id: str,
        archive_no: int,
        *,
        offset: int = 0,
        limit: int | None = None,
        batch_bytes: int = BATCH_BYTES,
    ) -> MessageBatches:
        """The messages of one archive (``0``: live ones) from the ``offset``-th, at most
        ``limit``, in order, as batches of about ``batch_bytes`` (a larger message is a batch
        of its own): memory stays bounded by the batch, whatever the session holds.

        The keys are read first (one statement; ``NotFoundError`` without a live session),
        then each batch is one statement: messages moved or deleted meanwhile are skipped."""
        params = (archive_no, owner.account, owner.user, session_id)
        page = (NO_LIMIT if limit is None else limit, offset)
        keys = self._tx(
            lambda c: c.execute(MESSAGE_KEYS, (*params, *page)).fetchall(),
            write=False,
            single=True,
        )
        if not keys and (offset > 0 or limit == 0):  # past the end, or no session?
            keys = self._tx(
                lambda c: c.execute(MESSAGE_KEYS, (*params, 1, 0)).fetchall(),
                write=False,
                single=True,
            )
            if keys:
                return MessageBatches(0, lambda: iter(()))
        if not keys:
            raise NotFoundError.of("session", session_id)
        return self._batches(int(keys[0][1]), archive_no, keys, batch_bytes)

    def archive_message_batches(
        self, session_pk: int, archive_no: int, *, batch_bytes: int = BATCH_BYTES
    ) -> MessageBatches:
        """The messages of one archive of the session with this key (a claimed task's: live
        or trashed), in batches as ``message_batches``; none if it has gone."""
        keys = self._fetch(
            "SELECT pk, session_pk, octet_length(body) FROM messages WHERE session_pk = ? "
            "AND archive_no = ? ORDER BY pk",
            (session_pk, archive_no),
        )
        return self._batches(session_pk, archive_no, keys, batch_bytes)

    def _batches(
        self, session_pk: int, archive_no: int, keys: list[Any], batch_bytes: int
    ) -> MessageBatches:
        groups: list[list[int]] = []
        size = 0
        for pk, _, n in keys:
            if pk is None:
                continue
            if not groups or (size + int(n) > batch_bytes and groups[-1]):
                groups.append([])
                size = 0
            groups[-1].append(int(pk))
            size += int(n)
        count = sum(len(g) for g in groups)
        return MessageBatches(count, lambda: self._read_batches(session_pk, archive_no, groups))

    def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """The rows of one read statement."""
        return self._tx(lambda c: c.execute(sql, args).fetchall(), write=False, single=True)

    def _read_batches(
        self, session_pk: int, archive_no: int, groups: list[list[int]]
    ) -> Iterator[list[StoredMessage]]:
        sql = (
            "SELECT archive_no, tokens, body FROM messages WHERE session_pk = ? "
            "AND archive_no = ? AND pk >= ? AND pk <= ? ORDER BY pk"
        )
        for group in groups:
            args = (session_pk, archive_no, group[0], group[-1])
            rows = self._tx(
                lambda c, a=args: c.rows_of_blobs(sql, a),  # type: ignore[misc]
                write=False,
                single=True,
            )
            yield [message_row(r) for r in rows]

    def tool_and_context_batches(
        self, owner: Owner, session_id: str, *, batch_bytes: int = BATCH_BYTES
    ) -> Iterator[list[tuple[int, bytes]]]:
        """The messages (live and archived) that carry tool or context parts, in order, as
        ``(key, body)`` in batches of about ``batch_bytes``: memory holds one batch. The keys
        are read now (``NotFoundError`` without a live session), each batch when reached."""
        keys = self._under_live(owner, session_id, TOOL_KEYS)
        sql = (
            "SELECT pk, body FROM messages WHERE session_pk = ? AND pk >= ? AND pk <= ? "
            "AND (tool_parts > 0 OR context_parts > 0) ORDER BY pk"
        )
        groups: list[list[int]] = []
        size = 0
        for pk, _, n in keys:
            if not groups or (size + int(n) > batch_bytes and groups[-1]):
                groups.append([])
                size = 0
            groups[-1].append(int(pk))
            size += int(n)

        def read() -> Iterator[list[tuple[int, bytes]]]:
            for group in groups:
                args = (int(keys[0][1]), group[0], group[-1])
                rows = self._tx(
                    lambda c, a=args: c.rows_of_blobs(sql, a),  # type: ignore[misc]
                    write=False,
                    single=True,
                )
                yield [(int(r[0]), bytes(r[1])) for r in rows]

        return read()

    def message_body(self, owner: Owner, session_id: str, key: int) -> bytes | None:
        """The body of the message with this key (from ``tool_and_context_batches``) of the
        live session, or None if it has gone."""
        sql = (
            "SELECT m.body FROM messages m JOIN sessions s ON m.session_pk = s.pk "
            "WHERE s.account = ? AND s.user_name = ? AND s.session_id = ? "
            "AND s.deleted_at IS NULL AND m.pk = ?"
        )
        args = (owner.account, owner.user, session_id, key)
        rows = self._tx(lambda c: c.rows_of_blobs(sql, args), write=False, single=True)
        return bytes(rows[0][0]) if rows else None

    def tool_and_context_messages(self, owner: Owner, session_id: str) -> list[StoredMessage]:
        """Messages (live and archived) that carry tool or context parts, in order."""
        rows = self._under_live(owner, session_id, TOOL_MESSAGES)
        return [message_row(r[1:]) for r in rows]

    def commit(
        self,
        owner: Owner,
        session_id: str,
        keep_recent_count: int,
        now: float,
        task_id: str,
        *,
        idempotency_key: str | None = None,
    ) -> CommitOutcome:
        """Move live messages (all but the newest ``keep_recent_count``) into the next archive
        and queue its extraction task, atomically. ``NotFoundError`` if the session is missing.
        A repeated ``idempotency_key`` returns the first call's outcome and archives nothing."""
        request = f"commit:{session_id}:{keep_recent_count}"

        def run(conn: Conn) -> CommitOutcome:
            earlier = self._replayed(conn, owner, idempotency_key, request, now)
            if earlier is not None:
                return msgspec.msgpack.decode(earlier, type=CommitOutcome)
            # The row lock: appends and deletes of this session wait until the archive is made.
            row = self._live(conn, owner, session_id, lock=" FOR UPDATE")
            if row.message_count == 0 or row.message_count <= keep_recent_count:
                outcome = kept(row)
            else:
                updated = self._archive(
                    conn, owner, row, row.message_count - keep_recent_count, now, task_id
                )
                outcome = CommitOutcome(
                    session=updated,
                    archive_no=row.commit_count + 1,
                    task_id=task_id,
                    reason=None,
                )
            self._remember(
                conn, owner, idempotency_key, request, msgspec.msgpack.encode(outcome), now
            )
            return outcome

        return self._tx(run)

    def _archive(
        self, conn: Conn, owner: Owner, row: SessionRow, n: int, now: float, task_id: str
    ) -> SessionRow:
        """Number the ``n`` oldest live messages into the session's next archive, record the
        archive and its extraction task, and take them off the live counters; the session
        after. The caller holds the session's row lock."""
        archive_no = row.commit_count + 1
        picked = conn.execute(
            "SELECT pk, message_id, tokens FROM messages WHERE session_pk = ? "
            "AND archive_no = 0 ORDER BY pk LIMIT ?",
            (row.pk, n),
        ).fetchall()
        tokens = sum(p[2] for p in picked)
        conn.execute(
            "UPDATE messages SET archive_no = ? WHERE session_pk = ? AND archive_no = 0 "
            "AND pk <= ?",
            (archive_no, row.pk, picked[-1][0]),
        )
        conn.execute(
            "INSERT INTO archives (session_pk, archive_no, created_at, status, "
            "message_count, tokens, first_message_id, last_message_id) "
            "VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)",
            (row.pk, archive_no, now, len(picked), tokens, picked[0][1], picked[-1][1]),
        )
        conn.execute(
            INSERT_TASK,
            (task_id, owner.account, owner.user, row.session_id, row.pk, archive_no, now, now),
        )
        updated = conn.execute(
            "UPDATE sessions SET message_count = message_count - ?, "
            "pending_tokens = pending_tokens - ?, commit_count = commit_count + 1, "
            f"last_commit_at = ?, updated_at = ? WHERE pk = ? RETURNING {SESSION_COLUMNS}",
            (len(picked), tokens, now, now, row.pk),
        ).fetchone()
        return session_row(updated)

    def archives(self, owner: Owner, session_id: str) -> list[ArchiveRow]:
        rows = self._under_live(owner, session_id, ARCHIVES)
        return [archive_row(r[1:]) for r in rows]

    # ------------------------------------------------------------------ deletion
    def delete_session(
        self,
        owner: Owner,
        session_id: str,
        now: float,
        options: DeleteOptions = HARD_DELETE,
        *,
        actor: Identity | None = None,
        action: str = "delete",
        state: SessionState | None = None,
        older_than: tuple[str, float] | None = None,
        dry_run: bool = False,
    ) -> DeletionReceipt:
        """Delete a session as ``options`` say, with an audit row, in one transaction.

        Hard: remove it (live or trashed) and every row under it; cancel its pending tasks;
        keep memories and their provenance (a memory still names the deleted session as a
        source: a later session with the same id is another source) unless
        ``forget_memories`` (then memories whose only provenance is this session go, its
        provenance is stripped from the rest, and its task results are cleared). Soft: hide a
        live session, restorable. ``NotFoundError`` if missing (or not in ``state``);
        ``FailedPreconditionError`` when ``require_committed`` and live messages remain — with
        ``commit_first`` (the caller committed and waited) also while archives await
        extraction — or when ``older_than=(column, cutoff)`` no longer holds.

        ``dry_run``: run the same deletion and roll it back; the receipt says exactly what it
        would remove and keep (the same checks refuse it), nothing changes, nothing is
        audited."""
        who = actor or Identity(account=owner.account, user=owner.user)

        def run(c: Conn) -> DeletionReceipt:
            receipt = deletion.delete(
                c,
                owner,
                session_id,
                now,
                actor=who,
                soft=options.mode == "soft",
                action=action,
                require_committed=options.require_committed or options.commit_first,
                require_extracted=options.commit_first,
                forget_memories=options.forget_memories,
                state=state,
                older_than=older_than,
            )
            if dry_run:
                raise _RolledBack(receipt)
            return receipt

        try:
            receipt = self._tx(run)
        except _RolledBack as done:
            return done.receipt
        if options.mode != "soft":
            self._after_delete()
        return receipt

    def restore_session(
        self, owner: Owner, session_id: str, now: float, *, actor: Identity
    ) -> SessionRow:
        return self._tx(lambda c: deletion.restore(c, owner, session_id, now, actor=actor))

    def expired_sessions(
        self,
        owner: Owner | None,
        cutoff: float,
        by: Literal["created_at", "updated_at"],
        *,
        trashed: bool = False,
    ) -> list[SessionRow]:
        """Live sessions whose ``by`` time is before ``cutoff`` (or trashed ones deleted before
        it); ``owner=None`` looks across every owner (the retention sweep)."""
        return self._tx(
            lambda c: deletion.expired_sessions(c, owner, cutoff, by, trashed=trashed),
            write=False,
            single=True,
        )

    def erase_user(self, account: str, user: str, now: float, *, actor: Identity) -> ErasedCounts:
        """Remove everything of one user and compact storage so no content remains on disk."""

        def run(conn: Conn) -> ErasedCounts:
            counts = deletion.erase_user(conn, account, user, now, actor=actor)
            for statement in search.sql_for(conn).after_erasure:
                conn.execute(statement)
            # Owed in the same transaction: a crash before compaction finishes is made good
            # when the store is next opened.
            conn.execute(
                "INSERT INTO maintenance (task, since) VALUES ('compact', ?) "
                "ON CONFLICT (task) DO NOTHING",
                (now,),
            )
            return counts

        counts = self._tx(run)
        self._after_erasure()
        return counts

    def list_audit(
        self,
        account: str | None,
        *,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        before: int | None = None,
    ) -> list[AuditRow]:
        return self._tx(
            lambda c: deletion.list_audit(
                c,
                account,
                limit=limit,
                action=action,
                session_id=session_id,
                before=before,
            ),
            write=False,
            single=True,
        )

    # ------------------------------------------------------------------ tasks
    def get_task(self, owner: Owner, task_id: str) -> TaskRow | None:
        sql = (
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = ? AND account = ? AND user_name = ?"
        )

        def run(conn: Conn) -> TaskRow | None:
            row = conn.execute(sql, (task_id, owner.account, owner.user)).fetchone()
            return task_row(row) if row else None

        return self._tx(run, write=False, single=True)

    def list_tasks(
        self,
        owner: Owner,
        *,
        task_type: str | None = None,
        status: str | None = None,
        session_id: str | None = None,
        limit: int = 50,
    ) -> list[TaskRow]:
        """The owner's tasks, newest first, at most ``limit``; each filter, when given, must
        match exactly."""
        where = ["account = ?", "user_name = ?"]
        args: list[object] = [owner.account, owner.user]
        for column, value in (("task_type", task_type), ("status", status)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if session_id is not None:
            where.append("session_id = ?")
            args.append(session_id)
        sql = (
            f"SELECT {TASK_COLUMNS} FROM tasks WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC LIMIT ?"
        )
        args.append(limit)
        return self._tx(
            lambda c: [task_row(r) for r in c.execute(sql, tuple(args))], write=False, single=True
        )

    def runnable_tasks(self, now: float, limit: int = 100) -> list[str]:
        # "status IN (...)" first: the partial index tasks_runnable holds exactly those rows.
        """Ids of pending tasks (a pending task's ``lease_until``, when set, is the time its
        retry waits for) and of running ones whose lease has expired, oldest first."""
        sql = (
            "SELECT task_id FROM tasks WHERE status IN ('pending', 'running') "
            "AND (lease_until IS NULL OR lease_until < ?) ORDER BY created_at LIMIT ?"
        )
        return self._tx(
            lambda c: [r[0] for r in c.execute(sql, (now, limit))], write=False, single=True
        )

    def task_queue(self, now: float) -> TaskQueue:
        """How many tasks wait (pending) and run, and how long the oldest pending one has
        waited (0 when none): for metrics. Reads only the partial index's rows."""
        sql = (
            "SELECT status, COUNT(*), MIN(created_at) FROM tasks "
            "WHERE status IN ('pending', 'running') GROUP BY status"
        )
        rows = self._tx(lambda c: c.execute(sql).fetchall(), write=False, single=True)
        found = {r[0]: (int(r[1]), r[2]) for r in rows}
        pending, oldest = found.get("pending", (0, None))
        return TaskQueue(
            pending=pending,
            running=found.get("running", (0, None))[0],
            oldest_pending_age=max(0.0, now - float(oldest)) if oldest is not None else 0.0,
        )

    def claim_task(
        self,
        task_id: str,
        now: float,
        lease_seconds: float,
        *,
        busy: Sequence[Owner] = (),
        with_messages: bool = True,
    ) -> ClaimedTask | None:
        # ``busy``: owners whose memories a worker of this process is already extracting.
        """Take a runnable task (pending, or running with an expired lease) for extraction,
        unless it belongs to one of the ``busy`` owners, or another task of its owner runs
        under a live lease (in any process: one user's memories are read, extracted and
        written by one task at a time)."""
        skip = ""
        if busy:
            skip = (
                " AND (account, user_name) NOT IN (VALUES "
                + ", ".join(["(?, ?)"] * len(busy))
                + ")"
            )
        owners = [v for o in busy for v in (o.account, o.user)]
        # SKIP LOCKED (where there are row locks): a task another process is claiming (or
        # completing) right now is not waited for; the condition, re-checked on the row as it
        # is when locked, lets one claimant through per lease.
        # NOT EXISTS: no other task of the owner running under a live lease. Where writers
        # are not serialised (PostgreSQL), the owner's advisory lock, taken first, makes two
        # claims of one owner's tasks take turns, and the second sees the first's claim.
        claim_sql = (
            "UPDATE tasks SET status = 'running', claim = ?, lease_until = ?, "
            "attempts = attempts + 1, updated_at = ? WHERE task_id = (SELECT task_id "
            "FROM tasks t WHERE task_id = ? AND (status = 'pending' OR (status = 'running' "
            f"AND lease_until < ?)){skip} AND NOT EXISTS (SELECT 1 FROM tasks o "
            "WHERE o.account = t.account AND o.user_name = t.user_name "
            "AND o.status = 'running' AND o.lease_until >= ? AND o.task_id <> t.task_id) "
            "FOR UPDATE SKIP LOCKED) "
            f"RETURNING session_pk, archive_no, {TASK_COLUMNS}"
        )

        def run(conn: Conn) -> ClaimedTask | None:
            claim = secrets.token_hex(8)
            if conn.d.advisory_lock is not None:
                owner = conn.execute(
                    "SELECT account, user_name FROM tasks WHERE task_id = ?", (task_id,)
                ).fetchone()
                if owner is None:
                    return None
                conn.execute(conn.d.advisory_lock, (lock_key("skald:claim", *owner),))
            got = conn.execute(
                claim_sql, (claim, now + lease_seconds, now, task_id, now, *owners, now)
            ).fetchone()
            if got is None:
                return None
            session_pk, archive_no = got[0], got[1]
            task = task_row(got[2:])
            if task.task_type == vectors.EMBED_TASK:  # no session: the owner's memories
                return ClaimedTask(task=task, claim=claim, messages=[], session_pk=0)
            if session_pk is None:
                conn.execute(
                    "UPDATE tasks SET status = 'cancelled', error = ?, claim = NULL "
                    "WHERE task_id = ?",
                    (CANCELLED, task_id),
                )
                return None
            if not with_messages:
                return ClaimedTask(task=task, claim=claim, messages=[], session_pk=session_pk)
            cur = conn.execute(
                "SELECT archive_no, tokens, body FROM messages WHERE session_pk = ? "
                "AND archive_no = ? ORDER BY pk",
                (session_pk, archive_no),
            )
            return ClaimedTask(
                task=task,
                claim=claim,
                messages=[message_row(r) for r in cur],
                session_pk=session_pk,
            )

        return self._tx(run)

    def complete_extraction(
        self,
        task_id: str,
        claim: str,
        facts: Sequence[MemoryFact],
        result: bytes | Callable[[ExtractionOutcome], bytes],
        now: float,
        *,
        deletes: Sequence[MemoryRef] = (),
        usage: TokenUsage | None = None,
    ) -> ExtractionOutcome:
        """Apply an extraction: write ``facts`` (new or updated memories) with provenance,
        remove ``deletes`` (their provenance goes with them), record the diff, per-category
        counts and token ``usage`` with the archive, mark it done and the task completed with
        ``result`` (or what ``result`` makes of the outcome, so the task's counts are the
        diff's) — or nothing at all if the claim is stale or the session has gone."""
        d = self.d
        stale = ExtractionOutcome(
            status="stale",
            memories=0,
            created=0,
            updated=0,
            reason="task is no longer held by this worker",
        )

        def run(conn: Conn) -> ExtractionOutcome:
            # Lock order: the session row, the owner's memories, then the task.
            first = conn.execute(
                "SELECT session_pk, account, user_name FROM tasks WHERE task_id = ?",
                (task_id,),
            ).fetchone()
            if first is None:
                return stale
            if first[0] is not None and d.row_locks:
                conn.execute(
                    "SELECT 1 FROM sessions WHERE pk = ? FOR NO KEY UPDATE", (first[0],)
                ).fetchall()
            deletion.lock_owner(conn, first[1], first[2])
            got = conn.execute(
                "SELECT status, claim, session_pk, archive_no, account, user_name, "
                "session_id FROM tasks WHERE task_id = ? FOR UPDATE",
                (task_id,),
            ).fetchone()
            if got is None or got[0] != "running" or got[1] != claim:
                return stale
            _, _, session_pk, archive_no, account, user, session_id = got
            archive = None
            if session_pk is not None:
                archive = conn.execute(
                    "SELECT status FROM archives WHERE session_pk = ? AND archive_no = ?",
                    (session_pk, archive_no),
                ).fetchone()
            if archive is None:
                conn.execute(
                    "UPDATE tasks SET status = 'cancelled', error = ?, claim = NULL, "
                    "updated_at = ? WHERE task_id = ?",
                    (CANCELLED, now, task_id),
                )
                return ExtractionOutcome(
                    status="cancelled", memories=0, created=0, updated=0, reason="session deleted"
                )
            applied = Applied()
            if archive[0] == "pending":
                applied = apply_diff(
                    conn,
                    account=account,
                    user=user,
                    session_id=session_id,
                    session_pk=session_pk,
                    archive_no=archive_no,
                    upserts=facts,
                    deletes=deletes,
                    usage=usage or TokenUsage(),
                    now=now,
                    ensure_parents=lambda c, acct, path, t: self._ensure_parents(
                        c, acct, path, t, None, stop_at=3
                    ),
                )
                conn.execute(
                    "UPDATE archives SET status = 'done', memories_extracted = ?, "
                    "done_at = ? WHERE session_pk = ? AND archive_no = ?",
                    (applied.written, now, session_pk, archive_no),
                )
                if applied.written:  # else no new version of the session row
                    conn.execute(
                        "UPDATE sessions SET memories_extracted = memories_extracted + ? "
                        "WHERE pk = ?",
                        (applied.written, session_pk),
                    )
            outcome = ExtractionOutcome(
                status="completed",
                memories=applied.written,
                created=applied.created,
                updated=applied.updated,
                deleted=applied.deleted,
                unchanged=applied.unchanged,
                by_category=applied.by_category,
                diff=applied.diff if archive[0] == "pending" else None,
            )
            conn.execute(
                "UPDATE tasks SET status = 'completed', result = ?, claim = NULL, "
                "updated_at = ? WHERE task_id = ?",
                (result if isinstance(result, bytes) else result(outcome), now, task_id),
            )
            return outcome

        return self._tx(run)

    def fail_task(
        self, task_id: str, claim: str, error: str, now: float, *, result: bytes | None = None
    ) -> None:
        """Mark a held task and its pending archive failed (the archive stays, re-queueable)."""
        text = error[:2000].replace("\x00", "\ufffd")  # PostgreSQL text holds no NUL

        def run(conn: Conn) -> None:
            got = conn.execute(
                "UPDATE tasks SET status = 'failed', error = ?, result = ?, claim = NULL, "
                "updated_at = ? WHERE task_id = ? AND claim = ? AND status = 'running' "
                "RETURNING session_pk, archive_no",
                (text, result, now, task_id, claim),
            ).fetchone()
            if got is not None and got[0] is not None:
                conn.execute(
                    "UPDATE archives SET status = 'failed', error = ? WHERE session_pk = ? "
                    "AND archive_no = ? AND status = 'pending'",
                    (text, got[0], got[1]),
                )

        self._tx(run)

    # ------------------------------------------------------------------ extraction records
    def extraction_summary(self, owner: Owner, session_id: str) -> ExtractionSummary:
        """Per-category memory counts and token usage summed over the session's extractions
        (live or trashed session)."""
        found = self.session_and_extraction(owner, session_id)
        if found is None:
            raise NotFoundError.of("session", session_id)
        return found[1]

    def session_and_extraction(
        self, owner: Owner, session_id: str
    ) -> tuple[SessionRow, ExtractionSummary] | None:
        """The session row (live or trashed) and ``extraction_summary``'s figures, read in one
        statement (a session's get is the most frequent read: one statement, not two)."""
        rows = self._tx(
            lambda c: c.execute(
                SESSION_AND_EXTRACTIONS, (owner.account, owner.user, session_id)
            ).fetchall(),
            write=False,
            single=True,
        )
        if not rows:
            return None
        width = _SESSION_WIDTH
        extractions = [r[width:] for r in rows if r[width] is not None]
        return session_row(rows[0][:width]), extraction_summary(extractions)

    def session_tasks(self, owner: Owner, session_id: str) -> list[TaskRow]:
        """The tasks (commit extractions) of the live session, oldest first; a task of an
        earlier, deleted session with the same id is not among them."""
        rows = self._under_live(owner, session_id, SESSION_TASKS)
        return [task_row(r[1:]) for r in rows]

    def archive_extractions(self, owner: Owner, session_id: str) -> list[ArchiveExtraction]:
        """The recorded extraction (diff, counts, usage) of each extracted archive, in order."""
        rows = self._under_live(owner, session_id, EXTRACTIONS)
        return [extraction_row(r[1:]) for r in rows]

    def requeue_extraction(
        self,
        owner: Owner,
        session_id: str,
        archive_no: int | None,
        now: float,
        new_task_id: Callable[[], str],
    ) -> list[Requeued]:
        """Queue a failed archive (or, with ``archive_no=None``, every failed one) for
        extraction again with a new task. A named archive already queued reports its task;
        one already extracted is ``FailedPreconditionError``; a missing one ``NotFoundError``."""

        def run(conn: Conn) -> list[Requeued]:
            row = self._live(conn, owner, session_id, lock=" FOR UPDATE")
            return requeue(
                conn,
                account=owner.account,
                user=owner.user,
                session_id=session_id,
                session_pk=row.pk,
                archive_no=archive_no,
                new_task_id=new_task_id,
                now=now,
            )

        return self._tx(run)

    # ------------------------------------------------------------------ files
    @property
    def _file_columns(self) -> str:
        return "path, is_dir, COALESCE(octet_length(content), 0), created_at, updated_at"

    def get_file(self, account: str, path: str) -> FileRow | None:
        sql = f"SELECT {self._file_columns}, content FROM files WHERE account = ? AND path = ?"

        def run(conn: Conn) -> FileRow | None:
            row = conn.execute(sql, (account, path)).fetchone()
            return file_row(row) if row else None

        return self._tx(run, write=False, single=True)

    def _list_files(
        self, where: str, args: tuple[Any, ...], limit: int | None = None
    ) -> list[FileRow]:
        sql = f"SELECT {self._file_columns}, NULL FROM files WHERE {where} ORDER BY path LIMIT ?"
        params = (*args, NO_LIMIT if limit is None else limit)
        return self._tx(
            lambda c: [file_row(r) for r in c.execute(sql, params)], write=False, single=True
        )

    def list_children(
        self, account: str, parent: str, *, limit: int | None = None
    ) -> list[FileRow]:
        """The entries directly in ``parent``, in path order; the first ``limit`` of them."""
        return self._list_files("account = ? AND parent = ?", (account, parent), limit)

    def list_descendants(self, account: str, prefix: str) -> list[FileRow]:
        return self._list_files("account = ? AND path >= ? AND path < ?", (account, *below(prefix)))

    def session_files(self, owner: Owner, session_id: str) -> list[FileRow]:
        rows = self._under_live(owner, session_id, SESSION_FILES)
        return [file_row(r[1:]) for r in rows]

    def _session_pk(self, conn: Conn, session: tuple[Owner, str] | None) -> int | None:
        if session is None:
            return None
        # KEY SHARE: appends go on, but a delete of the session waits for this write (and a
        # write that comes after the delete finds no session).
        return self._live(conn, session[0], session[1], lock=" FOR KEY SHARE").pk

    def _ensure_parents(
        self,
        conn: Conn,
        account: str,
        path: str,
        now: float,
        session_pk: int | None,
        *,
        stop_at: int,
        writer: str | None = None,
    ) -> None:
        segments = path.split("/")
        # Only directories deeper than stop_at segments: the one at stop_at (a fixed directory
        # or the session directory itself) is never a row of its own.
        for i in range(stop_at + 1, len(segments)):
            directory = "/".join(segments[:i])
            got = conn.execute(
                "SELECT is_dir FROM files WHERE account = ? AND path = ?", (account, directory)
            ).fetchone()
            if got is None:
                (pk,) = conn.execute(
                    "INSERT INTO files (account, path, parent, is_dir, session_pk, "
                    "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING pk",
                    (account, directory, parent(directory), True, session_pk, now, now),
                ).fetchone()
                self._wrote(conn, account, directory, pk, writer)
            elif not got[0]:
                raise InvalidArgumentError(
                    f"Cannot create {path}: parent {directory} is a file",
                    {"uri": "viking://" + directory},
                )

    @staticmethod
    def _wrote(conn: Conn, account: str, path: str, pk: int, writer: str | None) -> None:
        """Record ``writer`` as an author of a shared file or directory."""
        if writer is not None and is_shared(path):
            conn.execute(
                "INSERT INTO file_writers (file_pk, account, user_name) VALUES (?, ?, ?) "
                "ON CONFLICT (file_pk, user_name) DO NOTHING",
                (pk, account, writer),
            )

    def write_file(
        self,
        account: str,
        path: str,
        content: bytes,
        mode: Literal["replace", "append", "create", "upsert"],
        now: float,
        *,
        session: tuple[Owner, str] | None,
        stop_at: int,
        writer: str | None = None,
        quota: Quota = NO_QUOTA,
    ) -> FileRow:
        """Write a file: ``create`` refuses an existing one, ``replace``/``upsert`` overwrite it,
        ``append`` adds to it; a missing file is created by every mode, with its missing parent
        directories (those deeper than ``stop_at`` segments). ``session`` ties the file to a
        session so delete removes it.
        ``writer`` (a user of ``account``) is recorded as an author of a shared file (outside
        ``user/``): the only one after a create or replace, one more after an append.
        ``ResourceExhaustedError`` (``max_file_bytes``), and nothing written, when the file
        would grow past ``quota.file_bytes``."""

        def run(conn: Conn) -> FileRow:
            item = FileWrite(path, content, mode, session, stop_at)
            return self._write_one(conn, account, item, now, writer, quota)[0]

        return self._tx(run)

    def write_files(
        self,
        account: str,
        items: Sequence[FileWrite],
        now: float,
        *,
        writer: str | None = None,
        quota: Quota = NO_QUOTA,
    ) -> list[str]:
        """Several ``write_file``s in one transaction: all of them or none. Says of each
        whether it ``created`` the file, ``updated`` it or left it ``unchanged`` (a replace with
        the content it had)."""

        def run(conn: Conn) -> list[str]:
            return [self._write_one(conn, account, item, now, writer, quota)[1] for item in items]

        return self._tx(run)

    def _write_one(
        self,
        conn: Conn,
        account: str,
        item: FileWrite,
        now: float,
        writer: str | None,
        quota: Quota = NO_QUOTA,
    ) -> tuple[FileRow, str]:
        returning = f"RETURNING pk, {self._file_columns}, NULL"
        path, content, mode = item.path, item.content, item.mode
        session_pk = self._session_pk(conn, item.session)
        existing = conn.execute(
            "SELECT pk, is_dir, content = ?, COALESCE(octet_length(content), 0) FROM files "
            "WHERE account = ? AND path = ? FOR UPDATE",
            (content, account, path),
        ).fetchone()
        if existing is not None and existing[1]:
            raise InvalidArgumentError(
                f"{'viking://' + path} is a directory",
                {"uri": "viking://" + path, "expected": "file"},
            )
        kept = int(existing[3]) if existing is not None and mode == "append" else 0
        if quota.file_bytes is not None and kept + len(content) > quota.file_bytes:
            raise ResourceExhaustedError.quota(
                "max_file_bytes",
                quota.file_bytes,
                f"This write would make viking://{path} larger than a file may be",
            )
        if existing is None:  # every mode creates a missing file (as OpenViking does)
            self._ensure_parents(
                conn, account, path, now, session_pk, stop_at=item.stop_at, writer=writer
            )
            row = conn.execute(
                "INSERT INTO files (account, path, parent, is_dir, content, session_pk, "
                f"created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) {returning}",
                (account, path, parent(path), False, content, session_pk, now, now),
            ).fetchone()
            outcome = "created"
        elif mode == "create":
            raise AlreadyExistsError.of("file", "viking://" + path)
        else:
            same = mode != "append" and bool(existing[2])
            new = self.d.append_blob if mode == "append" else "?"
            row = conn.execute(
                f"UPDATE files SET content = {new}, updated_at = ? WHERE pk = ? {returning}",
                (content, now, existing[0]),
            ).fetchone()
            if mode != "append" and writer is not None and is_shared(path):
                conn.execute("DELETE FROM file_writers WHERE file_pk = ?", (row[0],))
            outcome = "unchanged" if same else "updated"
        self._wrote(conn, account, path, row[0], writer)
        return file_row(row[1:]), outcome

    def make_dir(
        self,
        account: str,
        path: str,
        now: float,
        *,
        session: tuple[Owner, str] | None,
        stop_at: int,
        writer: str | None = None,
    ) -> FileRow:
        sql = f"SELECT {self._file_columns}, NULL FROM files WHERE account = ? AND path = ?"

        def run(conn: Conn) -> FileRow:
            session_pk = self._session_pk(conn, session)
            self._ensure_parents(
                conn, account, path + "/x", now, session_pk, stop_at=stop_at, writer=writer
            )
            return file_row(conn.execute(sql, (account, path)).fetchone())

        return self._tx(run)

    def remove(self, account: str, path: str, *, recursive: bool) -> int:
        lo, hi = below(path)

        def run(conn: Conn) -> int:
            got = conn.execute(
                "SELECT is_dir FROM files WHERE account = ? AND path = ? FOR UPDATE",
                (account, path),
            ).fetchone()
            if got is None:
                raise NotFoundError.of("file", "viking://" + path)
            if got[0]:
                under = "SELECT 1 FROM files WHERE account = ? AND path >= ? AND path < ? LIMIT 1"
                if not recursive and conn.one(under, (account, lo, hi)):
                    raise InvalidArgumentError(
                        f"viking://{path} is a non-empty directory; pass recursive=true",
                        {"uri": "viking://" + path, "reason": "directory not empty"},
                    )
                conn.execute(
                    "DELETE FROM files WHERE account = ? AND path >= ? AND path < ?",
                    (account, lo, hi),
                )
            conn.execute("DELETE FROM files WHERE account = ? AND path = ?", (account, path))
            return 1

        removed = self._tx(run)
        self._after_delete()
        return removed

    def move(
        self,
        account: str,
        src: str,
        dst: str,
        now: float,
        *,
        session: tuple[Owner, str] | None,
        stop_at: int,
        writer: str | None = None,
    ) -> None:
        """Rename ``src`` (and everything under it) to ``dst``; ``writer`` becomes an author
        of the moved entry (its new name is theirs)."""
        lo, hi = below(src)

        def run(conn: Conn) -> None:
            session_pk = self._session_pk(conn, session)
            found = conn.execute(
                "SELECT 1 FROM files WHERE account = ? AND path = ? FOR UPDATE",
                (account, src),
            ).fetchone()
            if found is None:
                raise NotFoundError.of("file", "viking://" + src)
            taken = conn.execute(
                "SELECT 1 FROM files WHERE account = ? AND path = ?", (account, dst)
            ).fetchone()
            if taken is not None:
                raise AlreadyExistsError.of("file", "viking://" + dst)
            if dst.startswith(src + "/"):
                raise InvalidArgumentError(
                    "Cannot move a directory into itself", {"uri": "viking://" + dst}
                )
            self._ensure_parents(
                conn, account, dst, now, session_pk, stop_at=stop_at, writer=writer
            )
            # One statement renames the whole subtree (nothing exists under dst yet).
            cut = len(src) + 1
            conn.execute(
                "UPDATE files SET path = ? || substr(path, ?), "
                "parent = CASE WHEN path = ? THEN ? ELSE ? || substr(parent, ?) END, "
                "session_pk = ?, updated_at = ? "
                "WHERE account = ? AND (path = ? OR (path >= ? AND path < ?))",
                (dst, cut, src, parent(dst), dst, cut, session_pk, now, account, src, lo, hi),
            )
            moved = conn.one("SELECT pk FROM files WHERE account = ? AND path = ?", (account, dst))
            self._wrote(conn, account, dst, moved, writer)

        self._tx(run)

    def memory_sources(self, account: str, path: str) -> list[MemorySource]:
        """The sessions and archives the memory file ``path`` was extracted from, oldest
        first (empty for a file written by hand, or one no session produced)."""
        sql = (
            "SELECT s.user_name, s.session_id, s.archive_no, s.created_at FROM memory_sources s "
            "JOIN files f ON f.pk = s.file_pk WHERE f.account = ? AND f.path = ? "
            "ORDER BY s.created_at, s.session_id, s.archive_no"
        )
        return self._tx(
            lambda c: [
                MemorySource(user=r[0], session_id=r[1], archive_no=int(r[2]), created_at=r[3])
                for r in c.execute(sql, (account, path))
            ],
            write=False,
            single=True,
        )

    def forgettable_memories(self, owner: Owner, session_id: str) -> list[str]:
        """The paths of the memories that deleting the session with ``forget_memories`` would
        remove (those only it produced), sorted; the same rule as the deletion itself."""

        def run(conn: Conn) -> list[str]:
            row = self._find(conn, owner, session_id)
            if row is None:
                raise NotFoundError.of("session", session_id)
            return deletion.forgettable_paths(conn, owner, row)

        return self._tx(run, write=False)

    # ------------------------------------------------------------------ search
    def search_files(
        self, account: str, prefixes: Sequence[str], query: str, limit: int
    ) -> list[search.FileHit]:
        """Full-text search of the account's files (memories, resources, skills; never a
        session's own files) under any of the storage ``prefixes`` (``''``: all), best first.
        The index is kept by triggers in the transaction of every write and delete."""
        return self._tx(
            lambda conn: search.search_files(conn, account, prefixes, query, limit),
            write=False,
            single=True,
        )

    def search_messages(
        self, owner: Owner, session_id: str | None, query: str, limit: int
    ) -> list[search.MessageHit]:
        """Search of the text parts of the owner's messages, live and archived, in live
        sessions (or in ``session_id`` only), best first: a scan of the owner's messages (they
        carry no index, so appends, commits and deletes pay nothing for search), at most
        ``search.SCAN_CANDIDATES`` matching ones ranked, newest first."""
        return self._tx(
            lambda conn: search.search_messages(conn, owner, session_id, query, limit),
            write=False,
            single=True,
        )

    # ------------------------------------------------------------------ embedding vectors
    def memories_to_embed(self, owner: Owner, model: str, limit: int) -> list[vectors.ToEmbed]:
        """The owner's memories without a vector made by ``model`` (at most ``limit``)."""
        return self._tx(
            lambda c: vectors.to_embed(c, owner, model, limit), write=False, single=True
        )

    def owners_to_embed(self, model: str, limit: int = 1000) -> list[Owner]:
        """Owners having memories without a vector made by ``model``."""
        return self._tx(lambda c: vectors.owners_to_embed(c, model, limit), write=False)

    def put_vectors(
        self,
        owner: Owner,
        model: str,
        items: Sequence[tuple[vectors.ToEmbed, bytes, int]],
        now: float,
    ) -> int:
        """Store the vectors of memories that still hold the text embedded; how many."""
        return self._tx(lambda c: vectors.put(c, owner, model, items, now))

    def vector_candidates(
        self,
        owner: Owner,
        model: str,
        prefixes: Sequence[str],
        paths: Sequence[str],
        recent: int,
    ) -> list[vectors.Candidate]:
        """The owner's vectors under ``prefixes``: those of ``paths`` and the ``recent``
        newest (account and user in the statement)."""
        scope = search.scope_clause(prefixes)
        return self._tx(
            lambda c: vectors.candidates(c, owner, model, scope, paths, recent),
            write=False,
            single=True,
        )

    def file_texts(self, account: str, paths: Sequence[str]) -> dict[str, str]:
        return self._tx(lambda c: vectors.file_texts(c, account, paths), write=False, single=True)

    def vector_count(self, account: str | None = None) -> int:
        return self._tx(lambda c: vectors.count(c, account), write=False, single=True)

    def pgvector_installed(self) -> bool:
        """Whether the database has pgvector's ``vector`` extension (detected, not used)."""
        return self._tx(vectors.pgvector_installed, write=False, single=True)

    def queue_embedding(self, owner: Owner, task_id: str, now: float) -> bool:
        """Queue an embedding run of the owner's memories, unless one is already waiting
        (a running one does not count: it may have read the memories before the change)."""

        def run(conn: Conn) -> bool:
            waiting = conn.execute(
                "SELECT 1 FROM tasks WHERE status = 'pending' AND account = ? "
                "AND user_name = ? AND task_type = ?",
                (owner.account, owner.user, vectors.EMBED_TASK),
            ).fetchone()
            if waiting is not None:
                return False
            conn.execute(
                "INSERT INTO tasks (task_id, account, user_name, task_type, session_id, "
                "status, created_at, updated_at) VALUES (?, ?, ?, ?, '', 'pending', ?, ?)",
                (task_id, owner.account, owner.user, vectors.EMBED_TASK, now, now),
            )
            return True

        return self._tx(run)

    def complete_task(self, task_id: str, claim: str, result: bytes, now: float) -> bool:
        """Mark a held task completed with ``result``; False if it is no longer held."""
        return self._tx(
            lambda c: (
                c.execute(
                    "UPDATE tasks SET status = 'completed', result = ?, error = NULL, claim = NULL, "
                    "lease_until = NULL, updated_at = ? WHERE task_id = ? AND claim = ? "
                    "AND status = 'running' RETURNING task_id",
                    (result, now, task_id, claim),
                ).fetchone()
                is not None
            )
        )

    def retry_task_later(
        self, task_id: str, claim: str, error: str, now: float, not_before: float
    ) -> bool:
        """Put a held task back in the queue with ``error``, not to run before
        ``not_before``; False if it is no longer held."""
        text = error[:2000].replace("\x00", "\ufffd")
        return self._tx(
            lambda c: (
                c.execute(
                    "UPDATE tasks SET status = 'pending', error = ?, claim = NULL, lease_until = ?, "
                    "updated_at = ? WHERE task_id = ? AND claim = ? AND status = 'running' "
                    "RETURNING task_id",
                    (text, not_before, now, task_id, claim),
                ).fetchone()
                is not None
            )
        )

    def memory_count_for_session(self, owner: Owner, session_id: str) -> int:
        sql = (
            "SELECT COUNT(DISTINCT file_pk) FROM memory_sources WHERE account = ? "
            "AND user_name = ? AND session_id = ?"
        )
        return int(
            self._tx(
                lambda c: c.execute(sql, (owner.account, owner.user, session_id)).fetchone()[0],
                write=False,
                single=True,
            )
        )

    # ------------------------------------------------------------------ export / import
    def export_records(
        self, owner: Owner, session_id: str | None, emit: Callable[[Record], None]
    ) -> None:
        """Hand ``emit`` every record of ``owner`` (or of its session ``session_id``, live or
        trashed, with the memories it supports) from one consistent snapshot, in the order
        ``import_records`` follows (``skald_core.export_format``). ``NotFoundError`` for a
        missing session."""
        self._tx(lambda c: transfer.export(c, owner, session_id, emit), write=False)

    def import_records(
        self,
        owner: Owner,
        records: Iterable[Record | End],
        now: float,
        *,
        actor: Identity,
        new_task_id: Callable[[], str],
    ) -> dict[str, int]:
        """Write an export's records for ``owner`` in one transaction — all or nothing — and
        an audit row; the counts per record type. A session id that exists already, a file
        that exists with other content, records out of order, counts that disagree or a
        missing end record refuse the whole import (``AlreadyExistsError``,
        ``InvalidArgumentError``). Archives waiting for extraction get a new task."""

        def ensure(conn: Conn, account: str, path: str, at: float) -> None:
            # The session directory (4 segments) and the fixed directories (3) are never rows.
            depth = 4 if path.split("/")[2:3] == ["sessions"] else 3
            self._ensure_parents(conn, account, path, at, None, stop_at=depth)

        return self._tx(
            lambda c: transfer.import_records(
                c,
                owner,
                records,
                now,
                actor=actor,
                new_task_id=new_task_id,
                ensure_parents=ensure,
            )
        )

    # ------------------------------------------------------------------ integrity
    def check_integrity(self) -> list[str]:
        """Problems found by a full consistency check: counters against rows, archives
        against their messages, runnable tasks and session files without a session, plus
        the backend's own checks."""

        def run(conn: Conn) -> list[str]:
            problems = self._integrity_extras(conn)
            for r in conn.execute(_COUNTERS_VS_ROWS):
                stored = tuple(int(v) for v in r[1:8])
                counted = tuple(int(v) for v in (r[8], r[9], r[10], r[11], r[12], r[13], r[15]))
                if stored != counted or int(r[14]) != int(r[13]):
                    problems.append(f"session {r[0]}: counters {stored} != rows {counted}")
            for r in conn.execute(
                "SELECT a.session_pk, a.archive_no, a.message_count, "
                "(SELECT COUNT(*) FROM messages m WHERE m.session_pk = a.session_pk "
                " AND m.archive_no = a.archive_no) FROM archives a"
            ):
                if r[2] != r[3] or r[3] == 0:
                    problems.append(f"archive {r[0]}/{r[1]}: {r[2]} recorded, {r[3]} rows")
            for r in conn.execute(
                "SELECT m.session_pk, m.archive_no FROM messages m WHERE m.archive_no > 0 "
                "AND NOT EXISTS (SELECT 1 FROM archives a WHERE a.session_pk = m.session_pk "
                "AND a.archive_no = m.archive_no) LIMIT 5"
            ):
                problems.append(f"message in missing archive {tuple(r)}")
            for r in conn.execute(
                "SELECT task_id FROM tasks WHERE status IN ('pending', 'running') "
                f"AND session_pk IS NULL AND task_type <> '{vectors.EMBED_TASK}'"
            ):
                problems.append(f"runnable task {r[0]} for a deleted session")
            for r in conn.execute(
                "SELECT path FROM files WHERE session_pk IS NULL AND path LIKE ?",
                ("user/%/sessions/%/%",),
            ):
                problems.append(f"session file {r[0]} not tied to a session")
            for r in conn.execute(_USER_COUNTS_VS_ROWS):
                problems.append(f"user {r[0]}/{r[1]}: {r[2]} sessions counted, {r[3]} held")
            for r in conn.execute(
                "SELECT session_pk, archive_no, COUNT(*) FROM tasks WHERE status = 'completed' "
                "AND session_pk IS NOT NULL GROUP BY session_pk, archive_no HAVING COUNT(*) > 1"
            ):
                problems.append(f"archive {r[0]}/{r[1]} extracted by {r[2]} completed tasks")
            for statement in search.sql_for(conn).integrity:
                problems += [f"search index: {r[0]} {r[1]}" for r in conn.execute(statement)]
            return problems

        return self._tx(run, write=False)


_COUNTERS_VS_ROWS = """
SELECT s.session_id, s.message_count, s.total_message_count, s.pending_tokens,
       s.total_tokens, s.total_turns, s.commit_count, s.memories_extracted,
       (SELECT COUNT(*) FROM messages m WHERE m.session_pk = s.pk AND m.archive_no = 0),
       (SELECT COUNT(*) FROM messages m WHERE m.session_pk = s.pk),
       (SELECT COALESCE(SUM(tokens), 0) FROM messages m
          WHERE m.session_pk = s.pk AND m.archive_no = 0),
       (SELECT COALESCE(SUM(tokens), 0) FROM messages m WHERE m.session_pk = s.pk),
       (SELECT COUNT(*) FROM messages m WHERE m.session_pk = s.pk AND m.is_turn),
       (SELECT COUNT(*) FROM archives a WHERE a.session_pk = s.pk),
       (SELECT COALESCE(MAX(archive_no), 0) FROM archives a WHERE a.session_pk = s.pk),
       (SELECT COALESCE(SUM(memories_extracted), 0) FROM archives a WHERE a.session_pk = s.pk)
FROM sessions s
"""


class SQLKeyStore:
    """API keys in the store's database, beside the data they guard (hashes only, never
    secrets). Every process sharing the database sees a key, or its revocation, as soon as
    the transaction that made it has committed."""

    COLUMNS = "key_id, account, user_name, role, read_only, created_at, revoked_at, last_used_at"

    def __init__(self, store: SQLStore) -> None:
        self._store = store
        #: key_id -> when this process last wrote its last_used_at (saves the read's check).
        self._noted: dict[str, float] = {}

    def create_key(
        self,
        account: str,
        user: str,
        role: Role,
        read_only: bool,
        now: float,
        *,
        actor: Identity = OPERATOR,
    ) -> NewKey:
        key, key_id, secret_hash = generate()
        sql = (
            "INSERT INTO api_keys (key_id, secret_hash, account, user_name, role, read_only, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        args = (key_id, secret_hash, account, user, role, read_only, now)

        def run(c: Conn) -> None:
            c.execute(sql, args)
            _audit_key(c, actor, "create_key", key_id, account, user, role, read_only, now)

        self._store._tx(run)
        return NewKey(
            key=key,
            record=key_record((key_id, account, user, role, read_only, now, None, None)),
        )

    def find_key(self, key: str) -> KeyRecord | None:
        parts = split(key)
        if parts is None:
            return None
        sql = f"SELECT {self.COLUMNS}, secret_hash FROM api_keys WHERE key_id = ? AND revoked_at IS NULL"
        row = self._store._tx(
            lambda c: c.execute(sql, (parts[0],)).fetchone(), write=False, single=True
        )
        if row is None or not matches(parts[1], row[8]):
            return None
        record = key_record(row)
        self._note_use(record)
        return record

    def _note_use(self, record: KeyRecord) -> None:
        """Write the key's ``last_used_at`` when it is older than the resolution: one small
        write per key a minute at most, whatever the request rate (the WHERE keeps processes
        sharing the database from writing it twice). Best effort: a busy database skips it."""
        now = clock.now()
        noted = max(record.last_used_at or 0.0, self._noted.get(record.key_id, 0.0))
        if now - noted < LAST_USED_RESOLUTION:
            return
        self._noted[record.key_id] = now
        sql = (
            "UPDATE api_keys SET last_used_at = ? WHERE key_id = ? AND "
            "(last_used_at IS NULL OR last_used_at < ?)"
        )
        args = (now, record.key_id, now - LAST_USED_RESOLUTION)
        try:
            self._store._tx(lambda c: c.execute(sql, args), single=True)
        except SkaldError as exc:
            log.debug("could not note the use of key %s: %s", record.key_id, exc)

    def revoke_key(self, key_id: str, now: float, *, actor: Identity = OPERATOR) -> bool:
        sql = (
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL "
            "RETURNING account, user_name, role, read_only"
        )

        def run(c: Conn) -> bool:
            got = c.execute(sql, (now, key_id)).fetchone()
            if got is None:
                return False
            _audit_key(c, actor, "revoke_key", key_id, got[0], got[1], got[2], bool(got[3]), now)
            return True

        return self._store._tx(run)

    def list_keys(self, account: str | None = None) -> list[KeyRecord]:
        where, args = (" WHERE account = ?", (account,)) if account is not None else ("", ())
        sql = f"SELECT {self.COLUMNS} FROM api_keys{where} ORDER BY created_at, key_id"
        return self._store._tx(
            lambda c: [key_record(r) for r in c.execute(sql, args)], write=False, single=True
        )


def _audit_key(
    conn: Conn,
    actor: Identity,
    action: str,
    key_id: str,
    account: str,
    user: str,
    role: str,
    read_only: bool,
    now: float,
) -> None:
    """The audit row of a key change: whose key, which, and what it may do (never a secret)."""
    counts = {"admin": int(role == "admin"), "read_only": int(read_only)}
    deletion.audit(conn, actor, action, Owner(account, user), None, counts, now, key_id=key_id)
