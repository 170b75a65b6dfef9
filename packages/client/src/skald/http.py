"""Typed HTTP clients that mirror the embedded SDK: ``SyncHTTPClient`` and ``AsyncHTTPClient``.

The sync client is a real ``httpx.Client`` and the async one a real ``httpx.AsyncClient``;
neither wraps the other. Requests are described once in ``_calls``, answers decoded once in
``_wire``; every httpx import of the package lives in this module.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import httpx

from skald_core import uris
from skald_core.errors import (
    ConnectionFailedError,
    NotFoundError,
    RequestTimeoutError,
    SkaldError,
)
from skald_core.identity import Identity
from skald_core.sdk.session import AsyncSession, Session
from skald_core.sdk.surface import CleanupBy, DeleteMode, ListOrder, WriteMode

from . import _calls as calls
from ._wire import RETRY_STATUSES, RetryPolicy, decode_result, encode, retry_after_seconds

DEFAULT_URL = "http://127.0.0.1:1933"
DEFAULT_TIMEOUT = 60.0

H = TypeVar("H", httpx.Client, httpx.AsyncClient)


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


class _Base(Generic[H]):
    """Configuration, headers and the per-attempt decisions shared by both clients."""

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
        self.retry = RetryPolicy(max_retries=max_retries)
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
    def _request_args(call: calls.Call, idempotency_key: str | None) -> dict[str, Any]:
        headers: dict[str, str] = {}
        content = None
        if call.body is not None:
            content = encode(call.body)
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return {"params": call.params, "content": content, "headers": headers}

    def _retry_delay(
        self, call: calls.Call, attempt: int, *, sent: bool, response: httpx.Response | None = None
    ) -> float | None:
        """Seconds to wait before another attempt, or None to stop here."""
        if attempt >= self.retry.max_retries:
            return None
        if sent and not (call.idempotent or call.keyed):
            return None
        retry_after = None
        if response is not None:
            if response.status_code not in RETRY_STATUSES:
                return None
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
        return self.retry.delay(attempt, retry_after)

    def _transport_error(self, call: calls.Call, exc: httpx.TransportError) -> SkaldError:
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
    def _decode(response: httpx.Response) -> Any:
        return decode_result(
            response.status_code, response.content, response.headers.get("content-type", "")
        )

    @staticmethod
    def _not_sent(exc: httpx.TransportError) -> bool:
        return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)

    @staticmethod
    def _missing(session_id: str, mode: str) -> dict[str, Any]:
        return {"session_id": session_id, "mode": mode, "deleted": None, "kept": None}


class SyncHTTPClient(_Base[httpx.Client]):
    """Skald over HTTP, synchronously; a drop-in replacement for ``OpenViking(path=...)``."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        account: str | None = None,
        user: str | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(url, api_key, account, user, timeout, max_retries)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            base_url=self.url, transport=transport, timeout=self.timeout
        )
        self._http.headers.update(self._headers())
        self._viking_fs = HTTPVikingFS(self)

    @classmethod
    def from_app(cls, app: Any, **kwargs: Any) -> SyncHTTPClient:
        """Talk to an ASGI app in-process (no socket); the app's lifespan runs too."""
        return cls(url="http://skald.local", transport=SyncASGITransport(app), **kwargs)

    def _call(self, call: calls.Call) -> Any:
        key = uuid.uuid4().hex if call.keyed else None
        args = self._request_args(call, key)
        attempt = 0
        while True:
            try:
                response = self._http.request(call.method, call.path, **args)
            except httpx.TransportError as exc:
                delay = self._retry_delay(call, attempt, sent=not self._not_sent(exc))
                if delay is None:
                    raise self._transport_error(call, exc) from exc
            else:
                delay = self._retry_delay(call, attempt, sent=True, response=response)
                if delay is None:
                    return self._decode(response)
            time.sleep(delay)
            attempt += 1

    # ------------------------------------------------------------------ lifecycle
    def initialize(self) -> None:
        """Nothing to do before the first call (kept for OpenViking compatibility)."""

    def close(self) -> None:
        if self._owns_http:
            self._http.close()
        transport = getattr(self._http, "_transport", None)
        if isinstance(transport, SyncASGITransport):
            transport.close()

    def __enter__(self) -> SyncHTTPClient:
        self.initialize()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def health(self) -> bool:
        try:
            response = self._http.get("/health")
            return bool(response.json().get("status") == "ok")
        except (httpx.HTTPError, ValueError):
            return False

    # ------------------------------------------------------------------ sessions
    def create_session(self, session_id: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.create_session(session_id))
        return result

    def list_sessions(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_deleted: bool = False,
        order: ListOrder = "desc",
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            calls.list_sessions(limit, cursor, include_deleted, order)
        )
        return result

    def get_session(self, session_id: str, *, auto_create: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.get_session(session_id, auto_create))
        return result

    def session_exists(self, session_id: str) -> bool:
        try:
            self.get_session(session_id)
        except NotFoundError:
            return False
        return True

    def session(self, session_id: str | None = None, must_exist: bool = False) -> Session:
        if session_id is None:
            if must_exist:
                raise NotFoundError.of("session", "")
            session_id = str(self.create_session()["session_id"])
        elif must_exist:
            self.get_session(session_id)
        else:
            self.get_session(session_id, auto_create=True)
        return Session(self, session_id, uris.session_uri(self._ctx.user, session_id)).load()

    def delete_session(
        self,
        session_id: str,
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        missing_ok: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]:
        try:
            result: dict[str, Any] = self._call(
                calls.delete_session(
                    session_id, mode, require_committed, commit_first, forget_memories
                )
            )
        except NotFoundError:
            if not missing_ok:
                raise
            return self._missing(session_id, mode)
        return result

    def restore_session(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.restore_session(session_id))
        return result

    def delete_sessions(
        self,
        session_ids: list[str],
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            calls.delete_sessions(
                session_ids, mode, require_committed, commit_first, forget_memories
            )
        )
        return result

    def cleanup_sessions(
        self,
        older_than_days: float,
        *,
        by: CleanupBy = "created_at",
        mode: DeleteMode = "hard",
        commit_first: bool = False,
        forget_memories: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            calls.cleanup_sessions(
                older_than_days, by, mode, commit_first, forget_memories, dry_run
            )
        )
        return result

    def erase_user(self, user: str, *, account: str | None = None) -> dict[str, Any]:
        """Erase ``user``; without ``account``, the account the server says this key acts in."""
        if account is None:
            account = str(self._call(calls.system_status())["account"])
        result: dict[str, Any] = self._call(calls.erase_user(account, user))
        return result

    def list_audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(
            calls.list_audit(limit, action, session_id, account)
        )
        return result

    def add_message(
        self,
        session_id: str,
        role: str,
        content: str | None = None,
        parts: list[Any] | None = None,
        *,
        peer_id: str | None = None,
        created_at: str | None = None,
        turn_id: str | None = None,
        message_kind: str | None = None,
    ) -> dict[str, Any]:
        body = calls.message_body(role, content, parts, peer_id, created_at, turn_id, message_kind)
        result: dict[str, Any] = self._call(calls.add_message(session_id, body))
        return result

    def batch_add_messages(self, session_id: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.batch_add_messages(session_id, messages))
        return result

    def commit_session(
        self, session_id: str, keep_recent_count: int = 0, *, wait: bool = False
    ) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            calls.commit_session(session_id, keep_recent_count, wait)
        )
        return result

    def get_session_context(self, session_id: str, token_budget: int = 128_000) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.get_session_context(session_id, token_budget))
        return result

    def get_session_archive(self, session_id: str, archive_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.get_session_archive(session_id, archive_id))
        return result

    def extract_session(self, session_id: str, archive_id: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.extract_session(session_id, archive_id))
        return result

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = self._call(calls.get_task(task_id))
        except NotFoundError:
            return None
        return result

    # ------------------------------------------------------------------ files
    def read(self, uri: str, offset: int = 0, limit: int = -1) -> str:
        return str(self._call(calls.read(uri, offset, limit)))

    def write(self, uri: str, content: str, mode: WriteMode = "replace") -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.write(uri, content, mode))
        return result

    def ls(
        self, uri: str, *, recursive: bool = False, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(calls.ls(uri, recursive, show_all_hidden))
        return result

    def tree(
        self, uri: str, *, level_limit: int = 3, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call(calls.tree(uri, level_limit, show_all_hidden))
        return result

    def stat(self, uri: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.stat(uri))
        return result

    def mkdir(self, uri: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.mkdir(uri))
        return result

    def rm(self, uri: str, *, recursive: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.rm(uri, recursive))
        return result

    def mv(self, from_uri: str, to_uri: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(calls.mv(from_uri, to_uri))
        return result


class AsyncHTTPClient(_Base[httpx.AsyncClient]):
    """Skald over HTTP, asynchronously; the twin of ``AsyncOpenViking``."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        account: str | None = None,
        user: str | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(url, api_key, account, user, timeout, max_retries)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            base_url=self.url, transport=transport, timeout=self.timeout
        )
        self._http.headers.update(self._headers())
        self._viking_fs = AsyncHTTPVikingFS(self)

    @classmethod
    def from_app(cls, app: Any, **kwargs: Any) -> AsyncHTTPClient:
        """Talk to an ASGI app in-process (no socket). Run the app's lifespan yourself if its
        background workers matter (Litestar's ``TestClient``/``AsyncTestClient`` do)."""
        return cls(url="http://skald.local", transport=httpx.ASGITransport(app=app), **kwargs)

    async def _call(self, call: calls.Call) -> Any:
        key = uuid.uuid4().hex if call.keyed else None
        args = self._request_args(call, key)
        attempt = 0
        while True:
            try:
                response = await self._http.request(call.method, call.path, **args)
            except httpx.TransportError as exc:
                delay = self._retry_delay(call, attempt, sent=not self._not_sent(exc))
                if delay is None:
                    raise self._transport_error(call, exc) from exc
            else:
                delay = self._retry_delay(call, attempt, sent=True, response=response)
                if delay is None:
                    return self._decode(response)
            await asyncio.sleep(delay)
            attempt += 1

    # ------------------------------------------------------------------ lifecycle
    async def initialize(self) -> None:
        """Nothing to do before the first call (kept for OpenViking compatibility)."""

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncHTTPClient:
        await self.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def health(self) -> bool:
        try:
            response = await self._http.get("/health")
            return bool(response.json().get("status") == "ok")
        except (httpx.HTTPError, ValueError):
            return False

    # ------------------------------------------------------------------ sessions
    async def create_session(self, session_id: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.create_session(session_id))
        return result

    async def list_sessions(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_deleted: bool = False,
        order: ListOrder = "desc",
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call(
            calls.list_sessions(limit, cursor, include_deleted, order)
        )
        return result

    async def get_session(self, session_id: str, *, auto_create: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.get_session(session_id, auto_create))
        return result

    async def session_exists(self, session_id: str) -> bool:
        try:
            await self.get_session(session_id)
        except NotFoundError:
            return False
        return True

    async def session(
        self, session_id: str | None = None, must_exist: bool = False
    ) -> AsyncSession:
        if session_id is None:
            if must_exist:
                raise NotFoundError.of("session", "")
            session_id = str((await self.create_session())["session_id"])
        elif must_exist:
            await self.get_session(session_id)
        else:
            await self.get_session(session_id, auto_create=True)
        sess = AsyncSession(self, session_id, uris.session_uri(self._ctx.user, session_id))
        return await sess.load()

    async def delete_session(
        self,
        session_id: str,
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        missing_ok: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await self._call(
                calls.delete_session(
                    session_id, mode, require_committed, commit_first, forget_memories
                )
            )
        except NotFoundError:
            if not missing_ok:
                raise
            return self._missing(session_id, mode)
        return result

    async def restore_session(self, session_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.restore_session(session_id))
        return result

    async def delete_sessions(
        self,
        session_ids: list[str],
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            calls.delete_sessions(
                session_ids, mode, require_committed, commit_first, forget_memories
            )
        )
        return result

    async def cleanup_sessions(
        self,
        older_than_days: float,
        *,
        by: CleanupBy = "created_at",
        mode: DeleteMode = "hard",
        commit_first: bool = False,
        forget_memories: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            calls.cleanup_sessions(
                older_than_days, by, mode, commit_first, forget_memories, dry_run
            )
        )
        return result

    async def erase_user(self, user: str, *, account: str | None = None) -> dict[str, Any]:
        """Erase ``user``; without ``account``, the account the server says this key acts in."""
        if account is None:
            account = str((await self._call(calls.system_status()))["account"])
        result: dict[str, Any] = await self._call(calls.erase_user(account, user))
        return result

    async def list_audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call(
            calls.list_audit(limit, action, session_id, account)
        )
        return result

    async def add_message(
        self,
        session_id: str,
        role: str,
        content: str | None = None,
        parts: list[Any] | None = None,
        *,
        peer_id: str | None = None,
        created_at: str | None = None,
        turn_id: str | None = None,
        message_kind: str | None = None,
    ) -> dict[str, Any]:
        body = calls.message_body(role, content, parts, peer_id, created_at, turn_id, message_kind)
        result: dict[str, Any] = await self._call(calls.add_message(session_id, body))
        return result

    async def batch_add_messages(
        self, session_id: str, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.batch_add_messages(session_id, messages))
        return result

    async def commit_session(
        self, session_id: str, keep_recent_count: int = 0, *, wait: bool = False
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            calls.commit_session(session_id, keep_recent_count, wait)
        )
        return result

    async def get_session_context(
        self, session_id: str, token_budget: int = 128_000
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(
            calls.get_session_context(session_id, token_budget)
        )
        return result

    async def get_session_archive(self, session_id: str, archive_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.get_session_archive(session_id, archive_id))
        return result

    async def extract_session(
        self, session_id: str, archive_id: str | None = None
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.extract_session(session_id, archive_id))
        return result

    async def get_task(self, task_id: str) -> dict[str, Any] | None:
        try:
            result: dict[str, Any] = await self._call(calls.get_task(task_id))
        except NotFoundError:
            return None
        return result

    # ------------------------------------------------------------------ files
    async def read(self, uri: str, offset: int = 0, limit: int = -1) -> str:
        return str(await self._call(calls.read(uri, offset, limit)))

    async def write(self, uri: str, content: str, mode: WriteMode = "replace") -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.write(uri, content, mode))
        return result

    async def ls(
        self, uri: str, *, recursive: bool = False, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call(calls.ls(uri, recursive, show_all_hidden))
        return result

    async def tree(
        self, uri: str, *, level_limit: int = 3, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call(
            calls.tree(uri, level_limit, show_all_hidden)
        )
        return result

    async def stat(self, uri: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.stat(uri))
        return result

    async def mkdir(self, uri: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.mkdir(uri))
        return result

    async def rm(self, uri: str, *, recursive: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.rm(uri, recursive))
        return result

    async def mv(self, from_uri: str, to_uri: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call(calls.mv(from_uri, to_uri))
        return result


class HTTPVikingFS:
    """``client._viking_fs`` over HTTP: ``write_file`` creates or replaces a file."""

    def __init__(self, client: SyncHTTPClient) -> None:
        self._client = client

    def write_file(self, uri: str, content: str | bytes, ctx: Identity | None = None) -> None:
        text = content.decode() if isinstance(content, bytes) else content
        try:
            self._client.write(uri, text, mode="replace")
        except NotFoundError as exc:
            if exc.details.get("type") != "file":
                raise
            self._client.write(uri, text, mode="create")

    def read_file(self, uri: str, ctx: Identity | None = None) -> str:
        return self._client.read(uri)

    def ls(self, uri: str, ctx: Identity | None = None) -> list[dict[str, Any]]:
        return self._client.ls(uri, show_all_hidden=True)


class AsyncHTTPVikingFS:
    def __init__(self, client: AsyncHTTPClient) -> None:
        self._client = client

    async def write_file(self, uri: str, content: str | bytes, ctx: Identity | None = None) -> None:
        text = content.decode() if isinstance(content, bytes) else content
        try:
            await self._client.write(uri, text, mode="replace")
        except NotFoundError as exc:
            if exc.details.get("type") != "file":
                raise
            await self._client.write(uri, text, mode="create")

    async def read_file(self, uri: str, ctx: Identity | None = None) -> str:
        return await self._client.read(uri)

    async def ls(self, uri: str, ctx: Identity | None = None) -> list[dict[str, Any]]:
        return await self._client.ls(uri, show_all_hidden=True)


class SyncASGITransport(httpx.BaseTransport):
    """Serve a sync ``httpx.Client`` from an ASGI app in this process, without a socket.

    The app runs on an event loop in a helper thread (an anyio blocking portal), with its
    lifespan started on first use and shut down by ``close()`` — so background workers and
    shutdown hooks behave as under a real server.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self._inner = httpx.ASGITransport(app=app)
        self._portal_cm: Any = None
        self._portal: Any = None
        self._started: Any = None
        self._shutdown: Any = None
        self._done: Any = None

    def _start(self) -> None:
        if self._portal is not None:
            return
        import anyio.from_thread

        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._portal.call(self._make_events)
        self._portal.start_task_soon(self._lifespan)
        failure = self._portal.call(self._wait_started)
        if failure:
            raise ConnectionFailedError(f"ASGI app failed to start: {failure}")

    async def _make_events(self) -> None:
        import anyio

        self._started = anyio.Event()
        self._shutdown = anyio.Event()
        self._done = anyio.Event()
        self._failure: list[str] = []

    async def _wait_started(self) -> str | None:
        await self._started.wait()
        return self._failure[0] if self._failure else None

    async def _lifespan(self) -> None:
        phase = ["startup"]

        async def receive() -> dict[str, Any]:
            if phase[0] == "startup":
                phase[0] = "running"
                return {"type": "lifespan.startup"}
            await self._shutdown.wait()
            return {"type": "lifespan.shutdown"}

        async def send(message: Mapping[str, Any]) -> None:
            kind = message["type"]
            if kind == "lifespan.startup.failed":
                self._failure.append(str(message.get("message", "startup failed")))
                self._started.set()
            elif kind == "lifespan.startup.complete":
                self._started.set()
            elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                self._done.set()

        try:
            await self.app(
                {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send
            )
        finally:
            self._started.set()
            self._done.set()

    async def _handle(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._start()
        body = request.read()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response: httpx.Response = self._portal.call(self._handle, copy)
        return response

    def close(self) -> None:
        if self._portal is None:
            return

        async def stop() -> None:
            self._shutdown.set()
            await self._done.wait()

        try:
            self._portal.call(stop)
        finally:
            self._portal_cm.__exit__(None, None, None)
            self._portal = None


__all__ = ["AsyncHTTPClient", "SyncASGITransport", "SyncHTTPClient"]
