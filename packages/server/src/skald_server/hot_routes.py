"""The hot routes: the calls an agent makes all the time (read a session, append a message),
answered without Litestar's per-request machinery.

Litestar's routing, dependency injection, parameter extraction and response objects cost a
small request more than its own work (profile of ``GET /api/v1/sessions/{id}``: about 30 µs
of framework over the 19 µs a bare Litestar echo route costs, against 12 µs for the session
read itself). ``HotRoutes`` answers the few routes where that matters from the ASGI scope, with
the same pieces the Litestar handlers use: the caller (``auth.caller_of``), the service call
made as a store call (``offload.run``), the envelope (``envelope.Ok``, errors as
``handle_exception`` answers them), the route template in ``scope["path_template"]`` (metrics,
access lines). The Litestar handlers stay: they document the routes (OpenAPI) and answer every
request this module does not take, which it hands over untouched (``answer`` returns False):

* a query string, a ``root_path`` (the app mounted under a prefix), a Host header Litestar's
  router refuses, a body without ``Content-Length`` or above ``max_body_bytes``, a body that is
  not UTF-8 or does not decode into the route's request struct — Litestar then answers it (its
  errors, byte for byte), given the body read so far again (``_replay``);
* a path that a fixed route of the app shares (``/api/v1/sessions/cleanup``);
* every request, when CORS or tracing is configured (both hook into Litestar).

``tests/server/test_hot_routes.py`` sends the same requests, good and bad, with and without
this module and compares the answers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from litestar import Request
from litestar._asgi.utils import is_valid_host  # the router's own check of the Host
from litestar.serialization import default_serializer

from skald_core.identity import Identity
from skald_core.schemas import AddMessageRequest

from .auth import caller_of, idempotency_key_of
from .context import Services
from .envelope import elapsed_in, handle_exception, ok_after
from .grouping import Grouped
from .offload import run

log = logging.getLogger("skald.server")

_encode = msgspec.json.Encoder(enc_hook=default_serializer).encode
_decode = msgspec.json.Decoder().decode

#: The work of a route: ``(services, caller, session id, body, scope) -> result`` (sync: it
#: runs as a store call, on the event loop for SQLite).
Work = Callable[[Services, Identity, str, Any, Any], Any]


class HotRoute(msgspec.Struct, frozen=True):
    method: str
    #: Litestar's path template of the route (``route_of``: metrics and access lines).
    template: str
    #: The path, with one group: the session id.
    pattern: re.Pattern[str]
    work: Work
    #: The request body's struct (decoded as Litestar does), or None: no body.
    body: type | None = None
    #: A write committed together with the others of its turn of the loop (``grouping``).
    grouped: bool = False


def _get_session(services: Services, caller: Identity, sid: str, body: Any, scope: Any) -> Any:
    return services.sessions.get(caller, sid)


def _add_message(services: Services, caller: Identity, sid: str, body: Any, scope: Any) -> Any:
    return services.sessions.add_message(
        caller, sid, body, idempotency_key=idempotency_key_of(scope)
    )


ROUTES = (
    HotRoute(
        "GET",
        "/api/v1/sessions/{session_id}",
        re.compile(r"/api/v1/sessions/([^/]+)"),
        _get_session,
    ),
    HotRoute(
        "POST",
        "/api/v1/sessions/{session_id}/messages",
        re.compile(r"/api/v1/sessions/([^/]+)/messages"),
        _add_message,
        AddMessageRequest,
        grouped=True,
    ),
)


class HotRoutes:
    """``ROUTES`` for one app: ``services``, and ``paths``, every path template the app routes
    (a hot route never takes a path that one of the app's fixed routes matches)."""

    def __init__(self, services: Services, paths: Iterable[str], max_body_bytes: int) -> None:
        self.services = services
        self.max_body_bytes = max_body_bytes
        self.grouped = Grouped(services.store)
        paths = list(paths)
        fixed = [p for p in paths if "{" not in p]
        templates = {re.sub(r":\w+}", "}", p) for p in paths}
        self._routes: dict[str, list[tuple[HotRoute, frozenset[str]]]] = {}
        for route in ROUTES:
            if route.template not in templates:  # renamed in the controller, not here
                raise RuntimeError(f"hot route {route.template} is not a route of the app")
            taken = frozenset(p for p in fixed if route.pattern.fullmatch(p))
            self._routes.setdefault(route.method, []).append((route, taken))

    def match(self, scope: Any) -> tuple[HotRoute, str] | None:
        """The hot route that answers ``scope`` and its session id, or None (Litestar does)."""
        routes = self._routes.get(scope["method"])
        if routes is None or scope["query_string"] or scope.get("root_path"):
            return None
        path = scope["path"]
        for route, taken in routes:
            found = route.pattern.fullmatch(path)
            if found is not None and path not in taken:
                return (route, found.group(1)) if _host_is_valid(scope) else None
        return None

    async def answer(
        self, route: HotRoute, sid: str, scope: Any, receive: Any, send: Any, litestar: Any
    ) -> None:
        """Answer the request with ``route``, or hand it to ``litestar`` (the app's own ASGI
        call) as it came."""
        body = None
        if route.body is not None:
            received: list[Any] = []
            raw = await self._read_body(scope, receive, received)
            body = None if raw is None else _decoded(raw, route.body)
            if body is None:
                await litestar(scope, _replay(received, receive), send)
                return
        scope["path_template"] = route.template
        services = self.services
        try:
            caller = await caller_of(scope, services)
            if route.grouped:
                result = await self.grouped.run(route.work, services, caller, sid, body, scope)
            else:
                result = await run(services.store, route.work, services, caller, sid, body, scope)
            content = _encode(ok_after(result, elapsed_in(scope)))
        except Exception as exc:  # answered as the app's exception handler answers it
            await _send_error(scope, send, exc)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(content)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": content, "more_body": False})

    async def _read_body(self, scope: Any, receive: Any, received: list[Any]) -> bytes | None:
        """The whole body (each message kept in ``received``), or None: not a body this module
        takes (no or a too large ``Content-Length``, more bytes than it said, a disconnect)."""
        declared = -1
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = int(value) if value.isdigit() else -1
                break
        if declared < 0 or declared > self.max_body_bytes:
            return None
        chunks = []
        size = 0
        while True:
            message = await receive()
            received.append(message)
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > declared:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks) if size == declared else None


def _decoded(raw: bytes, struct: type) -> Any:
    """``raw`` as ``struct``, decoded as Litestar decodes a JSON body (to Python objects, then
    converted, not strict), or None where Litestar has something to say (an error)."""
    if not raw:
        return None
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        return msgspec.convert(_decode(raw), struct, strict=False, dec_hook=_no_hook)
    except (msgspec.MsgspecError, ValueError, TypeError, RecursionError, NotImplementedError):
        return None


def _host_is_valid(scope: Any) -> bool:
    """Whether Litestar's router takes the request's Host (it answers 400 to one it does not:
    in key mode, where ``guard.refusal`` does not look at the Host)."""
    for name, value in scope["headers"]:
        if name == b"host":
            return is_valid_host(value)
    return True


def _no_hook(kind: type, value: Any) -> Any:
    raise NotImplementedError  # a type Litestar's own hooks would decode: Litestar does


def _replay(received: list[Any], receive: Any) -> Any:
    """``receive`` that gives the messages already read again first."""
    pending = iter(received)

    async def again() -> Any:
        for message in pending:
            return message
        return await receive()

    return again


async def _send_error(scope: Any, send: Any, exc: Exception) -> None:
    """The error answer of ``exc``, as the app's exception handler makes it."""
    request: Request[Any, Any, Any] = Request(scope)
    response = handle_exception(request, exc)
    await response.to_asgi_response(app=None, request=request)(scope, _no_receive, send)


async def _no_receive() -> Any:
    return {"type": "http.disconnect"}
