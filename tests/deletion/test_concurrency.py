"""Many threads and several processes add, commit, delete (hard, soft, commit_first, batch,
cleanup) and restore the same few sessions; afterwards every invariant holds: no acknowledged
message lost, no refused message stored, no session back after its last delete, no orphan row,
no archive without its memories (see ``churn.py`` for the exact rules).

Runs are reproducible up to timing: ``SKALD_CHURN_SEED=<n>`` fixes the seeds.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from support.asgi import sync_client

import skald
from skald_core.store.sqlite import SQLiteStore
from skald_server.app import create_app
from skald_server.config import ServerConfig

from .churn import KINDS, SIDS, TAIL_APPENDS, Op, Stored, judge, run_threads, wait_drained

THREADS = 8
SECONDS = 3.0
PROCESSES = 3
THREADS_PER_PROCESS = 2
CHURN = Path(__file__).with_name("churn.py")


@pytest.fixture
def seed() -> int:
    return int(os.environ.get("SKALD_CHURN_SEED") or random.SystemRandom().randrange(2**31))


def check(ops: list[Op], data: Path, seed: int, workers: int) -> None:
    store = SQLiteStore(data)
    try:
        assert store.check_integrity() == [], f"orphans or bad counters (seed {seed})"
    finally:
        store.close()
    verdict = judge(ops, Stored.read(data / "skald.db"))
    assert verdict.problems == {}, f"SKALD_CHURN_SEED={seed}: {verdict.problems}"

    # The run is only worth something if every kind of operation was acknowledged (each
    # worker's random phase goes on until its process saw them all, however slow the machine),
    # and the rules had messages, deletes and extractions to check.
    acked = Counter(o.kind for o in ops if o.outcome == "ok")
    assert set(acked) == KINDS, acked
    unknown = [o for o in ops if o.outcome == "unknown"]
    assert not unknown, f"operations failed without a definite answer: {unknown[:5]}"
    # Every worker acknowledged at least TAIL_APPENDS appends after the barrier, which no delete
    # can excuse: they are checked whatever the machine's load.
    assert verdict.checked_messages >= workers * TAIL_APPENDS, verdict
    # Whether a random run also finished an extraction to check depends on timing; the
    # extraction rules are checked deterministically in test_delete_during_extraction.py, and
    # any extraction this run did finish was checked above (verdict.unextracted/memoryless).
    assert verdict.certainly_deleted + len(Stored.read(data / "skald.db").sessions) >= 1


@pytest.mark.timeout(400)  # a hang guard, above the churn's own bounded waits
def test_threads_on_one_embedded_client(tmp_path: Path, seed: int) -> None:
    data = tmp_path / "data"
    with skald.OpenViking(path=data) as client:
        ops = run_threads(lambda i: client, THREADS, SECONDS, seed)
        wait_drained(data / "skald.db")
    check(ops, data, seed, THREADS)


@pytest.mark.timeout(400)  # a hang guard, above the churn's own bounded waits
def test_threads_over_http_in_process(tmp_path: Path, seed: int) -> None:
    data = tmp_path / "data"
    app = create_app(ServerConfig(path=str(data), task_poll_seconds=0.05))
    with sync_client(app) as client:  # the app (its lifespan) runs before the threads share it
        assert client.health()
        ops = run_threads(lambda i: client, THREADS, SECONDS, seed)
        wait_drained(data / "skald.db")
    check(ops, data, seed, THREADS)


@pytest.mark.timeout(400)  # a hang guard, above the churn's own bounded waits
def test_processes_on_one_data_directory(tmp_path: Path, seed: int) -> None:
    data = tmp_path / "data"
    skald.OpenViking(path=data).close()  # create the schema before the processes race
    procs = []
    for p in range(PROCESSES):
        out = tmp_path / f"ops{p}.json"
        err = (tmp_path / f"worker{p}.err").open("w")
        args = [
            *(str(data), str(p), str(seed + p), str(SECONDS), str(THREADS_PER_PROCESS)),
            *(str(out), str(tmp_path / "barrier"), str(PROCESSES)),
        ]
        procs.append((subprocess.Popen([sys.executable, str(CHURN), *args], stderr=err), out))
        err.close()
    for p, (proc, _) in enumerate(procs):
        assert proc.wait(300) == 0, (tmp_path / f"worker{p}.err").read_text()
    ops = [Op(**o) for _, out in procs for o in json.loads(out.read_text())]
    assert {o.sid for o in ops} == set(SIDS)

    with skald.OpenViking(path=data):  # finishes whatever extraction the workers left queued
        wait_drained(data / "skald.db")
    check(ops, data, seed, PROCESSES * THREADS_PER_PROCESS)
