"""HTTP benchmark for ``skald serve`` against a bare Litestar + msgspec echo app, in ONE run.

    uv run python bench/http_bench.py                 # full run (a few minutes on 2 cores)
    uv run python bench/http_bench.py --scale 0.2     # smaller counts, same shape
    uv run python bench/http_bench.py --no-workload   # skip the shared session workload
    uv run python bench/http_bench.py --database-url postgresql://postgres@127.0.0.1:5432/test
                                                      # the same on the PostgreSQL backend

(Not ``bench/http.py``: run as a script, a file of that name shadows the standard library's
``http`` package for every script in ``bench/``, and httpx stops importing.)

Starts, on free loopback ports:
  * ``skald serve`` in dev mode on a fresh temporary data directory (SQLite) or, with
    ``--database-url``, on that PostgreSQL database in a fresh schema (dropped afterwards
    unless ``--database-schema`` names one to use and keep), and
  * ``bench/echo_app.py`` (one POST route echoing a small msgspec Struct in an envelope, one GET
    route answering a small envelope), served by uvicorn with the settings ``skald serve`` uses
    (one worker, ``access_log=False``).

Then measures, sequentially with ONE keep-alive ``httpx.Client`` (bodies pre-encoded so the
client's own JSON work is not in the figures):
  * add_message/s on one session as it grows to 2,000 messages (first 500 vs last 500),
  * get_session/s on a 10-message and on a 2,000-message session,
  * echo POST/s and echo GET/s,
and with ``httpx.AsyncClient`` and 16 concurrent workers: 2,000 appends to ONE session (p50/p99,
lost updates checked) and, for reference, 2,000 echo POSTs.

Prints a table with each figure and its ratio to the echo route (design "Targets":
add_message >= 50% of echo and flat as the session grows; get independent of session size;
16 concurrent appends p99 <= 100 ms). Finally runs ``shared/bench/session_workload.py``
against the same Skald server (``BENCH_URL``, ``BENCH_SCALE=1``) and prints its output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# Starting, waiting for and stopping the servers is the test suite's (tests/support/server.py).
sys.path.insert(0, str(ROOT))
from tests.support.server import (  # noqa: E402
    ServerProcess,
    ServerStartError,
    running_server,
    skald_serve,
)

ECHO_APP = ROOT / "bench" / "echo_app.py"
DEFAULT_WORKLOAD = ROOT.parent / "shared" / "bench" / "session_workload.py"
API = "/api/v1/sessions"
JSON_HEADERS = {"Content-Type": "application/json"}
CONC = 16

# OpenViking 0.5.2 on this machine, sequential (docs/design.md "Targets").
OV_ADD_PER_S = 60.0
OV_GET_PER_S = 260.0


# ------------------------------------------------------------------------- processes


def rss_mb(server: ServerProcess) -> float:
    try:
        for line in Path(f"/proc/{server.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# ------------------------------------------------------------------------- measuring


@dataclass
class Figure:
    label: str
    n: int
    wall: float
    lat_ms: list[float]

    @property
    def rate(self) -> float:
        return self.n / self.wall if self.wall > 0 else float("nan")

    def pct(self, p: float) -> float:
        lat = sorted(self.lat_ms)
        if not lat:
            return float("nan")
        k = (len(lat) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(lat) - 1)
        return lat[lo] + (lat[hi] - lat[lo]) * (k - lo)


def body(i: int) -> bytes:
    role = "user" if i % 2 == 0 else "assistant"
    text = f"bench message {i}: the quick brown fox jumps over the lazy dog, twice."
    return json.dumps({"role": role, "content": text}).encode()


def sequential(
    client: httpx.Client, label: str, method: str, paths: list[str], bodies: list[bytes] | None
) -> tuple[list[float], list[float]]:
    """One request at a time; returns (start times, end times). Fails on any non-2xx."""
    starts: list[float] = []
    ends: list[float] = []
    for i, path in enumerate(paths):
        content = bodies[i] if bodies is not None else None
        t0 = time.perf_counter()
        response = client.request(
            method, path, content=content, headers=JSON_HEADERS if content else None
        )
        t1 = time.perf_counter()
        if not response.is_success:
            raise SystemExit(f"{label}: {response.status_code} {response.text[:300]}")
        starts.append(t0)
        ends.append(t1)
    return starts, ends


def figure(label: str, starts: list[float], ends: list[float]) -> Figure:
    lat = [(e - s) * 1000 for s, e in zip(starts, ends, strict=True)]
    return Figure(label, len(lat), ends[-1] - starts[0], lat)


def result(response: httpx.Response) -> dict[str, object]:
    data = response.json()
    assert data["status"] == "ok", data
    out: dict[str, object] = data["result"]
    return out


async def concurrent(
    url: str, label: str, path: str, total: int, conc: int = CONC
) -> tuple[Figure, int]:
    """``total`` POSTs of ``body(i)`` to ``path`` from ``conc`` workers; (figure, errors)."""
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    lat: list[float] = []
    errors = 0
    counter = iter(range(total))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        # Open the connections before timing.
        await asyncio.gather(*(client.get("/health") for _ in range(conc)))

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                t0 = time.perf_counter()
                response = await client.post(path, content=body(i), headers=JSON_HEADERS)
                lat.append((time.perf_counter() - t0) * 1000)
                if not response.is_success:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        wall = time.perf_counter() - t0
    return Figure(label, len(lat), wall, lat), errors


# ------------------------------------------------------------------------- the run


Row = tuple[str, str, Figure, str, str]  # route, case, figure, ratio to echo, target


def run_http(skald: ServerProcess, echo: ServerProcess, scale: float) -> list[Row]:
    def n(x: int) -> int:
        return max(20, round(x * scale))

    grow = n(2000)
    slice_ = max(10, grow // 4)  # 500 of 2,000
    gets = n(1000)
    run = uuid.uuid4().hex[:6]

    with (
        httpx.Client(base_url=skald.url, timeout=60) as sk,
        httpx.Client(base_url=echo.url, timeout=60) as ec,
    ):
        # Warm up both servers and both connections (not timed).
        warm = f"warm-{run}"
        sequential(sk, "warm", "POST", [f"{API}/{warm}/messages"] * 100, [body(0)] * 100)
        sequential(sk, "warm", "GET", [f"{API}/{warm}"] * 100, None)
        sequential(ec, "warm", "POST", [f"/echo/{warm}"] * 100, [body(0)] * 100)
        sequential(ec, "warm", "GET", ["/echo"] * 100, None)

        bodies = [body(i) for i in range(grow)]
        s, e = sequential(ec, "echo POST", "POST", [f"/echo/grow-{run}"] * grow, bodies)
        echo_post = figure("echo POST", s, e)

        big = f"grow-{run}"
        result(sk.post(API, json={"session_id": big}))
        s, e = sequential(sk, "add_message", "POST", [f"{API}/{big}/messages"] * grow, bodies)
        add_first = figure(f"add_message, messages 1-{slice_}", s[:slice_], e[:slice_])
        add_last = figure(
            f"add_message, messages {grow - slice_ + 1}-{grow}", s[-slice_:], e[-slice_:]
        )
        add_all = figure(f"add_message, all {grow}", s, e)
        count = result(sk.get(f"{API}/{big}"))["message_count"]
        assert count == grow, f"{big} holds {count} messages, expected {grow}"

        s, e = sequential(ec, "echo GET", "GET", ["/echo"] * gets, None)
        echo_get = figure("echo GET", s, e)

        small = f"small-{run}"
        batch = {"messages": [json.loads(body(i)) for i in range(10)]}
        result(sk.post(f"{API}/{small}/messages/batch", json=batch))
        s, e = sequential(sk, "get small", "GET", [f"{API}/{small}"] * gets, None)
        get_small = figure("get_session, 10 messages", s, e)
        s, e = sequential(sk, "get big", "GET", [f"{API}/{big}"] * gets, None)
        get_big = figure(f"get_session, {grow} messages", s, e)

    conc_sid = f"conc-{run}"
    httpx.post(skald.url + API, json={"session_id": conc_sid}, timeout=60).raise_for_status()
    conc_add, add_errors = asyncio.run(
        concurrent(skald.url, "add_message x16", f"{API}/{conc_sid}/messages", grow)
    )
    conc_echo, echo_errors = asyncio.run(
        concurrent(echo.url, "echo POST x16", f"/echo/{conc_sid}", grow)
    )
    final = result(httpx.get(f"{skald.url}{API}/{conc_sid}", timeout=60))["message_count"]
    lost = grow - int(str(final)) - add_errors

    def ratio(fig: Figure, base: Figure) -> str:
        return f"{fig.rate / base.rate:.2f}"

    rows: list[Row] = [
        ("echo POST (baseline)", "", echo_post, "1.00", ""),
        ("add_message", add_first.label[13:], add_first, ratio(add_first, echo_post), ">= 0.50"),
        ("add_message", add_last.label[13:], add_last, ratio(add_last, echo_post), ">= 0.50"),
        ("add_message", add_all.label[13:], add_all, ratio(add_all, echo_post), ">= 0.50"),
        ("echo GET (baseline)", "", echo_get, "1.00", ""),
        ("get_session", get_small.label[13:], get_small, ratio(get_small, echo_get), ""),
        ("get_session", get_big.label[13:], get_big, ratio(get_big, echo_get), ""),
        ("echo POST x16 (baseline)", "16 concurrent", conc_echo, "1.00", ""),
        (
            "add_message x16",
            "16 concurrent, one session",
            conc_add,
            ratio(conc_add, conc_echo),
            "p99 <= 100 ms",
        ),
    ]
    print_table(rows)
    print()
    print(
        f"add_message flatness (last {slice_} / first {slice_} rate): "
        f"{add_last.rate / add_first.rate:.2f}  (target: ~1.00)"
    )
    print(
        f"get_session size independence ({grow}-msg / 10-msg rate): "
        f"{get_big.rate / get_small.rate:.2f}  (target: ~1.00)"
    )
    print(
        f"vs OpenViking 0.5.2 (design): add_message {add_all.rate / OV_ADD_PER_S:.1f}x "
        f"(target >= 20x), get_session {get_small.rate / OV_GET_PER_S:.1f}x (target >= 5x)"
    )
    print(
        f"16 concurrent appends: p99 {conc_add.pct(0.99):.1f} ms (target <= 100 ms); "
        f"errors {add_errors}, echo errors {echo_errors}, final message_count {final}, "
        f"lost updates {lost}"
    )
    return rows


def print_table(rows: list[Row]) -> None:
    head = f"{'route':24} {'case':28} {'n':>5} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
    head += f"{'vs echo':>8}  target"
    print(head)
    print("-" * len(head))
    for route, case, fig, ratio, target in rows:
        print(
            f"{route:24} {case:28} {fig.n:5d} {fig.rate:9.1f} {fig.pct(0.5):8.2f} "
            f"{fig.pct(0.99):8.2f} {ratio:>8}  {target}"
        )


def run_workload(workload: Path, skald: ServerProcess) -> int:
    env = dict(os.environ)
    env.update(
        BENCH_URL=skald.url,
        BENCH_SCALE="1",
        BENCH_SERVER_PID=str(skald.proc.pid),
    )
    for name in ("BENCH_API_KEY", "BENCH_ACCOUNT", "BENCH_USER", "BENCH_ONLY"):
        env.pop(name, None)
    print(f"$ BENCH_URL={skald.url} BENCH_SCALE=1 python {workload}", flush=True)
    done = subprocess.run([sys.executable, str(workload)], env=env, check=False)
    return done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the op counts")
    parser.add_argument("--no-workload", action="store_true", help="skip session_workload.py")
    parser.add_argument("--workload", type=Path, default=DEFAULT_WORKLOAD)
    parser.add_argument(
        "--database-url", help="run skald serve on this PostgreSQL database instead of SQLite"
    )
    parser.add_argument(
        "--database-schema", help="schema to use and keep (default: a fresh one, dropped after)"
    )
    args = parser.parse_args()
    schema = args.database_schema or f"skald_bench_{uuid.uuid4().hex[:8]}"
    try:
        return bench(args, schema)
    except ServerStartError as exc:
        raise SystemExit(str(exc)) from None
    finally:
        if args.database_url and not args.database_schema:
            drop_schema(args.database_url, schema)


def drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


def bench(args: argparse.Namespace, schema: str) -> int:
    backend = "sqlite"
    if args.database_url:
        from skald_core.store.postgres import describe_url

        backend = f"postgresql {describe_url(args.database_url)} schema {schema}"

    print(
        f"# bench/http_bench.py  python {platform.python_version()}  {platform.machine()}  "
        f"cpus={os.cpu_count()}  {time.strftime('%Y-%m-%d %H:%M:%S')}  "
        f"loadavg={' '.join(f'{x:.2f}' for x in os.getloadavg())}  store={backend}"
    )
    with tempfile.TemporaryDirectory(prefix="skald-bench-http-") as tmp:
        base = Path(tmp)
        db_args: list[str] = []
        if args.database_url:
            db_args = ["--database-url", args.database_url, "--database-schema", schema]
        skald_cmd = skald_serve(base / "data", *db_args)

        def echo_cmd(port: int) -> list[str]:
            return [sys.executable, str(ECHO_APP), "--port", str(port)]

        with (
            running_server("skald", skald_cmd, base / "skald.log") as skald,
            running_server("echo", echo_cmd, base / "echo.log") as echo,
        ):
            print(
                f"# skald serve (dev mode, {backend}) {skald.url} pid {skald.proc.pid}; "
                f"echo app {echo.url} pid {echo.proc.pid}"
            )
            print()
            run_http(skald, echo, args.scale)
            print(f"\nskald server RSS after the HTTP runs: {rss_mb(skald):.1f} MB")
            print(f"loadavg now: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            status = 0
            if not args.no_workload:
                print()
                if not args.workload.exists():
                    print(f"(workload {args.workload} not found; skipped)")
                else:
                    status = run_workload(args.workload, skald)
                    print(f"\nskald server RSS after the workload: {rss_mb(skald):.1f} MB")
    return status


if __name__ == "__main__":
    sys.exit(main())
