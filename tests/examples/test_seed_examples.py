"""The six examples of the seed's delete-session page, run as real scripts, in-process and
against a real server (contract §1.2: the seed's examples run unchanged in both modes); plus
the demo, in-process.

Each test arranges the data through ``target.client()``, runs the script in a subprocess with
its prompts answered on stdin, then checks both what the script printed and what the store
holds afterwards, with the same assertions on both targets. ``target`` is where a test runs;
the suite is parametrized over its two kinds:

* ``embedded`` – the script runs unchanged with the test's ``tmp_path`` as working directory,
  so the seed's ``./my_data`` lands in ``tmp_path / "my_data"``. ``target.client()`` opens that
  directory in this process (closed again when the block ends, so before the script starts).
* ``remote`` – one ``skald serve`` subprocess (dev mode, a free loopback port) serves the whole
  module. ``target.client()`` is a ``skald.SyncHTTPClient`` of it, and the script run is a copy
  of the example in which ONLY the line ``client = ov.OpenViking(path="./my_data")`` is rewritten
  to ``client = ov.SyncHTTPClient(url="http://127.0.0.1:PORT", api_key=None)``; it must keep
  nothing locally. Each test starts from an empty store: the previous test's sessions and
  memories are deleted first (and checked gone).

``target.data_dir`` is the data directory either way (the server's, for ``remote``), and
``written_days_ago(target, days)`` an embedded client on it whose clock is ``days`` in the past
(sessions have no "created at" setter: an old session is one written back then). Its task worker
is not started; it shares the directory with the running server as any second SQLite process
may.
"""

from __future__ import annotations

import difflib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from support.clock import TestClock
from support.server import SkaldServer, running_skald

import skald

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MEMORIES = "viking://user/default/memories"
TIMEOUT = 60
LOCAL_CLIENT_LINE = 'client = ov.OpenViking(path="./my_data")'

RunExample = Callable[..., subprocess.CompletedProcess[str]]


def memories(client: Any) -> dict[str, str]:
    """Every memory file the user has, by URI, with its content."""
    return {
        node["uri"]: client.read(node["uri"])
        for node in client.ls(MEMORIES, recursive=True)
        if not node["isDir"]
    }


def run_script(
    path: Path, *args: str, cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run one script as a real subprocess; fail the test with its output when it exits
    non-zero."""
    done = subprocess.run(
        [sys.executable, str(path), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, (
        f"{path.name} exited with {done.returncode}\n"
        f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    )
    return done


def cut(script: str, cut_at: str | None) -> str:
    """``examples/<script>``'s text, with everything from the line ``cut_at`` on left out."""
    text = (EXAMPLES / script).read_text()
    return text if cut_at is None else text.split(cut_at)[0]


class Target:
    """Where a test's example runs, and how the test arranges and inspects its data."""

    kind: str
    data_dir: Path

    def client(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def run(
        self, script: str, *, stdin: str = "", cut_at: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``examples/<script>`` (up to the line ``cut_at``) as a real subprocess."""
        raise NotImplementedError


class Embedded(Target):
    kind = "embedded"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "my_data"  # where the seed's OpenViking(path="./my_data") is

    @contextmanager
    def client(self) -> Iterator[skald.OpenViking]:
        with skald.OpenViking(path=self.data_dir) as client:
            yield client

    def run(
        self, script: str, *, stdin: str = "", cut_at: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        path = EXAMPLES / script
        if cut_at is not None:
            path = self.workdir / f"cut_{script}"
            path.write_text(cut(script, cut_at))
        return run_script(path, cwd=self.workdir, stdin=stdin)


class Remote(Target):
    kind = "remote"

    def __init__(self, server: SkaldServer, workdir: Path, client: skald.SyncHTTPClient) -> None:
        self.server, self.workdir, self.remote = server, workdir, client
        self.data_dir = server.path

    def client(self) -> AbstractContextManager[skald.SyncHTTPClient]:
        return nullcontext(self.remote)

    def run(
        self, script: str, *, stdin: str = "", cut_at: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        copy = remote_copy(script, self.server.url, self.workdir / script, cut_at=cut_at)
        try:
            done = run_script(copy, cwd=self.workdir, stdin=stdin)
        except AssertionError as exc:
            raise AssertionError(f"{script} (remote): {exc}\n{self.server.describe()}") from None
        assert not (self.workdir / "my_data").exists(), "the remote example wrote local data"
        return done


def remote_copy(script: str, url: str, dest: Path, *, cut_at: str | None = None) -> Path:
    """A copy of ``examples/<script>`` whose client line talks to ``url``; nothing else changes
    (except, with ``cut_at``, everything from that line on is left out)."""
    original = cut(script, cut_at)
    assert original.count(LOCAL_CLIENT_LINE) == 1, f"{script}: expected one {LOCAL_CLIENT_LINE!r}"
    rewritten = original.replace(
        LOCAL_CLIENT_LINE, f'client = ov.SyncHTTPClient(url="{url}", api_key=None)'
    )
    changed = [
        line
        for line in difflib.unified_diff(original.splitlines(), rewritten.splitlines(), n=0)
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]
    assert changed == [
        f"-{LOCAL_CLIENT_LINE}",
        f'+client = ov.SyncHTTPClient(url="{url}", api_key=None)',
    ], changed
    dest.write_text(rewritten)
    return dest


@contextmanager
def written_days_ago(target: Target, days: float) -> Iterator[skald.OpenViking]:
    """An embedded client on ``target.data_dir`` that writes ``days`` days in the past."""
    clock = TestClock()
    client = skald.OpenViking(path=target.data_dir, now=clock)  # no worker: it only writes
    try:
        with clock.days_ago(days):
            yield client
    finally:
        client.close()


@pytest.fixture(autouse=True)
def no_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's SKALD_* / OPENVIKING_* client settings must not change who we are (nor
    the extractor of the scripts, which inherit the environment)."""
    for name in list(os.environ):
        if name.startswith(("SKALD_", "OPENVIKING_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SkaldServer]:
    """One real ``skald serve`` for the module; SIGTERM at the end must stop it cleanly."""
    with running_skald(tmp_path_factory.mktemp("seed-remote") / "data") as running:
        yield running


@pytest.fixture(params=["embedded", "remote"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    if request.param == "embedded":
        yield Embedded(tmp_path)
        return
    server: SkaldServer = request.getfixturevalue("server")
    with skald.SyncHTTPClient(url=server.url, api_key=None) as client:
        for session in client.list_sessions():
            client.delete_session(session["session_id"], missing_ok=True)
        for node in client.ls(MEMORIES):
            client.rm(node["uri"], recursive=True)
        assert client.list_sessions() == []
        assert memories(client) == {}
        yield Remote(server, tmp_path, client)


@pytest.fixture
def run_example(tmp_path: Path) -> RunExample:
    """Run one example script (a name under ``examples/``) unchanged, cwd ``tmp_path``."""

    def _run(script: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return run_script(EXAMPLES / script, *args, cwd=tmp_path, stdin=stdin)

    return _run


def chat(client: Any, session_id: str, *user_lines: str) -> None:
    """A short conversation: each user line gets an assistant reply."""
    for line in user_lines:
        client.add_message(session_id, "user", line)
        client.add_message(session_id, "assistant", "Noted.")


# ---------------------------------------------------------------------------- Clean Up Old Sessions


def test_cleanup_deletes_only_sessions_older_than_30_days(target: Target) -> None:
    for sid, days in (("ancient", 400), ("old", 31), ("recent", 29)):
        with written_days_ago(target, days) as client:
            chat(client, sid, f"This is session {sid}.")
    with target.client() as client:
        chat(client, "fresh", "This is session fresh.")

    out = target.run("cleanup_old_sessions.py").stdout

    assert sorted(out.splitlines()) == [
        "Deleting old session: ancient",
        "Deleting old session: old",
    ]
    with target.client() as client:
        assert not client.session_exists("ancient")
        assert not client.session_exists("old")
        assert {s["session_id"] for s in client.list_sessions()} == {"recent", "fresh"}
        for sid in ("recent", "fresh"):
            assert client.get_session(sid)["message_count"] == 2


def test_cleanup_with_nothing_old_deletes_nothing(target: Target) -> None:
    with target.client() as client:
        chat(client, "today", "Hello.")

    out = target.run("cleanup_old_sessions.py").stdout

    assert out == ""
    with target.client() as client:
        assert client.get_session("today")["message_count"] == 2


# ---------------------------------------------------------------------------- Delete After Commit


def test_delete_after_commit_keeps_the_extracted_memories(target: Target) -> None:
    with target.client() as client:
        chat(
            client,
            "a1b2c3d4",
            "Hi, my name is Ada.",
            "I love hiking.",
            "I don't like meetings before 10am.",
        )

    out = target.run("delete_after_commit.py").stdout

    with target.client() as client:
        kept = memories(client)
        assert not client.session_exists("a1b2c3d4")
        with pytest.raises(skald.NotFoundError):
            client.read("viking://session/a1b2c3d4/messages.jsonl")
    assert out.splitlines() == [
        f"Extracted {len(kept)} memories",
        "Session deleted, memories preserved",
    ]
    assert sorted(kept.values()) == [
        "The user dislikes meetings before 10am.",
        "The user likes hiking.",
        "The user's name is Ada.",
    ]


# ---------------------------------------------------------------------------- Batch Delete


def test_batch_delete_reports_each_id(target: Target) -> None:
    with target.client() as client:
        for sid in ("abc123", "def456", "bystander"):
            chat(client, sid, f"Session {sid} talking.")

    out = target.run("batch_delete.py").stdout

    assert out.splitlines() == [
        "Deleted: abc123",
        "Deleted: def456",
        "Failed to delete ghi789: Session not found: ghi789",
    ]
    with target.client() as client:
        assert [s["session_id"] for s in client.list_sessions()] == ["bystander"]
        assert client.get_session("bystander")["message_count"] == 2
        assert not client.session_exists("ghi789")


# ---------------------------------------------------------------------------- Safe Delete


@pytest.fixture
def session_with_history(target: Target) -> str:
    """``a1b2c3d4``: two turns committed into one archive, then one more live turn."""
    with target.client() as client:
        chat(client, "a1b2c3d4", "First question.", "Second question.")
        client.commit_session("a1b2c3d4", wait=True)
        chat(client, "a1b2c3d4", "A follow-up.")
    return "a1b2c3d4"


def _shows_details(out: str) -> None:
    assert out.splitlines()[:4] == [
        "Session: a1b2c3d4",
        "Messages: 2",
        "Turns: 3",
        "Archives: 1",
    ]
    assert "Are you sure you want to delete this session? (yes/no): " in out


def test_safe_delete_deletes_on_yes(session_with_history: str, target: Target) -> None:
    out = target.run("safe_delete_with_confirmation.py", stdin="yes\n").stdout

    _shows_details(out)
    assert out.rstrip().endswith("Session deleted")
    with target.client() as client:
        assert not client.session_exists(session_with_history)
        with pytest.raises(skald.NotFoundError):
            client.stat("viking://session/a1b2c3d4/history/archive_001")


def test_safe_delete_keeps_the_session_on_no(session_with_history: str, target: Target) -> None:
    with target.client() as client:
        before = client.get_session(session_with_history)

    out = target.run("safe_delete_with_confirmation.py", stdin="no\n").stdout

    _shows_details(out)
    assert out.rstrip().endswith("Deletion cancelled")
    with target.client() as client:
        assert client.get_session(session_with_history) == before
        assert client.ls("viking://session/a1b2c3d4/history") != []


# ---------------------------------------------------------------------------- Check Content First


def test_check_content_first_commits_on_yes_then_deletes(target: Target) -> None:
    with target.client() as client:
        chat(client, "a1b2c3d4", "My name is Grace.", "I love sailing.")

    out = target.run("check_content_first.py", stdin="yes\n").stdout

    assert out.startswith("Warning: No memories extracted yet\nCommit before deleting? (yes/no): ")
    with target.client() as client:
        assert not client.session_exists("a1b2c3d4")
        assert sorted(memories(client).values()) == [
            "The user likes sailing.",
            "The user's name is Grace.",
        ]


def test_check_content_first_deletes_without_commit_on_no(target: Target) -> None:
    with target.client() as client:
        chat(client, "a1b2c3d4", "My name is Grace.")

    out = target.run("check_content_first.py", stdin="no\n").stdout

    assert out.startswith("Warning: No memories extracted yet")
    with target.client() as client:
        assert not client.session_exists("a1b2c3d4")
        assert memories(client) == {}


def test_check_content_first_does_not_ask_when_memories_exist(target: Target) -> None:
    with target.client() as client:
        chat(client, "a1b2c3d4", "My name is Grace.")
        client.commit_session("a1b2c3d4", wait=True)
        kept = memories(client)
    assert kept

    # No stdin: a prompt would hit EOF and fail the script.
    out = target.run("check_content_first.py").stdout

    assert out == ""
    with target.client() as client:
        assert not client.session_exists("a1b2c3d4")
        assert memories(client) == kept


# ---------------------------------------------------------------------------- Soft Delete


def test_soft_delete_marker_then_purge_of_marked_sessions(target: Target) -> None:
    with target.client() as client:
        for sid in ("a1b2c3d4", "marked-earlier", "keep-1", "keep-2"):
            chat(client, sid, f"Session {sid} talking.")
        client._viking_fs.write_file(
            "viking://session/marked-earlier/.deleted.json", '{"deleted": true}', ctx=client.ctx
        )
        client.write("viking://session/keep-1/notes.md", "not a marker", mode="create")

    out = target.run("soft_delete_marker.py").stdout

    lines = out.splitlines()
    assert lines[0] == "Session marked as deleted"
    assert sorted(lines[1:]) == [
        "Permanently deleted: a1b2c3d4",
        "Permanently deleted: marked-earlier",
    ]
    with target.client() as client:
        assert {s["session_id"] for s in client.list_sessions()} == {"keep-1", "keep-2"}
        assert client.read("viking://session/keep-1/notes.md") == "not a marker"
        for sid in ("a1b2c3d4", "marked-earlier"):
            with pytest.raises(skald.NotFoundError):
                client.read(f"viking://session/{sid}/.deleted.json")
    with sqlite3.connect(target.data_dir / "skald.db") as db:
        markers = db.execute("SELECT path FROM files WHERE path LIKE '%.deleted.json'").fetchall()
    db.close()
    assert markers == []


def test_soft_delete_marker_is_the_seeds_json(target: Target) -> None:
    """The marker itself, seen by running only the script's first half (before the purge)."""
    with target.client() as client:
        chat(client, "a1b2c3d4", "Hello.")

    out = target.run(
        "soft_delete_marker.py", cut_at="# Later: Permanently delete marked sessions"
    ).stdout

    assert out == "Session marked as deleted\n"
    with target.client() as client:
        marker = json.loads(client.read("viking://session/a1b2c3d4/.deleted.json"))
        assert marker["deleted"] is True
        assert datetime.fromisoformat(marker["deleted_at"])
        assert client.get_session("a1b2c3d4")["message_count"] == 2


# ---------------------------------------------------------------------------- demo


def test_demo(tmp_path: Path, run_example: RunExample) -> None:
    demo_data = tmp_path / "demo_data"

    out = run_example("demo.py", str(demo_data)).stdout

    assert "Created session demo-1 at viking://user/default/sessions/demo-1" in out
    assert "Messages: 4, turns: 2" in out
    assert "4 memories extracted" in out
    assert "Deleted session demo-1: removed 4 messages, 1 archives, 0 files" in out
    assert "Kept 4 memories:" in out
    assert out.rstrip().endswith("Session still exists? False")
    with skald.OpenViking(path=demo_data) as client:
        assert not client.session_exists("demo-1")
        kept = memories(client)
    assert len(kept) == 4
    assert "The user's name is Ada." in kept.values()


# ---------------------------------------------------------------------------- on an empty store

FIRST_RUN = {
    "batch_delete.py": ["Deleted: abc123", "Deleted: def456", "Deleted: ghi789"],
    "delete_after_commit.py": ["Extracted 3 memories", "Session deleted, memories preserved"],
    "check_content_first.py": [
        "Warning: No memories extracted yet",
        "Commit before deleting? (yes/no): (no answer: not committing)",
    ],
    "safe_delete_with_confirmation.py": [
        "Session: a1b2c3d4",
        "Messages: 4",
        "Turns: 2",
        "Archives: 0",
        "Are you sure you want to delete this session? (yes/no): (no answer)",
        "Deletion cancelled",
    ],
}


@pytest.mark.parametrize("script", sorted(FIRST_RUN))
def test_an_example_run_on_an_empty_store_without_a_terminal_shows_its_behaviour(
    target: Target, script: str
) -> None:
    """A newcomer's first run: no data yet, no terminal to answer prompts (stdin at EOF)."""
    done = target.run(script)
    assert done.stdout.splitlines() == FIRST_RUN[script]
    assert "Traceback" not in done.stderr


def test_yes_answers_the_prompts(run_example: RunExample, tmp_path: Path) -> None:
    out = run_example("safe_delete_with_confirmation.py", "--yes").stdout
    assert out.rstrip().endswith("Session deleted") and "(yes/no)" not in out
    out = run_example("check_content_first.py", "--yes").stdout
    assert out == "Warning: No memories extracted yet\n"
    with skald.OpenViking(path=tmp_path / "my_data") as client:
        assert sorted(memories(client).values()) == [
            "The user likes sailing.",
            "The user's name is Grace.",
        ]


def test_the_demo_without_arguments_leaves_nothing_behind(
    tmp_path: Path, run_example: RunExample
) -> None:
    out = run_example("demo.py").stdout
    assert "Kept 4 memories:" in out
    assert list(tmp_path.iterdir()) == []
