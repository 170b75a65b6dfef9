"""The extraction task runner: claims queued commit tasks, runs the extractor, applies results.

A task's effects (memory files written, updated and deleted with provenance, the archive's
memory diff, the archive marked done, the task completed) are written in one store
transaction that first checks the claim is still held and the session still exists, so an
extraction never runs twice for one archive and a late one for a deleted session writes
nothing. Tasks left running by a dead process are retaken once their lease expires; pending
ones are picked up whenever a runner starts.

The background worker is a dispatcher thread plus a pool of ``concurrency`` worker threads
(the extractor's ``concurrency``, 1 for the built-in one), so one slow language-model call
does not hold up other users' extractions. Tasks of one user never run at the same time in
one process (the store skips their owner while one is running), because they read and write
the same memories.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, overload

import msgspec

from .. import clock
from ..errors import DeadlineExceededError, NotFoundError
from ..schemas import (
    ExtractionTaskResult,
    Message,
    TaskTokenUsage,
    TokenUsage,
    message_decoder,
)
from ..store.model import ClaimedTask, ExtractionOutcome, MemoryFact, MemoryRef, Owner, TaskRow
from ..store.protocol import Store
from ..store.sql_store import MessageBatches
from ..store.vectors import EMBED_TASK
from .extraction import AnyExtractor, ExistingMemory, Extraction, ExtractionError, as_extractor

if TYPE_CHECKING:
    from .vector_index import VectorIndex

log = logging.getLogger("skald.tasks")

TERMINAL = frozenset({"completed", "failed", "cancelled"})
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def memory_path(user: str, category: str, slug: str) -> str:
    for part in (category, slug):
        if not _SEGMENT.match(part) or ".." in part:
            raise ValueError(f"{part!r} cannot be part of a memory path")
    return f"user/{user}/memories/{category}/{slug}.md"


def token_usage(usage: TokenUsage) -> TaskTokenUsage:
    """Token usage as a task result shows it (OpenViking's ``token_usage``)."""
    return TaskTokenUsage.of(usage)


class ArchiveMessages(Sequence[Message]):
    """An archive's messages for an extractor, decoded batch by batch as it iterates them:
    however large the archive, memory holds about one batch (``Store.message_batches``).
    Indexing or slicing reads and decodes them all (an extractor that needs that gets it)."""

    def __init__(self, batches: MessageBatches) -> None:
        self._batches = batches

    def __len__(self) -> int:
        return self._batches.count

    def __iter__(self) -> Iterator[Message]:
        for batch in self._batches:
            for m in batch:
                yield message_decoder.decode(m.body)

    @overload
    def __getitem__(self, index: int) -> Message: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Message]: ...
    def __getitem__(self, index: int | slice) -> Message | Sequence[Message]:
        return list(self)[index]


class TaskRunner:
    def __init__(
        self,
        store: Store,
        extractor: AnyExtractor,
        *,
        lease_seconds: float = 30.0,
        concurrency: int | None = None,
        now: clock.Clock = clock.now,
    ) -> None:
        self.store = store
        self.now = now
        self.extractor = as_extractor(extractor)
        inner: object = getattr(self.extractor, "inner", self.extractor)
        self.concurrency = max(1, concurrency or int(getattr(inner, "concurrency", 1)))
        # A lease must outlast the longest extraction, or another worker would retake it.
        # (Only an extractor that can run long — one with ``max_seconds`` — stretches it.)
        longest = getattr(inner, "max_seconds", None)
        self.lease_seconds = (
            lease_seconds if longest is None else max(lease_seconds, float(longest) + 30)
        )
        self.max_existing = int(getattr(inner, "max_existing", 200))
        self._lock = threading.Lock()
        self._busy: set[Owner] = set()
        self._running: set[str] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        #: Runs ``embed`` tasks and is told of the memories an extraction wrote (set by the
        #: composition root when embeddings are configured).
        self.vectors: VectorIndex | None = None

    # ------------------------------------------------------------------ one task
    def _claim(self, task_id: str) -> ClaimedTask | None:
        with self._lock:
            claimed = self.store.claim_task(
                task_id,
                self.now(),
                self.lease_seconds,
                busy=tuple(self._busy),
                with_messages=False,
            )
            if claimed is not None:
                self._busy.add(Owner(claimed.task.account, claimed.task.user))
            return claimed

    def _existing(self, task: TaskRow) -> list[ExistingMemory]:
        """The user's memories in the categories the extractor asks for, newest first."""
        found: list[tuple[float, str, str, str]] = []
        for category in self.extractor.categories:
            base = f"user/{task.user}/memories/{category}"
            for row in self.store.list_descendants(task.account, base):
                name = row.path[len(base) + 1 :]
                if not row.is_dir and "/" not in name and name.endswith(".md"):
                    found.append((row.updated_at, row.path, category, name[:-3]))
        found.sort(reverse=True)
        out: list[ExistingMemory] = []
        for _, path, category, slug in found[: self.max_existing]:
            file = self.store.get_file(task.account, path)
            if file is not None and file.content is not None:
                text = file.content.decode("utf-8", errors="replace")
                out.append(ExistingMemory(category=category, slug=slug, content=text))
        return out

    def _execute(self, claimed: ClaimedTask) -> None:
        if claimed.task.task_type == EMBED_TASK:
            self._embed(claimed)
        else:
            self._extract(claimed)

    def _embed(self, claimed: ClaimedTask) -> None:
        if self.vectors is None:
            reason = "embeddings are not configured (set SKALD_EMBEDDING_*)"
            self.store.fail_task(claimed.task.task_id, claimed.claim, reason, self.now())
            return
        try:
            self.vectors.run_task(claimed)
        except Exception as exc:  # the store failed: the lease expires and it runs again
            log.warning("embed task %s: %s", claimed.task.task_id, exc)

    def _extract(self, claimed: ClaimedTask) -> None:
        task = claimed.task
        task_id = task.task_id
        archive_uri = (
            f"viking://user/{task.user}/sessions/{task.session_id}/history/"
            f"archive_{task.archive_no or 0:03d}"
        )
        try:
            messages = ArchiveMessages(
                self.store.archive_message_batches(claimed.session_pk, task.archive_no or 0)
            )
            existing = self._existing(task) if self.extractor.categories else []
            found: Extraction = self.extractor.extract_diff(messages, task.user, existing)
            writes: dict[str, MemoryFact] = {}
            for fact in found.facts:
                path = memory_path(task.user, fact.category, fact.slug)
                writes[path] = MemoryFact(path=path, category=fact.category, content=fact.content)
            deletes = [
                MemoryRef(path=memory_path(task.user, d.category, d.slug), category=d.category)
                for d in found.deletes
            ]

            def result(applied: ExtractionOutcome) -> bytes:
                """The task's result, counted from what the store applied: the numbers are the
                memory diff's (a memory stated again unchanged is ``memories_unchanged``)."""
                by_category = {"total": applied.memories}
                by_category.update(
                    (k, n) for k, n in sorted(applied.by_category.items()) if k != "total"
                )
                diff = applied.diff
                changed = [e.path for e in (*diff.adds, *diff.updates)] if diff else []
                return msgspec.json.encode(
                    ExtractionTaskResult(
                        session_id=task.session_id,
                        archive_uri=archive_uri,
                        memories_extracted=by_category,
                        memories_deleted=applied.deleted,
                        memories_unchanged=applied.unchanged,
                        memory_uris=sorted("viking://" + p for p in changed),
                        memory_diff_uri=archive_uri + "/memory_diff.json",
                        extractor=self.extractor.name,
                        token_usage=token_usage(found.usage),
                    )
                )

            outcome = self.store.complete_extraction(
                task_id,
                claimed.claim,
                list(writes.values()),
                result,
                self.now(),
                deletes=deletes,
                usage=found.usage,
            )
            log.debug("task %s: %s (%d memories)", task_id, outcome.status, outcome.memories)
            if self.vectors is not None and writes:
                self.vectors.queue(Owner(task.account, task.user))
        except ExtractionError as exc:
            log.warning("task %s failed: %s", task_id, exc.reason)
            self.store.fail_task(
                task_id,
                claimed.claim,
                exc.reason,
                self.now(),
                result=msgspec.json.encode(
                    ExtractionTaskResult(
                        session_id=task.session_id,
                        archive_uri=archive_uri,
                        extractor=self.extractor.name,
                        token_usage=token_usage(exc.usage),
                    )
                ),
            )
        except Exception as exc:  # the extractor is pluggable: record any failure on the task
            log.warning("task %s failed: %s", task_id, exc)
            self.store.fail_task(task_id, claimed.claim, f"{type(exc).__name__}: {exc}", self.now())

    def _finish(self, claimed: ClaimedTask) -> None:
        with self._lock:
            self._busy.discard(Owner(claimed.task.account, claimed.task.user))
            self._running.discard(claimed.task.task_id)
        self._wake.set()

    def run(self, task_id: str) -> bool:
        """Run one task here if it can be claimed; True when this call ran it."""
        claimed = self._claim(task_id)
        if claimed is None:
            return False
        try:
            self._execute(claimed)
        finally:
            self._finish(claimed)
        return True

    def run_pending(self) -> int:
        """Run every runnable task in this thread, oldest first; how many ran."""
        ran = 0
        for task_id in self.store.runnable_tasks(self.now()):
            if self._stop.is_set():
                break
            ran += self.run(task_id)
        return ran

    def _run_soon(self, task_id: str) -> None:
        """Claim the task if nobody holds it and run it: on the background pool when the worker
        is started (so a waiting caller can give up at its deadline while it goes on), else
        here in this thread (the embedded client without a worker)."""
        pool = self._pool
        if pool is None:
            self.run(task_id)
            return
        claimed = self._claim(task_id)
        if claimed is None:
            return
        with self._lock:
            self._running.add(task_id)
        try:
            pool.submit(self._job, claimed)
        except RuntimeError:  # the pool is shutting down: run it here
            self._job(claimed)

    def wait(self, owner: Owner, task_id: str, timeout: float = 60.0) -> TaskRow:
        """Start the task if nobody holds it, then wait until it reaches a terminal state;
        ``DeadlineExceededError`` after ``timeout`` seconds when a background worker runs it
        (the task goes on and completes later)."""
        deadline = time.monotonic() + timeout
        delay = 0.002
        self.notify()
        next_claim = 0.0
        while True:
            if time.monotonic() >= next_claim:
                self._run_soon(task_id)  # a claim is a write transaction: not at every poll
            task = self.store.get_task(owner, task_id)
            if task is None:
                raise NotFoundError.of("task", task_id)
            if task.status in TERMINAL:
                return task
            # Claim again at the next poll while it waits in the queue; while someone holds
            # it, once a lease (a holder that died has lost it by then).
            next_claim = 0.0 if task.status == "pending" else time.monotonic() + self.lease_seconds
            if time.monotonic() > deadline:
                raise DeadlineExceededError(
                    f"Task {task_id} did not finish within {timeout:.0f}s", {"task_id": task_id}
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    # ------------------------------------------------------------------ background worker
    def notify(self) -> None:
        self._wake.set()

    def _dispatch(self, pool: ThreadPoolExecutor) -> None:
        """Claim runnable tasks while a worker is free and hand them to the pool."""
        with self._lock:
            free = self.concurrency - len(self._running)
        if free <= 0:
            return
        for task_id in self.store.runnable_tasks(self.now()):
            if self._stop.is_set() or free <= 0:
                return
            with self._lock:
                if task_id in self._running:  # ours, running past its lease
                    continue
            claimed = self._claim(task_id)
            if claimed is None:
                continue
            with self._lock:
                self._running.add(task_id)
            free -= 1
            pool.submit(self._job, claimed)

    def _job(self, claimed: ClaimedTask) -> None:
        try:
            self._execute(claimed)
        except Exception as exc:  # the store is gone (closing); the lease will expire
            log.warning("task %s: %s", claimed.task.task_id, exc)
        finally:
            self._finish(claimed)

    def start(self, poll_seconds: float = 1.0) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="skald-extract")
        self._pool = pool

        def loop() -> None:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    self._dispatch(pool)
                except Exception as exc:  # keep the worker alive; the store may come back
                    log.warning("task worker: %s", exc)
                self._wake.wait(poll_seconds)

        self._thread = threading.Thread(target=loop, name="skald-tasks", daemon=True)
        self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the tasks in hand (waiting up to ``timeout``); unfinished tasks stay
        queued for the next start."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._pool is not None:
            while time.monotonic() < deadline:
                with self._lock:
                    if not self._running:
                        break
                time.sleep(0.01)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
