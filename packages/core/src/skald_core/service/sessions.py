"""The session service: every session operation of the contract, checked against an identity."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

import msgspec

from .. import clock, ids, uris
from ..errors import (
    FailedPreconditionError,
    ForbiddenError,
    InvalidArgumentError,
    NotFoundError,
    ResourceExhaustedError,
)
from ..identity import Identity
from ..limits import DEFAULT_LIMITS, Limits
from ..literals import ListOrder
from ..schemas import (
    AddMessageRequest,
    AddMessageResult,
    ArchiveResult,
    BatchMessagesResult,
    CommitResult,
    ContextResult,
    ContextStats,
    ExtractionConfig,
    ExtractionTaskResult,
    ExtractResult,
    Message,
    QueueCount,
    QueuedExtraction,
    SessionConfigResult,
    SessionCreated,
    SessionListItem,
    SessionMeta,
    SessionStats,
    SessionStatsResult,
    TaskRecord,
    ToolResults,
    UserRef,
    message_decoder,
)
from ..store.model import (
    ArchiveRow,
    ExtractionSummary,
    NewMessage,
    Owner,
    SessionRow,
    TaskRow,
)
from ..store.protocol import Store
from ..store.vectors import EMBED_TASK
from .messages import build_message, is_empty
from .session_listing import SessionListing, list_item
from .summaries import OVERVIEW_MESSAGES, archive_abstract, archive_overview, first_text
from .tasks import TaskRunner

MAX_BATCH = 100


def owner_of(identity: Identity) -> Owner:
    return Owner(identity.account, identity.user)


def require_writable(identity: Identity) -> None:
    if identity.read_only:
        raise ForbiddenError("This API key is read-only", {"reason": "read_only"})


def session_meta(
    row: SessionRow,
    *,
    with_location: bool = True,
    extraction: ExtractionSummary | None = None,
) -> SessionMeta:
    """The meta of a session; ``extraction`` adds per-category memory counts and LLM usage."""
    summary = extraction or ExtractionSummary()
    meta = SessionMeta(
        session_id=row.session_id,
        created_at=clock.iso_ms(row.created_at),
        updated_at=clock.iso_ms(row.updated_at),
        created_by_account_id=row.account,
        created_by_user_id=row.user,
        message_count=row.message_count,
        total_message_count=row.total_message_count,
        commit_count=row.commit_count,
        memories_extracted={
            "total": row.memories_extracted,
            **{k: n for k, n in summary.by_category.items() if k != "total"},
        },
        last_commit_at=clock.iso_ms(row.last_commit_at),
        last_message_at=clock.iso_ms(row.last_message_at),
        pending_tokens=row.pending_tokens,
        llm_token_usage=summary.usage,
        stats=SessionStats(
            total_turns=row.total_turns,
            total_tokens=row.total_tokens,
            compression_count=row.commit_count,
            memories_extracted=row.memories_extracted,
        ),
    )
    if with_location:
        meta.uri = uris.session_uri(row.user, row.session_id)
        meta.user = UserRef(account_id=row.account, user_id=row.user)
        meta.memory_extraction_config = ExtractionConfig()
    return meta


#: Message hits read for ``matching``: the sessions of the best ones are shown.
SEARCH_HITS = 1000


def _list_item(r: SessionRow) -> SessionListItem:
    """One row of a listing."""
    return list_item(
        (
            r.session_id,
            r.created_at,
            r.updated_at,
            r.message_count,
            r.deleted_at,
            r.deleted_by,
            r.account,
            r.user,
        )
    )


def task_record(task: TaskRow) -> TaskRecord:
    return TaskRecord(
        task_id=task.task_id,
        task_type=task.task_type,
        status=task.status,
        resource_id=task.session_id,
        result=msgspec.json.decode(task.result) if task.result else None,
        error=task.error,
        created_at=task.created_at,
        updated_at=task.updated_at,
        created_at_iso=clock.iso_micro(task.created_at),
        updated_at_iso=clock.iso_micro(task.updated_at),
        processing_seconds=(
            round(task.updated_at - task.created_at, 6)
            if task.status in ("completed", "failed")
            else None
        ),
        # An embedding run is retried until the endpoint answers: how often it was tried.
        meta={"attempts": task.attempts} if task.task_type == EMBED_TASK else {},
    )


class SessionService:
    def __init__(
        self,
        store: Store,
        runner: TaskRunner,
        *,
        now: clock.Clock = clock.now,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.store = store
        self.runner = runner
        self.now = now
        self.limits = limits

    def _check_size(self, message: NewMessage) -> None:
        limit = self.limits.max_message_bytes
        if len(message.body) > limit:
            raise ResourceExhaustedError.quota(
                "max_message_bytes",
                limit,
                f"Message too large: {len(message.body):,} bytes stored as JSON",
            )

    # ------------------------------------------------------------------ lookups
    def _row(self, identity: Identity, session_id: str) -> SessionRow:
        ids.check_id(session_id)
        row = self.store.get_session(owner_of(identity), session_id)
        if row is None or row.deleted_at is not None:
            raise NotFoundError.of("session", session_id)
        return row

    # ------------------------------------------------------------------ create / read
    def create(self, identity: Identity, session_id: str | None = None) -> SessionCreated:
        require_writable(identity)
        sid = ids.check_id(session_id) if session_id else ids.new_session_id()
        row = self.store.create_session(
            owner_of(identity), sid, self.now(), quota=self.limits.quota
        )
        return SessionCreated(
            session_id=row.session_id,
            uri=uris.session_uri(row.user, row.session_id),
            user=UserRef(account_id=row.account, user_id=row.user),
            created_at=clock.iso_ms(row.created_at),
        )

    def list_sessions(
        self,
        identity: Identity,
        *,
        limit: int | None = None,
        cursor: str | None = None,
        include_deleted: bool = False,
        order: ListOrder = "desc",
        created_since: float | None = None,
        created_before: float | None = None,
        all_users: bool = False,
        all_accounts: bool = False,
    ) -> SessionListing:
        """A page of the sessions, by creation time; ``created_since``/``created_before``
        (epoch seconds, the second exclusive) keep only those created in that range.

        ``all_users`` (root and admins): every user's sessions of the caller's account, each
        item naming its ``account`` and ``user``; ``all_accounts`` (root): of every account.
        Their cursor is ``user/session_id`` (``account/user/session_id`` across accounts) of
        the last item of the previous page."""
        most = self.limits.list_max
        if limit is None:
            limit = self.limits.list_default
        elif not 1 <= limit <= most:
            raise InvalidArgumentError(
                f"limit must be between 1 and {most}", {"field": "limit", "value": limit}
            )
        if order not in ("desc", "asc"):
            raise InvalidArgumentError(
                "order must be 'desc' (newest first) or 'asc' (oldest first)",
                {"field": "order", "value": order},
            )
        if all_accounts and identity.role != "root":
            raise ForbiddenError(
                "Only the root key lists the sessions of every account",
                {"reason": "root_required"},
            )
        if all_users and identity.role not in ("root", "admin"):
            raise ForbiddenError(
                "Only root and admin keys list the sessions of every user",
                {"reason": "admin_required"},
            )
        across = all_users or all_accounts
        after: Any = self._after(identity, cursor, all_accounts) if across else None
        if cursor and not across:
            ref = self.store.get_session(owner_of(identity), ids.check_id(cursor, "cursor"))
            if ref is None:
                raise InvalidArgumentError(
                    "cursor must be the session_id of the last session of the previous page",
                    {"field": "cursor", "value": cursor},
                )
            after = (ref.created_at, ref.session_id)
        # The range's far end starts the listing when no cursor did (the store pages by
        # (created_at, ...), and "" sorts before every id).
        blank: tuple[str, ...] = ("", "", "") if across else ("",)
        if created_before is not None and order == "desc":
            if after is None or after[0] >= created_before:
                after = (created_before, *blank)
        elif (
            created_since is not None
            and order == "asc"
            and (after is None or after[0] < created_since)
        ):
            after = (created_since, *blank)
        owner = None if across else owner_of(identity)
        rows = self.store.list_session_items(
            owner,
            None if all_accounts else identity.account,
            limit=limit,
            after=after,
            include_deleted=include_deleted,
            newest_first=order == "desc",
        )
        if created_since is not None or created_before is not None:
            rows = [  # type: ignore[assignment]  # the same kind of rows, fewer
                r
                for r in rows
                if (created_since is None or r[1] >= created_since)
                and (created_before is None or r[1] < created_before)
            ]
        # Without the trash, the store read only the first four columns of owner's rows.
        brief = owner if owner is not None and not include_deleted else None
        return SessionListing(rows, across=across, owner=brief)

    def _after(
        self, identity: Identity, cursor: str | None, all_accounts: bool
    ) -> tuple[float, str, str, str] | None:
        """The paging key of a cross-user listing's cursor (``[account/]user/session_id``)."""
        if not cursor:
            return None
        parts = cursor.split("/")
        shape = "account/user/session_id" if all_accounts else "user/session_id"
        if len(parts) != shape.count("/") + 1:
            raise InvalidArgumentError(
                f"cursor must be the {shape} of the last session of the previous page",
                {"field": "cursor", "value": cursor},
            )
        account = parts[0] if all_accounts else identity.account
        user, session_id = parts[-2], parts[-1]
        for value, field in ((account, "cursor"), (user, "cursor"), (session_id, "cursor")):
            ids.check_id(value, field)
        ref = self.store.get_session(Owner(account, user), session_id)
        if ref is None:
            raise InvalidArgumentError(
                f"cursor must be the {shape} of the last session of the previous page",
                {"field": "cursor", "value": cursor},
            )
        return (ref.created_at, ref.account, ref.user, ref.session_id)

    def get(self, identity: Identity, session_id: str, *, auto_create: bool = False) -> SessionMeta:
        ids.check_id(session_id)
        owner = owner_of(identity)
        found = self.store.session_and_extraction(owner, session_id)
        if found is None and auto_create:
            require_writable(identity)
            row = self.store.append_messages(
                owner, session_id, [], self.now(), auto_create=True, quota=self.limits.quota
            )
            found = (row, ExtractionSummary())  # new: nothing extracted yet
        if found is None or found[0].deleted_at is not None:
            raise NotFoundError.of("session", session_id)
        return session_meta(found[0], extraction=found[1])

    def update_config(self, identity: Identity, session_id: str) -> SessionConfigResult:
        """OpenViking's ``PATCH /sessions/{id}/config``: Skald has no auto-commit and one
        extraction configuration, so the settings are accepted and the effective ones (none)
        answered. 404 for a missing session."""
        require_writable(identity)
        self._row(identity, session_id)
        return SessionConfigResult(session_id=session_id)

    def stats(self, identity: Identity, session_id: str) -> SessionStatsResult:
        """``GET /stats/sessions/{id}``: turns and memories, from the stored counters."""
        row = self._row(identity, session_id)
        return SessionStatsResult(
            session_id=session_id,
            total_turns=row.total_turns,
            memories_extracted=row.memories_extracted,
        )

    def tool_results(self, identity: Identity, session_id: str) -> ToolResults:
        """Externalized tool outputs: Skald keeps them in the tool parts, so there are none."""
        self._row(identity, session_id)
        return ToolResults()

    def tool_result(self, identity: Identity, session_id: str, tool_result_id: str) -> NoReturn:
        """One externalized tool output: never one in Skald (404 as for a missing one)."""
        self._row(identity, session_id)
        ids.check_id(tool_result_id, "tool_result_id")
        base = uris.session_uri(identity.user, session_id)
        raise NotFoundError.of("file", f"{base}/tool-results/{tool_result_id}/metadata.json")

    def wait_processed(self, identity: Identity, timeout: float = 60.0) -> dict[str, QueueCount]:
        """``POST /system/wait``: wait for the caller's queued and running extractions (at
        most ``timeout`` seconds each); OpenViking's per-queue counts."""
        owner = owner_of(identity)
        count = QueueCount()
        for status in ("pending", "running"):
            for task in self.store.list_tasks(owner, status=status, limit=10_000):
                done = self.runner.wait(owner, task.task_id, timeout)
                count.processed += 1
                if done.status == "failed":
                    count.error_count += 1
                    count.errors.append(done.error or "failed")
        # OpenViking's queues, all of them (Skald's one queue is its session commits).
        queues = (
            "Embedding",
            "Semantic",
            "ExternalParse",
            "AddResource",
            "Reindex",
            "ContentWrite",
            "ExternalTask",
            "UserDeletion",
        )
        return {**{name: QueueCount() for name in queues}, "SessionCommit": count}

    def exists(self, identity: Identity, session_id: str) -> bool:
        try:
            self._row(identity, session_id)
        except NotFoundError:
            return False
        return True

    def matching(
        self,
        identity: Identity,
        query: str,
        limit: int,
        *,
        created_since: float | None = None,
        created_before: float | None = None,
    ) -> list[SessionListItem]:
        """The caller's live sessions whose messages (live or archived) hold the words of
        ``query``, the session of the best hit first, at most ``limit`` (the console's text
        filter; the search routes rank the messages themselves); ``created_since`` /
        ``created_before`` as in ``list_sessions``."""
        if not query.strip():
            raise InvalidArgumentError("the text to look for is empty", {"field": "q"})
        owner = owner_of(identity)
        found: list[str] = []
        for hit in self.store.search_messages(owner, None, query, SEARCH_HITS):
            if hit.session_id not in found:
                found.append(hit.session_id)
        items = []
        for session_id in found[:limit]:
            row = self.store.get_session(owner, session_id)
            if (
                row is not None
                and row.deleted_at is None
                and (created_since is None or row.created_at >= created_since)
                and (created_before is None or row.created_at < created_before)
            ):
                items.append(_list_item(row))
        return items

    # ------------------------------------------------------------------ messages
    def add_message(
        self,
        identity: Identity,
        session_id: str,
        request: AddMessageRequest,
        *,
        idempotency_key: str | None = None,
    ) -> AddMessageResult:
        require_writable(identity)
        ids.check_id(session_id)
        now = self.now()
        messages = []
        if not is_empty(request):
            messages.append(
                build_message(request, identity, now, keyed=idempotency_key is not None)
            )
            self._check_size(messages[0])
        row = self.store.append_messages(
            owner_of(identity),
            session_id,
            messages,
            now,
            auto_create=True,
            idempotency_key=idempotency_key,
            quota=self.limits.quota,
        )
        return AddMessageResult(
            session_id=session_id,
            message_count=row.message_count,
            pending_tokens=row.pending_tokens,
        )

    def add_messages(
        self,
        identity: Identity,
        session_id: str,
        requests: Sequence[AddMessageRequest],
        *,
        idempotency_key: str | None = None,
    ) -> BatchMessagesResult:
        require_writable(identity)
        ids.check_id(session_id)
        if len(requests) > MAX_BATCH:
            raise InvalidArgumentError(
                f"messages must hold at most {MAX_BATCH} items",
                {
                    "validation_errors": [
                        {
                            "loc": ["body", "messages"],
                            "type": "value_error",
                            "message": f"expected at most {MAX_BATCH} items",
                        }
                    ]
                },
            )
        now = self.now()
        built = []
        for i, request in enumerate(requests):
            if is_empty(request):
                continue
            try:
                built.append(
                    build_message(request, identity, now, keyed=idempotency_key is not None)
                )
                self._check_size(built[-1])
            except (InvalidArgumentError, ResourceExhaustedError) as exc:
                exc.details.setdefault("index", i)
                raise
        row = self.store.append_messages(
            owner_of(identity),
            session_id,
            built,
            now,
            auto_create=True,
            idempotency_key=idempotency_key,
            quota=self.limits.quota,
        )
        return BatchMessagesResult(
            session_id=session_id,
            message_count=row.message_count,
            added=len(built),
            pending_tokens=row.pending_tokens,
        )

    # ------------------------------------------------------------------ commit
    def commit(
        self,
        identity: Identity,
        session_id: str,
        *,
        keep_recent_count: int = 0,
        wait: bool = False,
        timeout: float = 60.0,
        idempotency_key: str | None = None,
    ) -> CommitResult:
        require_writable(identity)
        ids.check_id(session_id)
        if not 0 <= keep_recent_count <= 10_000:
            raise InvalidArgumentError(
                "keep_recent_count must be between 0 and 10000",
                {"field": "keep_recent_count", "value": keep_recent_count},
            )
        owner = owner_of(identity)
        outcome = self.store.commit(
            owner,
            session_id,
            keep_recent_count,
            self.now(),
            ids.new_task_id(),
            idempotency_key=idempotency_key,
        )
        if outcome.archive_no is None:
            return CommitResult(
                session_id=session_id,
                status="skipped",
                task_id=None,
                archive_uri=None,
                archived=False,
                reason=outcome.reason or "",
            )
        assert outcome.task_id is not None
        archive_uri = (
            uris.session_uri(owner.user, session_id)
            + "/history/"
            + uris.archive_name(outcome.archive_no)
        )
        if not wait:
            self.runner.notify()
            return CommitResult(
                session_id=session_id,
                status="accepted",
                task_id=outcome.task_id,
                archive_uri=archive_uri,
                archived=True,
            )
        task = self.runner.wait(owner, outcome.task_id, timeout)
        result = (
            msgspec.json.decode(task.result, type=ExtractionTaskResult)
            if task.result
            else ExtractionTaskResult()
        )
        extracted = (result.memories_extracted or {}).get("total", 0)
        if task.status == "completed":
            return CommitResult(
                session_id=session_id,
                status="completed",
                task_id=task.task_id,
                archive_uri=archive_uri,
                archived=True,
                memories_extracted=extracted,
            )
        return CommitResult(
            session_id=session_id,
            status="failed",
            task_id=task.task_id,
            archive_uri=archive_uri,
            archived=True,
            memories_extracted=0,
            error=task.error or task.status,
        )

    # ------------------------------------------------------------------ context and archives
    def context(
        self, identity: Identity, session_id: str, *, token_budget: int = 128_000
    ) -> ContextResult:
        head, messages = self.context_parts(identity, session_id, token_budget=token_budget)
        head.messages = list(messages)
        return head

    def context_parts(
        self, identity: Identity, session_id: str, *, token_budget: int = 128_000
    ) -> tuple[ContextResult, Iterator[Message]]:
        """The context without its messages, and its messages read batch by batch as they are
        iterated. Which messages fit the budget is decided from their stored token estimates
        (no body is read for that), so memory holds one batch, whatever the session and the
        budget: the newest messages (of the archives whose extraction is pending, then the live
        ones) that fit ``token_budget``, then the latest done archive's overview if it fits."""
        if token_budget < 0:
            raise InvalidArgumentError(
                "token_budget must be greater than or equal to 0",
                {"field": "token_budget", "value": token_budget},
            )
        self._row(identity, session_id)
        owner = owner_of(identity)
        archives = self.store.archives(owner, session_id)
        terminal = [a for a in archives if a.status != "pending"]
        newest_terminal = terminal[-1].archive_no if terminal else 0
        pending = [a.archive_no for a in archives if a.archive_no > newest_terminal]
        tokens = [(no, self.store.message_tokens(owner, session_id, no)) for no in pending]
        live = self.store.message_tokens(owner, session_id)
        tokens.append((0, live))
        budget = token_budget
        # Kept: the newest messages that fit, a suffix of each archive's (archive_no, count).
        kept: list[tuple[int, int, int]] = []  # (archive_no, offset, count)
        full = True
        for no, each in reversed(tokens):
            taken = 0
            for t in reversed(each):
                if t > budget:
                    full = False
                    break
                budget -= t
                taken += 1
            if taken:
                kept.append((no, len(each) - taken, taken))
            if not full:
                break
        kept.reverse()
        overview = ""
        latest_done = next((a for a in reversed(archives) if a.status == "done"), None)
        if latest_done is not None:
            text = self._overview(owner, session_id, latest_done)
            if len(text) // 4 <= budget:
                overview = text
                budget -= len(text) // 4
        failed = sum(1 for a in archives if a.status == "failed")
        head = ContextResult(
            latest_archive_overview=overview,
            pre_archive_abstracts=[],
            messages=[],
            estimatedTokens=token_budget - budget,
            stats=ContextStats(
                totalArchives=len(archives),
                includedArchives=0,
                droppedArchives=len(archives) - failed,
                failedArchives=failed,
                activeTokens=sum(live),
                archiveTokens=sum(a.tokens for a in archives),
            ),
        )
        batches = [
            self.store.message_batches(owner, session_id, no, offset=offset, limit=count)
            for no, offset, count in kept
        ]
        return head, (message_decoder.decode(m.body) for bs in batches for b in bs for m in b)

    def _decoded(
        self, owner: Owner, session_id: str, archive_no: int, limit: int | None = None
    ) -> Iterator[Message]:
        """One archive's messages, read and decoded batch by batch."""
        for batch in self.store.message_batches(owner, session_id, archive_no, limit=limit):
            for m in batch:
                yield message_decoder.decode(m.body)

    def _overview(self, owner: Owner, session_id: str, archive: ArchiveRow) -> str:
        return archive_overview(
            archive, self._decoded(owner, session_id, archive.archive_no, OVERVIEW_MESSAGES)
        )

    def archive(self, identity: Identity, session_id: str, archive_id: str) -> ArchiveResult:
        head, messages = self.archive_parts(identity, session_id, archive_id)
        head.messages = list(messages)
        return head

    def archive_parts(
        self, identity: Identity, session_id: str, archive_id: str
    ) -> tuple[ArchiveResult, Iterator[Message]]:
        """The archive without its messages, and its messages read batch by batch as they
        are iterated (memory holds about one batch: an archive of any size can be sent)."""
        self._row(identity, session_id)
        no = uris.parse_archive_name(ids.check_id(archive_id, "archive_id"))
        owner = owner_of(identity)
        found = next(
            (
                a
                for a in self.store.archives(owner, session_id)
                if a.archive_no == no and a.status == "done"
            ),
            None,
        )
        if found is None:
            raise NotFoundError.of("archive", archive_id)
        first = next(
            ([m] for m in self._decoded(owner, session_id, found.archive_no) if first_text([m])),
            [],
        )
        head = ArchiveResult(
            archive_id=archive_id,
            abstract=archive_abstract(found, first),
            overview=self._overview(owner, session_id, found),
            messages=[],
        )
        batches = self.store.message_batches(owner, session_id, found.archive_no)
        return head, (message_decoder.decode(m.body) for b in batches for m in b)

    # ------------------------------------------------------------------ delete
    # ------------------------------------------------------------------ re-extraction
    def extract(
        self, identity: Identity, session_id: str, archive_id: str | None = None
    ) -> ExtractResult:
        """Queue extraction again for a failed archive, or (no ``archive_id``) every failed
        archive of the session; the background worker runs the new tasks."""
        require_writable(identity)
        ids.check_id(session_id)
        archive_no = None
        if archive_id is not None:
            archive_no = uris.parse_archive_name(archive_id)
            if archive_no is None or archive_no < 1:
                raise InvalidArgumentError(
                    "archive_id must look like archive_001", {"field": "archive_id"}
                )
        owner = owner_of(identity)
        queued = self.store.requeue_extraction(
            owner, session_id, archive_no, self.now(), ids.new_task_id
        )
        if not queued:
            return ExtractResult(
                session_id=session_id, status="skipped", tasks=[], reason="no_failed_archives"
            )
        self.runner.notify()
        base = uris.session_uri(owner.user, session_id) + "/history/"
        return ExtractResult(
            session_id=session_id,
            status="accepted",
            tasks=[
                QueuedExtraction(
                    archive_id=uris.archive_name(q.archive_no),
                    archive_uri=base + uris.archive_name(q.archive_no),
                    task_id=q.task_id,
                    already_queued=q.already_queued,
                )
                for q in queued
            ],
        )

    # ------------------------------------------------------------------ tasks
    def get_task(self, identity: Identity, task_id: str) -> TaskRecord:
        task = self.store.get_task(owner_of(identity), task_id)
        if task is None:
            raise NotFoundError.of("task", task_id)
        return task_record(task)

    def list_tasks(
        self,
        identity: Identity,
        *,
        task_type: str | None = None,
        status: str | None = None,
        resource_id: str | None = None,
        limit: int = 50,
    ) -> list[TaskRecord]:
        """The caller's tasks, newest first (``resource_id``: a session id)."""
        if not 1 <= limit <= self.limits.list_max:
            raise InvalidArgumentError(
                f"limit must be between 1 and {self.limits.list_max}",
                {"field": "limit", "value": limit},
            )
        rows = self.store.list_tasks(
            owner_of(identity),
            task_type=task_type,
            status=status,
            session_id=resource_id,
            limit=limit,
        )
        return [task_record(t) for t in rows]

    def cancel_task(self, identity: Identity, task_id: str) -> TaskRecord:
        """Skald's tasks (memory extractions) are not cancelled one by one — deleting the
        session cancels its queued ones: 412, as OpenViking answers for a task type that does
        not support cancellation; 404 for an unknown task."""
        require_writable(identity)
        task = self.get_task(identity, task_id)
        raise FailedPreconditionError(
            f"Task type {task.task_type!r} does not support cancellation "
            "(deleting the session cancels its queued extraction)",
            {"task_id": task_id, "task_type": task.task_type, "status": task.status},
        )
