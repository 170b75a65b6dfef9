"""``/api/v1/search``: find and search (ranked full text), grep and glob over ``viking://``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.params import JSONBody

from skald_core.schemas import (
    FindRequest,
    FindResult,
    GlobRequest,
    GlobResult,
    GrepRequest,
    GrepResult,
    SearchRequest,
)

from ..context import Caller, ServicesDep
from ..envelope import Ok, ok
from ..responses import errors


class SearchController(Controller):
    path = "/api/v1/search"
    tags = ["search"]

    @post("/find", operation_id="find", responses=errors(403), status_code=200, sync_to_thread=True)
    def find(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[FindRequest],
    ) -> Ok[FindResult]:
        return ok(request, services.search.find(identity, data))

    @post(
        "/search",
        operation_id="search",
        responses=errors(403),
        status_code=200,
        sync_to_thread=True,
    )
    def search(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[SearchRequest],
    ) -> Ok[FindResult]:
        return ok(request, services.search.search(identity, data))

    @post(
        "/grep",
        operation_id="grep",
        responses=errors(403, 404),
        status_code=200,
        sync_to_thread=True,
    )
    def grep(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[GrepRequest],
    ) -> Ok[GrepResult]:
        return ok(request, services.search.grep(identity, data))

    @post(
        "/glob",
        operation_id="glob",
        responses=errors(403, 404),
        status_code=200,
        sync_to_thread=True,
    )
    def glob(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[GlobRequest],
    ) -> Ok[GlobResult]:
        return ok(request, services.search.glob(identity, data))
