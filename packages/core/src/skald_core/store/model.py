"""Row types that cross the storage protocol. Plain data, no behaviour."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct


class Owner(Struct, frozen=True):
    """The (account, user) namespace a session or a user file lives in."""

    account: str
    user: str


class SessionRow(Struct, kw_only=True):
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


class NewMessage(Struct, kw_only=True):
    """A message ready to store: its encoded JSON body and the figures derived from it."""

    message_id: str
    role: str
    body: bytes
    tokens: int
    is_turn: bool
    tool_parts: int
    context_parts: int


class StoredMessage(Struct, kw_only=True):
    archive_no: int
    tokens: int
    body: bytes


ArchiveStatus = Literal["pending", "done", "failed"]


class ArchiveRow(Struct, kw_only=True):
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


class CommitOutcome(Struct, kw_only=True):
    session: SessionRow
    archive_no: int | None
    task_id: str | None
    reason: str | None


class TaskRow(Struct, kw_only=True):
    task_id: str
    account: str
    user: str
    task_type: str
    session_id: str
    archive_no: int | None
    status: Literal["pending", "running", "completed", "failed", "cancelled"]
    result: bytes | None
    error: str | None
    created_at: float
    updated_at: float
    attempts: int


class ClaimedTask(Struct, kw_only=True):
    task: TaskRow
    claim: str
    messages: list[StoredMessage]


class MemoryFact(Struct, frozen=True, kw_only=True):
    """One durable fact to write as a memory file (``path`` is a storage key)."""

    path: str
    category: str
    content: str


class ExtractionOutcome(Struct, kw_only=True):
    status: Literal["completed", "cancelled", "stale"]
    memories: int
    created: int
    updated: int
    reason: str | None = None


class FileRow(Struct, kw_only=True):
    path: str
    is_dir: bool
    size: int
    created_at: float
    updated_at: float
    content: bytes | None = None


class DeletionCounts(Struct, kw_only=True):
    messages: int
    archives: int
    files: int
    tool_records: int
    pending_tasks: int
    memories_kept: int


class ToolRecord(Struct, kw_only=True):
    tool_id: str
    body: bytes
