"""What ``skald serve`` costs per request in CPU instructions, next to the bare echo app.

    uv run python bench/instructions.py                 # 200 counted requests per route
    uv run python bench/instructions.py --requests 50   # quicker
    uv run python bench/instructions.py --compare ../other-checkout   # a second Skald, same run

Needs valgrind (Debian package ``valgrind``). ``bench/wrk_bench.py`` measures requests/s and
CPU seconds, and both move with whatever else the machine runs (this machine has 2 cores and is
shared). Instruction counts do not: valgrind's callgrind counts every instruction the server
process executes, the same count for the same code and inputs however busy the machine is. So
this is the figure to compare a change with (A/B, ``--compare``), and wrk's is the one to report
throughput with.

Each server runs under ``valgrind --tool=callgrind --instr-atstart=no``. One client sends, one
call at a time on one keep-alive connection: a few warm-up requests (not counted), then
``callgrind_control -i on``, N requests, ``-i off``; the count over N is the figure. Routes:
echo POST vs add_message, echo GET vs get_session (10 messages), and the rows' ratios.
Concurrency effects (thread hand-offs under load) are not seen here: wrk_bench shows those.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.server import ServerProcess, start_server  # noqa: E402

ADD_BODY = {"role": "user", "content": "Hello, my name is Ada and I love hiking."}
WARMUP = 30
#: valgrind runs Python 20-50x slower: startup takes a minute or more on a busy machine.
STARTUP_TIMEOUT = 600.0


def callgrind(out: Path, argv: Sequence[str]) -> list[str]:
    return [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        *argv,
    ]


def python_of(checkout: Path) -> str:
    venv = checkout / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def counted(server: ServerProcess, out: Path, requests: int, call: httpx.Request) -> int:
    """Instructions per request of ``call`` sent ``requests`` times (after a warm-up)."""
    with httpx.Client(timeout=120) as client:

        def send() -> None:
            answer = client.send(call)
            if answer.status_code >= 300:
                raise SystemExit(f"{call.method} {call.url}: {answer.status_code} {answer.text}")

        for _ in range(WARMUP):
            send()
        toggle(server, "on")
        for _ in range(requests):
            send()
        toggle(server, "off")
    subprocess.run(
        ["callgrind_control", "--dump", str(server.pid)], check=True, capture_output=True
    )
    return _dumped_total(out) // requests


def toggle(server: ServerProcess, state: str) -> None:
    subprocess.run(
        ["callgrind_control", "-i", state, str(server.pid)], check=True, capture_output=True
    )


def _dumped_total(out: Path) -> int:
    """The instructions of the last dump (callgrind writes ``out.N`` per dump)."""
    dumps = sorted(out.parent.glob(out.name + ".*"), key=lambda p: int(p.suffix[1:]))
    text = dumps[-1].read_text()
    match = re.search(r"^totals: (\d+)", text, re.M)
    if match is None:
        raise SystemExit(f"no totals in {dumps[-1]}")
    for dump in dumps:
        dump.unlink()
    return int(match.group(1))


def measure_echo(work: Path, requests: int) -> dict[str, int]:
    out = work / "echo.cg"
    argv = [python_of(ROOT), str(ROOT / "bench" / "echo_app.py"), "--log-level", "info"]
    server = start_server(
        "echo",
        lambda port: callgrind(out, [*argv, "--port", str(port)]),
        work / "echo.log",
        startup_timeout=STARTUP_TIMEOUT,
    )
    try:
        post = httpx.Request("POST", f"{server.url}/echo/x", json=ADD_BODY)
        get = httpx.Request("GET", f"{server.url}/echo")
        return {
            "post": counted(server, out, requests, post),
            "get": counted(server, out, requests, get),
        }
    finally:
        server.stop()


def measure_skald(checkout: Path, work: Path, requests: int, name: str) -> dict[str, int]:
    out = work / f"{name}.cg"
    data = work / f"{name}-data"
    argv = [python_of(checkout), "-m", "skald_server.cli", "serve", "--path", str(data)]
    server = start_server(
        name,
        lambda port: callgrind(out, [*argv, "--host", "127.0.0.1", "--port", str(port)]),
        work / f"{name}.log",
        startup_timeout=STARTUP_TIMEOUT,
    )
    try:
        api = f"{server.url}/api/v1/sessions"
        with httpx.Client(timeout=120) as client:
            for i in range(10):
                client.post(f"{api}/read/messages", json={"role": "user", "content": f"m{i}"})
        add = httpx.Request("POST", f"{api}/write/messages", json=ADD_BODY)
        get = httpx.Request("GET", f"{api}/read")
        return {
            "post": counted(server, out, requests, add),
            "get": counted(server, out, requests, get),
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="counted requests per route")
    parser.add_argument(
        "--compare",
        type=Path,
        help="another Skald checkout (with its .venv) measured in the same run",
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian package valgrind)")
    with tempfile.TemporaryDirectory(prefix="skald-instr-") as tmp:
        work = Path(tmp)
        echo = measure_echo(work, args.requests)
        rows = {"this checkout": measure_skald(ROOT, work, args.requests, "skald")}
        if args.compare:
            rows[str(args.compare)] = measure_skald(
                args.compare.resolve(), work, args.requests, "other"
            )
    print(f"instructions per request, {args.requests} requests each, one at a time")
    print(f"  echo POST {echo['post']:>12,}   echo GET {echo['get']:>12,}")
    for label, row in rows.items():
        print(
            f"  {label}: add_message {row['post']:>12,} ({row['post'] / echo['post']:.2f}x echo POST, "
            f"echo/add {echo['post'] / row['post']:.2f}); get_session {row['get']:>12,} "
            f"({row['get'] / echo['get']:.2f}x echo GET, echo/get {echo['get'] / row['get']:.2f})"
        )
    print(json.dumps({"echo": echo, **rows}))


if __name__ == "__main__":
    main()
