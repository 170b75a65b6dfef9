"""The ``viking://`` tree as a view over the store.

Session directories are rendered from rows (``messages.jsonl``, ``.meta.json``, archives,
tool records, relations) plus the files callers wrote there; everything else is the files
table. Fixed directories (a user's ``sessions``, ``memories``, ``resources``; the account's
``agent``, ``resources``) always exist.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Literal

import msgspec
from msgspec import UNSET

from .. import clock, ids, uris
from ..errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
)
from ..identity import Identity
from ..limits import DEFAULT_LIMITS, Limits
from ..literals import FileWriteMode
from ..schemas import (
    DIR_MODE,
    FILE_MODE,
    ArchiveDone,
    ArchiveFailure,
    ArchiveMeta,
    AttrsResult,
    BatchWriteOperation,
    BatchWriteResult,
    ContextPart,
    CopyResult,
    FileNode,
    ListPage,
    Message,
    MoveResult,
    ReindexResult,
    RemoveResult,
    SetTagsResult,
    StatNode,
    ToolPart,
    UriResult,
    WriteResult,
    message_decoder,
)
from ..store.model import (
    ArchiveExtraction,
    ExtractionSummary,
    FileRow,
    FileWrite,
    Owner,
    SessionRow,
)
from ..store.protocol import Store
from .sessions import SessionService, owner_of, require_writable, session_meta
from .summaries import (
    OVERVIEW_MESSAGES,
    archive_abstract,
    archive_overview,
    first_text,
    session_abstract,
    session_overview,
)

_encode = msgspec.json.Encoder().encode


@contextmanager
def _missing_session_is_missing_file(uri: str) -> Iterator[None]:
    """Inside the files API a vanished session directory is a missing file (contract §5)."""
    try:
        yield
    except NotFoundError as exc:
        if exc.details.get("type") == "session":
            raise NotFoundError.of("file", uri) from None
        raise


GENERATED = frozenset(
    {
        "messages.jsonl",
        ".meta.json",
        ".abstract.md",
        ".overview.md",
        ".relations.json",
        "history",
        "tools",
    }
)


def _json(value: object) -> bytes:
    return msgspec.json.format(_encode(value), indent=2) + b"\n"


def lines_of(text: str) -> list[str]:
    """The lines of a file, each with its ``\n``; only ``\n`` ends a line (``str.splitlines``
    also splits at U+2028, U+2029, U+0085, \v, \f, ... which JSONL lines may hold)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def memory_diff_json(archive_uri: str, x: ArchiveExtraction) -> dict[str, object]:
    """An archive's ``memory_diff.json``, in OpenViking's shape."""
    return {
        "archive_uri": archive_uri,
        "extracted_at": clock.iso_ms(x.extracted_at),
        "operations": {
            "adds": [
                {"uri": "viking://" + e.path, "memory_type": e.category, "after": e.after}
                for e in x.diff.adds
            ],
            "updates": [
                {
                    "uri": "viking://" + e.path,
                    "memory_type": e.category,
                    "before": e.before,
                    "after": e.after,
                }
                for e in x.diff.updates
            ],
            "deletes": [
                {
                    "uri": "viking://" + e.path,
                    "memory_type": e.category,
                    "deleted_content": e.before,
                }
                for e in x.diff.deletes
            ],
        },
        "summary": {
            "total_adds": len(x.diff.adds),
            "total_updates": len(x.diff.updates),
            "total_deletes": len(x.diff.deletes),
        },
    }


def summarise(extractions: list[ArchiveExtraction]) -> ExtractionSummary:
    out = ExtractionSummary()
    for x in extractions:
        for category, n in x.by_category.items():
            out.by_category[category] = out.by_category.get(category, 0) + n
        for field in msgspec.structs.fields(out.usage):
            name = field.name
            setattr(out.usage, name, getattr(out.usage, name) + getattr(x.usage, name))
    out.by_category = dict(sorted(out.by_category.items()))
    return out


class Entry:
    """One file or directory of the tree. Its bytes are known (``content``), or rendered on
    demand (``render``, small generated files), or streamed from the store in bounded
    batches (``lines``: a JSONL file of messages); ``size`` never needs the bytes of a
    streamed file."""

    __slots__ = ("_content", "_size", "is_dir", "lines", "mtime", "path", "render")

    def __init__(
        self,
        *,
        path: str,
        is_dir: bool,
        mtime: float,
        content: bytes | None = None,
        size: int | None = None,
        render: Callable[[], bytes] | None = None,
        lines: Callable[[int, int | None], Iterator[bytes]] | None = None,
    ) -> None:
        self.path, self.is_dir, self.mtime = path, is_dir, mtime
        self._content, self._size = content, size
        self.render, self.lines = render, lines

    @property
    def size(self) -> int:
        if self.is_dir:
            return 0
        if self._size is None:
            # A rendered file is rendered to be measured, but not kept: listing many of them
            # (tools/*/tool.json) holds one at a time.
            self._size = len(self._content or self.render() if self.render else self.content)
        return self._size

    @property
    def content(self) -> bytes:
        """The whole file in memory: only for small ones (not streamed ones)."""
        if self._content is None:
            if self.render is not None:
                self._content = self.render()
            elif self.lines is not None:
                self._content = b"".join(self.lines(0, None))
            else:
                self._content = b""
        return self._content

    def chunks(self, offset: int = 0, limit: int | None = None) -> Iterator[bytes]:
        """The file's bytes in pieces; from line ``offset``, at most ``limit`` lines."""
        if self.lines is not None:
            return self.lines(offset, limit)
        if offset == 0 and limit is None:
            return iter((self.content,))
        text = self.content.decode("utf-8", errors="replace")
        picked = lines_of(text)[offset : None if limit is None else offset + limit]
        return iter(("".join(picked).encode(),))


def _node(entry: Entry, root: str | None = None) -> FileNode:
    """The node of ``entry``; with ``root`` (the listed directory's path) its ``rel_path``."""
    return FileNode(
        name=entry.path.rsplit("/", 1)[-1],
        uri="viking://" + entry.path,
        size=entry.size,
        isDir=entry.is_dir,
        modTime=clock.iso_seconds(entry.mtime),
        mode=DIR_MODE if entry.is_dir else FILE_MODE,
        rel_path=UNSET if root is None else entry.path[len(root) + 1 if root else 0 :],
    )


def _parent_uri(path: uris.VikingPath) -> str:
    return "viking://" + "/".join(path.segments[:-1])


def _row_entry(row: FileRow) -> Entry:
    return Entry(
        path=row.path,
        is_dir=row.is_dir,
        mtime=row.updated_at,
        content=row.content,
        size=row.size,
    )


class SessionTree:
    """Every entry of one session directory, rendered from the store.

    Sizes and listings come from counters and ``octet_length`` of the rows; message bodies are
    read only to serve a read, in bounded batches (``Store.message_batches``)."""

    def __init__(self, store: Store, owner: Owner, row: SessionRow) -> None:
        self.store, self.owner, self.row = store, owner, row
        self.base = f"user/{owner.user}/sessions/{row.session_id}"

    def _messages(self, archive_no: int, limit: int | None = None) -> Iterator[Message]:
        for batch in self.store.message_batches(
            self.owner, self.row.session_id, archive_no, limit=limit
        ):
            for m in batch:
                yield message_decoder.decode(m.body)

    def _jsonl(self, archive_no: int) -> Callable[[int, int | None], Iterator[bytes]]:
        def lines(offset: int, limit: int | None) -> Iterator[bytes]:
            # Not a generator itself: a missing session is raised now, not at the first piece.
            batches = self.store.message_batches(
                self.owner, self.row.session_id, archive_no, offset=offset, limit=limit
            )
            return (b"".join(m.body + b"\n" for m in batch) for batch in batches)

        return lines

    def _first_with_text(self, archive_nos: list[int]) -> list[Message]:
        """The first message with text in these archives (in this order), or none."""
        for no in archive_nos:
            for m in self._messages(no):
                if first_text([m]):
                    return [m]
        return []

    def entries(self) -> dict[str, Entry]:
        store, owner, row, base = self.store, self.owner, self.row, self.base
        sid = row.session_id
        t = row.updated_at
        out: dict[str, Entry] = {}

        def add(
            rel: str,
            content: bytes | None,
            mtime: float = t,
            *,
            render: Callable[[], bytes] | None = None,
        ) -> None:
            is_dir = content is None and render is None
            out[rel] = Entry(
                path=f"{base}/{rel}", is_dir=is_dir, mtime=mtime, content=content, render=render
            )

        def add_jsonl(rel: str, archive_no: int, mtime: float = t) -> None:
            count, size = sizes.get(archive_no, (0, 0))
            out[rel] = Entry(
                path=f"{base}/{rel}",
                is_dir=False,
                mtime=mtime,
                size=size + count,
                content=b"" if count == 0 else None,
                lines=self._jsonl(archive_no),
            )

        sizes = store.message_sizes(owner, sid)
        add_jsonl("messages.jsonl", 0)
        extracted = {x.archive_no: x for x in store.archive_extractions(owner, sid)}
        summary = summarise(list(extracted.values()))
        add(".meta.json", _json(session_meta(row, with_location=False, extraction=summary)))
        archives = store.archives(owner, sid)
        if archives:
            order = [a.archive_no for a in archives] + [0]
            add(
                ".abstract.md",
                None,
                render=lambda: session_abstract(
                    row, first_text(self._first_with_text(order))
                ).encode(),
            )
            add(".overview.md", session_overview(row, archives).encode())
            add("history", None)
            for a in archives:
                name = f"history/{uris.archive_name(a.archive_no)}"
                add(name, None, a.created_at)
                add_jsonl(f"{name}/messages.jsonl", a.archive_no, a.created_at)
                add(
                    f"{name}/.meta.json",
                    _json(
                        ArchiveMeta(
                            archive_id=uris.archive_name(a.archive_no),
                            status=a.status,
                            created_at=clock.iso_ms(a.created_at),
                            message_count=a.message_count,
                            first_message_id=a.first_message_id,
                            last_message_id=a.last_message_id,
                            estimated_tokens=a.tokens,
                            memories_extracted=a.memories_extracted,
                            error=a.error,
                        )
                    ),
                    a.created_at,
                )
                if a.status == "done":
                    done_at = a.done_at or a.created_at
                    add(
                        f"{name}/.abstract.md",
                        None,
                        done_at,
                        render=lambda a=a: archive_abstract(  # type: ignore[misc]
                            a, self._first_with_text([a.archive_no])
                        ).encode(),
                    )
                    add(
                        f"{name}/.overview.md",
                        None,
                        done_at,
                        render=lambda a=a: archive_overview(  # type: ignore[misc]
                            a, self._messages(a.archive_no, OVERVIEW_MESSAGES)
                        ).encode(),
                    )
                    add(
                        f"{name}/.done",
                        _json(
                            ArchiveDone(
                                starting_message_id=a.first_message_id,
                                ending_message_id=a.last_message_id,
                                memories_extracted=a.memories_extracted,
                            )
                        ),
                        done_at,
                    )
                    if a.archive_no in extracted:
                        x = extracted[a.archive_no]
                        archive_uri = f"viking://{base}/{name}"
                        add(
                            f"{name}/memory_diff.json",
                            _json(memory_diff_json(archive_uri, x)),
                            x.extracted_at,
                        )
                elif a.status == "failed":
                    add(
                        f"{name}/.failed.json",
                        _json(ArchiveFailure(error=a.error)),
                        a.created_at,
                    )
        self._tools_and_relations(
            lambda rel, content: add(rel, content),
            lambda rel, render: add(rel, None, render=render),
        )
        for f in store.session_files(owner, sid):
            out[f.path[len(base) + 1 :]] = _row_entry(f)
        return out

    def _tools_and_relations(
        self,
        add: Callable[[str, bytes | None], None],
        add_rendered: Callable[[str, Callable[[], bytes]], None],
    ) -> None:
        """``.relations.json`` and ``tools/{id}/tool.json``, rendered from the messages when
        read: listing them scans the tool and context messages batch by batch and keeps only
        which files there are (a tool's message key), never their contents."""
        has_relations = False
        tools: dict[str, int] = {}  # tool file name -> key of the message with its last record
        for batch in self.store.tool_and_context_batches(self.owner, self.row.session_id):
            for key, body in batch:
                msg: Message = message_decoder.decode(body)
                for p in msg.parts:
                    if isinstance(p, ContextPart):
                        has_relations = True
                    elif isinstance(p, ToolPart):
                        tools[_tool_name(p)] = key
        if has_relations:
            add_rendered(".relations.json", self._relations)
        if tools:
            add("tools", None)
            for name, key in tools.items():
                add(f"tools/{name}", None)
                add_rendered(
                    f"tools/{name}/tool.json",
                    lambda name=name, key=key: self._tool_record(name, key),  # type: ignore[misc]
                )

    def _relations(self) -> bytes:
        relations: list[dict[str, str]] = []
        for batch in self.store.tool_and_context_batches(self.owner, self.row.session_id):
            for _, body in batch:
                msg: Message = message_decoder.decode(body)
                relations.extend(
                    {
                        "uri": p.uri,
                        "context_type": p.context_type,
                        "abstract": p.abstract,
                        "message_id": msg.id,
                    }
                    for p in msg.parts
                    if isinstance(p, ContextPart)
                )
        return _json(relations)

    def _tool_record(self, name: str, key: int) -> bytes:
        body = self.store.message_body(self.owner, self.row.session_id, key)
        msg: Message | None = None if body is None else message_decoder.decode(body)
        parts = [] if msg is None else msg.parts
        found = [p for p in parts if isinstance(p, ToolPart) and _tool_name(p) == name]
        if msg is None or not found:  # moved or deleted since it was listed
            return b"{}"
        record = msgspec.to_builtins(found[-1])
        record["message_id"] = msg.id
        return _json(record)


def _tool_name(part: ToolPart) -> str:
    return part.tool_id.replace("/", "_") or "tool"


def _is_memory(key: str) -> bool:
    """A storage path at or below some user's ``memories`` (``user/{u}/memories...``)."""
    s = key.split("/")
    return len(s) >= 3 and s[0] == "user" and s[2] == "memories"


class FileService:
    def __init__(
        self,
        store: Store,
        sessions: SessionService,
        *,
        now: clock.Clock = clock.now,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.store = store
        self.sessions = sessions
        self.now = now
        self.limits = limits
        #: Told the owner of every memory a write, move or copy changed (the vector index
        #: queues its embedding; set by the composition root when embeddings are configured).
        self.on_memory_write: Callable[[Owner], None] | None = None

    def _wrote(self, account: str, keys: Iterable[str]) -> None:
        hook = self.on_memory_write
        if hook is None:
            return
        for user in sorted({k.split("/")[1] for k in keys if _is_memory(k)}):
            hook(Owner(account, user))

    def _node_limit(self, node_limit: int | None) -> int:
        most = self.limits.node_limit_max
        if node_limit is None:
            return self.limits.node_limit
        if not 1 <= node_limit <= most:
            raise InvalidArgumentError(
                f"node_limit must be between 1 and {most}",
                {"field": "node_limit", "value": node_limit},
            )
        return node_limit

    # ------------------------------------------------------------------ resolution
    def _resolve(self, identity: Identity, uri: str) -> uris.VikingPath:
        path = uris.parse(uri, identity)
        uris.check_access(path, identity)
        return path

    @staticmethod
    def _fixed_dirs(identity: Identity) -> dict[str, list[str]]:
        """Directories that always exist, with their fixed children."""
        me = f"user/{identity.user}"
        return {
            "": ["user", "agent", "resources"],
            "user": [me],
            me: [f"{me}/sessions", f"{me}/memories", f"{me}/resources"],
            f"{me}/sessions": [],
            f"{me}/memories": [],
            f"{me}/resources": [],
            "agent": ["agent/memories", "agent/skills"],
            "agent/memories": [],
            "agent/skills": [],
            "resources": [],
        }

    def _session_tree(self, identity: Identity, session_id: str) -> SessionTree:
        ids.check_id(session_id)
        owner = owner_of(identity)
        row = self.store.get_session(owner, session_id)
        if row is None or row.deleted_at is not None:
            raise NotFoundError.of("file", uris.session_uri(identity.user, session_id))
        return SessionTree(self.store, owner, row)

    def _children(self, identity: Identity, path: uris.VikingPath, limit: int) -> list[Entry]:
        """Immediate children of a directory (about ``limit`` of them at most: the first in
        name order, and for a user's sessions directory the newest sessions); NotFound /
        InvalidArgument otherwise."""
        key = path.key
        ref = path.session_ref()
        if ref is not None:
            tree = self._session_tree(identity, ref[1])
            entries = tree.entries()
            rel = "/".join(ref[2])
            if rel and (rel not in entries or not entries[rel].is_dir):
                if rel in entries:
                    raise InvalidArgumentError(
                        f"{path.uri} is not a directory", {"uri": path.uri, "expected": "directory"}
                    )
                raise NotFoundError.of("file", path.uri)
            prefix = rel + "/" if rel else ""
            return [
                e
                for r, e in entries.items()
                if r.startswith(prefix) and "/" not in r[len(prefix) :]
            ]
        fixed = self._fixed_dirs(identity)
        now = self.now()
        out: dict[str, Entry] = {}
        if key in fixed:
            for child in fixed[key]:
                out[child] = Entry(path=child, is_dir=True, mtime=now)
            if key == f"user/{identity.user}/sessions":
                for s in self.store.list_sessions(owner_of(identity), limit=limit, after=None):
                    p = f"{key}/{s.session_id}"
                    out[p] = Entry(path=p, is_dir=True, mtime=s.updated_at)
        else:
            row = self.store.get_file(identity.account, key)
            if row is None:
                raise NotFoundError.of("file", path.uri)
            if not row.is_dir:
                raise InvalidArgumentError(
                    f"{path.uri} is not a directory", {"uri": path.uri, "expected": "directory"}
                )
        for r in self.store.list_children(identity.account, key, limit=limit):
            out.setdefault(r.path, _row_entry(r))
        return sorted(out.values(), key=lambda e: e.path)

    def _entry(self, identity: Identity, path: uris.VikingPath) -> Entry:
        key = path.key
        ref = path.session_ref()
        if ref is not None:
            tree = self._session_tree(identity, ref[1])
            rel = "/".join(ref[2])
            if not rel:
                return Entry(path=key, is_dir=True, mtime=tree.row.updated_at)
            entries = tree.entries()
            if rel not in entries:
                raise NotFoundError.of("file", path.uri)
            entry = entries[rel]
            if not entry.is_dir and ref[2][0] not in GENERATED:
                # A caller-written file: listing rows carry no content, so read the row itself.
                row = self.store.get_file(identity.account, key)
                if row is None:
                    raise NotFoundError.of("file", path.uri)
                return _row_entry(row)
            return entry
        if key in self._fixed_dirs(identity):
            return Entry(path=key, is_dir=True, mtime=self.now())
        row = self.store.get_file(identity.account, key)
        if row is None:
            raise NotFoundError.of("file", path.uri)
        return _row_entry(row)

    # ------------------------------------------------------------------ reads
    def read(self, identity: Identity, uri: str, *, offset: int = 0, limit: int = -1) -> str:
        return "".join(self.read_chunks(identity, uri, offset=offset, limit=limit))

    def read_chunks(
        self, identity: Identity, uri: str, *, offset: int = 0, limit: int = -1
    ) -> Iterator[str]:
        """A file's text from line ``offset``, at most ``limit`` lines (``-1``: all), in
        pieces: a file rendered from messages is read from the store in bounded batches, and
        only the lines asked for. Every error is raised here, before the first piece."""
        if offset < 0 or limit < -1:
            raise InvalidArgumentError(
                "offset must be >= 0 and limit >= -1",
                {"field": "offset/limit", "offset": offset, "limit": limit},
            )
        path = self._resolve(identity, uri)
        entry = self._entry(identity, path)
        if entry.is_dir:
            raise InvalidArgumentError(
                f"{path.uri} is a directory", {"uri": path.uri, "expected": "file"}
            )
        # Pieces end where lines (or the file) end, so no character is split between two.
        chunks = entry.chunks(offset, None if limit == -1 else limit)
        return (c.decode("utf-8", errors="replace") for c in chunks)

    def ls(
        self,
        identity: Identity,
        uri: str,
        *,
        recursive: bool = False,
        show_all_hidden: bool = True,
        node_limit: int | None = None,
        offset: int = 0,
    ) -> ListPage:
        """Children (``recursive``: descendants) of a directory: at most ``node_limit`` after
        the first ``offset``, and whether there are more."""
        return self.tree(
            identity,
            uri,
            level_limit=None if recursive else 1,
            show_all_hidden=show_all_hidden,
            node_limit=node_limit,
            offset=offset,
            rel_paths=recursive,
        )

    def tree(
        self,
        identity: Identity,
        uri: str,
        *,
        level_limit: int | None = 3,
        show_all_hidden: bool = True,
        node_limit: int | None = None,
        offset: int = 0,
        rel_paths: bool = True,
    ) -> ListPage:
        """Descendants down to ``level_limit`` levels (None: all), at most ``node_limit``
        nodes (default: the ``node_limit`` setting) after the first ``offset``: the walk stops
        one node past them (to know ``has_more``)."""
        cap = self._node_limit(node_limit)
        if offset < 0:
            raise InvalidArgumentError("offset must be >= 0", {"field": "offset", "value": offset})
        want = offset + cap + 1
        path = self._resolve(identity, uri)
        root = path.key if rel_paths else None
        out: list[FileNode] = []
        stack = [(path, 1)]
        while stack and len(out) < want:
            current, depth = stack.pop()
            for e in self._children(identity, current, want):
                if not show_all_hidden and e.path.rsplit("/", 1)[-1].startswith("."):
                    continue
                if len(out) >= want:
                    break
                out.append(_node(e, root))
                if e.is_dir and (level_limit is None or depth < level_limit):
                    stack.append((uris.VikingPath(tuple(e.path.split("/"))), depth + 1))
        out.sort(key=lambda n: n.uri)
        return ListPage(nodes=out[offset : offset + cap], has_more=len(out) > offset + cap)

    def stat(self, identity: Identity, uri: str) -> StatNode:
        path = self._resolve(identity, uri)
        entry = self._entry(identity, path)
        node = StatNode(**msgspec.structs.asdict(_node(entry)))
        if not path.segments:
            node.name = ""
        if entry.is_dir:
            cap = self.limits.node_limit_max
            node.count = len(self._children(identity, path, cap))
        else:
            node.id = hashlib.md5(node.uri.encode(), usedforsecurity=False).hexdigest()
        return node

    # ------------------------------------------------------------------ writes
    def _target(
        self, identity: Identity, path: uris.VikingPath, verb: str
    ) -> tuple[tuple[Owner, str] | None, int]:
        """Where a write may land: the session it belongs to and the fixed depth above it."""
        ref = path.session_ref()
        fixed = self._fixed_dirs(identity)
        if ref is not None:
            rest = ref[2]
            if not rest:
                raise InvalidArgumentError(
                    f"Cannot {verb} a session directory through the files API; "
                    "use the sessions API",
                    {"uri": path.uri, "reason": "session_directory"},
                )
            if rest[0] in GENERATED:
                raise InvalidArgumentError(
                    f"{path.uri} is generated by Skald from the session and cannot be changed",
                    {"uri": path.uri, "reason": "read_only"},
                )
            ids.check_id(ref[1])
            return (owner_of(identity), ref[1]), 4
        if path.key in fixed or not path.segments:
            raise InvalidArgumentError(
                f"Cannot {verb} the fixed directory {path.uri}",
                {"uri": path.uri, "reason": "fixed_directory"},
            )
        if (
            len(path.segments) == 3
            and path.segments[0] == "user"
            and path.segments[2] == "sessions"
        ):
            raise InvalidArgumentError(
                "Sessions are created through the sessions API",
                {"uri": path.uri, "reason": "session_directory"},
            )
        depth = max(i for i in range(len(path.segments)) if "/".join(path.segments[:i]) in fixed)
        return None, depth

    def write(
        self,
        identity: Identity,
        uri: str,
        content: str,
        mode: FileWriteMode = "replace",
    ) -> WriteResult:
        require_writable(identity)
        path = self._resolve(identity, uri)
        session, stop_at = self._target(identity, path, "write")
        data = content.encode()
        try:
            self.store.write_file(
                identity.account,
                path.key,
                data,
                mode,
                self.now(),
                session=session,
                stop_at=stop_at,
                writer=identity.user,
                quota=self.limits.quota,
            )
        except NotFoundError as exc:
            if exc.details.get("type") == "session":
                raise NotFoundError.of("file", path.uri) from None
            raise
        self._wrote(identity.account, [path.key])
        return WriteResult(
            uri=path.uri,
            mode="replace" if mode == "upsert" else mode,
            written_bytes=len(data),
            root_uri=_parent_uri(path),
            context_type=self._context_type(path),
        )

    def mkdir(self, identity: Identity, uri: str) -> UriResult:
        require_writable(identity)
        path = self._resolve(identity, uri)
        session, stop_at = self._target(identity, path, "create")
        existing = self.store.get_file(identity.account, path.key)
        if existing is not None and not existing.is_dir:
            raise InvalidArgumentError(f"{path.uri} is a file", {"uri": path.uri})
        self.store.make_dir(
            identity.account,
            path.key,
            self.now(),
            session=session,
            stop_at=stop_at,
            writer=identity.user,
        )
        return UriResult(uri=path.uri)

    def rm(self, identity: Identity, uri: str, *, recursive: bool = False) -> RemoveResult:
        require_writable(identity)
        path = self._resolve(identity, uri)
        ref = path.session_ref()
        if ref is not None and not ref[2]:
            if not recursive:
                raise InvalidArgumentError(
                    f"{path.uri} is a non-empty directory; pass recursive=true",
                    {"uri": path.uri, "reason": "directory not empty"},
                )
            ids.check_id(ref[1])
            with _missing_session_is_missing_file(path.uri):
                self.store.delete_session(
                    owner_of(identity), ref[1], self.now(), actor=identity, state="live"
                )
            return RemoveResult(uri=path.uri, semantic_root_uri=_parent_uri(path))
        self._target(identity, path, "remove")
        if ref is not None:
            self._session_tree(identity, ref[1])
        removed = self.store.remove(identity.account, path.key, recursive=recursive)
        return RemoveResult(
            uri=path.uri, estimated_deleted_count=removed, semantic_root_uri=_parent_uri(path)
        )

    def mv(self, identity: Identity, from_uri: str, to_uri: str) -> MoveResult:
        require_writable(identity)
        src = self._resolve(identity, from_uri)
        dst = self._resolve(identity, to_uri)
        self._target(identity, src, "move")
        session, stop_at = self._target(identity, dst, "move")
        src_ref = src.session_ref()
        if src_ref is not None:
            self._session_tree(identity, src_ref[1])
        if dst == src:
            raise InvalidArgumentError("Source and destination are the same", {"uri": dst.uri})
        if dst.is_within(src):
            raise FailedPreconditionError("Cannot move a directory into itself", {"uri": dst.uri})
        with _missing_session_is_missing_file(dst.uri):
            self.store.move(
                identity.account,
                src.key,
                dst.key,
                self.now(),
                session=session,
                stop_at=stop_at,
                writer=identity.user,
            )
        self._wrote(identity.account, [dst.key])  # moved memories lose their vectors
        return MoveResult(from_uri=src.uri, to_uri=dst.uri)

    # ------------------------------------------------------------------ OpenViking extras
    def batch_write(
        self, identity: Identity, root_uri: str, operations: list[BatchWriteOperation]
    ) -> BatchWriteResult:
        """Every write under ``root_uri`` (an existing directory) in one transaction: all of
        them or none. Each is checked before anything is written."""
        require_writable(identity)
        root = self._resolve(identity, root_uri)
        if not self._entry(identity, root).is_dir:
            raise InvalidArgumentError(
                f"{root.uri} is not a directory", {"uri": root.uri, "expected": "directory"}
            )
        items: list[FileWrite] = []
        targets: list[str] = []
        for index, op in enumerate(operations):
            path = self._resolve(identity, op.uri)
            if not path.is_within(root) or path == root:
                raise InvalidArgumentError(
                    f"operations[{index}].uri {path.uri} is not below root_uri {root.uri}",
                    {"field": f"operations.{index}.uri", "uri": path.uri},
                )
            session, stop_at = self._target(identity, path, "write")
            items.append(FileWrite(path.key, op.content.encode(), op.mode, session, stop_at))
            targets.append(path.uri)
        with _missing_session_is_missing_file(root.uri):
            outcomes = self.store.write_files(
                identity.account, items, self.now(), writer=identity.user, quota=self.limits.quota
            )
        self._wrote(identity.account, [i.path for i in items])
        found: dict[str, list[str]] = {"created": [], "updated": [], "unchanged": []}
        for uri, outcome in zip(targets, outcomes, strict=True):
            found[outcome].append(uri)
        return BatchWriteResult(
            root_uri=root.uri,
            created=found["created"],
            updated=found["updated"],
            unchanged=found["unchanged"],
        )

    def copy(
        self, identity: Identity, from_uri: str, to_uri: str, *, recursive: bool = False
    ) -> CopyResult:
        """Copy a file (or, ``recursive``, a directory's files) to a path that does not exist
        yet, in one transaction."""
        require_writable(identity)
        src = self._resolve(identity, from_uri)
        dst = self._resolve(identity, to_uri)
        if dst == src or dst.is_within(src):
            raise InvalidArgumentError("Cannot copy onto or into itself", {"uri": dst.uri})
        entry = self._entry(identity, src)
        if entry.is_dir and not recursive:
            raise InvalidArgumentError(
                f"{src.uri} is a directory; pass recursive=true", {"uri": src.uri}
            )
        files = (
            [
                (n.uri, n.rel_path)
                for n in self.ls(
                    identity, src.uri, recursive=True, node_limit=self.limits.node_limit_max
                ).nodes
                if not n.isDir
            ]
            if entry.is_dir
            else [(src.uri, "")]
        )
        items: list[FileWrite] = []
        for uri, rel in files:
            target = uris.VikingPath((*dst.segments, *str(rel).split("/"))) if rel else dst
            session, stop_at = self._target(identity, target, "write")
            data = "".join(self.read_chunks(identity, uri)).encode()
            items.append(FileWrite(target.key, data, "create", session, stop_at))
        with _missing_session_is_missing_file(dst.uri):
            self.store.write_files(
                identity.account, items, self.now(), writer=identity.user, quota=self.limits.quota
            )
        self._wrote(identity.account, [i.path for i in items])
        return CopyResult(
            operation_id=uuid.uuid4().hex,
            from_uri=src.uri,
            to_uri=dst.uri,
            recursive=recursive,
            files_created=len(items),
            semantic_root_uri=_parent_uri(dst),
        )

    def summary(self, identity: Identity, uri: str, which: Literal["abstract", "overview"]) -> str:
        """A directory's ``.abstract.md`` or ``.overview.md`` (a session's or an archive's),
        or "" where there is none (a file, a plain directory)."""
        path = self._resolve(identity, uri)
        entry = self._entry(identity, path)
        if not entry.is_dir:
            return ""
        try:
            return self.read(identity, f"{path.uri}/.{which}.md")
        except NotFoundError:
            return ""

    def download(self, identity: Identity, uri: str) -> bytes:
        """A file's bytes (``content/download``)."""
        return "".join(self.read_chunks(identity, uri)).encode()

    @staticmethod
    def _context_type(path: uris.VikingPath) -> str:
        if "memories" in path.segments[:3]:
            return "memory"
        if "skills" in path.segments[:2]:
            return "skill"
        if path.session_ref() is not None:
            return "session"
        return "resource"

    def attrs(self, identity: Identity, uri: str) -> AttrsResult:
        """Skald keeps no tags: an existing path has none."""
        path = self._resolve(identity, uri)
        self._entry(identity, path)
        return AttrsResult(uri=path.uri, context_type=self._context_type(path))

    def set_tags(self, identity: Identity, uri: str, mode: str) -> SetTagsResult:
        """Accepted and not stored (Skald keeps no tags): nothing is updated."""
        require_writable(identity)
        path = self._resolve(identity, uri)
        self._entry(identity, path)
        return SetTagsResult(
            uri=path.uri,
            root_uri=_parent_uri(path),
            context_type=self._context_type(path),
            mode=mode,
        )

    def reindex(self, identity: Identity, uri: str, mode: str) -> ReindexResult:
        """Nothing is rebuilt in place: the full-text index is kept by triggers, and vectors
        (with embeddings configured) are made by ``embed`` tasks; a path at or below a user's
        memories queues one, which embeds what lacks a vector."""
        path = self._resolve(identity, uri)
        self._entry(identity, path)
        self._wrote(identity.account, [path.key])
        return ReindexResult(uri=path.uri, mode=mode, object_type=self._context_type(path))
