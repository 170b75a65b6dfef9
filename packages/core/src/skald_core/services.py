"""The composition root: ``build_services`` wires the core services over one store, once.

The embedded client (``OpenViking``) and the server (``skald_server.app.build_services``) both
get their services here, so the two cannot be wired differently; tests reach the store and the
task runner of a client through the same public object (``client.services.store``).
"""

from __future__ import annotations

import logging

from msgspec import Struct

from . import clock
from .limits import DEFAULT_LIMITS, Limits
from .service.deletion import DeletionService
from .service.embeddings import EmbeddingClient, EmbeddingConfig
from .service.extraction import AnyExtractor
from .service.files import FileService
from .service.search import SearchService
from .service.sessions import SessionService
from .service.tasks import TaskRunner
from .service.vector_index import VectorIndex
from .store.protocol import Store

__all__ = ["Services", "build_services"]

log = logging.getLogger("skald.services")


class Services(Struct, frozen=True, kw_only=True):
    """The core services over one store. ``runner`` runs extraction tasks (in the background
    once started); ``sessions`` holds sessions, messages, commits and tasks; ``deletion``
    deletion, retention, erasure and the audit log; ``files`` the ``viking://`` tree;
    ``search`` find/search/grep/glob over it; ``vectors`` the memories' embeddings (None
    without an embedding endpoint: full-text search only)."""

    store: Store
    runner: TaskRunner
    sessions: SessionService
    deletion: DeletionService
    files: FileService
    search: SearchService
    vectors: VectorIndex | None = None

    def start(self, poll_seconds: float = 1.0) -> None:
        """Start the background worker; it resumes extraction left over from earlier runs
        and, with embeddings configured, queues the embedding of memories without a vector."""
        self.runner.start(poll_seconds=poll_seconds)
        if self.vectors is not None:
            try:
                log.info("semantic search: cosine by %s", self.vectors.engine)
                queued = self.vectors.sweep()
            except Exception as exc:  # the store may be down: the next start catches up
                log.warning("could not look for memories to embed: %s", exc)
            else:
                if queued:
                    log.info(
                        "embedding queued for %d user(s) with memories lacking vectors", queued
                    )

    def close(self, *, close_extractor: bool = True) -> None:
        """Stop the worker (unfinished tasks stay queued), close the store and, unless told
        otherwise, the extractor (its connections to a language model)."""
        self.runner.stop()
        self.store.close()
        close = getattr(self.runner.extractor, "close", None)
        if close_extractor and close is not None:
            close()
        if self.vectors is not None:
            self.vectors.close()


def build_services(
    store: Store,
    extractor: AnyExtractor,
    *,
    lease_seconds: float = 30.0,
    extraction_timeout: float = 60.0,
    now: clock.Clock = clock.now,
    limits: Limits = DEFAULT_LIMITS,
    embeddings: EmbeddingConfig | EmbeddingClient | None = None,
) -> Services:
    """The services over ``store``, extracting memories with ``extractor``. A claimed task is
    leased for ``lease_seconds`` (stretched for extractors that may run longer);
    ``extraction_timeout`` bounds how long a ``commit_first`` delete waits for extraction.
    Every service reads the time from ``now`` (default: the real clock) and holds to
    ``limits`` (quotas and page sizes). ``embeddings``: an embedding endpoint's settings
    (or a client) for semantic search; None for full text only."""
    runner = TaskRunner(store, extractor, lease_seconds=lease_seconds, now=now)
    sessions = SessionService(store, runner, now=now, limits=limits)
    files = FileService(store, sessions, now=now, limits=limits)
    vectors = None
    if embeddings is not None:
        client = (
            embeddings if isinstance(embeddings, EmbeddingClient) else EmbeddingClient(embeddings)
        )
        vectors = VectorIndex(store, client, now=now, notify=runner.notify)
        runner.vectors = vectors
        files.on_memory_write = vectors.queue
    return Services(
        store=store,
        runner=runner,
        sessions=sessions,
        deletion=DeletionService(
            store, runner, sessions, extraction_timeout=extraction_timeout, now=now
        ),
        files=files,
        search=SearchService(store, files, vectors),
        vectors=vectors,
    )
