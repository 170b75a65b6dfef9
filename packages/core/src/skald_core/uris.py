"""The ``viking://`` URI model: parsing, normalisation, alias resolution, traversal refusal.

A resolved URI is a tuple of path segments below ``viking://`` in canonical form:
``viking://session/{id}/x`` and ``viking://~/sessions/{id}/x`` both become
``("user", <caller>, "sessions", id, "x")``. Pure functions only.
"""

from __future__ import annotations

from msgspec import Struct

from .errors import ForbiddenError, InvalidURIError
from .identity import Identity

SCHEME = "viking://"
ROOTS = frozenset({"user", "agent", "resources"})
MAX_URI_LENGTH = 2048


class VikingPath(Struct, frozen=True):
    segments: tuple[str, ...]

    @property
    def uri(self) -> str:
        return SCHEME + "/".join(self.segments)

    @property
    def name(self) -> str:
        return self.segments[-1] if self.segments else ""

    @property
    def parent(self) -> VikingPath:
        return VikingPath(self.segments[:-1])

    @property
    def key(self) -> str:
        """The storage key: the canonical path without scheme."""
        return "/".join(self.segments)

    def child(self, *names: str) -> VikingPath:
        return VikingPath((*self.segments, *names))

    def is_within(self, other: VikingPath) -> bool:
        n = len(other.segments)
        return self.segments[:n] == other.segments

    def session_ref(self) -> tuple[str, str, tuple[str, ...]] | None:
        """``(user, session_id, rest)`` when this path lies in a session directory."""
        s = self.segments
        if len(s) >= 4 and s[0] == "user" and s[2] == "sessions":
            return s[1], s[3], s[4:]
        return None


def _bad(uri: str, reason: str) -> InvalidURIError:
    return InvalidURIError(f"Invalid URI {uri!r}: {reason}", {"uri": uri[:300], "reason": reason})


def parse(uri: object, identity: Identity) -> VikingPath:
    """Parse and normalise ``uri`` for ``identity``; refuse anything that escapes its tree."""
    if not isinstance(uri, str):
        raise InvalidURIError(
            "URI must be a string", {"uri": str(uri)[:300], "reason": "not a string"}
        )
    if len(uri) > MAX_URI_LENGTH:
        raise _bad(uri, f"longer than {MAX_URI_LENGTH} characters")
    if not uri.startswith(SCHEME):
        raise _bad(uri, "must start with viking://")
    body = uri[len(SCHEME) :]
    if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in body):  # C0, DEL and C1
        raise _bad(uri, "contains control characters")
    if "\\" in body:
        raise _bad(uri, "contains a backslash")
    if body.endswith("/"):
        body = body[:-1]
    if not body:
        return VikingPath(())
    segments = body.split("/")
    for seg in segments:
        if seg == "":
            raise _bad(uri, "empty path segment")
        if seg in (".", ".."):
            raise _bad(uri, f"unsafe traversal segment {seg!r}")
    head = segments[0]
    if head == "session":
        resolved = ("user", identity.user, "sessions", *segments[1:])
    elif head == "~":
        resolved = ("user", identity.user, *segments[1:])
    elif head in ROOTS:
        resolved = tuple(segments)
    else:
        raise _bad(uri, f"unknown root {head!r} (expected user, agent, resources, session or ~)")
    return VikingPath(resolved)


def check_access(path: VikingPath, identity: Identity) -> None:
    """Refuse paths in another user's tree (403)."""
    s = path.segments
    if len(s) >= 2 and s[0] == "user" and s[1] != identity.user:
        raise ForbiddenError(
            f"Access denied: {path.uri} belongs to another user",
            {"uri": path.uri, "reason": "foreign user tree"},
        )


def session_uri(user: str, session_id: str) -> str:
    return f"{SCHEME}user/{user}/sessions/{session_id}"


def archive_name(index: int) -> str:
    return f"archive_{index:03d}"


def parse_archive_name(name: str) -> int | None:
    digits = name[8:]
    if (
        name.startswith("archive_")
        and digits.isascii()
        and digits.isdigit()
        and 3 <= len(digits) <= 9
    ):
        return int(digits)
    return None
