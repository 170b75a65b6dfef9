"""Real ``skald serve`` processes on PostgreSQL, for the multi-replica and outage tests.

``start_replica(...)`` runs ``tests/postgres/replica.py serve ...`` (the real command line with
the test-only task hooks described there) with ``support.server.start_server`` — a free loopback
port, started again on another one if the port was taken — and returns once it answers
``/ready`` (``/health`` with ``wait_ready=False``). ``Replica.stop()`` sends SIGTERM;
``Replica.kill()`` SIGKILL.
"""

from __future__ import annotations

import sys
from pathlib import Path

from support.server import ServerProcess, clean_env, start_server

HERE = Path(__file__).resolve().parent

#: A replica is a server process named after its role in the test ("a", "b", "keys", ...).
Replica = ServerProcess


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

    def command(port: int) -> list[str]:
        return [
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

    return start_server(
        name,
        command,
        workdir / f"{name}.log",
        env=clean_env(env),
        ready_path="/ready" if wait_ready else "/health",
    )
