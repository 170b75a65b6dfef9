"""Every backend builds ``SessionRow`` positionally from ``rows.SESSION_COLUMNS``: the column
list must name the struct's fields, in the struct's order (the owner's user column is
``user_name``: ``user`` is reserved in PostgreSQL)."""

from __future__ import annotations

import msgspec

from skald_core.store.model import SessionRow
from skald_core.store.rows import SESSION_COLUMNS

FIELDS = [f.name for f in msgspec.structs.fields(SessionRow)]


def test_session_columns_are_the_row_fields_in_order() -> None:
    renamed = {"user_name": "user"}
    names = [renamed.get(c.strip(), c.strip()) for c in SESSION_COLUMNS.split(",")]
    assert names == FIELDS
