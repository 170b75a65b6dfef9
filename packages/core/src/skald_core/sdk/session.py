"""``Session``: the object ``client.session(id)`` returns, the same for every client.

It talks to its client only through the public SDK surface, so it behaves identically
in-process and over HTTP. ``messages``, ``stats`` and ``created_at`` are filled by ``load()``
from stored data (the session meta and its ``messages.jsonl``), never kept as local counters.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import msgspec

from .. import clock
from ..schemas import Message, SessionStats, message_decoder

if TYPE_CHECKING:
    from .surface import AsyncClientAPI, ClientAPI


def _parse_jsonl(text: str) -> list[Message]:
    return [message_decoder.decode(line) for line in text.split("\n") if line.strip()]


def _stats(meta: dict[str, Any]) -> SessionStats:
    return msgspec.convert(meta.get("stats") or {}, SessionStats)


class _SessionState:
    session_id: str
    uri: str
    created_at: datetime | None
    messages: list[Message]
    stats: SessionStats
    meta: dict[str, Any]

    def _init_state(self, session_id: str, uri: str) -> None:
        self.session_id = session_id
        self.uri = uri
        self.created_at = None
        self.messages = []
        self.stats = SessionStats()
        self.meta = {}

    def _apply(self, meta: dict[str, Any], messages_jsonl: str) -> None:
        self.meta = meta
        self.uri = meta.get("uri") or self.uri
        self.created_at = clock.to_local_naive(meta["created_at"])
        self.stats = _stats(meta)
        self.messages = _parse_jsonl(messages_jsonl)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(session_id={self.session_id!r}, messages={len(self.messages)})"
        )


class Session(_SessionState):
    def __init__(self, client: ClientAPI, session_id: str, uri: str) -> None:
        self._client = client
        self._init_state(session_id, uri)

    def load(self) -> Session:
        meta = self._client.get_session(self.session_id)
        self._apply(meta, self._client.read(f"{meta['uri']}/messages.jsonl"))
        return self

    def add_message(
        self, role: str, content: str | None = None, parts: list[Any] | None = None, **options: Any
    ) -> dict[str, Any]:
        return self._client.add_message(self.session_id, role, content, parts, **options)

    def commit(self, keep_recent_count: int = 0, *, wait: bool = True) -> dict[str, Any]:
        result = self._client.commit_session(self.session_id, keep_recent_count, wait=wait)
        if "memories_extracted" not in result:
            result["memories_extracted"] = 0
        return result

    def delete(self, **options: Any) -> dict[str, Any]:
        return self._client.delete_session(self.session_id, **options)

    def context(self, token_budget: int = 128_000) -> dict[str, Any]:
        return self._client.get_session_context(self.session_id, token_budget)


class AsyncSession(_SessionState):
    def __init__(self, client: AsyncClientAPI, session_id: str, uri: str) -> None:
        self._client = client
        self._init_state(session_id, uri)

    async def load(self) -> AsyncSession:
        meta = await self._client.get_session(self.session_id)
        self._apply(meta, await self._client.read(f"{meta['uri']}/messages.jsonl"))
        return self

    async def add_message(
        self, role: str, content: str | None = None, parts: list[Any] | None = None, **options: Any
    ) -> dict[str, Any]:
        return await self._client.add_message(self.session_id, role, content, parts, **options)

    async def commit(self, keep_recent_count: int = 0, *, wait: bool = True) -> dict[str, Any]:
        result = await self._client.commit_session(self.session_id, keep_recent_count, wait=wait)
        if "memories_extracted" not in result:
            result["memories_extracted"] = 0
        return result

    async def delete(self, **options: Any) -> dict[str, Any]:
        return await self._client.delete_session(self.session_id, **options)

    async def context(self, token_budget: int = 128_000) -> dict[str, Any]:
        return await self._client.get_session_context(self.session_id, token_budget)
