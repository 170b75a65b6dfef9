"""The embedded client: ``OpenViking(path=...)`` runs the whole product in-process.

Identity is fixed to account ``default``, user ``default`` (contract §3). Results are the
same plain dicts the HTTP clients return. ``AsyncOpenViking`` is the async twin: each call
runs the synchronous service in a worker thread (``asyncio.to_thread``), never a private loop.
"""

from __future__ import annotations

import asyncio
import functools
import os
from typing import Any

import msgspec

from . import clock, uris
from .errors import NotFoundError
from .identity import DEFAULT_IDENTITY, Identity
from .literals import (
    CleanupBy,
    ContextType,
    DeleteMode,
    ListOrder,
    SearchType,
    WriteMode,
)
from .schemas import (
    AddMessageRequest,
    BatchMessagesRequest,
    BatchWriteRequest,
    DeleteOptions,
    FindRequest,
    GlobRequest,
    GrepRequest,
    SearchRequest,
    SessionConfigRequest,
    WriteRequest,
    to_dict,
    to_dicts,
    wire_messages,
    wire_part,
)
from .sdk.arguments import checked_client
from .sdk.session import AsyncSession, Session
from .service.embeddings import EmbeddingConfig
from .service.embeddings import config_from_env as embedding_config_from_env
from .service.extraction import AnyExtractor
from .service.files import FileService
from .service.llm_extractor import extractor_from_env
from .services import Services, build_services
from .store.backends import open_store
from .store.protocol import Store
from .store.sqlite import SQLiteStore
from .validation import MAX_BODY_BYTES, check_body_size, convert

DEFAULT_PATH = "./skald_data"
#: Seconds ``wait_processed`` waits for each extraction (the server's commit_wait_timeout).
WAIT_TIMEOUT = 60.0
#: Administrative calls of the embedded client act as the owner of the whole store.
OWNER = Identity(account="default", user="default", role="root")


class VikingFS:
    """Raw file access, as OpenViking's ``client._viking_fs`` (the seed's soft-delete recipe)."""

    def __init__(
        self, files: FileService, default_ctx: Identity, max_body_bytes: int = MAX_BODY_BYTES
    ) -> None:
        self._files = files
        self._ctx = default_ctx
        self._max_body_bytes = max_body_bytes

    def write_file(self, uri: str, content: str | bytes, ctx: Identity | None = None) -> None:
        text = content.decode() if isinstance(content, bytes) else content
        check_body_size(WriteRequest(uri=uri, content=text), self._max_body_bytes)
        self._files.write(ctx or self._ctx, uri, text, mode="upsert")

    def read_file(self, uri: str, ctx: Identity | None = None) -> str:
        return self._files.read(ctx or self._ctx, uri)

    def ls(self, uri: str, ctx: Identity | None = None) -> list[dict[str, Any]]:
        return to_dicts(self._files.ls(ctx or self._ctx, uri, show_all_hidden=True).nodes)


class AsyncVikingFS:
    """``AsyncOpenViking._viking_fs``: the same raw file access, awaited (as over async HTTP)."""

    def __init__(self, sync: VikingFS) -> None:
        self._sync = sync

    async def write_file(self, uri: str, content: str | bytes, ctx: Identity | None = None) -> None:
        await asyncio.to_thread(self._sync.write_file, uri, content, ctx)

    async def read_file(self, uri: str, ctx: Identity | None = None) -> str:
        return await asyncio.to_thread(self._sync.read_file, uri, ctx)

    async def ls(self, uri: str, ctx: Identity | None = None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._sync.ls, uri, ctx)


@checked_client
class OpenViking:
    """In-process Skald. ``path`` is the data directory (one SQLite file lives there), unless
    ``database_url`` names a PostgreSQL database (``postgresql://user@host:5432/db``; needs
    ``skald-core[postgres]``), shared with any servers and clients using the same URL and
    ``database_schema``. ``now`` is the clock it reads the time from (default: the real one;
    tests inject another to make sessions in the past). ``max_body_bytes`` is a server's
    request size limit: a request whose JSON would be bigger (a 20 MB message) is refused with
    ``PayloadTooLargeError``, as a server with that limit would refuse it. ``embeddings``
    (default: ``SKALD_EMBEDDING_*``, none set: full text only) turns on semantic search."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        database_url: str | None = None,
        database_schema: str | None = None,
        store: Store | None = None,
        extractor: AnyExtractor | None = None,
        embeddings: EmbeddingConfig | None = None,
        lease_seconds: float = 30.0,
        now: clock.Clock = clock.now,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.path = str(path or os.environ.get("SKALD_PATH") or DEFAULT_PATH)
        if store is None:
            store = (
                open_store(database_url=database_url, database_schema=database_schema)
                if database_url
                else SQLiteStore(self.path)
            )
        # No extractor given: SKALD_LLM_* picks the language-model one, else the built-in one.
        self._owns_extractor = extractor is None
        #: The core services this client calls (its store and task runner among them).
        # No embedding settings given: SKALD_EMBEDDING_* (none set: full-text search only).
        self.services = build_services(
            store,
            extractor or extractor_from_env(),
            lease_seconds=lease_seconds,
            now=now,
            embeddings=embeddings or embedding_config_from_env(),
        )
        self._ctx = DEFAULT_IDENTITY
        self._max_body_bytes = max_body_bytes
        self._viking_fs = VikingFS(self.services.files, self._ctx, max_body_bytes)
        self._started = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def ctx(self) -> Identity:
        return self._ctx

    def initialize(self) -> None:
        """Start the background worker; it resumes extraction left over from earlier runs."""
        if not self._started:
            self.services.start()
            self._started = True

    def close(self) -> None:
        self._started = False
        self.services.close(close_extractor=self._owns_extractor)

    def __enter__(self) -> OpenViking:
        self.initialize()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def health(self) -> bool:
        try:
            self.services.store.ping()
        except Exception:
            return False
        return True

    # ------------------------------------------------------------------ sessions
    def create_session(self, session_id: str | None = None) -> dict[str, Any]:
        return to_dict(self.services.sessions.create(self._ctx, session_id))

    def list_sessions(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_deleted: bool = False,
        order: ListOrder = "desc",
        all_users: bool = False,
    ) -> list[dict[str, Any]]:
        # In-process callers own the store: every user's sessions are theirs to list.
        ctx = msgspec.structs.replace(self._ctx, role="root") if all_users else self._ctx
        return to_dicts(
            self.services.sessions.list_sessions(
                ctx,
                limit=limit,
                cursor=cursor,
                include_deleted=include_deleted,
                order=order,
                all_users=all_users,
            ).items()
        )

    def get_session(self, session_id: str, *, auto_create: bool = False) -> dict[str, Any]:
        return to_dict(self.services.sessions.get(self._ctx, session_id, auto_create=auto_create))

    def session_exists(self, session_id: str) -> bool:
        return self.services.sessions.exists(self._ctx, session_id)

    def session(self, session_id: str | None = None, must_exist: bool = False) -> Session:
        """Load a session, creating it (with a new id when none is given) unless ``must_exist``."""
        if session_id is None:
            if must_exist:
                raise NotFoundError.of("session", "")
            session_id = self.create_session()["session_id"]
        elif not self.session_exists(session_id):
            if must_exist:
                raise NotFoundError.of("session", session_id)
            self.get_session(session_id, auto_create=True)
        sess = Session(self, session_id, uris.session_uri(self._ctx.user, session_id))
        return sess.load()

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
        options = DeleteOptions(
            mode=mode,
            require_committed=require_committed,
            commit_first=commit_first,
            forget_memories=forget_memories,
        )
        try:
            receipt = self.services.deletion.delete(self._ctx, session_id, options)
        except NotFoundError:
            if not missing_ok:
                raise
            return {"session_id": session_id, "mode": mode, "deleted": None, "kept": None}
        return to_dict(receipt)

    def restore_session(self, session_id: str) -> dict[str, Any]:
        return to_dict(self.services.deletion.restore(self._ctx, session_id))

    def delete_sessions(
        self,
        session_ids: list[str],
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]:
        options = DeleteOptions(
            mode=mode,
            require_committed=require_committed,
            commit_first=commit_first,
            forget_memories=forget_memories,
        )
        return to_dict(self.services.deletion.delete_many(self._ctx, session_ids, options))

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
        return to_dict(
            self.services.deletion.cleanup(
                self._ctx,
                older_than_days=older_than_days,
                by=by,
                options=DeleteOptions(
                    mode=mode, commit_first=commit_first, forget_memories=forget_memories
                ),
                dry_run=dry_run,
            )
        )

    def erase_user(self, user: str, *, account: str | None = None) -> dict[str, Any]:
        """Remove everything of one user of this store (the embedded client owns it all)."""
        account = self._ctx.account if account is None else account
        return to_dict(self.services.deletion.erase_user(OWNER, account, user))

    def list_audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        return to_dicts(
            self.services.deletion.audit(
                OWNER, account=account, limit=limit, action=action, session_id=session_id
            )
        )

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
        request = convert(
            {
                "role": role,
                "content": content,
                "parts": None if parts is None else [wire_part(p) for p in parts],
                "peer_id": peer_id,
                "created_at": created_at,
                "turn_id": turn_id,
                "message_kind": message_kind,
            },
            AddMessageRequest,
        )
        check_body_size(request, self._max_body_bytes)
        return to_dict(self.services.sessions.add_message(self._ctx, session_id, request))

    def batch_add_messages(self, session_id: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        requests = convert(wire_messages(messages), list[AddMessageRequest])
        check_body_size(BatchMessagesRequest(messages=requests), self._max_body_bytes)
        return to_dict(self.services.sessions.add_messages(self._ctx, session_id, requests))

    def commit_session(
        self, session_id: str, keep_recent_count: int = 0, *, wait: bool = False
    ) -> dict[str, Any]:
        return to_dict(
            self.services.sessions.commit(
                self._ctx, session_id, keep_recent_count=keep_recent_count, wait=wait
            )
        )

    def get_session_context(self, session_id: str, token_budget: int = 128_000) -> dict[str, Any]:
        return to_dict(
            self.services.sessions.context(self._ctx, session_id, token_budget=token_budget)
        )

    def get_session_archive(self, session_id: str, archive_id: str) -> dict[str, Any]:
        return to_dict(self.services.sessions.archive(self._ctx, session_id, archive_id))

    def extract_session(self, session_id: str, archive_id: str | None = None) -> dict[str, Any]:
        return to_dict(self.services.sessions.extract(self._ctx, session_id, archive_id))

    def get_task(self, task_id: str) -> dict[str, Any] | None:
        try:
            return to_dict(self.services.sessions.get_task(self._ctx, task_id))
        except NotFoundError:
            return None

    def list_tasks(
        self,
        *,
        task_type: str | None = None,
        status: str | None = None,
        resource_id: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """The tasks, newest first (``resource_id``: a session id)."""
        return to_dicts(
            self.services.sessions.list_tasks(
                self._ctx, task_type=task_type, status=status, resource_id=resource_id, limit=limit
            )
        )

    def update_session_config(
        self, session_id: str, options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """OpenViking's auto-commit and extraction settings: accepted, the effective ones
        answered (Skald has no auto-commit and one extraction configuration)."""
        convert(options or {}, SessionConfigRequest)
        return to_dict(self.services.sessions.update_config(self._ctx, session_id))

    def cancel_task(self, task_id: str) -> dict[str, Any]:
        """Raises ``FailedPreconditionError`` (Skald's extractions are not cancelled one by
        one), ``NotFoundError`` for an unknown task."""
        return to_dict(self.services.sessions.cancel_task(self._ctx, task_id))

    def wait_processed(self) -> dict[str, Any]:
        """Wait for the queued and running extractions; OpenViking's per-queue counts."""
        counts = self.services.sessions.wait_processed(self._ctx, WAIT_TIMEOUT)
        out: dict[str, Any] = msgspec.to_builtins(counts)
        return out

    # ------------------------------------------------------------------ files
    def abstract(self, uri: str) -> str:
        """A session's or an archive's ``.abstract.md`` ("" for other paths)."""
        return self.services.files.summary(self._ctx, uri, "abstract")

    def overview(self, uri: str) -> str:
        """A session's or an archive's ``.overview.md`` ("" for other paths)."""
        return self.services.files.summary(self._ctx, uri, "overview")

    def read(self, uri: str, offset: int = 0, limit: int = -1) -> str:
        return self.services.files.read(self._ctx, uri, offset=offset, limit=limit)

    def write(self, uri: str, content: str, mode: WriteMode = "replace") -> dict[str, Any]:
        check_body_size(WriteRequest(uri=uri, content=content, mode=mode), self._max_body_bytes)
        return to_dict(self.services.files.write(self._ctx, uri, content, mode))

    def ls(
        self, uri: str, *, recursive: bool = False, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        return to_dicts(
            self.services.files.ls(
                self._ctx, uri, recursive=recursive, show_all_hidden=show_all_hidden
            ).nodes
        )

    def tree(
        self, uri: str, *, level_limit: int = 3, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        return to_dicts(
            self.services.files.tree(
                self._ctx, uri, level_limit=level_limit, show_all_hidden=show_all_hidden
            ).nodes
        )

    def stat(self, uri: str) -> dict[str, Any]:
        return to_dict(self.services.files.stat(self._ctx, uri))

    def mkdir(self, uri: str) -> dict[str, Any]:
        return to_dict(self.services.files.mkdir(self._ctx, uri))

    def rm(self, uri: str, *, recursive: bool = False) -> dict[str, Any]:
        return to_dict(self.services.files.rm(self._ctx, uri, recursive=recursive))

    def mv(self, from_uri: str, to_uri: str) -> dict[str, Any]:
        return to_dict(self.services.files.mv(self._ctx, from_uri, to_uri))

    def batch_write(
        self, root_uri: str, operations: list[dict[str, Any]], wait: bool = True
    ) -> dict[str, Any]:
        """Every write under ``root_uri`` (an existing directory): all of them or none."""
        body = {"root_uri": root_uri, "operations": operations, "wait": wait}
        request = convert(body, BatchWriteRequest)
        check_body_size(request, self._max_body_bytes)
        return to_dict(
            self.services.files.batch_write(self._ctx, request.root_uri, request.operations)
        )

    def cp(self, from_uri: str, to_uri: str, *, recursive: bool = False) -> dict[str, Any]:
        """Copy a file (``recursive``: a directory's files) to a path not taken yet."""
        return to_dict(self.services.files.copy(self._ctx, from_uri, to_uri, recursive=recursive))

    def download_bytes(self, uri: str) -> bytes:
        """A file's bytes."""
        return self.services.files.download(self._ctx, uri)

    def attrs(self, uri: str) -> dict[str, Any]:
        """A path's attributes (Skald keeps no tags: none)."""
        return to_dict(self.services.files.attrs(self._ctx, uri))

    def set_tags(
        self,
        uri: str,
        tags: list[str] | None = None,
        mode: str = "replace",
        recursive: bool = False,
    ) -> dict[str, Any]:
        """Accepted and not stored (Skald keeps no tags): nothing is updated."""
        return to_dict(self.services.files.set_tags(self._ctx, uri, mode))

    def reindex(
        self,
        uri: str,
        mode: str = "vectors_only",
        wait: bool = True,
        recursive: bool = True,
        force: bool = False,
    ) -> dict[str, Any]:
        """Nothing rebuilt in place; with embeddings configured, queues the embedding of a
        user's memories lacking a vector (see README, *Semantic search*)."""
        return to_dict(self.services.files.reindex(self._ctx, uri, mode))

    # ------------------------------------------------------------------ search
    def find(
        self,
        query: str,
        target_uri: str | list[str] = "",
        limit: int = 10,
        *,
        score_threshold: float | None = None,
        context_type: ContextType | list[ContextType] | None = None,
    ) -> dict[str, Any]:
        request = convert(
            {
                "query": query,
                "target_uri": target_uri,
                "limit": limit,
                "score_threshold": score_threshold,
                "context_type": context_type,
            },
            FindRequest,
        )
        return to_dict(self.services.search.find(self._ctx, request))

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
        request = convert(
            {
                "query": query,
                "session_id": session_id,
                "target_uri": target_uri,
                "limit": limit,
                "score_threshold": score_threshold,
                "context_type": context_type,
                "search_type": search_type,
            },
            SearchRequest,
        )
        return to_dict(self.services.search.search(self._ctx, request))

    def grep(
        self,
        uri: str,
        pattern: str,
        case_insensitive: bool = False,
        node_limit: int = 256,
        *,
        exclude_uri: str | None = None,
    ) -> dict[str, Any]:
        request = convert(
            {
                "uri": uri,
                "pattern": pattern,
                "case_insensitive": case_insensitive,
                "node_limit": node_limit,
                "exclude_uri": exclude_uri,
            },
            GrepRequest,
        )
        return to_dict(self.services.search.grep(self._ctx, request))

    def glob(self, pattern: str, uri: str = "viking://", node_limit: int = 256) -> dict[str, Any]:
        request = convert({"pattern": pattern, "uri": uri, "node_limit": node_limit}, GlobRequest)
        return to_dict(self.services.search.glob(self._ctx, request))


@checked_client
class AsyncOpenViking:
    """The async twin of ``OpenViking``: same methods, awaited; work runs in worker threads."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        database_url: str | None = None,
        database_schema: str | None = None,
        store: Store | None = None,
        extractor: AnyExtractor | None = None,
        embeddings: EmbeddingConfig | None = None,
        lease_seconds: float = 30.0,
        now: clock.Clock = clock.now,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._sync = OpenViking(
            path,
            database_url=database_url,
            database_schema=database_schema,
            store=store,
            extractor=extractor,
            embeddings=embeddings,
            lease_seconds=lease_seconds,
            now=now,
            max_body_bytes=max_body_bytes,
        )
        self._viking_fs = AsyncVikingFS(self._sync._viking_fs)

    @property
    def ctx(self) -> Identity:
        return self._sync.ctx

    @property
    def services(self) -> Services:
        """The core services this client calls (those of its synchronous twin)."""
        return self._sync.services

    async def initialize(self) -> None:
        self._sync.initialize()

    async def close(self) -> None:
        await asyncio.to_thread(self._sync.close)

    async def __aenter__(self) -> AsyncOpenViking:
        await self.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def health(self) -> bool:
        return await asyncio.to_thread(self._sync.health)

    async def create_session(self, session_id: str | None = None) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.create_session, session_id)

    async def list_sessions(
        self,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_deleted: bool = False,
        order: ListOrder = "desc",
        all_users: bool = False,
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            self._sync.list_sessions,
            limit=limit,
            cursor=cursor,
            include_deleted=include_deleted,
            order=order,
            all_users=all_users,
        )

    async def get_session(self, session_id: str, *, auto_create: bool = False) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.get_session, session_id, auto_create=auto_create)

    async def session_exists(self, session_id: str) -> bool:
        return await asyncio.to_thread(self._sync.session_exists, session_id)

    async def session(
        self, session_id: str | None = None, must_exist: bool = False
    ) -> AsyncSession:
        loaded = await asyncio.to_thread(self._sync.session, session_id, must_exist)
        sess = AsyncSession(self, loaded.session_id, loaded.uri)
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
        return await asyncio.to_thread(
            self._sync.delete_session,
            session_id,
            mode=mode,
            require_committed=require_committed,
            missing_ok=missing_ok,
            commit_first=commit_first,
            forget_memories=forget_memories,
        )

    async def restore_session(self, session_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.restore_session, session_id)

    async def delete_sessions(
        self,
        session_ids: list[str],
        *,
        mode: DeleteMode = "hard",
        require_committed: bool = False,
        commit_first: bool = False,
        forget_memories: bool = False,
    ) -> dict[str, Any]:
        return await asyncio.to_thread(
            self._sync.delete_sessions,
            session_ids,
            mode=mode,
            require_committed=require_committed,
            commit_first=commit_first,
            forget_memories=forget_memories,
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
        return await asyncio.to_thread(
            self._sync.cleanup_sessions,
            older_than_days,
            by=by,
            mode=mode,
            commit_first=commit_first,
            forget_memories=forget_memories,
            dry_run=dry_run,
        )

    async def erase_user(self, user: str, *, account: str | None = None) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.erase_user, user, account=account)

    async def list_audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            self._sync.list_audit,
            limit=limit,
            action=action,
            session_id=session_id,
            account=account,
        )

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
        return await asyncio.to_thread(
            self._sync.add_message,
            session_id,
            role,
            content,
            parts,
            peer_id=peer_id,
            created_at=created_at,
            turn_id=turn_id,
            message_kind=message_kind,
        )

    async def batch_add_messages(
        self, session_id: str, messages: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.batch_add_messages, session_id, messages)

    async def commit_session(
        self, session_id: str, keep_recent_count: int = 0, *, wait: bool = False
    ) -> dict[str, Any]:
        return await asyncio.to_thread(
            self._sync.commit_session, session_id, keep_recent_count, wait=wait
        )

    async def get_session_context(
        self, session_id: str, token_budget: int = 128_000
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.get_session_context, session_id, token_budget)

    async def get_session_archive(self, session_id: str, archive_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.get_session_archive, session_id, archive_id)

    async def extract_session(
        self, session_id: str, archive_id: str | None = None
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.extract_session, session_id, archive_id)

    async def get_task(self, task_id: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(self._sync.get_task, task_id)

    async def list_tasks(
        self,
        *,
        task_type: str | None = None,
        status: str | None = None,
        resource_id: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            functools.partial(
                self._sync.list_tasks,
                task_type=task_type,
                status=status,
                resource_id=resource_id,
                limit=limit,
            )
        )

    async def abstract(self, uri: str) -> str:
        return await asyncio.to_thread(self._sync.abstract, uri)

    async def overview(self, uri: str) -> str:
        return await asyncio.to_thread(self._sync.overview, uri)

    async def read(self, uri: str, offset: int = 0, limit: int = -1) -> str:
        return await asyncio.to_thread(self._sync.read, uri, offset, limit)

    async def write(self, uri: str, content: str, mode: WriteMode = "replace") -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.write, uri, content, mode)

    async def ls(
        self, uri: str, *, recursive: bool = False, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            self._sync.ls, uri, recursive=recursive, show_all_hidden=show_all_hidden
        )

    async def tree(
        self, uri: str, *, level_limit: int = 3, show_all_hidden: bool = False
    ) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            self._sync.tree, uri, level_limit=level_limit, show_all_hidden=show_all_hidden
        )

    async def stat(self, uri: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.stat, uri)

    async def mkdir(self, uri: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.mkdir, uri)

    async def rm(self, uri: str, *, recursive: bool = False) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.rm, uri, recursive=recursive)

    async def mv(self, from_uri: str, to_uri: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.mv, from_uri, to_uri)

    async def batch_write(
        self, root_uri: str, operations: list[dict[str, Any]], wait: bool = True
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.batch_write, root_uri, operations, wait)

    async def cp(self, from_uri: str, to_uri: str, *, recursive: bool = False) -> dict[str, Any]:
        return await asyncio.to_thread(
            functools.partial(self._sync.cp, from_uri, to_uri, recursive=recursive)
        )

    async def download_bytes(self, uri: str) -> bytes:
        return await asyncio.to_thread(self._sync.download_bytes, uri)

    async def attrs(self, uri: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.attrs, uri)

    async def set_tags(
        self,
        uri: str,
        tags: list[str] | None = None,
        mode: str = "replace",
        recursive: bool = False,
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.set_tags, uri, tags, mode, recursive)

    async def reindex(
        self,
        uri: str,
        mode: str = "vectors_only",
        wait: bool = True,
        recursive: bool = True,
        force: bool = False,
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.reindex, uri, mode, wait, recursive, force)

    async def update_session_config(
        self, session_id: str, options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.update_session_config, session_id, options)

    async def cancel_task(self, task_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.cancel_task, task_id)

    async def wait_processed(self) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.wait_processed)

    async def find(
        self,
        query: str,
        target_uri: str | list[str] = "",
        limit: int = 10,
        *,
        score_threshold: float | None = None,
        context_type: ContextType | list[ContextType] | None = None,
    ) -> dict[str, Any]:
        return await asyncio.to_thread(
            self._sync.find,
            query,
            target_uri,
            limit,
            score_threshold=score_threshold,
            context_type=context_type,
        )

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
        return await asyncio.to_thread(
            self._sync.search,
            query,
            session_id,
            target_uri,
            limit,
            score_threshold=score_threshold,
            context_type=context_type,
            search_type=search_type,
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
        return await asyncio.to_thread(
            self._sync.grep, uri, pattern, case_insensitive, node_limit, exclude_uri=exclude_uri
        )

    async def glob(
        self, pattern: str, uri: str = "viking://", node_limit: int = 256
    ) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync.glob, pattern, uri, node_limit)
