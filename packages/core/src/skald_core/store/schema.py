"""The schema and its versioned migrations: one list for every backend.

``MIGRATIONS`` is an append-only list of ``Migration(version, name, statements)``. Statements
name column types as ``$text``, ``$blob``, ... (``Dialect.types``), so one statement serves
both backends. ``apply`` runs, inside the caller's transaction, the migrations a database is
missing and records each in ``skald_schema_migrations``; the backend supplies the transaction
and the lock that keeps two processes from migrating at once (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: an advisory lock). DDL is transactional in both, so a process that dies half way
leaves the previous version intact.

Never edit a released migration: add a new one (``ALTER TABLE ...``) with the next version.

Databases made before this list existed (Skald 0.1) upgrade in place: a PostgreSQL schema
already records version 1 (the same tables as ``_V1``); an SQLite file (``PRAGMA user_version``
1-3, a ``user`` column where ``_V1`` has ``user_name``) is *adopted*: its columns renamed and
its indexes brought to ``_V1``'s, then version 1 is recorded as applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Template

from ..errors import StorageUnavailableError
from .dialect import POSTGRES, SQLITE, Conn, Dialect
from .search_sql import POSTGRES_SEARCH, SQLITE_SEARCH
from .vectors import POSTGRES_DDL as VECTORS_POSTGRES
from .vectors import SQLITE_DDL as VECTORS_SQLITE
from .vectors import TABLE_DDL as VECTORS_TABLE

MIGRATIONS_TABLE = "skald_schema_migrations"

#: Written to SQLite's ``PRAGMA user_version`` once migrated: Skald 0.1 refuses a file whose
#: version is above its own (3), so it never opens a file whose columns it does not know.
SQLITE_FENCE_VERSION = 4


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]
    #: Statements for one backend only (by ``Dialect.name``), run after ``statements``: DDL
    #: that has no common form (see search_sql.py).
    per_dialect: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


_V1 = (
    """
    CREATE TABLE IF NOT EXISTS sessions (
        pk $id,
        account $text NOT NULL,
        user_name $text NOT NULL,
        session_id $text NOT NULL,
        created_at $real NOT NULL,
        updated_at $real NOT NULL,
        message_count $int NOT NULL DEFAULT 0,
        total_message_count $int NOT NULL DEFAULT 0,
        pending_tokens $bigint NOT NULL DEFAULT 0,
        total_tokens $bigint NOT NULL DEFAULT 0,
        total_turns $int NOT NULL DEFAULT 0,
        commit_count $int NOT NULL DEFAULT 0,
        memories_extracted $int NOT NULL DEFAULT 0,
        last_commit_at $real,
        last_message_at $real,
        deleted_at $real,
        deleted_by $text,
        UNIQUE (account, user_name, session_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS sessions_newest ON sessions "
    "(account, user_name, created_at DESC, session_id DESC)",
    "CREATE INDEX IF NOT EXISTS sessions_trashed ON sessions (deleted_at) "
    "WHERE deleted_at IS NOT NULL",
    """
    CREATE TABLE IF NOT EXISTS messages (
        pk $id,
        session_pk $ref NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
        archive_no $int NOT NULL DEFAULT 0,
        message_id $text NOT NULL,
        role $text NOT NULL,
        tokens $int NOT NULL,
        is_turn $bool NOT NULL,
        tool_parts $int NOT NULL,
        context_parts $int NOT NULL,
        body $blob NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS messages_in_session ON messages (session_pk, archive_no, pk)",
    "CREATE INDEX IF NOT EXISTS messages_with_parts ON messages (session_pk) "
    "WHERE tool_parts > 0 OR context_parts > 0",
    """
    CREATE TABLE IF NOT EXISTS archives (
        session_pk $ref NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
        archive_no $int NOT NULL,
        created_at $real NOT NULL,
        status $text NOT NULL,
        message_count $int NOT NULL,
        tokens $bigint NOT NULL,
        first_message_id $text,
        last_message_id $text,
        abstract $text NOT NULL DEFAULT '',
        overview $text NOT NULL DEFAULT '',
        memories_extracted $int NOT NULL DEFAULT 0,
        done_at $real,
        error $text,
        PRIMARY KEY (session_pk, archive_no)
    )$without_rowid
    """,
    """
    CREATE TABLE IF NOT EXISTS tasks (
        task_id $text PRIMARY KEY,
        account $text NOT NULL,
        user_name $text NOT NULL,
        task_type $text NOT NULL,
        session_id $text NOT NULL,
        session_pk $ref REFERENCES sessions (pk) ON DELETE SET NULL,
        archive_no $int,
        status $text NOT NULL,
        claim $text,
        lease_until $real,
        attempts $int NOT NULL DEFAULT 0,
        result $blob,
        error $text,
        created_at $real NOT NULL,
        updated_at $real NOT NULL
    )
    """,
    # Runnable tasks (pending, or running with a lease) are few; a partial index finds them
    # without scanning the completed history.
    "CREATE INDEX IF NOT EXISTS tasks_runnable ON tasks (created_at) "
    "WHERE status IN ('pending', 'running')",
    "CREATE INDEX IF NOT EXISTS tasks_of_session ON tasks (session_pk)",
    "CREATE INDEX IF NOT EXISTS tasks_of_owner ON tasks (account, user_name)",
    """
    CREATE TABLE IF NOT EXISTS files (
        pk $id,
        account $text NOT NULL,
        path $text NOT NULL,
        parent $text NOT NULL,
        is_dir $bool NOT NULL,
        content $blob,
        session_pk $ref REFERENCES sessions (pk) ON DELETE CASCADE,
        created_at $real NOT NULL,
        updated_at $real NOT NULL,
        UNIQUE (account, path)
    )
    """,
    "CREATE INDEX IF NOT EXISTS files_by_parent ON files (account, parent)",
    "CREATE INDEX IF NOT EXISTS files_by_session ON files (session_pk)",
    """
    CREATE TABLE IF NOT EXISTS memory_sources (
        file_pk $ref NOT NULL REFERENCES files (pk) ON DELETE CASCADE,
        account $text NOT NULL,
        user_name $text NOT NULL,
        session_id $text NOT NULL,
        archive_no $int NOT NULL,
        created_at $real NOT NULL,
        PRIMARY KEY (file_pk, session_id, archive_no)
    )$without_rowid
    """,
    "CREATE INDEX IF NOT EXISTS memory_sources_by_session "
    "ON memory_sources (account, user_name, session_id)",
    """
    CREATE TABLE IF NOT EXISTS archive_extractions (
        session_pk $ref NOT NULL,
        archive_no $int NOT NULL,
        extracted_at $real NOT NULL,
        memory_diff $blob NOT NULL,
        by_category $text NOT NULL DEFAULT '{}',
        prompt_tokens $bigint NOT NULL DEFAULT 0,
        completion_tokens $bigint NOT NULL DEFAULT 0,
        total_tokens $bigint NOT NULL DEFAULT 0,
        cached_tokens $bigint NOT NULL DEFAULT 0,
        reasoning_tokens $bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (session_pk, archive_no),
        FOREIGN KEY (session_pk, archive_no) REFERENCES archives (session_pk, archive_no)
            ON DELETE CASCADE
    )$without_rowid
    """,
    """
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        account $text NOT NULL,
        user_name $text NOT NULL,
        idem_key $text NOT NULL,
        request $text NOT NULL,
        result $blob NOT NULL,
        created_at $real NOT NULL,
        PRIMARY KEY (account, user_name, idem_key)
    )$without_rowid
    """,
    "CREATE INDEX IF NOT EXISTS idempotency_keys_age ON idempotency_keys (created_at)",
    """
    CREATE TABLE IF NOT EXISTS audit_log (
        id $serial,
        at $real NOT NULL,
        actor_account $text NOT NULL,
        actor_user $text NOT NULL,
        actor_role $text NOT NULL,
        action $text NOT NULL,
        account $text NOT NULL,
        user_name $text NOT NULL,
        session_id $text,
        counts $text NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS audit_log_by_account ON audit_log (account, id)",
    """
    CREATE TABLE IF NOT EXISTS api_keys (
        key_id $text PRIMARY KEY,
        secret_hash $text NOT NULL,
        account $text NOT NULL,
        user_name $text NOT NULL,
        role $text NOT NULL,
        read_only $bool NOT NULL,
        created_at $real NOT NULL,
        revoked_at $real
    )
    """,
)

_V2 = (
    # Work a committed transaction left owed, e.g. compacting storage after an erasure.
    """
    CREATE TABLE IF NOT EXISTS maintenance (
        task $text PRIMARY KEY,
        since $real NOT NULL
    )
    """,
)

_V3 = (
    # Who wrote each file outside the users' own trees (viking://agent/..., viking://resources/
    # ...): the users whose text or names it holds, so erasing a user removes them. A replace
    # makes the writer its only author; an append or a move adds one. (The key's columns come
    # first: SQLite 3.40's integrity_check misreports NOT NULL columns between them.)
    """
    CREATE TABLE IF NOT EXISTS file_writers (
        file_pk $ref NOT NULL REFERENCES files (pk) ON DELETE CASCADE,
        user_name $text NOT NULL,
        account $text NOT NULL,
        PRIMARY KEY (file_pk, user_name)
    )$without_rowid
    """,
    "CREATE INDEX IF NOT EXISTS file_writers_by_user ON file_writers (account, user_name)",
    # The bytes of a session's message bodies, kept by appends (the bytes-per-session quota).
    "ALTER TABLE sessions ADD COLUMN message_bytes $bigint NOT NULL DEFAULT 0",
    "UPDATE sessions SET message_bytes = (SELECT COALESCE(SUM(octet_length(m.body)), 0) "
    "FROM messages m WHERE m.session_pk = sessions.pk)",
)

_V4 = (
    # The API key an audited key change (create_key, revoke_key) was about.
    "ALTER TABLE audit_log ADD COLUMN key_id $text",
)

_V6 = (
    # Provenance names the incarnation of a session id, not only the id: a session deleted
    # and made again under the same id extracts into archive_001 again, and its support of a
    # memory is a row of its own (under the old key it was dropped as a duplicate, so the
    # new session's receipt kept nothing and forget_memories missed it). Rows written before
    # take their own time as the incarnation's: it is at or after that session's creation,
    # and before any later session of the same id.
    """
    CREATE TABLE memory_sources_v6 (
        file_pk $ref NOT NULL REFERENCES files (pk) ON DELETE CASCADE,
        session_id $text NOT NULL,
        archive_no $int NOT NULL,
        session_created_at $real NOT NULL,
        account $text NOT NULL,
        user_name $text NOT NULL,
        created_at $real NOT NULL,
        PRIMARY KEY (file_pk, session_id, archive_no, session_created_at)
    )$without_rowid
    """,
    "INSERT INTO memory_sources_v6 (file_pk, session_id, archive_no, session_created_at, "
    "account, user_name, created_at) SELECT file_pk, session_id, archive_no, created_at, "
    "account, user_name, created_at FROM memory_sources",
    "DROP TABLE memory_sources",
    "ALTER TABLE memory_sources_v6 RENAME TO memory_sources",
    "CREATE INDEX IF NOT EXISTS memory_sources_by_session "
    "ON memory_sources (account, user_name, session_id)",
    # When each API key was last used (written at most once a minute per key).
    "ALTER TABLE api_keys ADD COLUMN last_used_at $real",
    # An admin's listing of every user's sessions of an account, newest first.
    "CREATE INDEX IF NOT EXISTS sessions_by_account ON sessions "
    "(account, created_at DESC, user_name DESC, session_id DESC)",
)

# How many sessions (live and trashed: they count against ``max_user_sessions`` until
# purged) each user holds, kept by triggers on ``sessions`` so that every path that inserts or
# deletes a session (create, the first append, import, purge, hard delete, erasure, the
# retention sweep) keeps it in the same statement. A session's creation reads one row instead
# of counting the user's sessions. A user's row goes with its last session.
_V8 = (
    """
    CREATE TABLE IF NOT EXISTS user_session_counts (
        account $text NOT NULL,
        user_name $text NOT NULL,
        sessions $bigint NOT NULL,
        PRIMARY KEY (account, user_name)
    )$without_rowid
    """,
    "DELETE FROM user_session_counts",  # counted afresh if the migration runs again
    "INSERT INTO user_session_counts (account, user_name, sessions) "
    "SELECT account, user_name, COUNT(*) FROM sessions GROUP BY account, user_name",
)
# SQLite: per row (its update of one row in place is cheap).
_V8_SQLITE = (
    "CREATE TRIGGER IF NOT EXISTS sessions_counted AFTER INSERT ON sessions BEGIN "
    "INSERT INTO user_session_counts (account, user_name, sessions) "
    "VALUES (new.account, new.user_name, 1) ON CONFLICT (account, user_name) "
    "DO UPDATE SET sessions = sessions + 1; END",
    "CREATE TRIGGER IF NOT EXISTS sessions_uncounted AFTER DELETE ON sessions BEGIN "
    "UPDATE user_session_counts SET sessions = sessions - 1 "
    "WHERE account = old.account AND user_name = old.user_name; "
    "DELETE FROM user_session_counts WHERE account = old.account "
    "AND user_name = old.user_name AND sessions <= 0; END",
)
# PostgreSQL: per statement, from its transition table: an erasure deleting a user's 100,000
# sessions updates the row once (row by row, each update would make another version of it).
_V8_POSTGRES = (
    "CREATE OR REPLACE FUNCTION skald_sessions_counted() RETURNS trigger LANGUAGE plpgsql "
    "AS $$$$ BEGIN "
    "INSERT INTO user_session_counts (account, user_name, sessions) "
    "SELECT account, user_name, COUNT(*) FROM added GROUP BY account, user_name "
    "ON CONFLICT (account, user_name) "
    "DO UPDATE SET sessions = user_session_counts.sessions + excluded.sessions; "
    "RETURN NULL; END $$$$",
    "CREATE OR REPLACE FUNCTION skald_sessions_uncounted() RETURNS trigger LANGUAGE plpgsql "
    "AS $$$$ BEGIN "
    "UPDATE user_session_counts c SET sessions = c.sessions - g.n FROM (SELECT account, "
    "user_name, COUNT(*) AS n FROM removed GROUP BY account, user_name) g "
    "WHERE c.account = g.account AND c.user_name = g.user_name; "
    "DELETE FROM user_session_counts c USING (SELECT DISTINCT account, user_name FROM removed) g "
    "WHERE c.account = g.account AND c.user_name = g.user_name AND c.sessions <= 0; "
    "RETURN NULL; END $$$$",
    "DROP TRIGGER IF EXISTS sessions_counted ON sessions",
    "CREATE TRIGGER sessions_counted AFTER INSERT ON sessions REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION skald_sessions_counted()",
    "DROP TRIGGER IF EXISTS sessions_uncounted ON sessions",
    "CREATE TRIGGER sessions_uncounted AFTER DELETE ON sessions REFERENCING OLD TABLE AS "
    "removed FOR EACH STATEMENT EXECUTE FUNCTION skald_sessions_uncounted()",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema (Skald 0.1)", _V1),
    Migration(2, "maintenance table", _V2),
    Migration(3, "file writers, session message bytes", _V3),
    Migration(4, "audit of key changes", _V4),
    Migration(
        5,
        "full-text search index",
        (),
        per_dialect={SQLITE.name: SQLITE_SEARCH.ddl, POSTGRES.name: POSTGRES_SEARCH.ddl},
    ),
    Migration(
        6, "memory provenance per session incarnation; sessions by account; key last use", _V6
    ),
    Migration(
        7,
        "memory embedding vectors",
        VECTORS_TABLE,
        per_dialect={SQLITE.name: VECTORS_SQLITE, POSTGRES.name: VECTORS_POSTGRES},
    ),
    Migration(
        8,
        "sessions per user, kept by triggers",
        _V8,
        per_dialect={SQLITE.name: _V8_SQLITE, POSTGRES.name: _V8_POSTGRES},
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version

#: The tables of Skald 0.1's SQLite files that had a ``user`` column.
_SQLITE_USER_TABLES = (
    "sessions",
    "tasks",
    "memory_sources",
    "idempotency_keys",
    "audit_log",
    "api_keys",
)


def statements(migration: Migration, d: Dialect) -> list[str]:
    """The migration's statements in ``d``'s types."""
    own = migration.per_dialect.get(d.name, ())
    return [Template(s).substitute(d.types) for s in (*migration.statements, *own)]


def current_version(conn: Conn) -> int:
    """The applied schema version (0 for an empty database); outside any lock."""
    d = conn.d
    if d is SQLITE:
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
        ).fetchone()
    else:
        got = conn.execute("SELECT to_regclass(?) IS NOT NULL", (MIGRATIONS_TABLE,))
        exists = got.fetchone()
        exists = exists if exists and exists[0] else None
    if exists is None:
        return 0
    got = conn.execute(f"SELECT COALESCE(MAX(version), 0) FROM {MIGRATIONS_TABLE}").fetchone()
    return int(got[0]) if got else 0


def _adopt_sqlite_0_1(conn: Conn) -> bool:
    """Bring an SQLite file of Skald 0.1 to version 1; False if it is not one."""
    legacy = conn.execute("PRAGMA user_version").fetchone()[0]
    if not 1 <= legacy <= 3:
        return False
    for table in _SQLITE_USER_TABLES:
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if "user" in columns:
            conn.execute(f'ALTER TABLE {table} RENAME COLUMN "user" TO user_name')
    # 0.1 indexed (status, created_at); version 1 indexes the runnable tasks only.
    conn.execute("DROP INDEX IF EXISTS tasks_runnable")
    return True


_ADD_COLUMN = re.compile(r"^\s*ALTER TABLE (\w+) ADD COLUMN (\w+) ", re.IGNORECASE)


def _adds_existing_column(conn: Conn, statement: str) -> bool:
    """``ALTER TABLE t ADD COLUMN c ...`` where ``t`` has ``c`` already: skipped, so every
    migration stays idempotent (SQLite has no ``ADD COLUMN IF NOT EXISTS``)."""
    found = _ADD_COLUMN.match(statement)
    if found is None:
        return False
    table, column = found.groups()
    if conn.d is SQLITE:
        return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))
    return (
        conn.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? AND column_name = ?",
            (table, column),
        ).fetchone()
        is not None
    )


def apply(conn: Conn, now: float, *, name: str = "the database") -> list[int]:
    """Bring the schema up to ``SCHEMA_VERSION`` inside the caller's transaction, which holds
    the backend's migration lock; the versions applied (an adopted 0.1 file reports 1)."""
    d = conn.d
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version {d.types['int']} PRIMARY KEY, "
        f"name TEXT NOT NULL, applied_at {d.types['real']} NOT NULL)"
    )
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise StorageUnavailableError(
            f"{name} has schema version {version}, newer than this Skald ({SCHEMA_VERSION}); "
            "upgrade Skald",
            {"reason": "schema_too_new", "version": version, "supported": SCHEMA_VERSION},
        )
    if (
        d is SQLITE
        and version == 0
        and (conn.execute("PRAGMA user_version").fetchone()[0]) >= SQLITE_FENCE_VERSION
    ):
        raise StorageUnavailableError(
            f"{name} has an unknown schema (user_version set, no migrations recorded)",
            {"reason": "schema_unknown"},
        )
    adopted = d is SQLITE and version == 0 and _adopt_sqlite_0_1(conn)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        for statement in statements(migration, d):
            if not _adds_existing_column(conn, statement):
                conn.execute(statement)
        conn.execute(
            f"INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)",
            (
                migration.version,
                migration.name + (" (adopted)" if adopted and migration.version == 1 else ""),
                now,
            ),
        )
        applied.append(migration.version)
    if d is SQLITE and applied:
        conn.execute(f"PRAGMA user_version = {SQLITE_FENCE_VERSION}")
    return applied
