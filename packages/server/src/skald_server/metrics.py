"""Prometheus metrics (``GET /metrics``): HTTP requests by route template, and what the store did.

Each app has its own ``CollectorRegistry`` (tests build many apps in one process). The HTTP
metrics are fed by ``SkaldApp`` once per request; the domain metrics by ``instrument_store``,
which wraps the public methods of the one store every service writes through (so the embedded
core needs no metrics code): each call's latency, and from what the calls return, sessions
created and deleted, messages appended, commits, extraction outcomes, durations and tokens, and
erasures. The task queue is read from the store when scraped.

Per request the cost is two dict lookups, one counter increment and one histogram observation
(see ``bench/ops_overhead.py`` for the figure).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from skald_core import __version__, clock
from skald_core.store.protocol import Store
from skald_core.store.sql_store import WouldBlock

from .histograms import LabelledHistogram
from .shared_metrics import SharedMetrics

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Store methods not timed: lifecycle, the key store (a separate object), and ``inline`` (a
#: mode of running the others, not an operation).
_UNTIMED = frozenset({"close", "describe", "key_store", "inline", "run_inline", "run_group"})


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry(auto_describe=True)
        Gauge("skald_build_info", "Skald's version", ["version"], registry=r).labels(
            __version__
        ).set(1)
        self.http_requests = Counter(
            "skald_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_duration = LabelledHistogram(
            "skald_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.sessions_created = Counter(
            "skald_sessions_created", "Sessions created (explicitly or by a first message)",
            registry=r,
        )  # fmt: skip
        self.sessions_deleted = Counter(
            "skald_sessions_deleted",
            "Sessions deleted, by mode (hard, soft) and action (delete, batch_delete, cleanup, "
            "retention, purge, ...)",
            ["mode", "action"],
            registry=r,
        )
        self.messages_appended = Counter(
            "skald_messages_appended", "Messages appended to sessions", registry=r
        )
        self.commits = Counter(
            "skald_commits",
            "Commits, by outcome (archived: an archive and an extraction task; skipped: nothing "
            "to archive)",
            ["outcome"],
            registry=r,
        )
        self.extractions = Counter(
            "skald_extractions",
            "Extraction tasks finished, by outcome (completed, failed, cancelled, stale)",
            ["outcome"],
            registry=r,
        )
        self.extraction_duration = Histogram(
            "skald_extraction_duration_seconds",
            "Time from claiming an extraction task to recording its outcome",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=r,
        )
        self.extraction_tokens = Counter(
            "skald_extraction_tokens",
            "Language-model tokens spent on extraction, by kind (prompt, completion)",
            ["kind"],
            registry=r,
        )
        self.erasures = Counter("skald_user_erasures", "Users erased", registry=r)
        self.store_latency = LabelledHistogram(
            "skald_store_operation_duration_seconds",
            "Time of one store operation (a transaction), by operation",
            ["operation"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            registry=r,
        )
        self.store_errors = Counter(
            "skald_store_errors",
            "Store operations that raised, by operation and error class",
            ["operation", "error"],
            registry=r,
        )
        self._http: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._claimed: dict[str, float] = {}
        self._lock = threading.Lock()
        self.shared: SharedMetrics | None = None

    # ------------------------------------------------------------------ HTTP
    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._http.get(key)
        if children is None:
            label = method if method in _METHODS else "other"
            children = (
                self.http_requests.labels(label, route, str(status)),
                self.http_duration.labels(label, route),
            )
            self._http[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        if self.shared is not None:
            return generate_latest(self.shared)
        return generate_latest(self.registry)

    def share(self, directory: str, name: str) -> SharedMetrics:
        """Count with the other worker processes that share ``directory``: ``/metrics`` then
        shows their sums (see ``shared_metrics``). The caller starts and stops the result."""
        self.shared = SharedMetrics(self.registry, directory, name)
        return self.shared

    # ------------------------------------------------------------------ the store
    def watch_queue(self, store: Store, now: clock.Clock = clock.now) -> None:
        self.registry.register(_QueueCollector(store, now))

    def instrument_store(self, store: Store) -> Store:
        """Wrap ``store``'s public methods in place (timing, and the domain counters); the
        same object is returned."""
        for name in dir(type(store)):
            if name.startswith("_") or name in _UNTIMED:
                continue
            method = getattr(store, name, None)
            if not callable(method):
                continue
            counted = _COUNTERS.get(name)
            setattr(store, name, self._timed(name, method, counted))
        return store

    def _timed(
        self, name: str, method: Callable[..., Any], counted: Callable[..., None] | None
    ) -> Callable[..., Any]:
        latency = self.store_latency.labels(name)
        errors = self.store_errors
        metrics = self

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                result = method(*args, **kwargs)
            except WouldBlock:  # not run (the call is made again in a thread): not counted
                raise
            except Exception as exc:
                errors.labels(name, type(exc).__name__).inc()
                latency.observe(time.perf_counter() - start)
                raise
            latency.observe(time.perf_counter() - start)
            if counted is not None:
                counted(metrics, result, *args, **kwargs)
            return result

        return timed

    def _claimed_at(self, task_id: str) -> float | None:
        with self._lock:
            return self._claimed.pop(task_id, None)


# ---------------------------------------------------------------------- what the calls return


def _created(m: Metrics, row: Any, *args: Any, **kwargs: Any) -> None:
    m.sessions_created.inc()


def _appended(
    m: Metrics, row: Any, owner: Any, sid: str, messages: Any, now: float, **kw: Any
) -> None:
    m.messages_appended.inc(len(messages))
    if kw.get("auto_create") and row.created_at == now and row.total_message_count == len(messages):
        m.sessions_created.inc()  # this append made the session


def _committed(m: Metrics, outcome: Any, *args: Any, **kwargs: Any) -> None:
    m.commits.labels("skipped" if outcome.archive_no is None else "archived").inc()


def _deleted(m: Metrics, receipt: Any, *args: Any, **kwargs: Any) -> None:
    m.sessions_deleted.labels(receipt.mode, kwargs.get("action", "delete")).inc()


def _erased(m: Metrics, counts: Any, *args: Any, **kwargs: Any) -> None:
    m.erasures.inc()


def _claimed(m: Metrics, claimed: Any, *args: Any, **kwargs: Any) -> None:
    if claimed is not None:
        with m._lock:
            if len(m._claimed) > 10_000:  # claims lost to crashes must not pile up
                m._claimed.clear()
            m._claimed[claimed.task.task_id] = time.perf_counter()


def _finished(m: Metrics, outcome: str, task_id: str) -> None:
    m.extractions.labels(outcome).inc()
    start = m._claimed_at(task_id)
    if start is not None:
        m.extraction_duration.observe(time.perf_counter() - start)


def _completed(m: Metrics, outcome: Any, task_id: str, *args: Any, **kwargs: Any) -> None:
    _finished(m, outcome.status, task_id)
    usage = kwargs.get("usage")
    if usage is not None:
        m.extraction_tokens.labels("prompt").inc(usage.prompt_tokens)
        m.extraction_tokens.labels("completion").inc(usage.completion_tokens)


def _failed(m: Metrics, result: Any, task_id: str, *args: Any, **kwargs: Any) -> None:
    _finished(m, "failed", task_id)


_COUNTERS: dict[str, Callable[..., None]] = {
    "create_session": _created,
    "append_messages": _appended,
    "commit": _committed,
    "delete_session": _deleted,
    "erase_user": _erased,
    "claim_task": _claimed,
    "complete_extraction": _completed,
    "fail_task": _failed,
}


class _QueueCollector(Collector):
    """The extraction queue, read from the store at each scrape (0s when it cannot answer)."""

    def __init__(self, store: Store, now: clock.Clock) -> None:
        self.store = store
        self.now = now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            queue = self.store.task_queue(self.now())
            pending, running, age = queue.pending, queue.running, queue.oldest_pending_age
        except Exception:
            pending, running, age = 0, 0, 0.0
        depth = GaugeMetricFamily(
            "skald_task_queue_depth", "Extraction tasks waiting or running", labels=["status"]
        )
        depth.add_metric(["pending"], pending)
        depth.add_metric(["running"], running)
        yield depth
        yield GaugeMetricFamily(
            "skald_task_queue_oldest_age_seconds",
            "Seconds the oldest waiting extraction task has waited",
            value=age,
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())
