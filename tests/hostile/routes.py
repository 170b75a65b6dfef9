"""The app's own route table, for tests that must cover every route (also future ones)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from litestar import Litestar
from litestar.routes import HTTPRoute

_PARAM = re.compile(r"^\{(\w+):\w+\}$")


@dataclass(frozen=True)
class Route:
    path: str  # the template: /api/v1/sessions/{session_id:str}/messages
    methods: frozenset[str]

    @property
    def segments(self) -> list[str]:
        return self.path.strip("/").split("/")

    def fill(self, **values: str) -> str:
        """The template with each ``{name:type}`` replaced by ``values[name]``."""
        out = []
        for seg in self.segments:
            m = _PARAM.match(seg)
            out.append(values[m.group(1)] if m else seg)
        return "/" + "/".join(out)


def routes(app: Litestar, prefix: str = "/api/v1") -> list[Route]:
    """Every HTTP route under ``prefix`` (and ``/health``, ``/ready``), with its methods."""
    found = []
    for r in app.routes:
        if isinstance(r, HTTPRoute) and (
            r.path.startswith(prefix + "/") or r.path in ("/health", "/ready")
        ):
            found.append(Route(r.path, frozenset(r.methods) - {"OPTIONS"}))
    return sorted(found, key=lambda r: r.path)


def action_collisions(app: Litestar) -> dict[str, set[str]]:
    """For each path parameter, the literal segments of other routes at its place: the values
    of that parameter a request could never reach (``cleanup`` for ``session_id``, because of
    ``POST /api/v1/sessions/cleanup``)."""
    table = routes(app)
    out: dict[str, set[str]] = {}
    for r in table:
        for i, seg in enumerate(r.segments):
            m = _PARAM.match(seg)
            if not m:
                continue
            for other in table:
                o = other.segments
                if len(o) > i and o[:i] == r.segments[:i] and not _PARAM.match(o[i]):
                    out.setdefault(m.group(1), set()).add(o[i])
    return out
