"""bench/embedded.py and bench/http_bench.py still run end to end and print every row (smoke
runs: no timing checks). The HTTP bench starts its servers with ``tests/support/server.py``."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "embedded.py"
HTTP_BENCH = BENCH.with_name("http_bench.py")

ROWS = [
    "(a) add_message, 100 sequential (wall)",
    "(a) add_message, first 10",
    "(a) add_message, last 10",
    "(a) add_message latency",
    "(b) batch_add_messages ×100, 200 msgs",
    "(b) batch_add_messages ×100 latency",
    "(c) commit 100 msgs, wait=False (archive)",
    "(c) commit 100 msgs, wait=True (archive+extract)",
    "(c) commit 200 msgs, wait=False (archive)",
    "(c) commit 200 msgs, wait=True (archive+extract)",
    "(d) delete 100 msgs + 20 archives (×5)",
    "(d)   build one such session",
    "(e) seed 1,000 sessions (create_session)",
    "(e) list_sessions(limit=100) of 1,000",
    "(e) list_sessions(limit=100, cursor=page 1)",
    "(f) get_session, 10 msgs",
    "(f) get_session, 200 msgs",
]


def test_bench_smoke_run_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--scale", "0.01"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    table = done.stdout.split("\noperation", 1)
    assert len(table) == 2, done.stdout  # the final table was printed
    lines = table[1].splitlines()
    for row in ROWS:
        assert any(line.startswith(row) for line in lines), (row, done.stdout)


HTTP_ROWS = [
    "echo POST (baseline)",
    "add_message              messages 1-10",
    "add_message              messages 11-20",
    "add_message              all 20",
    "echo GET (baseline)",
    "get_session              10 messages",
    "get_session              20 messages",
    "echo POST x16 (baseline) 16 concurrent",
    "add_message x16          16 concurrent, one session",
]


def test_http_bench_smoke_run_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(HTTP_BENCH), "--scale", "0.01", "--no-workload"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    table = done.stdout.split("\nroute", 1)
    assert len(table) == 2, done.stdout  # the table was printed
    lines = table[1].splitlines()
    for row in HTTP_ROWS:
        assert any(line.startswith(row) for line in lines), (row, done.stdout)
    assert "lost updates 0" in done.stdout, done.stdout


WRK_BENCH = BENCH.with_name("wrk_bench.py")
WRK_ROWS = [
    "echo POST, c=16",
    "POST add_message, c=16",
    "echo GET, c=16",
    "GET get_session (10 messages), c=16",
    "POST add_message, c=1",
    "GET get_session (10 messages), c=1",
    "list of 50 sessions (one client)",
    "commit of 100 messages (one client)",
    "delete of a 100-message session (one client)",
    "16 connections appending to one session",
    "  ... read back",
    "skald serve peak RSS (VmHWM)",
]


def _require_wrk() -> None:
    """Skip without wrk, but fail in CI (which installs it)."""
    import shutil

    import pytest
    from postgres.support import in_ci

    if shutil.which("wrk") is None:
        if in_ci():
            pytest.fail("wrk is not installed (.ci/run installs it)")
        pytest.skip("wrk is not installed (apt-get install wrk)")


def test_wrk_bench_smoke_run_prints_every_row_and_loses_no_append() -> None:
    """The wrk harness (CI installs wrk) still drives both servers and reads the appends of
    16 connections back: it exits non-zero if one was lost or duplicated."""
    _require_wrk()
    done = subprocess.run(
        [sys.executable, str(WRK_BENCH), "--duration", "1", "--smoke", "--no-ovpeer"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    lines = done.stdout.splitlines()
    for row in WRK_ROWS:
        assert any(line.startswith(row) for line in lines), (row, done.stdout)
    assert any("nothing lost or duplicated: ok" in line for line in lines), done.stdout


SEARCH_BENCH = BENCH.with_name("search_bench.py")
SEARCH_ROWS = [
    "index build: memories (1 write each)",
    "append: messages (batches of 100)",
    "store size (search index part)",
    "find, 1 word, 100 memories",
    "find, 2 words, 100 memories",
    "find, a question, 100 memories",
    "find, 2 characters (scan), 100 memories",
    "find in u0's conversations",
    "embed: memories (384 dims",
    "store size (vectors part)",
    "hybrid find, 1 word, 100 memories",
    "hybrid find, a question, 100 memories",
]


def test_search_bench_smoke_run_prints_every_row() -> None:
    done = subprocess.run(
        [sys.executable, str(SEARCH_BENCH), "--scale", "0.001", "--queries", "20"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    table = done.stdout.split("\noperation", 1)
    assert len(table) == 2, done.stdout
    lines = table[1].splitlines()
    for row in SEARCH_ROWS:
        assert any(line.startswith(row) for line in lines), (row, done.stdout)
    # Every find case found something (the vocabulary makes each query word occur).
    finds = [line for line in lines if line.startswith("find")]
    assert finds and all(" 0.0 hits" not in line for line in finds), done.stdout


SIZES_ROWS = [
    "stat .meta.json",
    "read messages.jsonl offset=5 limit=2",
    "commit wait=true",
    "read archive messages.jsonl",
    "GET archive",
    "RSS after delete",
    "(idle, session built)",
    "GET context token_budget=10^9 (all)",
    "read tools/t1/tool.json",
    "  during the commit",
    "  peak RSS during",
    "  default node_limit",
    "  node_limit=10000 (node_limit_max)",
]


def test_sizes_bench_smoke_run_prints_every_row() -> None:
    """bench/sizes.py at a tiny scale (the 150 MB session at 1%, 200 sessions): every part
    runs and prints its rows; no figure is checked."""
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH.with_name("sizes.py")),
            "--scale",
            "0.01",
            "--sessions",
            "200",
            "--baseline",
            "0.5",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    for row in SIZES_ROWS:
        assert row in done.stdout, (row, done.stdout)


PG_FLOOR = BENCH.with_name("pg_floor.py")
PG_FLOOR_ROWS = [
    "S: SQLite server CPU per get_session, c=16",
    "W: wrk's CPU per request",
    "Q: PostgreSQL store get_session, caller's CPU",
    "B: PostgreSQL backend CPU per query",
    "H: Q through the store threads (16 tasks)",
    "best PG/SQLite get_session c=16: (S+W+Q+B)/(S+W)",
    "  with the thread hop: (S+W+H+B)/(S+W)",
    "best PG/SQLite get_session c=1: (p50+query)/p50",
]


def test_pg_floor_smoke_run_prints_every_row() -> None:
    """bench/pg_floor.py (wrk and the PostgreSQL test database, both in CI) still measures
    and prints each figure of its estimate."""
    from postgres.support import require_postgres

    require_postgres()
    _require_wrk()
    done = subprocess.run(
        [sys.executable, str(PG_FLOOR), "--smoke"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    lines = done.stdout.splitlines()
    for row in PG_FLOOR_ROWS:
        assert any(line.startswith(row) for line in lines), (row, done.stdout)
