"""Deletion rules that do not depend on the database: shared by the store (``deletion``) and
the service, so each rule is written once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from ..errors import FailedPreconditionError
from .model import AuditRow, SessionRow

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


def audit_query(
    account: str | None,
    *,
    limit: int,
    action: str | None,
    session_id: str | None,
    before: int | None,
) -> tuple[str, list[Any]]:
    """The newest-first audit listing (``?`` placeholders)."""
    sql = (
        "SELECT id, at, actor_account, actor_user, actor_role, action, account, "
        "user_name, session_id, counts FROM audit_log WHERE 1 = 1"
    )
    args: list[Any] = []
    for column, value in (("account", account), ("action", action), ("session_id", session_id)):
        if value is not None:
            sql += f" AND {column} = ?"
            args.append(value)
    if before is not None:
        sql += " AND id < ?"
        args.append(before)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    return sql, args


def audit_rows(rows: Iterable[Any]) -> list[AuditRow]:
    return [
        AuditRow(
            id=r[0],
            at=r[1],
            actor_account=r[2],
            actor_user=r[3],
            actor_role=r[4],
            action=r[5],
            account=r[6],
            user=r[7],
            session_id=r[8],
            counts=msgspec.json.decode(r[9]),
        )
        for r in rows
    ]
