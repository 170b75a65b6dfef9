"""Every wire object, declared once as msgspec Structs and reused by server and clients.

Every Struct derives from ``BaseStruct`` (keyword-only fields). Requests ignore unknown
fields (OpenViking clients send optional extras such as ``telemetry``, which the requests
deriving from ``Request`` accept and ignore); responses are plain Structs whose optional fields
are ``UNSET`` or ``None`` so that old clients survive new servers. Message parts are a tagged
union on ``type``. The ``Literal`` aliases live in ``skald_core.literals``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from .literals import (
    ArchiveStatus,
    CleanupBy,
    CommitStatus,
    ContextType,
    DeleteMode,
    ExtractStatus,
    MessageKind,
    SearchMode,
    SearchType,
    TaskStatus,
    WriteMode,
)
from .structs import BaseStruct

# ---------------------------------------------------------------------------- parts


class TextPart(BaseStruct, tag="text"):
    text: str


class ContextPart(BaseStruct, tag="context"):
    uri: str
    context_type: ContextType = "memory"
    abstract: str = ""


class ToolPart(BaseStruct, tag="tool"):
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


class Message(BaseStruct, omit_defaults=True):
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


class Request(BaseStruct):
    """A request body OpenViking clients may add their ``telemetry`` to (accepted, ignored)."""

    telemetry: Any = None


class AddMessageRequest(Request):
    role: str
    content: str | None = None
    parts: list[Part] | None = None
    peer_id: str | None = None
    created_at: str | None = None
    turn_id: str | None = None
    message_kind: MessageKind | None = None
    source_message_ids: list[str] | None = None


class BatchMessagesRequest(Request):
    messages: Annotated[list[AddMessageRequest], Meta(min_length=1, max_length=100)]


class CreateSessionRequest(Request):
    session_id: str | None = None


class CommitRequest(Request):
    keep_recent_count: Annotated[int, Meta(ge=0, le=10000)] = 0
    wait: bool = False


class WriteRequest(Request):
    uri: str
    content: str
    mode: WriteMode = "replace"
    wait: bool = False


class MkdirRequest(BaseStruct):
    uri: str
    description: str | None = None


class MoveRequest(BaseStruct):
    from_uri: str
    to_uri: str


# ---------------------------------------------------------------------------- results


class UserRef(BaseStruct):
    account_id: str
    user_id: str


class EventTags(BaseStruct):
    tags: list[str] = msgspec.field(default_factory=list)


class ExtractionConfig(BaseStruct):
    events: EventTags = msgspec.field(default_factory=EventTags)


class SessionCreated(BaseStruct):
    session_id: str
    uri: str
    user: UserRef
    created_at: str
    auto_commit_policy: None = None
    memory_extraction_config: ExtractionConfig = msgspec.field(default_factory=ExtractionConfig)


class SessionListItem(BaseStruct):
    session_id: str
    uri: str
    is_dir: bool
    mod_time: str
    created_at: str
    updated_at: str
    message_count: int
    deleted_at: str | UnsetType = UNSET
    deleted_by: str | UnsetType = UNSET
    #: Whose session it is: set in a cross-user listing (``?user=*``, ``?account=*``).
    account: str | UnsetType = UNSET
    user: str | UnsetType = UNSET


class TokenUsage(BaseStruct):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0


class SessionStats(BaseStruct):
    """What ``Session.stats`` shows; computed from stored rows, never per-object counters."""

    total_turns: int = 0
    total_tokens: int = 0
    compression_count: int = 0
    memories_extracted: int = 0


class SessionMeta(BaseStruct):
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


class AddMessageResult(BaseStruct):
    session_id: str
    message_count: int
    pending_tokens: int


class BatchMessagesResult(BaseStruct):
    session_id: str
    message_count: int
    added: int
    pending_tokens: int


class CommitResult(BaseStruct):
    session_id: str
    status: CommitStatus
    task_id: str | None
    archive_uri: str | None
    archived: bool
    memories_extracted: int | UnsetType = UNSET
    reason: str | UnsetType = UNSET
    error: str | UnsetType = UNSET


class ExtractRequest(Request):
    """``POST /sessions/{id}/extract``: one archive (``archive_001``), or every failed one."""

    archive_id: str | None = None


class QueuedExtraction(BaseStruct):
    archive_id: str
    archive_uri: str
    task_id: str
    #: True when the archive was already waiting for extraction (its task is reported).
    already_queued: bool = False


class ExtractResult(BaseStruct):
    session_id: str
    status: ExtractStatus
    tasks: list[QueuedExtraction]
    reason: str | UnsetType = UNSET


class ContextStats(BaseStruct):
    totalArchives: int
    includedArchives: int
    droppedArchives: int
    failedArchives: int
    activeTokens: int
    archiveTokens: int


class ContextResult(BaseStruct):
    latest_archive_overview: str
    pre_archive_abstracts: list[str]
    messages: list[Message]
    estimatedTokens: int
    stats: ContextStats


class ArchiveResult(BaseStruct):
    archive_id: str
    abstract: str
    overview: str
    messages: list[Message]


class DeletedCounts(BaseStruct):
    messages: int
    archives: int
    files: int
    tool_records: int
    pending_tasks: int
    memories: int = 0


#: At most this many kept memories are named in a delete receipt (``kept.memory_uris``).
KEPT_URIS_LISTED = 50


class KeptCounts(BaseStruct):
    """The memories a deletion leaves: the ones this session's extractions wrote or stated
    again (its provenance), all kept unless ``forget_memories`` removed those no other session
    supports."""

    memories: int
    #: The kept memories' URIs, by path, the first ``KEPT_URIS_LISTED`` of them.
    memory_uris: list[str] = msgspec.field(default_factory=list)
    #: Why they stay, in a sentence.
    reason: str = ""


class DeletionReceipt(BaseStruct):
    session_id: str
    mode: DeleteMode
    deleted: DeletedCounts
    kept: KeptCounts


class DeleteOptions(BaseStruct):
    """How sessions are deleted, wherever a deletion is asked for (one session, a batch, a
    cleanup): ``mode`` hard (for good) or soft (into the trash); ``require_committed`` refuses
    a session that still has uncommitted messages; ``commit_first`` commits the session and
    waits for its extraction before deleting it; ``forget_memories`` (hard only) also removes
    the memories that only this session produced."""

    mode: DeleteMode = "hard"
    require_committed: bool = False
    commit_first: bool = False
    forget_memories: bool = False


class BatchDeleteRequest(DeleteOptions):
    """``POST /sessions/batch-delete``: the delete options, applied to each of the ids."""

    session_ids: Annotated[list[str], Meta(min_length=1, max_length=1000)]


class BatchFailure(BaseStruct):
    session_id: str
    code: str
    message: str


class BatchDeleteResult(BaseStruct):
    deleted: list[DeletionReceipt]
    not_found: list[str]
    forbidden: list[str]
    failed: list[BatchFailure]


class CleanupRequest(BaseStruct):
    """``POST /sessions/cleanup``: the delete options but ``require_committed`` (not part of
    this request), applied to each session older than ``older_than_days``."""

    older_than_days: Annotated[float, Meta(ge=0, le=36_500)]
    by: CleanupBy = "created_at"
    mode: DeleteMode = "hard"
    commit_first: bool = False
    forget_memories: bool = False
    dry_run: bool = False

    @property
    def options(self) -> DeleteOptions:
        return DeleteOptions(
            mode=self.mode, commit_first=self.commit_first, forget_memories=self.forget_memories
        )


class CleanupMatch(BaseStruct):
    session_id: str
    created_at: str
    updated_at: str
    message_count: int


class CleanupResult(BaseStruct):
    dry_run: bool
    older_than_days: float
    by: str
    cutoff: str
    matched: list[CleanupMatch]
    deleted: list[DeletionReceipt]
    failed: list[BatchFailure]


class ErasedCounts(BaseStruct):
    sessions: int
    messages: int
    archives: int
    files: int
    memories: int
    tasks: int
    keys: int


class ErasureResult(BaseStruct):
    account_id: str
    user_id: str
    deleted: ErasedCounts


class Actor(BaseStruct):
    account_id: str
    user_id: str
    role: str


class AuditEntry(BaseStruct):
    id: int
    at: str
    actor: Actor
    action: str
    account_id: str
    user_id: str
    session_id: str | None
    counts: dict[str, int]
    #: The API key a key change (``create_key``, ``revoke_key``) was about.
    key_id: str | None = None


# ---------------------------------------------------------------------------- session files
# What the generated files of an archive directory hold (``history/archive_NNN/``).


class ArchiveMeta(BaseStruct):
    """An archive's ``.meta.json``."""

    archive_id: str
    status: ArchiveStatus
    created_at: str
    message_count: int
    first_message_id: str | None
    last_message_id: str | None
    estimated_tokens: int
    memories_extracted: int
    error: str | None


class ArchiveDone(BaseStruct):
    """The ``.done`` marker of an archive whose extraction finished."""

    starting_message_id: str | None
    ending_message_id: str | None
    memories_extracted: int


class ArchiveFailure(BaseStruct):
    """The ``.failed.json`` of an archive whose extraction failed."""

    stage: Literal["memory_extraction"] = "memory_extraction"
    error: str | None


class FileNode(BaseStruct):
    name: str
    uri: str
    size: int
    isDir: bool
    modTime: str


class WriteResult(BaseStruct):
    uri: str
    mode: WriteMode
    written_bytes: int


class UriResult(BaseStruct):
    uri: str


class MoveResult(BaseStruct):
    from_uri: str = msgspec.field(name="from")
    to_uri: str = msgspec.field(name="to")


class EmbeddingUsage(BaseStruct):
    total_tokens: int = 0


class TotalUsage(BaseStruct):
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0


class TaskTokenUsage(BaseStruct):
    """The tokens an extraction spent, in OpenViking's ``token_usage`` shape."""

    llm: TokenUsage = msgspec.field(default_factory=TokenUsage)
    embedding: EmbeddingUsage = msgspec.field(default_factory=EmbeddingUsage)
    total: TotalUsage = msgspec.field(default_factory=TotalUsage)

    @classmethod
    def of(cls, llm: TokenUsage) -> TaskTokenUsage:
        return cls(
            llm=llm,
            total=TotalUsage(
                total_tokens=llm.total_tokens,
                cached_tokens=llm.cached_tokens,
                reasoning_tokens=llm.reasoning_tokens,
            ),
        )


class ExtractionTaskResult(BaseStruct):
    """The ``result`` of an extraction task. A failed extraction has only the session, the
    archive, the extractor and the tokens it spent; the other fields stay ``UNSET``."""

    session_id: str = ""
    archive_uri: str = ""
    #: Memories written (created or changed), per category, with their ``total``: the
    #: ``adds`` and ``updates`` of the archive's ``memory_diff.json``.
    memories_extracted: dict[str, int] | UnsetType = UNSET
    #: Memories removed: the diff's ``deletes``.
    memories_deleted: int | UnsetType = UNSET
    #: Memories the extraction stated again with the text they had: not written, not in the
    #: diff; the session now supports them too (it counts in its delete receipt's ``kept``).
    memories_unchanged: int | UnsetType = UNSET
    #: The memories written (created or changed).
    memory_uris: list[str] | UnsetType = UNSET
    memory_diff_uri: str | UnsetType = UNSET
    extractor: str = ""
    token_usage: TaskTokenUsage = msgspec.field(default_factory=TaskTokenUsage)


class TaskRecord(BaseStruct):
    task_id: str
    task_type: str
    status: TaskStatus
    resource_id: str
    #: An ``ExtractionTaskResult`` for extraction tasks, passed on as stored.
    result: dict[str, Any] | None
    error: str | None
    created_at: float
    updated_at: float
    created_at_iso: str
    updated_at_iso: str


class Health(BaseStruct):
    status: Literal["ok"] = "ok"
    healthy: bool = True
    version: str = ""


# ---------------------------------------------------------------------------- envelope


class ErrorBody(BaseStruct):
    code: str
    message: str
    details: dict[str, Any] = msgspec.field(default_factory=dict)


class Envelope(BaseStruct):
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


# ---------------------------------------------------------------------------- search


class FindRequest(Request):
    """``POST /api/v1/search/find``. ``target_uri``: one ``viking://`` tree or several (empty:
    everything the caller may read except conversations; a tree at or below
    ``viking://user/{me}/sessions`` searches conversations). ``limit`` bounds the hits in all.
    The OpenViking client's other options are accepted; ``context_type`` and
    ``score_threshold`` are applied, the rest (filters, tags, time ranges, levels, images,
    provenance) are accepted and ignored."""

    query: Annotated[str, Meta(max_length=4096)] = ""
    target_uri: str | list[str] = ""
    limit: Annotated[int, Meta(ge=1, le=1000)] = 10
    node_limit: Annotated[int, Meta(ge=1)] | None = None
    score_threshold: float | None = None
    context_type: ContextType | list[ContextType] | None = None
    filter: dict[str, Any] | None = None
    include_provenance: bool | None = None
    tags: list[str] | None = None
    since: str | None = None
    until: str | None = None
    time_field: str | None = None
    level: Any = None
    read_content: bool | None = None
    events_time_decay_protection: str | None = None
    image_url: Any = None


class SearchRequest(FindRequest):
    """``POST /api/v1/search/search``: ``find`` plus ``session_id`` (conversation hits come
    from that session only) and ``search_type`` (accepted; full text answers either)."""

    session_id: str | None = None
    search_type: SearchType | None = None


class SearchHit(BaseStruct):
    """One hit. ``level`` 2: a whole file (or message). ``score`` in (0, 1]: the share of the
    query's words the hit holds, weighted by the index's rank (BM25 / ``ts_rank_cd``) as
    ``share * (0.5 + 0.5 * rank / (1 + rank))``. A hit in a conversation carries
    ``session_id``, ``message_id`` and ``role``; its ``uri`` is the ``messages.jsonl`` that
    holds the message (the live one or an archive's)."""

    context_type: ContextType
    uri: str
    level: int
    score: float
    abstract: str
    tags: list[str] = msgspec.field(default_factory=list)
    session_id: str | UnsetType = UNSET
    message_id: str | UnsetType = UNSET
    role: str | UnsetType = UNSET


class FindResult(BaseStruct):
    """Hits by kind, best first in each; ``total`` counts them all. ``search_mode``
    (Skald's addition) says how the query was answered."""

    memories: list[SearchHit]
    resources: list[SearchHit]
    skills: list[SearchHit]
    total: int
    search_mode: SearchMode = "full_text"


class GrepRequest(Request):
    """``POST /api/v1/search/grep``: a regular expression (Python syntax) matched line by
    line in every file under ``uri`` (conversation files included)."""

    uri: str
    pattern: Annotated[str, Meta(min_length=1, max_length=1024)]
    case_insensitive: bool = False
    node_limit: Annotated[int, Meta(ge=1, le=10_000)] = 256
    exclude_uri: str | None = None
    tags: list[str] | None = None
    include_tags: bool | None = None
    level_limit: Annotated[int, Meta(ge=1)] | None = None


class GrepMatch(BaseStruct):
    line: int
    uri: str
    content: str


class GrepResult(BaseStruct):
    """``count``: the matches returned (at most ``node_limit``); ``match_count``: all found."""

    matches: list[GrepMatch]
    count: int
    match_count: int
    files_scanned: int


class GlobRequest(Request):
    """``POST /api/v1/search/glob``: ``pattern`` relative to ``uri`` (``*`` and ``?`` within a
    name, ``**`` across directories)."""

    pattern: Annotated[str, Meta(min_length=1, max_length=1024)]
    uri: str = "viking://"
    node_limit: Annotated[int, Meta(ge=1, le=10_000)] = 256
    extra_fields: list[str] | None = None
    tags: list[str] | None = None
    include_tags: bool | None = None


class GlobResult(BaseStruct):
    matches: list[str]
    count: int
