"""``/metrics`` of a server with several worker processes: the workers' counts, summed.

Each worker counts in its own memory, as one process does (no cost per request beyond that).
A thread of each worker writes its counters and histograms to a file of its own in the
supervisor's metrics directory every ``FLUSH_SECONDS`` (when they changed), and the worker
that answers a scrape adds up its live counts and the other workers' files. So the totals
cover every worker; another worker's part is at most ``FLUSH_SECONDS`` old, and a worker that
was killed keeps the counts it had written (its file stays, and a counter never goes back).
Gauges (build info, the task queue read from the database) are the answering worker's own: they
are the same in every worker.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.samples import Sample

log = logging.getLogger("skald.server")

FLUSH_SECONDS = 1.0
SUMMED = frozenset({"counter", "histogram"})
SUFFIX = ".metrics"

#: One file: [[family name, [[sample name, labels, value], ...]], ...]
Snapshot = list[tuple[str, list[tuple[str, dict[str, str], float]]]]


SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
}


def summed_only(registry: CollectorRegistry) -> Any:
    """A view of ``registry`` that collects its counters and histograms only (so a flush never
    runs the collectors that read the database, such as the task queue's)."""
    names = {
        family.name + suffix
        for family in registry.collect()
        if family.type in SUMMED
        for suffix in SUFFIXES[family.type]
    }
    return registry.restricted_registry(names)


def snapshot(registry: Any) -> Snapshot:
    """The counters and histograms of ``registry``, as a file holds them."""
    return [
        (f.name, [(s.name, dict(s.labels), float(s.value)) for s in f.samples])
        for f in registry.collect()
        if f.type in SUMMED
    ]


class SharedMetrics(Collector):
    """``registry`` (this worker's) with every other worker's counters and histograms added."""

    def __init__(self, registry: CollectorRegistry, directory: str, name: str) -> None:
        self.registry = registry
        self._summed = summed_only(registry)
        self.directory = Path(directory)
        self.file = self.directory / f"{name}.{os.getpid()}{SUFFIX}"
        self._written = b""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ writing ours
    def flush(self) -> None:
        data = msgspec.msgpack.encode(snapshot(self._summed))
        if data == self._written:
            return
        tmp = self.file.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, self.file)  # readers see the old file or the new one, never half
        self._written = data

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(FLUSH_SECONDS):
                try:
                    self.flush()
                except OSError as exc:  # the directory went (the server is stopping)
                    log.debug("metrics flush failed: %s", exc)

        self._thread = threading.Thread(target=loop, name="skald-metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        with contextlib.suppress(OSError):
            self.flush()

    # ------------------------------------------------------------------ reading theirs
    def _others(self) -> Iterator[Snapshot]:
        decoder = msgspec.msgpack.Decoder(Snapshot)
        try:
            names = sorted(os.listdir(self.directory))
        except OSError:
            return
        for name in names:
            path = self.directory / name
            if not name.endswith(SUFFIX) or path == self.file:
                continue
            try:
                yield decoder.decode(path.read_bytes())
            except (OSError, msgspec.DecodeError):
                continue  # gone meanwhile

    def collect(self) -> Iterator[Metric]:
        others: dict[str, list[Iterable[tuple[str, dict[str, str], float]]]] = {}
        for snap in self._others():
            for name, samples in snap:
                others.setdefault(name, []).append(samples)
        for family in self.registry.collect():
            if family.type in SUMMED and family.name in others:
                family = _merged(family, others[family.name])
            yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


def _merged(family: Metric, others: list[Iterable[tuple[str, dict[str, str], float]]]) -> Metric:
    """``family`` with the same samples of ``others`` added (``_created``: the earliest), the
    samples of one label set kept together."""
    groups: dict[tuple[tuple[str, str], ...], dict[tuple[Any, ...], list[Any]]] = {}

    def add(name: str, labels: dict[str, str], value: float) -> None:
        group = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        key = (name, tuple(sorted(labels.items())))
        samples = groups.setdefault(group, {})
        held = samples.get(key)
        if held is None:
            samples[key] = [name, labels, value]
        elif name.endswith("_created"):
            held[2] = min(held[2], value)
        else:
            held[2] += value

    for s in family.samples:
        add(s.name, dict(s.labels), s.value)
    for samples in others:
        for name, labels, value in samples:
            add(name, labels, value)
    merged = Metric(family.name, family.documentation, family.type)
    merged.samples = [
        Sample(name, labels, value)
        for group in groups.values()
        for name, labels, value in group.values()
    ]
    return merged
