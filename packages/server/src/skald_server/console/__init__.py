"""The web console at ``/console``: server-rendered pages over the core services, every
script, style and font served from this package (``static/``), so it works offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.handlers.base import BaseRouteHandler
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from skald_core import clock
from skald_core.errors import ForbiddenError, SkaldError
from skald_core.service.deletion import DeletionService

from ..shared_state import SharedState
from .cleanup_runs import CleanupRuns, SharedCleanupRuns
from .logins import Logins, SharedLogins
from .views import ROUTES, SignInRequired

HERE = Path(__file__).parent
STATIC = HERE / "static"
#: Where the vendored Swagger UI is served from (the API docs page at ``/schema``).
SWAGGER_URL = "/console/static/swagger-ui"


def _globals(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals["iso"] = clock.iso_ms  # epoch seconds → 2026-11-25T21:30:13.037Z


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja over ``templates/``; Litestar's engine autoescapes everything it renders."""
    return TemplateConfig(
        directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_globals
    )


def _sign_in_first(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if request.headers.get("hx-request") == "true":  # a partial update: reload the whole page
        return Response(content=b"", status_code=401, headers={"HX-Redirect": "/console/signin"})
    return Redirect("/console/signin", status_code=303)


def _error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, SkaldError)
    return Template(
        template_name="error.html",
        context={"who": None, "error": exc, "status": exc.http_status},
        status_code=exc.http_status,
        headers={h.name: h.value or "" for h in SECURITY_HEADERS},  # not added to errors
    )


#: Console pages load only this server's files, run no inline script, and cannot be framed
#: (a delete button under someone else's page would be clickjacking).
SECURITY_HEADERS = [
    ResponseHeader(
        name="Content-Security-Policy",
        value="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),  # no-referrer: Origin null
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _loopback_host(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Dev mode (anyone is root, no key): only a page whose Host is loopback may use the
    console, so a site whose name a rebinding DNS points at 127.0.0.1 cannot."""
    host = urlsplit("//" + connection.headers.get("host", "")).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise ForbiddenError(
            "Dev mode: the console answers on a loopback host name only",
            {"reason": "non_loopback_host", "host": host[:100]},
        )


def console_router(
    *, dev_mode: bool, deletion: DeletionService, shared: SharedState | None = None
) -> Router:
    """The console; ``shared``: what the workers of one server share (sign-ins, cleanup runs)."""
    logins = Logins() if shared is None else SharedLogins(shared)
    runs = CleanupRuns(deletion) if shared is None else SharedCleanupRuns(deletion, shared)
    return Router(
        guards=[_loopback_host] if dev_mode else [],
        response_headers=SECURITY_HEADERS,
        path="/console",
        route_handlers=[
            *ROUTES,
            create_static_files_router(path="/static", directories=[STATIC], name="console-static"),
        ],
        dependencies={
            "logins": Provide(lambda: logins, use_cache=True, sync_to_thread=False),
            "runs": Provide(lambda: runs, use_cache=True, sync_to_thread=False),
        },
        exception_handlers={SignInRequired: _sign_in_first, SkaldError: _error_page},
        include_in_schema=False,
    )
