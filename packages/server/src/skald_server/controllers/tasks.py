"""``/api/v1/tasks``: background work (commit extraction) status."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.params import FromPath

from skald_core.schemas import TaskRecord

from ..context import Caller, ServicesDep
from ..envelope import Ok, ok
from ..responses import errors


class TaskController(Controller):
    path = "/api/v1/tasks"
    tags = ["tasks"]

    @get("/{task_id:str}", operation_id="getTask", responses=errors(404), sync_to_thread=True)
    def get_task(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        task_id: FromPath[str],
    ) -> Ok[TaskRecord]:
        return ok(request, services.sessions.get_task(identity, task_id))
