"""``skald serve`` with test-only hooks, run as a real process: ``python replica.py serve ...``.

The command line is the real one (``skald_server.cli.main``); before it runs, this wrapper
patches the task runner of THIS process only, as the environment asks (the lease is the real
setting, ``SKALD_TASK_LEASE_SECONDS``):

* ``REPLICA_TASK_LOG``: a file where every extraction run appends ``start``/``end`` lines with
  the task id, this process's pid and the task's attempt number;
* ``REPLICA_HOLD_FILE``: while this file exists, the extraction of a session whose id starts
  with ``slow-`` waits (so a test can kill the process while it holds the task).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from skald_core.service import tasks


def _log(line: str) -> None:
    path = os.environ.get("REPLICA_TASK_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def install_hooks() -> None:
    hold = os.environ.get("REPLICA_HOLD_FILE")
    original_execute = tasks.TaskRunner._execute

    def execute(self: tasks.TaskRunner, claimed: Any) -> None:
        task = claimed.task
        pid = os.getpid()
        _log(f"start {task.task_id} {pid} {task.attempts} {task.session_id}")
        if hold and task.session_id.startswith("slow-"):
            deadline = time.monotonic() + 120
            while Path(hold).exists() and time.monotonic() < deadline:
                time.sleep(0.02)
        original_execute(self, claimed)
        _log(f"end {task.task_id} {pid} {task.attempts} {task.session_id}")

    tasks.TaskRunner._execute = execute  # type: ignore[method-assign]


if __name__ == "__main__":
    install_hooks()
    from skald_server.cli import main

    sys.exit(main(sys.argv[1:]))
