"""The SDK surface (contract §6), written down once as two protocols.

``OpenViking`` and ``SyncHTTPClient`` implement ``ClientAPI``; ``AsyncOpenViking`` and
``AsyncHTTPClient`` implement ``AsyncClientAPI``. A parity test checks that all four have the
same public methods, parameters and (normalised) return annotations as these protocols.
Every method returns plain dicts/lists (the JSON ``result`` of the wire), never Structs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..identity import Identity
from ..literals import CleanupBy, ContextType, DeleteMode, ListOrder, SearchType, WriteMode

if TYPE_CHECKING:
    from .session import AsyncSession, Session

__all__ = ["AsyncClientAPI", "CleanupBy", "ClientAPI", "DeleteMode", "ListOrder", "WriteMode"]


class ClientAPI(Protocol):
    @property
    def ctx(self) -> Identity: ...
    def initialize(self) -> None: ...
    def close(self) -> None: ...
    def health(self) -> bool: ...
    def create_session(self, session_id: str | None = None) -> dict[str, Any]: ...
    def list_sessions(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_deleted: bool = False,
        order: ListOrder = "desc",
        all_users: bool = False,
    ) -> list[dict[str, Any]]: ...
    def get_session(self, session_id: str, *, auto_create: bool = False) -> dict[str, Any]: ...
    def session_exists(self, session_id: str) -> bool: ...
    def session(self, session_id: str | None = None, must_exist: bool = False) -> Session: ...
    def delete_session(
        self,
        session_id: str,
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        missing_ok: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]: ...
    def restore_session(self, session_id: str) -> dict[str, Any]: ...
    def delete_sessions(
        self,
        session_ids: list[str],
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]: ...
    def cleanup_sessions(
        self,
        older_than_days: float,
        *,
        by: CleanupBy = "created_at",
        mode: DeleteMode = "hard",
        commit_first: bool = False,
        forget_memories: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]: ...
    def erase_user(self, user: str, *, account: str | None = None) -> dict[str, Any]: ...
    def list_audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]: ...
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
    ) -> dict[str, Any]: ...
    def batch_add_messages(
        self, session_id: str, messages: list[dict[str, Any]]
    ) -> dict[str, Any]: ...
    def commit_session(
        self, session_id: str, keep_recent_count: int = 0, *, wait: bool = False
    ) -> dict[str, Any]: ...
    def get_session_context(
        self, session_id: str, token_budget: int = 128_000
    ) -> dict[str, Any]: ...
    def get_session_archive(self, session_id: str, archive_id: str) -> dict[str, Any]: ...
    def extract_session(self, session_id: str, archive_id: str | None = None) -> dict[str, Any]: ...
    def get_task(self, task_id: str) -> dict[str, Any] | None: ...
    def list_tasks(
        self,
        *,
        task_type: str | None = None,
        status: str | None = None,
        resource_id: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]: ...
    def abstract(self, uri: str) -> str: ...
    def overview(self, uri: str) -> str: ...
    def read(self, uri: str, offset: int = 0, limit: int = -1) -> str: ...
    def write(self, uri: str, content: str, mode: WriteMode = "replace") -> dict[str, Any]: ...
    def ls(
        self, uri: str, *, recursive: bool = False, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]: ...
    def tree(
        self, uri: str, *, level_limit: int = 3, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]: ...
    def stat(self, uri: str) -> dict[str, Any]: ...
    def mkdir(self, uri: str) -> dict[str, Any]: ...
    def rm(self, uri: str, *, recursive: bool = False) -> dict[str, Any]: ...
    def mv(self, from_uri: str, to_uri: str) -> dict[str, Any]: ...
    def batch_write(
        self, root_uri: str, operations: list[dict[str, Any]], wait: bool = True
    ) -> dict[str, Any]: ...
    def cp(self, from_uri: str, to_uri: str, *, recursive: bool = False) -> dict[str, Any]: ...
    def download_bytes(self, uri: str) -> bytes: ...
    def attrs(self, uri: str) -> dict[str, Any]: ...
    def set_tags(
        self,
        uri: str,
        tags: list[str] | None = None,
        mode: str = "replace",
        recursive: bool = False,
    ) -> dict[str, Any]: ...
    def reindex(
        self,
        uri: str,
        mode: str = "vectors_only",
        wait: bool = True,
        recursive: bool = True,
        force: bool = False,
    ) -> dict[str, Any]: ...
    def update_session_config(
        self, session_id: str, options: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...
    def cancel_task(self, task_id: str) -> dict[str, Any]: ...
    def wait_processed(self) -> dict[str, Any]: ...
    def find(
        self,
        query: str,
        target_uri: str | list[str] = "",
        limit: int = 10,
        *,
        score_threshold: float | None = None,
        context_type: ContextType | list[ContextType] | None = None,
    ) -> dict[str, Any]: ...
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
    ) -> dict[str, Any]: ...
    def grep(
        self,
        uri: str,
        pattern: str,
        case_insensitive: bool = False,
        node_limit: int = 256,
        *,
        exclude_uri: str | None = None,
    ) -> dict[str, Any]: ...
    def glob(
        self, pattern: str, uri: str = "viking://", node_limit: int = 256
    ) -> dict[str, Any]: ...


class AsyncClientAPI(Protocol):
    @property
    def ctx(self) -> Identity: ...
    async def initialize(self) -> None: ...
    async def close(self) -> None: ...
    async def health(self) -> bool: ...
    async def create_session(self, session_id: str | None = None) -> dict[str, Any]: ...
    async def list_sessions(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_deleted: bool = False,
        order: ListOrder = "desc",
        all_users: bool = False,
    ) -> list[dict[str, Any]]: ...
    async def get_session(
        self, session_id: str, *, auto_create: bool = False
    ) -> dict[str, Any]: ...
    async def session_exists(self, session_id: str) -> bool: ...
    async def session(
        self, session_id: str | None = None, must_exist: bool = False
    ) -> AsyncSession: ...
    async def delete_session(
        self,
        session_id: str,
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        missing_ok: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]: ...
    async def restore_session(self, session_id: str) -> dict[str, Any]: ...
    async def delete_sessions(
        self,
        session_ids: list[str],
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]: ...
    async def cleanup_sessions(
        self,
        older_than_days: float,
        *,
        by: CleanupBy = "created_at",
        mode: DeleteMode = "hard",
        commit_first: bool = False,
        forget_memories: bool = False,
        dry_run: bool = False,
    ) -> dict[str, Any]: ...
    async def erase_user(self, user: str, *, account: str | None = None) -> dict[str, Any]: ...
    async def list_audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]: ...
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
    ) -> dict[str, Any]: ...
    async def batch_add_messages(
        self, session_id: str, messages: list[dict[str, Any]]
    ) -> dict[str, Any]: ...
    async def commit_session(
        self, session_id: str, keep_recent_count: int = 0, *, wait: bool = False
    ) -> dict[str, Any]: ...
    async def get_session_context(
        self, session_id: str, token_budget: int = 128_000
    ) -> dict[str, Any]: ...
    async def get_session_archive(self, session_id: str, archive_id: str) -> dict[str, Any]: ...
    async def extract_session(
        self, session_id: str, archive_id: str | None = None
    ) -> dict[str, Any]: ...
    async def get_task(self, task_id: str) -> dict[str, Any] | None: ...
    async def list_tasks(
        self,
        *,
        task_type: str | None = None,
        status: str | None = None,
        resource_id: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]: ...
    async def abstract(self, uri: str) -> str: ...
    async def overview(self, uri: str) -> str: ...
    async def read(self, uri: str, offset: int = 0, limit: int = -1) -> str: ...
    async def write(
        self, uri: str, content: str, mode: WriteMode = "replace"
    ) -> dict[str, Any]: ...
    async def ls(
        self, uri: str, *, recursive: bool = False, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]: ...
    async def tree(
        self, uri: str, *, level_limit: int = 3, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]: ...
    async def stat(self, uri: str) -> dict[str, Any]: ...
    async def mkdir(self, uri: str) -> dict[str, Any]: ...
    async def rm(self, uri: str, *, recursive: bool = False) -> dict[str, Any]: ...
    async def mv(self, from_uri: str, to_uri: str) -> dict[str, Any]: ...
    async def batch_write(
        self, root_uri: str, operations: list[dict[str, Any]], wait: bool = True
    ) -> dict[str, Any]: ...
    async def cp(
        self, from_uri: str, to_uri: str, *, recursive: bool = False
    ) -> dict[str, Any]: ...
    async def download_bytes(self, uri: str) -> bytes: ...
    async def attrs(self, uri: str) -> dict[str, Any]: ...
    async def set_tags(
        self,
        uri: str,
        tags: list[str] | None = None,
        mode: str = "replace",
        recursive: bool = False,
    ) -> dict[str, Any]: ...
    async def reindex(
        self,
        uri: str,
        mode: str = "vectors_only",
        wait: bool = True,
        recursive: bool = True,
        force: bool = False,
    ) -> dict[str, Any]: ...
    async def update_session_config(
        self, session_id: str, options: dict[str, Any] | None = None
    ) -> dict[str, Any]: ...
    async def cancel_task(self, task_id: str) -> dict[str, Any]: ...
    async def wait_processed(self) -> dict[str, Any]: ...
    async def find(
        self,
        query: str,
        target_uri: str | list[str] = "",
        limit: int = 10,
        *,
        score_threshold: float | None = None,
        context_type: ContextType | list[ContextType] | None = None,
    ) -> dict[str, Any]: ...
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
    ) -> dict[str, Any]: ...
    async def grep(
        self,
        uri: str,
        pattern: str,
        case_insensitive: bool = False,
        node_limit: int = 256,
        *,
        exclude_uri: str | None = None,
    ) -> dict[str, Any]: ...
    async def glob(
        self, pattern: str, uri: str = "viking://", node_limit: int = 256
    ) -> dict[str, Any]: ...
