"""Crash-test worker for deletion: soft delete, restore, purge, hard delete, batch delete and
cleanup on one Skald data directory, until somebody kills this process.

Usage: ``python deletion_worker.py <data_path> <seed> [<kill_at> <kill_delay>]``

With ``kill_at`` the worker kills itself (SIGKILL, from a timer thread) ``kill_delay``
seconds after it began its ``kill_at``-th deletion operation since READY (counting from 1):
a kill at a random point inside a deletion, which takes a few milliseconds (a timer that fires
after that deletion ended arms again for the next one: see ``KillPlan``). Without it, it
runs until the test kills it.

Like ``worker.py``, every operation is announced with ``BEGIN ...`` before it starts and
confirmed with ``DONE ...`` once it returned, each line flushed at once, so the test knows after
a SIGKILL what was acknowledged and which single operation was in flight. Lists of ids are
comma-separated, ``-`` when empty.

Lines:
    READY
    BEGIN create <sid>                  DONE create <sid>
    BEGIN add <sid> <n>                 DONE add <sid> <total messages added to sid so far>
    BEGIN write <sid>                   DONE write <sid>
    BEGIN commit <sid> <wait>           DONE commit <sid> <archived 0|1>
    BEGIN soft <sid>                    DONE soft <sid>
    BEGIN restore <sid>                 DONE restore <sid>
    BEGIN purge <sid>                   DONE purge <sid>           (hard delete of a trashed one)
    BEGIN delete <sid>                  DONE delete <sid>          (hard delete of a live one)
    BEGIN batch <mode> <ids>            DONE batch <mode> <ids deleted>
    BEGIN cleanup <mode> <live ids>     DONE cleanup <mode> <ids deleted>

The worker keeps a handful of sessions (a few hundred messages each, some committed, some with
a caller file) and spends most of its time deleting, restoring and purging them.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time

from crash_support import BATCH, batch

import skald

MAX_SECONDS = 60  # never outlive a test that forgot to kill us
LEASE_SECONDS = 0.5
POOL = 8  # sessions made before READY
REFILL = 3  # fewer sessions than this (live or trashed): make another one
#: cleanup_sessions(older_than_days=CLEANUP_AGE) matches sessions created over ~0.2 s ago.
CLEANUP_AGE = 0.2 / 86_400


DELETIONS = frozenset({"soft", "restore", "purge", "delete", "batch", "cleanup"})


class KillPlan:
    """SIGKILL this process ``delay`` seconds into its ``kill_at``-th deletion. A timer that
    fires late (a loaded machine) after that deletion is over arms itself again for the next
    deletion, with a fresh random delay no longer than the last, up to ``rearms`` times: the
    kill lands inside a deletion however slow the timer thread is scheduled."""

    def __init__(self, kill_at: int, delay: float, rearms: int = 20) -> None:
        self.left, self.delay, self.rearms = kill_at, delay, rearms
        self.in_flight = ""  # the operation between its BEGIN and its DONE

    def saw(self, kind: str, op: str) -> None:
        self.in_flight = op if kind == "BEGIN" else ""
        if kind == "BEGIN" and op in DELETIONS:
            self.left -= 1
            if self.left == 0:
                threading.Timer(self.delay, self.fire).start()

    def fire(self) -> None:
        if self.in_flight in DELETIONS or self.rearms == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        self.left, self.delay, self.rearms = 1, random.uniform(0.0, self.delay), self.rearms - 1


_kill_plan: KillPlan | None = None  # set by main() when the command line asks for one


def say(*words: object) -> None:
    print(*words, flush=True)
    kind, _, op = str(words[0]).partition(" ")
    if _kill_plan is not None:
        _kill_plan.saw(kind, op)


def ids_word(ids: list[str]) -> str:
    return ",".join(ids) or "-"


class Worker:
    def __init__(self, client: skald.OpenViking, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.added: dict[str, int] = {}
        self.live: list[str] = []
        self.trashed: list[str] = []
        self.next = 0

    # ------------------------------------------------------------------ building sessions
    def create(self, batches: int) -> None:
        sid = f"s{self.next:04d}"
        self.next += 1
        say("BEGIN create", sid)
        self.client.create_session(sid)
        self.added[sid] = 0
        self.live.append(sid)
        say("DONE create", sid)
        for _ in range(batches):
            say("BEGIN add", sid, BATCH)
            self.client.batch_add_messages(sid, batch(sid, self.added[sid]))
            self.added[sid] += BATCH
            say("DONE add", sid, self.added[sid])
        if self.rng.random() < 0.5:
            say("BEGIN write", sid)
            self.client.write(f"viking://session/{sid}/notes.md", f"notes of {sid}", mode="create")
            say("DONE write", sid)
        if self.rng.random() < 0.5:
            wait = self.rng.random() < 0.2
            say("BEGIN commit", sid, int(wait))
            result = self.client.commit_session(sid, self.rng.choice([0, 50]), wait=wait)
            say("DONE commit", sid, int(result["archived"]))

    # ------------------------------------------------------------------ deleting them
    def soft(self, sid: str) -> None:
        say("BEGIN soft", sid)
        self.client.delete_session(sid, mode="soft")
        self.live.remove(sid)
        self.trashed.append(sid)
        say("DONE soft", sid)

    def restore(self, sid: str) -> None:
        say("BEGIN restore", sid)
        self.client.restore_session(sid)
        self.trashed.remove(sid)
        self.live.append(sid)
        say("DONE restore", sid)

    def purge(self, sid: str) -> None:
        say("BEGIN purge", sid)
        self.client.delete_session(sid)
        self.trashed.remove(sid)
        say("DONE purge", sid)

    def delete(self, sid: str) -> None:
        say("BEGIN delete", sid)
        self.client.delete_session(sid)
        self.live.remove(sid)
        say("DONE delete", sid)

    def batch_delete(self, mode: str) -> None:
        everyone = self.live + self.trashed
        chosen = self.rng.sample(everyone, self.rng.randint(1, min(3, len(everyone))))
        say("BEGIN batch", mode, ids_word(chosen))
        result = self.client.delete_sessions(chosen, mode=mode)
        gone = [r["session_id"] for r in result["deleted"]]
        self.forget(gone, mode)
        say("DONE batch", mode, ids_word(gone))

    def cleanup(self, mode: str) -> None:
        say("BEGIN cleanup", mode, ids_word(self.live))
        result = self.client.cleanup_sessions(CLEANUP_AGE, mode=mode)
        gone = [r["session_id"] for r in result["deleted"]]
        self.forget(gone, mode)
        say("DONE cleanup", mode, ids_word(gone))

    def forget(self, gone: list[str], mode: str) -> None:
        for sid in gone:
            if sid in self.live:
                self.live.remove(sid)
                if mode == "soft":
                    self.trashed.append(sid)
            elif sid in self.trashed:
                self.trashed.remove(sid)

    def step(self) -> None:
        rng = self.rng
        if len(self.live) + len(self.trashed) < REFILL:
            self.create(rng.randint(1, 3))
            return
        if not self.live:
            self.restore(rng.choice(self.trashed))
            return
        # Mostly operations that keep the session (soft delete, restore), so that the worker
        # spends its time deleting rather than rebuilding what it deleted.
        ops = {"soft": 4, "delete": 1, "batch-soft": 2, "batch-hard": 1, "cleanup-soft": 1}
        if self.trashed:
            ops.update({"restore": 5, "purge": 1})
        if rng.random() < 0.1:
            ops["cleanup-hard"] = 1  # takes every live session: rarely
        op = rng.choices(list(ops), weights=list(ops.values()))[0]
        if op == "soft":
            self.soft(rng.choice(self.live))
        elif op == "delete":
            self.delete(rng.choice(self.live))
        elif op == "restore":
            self.restore(rng.choice(self.trashed))
        elif op == "purge":
            self.purge(rng.choice(self.trashed))
        elif op.startswith("batch"):
            self.batch_delete(op.split("-")[1])
        else:
            self.cleanup(op.split("-")[1])


def main() -> None:
    global _kill_plan
    path, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    client = skald.OpenViking(path=path, lease_seconds=LEASE_SECONDS)
    # The runner raises every lease to 30 s or more; a short one lets the test see a dead
    # worker's extraction retaken quickly.
    client.services.runner.lease_seconds = LEASE_SECONDS
    client.initialize()
    worker = Worker(client, rng)
    for _ in range(POOL):
        worker.create(rng.randint(3, 8))
    say("READY")
    if len(sys.argv) > 3:
        _kill_plan = KillPlan(int(sys.argv[3]), float(sys.argv[4]))
    started = time.monotonic()
    while time.monotonic() - started < MAX_SECONDS:
        worker.step()
    say("TIMEOUT")


if __name__ == "__main__":
    main()
