"""Real server processes on a free loopback port: ``skald serve`` (and any other uvicorn app).

``start_server(name, command, log_path)`` runs ``command(port)`` for a free port, everything
it prints going to ``log_path``, and returns once it answers ``GET /health`` (or another
``ready_path``) with 200 and ``"status": "ok"``. ``ServerProcess.stop()`` sends SIGTERM and
kills it if it does not exit in time; ``kill()`` sends SIGKILL. ``running_server(...)`` is the
same as a context manager (the process is stopped when the block ends).

The port is picked free, but another process on the machine (another test run, or any outgoing
connection) may take it before the server binds it: the server is trusted only once it logged
that uvicorn listens on it, and one that found its port taken is started again on another one.
A server that exits or does not become ready raises ``ServerStartError`` with its log.

For ``skald serve`` itself: ``skald_command()`` (the console script of this environment, so
exactly what a user runs), ``clean_env()`` (no SKALD_* / OPENVIKING_* setting of the machine
leaks in), ``running_skald(path, ...)`` (a context manager that also requires a clean SIGTERM
shutdown, see ``assert_clean_exit``), ``run_skald(*args)`` (the command line, output captured)
and ``mint_key`` (``skald keys create``).

The tests import this as ``support.server`` (``tests/`` is on ``sys.path`` under pytest); the
scripts in ``bench/`` put the repository root on ``sys.path`` and import ``tests.support.server``.
So this module imports nothing from the test suite and nothing of pytest.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

#: Waits, not performance requirements: they end as soon as the server is up (or gone).
STARTUP_TIMEOUT = 90.0
SHUTDOWN_TIMEOUT = 60.0
#: Ports tried before giving up, when the free port picked was taken before the server bound it.
PORT_ATTEMPTS = 5

Command = Callable[[int], Sequence[str]]


class ServerStartError(AssertionError):
    """The server exited during startup, never became ready, or never got a port."""


# ----------------------------------------------------------------------------- a process


@dataclass(eq=False, kw_only=True)
class ServerProcess:
    """A running server process and how to reach it."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    killed: bool = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as exc:  # pragma: no cover - diagnostics only
            return f"<no log: {exc}>"

    def describe(self) -> str:
        return f"{self.name} at {self.url}, pid {self.pid}\n--- server log\n{self.log()}"

    def stop(self, timeout: float = SHUTDOWN_TIMEOUT) -> int | None:
        """SIGTERM, wait; the exit status, or None when it had to be killed."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return None

    def kill(self) -> None:
        """SIGKILL (a crash, as far as the server can tell), and wait for it to be gone."""
        self.killed = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(log: str, port: int) -> bool:
    """The server logged that it bound ``port`` (uvicorn's line, or ``skald serve``'s banner,
    printed once its socket is bound): whoever answers there is this server."""
    return (
        f"Uvicorn running on http://127.0.0.1:{port} " in log
        or f" on http://127.0.0.1:{port} in " in log
    )


def port_was_taken(log: str) -> bool:
    """uvicorn could not bind its port (someone took it after ``free_port`` picked it)."""
    return "address already in use" in log.lower()


def start_server(
    name: str,
    command: Command,
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/health",
    startup_timeout: float = STARTUP_TIMEOUT,
) -> ServerProcess:
    """Run ``command(port)`` on a free loopback port until it answers ``ready_path``.

    ``env`` is the whole environment of the process (default: ``clean_env()``)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    child_env = dict(clean_env() if env is None else env)
    server: ServerProcess | None = None
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        with log_path.open("wb") as log_file:
            proc = subprocess.Popen(
                list(command(port)),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=child_env,
            )
        server = ServerProcess(
            name=name, url=f"http://127.0.0.1:{port}", proc=proc, log_path=log_path
        )
        try:
            if _wait_ready(server, ready_path, startup_timeout):
                return server
        except BaseException:
            server.stop()
            raise
    assert server is not None
    raise ServerStartError(
        f"every port tried was taken before {name} bound it\n{server.describe()}"
    )


@contextmanager
def running_server(
    name: str,
    command: Command,
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/health",
    startup_timeout: float = STARTUP_TIMEOUT,
) -> Iterator[ServerProcess]:
    """``start_server(...)`` until the block ends; then ``stop()`` (no requirement on how)."""
    server = start_server(
        name, command, log_path, env=env, ready_path=ready_path, startup_timeout=startup_timeout
    )
    try:
        yield server
    finally:
        server.stop()


def _wait_ready(server: ServerProcess, path: str, timeout: float) -> bool:
    """True once the server listens on its port and answers ``path`` with 200 and status
    ``ok``; False when the port was taken before it could bind it (the caller tries another)."""
    deadline = time.monotonic() + timeout
    last_error = ""
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                if port_was_taken(server.log()):
                    return False
                raise ServerStartError(
                    f"{server.name} exited with {server.proc.returncode} during startup\n"
                    f"{server.describe()}"
                )
            if not listening(server.log(), server.port):
                last_error = "not listening yet"
                time.sleep(0.05)
                continue
            try:
                response = client.get(server.url + path)
                if response.status_code == 200 and response.json().get("status") == "ok":
                    return True
                last_error = f"{response.status_code} {response.text[:200]}"
            except (httpx.HTTPError, ValueError) as exc:
                last_error = repr(exc)
            time.sleep(0.05)
    raise ServerStartError(
        f"{server.name} not ready after {timeout}s ({last_error})\n{server.describe()}"
    )


# ----------------------------------------------------------------------------- skald serve


def skald_command() -> list[str]:
    """The ``skald`` console script of this environment (fallback: the module)."""
    script = Path(sys.executable).with_name("skald")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "skald_server.cli"]


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without anything that configures Skald or OpenViking, plus
    ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SKALD_", "OPENVIKING_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def skald_serve(path: Path, *args: str) -> Command:
    """The command line of ``skald serve --path PATH ... ARGS`` on loopback, for a port."""

    def command(port: int) -> list[str]:
        return [
            *skald_command(),
            "serve",
            "--path",
            str(path),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *args,
        ]

    return command


@dataclass(eq=False, kw_only=True)
class SkaldServer(ServerProcess):
    """A running ``skald serve``, with who a client should be to use it."""

    path: Path = field(default_factory=Path)
    mode: str = "dev"  # "dev" | "api-key"
    api_key: str | None = None  # the key clients should present (a USER key in api-key mode)
    root_api_key: str | None = None
    account: str = "default"
    user: str = "default"

    def describe(self) -> str:
        return (
            f"skald serve ({self.mode}) at {self.url}, pid {self.pid}\n--- server log\n{self.log()}"
        )


@contextmanager
def running_skald(
    path: Path,
    *,
    root_api_key: str | None = None,
    log_name: str = "server.log",
    startup_timeout: float = STARTUP_TIMEOUT,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[SkaldServer]:
    """Run ``skald serve --path PATH`` until the block ends; then require that it was still
    running and that it shuts down cleanly on SIGTERM (unless the block raised).

    ``extra_args`` go on its command line (``--database-url ...``, say); ``env`` adds to
    ``clean_env()``. The log is ``PATH/../LOG_NAME``."""
    path.mkdir(parents=True, exist_ok=True)
    args = ["--root-api-key", root_api_key] if root_api_key else []
    started = start_server(
        "skald serve",
        skald_serve(path, *args, *extra_args),
        path.parent / log_name,
        env=clean_env(env),
        startup_timeout=startup_timeout,
    )
    server = SkaldServer(
        name=started.name,
        url=started.url,
        proc=started.proc,
        log_path=started.log_path,
        path=path,
        mode="api-key" if root_api_key else "dev",
        root_api_key=root_api_key,
    )
    failed = False
    try:
        yield server
    except BaseException:
        failed = True
        raise
    finally:
        still_running = server.proc.poll() is None
        status = server.stop()
        if not failed:
            assert still_running, (
                f"the server died during the test (status {server.proc.returncode})\n"
                f"{server.describe()}"
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


def run_skald(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The installed ``skald ARGS`` (as a user runs it), without SKALD_* / OPENVIKING_*
    settings; its output captured as text."""
    return subprocess.run(
        [*skald_command(), *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=timeout,
        check=False,
    )


def mint_key(path: Path, account: str, user: str, role: str = "user") -> str:
    """``skald keys create`` on the data directory ``path``: the key is the first line of
    stdout."""
    done = run_skald(
        "keys", "create", "--path", str(path), "--account", account, "--user", user,
        "--role", role, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"skald keys create exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    key = done.stdout.strip().splitlines()[0].strip()
    assert key, f"skald keys create printed no key:\n{done.stdout}\n{done.stderr}"
    return key
