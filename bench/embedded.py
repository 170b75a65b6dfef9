"""Embedded-mode benchmark for Skald: the design's embedded targets, through the public client only.

    uv run python bench/embedded.py              # full scale (about a minute on 2 cores)
    uv run python bench/embedded.py --scale 0.1  # quicker run; --scale 0.01 is a smoke run
    uv run python bench/embedded.py --only ad --json out.json  # some phases; raw figures
    uv run python bench/embedded.py --database-url postgresql://postgres@127.0.0.1:5432/test
                                                 # the same on the PostgreSQL backend

Measures, in one run, against ``ov.OpenViking(path=<temp dir>)`` (or, with ``--database-url``,
``ov.OpenViking(database_url=..., database_schema=<fresh schema, dropped afterwards>)``):

  (a) add_message/s, sequential, on one session growing to 10,000 messages (first and last
      1,000 shown separately: the rate must be flat as the session grows)
  (b) batch_add_messages throughput (batches of 100)
  (c) commit of a 100-message and of a 10,000-message session, wait=False (the archive phase)
      and wait=True (archive + built-in extraction), p50 over several fresh sessions
  (d) delete of a session holding 10,000 messages in 20 archives, p50 over >= 5 sessions
  (e) list_sessions(limit=100) with 100,000 sessions present (and the time to seed them)
  (f) get_session on a 10-message and on a 10,000-message session

Targets (docs/design.md, "Targets", embedded): add_message >= 20,000/s; delete of 10,000
messages + 20 archives p50 <= 20 ms; list of 100,000 sessions with limit=100 p50 <= 10 ms.
"ratio" is always "how many times better than the target": >= 1.00 means the target is met.

The background extraction worker is deliberately not started (no ``initialize()``), so a
``wait=False`` commit leaves its extraction task queued instead of racing the next timing;
``wait=True`` runs the extraction in the calling thread, as the client does.
Sizes scale with ``--scale`` (counts are rounded and kept above a small floor). On a shared
machine figures move by a third from run to run: compare runs made back to back.
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import skald as ov

perf = time.perf_counter

ADD_TARGET = 20_000.0  # add_message/s
DELETE_TARGET_MS = 20.0  # delete of 10,000 messages + 20 archives, p50
LIST_TARGET_MS = 10.0  # list of 100,000 sessions, limit=100, p50

BATCH = 100  # the service's maximum batch size

_TEXTS = [
    "Hello! My name is Ada and I love hiking in the mountains on weekends.",
    "Could you summarise the trade-offs between write-ahead logging and rollback journals "
    "for a small embedded database that sees mostly appends and occasional bulk deletes?",
    "Sure. WAL lets readers proceed while a writer appends to the log, so appends are cheap "
    "and readers never block; rollback journals copy original pages first, which costs an "
    "extra write per page and blocks readers during commit. Bulk deletes free pages either way.",
    "I prefer concise answers with a short code example when possible.",
    "Understood. Here is a minimal example: open the connection, set journal_mode=WAL, keep "
    "one writer, and batch inserts inside a single transaction to amortise the fsync cost.",
]


# ------------------------------------------------------------------------------ helpers
def message(i: int) -> dict[str, Any]:
    """A realistic chat message (60-260 characters of text), alternating user/assistant."""
    return {"role": "user" if i % 2 == 0 else "assistant", "content": _TEXTS[i % len(_TEXTS)]}


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank; values need not be sorted."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1000
    if ms >= 100:
        return f"{ms:.0f} ms"
    if ms >= 1:
        return f"{ms:.2f} ms"
    return f"{ms * 1000:.0f} µs"


def fmt_rate(per_s: float) -> str:
    return f"{per_s:,.0f}/s"


def lat(samples: list[float]) -> str:
    return f"p50 {fmt_ms(pct(samples, 0.5))}  p95 {fmt_ms(pct(samples, 0.95))}"


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect before a timed section and keep the cyclic GC out of it."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []
        self.values: dict[str, dict[str, float]] = {}

    def add(
        self,
        op: str,
        figure: str,
        target: str = "—",
        ratio: str = "—",
        samples: list[float] | None = None,
        rate: float | None = None,
    ) -> None:
        """One row; ``samples`` (seconds) or ``rate`` (per second) also go to --json."""
        self.rows.append((op, figure, target, ratio))
        if samples:
            self.values[op] = {
                "p50_s": pct(samples, 0.5),
                "p95_s": pct(samples, 0.95),
                "n": len(samples),
            }
        elif rate is not None:
            self.values[op] = {"per_s": rate}
        print(f"  {op:<46} {figure}", flush=True)

    def print(self) -> None:
        head = ("operation", "figure", "target", "ratio")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(4)]
        line = "  ".join("-" * w for w in widths)
        print()
        print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
        print(line)
        for r in self.rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def ratio_min(figure: float, target: float) -> str:
    """For a "≥ target" figure."""
    r = figure / target
    return f"{r:.2f} {'ok' if r >= 1 else 'MISS'}"


def ratio_max(figure: float, target: float) -> str:
    """For a "≤ target" figure (latencies)."""
    r = target / figure if figure > 0 else float("inf")
    return f"{r:.2f} {'ok' if r >= 1 else 'MISS'}"


def seed(client: ov.OpenViking, session_id: str, n: int, start: int = 0) -> None:
    """Put n messages into a session with batch_add_messages (untimed helper)."""
    done = 0
    while done < n:
        k = min(BATCH, n - done)
        client.batch_add_messages(session_id, [message(start + done + j) for j in range(k)])
        done += k


def timed(fn: Callable[[], Any]) -> float:
    t0 = perf()
    fn()
    return perf() - t0


# ------------------------------------------------------------------------------ phases
def phase_add(client: ov.OpenViking, table: Table, n: int) -> None:
    window = max(10, min(1000, n // 10))
    sid = "bench-add"
    samples: list[float] = []
    add = client.add_message
    with quiet_gc():
        t_all = perf()
        for i in range(n):
            m = message(i)
            t0 = perf()
            add(sid, m["role"], m["content"])
            samples.append(perf() - t0)
        total = perf() - t_all
    assert client.get_session(sid)["message_count"] == n
    rate = n / total
    first = window / sum(samples[:window])
    last = window / sum(samples[-window:])
    table.add(
        f"(a) add_message, {n:,} sequential (wall)",
        fmt_rate(rate),
        f"≥ {ADD_TARGET:,.0f}/s",
        ratio_min(rate, ADD_TARGET),
        rate=rate,
    )
    table.add(
        f"(a) add_message, first {window:,}",
        fmt_rate(first),
        f"≥ {ADD_TARGET:,.0f}/s",
        ratio_min(first, ADD_TARGET),
        rate=first,
    )
    table.add(
        f"(a) add_message, last {window:,}",
        fmt_rate(last),
        "flat (≈ first)",
        f"{last / first:.2f}× first",
        rate=last,
    )
    table.add("(a) add_message latency", lat(samples), samples=samples)


def phase_batch(client: ov.OpenViking, table: Table, n: int) -> None:
    sid = "bench-batch"
    samples: list[float] = []
    batches = [[message(i + j) for j in range(BATCH)] for i in range(0, n, BATCH)]
    with quiet_gc():
        for batch in batches:
            t0 = perf()
            client.batch_add_messages(sid, batch)
            samples.append(perf() - t0)
    total = sum(samples)
    sent = sum(len(b) for b in batches)
    rate = sent / total
    table.add(
        f"(b) batch_add_messages ×{BATCH}, {sent:,} msgs",
        fmt_rate(rate) + " msgs",
        f"(≥ {ADD_TARGET:,.0f}/s)",
        ratio_min(rate, ADD_TARGET),
        rate=rate,
    )
    table.add(f"(b) batch_add_messages ×{BATCH} latency", lat(samples), samples=samples)


def phase_commit(
    client: ov.OpenViking, table: Table, size: int, reps: int, tag: str, http_hint: str
) -> None:
    for wait in (False, True):
        samples: list[float] = []
        for r in range(reps):
            sid = f"bench-commit-{tag}-{'w' if wait else 'a'}-{r}"
            seed(client, sid, size)
            with quiet_gc():
                t0 = perf()
                res = client.commit_session(sid, wait=wait)
                samples.append(perf() - t0)
            assert res["archived"], res
            assert res["status"] == ("completed" if wait else "accepted"), res
        what = "wait=True (archive+extract)" if wait else "wait=False (archive)"
        table.add(
            f"(c) commit {size:,} msgs, {what}",
            lat(samples),
            http_hint if not wait else "—",
            samples=samples,
        )


def phase_delete(client: ov.OpenViking, table: Table, size: int, archives: int, reps: int) -> None:
    """Build every session first, then delete them back to back (a cleanup run).

    The short pause between building and deleting lets background work caused by the build
    (the store's WAL checkpoint) finish: it belongs to the build, not to the deletes. Work a
    delete causes itself is still on the clock (inline, or competing with the next delete).
    """
    per_archive = max(1, size // archives)
    samples: list[float] = []
    build: list[float] = []
    sids = [f"bench-delete-{r}" for r in range(reps)]
    for sid in sids:
        t0 = perf()
        for a in range(archives):
            seed(client, sid, per_archive, start=a * per_archive)
            client.commit_session(sid, wait=False)
        build.append(perf() - t0)
    time.sleep(0.5)
    with quiet_gc():
        for sid in sids:
            t0 = perf()
            receipt = client.delete_session(sid)
            samples.append(perf() - t0)
            assert receipt["deleted"]["messages"] == per_archive * archives, receipt
            assert receipt["deleted"]["archives"] == archives, receipt
    p50 = pct(samples, 0.5)
    table.add(
        f"(d) delete {per_archive * archives:,} msgs + {archives} archives (×{reps})",
        lat(samples),
        f"p50 ≤ {DELETE_TARGET_MS:.0f} ms",
        ratio_max(p50 * 1000, DELETE_TARGET_MS),
        samples=samples,
    )
    table.add(
        "(d)   build one such session (5 batches+commit ×20)",
        f"mean {fmt_ms(statistics.fmean(build))}",
        samples=build,
    )


class Backend:
    """Where the clients keep their data: a directory (SQLite) or PostgreSQL schemas."""

    def __init__(self, workdir: Path, database_url: str | None) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.run = f"skald_bench_{time.strftime('%H%M%S')}_{id(self) % 10_000}"
        self.schemas: list[str] = []

    def client(self, name: str) -> ov.OpenViking:
        if self.database_url is None:
            return ov.OpenViking(path=self.workdir / name)
        schema = f"{self.run}_{name}"
        self.schemas.append(schema)
        return ov.OpenViking(database_url=self.database_url, database_schema=schema)

    def describe(self) -> str:
        if self.database_url is None:
            return f"SQLite {sqlite3.sqlite_version}"
        from skald_core.store.postgres import describe_url

        return f"PostgreSQL {describe_url(self.database_url)} (schemas {self.run}_*)"

    def analyze(self, name: str) -> bool:
        """PostgreSQL: refresh the planner's statistics of a client's schema (what autovacuum
        does in the background; a server running without autovacuum never has any)."""
        if self.database_url is None:
            return False
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute("SELECT set_config('search_path', %s, false)", (f"{self.run}_{name}",))
            conn.execute("ANALYZE")
        return True

    def drop(self) -> None:
        if not self.schemas:
            return
        import psycopg

        with psycopg.connect(str(self.database_url), autocommit=True) as conn:
            for schema in self.schemas:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


def phase_list(backend: Backend, table: Table, n_sessions: int, reps: int) -> None:
    client = backend.client("list")
    try:
        with quiet_gc():
            t0 = perf()
            create = client.create_session
            for _ in range(n_sessions):
                create()
            seeding = perf() - t0
        table.add(
            f"(e) seed {n_sessions:,} sessions (create_session)",
            f"{seeding:.2f} s = {fmt_rate(n_sessions / seeding)}",
            rate=n_sessions / seeding,
        )
        first = client.list_sessions(limit=100)
        assert len(first) == min(100, n_sessions), len(first)
        samples: list[float] = []
        paged: list[float] = []
        cursor = first[-1]["session_id"]
        with quiet_gc():
            for _ in range(reps):
                samples.append(timed(lambda: client.list_sessions(limit=100)))
            for _ in range(reps):
                paged.append(timed(lambda: client.list_sessions(limit=100, cursor=cursor)))
        p50 = pct(samples, 0.5)
        table.add(
            f"(e) list_sessions(limit=100) of {n_sessions:,}",
            lat(samples),
            f"p50 ≤ {LIST_TARGET_MS:.0f} ms",
            ratio_max(p50 * 1000, LIST_TARGET_MS),
            samples=samples,
        )
        table.add("(e) list_sessions(limit=100, cursor=page 1)", lat(paged), samples=paged)
        if backend.analyze("list"):
            fresh: list[float] = []
            with quiet_gc():
                for _ in range(reps):
                    fresh.append(timed(lambda: client.list_sessions(limit=100)))
            table.add(
                "(e) list_sessions(limit=100), after ANALYZE",
                lat(fresh),
                f"p50 ≤ {LIST_TARGET_MS:.0f} ms",
                ratio_max(pct(fresh, 0.5) * 1000, LIST_TARGET_MS),
                samples=fresh,
            )
    finally:
        client.close()


def phase_get(client: ov.OpenViking, table: Table, big: int, reps: int) -> None:
    small_sid, big_sid = "bench-get-small", "bench-get-big"
    seed(client, small_sid, 10)
    seed(client, big_sid, big)
    results: dict[str, list[float]] = {small_sid: [], big_sid: []}
    get = client.get_session
    with quiet_gc():
        for _ in range(reps):  # interleave so drift hits both equally
            for sid in (small_sid, big_sid):
                t0 = perf()
                get(sid)
                results[sid].append(perf() - t0)
    small, large = results[small_sid], results[big_sid]
    table.add("(f) get_session, 10 msgs", lat(small), samples=small)
    table.add(
        f"(f) get_session, {big:,} msgs",
        lat(large),
        "≈ 10-msg p50",
        f"{pct(large, 0.5) / pct(small, 0.5):.2f}× 10-msg",
        samples=large,
    )


# ------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="size factor (default 1.0)")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures as JSON")
    parser.add_argument(
        "--only", default="abcdef", help="run only these phases, e.g. --only ad (default: all)"
    )
    parser.add_argument(
        "--database-url", help="benchmark the PostgreSQL backend on this database (fresh schemas)"
    )
    args = parser.parse_args(argv)
    s = args.scale
    if s <= 0:
        parser.error("--scale must be > 0")

    def scaled(n: int, floor: int) -> int:
        return max(floor, round(n * s))

    n_add = scaled(10_000, 100)
    n_batch = scaled(20_000, 200)
    big = scaled(10_000, 200)  # kept apart from the 100-message case even when scaled down
    commit_reps_small = scaled(20, 3)
    commit_reps_big = scaled(5, 2)
    delete_size = scaled(10_000, 100)
    delete_reps = 11 if s >= 1 else 5  # a p50 over at least 5 sessions
    n_list = scaled(100_000, 500)
    list_reps = scaled(200, 20)
    get_reps = scaled(2_000, 50)

    workdir = Path(tempfile.mkdtemp(prefix="skald-bench-"))
    backend = Backend(workdir, args.database_url)
    print(
        f"Skald embedded bench — scale {s:g}; Python {platform.python_version()}, "
        f"{backend.describe()}, {platform.machine()}, skald {ov.__version__}"
    )
    print(f"data in {workdir}", flush=True)
    table = Table()
    started = perf()
    try:
        client = backend.client("main")
        try:
            only = set(args.only)
            if "a" in only:
                phase_add(client, table, n_add)
            if "b" in only:
                phase_batch(client, table, n_batch)
            if "c" in only:
                phase_commit(client, table, 100, commit_reps_small, "100", "(HTTP ≤ 5 ms)")
                phase_commit(client, table, big, commit_reps_big, "big", "—")
            if "d" in only:
                phase_delete(client, table, delete_size, 20, delete_reps)
            if "e" in only:
                phase_list(backend, table, n_list, list_reps)
            if "f" in only:
                phase_get(client, table, big, get_reps)
        finally:
            client.close()
    finally:
        if args.keep:
            print(f"kept {workdir} {' '.join(backend.schemas)}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            backend.drop()
    table.print()
    print(f"\ntotal bench time {perf() - started:.1f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"scale": s, "rows": table.rows, "values": table.values}, indent=1),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
