"""Skald — a self-hosted session and memory store for AI agents.

``import skald as ov`` gives everything a user needs: the embedded client
(``ov.OpenViking(path=...)``), its async twin, the typed errors and the wire schemas.
"""

from typing import TYPE_CHECKING, Any

from skald_core import __version__
from skald_core.embedded import AsyncOpenViking, OpenViking
from skald_core.errors import (
    AbortedError,
    AlreadyExistsError,
    BadResponseError,
    ConflictError,
    ConnectionFailedError,
    DeadlineExceededError,
    FailedPreconditionError,
    ForbiddenError,
    InternalError,
    InvalidArgumentError,
    InvalidURIError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RequestTimeoutError,
    ResourceExhaustedError,
    SessionExpiredError,
    SkaldError,
    StorageUnavailableError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
)
from skald_core.identity import Identity
from skald_core.schemas import (
    ContextPart,
    Message,
    SessionStats,
    TextPart,
    ToolPart,
)
from skald_core.sdk.session import AsyncSession, Session

if TYPE_CHECKING:
    from .http import AsyncHTTPClient, SyncHTTPClient


def __getattr__(name: str) -> Any:
    # The HTTP clients (and httpx) load on first use, keeping ``import skald`` fast in-process.
    if name in ("SyncHTTPClient", "AsyncHTTPClient"):
        from . import http

        return getattr(http, name)
    raise AttributeError(f"module 'skald' has no attribute {name!r}")


__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "AsyncHTTPClient",
    "AsyncOpenViking",
    "AsyncSession",
    "BadResponseError",
    "ConflictError",
    "ConnectionFailedError",
    "ContextPart",
    "DeadlineExceededError",
    "FailedPreconditionError",
    "ForbiddenError",
    "Identity",
    "InternalError",
    "InvalidArgumentError",
    "InvalidURIError",
    "Message",
    "NotFoundError",
    "OpenViking",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RequestTimeoutError",
    "ResourceExhaustedError",
    "Session",
    "SessionExpiredError",
    "SessionStats",
    "SkaldError",
    "StorageUnavailableError",
    "SyncHTTPClient",
    "TextPart",
    "ToolPart",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "__version__",
]
