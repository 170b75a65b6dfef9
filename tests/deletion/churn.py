"""Concurrent add / commit / delete / restore on a few session ids, and the invariants after it.

``churn(client, ...)`` runs random operations from one thread and records each one as an
``Op``: what was attempted, on which session, when the call started and returned (the
system-wide monotonic clock, comparable across threads and processes) and how it ended:

* ``ok``      – acknowledged;
* ``noop``    – refused with a definite error (not found, precondition, aborted...): the
                operation's transaction did not happen;
* ``unknown`` – anything else (a transport or storage failure): it may or may not have happened.

An operation takes effect at some instant between its start and its return, so per session:

* a message acknowledged is *certainly after* every delete that returned before the append
  started, and the only deletes that can have removed it are the ones that returned after it
  started (``Verdict.lost``: acknowledged messages missing without such a delete);
* a session is *certainly deleted* when some acknowledged hard delete started after every append
  that may have happened had returned (``Verdict.resurrected``: such a session exists);
* a message present must come from an append that was not refused (``Verdict.phantoms``);
* a ``commit_first`` delete acknowledged extracted every message acknowledged before it started,
  unless a plain hard delete may have come between them (``Verdict.unextracted``);
* after the tasks drained: no archive is pending, no task is runnable, and every done archive's
  facts are memories with provenance from that archive (``Verdict.memoryless``).

Run as a script it is one worker process of the multi-process test:
``python churn.py <data_path> <worker digit> <seed> <seconds> <threads> <ops.json>
<barrier_dir> <processes>``.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import skald

SIDS = ("c0", "c1", "c2", "c3")
MEMORIES = "user/default/memories/preferences/likes-token-"
TOKEN = re.compile(rb"token (w\d+n\d+)")
#: Refusals that prove the operation's transaction did not happen.
DEFINITE = (
    skald.NotFoundError,
    skald.FailedPreconditionError,
    skald.AlreadyExistsError,
    skald.AbortedError,
    skald.InvalidArgumentError,
)
WEIGHTS = {
    "add": 12,
    "commit": 3,
    "soft": 1.5,
    "restore": 2.5,
    "hard": 1,
    "commit_first": 0.7,
    "batch": 0.4,
    "cleanup": 0.15,
}
DELETES = ("hard", "commit_first")
#: Every kind of operation a run must have had acknowledged (batch and cleanup record "hard").
KINDS = frozenset({"add", "commit", "soft", "restore", "hard", "commit_first"})
#: A random phase that has not seen every kind acknowledged yet goes on up to this many seconds
#: past its end (a loaded machine gets through fewer operations in the time).
COVERAGE_DEADLINE = 60.0
TAIL = 0.4
#: Acknowledged appends each worker makes after the barrier, however long that takes...
TAIL_APPENDS = 2
#: ...up to this many seconds past the tail.
TAIL_DEADLINE = 60.0
#: How long a worker waits for the others at the end of the random phase.
BARRIER_TIMEOUT = 90.0


@dataclass
class Op:
    kind: str  # add | commit | soft | restore | hard | commit_first (batch/cleanup: hard)
    sid: str
    start: float
    end: float = 0.0
    outcome: str = "unknown"
    token: str | None = None
    detail: str | None = None  # the error, or the receipt of a commit_first delete


def _outcome(exc: BaseException) -> str:
    return "noop" if isinstance(exc, DEFINITE) else "unknown"


def churn(
    client: Any,
    worker: str,
    rng: random.Random,
    *,
    until: float,
    record: Callable[[Op], None],
    barrier: Callable[[], None],
    covered: Callable[[], bool] = lambda: True,
    tail: float = TAIL,
    tail_appends: int = TAIL_APPENDS,
) -> None:
    """Random operations on ``SIDS`` until the monotonic clock passes ``until`` and
    ``covered()`` (every kind of operation acknowledged; at most ``COVERAGE_DEADLINE`` seconds
    longer); then, once every worker has finished its random phase (``barrier``), a tail of at
    least ``tail`` seconds and ``tail_appends`` acknowledged appends of this worker: only
    appends, commits and restores on the first half of ``SIDS``, only deletes and restores on
    the other half.
    So every run ends with messages no delete can excuse (no delete of their session runs
    after the barrier) and with sessions whose last acknowledged operation is a hard delete,
    however slow the machine is."""
    tokens = (f"{worker}n{n}" for n in itertools.count())
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    while (now := time.monotonic()) < until or (now < until + COVERAGE_DEADLINE and not covered()):
        _one(client, rng.choice(SIDS), rng.choices(kinds, weights)[0], tokens, rng, record)
    barrier()
    tail_until = time.monotonic() + tail
    deadline = tail_until + TAIL_DEADLINE
    acked = 0
    while (now := time.monotonic()) < tail_until or (acked < tail_appends and now < deadline):
        sid = rng.choice(SIDS)
        if sid in SIDS[: len(SIDS) // 2]:
            kind = rng.choice(["add", "add", "add", "commit", "restore"])
        else:
            kind = rng.choice(["hard", "hard", "commit_first", "soft", "restore"])
        op = _one(client, sid, kind, tokens, rng, record)
        acked += op is not None and op.kind == "add" and op.outcome == "ok"


def _one(
    client: Any,
    sid: str,
    kind: str,
    tokens: Iterator[str],
    rng: random.Random,
    record: Callable[[Op], None],
) -> Op | None:
    """One operation, recorded (batch and cleanup record one op per id and return None)."""
    start = time.monotonic()
    if kind in ("batch", "cleanup"):
        _many(client, kind, sid, rng, start, record)
        return None
    op = Op(kind, sid, start)
    try:
        if kind == "add":
            op.token = next(tokens)
            client.add_message(sid, "user", f"I love token {op.token}.")
        elif kind == "commit":
            client.commit_session(sid, wait=rng.random() < 0.3)
        elif kind == "soft":
            client.delete_session(sid, mode="soft")
        elif kind == "restore":
            client.restore_session(sid)
        elif kind == "hard":
            client.delete_session(sid)
        else:
            receipt = client.delete_session(sid, commit_first=True)
            op.detail = f"receipt {receipt['deleted']}"
        op.outcome = "ok"
    except Exception as exc:
        op.outcome, op.detail = _outcome(exc), f"{type(exc).__name__}: {exc}"[:300]
    op.end = time.monotonic()
    record(op)
    return op


def _many(
    client: Any,
    kind: str,
    sid: str,
    rng: random.Random,
    start: float,
    record: Callable[[Op], None],
) -> None:
    """A batch delete of two ids, or a cleanup of everything: one hard delete per id."""
    ids = [sid, rng.choice([s for s in SIDS if s != sid])] if kind == "batch" else list(SIDS)
    try:
        result = client.delete_sessions(ids) if kind == "batch" else client.cleanup_sessions(0)
        deleted = {r["session_id"] for r in result["deleted"]}
        outcomes = {i: "ok" if i in deleted else "noop" for i in ids}
        detail = None
    except Exception as exc:
        outcomes = dict.fromkeys(ids, _outcome(exc))
        detail = f"{type(exc).__name__}: {exc}"[:300]
    end = time.monotonic()
    for i in ids:
        record(Op("hard", i, start, end, outcomes[i], detail=detail))


def run_threads(
    make_client: Callable[[int], Any],
    threads: int,
    seconds: float,
    seed: int,
    prefix: str = "w",
    *,
    across: Callable[[], None] | None = None,
) -> list[Op]:
    """``threads`` threads churning for about ``seconds`` (longer until every kind of operation
    was acknowledged); every operation each one recorded. ``across`` runs once all threads
    finished their random phase, before any starts its tail (the multi-process test waits there
    for the other processes)."""
    ops: list[Op] = []
    barrier = threading.Barrier(threads, action=across, timeout=BARRIER_TIMEOUT)
    lock = threading.Lock()
    failures: list[BaseException] = []
    acked: set[str] = set()

    def record(op: Op) -> None:
        with lock:
            ops.append(op)
            if op.outcome == "ok":
                acked.add(op.kind)

    def covered() -> bool:
        with lock:
            return acked >= KINDS

    def body(i: int) -> None:
        try:
            churn(
                make_client(i),
                f"{prefix}{i}",
                random.Random(seed * 1000 + i),
                until=until,
                record=record,
                barrier=barrier.wait,
                covered=covered,
            )
        except BaseException as exc:  # a bug in the driver itself
            failures.append(exc)
            barrier.abort()

    until = time.monotonic() + seconds - TAIL
    pool = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(seconds + COVERAGE_DEADLINE + BARRIER_TIMEOUT + TAIL_DEADLINE + 30)
    assert not any(t.is_alive() for t in pool), "a churn thread hung"
    assert not failures, failures
    return ops


# ---------------------------------------------------------------------------- after the churn


@dataclass
class Stored:
    """What the database holds once everything stopped."""

    sessions: dict[str, bool]  # sid -> trashed
    tokens: dict[str, set[str]]  # sid -> tokens of its messages (live and archived)
    archives: dict[tuple[str, int], tuple[str, set[str]]]  # (sid, no) -> (status, tokens)
    memories: dict[str, set[tuple[str, int]]]  # token -> its memory's provenance (sid, no)
    runnable_tasks: int

    @classmethod
    def read(cls, db_file: Path) -> Stored:
        db = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
        try:
            q = db.execute
            sessions = {
                sid: trashed
                for sid, trashed in q("SELECT session_id, deleted_at IS NOT NULL FROM sessions")
            }
            tokens: dict[str, set[str]] = {sid: set() for sid in sessions}
            in_archive: dict[tuple[str, int], set[str]] = {}
            for sid, no, body in q(
                "SELECT s.session_id, m.archive_no, m.body FROM messages m "
                "JOIN sessions s ON s.pk = m.session_pk"
            ):
                found = {t.decode() for t in TOKEN.findall(bytes(body))}
                tokens[sid] |= found
                in_archive.setdefault((sid, no), set()).update(found)
            archives = {
                (sid, no): (status, in_archive.get((sid, no), set()))
                for sid, no, status in q(
                    "SELECT s.session_id, a.archive_no, a.status FROM archives a "
                    "JOIN sessions s ON s.pk = a.session_pk"
                )
            }
            memories: dict[str, set[tuple[str, int]]] = {}
            for path, sid, no in q(
                "SELECT f.path, ms.session_id, ms.archive_no FROM files f "
                "LEFT JOIN memory_sources ms ON ms.file_pk = f.pk "
                "WHERE f.is_dir = 0 AND f.path GLOB 'user/*/memories/*'"
            ):
                assert path.startswith(MEMORIES), f"unexpected memory {path}"
                token = path[len(MEMORIES) : -len(".md")]
                memories.setdefault(token, set())
                if sid is not None:
                    memories[token].add((sid, no))
            (runnable,) = q(
                "SELECT COUNT(*) FROM tasks WHERE status IN ('pending', 'running')"
            ).fetchone()
            return cls(sessions, tokens, archives, memories, runnable)
        finally:
            db.close()


@dataclass
class Verdict:
    lost: list[str] = field(default_factory=list)
    resurrected: list[str] = field(default_factory=list)
    phantoms: list[str] = field(default_factory=list)
    unextracted: list[str] = field(default_factory=list)
    memoryless: list[str] = field(default_factory=list)
    checked_messages: int = 0  # acknowledged messages that had to be there
    certainly_deleted: int = 0  # sessions that had to be gone
    checked_extractions: int = 0  # messages a commit_first delete had to extract

    @property
    def problems(self) -> dict[str, list[str]]:
        return {
            name: items[:10]
            for name in ("lost", "resurrected", "phantoms", "unextracted", "memoryless")
            if (items := getattr(self, name))
        }


def judge(ops: list[Op], stored: Stored) -> Verdict:
    verdict = Verdict()
    for sid in SIDS:
        mine = [o for o in ops if o.sid == sid]
        appends = [o for o in mine if o.kind == "add" and o.outcome != "noop"]
        deletes = [o for o in mine if o.kind in DELETES and o.outcome != "noop"]
        present = stored.tokens.get(sid, set())

        for m in appends:
            if m.outcome == "ok" and not any(d.end > m.start for d in deletes):
                verdict.checked_messages += 1
                if m.token not in present:
                    verdict.lost.append(f"{sid}: {m.token} acked at {m.end:.4f}")

        last_append = max((a.end for a in appends), default=float("-inf"))
        if any(d.outcome == "ok" and d.start > last_append for d in deletes):
            verdict.certainly_deleted += 1
            if sid in stored.sessions:
                verdict.resurrected.append(f"{sid}: {len(present)} messages")

        possible = {a.token for a in appends}
        verdict.phantoms += [f"{sid}: {t}" for t in sorted(present - possible)]

        plain = [d for d in deletes if d.kind == "hard"]
        for d in mine:
            if d.kind != "commit_first" or d.outcome != "ok":
                continue
            for m in appends:
                if m.outcome != "ok" or m.end >= d.start:
                    continue
                if any(x.end > m.start and x.start < d.end for x in plain):
                    continue  # a plain hard delete may have taken it first
                verdict.checked_extractions += 1
                if m.token not in stored.memories:  # (its provenance may be gone with d)
                    verdict.unextracted.append(f"{sid}: {m.token} before commit_first delete")

    for (sid, no), (status, tokens) in stored.archives.items():
        if status == "pending":
            verdict.memoryless.append(f"{sid}/archive {no} still pending")
        elif status == "done":
            for t in tokens:
                if (sid, no) not in stored.memories.get(t, set()):
                    verdict.memoryless.append(f"{sid}/archive {no}: no memory for {t}")
    if stored.runnable_tasks:
        verdict.memoryless.append(f"{stored.runnable_tasks} tasks still runnable")
    return verdict


def wait_drained(db_file: Path, timeout: float = 60.0) -> None:
    """Until no task is pending or running (the background worker finished the queue)."""
    deadline = time.monotonic() + timeout
    while Stored.read(db_file).runnable_tasks:
        assert time.monotonic() < deadline, "extraction tasks did not drain"
        time.sleep(0.05)


# ---------------------------------------------------------------------------- worker process


def file_barrier(directory: Path, me: str, parties: int) -> Callable[[], None]:
    """A barrier across processes: each leaves a file in ``directory`` and waits for all."""

    def wait() -> None:
        directory.mkdir(exist_ok=True)
        (directory / me).touch()
        deadline = time.monotonic() + BARRIER_TIMEOUT
        while len(list(directory.iterdir())) < parties:
            if time.monotonic() > deadline:
                raise TimeoutError("the other churn processes did not reach the barrier")
            time.sleep(0.01)

    return wait


def main() -> None:
    path, worker, seed, seconds, threads, out, barrier_dir, processes = sys.argv[1:9]
    client = skald.OpenViking(path=path)
    client.services.runner.lease_seconds = 2.0  # leftovers of a slow exit are retaken quickly
    client.initialize()
    try:
        ops = run_threads(
            lambda i: client,
            int(threads),
            float(seconds),
            int(seed),
            prefix=f"w{worker}",
            across=file_barrier(Path(barrier_dir), worker, int(processes)),
        )
    finally:
        client.close()
    Path(out).write_text(json.dumps([asdict(o) for o in ops]))


if __name__ == "__main__":
    main()
