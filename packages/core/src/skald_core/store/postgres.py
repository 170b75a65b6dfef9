"""PostgreSQL backend: several Skald processes (server replicas) sharing one database.

The store's operations are ``SQLStore``'s; this module is the plumbing, on psycopg 3 with a
``psycopg_pool.ConnectionPool``, and two fast paths:

* Every public method is one transaction (``READ COMMITTED``; reads of several statements run
  ``REPEATABLE READ READ ONLY`` so they see one snapshot). The frequent calls are ONE statement
  (reads join the session to its rows; an append is an ``UPDATE`` of the session and an
  ``INSERT ... unnest`` of its messages in one ``WITH``; a commit likewise), which is a
  transaction of its own and costs one round trip.
* Processes are kept apart by the database's own locks (``SQLStore`` lists their order): a
  session's row lock, an advisory lock per owner for memory writes and per idempotency key; a
  task is claimed by exactly one replica (``SKIP LOCKED``) under a lease, so a late answer of
  a replica that died is refused as stale.
* Conflicts the database resolves by aborting one side (deadlock, serialisation failure, a
  unique key inserted concurrently) are retried with the whole transaction, a few times.
* The database unreachable, or a lock not granted within ``lock_timeout``: the call raises
  ``StorageUnavailableError`` (503 UNAVAILABLE) with ``details.retry_after``; the pool keeps
  trying to reconnect in the background and serves again as soon as the database is back.
* Migrations (``schema``) run when the store opens (and by ``skald db upgrade``) under an
  advisory lock, so replicas may start together.
"""

from __future__ import annotations

import contextlib
import logging
import math
import select
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, TypeVar

import psycopg
import psycopg.errors
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from ..errors import (
    InternalError,
    InvalidArgumentError,
    NotFoundError,
    SkaldError,
    StorageUnavailableError,
)
from ..retry import RetryPolicy
from . import schema
from .backends import is_database_url
from .dialect import POSTGRES, Conn, lock_key
from .model import CommitOutcome, NewMessage, Owner, SessionRow
from .rows import SESSION_COLUMNS, prefixed, session_row
from .sql_store import BUMP, WITHIN_QUOTA, SQLStore, kept

Raw: TypeAlias = psycopg.Connection[tuple[Any, ...]]

log = logging.getLogger("skald.store")

_SESSION_COLUMNS_OF_SESSIONS = prefixed(SESSION_COLUMNS, "sessions")
# The neutral statements in PostgreSQL's placeholders (by the dialect, as every statement).
_BUMP = POSTGRES.q(BUMP)
_WITHIN_QUOTA = POSTGRES.q(WITHIN_QUOTA)
_INSERT = (
    "INSERT INTO messages (session_pk, message_id, role, tokens, is_turn, tool_parts, "
    "context_parts, body) "
)
# The whole batch in one INSERT ... unnest of one row of arrays, in order (the identity key
# numbers the messages as they come).
_UNNEST = (
    "SELECT {pk}, x.message_id, x.role, x.tokens, x.is_turn, x.tool_parts, "
    "x.context_parts, x.body FROM {source}unnest(%s::text[], %s::text[], %s::int[], "
    "%s::bool[], %s::int[], %s::int[], %s::bytea[]) WITH ORDINALITY AS x(message_id, "
    "role, tokens, is_turn, tool_parts, context_parts, body, n) ORDER BY x.n"
)
# One message (the common append) as plain parameters instead: psycopg dumps arrays in Python,
# and the client's CPU per one-message append went from about 130 to 80 us with this.
_ONE = "SELECT {pk}, %s::text, %s::text, %s::int, %s::bool, %s::int, %s::int, %s::bytea{source}"
_BUMPED = (
    f"WITH s AS ({_BUMP}WHERE account = %s AND user_name = %s AND session_id = %s "
    f"AND deleted_at IS NULL {_WITHIN_QUOTA}RETURNING {SESSION_COLUMNS}), "
)
_BUMP_AND_INSERT = (
    f"{_BUMPED}ins AS ({_INSERT}{_UNNEST.format(pk='s.pk', source='s, ')}) SELECT * FROM s"
)
_BUMP_AND_INSERT_ONE = (
    f"{_BUMPED}ins AS ({_INSERT}{_ONE.format(pk='s.pk', source=' FROM s')}) SELECT * FROM s"
)
_INSERT_MANY = _INSERT + _UNNEST.format(pk="%s", source="")
_INSERT_ONE = _INSERT + _ONE.format(pk="%s", source="")

# A commit without an idempotency key in ONE statement, a transaction of its own: lock the live
# session, and if it has more than ``keep`` live messages, number the oldest into the next
# archive, record the archive and its extraction task and take them off the live counters. The
# first column says what happened: 'archived', 'kept' (nothing to archive), or 'retry': the
# locked row is not the version this statement's snapshot sees (an append committed between
# the snapshot and the lock, and the snapshot misses its messages), so nothing was changed and
# the caller commits again in a transaction of statements, each with a fresh snapshot.
_COMMIT = (
    f"WITH s AS (SELECT xmin AS seen, {SESSION_COLUMNS} FROM sessions "
    "WHERE account = %(account)s AND user_name = %(user)s AND session_id = %(sid)s "
    "AND deleted_at IS NULL FOR UPDATE), "
    "go AS (SELECT s.pk, s.commit_count + 1 AS no, s.message_count - %(keep)s AS n FROM s "
    "WHERE s.message_count > %(keep)s AND s.seen = (SELECT v.xmin FROM sessions v "
    "WHERE v.pk = s.pk)), "
    "picked AS (SELECT pk FROM messages WHERE session_pk = (SELECT pk FROM go) "
    "AND archive_no = 0 ORDER BY pk LIMIT COALESCE((SELECT n FROM go), 0)), "
    "moved AS (UPDATE messages m SET archive_no = (SELECT no FROM go) FROM picked "
    "WHERE m.pk = picked.pk RETURNING m.pk, m.message_id, m.tokens), "
    "agg AS (SELECT COUNT(*) AS n, COALESCE(SUM(tokens), 0)::bigint AS tokens, "
    "(SELECT message_id FROM moved ORDER BY pk LIMIT 1) AS first_id, "
    "(SELECT message_id FROM moved ORDER BY pk DESC LIMIT 1) AS last_id FROM moved), "
    "archive AS (INSERT INTO archives (session_pk, archive_no, created_at, status, "
    "message_count, tokens, first_message_id, last_message_id) SELECT go.pk, go.no, %(now)s, "
    "'pending', agg.n, agg.tokens, agg.first_id, agg.last_id FROM go, agg WHERE agg.n > 0), "
    "task AS (INSERT INTO tasks (task_id, account, user_name, task_type, session_id, "
    "session_pk, archive_no, status, created_at, updated_at) SELECT %(task)s, %(account)s, "
    "%(user)s, 'session_commit', %(sid)s, go.pk, go.no, 'pending', %(now)s, %(now)s "
    "FROM go, agg WHERE agg.n > 0), "
    "upd AS (UPDATE sessions SET message_count = message_count - agg.n, "
    "pending_tokens = pending_tokens - agg.tokens, commit_count = commit_count + 1, "
    "last_commit_at = %(now)s, updated_at = %(now)s FROM go, agg WHERE sessions.pk = go.pk "
    f"AND agg.n > 0 RETURNING {_SESSION_COLUMNS_OF_SESSIONS}) "
    "SELECT 'archived', upd.* FROM upd UNION ALL "
    "SELECT CASE WHEN s.message_count > %(keep)s THEN 'retry' ELSE 'kept' END, "
    f"{prefixed(SESSION_COLUMNS, 's')} FROM s WHERE NOT EXISTS (SELECT 1 FROM upd)"
)


def _commit_args(
    owner: Owner, session_id: str, keep: int, now: float, task_id: str
) -> dict[str, Any]:
    """``_COMMIT``'s parameters."""
    return {
        "account": owner.account,
        "user": owner.user,
        "sid": session_id,
        "keep": keep,
        "now": now,
        "task": task_id,
    }


def _arrays(messages: Sequence[NewMessage]) -> tuple[list[Any], ...]:
    return (
        [m.message_id for m in messages],
        [m.role for m in messages],
        [m.tokens for m in messages],
        [m.is_turn for m in messages],
        [m.tool_parts for m in messages],
        [m.context_parts for m in messages],
        [m.body for m in messages],
    )


def _values(messages: Sequence[NewMessage]) -> tuple[Any, ...]:
    """The parameters of the messages' rows: seven arrays, or one message's seven values."""
    if len(messages) == 1:
        m = messages[0]
        return (m.message_id, m.role, m.tokens, m.is_turn, m.tool_parts, m.context_parts, m.body)
    return _arrays(messages)


T = TypeVar("T")

#: Seconds a client is told to wait before retrying when the database cannot serve.
RETRY_AFTER_SECONDS = 1
#: Attempts of a transaction that the database aborted for a conflict (deadlock, ...), and
#: the pause before each new one: 1-5 ms, doubling.
CONFLICT_RETRY = RetryPolicy(attempts=6, base_delay=0.001, max_delay=math.inf, jitter=(1.0, 5.0))
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


def _alive(conn: Raw) -> bool:
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


class _RecentFirstPool(ConnectionPool[Raw]):
    """A pool that hands out the connection given back last.

    ``psycopg_pool`` hands out the one given back first, so calls go round every connection
    the pool ever grew to (10 after a burst): each is rarely warm, and psycopg prepares a
    statement on a connection only at its fifth use there. A commit of 100 messages then ran
    unprepared on a cold backend most times: 3.1 ms at the HTTP call, against 2.6 ms with
    this order (same run). Recent first keeps the few connections the load needs busy and
    warm; the ones left idle stay at the other end, where the pool's shrinking takes them
    after ``max_idle``.

    (``psycopg_pool`` 3.3 takes a ready connection from the left of its deque, under its lock,
    and appends the returned ones on the right: the rotation puts the newest on the left.
    ``tests/postgres/test_postgres_store.py`` checks the order, for a future version.)"""

    def _get_ready_connection(self, timeout: float | None) -> Raw | None:
        idle = self._pool
        if len(idle) > 1:
            idle.rotate(1)
        return super()._get_ready_connection(timeout)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: Connection failures that waiting will not fix (the server answered, and said no): a wrong
#: database name, user or password, or an address pg_hba.conf does not let in.
_PERMANENT = (
    ("does not exist", "the database or role does not exist"),
    ("password authentication failed", "authentication failed"),
    ("authentication failed", "authentication failed"),
    ("no pg_hba.conf entry", "pg_hba.conf does not let this host in"),
    ("password is required", "authentication failed (no password given)"),
)


def permanent_error(text: str) -> str | None:
    """What is wrong when a connection error is one that retrying will not fix, else None
    (refused, timed out, reset: the database may come back by itself)."""
    lowered = text.lower()
    for needle, what in _PERMANENT:
        if needle in lowered:
            return what
    return None


def describe_url(url: str) -> str:
    """``host:port/dbname`` of a connection URL — never its password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "<invalid database URL>"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    port = info.get("port") or "5432"
    return f"{host}:{port}/{info.get('dbname') or info.get('user') or ''}"


class PostgresStore(SQLStore):
    """A store on a PostgreSQL database, safe for any number of processes sharing it.

    ``url`` is a libpq connection URL (``postgresql://user:pass@host:5432/db``); ``schema``
    the schema holding Skald's tables (created if missing; default: the first of the
    connection's ``search_path``, normally ``public``). ``min_size``/``max_size`` bound the
    connection pool; a call waits at most ``timeout`` seconds for a connection (less while the
    database is known to be down) and a row lock at most ``lock_timeout`` seconds.
    ``synchronous_commit=False`` acknowledges a commit before the database server has
    flushed it to disk (the ``durability`` setting's ``crash``).

    ``lazy=True`` (the server's choice) lets the store open while the database is unreachable:
    the migrations then run on the first call that finds it back.
    """

    d = POSTGRES

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
        synchronous_commit: bool = True,
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
        self._synchronous_commit = "on" if synchronous_commit else "off"
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

        self._pool: ConnectionPool[Raw] = _RecentFirstPool(
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
                if exc.details.get("permanent"):
                    log.error(
                        "database %s refuses Skald: %s; waiting will not fix this, check "
                        "database_url (requests answer 503 until it is fixed): %s",
                        self.where,
                        exc.details["permanent"],
                        exc.details.get("error"),
                    )
                else:
                    log.warning("database %s unreachable; will migrate when it is back", self.where)
            else:
                self.close()
                raise
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing
    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        path = quote_ident(self.schema) if self.schema else None
        settings = (f"{self._lock_timeout_ms}ms", self._synchronous_commit)
        conn.execute(
            "SELECT set_config('lock_timeout', %s, false), "
            "set_config('synchronous_commit', %s, false), "
            "set_config('idle_in_transaction_session_timeout', '60s', false)"
            + (", set_config('search_path', %s, false)" if path else ""),
            (*settings, path) if path else settings,
        )

    def _down(self) -> bool:
        """The most recent connection attempt failed (and none succeeded since)."""
        return self._last_error_at > self._last_ok

    def _unreachable(self, exc: BaseException | None = None) -> StorageUnavailableError:
        reason = self._last_error or (str(exc) if exc else "no connection available")
        details: dict[str, Any] = {
            "reason": "unreachable",
            "backend": "postgresql",
            "database": self.where,
            "error": reason,
            "retry_after": RETRY_AFTER_SECONDS,
        }
        permanent = permanent_error(reason)
        if permanent is not None:
            details["permanent"] = permanent
            return StorageUnavailableError(
                f"Database {self.where} refuses connections: {reason} ({permanent}: a "
                "configuration error, not a passing outage)",
                details,
            )
        return StorageUnavailableError(
            f"Database {self.where} is unreachable: {reason}; try again", details
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

    def _acquire(self) -> Raw:
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
                    applied = self._migrate_on(conn, time.time())
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

    def _migrate_on(self, conn: Raw, now: float) -> list[int]:
        """``schema.apply`` in one transaction under an advisory lock: replicas starting at the
        same moment queue on the lock, and the second finds the work done. ``conn`` is in
        autocommit mode, its ``search_path`` pointing at ``self.schema``."""
        with conn.transaction():
            conn.execute(
                POSTGRES.q(POSTGRES.advisory_lock or ""),
                (lock_key("skald:migrate", self.schema or ""),),
            )
            if self.schema is not None:
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(self.schema)}")
            got = conn.execute("SELECT current_schema()").fetchone()
            if got is None or got[0] is None:
                raise StorageUnavailableError(
                    "No schema to create Skald's tables in (the search_path names none that "
                    "exists)",
                    {"reason": "no_schema"},
                )
            return schema.apply(Conn(conn, POSTGRES), now, name="The database schema")

    def schema_version(self) -> int:
        return self._tx(schema.current_version, write=False)

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
    def _run(conn: Raw, fn: Callable[[Conn], T], begin: bytes | None) -> T:
        wrapped = Conn(conn, POSTGRES)
        if begin is None:  # one read statement: safe to run again on another connection
            try:
                return fn(wrapped)
            except psycopg.OperationalError as exc:
                if conn.info.transaction_status == pq.TransactionStatus.UNKNOWN:
                    raise _Stale() from exc
                raise
        if begin == _SINGLE_WRITE:  # one write statement, its own transaction: never re-run
            return fn(wrapped)
        try:
            conn.execute(begin)
        except psycopg.OperationalError as exc:
            if conn.info.transaction_status == pq.TransactionStatus.UNKNOWN:
                raise _Stale() from exc  # nothing was sent that could have taken effect
            raise
        try:
            result = fn(wrapped)
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
                if conflicts >= CONFLICT_RETRY.attempts:
                    raise StorageUnavailableError(
                        f"Database {self.where} is busy with conflicting writes; try again",
                        {
                            "reason": "conflict",
                            "backend": "postgresql",
                            "error": str(exc).splitlines()[0] if str(exc) else "",
                            "retry_after": RETRY_AFTER_SECONDS,
                        },
                    ) from exc
                time.sleep(CONFLICT_RETRY.delay(conflicts))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._pool.close(timeout=5.0)
        except Exception as exc:  # pragma: no cover - closing anyway
            log.debug("closing the pool: %s", exc)

    # ------------------------------------------------------------------ store methods
    def describe(self) -> str:
        """Where the data lives, for logs (never a password)."""
        return f"postgresql {self.where}" + (f" schema {self.schema}" if self.schema else "")

    def ping(self) -> None:
        """Raise ``StorageUnavailableError`` unless the database answers a query."""
        self._tx(lambda c: c.execute("SELECT 1").fetchall(), write=False, single=True)

    def _integrity_extras(self, conn: Conn) -> list[str]:
        """PostgreSQL enforces foreign keys and checks its own pages; what is left to check
        here is the schema version."""
        version = schema.current_version(conn)
        if version != schema.SCHEMA_VERSION:
            return [f"schema version {version}, expected {schema.SCHEMA_VERSION}"]
        return []

    # ------------------------------------------------------------------ fast paths
    # Each saves round trips to the database server, which SQLite (in process) does not pay:
    # bench/embedded.py's add and commit rows on PostgreSQL show what they buy.

    def _bump_and_insert(
        self,
        conn: Conn,
        owner: Owner,
        session_id: str,
        messages: Sequence[NewMessage],
        counters: tuple[Any, ...],
        room: tuple[int, int],
    ) -> Any:
        """``SQLStore._bump_and_insert`` in ONE statement, a round trip instead of two (and
        the common append, which runs it alone, is then a transaction of its own)."""
        args = (*counters, owner.account, owner.user, session_id, *room, *_values(messages))
        sql = _BUMP_AND_INSERT_ONE if len(messages) == 1 else _BUMP_AND_INSERT
        return conn.raw.execute(sql, args).fetchone()

    def _create_and_insert(
        self,
        conn: Conn,
        owner: Owner,
        session_id: str,
        messages: Sequence[NewMessage],
        counters: tuple[Any, ...],
    ) -> Any:
        """``SQLStore._create_and_insert`` in two statements instead of three, the counters
        set by the INSERT and the messages inserted in one."""
        n, _, tokens, _, turns, now, _, size = counters
        updated = conn.raw.execute(
            "INSERT INTO sessions (account, user_name, session_id, created_at, updated_at, "
            "message_count, total_message_count, pending_tokens, total_tokens, total_turns, "
            "last_message_at, message_bytes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            f"%s, %s) RETURNING {SESSION_COLUMNS}",
            (
                owner.account,
                owner.user,
                session_id,
                now,
                now,
                n,
                n,
                tokens,
                tokens,
                turns,
                now,
                size,
            ),
        ).fetchone()
        if messages:
            sql = _INSERT_ONE if len(messages) == 1 else _INSERT_MANY
            conn.raw.execute(sql, (updated[0], *_values(messages)))
        return updated

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
        """``SQLStore.commit`` in ONE statement, its own transaction (``_COMMIT``): a round
        trip instead of four (BEGIN, the row lock, the archive, COMMIT). With an idempotency
        key, or when an append slipped in between the statement's snapshot and its lock,
        ``SQLStore.commit``'s transaction does it."""
        if idempotency_key is None:
            args = _commit_args(owner, session_id, keep_recent_count, now, task_id)
            got = self._tx(
                lambda c: c.raw.execute(_COMMIT, args, prepare=True).fetchone(), single=True
            )
            if got is None:
                raise NotFoundError.of("session", session_id)
            row = session_row(got[1:])
            if got[0] == "archived":
                return CommitOutcome(
                    session=row, archive_no=row.commit_count, task_id=task_id, reason=None
                )
            if got[0] == "kept":
                return kept(row)
        return super().commit(
            owner, session_id, keep_recent_count, now, task_id, idempotency_key=idempotency_key
        )

    def _archive(
        self, conn: Conn, owner: Owner, row: SessionRow, n: int, now: float, task_id: str
    ) -> SessionRow:
        """``SQLStore._archive`` in ONE statement (one round trip instead of five): ``_COMMIT``
        keeping all but the ``n`` oldest live messages. The caller's transaction holds the
        row lock, so the statement sees the version it locks, and archives."""
        args = _commit_args(owner, row.session_id, row.message_count - n, now, task_id)
        got = conn.raw.execute(_COMMIT, args, prepare=True).fetchone()
        if got is None or got[0] != "archived":
            raise InternalError(
                f"Archiving session {row.session_id} under its row lock did not archive",
                {"outcome": None if got is None else got[0]},
            )
        return session_row(got[1:])

    # ------------------------------------------------------------------ erasure
    #: Tables whose dead rows may hold erased content.
    _CONTENT_TABLES = (
        "messages",
        "files",
        "archives",
        "archive_extractions",
        "memory_sources",
        "memory_vectors",
        "idempotency_keys",
        "tasks",
        "sessions",
        "api_keys",
    )

    def _after_erasure(self) -> None:
        """Best effort: ``VACUUM`` the content tables so the erased rows' space is reclaimed
        (and their tuples pruned) now rather than at the next autovacuum. PostgreSQL keeps no
        promise that the bytes are overwritten on disk (free space in pages, TOAST, WAL
        segments until recycled): that needs ``VACUUM FULL`` and WAL retention the operator
        controls — see the README. Never fails the erasure, which has committed."""
        try:
            conn = self._acquire()
            try:
                conn.execute("VACUUM " + ", ".join(self._CONTENT_TABLES))
                conn.execute("DELETE FROM maintenance WHERE task = 'compact'")
            finally:
                self._pool.putconn(conn)
        except Exception as exc:
            log.warning("VACUUM after erasure failed (the erasure itself committed): %s", exc)
