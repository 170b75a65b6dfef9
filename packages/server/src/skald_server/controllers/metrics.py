"""``GET /metrics``: Prometheus' text format. Root only (any caller in dev mode), like the
server-wide admin views, unless ``metrics_public`` is set (then no key is asked for)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.concurrency import sync_to_thread

from skald_core.errors import ForbiddenError

from ..auth import resolve_identity
from ..context import ServicesDep
from ..metrics import CONTENT_TYPE, Metrics


@get("/metrics", include_in_schema=False)
async def metrics(request: Request[Any, Any, Any], services: ServicesDep) -> Response[bytes]:
    if not services.config.metrics_public:
        identity = await resolve_identity(request, services)
        if identity.role != "root":
            raise ForbiddenError("Metrics are for the root key (or set metrics_public)")
    collected: Metrics = request.app.state["metrics"]
    return Response(await sync_to_thread(collected.exposition), media_type=CONTENT_TYPE)
