"""``/api/v1/fs``: listing and shaping the ``viking://`` tree."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.params import FromQuery, JSONBody, Parameter

from skald_core.schemas import (
    FileNode,
    MkdirRequest,
    MoveRequest,
    MoveResult,
    RemoveResult,
    StatNode,
    UriResult,
)

from ..context import Caller, ServicesDep
from ..envelope import Ok, OkPage, elapsed, ok
from ..responses import errors


class FsController(Controller):
    path = "/api/v1/fs"
    tags = ["fs"]

    @get("/ls", operation_id="listDirectory", responses=errors(404), sync_to_thread=True)
    def ls(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        uri: FromQuery[str],
        recursive: FromQuery[bool] = False,
        simple: FromQuery[bool] = False,
        show_all_hidden: FromQuery[bool] = False,
        node_limit: FromQuery[int | None] = None,
        limit: FromQuery[int | None] = None,
        offset: FromQuery[int] = 0,
    ) -> OkPage[list[FileNode | str]]:
        page = services.files.ls(
            identity,
            uri,
            recursive=recursive,
            show_all_hidden=show_all_hidden,
            node_limit=limit if limit is not None else node_limit,  # OpenViking: an alias
            offset=offset,
        )
        # One list type (not ``list[FileNode] | list[str]``): an empty list would match both
        # branches of the documented ``oneOf``.
        result: list[FileNode | str] = [n.uri for n in page.nodes] if simple else [*page.nodes]
        return OkPage(result=result, has_more=page.has_more, time=elapsed(request))

    @get("/tree", operation_id="tree", responses=errors(404), sync_to_thread=True)
    def tree(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        uri: FromQuery[str],
        level_limit: int = Parameter(default=3, ge=1, le=64),
        show_all_hidden: FromQuery[bool] = False,
        node_limit: FromQuery[int | None] = None,
        limit: FromQuery[int | None] = None,
        offset: FromQuery[int] = 0,
    ) -> OkPage[list[FileNode]]:
        page = services.files.tree(
            identity,
            uri,
            level_limit=level_limit,
            show_all_hidden=show_all_hidden,
            node_limit=limit if limit is not None else node_limit,
            offset=offset,
        )
        return OkPage(result=page.nodes, has_more=page.has_more, time=elapsed(request))

    @get("/stat", operation_id="stat", responses=errors(404), sync_to_thread=True)
    def stat(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        uri: FromQuery[str],
    ) -> Ok[StatNode]:
        return ok(request, services.files.stat(identity, uri))

    @post(
        "/mkdir",
        operation_id="mkdir",
        responses=errors(404, 409),
        status_code=200,
        sync_to_thread=True,
    )
    def mkdir(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[MkdirRequest],
    ) -> Ok[UriResult]:
        return ok(request, services.files.mkdir(identity, data.uri))

    @delete("", operation_id="remove", responses=errors(404), status_code=200, sync_to_thread=True)
    def rm(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        uri: FromQuery[str],
        recursive: FromQuery[bool] = False,
        wait: FromQuery[bool] = False,
    ) -> Ok[RemoveResult]:
        return ok(request, services.files.rm(identity, uri, recursive=recursive))

    @post(
        "/mv",
        operation_id="move",
        responses=errors(404, 409, 412),
        status_code=200,
        sync_to_thread=True,
    )
    def mv(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[MoveRequest],
    ) -> Ok[MoveResult]:
        return ok(request, services.files.mv(identity, data.from_uri, data.to_uri))
