"""Peak RSS of ``skald serve`` per call on a ~150 MB session (issue 12, section 3).

    uv run python bench/sizes.py                  # 20 messages of 7.5 MB, SQLite
    uv run python bench/sizes.py --scale 0.1      # smaller messages, same shape
    uv run python bench/sizes.py --database-url postgresql://postgres@127.0.0.1:5432/test

Starts ``skald serve`` (dev mode) on a fresh data directory, builds one session of 20 messages
of 7.5 MB, then for each call resets the server process's peak-RSS mark
(``/proc/PID/clear_refs``) and reads it back after (``VmHWM``). Prints one row per call: the
process's peak resident set during it, in MB (the process holds ~100 MB before any call).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.rss import MB, BigSession, can_measure  # noqa: E402
from tests.support.server import running_skald  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="message size factor")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    extra = ["--database-url", args.database_url] if args.database_url else []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_skald(Path(tmp) / "data", extra_args=extra) as server,
    ):
        if not can_measure(server.pid):
            print("cannot read/reset /proc/PID peak RSS here", file=sys.stderr)
            return 1
        with httpx.Client(base_url=server.url, timeout=300) as client:
            big = BigSession(client, server.pid, size=int(7_500_000 * args.scale))
            t = time.perf_counter()
            big.build()
            print(f"built {big.count} x {big.size / 1e6:.2f} MB in {time.perf_counter() - t:.1f}s")
            start = time.perf_counter()
            peaks = big.run_calls()
            total = time.perf_counter() - start
        print(f"{'call':42s} {'peak RSS (MB)':>14s}")
        for name, value in peaks.items():
            print(f"{name:42s} {value / MB:14.0f}")
        print(f"(all calls: {total:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
