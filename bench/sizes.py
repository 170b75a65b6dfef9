"""Memory and latency of ``skald serve`` under large data (issue 12, section 3).

    uv run python bench/sizes.py                  # every part, full scale, SQLite
    uv run python bench/sizes.py --part rss       # one part: rss | latency | uploads | tree
    uv run python bench/sizes.py --scale 0.1 --sessions 5000   # smaller, same shape
    uv run python bench/sizes.py --database-url postgresql://postgres@127.0.0.1:5432/test

Each part starts its own ``skald serve`` (dev mode) on a fresh data directory and prints a table:

* ``rss``: one session of 20 messages of 7.5 MB (~150 MB; text, tool outputs, relations);
  for each call the server process's peak resident set (``VmHWM``, reset through
  ``/proc/PID/clear_refs`` before it), in MB, next to what it held idle.
* ``latency``: four other users add a message to and get their own small session in a loop;
  their p50/p95/max before and while one user commits the 150 MB session (``wait=true``).
* ``uploads``: 16 parallel ``add_message`` of 7.9 MB (bodies near the 8 MiB limit), the
  server's peak resident set during them.
* ``tree``: ``fs/tree`` of a user (``viking://user/default``, level 3, default node_limit)
  holding 50,000 sessions: time and peak resident set.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.rss import (  # noqa: E402
    MB,
    BigSession,
    can_measure,
    peak_rss,
    reset_peak,
    rss,
)
from tests.support.server import SkaldServer, running_skald  # noqa: E402

PARTS = ("rss", "latency", "uploads", "tree")


@contextmanager
def server(args: argparse.Namespace) -> Iterator[SkaldServer]:
    extra = ["--database-url", args.database_url] if args.database_url else []
    extra += args.serve_arg or []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_skald(Path(tmp) / "data", extra_args=extra) as s,
    ):
        if not can_measure(s.pid):
            raise SystemExit("cannot read/reset /proc/PID peak RSS here")
        yield s


def user(name: str) -> dict[str, str]:
    return {"X-OpenViking-User": name}


def part_rss(args: argparse.Namespace) -> None:
    with server(args) as s, httpx.Client(base_url=s.url, timeout=600) as client:
        big = BigSession(client, s.pid, size=int(7_500_000 * args.scale))
        t = time.perf_counter()
        big.build()
        print(f"built {big.count} x {big.size / 1e6:.2f} MB in {time.perf_counter() - t:.1f}s")
        idle = rss(s.pid)
        start = time.perf_counter()
        peaks = big.run_calls()
        total = time.perf_counter() - start
    print(f"{'call':42s} {'peak RSS (MB)':>14s}")
    print(f"{'(idle, session built)':42s} {idle / MB:14.0f}")
    for name, value in peaks.items():
        print(f"{name:42s} {value / MB:14.0f}")
    print(f"(all calls: {total:.1f}s)")


def _small_calls(url: str, name: str, stop: threading.Event, out: list[tuple[float, float]]):
    with httpx.Client(base_url=url, timeout=120, headers=user(name)) as c:
        while not stop.is_set():
            for call in (
                lambda: c.post(
                    f"/api/v1/sessions/{name}/messages", json={"role": "user", "content": "hi"}
                ),
                lambda: c.get(f"/api/v1/sessions/{name}"),
            ):
                t = time.perf_counter()
                call().raise_for_status()
                out.append((t, time.perf_counter() - t))


def _percentiles(values: list[float]) -> str:
    if not values:
        return f"{'n=0':>8s}"
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return f"{len(ms):8d} {statistics.median(ms):8.1f} {p95:8.1f} {ms[-1]:8.1f}"


def part_latency(args: argparse.Namespace) -> None:
    with server(args) as s, httpx.Client(base_url=s.url, timeout=600) as client:
        big = BigSession(client, s.pid, size=int(7_500_000 * args.scale))
        big.build()
        stop = threading.Event()
        samples: list[tuple[float, float]] = []
        threads = [
            threading.Thread(target=_small_calls, args=(s.url, f"other{i}", stop, samples))
            for i in range(4)
        ]
        for th in threads:
            th.start()
        time.sleep(args.baseline)
        commit_start = time.perf_counter()
        got = client.post("/api/v1/sessions/big/commit", json={"wait": True}, timeout=600)
        commit_end = time.perf_counter()
        got.raise_for_status()
        time.sleep(0.5)
        stop.set()
        for th in threads:
            th.join()
    before = [d for t, d in samples if t < commit_start]
    during = [d for t, d in samples if commit_start <= t < commit_end]
    print(
        f"commit wait=true of {big.count} x {big.size / 1e6:.2f} MB: {commit_end - commit_start:.1f}s"
    )
    print(
        f"{'others: add_message + get_session':42s} {'n':>8s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}"
    )
    print(f"{'  before the commit':42s} {_percentiles(before)}")
    print(f"{'  during the commit':42s} {_percentiles(during)}")


def part_uploads(args: argparse.Namespace) -> None:
    size = int(7_900_000 * args.scale)
    with server(args) as s:
        idle = rss(s.pid)
        reset_peak(s.pid)

        def upload(i: int) -> float:
            body = {"role": "user", "content": f"u{i:02d} " + "y" * (size - 4)}
            with httpx.Client(base_url=s.url, timeout=600, headers=user(f"up{i}")) as c:
                t = time.perf_counter()
                c.post(f"/api/v1/sessions/up{i}/messages", json=body).raise_for_status()
                return time.perf_counter() - t

        t = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            took = list(pool.map(upload, range(16)))
        wall = time.perf_counter() - t
        peak = peak_rss(s.pid)
        after = rss(s.pid)
    print(f"{'16 parallel add_message of ' + f'{size / 1e6:.1f} MB':42s} {'MB':>8s}")
    print(f"{'  RSS idle before':42s} {idle / MB:8.0f}")
    print(f"{'  peak RSS during':42s} {peak / MB:8.0f}")
    print(f"{'  RSS after':42s} {after / MB:8.0f}")
    print(f"  wall {wall:.1f}s, slowest upload {max(took):.1f}s")


def part_tree(args: argparse.Namespace) -> None:
    n = args.sessions
    with server(args) as s:
        t = time.perf_counter()

        def create(chunk: range) -> None:
            with httpx.Client(base_url=s.url, timeout=120) as c:
                for i in chunk:
                    c.post("/api/v1/sessions", json={"session_id": f"s{i:06d}"}).raise_for_status()

        step = max(1, n // 8)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(create, [range(i, min(n, i + step)) for i in range(0, n, step)]))
        with httpx.Client(base_url=s.url, timeout=600) as c:
            for i in range(0, n, max(1, n // 20)):  # some hold messages
                c.post(
                    f"/api/v1/sessions/s{i:06d}/messages", json={"role": "user", "content": "hi"}
                ).raise_for_status()
            print(f"seeded {n:,} sessions in {time.perf_counter() - t:.1f}s")
            idle = rss(s.pid)
            print(
                f"{'fs/tree viking://user/default level 3':42s} {'s':>8s} {'peak MB':>8s} {'nodes':>8s}"
            )
            for label, params in (
                ("  default node_limit", {}),
                ("  node_limit=10000 (node_limit_max)", {"node_limit": 10_000}),
            ):
                reset_peak(s.pid)
                t = time.perf_counter()
                got = c.get(
                    "/api/v1/fs/tree",
                    params={"uri": "viking://user/default", "level_limit": 3, **params},
                )
                took = time.perf_counter() - t
                got.raise_for_status()
                nodes = len(got.json()["result"])
                print(f"{label:42s} {took:8.2f} {peak_rss(s.pid) / MB:8.0f} {nodes:8d}")
            print(f"{'  (idle RSS)':42s} {'':8s} {idle / MB:8.0f}")


RUN: dict[str, Callable[[argparse.Namespace], None]] = {
    "rss": part_rss,
    "latency": part_latency,
    "uploads": part_uploads,
    "tree": part_tree,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--part", choices=PARTS, action="append", help="default: all")
    parser.add_argument("--scale", type=float, default=1.0, help="message size factor")
    parser.add_argument("--sessions", type=int, default=50_000, help="sessions of the tree part")
    parser.add_argument("--baseline", type=float, default=5.0, help="seconds before the commit")
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--serve-arg", action="append", help="passed to skald serve (--serve-arg=--flag=value)"
    )
    args = parser.parse_args()
    for part in args.part or PARTS:
        print(f"\n== {part}")
        RUN[part](args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
