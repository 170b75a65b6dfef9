"""Administration: erasing a user, and the audit log of every deletion."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get
from litestar.params import FromPath, FromQuery, Parameter

from skald_core.schemas import AuditEntry, ErasureResult

from ..context import Caller, ServicesDep
from ..envelope import Ok, ok
from ..responses import errors


class AdminController(Controller):
    tags = ["admin"]

    @delete(
        "/api/v1/admin/accounts/{account:str}/users/{user:str}",
        operation_id="eraseUser",
        responses=errors(),
        status_code=200,
        sync_to_thread=True,
        summary="Erase everything of one user: sessions (live and trashed), memories, files, "
        "tasks and keys (root, or an admin of the account)",
    )
    def erase_user(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        account: FromPath[str],
        user: FromPath[str],
    ) -> Ok[ErasureResult]:
        return ok(request, services.deletion.erase_user(identity, account, user))

    @get(
        "/api/v1/audit",
        operation_id="listAudit",
        responses=errors(),
        sync_to_thread=True,
        summary="Deletions, restores, purges, cleanups and erasures, newest first (admins)",
    )
    def list_audit(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        limit: int = Parameter(default=100, ge=1, le=1000),
        action: FromQuery[str | None] = None,
        session_id: FromQuery[str | None] = None,
        account: FromQuery[str | None] = None,
        before: int | None = Parameter(default=None, ge=1, le=2**63 - 1),
    ) -> Ok[list[AuditEntry]]:
        return ok(
            request,
            services.deletion.audit(
                identity,
                account=account,
                limit=limit,
                action=action,
                session_id=session_id,
                before=before,
            ),
        )
