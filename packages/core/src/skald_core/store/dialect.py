"""What differs between the SQL of SQLite and of PostgreSQL, and the connection that hides it.

The store's statements are written once, in one neutral form: ``?`` placeholders, PostgreSQL's
row-lock clauses (``FOR UPDATE``, ``FOR NO KEY UPDATE``, ``FOR KEY SHARE``, ``SKIP LOCKED``) and
``octet_length``. ``Dialect.q`` turns a statement into the backend's form, once per statement
and process (cached): PostgreSQL's placeholders are ``%s``; SQLite, which has one writer at a
time, drops the lock clauses and spells ``octet_length`` as ``length``. ``Conn`` runs
statements through it. Nothing here imports a database driver.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``parts`` (the same in every process)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class Dialect:
    name: str
    #: The driver's placeholder for ``?``.
    param: str
    #: Whether the backend has row locks (else one writer at a time: lock clauses go).
    row_locks: bool
    #: ``content || ?`` on a BLOB/bytea column that may be NULL.
    append_blob: str
    #: Takes a transaction-level advisory lock on ``?`` (a ``lock_key``), or None: the
    #: backend serialises writers by other means.
    advisory_lock: str | None
    #: Counts the distinct tool ids of the tool parts in one session's messages; in the
    #: driver's own placeholder (one: the session's pk), run on ``Conn.raw``.
    count_tool_ids: str
    #: DDL types for ``schema.py``.
    types: dict[str, str] = field(default_factory=dict)
    _cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def q(self, sql: str) -> str:
        """``sql`` in the backend's form (statements hold no ``?`` or ``%`` in literals:
        LIKE patterns are passed as parameters)."""
        got = self._cache.get(sql)
        if got is None:
            got = self._rewrite(sql)
            self._cache[sql] = got
        return got

    def _rewrite(self, sql: str) -> str:
        if self.param != "?":
            sql = sql.replace("%", "%%").replace("?", self.param)
        if not self.row_locks:
            for clause in _LOCK_CLAUSES:
                sql = sql.replace(clause, "")
            sql = sql.replace("octet_length(", "length(")
        return sql


#: Longest first: each is removed whole.
_LOCK_CLAUSES = (" FOR UPDATE SKIP LOCKED", " FOR NO KEY UPDATE", " FOR KEY SHARE", " FOR UPDATE")


class Conn:
    """A driver connection (sqlite3 or psycopg) that takes statements in the neutral form."""

    __slots__ = ("d", "raw")

    def __init__(self, raw: Any, d: Dialect) -> None:
        self.raw = raw
        self.d = d

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """The driver's cursor; ``args`` always passed, so ``%`` escapes apply."""
        return self.raw.execute(self.d.q(sql), args)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.raw.cursor().executemany(self.d.q(sql), rows)

    def rows_of_blobs(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """All rows of a statement that reads large binary columns: on PostgreSQL in binary
        format (a bytea then arrives as its bytes, not as hex text twice its size)."""
        if self.d.name == "postgresql":
            return list(self.raw.execute(self.d.q(sql), args, binary=True).fetchall())
        return list(self.raw.execute(self.d.q(sql), args).fetchall())

    def one(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or None."""
        got = self.raw.execute(self.d.q(sql), args).fetchone()
        return got[0] if got else None


# "tool_parts > 0 OR context_parts > 0" lets the planner use the partial index
# messages_with_parts on both backends.
_TOOL_MESSAGES = (
    "m.session_pk = {p} AND (m.tool_parts > 0 OR m.context_parts > 0) AND m.tool_parts > 0"
)

SQLITE = Dialect(
    name="sqlite",
    param="?",
    row_locks=False,
    append_blob="CAST(COALESCE(content, X'') || ? AS BLOB)",  # || yields TEXT in SQLite
    advisory_lock=None,
    count_tool_ids=(
        "SELECT COUNT(DISTINCT json_extract(p.value, '$.tool_id')) FROM messages m, "
        f"json_each(m.body, '$.parts') p WHERE {_TOOL_MESSAGES.format(p='?')} "
        "AND json_extract(p.value, '$.type') = 'tool'"
    ),
    types={
        "id": "INTEGER PRIMARY KEY",
        "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",  # audit ids are never reused
        "text": "TEXT",
        "blob": "BLOB",
        "real": "REAL",
        "int": "INTEGER",
        "bigint": "INTEGER",
        "bool": "INTEGER",
        "ref": "INTEGER",
        "without_rowid": " WITHOUT ROWID",
    },
)

POSTGRES = Dialect(
    name="postgresql",
    param="%s",
    row_locks=True,
    append_blob="COALESCE(content, ''::bytea) || ?",
    advisory_lock="SELECT pg_advisory_xact_lock(?)",
    # The body is JSON (msgspec-encoded, so valid UTF-8), read as SQLite's json_each reads
    # it. PostgreSQL cannot turn a "\u0000" escape into text (a message text may hold NUL), so
    # those escapes - the ones not themselves escaped, after an even run of backslashes - are
    # dropped first; only tool ids and part types are read here.
    count_tool_ids=(
        "SELECT COUNT(DISTINCT p.value ->> 'tool_id') FROM messages m, "
        "json_array_elements(regexp_replace(convert_from(m.body, 'UTF8'), "
        r"'(?<!\\)((\\\\)*)\\u0000', '\1', 'g')::json -> 'parts') p "
        f"WHERE {_TOOL_MESSAGES.format(p='%s')} AND p.value ->> 'type' = 'tool'"
    ),
    types={
        "id": "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        "serial": "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
        # Every text column compares bytes, as SQLite's BINARY collation does: orderings and
        # the path range scans (path >= 'a/' AND path < 'a0') must not follow a locale.
        "text": 'text COLLATE "C"',
        "blob": "bytea",
        "real": "double precision",
        "int": "integer",
        "bigint": "bigint",
        "bool": "boolean",
        "ref": "bigint",
        "without_rowid": "",
    },
)
