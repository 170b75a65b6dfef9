"""The baseline for ``bench/http_bench.py``: a bare Litestar + msgspec app with two routes.

    uv run python bench/echo_app.py --port 19500

* ``POST /echo/{session_id}`` decodes a small msgspec Struct (``{"role","content"}``, the body
  of an add_message call) and answers it back in Skald's envelope shape
  (``{"status":"ok","result":{...},"error":null,"time":...}``).
* ``GET /echo`` answers a small envelope.

No database, no auth, no dependencies, handlers run on the event loop. Served by uvicorn with
the settings ``skald serve`` uses (``access_log=False``, the same log level and graceful-shutdown
timeout; ``--workers N`` processes as ``skald serve --workers N``), so the difference to Skald
is what Skald does per request.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Generic, Literal, TypeVar

import msgspec
from litestar import Litestar, get, post

T = TypeVar("T")


class Ok(msgspec.Struct, Generic[T], kw_only=True):
    status: Literal["ok"] = "ok"
    result: T
    error: None = None
    time: float = 0.0


class EchoIn(msgspec.Struct, kw_only=True):
    role: str
    content: str


class EchoOut(msgspec.Struct, kw_only=True):
    session_id: str
    role: str
    content: str


class Pong(msgspec.Struct, kw_only=True):
    session_id: str
    message_count: int


@post("/echo/{session_id:str}", status_code=200, sync_to_thread=False)
def echo(session_id: str, data: EchoIn) -> Ok[EchoOut]:
    start = time.perf_counter()
    out = EchoOut(session_id=session_id, role=data.role, content=data.content)
    return Ok(result=out, time=time.perf_counter() - start)


@get("/echo", sync_to_thread=False)
def pong() -> Ok[Pong]:
    return Ok(result=Pong(session_id="echo", message_count=0))


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


app = Litestar(route_handlers=[echo, pong, health], debug=False)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=19500)
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes sharing the port (as skald serve's)"
    )
    args = parser.parse_args()
    # The same uvicorn.run() arguments as skald_server.cli._serve. Several workers: uvicorn's
    # own supervisor (one socket bound by the parent, shared), which imports the app by name.
    uvicorn.run(
        "echo_app:app" if args.workers > 1 else app,
        app_dir=str(Path(__file__).resolve().parent),
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=30,
        access_log=False,
    )


if __name__ == "__main__":
    main()
