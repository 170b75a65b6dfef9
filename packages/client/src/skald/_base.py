"""What ``SyncHTTPClient`` and ``AsyncHTTPClient`` share, none of it I/O.

Configuration and headers; a ``Call`` as request arguments; whether (and how long after) a
failed attempt is tried again; the answer as the call's result or as a typed ``SkaldError``.
"""

from __future__ import annotations

import os
import uuid
from typing import Any, Generic, TypeVar, cast

import httpx
import msgspec

from skald_core.errors import (
    BadResponseError,
    ConnectionFailedError,
    RequestTimeoutError,
    SkaldError,
    error_from_wire,
)
from skald_core.identity import Identity
from skald_core.retry import RetryPolicy, retry_after_seconds

from ._calls import Call

DEFAULT_URL = "http://127.0.0.1:1933"
DEFAULT_TIMEOUT = 60.0
#: Answers worth another attempt (for calls that may be retried at all).
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: The longest ``Retry-After`` the clients honour.
MAX_RETRY_AFTER = 60.0

H = TypeVar("H", httpx.Client, httpx.AsyncClient)
R = TypeVar("R")

_encoder = msgspec.json.Encoder()


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def decode_result(status: int, content: bytes, content_type: str) -> Any:
    """The ``result`` of a success envelope, or the typed error of an error envelope."""
    try:
        body = msgspec.json.decode(content) if content else None
    except msgspec.DecodeError:
        body = None
    if isinstance(body, dict) and body.get("status") == "error":
        err = body.get("error") or {}
        if not isinstance(err, dict):
            err = {}
        details = err.get("details")
        raise error_from_wire(
            err.get("code"),
            str(err.get("message") or f"HTTP {status}"),
            details if isinstance(details, dict) else {},
        )
    if isinstance(body, dict) and body.get("status") == "ok" and "result" in body:
        if status >= 400:
            raise BadResponseError(f"HTTP {status} with a success envelope", {"status": status})
        return body["result"]
    snippet = content[:200].decode("utf-8", errors="replace")
    raise BadResponseError(
        f"HTTP {status}: the server's answer is not a Skald envelope ({content_type or 'no type'}):"
        f" {snippet!r}",
        {"status": status, "content_type": content_type},
    )


class BaseHTTPClient(Generic[H]):
    """Configuration, headers and the per-attempt decisions of both HTTP clients."""

    _http: H

    def __init__(
        self,
        url: str | None,
        api_key: str | None,
        account: str | None,
        user: str | None,
        timeout: float | None,
        max_retries: int,
    ) -> None:
        self.url = (url or _env("SKALD_URL", "OPENVIKING_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key or _env("SKALD_API_KEY", "OPENVIKING_API_KEY")
        self.account = account or _env("SKALD_ACCOUNT", "OPENVIKING_ACCOUNT")
        self.user = user or _env("SKALD_USER", "OPENVIKING_USER")
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.retry = RetryPolicy(attempts=max_retries + 1, max_retry_after=MAX_RETRY_AFTER)
        self._ctx = Identity(account=self.account or "default", user=self.user or "default")

    @property
    def ctx(self) -> Identity:
        return self._ctx

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "skald-python"}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        if self.account:
            headers["X-OpenViking-Account"] = self.account
        if self.user:
            headers["X-OpenViking-User"] = self.user
        return headers

    @staticmethod
    def _request_args(call: Call[Any]) -> dict[str, Any]:
        """``request()`` arguments, the same for every attempt (a keyed call keeps its key)."""
        headers: dict[str, str] = {}
        content = None
        if call.body is not None:
            content = _encoder.encode(call.body)
            headers["Content-Type"] = "application/json"
        if call.keyed:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        return {"params": call.params, "content": content, "headers": headers}

    def _retry_delay(
        self, call: Call[Any], attempt: int, outcome: httpx.Response | httpx.TransportError
    ) -> float | None:
        """Seconds to wait before trying ``call`` again after ``outcome``, or None to stop."""
        if call.once or attempt >= self.retry.retries:
            return None
        if isinstance(outcome, httpx.TransportError):
            # A request that never left may always be sent again; one that did, only if safe.
            never_sent = isinstance(
                outcome, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
            )
            if not (never_sent or call.idempotent or call.keyed):
                return None
            return self.retry.delay(attempt)
        if outcome.status_code not in RETRY_STATUSES or not (
            call.idempotent or call.keyed or _never_read(outcome)
        ):
            return None
        if outcome.status_code == 429 and b'"quota_exceeded"' in outcome.content:
            return None  # a quota: the same call fails the same way until data is removed
        return self.retry.delay(attempt, retry_after_seconds(outcome.headers.get("retry-after")))

    def _failure(self, call: Call[Any], exc: httpx.TransportError) -> SkaldError:
        where = f"{call.method} {self.url}{call.path}"
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeoutError(
                f"No answer within {self.timeout}s: {where}",
                {"url": self.url, "reason": type(exc).__name__},
            )
        return ConnectionFailedError(
            f"Cannot reach Skald at {self.url} ({where}): {exc}",
            {"url": self.url, "reason": type(exc).__name__},
        )

    @staticmethod
    def _result(call: Call[R], response: httpx.Response) -> R:
        if call.raw and response.is_success:
            return cast(R, bytes(response.content))
        if not call.envelope:
            try:
                return cast(R, msgspec.json.decode(response.content))
            except msgspec.DecodeError:
                raise BadResponseError(
                    f"HTTP {response.status_code}: the answer is not JSON",
                    {"status": response.status_code},
                ) from None
        content_type = response.headers.get("content-type", "")
        return cast(R, decode_result(response.status_code, response.content, content_type))


def _never_read(answer: httpx.Response) -> bool:
    """The server's 503 to a connection past its cap (``max_connections``): it answered before
    reading the request, so any call may be sent again, as one that never left."""
    return answer.status_code == 503 and b'"too_many_connections"' in answer.content
