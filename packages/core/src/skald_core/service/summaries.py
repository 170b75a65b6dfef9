"""Deterministic text summaries shown as ``.abstract.md`` / ``.overview.md`` files."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from .. import uris
from ..schemas import ContextPart, Message, TextPart, ToolPart
from ..store.model import ArchiveRow, SessionRow

#: Archive overviews list this many messages (each a short preview line).
OVERVIEW_MESSAGES = 50


def first_text(messages: Sequence[Message]) -> str:
    for m in messages:
        for p in m.parts:
            if isinstance(p, TextPart) and p.text.strip():
                return p.text.strip()
    return ""


def _preview(text: str, limit: int = 50) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def session_abstract(row: SessionRow, first: str) -> str:
    return f"{row.total_turns} turns, starting from '{_preview(first)}'\n"


def session_overview(row: SessionRow, archives: Sequence[ArchiveRow]) -> str:
    lines = [
        f"# Session {row.session_id}",
        "",
        f"- live messages: {row.message_count}",
        f"- messages ever added: {row.total_message_count}",
        f"- archives: {len(archives)}",
        f"- memories extracted: {row.memories_extracted}",
        "",
    ]
    for a in archives:
        lines.append(
            f"- history/{uris.archive_name(a.archive_no)}: {a.message_count} messages, {a.status}"
        )
    return "\n".join(lines) + "\n"


def _line(m: Message) -> str:
    bits: list[str] = []
    for p in m.parts:
        if isinstance(p, TextPart):
            bits.append(p.text)
        elif isinstance(p, ToolPart):
            bits.append(f"[tool {p.tool_name or p.tool_id}: {p.tool_status}]")
        elif isinstance(p, ContextPart):
            bits.append(f"[context {p.uri}]")
    return f"- {m.role}: {_preview(' '.join(bits), 120)}"


def archive_abstract(archive: ArchiveRow, messages: Sequence[Message]) -> str:
    return (
        f"{archive.message_count} messages archived, starting from "
        f"'{_preview(first_text(messages))}'\n"
    )


def archive_overview(archive: ArchiveRow, messages: Iterable[Message]) -> str:
    """The archive's heading and a preview line of each of its first messages (``messages``
    is consumed only that far, one message at a time)."""
    head = [
        f"# {uris.archive_name(archive.archive_no)}",
        "",
        f"{archive.message_count} messages, {archive.memories_extracted} memories extracted.",
        "",
    ]
    lines = [_line(m) for m in itertools.islice(messages, OVERVIEW_MESSAGES)]
    return "\n".join(head + lines) + "\n"
