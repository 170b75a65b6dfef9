"""Cleanup runs: the console's "delete sessions older than N days", confirmed once, then run
in the background one session at a time while the page polls its progress (HTMX).

A run deletes through ``DeletionService.cleanup`` (the API's rule and audit) in a thread of
this process, so leaving the page does not stop it. Its record says at every moment how many
sessions were dealt with, deleted, failed and skipped, and how it ended: ``done``,
``stopped`` (asked to, after the session in hand), or ``failed`` (an unexpected error).
Every session is deleted whole or not at all, so a run cut short leaves finished sessions
and untouched ones, never half of one; the page says which. Records live in memory (like
console sign-ins; shared by the workers of one ``skald serve --workers N``: ``SharedCleanupRuns``):
after a restart the run page says the server no longer knows the run and where to look (the
audit log, a new preview).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from skald_core.errors import FailedPreconditionError, SkaldError
from skald_core.identity import Identity
from skald_core.literals import CleanupBy
from skald_core.schemas import BatchFailure, CleanupResult, DeleteOptions
from skald_core.service.deletion import DeletionService
from skald_core.service.sessions import require_writable

from ..shared_state import SharedState

log = logging.getLogger("skald.console")

RunState = Literal["starting", "running", "done", "stopped", "failed"]
#: Finished runs are forgotten after this long, and beyond this many.
KEEP_SECONDS = 6 * 3600
MAX_RUNS = 200


@dataclass(slots=True)
class CleanupRun:
    run_id: str
    identity: Identity
    older_than_days: float
    by: CleanupBy
    options: DeleteOptions
    started_at: float
    state: RunState = "starting"
    total: int = 0
    processed: int = 0
    cutoff: str = ""
    deleted: list[str] = field(default_factory=list)
    failed: list[BatchFailure] = field(default_factory=list)
    error: str | None = None
    finished_at: float | None = None
    stop_requested: bool = False

    @property
    def finished(self) -> bool:
        return self.state in ("done", "stopped", "failed")

    @property
    def skipped(self) -> int:
        """Dealt with, neither deleted nor failed: gone already, or no longer that old."""
        return self.processed - len(self.deleted) - len(self.failed)

    @property
    def untouched(self) -> int:
        return self.total - self.processed

    @property
    def percent(self) -> int:
        return 100 if not self.total else self.processed * 100 // self.total


Spawn = Callable[[Callable[[], None]], None]


def _thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="console-cleanup", daemon=True).start()


class CleanupRuns:
    """The cleanup runs of this process (run id → record), each visible to the identity that
    started it only."""

    def __init__(self, deletion: DeletionService, *, spawn: Spawn = _thread) -> None:
        self._deletion = deletion
        self._spawn = spawn
        self._runs: dict[str, CleanupRun] = {}
        self._lock = threading.Lock()

    def start(
        self,
        identity: Identity,
        *,
        older_than_days: float,
        by: CleanupBy,
        options: DeleteOptions,
    ) -> CleanupRun:
        """Start a run (after the same argument checks as a dry run, so a bad request fails
        here, not in the background). One run at a time per identity."""
        require_writable(identity)
        self._deletion.cleanup(
            identity, older_than_days=older_than_days, by=by, options=options, dry_run=True
        )
        run = CleanupRun(
            run_id=secrets.token_urlsafe(9),
            identity=identity,
            older_than_days=older_than_days,
            by=by,
            options=options,
            started_at=time.time(),
        )
        self._register(run)
        self._spawn(lambda: self._run(run))
        return run

    def _register(self, run: CleanupRun) -> None:
        """Keep ``run``, unless its identity has one running (FailedPreconditionError)."""
        with self._lock:
            self._forget_old()
            busy = next(
                (r for r in self._runs.values() if r.identity == run.identity and not r.finished),
                None,
            )
            if busy is not None:
                raise _busy(busy.run_id)
            self._runs[run.run_id] = run

    def _saved(self, run: CleanupRun) -> None:
        """``run`` changed (kept here in memory: nothing to do)."""

    def _stop_asked(self, run: CleanupRun) -> bool:
        return run.stop_requested

    def find(self, identity: Identity, run_id: str) -> CleanupRun | None:
        with self._lock:
            run = self._runs.get(run_id)
        return run if run is not None and run.identity == identity else None

    def of(self, identity: Identity) -> list[CleanupRun]:
        """``identity``'s runs, newest first."""
        with self._lock:
            runs = [r for r in self._runs.values() if r.identity == identity]
        return sorted(runs, key=lambda r: r.started_at, reverse=True)

    def stop(self, identity: Identity, run_id: str) -> CleanupRun | None:
        run = self.find(identity, run_id)
        if run is not None and not run.finished:
            run.stop_requested = True
        return run

    def _run(self, run: CleanupRun) -> None:
        def progress(processed: int, result: CleanupResult) -> bool:
            if processed == 0:
                run.total, run.cutoff, run.state = len(result.matched), result.cutoff, "running"
            run.deleted = [r.session_id for r in result.deleted]
            run.failed = list(result.failed)
            run.processed = processed
            self._saved(run)
            return not self._stop_asked(run)

        try:
            self._deletion.cleanup(
                run.identity,
                older_than_days=run.older_than_days,
                by=run.by,
                options=run.options,
                progress=progress,
            )
            stopped = self._stop_asked(run)
            run.stop_requested = stopped
            run.state = "stopped" if stopped and run.untouched else "done"
        except SkaldError as exc:
            run.error, run.state = f"{exc.wire_code}: {exc.message}", "failed"
        except Exception as exc:  # the record must say the run ended, whatever ended it
            log.exception("console cleanup run %s failed", run.run_id)
            run.error, run.state = f"internal error ({type(exc).__name__})", "failed"
        finally:
            run.finished_at = time.time()
            self._saved(run)

    def _forget_old(self) -> None:
        now = time.time()
        done = sorted(
            (r for r in self._runs.values() if r.finished_at is not None),
            key=lambda r: r.finished_at or 0,
        )
        for r in done:
            if now - (r.finished_at or now) > KEEP_SECONDS or len(self._runs) >= MAX_RUNS:
                del self._runs[r.run_id]


def _busy(run_id: str) -> FailedPreconditionError:
    return FailedPreconditionError(
        "A cleanup is already running for these sessions; wait for it or stop it",
        {"reason": "cleanup_running", "run_id": run_id},
    )


_record = msgspec.msgpack.Decoder(CleanupRun)


class SharedCleanupRuns(CleanupRuns):
    """The cleanup runs of all the workers of one server (``SharedState``): a run goes on in
    the worker that started it, which writes its record at each step; any worker shows it,
    and a stop asked of any worker reaches it at its next session."""

    def __init__(self, deletion: DeletionService, state: SharedState, *, spawn: Spawn = _thread):
        super().__init__(deletion, spawn=spawn)
        self._state = state

    def _register(self, run: CleanupRun) -> None:
        owner = msgspec.msgpack.encode(run.identity)
        now = time.time()

        def register(conn: Any) -> None:
            conn.execute(
                "DELETE FROM cleanup_runs WHERE finished_at < ? OR run_id IN (SELECT run_id "
                "FROM cleanup_runs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC "
                "LIMIT -1 OFFSET ?)",
                (now - KEEP_SECONDS, MAX_RUNS),
            )
            busy = conn.execute(
                "SELECT run_id FROM cleanup_runs WHERE owner = ? AND finished_at IS NULL",
                (owner,),
            ).fetchone()
            if busy is not None:
                raise _busy(busy[0])
            conn.execute(
                "INSERT INTO cleanup_runs (run_id, owner, started_at, record) VALUES (?, ?, ?, ?)",
                (run.run_id, owner, run.started_at, msgspec.msgpack.encode(run)),
            )

        self._state.transaction(register)

    def _saved(self, run: CleanupRun) -> None:
        record = msgspec.msgpack.encode(run)
        self._state.transaction(
            lambda conn: conn.execute(
                "UPDATE cleanup_runs SET record = ?, finished_at = ? WHERE run_id = ?",
                (record, run.finished_at, run.run_id),
            )
        )

    def _stop_asked(self, run: CleanupRun) -> bool:
        got = self._state.rows(
            "SELECT stop_requested FROM cleanup_runs WHERE run_id = ?", (run.run_id,)
        )
        return bool(got and got[0][0])

    def _load(self, where: str, args: tuple[Any, ...]) -> list[CleanupRun]:
        runs = []
        for record, stop in self._state.rows(
            f"SELECT record, stop_requested FROM cleanup_runs WHERE {where} "
            "ORDER BY started_at DESC",
            args,
        ):
            run = _record.decode(record)
            run.stop_requested = run.stop_requested or bool(stop)
            runs.append(run)
        return runs

    def find(self, identity: Identity, run_id: str) -> CleanupRun | None:
        owner = msgspec.msgpack.encode(identity)
        found = self._load("run_id = ? AND owner = ?", (run_id, owner))
        return found[0] if found else None

    def of(self, identity: Identity) -> list[CleanupRun]:
        return self._load("owner = ?", (msgspec.msgpack.encode(identity),))

    def stop(self, identity: Identity, run_id: str) -> CleanupRun | None:
        owner = msgspec.msgpack.encode(identity)
        self._state.transaction(
            lambda conn: conn.execute(
                "UPDATE cleanup_runs SET stop_requested = 1 WHERE run_id = ? AND owner = ? "
                "AND finished_at IS NULL",
                (run_id, owner),
            )
        )
        return self.find(identity, run_id)
