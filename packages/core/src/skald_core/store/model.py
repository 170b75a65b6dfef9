"""Row types that cross the storage protocol. Plain data, no behaviour."""

from __future__ import annotations

from typing import Literal, NamedTuple, TypeAlias

import msgspec
from msgspec import Struct

from ..literals import ArchiveStatus, TaskStatus
from ..schemas import TokenUsage as TokenUsage  # the store speaks the wire's token counts


class Owner(Struct, frozen=True):
    """The (account, user) namespace a session or a user file lives in."""

    account: str
    user: str


class SessionRow(Struct):
    """One session as stored. Backends select its columns in this field order and build it
    positionally (``SessionRow(*row)``): listings build thousands of them."""

    pk: int
    account: str
    user: str
    session_id: str
    created_at: float
    updated_at: float
    message_count: int
    total_message_count: int
    pending_tokens: int
    total_tokens: int
    total_turns: int
    commit_count: int
    memories_extracted: int
    last_commit_at: float | None
    last_message_at: float | None
    deleted_at: float | None = None
    deleted_by: str | None = None


#: What a listing shows of a session, as ``sql_store.LISTED_COLUMNS`` selects it: session_id,
#: created_at, updated_at, message_count, deleted_at, deleted_by, account, user.
ListedSession: TypeAlias = tuple[str, float, float, int, float | None, str | None, str, str]
#: What a listing of one owner's live sessions reads (``list_session_items(brief=True)``): the
#: first four of ``ListedSession`` (the rest is known: not deleted, the owner's).
LiveListed: TypeAlias = tuple[str, float, float, int]


class Quota(Struct, frozen=True, kw_only=True):
    """Limits an append checks inside its transaction (None: no limit): messages ever added
    to one session, bytes of their bodies, sessions one user may hold (live and trashed); and
    the size a file may reach by a write (an append above all)."""

    session_messages: int | None = None
    session_bytes: int | None = None
    user_sessions: int | None = None
    file_bytes: int | None = None


NO_QUOTA = Quota()


class NewMessage(Struct, kw_only=True):
    """A message ready to store: its encoded JSON body and the figures derived from it."""

    message_id: str
    role: str
    body: bytes
    tokens: int
    is_turn: bool
    tool_parts: int
    context_parts: int
    #: A hash of the request this message came from (what the caller sent, not the id or
    #: time the server chose): an idempotency key replays only the same request.
    fingerprint: str = ""


class StoredMessage(Struct, kw_only=True):
    archive_no: int
    tokens: int
    body: bytes


class ArchiveRow(Struct):
    """Built positionally from ``rows.ARCHIVE_COLUMNS`` (in field order)."""

    archive_no: int
    created_at: float
    status: ArchiveStatus
    message_count: int
    tokens: int
    first_message_id: str | None
    last_message_id: str | None
    abstract: str
    overview: str
    memories_extracted: int
    done_at: float | None
    error: str | None


class TaskQueue(Struct, kw_only=True):
    """The extraction queue at a moment: tasks waiting, tasks running, and the seconds the
    oldest waiting one has waited (0 when none)."""

    pending: int
    running: int
    oldest_pending_age: float


class CommitOutcome(Struct, kw_only=True):
    session: SessionRow
    archive_no: int | None
    task_id: str | None
    reason: str | None


class TaskRow(Struct):
    """Built positionally from ``rows.TASK_COLUMNS`` (in field order)."""

    task_id: str
    account: str
    user: str
    task_type: str
    session_id: str
    archive_no: int | None
    status: TaskStatus
    result: bytes | None
    error: str | None
    created_at: float
    updated_at: float
    attempts: int


class ClaimedTask(Struct, kw_only=True):
    task: TaskRow
    claim: str
    #: The archive's messages, unless claimed without them (then read them in batches with
    #: ``Store.archive_message_batches(session_pk, archive_no)``).
    messages: list[StoredMessage]
    session_pk: int = 0


class MemoryFact(Struct, frozen=True, kw_only=True):
    """One durable fact to write as a memory file (``path`` is a storage key)."""

    path: str
    category: str
    content: str


class MemoryRef(Struct, frozen=True, kw_only=True):
    """A memory file to remove (``path`` is a storage key)."""

    path: str
    category: str


class DiffEntry(Struct, kw_only=True):
    """One change an extraction made to a memory file; ``before``/``after`` are its texts."""

    path: str
    category: str
    before: str | None = None
    after: str | None = None


class MemoryDiff(Struct, kw_only=True):
    """What one archive's extraction changed, as applied (the source of ``memory_diff.json``)."""

    adds: list[DiffEntry] = msgspec.field(default_factory=list)
    updates: list[DiffEntry] = msgspec.field(default_factory=list)
    deletes: list[DiffEntry] = msgspec.field(default_factory=list)


class ArchiveExtraction(Struct, kw_only=True):
    """The recorded result of one archive's completed extraction."""

    archive_no: int
    extracted_at: float
    diff: MemoryDiff
    by_category: dict[str, int]
    usage: TokenUsage


class ExtractionSummary(Struct, kw_only=True):
    """Per-category memory counts and token usage summed over a session's extractions."""

    by_category: dict[str, int] = msgspec.field(default_factory=dict)
    usage: TokenUsage = msgspec.field(default_factory=TokenUsage)


class Requeued(Struct, kw_only=True):
    """An archive queued for (re-)extraction and the task that will run it."""

    archive_no: int
    task_id: str
    already_queued: bool = False


class ExtractionOutcome(Struct, kw_only=True):
    status: Literal["completed", "cancelled", "stale"]
    memories: int
    created: int
    updated: int
    reason: str | None = None
    deleted: int = 0
    #: Memories stated again with their text unchanged (provenance added, nothing written).
    unchanged: int = 0
    #: ``memories`` (created or changed) per category.
    by_category: dict[str, int] = msgspec.field(default_factory=dict)
    diff: MemoryDiff | None = None


class FileRow(Struct, kw_only=True):
    path: str
    is_dir: bool
    size: int
    created_at: float
    updated_at: float
    content: bytes | None = None


class FileWrite(NamedTuple):
    """One write of ``SQLStore.write_files``: as ``write_file``'s arguments."""

    path: str
    content: bytes
    mode: Literal["replace", "append", "create", "upsert"]
    session: tuple[Owner, str] | None
    stop_at: int


class MemorySource(Struct, kw_only=True):
    """Where a memory came from: one archive of one session (``memory_sources``)."""

    user: str
    session_id: str
    archive_no: int
    created_at: float


class AuditRow(Struct, omit_defaults=True):
    """Built positionally (``deletion.list_audit``); ``key_id`` only for key changes (and,
    as plain data, only when set: rows written before it existed read the same)."""

    id: int
    at: float
    actor_account: str
    actor_user: str
    actor_role: str
    action: str
    account: str
    user: str
    session_id: str | None
    counts: dict[str, int]
    key_id: str | None = None


class ToolRecord(Struct, kw_only=True):
    tool_id: str
    body: bytes
