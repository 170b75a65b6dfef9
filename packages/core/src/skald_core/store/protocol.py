"""The storage protocol: a transactional store of sessions, messages, archives, memories,
files and tasks, keyed by (account, user).

Every method is one transaction: it happens completely or not at all, also if the process
dies half way. Backends raise core errors (``NotFoundError``, ``AlreadyExistsError``,
``StorageUnavailableError``, ...) and never leak driver exceptions. The contract test suite in
``tests/store`` runs against every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from .model import (
    ArchiveRow,
    ClaimedTask,
    CommitOutcome,
    DeletionCounts,
    ExtractionOutcome,
    FileRow,
    MemoryFact,
    NewMessage,
    Owner,
    SessionRow,
    StoredMessage,
    TaskRow,
)


class Store(Protocol):
    def close(self) -> None: ...

    # ---------------------------------------------------------------- sessions
    def create_session(self, owner: Owner, session_id: str, now: float) -> SessionRow:
        """Insert a session; ``AlreadyExistsError`` if the id is taken in ``owner``."""
        ...

    def get_session(self, owner: Owner, session_id: str) -> SessionRow | None: ...

    def list_sessions(
        self, owner: Owner, *, limit: int | None, after: tuple[float, str] | None
    ) -> list[SessionRow]:
        """Newest first by (created_at, session_id); ``after`` is the last row of the previous page."""
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
        self, owner: Owner, session_id: str, now: float, *, require_committed: bool = False
    ) -> DeletionCounts:
        """Remove the session and every row under it; cancel its pending tasks; keep memories.
        ``NotFoundError`` if missing; ``FailedPreconditionError`` when ``require_committed`` and
        live messages remain (checked in the same transaction)."""
        ...

    # ---------------------------------------------------------------- tasks
    def get_task(self, owner: Owner, task_id: str) -> TaskRow | None: ...

    def runnable_tasks(self, now: float, limit: int = 100) -> list[str]:
        """Ids of pending tasks and of running ones whose lease has expired, oldest first."""
        ...

    def claim_task(self, task_id: str, now: float, lease_seconds: float) -> ClaimedTask | None:
        """Take a runnable task (pending, or running with an expired lease) for extraction."""
        ...

    def complete_extraction(
        self, task_id: str, claim: str, facts: Sequence[MemoryFact], result: bytes, now: float
    ) -> ExtractionOutcome:
        """Write memories with provenance, mark the archive done and the task completed — or
        nothing at all if the claim is stale or the session has gone."""
        ...

    def fail_task(self, task_id: str, claim: str, error: str, now: float) -> None: ...

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
