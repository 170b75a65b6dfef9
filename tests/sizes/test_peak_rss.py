"""Memory is bounded by configuration, not by what users stored (issue 12, section 3).

A real ``skald serve`` holds one session of 20 messages of 7.5 MB (~150 MB, every request
under the 8 MiB body limit; user messages text plus a relation, assistant ones a tool call
whose output is the bulk). For each call that used to load the session whole — ``stat`` of
``.meta.json``, ``ls``/``tree`` of the session and of its ``tools``, reads of a
``tool.json`` and of ``.relations.json``, ``GET .../context`` (default budget, and one that
takes every message), ``content/read`` of ``messages.jsonl`` (whole, and with offset/limit),
``commit wait=true``, reads of the archive (its ``messages.jsonl``, its ``.overview.md``,
``GET .../archives/archive_001``) and the delete — the server process's peak resident set
(``VmHWM``, reset before each call) must stay within ``GROWTH`` of its resident set once the
session is built, before the first call (~90 MB on SQLite, ~110 MB on PostgreSQL with its
driver and pool): less than the session itself, so no call holds it whole.
Before the fix these calls peaked between 300 MB and 1 GB; after, at 77-132 MB on SQLite,
112-170 MB on PostgreSQL (``bench/sizes.py`` prints the figures).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.rss import MB, BigSession, can_measure, rss
from support.server import SkaldServer, running_skald

#: How far above its idle resident set the process may go during any call: a few copies of
#: the largest message (8 MiB by default) and of one read batch, never the 150 MB session.
GROWTH = 128 * MB


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SkaldServer]:
    extra: list[str] = []
    if request.param == "postgres":
        from postgres.support import DATABASE_URL, fresh_schema

        with fresh_schema("skald_rss") as schema:
            extra = ["--database-url", DATABASE_URL, "--database-schema", schema]
            with running_skald(tmp_path / "data", extra_args=extra) as s:
                yield s
        return
    with running_skald(tmp_path / "data", extra_args=extra) as s:
        yield s


@pytest.mark.slow
def test_peak_rss_of_each_call_on_a_150_mb_session(server: SkaldServer) -> None:
    if not can_measure(server.pid):
        pytest.skip("/proc/PID/clear_refs is not writable here: cannot measure peak RSS")
    with httpx.Client(base_url=server.url, timeout=300) as client:
        big = BigSession(client, server.pid)
        big.build()
        idle = rss(server.pid)  # after the uploads, before the first measured call
        peaks = big.run_calls()
    bound = idle + GROWTH
    over = {name: f"{v / MB:.0f} MB" for name, v in peaks.items() if v > bound}
    assert over == {}, (
        f"calls over {bound / MB:.0f} MB (idle {idle / MB:.0f} MB + {GROWTH / MB:.0f} MB): "
        f"{over} (all: { {k: round(v / MB) for k, v in peaks.items()} })"
    )
    assert len(peaks) == 17, peaks
