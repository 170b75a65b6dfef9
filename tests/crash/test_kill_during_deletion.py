"""SIGKILL a process in the middle of deleting, then check every session is whole or gone.

A worker process (``deletion_worker.py``) keeps a handful of big sessions and soft-deletes,
restores, purges, hard-deletes, batch-deletes and cleans them up, announcing each operation
with ``BEGIN`` and acknowledging it with ``DONE``. It dies by SIGKILL: in three runs out of four
it arms a timer that kills it a random 0-4 ms into its k-th deletion (a random k), since
deletions take milliseconds and would rarely be hit otherwise; in the others the test kills
it after a random delay. The test then replays the log into the state every session must be in (live, trashed or gone — or,
for the one operation in flight, either the state before or the state after it), then checks:

* ``check_integrity()`` is empty (counters match rows, no orphans);
* every session is in an allowed state: DONE deleted ones are gone, DONE restored ones live,
  DONE soft-deleted ones trashed; a session that exists holds every acknowledged message,
  its caller file and its archives (a trashed session is hidden, never thinned);
* the audit log holds exactly one row per state change that happened — the acknowledged ones
  plus the in-flight one exactly when it took effect (the audit row shares its transaction);
* after a new client resumed the dead worker's extraction: nothing changed state, every
  archive left is done, every trashed session can be restored with all its messages.

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

WORKER = Path(__file__).with_name("deletion_worker.py")
ITERATIONS = 16
PARALLEL = 4
MAX_KILL_DELAY = 0.8
MAX_KILL_AT = 40  # the worker kills itself during one of its first 40 deletions
MAX_IN_OP_DELAY = 0.004
#: Waits, not performance requirements: they end as soon as their condition holds.
RECOVERY_TIMEOUT = 60.0

LIVE, TRASHED, GONE = "live", "trashed", "gone"
#: The state an acknowledged single-session operation leaves, and its audit action.
SINGLE = {
    "soft": (TRASHED, "soft_delete"),
    "restore": (LIVE, "restore"),
    "purge": (GONE, "purge"),
    "delete": (GONE, "delete"),
}
DELETION_OPS = {"soft", "restore", "purge", "delete", "batch", "cleanup"}


def id_list(word: str) -> list[str]:
    return [] if word == "-" else word.split(",")


def many_action(op: str, mode: str) -> tuple[str, str]:
    """State and audit action of one id deleted by a batch delete or a cleanup."""
    if mode == "soft":
        return TRASHED, "soft_delete"
    return GONE, "batch_delete" if op == "batch" else "cleanup"


# ---------------------------------------------------------------------------- the worker's log


@dataclass
class Log:
    """The state the acknowledged operations left, and the one operation in flight."""

    text: str
    state: dict[str, str] = field(default_factory=dict)
    begun_create: set[str] = field(default_factory=set)
    added: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    archived: Counter[str] = field(default_factory=Counter)
    actions: dict[str, Counter[str]] = field(default_factory=dict)
    in_flight: list[str] | None = None
    done_ops: int = 0

    @classmethod
    def parse(cls, text: str) -> Log:
        log = cls(text)
        *lines, _partial = text.split("\n")  # a line cut short by the kill does not count
        for line in lines:
            kind, *words = line.split()
            if kind == "BEGIN":
                assert log.in_flight is None, f"two operations in flight: {line}"
                log.in_flight = words
                if words[0] == "create":
                    log.begun_create.add(words[1])
            elif kind == "DONE":
                assert log.in_flight and log.in_flight[:2] == words[:2], f"DONE alone: {line}"
                log.in_flight = None
                log.done_ops += 1
                log.apply(words)
        return log

    def move(self, sid: str, state: str, action: str) -> None:
        self.state[sid] = state
        self.actions.setdefault(sid, Counter())[action] += 1

    def apply(self, words: list[str]) -> None:
        op, arg, *rest = words
        if op == "create":
            self.state[arg], self.added[arg], self.files[arg] = LIVE, 0, 0
        elif op == "add":
            self.added[arg] = int(rest[0])
        elif op == "write":
            self.files[arg] = 1
        elif op == "commit":
            self.archived[arg] += int(rest[0])
        elif op in SINGLE:
            self.move(arg, *SINGLE[op])
        elif op in ("batch", "cleanup"):
            for sid in id_list(rest[0]):
                self.move(sid, *many_action(op, arg))
        else:
            raise AssertionError(f"unknown operation {words}")

    @property
    def in_flight_op(self) -> str | None:
        return self.in_flight[0] if self.in_flight else None

    def allowed(self, sid: str) -> dict[str, str | None]:
        """State -> audit action of the in-flight operation that leads there (None: no change)."""
        now = self.state.get(sid, GONE)
        allowed: dict[str, str | None] = {now: None}
        if not self.in_flight:
            return allowed
        op, arg, *rest = self.in_flight
        if op == "create" and arg == sid:
            allowed[LIVE] = None  # created, no audit
        elif op in SINGLE and arg == sid:
            allowed.setdefault(*SINGLE[op])
        elif op in ("batch", "cleanup") and sid in id_list(rest[0]):
            target, action = many_action(op, arg)
            if not (target == TRASHED and now != LIVE):  # only a live session can be trashed
                allowed.setdefault(target, action)
        return allowed


# ---------------------------------------------------------------------------- the database


@dataclass
class Stored:
    pk: int
    total: int
    deleted_at: float | None
    deleted_by: str | None
    rows: int = 0
    files: int = 0
    archives: list[tuple[int, str]] = field(default_factory=list)


def read_db(db_file: Path) -> tuple[dict[str, Stored], dict[str, Counter[str]], list[str]]:
    """Sessions as stored, audit actions per session id, runnable task ids."""
    db = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        q = db.execute
        sessions = {
            sid: Stored(pk, total, deleted_at, deleted_by)
            for sid, pk, total, deleted_at, deleted_by in q(
                "SELECT session_id, pk, total_message_count, deleted_at, deleted_by FROM sessions"
            )
        }
        by_pk = {s.pk: s for s in sessions.values()}
        for pk, n in q("SELECT session_pk, COUNT(*) FROM messages GROUP BY session_pk"):
            by_pk[pk].rows = n
        for pk, n in q(
            "SELECT session_pk, COUNT(*) FROM files WHERE is_dir = 0 AND session_pk IS NOT NULL "
            "GROUP BY session_pk"
        ):
            by_pk[pk].files = n
        for pk, no, status in q(
            "SELECT session_pk, archive_no, status FROM archives ORDER BY session_pk, archive_no"
        ):
            by_pk[pk].archives.append((no, status))
        audit: dict[str, Counter[str]] = {}
        for sid, action in q("SELECT session_id, action FROM audit_log"):
            audit.setdefault(sid, Counter())[action] += 1
        runnable = [
            t for (t,) in q("SELECT task_id FROM tasks WHERE status IN ('pending', 'running')")
        ]
        return sessions, audit, runnable
    finally:
        db.close()


def state_of(stored: Stored | None) -> str:
    if stored is None:
        return GONE
    return LIVE if stored.deleted_at is None else TRASHED


def check_store(log: Log, sessions: dict[str, Stored], audit: dict[str, Counter[str]]) -> None:
    assert set(sessions) <= log.begun_create, "a session nobody created exists"
    assert set(audit) <= log.begun_create, "an audit row for a session nobody created"
    flying = log.in_flight or [None, None]
    for sid in log.begun_create:
        stored = sessions.get(sid)
        state = state_of(stored)
        allowed = log.allowed(sid)
        assert state in allowed, (
            f"{sid} is {state}; acknowledged {log.state.get(sid, GONE)}, allowed {set(allowed)}"
        )
        # Exactly the acknowledged audit rows, plus the in-flight one iff it took effect.
        expected = Counter(log.actions.get(sid, Counter()))
        if allowed[state] is not None:
            expected[allowed[state]] += 1
        assert audit.get(sid, Counter()) == expected, (
            f"{sid} ({state}): audit {dict(audit.get(sid, {}))}, expected {dict(expected)}"
        )
        if stored is None:
            continue
        # Fully present: every acknowledged message, file and archive, live or trashed.
        acked = log.added.get(sid, 0)
        rows = {acked, acked + BATCH} if flying[:2] == ["add", sid] else {acked}
        assert stored.rows in rows, f"{sid} ({state}): {stored.rows} messages, acked {acked}"
        assert stored.total == stored.rows, f"{sid}: counter {stored.total} != {stored.rows}"
        files = {0, 1} if flying[:2] == ["write", sid] else {log.files.get(sid, 0)}
        assert stored.files in files, f"{sid} ({state}): {stored.files} caller files"
        low = log.archived[sid]
        high = low + (flying[:2] == ["commit", sid])
        assert low <= len(stored.archives) <= high, f"{sid}: archives {stored.archives}"
        assert (stored.deleted_by is not None) == (state == TRASHED), f"{sid}: deleted_by"


# ---------------------------------------------------------------------------- one kill


@dataclass
class Outcome:
    seed: int
    delay: float
    kill_at: int | None = None
    log: Log | None = None
    failure: str | None = None


def kill_worker_at_random(data_dir: Path, seed: int, delay: float, kill_at: int | None) -> Log:
    """Kill by the test after ``delay`` seconds, or (``kill_at``) by the worker itself
    ``delay`` seconds into its ``kill_at``-th deletion."""
    targeted = [str(kill_at), str(delay)] if kill_at else []
    with worker_process(WORKER, data_dir, [str(seed), *targeted]) as worker:
        if kill_at:
            worker.proc.wait(START_TIMEOUT)
        else:
            time.sleep(delay)
            assert worker.proc.poll() is None, f"worker exited early:\n{worker.err()}"
            worker.proc.send_signal(signal.SIGKILL)
    return Log.parse(worker.out())


def check_after_kill(data_dir: Path, log: Log) -> None:
    db_file = data_dir / "skald.db"
    client = skald.OpenViking(path=data_dir, lease_seconds=0.5)
    try:
        assert client.services.store.check_integrity() == [], "integrity right after the kill"
        before, audit, _ = read_db(db_file)
        check_store(log, before, audit)

        time.sleep(max(0.0, lease_end(db_file) - time.time()))
        client.initialize()  # resumes the dead worker's extraction (trashed sessions too)
        wait_for(lambda: not read_db(db_file)[2], RECOVERY_TIMEOUT, "leftover extraction")
        after, audit, _ = read_db(db_file)
        assert client.services.store.check_integrity() == [], "integrity after recovery"
        assert {s: state_of(v) for s, v in after.items()} == {
            s: state_of(v) for s, v in before.items()
        }, "a session changed state during recovery"
        check_store(log, after, audit)
        for sid, stored in after.items():
            assert all(status == "done" for _, status in stored.archives), (
                f"{sid}: archives {stored.archives} after recovery"
            )

        # Through the client: live ones readable, trashed ones hidden but whole and restorable.
        listed = {s["session_id"]: s for s in client.list_sessions(include_deleted=True)}
        assert set(listed) == set(after)
        for sid, stored in after.items():
            if state_of(stored) == TRASHED:
                assert not client.session_exists(sid)
                assert listed[sid]["deleted_at"]
                client.restore_session(sid)
            assert client.get_session(sid)["total_message_count"] == stored.rows
        assert client.services.store.check_integrity() == [], "integrity after restoring the trash"
    finally:
        client.close()


def one_kill(root: Path, seed: int) -> Outcome:
    rng = random.Random(seed)
    if seed % 4:
        outcome = Outcome(seed, rng.uniform(0.0, MAX_IN_OP_DELAY), rng.randint(1, MAX_KILL_AT))
    else:
        outcome = Outcome(seed, rng.uniform(0.0, MAX_KILL_DELAY))
    data_dir = root / f"deletion-{seed}"
    try:
        outcome.log = kill_worker_at_random(data_dir, seed, outcome.delay, outcome.kill_at)
        check_after_kill(data_dir, outcome.log)
    except Exception as exc:
        tail = "\n".join(outcome.log.text.splitlines()[-8:]) if outcome.log else ""
        err = data_dir.with_suffix(".err")
        outcome.failure = (
            f"seed={seed} delay={outcome.delay:.4f}s kill_at={outcome.kill_at}: "
            f"{type(exc).__name__}: {exc}\n"
            f"  in flight: {outcome.log.in_flight if outcome.log else None}\n"
            f"  worker log tail:\n{tail}\n"
            f"  worker stderr:\n{err.read_text() if err.exists() else ''}"
        )
    return outcome


# ---------------------------------------------------------------------------- the test


@pytest.fixture(scope="module")
def base_seed() -> int:
    return int(os.environ.get("SKALD_CRASH_SEED") or random.SystemRandom().randrange(2**31))


@pytest.mark.timeout(300)  # a hang guard: the test takes ~5 s idle, ~45 s under heavy load
def test_sigkill_mid_deletion_leaves_each_session_whole_or_gone(base_seed, tmp_path):
    seeds = [base_seed + i for i in range(ITERATIONS)]

    with ThreadPoolExecutor(PARALLEL) as pool:
        outcomes = list(pool.map(lambda s: one_kill(tmp_path, s), seeds))

    failures = [o.failure for o in outcomes if o.failure]
    assert not failures, (
        f"{len(failures)}/{len(outcomes)} kills broke the store "
        f"(rerun with SKALD_CRASH_SEED={base_seed}):\n\n" + "\n\n".join(failures)
    )
    logs = [o.log for o in outcomes if o.log]
    mid_deletion = [log.in_flight for log in logs if log.in_flight_op in DELETION_OPS]
    # Worth something only if kills land while deletions are going on, of every kind.
    assert len(mid_deletion) >= len(logs) // 2, (
        f"only {len(mid_deletion)}/{len(logs)} kills landed mid-deletion "
        f"(SKALD_CRASH_SEED={base_seed}): {[log.in_flight for log in logs]}"
    )
    done_kinds = {
        line.split()[1] for log in logs for line in log.text.splitlines() if line[:4] == "DONE"
    }
    assert done_kinds >= DELETION_OPS, f"never acknowledged: {DELETION_OPS - done_kinds}"
