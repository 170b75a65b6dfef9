"""The storage protocol: a transactional store of sessions, messages, archives, memories,
files and tasks, keyed by (account, user).

Every method is one transaction: it happens completely or not at all, also if the process
dies half way. Backends raise core errors (``NotFoundError``, ``AlreadyExistsError``,
``StorageUnavailableError``, ...) and never leak driver exceptions. The contract test suite in
``tests/store`` runs against every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, Protocol

from ..identity import Identity
from ..keys import KeyStore
from .model import (
    ArchiveExtraction,
    ArchiveRow,
    AuditRow,
    ClaimedTask,
    CommitOutcome,
    DeletionCounts,
    ErasureCounts,
    ExtractionOutcome,
    ExtractionSummary,
    FileRow,
    MemoryFact,
    MemoryRef,
    NewMessage,
    Owner,
    Requeued,
    SessionRow,
    StoredMessage,
    TaskRow,
    TokenCounts,
)


class Store(Protocol):
    def close(self) -> None: ...

    # ---------------------------------------------------------------- the store itself
    def describe(self) -> str:
        """Where the data lives, for logs (never a password)."""
        ...

    def ping(self) -> None:
        """Raise ``StorageUnavailableError`` unless the database answers a query."""
        ...

    def migrate(self) -> int:
        """Apply pending schema migrations; the schema version after."""
        ...

    def schema_version(self) -> int: ...

    def key_store(self) -> KeyStore:
        """The API key store living in this store's database."""
        ...

    # ---------------------------------------------------------------- sessions
    def create_session(self, owner: Owner, session_id: str, now: float) -> SessionRow:
        """Insert a session; ``AlreadyExistsError`` if the id is taken in ``owner``."""
        ...

    def get_session(self, owner: Owner, session_id: str) -> SessionRow | None: ...

    def list_sessions(
        self,
        owner: Owner,
        *,
        limit: int | None,
        after: tuple[float, str] | None,
        include_deleted: bool = False,
        newest_first: bool = True,
    ) -> list[SessionRow]:
        """By (created_at, session_id), newest first unless not ``newest_first``;
        ``after`` is the last row of the previous page. Trashed sessions only with
        ``include_deleted``."""
        ...

    def append_messages(
        self,
        owner: Owner,
        session_id: str,
        messages: Sequence[NewMessage],
        now: float,
        *,
        auto_create: bool,
        idempotency_key: str | None = None,
    ) -> SessionRow:
        """Append all messages or none; create the session first when ``auto_create``.
        A repeated ``idempotency_key`` returns the first call's answer and appends nothing."""
        ...

    def messages(
        self, owner: Owner, session_id: str, *, archive_no: int | None = 0
    ) -> list[StoredMessage]:
        """Messages in order: ``archive_no=0`` live ones, ``n`` one archive, ``None`` all."""
        ...

    def tool_and_context_messages(self, owner: Owner, session_id: str) -> list[StoredMessage]:
        """Messages (live and archived) that carry tool or context parts, in order."""
        ...

    def commit(
        self,
        owner: Owner,
        session_id: str,
        keep_recent_count: int,
        now: float,
        task_id: str,
        *,
        idempotency_key: str | None = None,
    ) -> CommitOutcome:
        """Move live messages (all but the newest ``keep_recent_count``) into the next archive
        and queue its extraction task, atomically. ``NotFoundError`` if the session is missing.
        A repeated ``idempotency_key`` returns the first call's outcome and archives nothing."""
        ...

    def archives(self, owner: Owner, session_id: str) -> list[ArchiveRow]: ...

    def delete_session(
        self,
        owner: Owner,
        session_id: str,
        now: float,
        *,
        require_committed: bool = False,
        require_extracted: bool = False,
        forget_memories: bool = False,
        actor: Identity | None = None,
        action: str = "delete",
        only_trashed: bool = False,
        only_live: bool = False,
        older_than: tuple[str, float] | None = None,
    ) -> DeletionCounts:
        """Remove the session (live or trashed) and every row under it; cancel its pending
        tasks; keep memories (their provenance from this session is dropped) unless
        ``forget_memories`` (then memories whose only provenance is this session go, its
        provenance is stripped from the rest, and its task results are cleared); write an audit
        row. ``NotFoundError`` if missing (or not in the state ``only_trashed`` / ``only_live``
        asks for); ``FailedPreconditionError`` when ``require_committed`` and live messages
        remain (or, with ``require_extracted``, archives await extraction), or when
        ``older_than=(column, cutoff)`` no longer holds — all checked in the same transaction."""
        ...

    def soft_delete_session(
        self,
        owner: Owner,
        session_id: str,
        now: float,
        *,
        actor: Identity,
        require_committed: bool = False,
        require_extracted: bool = False,
        older_than: tuple[str, float] | None = None,
    ) -> DeletionCounts:
        """Hide a live session (restorable); ``NotFoundError`` if missing or already trashed."""
        ...

    def restore_session(
        self, owner: Owner, session_id: str, now: float, *, actor: Identity
    ) -> SessionRow: ...

    def expired_sessions(
        self,
        owner: Owner | None,
        cutoff: float,
        by: Literal["created_at", "updated_at"],
        *,
        trashed: bool = False,
    ) -> list[SessionRow]:
        """Live sessions whose ``by`` time is before ``cutoff`` (or trashed ones deleted before
        it); ``owner=None`` looks across every owner (the retention sweep)."""
        ...

    def erase_user(self, account: str, user: str, now: float, *, actor: Identity) -> ErasureCounts:
        """Remove everything of one user and compact storage so no content remains on disk."""
        ...

    def list_audit(
        self,
        account: str | None,
        *,
        limit: int = 100,
        action: str | None = None,
        session_id: str | None = None,
        before: int | None = None,
    ) -> list[AuditRow]: ...

    # ---------------------------------------------------------------- tasks
    def get_task(self, owner: Owner, task_id: str) -> TaskRow | None: ...

    def runnable_tasks(self, now: float, limit: int = 100) -> list[str]:
        """Ids of pending tasks and of running ones whose lease has expired, oldest first."""
        ...

    def claim_task(
        self, task_id: str, now: float, lease_seconds: float, *, busy: Sequence[Owner] = ()
    ) -> ClaimedTask | None:
        """Take a runnable task (pending, or running with an expired lease) for extraction,
        unless it belongs to one of the ``busy`` owners."""
        ...

    def complete_extraction(
        self,
        task_id: str,
        claim: str,
        facts: Sequence[MemoryFact],
        result: bytes,
        now: float,
        *,
        deletes: Sequence[MemoryRef] = (),
        usage: TokenCounts | None = None,
    ) -> ExtractionOutcome:
        """Apply an extraction: write ``facts`` (new or updated memories) with provenance,
        remove ``deletes`` (their provenance goes with them), record the diff, per-category
        counts and token ``usage`` with the archive, mark it done and the task completed — or
        nothing at all if the claim is stale or the session has gone."""
        ...

    def fail_task(
        self, task_id: str, claim: str, error: str, now: float, *, result: bytes | None = None
    ) -> None:
        """Mark a held task and its pending archive failed (the archive stays, re-queueable)."""
        ...

    def extraction_summary(self, owner: Owner, session_id: str) -> ExtractionSummary:
        """Per-category memory counts and token usage summed over the session's extractions."""
        ...

    def archive_extractions(self, owner: Owner, session_id: str) -> list[ArchiveExtraction]:
        """The recorded extraction (diff, counts, usage) of each extracted archive, in order."""
        ...

    def requeue_extraction(
        self,
        owner: Owner,
        session_id: str,
        archive_no: int | None,
        now: float,
        new_task_id: Callable[[], str],
    ) -> list[Requeued]:
        """Queue a failed archive (or, with ``archive_no=None``, every failed one) for
        extraction again with a new task. A named archive already queued reports its task;
        one already extracted is ``FailedPreconditionError``; a missing one ``NotFoundError``."""
        ...

    # ---------------------------------------------------------------- files
    def get_file(self, account: str, path: str) -> FileRow | None: ...

    def list_children(self, account: str, parent: str) -> list[FileRow]: ...

    def list_descendants(self, account: str, prefix: str) -> list[FileRow]: ...

    def session_files(self, owner: Owner, session_id: str) -> list[FileRow]: ...

    def write_file(
        self,
        account: str,
        path: str,
        content: bytes,
        mode: Literal["replace", "append", "create", "upsert"],
        now: float,
        *,
        session: tuple[Owner, str] | None,
        stop_at: int,
    ) -> FileRow:
        """Write a file; ``create`` makes missing parent directories (those deeper than
        ``stop_at`` segments). ``session`` ties the file to a session so delete removes it."""
        ...

    def make_dir(
        self,
        account: str,
        path: str,
        now: float,
        *,
        session: tuple[Owner, str] | None,
        stop_at: int,
    ) -> FileRow: ...

    def remove(self, account: str, path: str, *, recursive: bool) -> int: ...

    def move(
        self,
        account: str,
        src: str,
        dst: str,
        now: float,
        *,
        session: tuple[Owner, str] | None,
        stop_at: int,
    ) -> None: ...

    def memory_count_for_session(self, owner: Owner, session_id: str) -> int: ...

    def check_integrity(self) -> list[str]:
        """Problems found by a full consistency check (empty when all invariants hold)."""
        ...
