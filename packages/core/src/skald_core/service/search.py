"""Finding what was remembered: ``find``/``search`` (ranked full text over memories, resources,
skills and, when asked, conversations), ``grep`` and ``glob`` over ``viking://`` trees.

The rules here: which trees a target names for the caller (never another user's: 403, as
everywhere), what kind of hit a path is, the abstract shown, and how ``limit``,
``score_threshold`` and ``context_type`` apply. Ranking and tenancy are the store's
(``store/search.py``): the owner is part of every statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from .. import uris
from ..errors import InvalidArgumentError
from ..identity import Identity
from ..literals import ContextType, SearchMode
from ..schemas import (
    FindRequest,
    FindResult,
    GlobRequest,
    GlobResult,
    GrepMatch,
    GrepRequest,
    GrepResult,
    SearchHit,
    SearchRequest,
    TextPart,
    message_decoder,
)
from ..store.protocol import Store
from ..store.search import FileHit, MessageHit
from .embeddings import EmbeddingError
from .files import FileService
from .sessions import owner_of
from .vector_index import VectorIndex, fuse

#: Characters of a hit's abstract.
ABSTRACT_CHARS = 256
#: Characters of a grep match's line.
GREP_LINE_CHARS = 1000
_WORD = re.compile(r"\w+")
#: Full-text hits a hybrid search fuses with the vector ranking (at least the limit).
FUSE_DEPTH = 50


def kind_of(path: str) -> ContextType:
    """What a stored file is to ``find``: a memory, a skill or (anything else) a resource."""
    s = path.split("/")
    if (len(s) > 2 and s[0] == "user" and s[2] == "memories") or s[:2] == ["agent", "memories"]:
        return "memory"
    if s[:2] == ["agent", "skills"]:
        return "skill"
    return "resource"


def score_of(text: str, query: str, rank: float) -> float:
    """The share of the query's words in ``text`` (case-insensitive substrings), weighted by
    the index's rank in [0, 1): in (0, 1] for a hit holding at least one word."""
    words = set(_WORD.findall(query.lower())) or {query.strip().lower()}
    low = text.lower()
    share = sum(1 for w in words if w in low) / len(words)
    return round(max(share, 1.0 / (len(words) + 1)) * (0.5 + 0.5 * rank), 6)


def abstract_of(text: str, query: str) -> str:
    """The text (whitespace collapsed), or a window of it around the first query word."""
    flat = " ".join(text.split())
    if len(flat) <= ABSTRACT_CHARS:
        return flat
    low = flat.lower()
    at = min((i for i in (low.find(w) for w in _WORD.findall(query.lower())) if i >= 0), default=0)
    start = max(0, min(at - ABSTRACT_CHARS // 4, len(flat) - ABSTRACT_CHARS))
    window = flat[start : start + ABSTRACT_CHARS]
    return ("…" if start else "") + window + ("…" if start + ABSTRACT_CHARS < len(flat) else "")


class _Scope:
    """What a find's targets name: storage prefixes of files, and conversations (all of the
    caller's sessions, or some)."""

    def __init__(self) -> None:
        self.prefixes: list[str] = []
        self.all_sessions = False
        self.sessions: list[str] = []


def _scope(identity: Identity, targets: str | list[str]) -> _Scope:
    me = f"user/{identity.user}"
    scope = _Scope()
    for target in [targets] if isinstance(targets, str) else targets or [""]:
        if not target:
            scope.prefixes += [me, "agent", "resources"]
            continue
        path = uris.parse(target, identity)
        uris.check_access(path, identity)
        s = path.segments
        if not s:
            scope.prefixes += [me, "agent", "resources"]
        elif s == ("user",):
            scope.prefixes.append(me)
        elif len(s) >= 3 and s[0] == "user" and s[2] == "sessions":
            if len(s) == 3:
                scope.all_sessions = True
            else:
                scope.sessions.append(s[3])
        else:
            scope.prefixes.append(path.key)
    return scope


def _wanted(request: FindRequest) -> set[str]:
    ct = request.context_type
    if ct is None:
        return {"memory", "resource", "skill"}
    return {ct} if isinstance(ct, str) else set(ct)


class SearchService:
    def __init__(
        self, store: Store, files: FileService, vectors: VectorIndex | None = None
    ) -> None:
        self.store = store
        self.files = files
        #: Semantic ranking of memories (None: full text only).
        self.vectors = vectors

    # ------------------------------------------------------------------ find / search
    def find(self, identity: Identity, request: FindRequest) -> FindResult:
        if not request.query.strip():
            raise InvalidArgumentError(
                "Search query must not be empty", {"field": "query", "reason": "empty"}
            )
        scope = _scope(identity, request.target_uri)
        session_only = request.session_id if isinstance(request, SearchRequest) else None
        wanted = _wanted(request)
        limit = request.limit
        hits: list[SearchHit] = []
        mode: SearchMode = "full_text"
        if scope.prefixes:
            prefixes = sorted(set(scope.prefixes))
            keywords = isinstance(request, SearchRequest) and request.search_type == "keywords"
            if self.vectors is not None and "memory" in wanted and not keywords:
                file_hits, mode = self._hybrid(identity, prefixes, request.query, limit)
                hits += file_hits
            else:
                for f in self.store.search_files(identity.account, prefixes, request.query, limit):
                    hits.append(self._file_hit(f, request.query))
        if "resource" in wanted:
            hits += self._conversation_hits(identity, scope, session_only, request.query, limit)
        threshold = request.score_threshold
        hits = [
            h
            for h in hits
            if h.context_type in wanted and (threshold is None or h.score >= threshold)
        ]
        hits.sort(key=lambda h: -h.score)  # stable: the index's order among equal scores
        hits = hits[:limit]
        return FindResult(
            memories=[h for h in hits if h.context_type == "memory"],
            resources=[h for h in hits if h.context_type == "resource"],
            skills=[h for h in hits if h.context_type == "skill"],
            total=len(hits),
            search_mode=mode,
        )

    def _hybrid(
        self, identity: Identity, prefixes: list[str], query: str, limit: int
    ) -> tuple[list[SearchHit], SearchMode]:
        """Files ranked by fusing full text with the caller's memories' vectors; full text
        alone (and a mode saying why) when the query cannot be embedded."""
        assert self.vectors is not None
        found = self.store.search_files(identity.account, prefixes, query, max(limit, FUSE_DEPTH))
        try:
            vector = self.vectors.embed_query(query)
        except EmbeddingError:
            hits = [self._file_hit(f, query) for f in found[:limit]]
            return hits, "full_text_embedding_unavailable"
        text_rank = [f.path for f in found]
        depth = max(limit, FUSE_DEPTH)
        near = self.vectors.nearest(owner_of(identity), prefixes, vector, text_rank, depth)
        fused = fuse([text_rank, [p for p, _ in near]])[:limit]
        texts = {f.path: f.text for f in found}
        texts.update(
            self.store.file_texts(identity.account, [p for p, _ in fused if p not in texts])
        )
        hits = [
            SearchHit(
                context_type=kind_of(path),
                uri=uris.SCHEME + path,
                level=2,
                score=score,
                abstract=abstract_of(texts.get(path, ""), query),
            )
            for path, score in fused
            if path in texts
        ]
        return hits, "hybrid"

    def search(self, identity: Identity, request: SearchRequest) -> FindResult:
        return self.find(identity, request)

    @staticmethod
    def _file_hit(f: FileHit, query: str) -> SearchHit:
        return SearchHit(
            context_type=kind_of(f.path),
            uri=uris.SCHEME + f.path,
            level=2,
            score=score_of(f.text, query, f.score),
            abstract=abstract_of(f.text, query),
        )

    def _conversation_hits(
        self,
        identity: Identity,
        scope: _Scope,
        session_only: str | None,
        query: str,
        limit: int,
    ) -> list[SearchHit]:
        if not scope.all_sessions and not scope.sessions:
            return []
        owner = owner_of(identity)
        wanted: Sequence[str | None]
        if scope.all_sessions:
            wanted = [session_only]
        else:
            wanted = sorted(set(scope.sessions))
            if session_only is not None:
                wanted = [s for s in wanted if s == session_only]
        out: list[SearchHit] = []
        for sid in wanted:
            for m in self.store.search_messages(owner, sid, query, limit):
                out.append(self._message_hit(identity, m, query))
        return out

    @staticmethod
    def _message_hit(identity: Identity, m: MessageHit, query: str) -> SearchHit:
        message = message_decoder.decode(m.body)
        text = " ".join(p.text for p in message.parts if isinstance(p, TextPart))
        base = uris.session_uri(identity.user, m.session_id)
        where = f"/history/{uris.archive_name(m.archive_no)}" if m.archive_no else ""
        return SearchHit(
            context_type="resource",
            uri=f"{base}{where}/messages.jsonl",
            level=2,
            score=score_of(text, query, m.score),
            abstract=abstract_of(text, query),
            session_id=m.session_id,
            message_id=message.id,
            role=message.role,
        )

    # ------------------------------------------------------------------ grep / glob
    def _files_under(self, identity: Identity, uri: str) -> Iterator[str]:
        """The URIs of the files at or under ``uri``, in order."""
        node = self.files.stat(identity, uri)
        if not node.isDir:
            yield node.uri
            return
        for n in self.files.ls(identity, uri, recursive=True, show_all_hidden=True).nodes:
            if not n.isDir:
                yield n.uri

    def grep(self, identity: Identity, request: GrepRequest) -> GrepResult:
        try:
            rx = re.compile(request.pattern, re.IGNORECASE if request.case_insensitive else 0)
        except re.error as exc:
            raise InvalidArgumentError(
                f"Invalid regex pattern: {exc}", {"field": "pattern", "reason": str(exc)}
            ) from exc
        exclude = None
        if request.exclude_uri:
            excluded = uris.parse(request.exclude_uri, identity)
            exclude = excluded.uri
        matches: list[GrepMatch] = []
        found = 0
        scanned = 0
        for uri in self._files_under(identity, request.uri):
            if exclude is not None and (uri == exclude or uri.startswith(exclude + "/")):
                continue
            scanned += 1
            text = self.files.read(identity, uri)
            for no, line in enumerate(text.splitlines(), start=1):
                if rx.search(line):
                    found += 1
                    if len(matches) < request.node_limit:
                        matches.append(GrepMatch(line=no, uri=uri, content=line[:GREP_LINE_CHARS]))
        return GrepResult(
            matches=matches, count=len(matches), match_count=found, files_scanned=scanned
        )

    def glob(self, identity: Identity, request: GlobRequest) -> GlobResult:
        base = uris.parse(request.uri, identity)
        uris.check_access(base, identity)
        rx = glob_regex(request.pattern)
        prefix = base.uri if base.uri.endswith("/") else base.uri + "/"
        nodes = self.files.ls(identity, base.uri, recursive=True, show_all_hidden=True).nodes
        out = [n.uri for n in nodes if rx.fullmatch(n.uri[len(prefix) :])]
        out.sort()
        out = out[: request.node_limit]
        return GlobResult(matches=out, count=len(out))


def glob_regex(pattern: str) -> re.Pattern[str]:
    """``*`` and ``?`` within one name, ``**`` across names (``**/`` also matches none)."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out), re.DOTALL)
