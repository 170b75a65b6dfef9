"""What the worker processes of one ``skald serve --workers N`` share besides the store: a small
SQLite file in the supervisor's runtime directory (memory-backed under ``/dev/shm`` where there
is one, readable by the server's user only, removed when the server stops).

It holds what one process kept in memory before there were several: the console's sign-ins and
its cleanup runs (``console.logins``, ``console.cleanup_runs``), so that the next click of a
page, answered by any worker, finds them. Nothing in it needs to outlive the server.
"""

from __future__ import annotations

import os
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


def runtime_dir() -> str:
    """A new private directory for one server's workers: in memory when ``/dev/shm`` is there."""
    shm = "/dev/shm"
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    return tempfile.mkdtemp(prefix="skald-", dir=base)  # mode 0700


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
