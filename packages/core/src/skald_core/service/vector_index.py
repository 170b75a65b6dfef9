"""Semantic search's two halves: keeping memories' vectors up to date (the ``embed`` tasks)
and ranking by them at query time.

Indexing never holds up a write: a memory is searchable by full text the moment it is
written (the full-text index is kept by triggers); its vector is made later by an ``embed``
task of its owner, queued after an extraction that wrote memories and after a file write
under the owner's tree, and for every owner missing vectors when the worker starts (a store
written before embeddings were configured, or a process that died before queueing). An
``embed`` task is a row of ``tasks`` like a commit's (listed by ``GET /api/v1/tasks``, with
``meta.attempts`` and ``error``); it embeds what lacks a vector, ``batch_size`` memories per
request. When the endpoint fails the task goes back to ``pending`` with the reason in
``error`` and waits ``retry_delay(attempts)`` (5 s doubling to 5 minutes) before the worker
tries again; it completes when the endpoint answers.

At query time: the query's vector (within ``query_timeout``; on failure the caller falls
back to full text), the caller's candidate vectors (full text's best hits plus the
``candidates`` most recently embedded, account and user in the statement), cosine in
process, then ``fuse``: reciprocal rank fusion of the full-text and vector rankings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import msgspec

from .. import clock, ids
from ..store import vectors
from ..store.model import ClaimedTask, Owner
from ..store.protocol import Store
from .embeddings import EmbeddingClient, EmbeddingError

log = logging.getLogger("skald.embeddings")

#: Reciprocal rank fusion's constant: a document at rank r of a list adds 1 / (RRF_K + r).
RRF_K = 60
#: Batches one ``embed`` task sends before it yields to other tasks (a new one continues).
BATCHES_PER_TASK = 20
#: Characters of a memory sent to the model (longer ones are embedded by their start).
MAX_CHARS = 8000
#: Waits between a failed ``embed`` task's attempts: 5 s, doubling, at most 5 minutes.
RETRY_FIRST = 5.0
RETRY_MAX = 300.0


def retry_delay(attempts: int) -> float:
    return float(min(RETRY_MAX, RETRY_FIRST * 2 ** max(0, attempts - 1)))


class EmbedTaskResult(msgspec.Struct, kw_only=True):
    """An ``embed`` task's result."""

    model: str
    embedded: int
    more: bool = False


def fuse(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: each key's sum of ``1 / (k + rank)`` (rank from 1) over the
    rankings, scaled so a key first in every ranking scores 1; best first, ties in order of
    first appearance."""
    score: dict[str, float] = {}
    for ranking in rankings:
        for rank, key in enumerate(ranking, start=1):
            score[key] = score.get(key, 0.0) + 1.0 / (k + rank)
    top = len(rankings) / (k + 1) if rankings else 1.0
    order = sorted(score.items(), key=lambda kv: -kv[1])  # stable
    return [(key, round(s / top, 6)) for key, s in order]


class VectorIndex:
    def __init__(
        self,
        store: Store,
        client: EmbeddingClient,
        *,
        now: clock.Clock = clock.now,
        notify: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.client = client
        self.config = client.config
        self.model = client.model
        self.now = now
        #: Wakes the task worker (set by the composition root).
        self.notify = notify
        self._engine: str | None = None

    @property
    def engine(self) -> str:
        """How cosine is computed: ``numpy`` (pgvector, when installed, is detected and
        reported, not used yet)."""
        if self._engine is None:
            try:
                pg = self.store.pgvector_installed()
            except Exception:  # the store may be down at start; ask again later
                return "numpy"
            self._engine = "numpy (pgvector installed, not used)" if pg else "numpy"
        return self._engine

    # ------------------------------------------------------------------ queueing
    def queue(self, owner: Owner) -> None:
        """Make sure an ``embed`` task of the owner waits; wake the worker. Never raises (a
        missed queueing is caught up by the next ``sweep``)."""
        try:
            self.store.queue_embedding(owner, ids.new_task_id(), self.now())
        except Exception as exc:
            log.warning("could not queue embedding for %s/%s: %s", owner.account, owner.user, exc)
            return
        self.notify()

    def sweep(self) -> int:
        """Queue an ``embed`` task for every owner with memories lacking a vector."""
        owners = self.store.owners_to_embed(self.model)
        for owner in owners:
            self.queue(owner)
        return len(owners)

    # ------------------------------------------------------------------ one task
    def run_task(self, claimed: ClaimedTask) -> None:
        task = claimed.task
        owner = Owner(task.account, task.user)
        size = self.config.batch_size
        done = 0
        more = False
        try:
            for n in range(BATCHES_PER_TASK + 1):
                batch = self.store.memories_to_embed(owner, self.model, size)
                if not batch:
                    break
                if n == BATCHES_PER_TASK:
                    more = True
                    break
                texts = [b.content.decode("utf-8", errors="replace")[:MAX_CHARS] for b in batch]
                found = self.client.embed(texts)
                items = [(b, vectors.pack(v), len(v)) for b, v in zip(batch, found, strict=True)]
                done += self.store.put_vectors(owner, self.model, items, self.now())
                if len(batch) < size:
                    break
        except EmbeddingError as exc:
            wait = retry_delay(task.attempts)
            log.warning("embed task %s: %s; retry in %.0fs", task.task_id, exc, wait)
            now = self.now()
            self.store.retry_task_later(
                task.task_id,
                claimed.claim,
                f"{exc} (attempt {task.attempts}; next try in {wait:.0f}s)",
                now,
                now + wait,
            )
            return
        result = EmbedTaskResult(model=self.model, embedded=done, more=more)
        self.store.complete_task(
            task.task_id, claimed.claim, msgspec.json.encode(result), self.now()
        )
        if more:
            self.queue(owner)

    # ------------------------------------------------------------------ query time
    def embed_query(self, query: str) -> list[float]:
        """The query's vector; ``EmbeddingError`` when the endpoint does not answer in time."""
        return self.client.embed_query(query[:MAX_CHARS])

    def nearest(
        self,
        owner: Owner,
        prefixes: Sequence[str],
        query_vector: Sequence[float],
        also: Sequence[str],
        top: int,
    ) -> list[tuple[str, float]]:
        """``(path, cosine)`` of the owner's ``top`` memories under ``prefixes`` nearest the
        query, best first, among the bounded candidates (``also``: paths to include)."""
        found = self.store.vector_candidates(
            owner, self.model, prefixes, also, self.config.candidates
        )
        return vectors.rank(query_vector, found, self.config.min_similarity, top)

    def close(self) -> None:
        self.client.close()
