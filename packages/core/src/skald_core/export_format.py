"""The export format, ``skald-export`` version 1: a user's (or one session's) data as NDJSON.

One JSON object per line. The first line is the ``Header``; then the records, each with a
``type``; the last line is the ``End`` record with the count of each type, so a truncated file
is refused. Records come in an order an import can follow (a session before its messages,
archives and files; a file before its provenance). Times are epoch seconds (floats), as
stored; message bodies and memory diffs are embedded JSON; file contents are text, or base64
(``content_b64``) when they are not UTF-8. ``docs/export-format.md`` describes each field.

What is exported: the sessions (live and trashed) with their live and archived messages,
archives and recorded extractions; every file of the user's tree ``viking://user/{user}/``
(memories, resources, caller-written session files, directories); the memories' provenance.
Not exported: tasks (an archive still waiting for extraction gets a new task on import), API
keys, idempotency records, the audit log, files in the account's shared trees.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO, Literal

import msgspec

from . import ids
from .errors import InvalidArgumentError

FORMAT = "skald-export"
VERSION = 1


class Header(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    format: str
    version: int
    #: The Skald that wrote it.
    skald: str = ""
    exported_at: str = ""
    account: str
    user: str
    #: Set when one session was exported (with the memories it supports).
    session_id: str | None = None


class _Record(
    msgspec.Struct, kw_only=True, tag_field="type", forbid_unknown_fields=True, omit_defaults=True
):
    pass


class SessionRecord(_Record, tag="session"):
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
    message_bytes: int
    last_commit_at: float | None = None
    last_message_at: float | None = None
    deleted_at: float | None = None
    deleted_by: str | None = None


class MessageRecord(_Record, tag="message"):
    session_id: str
    #: 0: a live message; N: in ``history/archive_N``.
    archive_no: int
    message_id: str
    role: str
    tokens: int
    is_turn: bool
    tool_parts: int
    context_parts: int
    #: The message as stored (the wire's message object).
    body: msgspec.Raw


class ArchiveRecord(_Record, tag="archive"):
    session_id: str
    archive_no: int
    created_at: float
    status: Literal["pending", "done", "failed"]
    message_count: int
    tokens: int
    first_message_id: str | None = None
    last_message_id: str | None = None
    abstract: str = ""
    overview: str = ""
    memories_extracted: int = 0
    done_at: float | None = None
    error: str | None = None


class ExtractionRecord(_Record, tag="extraction"):
    """What an archive's extraction did (``memory_diff.json``) and what it spent."""

    session_id: str
    archive_no: int
    extracted_at: float
    memory_diff: msgspec.Raw
    by_category: dict[str, int]
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0


class FileRecord(_Record, tag="file"):
    #: The storage path, ``user/{user}/...`` (the URI without ``viking://``).
    path: str
    is_dir: bool
    created_at: float
    updated_at: float
    #: The session whose directory holds it (a caller-written session file).
    session_id: str | None = None
    content: str | None = None
    content_b64: str | None = None


class SourceRecord(_Record, tag="memory_source"):
    """One archive of one session a memory file was extracted from."""

    path: str
    session_id: str
    archive_no: int
    #: When that session (this incarnation of the id) was created.
    session_created_at: float
    created_at: float


class End(_Record, tag="end"):
    counts: dict[str, int]


Record = (
    SessionRecord | MessageRecord | ArchiveRecord | ExtractionRecord | FileRecord | SourceRecord
)
AnyRecord = Record | End
RECORD_TYPES = ("session", "message", "archive", "extraction", "file", "memory_source")


_encoder = msgspec.json.Encoder()
_header_decoder = msgspec.json.Decoder(Header)
_record_decoder = msgspec.json.Decoder(AnyRecord)


def writer(
    out: IO[bytes], header: Header
) -> tuple[Callable[[Record], None], Callable[[], dict[str, int]]]:
    """``(emit, finish)``: write the header now, a record per ``emit``, the end record (with
    the counts, which ``finish`` returns) at ``finish``."""
    counts: dict[str, int] = {}
    out.write(_encoder.encode(header) + b"\n")

    def emit(record: Record) -> None:
        kind = str(record.__struct_config__.tag)
        counts[kind] = counts.get(kind, 0) + 1
        out.write(_encoder.encode(record) + b"\n")

    def finish() -> dict[str, int]:
        out.write(_encoder.encode(End(counts=counts)) + b"\n")
        return counts

    return emit, finish


def read(lines: Iterable[bytes]) -> tuple[Header, list[AnyRecord]]:
    """The header and records of an export, every line checked before anything is written.
    ``InvalidArgumentError`` naming the line for anything else (another format, an unknown
    version, a malformed or unknown record)."""
    it = iter(lines)
    first = next(it, b"")
    if not first.strip():
        raise InvalidArgumentError("the file is empty: no skald-export header line", {})
    try:
        header = _header_decoder.decode(first)
    except msgspec.DecodeError as exc:
        raise InvalidArgumentError(f"line 1 is not a skald-export header: {exc}", {}) from None
    if header.format != FORMAT:
        raise InvalidArgumentError(
            f"line 1: format {header.format!r} is not {FORMAT!r}", {"format": header.format}
        )
    if header.version != VERSION:
        raise InvalidArgumentError(
            f"{FORMAT} version {header.version} is not supported (this Skald reads version "
            f"{VERSION}); import it with the Skald that wrote it ({header.skald or 'unknown'}) "
            "or a newer one",
            {"version": header.version, "supported": [VERSION]},
        )
    ids.check_id(header.account, "account")
    ids.check_id(header.user, "user")
    records: list[AnyRecord] = []
    for number, line in enumerate(it, start=2):
        if not line.strip():
            continue
        try:
            records.append(_record_decoder.decode(line))
        except msgspec.DecodeError as exc:
            raise InvalidArgumentError(f"line {number}: {exc}", {"line": number}) from None
    return header, records
