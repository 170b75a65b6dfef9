"""The contract's envelope: every answer, success or error, has the same outer shape."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Generic, Literal, TypeVar, cast

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from skald_core.errors import (
    InternalError,
    InvalidArgumentError,
    MethodNotAllowedError,
    NotFoundError,
    SkaldError,
    UnauthenticatedError,
)
from skald_core.ids import RESERVED_SESSION_IDS, check_id
from skald_core.schemas import ErrorBody
from skald_core.structs import Encoded
from skald_core.validation import body_too_large, invalid_utf8

log = logging.getLogger("skald.server")
T = TypeVar("T")

JSON = "application/json"


class Ok(msgspec.Struct, Generic[T], kw_only=True):
    """A successful answer: ``{"status":"ok","result":...,"error":null,"time":...}``."""

    status: Literal["ok"] = "ok"
    result: T
    error: None = None
    time: float = 0.0


class OkPage(Ok[T], kw_only=True):
    """A listing's answer: ``Ok`` with OpenViking's top-level ``has_more``."""

    has_more: bool = False


class Failure(msgspec.Struct, kw_only=True):
    """An error answer: ``{"status":"error","result":null,"error":{code,message,details},...}``."""

    status: Literal["error"] = "error"
    result: None = None
    error: ErrorBody
    time: float = 0.0


def elapsed(request: Request[Any, Any, Any]) -> float:
    return elapsed_in(request.scope)


def elapsed_in(scope: Any) -> float:
    """Seconds since ``SkaldApp`` stamped the request's ASGI ``scope`` (``skald_start``)."""
    start: float | None = scope.get("skald_start")
    return round(time.perf_counter() - start, 6) if start else 0.0


def ok(request: Request[Any, Any, Any], result: T | Encoded[T]) -> Ok[T]:
    """The answer of ``result``; one that brings its own JSON (``Encoded``) is sent as that."""
    return ok_after(result, elapsed(request))


def ok_after(result: T | Encoded[T], seconds: float) -> Ok[T]:
    """``ok`` for a request that took ``seconds`` so far."""
    if isinstance(result, Encoded):
        return Ok(result=cast(T, msgspec.Raw(result.json())), time=seconds)
    return Ok(result=result, time=seconds)


_encode = msgspec.json.Encoder().encode


def streamed_ok(request: Request[Any, Any, Any], result: Iterable[bytes]) -> Iterator[bytes]:
    """``Ok(result=...)`` as JSON, byte for byte, with ``result`` given as pieces of JSON
    (streamed: a large result is never held whole)."""
    yield b'{"status":"ok","result":'
    yield from result
    yield b',"error":null,"time":' + _encode(elapsed(request)) + b"}"


def json_string(chunks: Iterable[str]) -> Iterator[bytes]:
    """One JSON string from text given in pieces."""
    yield b'"'
    for chunk in chunks:
        yield _encode(chunk)[1:-1]
    yield b'"'


def failure(err: SkaldError, seconds: float, codes: Mapping[str, str] | None = None) -> Failure:
    """The error envelope of ``err``, for a request that took ``seconds`` so far; ``codes``
    renames wire codes (the ``error_codes`` setting, ``errors.ERROR_CODE_SETS``)."""
    code = err.wire_code if not codes else codes.get(err.wire_code, err.wire_code)
    return Failure(
        error=ErrorBody(code=code, message=err.message, details=err.details),
        time=round(seconds, 6),
    )


def retry_after(err: SkaldError) -> str | None:
    """The ``Retry-After`` header an error answer carries, if any."""
    value = err.details.get("retry_after")
    return None if value is None else str(value)


def error_response(request: Request[Any, Any, Any], err: SkaldError) -> Response[Failure]:
    wait = retry_after(err)
    headers = {} if wait is None else {"Retry-After": wait}
    return Response(
        failure(err, elapsed(request), request.scope.get("skald_codes")),  # type: ignore[arg-type]
        status_code=err.http_status,
        media_type=JSON,
        headers=headers,
    )


_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_MISSING_PARAM = re.compile(r"^Missing required (\w+) parameter '([^']+)'")
_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _loc(source: str, key: str, message: str) -> list[str | int]:
    """``("body", "messages[1]", "Object missing required field `role`")`` →
    ``["body", "messages", 1, "role"]``; Litestar names the whole body ``data``."""
    loc: list[str | int] = [source]
    if not (source == "body" and key == "data"):
        loc += [name or int(index) for name, index in _KEY_PART.findall(key)]
    missing = _MISSING_FIELD.search(message)
    if missing:
        loc.append(missing.group(1))
    return loc


def _body_required() -> InvalidArgumentError:
    message = "this route needs a JSON object body, and the request has none"
    return InvalidArgumentError(
        f"Request body required: {message}",
        {"validation_errors": [{"loc": ["body"], "message": message, "type": "missing"}]},
    )


def _from_validation(exc: ValidationException) -> InvalidArgumentError:
    problems = []
    items = exc.extra if isinstance(exc.extra, list) else []
    if len(items) == 1 and items[0] == {"message": "'data'", "key": "data", "source": "body"}:
        # What Litestar reports when a route that takes a JSON body got no body at all.
        return _body_required()
    for item in items:
        if isinstance(item, dict):
            source = item.get("source") or "body"
            source = str(getattr(source, "value", source))
            message = str(item.get("message", "invalid value"))
            problems.append(
                {
                    "loc": _loc(source, str(item.get("key") or ""), message),
                    "message": message,
                    "type": "missing" if _MISSING_FIELD.search(message) else "value_error",
                }
            )
    missing_param = _MISSING_PARAM.match(str(exc.detail))
    if not problems and missing_param:
        source, name = missing_param.groups()
        problems.append(
            {
                "loc": [source, name],
                "message": f"Missing required {source} parameter",
                "type": "missing",
            }
        )
    if problems:
        first = problems[0]
        field = ".".join(str(p) for p in first["loc"][1:])
        message = (
            f"Invalid field '{field}': {first['message']}"
            if field
            else f"Invalid request {first['loc'][0]}: {first['message']}"
        )
    else:
        message = f"Invalid request: {exc.detail}"
    return InvalidArgumentError(message, {"validation_errors": problems})


def reserved_session_path(path: str) -> InvalidArgumentError | None:
    """For ``/api/v1/sessions/<an action>`` asked with a method the action does not take
    (``GET /api/v1/sessions/cleanup``): the reason a session of that name cannot exist."""
    prefix = "/api/v1/sessions/"
    name = path[len(prefix) :] if path.startswith(prefix) else ""
    if name not in RESERVED_SESSION_IDS:
        return None
    try:
        check_id(name)
    except InvalidArgumentError as exc:
        return exc
    return None


def _from_http(request: Request[Any, Any, Any], exc: HTTPException) -> SkaldError:
    if isinstance(exc, ValidationException):
        return _from_validation(exc)
    status = exc.status_code
    if status == 404:
        return NotFoundError(
            f"Route not found: {request.url.path}", {"type": "route", "resource": request.url.path}
        )
    if status == 405:
        method = "HEAD" if request.scope.get("skald_head") else request.method
        path = request.url.path
        if method in ("GET", "HEAD", "DELETE", "POST"):
            reserved = reserved_session_path(path)
            if reserved is not None:
                return reserved
        return MethodNotAllowedError(
            f"Method {method} not allowed on {path}", {"method": method, "path": path}
        )
    if status == 413:
        limit = int(getattr(request.app, "request_max_body_size", 0) or 0)
        return body_too_large(limit, "max_body_bytes: --max-body-bytes, SKALD_MAX_BODY_BYTES")
    if status == 401:
        return UnauthenticatedError(exc.detail or "Unauthenticated")
    if 400 <= status < 500:
        detail = exc.detail or "Bad request"
        return InvalidArgumentError(
            f"Invalid request: {detail}",
            {"validation_errors": [{"loc": ["body"], "message": detail, "type": "json_invalid"}]},
        )
    return InternalError("Internal error")


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Failure]:
    if isinstance(exc, SkaldError):
        err = exc
    elif isinstance(exc, HTTPException):
        err = _from_http(request, exc)
    elif isinstance(exc, UnicodeDecodeError):
        # msgspec decoding a JSON body whose string holds bytes that are not UTF-8; nothing
        # else in a request decodes bytes as UTF-8 strictly.
        err = invalid_utf8(exc)
    elif isinstance(exc, RecursionError) and "deserializing" in str(exc):
        # msgspec refuses absurdly nested JSON this way: the body's fault, not ours.
        err = InvalidArgumentError(
            "Invalid request body: JSON nested too deeply",
            {"validation_errors": [{"loc": ["body"], "message": str(exc), "type": "json_invalid"}]},
        )
    else:
        request_id = request.scope.get("skald_request_id", "")
        log.exception(
            "unexpected error in %s %s (request %s)", request.method, request.url.path, request_id
        )
        err = InternalError("Internal error", {"request_id": request_id})
    return error_response(request, err)
