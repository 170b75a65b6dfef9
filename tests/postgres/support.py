"""PostgreSQL for the tests: where it is, whether it answers, and throw-away schemas.

The database is ``SKALD_TEST_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``,
which this machine kind runs). Every test that uses it gets a schema of its own, created for it
and dropped after it, so tests never see each other's rows.

When the database does not answer, ``require_postgres()`` SKIPS the test with the reason — but
FAILS it when the environment variable ``CI`` is set: in CI a missing database is a broken run,
not a reason to test less.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

DATABASE_URL = os.environ.get(
    "SKALD_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

_reachable: tuple[bool, str] | None = None


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def probe() -> tuple[bool, str]:
    """(reachable, why not) — asked once per test session."""
    global _reachable
    if _reachable is None:
        try:
            import psycopg

            # Asked once per session and cached: a slow connection on a loaded machine must not
            # count as "unreachable" (a refused one fails at once whatever the timeout).
            with psycopg.connect(DATABASE_URL, connect_timeout=30) as conn:
                conn.execute("SELECT 1")
            _reachable = (True, "")
        except Exception as exc:
            _reachable = (False, f"{type(exc).__name__}: {exc}".strip())
    return _reachable


def require_postgres() -> None:
    ok, why = probe()
    if ok:
        return
    message = f"PostgreSQL at {DATABASE_URL} is unreachable ({why})"
    if in_ci():
        pytest.fail(f"{message}; CI must run the PostgreSQL tests", pytrace=False)
    pytest.skip(f"{message}; start it, or set SKALD_TEST_DATABASE_URL")


def new_schema_name(prefix: str = "skald_t") -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def drop_schema(name: str) -> None:
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=30) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]


@contextmanager
def fresh_schema(prefix: str = "skald_t") -> Iterator[str]:
    """A schema name nobody uses; the schema (if anything created it) is dropped after."""
    require_postgres()
    name = new_schema_name(prefix)
    try:
        yield name
    finally:
        drop_schema(name)


def throwaway_store(**options: Any) -> Any:
    """A ``PostgresStore`` in a new schema, dropped when the store is closed."""
    require_postgres()
    from skald_core.store.postgres import PostgresStore

    name = new_schema_name()

    class ThrowawayPostgresStore(PostgresStore):
        def close(self) -> None:
            try:
                super().close()
            finally:
                drop_schema(name)

    options.setdefault("max_size", 4)
    return ThrowawayPostgresStore(DATABASE_URL, schema=name, **options)


def query(schema: str, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of one statement run directly in ``schema`` (for tests that look underneath)."""
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=30) as conn:
        conn.execute("SELECT set_config('search_path', %s, false)", (f'"{schema}"',))
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]
