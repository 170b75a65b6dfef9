"""SIGKILL a process in the middle of writing, then check the store is whole.

A worker process (``worker.py``) creates big sessions, commits them (waiting and not) and
deletes them, announcing each operation with ``BEGIN`` and acknowledging it with ``DONE``.
The test kills it with SIGKILL after a random delay (but never before the worker acknowledged
``MIN_DONE_OPS`` operations, however slow a loaded machine makes it), then opens the data
directory and checks:

* the database passes ``check_integrity()`` (counters match rows, no orphans);
* every acknowledged delete is gone, every acknowledged session is still there;
* every session holds exactly the messages acknowledged for it, or that plus the one batch
  that was in flight (a batch is all or nothing), and its archives match its commits;
* every memory file has provenance from an archive a commit created;
* once a new client has run ``initialize()`` and the leftover extraction has finished, no task
  is pending or running, every archive is done, and nothing deleted came back.

Runs are reproducible up to timing: ``SKALD_CRASH_SEED=<n>`` fixes the seeds; failures print it.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from crash_support import BATCH, START_TIMEOUT, lease_end, wait_for, worker_process

import skald

WORKER = Path(__file__).with_name("worker.py")
ITERATIONS_PER_MODE = 13  # 26 kills in all
PARALLEL = 4
MAX_KILL_DELAY = 0.9
#: A kill comes MAX_KILL_DELAY seconds after READY at random, and never before this many DONEs.
MIN_DONE_OPS = 4
#: Waits, not performance requirements: they end as soon as their condition holds.
RECOVERY_TIMEOUT = 60.0


# ---------------------------------------------------------------------------- the worker's log


@dataclass
class Log:
    """What the worker announced (BEGIN) and acknowledged (DONE) before it died."""

    text: str
    begun_create: set[str] = field(default_factory=set)
    created: set[str] = field(default_factory=set)
    added: dict[str, int] = field(default_factory=dict)
    archived: Counter[str] = field(default_factory=Counter)
    commits_begun: Counter[str] = field(default_factory=Counter)
    deleted: set[str] = field(default_factory=set)
    in_flight: tuple[str, str] | None = None
    done_ops: int = 0

    @classmethod
    def parse(cls, text: str) -> Log:
        log = cls(text)
        *lines, _partial = text.split("\n")  # a line cut short by the kill does not count
        for line in lines:
            kind, *rest = line.split()
            if kind not in ("BEGIN", "DONE"):
                continue
            op, sid, *args = rest
            if kind == "BEGIN":
                assert log.in_flight is None, f"two operations in flight: {line}"
                log.in_flight = (op, sid)
                if op == "create":
                    log.begun_create.add(sid)
                elif op == "commit":
                    log.commits_begun[sid] += 1
                continue
            assert log.in_flight == (op, sid), f"DONE without BEGIN: {line}"
            log.in_flight = None
            log.done_ops += 1
            if op == "create":
                log.created.add(sid)
                log.added[sid] = 0
            elif op == "add":
                log.added[sid] = int(args[0])
            elif op == "commit":
                log.archived[sid] += int(args[0])
            elif op == "delete":
                log.deleted.add(sid)
        return log

    def in_flight_on(self, op: str, sid: str) -> bool:
        return self.in_flight == (op, sid)


# ---------------------------------------------------------------------------- the database as it is


@dataclass
class Snapshot:
    sessions: dict[str, tuple[int, int]]  # sid -> (pk, total_message_count)
    message_rows: dict[int, int]  # session pk -> rows
    archives: dict[int, list[tuple[int, str, int]]]  # pk -> [(archive_no, status, count)]
    memories: list[tuple[str, str | None, int | None]]  # (path, source sid, source archive)
    runnable_tasks: list[tuple[str, str, int | None]]  # (task_id, sid, archive_no)
    completed_tasks: Counter[tuple[int, int]]  # (pk, archive_no) -> completed tasks
    session_files: list[str]  # every files row below a sessions directory

    @classmethod
    def read(cls, db_file: Path) -> Snapshot:
        db = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
        try:
            q = db.execute
            archives: dict[int, list[tuple[int, str, int]]] = {}
            for pk, no, status, count in q(
                "SELECT session_pk, archive_no, status, message_count FROM archives "
                "ORDER BY session_pk, archive_no"
            ):
                archives.setdefault(pk, []).append((no, status, count))
            return cls(
                sessions={
                    sid: (pk, total)
                    for sid, pk, total in q(
                        "SELECT session_id, pk, total_message_count FROM sessions"
                    )
                },
                message_rows=dict(
                    q("SELECT session_pk, COUNT(*) FROM messages GROUP BY session_pk").fetchall()
                ),
                archives=archives,
                memories=q(
                    "SELECT f.path, ms.session_id, ms.archive_no FROM files f "
                    "LEFT JOIN memory_sources ms ON ms.file_pk = f.pk "
                    "WHERE f.is_dir = 0 AND f.path GLOB 'user/*/memories/*'"
                ).fetchall(),
                runnable_tasks=q(
                    "SELECT task_id, session_id, archive_no FROM tasks "
                    "WHERE status IN ('pending', 'running')"
                ).fetchall(),
                completed_tasks=Counter(
                    (pk, no)
                    for pk, no in q(
                        "SELECT session_pk, archive_no FROM tasks WHERE status = 'completed' "
                        "AND session_pk IS NOT NULL"
                    )
                ),
                session_files=[
                    p for (p,) in q("SELECT path FROM files WHERE path GLOB 'user/*/sessions/*'")
                ],
            )
        finally:
            db.close()


def check_sessions(log: Log, snap: Snapshot) -> None:
    """Acknowledged deletes are gone; every session is absent or exactly what was acknowledged."""
    assert set(snap.sessions) <= log.begun_create, "a session nobody created exists"
    assert not log.deleted & set(snap.sessions), "an acknowledged delete came back"
    for sid in log.created - log.deleted:
        if not log.in_flight_on("delete", sid):
            assert sid in snap.sessions, f"acknowledged session {sid} is missing"
    for sid, (pk, total) in snap.sessions.items():
        acked = log.added.get(sid, 0)
        allowed = {acked, acked + BATCH} if log.in_flight_on("add", sid) else {acked}
        rows = snap.message_rows.get(pk, 0)
        assert rows in allowed, f"{sid}: {rows} message rows, acknowledged {acked}"
        assert total == rows, f"{sid}: counter {total} != {rows} rows"
        numbers = [no for no, _, _ in snap.archives.get(pk, [])]
        low = log.archived[sid]
        high = low + log.in_flight_on("commit", sid)
        assert low <= len(numbers) <= high, f"{sid}: {len(numbers)} archives, {low} acknowledged"
        assert numbers == list(range(1, len(numbers) + 1)), f"{sid}: archives {numbers}"
    for path in snap.session_files:
        assert path.split("/")[3] in snap.sessions, f"file {path} outlived its session"


def check_memories(log: Log, snap: Snapshot) -> None:
    """Every memory file comes from an archive some commit created (of a session that said so)."""
    archives_by_sid = {
        sid: {no: status for no, status, _ in snap.archives.get(pk, [])}
        for sid, (pk, _) in snap.sessions.items()
    }
    for path, sid, archive_no in snap.memories:
        assert sid is not None and archive_no is not None, f"memory {path} has no provenance"
        assert f"likes-topic-{sid}-number-" in path, f"memory {path} credited to {sid}"
        assert 1 <= archive_no <= log.commits_begun[sid], (
            f"memory {path} from {sid}/archive {archive_no}, "
            f"but only {log.commits_begun[sid]} commits were started"
        )
        if sid in archives_by_sid:
            assert archives_by_sid[sid].get(archive_no) == "done", (
                f"memory {path} from {sid}/archive {archive_no}, which is not done"
            )


# ---------------------------------------------------------------------------- one kill


@dataclass
class Outcome:
    seed: int
    delay: float
    log: Log | None = None
    failure: str | None = None


def done_lines(text: str) -> int:
    return sum(line.startswith("DONE ") for line in text.split("\n")[:-1])


def kill_worker_at_random(data_dir: Path, mode: str, seed: int, delay: float) -> Log:
    with worker_process(WORKER, data_dir, [mode, str(seed)]) as worker:
        ready = time.monotonic()
        # The delay runs from READY, as on an idle machine, but the kill waits for the worker's
        # first MIN_DONE_OPS acknowledgements (which a loaded machine may take longer to reach).
        wait_for(
            lambda: done_lines(worker.out()) >= MIN_DONE_OPS or worker.proc.poll() is not None,
            START_TIMEOUT,
            f"the worker to acknowledge {MIN_DONE_OPS} operations",
        )
        time.sleep(max(0.0, ready + delay - time.monotonic()))
        assert worker.proc.poll() is None, f"worker exited early:\n{worker.err()}"
        worker.proc.send_signal(signal.SIGKILL)
    return Log.parse(worker.out())


def check_after_kill(data_dir: Path, log: Log) -> None:
    db_file = data_dir / "skald.db"
    client = skald.OpenViking(path=data_dir)  # not initialised yet: look before recovery
    try:
        assert client.services.store.check_integrity() == [], "integrity right after the kill"
        before = Snapshot.read(db_file)
        check_sessions(log, before)
        check_memories(log, before)

        # Start the new client once the dead worker's task leases have run out, so its first
        # pass resumes everything (a task it held is retaken only after its lease expires).
        time.sleep(max(0.0, lease_end(db_file) - time.time()))
        client.initialize()  # resumes extraction left over by the dead worker
        wait_for(
            lambda: not Snapshot.read(db_file).runnable_tasks,
            RECOVERY_TIMEOUT,
            "leftover extraction to finish",
        )
        after = Snapshot.read(db_file)
        assert client.services.store.check_integrity() == [], "integrity after recovery"
        assert after.sessions == before.sessions, "sessions changed during recovery"
        check_sessions(log, after)
        check_memories(log, after)
        for sid, (pk, total) in after.sessions.items():
            assert client.get_session(sid)["total_message_count"] == total
            for no, status, _ in after.archives.get(pk, []):
                assert status == "done", f"{sid}/archive {no} is {status} after recovery"
                assert after.completed_tasks[(pk, no)] == 1, f"{sid}/archive {no} tasks"
        for sid in log.deleted:
            assert not client.session_exists(sid)
    finally:
        client.close()


def one_kill(root: Path, mode: str, seed: int) -> Outcome:
    rng = random.Random(seed)
    outcome = Outcome(seed=seed, delay=rng.uniform(0.0, MAX_KILL_DELAY))
    data_dir = root / f"{mode}-{seed}"
    try:
        outcome.log = kill_worker_at_random(data_dir, mode, seed, outcome.delay)
        check_after_kill(data_dir, outcome.log)
    except Exception as exc:
        tail = "\n".join(outcome.log.text.splitlines()[-8:]) if outcome.log else ""
        err = data_dir.with_suffix(".err")
        outcome.failure = (
            f"seed={seed} delay={outcome.delay:.3f}s: {type(exc).__name__}: {exc}\n"
            f"  in flight: {outcome.log.in_flight if outcome.log else None}\n"
            f"  worker log tail:\n{tail}\n"
            f"  worker stderr:\n{err.read_text() if err.exists() else ''}"
        )
    return outcome


# ---------------------------------------------------------------------------- the tests


@pytest.fixture(scope="module")
def base_seed() -> int:
    return int(os.environ.get("SKALD_CRASH_SEED") or random.SystemRandom().randrange(2**31))


@pytest.mark.timeout(300)  # a hang guard: the test takes ~5 s idle, ~20 s under heavy load
@pytest.mark.parametrize("mode", ["delete-heavy", "commit-heavy"])
def test_sigkill_mid_write_leaves_a_whole_store(mode, base_seed, tmp_path):
    seeds = [base_seed + i for i in range(ITERATIONS_PER_MODE)]

    with ThreadPoolExecutor(PARALLEL) as pool:
        outcomes = list(pool.map(lambda s: one_kill(tmp_path, mode, s), seeds))

    failures = [o.failure for o in outcomes if o.failure]
    assert not failures, (
        f"{len(failures)}/{len(outcomes)} kills broke the store "
        f"(rerun with SKALD_CRASH_SEED={base_seed}):\n\n" + "\n\n".join(failures)
    )
    logs = [o.log for o in outcomes if o.log]
    mid_operation = [log.in_flight for log in logs if log.in_flight]
    # The test is only worth something if kills land while work is going on.
    assert len(mid_operation) >= len(logs) // 2, (
        f"only {len(mid_operation)}/{len(logs)} kills landed mid-operation "
        f"(SKALD_CRASH_SEED={base_seed})"
    )
    # Guaranteed by the kill waiting for MIN_DONE_OPS acknowledgements: checks that it did.
    assert sum(log.done_ops for log in logs) > 3 * len(logs), (
        f"workers did too little before the kill (SKALD_CRASH_SEED={base_seed})"
    )
