"""Authentication and tenancy (contract §3): from request headers to an ``Identity``.

* ``X-API-Key`` (wins) or ``Authorization: Bearer <key>``.
* Dev mode (no root key; loopback only): every caller is root, identity from the
  ``X-OpenViking-Account`` / ``X-OpenViking-User`` headers, default ``default``/``default``;
  a presented key is ignored.
* Root key: acts for any account/user named by the headers (default ``default``).
* Admin key: acts for any user of its own account; naming another account is 403.
* User key: its own account and user only; identity headers naming anyone else are ignored
  (as OpenViking 0.5.2 does).
* Read-only keys get 403 on every mutating method.
"""

from __future__ import annotations

import hmac
from typing import Any

import msgspec
from litestar import Request
from litestar.di import NamedDependency

from skald_core import ids
from skald_core.errors import ForbiddenError, InvalidArgumentError, UnauthenticatedError
from skald_core.identity import Identity
from skald_core.keys import identity_of

from .config import ServerConfig
from .context import Services
from .offload import run

ACCOUNT_HEADER = "x-openviking-account"
USER_HEADER = "x-openviking-user"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def scope_header(scope: Any, name: bytes) -> str | None:
    """The first ``name`` header (lower case) of an ASGI request scope: building Litestar's
    ``request.headers`` costs more than this whole lookup."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def header(request: Request[Any, Any, Any], name: bytes) -> str | None:
    """The first ``name`` header (lower case) of the request (see ``scope_header``)."""
    return scope_header(request.scope, name)


#: The headers an identity is made of, read in one pass over the request's headers.
_IDENTITY_HEADERS = frozenset(
    {b"x-api-key", b"authorization", ACCOUNT_HEADER.encode(), USER_HEADER.encode()}
)


def _identity_headers(scope: Any) -> dict[bytes, bytes]:
    """The first value of each of ``_IDENTITY_HEADERS`` the request has."""
    found: dict[bytes, bytes] = {}
    for key, value in scope["headers"]:
        if key in _IDENTITY_HEADERS and key not in found:
            found[key] = value
    return found


def presented_key(headers: dict[bytes, bytes]) -> str | None:
    """``X-API-Key`` (wins) or ``Authorization: Bearer <key>``, of ``_identity_headers``."""
    key = headers.get(b"x-api-key")
    if key:
        return key.decode("latin-1").strip()
    auth = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _header_id(headers: dict[bytes, bytes], name: str, field: str) -> str | None:
    raw = headers.get(name.encode())
    if not raw:
        return None
    value = raw.decode("latin-1")
    try:
        return ids.check_id(value, field)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"Invalid {name} header: {exc.message}", exc.details) from None


async def resolve_identity(
    request: Request[Any, Any, Any], services: NamedDependency[Services]
) -> Identity:
    """The caller of an API request: the ``identity`` dependency (``caller_of``)."""
    return await caller_of(request.scope, services)


async def caller_of(scope: Any, services: Services) -> Identity:
    """The caller of the API request of ASGI ``scope`` (``identify`` of its headers). A key
    that has to be looked up in the key store is looked up as a store call is made
    (``offload.run``): on the event loop for SQLite, in a thread for PostgreSQL, whose round
    trip (or wait for a pooled connection) must not stall every other request."""
    headers = _identity_headers(scope)
    key = presented_key(headers)
    account = _header_id(headers, ACCOUNT_HEADER, "account")
    user = _header_id(headers, USER_HEADER, "user")
    method = scope["method"]
    if _needs_key_store(services.config, key):
        return await run(
            services.store, identify, services, key, account=account, user=user, method=method
        )
    return identify(services, key, account=account, user=user, method=method)


def _needs_key_store(config: ServerConfig, key: str | None) -> bool:
    """Whether ``identify`` looks ``key`` up in the key store (key mode, not the root key)."""
    return not config.dev_mode and key is not None and not _is_root_key(config, key)


def _is_root_key(config: ServerConfig, key: str) -> bool:
    return hmac.compare_digest(key.encode(), (config.root_api_key or "").encode())


def identify(
    services: Services, key: str | None, *, account: str | None, user: str | None, method: str
) -> Identity:
    """Who presents ``key`` (None: no key) asking to act for ``account``/``user`` (None: its
    own) with an HTTP ``method``: the one authorization rule, for the API's headers and the
    console's signed-in session alike."""
    config = services.config
    if config.dev_mode:
        identity = Identity(
            account=account or "default",
            user=user or "default",
            role="root",
            principal="dev-mode caller",
        )
    else:
        if key is None:
            raise UnauthenticatedError("Missing API key: send X-API-Key or Authorization: Bearer")
        if _is_root_key(config, key):
            identity = Identity(
                account=account or "default",
                user=user or "default",
                role="root",
                principal="root key",
            )
        else:
            record = services.keys.find_key(key)
            if record is None:
                raise UnauthenticatedError("Invalid API key")
            identity = identity_of(record)
            principal = f"{record.account}/{record.user} (key {record.key_id})"
            identity = msgspec.structs.replace(identity, principal=principal)
            # A user key is always its own user: identity headers naming someone else are
            # ignored, as OpenViking does (its client sends its configured account and user
            # on every call). An admin key acts for a user of its own account.
            if identity.role == "admin":
                if account is not None and account != identity.account:
                    raise ForbiddenError(
                        f"This key belongs to account {identity.account!r} and cannot act for "
                        f"account {account!r}",
                        {"reason": "foreign_account"},
                    )
                if user is not None and user != identity.user:
                    identity = msgspec.structs.replace(identity, user=user)
    if identity.read_only and method not in SAFE_METHODS:
        raise ForbiddenError("This API key is read-only", {"reason": "read_only"})
    return identity


def idempotency_key(request: Request[Any, Any, Any]) -> str | None:
    """The ``Idempotency-Key`` header of a write, validated (1–128 printable ASCII characters)."""
    return idempotency_key_of(request.scope)


def idempotency_key_of(scope: Any) -> str | None:
    """``idempotency_key`` of an ASGI request scope."""
    value = scope_header(scope, b"idempotency-key")
    if value is None or value == "":
        return None
    if len(value) > 128 or not all(33 <= ord(ch) < 127 for ch in value):
        raise InvalidArgumentError(
            "Invalid Idempotency-Key header: use 1 to 128 printable ASCII characters",
            {"field": "Idempotency-Key"},
        )
    return value
