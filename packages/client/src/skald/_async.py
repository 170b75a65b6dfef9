"""``AsyncHTTPClient``: Skald over HTTP on an ``httpx.AsyncClient``, each method one ``_calls``
entry (the async twin of ``_sync``)."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import httpx

from skald_core.errors import SkaldError
from skald_core.identity import Identity
from skald_core.literals import (
    CleanupBy,
    ContextType,
    DeleteMode,
    ListOrder,
    SearchType,
    WriteMode,
)
from skald_core.sdk.arguments import checked_client
from skald_core.sdk.session import AsyncSession

from . import _calls as calls
from ._base import BaseHTTPClient
from ._calls import Call, Plan

R = TypeVar("R")


@checked_client
class AsyncHTTPClient(BaseHTTPClient[httpx.AsyncClient]):
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

    async def _send(self, call: Call[R]) -> R:
        """One call, retried as its description and the retry policy allow."""
        args = self._request_args(call)
        attempt = 0
        while True:
            try:
                response = await self._http.request(call.method, call.path, **args)
            except httpx.TransportError as exc:
                delay = self._retry_delay(call, attempt, exc)
                if delay is None:
                    raise self._failure(call, exc) from exc
            else:
                delay = self._retry_delay(call, attempt, response)
                if delay is None:
                    return self._result(call, response)
            await asyncio.sleep(delay)
            attempt += 1

    async def _run(self, op: Call[R] | Plan[R]) -> R:
        """A call, or a plan: each call it yields is sent and its result (or error) given back."""
        if isinstance(op, Call):
            return await self._send(op)
        try:
            call = next(op)
            while True:
                try:
                    result = await self._send(call)
                except SkaldError as exc:
                    call = op.throw(exc)
                else:
                    call = op.send(result)
        except StopIteration as done:
            value: R = done.value
            return value

    # ------------------------------------------------------------------ lifecycle
    async def initialize(self) -> None:
        """Check that the server answers and accepts this client's key (and identity):
        ``ConnectionFailedError`` when nothing listens at the URL, ``UnauthenticatedError``
        for a wrong key, instead of either surfacing at the first real call."""
        await self._run(calls.system_status())

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncHTTPClient:
        await self.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def health(self) -> bool:
        return await self._run(calls.health())

    # ------------------------------------------------------------------ sessions
    async def create_session(self, session_id: str | None = None) -> dict[str, Any]:
        return await self._run(calls.create_session(session_id))

    async def list_sessions(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_deleted: bool = False,
        order: ListOrder = "desc",
        all_users: bool = False,
    ) -> list[dict[str, Any]]:
        return await self._run(
            calls.list_sessions(limit, cursor, include_deleted, order, all_users)
        )

    async def get_session(self, session_id: str, *, auto_create: bool = False) -> dict[str, Any]:
        return await self._run(calls.get_session(session_id, auto_create))

    async def session_exists(self, session_id: str) -> bool:
        return await self._run(calls.session_exists(session_id))

    async def session(
        self, session_id: str | None = None, must_exist: bool = False
    ) -> AsyncSession:
        return await AsyncSession(
            self, *await self._run(calls.session(session_id, must_exist, self.ctx.user))
        ).load()

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
        return await self._run(
            calls.delete_session(
                session_id, mode, require_committed, missing_ok, commit_first, forget_memories
            )
        )

    async def restore_session(self, session_id: str) -> dict[str, Any]:
        return await self._run(calls.restore_session(session_id))

    async def delete_sessions(
        self,
        session_ids: list[str],
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]:
        return await self._run(
            calls.delete_sessions(
                session_ids, mode, require_committed, commit_first, forget_memories
            )
        )

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
        return await self._run(
            calls.cleanup_sessions(
                older_than_days, by, mode, commit_first, forget_memories, dry_run
            )
        )

    async def erase_user(self, user: str, *, account: str | None = None) -> dict[str, Any]:
        """Erase ``user``; without ``account``, the account the server says this key acts in."""
        return await self._run(calls.erase_user(user, account))

    async def list_audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        return await self._run(calls.list_audit(limit, action, session_id, account))

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
        return await self._run(
            calls.add_message(
                session_id, role, content, parts, peer_id, created_at, turn_id, message_kind
            )
        )

    async def batch_add_messages(
        self, session_id: str, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return await self._run(calls.batch_add_messages(session_id, messages))

    async def commit_session(
        self, session_id: str, keep_recent_count: int = 0, *, wait: bool = False
    ) -> dict[str, Any]:
        return await self._run(calls.commit_session(session_id, keep_recent_count, wait))

    async def get_session_context(
        self, session_id: str, token_budget: int = 128_000
    ) -> dict[str, Any]:
        return await self._run(calls.get_session_context(session_id, token_budget))

    async def get_session_archive(self, session_id: str, archive_id: str) -> dict[str, Any]:
        return await self._run(calls.get_session_archive(session_id, archive_id))

    async def extract_session(
        self, session_id: str, archive_id: str | None = None
    ) -> dict[str, Any]:
        return await self._run(calls.extract_session(session_id, archive_id))

    async def get_task(self, task_id: str) -> dict[str, Any] | None:
        return await self._run(calls.get_task(task_id))

    async def list_tasks(
        self,
        *,
        task_type: str | None = None,
        status: str | None = None,
        resource_id: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        return await self._run(calls.list_tasks(task_type, status, resource_id, limit))

    async def abstract(self, uri: str) -> str:
        return await self._run(calls.summary(uri, "abstract"))

    async def overview(self, uri: str) -> str:
        return await self._run(calls.summary(uri, "overview"))

    # ------------------------------------------------------------------ files
    async def read(self, uri: str, offset: int = 0, limit: int = -1) -> str:
        return await self._run(calls.read(uri, offset, limit))

    async def write(self, uri: str, content: str, mode: WriteMode = "replace") -> dict[str, Any]:
        return await self._run(calls.write(uri, content, mode))

    async def ls(
        self, uri: str, *, recursive: bool = False, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        return await self._run(calls.ls(uri, recursive, show_all_hidden))

    async def tree(
        self, uri: str, *, level_limit: int = 3, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        return await self._run(calls.tree(uri, level_limit, show_all_hidden))

    async def stat(self, uri: str) -> dict[str, Any]:
        return await self._run(calls.stat(uri))

    async def mkdir(self, uri: str) -> dict[str, Any]:
        return await self._run(calls.mkdir(uri))

    async def rm(self, uri: str, *, recursive: bool = False) -> dict[str, Any]:
        return await self._run(calls.rm(uri, recursive))

    async def mv(self, from_uri: str, to_uri: str) -> dict[str, Any]:
        return await self._run(calls.mv(from_uri, to_uri))

    async def batch_write(
        self, root_uri: str, operations: list[dict[str, Any]], wait: bool = True
    ) -> dict[str, Any]:
        return await self._run(calls.batch_write(root_uri, operations, wait))

    async def cp(self, from_uri: str, to_uri: str, *, recursive: bool = False) -> dict[str, Any]:
        return await self._run(calls.cp(from_uri, to_uri, recursive))

    async def download_bytes(self, uri: str) -> bytes:
        return await self._run(calls.download_bytes(uri))

    async def attrs(self, uri: str) -> dict[str, Any]:
        return await self._run(calls.attrs(uri))

    async def set_tags(
        self,
        uri: str,
        tags: list[str] | None = None,
        mode: str = "replace",
        recursive: bool = False,
    ) -> dict[str, Any]:
        return await self._run(calls.set_tags(uri, tags, mode, recursive))

    async def reindex(
        self,
        uri: str,
        mode: str = "vectors_only",
        wait: bool = True,
        recursive: bool = True,
        force: bool = False,
    ) -> dict[str, Any]:
        return await self._run(calls.reindex(uri, mode, wait, recursive, force))

    async def update_session_config(
        self, session_id: str, options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return await self._run(calls.update_session_config(session_id, options))

    async def cancel_task(self, task_id: str) -> dict[str, Any]:
        return await self._run(calls.cancel_task(task_id))

    async def wait_processed(self) -> dict[str, Any]:
        return await self._run(calls.wait_processed())

    async def find(
        self,
        query: str,
        target_uri: str | list[str] = "",
        limit: int = 10,
        *,
        score_threshold: float | None = None,
        context_type: ContextType | list[ContextType] | None = None,
    ) -> dict[str, Any]:
        return await self._run(calls.find(query, target_uri, limit, score_threshold, context_type))

    async def search(
        self,
        query: str,
        session_id: str | None = None,
        target_uri: str | list[str] = "",
        limit: int = 10,
        *,
        score_threshold: float | None = None,
        context_type: ContextType | list[ContextType] | None = None,
        search_type: SearchType | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            calls.search(
                query, session_id, target_uri, limit, score_threshold, context_type, search_type
            )
        )

    async def grep(
        self,
        uri: str,
        pattern: str,
        case_insensitive: bool = False,
        node_limit: int = 256,
        *,
        exclude_uri: str | None = None,
    ) -> dict[str, Any]:
        return await self._run(calls.grep(uri, pattern, case_insensitive, node_limit, exclude_uri))

    async def glob(
        self, pattern: str, uri: str = "viking://", node_limit: int = 256
    ) -> dict[str, Any]:
        return await self._run(calls.glob(pattern, uri, node_limit))


class AsyncHTTPVikingFS:
    """``client._viking_fs`` over async HTTP: the same, awaited."""

    def __init__(self, client: AsyncHTTPClient) -> None:
        self._client = client

    async def write_file(self, uri: str, content: str | bytes, ctx: Identity | None = None) -> None:
        await self._client._run(calls.write_file(uri, content))

    async def read_file(self, uri: str, ctx: Identity | None = None) -> str:
        return await self._client._run(calls.read(uri, 0, -1))

    async def ls(self, uri: str, ctx: Identity | None = None) -> list[dict[str, Any]]:
        return await self._client._run(calls.ls(uri, False, True))
