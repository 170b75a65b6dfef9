"""The least a PostgreSQL request can cost next to a SQLite one on this machine, measured.

    uv run python bench/pg_floor.py                 # 4 s of wrk, 4,000 queries
    uv run python bench/pg_floor.py --smoke         # seconds, for the CI smoke test

Issue "Speed to the limit" asks for the PostgreSQL backend within 2x of SQLite on every HTTP
row of ``bench/wrk_bench.py --backends``. This prints what that ratio can be at best for
get_session, from four figures measured here in one run:

* S: ``skald serve`` on SQLite, server CPU per get_session (wrk at saturation, 16
  connections; the whole request: HTTP, auth, the store, JSON);
* W: wrk's own CPU per request in that run (it shares the machine's cores);
* Q: the PostgreSQL store's get_session called directly (no thread hop), the caller's CPU
  per call: psycopg, libpq, the loopback socket;
* B: the PostgreSQL backend's CPU per such query (its own process, read from ``/proc``).

At saturation on a machine whose cores serve everything, requests/s is about cores / CPU per
request. A PostgreSQL request costs at least the SQLite request's CPU plus Q and B (nothing
of SQLite's own store work is taken off: generous to PostgreSQL), so the best PG/SQLite ratio
of get_session at 16 connections is (S + W + Q + B) / (S + W). Also printed: the same with
the thread hop the server pays today (H, the call made through ``handoff.STORE_THREADS`` from
16 tasks on an event loop) and, for one connection, the wall time of one query next to
SQLite's p50.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import wrk_bench as wb  # the wrk runner, CPU of a process, seeding (bench/wrk_bench.py)

URL = "postgresql://postgres@127.0.0.1:5432/test"


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def wrk_get(url: str, seconds: int, connections: int) -> dict[str, float]:
    """``wrk_bench.wrk`` of a GET, refused if any answer was not a success."""
    got = wb.wrk(url, seconds, connections)
    if got["non2xx"] or got["socket_errors"]:
        raise SystemExit(f"wrk: errors against {url}: {got}")
    return got


def sqlite_side(seconds: int) -> tuple[float, float, float]:
    """S and W in µs per request at 16 connections, and the p50 in ms at one connection."""
    tmp = Path(tempfile.mkdtemp(prefix="skald-floor-"))
    try:
        with wb.running_server(
            "skald", wb.skald_serve(tmp / "data"), tmp / "skald.log", ready_path="/ready"
        ) as server:
            with httpx.Client(base_url=server.url) as client:
                wb.seed(client, "floor", 10)
            url = f"{server.url}{wb.API}/floor"
            wrk_get(url, 1, 16)  # warm up
            before = wb.cpu_seconds(server.pid)
            loaded = wrk_get(url, seconds, 16)
            server_cpu = wb.cpu_seconds(server.pid) - before
            p50 = wrk_get(url, seconds, 1)["p50"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = loaded["requests"]
    return server_cpu / n * 1e6, loaded["cpu_s"] / n * 1e6, p50


def postgres_side(url: str, calls: int) -> tuple[float, float, float, float]:
    """Q and B in µs per query, the wall time of one query in ms, and H in µs per call."""
    from skald_core.store.model import Owner
    from skald_core.store.postgres import PostgresStore
    from skald_server.handoff import STORE_THREADS

    schema = f"skald_floor_{uuid.uuid4().hex[:8]}"
    store = PostgresStore(url, schema=schema, min_size=1, max_size=1, synchronous_commit=False)
    owner = Owner("default", "default")
    try:
        store._tx(
            lambda c: c.execute(
                "INSERT INTO sessions (account, user_name, session_id, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?)",
                (owner.account, owner.user, "floor", 1.0, 1.0),
            ),
            single=True,
        )
        backend = int(store._tx(lambda c: c.one("SELECT pg_backend_pid()"), write=False))

        def direct(n: int) -> None:
            for _ in range(n):
                store.get_session(owner, "floor")

        def measured(run: Callable[[int], None]) -> tuple[float, float, float]:
            run(max(10, calls // 10))  # warm up: statements prepared
            c0, b0, t0 = own_cpu(), wb.cpu_seconds(backend), time.perf_counter()
            run(calls)
            c1, b1, t1 = own_cpu(), wb.cpu_seconds(backend), time.perf_counter()
            return (c1 - c0) / calls * 1e6, (b1 - b0) / calls * 1e6, (t1 - t0) / calls * 1e3

        q, b, wall = measured(direct)

        async def hopped(n: int) -> None:
            async def task(k: int) -> None:
                for _ in range(k):
                    await STORE_THREADS.run(store.get_session, owner, "floor")

            await asyncio.gather(*(task(n // 16) for _ in range(16)))

        h, _, _ = measured(lambda n: asyncio.run(hopped(n)))
    finally:
        store._tx(lambda c: c.execute(f'DROP SCHEMA "{schema}" CASCADE'), single=True)
        store.close()
    return q, b, wall, h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("SKALD_TEST_DATABASE_URL", URL))
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--calls", type=int, default=4000, help="PostgreSQL queries timed")
    parser.add_argument("--smoke", action="store_true", help="1 s runs, 200 queries")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    seconds, calls = (1, 200) if args.smoke else (args.duration, args.calls)

    s, w, p50 = sqlite_side(seconds)
    q, b, wall, h = postgres_side(args.database_url, calls)
    floor = (s + w + q + b) / (s + w)
    today = (s + w + h + b) / (s + w)
    latency = (p50 + wall) / p50
    rows = [
        ("S: SQLite server CPU per get_session, c=16", f"{s:.0f} us"),
        ("W: wrk's CPU per request", f"{w:.0f} us"),
        ("Q: PostgreSQL store get_session, caller's CPU", f"{q:.0f} us"),
        ("B: PostgreSQL backend CPU per query", f"{b:.0f} us"),
        ("H: Q through the store threads (16 tasks)", f"{h:.0f} us"),
        ("best PG/SQLite get_session c=16: (S+W+Q+B)/(S+W)", f"{floor:.2f}x"),
        ("  with the thread hop: (S+W+H+B)/(S+W)", f"{today:.2f}x"),
        ("SQLite get_session c=1 p50", f"{p50:.3f} ms"),
        ("one PostgreSQL query, wall", f"{wall:.3f} ms"),
        ("best PG/SQLite get_session c=1: (p50+query)/p50", f"{latency:.2f}x"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"PostgreSQL's least cost next to SQLite ({os.cpu_count()} cores, one run)")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
