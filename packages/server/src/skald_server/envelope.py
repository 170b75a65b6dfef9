"""The contract's envelope: every answer, success or error, has the same outer shape."""

from __future__ import annotations

import logging
import time
from typing import Any, Generic, Literal, TypeVar

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
from skald_core.schemas import ErrorBody

log = logging.getLogger("skald.server")
T = TypeVar("T")

JSON = "application/json"


class Ok(msgspec.Struct, Generic[T], kw_only=True):
    """A successful answer: ``{"status":"ok","result":...,"error":null,"time":...}``."""

    status: Literal["ok"] = "ok"
    result: T
    error: None = None
    time: float = 0.0


class Failure(msgspec.Struct, kw_only=True):
    """An error answer: ``{"status":"error","result":null,"error":{code,message,details},...}``."""

    status: Literal["error"] = "error"
    result: None = None
    error: ErrorBody
    time: float = 0.0


def elapsed(request: Request[Any, Any, Any]) -> float:
    start: float | None = request.scope.get("skald_start")  # type: ignore[assignment]
    return round(time.perf_counter() - start, 6) if start else 0.0


def ok(request: Request[Any, Any, Any], result: T) -> Ok[T]:
    return Ok(result=result, time=elapsed(request))


def error_response(request: Request[Any, Any, Any], err: SkaldError) -> Response[Failure]:
    body = Failure(
        error=ErrorBody(code=err.wire_code, message=err.message, details=err.details),
        time=elapsed(request),
    )
    headers = {}
    retry_after = err.details.get("retry_after")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(body, status_code=err.http_status, media_type=JSON, headers=headers)


def _from_validation(exc: ValidationException) -> InvalidArgumentError:
    problems = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if isinstance(item, dict):
            loc = [item.get("source") or "body"]
            if item.get("key"):
                loc.append(item["key"])
            problems.append(
                {
                    "loc": loc,
                    "message": str(item.get("message", "invalid value")),
                    "type": "value_error",
                }
            )
    if problems:
        first = problems[0]
        field = ".".join(str(p) for p in first["loc"][1:]) or first["loc"][0]
        message = f"Invalid field '{field}': {first['message']}"
    else:
        message = f"Invalid request: {exc.detail}"
    return InvalidArgumentError(message, {"validation_errors": problems})


def _from_http(request: Request[Any, Any, Any], exc: HTTPException) -> SkaldError:
    if isinstance(exc, ValidationException):
        return _from_validation(exc)
    status = exc.status_code
    if status == 404:
        return NotFoundError(
            f"Route not found: {request.url.path}", {"type": "route", "resource": request.url.path}
        )
    if status == 405:
        return MethodNotAllowedError(
            f"Method {request.method} not allowed on {request.url.path}",
            {"method": request.method, "path": request.url.path},
        )
    if status == 413:
        return InvalidArgumentError(
            f"Request body too large: {exc.detail}", {"reason": "body_too_large"}
        )
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
    else:
        request_id = request.scope.get("skald_request_id", "")
        log.exception(
            "unexpected error in %s %s (request %s)", request.method, request.url.path, request_id
        )
        err = InternalError("Internal error", {"request_id": request_id})
    return error_response(request, err)
