"""What both crash tests and both of their worker scripts share.

Importable as ``crash_support`` from the test modules (pytest puts this directory on the path:
it is not a package) and from the workers (run as scripts from this directory).

Worker side: ``batch`` (the messages a worker appends). Test side: ``worker_process`` (start a
worker, wait for its ``READY``, and after the test killed it, require death by SIGKILL),
``wait_for`` and ``lease_end``.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BATCH = 100
#: Waits, not performance requirements: they end as soon as their condition holds.
START_TIMEOUT = 60.0


def batch(sid: str, start: int) -> list[dict[str, str]]:
    """``BATCH`` messages; every 50th is a user fact the built-in extractor turns into a memory."""
    out = []
    for n in range(start, start + BATCH):
        if n % 50 == 0:
            out.append({"role": "user", "content": f"I love topic {sid} number {n}."})
        else:
            role = "user" if n % 2 else "assistant"
            out.append({"role": role, "content": f"{sid} message {n}: " + "lorem ipsum " * 4})
    return out


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    out_file: Path
    err_file: Path

    def out(self) -> str:
        return self.out_file.read_text()

    def err(self) -> str:
        return self.err_file.read_text()


@contextmanager
def worker_process(script: Path, data_dir: Path, args: Sequence[str]) -> Iterator[Worker]:
    """Run ``script data_dir *args`` (stdout and stderr to files beside ``data_dir``) and wait
    for its ``READY``; the block kills it. Afterwards the worker must have died by SIGKILL."""
    out_file, err_file = data_dir.with_suffix(".out"), data_dir.with_suffix(".err")
    with out_file.open("w") as out, err_file.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(data_dir), *args],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
    worker = Worker(proc, out_file, err_file)
    try:
        wait_for(
            lambda: "READY\n" in worker.out() or proc.poll() is not None,
            START_TIMEOUT,
            "the worker to start",
        )
        yield worker
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL, f"worker ended with {proc.returncode}"


def lease_end(db_file: Path) -> float:
    """When the lease of the task a dead worker was running runs out (0 if none was)."""
    db = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        (end,) = db.execute(
            "SELECT COALESCE(MAX(lease_until), 0) FROM tasks WHERE status = 'running'"
        ).fetchone()
    finally:
        db.close()
    return float(end) + 0.01
