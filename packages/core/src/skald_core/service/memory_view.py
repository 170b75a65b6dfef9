"""A user's memories as the console shows them: grouped by category, and one memory with its
provenance (the sessions and archives it was extracted from).

Every read goes through ``FileService`` with the caller's identity (the same access rule as
``/api/v1/content`` and ``/api/v1/fs``); provenance is only looked up for a file that read
already allowed."""

from __future__ import annotations

import msgspec

from .. import clock, uris
from ..errors import InvalidArgumentError
from ..identity import Identity
from ..schemas import FileNode
from ..store.model import MemorySource, Owner, SessionRow
from .files import FileService


class Provenance(msgspec.Struct, kw_only=True):
    session_id: str
    archive_id: str
    at: str
    #: ``live``, ``trash``, or ``deleted``: the session it came from is gone (purged, or its
    #: id now names a newer session), so there is nothing to link to.
    session_state: str = "live"


class MemoryView(msgspec.Struct, kw_only=True):
    uri: str
    category: str
    content: str
    sources: list[Provenance]


def memories_root(identity: Identity) -> str:
    return f"viking://user/{identity.user}/memories"


def category_of(uri: str) -> str:
    parts = uri.removeprefix(uris.SCHEME).split("/")
    return parts[3] if len(parts) > 4 and parts[2] == "memories" else ""


def memories_by_category(files: FileService, identity: Identity) -> dict[str, list[FileNode]]:
    """Every memory file of ``identity``'s user, by category (sorted)."""
    groups: dict[str, list[FileNode]] = {}
    for node in files.ls(identity, memories_root(identity), recursive=True).nodes:
        if not node.isDir:
            groups.setdefault(category_of(node.uri) or "(none)", []).append(node)
    return dict(sorted(groups.items()))


def memory_view(files: FileService, identity: Identity, uri: str) -> MemoryView:
    """One memory file of ``identity``'s user, with where it came from."""
    path = uris.parse(uri, identity)
    content = files.read(identity, path.uri)  # the access check, as the API's
    if not path.is_within(uris.parse(memories_root(identity), identity)):
        raise InvalidArgumentError(
            "Only memory files are shown here", {"uri": uri[:300], "expected": "memory"}
        )
    sources = [
        s for s in files.store.memory_sources(identity.account, path.key) if s.user == identity.user
    ]
    owner = Owner(identity.account, identity.user)
    sessions = {sid: files.store.get_session(owner, sid) for sid in {s.session_id for s in sources}}
    return MemoryView(
        uri=path.uri,
        category=category_of(path.uri),
        content=content,
        sources=[
            Provenance(
                session_id=s.session_id,
                archive_id=uris.archive_name(s.archive_no),
                at=clock.iso_ms(s.created_at),
                session_state=_state_of(sessions[s.session_id], s),
            )
            for s in sources
        ],
    )


def _state_of(row: SessionRow | None, source: MemorySource) -> str:
    """Whether the session a provenance row names is still there: a session created after
    the provenance was written is a later one that reuses the id (the source was deleted)."""
    if row is None or row.created_at > source.created_at:
        return "deleted"
    return "trash" if row.deleted_at is not None else "live"
