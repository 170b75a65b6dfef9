"""``skald export`` / ``skald import`` (issue 16), run as the installed entry point: a user's
data exported from SQLite, imported into PostgreSQL and exported again is the same, record for
record; a session's export carries the memories it supports; an import is all or nothing and
refuses bad, truncated or unknown-version input with one clear line."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.server import run_skald

import skald


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def refused(done: subprocess.CompletedProcess[str], *words: str) -> str:
    assert done.returncode == 2, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    line = done.stderr.strip()
    assert "Traceback" not in line and len(line.splitlines()) == 1, line
    for word in words:
        assert word in line, line
    return line


@pytest.fixture
def postgres_flags() -> Iterator[list[str]]:
    from postgres.support import DATABASE_URL, fresh_schema

    with fresh_schema("skald_xfer") as schema:
        yield ["--database-url", DATABASE_URL, "--database-schema", schema]


def _seed(data: Path) -> None:
    """Alice's data on SQLite: committed and live messages, tool parts, an extraction with
    memories, a trashed session, a session file, a resource, a non-UTF-8 file."""
    with skald.OpenViking(path=data) as c:
        c.add_message("s1", "user", "Hi, my name is Ada and I love hiking.")
        c.add_message(
            "s1",
            "assistant",
            parts=[{"type": "tool", "tool_id": "t1", "tool_name": "search", "tool_output": "ok"}],
        )
        c.commit_session("s1", wait=True)
        c.add_message("s1", "user", "Remember that I prefer tea.")
        c.write("viking://user/default/sessions/s1/notes.md", "a note", mode="create")
        c.write("viking://user/default/resources/doc.md", "a document", mode="create")
        c.write("viking://user/default/resources/raw.bin", "to be binary", mode="create")
        c.add_message("s2", "user", "I work as a pilot.")
        c.commit_session("s2", wait=True)
        c.add_message("trashed", "user", "bye")
        c.delete_session("trashed", mode="soft")
    with sqlite3.connect(data / "skald.db") as db:
        db.execute(
            "UPDATE files SET content = ? WHERE path = 'user/default/resources/raw.bin'",
            (b"\xff\x00\xfe",),
        )


def _records(path: Path) -> list[dict[str, object]]:
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "skald-export" and header["version"] == 1
    return [json.loads(line) for line in lines[1:]]


def test_sqlite_to_postgresql_round_trip(tmp_path: Path, postgres_flags: list[str]) -> None:
    data = tmp_path / "data"
    _seed(data)
    first, second = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    out = ok(run_skald("export", "--path", str(data), "--output", str(first)))
    assert "3 session" in out
    records = _records(first)
    kinds = {r["type"] for r in records}
    assert kinds == {"session", "message", "archive", "extraction", "file", "memory_source", "end"}
    assert any(r.get("content_b64") for r in records)  # the non-UTF-8 file
    assert records[-1]["type"] == "end"

    ok(run_skald("import", str(first), *postgres_flags))
    ok(run_skald("export", *postgres_flags, "--output", str(second)))
    assert _records(second) == records  # every field of every record

    # And it reads back through a client as it did on SQLite.
    from postgres.support import DATABASE_URL

    schema = postgres_flags[-1]
    with (
        skald.OpenViking(database_url=DATABASE_URL, database_schema=schema) as pg,
        skald.OpenViking(path=data) as lite,
    ):
        for c in (pg, lite):
            assert c.get_session("s1")["message_count"] == 1
        assert pg.list_sessions(include_deleted=True) == lite.list_sessions(include_deleted=True)
        assert pg.get_session("s1") == lite.get_session("s1")
        for uri in (
            "viking://user/default/sessions/s1/messages.jsonl",
            "viking://user/default/sessions/s1/history/archive_001/memory_diff.json",
            "viking://user/default/memories/profile/name.md",
            "viking://user/default/sessions/s1/notes.md",
        ):
            assert pg.read(uri) == lite.read(uri)
    audit = json.loads(ok(run_skald("audit", "--json", *postgres_flags)))
    assert audit[0]["action"] == "import"


def test_a_session_export_carries_the_memories_it_supports(tmp_path: Path) -> None:
    data, other = tmp_path / "data", tmp_path / "other"
    _seed(data)
    dump = tmp_path / "s2.ndjson"
    ok(run_skald("export", "--path", str(data), "--session", "s2", "-o", str(dump)))
    records = _records(dump)
    assert {r["session_id"] for r in records if r["type"] == "session"} == {"s2"}
    memories = {r["path"] for r in records if r["type"] == "file" and not r["is_dir"]}
    assert memories == {"user/default/memories/profile/profession.md"}
    ok(run_skald("import", str(dump), "--path", str(other)))
    with skald.OpenViking(path=other) as c:
        assert [s["session_id"] for s in c.list_sessions()] == ["s2"]
        for path in memories:
            assert c.read("viking://" + path)
    missing = run_skald("export", "--path", str(data), "--session", "nope")
    assert missing.returncode == 1 and "nope" in missing.stderr


def test_import_is_all_or_nothing(tmp_path: Path, postgres_flags: list[str]) -> None:
    data = tmp_path / "data"
    _seed(data)
    good = tmp_path / "good.ndjson"
    ok(run_skald("export", "--path", str(data), "-o", str(good)))
    lines = good.read_text().splitlines()

    def variant(name: str, new_lines: list[str]) -> str:
        path = tmp_path / name
        path.write_text("\n".join(new_lines) + "\n")
        return str(path)

    def nothing_imported() -> None:
        empty = tmp_path / "empty.ndjson"
        ok(run_skald("export", *postgres_flags, "-o", str(empty), "--force"))
        assert [r["type"] for r in _records(empty)] == ["end"]

    header = json.loads(lines[0])
    newer = variant("v2.ndjson", [json.dumps({**header, "version": 2}), *lines[1:]])
    refused(run_skald("import", newer, *postgres_flags), "version 2 is not supported")
    other = variant("other.ndjson", [json.dumps({**header, "format": "tar"}), *lines[1:]])
    refused(run_skald("import", other, *postgres_flags), "format 'tar'")
    # A bad record near the end: everything before it was valid, and none of it lands.
    bad = variant("bad.ndjson", [*lines[:-2], '{"type": "file", "path": 7}', lines[-1]])
    refused(run_skald("import", bad, *postgres_flags), f"line {len(lines) - 1}")
    unknown = variant("unknown.ndjson", [*lines[:-1], '{"type": "spell"}', lines[-1]])
    refused(run_skald("import", unknown, *postgres_flags), "spell")
    truncated = variant("truncated.ndjson", lines[:-1])
    refused(run_skald("import", truncated, *postgres_flags), "end record")
    miscounted = variant("miscounted.ndjson", [*lines[:-3], lines[-1]])
    refused(run_skald("import", miscounted, *postgres_flags), "end record counts")
    outside = json.dumps(
        {"type": "file", "path": "user/mallory/x.md", "is_dir": False, "created_at": 1.0,
         "updated_at": 1.0, "content": "x"}
    )  # fmt: skip
    end = json.loads(lines[-1])
    end["counts"]["file"] += 1
    escaped = variant("outside.ndjson", [*lines[:-1], outside, json.dumps(end)])
    refused(run_skald("import", escaped, *postgres_flags), "outside")
    refused(run_skald("import", str(tmp_path / "absent.ndjson"), *postgres_flags), "cannot read")
    nothing_imported()

    ok(run_skald("import", str(good), *postgres_flags))
    again = run_skald("import", str(good), *postgres_flags)
    refused(again, "already exists", "nothing was imported")
