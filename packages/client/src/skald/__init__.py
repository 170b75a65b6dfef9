"""Skald — a self-hosted session and memory store for AI agents.

``import skald as ov`` gives everything a user needs: the embedded client
(``ov.OpenViking(path=...)``), its async twin, the typed errors and the wire schemas.
"""

from skald_core import __version__
from skald_core.embedded import AsyncOpenViking, OpenViking
from skald_core.errors import (
    AbortedError,
    AlreadyExistsError,
    ConflictError,
    DeadlineExceededError,
    FailedPreconditionError,
    ForbiddenError,
    InternalError,
    InvalidArgumentError,
    InvalidURIError,
    NotFoundError,
    PermissionDeniedError,
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

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "AsyncOpenViking",
    "AsyncSession",
    "ConflictError",
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
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "Session",
    "SessionExpiredError",
    "SessionStats",
    "SkaldError",
    "StorageUnavailableError",
    "TextPart",
    "ToolPart",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "__version__",
]
