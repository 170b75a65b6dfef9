"""Crash-test worker: hammer one Skald data directory until somebody kills this process.

Usage: ``python worker.py <data_path> <delete-heavy|commit-heavy> <seed>``

Every operation is announced with ``BEGIN <op> <sid> ...`` before it starts and confirmed
with ``DONE <op> <sid> ...`` once it returned, each line flushed at once. The test reads
these lines after a SIGKILL to know what was acknowledged (DONE) and which single operation
was in flight (the last BEGIN without a DONE).

Lines:
    READY
    BEGIN create <sid>            DONE create <sid>
    BEGIN add <sid> <n>           DONE add <sid> <total messages added to sid so far>
    BEGIN commit <sid> <wait> <keep>
                                  DONE commit <sid> <archived 0|1> <status>
    BEGIN delete <sid>            DONE delete <sid> <messages> <archives>

Sessions are large (1000-3000 messages, added 100 at a time) so that commits and deletes
are big transactions a kill can interrupt. The store's task lease is short so a test can
see abandoned extraction retaken quickly.
"""

from __future__ import annotations

import random
import sys
import time

from crash_support import BATCH, batch

import skald

MAX_SECONDS = 60  # never outlive a test that forgot to kill us
LEASE_SECONDS = 0.5


def say(*words: object) -> None:
    print(*words, flush=True)


class Worker:
    def __init__(self, client: skald.OpenViking, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.added: dict[str, int] = {}
        self.alive: list[str] = []

    def create(self, sid: str) -> None:
        say("BEGIN create", sid)
        self.client.create_session(sid)
        self.added[sid] = 0
        self.alive.append(sid)
        say("DONE create", sid)

    def add(self, sid: str, n_messages: int) -> None:
        for _ in range(0, n_messages, BATCH):
            say("BEGIN add", sid, BATCH)
            self.client.batch_add_messages(sid, batch(sid, self.added[sid]))
            self.added[sid] += BATCH
            say("DONE add", sid, self.added[sid])

    def commit(self, sid: str) -> None:
        wait = self.rng.random() < 0.5
        keep = self.rng.choice([0, 0, 0, 100])
        say("BEGIN commit", sid, int(wait), keep)
        result = self.client.commit_session(sid, keep, wait=wait)
        say("DONE commit", sid, int(result["archived"]), result["status"])

    def delete(self, sid: str) -> None:
        say("BEGIN delete", sid)
        receipt = self.client.delete_session(sid)
        self.alive.remove(sid)
        say("DONE delete", sid, receipt["deleted"]["messages"], receipt["deleted"]["archives"])

    def delete_heavy(self, sid: str) -> None:
        self.create(sid)
        self.add(sid, self.rng.randrange(1000, 3001, BATCH))
        if self.rng.random() < 0.4:
            self.commit(sid)
        if self.rng.random() < 0.85:
            self.delete(sid)
        if len(self.alive) > 1 and self.rng.random() < 0.3:
            self.delete(self.rng.choice(self.alive[:-1]))

    def commit_heavy(self, sid: str) -> None:
        self.create(sid)
        self.add(sid, self.rng.randrange(1000, 3001, BATCH))
        self.commit(sid)
        if self.rng.random() < 0.5:
            self.add(sid, self.rng.randrange(100, 501, BATCH))
            self.commit(sid)
        if self.rng.random() < 0.25:
            self.delete(sid)


def main() -> None:
    path, mode, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    client = skald.OpenViking(path=path, lease_seconds=LEASE_SECONDS)
    # The runner raises every lease to 30 s or more; a short one lets the test see a dead
    # worker's extraction retaken quickly (and keeps the test fast).
    client.services.runner.lease_seconds = LEASE_SECONDS
    client.initialize()
    worker = Worker(client, rng)
    step = {"delete-heavy": worker.delete_heavy, "commit-heavy": worker.commit_heavy}[mode]
    say("READY")
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < MAX_SECONDS:
        step(f"s{i:04d}")
        i += 1
    say("TIMEOUT")


if __name__ == "__main__":
    main()
