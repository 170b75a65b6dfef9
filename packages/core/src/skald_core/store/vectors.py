"""Embedding vectors of memories: their table, the statements that read and write them, and the
cosine ranking of a bounded candidate set in process (numpy).

What is embedded: a user's own memories (files under ``user/{user}/memories/``), one vector
per file, kept in ``memory_vectors`` with the file's account and user (the key every query
filters on, inside the statement), the model that made it and its dimensions. A vector is
stored unit-length as float32 bytes, so a cosine is a dot product.

The vector goes with the file: ``file_pk`` references ``files`` with ``ON DELETE CASCADE``
(every delete path: hard delete, purge, ``forget_memories``, extraction's deletes, user
erasure, ``rm``), and a trigger deletes it in the statement that changes the file's content,
path or kind (extraction's updates, writes, moves), so a stale vector never outlives the text
it was made from. The missing vector is then made again by an ``embed`` task (see
``service/vector_index.py``).

PostgreSQL's pgvector would rank in SQL; it is detected (``pgvector_installed``) but not used
yet: this module's numpy ranking serves both backends.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from msgspec import Struct

from .dialect import SQLITE, Conn
from .model import Owner
from .rows import below

#: The task type of an embedding run (a row of ``tasks`` with no session).
EMBED_TASK = "embed"

TABLE_DDL = (
    """
    CREATE TABLE IF NOT EXISTS memory_vectors (
        file_pk $ref NOT NULL PRIMARY KEY REFERENCES files (pk) ON DELETE CASCADE,
        account $text NOT NULL,
        user_name $text NOT NULL,
        model $text NOT NULL,
        dims $int NOT NULL,
        vector $blob NOT NULL,
        embedded_at $real NOT NULL
    )
    """,
    # A query's candidates: the owner's most recently embedded vectors.
    "CREATE INDEX IF NOT EXISTS memory_vectors_recent "
    "ON memory_vectors (account, user_name, embedded_at)",
)

SQLITE_DDL = (
    "CREATE TRIGGER IF NOT EXISTS files_vector_stale AFTER UPDATE OF content, path, is_dir "
    "ON files WHEN old.content IS NOT new.content OR old.path <> new.path "
    "OR old.is_dir <> new.is_dir "
    "BEGIN DELETE FROM memory_vectors WHERE file_pk = old.pk; END",
)

# ``$$$$`` is ``$$`` once schema.py's Template has substituted the types.
POSTGRES_DDL = (
    "CREATE OR REPLACE FUNCTION skald_files_vector_stale() RETURNS trigger LANGUAGE plpgsql "
    "AS $$$$ BEGIN DELETE FROM memory_vectors WHERE file_pk = OLD.pk; RETURN NULL; END $$$$",
    "DROP TRIGGER IF EXISTS files_vector_stale ON files",
    "CREATE TRIGGER files_vector_stale AFTER UPDATE OF content, path, is_dir ON files "
    "FOR EACH ROW WHEN (OLD.content IS DISTINCT FROM NEW.content OR OLD.path IS DISTINCT "
    "FROM NEW.path OR OLD.is_dir IS DISTINCT FROM NEW.is_dir) "
    "EXECUTE FUNCTION skald_files_vector_stale()",
)


class ToEmbed(Struct, frozen=True):
    """A memory without a vector of the model: its row and its stored bytes."""

    file_pk: int
    path: str
    content: bytes


class Candidate(Struct, frozen=True):
    path: str
    vector: bytes
    dims: int


def memories_prefix(user: str) -> str:
    return f"user/{user}/memories"


def pack(vector: Sequence[float]) -> bytes:
    """The vector scaled to unit length, as float32 bytes (a zero vector stays zero)."""
    v = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(v))
    return (v / norm if norm > 0 else v).astype(np.float32).tobytes()


def to_embed(conn: Conn, owner: Owner, model: str, limit: int) -> list[ToEmbed]:
    """The owner's memories without a vector made by ``model``, oldest row first."""
    lo, hi = below(memories_prefix(owner.user))
    rows = conn.execute(
        "SELECT f.pk, f.path, f.content FROM files f LEFT JOIN memory_vectors v "
        "ON v.file_pk = f.pk AND v.model = ? WHERE f.account = ? AND f.path >= ? "
        "AND f.path < ? AND NOT f.is_dir AND f.content IS NOT NULL AND v.file_pk IS NULL "
        "ORDER BY f.pk LIMIT ?",
        (model, owner.account, lo, hi, limit),
    ).fetchall()
    return [ToEmbed(file_pk=int(r[0]), path=r[1], content=bytes(r[2])) for r in rows]


def owners_to_embed(conn: Conn, model: str, limit: int) -> list[Owner]:
    """Owners having a memory without a vector made by ``model`` (at most ``limit``)."""
    glob = (
        "f.path GLOB 'user/*/memories/*'" if conn.d is SQLITE else "f.path LIKE 'user/%/memories/%'"
    )
    user = (
        "substr(f.path, 6, instr(substr(f.path, 6), '/') - 1)"
        if conn.d is SQLITE
        else "split_part(f.path, '/', 2)"
    )
    rows = conn.execute(
        f"SELECT DISTINCT f.account, {user} FROM files f LEFT JOIN memory_vectors v "
        f"ON v.file_pk = f.pk AND v.model = ? WHERE {glob} AND NOT f.is_dir "
        "AND f.content IS NOT NULL AND v.file_pk IS NULL LIMIT ?",
        (model, limit),
    ).fetchall()
    return [Owner(r[0], r[1]) for r in rows]


def put(
    conn: Conn,
    owner: Owner,
    model: str,
    items: Sequence[tuple[ToEmbed, bytes, int]],
    now: float,
) -> int:
    """Store each ``(memory, vector bytes, dims)``, unless the memory changed (or went) since
    it was read: the vector is written only where the file still holds the bytes embedded."""
    written = 0
    for item, vector, dims in items:
        got = conn.execute(
            "INSERT INTO memory_vectors (file_pk, account, user_name, model, dims, vector, "
            "embedded_at) SELECT f.pk, f.account, ?, ?, ?, ?, ? FROM files f WHERE f.pk = ? "
            "AND f.account = ? AND f.path = ? AND f.content = ? ON CONFLICT (file_pk) DO UPDATE "
            "SET model = excluded.model, dims = excluded.dims, vector = excluded.vector, "
            "embedded_at = excluded.embedded_at RETURNING file_pk",
            (
                owner.user,
                model,
                dims,
                vector,
                now,
                item.file_pk,
                owner.account,
                item.path,
                item.content,
            ),
        ).fetchone()
        written += got is not None
    return written


def candidates(
    conn: Conn,
    owner: Owner,
    model: str,
    scope: tuple[str, list[str]],
    paths: Sequence[str],
    recent: int,
) -> list[Candidate]:
    """The owner's vectors of ``model`` under the scope (a clause over files ``f`` and its
    arguments): those of ``paths`` (full text's best) and the ``recent`` most recently
    embedded. Account and user are in the statement."""
    clause, args = scope
    base = (
        "SELECT f.path, v.vector, v.dims FROM memory_vectors v JOIN files f ON f.pk = v.file_pk "
        f"WHERE v.account = ? AND v.user_name = ? AND v.model = ? AND {clause}"
    )
    owner_args: list[object] = [owner.account, owner.user, model, *args]
    rows = conn.execute(
        f"{base} ORDER BY v.embedded_at DESC LIMIT ?", (*owner_args, recent)
    ).fetchall()
    seen = {r[0] for r in rows}
    wanted = [p for p in dict.fromkeys(paths) if p not in seen]
    if wanted:
        # From the files named (by the account's path index), never by the owner's vectors:
        # SQLite is told so by CROSS JOIN.
        marks = ", ".join("?" * len(wanted))
        rows += conn.execute(
            "SELECT f.path, v.vector, v.dims FROM files f CROSS JOIN memory_vectors v "
            f"WHERE v.file_pk = f.pk AND f.account = ? AND f.path IN ({marks}) "
            f"AND v.account = ? AND v.user_name = ? AND v.model = ? AND {clause}",
            (owner.account, *wanted, *owner_args),
        ).fetchall()
    return [Candidate(r[0], bytes(r[1]), int(r[2])) for r in rows]


def rank(
    query: Sequence[float], found: Sequence[Candidate], floor: float, top: int = 1_000_000
) -> list[tuple[str, float]]:
    """``(path, cosine)`` of the (at most ``top``) candidates whose cosine with ``query``
    exceeds ``floor``, best first (ties in the candidates' order)."""
    q = np.frombuffer(pack(query), dtype=np.float32)
    dims = q.shape[0]
    same = [c for c in found if c.dims == dims]
    if not same or not q.any():
        return []
    matrix = np.frombuffer(b"".join([c.vector for c in same]), dtype=np.float32)
    scores = matrix.reshape(len(same), dims) @ q
    keep = np.flatnonzero(scores > floor)
    if len(keep) > top:
        keep = keep[np.argpartition(-scores[keep], top - 1)[:top]]
    keep = keep[np.argsort(-scores[keep], kind="stable")]
    return [(same[i].path, float(scores[i])) for i in keep.tolist()]


def file_texts(conn: Conn, account: str, paths: Sequence[str]) -> dict[str, str]:
    """The text of each of the account's files at ``paths`` (for abstracts)."""
    if not paths:
        return {}
    marks = ", ".join("?" * len(paths))
    rows = conn.execute(
        f"SELECT path, content FROM files WHERE account = ? AND path IN ({marks})",
        (account, *paths),
    ).fetchall()
    return {r[0]: bytes(r[1] or b"").decode("utf-8", errors="replace") for r in rows}


def count(conn: Conn, account: str | None = None) -> int:
    """Vectors stored (of one account, or all)."""
    if account is None:
        return int(conn.execute("SELECT COUNT(*) FROM memory_vectors").fetchone()[0])
    sql = "SELECT COUNT(*) FROM memory_vectors WHERE account = ?"
    return int(conn.execute(sql, (account,)).fetchone()[0])


def pgvector_installed(conn: Conn) -> bool:
    """Whether the database has the ``vector`` extension (PostgreSQL; never on SQLite)."""
    if conn.d is SQLITE:
        return False
    got = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
    return got is not None
