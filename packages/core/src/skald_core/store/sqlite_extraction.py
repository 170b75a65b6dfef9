"""Extraction in SQLite: the dialect of ``extraction_apply`` (``SQL``) and reading the
recorded extractions back.

Each function runs inside the caller's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import msgspec

from .extraction_apply import ExtractionSQL
from .model import (
    ArchiveExtraction,
    ExtractionSummary,
    MemoryDiff,
    TokenCounts,
)

_diff_decoder = msgspec.json.Decoder(MemoryDiff)
_counts_decoder = msgspec.json.Decoder(dict[str, int])

SQL = ExtractionSQL.dialect(param="?", lock="", user_column="user")
_USAGE_COLUMNS = "prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens"


def _usage(row: Sequence[int]) -> TokenCounts:
    return TokenCounts(
        prompt_tokens=row[0],
        completion_tokens=row[1],
        total_tokens=row[2],
        cached_tokens=row[3],
        reasoning_tokens=row[4],
    )


def summary(conn: sqlite3.Connection, session_pk: int) -> ExtractionSummary:
    by_category: dict[str, int] = {}
    for (counts,) in conn.execute(
        "SELECT by_category FROM archive_extractions WHERE session_pk = ?", (session_pk,)
    ):
        for category, n in _counts_decoder.decode(counts).items():
            by_category[category] = by_category.get(category, 0) + n
    sums = conn.execute(
        "SELECT COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), "
        "COALESCE(SUM(total_tokens), 0), COALESCE(SUM(cached_tokens), 0), "
        "COALESCE(SUM(reasoning_tokens), 0) FROM archive_extractions WHERE session_pk = ?",
        (session_pk,),
    ).fetchone()
    return ExtractionSummary(by_category=dict(sorted(by_category.items())), usage=_usage(sums))


def extractions(conn: sqlite3.Connection, session_pk: int) -> list[ArchiveExtraction]:
    cur = conn.execute(
        f"SELECT archive_no, extracted_at, memory_diff, by_category, {_USAGE_COLUMNS} "
        "FROM archive_extractions WHERE session_pk = ? ORDER BY archive_no",
        (session_pk,),
    )
    return [
        ArchiveExtraction(
            archive_no=r[0],
            extracted_at=r[1],
            diff=_diff_decoder.decode(r[2]),
            by_category=_counts_decoder.decode(r[3]),
            usage=_usage(r[4:9]),
        )
        for r in cur
    ]
