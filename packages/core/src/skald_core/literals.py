"""Every closed set of words of the contract, named once.

Schemas, services, clients and the server import these ``Literal`` aliases from here instead
of spelling the words out again, so a new mode or status is added in one place.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "ArchiveStatus",
    "CleanupBy",
    "CommitStatus",
    "ContextType",
    "DeleteMode",
    "ExtractStatus",
    "FileWriteMode",
    "ListOrder",
    "MessageKind",
    "Role",
    "SearchMode",
    "SearchType",
    "SessionState",
    "TaskStatus",
    "WriteMode",
]

#: What an API key (or the embedded client) may do.
Role = Literal["root", "admin", "user"]

# ---------------------------------------------------------------------------- messages
MessageKind = Literal["user_query", "assistant_step", "tool_transport", "checkpoint"]
#: What a context part points at.
ContextType = Literal["memory", "resource", "skill"]

# ---------------------------------------------------------------------------- search
#: How a find/search was answered (Skald's addition to the result).
SearchMode = Literal["full_text", "hybrid", "full_text_embedding_unavailable"]
#: ``search``'s ``search_type`` as the OpenViking client sends it.
SearchType = Literal["semantic", "keywords"]

# ---------------------------------------------------------------------------- sessions
#: Session listings: ``desc`` newest first (the default), ``asc`` oldest first.
ListOrder = Literal["desc", "asc"]
CommitStatus = Literal["accepted", "completed", "skipped", "failed"]
ExtractStatus = Literal["accepted", "skipped"]
#: An archive waits for extraction (``pending``), has its memories (``done``), or ``failed``.
ArchiveStatus = Literal["pending", "done", "failed"]
TaskStatus = Literal["pending", "running", "completed", "failed", "cancelled"]

# ---------------------------------------------------------------------------- deletion
#: ``hard`` removes the session for good; ``soft`` moves it to the trash (restorable).
DeleteMode = Literal["hard", "soft"]
#: Which sessions a deletion may act on: ``live`` ones, or ones in the trash.
SessionState = Literal["live", "trashed"]
#: The time a cleanup measures a session's age by.
CleanupBy = Literal["created_at", "updated_at"]

# ---------------------------------------------------------------------------- files
WriteMode = Literal["replace", "append", "create"]
#: ``WriteMode`` plus ``upsert`` (create or replace), which only raw file access uses.
FileWriteMode = Literal["replace", "append", "create", "upsert"]
#: When a write is acknowledged (the ``durability`` setting): ``fsync``: after it is on disk
#: (SQLite ``synchronous=FULL``, PostgreSQL ``synchronous_commit=on``); ``crash``: after the
#: database has it (SQLite ``synchronous=NORMAL`` in WAL mode, PostgreSQL
#: ``synchronous_commit=off``), so that it survives a crash of Skald's process but the last
#: commits may be lost with the machine (or with the PostgreSQL server).
Durability = Literal["fsync", "crash"]
