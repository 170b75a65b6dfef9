"""A progress bar for long command-line runs, on stderr: only on a terminal (or when asked
with ``--progress``), so scripts reading the output never see it."""

from __future__ import annotations

import sys
import time
from typing import IO

WIDTH = 30
#: Redraw at most this often (seconds), and always at the end.
EVERY = 0.1


class Progress:
    def __init__(self, label: str, *, force: bool = False, stream: IO[str] | None = None) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = force or self.stream.isatty()
        # A terminal gets one line redrawn in place; a file or pipe (--progress) a line each.
        self.inline = self.stream.isatty()
        self._drawn = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        at = time.monotonic()
        if done < total and at - self._drawn < EVERY:
            return
        self._drawn = at
        filled = WIDTH * done // total
        bar = "#" * filled + "." * (WIDTH - filled)
        line = f"{self.label} [{bar}] {done}/{total}"
        self.stream.write(("\r" + line) if self.inline else line + "\n")
        self.stream.flush()
        self._shown = True

    def step(self, done: int, total: int) -> bool:
        """Draw, and go on (a cleanup's ``progress`` callback: True continues the run)."""
        self(done, total)
        return True

    def close(self) -> None:
        """End the bar's line (on a terminal)."""
        if self._shown and self.inline:
            self.stream.write("\n")
            self.stream.flush()
