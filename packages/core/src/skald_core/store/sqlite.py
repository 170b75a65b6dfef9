"""SQLite backend: stdlib sqlite3, WAL, foreign keys on, one database file under ``path``.

The store's operations are ``SQLStore``'s; this module is the plumbing. Writers are serialised
by one in-process lock plus ``BEGIN IMMEDIATE`` (which also serialises other processes on the
same file), so the dialect needs no row locks; readers use one connection per thread and see a
consistent snapshot thanks to WAL. Every public method is exactly one transaction.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import ParamSpec, TypeVar

from ..errors import InvalidArgumentError, SkaldError, StorageUnavailableError
from . import schema
from .dialect import SQLITE, Conn
from .sql_store import SQLStore, WouldBlock

DB_FILENAME = "skald.db"

T = TypeVar("T")
P = ParamSpec("P")

log = logging.getLogger("skald.store")

# WAL checkpoints (see _Checkpointer): how long a background checkpoint lets writes accumulate,
# how long an idle checkpointer thread lingers, and the auto-checkpoint threshold (pages) that
# writers keep as a safety net. SQLite's own default is 1,000 pages, checkpointed by the writer.
CHECKPOINT_DELAY = 0.1
CHECKPOINT_IDLE_EXIT = 5.0
FALLBACK_AUTOCHECKPOINT = 10_000
# A WAL file that a burst of writes grew past WAL_SHRINK_BYTES is truncated by the checkpointer
# once writes have paused for WAL_QUIET seconds (see _Checkpointer).
WAL_SHRINK_BYTES = 4 << 20
WAL_QUIET = 0.5


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

    Every checkpoint this process runs (these passes, a delete's truncation, a compaction)
    holds ``checkpoint_lock``. SQLite lets one checkpoint run at a time and answers any other
    with SQLITE_BUSY at once, without its busy handler: a delete whose truncation met a pass of
    this thread used to sleep 10 ms or more before it tried again (measured: 10-100 ms of a
    1,000-message delete's 5 ms). Now it waits for the pass to end, which has done part of its
    copying for it.

    The WAL file keeps the size its longest run of writes gave it (a writer starts again from
    its beginning, it does not shrink it). A delete truncates it to nothing (see
    ``SQLiteStore._after_delete``), and truncating the 7-8 MB left by 16 connections appending
    for a few seconds took that delete 8-36 ms, and the next one up to 74 ms (the file system
    frees and discards the blocks at its next journal commit, which the next sync waits for).
    So once writes pause for ``quiet`` seconds after a pass, a WAL file larger than
    ``shrink_bytes`` is truncated here, off the callers' path (under the write lock: writers
    that come meanwhile wait for it).
    """

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        write_lock: threading.RLock,
        checkpoint_lock: threading.Lock,
        wal: Path,
        *,
        delay: float,
        idle: float,
        quiet: float,
        shrink_bytes: int,
    ) -> None:
        self._connect = connect
        self._write_lock = write_lock
        self._checkpoint_lock = checkpoint_lock
        self._wal = wal
        self._delay = delay
        self._idle = idle
        self._quiet = quiet
        self._shrink_bytes = shrink_bytes
        self._wake = threading.Event()  # set: writes not yet checkpointed; a thread is on it
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._truncate_owed = False

    def owe_truncate(self) -> None:
        """The next background checkpoint truncates the WAL (retried until it can)."""
        self._truncate_owed = True
        self.poke()

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
        shrink = False  # the WAL file grew past ``shrink_bytes``: truncate it once writes pause
        try:
            while True:
                woke = self._wake.wait(self._quiet if shrink else self._idle)
                if shrink and not woke:
                    shrink = False
                    if conn is not None:
                        self._shrink(conn)
                    continue
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
                    with self._checkpoint_lock:
                        busy = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0]
                    if not busy:  # frames of transactions that were open meanwhile
                        with self._write_lock, self._checkpoint_lock:
                            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    if self._truncate_owed:  # a delete's content still in the WAL
                        if self._truncate(conn):
                            self._wake.set()  # again after the delay
                        else:
                            self._truncate_owed = False
                except sqlite3.Error as exc:  # writers' fallback auto-checkpoint still applies
                    log.debug("background WAL checkpoint failed: %s", exc)
                shrink = _size(self._wal) > self._shrink_bytes
        finally:
            if conn is not None:
                with suppress(sqlite3.Error):
                    conn.close()

    def _truncate(self, conn: sqlite3.Connection) -> bool:
        """Copy back what is left and truncate the WAL file; whether a reader kept it busy."""
        with self._write_lock, self._checkpoint_lock:
            return bool(conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0])

    def _shrink(self, conn: sqlite3.Connection) -> None:
        """Truncate the WAL file (every frame is copied back already, or nearly)."""
        try:
            self._truncate(conn)
        except sqlite3.Error as exc:
            log.debug("background WAL truncation failed: %s", exc)

    def close(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._closed = True
            thread = self._thread
            self._thread = None
        self._closing.set()
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _calling(call: Callable[[], T]) -> Callable[[Conn], T]:
    """``call`` as a transaction's body (it makes its own store calls)."""
    return lambda _conn: call()


class SQLiteStore(SQLStore):
    """The embedded default store. Thread-safe; safe for several processes on one file.

    ``background_checkpoint`` (default on) moves WAL checkpoints off the callers' path into a
    helper thread (see ``_Checkpointer``); off, SQLite checkpoints inside commits as usual.
    """

    d = SQLITE
    inline_capable = True

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
        # Held by every checkpoint of this process, after the write lock when both are.
        self._checkpoint_lock = threading.Lock()
        self._closed = False
        self._checkpointer = (
            _Checkpointer(
                self._checkpoint_connection,
                self._write_lock,
                self._checkpoint_lock,
                root / (DB_FILENAME + "-wal"),
                delay=CHECKPOINT_DELAY,
                idle=CHECKPOINT_IDLE_EXIT,
                quiet=WAL_QUIET,
                shrink_bytes=WAL_SHRINK_BYTES,
            )
            if background_checkpoint
            else None
        )
        self._guard(self._migrate)
        self.compact_if_owed(attempts=3)  # an erasure interrupted before it compacted
        self._truncate_wal(attempts=3)  # a delete whose truncation was owed at a crash

    # ------------------------------------------------------------------ plumbing
    def _connect(self, busy_ms: int | None = None) -> sqlite3.Connection:
        busy = self._busy_ms if busy_ms is None else busy_ms
        conn = sqlite3.connect(
            self.file,
            isolation_level=None,
            check_same_thread=False,
            timeout=busy / 1000,
        )
        conn.execute(f"PRAGMA busy_timeout = {int(busy)}")
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
        # A TRUNCATE checkpoint waits for readers this long (under the write lock), then
        # gives up and is tried again later; PASSIVE ones never wait.
        conn.execute("PRAGMA busy_timeout = 20")
        return conn

    def _conn(self) -> Conn:
        """This thread's connection."""
        if self._closed:
            raise StorageUnavailableError("The store is closed")
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = Conn(self._connect(), SQLITE)
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
    def inline(self) -> Iterator[None]:
        self._local.inline = [False]  # [a write has committed in this block]
        try:
            yield
        finally:
            self._local.inline = None

    def run_inline(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        local = self._local
        local.inline = [False]  # as ``inline`` does, without a generator per call
        try:
            return fn(*args, **kwargs)
        finally:
            local.inline = None

    def _inline_conn(self) -> Conn:
        """This thread's connection for calls that must not wait: busy timeout 0."""
        if self._closed:
            raise StorageUnavailableError("The store is closed")
        conn: Conn | None = getattr(self._local, "inline_conn", None)
        if conn is None:
            conn = self._local.inline_conn = Conn(self._connect(busy_ms=0), SQLITE)
        return conn

    def run_group(self, calls: Sequence[Callable[[], T]]) -> list[tuple[bool, T | Exception]]:
        """See ``SQLStore.run_group``: on the event loop's connection, without waiting (as
        ``run_inline``'s first write). Appends that arrive together cost one BEGIN, one COMMIT
        and one write of the WAL instead of one each (measured: 23.4 µs of statements per
        append alone, 13.0 µs in groups of 16)."""
        conn = self._inline_conn()
        raw = conn.raw
        local = self._local
        if not self._write_lock.acquire(blocking=False):
            raise WouldBlock("the write lock is held by another thread")
        try:
            try:
                raw.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise WouldBlock(str(exc)) from exc  # another process writes
            outcomes: list[tuple[bool, T | Exception]] = []
            local.group = conn
            try:
                for call in calls:
                    try:
                        outcomes.append((True, self._in_savepoint(conn, _calling(call))))
                    except Exception as exc:  # the call's own outcome: rolled back, reported
                        outcomes.append((False, exc))
                    if not raw.in_transaction:  # SQLite rolled it all back (disk full, I/O):
                        raise StorageUnavailableError(  # nothing of the group is kept
                            f"Database {self.file}: the transaction was rolled back",
                            {"reason": "rolled_back", "path": str(self.file)},
                        )
                raw.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):
                    raw.execute("ROLLBACK")
                raise
            finally:
                local.group = None
        except sqlite3.DatabaseError as exc:
            raise self._unavailable(exc) from exc
        finally:
            self._write_lock.release()
        if self._checkpointer is not None:
            self._checkpointer.poke()
        return outcomes

    def _in_savepoint(self, conn: Conn, fn: Callable[[Conn], T]) -> T:
        """``fn`` inside ``run_group``'s transaction: all or nothing of its own."""
        raw = conn.raw
        try:
            raw.execute("SAVEPOINT call")
            try:
                result = fn(conn)
            except BaseException:
                raw.execute("ROLLBACK TO call")
                raw.execute("RELEASE call")
                raise
            raw.execute("RELEASE call")
            return result
        except SkaldError:
            raise
        except sqlite3.DatabaseError as exc:
            raise self._unavailable(exc) from exc

    def _tx(self, fn: Callable[[Conn], T], *, write: bool = True, single: bool = False) -> T:
        group = getattr(self._local, "group", None)
        if group is not None:
            return self._in_savepoint(group, fn)
        inline = getattr(self._local, "inline", None)
        if inline is not None and not inline[0]:
            return self._tx_without_waiting(fn, inline, write=write, single=single)
        return self._run_tx(fn, write=write, single=single)

    def _run_tx(
        self,
        fn: Callable[[Conn], T],
        *,
        write: bool,
        single: bool,
        conn: Conn | None = None,
        inline: list[bool] | None = None,
    ) -> T:
        # The same steps as ``_guard`` around a transaction, spelled out: this is the path of
        # every call, and generator context managers cost several µs per call. ``single``
        # reads run without BEGIN (one statement is a consistent snapshot of its own); writes
        # always take the write lock (``inline``: without waiting for it, see ``inline``).
        try:
            conn = conn or self._conn()
            raw = conn.raw
            if write:
                if not self._write_lock.acquire(blocking=inline is None):
                    raise WouldBlock("the write lock is held by another thread")
                try:
                    try:
                        raw.execute("BEGIN IMMEDIATE")
                    except sqlite3.OperationalError as exc:
                        if inline is None:
                            raise
                        raise WouldBlock(str(exc)) from exc  # another process writes
                    try:
                        result = fn(conn)
                    except BaseException:
                        raw.execute("ROLLBACK")
                        raise
                    raw.execute("COMMIT")
                finally:
                    self._write_lock.release()
                if inline is not None:
                    inline[0] = True
                if self._checkpointer is not None:
                    self._checkpointer.poke()
                return result
            if single:
                return fn(conn)
            raw.execute("BEGIN")
            try:
                return fn(conn)
            finally:
                raw.execute("COMMIT")
        except SkaldError:
            raise
        except sqlite3.DatabaseError as exc:
            raise self._unavailable(exc) from exc

    def _tx_without_waiting(
        self, fn: Callable[[Conn], T], inline: list[bool], *, write: bool, single: bool
    ) -> T:
        """``_tx`` in an ``inline`` block before its first write: ``WouldBlock`` rather than
        wait for the write lock (held by another thread of this process) or a busy file
        (another process): its connection's busy timeout is 0."""
        conn = self._inline_conn()
        if write:
            return self._run_tx(fn, write=True, single=single, conn=conn, inline=inline)
        try:
            return self._run_tx(fn, write=False, single=single, conn=conn)
        except StorageUnavailableError as exc:
            if exc.details.get("reason") == "locked":
                raise WouldBlock(str(exc)) from exc
            raise

    def _migrate(self) -> None:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                applied = schema.apply(conn, time.time(), name=f"Database {self.file}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        if applied:
            log.info("%s: applied schema migrations %s", self.file, applied)

    def migrate(self) -> int:
        """Apply pending migrations (done when the store opens); the schema version after."""
        self._guard(self._migrate)
        return self.schema_version()

    def schema_version(self) -> int:
        return self._tx(schema.current_version, write=False)

    def describe(self) -> str:
        """Where the data lives, for logs."""
        return f"sqlite {self.file}"

    def ping(self) -> None:
        """Raise ``StorageUnavailableError`` unless the database answers a query."""
        self._tx(
            lambda c: c.execute("SELECT 1 FROM sessions LIMIT 1").fetchall(),
            write=False,
            single=True,
        )

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        with self._all_lock:
            self._closed = True
            for conn in self._all:
                with suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()

    def _after_erasure(self) -> None:
        self.compact_if_owed()

    def _after_delete(self) -> None:
        """Deleted content out of every file before the delete is acknowledged.

        ``secure_delete`` zeroes freed pages, but the WAL still holds the pages as they were
        before the delete (frames of earlier transactions) until a checkpoint copies the new
        ones back and the WAL file starts over. So: a TRUNCATE checkpoint (copy back, sync,
        truncate the WAL to zero bytes) under the write lock. The background checkpointer
        keeps the WAL short, so this costs about one sync. A reader holding an old snapshot
        blocks the truncation; it is retried briefly, then left to the checkpointer (which
        truncates as soon as it can) and to the next open of the store."""
        if self._truncate_wal(attempts=5):
            return
        if self._checkpointer is not None:
            self._checkpointer.owe_truncate()
        log.warning("WAL truncation after a delete postponed: readers keep old snapshots open")

    def _truncate_wal(self, attempts: int) -> bool:
        def attempt() -> bool:
            with self._write_lock, self._checkpoint_lock:
                conn = self._conn()
                conn.execute("PRAGMA busy_timeout = 20")
                try:
                    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    return not busy
                except sqlite3.OperationalError:
                    return False
                finally:
                    conn.execute(f"PRAGMA busy_timeout = {int(self._busy_ms)}")

        # Busy now means another process's checkpoint (over at once, mostly) or a reader's
        # snapshot: first retries soon, then back off (1, 4, 16, 64 ms: 85 ms in all for five
        # attempts, about what 10, 20, 30, 40 ms gave readers before).
        for i in range(attempts):
            if self._guard(attempt):
                return True
            if i + 1 < attempts:
                time.sleep(0.001 * 4**i)
        return False

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
            with self._write_lock, self._checkpoint_lock:
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

    # ------------------------------------------------------------------ integrity
    def _integrity_extras(self, conn: Conn) -> list[str]:
        problems = [
            f"foreign key violation: {tuple(r)}" for r in conn.execute("PRAGMA foreign_key_check")
        ]
        problems += [
            f"integrity: {r[0]}" for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"
        ]
        return problems
