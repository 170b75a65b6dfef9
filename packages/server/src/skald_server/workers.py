"""``skald serve --workers N``: N server processes on one listening socket, and their supervisor.

The parent process binds the socket (``cli._bind``), holds the data directory's serve lock
(``single_server``), then forks the workers: each builds its own app, store connections and
event loop after the fork (nothing that holds a connection or a thread crosses it) and accepts
connections on the shared socket. The parent does not serve; it waits for its workers:

* a worker that dies (a crash, ``kill -9``) is logged and replaced by a new one with the same
  index; a worker that dies within ``QUICK_DEATH`` seconds of starting delays its replacement
  (growing up to ``MAX_RESTART_DELAY``), and after ``MAX_QUICK_DEATHS`` such deaths in a row
  the server stops (exit status 1): a worker that cannot start would otherwise be restarted
  for ever;
* SIGTERM or SIGINT sends SIGTERM to every worker, which finishes its requests in hand
  (uvicorn's graceful shutdown) and exits; those still running ``grace`` seconds later are
  killed. Each worker is in a process group of its own, so a terminal's Ctrl-C reaches the
  supervisor alone and each worker gets one signal;
* each worker asks the kernel for SIGTERM when the parent dies (``PR_SET_PDEATHSIG``), so
  killing the parent never leaves workers serving on their own.

Whatever a worker keeps in memory is its own: what must hold across workers (appends, claims of
tasks, idempotency keys, key revocation) lives in the database, ``/metrics`` sums the workers'
counts (``shared_metrics``) and the console's sign-ins and cleanup runs are in a file the
workers share (``shared_state``).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger("skald.server")

#: A worker that dies this soon after it started counts as a failure to start.
QUICK_DEATH = 2.0
MAX_QUICK_DEATHS = 5
MAX_RESTART_DELAY = 5.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class Worker:
    """Which worker this process is: ``index`` of ``count`` (0 of 1 without ``--workers``), and
    the private directory the workers share (their metrics, ``shared_state``; None: one
    process)."""

    index: int = 0
    count: int = 1
    runtime_dir: str | None = None


def describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _die_with_parent() -> None:
    """SIGTERM to this process when its parent exits (Linux; elsewhere nothing)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


class Supervisor:
    """Forks ``count`` workers running ``serve(worker)`` and keeps them running until told to
    stop; ``run()`` returns the exit status of the whole server."""

    def __init__(
        self,
        count: int,
        serve: Callable[[Worker], int],
        *,
        runtime_dir: str | None,
        grace: float = 40.0,
    ) -> None:
        self.count = count
        self.serve = serve
        self.runtime_dir = runtime_dir
        self.grace = grace
        self.children: dict[int, tuple[int, float]] = {}  # pid -> (index, started at)
        self.stopping = False
        self.status = 0

    # ------------------------------------------------------------------ one worker
    def _spawn(self, index: int) -> None:
        worker = Worker(index=index, count=self.count, runtime_dir=self.runtime_dir)
        pid = os.fork()
        if pid == 0:  # the worker: never returns into the parent's code
            code = 1
            try:
                _die_with_parent()
                # A group of its own: a terminal's Ctrl-C reaches the supervisor only, which
                # passes on one SIGTERM (uvicorn takes a second signal as "exit at once").
                os.setpgid(0, 0)
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
                    signal.signal(sig, signal.SIG_DFL)
                if os.getppid() == 1:  # the parent died before PDEATHSIG was set
                    os._exit(0)
                code = self.serve(worker)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                log.exception("worker %d failed", index)
            finally:
                logging.shutdown()
                os._exit(code)
        self.children[pid] = (index, time.monotonic())
        log.info("worker %d started (pid %d)", index, pid)
        if self.stopping:  # a stop signal came in while it was being made
            self._signal(pid, signal.SIGTERM)

    # ------------------------------------------------------------------ signals
    def _signal(self, pid: int, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("%s: stopping %d workers", signal.Signals(signum).name, len(self.children))
        self.stopping = True
        for pid in list(self.children):
            self._signal(pid, signal.SIGTERM)
        signal.alarm(max(1, int(self.grace)))

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        for pid, (index, _) in list(self.children.items()):
            log.warning(
                "worker %d (pid %d) still running after %ss: killed", index, pid, self.grace
            )
            self._signal(pid, signal.SIGKILL)

    # ------------------------------------------------------------------ the loop
    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._on_stop) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        previous[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._on_alarm)
        try:
            for index in range(self.count):
                if not self.stopping:
                    self._spawn(index)
            self._wait()
        finally:
            signal.alarm(0)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return self.status

    def _wait(self) -> None:
        quick_deaths = 0
        delay = 0.0
        while self.children:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                break
            if pid not in self.children:
                continue
            index, started = self.children.pop(pid)
            if self.stopping:
                if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                    self.status = 1
                continue
            lived = time.monotonic() - started
            log.error("worker %d (pid %d) %s; starting another", index, pid, describe_exit(status))
            if lived < QUICK_DEATH:
                quick_deaths += 1
                if quick_deaths >= MAX_QUICK_DEATHS:
                    log.error(
                        "workers keep dying as they start (%d in a row): stopping the server",
                        quick_deaths,
                    )
                    self.status = 1
                    self._on_stop(signal.SIGTERM, None)
                    continue
                delay = min(MAX_RESTART_DELAY, max(0.1, delay * 2))
                time.sleep(delay)
            else:
                quick_deaths, delay = 0, 0.0
            if not self.stopping:
                self._spawn(index)
