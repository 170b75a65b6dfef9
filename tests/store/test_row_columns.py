"""Every backend builds ``SessionRow``, ``TaskRow`` and ``ArchiveRow`` positionally from the
column lists in ``rows``: each list must name its struct's fields, in the struct's order (the
owner's user column is ``user_name``: ``user`` is reserved in PostgreSQL). And an audit row
records the counts of a deletion receipt, under the keys it always had."""

from __future__ import annotations

import msgspec
import pytest

from skald_core.schemas import DeletedCounts, DeletionReceipt, KeptCounts
from skald_core.store.deletion import audit_counts
from skald_core.store.model import ArchiveRow, SessionRow, TaskRow
from skald_core.store.rows import ARCHIVE_COLUMNS, SESSION_COLUMNS, TASK_COLUMNS


@pytest.mark.parametrize(
    ("columns", "struct"),
    [(SESSION_COLUMNS, SessionRow), (TASK_COLUMNS, TaskRow), (ARCHIVE_COLUMNS, ArchiveRow)],
    ids=["session", "task", "archive"],
)
def test_columns_are_the_row_fields_in_order(columns: str, struct: type) -> None:
    renamed = {"user_name": "user"}
    names = [renamed.get(c.strip(), c.strip()) for c in columns.split(",")]
    assert names == [f.name for f in msgspec.structs.fields(struct)]


def test_an_audit_row_counts_what_a_receipt_counts() -> None:
    receipt = DeletionReceipt(
        session_id="s1",
        mode="hard",
        deleted=DeletedCounts(
            messages=1, archives=2, files=3, tool_records=4, pending_tasks=5, memories=7
        ),
        kept=KeptCounts(memories=6),
    )
    assert audit_counts(receipt) == {
        "messages": 1,
        "archives": 2,
        "files": 3,
        "tool_records": 4,
        "pending_tasks": 5,
        "memories_kept": 6,
        "memories_deleted": 7,
    }
