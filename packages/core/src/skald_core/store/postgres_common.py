"""What the PostgreSQL store modules share: the connection type, column lists, row decoding
and the advisory locks.

Lock order (every transaction that takes more than one of these takes them in this order, so
replicas never deadlock on them): an idempotency key, then session rows (several only by
primary key, ascending), then the owner's memory lock, then task rows.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import psycopg

from .model import SessionRow
from .postgres_schema import lock_key
from .sqlite import _archive as archive_row
from .sqlite import _file as file_row
from .sqlite import _task as task_row

Conn: TypeAlias = psycopg.Connection[tuple[Any, ...]]

SESSION_COLUMNS = (
    "pk, account, user_name, session_id, created_at, updated_at, message_count, "
    "total_message_count, pending_tokens, total_tokens, total_turns, commit_count, "
    "memories_extracted, last_commit_at, last_message_at, deleted_at, deleted_by"
)
TASK_COLUMNS = (
    "task_id, account, user_name, task_type, session_id, archive_no, status, result, error, "
    "created_at, updated_at, attempts"
)
ARCHIVE_COLUMNS = (
    "archive_no, created_at, status, message_count, tokens, first_message_id, last_message_id, "
    "abstract, overview, memories_extracted, done_at, error"
)
FILE_COLUMNS = "path, is_dir, COALESCE(octet_length(content), 0), created_at, updated_at"

__all__ = [
    "ARCHIVE_COLUMNS",
    "FILE_COLUMNS",
    "SESSION_COLUMNS",
    "TASK_COLUMNS",
    "Conn",
    "archive_row",
    "file_row",
    "lock_idempotency_key",
    "lock_owner",
    "session_row",
    "task_row",
]


def session_row(row: tuple[Any, ...]) -> SessionRow:
    return SessionRow(*row)  # SESSION_COLUMNS is in field order


def lock_owner(conn: Conn, account: str, user: str) -> None:
    """Serialise writes to one user's memories (extractions, forgetting, erasure) across
    replicas, until this transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("skald:owner", account, user),))


def lock_idempotency_key(conn: Conn, account: str, user: str, key: str) -> None:
    """Serialise the calls that present one idempotency key, so that the second one finds the
    first one's stored answer instead of repeating its work."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("skald:idem", account, user, key),))
