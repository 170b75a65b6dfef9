"""A REAL ``skald serve`` subprocess on a free loopback port, for the contract tests.

``running_server(path, root_api_key=...)`` starts the installed ``skald`` command (the console
script of this environment, so exactly what a user runs), waits for ``GET /health``, and on
exit sends SIGTERM and requires a clean exit within a timeout (``assert_clean_exit``). Everything the
server prints goes to a log file that is attached to every failure message.

The port is picked free, but another process on the machine (another test run, or any outgoing
connection) may take it before the server binds it: ``/health`` is trusted only once the server
logged that it listens on it, and a server that found the port taken is started again on
another one.

The fixtures that use it live in ``conftest.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

#: Waits, not performance requirements: they end as soon as the server is up (or gone).
STARTUP_TIMEOUT = 90.0
SHUTDOWN_TIMEOUT = 60.0
#: Ports tried before giving up, when the free port picked was taken before the server bound it.
PORT_ATTEMPTS = 5
KEY_ACCOUNT = "acme"
KEY_USER = "alice"


@dataclass
class ServerProcess:
    """A running ``skald serve`` and how to reach it."""

    url: str
    path: Path
    log_path: Path
    proc: subprocess.Popen[bytes]
    mode: str  # "dev" | "api-key"
    api_key: str | None = None  # the key clients should present (a USER key in api-key mode)
    root_api_key: str | None = None
    account: str = "default"
    user: str = "default"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as exc:  # pragma: no cover - diagnostics only
            return f"<no log: {exc}>"

    def describe(self) -> str:
        return f"skald serve ({self.mode}) at {self.url}, pid {self.proc.pid}\n--- server log\n{self.log()}"


def skald_command() -> list[str]:
    """The ``skald`` console script of this environment (fallback: the module)."""
    script = Path(sys.executable).with_name("skald")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "skald_server.cli"]


def clean_env() -> dict[str, str]:
    """The parent's environment without anything that configures Skald or OpenViking."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SKALD_", "OPENVIKING_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(log: str, port: int) -> bool:
    """uvicorn logged that it bound ``port``: whoever answers there is this server."""
    return f"Uvicorn running on http://127.0.0.1:{port} " in log


def port_was_taken(log: str) -> bool:
    """uvicorn could not bind its port (someone took it after ``free_port`` picked it)."""
    return "address already in use" in log.lower()


def mint_key(path: Path, account: str, user: str, role: str = "user") -> str:
    """``skald keys create``: the key is the first line of stdout."""
    done = subprocess.run(
        [
            *skald_command(),
            "keys",
            "create",
            "--path",
            str(path),
            "--account",
            account,
            "--user",
            user,
            "--role",
            role,
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (
        f"skald keys create exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    key = done.stdout.strip().splitlines()[0].strip()
    assert key, f"skald keys create printed no key:\n{done.stdout}\n{done.stderr}"
    return key


def stop_server(server: ServerProcess, timeout: float = SHUTDOWN_TIMEOUT) -> int | None:
    """SIGTERM, wait; returns the exit status, or None when it had to be killed."""
    proc = server.proc
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        return None


@contextmanager
def running_server(
    path: Path,
    *,
    root_api_key: str | None = None,
    log_name: str = "server.log",
    startup_timeout: float = STARTUP_TIMEOUT,
    extra_args: Sequence[str] = (),
) -> Iterator[ServerProcess]:
    """Run ``skald serve`` until the block ends; then require a clean SIGTERM shutdown.
    ``extra_args`` go on its command line (``--database-url ...``, say)."""
    path.mkdir(parents=True, exist_ok=True)
    log_path = path.parent / log_name
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        cmd = [
            *skald_command(),
            "serve",
            "--path",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        if root_api_key:
            cmd += ["--root-api-key", root_api_key]
        cmd += extra_args
        with log_path.open("wb") as log_file:
            proc = subprocess.Popen(
                cmd,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=clean_env(),
            )
        server = ServerProcess(
            url=f"http://127.0.0.1:{port}",
            path=path,
            log_path=log_path,
            proc=proc,
            mode="api-key" if root_api_key else "dev",
            root_api_key=root_api_key,
        )
        try:
            if _wait_healthy(server, startup_timeout):
                break
        except BaseException:
            stop_server(server)
            raise
    else:
        pytest.fail(f"every port tried was taken before skald serve bound it\n{server.describe()}")
    proc = server.proc
    failed = False
    try:
        yield server
    except BaseException:
        failed = True
        raise
    finally:
        still_running = proc.poll() is None
        status = stop_server(server)
        if not failed:
            assert still_running, (
                f"the server died during the test (status {proc.returncode})\n{server.describe()}"
            )
            assert_clean_exit(server, status)


def assert_clean_exit(server: ServerProcess, status: int | None) -> None:
    """A clean SIGTERM shutdown: in time, lifespan shutdown completed, no traceback.

    uvicorn re-raises the signal it caught once the graceful shutdown is done, so a clean
    exit is status 0 or "terminated by SIGTERM" (-15), never a kill or another status.
    """
    assert status is not None, (
        f"the server did not exit within {SHUTDOWN_TIMEOUT}s of SIGTERM\n{server.describe()}"
    )
    assert status in (0, -signal.SIGTERM), (
        f"the server exited with status {status} after SIGTERM\n{server.describe()}"
    )
    log = server.log()
    assert "Application shutdown complete" in log, (
        f"the lifespan shutdown did not complete\n{server.describe()}"
    )
    assert "Traceback" not in log, f"the server logged a traceback\n{server.describe()}"


def _wait_healthy(server: ServerProcess, timeout: float) -> bool:
    """True once the server listens on its port and answers ``/health``; False when the port
    was taken before it could bind it (the caller tries another one)."""
    deadline = time.monotonic() + timeout
    port = int(server.url.rsplit(":", 1)[1])
    last_error = ""
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                if port_was_taken(server.log()):
                    return False
                pytest.fail(
                    f"skald serve exited with {server.proc.returncode} during startup\n"
                    f"{server.describe()}"
                )
            if not listening(server.log(), port):
                last_error = "not listening yet"
                time.sleep(0.05)
                continue
            try:
                response = client.get(server.url + "/health")
                if response.status_code == 200 and response.json().get("status") == "ok":
                    return True
                last_error = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last_error = repr(exc)
            time.sleep(0.05)
    pytest.fail(f"skald serve not healthy after {timeout}s ({last_error})\n{server.describe()}")
