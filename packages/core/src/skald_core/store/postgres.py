"""PostgreSQL backend: several Skald processes (server replicas) sharing one database.

Synchronous, on psycopg 3 with a ``psycopg_pool.ConnectionPool``; the same protocol and the
same semantics as ``SQLiteStore``, made safe across processes by the database's own locks
instead of SQLite's single writer:

* Every public method is one transaction (``READ COMMITTED``; reads of several statements run
  ``REPEATABLE READ READ ONLY`` so they see one snapshot). The frequent calls are ONE statement
  (an append is an ``UPDATE`` of the session and an ``INSERT`` of its messages in one ``WITH``;
  reads join the session to its rows), a transaction of its own that costs one round trip.
* Appends, commits, deletes, restores and the application of an extraction of one session are
  serialised by that session's row lock (``UPDATE ... RETURNING`` or ``SELECT ... FOR UPDATE``),
  held until the transaction ends — never by a lock of this process. Writes of one user's
  memories are serialised by a transaction-level advisory lock per (account, user), keyed
  calls by one per idempotency key. See ``postgres_common`` for the lock order.
* A task is claimed by exactly one replica: a conditional ``UPDATE ... RETURNING`` over a
  ``SELECT ... FOR UPDATE SKIP LOCKED``. A claim carries a lease; a replica that dies leaves a
  running task whose lease expires, and any replica then takes it again (a new claim, so the
  dead one's late answer, should it come, is refused as stale).
* Conflicts the database resolves by aborting one side (deadlock, serialisation failure, a
  unique key inserted concurrently) are retried with the whole transaction, a few times.
* The database unreachable, or a lock not granted within ``lock_timeout``: the call raises
  ``StorageUnavailableError`` (503 UNAVAILABLE) with ``details.retry_after``; the pool keeps
  trying to reconnect in the background and serves again as soon as the database is back.

Schema changes are versioned migrations (``postgres_schema``), applied when the store opens
(and by ``skald db upgrade``) under an advisory lock, so replicas may start together.
"""

from __future__ import annotations

import contextlib
import logging
import random
import secrets
import select
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

import msgspec
import psycopg
import psycopg.errors
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from ..errors import (
    AlreadyExistsError,
    ConflictError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    SkaldError,
    StorageUnavailableError,
)
from ..identity import Identity
from . import postgres_deletion as deletion
from . import postgres_extraction as extraction
from . import postgres_schema as schema_mod
from .backends import is_database_url
from .extraction_apply import Applied, apply_diff, requeue
from .model import (
    ArchiveExtraction,
    ArchiveRow,
    AuditRow,
    ClaimedTask,
    CommitOutcome,
    DeletionCounts,
    ErasureCounts,
    ExtractionOutcome,
    ExtractionSummary,
    FileRow,
    MemoryFact,
    MemoryRef,
    NewMessage,
    Owner,
    Requeued,
    SessionRow,
    StoredMessage,
    TaskRow,
    TokenCounts,
)
from .postgres_common import (
    ARCHIVE_COLUMNS,
    FILE_COLUMNS,
    SESSION_COLUMNS,
    TASK_COLUMNS,
    Conn,
    archive_row,
    file_row,
    lock_idempotency_key,
    lock_owner,
    session_row,
    task_row,
)
from .sqlite import IDEMPOTENCY_TTL_SECONDS, _parent, _range

log = logging.getLogger("skald.store")

_SESSION_COLUMNS_OF_SESSIONS = ", ".join(
    "sessions." + c.strip() for c in SESSION_COLUMNS.split(",")
)

T = TypeVar("T")

#: Seconds a client is told to wait before retrying when the database cannot serve.
RETRY_AFTER_SECONDS = 1
#: Attempts of a transaction that the database aborted for a conflict (deadlock, ...).
CONFLICT_ATTEMPTS = 6
#: The pool gives up one reconnection attempt (1 s, 2 s, 4 s, ... backoff) after this many
#: seconds; the next call that needs a connection starts a fresh one. Short, so that the
#: backoff never grows long and the store serves again soon after the database is back.
RECONNECT_TIMEOUT = 5.0
#: How long a call waits for a connection while the last connection attempt failed.
DOWN_WAIT_SECONDS = 1.0

_BEGIN_WRITE = b"BEGIN"
_SINGLE_WRITE = b""  # marker: one autocommit write statement
_BEGIN_READ = b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_RETRYABLE = (
    psycopg.errors.SerializationFailure,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.UniqueViolation,
)
_LOCKED = (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)


class _Conflict(Exception):
    """The database aborted this transaction for a conflict with another one: run it again."""


class _Stale(Exception):
    """A pooled connection turned out dead before the transaction began: safe to retry."""


def _alive(conn: Conn) -> bool:
    """Whether an idle pooled connection still works, without a round trip. An idle
    connection (Skald never LISTENs) has nothing to read; when it has, the server sent its
    goodbye ("terminating connection due to administrator command") or closed the socket:
    a restart or failover. Such a connection is given back, and the pool replaces it."""
    pgconn = conn.pgconn
    if pgconn.status != pq.ConnStatus.OK:
        return False
    try:
        ready, _, _ = select.select([pgconn.socket], [], [], 0)
    except (OSError, ValueError):
        return False
    if ready:
        with contextlib.suppress(psycopg.Error):
            pgconn.consume_input()
        pgconn.finish()  # BAD now: the pool discards it instead of reusing it
        return False
    return True


def describe_url(url: str) -> str:
    """``host:port/dbname`` of a connection URL — never its password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<invalid database URL>"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    port = info.get("port") or "5432"
    return f"{host}:{port}/{info.get('dbname') or info.get('user') or ''}"


class PostgresStore:
    """A store on a PostgreSQL database, safe for any number of processes sharing it.

    ``url`` is a libpq connection URL (``postgresql://user:pass@host:5432/db``); ``schema``
    the schema holding Skald's tables (created if missing; default: the first of the
    connection's ``search_path``, normally ``public``). ``min_size``/``max_size`` bound the
    connection pool; a call waits at most ``timeout`` seconds for a connection (less while the
    database is known to be down) and a row lock at most ``lock_timeout`` seconds.

    ``lazy=True`` (the server's choice) lets the store open while the database is unreachable:
    the migrations then run on the first call that finds it back.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 5.0,
        lock_timeout: float = 10.0,
        connect_timeout: float = 5.0,
        lazy: bool = False,
        application_name: str = "skald",
    ) -> None:
        if not is_database_url(url):
            raise InvalidArgumentError(
                "A PostgreSQL database URL starts with postgresql:// or postgres://",
                {"field": "database_url"},
            )
        if min_size < 0 or max_size < 1 or min_size > max_size:
            raise InvalidArgumentError(
                f"Invalid pool size: min {min_size}, max {max_size}", {"field": "pool_size"}
            )
        self.url = url
        self.where = describe_url(url)
        self.schema = schema
        self._timeout = timeout
        self._lock_timeout_ms = int(lock_timeout * 1000)
        self._ready = False
        self._ready_lock = threading.Lock()
        self._closed = False
        self._last_ok = 0.0
        self._last_error_at = 0.0
        self._last_error = ""
        info = conninfo_to_dict(url)
        kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in info:
            kwargs["connect_timeout"] = max(1, int(connect_timeout))
        if "application_name" not in info:
            kwargs["application_name"] = application_name
        store = self

        class _Connection(psycopg.Connection[tuple[Any, ...]]):
            """Notes the outcome of every connection attempt, for fast failure and details."""

            @classmethod
            def connect(cls, *args: Any, **kw: Any) -> Any:
                try:
                    conn = super().connect(*args, **kw)
                except Exception as exc:
                    store._last_error_at = time.monotonic()
                    store._last_error = str(exc).strip().splitlines()[0] if str(exc) else ""
                    raise
                store._last_ok = time.monotonic()
                return conn

        self._pool: ConnectionPool[Conn] = ConnectionPool(
            url,
            connection_class=_Connection,
            kwargs=kwargs,
            min_size=min_size,
            max_size=max_size,
            open=False,
            configure=self._configure,
            timeout=timeout,
            reconnect_timeout=RECONNECT_TIMEOUT,
            name=f"skald-{self.where}",
        )
        self._pool.open(wait=False)
        try:
            self._ensure_ready()
        except StorageUnavailableError as exc:
            if lazy and exc.details.get("reason") == "unreachable":
                log.warning("database %s unreachable; will migrate when it is back", self.where)
            else:
                self.close()
                raise
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing
    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        path = schema_mod.quote_ident(self.schema) if self.schema else None
        conn.execute(
            "SELECT set_config('lock_timeout', %s, false), "
            "set_config('idle_in_transaction_session_timeout', '60s', false)"
            + (", set_config('search_path', %s, false)" if path else ""),
            (f"{self._lock_timeout_ms}ms", path) if path else (f"{self._lock_timeout_ms}ms",),
        )

    def _down(self) -> bool:
        """The most recent connection attempt failed (and none succeeded since)."""
        return self._last_error_at > self._last_ok

    def _unreachable(self, exc: BaseException | None = None) -> StorageUnavailableError:
        reason = self._last_error or (str(exc) if exc else "no connection available")
        return StorageUnavailableError(
            f"Database {self.where} is unreachable: {reason}; try again",
            {
                "reason": "unreachable",
                "backend": "postgresql",
                "database": self.where,
                "error": reason,
                "retry_after": RETRY_AFTER_SECONDS,
            },
        )

    def _unavailable(self, exc: psycopg.Error) -> SkaldError:
        detail: dict[str, Any] = {
            "backend": "postgresql",
            "database": self.where,
            "retry_after": RETRY_AFTER_SECONDS,
        }
        if isinstance(exc, _LOCKED):
            return StorageUnavailableError(
                f"Database {self.where} is busy (a lock was not granted in time); try again",
                {**detail, "reason": "locked", "sqlstate": exc.sqlstate},
            )
        if isinstance(exc, psycopg.OperationalError):
            text = str(exc).strip().splitlines()[0] if str(exc) else type(exc).__name__
            return StorageUnavailableError(
                f"Database {self.where} cannot be used: {text}",
                {**detail, "reason": "connection_lost", "error": text, "sqlstate": exc.sqlstate},
            )
        if isinstance(exc, psycopg.DataError):
            return InvalidArgumentError(
                f"The database refused a value: {exc}", {"sqlstate": exc.sqlstate}
            )
        return InternalError(
            f"Database error: {type(exc).__name__}: {exc}",
            {"backend": "postgresql", "sqlstate": exc.sqlstate},
        )

    def _acquire(self) -> Conn:
        """A connection from the pool. While the database is known to be down (or was never
        reached) the wait is short and ends as soon as a connection attempt fails, so callers
        get a quick 503 instead of queueing for the whole ``timeout``."""
        healthy = self._last_ok and not self._down()
        deadline = time.monotonic() + (
            self._timeout if not self._down() else min(self._timeout, DOWN_WAIT_SECONDS)
        )
        while True:
            left = deadline - time.monotonic()
            try:
                # Waits in slices, so that a database found down meanwhile ends the wait.
                conn = self._pool.getconn(timeout=max(0.01, min(0.5 if healthy else 0.2, left)))
            except PoolTimeout:
                if self._down() or time.monotonic() >= deadline:
                    raise
                continue
            if _alive(conn):
                return conn
            self._pool.putconn(conn)  # closed by the server (a restart): the pool replaces it

    def _ensure_ready(self) -> None:
        if self._ready:
            return
        # While one call migrates (or finds the database still down), the others wait for it
        # at most as long as for a connection.
        if not self._ready_lock.acquire(timeout=self._timeout):
            raise self._unreachable()
        try:
            self._migrate_locked()
        finally:
            self._ready_lock.release()

    def _migrate_locked(self) -> None:
        if not self._ready:
            if self._closed:
                raise StorageUnavailableError("The store is closed", {"reason": "closed"})
            try:
                conn = self._acquire()
                try:
                    applied = schema_mod.migrate(conn, self.schema, time.time())
                finally:
                    self._pool.putconn(conn)
            except PoolTimeout as exc:
                raise self._unreachable(exc) from exc
            except PoolClosed as exc:
                raise StorageUnavailableError("The store is closed", {"reason": "closed"}) from exc
            except psycopg.Error as exc:
                raise self._unavailable(exc) from exc
            if applied:
                log.info("database %s: applied schema migrations %s", self.where, applied)
            self._ready = True

    def migrate(self) -> int:
        """Apply pending migrations now (``skald db upgrade``); the schema version after."""
        self._ensure_ready()
        return self.schema_version()

    def schema_version(self) -> int:
        return self._tx(schema_mod.current_version, write=False)

    def _attempt(self, fn: Callable[[Conn], T], begin: bytes | None) -> T:
        try:
            conn = self._acquire()
            try:
                return self._run(conn, fn, begin)
            finally:
                self._pool.putconn(conn)
        except (SkaldError, _Stale):
            raise
        except PoolTimeout as exc:
            raise self._unreachable(exc) from exc
        except PoolClosed as exc:
            raise StorageUnavailableError("The store is closed", {"reason": "closed"}) from exc
        except _RETRYABLE as exc:
            raise _Conflict(str(exc)) from exc
        except psycopg.Error as exc:
            raise self._unavailable(exc) from exc

    @staticmethod
    def _run(conn: Conn, fn: Callable[[Conn], T], begin: bytes | None) -> T:
        if begin is None:  # one read statement: safe to run again on another connection
            try:
                return fn(conn)
            except psycopg.OperationalError as exc:
                if conn.info.transaction_status == pq.TransactionStatus.UNKNOWN:
                    raise _Stale() from exc
                raise
        if begin == _SINGLE_WRITE:  # one write statement, its own transaction: never re-run
            return fn(conn)
        try:
            conn.execute(begin)
        except psycopg.OperationalError as exc:
            if conn.info.transaction_status == pq.TransactionStatus.UNKNOWN:
                raise _Stale() from exc  # nothing was sent that could have taken effect
            raise
        try:
            result = fn(conn)
            conn.execute(b"COMMIT")
            return result
        except BaseException:
            status = conn.info.transaction_status
            if status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR):
                with contextlib.suppress(psycopg.Error):
                    conn.execute(b"ROLLBACK")
            raise

    def _tx(self, fn: Callable[[Conn], T], *, write: bool = True, single: bool = False) -> T:
        """Run ``fn`` as one transaction. ``single``: ``fn`` runs ONE statement, which is a
        transaction of its own (no BEGIN/COMMIT round trips); a read is run again on another
        connection if its connection turns out dead, a write never is."""
        if self._closed:
            raise StorageUnavailableError("The store is closed", {"reason": "closed"})
        self._ensure_ready()
        if single:
            begin = _SINGLE_WRITE if write else None
        else:
            begin = _BEGIN_WRITE if write else _BEGIN_READ
        conflicts = 0
        stale = 0
        while True:
            try:
                return self._attempt(fn, begin)
            except _Stale:
                # The database restarted since this connection was made: drop the dead ones
                # (the pool replaces them) and run the transaction on a fresh connection.
                stale += 1
                if stale > 2:
                    raise self._unreachable() from None
                try:
                    self._pool.check()
                except Exception as exc:  # pragma: no cover - the database went away again
                    log.debug("pool check failed: %s", exc)
            except _Conflict as exc:
                conflicts += 1
                if conflicts >= CONFLICT_ATTEMPTS:
                    raise StorageUnavailableError(
                        f"Database {self.where} is busy with conflicting writes; try again",
                        {
                            "reason": "conflict",
                            "backend": "postgresql",
                            "error": str(exc).splitlines()[0] if str(exc) else "",
                            "retry_after": RETRY_AFTER_SECONDS,
                        },
                    ) from exc
                time.sleep(random.uniform(0.001, 0.005) * 2**conflicts)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._pool.close(timeout=5.0)
        except Exception as exc:  # pragma: no cover - closing anyway
            log.debug("closing the pool: %s", exc)

    def pool_stats(self) -> dict[str, int]:
        return dict(self._pool.get_stats())

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _find(conn: Conn, owner: Owner, session_id: str, *, lock: str = "") -> SessionRow | None:
        return deletion.find(conn, owner, session_id, lock=lock)

    def _live(self, conn: Conn, owner: Owner, session_id: str, *, lock: str = "") -> SessionRow:
        row = self._find(conn, owner, session_id, lock=lock)
        if row is None or row.deleted_at is not None:
            raise NotFoundError.of("session", session_id)
        return row

    @staticmethod
    def _replayed(
        conn: Conn, owner: Owner, key: str | None, request: str, now: float
    ) -> bytes | None:
        """The stored answer of an earlier call with this idempotency key, if any. Takes the
        key's advisory lock first, so a concurrent call with the same key waits for this one."""
        if key is None:
            return None
        lock_idempotency_key(conn, owner.account, owner.user, key)
        got = conn.execute(
            "SELECT request, result FROM idempotency_keys WHERE account = %s AND user_name = %s "
            "AND idem_key = %s AND created_at >= %s",
            (owner.account, owner.user, key, now - IDEMPOTENCY_TTL_SECONDS),
        ).fetchone()
        if got is None:
            return None
        if got[0] != request:
            raise ConflictError(
                "This Idempotency-Key was already used for a different request",
                {"reason": "idempotency_key_reused", "request": got[0]},
            )
        return bytes(got[1])

    @staticmethod
    def _remember(
        conn: Conn, owner: Owner, key: str | None, request: str, result: bytes, now: float
    ) -> None:
        if key is None:
            return
        conn.execute(
            "INSERT INTO idempotency_keys (account, user_name, idem_key, request, result, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (account, user_name, "
            "idem_key) DO UPDATE SET request = EXCLUDED.request, result = EXCLUDED.result, "
            "created_at = EXCLUDED.created_at",
            (owner.account, owner.user, key, request, result, now),
        )
        if secrets.randbelow(256) == 0:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < %s",
                (now - IDEMPOTENCY_TTL_SECONDS,),
            )

    # ------------------------------------------------------------------ sessions
    def create_session(self, owner: Owner, session_id: str, now: float) -> SessionRow:
        def insert(conn: Conn) -> tuple[Any, ...] | None:
            return conn.execute(
                "INSERT INTO sessions (account, user_name, session_id, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (account, user_name, session_id) "
                f"DO NOTHING RETURNING {SESSION_COLUMNS}",
                (owner.account, owner.user, session_id, now, now),
            ).fetchone()

        def taken(conn: Conn) -> None:
            deletion.refuse_trashed_id(conn, owner, session_id)  # says which: live or trashed

        got = self._tx(insert, single=True)  # one statement: its own transaction
        if got is None:
            self._tx(taken, write=False, single=True)
            raise AlreadyExistsError.of("session", session_id)  # gone again meanwhile
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
        sql = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE account = %s AND user_name = %s"
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        args: list[Any] = [owner.account, owner.user]
        beyond, direction = ("<", "DESC") if newest_first else (">", "ASC")
        if after is not None:
            sql += f" AND (created_at, session_id) {beyond} (%s, %s)"
            args += [after[0], after[1]]
        sql += f" ORDER BY created_at {direction}, session_id {direction}"
        if limit is not None:
            sql += " LIMIT %s"
            args.append(limit)
        return self._tx(
            lambda c: [session_row(r) for r in c.execute(sql, args)],
            write=False,
            single=True,
        )

    def append_messages(
        self,
        owner: Owner,
        session_id: str,
        messages: Sequence[NewMessage],
        now: float,
        *,
        auto_create: bool,
        idempotency_key: str | None = None,
    ) -> SessionRow:
        n = len(messages)
        request = f"append:{session_id}:{n}"
        tokens = sum(m.tokens for m in messages)
        turns = sum(1 for m in messages if m.is_turn)
        bump = (
            "UPDATE sessions SET message_count = message_count + %s, "
            "total_message_count = total_message_count + %s, pending_tokens = pending_tokens + %s, "
            "total_tokens = total_tokens + %s, total_turns = total_turns + %s, updated_at = %s, "
            "last_message_at = %s "
        )
        counters = (n, n, tokens, tokens, turns, now, now)
        first_row = (owner.account, owner.user, session_id, now, now, n, n, tokens, tokens, turns)
        # The messages as one row of arrays: the whole batch goes in one INSERT ... unnest, in
        # order (the identity key numbers them as they come).
        arrays = (
            [m.message_id for m in messages],
            [m.role for m in messages],
            [m.tokens for m in messages],
            [m.is_turn for m in messages],
            [m.tool_parts for m in messages],
            [m.context_parts for m in messages],
            [m.body for m in messages],
        )
        unnest = (
            "SELECT {pk}, x.message_id, x.role, x.tokens, x.is_turn, x.tool_parts, "
            "x.context_parts, x.body FROM {source}unnest(%s::text[], %s::text[], %s::int[], "
            "%s::bool[], %s::int[], %s::int[], %s::bytea[]) WITH ORDINALITY AS x(message_id, "
            "role, tokens, is_turn, tool_parts, context_parts, body, n) ORDER BY x.n"
        )
        insert = (
            "INSERT INTO messages (session_pk, message_id, role, tokens, is_turn, tool_parts, "
            "context_parts, body) "
        )
        # The common case in one statement: bump the live session's counters (which takes its
        # row lock until the transaction ends: appends, commits and deletes of this session
        # queue behind it) and insert the messages under it.
        bump_and_insert = (
            f"WITH s AS ({bump}WHERE account = %s AND user_name = %s AND session_id = %s "
            f"AND deleted_at IS NULL RETURNING {SESSION_COLUMNS}), "
            f"ins AS ({insert}{unnest.format(pk='s.pk', source='s, ')}) SELECT * FROM s"
        )
        bump_args = (*counters, owner.account, owner.user, session_id, *arrays)

        def run(conn: Conn) -> SessionRow:
            earlier = self._replayed(conn, owner, idempotency_key, request, now)
            if earlier is not None:
                return msgspec.msgpack.decode(earlier, type=SessionRow)
            updated = None
            for _ in range(CONFLICT_ATTEMPTS):
                updated = conn.execute(bump_and_insert, bump_args).fetchone()
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
                # Live, yet the UPDATE missed it: it was deleted and re-created by others
                # while the UPDATE waited for the old row's lock (READ COMMITTED shows each
                # statement the latest commits). Take the UPDATE path again.
            if updated is None:
                if not auto_create:
                    raise NotFoundError.of("session", session_id)
                # A concurrent creator makes this INSERT fail (unique key); the transaction is
                # then run again and takes the UPDATE path.
                updated = conn.execute(
                    "INSERT INTO sessions (account, user_name, session_id, created_at, "
                    "updated_at, message_count, total_message_count, pending_tokens, "
                    "total_tokens, total_turns, last_message_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    f"RETURNING {SESSION_COLUMNS}",
                    (*first_row, now),
                ).fetchone()
                assert updated is not None
                if messages:
                    conn.execute(insert + unnest.format(pk="%s", source=""), (updated[0], *arrays))
            result = session_row(updated)
            if idempotency_key is not None:
                self._remember(
                    conn, owner, idempotency_key, request, msgspec.msgpack.encode(result), now
                )
            return result

        if idempotency_key is None:
            # First the common case alone: ONE statement, its own transaction (a round trip
            # and a commit). No row: no live session; the transaction below sorts it out.
            got = self._tx(lambda c: c.execute(bump_and_insert, bump_args).fetchone(), single=True)
            if got is not None:
                return session_row(got)
        return self._tx(run)

    # Reads of rows under a live session are ONE statement: the session joined to its rows (no
    # row at all: no live session; one row of NULLs: a session without any), so they need no
    # transaction around several statements and cost one round trip.
    _LIVE = (
        "FROM sessions s {join} WHERE s.account = %s AND s.user_name = %s "
        "AND s.session_id = %s AND s.deleted_at IS NULL"
    )

    def _under_live(
        self,
        owner: Owner,
        session_id: str,
        select: str,
        join: str,
        order: str,
        args: tuple[Any, ...] = (),
    ) -> list[tuple[Any, ...]]:
        """Rows of ``SELECT present, {select} FROM sessions s {join}`` for the live session;
        ``NotFoundError`` when there is none. ``present`` must be the first column."""
        sql = f"SELECT {select} {self._LIVE.format(join=join)} ORDER BY {order}"
        params = (*args, owner.account, owner.user, session_id)

        def run(conn: Conn) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()

        rows = self._tx(run, write=False, single=True)
        if not rows:
            raise NotFoundError.of("session", session_id)
        return [r for r in rows if r[0] is not None]

    def messages(
        self, owner: Owner, session_id: str, *, archive_no: int | None = 0
    ) -> list[StoredMessage]:
        which = "" if archive_no is None else " AND m.archive_no = %s"
        rows = self._under_live(
            owner,
            session_id,
            "m.pk, m.archive_no, m.tokens, m.body",
            f"LEFT JOIN messages m ON m.session_pk = s.pk{which}",
            "m.pk",
            () if archive_no is None else (archive_no,),
        )
        return [StoredMessage(archive_no=r[1], tokens=r[2], body=r[3]) for r in rows]

    def tool_and_context_messages(self, owner: Owner, session_id: str) -> list[StoredMessage]:
        rows = self._under_live(
            owner,
            session_id,
            "m.pk, m.archive_no, m.tokens, m.body",
            "LEFT JOIN messages m ON m.session_pk = s.pk "
            "AND (m.tool_parts > 0 OR m.context_parts > 0)",
            "m.pk",
        )
        return [StoredMessage(archive_no=r[1], tokens=r[2], body=r[3]) for r in rows]

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
        request = f"commit:{session_id}:{keep_recent_count}"

        def run(conn: Conn) -> CommitOutcome:
            earlier = self._replayed(conn, owner, idempotency_key, request, now)
            if earlier is not None:
                return msgspec.msgpack.decode(earlier, type=CommitOutcome)
            outcome = archive(conn)
            self._remember(
                conn, owner, idempotency_key, request, msgspec.msgpack.encode(outcome), now
            )
            return outcome

        def archive(conn: Conn) -> CommitOutcome:
            # The row lock: appends and deletes of this session wait until the archive is made.
            row = self._live(conn, owner, session_id, lock="FOR UPDATE")
            if row.message_count == 0:
                return CommitOutcome(
                    session=row, archive_no=None, task_id=None, reason="no_messages"
                )
            n_archive = row.message_count - keep_recent_count
            if n_archive <= 0:
                return CommitOutcome(
                    session=row, archive_no=None, task_id=None, reason="all_within_keep_window"
                )
            archive_no = row.commit_count + 1
            # One statement: number the oldest live messages into the archive, record the
            # archive and its extraction task, and take them off the session's live counters.
            updated = conn.execute(
                "WITH picked AS (SELECT pk FROM messages WHERE session_pk = %(pk)s "
                "AND archive_no = 0 ORDER BY pk LIMIT %(n)s), "
                "moved AS (UPDATE messages m SET archive_no = %(no)s FROM picked "
                "WHERE m.pk = picked.pk RETURNING m.pk, m.message_id, m.tokens), "
                "agg AS (SELECT COUNT(*) AS n, COALESCE(SUM(tokens), 0)::bigint AS tokens, "
                "(SELECT message_id FROM moved ORDER BY pk LIMIT 1) AS first_id, "
                "(SELECT message_id FROM moved ORDER BY pk DESC LIMIT 1) AS last_id FROM moved), "
                "archive AS (INSERT INTO archives (session_pk, archive_no, created_at, status, "
                "message_count, tokens, first_message_id, last_message_id) SELECT %(pk)s, "
                "%(no)s, %(now)s, 'pending', n, tokens, first_id, last_id FROM agg), "
                "task AS (INSERT INTO tasks (task_id, account, user_name, task_type, session_id, "
                "session_pk, archive_no, status, created_at, updated_at) VALUES (%(task)s, "
                "%(account)s, %(user)s, 'session_commit', %(sid)s, %(pk)s, %(no)s, 'pending', "
                "%(now)s, %(now)s)) "
                "UPDATE sessions SET message_count = message_count - agg.n, "
                "pending_tokens = pending_tokens - agg.tokens, commit_count = commit_count + 1, "
                "last_commit_at = %(now)s, updated_at = %(now)s FROM agg WHERE pk = %(pk)s "
                f"RETURNING {_SESSION_COLUMNS_OF_SESSIONS}",
                {
                    "pk": row.pk,
                    "n": n_archive,
                    "no": archive_no,
                    "now": now,
                    "task": task_id,
                    "account": owner.account,
                    "user": owner.user,
                    "sid": session_id,
                },
            ).fetchone()
            assert updated is not None
            return CommitOutcome(
                session=session_row(updated), archive_no=archive_no, task_id=task_id, reason=None
            )

        return self._tx(run)

    def archives(self, owner: Owner, session_id: str) -> list[ArchiveRow]:
        columns = ", ".join("a." + c.strip() for c in ARCHIVE_COLUMNS.split(","))
        rows = self._under_live(
            owner,
            session_id,
            f"a.archive_no, {columns}",
            "LEFT JOIN archives a ON a.session_pk = s.pk",
            "a.archive_no",
        )
        return [archive_row(r[1:]) for r in rows]

    def delete_session(
        self,
        owner: Owner,
        session_id: str,
        now: float,
        *,
        require_committed: bool = False,
        require_extracted: bool = False,
        forget_memories: bool = False,
        actor: Identity | None = None,
        action: str = "delete",
        only_trashed: bool = False,
        only_live: bool = False,
        older_than: tuple[str, float] | None = None,
    ) -> DeletionCounts:
        who = actor or Identity(account=owner.account, user=owner.user)
        return self._tx(
            lambda c: deletion.hard_delete(
                c,
                owner,
                session_id,
                now,
                actor=who,
                action=action,
                require_committed=require_committed,
                require_extracted=require_extracted,
                forget_memories=forget_memories,
                only_trashed=only_trashed,
                only_live=only_live,
                older_than=older_than,
            )
        )

    def soft_delete_session(
        self,
        owner: Owner,
        session_id: str,
        now: float,
        *,
        actor: Identity,
        require_committed: bool = False,
        require_extracted: bool = False,
        older_than: tuple[str, float] | None = None,
    ) -> DeletionCounts:
        return self._tx(
            lambda c: deletion.soft_delete(
                c,
                owner,
                session_id,
                now,
                actor=actor,
                require_committed=require_committed,
                require_extracted=require_extracted,
                older_than=older_than,
            )
        )

    def restore_session(
        self, owner: Owner, session_id: str, now: float, *, actor: Identity
    ) -> SessionRow:
        def run(conn: Conn) -> SessionRow:
            deletion.restore(conn, owner, session_id, now, actor=actor)
            row = self._find(conn, owner, session_id)
            assert row is not None
            return row

        return self._tx(run)

    def expired_sessions(
        self,
        owner: Owner | None,
        cutoff: float,
        by: Literal["created_at", "updated_at"],
        *,
        trashed: bool = False,
    ) -> list[SessionRow]:
        return self._tx(
            lambda c: deletion.expired_sessions(c, owner, cutoff, by, trashed=trashed),
            write=False,
            single=True,
        )

    def erase_user(self, account: str, user: str, now: float, *, actor: Identity) -> ErasureCounts:
        counts = self._tx(lambda c: deletion.erase_user(c, account, user, now, actor=actor))
        self._compact()
        return counts

    #: Tables whose dead rows may hold erased content.
    _CONTENT_TABLES = (
        "messages",
        "files",
        "archives",
        "archive_extractions",
        "memory_sources",
        "idempotency_keys",
        "tasks",
        "sessions",
        "api_keys",
    )

    def _compact(self) -> None:
        """Best effort: ``VACUUM`` the content tables so the erased rows' space is reclaimed
        (and their tuples pruned) now rather than at the next autovacuum. PostgreSQL keeps no
        promise that the bytes are overwritten on disk (free space in pages, TOAST, WAL
        segments until recycled): that needs ``VACUUM FULL`` and WAL retention the operator
        controls — see the README. Never fails the erasure, which has committed."""
        try:
            conn = self._acquire()
            try:
                conn.execute("VACUUM " + ", ".join(self._CONTENT_TABLES))
            finally:
                self._pool.putconn(conn)
        except Exception as exc:
            log.warning("VACUUM after erasure failed (the erasure itself committed): %s", exc)

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
                c, account, limit=limit, action=action, session_id=session_id, before=before
            ),
            write=False,
            single=True,
        )

    # ------------------------------------------------------------------ tasks
    def get_task(self, owner: Owner, task_id: str) -> TaskRow | None:
        def run(conn: Conn) -> TaskRow | None:
            row = conn.execute(
                f"SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = %s AND account = %s "
                "AND user_name = %s",
                (task_id, owner.account, owner.user),
            ).fetchone()
            return task_row(row) if row else None

        return self._tx(run, write=False, single=True)

    def runnable_tasks(self, now: float, limit: int = 100) -> list[str]:
        def run(conn: Conn) -> list[str]:
            cur = conn.execute(
                "SELECT task_id FROM tasks WHERE status IN ('pending', 'running') "
                "AND (status = 'pending' OR lease_until < %s) ORDER BY created_at LIMIT %s",
                (now, limit),
            )
            return [r[0] for r in cur]

        return self._tx(run, write=False, single=True)

    def claim_task(
        self, task_id: str, now: float, lease_seconds: float, *, busy: Sequence[Owner] = ()
    ) -> ClaimedTask | None:
        # ``busy``: owners whose memories a worker of this process is already extracting.
        skip = ""
        if busy:
            skip = (
                " AND (account, user_name) NOT IN (VALUES "
                + ", ".join(["(%s, %s)"] * len(busy))
                + ")"
            )
        owners = [v for o in busy for v in (o.account, o.user)]

        def run(conn: Conn) -> ClaimedTask | None:
            claim = secrets.token_hex(8)
            # SKIP LOCKED: a task another replica is claiming (or completing) right now is not
            # waited for; the condition, re-checked on the row as it is when locked, lets one
            # claimant through per lease.
            got = conn.execute(
                "UPDATE tasks SET status = 'running', claim = %s, lease_until = %s, "
                "attempts = attempts + 1, updated_at = %s WHERE task_id = (SELECT task_id "
                "FROM tasks WHERE task_id = %s AND (status = 'pending' OR (status = 'running' "
                f"AND lease_until < %s)){skip} FOR UPDATE SKIP LOCKED) "
                f"RETURNING session_pk, archive_no, {TASK_COLUMNS}",
                (claim, now + lease_seconds, now, task_id, now, *owners),
            ).fetchone()
            if got is None:
                return None
            session_pk, archive_no = got[0], got[1]
            task = task_row(got[2:])
            if session_pk is None:
                conn.execute(
                    "UPDATE tasks SET status = 'cancelled', error = 'session deleted before "
                    "extraction', claim = NULL WHERE task_id = %s",
                    (task_id,),
                )
                return None
            cur = conn.execute(
                "SELECT archive_no, tokens, body FROM messages WHERE session_pk = %s "
                "AND archive_no = %s ORDER BY pk",
                (session_pk, archive_no),
            )
            msgs = [StoredMessage(archive_no=a, tokens=t, body=b) for a, t, b in cur]
            return ClaimedTask(task=task, claim=claim, messages=msgs)

        return self._tx(run)

    def complete_extraction(
        self,
        task_id: str,
        claim: str,
        facts: Sequence[MemoryFact],
        result: bytes,
        now: float,
        *,
        deletes: Sequence[MemoryRef] = (),
        usage: TokenCounts | None = None,
    ) -> ExtractionOutcome:
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
                "SELECT session_pk, account, user_name FROM tasks WHERE task_id = %s", (task_id,)
            ).fetchone()
            if first is None:
                return stale
            if first[0] is not None:
                conn.execute(
                    "SELECT 1 FROM sessions WHERE pk = %s FOR NO KEY UPDATE", (first[0],)
                ).fetchall()
            lock_owner(conn, first[1], first[2])
            got = conn.execute(
                "SELECT status, claim, session_pk, archive_no, account, user_name, session_id "
                "FROM tasks WHERE task_id = %s FOR UPDATE",
                (task_id,),
            ).fetchone()
            if got is None or got[0] != "running" or got[1] != claim:
                return stale
            _, _, session_pk, archive_no, account, user, session_id = got
            archive = None
            if session_pk is not None:
                archive = conn.execute(
                    "SELECT status FROM archives WHERE session_pk = %s AND archive_no = %s",
                    (session_pk, archive_no),
                ).fetchone()
            if archive is None:
                conn.execute(
                    "UPDATE tasks SET status = 'cancelled', error = 'session deleted before "
                    "extraction', claim = NULL, updated_at = %s WHERE task_id = %s",
                    (now, task_id),
                )
                return ExtractionOutcome(
                    status="cancelled", memories=0, created=0, updated=0, reason="session deleted"
                )
            applied = Applied()
            if archive[0] == "pending":
                applied = apply_diff(
                    conn,
                    extraction.SQL,
                    account=account,
                    user=user,
                    session_id=session_id,
                    session_pk=session_pk,
                    archive_no=archive_no,
                    upserts=facts,
                    deletes=deletes,
                    usage=usage or TokenCounts(),
                    now=now,
                    ensure_parents=lambda c, acct, path, t: self._ensure_parents(
                        c, acct, path, t, None, stop_at=3
                    ),
                )
                conn.execute(
                    "UPDATE archives SET status = 'done', memories_extracted = %s, done_at = %s "
                    "WHERE session_pk = %s AND archive_no = %s",
                    (applied.written, now, session_pk, archive_no),
                )
                conn.execute(
                    "UPDATE sessions SET memories_extracted = memories_extracted + %s "
                    "WHERE pk = %s",
                    (applied.written, session_pk),
                )
            conn.execute(
                "UPDATE tasks SET status = 'completed', result = %s, claim = NULL, "
                "updated_at = %s WHERE task_id = %s",
                (result, now, task_id),
            )
            return ExtractionOutcome(
                status="completed",
                memories=applied.written,
                created=applied.created,
                updated=applied.updated,
                deleted=applied.deleted,
                diff=applied.diff if archive[0] == "pending" else None,
            )

        return self._tx(run)

    def fail_task(
        self, task_id: str, claim: str, error: str, now: float, *, result: bytes | None = None
    ) -> None:
        text = error[:2000].replace("\x00", "\ufffd")

        def run(conn: Conn) -> None:
            got = conn.execute(
                "UPDATE tasks SET status = 'failed', error = %s, result = %s, claim = NULL, "
                "updated_at = %s WHERE task_id = %s AND claim = %s AND status = 'running' "
                "RETURNING session_pk, archive_no",
                (text, result, now, task_id, claim),
            ).fetchone()
            if got is not None and got[0] is not None:
                conn.execute(
                    "UPDATE archives SET status = 'failed', error = %s WHERE session_pk = %s "
                    "AND archive_no = %s AND status = 'pending'",
                    (text, got[0], got[1]),
                )

        self._tx(run)

    # ------------------------------------------------------------------ extraction records
    def extraction_summary(self, owner: Owner, session_id: str) -> ExtractionSummary:
        def run(conn: Conn) -> tuple[Any, ...] | None:
            return conn.execute(
                "SELECT s.pk, e.* FROM sessions s LEFT JOIN LATERAL (SELECT "
                "array_agg(by_category) AS cats, COALESCE(SUM(prompt_tokens), 0)::bigint, "
                "COALESCE(SUM(completion_tokens), 0)::bigint, "
                "COALESCE(SUM(total_tokens), 0)::bigint, COALESCE(SUM(cached_tokens), 0)::bigint, "
                "COALESCE(SUM(reasoning_tokens), 0)::bigint FROM archive_extractions x "
                "WHERE x.session_pk = s.pk) e ON TRUE "
                "WHERE s.account = %s AND s.user_name = %s AND s.session_id = %s",
                (owner.account, owner.user, session_id),
            ).fetchone()

        row = self._tx(run, write=False, single=True)
        if row is None:
            raise NotFoundError.of("session", session_id)
        return extraction.summary_of(row[1] or [], row[2:7])

    def archive_extractions(self, owner: Owner, session_id: str) -> list[ArchiveExtraction]:
        rows = self._under_live(
            owner,
            session_id,
            "e.archive_no, e.archive_no, e.extracted_at, e.memory_diff, e.by_category, "
            "e.prompt_tokens, e.completion_tokens, e.total_tokens, e.cached_tokens, "
            "e.reasoning_tokens",
            "LEFT JOIN archive_extractions e ON e.session_pk = s.pk",
            "e.archive_no",
        )
        return extraction.extractions_of([r[1:] for r in rows])

    def requeue_extraction(
        self,
        owner: Owner,
        session_id: str,
        archive_no: int | None,
        now: float,
        new_task_id: Callable[[], str],
    ) -> list[Requeued]:
        def run(conn: Conn) -> list[Requeued]:
            row = self._live(conn, owner, session_id, lock="FOR UPDATE")
            return requeue(
                conn,
                extraction.SQL,
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
    def get_file(self, account: str, path: str) -> FileRow | None:
        def run(conn: Conn) -> FileRow | None:
            row = conn.execute(
                f"SELECT {FILE_COLUMNS}, content FROM files WHERE account = %s AND path = %s",
                (account, path),
            ).fetchone()
            return file_row(row) if row else None

        return self._tx(run, write=False, single=True)

    def list_children(self, account: str, parent: str) -> list[FileRow]:
        def run(conn: Conn) -> list[FileRow]:
            cur = conn.execute(
                f"SELECT {FILE_COLUMNS}, NULL FROM files WHERE account = %s AND parent = %s "
                "ORDER BY path",
                (account, parent),
            )
            return [file_row(r) for r in cur]

        return self._tx(run, write=False, single=True)

    def list_descendants(self, account: str, prefix: str) -> list[FileRow]:
        lo, hi = _range(prefix)

        def run(conn: Conn) -> list[FileRow]:
            cur = conn.execute(
                f"SELECT {FILE_COLUMNS}, NULL FROM files WHERE account = %s AND path >= %s "
                "AND path < %s ORDER BY path",
                (account, lo, hi),
            )
            return [file_row(r) for r in cur]

        return self._tx(run, write=False, single=True)

    def session_files(self, owner: Owner, session_id: str) -> list[FileRow]:
        rows = self._under_live(
            owner,
            session_id,
            "f.path, f.path, f.is_dir, COALESCE(octet_length(f.content), 0), f.created_at, "
            "f.updated_at, NULL",
            "LEFT JOIN files f ON f.session_pk = s.pk",
            "f.path",
        )
        return [file_row(r[1:]) for r in rows]

    def _session_pk(self, conn: Conn, session: tuple[Owner, str] | None) -> int | None:
        if session is None:
            return None
        # KEY SHARE: appends go on, but a delete of the session waits for this write (and a
        # write that comes after the delete finds no session).
        return self._live(conn, session[0], session[1], lock="FOR KEY SHARE").pk

    @staticmethod
    def _ensure_parents(
        conn: Conn,
        account: str,
        path: str,
        now: float,
        session_pk: int | None,
        *,
        stop_at: int,
    ) -> None:
        segments = path.split("/")
        # Only directories deeper than stop_at segments: the one at stop_at (a fixed directory
        # or the session directory itself) is never a row of its own.
        for i in range(stop_at + 1, len(segments)):
            d = "/".join(segments[:i])
            got = conn.execute(
                "SELECT is_dir FROM files WHERE account = %s AND path = %s", (account, d)
            ).fetchone()
            if got is None:
                conn.execute(
                    "INSERT INTO files (account, path, parent, is_dir, session_pk, created_at, "
                    "updated_at) VALUES (%s, %s, %s, TRUE, %s, %s, %s)",
                    (account, d, _parent(d), session_pk, now, now),
                )
            elif not got[0]:
                raise InvalidArgumentError(
                    f"Cannot create {path}: parent {d} is a file", {"uri": "viking://" + d}
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
    ) -> FileRow:
        def run(conn: Conn) -> FileRow:
            session_pk = self._session_pk(conn, session)
            existing = conn.execute(
                "SELECT pk, is_dir FROM files WHERE account = %s AND path = %s FOR UPDATE",
                (account, path),
            ).fetchone()
            if existing is not None and existing[1]:
                raise InvalidArgumentError(
                    f"{'viking://' + path} is a directory",
                    {"uri": "viking://" + path, "expected": "file"},
                )
            if existing is None:
                if mode in ("replace", "append"):
                    raise NotFoundError.of("file", "viking://" + path)
                self._ensure_parents(conn, account, path, now, session_pk, stop_at=stop_at)
                row = conn.execute(
                    "INSERT INTO files (account, path, parent, is_dir, content, session_pk, "
                    "created_at, updated_at) VALUES (%s, %s, %s, FALSE, %s, %s, %s, %s) "
                    f"RETURNING {FILE_COLUMNS}, NULL",
                    (account, path, _parent(path), content, session_pk, now, now),
                ).fetchone()
            elif mode == "create":
                raise AlreadyExistsError.of("file", "viking://" + path)
            elif mode == "append":
                row = conn.execute(
                    "UPDATE files SET content = COALESCE(content, ''::bytea) || %s, "
                    f"updated_at = %s WHERE pk = %s RETURNING {FILE_COLUMNS}, NULL",
                    (content, now, existing[0]),
                ).fetchone()
            else:
                row = conn.execute(
                    "UPDATE files SET content = %s, updated_at = %s WHERE pk = %s "
                    f"RETURNING {FILE_COLUMNS}, NULL",
                    (content, now, existing[0]),
                ).fetchone()
            assert row is not None
            return file_row(row)

        return self._tx(run)

    def make_dir(
        self,
        account: str,
        path: str,
        now: float,
        *,
        session: tuple[Owner, str] | None,
        stop_at: int,
    ) -> FileRow:
        def run(conn: Conn) -> FileRow:
            session_pk = self._session_pk(conn, session)
            self._ensure_parents(conn, account, path + "/x", now, session_pk, stop_at=stop_at)
            row = conn.execute(
                f"SELECT {FILE_COLUMNS}, NULL FROM files WHERE account = %s AND path = %s",
                (account, path),
            ).fetchone()
            assert row is not None
            return file_row(row)

        return self._tx(run)

    def remove(self, account: str, path: str, *, recursive: bool) -> int:
        lo, hi = _range(path)

        def run(conn: Conn) -> int:
            got = conn.execute(
                "SELECT is_dir FROM files WHERE account = %s AND path = %s FOR UPDATE",
                (account, path),
            ).fetchone()
            if got is None:
                raise NotFoundError.of("file", "viking://" + path)
            if got[0]:
                below = conn.execute(
                    "SELECT COUNT(*) FROM files WHERE account = %s AND path >= %s AND path < %s",
                    (account, lo, hi),
                ).fetchone()
                if below and below[0] and not recursive:
                    raise InvalidArgumentError(
                        f"viking://{path} is a non-empty directory; pass recursive=true",
                        {"uri": "viking://" + path, "reason": "directory not empty"},
                    )
                conn.execute(
                    "DELETE FROM files WHERE account = %s AND path >= %s AND path < %s",
                    (account, lo, hi),
                )
            conn.execute("DELETE FROM files WHERE account = %s AND path = %s", (account, path))
            return 1

        return self._tx(run)

    def move(
        self,
        account: str,
        src: str,
        dst: str,
        now: float,
        *,
        session: tuple[Owner, str] | None,
        stop_at: int,
    ) -> None:
        lo, hi = _range(src)

        def run(conn: Conn) -> None:
            session_pk = self._session_pk(conn, session)
            if (
                conn.execute(
                    "SELECT 1 FROM files WHERE account = %s AND path = %s FOR UPDATE",
                    (account, src),
                ).fetchone()
                is None
            ):
                raise NotFoundError.of("file", "viking://" + src)
            if (
                conn.execute(
                    "SELECT 1 FROM files WHERE account = %s AND path = %s", (account, dst)
                ).fetchone()
                is not None
            ):
                raise AlreadyExistsError.of("file", "viking://" + dst)
            if dst.startswith(src + "/"):
                raise InvalidArgumentError(
                    "Cannot move a directory into itself", {"uri": "viking://" + dst}
                )
            self._ensure_parents(conn, account, dst, now, session_pk, stop_at=stop_at)
            # One statement renames the whole subtree; the unique key is checked at its end.
            conn.execute(
                "UPDATE files SET path = %s || substr(path, %s), "
                "parent = CASE WHEN path = %s THEN %s ELSE %s || substr(parent, %s) END, "
                "session_pk = %s, updated_at = %s "
                "WHERE account = %s AND (path = %s OR (path >= %s AND path < %s))",
                (
                    dst,
                    len(src) + 1,
                    src,
                    _parent(dst),
                    dst,
                    len(src) + 1,
                    session_pk,
                    now,
                    account,
                    src,
                    lo,
                    hi,
                ),
            )

        self._tx(run)

    def memory_count_for_session(self, owner: Owner, session_id: str) -> int:
        def run(conn: Conn) -> int:
            got = conn.execute(
                "SELECT COUNT(DISTINCT file_pk) FROM memory_sources WHERE account = %s "
                "AND user_name = %s AND session_id = %s",
                (owner.account, owner.user, session_id),
            ).fetchone()
            return int(got[0]) if got else 0

        return self._tx(run, write=False, single=True)

    # ------------------------------------------------------------------ integrity
    def check_integrity(self) -> list[str]:
        """The SQLite backend's checks (PostgreSQL enforces foreign keys itself, and checks
        its own pages: there is no ``PRAGMA integrity_check`` to run)."""

        def run(conn: Conn) -> list[str]:
            problems: list[str] = []
            version = schema_mod.current_version(conn)
            if version != schema_mod.SCHEMA_VERSION:
                problems.append(f"schema version {version}, expected {schema_mod.SCHEMA_VERSION}")
            mismatches = conn.execute(
                """
                SELECT s.session_id, s.message_count, s.total_message_count, s.pending_tokens,
                       s.total_tokens, s.total_turns, s.commit_count, s.memories_extracted,
                       (SELECT COUNT(*) FROM messages m
                          WHERE m.session_pk = s.pk AND m.archive_no = 0),
                       (SELECT COUNT(*) FROM messages m WHERE m.session_pk = s.pk),
                       (SELECT COALESCE(SUM(tokens), 0) FROM messages m
                          WHERE m.session_pk = s.pk AND m.archive_no = 0),
                       (SELECT COALESCE(SUM(tokens), 0) FROM messages m WHERE m.session_pk = s.pk),
                       (SELECT COUNT(*) FILTER (WHERE is_turn) FROM messages m
                          WHERE m.session_pk = s.pk),
                       (SELECT COUNT(*) FROM archives a WHERE a.session_pk = s.pk),
                       (SELECT COALESCE(MAX(archive_no), 0) FROM archives a
                          WHERE a.session_pk = s.pk),
                       (SELECT COALESCE(SUM(memories_extracted), 0) FROM archives a
                          WHERE a.session_pk = s.pk)
                FROM sessions s
                """
            ).fetchall()
            for r in mismatches:
                sid = r[0]
                stored = tuple(int(v) for v in r[1:8])
                counted = tuple(int(v) for v in (r[8], r[9], r[10], r[11], r[12], r[13], r[15]))
                if stored != counted or int(r[14]) != int(r[13]):
                    problems.append(f"session {sid}: counters {stored} != rows {counted}")
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
                "AND session_pk IS NULL"
            ):
                problems.append(f"runnable task {r[0]} for a deleted session")
            for r in conn.execute(
                "SELECT path FROM files WHERE session_pk IS NULL AND path LIKE %s",
                ("user/%/sessions/%/%",),
            ):
                problems.append(f"session file {r[0]} not tied to a session")
            for r in conn.execute(
                "SELECT session_pk, archive_no, COUNT(*) FROM tasks WHERE status = 'completed' "
                "AND session_pk IS NOT NULL GROUP BY session_pk, archive_no HAVING COUNT(*) > 1"
            ):
                problems.append(f"archive {r[0]}/{r[1]} extracted by {r[2]} completed tasks")
            return problems

        return self._tx(run, write=False)
