"""The optional server-side retention policy, applied by a periodic sweep (off by default)."""

from __future__ import annotations

import logging
import threading

from skald_core.service.deletion import DeletionService

log = logging.getLogger("skald.retention")


class RetentionSweeper:
    def __init__(
        self,
        deletion: DeletionService,
        *,
        retention_days: float | None,
        trash_days: float | None,
        interval: float,
    ) -> None:
        self.deletion = deletion
        self.retention_days = retention_days
        self.trash_days = trash_days
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.retention_days is not None or self.trash_days is not None

    def sweep_once(self) -> int:
        purged = self.deletion.sweep(retention_days=self.retention_days, trash_days=self.trash_days)
        if purged:
            log.info("retention sweep purged %d sessions", purged)
        return purged

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.sweep_once()
                except Exception as exc:  # keep sweeping; the store may come back
                    log.warning("retention sweep failed: %s", exc)
                self._stop.wait(self.interval)

        self._thread = threading.Thread(target=loop, name="skald-retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
