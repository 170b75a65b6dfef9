"""``/api/v1/content``: read and write files of the ``viking://`` tree."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromQuery, JSONBody, Parameter

from skald_core.schemas import WriteRequest, WriteResult

from ..context import Caller, ServicesDep
from ..envelope import Ok, ok
from ..responses import errors


class ContentController(Controller):
    path = "/api/v1/content"
    tags = ["content"]

    @get("/read", operation_id="readContent", responses=errors(404), sync_to_thread=True)
    def read(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        uri: FromQuery[str],
        offset: int = Parameter(default=0, ge=0),
        limit: int = Parameter(default=-1, ge=-1),
    ) -> Ok[str]:
        return ok(request, services.files.read(identity, uri, offset=offset, limit=limit))

    @post(
        "/write",
        operation_id="writeContent",
        responses=errors(404, 409),
        status_code=200,
        sync_to_thread=True,
    )
    def write(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[WriteRequest],
    ) -> Ok[WriteResult]:
        return ok(request, services.files.write(identity, data.uri, data.content, data.mode))
