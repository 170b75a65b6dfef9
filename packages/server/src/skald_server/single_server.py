"""One ``skald serve`` per SQLite data directory.

SQLite serializes writers inside one process (the store's write lock); a second server process
on the same file would race it for the database lock and answer 503s under load, and its task
runner would double the work. ``acquire(path)`` takes an exclusive ``flock`` on
``PATH/serve.lock`` for the life of the process (the kernel drops it when the process dies, even
by SIGKILL, so a crashed server never blocks the next one) and refuses clearly when another
server holds it. Maintenance commands (``skald keys``, ``skald backup``, ...) do not take it:
they are safe beside a running server. Several servers share a PostgreSQL store instead.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from skald_core.errors import InvalidArgumentError

LOCK_NAME = "serve.lock"


class ServeLock:
    def __init__(self, fd: int, path: Path) -> None:
        self.fd = fd
        self.path = path

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing drops the flock
            self.fd = -1


def acquire(data_dir: str | os.PathLike[str]) -> ServeLock:
    """The data directory's serve lock, or InvalidArgumentError naming the holder."""
    directory = Path(data_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise InvalidArgumentError(f"Cannot use data directory {directory}: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise InvalidArgumentError(
            f"Another skald server (pid {holder}) already serves {directory.resolve()}: one "
            "server per SQLite data directory. Stop it, use another --path, or share a "
            "PostgreSQL store (--database-url) between several servers."
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return ServeLock(fd, directory / LOCK_NAME)
