"""What ``skald serve`` costs per request, next to a bare echo app, driven by a native load generator.

    uv run python bench/wrk_bench.py                      # SQLite, 4 s per wrk run
    uv run python bench/wrk_bench.py --database-url postgresql://postgres@127.0.0.1:5432/test
    uv run python bench/wrk_bench.py --duration 1 --smoke # seconds, for the CI smoke test
    uv run python bench/wrk_bench.py --workers 2          # both servers with 2 processes

Needs ``wrk`` (Debian package ``wrk``). A Python client saturates near 1,000-2,000 requests/s by
itself and would hide the server's cost; wrk does not. In ONE run, on free loopback ports:

* ``bench/echo_app.py`` and ``skald serve`` (dev mode; a fresh SQLite directory, or a fresh
  PostgreSQL schema dropped afterwards), both on the serving stack ``skald serve`` uses;
* wrk at saturation (``--connections``, default 16) and at concurrency 1, on echo POST vs
  add_message and echo GET vs get_session (10 messages): requests/s, p50/p99, ratio to echo;
* with one Python client, one call at a time: list of 1,000 sessions, commit of 100 messages,
  delete of a 1,000-message session, each as p50 above the echo GET's p50 in the same run;
* 16 connections appending to ONE session, every message unique: p99, and the messages read
  back: none lost (each acknowledged append is stored), none duplicated;
* the server's peak RSS (``VmHWM``) over the whole run.

Targets (issue "Speed to the limit"): add_message >= 0.5 of echo POST, get_session >= 0.6 of
echo GET at saturation; above echo: list <= 3 ms, commit <= 3 ms, delete <= 3.5 ms; 16
connections on one session p99 <= 25 ms with nothing lost or duplicated; peak RSS <= 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import ovpeer  # noqa: E402  (bench/ovpeer.py: side by side with OpenViking, or PG vs SQLite)

from tests.support.server import ServerProcess, running_server, skald_serve  # noqa: E402

ECHO_APP = ROOT / "bench" / "echo_app.py"
API = "/api/v1/sessions"
JSON = {"Content-Type": "application/json"}
BODY = json.dumps({"role": "user", "content": "Hello, my name is Ada and I love hiking."})

POST_LUA = f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = {json.dumps(BODY)}
"""

# Every request a unique message ("t<thread>-<n>"), so the stored ones can be checked.
UNIQUE_LUA = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
function request()
  n = n + 1
  local body = '{"role":"user","content":"t' .. tid .. '-' .. n .. '"}'
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
"""


def wrk(
    url: str,
    duration: float,
    connections: int,
    script: str | None = None,
    timeout: float | None = None,
) -> dict[str, float]:
    """One wrk run: requests/s, p50/p99 in ms, completed and non-2xx counts, and wrk's own
    CPU seconds (``timeout``: wrk's per-request timeout in seconds, default wrk's 2 s)."""
    threads = min(2, connections)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--latency",
        *([f"--timeout={max(1, round(timeout))}s"] if timeout else []),
        url,
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script or "")
    if script:
        cmd[1:1] = ["-s", f.name]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)  # its rusage: wrk shares the cores it measures
    proc.returncode = os.waitstatus_to_exitcode(status)
    Path(f.name).unlink()
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd, out)

    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            raise SystemExit(f"wrk printed no {label}% latency:\n{out}")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    assert rps and done, out
    return {
        "rps": float(rps.group(1)),
        "p50": ms("50"),
        "p99": ms("99"),
        "requests": int(done.group(1)),
        "non2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": 1 if errors else 0,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }


def processes(pid: int) -> list[int]:
    """``pid`` and its descendants (a server's workers)."""
    found = [pid]
    for p in found:
        try:
            found += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process and its workers have used (for CPU per request:
    unlike requests/s and latency, it hardly moves when other work shares the machine)."""
    total = 0.0
    for p in processes(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def p50_ms(client: httpx.Client, method: str, path: str, n: int, **kw: object) -> float:
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.request(method, path, **kw)  # type: ignore[arg-type]
        lat.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    return statistics.median(lat)


def peak_rss_mb(server: ServerProcess) -> float:
    """The largest peak RSS of the server's processes (with workers: of one worker)."""
    peaks = [0.0]
    for p in processes(server.pid):
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks)


def seed(client: httpx.Client, sid: str, n: int) -> None:
    for start in range(0, n, 100):
        batch = [
            {"role": "user", "content": f"message {i}"} for i in range(start, min(n, start + 100))
        ]
        client.post(f"{API}/{sid}/messages/batch", json={"messages": batch}).raise_for_status()


def run(
    args: argparse.Namespace, skald: ServerProcess, echo: ServerProcess
) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    d, c = args.duration, args.connections
    run_id = uuid.uuid4().hex[:6]
    sk = httpx.Client(base_url=skald.url, timeout=60)
    ec = httpx.Client(base_url=echo.url, timeout=60)
    seed(sk, f"get-{run_id}", 10)
    for url, script in (
        (f"{echo.url}/echo/w", POST_LUA),
        (f"{skald.url}{API}/warm-{run_id}/messages", POST_LUA),
    ):
        wrk(url, 1, c, script)  # warm up both servers

    def measured(
        server: ServerProcess, url: str, conns: int, script: str | None
    ) -> dict[str, float]:
        before = cpu_seconds(server.pid)
        got = wrk(url, d, conns, script)
        got["cpu_us"] = (cpu_seconds(server.pid) - before) / max(1, got["requests"]) * 1e6
        return got

    def pair(
        label: str,
        echo_url: str,
        skald_url: str,
        script: str | None,
        conns: int,
        target: float | None,
    ) -> None:
        e = measured(echo, echo_url, conns, script)
        s = measured(skald, skald_url, conns, script)
        assert s["non2xx"] == 0 and e["non2xx"] == 0, (label, s, e)
        ratio = s["rps"] / e["rps"]
        verdict = "" if target is None else ("ok" if ratio >= target else "MISS")
        rows.append(
            (
                f"echo {label.split()[0]}, c={conns}",
                f"{e['rps']:,.0f}/s p50 {e['p50']:.2f} p99 {e['p99']:.2f} ms",
                f"1.00; server CPU {e['cpu_us']:.0f} us/request",
            )
        )
        rows.append(
            (
                f"{label}, c={conns}",
                f"{s['rps']:,.0f}/s p50 {s['p50']:.2f} p99 {s['p99']:.2f} ms",
                f"{ratio:.2f} of echo {'>= ' + str(target) + ' ' + verdict if target else ''}; "
                f"server CPU {s['cpu_us']:.0f} us/request ({e['cpu_us'] / s['cpu_us']:.2f} of echo's)",
            )
        )

    add_url = f"{skald.url}{API}/add-{run_id}/messages"
    get_url = f"{skald.url}{API}/get-{run_id}"
    pair("POST add_message", f"{echo.url}/echo/x", add_url, POST_LUA, c, 0.5)
    pair("GET get_session (10 messages)", f"{echo.url}/echo", get_url, None, c, 0.6)
    pair("POST add_message", f"{echo.url}/echo/x", add_url, POST_LUA, 1, None)
    pair("GET get_session (10 messages)", f"{echo.url}/echo", get_url, None, 1, None)

    # One call at a time, above the echo GET in the same run.
    n = 5 if args.smoke else 30
    base = p50_ms(ec, "GET", "/echo", n * 4)
    lister = f"list-{run_id}"
    users = 1000 if not args.smoke else 50
    for i in range(users):
        sk.post(f"{API}/{lister}-{i:04d}/messages", content=BODY, headers=JSON).raise_for_status()
    listing = p50_ms(sk, "GET", f"{API}?limit=1000", n)
    commits = []
    for i in range(n):
        sid = f"commit-{run_id}-{i}"
        seed(sk, sid, 100)
        t0 = time.perf_counter()
        sk.post(f"{API}/{sid}/commit", json={}).raise_for_status()
        commits.append((time.perf_counter() - t0) * 1000)
    deletes = []
    for i in range(max(3, n // 6)):
        sid = f"delete-{run_id}-{i}"
        seed(sk, sid, 1000 if not args.smoke else 100)
        t0 = time.perf_counter()
        sk.delete(f"{API}/{sid}").raise_for_status()
        deletes.append((time.perf_counter() - t0) * 1000)
    for label, value, target in (
        (f"list of {users:,} sessions", listing, 3.0),
        ("commit of 100 messages", statistics.median(commits), 3.0),
        (
            f"delete of a {1000 if not args.smoke else 100:,}-message session",
            statistics.median(deletes),
            3.5,
        ),
    ):
        over = value - base
        rows.append(
            (
                f"{label} (one client)",
                f"p50 {value:.2f} ms, echo GET p50 {base:.2f} ms",
                f"+{over:.2f} ms over echo (<= {target}) {'ok' if over <= target else 'MISS'}",
            )
        )

    # 16 connections appending to ONE session, each message unique.
    sid = f"one-{run_id}"
    sk.post(f"{API}/{sid}/messages", content=BODY, headers=JSON).raise_for_status()
    r = wrk(f"{skald.url}{API}/{sid}/messages", d, 16, UNIQUE_LUA)
    time.sleep(0.5)
    texts = [
        part["text"]
        for m in sk.get(f"{API}/{sid}/context", params={"token_budget": 10**9}).json()["result"][
            "messages"
        ]
        for part in m["parts"]
        if part.get("type") == "text"
    ][1:]
    stored, unique = len(texts), len(set(texts))
    acked = r["requests"] - r["non2xx"]
    ok = unique == stored and stored >= acked and stored - acked <= 16 and r["non2xx"] == 0
    rows.append(
        (
            "16 connections appending to one session",
            f"{r['rps']:,.0f}/s p50 {r['p50']:.2f} p99 {r['p99']:.2f} ms",
            f"p99 <= 25 ms {'ok' if r['p99'] <= 25 else 'MISS'}",
        )
    )
    rows.append(
        (
            "  ... read back",
            f"{acked:,} acknowledged, {stored:,} stored, {stored - unique} duplicated",
            "nothing lost or duplicated: " + ("ok" if ok else "FAILED"),
        )
    )
    rss = peak_rss_mb(skald)
    rows.append(
        (
            "skald serve peak RSS (VmHWM" + (", largest process)" if args.workers > 1 else ")"),
            f"{rss:.0f} MB",
            f"<= 100 MB {'ok' if rss <= 100 else 'MISS'}",
        )
    )
    if not ok:
        raise SystemExit(f"appends lost or duplicated: {rows[-2]}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", help="run skald serve on PostgreSQL (fresh schema)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (CI smoke test)")
    parser.add_argument("--serve-arg", action="append", default=[], help="extra skald serve flag")
    ovpeer.add_arguments(parser)
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes of skald serve (--workers) and of the echo app alike, so the ratios "
        "compare the same number of processes",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    if ovpeer.wanted(args):  # side by side: OpenViking (OVPEER set) or --backends
        ovpeer.main(args)
        return
    tmp = Path(tempfile.mkdtemp(prefix="skald-wrk-"))
    schema = f"skald_wrk_{uuid.uuid4().hex[:8]}"
    serve_args = [*args.serve_arg, "--workers", str(args.workers)]
    if args.database_url:
        serve_args += ["--database-url", args.database_url, "--database-schema", schema]
    try:
        with (
            running_server(
                "echo",
                lambda port: [
                    sys.executable,
                    str(ECHO_APP),
                    "--port",
                    str(port),
                    "--workers",
                    str(args.workers),
                ],
                tmp / "echo.log",
            ) as echo,
            running_server(
                "skald",
                skald_serve(tmp / "data", *serve_args),
                tmp / "skald.log",
                ready_path="/ready",
            ) as skald,
        ):
            rows = run(args, skald, echo)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if args.database_url:
            import psycopg

            with psycopg.connect(args.database_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]
    backend = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"skald serve ({backend}, {args.workers} worker process{'es' if args.workers > 1 else ''}) "
        f"vs bench/echo_app.py (as many), wrk {args.duration:g} s per run"
    )
    width = max(len(r[0]) for r in rows)
    for label, figure, verdict in rows:
        print(f"{label:<{width}}  {figure:<44}  {verdict}")


if __name__ == "__main__":
    main()
