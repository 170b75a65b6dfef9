"""Column lists and row decoding, the same for every SQL backend.

The ``*_COLUMNS`` lists are selected in the field order of their row type, so rows are built
positionally (listings build thousands of them); ``tests/store/test_row_columns.py`` checks
the orders. Paths are storage keys (``user/u/memories/x``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from .model import (
    ArchiveExtraction,
    ArchiveRow,
    ExtractionSummary,
    FileRow,
    MemoryDiff,
    SessionRow,
    StoredMessage,
    TaskRow,
    TokenUsage,
)

SESSION_COLUMNS = (
    "pk, account, user_name, session_id, created_at, updated_at, message_count, "
    "total_message_count, pending_tokens, total_tokens, total_turns, commit_count, "
    "memories_extracted, last_commit_at, last_message_at, deleted_at, deleted_by"
)
TASK_COLUMNS = (
    "task_id, account, user_name, task_type, session_id, archive_no, status, result, error, "
    "created_at, updated_at, attempts"
)
ARCHIVE_COLUMNS = (
    "archive_no, created_at, status, message_count, tokens, first_message_id, last_message_id, "
    "abstract, overview, memories_extracted, done_at, error"
)
USAGE_COLUMNS = "prompt_tokens, completion_tokens, total_tokens, cached_tokens, reasoning_tokens"
EXTRACTION_COLUMNS = f"archive_no, extracted_at, memory_diff, by_category, {USAGE_COLUMNS}"


def prefixed(columns: str, alias: str) -> str:
    """``columns`` qualified by a table alias: ``a.x, a.y``."""
    return ", ".join(f"{alias}.{c.strip()}" for c in columns.split(","))


_diff_decoder = msgspec.json.Decoder(MemoryDiff)
_counts_decoder = msgspec.json.Decoder(dict[str, int])


def session_row(row: Sequence[Any]) -> SessionRow:
    return SessionRow(*row)  # SESSION_COLUMNS is in field order


def task_row(row: Sequence[Any]) -> TaskRow:
    return TaskRow(*row)  # TASK_COLUMNS is in field order


def archive_row(row: Sequence[Any]) -> ArchiveRow:
    return ArchiveRow(*row)  # ARCHIVE_COLUMNS is in field order


def file_row(row: Sequence[Any]) -> FileRow:
    """A row of ``file_columns(d)`` followed by the content (or NULL)."""
    content = row[5]
    return FileRow(
        path=row[0],
        is_dir=bool(row[1]),
        size=row[2],
        created_at=row[3],
        updated_at=row[4],
        content=bytes(content) if content is not None else None,
    )


def message_row(row: Sequence[Any]) -> StoredMessage:
    """A row of (archive_no, tokens, body)."""
    return StoredMessage(archive_no=row[0], tokens=row[1], body=row[2])


def usage_row(row: Sequence[Any]) -> TokenUsage:
    return TokenUsage(
        prompt_tokens=int(row[0]),
        completion_tokens=int(row[1]),
        total_tokens=int(row[2]),
        cached_tokens=int(row[3]),
        reasoning_tokens=int(row[4]),
    )


def extraction_row(row: Sequence[Any]) -> ArchiveExtraction:
    """A row of ``EXTRACTION_COLUMNS``."""
    return ArchiveExtraction(
        archive_no=row[0],
        extracted_at=row[1],
        diff=_diff_decoder.decode(row[2]),
        by_category=_counts_decoder.decode(row[3]),
        usage=usage_row(row[4:9]),
    )


def extraction_summary(rows: Sequence[Sequence[Any]]) -> ExtractionSummary:
    """Per-category counts and token sums over rows of (by_category, five token counts)."""
    by_category: dict[str, int] = {}
    sums = [0, 0, 0, 0, 0]
    for row in rows:
        for category, n in _counts_decoder.decode(row[0]).items():
            by_category[category] = by_category.get(category, 0) + n
        for i in range(5):
            sums[i] += int(row[1 + i])
    return ExtractionSummary(by_category=dict(sorted(by_category.items())), usage=usage_row(sums))


def parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def below(prefix: str) -> tuple[str, str]:
    """Bounds of every path strictly below ``prefix`` ('0' sorts right after '/')."""
    return prefix + "/", prefix + "0"
