"""Export and import of a user's (or one session's) rows, written once for both backends.

``export`` reads inside one read transaction (a consistent snapshot) and hands each record to
``emit`` as it goes; ``import_records`` writes inside one write transaction, so an import
lands whole or not at all. The format is ``skald_core.export_format``.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from .. import ids
from ..errors import AlreadyExistsError, InvalidArgumentError, NotFoundError
from ..export_format import (
    ArchiveRecord,
    End,
    ExtractionRecord,
    FileRecord,
    MessageRecord,
    Record,
    SessionRecord,
    SourceRecord,
)
from ..identity import Identity
from . import deletion
from .dialect import Conn
from .extraction_apply import INSERT_TASK
from .model import Owner
from .rows import USAGE_COLUMNS, below, parent

_SESSION = (
    "session_id, created_at, updated_at, message_count, total_message_count, pending_tokens, "
    "total_tokens, total_turns, commit_count, memories_extracted, message_bytes, "
    "last_commit_at, last_message_at, deleted_at, deleted_by"
)
_MESSAGE = "archive_no, message_id, role, tokens, is_turn, tool_parts, context_parts, body"
_ARCHIVE = (
    "archive_no, created_at, status, message_count, tokens, first_message_id, "
    "last_message_id, abstract, overview, memories_extracted, done_at, error"
)
_EXTRACTION = f"archive_no, extracted_at, memory_diff, by_category, {USAGE_COLUMNS}"

Emit = Callable[[Record], None]


def _names(columns: str) -> list[str]:
    return [c.strip() for c in columns.split(",")]


def _file_record(row: Any, sessions: dict[int, str]) -> FileRecord:
    path, is_dir, content, session_pk, created_at, updated_at = row
    record = FileRecord(
        path=path,
        is_dir=bool(is_dir),
        created_at=created_at,
        updated_at=updated_at,
        session_id=sessions.get(session_pk) if session_pk is not None else None,
    )
    if content is not None:
        data = bytes(content)
        try:
            record.content = data.decode("utf-8")
        except UnicodeDecodeError:
            record.content_b64 = base64.b64encode(data).decode("ascii")
    return record


def export(conn: Conn, owner: Owner, session_id: str | None, emit: Emit) -> None:
    """Every record of ``owner`` (or of its session ``session_id``, live or trashed, with the
    memories that session supports), in an order ``import_records`` can follow."""
    where, args = "account = ? AND user_name = ?", [owner.account, owner.user]
    if session_id is not None:
        where += " AND session_id = ?"
        args.append(session_id)
    rows = conn.execute(
        f"SELECT pk, {_SESSION} FROM sessions WHERE {where} ORDER BY created_at, session_id",
        args,
    ).fetchall()
    if session_id is not None and not rows:
        raise NotFoundError.of("session", session_id)
    sessions: dict[int, str] = {}
    created: dict[int, float] = {}
    for row in rows:
        pk, values = row[0], row[1:]
        fields = dict(zip(_names(_SESSION), values, strict=True))
        sessions[pk], created[pk] = fields["session_id"], fields["created_at"]
        emit(SessionRecord(**fields))
    for pk, sid in sessions.items():
        for row in conn.execute(
            f"SELECT {_ARCHIVE} FROM archives WHERE session_pk = ? ORDER BY archive_no", (pk,)
        ):
            emit(ArchiveRecord(session_id=sid, **dict(zip(_names(_ARCHIVE), row, strict=True))))
        for row in conn.rows_of_blobs(
            f"SELECT {_EXTRACTION} FROM archive_extractions WHERE session_pk = ? "
            "ORDER BY archive_no",
            (pk,),
        ):
            fields = dict(zip(_names(_EXTRACTION), row, strict=True))
            fields["memory_diff"] = msgspec.Raw(bytes(fields["memory_diff"]))
            fields["by_category"] = msgspec.json.decode(fields["by_category"])
            emit(ExtractionRecord(session_id=sid, **fields))
        for row in conn.rows_of_blobs(
            f"SELECT {_MESSAGE} FROM messages WHERE session_pk = ? ORDER BY archive_no, pk",
            (pk,),
        ):
            fields = dict(zip(_names(_MESSAGE), row, strict=True))
            fields["is_turn"] = bool(fields["is_turn"])
            fields["body"] = msgspec.Raw(bytes(fields["body"]))
            emit(MessageRecord(session_id=sid, **fields))
    file_columns = "f.path, f.is_dir, f.content, f.session_pk, f.created_at, f.updated_at"
    source_columns = "f.path, s.session_id, s.archive_no, s.session_created_at, s.created_at"
    prefix = f"user/{owner.user}"
    if session_id is None:
        lo, hi = below(prefix)
        files_sql = (
            f"SELECT {file_columns} FROM files f WHERE f.account = ? AND "
            "(f.path = ? OR (f.path >= ? AND f.path < ?)) ORDER BY f.path"
        )
        files_args: list[Any] = [owner.account, prefix, lo, hi]
        sources_sql = (
            f"SELECT {source_columns} FROM memory_sources s JOIN files f ON f.pk = s.file_pk "
            "WHERE s.account = ? AND s.user_name = ? "
            "ORDER BY f.path, s.session_created_at, s.session_id, s.archive_no"
        )
        sources_args: list[Any] = [owner.account, owner.user]
    else:
        (pk,) = sessions
        mine = (
            "s.account = ? AND s.user_name = ? AND s.session_id = ? AND s.session_created_at >= ?"
        )
        mine_args = [owner.account, owner.user, session_id, created[pk]]
        files_sql = (
            f"SELECT {file_columns} FROM files f WHERE f.session_pk = ? OR f.pk IN "
            f"(SELECT s.file_pk FROM memory_sources s WHERE {mine}) ORDER BY f.path"
        )
        files_args = [pk, *mine_args]
        sources_sql = (
            f"SELECT {source_columns} FROM memory_sources s JOIN files f ON f.pk = s.file_pk "
            f"WHERE {mine} ORDER BY f.path, s.session_created_at, s.archive_no"
        )
        sources_args = mine_args
    for row in conn.rows_of_blobs(files_sql, files_args):
        emit(_file_record(row, sessions))
    for row in conn.execute(sources_sql, sources_args):
        path, sid, archive_no, session_created_at, at = row
        emit(
            SourceRecord(
                path=path,
                session_id=sid,
                archive_no=archive_no,
                session_created_at=session_created_at,
                created_at=at,
            )
        )


class _Importer:
    """The state of one import: the sessions it made (id -> pk, created_at) and the counts."""

    def __init__(
        self, conn: Conn, owner: Owner, now: float, new_task_id: Callable[[], str]
    ) -> None:
        self.conn, self.owner, self.now, self.new_task_id = conn, owner, now, new_task_id
        self.sessions: dict[str, int] = {}
        self.messages: Counter[tuple[str, bool]] = Counter()
        self.expected: dict[str, tuple[int, int]] = {}
        self.counts: Counter[str] = Counter()
        self.root = f"user/{owner.user}"

    def _session_pk(self, sid: str, what: str) -> int:
        pk = self.sessions.get(sid)
        if pk is None:
            raise InvalidArgumentError(
                f"{what} of session {sid!r} comes before (or without) its session record",
                {"session_id": sid},
            )
        return pk

    def _path(self, path: str) -> str:
        if path != self.root and not path.startswith(self.root + "/"):
            raise InvalidArgumentError(
                f"file {path!r} is outside the exported user's tree {self.root}/",
                {"path": path},
            )
        return path

    def session(self, r: SessionRecord) -> None:
        ids.check_id(r.session_id)
        if r.session_id in self.sessions:
            raise InvalidArgumentError(f"session {r.session_id!r} appears twice", {})
        if deletion.find(self.conn, self.owner, r.session_id) is not None:
            raise AlreadyExistsError(
                f"Session {r.session_id} already exists for {self.owner.account}/"
                f"{self.owner.user}; nothing was imported",
                {"type": "session", "resource": r.session_id},
            )
        (pk,) = self.conn.execute(
            f"INSERT INTO sessions (account, user_name, {_SESSION}) VALUES "
            f"(?, ?, {', '.join('?' * len(_names(_SESSION)))}) RETURNING pk",
            (
                self.owner.account,
                self.owner.user,
                *(getattr(r, name) for name in _names(_SESSION)),
            ),
        ).fetchone()
        self.sessions[r.session_id] = pk
        self.expected[r.session_id] = (r.message_count, r.total_message_count)

    def message(self, r: MessageRecord) -> None:
        pk = self._session_pk(r.session_id, "a message")
        try:
            msgspec.json.decode(r.body)
        except msgspec.DecodeError as exc:
            raise InvalidArgumentError(f"a message body is not JSON: {exc}", {}) from None
        self.conn.execute(
            f"INSERT INTO messages (session_pk, {_MESSAGE}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                pk,
                r.archive_no,
                r.message_id,
                r.role,
                r.tokens,
                r.is_turn,
                r.tool_parts,
                r.context_parts,
                bytes(r.body),
            ),
        )
        self.messages[(r.session_id, r.archive_no == 0)] += 1

    def archive(self, r: ArchiveRecord) -> None:
        pk = self._session_pk(r.session_id, "an archive")
        self.conn.execute(
            f"INSERT INTO archives (session_pk, {_ARCHIVE}) VALUES "
            f"(?, {', '.join('?' * len(_names(_ARCHIVE)))})",
            (pk, *(getattr(r, name) for name in _names(_ARCHIVE))),
        )
        if r.status == "pending":  # its extraction task was not exported: queue a new one
            self.conn.execute(
                INSERT_TASK,
                (
                    self.new_task_id(),
                    self.owner.account,
                    self.owner.user,
                    r.session_id,
                    pk,
                    r.archive_no,
                    self.now,
                    self.now,
                ),
            )

    def extraction(self, r: ExtractionRecord) -> None:
        pk = self._session_pk(r.session_id, "an extraction")
        self.conn.execute(
            f"INSERT INTO archive_extractions (session_pk, {_EXTRACTION}) VALUES "
            f"(?, {', '.join('?' * len(_names(_EXTRACTION)))})",
            (
                pk,
                r.archive_no,
                r.extracted_at,
                bytes(r.memory_diff),
                msgspec.json.encode(r.by_category).decode(),
                r.prompt_tokens,
                r.completion_tokens,
                r.total_tokens,
                r.cached_tokens,
                r.reasoning_tokens,
            ),
        )

    def file(self, r: FileRecord, ensure_parents: Callable[[Conn, str, str, float], None]) -> None:
        path = self._path(r.path)
        session_pk = None if r.session_id is None else self._session_pk(r.session_id, "a file")
        content: bytes | None = None
        if r.content is not None and r.content_b64 is not None:
            raise InvalidArgumentError(f"file {path!r} has both content and content_b64", {})
        if r.content is not None:
            content = r.content.encode()
        elif r.content_b64 is not None:
            try:
                content = base64.b64decode(r.content_b64, validate=True)
            except binascii.Error:
                raise InvalidArgumentError(
                    f"file {path!r}: content_b64 is not base64", {}
                ) from None
        if r.is_dir and content is not None:
            raise InvalidArgumentError(f"directory {path!r} has content", {})
        got = self.conn.execute(
            "SELECT is_dir, content FROM files WHERE account = ? AND path = ?",
            (self.owner.account, path),
        ).fetchone()
        if got is not None:
            same = bool(got[0]) == r.is_dir and (r.is_dir or bytes(got[1] or b"") == content)
            if not same:
                raise AlreadyExistsError(
                    f"viking://{path} already exists with other content; nothing was imported",
                    {"type": "file", "resource": "viking://" + path},
                )
            return  # the same directory, or a file with the same text: kept as it is
        if path != self.root:
            ensure_parents(self.conn, self.owner.account, path, self.now)
        self.conn.execute(
            "INSERT INTO files (account, path, parent, is_dir, content, session_pk, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.owner.account,
                path,
                parent(path),
                r.is_dir,
                content,
                session_pk,
                r.created_at,
                r.updated_at,
            ),
        )

    def source(self, r: SourceRecord) -> None:
        path = self._path(r.path)
        file_pk = self.conn.one(
            "SELECT pk FROM files WHERE account = ? AND path = ? AND NOT is_dir",
            (self.owner.account, path),
        )
        if file_pk is None:
            raise InvalidArgumentError(
                f"provenance of {path!r} comes before (or without) its file record", {}
            )
        self.conn.execute(
            "INSERT INTO memory_sources (file_pk, account, user_name, session_id, archive_no, "
            "session_created_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (
                file_pk,
                self.owner.account,
                self.owner.user,
                ids.check_id(r.session_id),
                r.archive_no,
                r.session_created_at,
                r.created_at,
            ),
        )

    def end(self, r: End) -> None:
        if dict(r.counts) != {k: v for k, v in self.counts.items() if v}:
            raise InvalidArgumentError(
                f"the end record counts {dict(sorted(r.counts.items()))}, the file holds "
                f"{dict(sorted(self.counts.items()))}",
                {},
            )
        for sid, (live, total) in self.expected.items():
            got_live = self.messages[(sid, True)]
            got_total = got_live + self.messages[(sid, False)]
            if (got_live, got_total) != (live, total):
                raise InvalidArgumentError(
                    f"session {sid!r} says {live} live and {total} messages in all; the file "
                    f"holds {got_live} and {got_total}",
                    {"session_id": sid},
                )


def import_records(
    conn: Conn,
    owner: Owner,
    records: Iterable[Record | End],
    now: float,
    *,
    actor: Identity,
    new_task_id: Callable[[], str],
    ensure_parents: Callable[[Conn, str, str, float], None],
) -> dict[str, int]:
    """Write every record for ``owner`` in the caller's transaction; the counts per type. An
    ``End`` record must come last and agree; any refusal raises (and the caller rolls back)."""
    imp = _Importer(conn, owner, now, new_task_id)
    ended = False
    for record in records:
        if ended:
            raise InvalidArgumentError("a record follows the end record", {})
        if isinstance(record, End):
            imp.end(record)
            ended = True
            continue
        if isinstance(record, SessionRecord):
            imp.session(record)
        elif isinstance(record, MessageRecord):
            imp.message(record)
        elif isinstance(record, ArchiveRecord):
            imp.archive(record)
        elif isinstance(record, ExtractionRecord):
            imp.extraction(record)
        elif isinstance(record, FileRecord):
            imp.file(record, ensure_parents)
        else:
            imp.source(record)
        imp.counts[record.__struct_config__.tag] += 1  # type: ignore[index]
    if not ended:
        raise InvalidArgumentError(
            "the file ends without its end record (truncated?); nothing was imported", {}
        )
    counts = dict(sorted(imp.counts.items()))
    deletion.audit(conn, actor, "import", owner, None, counts, now)
    return counts
