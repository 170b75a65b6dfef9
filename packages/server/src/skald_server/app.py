"""The Litestar app factory: ``create_app(config)`` hosts core under ``/api/v1``."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import msgspec
from litestar import Litestar, Request, get
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.types import Message

from skald_core import __version__, clock
from skald_core import services as core
from skald_core.errors import ERROR_CODE_SETS, SkaldError
from skald_core.ids import new_request_id
from skald_core.keys import KeyStore
from skald_core.service.extraction import AnyExtractor, BuiltinExtractor
from skald_core.service.llm_extractor import LLMExtractor
from skald_core.store.backends import open_store
from skald_core.store.protocol import Store
from skald_core.validation import invalid_utf8

from . import tracing
from .auth import resolve_identity, scope_header
from .config import ServerConfig
from .console import SWAGGER_URL, console_router, template_config
from .context import Services
from .controllers.admin import AdminController
from .controllers.content import ContentController
from .controllers.fs import FsController
from .controllers.metrics import metrics
from .controllers.openviking import OpenVikingController
from .controllers.search import SearchController
from .controllers.sessions import SessionController
from .controllers.system import SystemController
from .controllers.tasks import TaskController
from .envelope import failure, handle_exception, retry_after
from .guard import refusal
from .hot_routes import HotRoutes
from .inflight import BodyBudget, declared_size
from .logs import access
from .metrics import Metrics
from .retention import RetentionSweeper
from .shared_state import SharedState
from .workers import Worker

log = logging.getLogger("skald.server")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class SkaldApp(Litestar):
    """Stamps each HTTP request with a start time and a request id before anything runs, and
    answers ``HEAD`` wherever ``GET`` is answered (the same status and headers, no body), and
    stamps every answer with the request id and the time taken (``_stamps``),
    counts it in ``metrics`` and writes one access log line (``skald.access``) when it is
    answered: method, route template
    (never the path: ids stay out of the log, and so do bodies and keys), status, duration and
    request id; and answers the requests ``guard.refusal`` refuses (non-JSON bodies; in dev
    mode, web pages and foreign Host names) without running the app."""

    dev_mode: bool = True
    metrics: Metrics
    #: Request bodies handled at once (``max_body_bytes_in_flight``).
    bodies: BodyBudget = BodyBudget(64 * 1024 * 1024)
    #: Wire codes sent in place of Skald's (the ``error_codes`` setting).
    error_codes: dict[str, str] = {}  # noqa: RUF012
    #: The routes answered without Litestar's per-request work (None: Litestar answers all).
    hot: HotRoutes | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        method = scope["method"]
        if method == "HEAD":
            scope = {**scope, "method": "GET", "skald_head": True}
            send = _WithoutBody(send)
        inbound = scope_header(scope, b"x-request-id") or ""
        start = time.perf_counter()
        scope["skald_start"] = start
        scope["skald_codes"] = self.error_codes
        scope["skald_request_id"] = inbound if _REQUEST_ID.match(inbound) else new_request_id()
        status = 500  # unless a response starts: the app failed before answering

        async def send_stamped(message: Message) -> None:
            # Here rather than in a ``before_send`` hook: Litestar wraps ``send`` for its hooks
            # and calls each for every message, which cost a fifth of a small request.
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *_stamps(scope)]
            await send(message)

        try:
            refused = refusal(scope, self.dev_mode)
            if refused is not None:
                await _send_error(scope, send_stamped, refused)
                return
            size = declared_size(scope, self.bodies.max_body_bytes)
            taken = await self.bodies.take(size) if size else 0
            try:
                await self._route(scope, receive, send_stamped)
            finally:
                self.bodies.give_back(taken)
        finally:
            seconds = time.perf_counter() - start
            route = route_of(scope)
            self.metrics.observe_request(method, route, status, seconds)
            access(method, route, status, seconds, scope["skald_request_id"])

    async def _route(self, scope: Any, receive: Any, send: Any) -> None:
        """A hot route's request to ``hot_routes``, any other to Litestar."""
        routes = self.hot
        hot = routes.match(scope) if routes is not None else None
        if hot is None or routes is None:
            await super().__call__(scope, receive, send)
        else:
            await routes.answer(*hot, scope, receive, send, super().__call__)


def route_of(scope: Any) -> str:
    """The route template that answered (``/api/v1/sessions/{session_id}``), or ``unmatched``."""
    template = scope.get("path_template")
    return str(template) if template else "unmatched"


class _WithoutBody:
    """``send`` for a HEAD request run as GET: the response start as it is (its
    Content-Length is the GET body's), then one empty body message."""

    def __init__(self, send: Any) -> None:
        self.send = send
        self.ended = False

    async def __call__(self, message: Message) -> None:
        if message["type"] != "http.response.body":
            await self.send(message)
        elif not self.ended:
            self.ended = True
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})


def _stamps(scope: Any) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries: the request id and the time the request took."""
    stamps = [(b"x-request-id", str(scope.get("skald_request_id", "")).encode())]
    start: float | None = scope.get("skald_start")
    if start is not None:
        stamps.append((b"x-process-time", f"{time.perf_counter() - start:.6f}".encode()))
    return stamps


async def _send_error(scope: Any, send: Any, err: SkaldError) -> None:
    """The error envelope (as ``envelope.error_response`` makes it), straight to ``send``
    (``SkaldApp``'s, which adds the headers every answer has)."""
    seconds = time.perf_counter() - scope["skald_start"]
    body = msgspec.json.encode(failure(err, seconds, scope.get("skald_codes")))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    wait = retry_after(err)
    if wait is not None:
        headers.append((b"retry-after", wait.encode()))
    await send(
        {
            "type": "http.response.start",
            "status": err.http_status,
            "headers": headers,
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _utf8_body(request: Request[Any, Any, Any]) -> None:
    """A body must be UTF-8 (JSON is, RFC 8259), also in the fields a route ignores: refused
    before any handler or body parsing runs. Litestar keeps the body it read for the handler."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    body = await request.body()
    if body.isascii():  # most JSON is, and this check copies nothing
        return
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_utf8(exc) from None


@get("/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return request.app.openapi_schema.to_schema()


def configured_extractor(config: ServerConfig) -> AnyExtractor:
    """The language-model extractor when ``llm_*`` is configured, else the built-in one."""
    llm = config.llm
    return BuiltinExtractor() if llm is None else LLMExtractor(llm)


def open_configured_store(config: ServerConfig) -> Store:
    """PostgreSQL when ``database_url`` is set, else SQLite under ``path``. A PostgreSQL
    store opens even while the database is unreachable (requests answer 503 until it is back,
    and the migrations run then), so replicas can start before the database."""
    return open_store(
        path=config.path,
        database_url=config.database_url,
        database_schema=config.database_schema,
        pool_min_size=config.database_pool_min_size,
        pool_max_size=config.database_pool_max_size,
        pool_timeout=config.database_pool_timeout,
        durability=config.durability,
        lazy=True,
    )


def build_services(
    config: ServerConfig,
    *,
    store: Store | None = None,
    keys: KeyStore | None = None,
    extractor: AnyExtractor | None = None,
    now: clock.Clock = clock.now,
) -> Services:
    """The core services over ``store`` (default: the configured one), wired by
    ``skald_core.services.build_services`` as the embedded client's are, all reading the time
    from ``now`` (default: the real clock), and ``keys`` (default: the key store in
    ``store``'s database; any other Store needs its KeyStore passed)."""
    store = open_configured_store(config) if store is None else store
    keys = store.key_store() if keys is None else keys
    wired = core.build_services(
        store,
        extractor or configured_extractor(config),
        lease_seconds=config.task_lease_seconds,
        extraction_timeout=config.commit_wait_timeout,
        now=now,
        limits=config.limits,
        embeddings=config.embedding,
    )
    return Services(**msgspec.structs.asdict(wired), config=config, keys=keys)


def create_app(
    config: ServerConfig | None = None,
    *,
    services: Services | None = None,
    start_worker: bool = True,
    tracer_provider: Any = None,
    worker: Worker | None = None,
) -> Litestar:
    """The app; ``worker``: which of ``skald serve --workers N``'s processes serves it (the
    retention sweep runs in worker 0 only, and the workers' metrics are summed)."""
    config = config or ServerConfig()
    worker = worker or Worker()
    svc = services or build_services(config)

    sweeper = RetentionSweeper(
        svc.deletion,
        retention_days=config.retention_days,
        trash_days=config.trash_days,
        interval=config.sweep_interval_seconds,
    )

    def provide_services() -> Services:
        return svc

    def on_startup() -> None:
        if start_worker:
            # Every worker process runs tasks (each is claimed once, in the database); one
            # sweep is enough, and two would race each other for the same sessions.
            svc.start(poll_seconds=config.task_poll_seconds)
            if worker.index == 0:
                sweeper.start()
        if shared is not None:
            shared.start()
        log.info(
            "skald %s ready (%s mode, store %s)",
            __version__,
            "dev" if config.dev_mode else "api-key",
            svc.store.describe(),
        )

    def on_shutdown() -> None:
        sweeper.stop()
        svc.close()
        if shared is not None:
            shared.stop()

    collected = Metrics()
    shared = (
        collected.share(worker.runtime_dir, f"worker{worker.index}") if worker.runtime_dir else None
    )
    if not getattr(svc.store, "_skald_metered", False):
        collected.instrument_store(svc.store)
        svc.store._skald_metered = True  # type: ignore[attr-defined]
    collected.watch_queue(svc.store)

    app = SkaldApp(
        route_handlers=[
            SystemController,
            SessionController,
            TaskController,
            ContentController,
            FsController,
            SearchController,
            AdminController,
            OpenVikingController,
            openapi_json,
            metrics,
            console_router(
                dev_mode=config.dev_mode,
                deletion=svc.deletion,
                shared=SharedState(worker.runtime_dir) if worker.runtime_dir else None,
            ),
        ],
        dependencies={
            "services": Provide(provide_services, use_cache=True, sync_to_thread=False),
            "identity": Provide(resolve_identity),
        },
        exception_handlers={Exception: handle_exception},
        before_send=[tracing.name_span] if config.tracing else [],
        before_request=_utf8_body,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        request_max_body_size=config.max_body_bytes,
        template_config=template_config(),
        openapi_config=OpenAPIConfig(
            title="Skald",
            version=__version__,
            path="/schema",
            description="OpenViking-compatible session and memory store",
            # Served from the package (vendored), so the docs page works with no internet.
            render_plugins=[
                SwaggerRenderPlugin(
                    js_url=f"{SWAGGER_URL}/swagger-ui-bundle.js",
                    css_url=f"{SWAGGER_URL}/swagger-ui.css",
                    standalone_preset_js_url=f"{SWAGGER_URL}/swagger-ui-standalone-preset.js",
                    favicon=f"<link rel='icon' href='{SWAGGER_URL}/favicon-32x32.png'>",
                )
            ],
        ),
        cors_config=cors_config(config.cors_origins),
        debug=False,
        logging_config=None,  # the server's one log format is set up by ``logs.configure``
        state=State({"metrics": collected}),
        plugins=[p for p in [tracing.plugin(config.tracing, tracer_provider)] if p is not None],
    )
    app.dev_mode = config.dev_mode
    app.bodies = BodyBudget(config.max_body_bytes_in_flight, config.max_body_bytes)
    app.error_codes = ERROR_CODE_SETS[config.error_codes]
    app.metrics = collected
    if not config.cors_origins and not config.tracing:  # both work through Litestar's hooks
        paths = [route.path for route in app.routes]
        app.hot = HotRoutes(svc, paths, config.max_body_bytes)
    app.state["worker"] = worker.index
    return app


def cors_config(origins: list[str]) -> CORSConfig | None:
    """CORS for the configured origins (key mode only); none configured: no CORS headers at
    all, so browsers keep every other site's pages from reading answers or sending a key."""
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=[
            "Content-Type",
            "X-API-Key",
            "Authorization",
            "X-OpenViking-Account",
            "X-OpenViking-User",
            "X-OpenViking-Actor-Peer",
            "Idempotency-Key",
            "X-Request-ID",
        ],
        expose_headers=["X-Request-ID", "X-Process-Time", "Retry-After"],
        max_age=600,
    )
