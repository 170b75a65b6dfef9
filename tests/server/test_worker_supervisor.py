"""The pieces of ``skald serve --workers N`` on their own: the supervisor (restarts, stop, a
worker that cannot start) and the summed metrics. The whole server: ``test_workers.py``."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from skald_core import __version__
from skald_server.metrics import Metrics
from skald_server.workers import Supervisor, Worker


def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    starts = tmp_path / "starts"

    def serve(worker: Worker) -> int:
        with starts.open("a") as f:
            f.write(f"{worker.index} {os.getpid()}\n")
        first = sum(1 for line in starts.read_text().splitlines() if line.startswith("0 ")) == 1
        if worker.index == 0 and first:
            time.sleep(2.5)  # long enough not to count as a failure to start
            return 5
        time.sleep(60)  # until SIGTERM
        return 0

    threading.Timer(5.0, os.kill, (os.getpid(), signal.SIGTERM)).start()
    with caplog.at_level(logging.INFO, "skald.server"):
        status = Supervisor(2, serve, runtime_dir=None, grace=10).run()
    assert status == 0
    lines = starts.read_text().splitlines()
    assert sorted(line.split()[0] for line in lines) == ["0", "0", "1"], lines
    assert "worker 0 (pid" in caplog.text and "exit status 5; starting another" in caplog.text
    assert "SIGTERM: stopping 2 workers" in caplog.text


def test_workers_that_cannot_start_stop_the_server(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, "skald.server"):
        status = Supervisor(2, lambda worker: 3, runtime_dir=None, grace=10).run()
    assert status == 1
    assert "workers keep dying as they start" in caplog.text


def count(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {sample} in\n{text}")


def test_metrics_of_several_workers_are_summed(tmp_path: Path) -> None:
    first, second, third = Metrics(), Metrics(), Metrics()
    shared = [m.share(str(tmp_path), f"worker{i}") for i, m in enumerate((first, second, third))]
    for _ in range(2):
        first.observe_request("GET", "/health", 200, 0.002)
    for _ in range(3):
        second.observe_request("GET", "/health", 200, 0.2)
    second.observe_request("POST", "/x", 201, 0.003)  # a label set only the second one has
    shared[1].flush()
    shared[2].flush()  # nothing counted: zeros
    text = first.exposition().decode()
    total = 'skald_http_requests_total{method="GET",route="/health",status="200"}'
    assert count(text, total) == 5
    assert count(text, 'skald_http_requests_total{method="POST",route="/x",status="201"}') == 1
    hist = "skald_http_request_duration_seconds_"
    assert count(text, hist + 'count{method="GET",route="/health"}') == 5
    assert count(text, hist + 'bucket{le="0.0025",method="GET",route="/health"}') == 2
    assert count(text, hist + 'bucket{le="0.25",method="GET",route="/health"}') == 5
    build = f'skald_build_info{{version="{__version__}"}}'
    assert count(text, build) == 1  # a gauge: not summed
    # a worker that died keeps its counts in the sum; what it had not yet written is lost
    second.observe_request("GET", "/health", 200, 0.2)
    assert count(first.exposition().decode(), total) == 5
    shared[1].flush()
    assert count(first.exposition().decode(), total) == 6


def test_runtime_directories_of_killed_supervisors_are_removed(tmp_path: Path) -> None:
    """A supervisor killed with ``kill -9`` leaves its runtime directory; the next one to
    start removes it, and keeps those of supervisors still running."""
    import subprocess

    from skald_server.shared_state import runtime_dir

    # A process that has exited and been reaped. (Waited for through its Popen: a Popen
    # dropped unwaited is reaped by the next Popen anywhere in the process, and then
    # os.waitpid finds no child.)
    done = subprocess.Popen(["true"])
    done.wait()
    dead_pid = done.pid
    orphan = tmp_path / f"skald-{dead_pid}-abcd1234"
    (orphan / "state").mkdir(parents=True)
    alive = tmp_path / f"skald-{os.getpid()}-efgh5678"
    alive.mkdir()
    unrelated = tmp_path / "skald-notapid-x"
    unrelated.mkdir()
    mine = runtime_dir(str(tmp_path))
    assert not orphan.exists()
    assert alive.exists() and unrelated.exists()
    assert Path(mine).name.startswith(f"skald-{os.getpid()}-")
