"""Full-text queries, written once for both backends.

Files (memories, resources, skills): a query is planned into one of two modes: ``index`` (the
backend's full-text index of ``search_sql.py``: FTS5 trigrams on SQLite, a ``tsquery`` of word
prefixes on PostgreSQL) or ``scan`` (a lower-cased substring test over the caller's own files,
for what the index cannot answer: terms shorter than 3 characters on SQLite, CJK text on
PostgreSQL).

Conversations: no index (see ``search_sql.py`` for why); the caller's messages, newest first,
are read by one statement that keeps those whose stored body holds a query term (a substring
test in the database), at most ``SCAN_CANDIDATES`` of them; each is decoded, kept only when
its text parts hold a term, and ranked here by BM25 over those candidates.

Tenancy is part of every statement (``account``, and the user's paths or ``user_name``),
never a filter applied to results.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from msgspec import Struct

from ..schemas import TextPart, message_decoder
from .dialect import SQLITE, Conn
from .model import Owner
from .rows import below
from .search_sql import POSTGRES_SEARCH, SQLITE_SEARCH, SearchSQL

_WORD = re.compile(r"\w+")
# Scripts written without spaces between words.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
#: SQLite's trigram tokenizer needs 3 characters to use the index.
TRIGRAM = 3
#: At most this many terms of a query are used (the rest are dropped).
MAX_TERMS = 32
#: A conversation search ranks at most this many of the caller's newest matching messages.
SCAN_CANDIDATES = 1_000
# BM25's parameters (the usual ones).
_K1 = 1.2
_B = 0.75
#: English words too common to rank by, dropped from a query that has other words: a question
#: ("what did the user say about hiking") would otherwise match nearly every document, and
#: every match is ranked before the best are kept.
_STOPWORDS = (
    "a about above after again all also am an and any are as at be been before being below "
    "between both but by can could did do does doing down during each few for from further "
    "had has have having he her here hers him his how i if in into is it its just me more "
    "most my no nor not now of off on once only or other our out over own same say said "
    "she should so some such than that the their them then there these they this those "
    "through to too under until up user very was we were what when where which while who "
    "whom why will with would you your"
)
STOPWORDS = frozenset(_STOPWORDS.split())


class FileHit(Struct, frozen=True):
    """``score``: the index's rank in [0, 1) (see ``_bm25_to_unit``); the scan ranks 0.5."""

    path: str
    score: float
    text: str


class MessageHit(Struct, frozen=True):
    session_id: str
    archive_no: int
    body: bytes
    score: float


class Plan(Struct, frozen=True):
    mode: str  # "index" | "scan" | "none"
    arg: str


def sql_for(conn: Conn) -> SearchSQL:
    return SQLITE_SEARCH if conn.d is SQLITE else POSTGRES_SEARCH


def plan(query: str, *, sqlite: bool) -> Plan:
    """How ``query`` is answered on a backend (``sqlite`` or PostgreSQL)."""
    text = query.strip().lower()
    terms = list(dict.fromkeys(_WORD.findall(text)))
    terms = ([t for t in terms if t not in STOPWORDS] or terms)[:MAX_TERMS]
    if not text:
        return Plan(mode="none", arg="")
    if sqlite:
        long = [t for t in terms if len(t) >= TRIGRAM]
        if long:
            # Each term a quoted FTS5 string (\w+ holds no quote); any term may match, BM25
            # ranks documents holding more (and rarer) terms first.
            return Plan(mode="index", arg=" OR ".join(f'"{t}"' for t in long))
        return Plan(mode="scan", arg=text)
    if _CJK.search(text) or not terms:
        return Plan(mode="scan", arg=text)
    return Plan(mode="index", arg=" | ".join(f"{t}:*" for t in terms))


def _bm25_to_unit(score: float, sqlite: bool) -> float:
    """SQLite's BM25 (>= 0, unbounded) as s / (1 + s); PostgreSQL's is already in [0, 1)."""
    s = max(float(score), 0.0)
    return s / (1.0 + s) if sqlite else s


def scope_clause(prefixes: Sequence[str]) -> tuple[str, list[str]]:
    """``(f.path = p OR p/ <= f.path < p0) OR ...`` for each prefix (``''``: every path)."""
    parts: list[str] = []
    args: list[str] = []
    for p in prefixes:
        if not p:
            return "1 = 1", []
        lo, hi = below(p)
        parts.append("(f.path = ? OR (f.path >= ? AND f.path < ?))")
        args += [p, lo, hi]
    return "(" + " OR ".join(parts) + ")", args


def search_files(
    conn: Conn, account: str, prefixes: Sequence[str], query: str, limit: int
) -> list[FileHit]:
    """The account's indexed files under any of ``prefixes`` that match ``query``, best
    first (at most ``limit``)."""
    if not prefixes or limit <= 0:
        return []
    q = sql_for(conn)
    sqlite = conn.d is SQLITE
    p = plan(query, sqlite=sqlite)
    scope, scope_args = scope_clause(prefixes)
    if p.mode == "index":
        rows = conn.execute(
            f"SELECT f.path, {q.files_score} AS score, {q.file_text} {q.files_match} "
            f"f.account = ? AND {scope} ORDER BY score DESC, f.path LIMIT ?",
            (p.arg, account, *scope_args, limit),
        ).fetchall()
        return [
            FileHit(path=r[0], score=_bm25_to_unit(r[1], sqlite), text=r[2] or "") for r in rows
        ]
    if p.mode == "scan":
        rows = conn.execute(
            f"SELECT f.path, {q.file_text} FROM files f WHERE f.account = ? AND {scope} "
            f"AND {q.files_contains} ORDER BY f.updated_at DESC, f.path LIMIT ?",
            (account, *scope_args, p.arg, limit),
        ).fetchall()
        return [FileHit(path=r[0], score=0.5, text=r[1] or "") for r in rows]
    return []


def terms_of(query: str) -> list[str]:
    """The words of ``query`` a search looks for, lower-cased, each once: common English words
    dropped when others are left; the whole query when it holds no word."""
    text = query.strip().lower()
    terms = list(dict.fromkeys(_WORD.findall(text)))
    terms = ([t for t in terms if t not in STOPWORDS] or terms)[:MAX_TERMS]
    return terms or ([text] if text else [])


def _spellings(term: str) -> list[str]:
    """How ``term`` may appear in a body lower-cased by the database, whose ``lower`` may fold
    ASCII letters only (SQLite's; PostgreSQL's under the C locale): as it is, and with its
    other letters in capitals (all of them, or the first)."""
    if term.isascii():
        return [term]
    up = "".join(c if c.isascii() else c.upper() for c in term)
    first = (term[0] if term[0].isascii() else term[0].upper()) + term[1:]
    return list(dict.fromkeys([term, up, first]))


def search_messages(
    conn: Conn, owner: Owner, session_id: str | None, query: str, limit: int
) -> list[MessageHit]:
    """Messages (live and archived) of the owner's live sessions (or of one) whose text
    holds a word of ``query``, best first. A soft-deleted session's messages are not found
    until restored; a deleted one's are gone with its rows (nothing else holds them)."""
    terms = terms_of(query)
    if limit <= 0 or not terms:
        return []
    q = sql_for(conn)
    where = "s.account = ? AND s.user_name = ? AND s.deleted_at IS NULL"
    args: list[object] = [owner.account, owner.user]
    if session_id is not None:
        where += " AND s.session_id = ?"
        args.append(session_id)
    needles = [n for t in terms for n in _spellings(t)]
    has = " OR ".join(q.contains.format(x=q.message_body_lower) for _ in needles)
    # The plan must walk the owner's sessions, then each one's messages, never every message
    # by pk: SQLite is told so by CROSS JOIN; PostgreSQL by a LIMIT written in the statement
    # (a LIMIT parameter lets the generic plan of a prepared statement, used after a few
    # runs, scan messages by pk, 100 times slower on a store of 100 users).
    rows = conn.execute(
        "SELECT s.session_id, m.archive_no, m.body FROM sessions s CROSS JOIN messages m "
        f"WHERE m.session_pk = s.pk AND {where} AND ({has}) ORDER BY m.pk DESC "
        f"LIMIT {SCAN_CANDIDATES:d}",
        (*args, *needles),
    ).fetchall()
    found: list[tuple[str, int, bytes, list[int], int]] = []
    for sid, archive_no, body in rows:
        raw = bytes(body)
        message = message_decoder.decode(raw)
        text = " ".join(p.text for p in message.parts if isinstance(p, TextPart)).lower()
        counts = [text.count(t) for t in terms]
        if any(counts):
            found.append((sid, int(archive_no), raw, counts, len(_WORD.findall(text)) or 1))
    if not found:
        return []
    n = len(found)
    avg = sum(f[4] for f in found) / n
    idf = [
        math.log(1 + (n - df + 0.5) / (df + 0.5))
        for df in (sum(1 for f in found if f[3][i]) for i in range(len(terms)))
    ]
    scored: list[tuple[float, int, MessageHit]] = []
    for order, (sid, archive_no, raw, counts, words) in enumerate(found):
        norm = _K1 * (1 - _B + _B * words / avg)
        bm25 = sum(w * c * (_K1 + 1) / (c + norm) for w, c in zip(idf, counts, strict=True))
        # In [0, 1), as the files' ranks (see _bm25_to_unit).
        hit = MessageHit(session_id=sid, archive_no=archive_no, body=raw, score=bm25 / (1 + bm25))
        scored.append((-bm25, order, hit))
    scored.sort(key=lambda x: (x[0], x[1]))  # best first; among equals, newest first
    return [h for _, _, h in scored[:limit]]
