"""``/api/v1/sessions``: the session API (contract §4)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, RawBody
from litestar.response import Stream

from skald_core.errors import InvalidArgumentError
from skald_core.literals import DeleteMode, ListOrder
from skald_core.schemas import (
    AddMessageRequest,
    AddMessageResult,
    ArchiveResult,
    BatchDeleteRequest,
    BatchDeleteResult,
    BatchMessagesRequest,
    BatchMessagesResult,
    CleanupRequest,
    CleanupResult,
    CommitRequest,
    CommitResult,
    ContextResult,
    CreateSessionRequest,
    DeleteOptions,
    DeletionReceipt,
    ExtractRequest,
    ExtractResult,
    Message,
    SessionCreated,
    SessionListItem,
    SessionMeta,
)
from skald_core.validation import decode_json

from ..auth import idempotency_key
from ..context import Caller, ServicesDep
from ..envelope import JSON, Ok, ok, streamed_ok
from ..offload import in_thread, run, store_call
from ..responses import errors


class SessionController(Controller):
    path = "/api/v1/sessions"
    tags = ["sessions"]

    @post(
        "",
        operation_id="createSession",
        responses=errors(409),
        status_code=200,
        summary="Create a session (an existing id is 409 ALREADY_EXISTS)",
    )
    @store_call
    def create(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        body: RawBody,
    ) -> Ok[SessionCreated]:
        data = decode_json(body, CreateSessionRequest) if body.strip() else CreateSessionRequest()
        return ok(request, services.sessions.create(identity, data.session_id or None))

    @get(
        "",
        operation_id="listSessions",
        responses=errors(),
        summary="List sessions, newest first (order=asc: oldest first)",
        description="user=* (root and admin keys): every user's sessions of the account, each "
        "item naming its account and user, the cursor being user/session_id; account=* (the "
        "root key): every account's, the cursor being account/user/session_id.",
    )
    @store_call
    def list_sessions(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        limit: int | None = Parameter(default=None, ge=1, le=10_000),
        cursor: FromQuery[str | None] = None,
        include_deleted: FromQuery[bool] = False,
        order: FromQuery[ListOrder] = "desc",
        user: FromQuery[str | None] = None,
        account: FromQuery[str | None] = None,
    ) -> Ok[list[SessionListItem]]:
        for name, value in (("user", user), ("account", account)):
            if value is not None and value != "*":
                raise InvalidArgumentError(
                    f"{name} must be '*' (every {name}); to act for one {name}, send the "
                    f"X-OpenViking-{name.title()} header",
                    {"field": name, "value": value},
                )
        return ok(
            request,
            services.sessions.list_sessions(
                identity,
                limit=limit,
                cursor=cursor,
                include_deleted=include_deleted,
                order=order,
                all_users=user == "*",
                all_accounts=account == "*",
            ),
        )

    @get(
        "/{session_id:str}",
        operation_id="getSession",
        responses=errors(404),
        summary="Session meta",
    )
    @store_call
    def get_session(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        auto_create: FromQuery[bool] = False,
    ) -> Ok[SessionMeta]:
        return ok(request, services.sessions.get(identity, session_id, auto_create=auto_create))

    @delete(
        "/{session_id:str}",
        operation_id="deleteSession",
        responses=errors(404, 409, 412, 504),
        status_code=200,
        summary="Delete a session (hard, or soft into the trash); memories are kept unless "
        "forget_memories",
    )
    async def delete_session(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        mode: FromQuery[DeleteMode] = "hard",
        require_committed: FromQuery[bool] = False,
        commit_first: FromQuery[bool] = False,
        forget_memories: FromQuery[bool] = False,
    ) -> Ok[DeletionReceipt]:
        options = DeleteOptions(
            mode=mode,
            require_committed=require_committed,
            commit_first=commit_first,
            forget_memories=forget_memories,
        )
        # commit_first waits for the extraction: never on the event loop.
        offload = in_thread if commit_first else run
        receipt = await offload(
            services.store, services.deletion.delete, identity, session_id, options
        )
        return ok(request, receipt)

    @post(
        "/{session_id:str}/restore",
        operation_id="restoreSession",
        responses=errors(404, 412),
        status_code=200,
        summary="Bring a soft-deleted session back from the trash",
    )
    @store_call
    def restore_session(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
    ) -> Ok[SessionMeta]:
        return ok(request, services.deletion.restore(identity, session_id))

    @post(
        "/batch-delete",
        operation_id="deleteSessions",
        responses=errors(),
        status_code=200,
        sync_to_thread=True,
        summary="Delete up to 1,000 sessions; each id succeeds or fails on its own",
    )
    def delete_sessions(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[BatchDeleteRequest],
    ) -> Ok[BatchDeleteResult]:
        # The request is the delete options plus the ids they apply to.
        return ok(request, services.deletion.delete_many(identity, data.session_ids, data))

    @post(
        "/cleanup",
        operation_id="cleanupSessions",
        responses=errors(),
        status_code=200,
        sync_to_thread=True,
        summary="Delete sessions older than N days (by created_at or updated_at); dry_run lists",
    )
    def cleanup_sessions(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        data: JSONBody[CleanupRequest],
    ) -> Ok[CleanupResult]:
        return ok(
            request,
            services.deletion.cleanup(
                identity,
                older_than_days=data.older_than_days,
                by=data.by,
                options=data.options,
                dry_run=data.dry_run,
            ),
        )

    @post(
        "/{session_id:str}/messages",
        operation_id="addMessage",
        responses=errors(404, 412),
        status_code=200,
        summary="Append one message (auto-creates the session)",
    )
    @store_call
    def add_message(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        data: JSONBody[AddMessageRequest],
    ) -> Ok[AddMessageResult]:
        return ok(
            request,
            services.sessions.add_message(
                identity, session_id, data, idempotency_key=idempotency_key(request)
            ),
        )

    @post(
        "/{session_id:str}/messages/batch",
        operation_id="addMessages",
        responses=errors(404, 412),
        status_code=200,
        summary="Append up to 100 messages, all or nothing",
    )
    @store_call
    def add_messages(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        data: JSONBody[BatchMessagesRequest],
    ) -> Ok[BatchMessagesResult]:
        return ok(
            request,
            services.sessions.add_messages(
                identity, session_id, data.messages, idempotency_key=idempotency_key(request)
            ),
        )

    @post(
        "/{session_id:str}/commit",
        operation_id="commitSession",
        responses=errors(404, 412, 504),
        status_code=200,
        summary="Archive live messages; extraction runs in the background",
    )
    async def commit(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        body: RawBody,
    ) -> Ok[CommitResult]:
        data = decode_json(body, CommitRequest) if body.strip() else CommitRequest()
        # wait=true waits for the extraction: never on the event loop.
        offload = in_thread if data.wait else run
        result = await offload(
            services.store,
            functools.partial(
                services.sessions.commit,
                identity,
                session_id,
                keep_recent_count=data.keep_recent_count,
                wait=data.wait,
                timeout=services.config.commit_wait_timeout,
                idempotency_key=idempotency_key(request),
            ),
        )
        return ok(request, result)

    @post(
        "/{session_id:str}/extract",
        operation_id="extractSession",
        responses=errors(404, 412),
        status_code=200,
        sync_to_thread=True,
        summary="Extract memories again from failed archives (body: optional archive_id)",
    )
    def extract(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        body: RawBody,
    ) -> Ok[ExtractResult]:
        data = decode_json(body, ExtractRequest) if body.strip() else ExtractRequest()
        return ok(request, services.sessions.extract(identity, session_id, data.archive_id))

    @get(
        "/{session_id:str}/context",
        operation_id="getSessionContext",
        responses={
            200: ResponseSpec(
                data_container=Ok[ContextResult],
                description="The envelope, ``result`` the context with its messages",
                generate_examples=False,
            ),
            **errors(404),
        },
        sync_to_thread=True,
    )
    def context(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        token_budget: FromQuery[int] = 128_000,
    ) -> Stream:
        # Streamed: the messages that fit the budget are read and encoded batch by batch.
        head, messages = services.sessions.context_parts(
            identity, session_id, token_budget=token_budget
        )
        return Stream(streamed_ok(request, _with_messages(head, messages)), media_type=JSON)

    @get(
        "/{session_id:str}/archives/{archive_id:str}",
        operation_id="getSessionArchive",
        responses={
            200: ResponseSpec(
                data_container=Ok[ArchiveResult],
                description="The envelope, ``result`` the archive with its messages",
                generate_examples=False,
            ),
            **errors(404),
        },
        sync_to_thread=True,
    )
    def archive(
        self,
        request: Request[Any, Any, Any],
        services: ServicesDep,
        identity: Caller,
        session_id: FromPath[str],
        archive_id: FromPath[str],
    ) -> Stream:
        # Streamed: the archive's messages are read and encoded batch by batch.
        head, messages = services.sessions.archive_parts(identity, session_id, archive_id)
        return Stream(streamed_ok(request, _with_messages(head, messages)), media_type=JSON)


def _with_messages(
    head: ArchiveResult | ContextResult, messages: Iterator[Message]
) -> Iterator[bytes]:
    """``head`` (its ``messages`` empty) as JSON, the messages encoded one by one into it.
    The first ``"messages":[]`` of the encoding is the field's: a string value holding those
    characters has its quotes escaped."""
    before, found, after = _encode(head).partition(b'"messages":[]')
    assert found
    yield before + b'"messages":['
    for i, m in enumerate(messages):
        yield (b"," if i else b"") + _encode(m)
    yield b"]" + after


_encode = msgspec.json.Encoder().encode
