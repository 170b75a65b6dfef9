"""Health, readiness and status."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from msgspec import Struct

from skald_core import __version__
from skald_core.errors import SkaldError, UnavailableError
from skald_core.schemas import Health

from ..context import Caller, ServicesDep
from ..envelope import Ok, ok
from ..responses import errors


class Ready(Struct, kw_only=True):
    ready: bool
    store: str


class Status(Struct, kw_only=True):
    initialized: bool
    version: str
    account: str
    user: str
    role: str
    dev_mode: bool
    #: Which of the server's processes answered (``skald serve --workers N``: 0 to N-1).
    worker: int = 0


class SystemController(Controller):
    tags = ["system"]

    @get(
        "/health",
        operation_id="health",
        sync_to_thread=False,
        summary="Liveness; bare JSON, no auth",
    )
    def health(self) -> Health:
        return Health(version=__version__)

    @get(
        "/ready",
        operation_id="ready",
        responses=errors(503, common=(500,)),
        sync_to_thread=True,
        summary="Readiness: the store answers",
    )
    def ready(self, request: Request[Any, Any, Any], services: ServicesDep) -> Ok[Ready]:
        try:
            services.store.ping()
        except Exception as exc:
            details: dict[str, Any] = {"service": "store"}
            if isinstance(exc, SkaldError):  # e.g. the database's reason and retry_after
                details.update(
                    (k, v)
                    for k, v in exc.details.items()
                    if k in ("reason", "retry_after", "permanent")
                )
            raise UnavailableError(f"Store not ready: {exc}", details) from exc
        return ok(request, Ready(ready=True, store=type(services.store).__name__))

    @get(
        "/api/v1/system/status",
        operation_id="systemStatus",
        responses=errors(),
        sync_to_thread=False,
    )
    def status(
        self, request: Request[Any, Any, Any], services: ServicesDep, identity: Caller
    ) -> Ok[Status]:
        return ok(
            request,
            Status(
                initialized=True,
                version=__version__,
                account=identity.account,
                user=identity.user,
                role=identity.role,
                dev_mode=services.config.dev_mode,
                worker=request.app.state.get("worker", 0),
            ),
        )
