"""Real ``skald serve`` processes on PostgreSQL, for the multi-replica and outage tests.

``start_replica(...)`` runs ``tests/postgres/replica.py serve ...`` (the real command line with
the test-only task hooks described there) on a free loopback port and waits until it answers
``/health``. ``Replica.stop()`` sends SIGTERM; ``Replica.kill()`` SIGKILL.

Another process may take the free port before the replica binds it: a replica is trusted only
once it logged that it listens there, and one that found its port taken is started again on
another port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
#: Waits, not performance requirements: they end as soon as the replica is up (or gone).
STARTUP_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0
PORT_ATTEMPTS = 5


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    killed: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as exc:  # pragma: no cover - diagnostics only
            return f"<no log: {exc}>"

    def kill(self) -> None:
        self.killed = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return None


def start_replica(
    name: str,
    workdir: Path,
    *,
    database_url: str,
    schema: str,
    env: dict[str, str] | None = None,
    extra_args: list[str] | None = None,
    wait_ready: bool = True,
) -> Replica:
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{name}.log"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("SKALD_", "OPENVIKING_"))}
    child_env["PYTHONUNBUFFERED"] = "1"
    child_env.update(env or {})
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        cmd = [
            sys.executable,
            str(HERE / "replica.py"),
            "serve",
            "--database-url",
            database_url,
            "--database-schema",
            schema,
            "--path",
            str(workdir / f"{name}-unused"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *(extra_args or []),
        ]
        with log_path.open("wb") as log_file:
            proc = subprocess.Popen(
                cmd,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_env,
            )
        replica = Replica(name=name, url=f"http://127.0.0.1:{port}", proc=proc, log_path=log_path)
        if _wait_up(replica, port, "/ready" if wait_ready else "/health"):
            return replica
    raise AssertionError(f"replica {name}: every port tried was taken\n{replica.log()}")


def _wait_up(replica: Replica, port: int, path: str) -> bool:
    """True once the replica listens on ``port`` and answers ``path`` with 200; False when the
    port was taken before it could bind it."""
    name, proc = replica.name, replica.proc
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = ""
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                if "address already in use" in replica.log().lower():
                    return False
                raise AssertionError(
                    f"replica {name} exited with {proc.returncode} during startup\n{replica.log()}"
                )
            if f"Uvicorn running on http://127.0.0.1:{port} " not in replica.log():
                last = "not listening yet"
                time.sleep(0.05)
                continue
            try:
                response = client.get(replica.url + path)
                if response.status_code == 200:
                    return True
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.05)
    replica.stop()
    raise AssertionError(
        f"replica {name} not up after {STARTUP_TIMEOUT}s ({last})\n{replica.log()}"
    )
