"""SQLite backend: stdlib sqlite3, WAL, foreign keys on, one database file under ``path``.

Writers are serialised by one in-process lock plus ``BEGIN IMMEDIATE`` (which also serialises
other processes on the same file); readers use one connection per thread and see a
consistent snapshot thanks to WAL. Every public method is exactly one transaction.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

from ..errors import (
    AlreadyExistsError,
    ConflictError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    SkaldError,
    StorageUnavailableError,
)
from ..identity import Identity
from . import sqlite_deletion as deletion
from . import sqlite_extraction as extraction
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

DB_FILENAME = "skald.db"
SCHEMA_VERSION = 3  # 3: archive_extractions (memory_diff.json, token usage)
#: How long a client may retry a keyed write and get the first answer back.
IDEMPOTENCY_TTL_SECONDS = 24 * 3600

log = logging.getLogger("skald.store")

# WAL checkpoints (see _Checkpointer): how long a background checkpoint lets writes accumulate,
# how long an idle checkpointer thread lingers, and the auto-checkpoint threshold (pages) that
# writers keep as a safety net. SQLite's own default is 1,000 pages, checkpointed by the writer.
CHECKPOINT_DELAY = 0.1
CHECKPOINT_IDLE_EXIT = 5.0
FALLBACK_AUTOCHECKPOINT = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    pk INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    user TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    message_count INTEGER NOT NULL DEFAULT 0,
    total_message_count INTEGER NOT NULL DEFAULT 0,
    pending_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    total_turns INTEGER NOT NULL DEFAULT 0,
    commit_count INTEGER NOT NULL DEFAULT 0,
    memories_extracted INTEGER NOT NULL DEFAULT 0,
    last_commit_at REAL,
    last_message_at REAL,
    deleted_at REAL,
    deleted_by TEXT,
    UNIQUE (account, user, session_id)
);
CREATE INDEX IF NOT EXISTS sessions_newest
    ON sessions (account, user, created_at DESC, session_id DESC);

CREATE TABLE IF NOT EXISTS messages (
    pk INTEGER PRIMARY KEY,
    session_pk INTEGER NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
    archive_no INTEGER NOT NULL DEFAULT 0,
    message_id TEXT NOT NULL,
    role TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    is_turn INTEGER NOT NULL,
    tool_parts INTEGER NOT NULL,
    context_parts INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_in_session ON messages (session_pk, archive_no, pk);
CREATE INDEX IF NOT EXISTS messages_with_parts ON messages (session_pk)
    WHERE tool_parts > 0 OR context_parts > 0;

CREATE TABLE IF NOT EXISTS archives (
    session_pk INTEGER NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
    archive_no INTEGER NOT NULL,
    created_at REAL NOT NULL,
    status TEXT NOT NULL,
    message_count INTEGER NOT NULL,
    tokens INTEGER NOT NULL,
    first_message_id TEXT,
    last_message_id TEXT,
    abstract TEXT NOT NULL DEFAULT '',
    overview TEXT NOT NULL DEFAULT '',
    memories_extracted INTEGER NOT NULL DEFAULT 0,
    done_at REAL,
    error TEXT,
    PRIMARY KEY (session_pk, archive_no)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    account TEXT NOT NULL,
    user TEXT NOT NULL,
    task_type TEXT NOT NULL,
    session_id TEXT NOT NULL,
    session_pk INTEGER REFERENCES sessions (pk) ON DELETE SET NULL,
    archive_no INTEGER,
    status TEXT NOT NULL,
    claim TEXT,
    lease_until REAL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result BLOB,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_runnable ON tasks (status, created_at);
CREATE INDEX IF NOT EXISTS tasks_of_session ON tasks (session_pk);

CREATE TABLE IF NOT EXISTS files (
    pk INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    path TEXT NOT NULL,
    parent TEXT NOT NULL,
    is_dir INTEGER NOT NULL,
    content BLOB,
    session_pk INTEGER REFERENCES sessions (pk) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (account, path)
);
CREATE INDEX IF NOT EXISTS files_by_parent ON files (account, parent);
CREATE INDEX IF NOT EXISTS files_by_session ON files (session_pk);

CREATE TABLE IF NOT EXISTS memory_sources (
    file_pk INTEGER NOT NULL REFERENCES files (pk) ON DELETE CASCADE,
    account TEXT NOT NULL,
    user TEXT NOT NULL,
    session_id TEXT NOT NULL,
    archive_no INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (file_pk, session_id, archive_no)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memory_sources_by_session
    ON memory_sources (account, user, session_id);

CREATE TABLE IF NOT EXISTS archive_extractions (
    session_pk INTEGER NOT NULL,
    archive_no INTEGER NOT NULL,
    extracted_at REAL NOT NULL,
    memory_diff BLOB NOT NULL,
    by_category TEXT NOT NULL DEFAULT '{}',
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    total_tokens INTEGER NOT NULL DEFAULT 0,
    cached_tokens INTEGER NOT NULL DEFAULT 0,
    reasoning_tokens INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_pk, archive_no),
    FOREIGN KEY (session_pk, archive_no) REFERENCES archives (session_pk, archive_no)
        ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS idempotency_keys (
    account TEXT NOT NULL,
    user TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request TEXT NOT NULL,
    result BLOB NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (account, user, idem_key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idempotency_keys_age ON idempotency_keys (created_at);

CREATE TABLE IF NOT EXISTS maintenance (
    task TEXT PRIMARY KEY,
    since REAL NOT NULL
);

CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    actor_account TEXT NOT NULL,
    actor_user TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    action TEXT NOT NULL,
    account TEXT NOT NULL,
    user TEXT NOT NULL,
    session_id TEXT,
    counts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_by_account ON audit_log (account, id);

CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    account TEXT NOT NULL,
    user TEXT NOT NULL,
    role TEXT NOT NULL,
    read_only INTEGER NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
"""

#: (schema version, statements) for changes to existing tables, e.g. ALTER TABLE ADD COLUMN.
#: They run on fresh databases too (after SCHEMA), so a column added here must NOT also be
#: written into SCHEMA's CREATE TABLE.
COLUMN_MIGRATIONS: list[tuple[int, list[str]]] = []

SESSION_COLUMNS = (
    "pk, account, user, session_id, created_at, updated_at, message_count, total_message_count, "
    "pending_tokens, total_tokens, total_turns, commit_count, memories_extracted, last_commit_at, "
    "last_message_at, deleted_at, deleted_by"
)
TASK_COLUMNS = (
    "task_id, account, user, task_type, session_id, archive_no, status, result, error, "
    "created_at, updated_at, attempts"
)
ARCHIVE_COLUMNS = (
    "archive_no, created_at, status, message_count, tokens, first_message_id, last_message_id, "
    "abstract, overview, memories_extracted, done_at, error"
)

T = TypeVar("T")


def _session(row: sqlite3.Row | tuple[Any, ...]) -> SessionRow:
    return SessionRow(*row)  # SESSION_COLUMNS is in field order


def _task(row: tuple[Any, ...]) -> TaskRow:
    return TaskRow(
        task_id=row[0],
        account=row[1],
        user=row[2],
        task_type=row[3],
        session_id=row[4],
        archive_no=row[5],
        status=row[6],
        result=row[7],
        error=row[8],
        created_at=row[9],
        updated_at=row[10],
        attempts=row[11],
    )


def _archive(row: tuple[Any, ...]) -> ArchiveRow:
    return ArchiveRow(
        archive_no=row[0],
        created_at=row[1],
        status=row[2],
        message_count=row[3],
        tokens=row[4],
        first_message_id=row[5],
        last_message_id=row[6],
        abstract=row[7],
        overview=row[8],
        memories_extracted=row[9],
        done_at=row[10],
        error=row[11],
    )


def _file(row: tuple[Any, ...]) -> FileRow:
    content = row[5]
    return FileRow(
        path=row[0],
        is_dir=bool(row[1]),
        size=row[2],
        created_at=row[3],
        updated_at=row[4],
        content=bytes(content) if content is not None else None,
    )


FILE_COLUMNS = "path, is_dir, COALESCE(length(content), 0), created_at, updated_at"


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _range(prefix: str) -> tuple[str, str]:
    """Bounds of every path strictly below ``prefix`` ('0' sorts right after '/')."""
    return prefix + "/", prefix + "0"


class _Checkpointer:
    """Runs WAL checkpoints in a background thread, so that no caller pays for one.

    SQLite's automatic checkpoint runs inside the COMMIT that takes the WAL past 1,000 pages:
    whichever call crosses the line waits while pages are copied back into the database and
    both files are synced. A delete of a 10,000-message session writes about 1,000 pages by
    itself, so it paid a checkpoint every other time (+15-20 ms); appends paid one every few
    hundred calls. Here a writer only sets an event after its commit; a daemon thread wakes,
    lets writes accumulate for ``delay`` seconds and runs ``wal_checkpoint(PASSIVE)`` on its own
    connection (PASSIVE never blocks or waits for readers or writers). It exits after ``idle``
    quiet seconds and is restarted by the next write. Crash safety is SQLite's: a checkpoint
    may be interrupted at any point.

    The WAL file only starts over from its beginning when a writer finds every frame already
    copied back. Under a steady stream of writes a concurrent checkpoint always trails the
    writers by what they appended meanwhile (and a transaction already open when it finished
    keeps the WAL in use), so the WAL would grow until the writers' fallback checkpoint fired.
    Hence a second pass while holding the store's write lock, so no transaction of this
    process is open: it copies only the frames appended meanwhile (often none, and then it
    syncs nothing), and the next writer rewinds the WAL. Writers of this process wait for that
    pass (0-7 ms measured, at most once per ``delay``).
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        write_lock: threading.RLock,
        *,
        delay: float,
        idle: float,
    ) -> None:
        self._connect = connect
        self._write_lock = write_lock
        self._delay = delay
        self._idle = idle
        self._wake = threading.Event()  # set: writes not yet checkpointed; a thread is on it
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def poke(self) -> None:
        """Called after each write commit. Cheap when a checkpoint is already due."""
        if self._wake.is_set():
            return
        with self._lock:
            if self._closed:
                return
            self._wake.set()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="skald-wal-checkpoint", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait(self._idle)
                with self._lock:
                    if self._closed or not self._wake.is_set():
                        self._thread = None
                        return
                if self._closing.wait(self._delay):
                    return
                self._wake.clear()
                try:
                    if conn is None:
                        conn = self._connect()
                    busy = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0]
                    if not busy:  # frames of transactions that were open meanwhile
                        with self._write_lock:
                            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # writers' fallback auto-checkpoint still applies
                    log.debug("background WAL checkpoint failed: %s", exc)
        finally:
            if conn is not None:
                with suppress(sqlite3.Error):
                    conn.close()

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
            self._thread = None
        self._closing.set()
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


class SQLiteStore:
    """The embedded default store. Thread-safe; safe for several processes on one file.

    ``background_checkpoint`` (default on) moves WAL checkpoints off the callers' path into a
    helper thread (see ``_Checkpointer``); off, SQLite checkpoints inside commits as usual.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: str = "NORMAL",
        busy_timeout_ms: int = 10_000,
        background_checkpoint: bool = True,
    ) -> None:
        root = Path(path)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailableError(
                f"Cannot create data directory {root}: {exc.strerror}", {"path": str(root)}
            ) from exc
        self.file = root / DB_FILENAME
        self._synchronous = synchronous.upper()
        if self._synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise InvalidArgumentError(f"Unknown SQLite synchronous mode {synchronous!r}")
        self._busy_ms = busy_timeout_ms
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._closed = False
        self._checkpointer = (
            _Checkpointer(
                self._checkpoint_connection,
                self._write_lock,
                delay=CHECKPOINT_DELAY,
                idle=CHECKPOINT_IDLE_EXIT,
            )
            if background_checkpoint
            else None
        )
        self._guard(self._migrate)
        self.compact_if_owed(attempts=3)  # an erasure interrupted before it compacted

    # ------------------------------------------------------------------ plumbing
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.file,
            isolation_level=None,
            check_same_thread=False,
            timeout=self._busy_ms / 1000,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_ms)}")
        conn.execute("PRAGMA foreign_keys = ON")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageUnavailableError(f"Cannot enable WAL on {self.file} (got {mode})")
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        # Deleted content is overwritten with zeros in the database file, whatever the build's
        # default: a hard delete leaves no readable text behind in free pages.
        conn.execute("PRAGMA secure_delete = ON")
        if self._checkpointer is not None:
            conn.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_AUTOCHECKPOINT}")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _checkpoint_connection(self) -> sqlite3.Connection:
        """The checkpointer's own connection; it syncs as the store's ``synchronous`` says."""
        # mode=rw: never create a database file that has gone away meanwhile.
        uri = self.file.resolve().as_uri() + "?mode=rw"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageUnavailableError("The store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _unavailable(self, exc: sqlite3.DatabaseError) -> StorageUnavailableError:
        if isinstance(exc, sqlite3.OperationalError):
            text = str(exc)
            if "locked" in text or "busy" in text:
                return StorageUnavailableError(
                    f"Database {self.file} is locked by another process; try again",
                    {"reason": "locked", "path": str(self.file)},
                )
            return StorageUnavailableError(
                f"Database {self.file} cannot be used: {text}",
                {"reason": text, "path": str(self.file)},
            )
        return StorageUnavailableError(
            f"Database {self.file} is corrupt or not a Skald database: {exc}",
            {"reason": "corrupt", "path": str(self.file)},
        )

    def _guard(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except SkaldError:
            raise
        except sqlite3.DatabaseError as exc:
            raise self._unavailable(exc) from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    def _tx(self, fn: Callable[[sqlite3.Connection], T], *, write: bool = True) -> T:
        # The same steps as ``_guard`` around ``_write``/``_read``, spelled out: this is the
        # path of every call, and generator context managers cost several µs per call.
        try:
            conn = self._conn()
            if write:
                with self._write_lock:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        result = fn(conn)
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                if self._checkpointer is not None:
                    self._checkpointer.poke()
                return result
            conn.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                conn.execute("COMMIT")
        except SkaldError:
            raise
        except sqlite3.DatabaseError as exc:
            raise self._unavailable(exc) from exc

    def _migrate(self) -> None:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StorageUnavailableError(
                        f"Database {self.file} has schema version {version}, newer than this "
                        f"Skald ({SCHEMA_VERSION}); upgrade Skald",
                        {"reason": "schema_too_new"},
                    )
                # Every table and index is "IF NOT EXISTS": creating them is idempotent, so new
                # tables reach old databases without a version step. Column changes to existing
                # tables go in COLUMN_MIGRATIONS, applied once each in version order.
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                for step_version, statements in COLUMN_MIGRATIONS:
                    if version < step_version:
                        for statement in statements:
                            conn.execute(statement)
                if version < SCHEMA_VERSION:
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        with self._all_lock:
            self._closed = True
            for conn in self._all:
                with suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _find(conn: sqlite3.Connection, owner: Owner, session_id: str) -> SessionRow | None:
        row = conn.execute(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE account = ? AND user = ? AND session_id = ?",
            (owner.account, owner.user, session_id),
        ).fetchone()
        return _session(row) if row else None

    @staticmethod
    def _replayed(
        conn: sqlite3.Connection, owner: Owner, key: str | None, request: str, now: float
    ) -> bytes | None:
        """The stored answer of an earlier call with this idempotency key, if any."""
        if key is None:
            return None
        got = conn.execute(
            "SELECT request, result FROM idempotency_keys WHERE account = ? AND user = ? "
            "AND idem_key = ? AND created_at >= ?",
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
        conn: sqlite3.Connection,
        owner: Owner,
        key: str | None,
        request: str,
        result: bytes,
        now: float,
    ) -> None:
        if key is None:
            return
        conn.execute(
            "INSERT OR REPLACE INTO idempotency_keys (account, user, idem_key, request, result, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (owner.account, owner.user, key, request, result, now),
        )
        if secrets.randbelow(256) == 0:
            conn.execute(
                "DELETE FROM idempotency_keys WHERE created_at < ?",
                (now - IDEMPOTENCY_TTL_SECONDS,),
            )

    def _live(self, conn: sqlite3.Connection, owner: Owner, session_id: str) -> SessionRow:
        row = self._find(conn, owner, session_id)
        if row is None or row.deleted_at is not None:
            raise NotFoundError.of("session", session_id)
        return row

    # ------------------------------------------------------------------ sessions
    def create_session(self, owner: Owner, session_id: str, now: float) -> SessionRow:
        def run(conn: sqlite3.Connection) -> SessionRow:
            deletion.refuse_trashed_id(conn, owner, session_id)
            conn.execute(
                "INSERT INTO sessions (account, user, session_id, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (owner.account, owner.user, session_id, now, now),
            )
            row = self._find(conn, owner, session_id)
            assert row is not None
            return row

        return self._tx(run)

    def get_session(self, owner: Owner, session_id: str) -> SessionRow | None:
        return self._tx(lambda c: self._find(c, owner, session_id), write=False)

    def list_sessions(
        self,
        owner: Owner,
        *,
        limit: int | None,
        after: tuple[float, str] | None,
        include_deleted: bool = False,
        newest_first: bool = True,
    ) -> list[SessionRow]:
        sql = f"SELECT {SESSION_COLUMNS} FROM sessions WHERE account = ? AND user = ?"
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        args: list[Any] = [owner.account, owner.user]
        beyond, direction = ("<", "DESC") if newest_first else (">", "ASC")
        if after is not None:
            sql += f" AND (created_at {beyond} ? OR (created_at = ? AND session_id {beyond} ?))"
            args += [after[0], after[0], after[1]]
        sql += f" ORDER BY created_at {direction}, session_id {direction}"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return self._tx(lambda c: [_session(r) for r in c.execute(sql, args)], write=False)

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
            "UPDATE sessions SET message_count = message_count + ?, "
            "total_message_count = total_message_count + ?, pending_tokens = pending_tokens + ?, "
            "total_tokens = total_tokens + ?, total_turns = total_turns + ?, updated_at = ?, "
            "last_message_at = ? "
        )
        counters = (n, n, tokens, tokens, turns, now, now)

        def run(conn: sqlite3.Connection) -> SessionRow:
            earlier = self._replayed(conn, owner, idempotency_key, request, now)
            if earlier is not None:
                return msgspec.msgpack.decode(earlier, type=SessionRow)
            # The common case in one statement: find the live session and bump its counters.
            updated = conn.execute(
                bump + "WHERE account = ? AND user = ? AND session_id = ? AND deleted_at IS NULL "
                f"RETURNING {SESSION_COLUMNS}",
                (*counters, owner.account, owner.user, session_id),
            ).fetchone()
            if updated is None:
                row = self._find(conn, owner, session_id)
                if row is not None:  # it exists, so it is in the trash
                    raise FailedPreconditionError(
                        f"Session {session_id} is in the trash; restore or purge it first",
                        {"type": "session", "resource": session_id, "reason": "soft_deleted"},
                    )
                if not auto_create:
                    raise NotFoundError.of("session", session_id)
                pk = conn.execute(
                    "INSERT INTO sessions (account, user, session_id, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (owner.account, owner.user, session_id, now, now),
                ).lastrowid
                updated = conn.execute(
                    bump + f"WHERE pk = ? RETURNING {SESSION_COLUMNS}", (*counters, pk)
                ).fetchone()
            pk = updated[0]
            rows = [
                (
                    pk,
                    m.message_id,
                    m.role,
                    m.tokens,
                    int(m.is_turn),
                    m.tool_parts,
                    m.context_parts,
                    m.body,
                )
                for m in messages
            ]
            sql = (
                "INSERT INTO messages (session_pk, message_id, role, tokens, is_turn, tool_parts, "
                "context_parts, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            )
            if len(rows) == 1:
                conn.execute(sql, rows[0])
            elif rows:
                conn.executemany(sql, rows)
            result = _session(updated)
            if idempotency_key is not None:
                self._remember(
                    conn, owner, idempotency_key, request, msgspec.msgpack.encode(result), now
                )
            return result

        return self._tx(run)

    def messages(
        self, owner: Owner, session_id: str, *, archive_no: int | None = 0
    ) -> list[StoredMessage]:
        def run(conn: sqlite3.Connection) -> list[StoredMessage]:
            row = self._live(conn, owner, session_id)
            if archive_no is None:
                cur = conn.execute(
                    "SELECT archive_no, tokens, body FROM messages WHERE session_pk = ? "
                    "ORDER BY pk",
                    (row.pk,),
                )
            else:
                cur = conn.execute(
                    "SELECT archive_no, tokens, body FROM messages WHERE session_pk = ? "
                    "AND archive_no = ? ORDER BY pk",
                    (row.pk, archive_no),
                )
            return [StoredMessage(archive_no=a, tokens=t, body=b) for a, t, b in cur]

        return self._tx(run, write=False)

    def tool_and_context_messages(self, owner: Owner, session_id: str) -> list[StoredMessage]:
        def run(conn: sqlite3.Connection) -> list[StoredMessage]:
            row = self._live(conn, owner, session_id)
            cur = conn.execute(
                "SELECT archive_no, tokens, body FROM messages WHERE session_pk = ? "
                "AND (tool_parts > 0 OR context_parts > 0) ORDER BY pk",
                (row.pk,),
            )
            return [StoredMessage(archive_no=a, tokens=t, body=b) for a, t, b in cur]

        return self._tx(run, write=False)

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

        def run(conn: sqlite3.Connection) -> CommitOutcome:
            earlier = self._replayed(conn, owner, idempotency_key, request, now)
            if earlier is not None:
                return msgspec.msgpack.decode(earlier, type=CommitOutcome)
            outcome = archive(conn)
            self._remember(
                conn, owner, idempotency_key, request, msgspec.msgpack.encode(outcome), now
            )
            return outcome

        def archive(conn: sqlite3.Connection) -> CommitOutcome:
            row = self._live(conn, owner, session_id)
            if row.message_count == 0:
                return CommitOutcome(
                    session=row, archive_no=None, task_id=None, reason="no_messages"
                )
            n_archive = row.message_count - keep_recent_count
            if n_archive <= 0:
                return CommitOutcome(
                    session=row, archive_no=None, task_id=None, reason="all_within_keep_window"
                )
            picked = conn.execute(
                "SELECT pk, message_id, tokens FROM messages WHERE session_pk = ? AND archive_no = 0 "
                "ORDER BY pk LIMIT ?",
                (row.pk, n_archive),
            ).fetchall()
            last_pk = picked[-1][0]
            tokens = sum(p[2] for p in picked)
            archive_no = row.commit_count + 1
            conn.execute(
                "UPDATE messages SET archive_no = ? WHERE session_pk = ? AND archive_no = 0 AND pk <= ?",
                (archive_no, row.pk, last_pk),
            )
            conn.execute(
                "INSERT INTO archives (session_pk, archive_no, created_at, status, message_count, "
                "tokens, first_message_id, last_message_id) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?)",
                (row.pk, archive_no, now, len(picked), tokens, picked[0][1], picked[-1][1]),
            )
            conn.execute(
                "INSERT INTO tasks (task_id, account, user, task_type, session_id, session_pk, "
                "archive_no, status, created_at, updated_at) "
                "VALUES (?, ?, ?, 'session_commit', ?, ?, ?, 'pending', ?, ?)",
                (task_id, owner.account, owner.user, session_id, row.pk, archive_no, now, now),
            )
            updated = conn.execute(
                "UPDATE sessions SET message_count = message_count - ?, "
                "pending_tokens = pending_tokens - ?, commit_count = commit_count + 1, "
                f"last_commit_at = ?, updated_at = ? WHERE pk = ? RETURNING {SESSION_COLUMNS}",
                (len(picked), tokens, now, now, row.pk),
            ).fetchone()
            return CommitOutcome(
                session=_session(updated), archive_no=archive_no, task_id=task_id, reason=None
            )

        return self._tx(run)

    def archives(self, owner: Owner, session_id: str) -> list[ArchiveRow]:
        def run(conn: sqlite3.Connection) -> list[ArchiveRow]:
            row = self._live(conn, owner, session_id)
            cur = conn.execute(
                f"SELECT {ARCHIVE_COLUMNS} FROM archives WHERE session_pk = ? ORDER BY archive_no",
                (row.pk,),
            )
            return [_archive(r) for r in cur]

        return self._tx(run, write=False)

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
        def run(conn: sqlite3.Connection) -> SessionRow:
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
            lambda c: deletion.expired_sessions(c, owner, cutoff, by, trashed=trashed), write=False
        )

    def erase_user(self, account: str, user: str, now: float, *, actor: Identity) -> ErasureCounts:
        def run(conn: sqlite3.Connection) -> ErasureCounts:
            counts = deletion.erase_user(conn, account, user, now, actor=actor)
            # Owed in the same transaction: a crash before compaction finishes is made good
            # by the next open of the store.
            conn.execute(
                "INSERT OR IGNORE INTO maintenance (task, since) VALUES ('compact', ?)", (now,)
            )
            return counts

        counts = self._tx(run)
        self.compact_if_owed()
        return counts

    def compact_if_owed(self, attempts: int = 50) -> bool:
        """Rewrite the file and truncate the WAL so erased content leaves no trace on disk.

        Readers holding old snapshots keep the WAL alive; compaction is retried briefly and
        stays owed (done on a later call or open) if they do not let go. True when done."""

        def owed() -> bool:
            return self._tx(
                lambda c: (
                    c.execute("SELECT 1 FROM maintenance WHERE task = 'compact'").fetchone()
                    is not None
                ),
                write=False,
            )

        def attempt() -> bool:
            with self._write_lock:
                conn = self._conn()
                conn.execute("PRAGMA busy_timeout = 100")
                try:
                    conn.execute("VACUUM")
                    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    if busy:
                        return False
                    conn.execute("DELETE FROM maintenance WHERE task = 'compact'")
                    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    return not busy
                except sqlite3.OperationalError:
                    return False
                finally:
                    conn.execute(f"PRAGMA busy_timeout = {int(self._busy_ms)}")

        if not owed():
            return True
        for _ in range(attempts):
            if self._guard(attempt):
                return True
            time.sleep(0.05)
        log.warning("compaction after erasure postponed: readers keep old snapshots open")
        return False

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
        )

    # ------------------------------------------------------------------ tasks
    def get_task(self, owner: Owner, task_id: str) -> TaskRow | None:
        def run(conn: sqlite3.Connection) -> TaskRow | None:
            row = conn.execute(
                f"SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = ? AND account = ? AND user = ?",
                (task_id, owner.account, owner.user),
            ).fetchone()
            return _task(row) if row else None

        return self._tx(run, write=False)

    def runnable_tasks(self, now: float, limit: int = 100) -> list[str]:
        def run(conn: sqlite3.Connection) -> list[str]:
            cur = conn.execute(
                "SELECT task_id FROM tasks WHERE status = 'pending' "
                "OR (status = 'running' AND lease_until < ?) ORDER BY created_at LIMIT ?",
                (now, limit),
            )
            return [r[0] for r in cur]

        return self._tx(run, write=False)

    def claim_task(
        self, task_id: str, now: float, lease_seconds: float, *, busy: Sequence[Owner] = ()
    ) -> ClaimedTask | None:
        # ``busy``: owners whose memories a worker of this process is already extracting.
        skip = ""
        if busy:
            skip = " AND (account, user) NOT IN (VALUES " + ", ".join(["(?, ?)"] * len(busy)) + ")"
        owners = [v for o in busy for v in (o.account, o.user)]

        def run(conn: sqlite3.Connection) -> ClaimedTask | None:
            claim = secrets.token_hex(8)
            got = conn.execute(
                "UPDATE tasks SET status = 'running', claim = ?, lease_until = ?, "
                "attempts = attempts + 1, updated_at = ? WHERE task_id = ? AND "
                f"(status = 'pending' OR (status = 'running' AND lease_until < ?)){skip} "
                "RETURNING session_pk, archive_no",
                (claim, now + lease_seconds, now, task_id, now, *owners),
            ).fetchone()
            if got is None:
                return None
            session_pk, archive_no = got
            task = _task(
                conn.execute(
                    f"SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = ?", (task_id,)
                ).fetchone()
            )
            if session_pk is None:
                conn.execute(
                    "UPDATE tasks SET status = 'cancelled', error = 'session deleted before "
                    "extraction', claim = NULL WHERE task_id = ?",
                    (task_id,),
                )
                return None
            cur = conn.execute(
                "SELECT archive_no, tokens, body FROM messages WHERE session_pk = ? AND archive_no = ? "
                "ORDER BY pk",
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
        def run(conn: sqlite3.Connection) -> ExtractionOutcome:
            got = conn.execute(
                "SELECT status, claim, session_pk, archive_no, account, user, session_id "
                "FROM tasks WHERE task_id = ?",
                (task_id,),
            ).fetchone()
            if got is None or got[0] != "running" or got[1] != claim:
                return ExtractionOutcome(
                    status="stale",
                    memories=0,
                    created=0,
                    updated=0,
                    reason="task is no longer held by this worker",
                )
            _, _, session_pk, archive_no, account, user, session_id = got
            archive = None
            if session_pk is not None:
                archive = conn.execute(
                    "SELECT status FROM archives WHERE session_pk = ? AND archive_no = ?",
                    (session_pk, archive_no),
                ).fetchone()
            if archive is None:
                conn.execute(
                    "UPDATE tasks SET status = 'cancelled', error = 'session deleted before "
                    "extraction', claim = NULL, updated_at = ? WHERE task_id = ?",
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
                    "UPDATE archives SET status = 'done', memories_extracted = ?, done_at = ? "
                    "WHERE session_pk = ? AND archive_no = ?",
                    (applied.written, now, session_pk, archive_no),
                )
                conn.execute(
                    "UPDATE sessions SET memories_extracted = memories_extracted + ? WHERE pk = ?",
                    (applied.written, session_pk),
                )
            conn.execute(
                "UPDATE tasks SET status = 'completed', result = ?, claim = NULL, updated_at = ? "
                "WHERE task_id = ?",
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
        def run(conn: sqlite3.Connection) -> None:
            got = conn.execute(
                "UPDATE tasks SET status = 'failed', error = ?, result = ?, claim = NULL, "
                "updated_at = ? WHERE task_id = ? AND claim = ? AND status = 'running' "
                "RETURNING session_pk, archive_no",
                (error[:2000], result, now, task_id, claim),
            ).fetchone()
            if got is not None and got[0] is not None:
                conn.execute(
                    "UPDATE archives SET status = 'failed', error = ? WHERE session_pk = ? "
                    "AND archive_no = ? AND status = 'pending'",
                    (error[:2000], got[0], got[1]),
                )

        self._tx(run)

    # ------------------------------------------------------------------ extraction records
    def extraction_summary(self, owner: Owner, session_id: str) -> ExtractionSummary:
        def run(conn: sqlite3.Connection) -> ExtractionSummary:
            row = self._find(conn, owner, session_id)
            if row is None:
                raise NotFoundError.of("session", session_id)
            return extraction.summary(conn, row.pk)

        return self._tx(run, write=False)

    def archive_extractions(self, owner: Owner, session_id: str) -> list[ArchiveExtraction]:
        def run(conn: sqlite3.Connection) -> list[ArchiveExtraction]:
            return extraction.extractions(conn, self._live(conn, owner, session_id).pk)

        return self._tx(run, write=False)

    def requeue_extraction(
        self,
        owner: Owner,
        session_id: str,
        archive_no: int | None,
        now: float,
        new_task_id: Callable[[], str],
    ) -> list[Requeued]:
        def run(conn: sqlite3.Connection) -> list[Requeued]:
            row = self._live(conn, owner, session_id)
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
        def run(conn: sqlite3.Connection) -> FileRow | None:
            row = conn.execute(
                f"SELECT {FILE_COLUMNS}, content FROM files WHERE account = ? AND path = ?",
                (account, path),
            ).fetchone()
            return _file(row) if row else None

        return self._tx(run, write=False)

    def list_children(self, account: str, parent: str) -> list[FileRow]:
        def run(conn: sqlite3.Connection) -> list[FileRow]:
            cur = conn.execute(
                f"SELECT {FILE_COLUMNS}, NULL FROM files WHERE account = ? AND parent = ? ORDER BY path",
                (account, parent),
            )
            return [_file(r) for r in cur]

        return self._tx(run, write=False)

    def list_descendants(self, account: str, prefix: str) -> list[FileRow]:
        lo, hi = _range(prefix)

        def run(conn: sqlite3.Connection) -> list[FileRow]:
            cur = conn.execute(
                f"SELECT {FILE_COLUMNS}, NULL FROM files WHERE account = ? AND path >= ? AND path < ? "
                "ORDER BY path",
                (account, lo, hi),
            )
            return [_file(r) for r in cur]

        return self._tx(run, write=False)

    def session_files(self, owner: Owner, session_id: str) -> list[FileRow]:
        def run(conn: sqlite3.Connection) -> list[FileRow]:
            row = self._live(conn, owner, session_id)
            cur = conn.execute(
                f"SELECT {FILE_COLUMNS}, NULL FROM files WHERE session_pk = ? ORDER BY path",
                (row.pk,),
            )
            return [_file(r) for r in cur]

        return self._tx(run, write=False)

    def _session_pk(
        self, conn: sqlite3.Connection, session: tuple[Owner, str] | None
    ) -> int | None:
        if session is None:
            return None
        return self._live(conn, session[0], session[1]).pk

    @staticmethod
    def _ensure_parents(
        conn: sqlite3.Connection,
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
                "SELECT is_dir FROM files WHERE account = ? AND path = ?", (account, d)
            ).fetchone()
            if got is None:
                conn.execute(
                    "INSERT INTO files (account, path, parent, is_dir, session_pk, created_at, "
                    "updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
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
        def run(conn: sqlite3.Connection) -> FileRow:
            session_pk = self._session_pk(conn, session)
            existing = conn.execute(
                "SELECT pk, is_dir FROM files WHERE account = ? AND path = ?", (account, path)
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
                conn.execute(
                    "INSERT INTO files (account, path, parent, is_dir, content, session_pk, "
                    "created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?)",
                    (account, path, _parent(path), content, session_pk, now, now),
                )
            elif mode == "create":
                raise AlreadyExistsError.of("file", "viking://" + path)
            elif mode == "append":
                conn.execute(
                    # || yields TEXT in SQLite; keep the column a BLOB.
                    "UPDATE files SET content = CAST(COALESCE(content, X'') || ? AS BLOB), "
                    "updated_at = ? WHERE pk = ?",
                    (content, now, existing[0]),
                )
            else:
                conn.execute(
                    "UPDATE files SET content = ?, updated_at = ? WHERE pk = ?",
                    (content, now, existing[0]),
                )
            row = conn.execute(
                f"SELECT {FILE_COLUMNS}, NULL FROM files WHERE account = ? AND path = ?",
                (account, path),
            ).fetchone()
            return _file(row)

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
        def run(conn: sqlite3.Connection) -> FileRow:
            session_pk = self._session_pk(conn, session)
            self._ensure_parents(conn, account, path + "/x", now, session_pk, stop_at=stop_at)
            row = conn.execute(
                f"SELECT {FILE_COLUMNS}, NULL FROM files WHERE account = ? AND path = ?",
                (account, path),
            ).fetchone()
            return _file(row)

        return self._tx(run)

    def remove(self, account: str, path: str, *, recursive: bool) -> int:
        lo, hi = _range(path)

        def run(conn: sqlite3.Connection) -> int:
            got = conn.execute(
                "SELECT is_dir FROM files WHERE account = ? AND path = ?", (account, path)
            ).fetchone()
            if got is None:
                raise NotFoundError.of("file", "viking://" + path)
            if got[0]:
                below = conn.execute(
                    "SELECT COUNT(*) FROM files WHERE account = ? AND path >= ? AND path < ?",
                    (account, lo, hi),
                ).fetchone()[0]
                if below and not recursive:
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

        def run(conn: sqlite3.Connection) -> None:
            session_pk = self._session_pk(conn, session)
            if (
                conn.execute(
                    "SELECT 1 FROM files WHERE account = ? AND path = ?", (account, src)
                ).fetchone()
                is None
            ):
                raise NotFoundError.of("file", "viking://" + src)
            if (
                conn.execute(
                    "SELECT 1 FROM files WHERE account = ? AND path = ?", (account, dst)
                ).fetchone()
                is not None
            ):
                raise AlreadyExistsError.of("file", "viking://" + dst)
            if dst.startswith(src + "/"):
                raise InvalidArgumentError(
                    "Cannot move a directory into itself", {"uri": "viking://" + dst}
                )
            self._ensure_parents(conn, account, dst, now, session_pk, stop_at=stop_at)
            rows = conn.execute(
                "SELECT pk, path FROM files WHERE account = ? AND (path = ? OR (path >= ? AND path < ?))",
                (account, src, lo, hi),
            ).fetchall()
            for pk, old in rows:
                new = dst + old[len(src) :]
                conn.execute(
                    "UPDATE files SET path = ?, parent = ?, session_pk = ?, updated_at = ? WHERE pk = ?",
                    (new, _parent(new), session_pk, now, pk),
                )

        self._tx(run)

    def memory_count_for_session(self, owner: Owner, session_id: str) -> int:
        def run(conn: sqlite3.Connection) -> int:
            return int(
                conn.execute(
                    "SELECT COUNT(DISTINCT file_pk) FROM memory_sources WHERE account = ? AND user = ? "
                    "AND session_id = ?",
                    (owner.account, owner.user, session_id),
                ).fetchone()[0]
            )

        return self._tx(run, write=False)

    # ------------------------------------------------------------------ integrity
    def check_integrity(self) -> list[str]:
        def run(conn: sqlite3.Connection) -> list[str]:
            problems: list[str] = []
            for row in conn.execute("PRAGMA foreign_key_check"):
                problems.append(f"foreign key violation: {tuple(row)}")
            for row in conn.execute("PRAGMA integrity_check"):
                if row[0] != "ok":
                    problems.append(f"integrity: {row[0]}")
            mismatches = conn.execute(
                """
                SELECT s.session_id, s.message_count, s.total_message_count, s.pending_tokens,
                       s.total_tokens, s.total_turns, s.commit_count, s.memories_extracted,
                       (SELECT COUNT(*) FROM messages m WHERE m.session_pk = s.pk AND m.archive_no = 0),
                       (SELECT COUNT(*) FROM messages m WHERE m.session_pk = s.pk),
                       (SELECT COALESCE(SUM(tokens), 0) FROM messages m
                          WHERE m.session_pk = s.pk AND m.archive_no = 0),
                       (SELECT COALESCE(SUM(tokens), 0) FROM messages m WHERE m.session_pk = s.pk),
                       (SELECT COALESCE(SUM(is_turn), 0) FROM messages m WHERE m.session_pk = s.pk),
                       (SELECT COUNT(*) FROM archives a WHERE a.session_pk = s.pk),
                       (SELECT COALESCE(MAX(archive_no), 0) FROM archives a WHERE a.session_pk = s.pk),
                       (SELECT COALESCE(SUM(memories_extracted), 0) FROM archives a
                          WHERE a.session_pk = s.pk)
                FROM sessions s
                """
            ).fetchall()
            for r in mismatches:
                sid = r[0]
                stored = r[1:8]
                counted = (r[8], r[9], r[10], r[11], r[12], r[13], r[15])
                if stored != counted or r[14] != r[13]:
                    problems.append(f"session {sid}: counters {stored} != rows {counted}")
            for r in conn.execute(
                "SELECT a.session_pk, a.archive_no, a.message_count, "
                "(SELECT COUNT(*) FROM messages m WHERE m.session_pk = a.session_pk "
                " AND m.archive_no = a.archive_no) FROM archives a"
            ):
                if r[2] != r[3] or r[3] == 0:
                    problems.append(f"archive {r[0]}/{r[1]}: {r[2]} recorded, {r[3]} rows")
            for r in conn.execute(
                "SELECT m.session_pk, m.archive_no FROM messages m WHERE m.archive_no > 0 AND NOT EXISTS "
                "(SELECT 1 FROM archives a WHERE a.session_pk = m.session_pk "
                "AND a.archive_no = m.archive_no) LIMIT 5"
            ):
                problems.append(f"message in missing archive {tuple(r)}")
            for r in conn.execute(
                "SELECT task_id FROM tasks WHERE status IN ('pending', 'running') AND session_pk IS NULL"
            ):
                problems.append(f"runnable task {r[0]} for a deleted session")
            for r in conn.execute(
                "SELECT path FROM files WHERE session_pk IS NULL AND path GLOB 'user/*/sessions/*/*'"
            ):
                problems.append(f"session file {r[0]} not tied to a session")
            return problems

        return self._tx(run, write=False)
