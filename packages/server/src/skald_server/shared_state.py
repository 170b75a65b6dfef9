"""What the worker processes of one ``skald serve --workers N`` share besides the store: a small
SQLite file in the supervisor's runtime directory (memory-backed under ``/dev/shm`` where there
is one, readable by the server's user only, removed when the server stops).

It holds what one process kept in memory before there were several: the console's sign-ins and
its cleanup runs (``console.logins``, ``console.cleanup_runs``), so that the next click of a
page, answered by any worker, finds them. Nothing in it needs to outlive the server.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any, TypeVar

T = TypeVar("T")

FILE_NAME = "shared.db"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS logins (token_hash TEXT PRIMARY KEY, key BLOB, csrf TEXT "
    "NOT NULL, expires REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cleanup_runs (run_id TEXT PRIMARY KEY, owner BLOB NOT NULL, "
    "started_at REAL NOT NULL, finished_at REAL, stop_requested INTEGER NOT NULL DEFAULT 0, "
    "record BLOB NOT NULL)",
)


def runtime_dir(base: str | None = None) -> str:
    """A new private directory for one server's workers: in memory when ``/dev/shm`` is there.
    Its name holds the supervisor's pid; the directories of supervisors that are gone (killed
    with ``kill -9``, which leaves no chance to remove them) are removed first."""
    if base is None:
        shm = "/dev/shm"
        base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else tempfile.gettempdir()
    remove_orphans(base)
    return tempfile.mkdtemp(prefix=f"skald-{os.getpid()}-", dir=base)  # mode 0700


def remove_orphans(base: str) -> list[str]:
    """Remove this user's runtime directories under ``base`` whose supervisor is not running;
    the ones removed."""
    removed = []
    for entry in os.scandir(base):
        pid = _supervisor_of(entry.name)
        if pid is None or not entry.is_dir(follow_symlinks=False):
            continue
        if entry.stat(follow_symlinks=False).st_uid != os.getuid() or _running(pid):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.path)
    return removed


def _supervisor_of(name: str) -> int | None:
    parts = name.split("-")
    if len(parts) != 3 or parts[0] != "skald" or not parts[1].isdigit():
        return None
    return int(parts[1])


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process of that number
        return True
    return True


class SharedState:
    """The shared file of the directory ``directory``; one connection per thread."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, FILE_NAME)
        self._local = threading.local()
        conn = self._conn()
        for statement in _SCHEMA:
            conn.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = OFF")  # nothing here outlives the server
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (the supervisor's, before it forks the workers)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._conn().execute(sql, args).fetchall()

    def transaction(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)`` in one write transaction (serialised across the workers)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result
