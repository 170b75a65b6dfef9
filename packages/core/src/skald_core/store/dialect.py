"""What differs between the SQL of SQLite and of PostgreSQL, in one small object.

The store's statements are written once, with ``?`` placeholders and the row-lock clauses and
expressions named here; ``Dialect.q`` turns a statement into the backend's form (cached, so a
statement is rewritten once per process). Nothing here imports a database driver.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``parts`` (the same in every process)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class Dialect:
    name: str
    #: The driver's placeholder for ``?``.
    param: str
    #: Row-lock clauses appended to a SELECT: empty where one writer at a time is the rule.
    for_update: str
    for_no_key_update: str
    for_key_share: str
    #: A task claim's sub-select: skip rows another transaction is claiming right now.
    skip_locked: str
    #: Byte length of a BLOB/bytea column.
    length: str
    #: ``content || ?`` on a BLOB/bytea column that may be NULL.
    append_blob: str
    #: Takes a transaction-level advisory lock on ``?`` (a ``lock_key``), or None: the
    #: backend serialises writers by other means.
    advisory_lock: str | None
    #: Counts the distinct tool ids of the tool parts in one session's messages; in the
    #: driver's own placeholder (one: the session's pk), not passed through ``q``.
    count_tool_ids: str
    #: DDL types for ``schema.py``.
    types: dict[str, str] = field(default_factory=dict)
    _cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def q(self, sql: str) -> str:
        """``sql`` with the backend's placeholders (statements hold no ``?`` or ``%`` in
        literals, except the ``%`` of LIKE patterns, passed as parameters)."""
        got = self._cache.get(sql)
        if got is None:
            got = sql if self.param == "?" else sql.replace("%", "%%").replace("?", self.param)
            self._cache[sql] = got
        return got


# "tool_parts > 0 OR context_parts > 0" lets the planner use the partial index
# messages_with_parts on both backends.
_TOOL_MESSAGES = (
    "m.session_pk = {p} AND (m.tool_parts > 0 OR m.context_parts > 0) AND m.tool_parts > 0"
)

SQLITE = Dialect(
    name="sqlite",
    param="?",
    for_update="",
    for_no_key_update="",
    for_key_share="",
    skip_locked="",
    length="length",
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
    for_update=" FOR UPDATE",
    for_no_key_update=" FOR NO KEY UPDATE",
    for_key_share=" FOR KEY SHARE",
    skip_locked=" FOR UPDATE SKIP LOCKED",
    length="octet_length",
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
