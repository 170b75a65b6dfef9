"""Both backends build ``SessionRow`` positionally from their SESSION_COLUMNS: the column
lists must name the struct's fields, in the struct's order."""

from __future__ import annotations

import msgspec
import pytest

from skald_core.store import postgres_common, sqlite
from skald_core.store.model import SessionRow

FIELDS = [f.name for f in msgspec.structs.fields(SessionRow)]


@pytest.mark.parametrize(
    ("columns", "renamed"),
    [(sqlite.SESSION_COLUMNS, {}), (postgres_common.SESSION_COLUMNS, {"user_name": "user"})],
    ids=["sqlite", "postgres"],
)
def test_session_columns_are_the_row_fields_in_order(columns: str, renamed: dict[str, str]):
    names = [renamed.get(c.strip(), c.strip()) for c in columns.split(",")]
    assert names == FIELDS
