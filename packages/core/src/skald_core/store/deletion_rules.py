"""Deletion rules that do not depend on the database: shared by the store (``deletion``) and
the service, so each rule is written once."""

from __future__ import annotations

from ..errors import FailedPreconditionError
from .model import SessionRow

#: The error of a task whose session was deleted before its extraction ran.
CANCELLED = "session deleted before extraction"


def check_still_old(row: SessionRow, column: str, cutoff: float) -> None:
    """Refuse a removal decided on ``column < cutoff`` when that no longer holds."""
    value = {
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "deleted_at": row.deleted_at,
    }[column]
    if value is None or value >= cutoff:
        raise FailedPreconditionError(
            f"Session {row.session_id} changed since it was selected for removal; kept",
            {"type": "session", "resource": row.session_id, "reason": "no_longer_expired"},
        )
