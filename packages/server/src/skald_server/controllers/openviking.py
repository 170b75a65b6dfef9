"""Routes the published OpenViking client calls that Skald has little or no use for (session
config, tool results, stats, tags, reindexing, copies, batches, queue waits): accepted and
answered in OpenViking 0.5.2's shapes — what it answers when there is nothing to do where
Skald has no such feature — never a 404 "Route not found". Rules live in the core services."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.response import Response

from skald_core import clock
from skald_core.errors import SkaldError
from skald_core.schemas import (
    AttrsResult,
    BatchWriteRequest,
    BatchWriteResult,
    ComponentStatus,
    CopyRequest,
    CopyResult,
    QueueCount,
    ReindexRequest,
    ReindexResult,
    SessionConfigRequest,
    SessionConfigResult,
    SessionStatsResult,
    SetTagsRequest,
    SetTagsResult,
    SystemStatus,
    TaskRecord,
    ToolResults,
)

from ..context import Caller, Services, ServicesDep
from ..envelope import Ok, ok
from ..responses import errors


def _queue(services: Services) -> ComponentStatus:
    """The extraction queue, as OpenViking's observer shows its queues (a text table)."""
    try:
        q = services.store.task_queue(clock.now())
    except SkaldError as exc:
        return ComponentStatus(name="queue", is_healthy=False, has_errors=True, status=str(exc))
    table = f"Queue          Pending  In Progress\nSessionCommit  {q.pending:<7}  {q.running}\n"
    return ComponentStatus(name="queue", is_healthy=True, has_errors=False, status=table)


def _store(services: Services) -> ComponentStatus:
    try:
        services.store.ping()
    except Exception as exc:
        return ComponentStatus(name="store", is_healthy=False, has_errors=True, status=str(exc))
    return ComponentStatus(name="store", is_healthy=True, has_errors=False, status="ok")


class OpenVikingController(Controller):
    path = "/api/v1"
    tags = ["openviking"]

    @patch(
        "/sessions/{session_id:str}/config",
        operation_id="updateSessionConfig",
        responses=errors(404),
        sync_to_thread=True,
    )
    def update_session_config(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        data: JSONBody[SessionConfigRequest],
    ) -> Ok[SessionConfigResult]:
        return ok(request, services.sessions.update_config(identity, session_id))

    @get(
        "/sessions/{session_id:str}/tool-results",
        operation_id="listToolResults",
        responses=errors(404),
        sync_to_thread=True,
    )
    def tool_results(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        tool_name: FromQuery[str | None] = None,
        limit: int = Parameter(default=50, ge=1),
    ) -> Ok[ToolResults]:
        return ok(request, services.sessions.tool_results(identity, session_id))

    @get(
        "/sessions/{session_id:str}/tool-results/{tool_result_id:str}",
        operation_id="readToolResult",
        responses=errors(404),
        sync_to_thread=True,
    )
    def tool_result(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        tool_result_id: FromPath[str],
    ) -> Ok[dict[str, Any]]:
        services.sessions.tool_result(identity, session_id, tool_result_id)

    @get(
        "/sessions/{session_id:str}/tool-results/{tool_result_id:str}/search",
        operation_id="searchToolResult",
        responses=errors(404),
        sync_to_thread=True,
    )
    def search_tool_result(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        tool_result_id: FromPath[str],
        q: FromQuery[str | None] = None,
    ) -> Ok[dict[str, Any]]:
        services.sessions.tool_result(identity, session_id, tool_result_id)

    @get(
        "/stats/sessions/{session_id:str}",
        operation_id="sessionStats",
        responses=errors(404),
        sync_to_thread=True,
    )
    def session_stats(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
    ) -> Ok[SessionStatsResult]:
        return ok(request, services.sessions.stats(identity, session_id))

    @get("/tasks", operation_id="listTasks", responses=errors(), sync_to_thread=True)
    def list_tasks(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        task_type: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        resource_id: FromQuery[str | None] = None,
        limit: FromQuery[int] = 50,
    ) -> Ok[list[TaskRecord]]:
        return ok(
            request,
            services.sessions.list_tasks(
                identity, task_type=task_type, status=status, resource_id=resource_id, limit=limit
            ),
        )

    @post(
        "/tasks/{task_id:str}/cancel",
        operation_id="cancelTask",
        responses=errors(404, 412),
        status_code=200,
        sync_to_thread=True,
    )
    def cancel_task(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        task_id: FromPath[str],
    ) -> Ok[TaskRecord]:
        return ok(request, services.sessions.cancel_task(identity, task_id))

    @post(
        "/system/wait",
        operation_id="waitProcessed",
        responses=errors(504),
        status_code=200,
        sync_to_thread=True,
    )
    def wait_processed(
        self, request: Request[Any, Any, Any], services: ServicesDep, identity: Caller
    ) -> Ok[dict[str, QueueCount]]:
        timeout = services.config.commit_wait_timeout
        return ok(request, services.sessions.wait_processed(identity, timeout))

    @get("/observer/system", operation_id="observerSystem", responses=errors(), sync_to_thread=True)
    def observer_system(
        self, request: Request[Any, Any, Any], services: ServicesDep, identity: Caller
    ) -> Ok[SystemStatus]:
        parts = {"queue": _queue(services), "store": _store(services)}
        errors_ = [f"{c.name}: {c.status}" for c in parts.values() if c.has_errors]
        healthy = all(c.is_healthy for c in parts.values())
        return ok(request, SystemStatus(is_healthy=healthy, errors=errors_, components=parts))

    @get("/observer/queue", operation_id="observerQueue", responses=errors(), sync_to_thread=True)
    def observer_queue(
        self, request: Request[Any, Any, Any], services: ServicesDep, identity: Caller
    ) -> Ok[ComponentStatus]:
        return ok(request, _queue(services))

    @get("/content/abstract", operation_id="abstract", responses=errors(404), sync_to_thread=True)
    def abstract(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        uri: FromQuery[str],
    ) -> Ok[str]:
        return ok(request, services.files.summary(identity, uri, "abstract"))

    @get("/content/overview", operation_id="overview", responses=errors(404), sync_to_thread=True)
    def overview(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        uri: FromQuery[str],
    ) -> Ok[str]:
        return ok(request, services.files.summary(identity, uri, "overview"))

    @get("/content/download", operation_id="download", responses=errors(404), sync_to_thread=True)
    def download(
        self,
        services: ServicesDep,
        identity: Caller,
        uri: FromQuery[str],
    ) -> Response[bytes]:
        """The file's bytes, without the envelope (as OpenViking sends them)."""
        data = services.files.download(identity, uri)
        return Response(data, media_type="application/octet-stream")

    @post(
        "/content/batch-write",
        operation_id="batchWrite",
        responses=errors(404, 409),
        status_code=200,
        sync_to_thread=True,
    )
    def batch_write(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[BatchWriteRequest],
    ) -> Ok[BatchWriteResult]:
        return ok(request, services.files.batch_write(identity, data.root_uri, data.operations))

    @post(
        "/content/reindex",
        operation_id="reindex",
        responses=errors(404),
        status_code=200,
        sync_to_thread=True,
    )
    def reindex(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[ReindexRequest],
    ) -> Ok[ReindexResult]:
        return ok(request, services.files.reindex(identity, data.uri, data.mode))

    @get("/fs/attrs", operation_id="attrs", responses=errors(404), sync_to_thread=True)
    def attrs(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        uri: FromQuery[str],
    ) -> Ok[AttrsResult]:
        return ok(request, services.files.attrs(identity, uri))

    @post(
        "/fs/attrs/set_tags",
        operation_id="setTags",
        responses=errors(404),
        status_code=200,
        sync_to_thread=True,
    )
    def set_tags(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[SetTagsRequest],
    ) -> Ok[SetTagsResult]:
        return ok(request, services.files.set_tags(identity, data.uri, data.mode))

    @post(
        "/fs/cp",
        operation_id="copy",
        responses=errors(404, 409),
        status_code=200,
        sync_to_thread=True,
    )
    def cp(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[CopyRequest],
    ) -> Ok[CopyResult]:
        return ok(
            request,
            services.files.copy(identity, data.from_uri, data.to_uri, recursive=data.recursive),
        )
