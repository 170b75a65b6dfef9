"""``SyncHTTPClient``: Skald over HTTP on an ``httpx.Client``, each method one ``_calls`` entry."""

from __future__ import annotations

import time
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
from skald_core.sdk.session import Session

from . import _calls as calls
from ._base import BaseHTTPClient
from ._calls import Call, Plan

R = TypeVar("R")


@checked_client
class SyncHTTPClient(BaseHTTPClient[httpx.Client]):
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

    def _send(self, call: Call[R]) -> R:
        """One call, retried as its description and the retry policy allow."""
        args = self._request_args(call)
        attempt = 0
        while True:
            try:
                response = self._http.request(call.method, call.path, **args)
            except httpx.TransportError as exc:
                delay = self._retry_delay(call, attempt, exc)
                if delay is None:
                    raise self._failure(call, exc) from exc
            else:
                delay = self._retry_delay(call, attempt, response)
                if delay is None:
                    return self._result(call, response)
            time.sleep(delay)
            attempt += 1

    def _run(self, op: Call[R] | Plan[R]) -> R:
        """A call, or a plan: each call it yields is sent and its result (or error) given back."""
        if isinstance(op, Call):
            return self._send(op)
        try:
            call = next(op)
            while True:
                try:
                    result = self._send(call)
                except SkaldError as exc:
                    call = op.throw(exc)
                else:
                    call = op.send(result)
        except StopIteration as done:
            value: R = done.value
            return value

    # ------------------------------------------------------------------ lifecycle
    def initialize(self) -> None:
        """Check that the server answers and accepts this client's key (and identity):
        ``ConnectionFailedError`` when nothing listens at the URL, ``UnauthenticatedError``
        for a wrong key, instead of either surfacing at the first real call."""
        self._run(calls.system_status())

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SyncHTTPClient:
        self.initialize()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def health(self) -> bool:
        return self._run(calls.health())

    # ------------------------------------------------------------------ sessions
    def create_session(self, session_id: str | None = None) -> dict[str, Any]:
        return self._run(calls.create_session(session_id))

    def list_sessions(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_deleted: bool = False,
        order: ListOrder = "desc",
        all_users: bool = False,
    ) -> list[dict[str, Any]]:
        return self._run(calls.list_sessions(limit, cursor, include_deleted, order, all_users))

    def get_session(self, session_id: str, *, auto_create: bool = False) -> dict[str, Any]:
        return self._run(calls.get_session(session_id, auto_create))

    def session_exists(self, session_id: str) -> bool:
        return self._run(calls.session_exists(session_id))

    def session(self, session_id: str | None = None, must_exist: bool = False) -> Session:
        return Session(
            self, *self._run(calls.session(session_id, must_exist, self.ctx.user))
        ).load()

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
        return self._run(
            calls.delete_session(
                session_id, mode, require_committed, missing_ok, commit_first, forget_memories
            )
        )

    def restore_session(self, session_id: str) -> dict[str, Any]:
        return self._run(calls.restore_session(session_id))

    def delete_sessions(
        self,
        session_ids: list[str],
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]:
        return self._run(
            calls.delete_sessions(
                session_ids, mode, require_committed, commit_first, forget_memories
            )
        )

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
        return self._run(
            calls.cleanup_sessions(
                older_than_days, by, mode, commit_first, forget_memories, dry_run
            )
        )

    def erase_user(self, user: str, *, account: str | None = None) -> dict[str, Any]:
        """Erase ``user``; without ``account``, the account the server says this key acts in."""
        return self._run(calls.erase_user(user, account))

    def list_audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        return self._run(calls.list_audit(limit, action, session_id, account))

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
        return self._run(
            calls.add_message(
                session_id, role, content, parts, peer_id, created_at, turn_id, message_kind
            )
        )

    def batch_add_messages(self, session_id: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return self._run(calls.batch_add_messages(session_id, messages))

    def commit_session(
        self, session_id: str, keep_recent_count: int = 0, *, wait: bool = False
    ) -> dict[str, Any]:
        return self._run(calls.commit_session(session_id, keep_recent_count, wait))

    def get_session_context(self, session_id: str, token_budget: int = 128_000) -> dict[str, Any]:
        return self._run(calls.get_session_context(session_id, token_budget))

    def get_session_archive(self, session_id: str, archive_id: str) -> dict[str, Any]:
        return self._run(calls.get_session_archive(session_id, archive_id))

    def extract_session(self, session_id: str, archive_id: str | None = None) -> dict[str, Any]:
        return self._run(calls.extract_session(session_id, archive_id))

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        return self._run(calls.get_task(task_id))

    def list_tasks(
        self,
        *,
        task_type: str | None = None,
        status: str | None = None,
        resource_id: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        return self._run(calls.list_tasks(task_type, status, resource_id, limit))

    def abstract(self, uri: str) -> str:
        return self._run(calls.summary(uri, "abstract"))

    def overview(self, uri: str) -> str:
        return self._run(calls.summary(uri, "overview"))

    # ------------------------------------------------------------------ files
    def read(self, uri: str, offset: int = 0, limit: int = -1) -> str:
        return self._run(calls.read(uri, offset, limit))

    def write(self, uri: str, content: str, mode: WriteMode = "replace") -> dict[str, Any]:
        return self._run(calls.write(uri, content, mode))

    def ls(
        self, uri: str, *, recursive: bool = False, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        return self._run(calls.ls(uri, recursive, show_all_hidden))

    def tree(
        self, uri: str, *, level_limit: int = 3, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        return self._run(calls.tree(uri, level_limit, show_all_hidden))

    def stat(self, uri: str) -> dict[str, Any]:
        return self._run(calls.stat(uri))

    def mkdir(self, uri: str) -> dict[str, Any]:
        return self._run(calls.mkdir(uri))

    def rm(self, uri: str, *, recursive: bool = False) -> dict[str, Any]:
        return self._run(calls.rm(uri, recursive))

    def mv(self, from_uri: str, to_uri: str) -> dict[str, Any]:
        return self._run(calls.mv(from_uri, to_uri))

    def batch_write(
        self, root_uri: str, operations: list[dict[str, Any]], wait: bool = True
    ) -> dict[str, Any]:
        return self._run(calls.batch_write(root_uri, operations, wait))

    def cp(self, from_uri: str, to_uri: str, *, recursive: bool = False) -> dict[str, Any]:
        return self._run(calls.cp(from_uri, to_uri, recursive))

    def download_bytes(self, uri: str) -> bytes:
        return self._run(calls.download_bytes(uri))

    def attrs(self, uri: str) -> dict[str, Any]:
        return self._run(calls.attrs(uri))

    def set_tags(
        self,
        uri: str,
        tags: list[str] | None = None,
        mode: str = "replace",
        recursive: bool = False,
    ) -> dict[str, Any]:
        return self._run(calls.set_tags(uri, tags, mode, recursive))

    def reindex(
        self,
        uri: str,
        mode: str = "vectors_only",
        wait: bool = True,
        recursive: bool = True,
        force: bool = False,
    ) -> dict[str, Any]:
        return self._run(calls.reindex(uri, mode, wait, recursive, force))

    def update_session_config(
        self, session_id: str, options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self._run(calls.update_session_config(session_id, options))

    def cancel_task(self, task_id: str) -> dict[str, Any]:
        return self._run(calls.cancel_task(task_id))

    def wait_processed(self) -> dict[str, Any]:
        return self._run(calls.wait_processed())

    def find(
        self,
        query: str,
        target_uri: str | list[str] = "",
        limit: int = 10,
        *,
        score_threshold: float | None = None,
        context_type: ContextType | list[ContextType] | None = None,
    ) -> dict[str, Any]:
        return self._run(calls.find(query, target_uri, limit, score_threshold, context_type))

    def search(
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
        return self._run(
            calls.search(
                query, session_id, target_uri, limit, score_threshold, context_type, search_type
            )
        )

    def grep(
        self,
        uri: str,
        pattern: str,
        case_insensitive: bool = False,
        node_limit: int = 256,
        *,
        exclude_uri: str | None = None,
    ) -> dict[str, Any]:
        return self._run(calls.grep(uri, pattern, case_insensitive, node_limit, exclude_uri))

    def glob(self, pattern: str, uri: str = "viking://", node_limit: int = 256) -> dict[str, Any]:
        return self._run(calls.glob(pattern, uri, node_limit))


class HTTPVikingFS:
    """``client._viking_fs`` over HTTP: ``write_file`` creates or replaces a file."""

    def __init__(self, client: SyncHTTPClient) -> None:
        self._client = client

    def write_file(self, uri: str, content: str | bytes, ctx: Identity | None = None) -> None:
        self._client._run(calls.write_file(uri, content))

    def read_file(self, uri: str, ctx: Identity | None = None) -> str:
        return self._client._run(calls.read(uri, 0, -1))

    def ls(self, uri: str, ctx: Identity | None = None) -> list[dict[str, Any]]:
        return self._client._run(calls.ls(uri, False, True))
