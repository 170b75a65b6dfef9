"""Extraction in PostgreSQL: the dialect of ``extraction_apply`` (``SQL``) and reading the
recorded extractions back.

The caller (``PostgresStore``) holds the session row lock and the owner's memory lock while
``extraction_apply.apply_diff`` runs, so two replicas extracting for one user write their
diffs one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .extraction_apply import ExtractionSQL
from .model import (
    ArchiveExtraction,
    ExtractionSummary,
)
from .sqlite_extraction import _counts_decoder, _diff_decoder, _usage

SQL = ExtractionSQL.dialect(param="%s", lock=" FOR UPDATE", user_column="user_name")


def summary_of(categories: Sequence[str], sums: Sequence[int]) -> ExtractionSummary:
    """The summary from each extraction's per-category counts (JSON) and the token sums."""
    by_category: dict[str, int] = {}
    for counts in categories:
        for category, n in _counts_decoder.decode(counts).items():
            by_category[category] = by_category.get(category, 0) + n
    return ExtractionSummary(by_category=dict(sorted(by_category.items())), usage=_usage(sums))


def extractions_of(rows: Sequence[Sequence[Any]]) -> list[ArchiveExtraction]:
    """Rows of (archive_no, extracted_at, memory_diff, by_category, five token counts)."""
    return [
        ArchiveExtraction(
            archive_no=r[0],
            extracted_at=r[1],
            diff=_diff_decoder.decode(r[2]),
            by_category=_counts_decoder.decode(r[3]),
            usage=_usage(r[4:9]),
        )
        for r in rows
    ]
