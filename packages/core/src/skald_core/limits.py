"""Sizes Skald holds to, whatever users store: the quotas of sessions and messages, and the
page sizes of listings. One struct, shared by the embedded client and the server (whose
settings of the same names fill it); exceeding a quota is ``ResourceExhaustedError``
(RESOURCE_EXHAUSTED, 429, ``details = {"reason": "quota_exceeded", "quota", "limit"}``)."""

from __future__ import annotations

from msgspec import Struct

from .store.model import Quota

MiB = 1024 * 1024


class Limits(Struct, frozen=True, kw_only=True):
    #: The largest message (its stored JSON), in bytes.
    max_message_bytes: int = 8 * MiB
    #: Messages ever added to one session (live and archived).
    max_session_messages: int = 100_000
    #: Bytes of one session's messages (live and archived).
    max_session_bytes: int = 1024 * MiB
    #: Sessions one user may hold (trashed ones count until purged).
    max_user_sessions: int = 100_000
    #: The size a file (``viking://agent/...``, ``viking://resources/...``, or a user's) may
    #: reach by a write, an append above all, in bytes.
    max_file_bytes: int = 64 * MiB
    #: ``GET /sessions`` (``list_sessions``) without ``limit`` answers this many; at most
    #: ``list_max`` are answered at once (follow ``cursor`` for more).
    list_default: int = 1_000
    list_max: int = 10_000
    #: ``fs/ls`` and ``fs/tree`` stop after ``node_limit`` nodes (default; at most
    #: ``node_limit_max``), as OpenViking's ``node_limit``.
    node_limit: int = 1_000
    node_limit_max: int = 10_000

    @property
    def quota(self) -> Quota:
        return Quota(
            session_messages=self.max_session_messages,
            session_bytes=self.max_session_bytes,
            user_sessions=self.max_user_sessions,
            file_bytes=self.max_file_bytes,
        )

    def check(self) -> None:
        """``ValueError`` naming the first setting that is not a positive number."""
        for name in self.__struct_fields__:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive number, not {getattr(self, name)}")
        if self.list_default > self.list_max or self.node_limit > self.node_limit_max:
            raise ValueError("list_default and node_limit must not exceed their maximum")


DEFAULT_LIMITS = Limits()
