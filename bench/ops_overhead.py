"""What the operating features cost per request, measured in-process (no network):

* the access log line (``skald.access``, JSON and text, written to a null stream),
* the HTTP metrics (``Metrics.observe_request``: one counter, one histogram),
* a store call through ``instrument_store``'s timing wrapper, against the bare method,
* and a whole ``GET /health`` through the ASGI app with the access log on and off.

    uv run python bench/ops_overhead.py [--n 20000]

Prints microseconds per request (the median of five runs of ``n`` calls).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skald_core.store.sqlite import SQLiteStore
from skald_server import logs
from skald_server.app import access_log, create_app
from skald_server.config import ServerConfig
from skald_server.metrics import Metrics


class Null(io.TextIOBase):
    def write(self, s: str) -> int:
        return len(s)


def per_call(fn: Callable[[], object], n: int) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(runs)


def asgi_health(app: object, n: int) -> float:
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/health", "raw_path": b"/health", "query_string": b"",
        "root_path": "", "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }  # fmt: skip

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: object) -> None:
        pass

    async def run() -> float:
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(n):
                await app(dict(scope), receive, send)  # type: ignore[operator]
            runs.append((time.perf_counter() - start) / n * 1e6)
        return statistics.median(runs)

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20000)
    n = parser.parse_args().n
    scope = {"method": "GET", "path_template": "/api/v1/sessions/{session_id}",
             "skald_request_id": "0123456789abcdef0123456789abcdef"}  # fmt: skip

    for fmt in ("json", "text"):
        logs.configure("info", fmt, stream=Null())
        print(
            f"access log line ({fmt}):          {per_call(lambda: access_log(scope, 'GET', 200, 0.001), n):6.2f} µs"
        )
    metrics = Metrics()
    print(
        "HTTP metrics (observe_request):    "
        f"{per_call(lambda: metrics.observe_request('GET', '/health', 200, 0.001), n):6.2f} µs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        bare = SQLiteStore(Path(tmp) / "bare")
        timed = Metrics().instrument_store(SQLiteStore(Path(tmp) / "timed"))
        t_bare = per_call(bare.ping, n)
        t_timed = per_call(timed.ping, n)
        print(f"store call (ping) bare / timed:    {t_bare:6.2f} / {t_timed:6.2f} µs")
        bare.close()
        timed.close()

        app = create_app(ServerConfig(path=str(Path(tmp) / "app")), start_worker=False)
        logs.configure("info", "json", stream=Null())
        asgi_health(app, n // 10)  # warm up
        access = logging.getLogger("skald.access")
        with_log, without_log = [], []
        for _ in range(3):  # interleaved, so drift of the machine hits both alike
            access.setLevel(logging.NOTSET)
            with_log.append(asgi_health(app, n // 10))
            access.setLevel(logging.WARNING)
            without_log.append(asgi_health(app, n // 10))
        with_log_us, without_log_us = min(with_log), min(without_log)
        print(
            f"GET /health through ASGI, access log on / off: {with_log_us:6.1f} / "
            f"{without_log_us:6.1f} µs"
        )


if __name__ == "__main__":
    main()
