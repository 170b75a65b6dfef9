"""Full-text search: the index DDL and the match clauses, one set per backend.

Why per backend: the two engines share no syntax. SQLite has FTS5 (a virtual table with its
own MATCH and ``bm25``); PostgreSQL has ``tsvector`` columns, GIN indexes, ``@@`` and
``ts_rank_cd``. Everything around the match (the tenancy, the scopes, the ordering, the
decoding of rows) is written once, in ``search.py``.

What is indexed: the text of every file that is not a directory and not a session's own file
(memories, resources, skills: ``files`` rows with ``session_pk IS NULL`` outside
``user/*/sessions/``). The index is kept by triggers on ``files``, so EVERY write and delete
path (extraction's diffs, file writes, moves and removals, hard delete and purge,
``forget_memories``, user erasure) updates it inside the statement that changes the row, in the
same transaction; no store method can forget it. Files are written rarely (a commit's
extraction, a user's upload), so the trigger's cost is paid off the hot paths.

Conversation messages are NOT indexed: they are searched by a scan of the caller's own
messages (``search.py``), so appends, commits and deletes of sessions pay nothing for search.
Why not an index per message, or per archive: on SQLite 3.40 (no FTS5 ``contentless_delete``)
removing a document from FTS5 re-tokenizes its whole text, so a session's delete would cost in
proportion to the text it held. Measured on this machine, FTS5 alone: removing 20 documents of
72 KB (one per archive of 500 messages) took 75 ms with the trigram tokenizer and 7 ms with a
word tokenizer, where deleting such a session costs 30-40 ms of CPU in all; indexing each
message on insert tripled a batch's time. PostgreSQL's GIN would make deletes cheap, not
inserts.

* SQLite: a *contentless* FTS5 table (``content=''``), trigram tokenizer, rowid = the file's
  pk. Contentless: the text itself lives only in ``files`` (no second copy to erase); the
  index holds trigrams. A trigram index finds any substring of 3+ characters, Latin or CJK
  alike; shorter queries fall back to a scan of the caller's files (``instr``). A removal
  hands FTS5 the old text (its ``'delete'`` command), computed by the same expression as the
  insertion, which is what a contentless table needs. A statement that may fire these
  triggers (also by a cascade into ``files``) writes a virtual table, so SQLite keeps a
  statement journal of every page it changes: keep bulk row changes out of such statements
  (``deletion.drop_messages``).
* PostgreSQL: a ``search_tsv`` column on ``files``, set by a BEFORE trigger from the same text
  (``simple`` configuration: lower-cased words, no stemming, any language with spaces), a
  partial GIN index. The vector lives in the row, so it goes with the row. Queries are word
  prefixes (``hik:*``). Text without spaces between words (CJK) is one lexeme, so a query
  holding CJK characters falls back to a substring scan of the caller's files, through the
  IMMUTABLE text function below. ``pg_trgm`` is not used: it needs an extension the database
  role may not be allowed to create, and the fallback is bounded by the caller's own files.
  A vector holds at most the first ``PG_MAX_CHARS`` characters (a ``tsvector`` is limited
  to 1 MB).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Characters of one file that PostgreSQL puts in its vector.
PG_MAX_CHARS = 200_000

# -- SQLite ---------------------------------------------------------------------------------

_SQLITE_FILE_INDEXED = (
    "NOT {r}.is_dir AND {r}.content IS NOT NULL AND {r}.session_pk IS NULL "
    "AND {r}.path NOT GLOB 'user/*/sessions/*'"
)
_SQLITE_FILE_TEXT = "CAST({r}.content AS TEXT)"


def _sqlite_ddl() -> tuple[str, ...]:
    fi = _SQLITE_FILE_INDEXED
    ft = _SQLITE_FILE_TEXT
    return (
        "CREATE VIRTUAL TABLE IF NOT EXISTS files_fts USING fts5(body, content='', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS files_fts_insert AFTER INSERT ON files WHEN {fi.format(r='new')} "
        f"BEGIN INSERT INTO files_fts (rowid, body) VALUES (new.pk, {ft.format(r='new')}); END",
        f"CREATE TRIGGER IF NOT EXISTS files_fts_delete AFTER DELETE ON files WHEN {fi.format(r='old')} "
        "BEGIN INSERT INTO files_fts (files_fts, rowid, body) "
        f"VALUES ('delete', old.pk, {ft.format(r='old')}); END",
        "CREATE TRIGGER IF NOT EXISTS files_fts_update AFTER UPDATE OF content, path, is_dir, session_pk "
        "ON files BEGIN "
        "INSERT INTO files_fts (files_fts, rowid, body) "
        f"SELECT 'delete', old.pk, {ft.format(r='old')} WHERE {fi.format(r='old')}; "
        f"INSERT INTO files_fts (rowid, body) SELECT new.pk, {ft.format(r='new')} "
        f"WHERE {fi.format(r='new')}; END",
        # What is already there (and not yet indexed: the list may run again over a store
        # that lost its migration records, see schema.py).
        f"INSERT INTO files_fts (rowid, body) SELECT f.pk, {ft.format(r='f')} FROM files f "
        f"WHERE {fi.format(r='f')} AND f.pk NOT IN (SELECT rowid FROM files_fts)",
    )


# -- PostgreSQL -----------------------------------------------------------------------------
# ``$$$$`` is ``$$`` once schema.py's Template has substituted the types.

_PG_DDL = (
    # The text of a file (NULL when it is not UTF-8: such a file is not indexed).
    "CREATE OR REPLACE FUNCTION skald_file_text(content bytea) RETURNS text "
    "LANGUAGE plpgsql IMMUTABLE AS $$$$ BEGIN "
    f"RETURN left(convert_from(content, 'UTF8'), {PG_MAX_CHARS}); "
    "EXCEPTION WHEN others THEN RETURN NULL; END $$$$",
    "ALTER TABLE files ADD COLUMN IF NOT EXISTS search_tsv tsvector",
    "CREATE OR REPLACE FUNCTION skald_files_tsv() RETURNS trigger LANGUAGE plpgsql AS $$$$ "
    "BEGIN IF NOT NEW.is_dir AND NEW.content IS NOT NULL AND NEW.session_pk IS NULL "
    "AND NOT (split_part(NEW.path, '/', 1) = 'user' AND split_part(NEW.path, '/', 3) = "
    "'sessions') THEN NEW.search_tsv := to_tsvector('simple', "
    "COALESCE(skald_file_text(NEW.content), '')); "
    "ELSE NEW.search_tsv := NULL; END IF; RETURN NEW; END $$$$",
    "DROP TRIGGER IF EXISTS files_tsv ON files",  # CREATE OR REPLACE TRIGGER: PostgreSQL 14+
    "CREATE TRIGGER files_tsv BEFORE INSERT OR UPDATE OF content, path, is_dir, session_pk "
    "ON files FOR EACH ROW EXECUTE FUNCTION skald_files_tsv()",
    # What is already there (fires the triggers).
    "UPDATE files SET content = content WHERE NOT is_dir AND content IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS files_search ON files USING gin (search_tsv) WHERE search_tsv IS NOT NULL",
)


@dataclass(frozen=True)
class SearchSQL:
    """One backend's search clauses. ``*_match`` take the match argument as their one ``?``;
    ``*_score`` is in [0, 1) on PostgreSQL, a BM25 score (>= 0) on SQLite."""

    #: DDL of the index (migration 5).
    ddl: tuple[str, ...]
    #: ``FROM ... WHERE <match> AND`` over files ``f``, then the score expression.
    files_match: str
    files_score: str
    #: A substring test of a file's lower-cased text against ``?``.
    files_contains: str
    #: ``{x}`` holds the substring ``?`` (a position function, > 0 when found).
    contains: str
    #: A message ``m``'s stored body (its JSON) as lower-cased text: what a conversation scan
    #: tests before decoding (SQLite's ``lower`` folds ASCII letters only).
    message_body_lower: str
    #: The text of a file ``f`` (for fallbacks and abstracts).
    file_text: str
    #: Statements listing rows the index disagrees with, as (problem, pk) (check_integrity).
    integrity: tuple[str, ...]
    #: Run in an erasure's transaction: what the index must rewrite so nothing of the erased
    #: rows stays in it.
    after_erasure: tuple[str, ...] = ()


SQLITE_SEARCH = SearchSQL(
    ddl=_sqlite_ddl(),
    files_match=(
        "FROM files_fts JOIN files f ON f.pk = files_fts.rowid WHERE files_fts MATCH ? AND"
    ),
    files_score="-bm25(files_fts)",
    files_contains=(
        f"{_SQLITE_FILE_INDEXED.format(r='f')} AND instr(lower({_SQLITE_FILE_TEXT.format(r='f')}), ?) > 0"
    ),
    contains="instr({x}, ?) > 0",
    message_body_lower="lower(CAST(m.body AS TEXT))",
    file_text=_SQLITE_FILE_TEXT.format(r="f"),
    integrity=(
        "SELECT 'stale file index entry', rowid FROM (SELECT rowid FROM files_fts EXCEPT "
        f"SELECT f.pk FROM files f WHERE {_SQLITE_FILE_INDEXED.format(r='f')}) LIMIT 5",
        "SELECT 'file missing from the index', pk FROM (SELECT f.pk FROM files f WHERE "
        f"{_SQLITE_FILE_INDEXED.format(r='f')} EXCEPT SELECT rowid FROM files_fts) LIMIT 5",
    ),
    # A removal from FTS5 (3.40 has no 'secure-delete') adds a delete marker; the removed
    # document's trigrams (never its text) stay in older segments until they are merged.
    # 'optimize' merges every segment now, so an erased user's trigrams are gone with the
    # transaction; the compaction that follows an erasure then rewrites the file.
    after_erasure=("INSERT INTO files_fts (files_fts) VALUES ('optimize')",),
)

POSTGRES_SEARCH = SearchSQL(
    ddl=_PG_DDL,
    files_match="FROM files f, to_tsquery('simple', ?) q WHERE f.search_tsv @@ q AND",
    # 32: rank / (rank + 1), a score in [0, 1).
    files_score="ts_rank_cd(f.search_tsv, q, 32)",
    files_contains=(
        "f.search_tsv IS NOT NULL AND strpos(lower(skald_file_text(f.content)), ?) > 0"
    ),
    contains="strpos({x}, ?) > 0",
    # msgspec writes valid UTF-8 JSON.
    message_body_lower="lower(convert_from(m.body, 'UTF8'))",
    file_text="skald_file_text(f.content)",
    integrity=(
        "SELECT 'file missing from the index', pk FROM files WHERE search_tsv IS NULL "
        "AND NOT is_dir AND content IS NOT NULL AND session_pk IS NULL "
        "AND NOT (split_part(path, '/', 1) = 'user' AND split_part(path, '/', 3) = 'sessions') "
        "LIMIT 5",
        "SELECT 'session file in the index', pk FROM files WHERE search_tsv IS NOT NULL "
        "AND session_pk IS NOT NULL LIMIT 5",
    ),
)
