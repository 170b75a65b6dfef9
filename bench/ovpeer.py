"""Side by side in one run: ``skald serve`` against OpenViking 0.5.2, or PostgreSQL against SQLite.

    export OVPEER=$HOME/ovpeer && ../shared/reference-server/setup.sh   # once
    uv run python bench/wrk_bench.py                    # OVPEER set: Skald vs OpenViking
    uv run python bench/wrk_bench.py --backends         # Skald on PostgreSQL vs on SQLite

``bench/wrk_bench.py`` hands over to this module when ``OVPEER`` is set (``--no-ovpeer`` keeps
the plain run) or ``--backends`` is given. The same workload (``../shared/bench/
session_workload.py``'s operations) runs against both servers, in alternating rounds (A, B, A,
B, ...; ``--rounds``, default 3), and every row prints the two medians, their ratio and the
target:

* wrk (native, not limited by Python) at saturation (16 connections, all appending to ONE
  session: requests/s and p99) and at concurrency 1 (p50): add_message; get_session of a
  10-message session;
* one Python client, one call at a time (p50): list of the 1,000 sessions made before round 1,
  delete of a 1,000-message session, commit of a 100-message session (the HTTP call's latency;
  OpenViking's memory extraction runs on afterwards and fails without a language model);
* each server's peak RSS (``VmHWM``, summed over its process tree) over the whole run.

OpenViking: the server at ``--ovpeer-url`` (default ``http://127.0.0.1:19330``) is used if it
answers, with the user key in ``$OVPEER/user_key.txt``; otherwise the reference server is
started fresh with ``../shared/reference-server/start.sh`` and stopped at the end. Skald runs in
dev mode; both get the same requests, except OpenViking's ``X-API-Key``. Targets (issue "Speed
to the limit", Skald faster): add_message >= 20x, get >= 8x, list >= 10x, delete >= 5x.

``--backends``: two ``skald serve`` at once, one on a fresh SQLite directory and one on
``--database-url`` (default ``postgresql://postgres@127.0.0.1:5432/test``) in its own schema,
dropped afterwards; per row PostgreSQL's cost over SQLite's, target <= 2x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def reference_server() -> Path:
    """The reference server's scripts: ``OVPEER_SCRIPTS``, else ``shared/reference-server``
    beside the checkout, or beside the main checkout of a git worktree."""
    named = os.environ.get("OVPEER_SCRIPTS")
    if named:
        return Path(named)
    beside = ROOT.parent / "shared" / "reference-server"
    main = _main_checkout()
    if beside.is_dir() or main is None:
        return beside
    return main.parent / "shared" / "reference-server"


def _main_checkout() -> Path | None:
    """The main checkout of the git worktree this file is in (itself, outside a worktree)."""
    try:
        common = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--path-format=absolute", "--git-common-dir"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(common).parent


DEFAULT_OV_URL = "http://127.0.0.1:19330"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
API = "/api/v1/sessions"


# ----------------------------------------------------------------------------- rows and ratios


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    unit: str  # "/s" (higher is better) or "ms" / "MB" (lower is better)

    @property
    def higher_is_better(self) -> bool:
        return self.unit == "/s"


ROWS = (
    Row("add16", "add_message, wrk c=16 (one session)", "/s"),
    Row("add16_p99", "  ... p99 of the 16 connections", "ms"),
    Row("get16", "get_session (10 messages), wrk c=16", "/s"),
    Row("add1", "add_message, wrk c=1, p50", "ms"),
    Row("get1", "get_session (10 messages), wrk c=1, p50", "ms"),
    Row("list", "list of 1,000 sessions, p50", "ms"),
    Row("delete", "delete of a 1,000-message session, p50", "ms"),
    Row("commit", "commit of 100 messages, p50", "ms"),
)
RSS = Row("rss", "peak RSS (VmHWM), whole run", "MB")

#: Skald over OpenViking 0.5.2, "times faster" (issue "Speed to the limit").
OV_TARGETS = {"add16": 20.0, "get16": 8.0, "list": 10.0, "delete": 5.0}
#: PostgreSQL's cost over SQLite's, at most, on every HTTP row.
PG_TARGET = 2.0


def advantage(first: float, second: float, higher_is_better: bool) -> float:
    """How many times better ``first`` is than ``second`` (> 1: first is faster/smaller)."""
    if first <= 0 or second <= 0:
        return float("nan")
    return first / second if higher_is_better else second / first


def verdict(ratio: float, target: float | None, *, at_least: bool) -> str:
    """ "ok" / "MISS" against ``target`` (ratio >= target, or <= target); "" without one."""
    if target is None:
        return ""
    if ratio != ratio:  # nan: a side has no figure
        return "MISS"
    return "ok" if (ratio >= target if at_least else ratio <= target) else "MISS"


def figure(value: float, unit: str) -> str:
    if value != value:
        return "-"
    if unit == "/s":
        return f"{value:,.0f}/s"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.2f} ms"


def versus_ov_rows(
    skald: Mapping[str, float], ov: Mapping[str, float], rows: Sequence[Row] = (*ROWS, RSS)
) -> list[tuple[str, str, str, str, str, str]]:
    """label, Skald, OpenViking, ratio (Skald's advantage), target, verdict."""
    out = []
    for row in rows:
        ratio = advantage(skald[row.key], ov[row.key], row.higher_is_better)
        target = OV_TARGETS.get(row.key)
        out.append(
            (
                row.label,
                figure(skald[row.key], row.unit),
                figure(ov[row.key], row.unit),
                f"{ratio:.1f}x",
                f">= {target:g}x" if target else "",
                verdict(ratio, target, at_least=True),
            )
        )
    return out


def pg_vs_sqlite_rows(
    pg: Mapping[str, float], sqlite: Mapping[str, float], rows: Sequence[Row] = (*ROWS, RSS)
) -> list[tuple[str, str, str, str, str, str]]:
    """label, PostgreSQL, SQLite, ratio (PostgreSQL's cost over SQLite's), target, verdict.
    RSS is shown without a target (the 2x target is on the HTTP rows)."""
    out = []
    for row in rows:
        cost = advantage(sqlite[row.key], pg[row.key], row.higher_is_better)
        target = None if row is RSS else PG_TARGET
        out.append(
            (
                row.label,
                figure(pg[row.key], row.unit),
                figure(sqlite[row.key], row.unit),
                f"{cost:.2f}x",
                f"<= {target:g}x" if target else "",
                verdict(cost, target, at_least=False),
            )
        )
    return out


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    lines = [header, *rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for line in lines:
        cells = [line[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(line[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def medians(rounds: Sequence[Mapping[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


# ----------------------------------------------------------------------------- a server under test


@dataclass
class Target:
    """One server the workload runs against."""

    name: str
    url: str
    pid: int
    headers: dict[str, str] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    errors: list[str] = field(default_factory=list)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=300)


def tree_peak_rss_mb(pid: int) -> float:
    """VmHWM of ``pid`` and of all its descendants (an upper bound of their joint peak)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                todo.extend(int(k) for k in kids)
        except OSError:
            continue
    return total / 1024


def lua(headers: Mapping[str, str], body: str | None) -> str:
    lines = [f"wrk.headers[{_q(k)}] = {_q(v)}" for k, v in headers.items()]
    if body is not None:
        lines += [
            'wrk.method = "POST"',
            'wrk.headers["Content-Type"] = "application/json"',
            f"wrk.body = {_q(body)}",
        ]
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def message(i: int) -> dict[str, str]:
    role = "user" if i % 2 == 0 else "assistant"
    return {"role": role, "content": f"bench message {i}: the quick brown fox jumps over the dog."}


def seed(c: httpx.Client, sid: str, count: int) -> None:
    """Create session ``sid`` holding ``count`` messages (batches of 100; not timed)."""
    c.post(API, json={"session_id": sid}).raise_for_status()
    for start in range(0, count, 100):
        batch = [message(i) for i in range(start, min(count, start + 100))]
        c.post(f"{API}/{sid}/messages/batch", json={"messages": batch}).raise_for_status()


def timed_ms(call: Callable[..., httpx.Response], *args: object, **kw: object) -> float:
    t0 = time.perf_counter()
    r = call(*args, **kw)
    dt = (time.perf_counter() - t0) * 1000
    r.raise_for_status()
    return dt


@dataclass(frozen=True)
class Sizes:
    sessions: int = 1000  # listed
    get_messages: int = 10
    delete_messages: int = 1000
    commit_messages: int = 100
    calls: int = 15  # list calls per round
    deletes: int = 3  # per round
    commits: int = 5  # per round


def prepare(t: Target, sizes: Sizes) -> None:
    """Before round 1 (not timed): the listed sessions and the 10-message one."""
    with t.client() as c:
        for i in range(sizes.sessions):
            c.post(API, json={"session_id": f"list-{t.tag}-{i:04d}"}).raise_for_status()
        seed(c, f"get-{t.tag}", sizes.get_messages)


def one_round(
    t: Target, n: int, duration: float, connections: int, sizes: Sizes
) -> dict[str, float]:
    """One round of every row against ``t`` (round ``n``)."""
    import wrk_bench as wb  # the wrk runner and its output parser

    body = '{"role": "user", "content": "Hello, my name is Ada and I love hiking."}'
    got: dict[str, float] = {}

    def run_wrk(url: str, conns: int, post: bool) -> dict[str, float]:
        r = wb.wrk(url, duration, conns, lua(t.headers, body if post else None), timeout=120)
        if r["non2xx"] or r["socket_errors"]:
            t.errors.append(f"round {n} {url}: {r['non2xx']:.0f} non-2xx, socket errors")
        return r

    with t.client() as c:
        add_sid = f"add-{t.tag}-{n}"
        c.post(API, json={"session_id": add_sid}).raise_for_status()
        add_url, get_url = f"{t.url}{API}/{add_sid}/messages", f"{t.url}{API}/get-{t.tag}"
        r = run_wrk(add_url, connections, True)
        got["add16"], got["add16_p99"] = r["rps"], r["p99"]
        got["get16"] = run_wrk(get_url, connections, False)["rps"]
        got["add1"] = run_wrk(add_url, 1, True)["p50"]
        got["get1"] = run_wrk(get_url, 1, False)["p50"]

        got["list"] = statistics.median(
            timed_ms(c.get, API, params={"limit": 1000}) for _ in range(sizes.calls)
        )
        deletes = []
        for i in range(sizes.deletes):
            sid = f"delete-{t.tag}-{n}-{i}"
            seed(c, sid, sizes.delete_messages)
            deletes.append(timed_ms(c.delete, f"{API}/{sid}"))
        got["delete"] = statistics.median(deletes)
        commits = []
        for i in range(sizes.commits):
            sid = f"commit-{t.tag}-{n}-{i}"
            seed(c, sid, sizes.commit_messages)
            commits.append(timed_ms(c.post, f"{API}/{sid}/commit", json={}))
        got["commit"] = statistics.median(commits)
    return got


def alternate(
    targets: Sequence[Target], rounds: int, duration: float, connections: int, sizes: Sizes
) -> list[dict[str, float]]:
    """Rounds alternating over ``targets``; per target the median of each row, plus peak RSS."""
    import wrk_bench as wb

    for t in targets:
        prepare(t, sizes)
    for t in targets:  # warm-up, not counted
        wb.wrk(f"{t.url}{API}/get-{t.tag}", 1, connections, lua(t.headers, None), timeout=120)
    per: list[list[dict[str, float]]] = [[] for _ in targets]
    for n in range(rounds):
        for i, t in enumerate(targets):
            per[i].append(one_round(t, n, duration, connections, sizes))
            print(f"  round {n + 1}/{rounds} {t.name}: done", file=sys.stderr, flush=True)
    out = []
    for t, got in zip(targets, per, strict=True):
        m = medians(got)
        m["rss"] = tree_peak_rss_mb(t.pid)
        out.append(m)
    return out


# ----------------------------------------------------------------------------- the two modes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (side by side)")
    parser.add_argument(
        "--no-ovpeer", action="store_true", help="ignore OVPEER: the plain Skald vs echo run"
    )
    parser.add_argument(
        "--ovpeer-url", default=os.environ.get("OVPEER_URL", DEFAULT_OV_URL), help="OpenViking"
    )
    parser.add_argument(
        "--backends", action="store_true", help="Skald on PostgreSQL vs on SQLite, side by side"
    )


def wanted(args: argparse.Namespace) -> bool:
    return bool(args.backends or (os.environ.get("OVPEER") and not args.no_ovpeer))


def sizes_for(args: argparse.Namespace) -> Sizes:
    if args.smoke:
        return Sizes(sessions=50, delete_messages=100, calls=3, deletes=1, commits=1)
    return Sizes()


@contextmanager
def skald_server(tmp: Path, name: str, *serve_args: str) -> Iterator[Target]:
    sys.path.insert(0, str(ROOT))
    from tests.support.server import running_server, skald_serve

    with running_server(
        name, skald_serve(tmp / name, *serve_args), tmp / f"{name}.log", ready_path="/ready"
    ) as s:
        yield Target(name, s.url, s.pid)


@contextmanager
def ov_server(url: str) -> Iterator[Target]:
    """OpenViking at ``url`` if it answers; else the reference server started fresh (and stopped)."""
    home = Path(os.environ["OVPEER"])
    started = False
    try:
        httpx.get(f"{url}/health", timeout=5).raise_for_status()
    except httpx.HTTPError:
        port = url.rsplit(":", 1)[1].rstrip("/")
        env = {**os.environ, "FRESH": "1", "PORT": port}
        print("starting the OpenViking reference server ...", file=sys.stderr, flush=True)
        scripts = reference_server()
        subprocess.run([str(scripts / "start.sh")], env=env, check=True)
        started = True
    try:
        key = (home / "user_key.txt").read_text().strip()
        pid = int((home / "server.pid").read_text())
        yield Target("OpenViking", url.rstrip("/"), pid, headers={"X-API-Key": key})
    finally:
        if started:
            subprocess.run([str(scripts / "stop.sh")], check=False)


def run_versus_ov(args: argparse.Namespace) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="skald-ovpeer-"))
    serve: list[str] = []
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, True)
        if args.database_url:
            serve = ["--database-url", args.database_url, "--database-schema", schema()]
            stack.callback(drop_schema, args.database_url, serve[-1])
        skald = stack.enter_context(skald_server(tmp, "skald", *serve, *args.serve_arg))
        ov = stack.enter_context(ov_server(args.ovpeer_url))
        sk_m, ov_m = alternate(
            [skald, ov], args.rounds, args.duration, args.connections, sizes_for(args)
        )
    backend = "PostgreSQL" if args.database_url else "SQLite"
    head = (
        f"skald serve ({backend}) vs OpenViking 0.5.2 at {args.ovpeer_url}: "
        f"{args.rounds} alternating rounds, medians; wrk {args.duration:g} s per run"
    )
    body = table(("row", "Skald", "OpenViking", "ratio", "target", ""), versus_ov_rows(sk_m, ov_m))
    return "\n".join([head, body, *errors_of(skald, ov)])


def run_backends(args: argparse.Namespace) -> str:
    url = args.database_url or DEFAULT_PG_URL
    name = schema()
    tmp = Path(tempfile.mkdtemp(prefix="skald-backends-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, True)
        stack.callback(drop_schema, url, name)
        pg = stack.enter_context(
            skald_server(
                tmp, "postgresql", "--database-url", url, "--database-schema", name,
                *args.serve_arg,
            )
        )  # fmt: skip
        lite = stack.enter_context(skald_server(tmp, "sqlite", *args.serve_arg))
        pg_m, lite_m = alternate(
            [pg, lite], args.rounds, args.duration, args.connections, sizes_for(args)
        )
    head = (
        f"skald serve on PostgreSQL vs on SQLite: {args.rounds} alternating rounds, medians; "
        f"wrk {args.duration:g} s per run; {durabilities(args.serve_arg)}"
    )
    body = table(
        ("row", "PostgreSQL", "SQLite", "PG/SQLite", "target", ""), pg_vs_sqlite_rows(pg_m, lite_m)
    )
    return "\n".join([head, body, *errors_of(pg, lite)])


def durabilities(serve_args: Sequence[str]) -> str:
    """Which ``durability`` each server runs with (the ``--serve-arg`` flags, else each
    backend's default): the add rows compare fsyncs with none unless both are the same."""
    chosen = None
    for i, arg in enumerate(serve_args):
        if arg.startswith("--durability="):
            chosen = arg.split("=", 1)[1]
        elif arg == "--durability" and i + 1 < len(serve_args):
            chosen = serve_args[i + 1]
    if chosen is not None:
        return f"durability {chosen} on both"
    return (
        "durability: each backend's default, PostgreSQL fsync and SQLite crash "
        "(--serve-arg=--durability=crash or =fsync compares them at the same)"
    )


def errors_of(*targets: Target) -> list[str]:
    return [f"{t.name}: {e}" for t in targets for e in t.errors]


def schema() -> str:
    return f"skald_side_{uuid.uuid4().hex[:8]}"


def drop_schema(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')  # type: ignore[arg-type]


def main(args: argparse.Namespace) -> None:
    print(run_backends(args) if args.backends else run_versus_ov(args))
