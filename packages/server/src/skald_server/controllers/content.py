"""``/api/v1/content``: read and write files of the ``viking://`` tree."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, JSONBody, Parameter
from litestar.response import Stream

from skald_core.schemas import WriteRequest, WriteResult

from ..context import Caller, ServicesDep
from ..envelope import JSON, Ok, json_string, ok, streamed_ok
from ..responses import errors


class ContentController(Controller):
    path = "/api/v1/content"
    tags = ["content"]

    @get(
        "/read",
        operation_id="readContent",
        responses={
            200: ResponseSpec(
                data_container=Ok[str],
                description="The envelope, ``result`` holding the file's text",
                generate_examples=False,
            ),
            **errors(404),
        },
        sync_to_thread=True,
    )
    def read(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        uri: FromQuery[str],
        offset: int = Parameter(default=0, ge=0),
        limit: int = Parameter(default=-1, ge=-1),
    ) -> Stream:
        # The envelope is streamed: a file rendered from a session's messages (150 MB, say)
        # is never held whole, neither as text nor as JSON. Errors are raised before the
        # first byte, as the usual error envelope.
        chunks = services.files.read_chunks(identity, uri, offset=offset, limit=limit)
        return Stream(streamed_ok(request, json_string(chunks)), media_type=JSON)

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
