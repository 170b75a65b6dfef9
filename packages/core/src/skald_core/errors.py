"""The error taxonomy: one wire code, one exception class, one HTTP status.

    SkaldError                         code=INTERNAL          500
    ├── InvalidArgumentError (ValueError)   INVALID_ARGUMENT  400
    │   ├── InvalidURIError                 INVALID_URI       400
    │   └── PayloadTooLargeError            PAYLOAD_TOO_LARGE 413
    ├── UnauthenticatedError                UNAUTHENTICATED   401
    ├── ForbiddenError (PermissionError)    FORBIDDEN         403   (alias PERMISSION_DENIED)
    ├── NotFoundError (LookupError)         NOT_FOUND         404
    ├── MethodNotAllowedError               METHOD_NOT_ALLOWED 405  (HTTP routing only)
    ├── UnsupportedMediaTypeError           UNSUPPORTED_MEDIA_TYPE 415  (HTTP only)
    ├── AlreadyExistsError                  ALREADY_EXISTS    409
    ├── ConflictError                       CONFLICT          409
    ├── AbortedError                        ABORTED           409
    ├── SessionExpiredError                 SESSION_EXPIRED   410
    ├── FailedPreconditionError             FAILED_PRECONDITION 412
    ├── ResourceExhaustedError              RESOURCE_EXHAUSTED 429
    ├── InternalError                       INTERNAL          500
    ├── UnimplementedError                  UNIMPLEMENTED     501
    ├── UnavailableError                    UNAVAILABLE       503
    │   ├── StorageUnavailableError         (database locked, corrupt or unreachable)
    │   └── ConnectionFailedError           (client side: the server could not be reached)
    ├── DeadlineExceededError (TimeoutError) DEADLINE_EXCEEDED 504
    │   └── RequestTimeoutError             (client side: no answer in time)
    └── BadResponseError                    (client side: an answer that is not an envelope)

Servers raise these; clients re-raise the same classes from the error envelope, so
``except skald.NotFoundError`` works whether a call went in-process or over the network.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SkaldError(Exception):
    """Base of every Skald error. ``code`` and ``http_status`` are class attributes."""

    code: ClassVar[str] = "INTERNAL"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        # An instance may carry a wire code other than its class's (unknown codes from a server).
        self.wire_code: str = type(self).code

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.wire_code, "message": self.message, "details": self.details}


class InvalidArgumentError(SkaldError, ValueError):
    code = "INVALID_ARGUMENT"
    http_status = 400


class InvalidURIError(InvalidArgumentError):
    code = "INVALID_URI"
    http_status = 400


class PayloadTooLargeError(InvalidArgumentError):
    """A request body (or, in-process, the request it stands for) over the size limit."""

    code = "PAYLOAD_TOO_LARGE"
    http_status = 413


class UnauthenticatedError(SkaldError):
    code = "UNAUTHENTICATED"
    http_status = 401


class ForbiddenError(SkaldError, PermissionError):
    code = "FORBIDDEN"
    http_status = 403


PermissionDeniedError = ForbiddenError


class NotFoundError(SkaldError, LookupError):
    code = "NOT_FOUND"
    http_status = 404

    @classmethod
    def of(cls, kind: str, resource: str) -> NotFoundError:
        """``NotFoundError.of("session", "abc")`` → "Session not found: abc" with typed details."""
        return cls(
            f"{kind.capitalize()} not found: {resource}", {"type": kind, "resource": resource}
        )


class MethodNotAllowedError(SkaldError):
    """A known route asked with the wrong HTTP method (a server-side routing error)."""

    code = "METHOD_NOT_ALLOWED"
    http_status = 405


class UnsupportedMediaTypeError(SkaldError):
    """A request body that is not declared as JSON (``Content-Type`` missing or another type):
    an HTTP-only error, which no Skald client causes."""

    code = "UNSUPPORTED_MEDIA_TYPE"
    http_status = 415


class AlreadyExistsError(SkaldError):
    code = "ALREADY_EXISTS"
    http_status = 409

    @classmethod
    def of(cls, kind: str, resource: str) -> AlreadyExistsError:
        return cls(
            f"{kind.capitalize()} already exists: {resource}", {"type": kind, "resource": resource}
        )


class ConflictError(SkaldError):
    code = "CONFLICT"
    http_status = 409


class AbortedError(SkaldError):
    code = "ABORTED"
    http_status = 409


class SessionExpiredError(SkaldError):
    code = "SESSION_EXPIRED"
    http_status = 410


class FailedPreconditionError(SkaldError):
    code = "FAILED_PRECONDITION"
    http_status = 412


class ResourceExhaustedError(SkaldError):
    code = "RESOURCE_EXHAUSTED"
    http_status = 429

    @classmethod
    def quota(cls, name: str, limit: int, message: str) -> ResourceExhaustedError:
        """A quota (a setting of that ``name``) would be exceeded: retrying will not help,
        ``details.reason`` says so to clients."""
        return cls(
            f"{message} (limit {limit:,}, setting {name})",
            {"reason": "quota_exceeded", "quota": name, "limit": limit},
        )


class InternalError(SkaldError):
    code = "INTERNAL"
    http_status = 500


class UnimplementedError(SkaldError):
    code = "UNIMPLEMENTED"
    http_status = 501


class UnavailableError(SkaldError):
    code = "UNAVAILABLE"
    http_status = 503


class StorageUnavailableError(UnavailableError):
    """The database is locked for too long, corrupt, or unreachable."""


class DeadlineExceededError(SkaldError, TimeoutError):
    code = "DEADLINE_EXCEEDED"
    http_status = 504


class ConnectionFailedError(UnavailableError):
    """Raised by HTTP clients when the server cannot be reached (after retries)."""


class RequestTimeoutError(DeadlineExceededError):
    """Raised by HTTP clients when the server did not answer within the timeout."""


class BadResponseError(SkaldError):
    """Raised by HTTP clients when an answer is not the contract's envelope."""


ERROR_CLASSES: dict[str, type[SkaldError]] = {
    cls.code: cls
    for cls in (
        InvalidArgumentError,
        InvalidURIError,
        PayloadTooLargeError,
        UnauthenticatedError,
        ForbiddenError,
        NotFoundError,
        MethodNotAllowedError,
        UnsupportedMediaTypeError,
        AlreadyExistsError,
        ConflictError,
        AbortedError,
        SessionExpiredError,
        FailedPreconditionError,
        ResourceExhaustedError,
        InternalError,
        UnimplementedError,
        UnavailableError,
        DeadlineExceededError,
    )
}
ERROR_CLASSES["PERMISSION_DENIED"] = ForbiddenError

#: The codes a server sends in place of Skald's own, per ``error_codes`` setting: ``skald``
#: (the seed's codes, the default) or ``openviking`` (what OpenViking 0.5.2 sends, so its
#: published client raises its own classes, e.g. ``PermissionDeniedError``). HTTP statuses
#: stay the same; Skald's clients know both sets.
ERROR_CODE_SETS: dict[str, dict[str, str]] = {
    "skald": {},
    "openviking": {"FORBIDDEN": "PERMISSION_DENIED", "METHOD_NOT_ALLOWED": "UNKNOWN"},
}


def error_from_wire(code: str | None, message: str, details: dict[str, Any] | None) -> SkaldError:
    """Rebuild the exception a server sent; unknown codes keep their code on the base class."""
    cls = ERROR_CLASSES.get(code or "", SkaldError)
    err = cls(message, details)
    err.wire_code = code or "UNKNOWN"
    if cls is SkaldError:
        # Keep the server's code visible as ``exc.code`` (it shadows the class attribute).
        setattr(err, "code", err.wire_code)  # noqa: B010
    return err


def http_status_for(code: str) -> int:
    return ERROR_CLASSES.get(code, InternalError).http_status
