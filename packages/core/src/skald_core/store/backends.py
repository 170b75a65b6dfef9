"""Choosing a backend: SQLite under a data directory (the default), or PostgreSQL by URL.

The PostgreSQL modules (and psycopg) are imported only when a database URL is given, so the
default install of ``skald-core`` needs nothing beyond msgspec.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError
from ..literals import Durability

if TYPE_CHECKING:
    from .protocol import Store

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(url: str | None) -> bool:
    return bool(url) and str(url).startswith(POSTGRES_SCHEMES)


def open_store(
    *,
    path: str | os.PathLike[str] | None = None,
    database_url: str | None = None,
    database_schema: str | None = None,
    pool_min_size: int = 1,
    pool_max_size: int = 10,
    pool_timeout: float = 5.0,
    durability: Durability | None = None,
    lazy: bool = False,
) -> Store:
    """PostgreSQL when ``database_url`` is given (a clear error when psycopg, the ``postgres``
    extra, is not installed), else SQLite under ``path``; ``durability`` (``literals``): when
    a commit is acknowledged, None for the backend's usual (SQLite ``crash``, PostgreSQL
    ``fsync``)."""
    if database_url:
        if not is_database_url(database_url):
            raise InvalidArgumentError(
                "database_url must be a PostgreSQL URL (postgresql://user:password@host:5432/db)",
                {"field": "database_url"},
            )
        try:
            from .postgres import PostgresStore
        except ImportError as exc:  # pragma: no cover - the server always installs the extra
            raise InvalidArgumentError(
                f"The PostgreSQL backend needs psycopg: pip install 'skald-core[postgres]' ({exc})",
                {"field": "database_url"},
            ) from exc
        return PostgresStore(
            database_url,
            schema=database_schema,
            min_size=pool_min_size,
            max_size=pool_max_size,
            timeout=pool_timeout,
            synchronous_commit=durability != "crash",
            lazy=lazy,
        )
    from .sqlite import SQLiteStore

    if path is None:
        raise InvalidArgumentError("A data directory (path) or a database URL is needed")
    return SQLiteStore(path, synchronous="FULL" if durability == "fsync" else "NORMAL")
