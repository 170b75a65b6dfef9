"""The PostgreSQL schema and its versioned migrations.

``MIGRATIONS`` is an append-only list of ``(version, name, statements)``. ``migrate`` applies
the missing ones in order, each recorded in ``skald_schema_migrations``, all in ONE transaction
that first takes a transaction-level advisory lock: replicas starting at the same moment queue
on that lock, and the second finds the work done. DDL is transactional in PostgreSQL, so a
replica that dies half way leaves the previous version intact.

The tables mirror the SQLite backend's (``sqlite.py``), with these differences:

* ``user`` is a reserved word in PostgreSQL (an unquoted ``user`` in a query reads as
  ``CURRENT_USER``), so the owner's user column is ``user_name``;
* every text column is ``COLLATE "C"``: orderings and the path range scans (``path >= 'a/'
  AND path < 'a0'``) must compare bytes exactly as SQLite's BINARY collation does, whatever the
  database's default locale;
* bodies and file contents are ``bytea``, times ``double precision`` (epoch seconds), flags
  ``boolean``, keys ``bigint`` identities.

Never edit a released migration: add a new one (``ALTER TABLE ...``) with the next version.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ..errors import StorageUnavailableError

if TYPE_CHECKING:
    import psycopg

MIGRATIONS_TABLE = "skald_schema_migrations"

T = 'text COLLATE "C"'  # every text column compares bytes, as in SQLite

_V1 = [
    f"""
    CREATE TABLE sessions (
        pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account {T} NOT NULL,
        user_name {T} NOT NULL,
        session_id {T} NOT NULL,
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL,
        message_count integer NOT NULL DEFAULT 0,
        total_message_count integer NOT NULL DEFAULT 0,
        pending_tokens bigint NOT NULL DEFAULT 0,
        total_tokens bigint NOT NULL DEFAULT 0,
        total_turns integer NOT NULL DEFAULT 0,
        commit_count integer NOT NULL DEFAULT 0,
        memories_extracted integer NOT NULL DEFAULT 0,
        last_commit_at double precision,
        last_message_at double precision,
        deleted_at double precision,
        deleted_by {T},
        UNIQUE (account, user_name, session_id)
    )
    """,
    "CREATE INDEX sessions_newest ON sessions "
    "(account, user_name, created_at DESC, session_id DESC)",
    "CREATE INDEX sessions_trashed ON sessions (deleted_at) WHERE deleted_at IS NOT NULL",
    f"""
    CREATE TABLE messages (
        pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_pk bigint NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
        archive_no integer NOT NULL DEFAULT 0,
        message_id {T} NOT NULL,
        role {T} NOT NULL,
        tokens integer NOT NULL,
        is_turn boolean NOT NULL,
        tool_parts integer NOT NULL,
        context_parts integer NOT NULL,
        body bytea NOT NULL
    )
    """,
    "CREATE INDEX messages_in_session ON messages (session_pk, archive_no, pk)",
    "CREATE INDEX messages_with_parts ON messages (session_pk) "
    "WHERE tool_parts > 0 OR context_parts > 0",
    f"""
    CREATE TABLE archives (
        session_pk bigint NOT NULL REFERENCES sessions (pk) ON DELETE CASCADE,
        archive_no integer NOT NULL,
        created_at double precision NOT NULL,
        status {T} NOT NULL,
        message_count integer NOT NULL,
        tokens bigint NOT NULL,
        first_message_id {T},
        last_message_id {T},
        abstract {T} NOT NULL DEFAULT '',
        overview {T} NOT NULL DEFAULT '',
        memories_extracted integer NOT NULL DEFAULT 0,
        done_at double precision,
        error {T},
        PRIMARY KEY (session_pk, archive_no)
    )
    """,
    f"""
    CREATE TABLE tasks (
        task_id {T} PRIMARY KEY,
        account {T} NOT NULL,
        user_name {T} NOT NULL,
        task_type {T} NOT NULL,
        session_id {T} NOT NULL,
        session_pk bigint REFERENCES sessions (pk) ON DELETE SET NULL,
        archive_no integer,
        status {T} NOT NULL,
        claim {T},
        lease_until double precision,
        attempts integer NOT NULL DEFAULT 0,
        result bytea,
        error {T},
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL
    )
    """,
    # Runnable tasks (pending, or running with a lease) are few; a partial index finds them
    # without scanning the completed history.
    "CREATE INDEX tasks_runnable ON tasks (created_at) WHERE status IN ('pending', 'running')",
    "CREATE INDEX tasks_of_session ON tasks (session_pk)",
    "CREATE INDEX tasks_of_owner ON tasks (account, user_name)",
    f"""
    CREATE TABLE files (
        pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account {T} NOT NULL,
        path {T} NOT NULL,
        parent {T} NOT NULL,
        is_dir boolean NOT NULL,
        content bytea,
        session_pk bigint REFERENCES sessions (pk) ON DELETE CASCADE,
        created_at double precision NOT NULL,
        updated_at double precision NOT NULL,
        UNIQUE (account, path)
    )
    """,
    "CREATE INDEX files_by_parent ON files (account, parent)",
    "CREATE INDEX files_by_session ON files (session_pk)",
    f"""
    CREATE TABLE memory_sources (
        file_pk bigint NOT NULL REFERENCES files (pk) ON DELETE CASCADE,
        account {T} NOT NULL,
        user_name {T} NOT NULL,
        session_id {T} NOT NULL,
        archive_no integer NOT NULL,
        created_at double precision NOT NULL,
        PRIMARY KEY (file_pk, session_id, archive_no)
    )
    """,
    "CREATE INDEX memory_sources_by_session ON memory_sources (account, user_name, session_id)",
    f"""
    CREATE TABLE archive_extractions (
        session_pk bigint NOT NULL,
        archive_no integer NOT NULL,
        extracted_at double precision NOT NULL,
        memory_diff bytea NOT NULL,
        by_category {T} NOT NULL DEFAULT '{{}}',
        prompt_tokens bigint NOT NULL DEFAULT 0,
        completion_tokens bigint NOT NULL DEFAULT 0,
        total_tokens bigint NOT NULL DEFAULT 0,
        cached_tokens bigint NOT NULL DEFAULT 0,
        reasoning_tokens bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (session_pk, archive_no),
        FOREIGN KEY (session_pk, archive_no) REFERENCES archives (session_pk, archive_no)
            ON DELETE CASCADE
    )
    """,
    f"""
    CREATE TABLE idempotency_keys (
        account {T} NOT NULL,
        user_name {T} NOT NULL,
        idem_key {T} NOT NULL,
        request {T} NOT NULL,
        result bytea NOT NULL,
        created_at double precision NOT NULL,
        PRIMARY KEY (account, user_name, idem_key)
    )
    """,
    "CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at)",
    f"""
    CREATE TABLE audit_log (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at double precision NOT NULL,
        actor_account {T} NOT NULL,
        actor_user {T} NOT NULL,
        actor_role {T} NOT NULL,
        action {T} NOT NULL,
        account {T} NOT NULL,
        user_name {T} NOT NULL,
        session_id {T},
        counts {T} NOT NULL
    )
    """,
    "CREATE INDEX audit_log_by_account ON audit_log (account, id)",
    f"""
    CREATE TABLE api_keys (
        key_id {T} PRIMARY KEY,
        secret_hash {T} NOT NULL,
        account {T} NOT NULL,
        user_name {T} NOT NULL,
        role {T} NOT NULL,
        read_only boolean NOT NULL,
        created_at double precision NOT NULL,
        revoked_at double precision
    )
    """,
]

#: (version, name, statements), oldest first. Append only.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "initial schema (SQLite schema version 3)", _V1),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``parts`` (the same in every process)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def current_version(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The applied schema version (0 for an empty schema); outside any lock."""
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (MIGRATIONS_TABLE,)).fetchone()
    if not exists or not exists[0]:
        return 0
    got = conn.execute(f"SELECT COALESCE(MAX(version), 0) FROM {MIGRATIONS_TABLE}").fetchone()
    return int(got[0]) if got else 0  # type: ignore[call-overload]


def migrate(
    conn: psycopg.Connection[tuple[object, ...]], schema: str | None, now: float
) -> list[int]:
    """Bring the schema up to ``SCHEMA_VERSION`` in one transaction; the versions applied.

    ``conn`` is in autocommit mode, with ``search_path`` already pointing at ``schema``.
    """
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("skald:migrate", schema or ""),))
        if schema is not None:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(schema)}")
        got = conn.execute("SELECT current_schema()").fetchone()
        if got is None or got[0] is None:
            raise StorageUnavailableError(
                "No schema to create Skald's tables in (the search_path names none that exists)",
                {"reason": "no_schema"},
            )
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version integer PRIMARY KEY, "
            "name text NOT NULL, applied_at double precision NOT NULL)"
        )
        version = current_version(conn)
        if version > SCHEMA_VERSION:
            raise StorageUnavailableError(
                f"The database schema is at version {version}, newer than this Skald "
                f"({SCHEMA_VERSION}); upgrade Skald",
                {"reason": "schema_too_new", "version": version, "supported": SCHEMA_VERSION},
            )
        for step, name, statements in MIGRATIONS:
            if step <= version:
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at) VALUES (%s, %s, %s)",
                (step, name, now),
            )
            applied.append(step)
    return applied
