"""Every wire object, declared once as msgspec Structs and reused by server and clients.

Requests ignore unknown fields (OpenViking clients send optional extras such as
``telemetry``); responses are plain Structs whose optional fields are ``UNSET`` or ``None``
so that old clients survive new servers. Message parts are a tagged union on ``type``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

# ---------------------------------------------------------------------------- parts


class TextPart(Struct, tag="text", kw_only=True):
    text: str


class ContextPart(Struct, tag="context", kw_only=True):
    uri: str
    context_type: Literal["memory", "resource", "skill"] = "memory"
    abstract: str = ""


class ToolPart(Struct, tag="tool", kw_only=True):
    tool_id: str
    tool_name: str = ""
    tool_uri: str = ""
    skill_uri: str = ""
    tool_input: Any = None
    tool_output: str = ""
    tool_status: str = "pending"
    duration_ms: float | UnsetType = UNSET
    prompt_tokens: int | UnsetType = UNSET
    completion_tokens: int | UnsetType = UNSET


Part = TextPart | ContextPart | ToolPart

MessageKind = Literal["user_query", "assistant_step", "tool_transport", "checkpoint"]


class Message(Struct, kw_only=True, omit_defaults=True):
    """A stored message, as it appears in ``messages.jsonl`` and in results."""

    id: str
    role: str
    parts: list[Part]
    created_at: str
    peer_id: str | None = None
    turn_id: str | None = None
    message_kind: MessageKind | None = None
    source_message_ids: list[str] | None = None


# ---------------------------------------------------------------------------- requests


class AddMessageRequest(Struct, kw_only=True):
    role: str
    content: str | None = None
    parts: list[Part] | None = None
    peer_id: str | None = None
    created_at: str | None = None
    turn_id: str | None = None
    message_kind: MessageKind | None = None
    source_message_ids: list[str] | None = None
    telemetry: Any = None


class BatchMessagesRequest(Struct, kw_only=True):
    messages: Annotated[list[AddMessageRequest], Meta(min_length=1, max_length=100)]
    telemetry: Any = None


class CreateSessionRequest(Struct, kw_only=True):
    session_id: str | None = None
    telemetry: Any = None


class CommitRequest(Struct, kw_only=True):
    keep_recent_count: Annotated[int, Meta(ge=0, le=10000)] = 0
    wait: bool = False
    telemetry: Any = None


WriteMode = Literal["replace", "append", "create"]


class WriteRequest(Struct, kw_only=True):
    uri: str
    content: str
    mode: WriteMode = "replace"
    wait: bool = False
    telemetry: Any = None


class MkdirRequest(Struct, kw_only=True):
    uri: str
    description: str | None = None


class MoveRequest(Struct, kw_only=True):
    from_uri: str
    to_uri: str


# ---------------------------------------------------------------------------- results


class UserRef(Struct, kw_only=True):
    account_id: str
    user_id: str


class EventTags(Struct, kw_only=True):
    tags: list[str] = msgspec.field(default_factory=list)


class ExtractionConfig(Struct, kw_only=True):
    events: EventTags = msgspec.field(default_factory=EventTags)


class SessionCreated(Struct, kw_only=True):
    session_id: str
    uri: str
    user: UserRef
    created_at: str
    auto_commit_policy: None = None
    memory_extraction_config: ExtractionConfig = msgspec.field(default_factory=ExtractionConfig)


class SessionListItem(Struct, kw_only=True):
    session_id: str
    uri: str
    is_dir: bool
    mod_time: str
    created_at: str
    updated_at: str
    message_count: int
    deleted_at: str | UnsetType = UNSET
    deleted_by: str | UnsetType = UNSET


class TokenUsage(Struct, kw_only=True):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0


class SessionStats(Struct, kw_only=True):
    """What ``Session.stats`` shows; computed from stored rows, never per-object counters."""

    total_turns: int = 0
    total_tokens: int = 0
    compression_count: int = 0
    memories_extracted: int = 0


class SessionMeta(Struct, kw_only=True):
    """``GET /sessions/{id}`` and the session's ``.meta.json``."""

    session_id: str
    created_at: str
    updated_at: str
    created_by_account_id: str
    created_by_user_id: str
    message_count: int
    total_message_count: int
    commit_count: int
    memories_extracted: dict[str, int]
    last_commit_at: str
    last_message_at: str
    pending_tokens: int
    llm_token_usage: TokenUsage = msgspec.field(default_factory=TokenUsage)
    keep_recent_count: int = 0
    retention_mode: str = ""
    memory_policy: None = None
    auto_commit_policy: None = None
    uri: str | UnsetType = UNSET
    user: UserRef | UnsetType = UNSET
    memory_extraction_config: ExtractionConfig | UnsetType = UNSET
    stats: SessionStats | UnsetType = UNSET


class AddMessageResult(Struct, kw_only=True):
    session_id: str
    message_count: int
    pending_tokens: int


class BatchMessagesResult(Struct, kw_only=True):
    session_id: str
    message_count: int
    added: int
    pending_tokens: int


CommitStatus = Literal["accepted", "completed", "skipped", "failed"]


class CommitResult(Struct, kw_only=True):
    session_id: str
    status: CommitStatus
    task_id: str | None
    archive_uri: str | None
    archived: bool
    memories_extracted: int | UnsetType = UNSET
    reason: str | UnsetType = UNSET
    error: str | UnsetType = UNSET


class ExtractRequest(Struct, kw_only=True):
    """``POST /sessions/{id}/extract``: one archive (``archive_001``), or every failed one."""

    archive_id: str | None = None
    telemetry: Any = None


class QueuedExtraction(Struct, kw_only=True):
    archive_id: str
    archive_uri: str
    task_id: str
    #: True when the archive was already waiting for extraction (its task is reported).
    already_queued: bool = False


class ExtractResult(Struct, kw_only=True):
    session_id: str
    status: Literal["accepted", "skipped"]
    tasks: list[QueuedExtraction]
    reason: str | UnsetType = UNSET


class ContextStats(Struct, kw_only=True):
    totalArchives: int
    includedArchives: int
    droppedArchives: int
    failedArchives: int
    activeTokens: int
    archiveTokens: int


class ContextResult(Struct, kw_only=True):
    latest_archive_overview: str
    pre_archive_abstracts: list[str]
    messages: list[Message]
    estimatedTokens: int
    stats: ContextStats


class ArchiveResult(Struct, kw_only=True):
    archive_id: str
    abstract: str
    overview: str
    messages: list[Message]


class DeletedCounts(Struct, kw_only=True):
    messages: int
    archives: int
    files: int
    tool_records: int
    pending_tasks: int
    memories: int = 0


class KeptCounts(Struct, kw_only=True):
    memories: int


class DeletionReceipt(Struct, kw_only=True):
    session_id: str
    mode: Literal["hard", "soft"]
    deleted: DeletedCounts
    kept: KeptCounts


DeleteMode = Literal["hard", "soft"]
#: Session listings: ``desc`` newest first (the default), ``asc`` oldest first.
ListOrder = Literal["desc", "asc"]


class BatchDeleteRequest(Struct, kw_only=True):
    session_ids: Annotated[list[str], Meta(min_length=1, max_length=1000)]
    mode: DeleteMode = "hard"
    require_committed: bool = False
    commit_first: bool = False
    forget_memories: bool = False


class BatchFailure(Struct, kw_only=True):
    session_id: str
    code: str
    message: str


class BatchDeleteResult(Struct, kw_only=True):
    deleted: list[DeletionReceipt]
    not_found: list[str]
    forbidden: list[str]
    failed: list[BatchFailure]


class CleanupRequest(Struct, kw_only=True):
    older_than_days: Annotated[float, Meta(ge=0, le=36_500)]
    by: Literal["created_at", "updated_at"] = "created_at"
    mode: DeleteMode = "hard"
    commit_first: bool = False
    forget_memories: bool = False
    dry_run: bool = False


class CleanupMatch(Struct, kw_only=True):
    session_id: str
    created_at: str
    updated_at: str
    message_count: int


class CleanupResult(Struct, kw_only=True):
    dry_run: bool
    older_than_days: float
    by: str
    cutoff: str
    matched: list[CleanupMatch]
    deleted: list[DeletionReceipt]
    failed: list[BatchFailure]


class ErasedCounts(Struct, kw_only=True):
    sessions: int
    messages: int
    archives: int
    files: int
    memories: int
    tasks: int
    keys: int


class ErasureResult(Struct, kw_only=True):
    account_id: str
    user_id: str
    deleted: ErasedCounts


class Actor(Struct, kw_only=True):
    account_id: str
    user_id: str
    role: str


class AuditEntry(Struct, kw_only=True):
    id: int
    at: str
    actor: Actor
    action: str
    account_id: str
    user_id: str
    session_id: str | None
    counts: dict[str, int]


class FileNode(Struct, kw_only=True):
    name: str
    uri: str
    size: int
    isDir: bool
    modTime: str


class WriteResult(Struct, kw_only=True):
    uri: str
    mode: WriteMode
    written_bytes: int


class UriResult(Struct, kw_only=True):
    uri: str


class MoveResult(Struct, kw_only=True):
    from_uri: str = msgspec.field(name="from")
    to_uri: str = msgspec.field(name="to")


TaskStatus = Literal["pending", "running", "completed", "failed", "cancelled"]


class TaskRecord(Struct, kw_only=True):
    task_id: str
    task_type: str
    status: TaskStatus
    resource_id: str
    result: dict[str, Any] | None
    error: str | None
    created_at: float
    updated_at: float
    created_at_iso: str
    updated_at_iso: str


class Health(Struct, kw_only=True):
    status: Literal["ok"] = "ok"
    healthy: bool = True
    version: str = ""


# ---------------------------------------------------------------------------- envelope


class ErrorBody(Struct, kw_only=True):
    code: str
    message: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class Envelope(Struct, kw_only=True):
    status: Literal["ok", "error"]
    result: Any = None
    error: ErrorBody | None = None
    time: float = 0.0


json_encoder = msgspec.json.Encoder()
message_decoder = msgspec.json.Decoder(Message)


def to_dict(value: Struct) -> dict[str, Any]:
    """Turn a result Struct into the plain dict clients hand to users."""
    out: dict[str, Any] = msgspec.to_builtins(value)
    return out


def to_dicts(values: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = msgspec.to_builtins(values)
    return out
