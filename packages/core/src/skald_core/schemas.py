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
#: The part types Skald reads (for tokens, turns, tool records, relations, summaries).
KNOWN_PART_TYPES = frozenset({"text", "context", "tool"})
#: A part of any other type — the published client's ``image_url``, ``file``, types added
#: later — is a JSON object with a string ``type``: stored and returned exactly as given.
RawPart = dict[str, Any]


class Message(BaseStruct, omit_defaults=True):
    """A stored message, as it appears in ``messages.jsonl`` and in results. ``parts`` holds
    ``Part`` structs for the known types and ``RawPart`` dicts for the others."""

    id: str
    role: str
    parts: list[Any]
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
    #: Checked and typed by ``typed_parts`` (known types) when the message is built.
    parts: list[RawPart] | None = None
    peer_id: str | None = None
    created_at: str | None = None
    turn_id: str | None = None
    message_kind: MessageKind | None = None
    source_message_ids: list[str] | None = None


class BatchMessagesRequest(Request):
    #: An empty list is a batch of nothing (accepted, as OpenViking does).
    messages: Annotated[list[AddMessageRequest], Meta(max_length=100)]


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


class EmbeddingUsage(BaseStruct):
    total_tokens: int = 0


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
    #: Always zero: Skald does not count embedding tokens (OpenViking counts its index's).
    embedding_token_usage: EmbeddingUsage = msgspec.field(default_factory=EmbeddingUsage)
    keep_recent_count: int = 0
    retention_mode: str = ""
    # OpenViking's retention and auto-commit settings, at their defaults (Skald has neither).
    keep_recent_turn_count: int = 0
    retained_message_token_budget: int = 0
    min_raw_tail_steps: int = 1
    last_auto_commit_at: str = ""
    last_idle_commit_accepted_at: str = ""
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
    # OpenViking's: no working memory, no tracing, no token budget in Skald.
    effective_enable_working_memory: bool = False
    trace_id: str = ""
    estimated_active_tokens: int = 0
    budget_exceeded: bool = False


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


#: ``mode`` of a directory and of a file, as OpenViking reports them (0o755, 0o644).
DIR_MODE, FILE_MODE = 0o755, 0o644


class FileNode(BaseStruct):
    """One entry of ``ls``/``tree``: OpenViking's fields of both its outputs (``original``:
    ``name``, ``mode``; ``agent``: ``abstract``, and ``rel_path`` below the listed directory in
    recursive listings and trees)."""

    name: str
    uri: str
    size: int
    isDir: bool
    modTime: str
    mode: int = FILE_MODE
    abstract: str = ""
    rel_path: str | UnsetType = UNSET


class StatNode(FileNode):
    """``fs/stat``: a node, whether it is locked (never, in Skald: every write is one
    transaction), and a directory's number of children or a file's ``id``."""

    isLocked: bool = False
    count: int | UnsetType = UNSET
    id: str | UnsetType = UNSET


class ListPage(BaseStruct):
    """A listing and whether ``limit``/``node_limit`` cut it short (``fs/ls``'s top-level
    ``has_more``)."""

    nodes: list[FileNode]
    has_more: bool


class WriteResult(BaseStruct):
    """``content/write``; past ``written_bytes``, OpenViking's fields: Skald indexes nothing in
    the background, so the write is complete when it answers (no task)."""

    uri: str
    mode: WriteMode
    written_bytes: int
    root_uri: str = ""
    context_type: str = "resource"
    content_updated: bool = True
    semantic_status: str = "complete"
    vector_status: str = "complete"
    queue_status: None = None
    task_id: None = None


class MemoryCleanup(BaseStruct):
    status: str = "no_references"
    memory_uris: list[str] = msgspec.field(default_factory=list)


class RemoveResult(BaseStruct):
    """``DELETE fs``: the path and, as OpenViking says it, how many entries went."""

    uri: str
    estimated_deleted_count: int = 0
    memory_cleanup: MemoryCleanup = msgspec.field(default_factory=MemoryCleanup)
    semantic_root_uri: str = ""
    semantic_status: str = "complete"
    task_id: None = None


class UriResult(BaseStruct):
    uri: str


class MoveResult(BaseStruct):
    from_uri: str = msgspec.field(name="from")
    to_uri: str = msgspec.field(name="to")


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
    #: Seconds from queued to finished, once finished (OpenViking's ``processing_seconds``).
    processing_seconds: float | None = None
    stage: str | None = None
    meta: dict[str, Any] = msgspec.field(default_factory=dict)


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


class _KnownPartsMessage(Message, omit_defaults=True):
    """A message whose parts are all of known types: decoded in one step (the usual case)."""

    parts: list[Part]


def typed_parts(parts: list[Any]) -> list[Any]:
    """Parts as stored in a ``Message``: a known type becomes its ``Part`` struct (checked;
    ``msgspec.ValidationError`` names what is wrong), any other object with a non-empty string
    ``type`` stays the dict it was."""
    out: list[Any] = []
    for part in parts:
        if isinstance(part, TextPart | ContextPart | ToolPart):
            out.append(part)
            continue
        raw = wire_part(part)
        if not isinstance(raw, dict):
            raise msgspec.ValidationError(f"Expected `object`, got `{type(raw).__name__}`")
        kind = raw.get("type")
        if not isinstance(kind, str) or not kind:
            raise msgspec.ValidationError("a part needs a non-empty string `type`")
        out.append(msgspec.convert(raw, Part) if kind in KNOWN_PART_TYPES else dict(raw))
    return out


def wire_part(part: Any) -> Any:
    """A part as JSON sends it: a dict stays as it is, a Struct is its fields, and the
    published client's dataclass parts are what that client sends (its ``ImagePart`` becomes
    ``{"type": "image_url", "image_url": {"url", "detail"}}``). Anything else is returned as
    it is, for the request's validation to refuse."""
    if isinstance(part, dict):
        return part
    if isinstance(part, Struct):
        return msgspec.to_builtins(part)
    fields = getattr(part, "__dataclass_fields__", None)
    if fields is None:
        return part
    raw = {name: getattr(part, name) for name in fields if getattr(part, name) is not None}
    if raw.get("type") == "image_url" and "url" in raw:
        image = {k: raw.pop(k) for k in ("url", "detail") if k in raw}
        raw["image_url"] = image
    return raw


def wire_messages(messages: Any) -> Any:
    """A batch's messages with their parts as JSON sends them (``wire_part``)."""
    if not isinstance(messages, list):
        return messages
    return [
        {**m, "parts": [wire_part(p) for p in m["parts"]]}
        if isinstance(m, dict) and isinstance(m.get("parts"), list)
        else m
        for m in messages
    ]


class MessageDecoder:
    """Decodes a stored message (``messages.jsonl`` lines, rows' bodies) with typed parts."""

    def __init__(self) -> None:
        self._known = msgspec.json.Decoder(_KnownPartsMessage)
        self._any = msgspec.json.Decoder(Message)

    def decode(self, data: bytes | str) -> Message:
        try:
            known = self._known.decode(data)
        except msgspec.ValidationError:
            message = self._any.decode(data)
            message.parts = typed_parts(message.parts)
            return message
        return Message(**msgspec.structs.asdict(known))


message_decoder = MessageDecoder()


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
    from that session only) and ``search_type`` (``keywords``: full text only, even with
    embeddings configured; ``semantic`` or none: hybrid when configured)."""

    session_id: str | None = None
    search_type: SearchType | None = None


class SearchHit(BaseStruct):
    """One hit. ``level`` 2: a whole file (or message). ``score`` in (0, 1]: the share of the
    query's words the hit holds, weighted by the index's rank (BM25 / ``ts_rank_cd``) as
    ``share * (0.5 + 0.5 * rank / (1 + rank))``; in a ``hybrid`` search a file's score is
    its reciprocal-rank-fusion score scaled to (0, 1] (1: first by full text and by
    meaning, 0.5: first by one of them only). A hit in a conversation carries
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


# ---------------------------------------------------------------------------- OpenViking routes
# Routes the published OpenViking client calls that have little or no meaning in Skald (no
# vector index, no tags, no auto-commit): accepted, answered in OpenViking's shapes with what
# it answers when there is nothing to do.


class SessionConfigRequest(Request):
    """``PATCH /sessions/{id}/config``: OpenViking's auto-commit and extraction settings
    (accepted; Skald has no auto-commit and one extraction configuration)."""

    auto_commit_policy: Any = None
    memory_extraction_config: Any = None


class SessionConfigResult(BaseStruct):
    session_id: str
    auto_commit_policy: None = None
    memory_extraction_config: ExtractionConfig = msgspec.field(default_factory=ExtractionConfig)


class SessionStatsResult(BaseStruct):
    """``GET /stats/sessions/{id}``."""

    session_id: str
    total_turns: int
    memories_extracted: int


class ToolResults(BaseStruct):
    """``GET /sessions/{id}/tool-results``: Skald keeps tool outputs in the tool parts (never
    externalized), so the list is empty."""

    tool_results: list[dict[str, Any]] = msgspec.field(default_factory=list)


class QueueCount(BaseStruct):
    processed: int = 0
    requeue_count: int = 0
    error_count: int = 0
    errors: list[str] = msgspec.field(default_factory=list)


class BatchWriteOperation(BaseStruct):
    uri: str
    content: str
    mode: WriteMode = "replace"


class BatchWriteRequest(Request):
    root_uri: str
    operations: Annotated[list[BatchWriteOperation], Meta(max_length=1000)]
    wait: bool = True


class BatchWriteResult(BaseStruct):
    root_uri: str
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    queue_status: None = None
    semantic_status: str = "complete"
    vector_status: str = "complete"


class CopyRequest(Request):
    from_uri: str
    to_uri: str
    recursive: bool = False


class VectorCounts(BaseStruct):
    scanned: int = 0
    written: int = 0
    deleted: int = 0
    restored: int = 0
    batches: int = 0


class CopyResult(BaseStruct):
    operation_id: str
    from_uri: str = msgspec.field(name="from")
    to_uri: str = msgspec.field(name="to")
    recursive: bool
    files_created: int
    semantic_root_uri: str
    operation: str = "copy"
    phase: str = "completed"
    vectors: VectorCounts = msgspec.field(default_factory=VectorCounts)
    semantic_status: str = "complete"


class Attrs(BaseStruct):
    tags: list[str] = msgspec.field(default_factory=list)


class AttrsResult(BaseStruct):
    uri: str
    context_type: str
    attrs: Attrs = msgspec.field(default_factory=Attrs)


class SetTagsRequest(Request):
    uri: str
    tags: list[str] | None = None
    mode: str = "replace"
    recursive: bool = False


class SetTagsResult(BaseStruct):
    """Skald stores no tags: nothing is updated (as OpenViking answers for a file it has no
    index records of)."""

    uri: str
    root_uri: str
    context_type: str
    mode: str
    updated_uris: list[str] = msgspec.field(default_factory=list)
    tags: list[str] = msgspec.field(default_factory=list)
    success_count: int = 0
    skipped_count: int = 1
    failed_count: int = 0
    tags_updated: bool = False


class ReindexRequest(Request):
    uri: str
    mode: str = "vectors_only"
    wait: bool = True
    recursive: bool = True
    force: bool = False


class ReindexResult(BaseStruct):
    """Nothing rebuilt in place (see ``FileService.reindex``)."""

    uri: str
    mode: str
    object_type: str
    status: str = "completed"
    scanned_records: int = 0
    rebuilt_records: int = 0
    deleted_records: int = 0
    unsupported_records: int = 0
    failed_records: int = 0
    duration_ms: int = 0
    warnings: list[str] = msgspec.field(default_factory=list)
    queue_status: None = None


class ComponentStatus(BaseStruct):
    """One component of ``observer/system`` (``observer/queue`` is the ``queue`` one)."""

    name: str
    is_healthy: bool
    has_errors: bool
    status: str


class SystemStatus(BaseStruct):
    is_healthy: bool
    errors: list[str]
    components: dict[str, ComponentStatus]
