"""The extraction task runner: claims queued commit tasks, runs the extractor, applies results.

A task's effects (memory files, provenance, archive marked done, task completed) are written
in one store transaction that first checks the claim is still held and the session still
exists, so an extraction never runs twice for one archive and a late one for a deleted
session writes nothing. Tasks left running by a dead process are retaken once their lease
expires; pending ones are picked up whenever a runner starts.
"""

from __future__ import annotations

import logging
import threading
import time

import msgspec

from .. import clock
from ..errors import DeadlineExceededError, NotFoundError
from ..schemas import Message, message_decoder
from ..store.model import MemoryFact, Owner, TaskRow
from ..store.protocol import Store
from .extraction import Extractor

log = logging.getLogger("skald.tasks")

TERMINAL = frozenset({"completed", "failed", "cancelled"})


def memory_path(user: str, category: str, slug: str) -> str:
    return f"user/{user}/memories/{category}/{slug}.md"


class TaskRunner:
    def __init__(self, store: Store, extractor: Extractor, *, lease_seconds: float = 30.0) -> None:
        self.store = store
        self.extractor = extractor
        self.lease_seconds = lease_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ one task
    def run(self, task_id: str) -> bool:
        """Run one task if it can be claimed; True when this call ran it."""
        claimed = self.store.claim_task(task_id, clock.now(), self.lease_seconds)
        if claimed is None:
            return False
        task = claimed.task
        try:
            messages: list[Message] = [message_decoder.decode(m.body) for m in claimed.messages]
            found = self.extractor.extract(messages, task.user)
            facts = [
                MemoryFact(
                    path=memory_path(task.user, f.category, f.slug),
                    category=f.category,
                    content=f.content,
                )
                for f in found
            ]
            by_category: dict[str, int] = {}
            for f in facts:
                by_category[f.category] = by_category.get(f.category, 0) + 1
            by_category["total"] = len(facts)
            result = msgspec.json.encode(
                {
                    "session_id": task.session_id,
                    "archive_uri": f"viking://user/{task.user}/sessions/{task.session_id}/history/"
                    f"archive_{task.archive_no or 0:03d}",
                    "memories_extracted": by_category,
                    "memory_uris": sorted("viking://" + f.path for f in facts),
                    "extractor": self.extractor.name,
                }
            )
            outcome = self.store.complete_extraction(
                task_id, claimed.claim, facts, result, clock.now()
            )
            log.debug("task %s: %s (%d memories)", task_id, outcome.status, outcome.memories)
        except Exception as exc:  # the extractor is pluggable: record any failure on the task
            log.warning("task %s failed: %s", task_id, exc)
            self.store.fail_task(
                task_id, claimed.claim, f"{type(exc).__name__}: {exc}", clock.now()
            )
        return True

    def run_pending(self) -> int:
        ran = 0
        for task_id in self.store.runnable_tasks(clock.now()):
            if self._stop.is_set():
                break
            ran += self.run(task_id)
        return ran

    def wait(self, owner: Owner, task_id: str, timeout: float = 60.0) -> TaskRow:
        """Run the task here if nobody holds it, else wait until it reaches a terminal state."""
        deadline = time.monotonic() + timeout
        delay = 0.002
        while True:
            self.run(task_id)
            task = self.store.get_task(owner, task_id)
            if task is None:
                raise NotFoundError.of("task", task_id)
            if task.status in TERMINAL:
                return task
            if time.monotonic() > deadline:
                raise DeadlineExceededError(
                    f"Task {task_id} did not finish within {timeout:.0f}s", {"task_id": task_id}
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    # ------------------------------------------------------------------ background worker
    def notify(self) -> None:
        self._wake.set()

    def start(self, poll_seconds: float = 1.0) -> None:
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.run_pending()
                except Exception as exc:  # keep the worker alive; the store may come back
                    log.warning("task worker: %s", exc)
                self._wake.wait(poll_seconds)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="skald-tasks", daemon=True)
        self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the task in hand; unfinished tasks stay queued for the next start."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
