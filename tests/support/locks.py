"""Another thread holding a SQLite store's write lock, for tests of what a busy store does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def write_lock_held(store: Any, *, for_seconds: float | None = None) -> Iterator[None]:
    """Within the block another thread holds ``store``'s write lock: until the block ends, or
    for ``for_seconds`` from its start (so calls made in the block wait and then run)."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store._write_lock:
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    timer = threading.Timer(for_seconds, release.set) if for_seconds is not None else None
    if timer is not None:
        timer.start()
    try:
        yield
    finally:
        release.set()
        holder.join()
        if timer is not None:
            timer.cancel()
