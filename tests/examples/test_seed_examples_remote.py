"""The six seed examples again, this time against a real ``skald serve`` over the network.

Contract §1.2: the seed's examples run unchanged in both modes. Here one ``skald serve``
subprocess (dev mode, a free loopback port) serves the whole module. For each test the data is
arranged through ``skald.SyncHTTPClient``, then a copy of the example is run in a subprocess in
which ONLY the line ``client = ov.OpenViking(path="./my_data")`` is rewritten to
``client = ov.SyncHTTPClient(url="http://127.0.0.1:PORT", api_key=None)``, and the same outcomes
as in ``test_seed_examples.py`` (the in-process run) are asserted through the HTTP client.

Each test starts from an empty store: the ``remote`` fixture deletes every session and every
memory the previous test left behind (and checks that nothing is left).
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import skald

TESTS = Path(__file__).resolve().parents[1]
EXAMPLES = TESTS.parent / "examples"
MEMORIES = "viking://user/default/memories"
DAY = 24 * 60 * 60
TIMEOUT = 60
LOCAL_CLIENT_LINE = 'client = ov.OpenViking(path="./my_data")'

RunRemote = Callable[..., subprocess.CompletedProcess[str]]


def load_serverproc() -> ModuleType:
    """``tests/contract/serverproc.py`` (start/stop a real ``skald serve``), loaded by path:
    the contract directory is not a package."""
    name = "skald_tests_serverproc"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TESTS / "contract" / "serverproc.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One real ``skald serve`` for the module; SIGTERM at the end must stop it cleanly."""
    serverproc = load_serverproc()
    with serverproc.running_server(tmp_path_factory.mktemp("seed-remote") / "data") as running:
        yield running


def memories(client: skald.SyncHTTPClient) -> dict[str, str]:
    """Every memory file the user has, by URI, with its content."""
    return {
        node["uri"]: client.read(node["uri"])
        for node in client.ls(MEMORIES, recursive=True)
        if not node["isDir"]
    }


def chat(client: skald.SyncHTTPClient, session_id: str, *user_lines: str) -> None:
    """A short conversation: each user line gets an assistant reply."""
    for line in user_lines:
        client.add_message(session_id, "user", line)
        client.add_message(session_id, "assistant", "Noted.")


@pytest.fixture(autouse=True)
def no_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's SKALD_* / OPENVIKING_* client settings must not change who we are."""
    for name in list(os.environ):
        if name.startswith(("SKALD_", "OPENVIKING_")):
            monkeypatch.delenv(name)


@pytest.fixture
def remote(server: Any) -> Iterator[skald.SyncHTTPClient]:
    """A client of the module's server, which holds no sessions and no memories."""
    with skald.SyncHTTPClient(url=server.url, api_key=None) as client:
        for session in client.list_sessions():
            client.delete_session(session["session_id"], missing_ok=True)
        for node in client.ls(MEMORIES):
            client.rm(node["uri"], recursive=True)
        assert client.list_sessions() == []
        assert memories(client) == {}
        yield client


def make_old(server: Any, session_id: str, days: float) -> None:
    """Backdate a session's creation time, while the server runs (SQLite WAL allows it).

    Sessions have no public "created at" setter: ``sessions.created_at`` holds UTC epoch
    seconds in ``<data dir>/skald.db``.
    """
    with sqlite3.connect(server.path / "skald.db", timeout=60) as db:  # waits out writes
        changed = db.execute(
            "UPDATE sessions SET created_at = ? WHERE session_id = ?",
            (time.time() - days * DAY, session_id),
        ).rowcount
    db.close()
    assert changed == 1, f"no session {session_id} to backdate"


def remote_copy(script: str, url: str, dest: Path, *, cut_at: str | None = None) -> Path:
    """A copy of ``examples/<script>`` whose client line talks to ``url``; nothing else changes
    (except, with ``cut_at``, everything from that line on is left out)."""
    original = (EXAMPLES / script).read_text()
    if cut_at is not None:
        original = original.split(cut_at)[0]
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


@pytest.fixture
def run_remote(server: Any, tmp_path: Path) -> RunRemote:
    """Run a rewritten copy of an example as a real subprocess (cwd ``tmp_path``).

    Fails the test with the script's output when it exits non-zero, and checks that the
    script kept nothing locally (no ``./my_data``): everything went to the server.
    """

    def _run(
        script: str, *, stdin: str = "", cut_at: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        copy = remote_copy(script, server.url, tmp_path / script, cut_at=cut_at)
        done = subprocess.run(
            [sys.executable, str(copy)],
            cwd=tmp_path,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert done.returncode == 0, (
            f"{script} (remote) exited with {done.returncode}\n"
            f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}\n{server.describe()}"
        )
        assert not (tmp_path / "my_data").exists(), "the remote example wrote local data"
        return done

    return _run


# ---------------------------------------------------------------------------- Clean Up Old Sessions


def test_cleanup_deletes_only_sessions_older_than_30_days(server, remote, run_remote):
    for sid in ("ancient", "old", "recent", "fresh"):
        chat(remote, sid, f"This is session {sid}.")
    make_old(server, "ancient", 400)
    make_old(server, "old", 31)
    make_old(server, "recent", 29)

    out = run_remote("cleanup_old_sessions.py").stdout

    assert sorted(out.splitlines()) == [
        "Deleting old session: ancient",
        "Deleting old session: old",
    ]
    assert not remote.session_exists("ancient")
    assert not remote.session_exists("old")
    assert {s["session_id"] for s in remote.list_sessions()} == {"recent", "fresh"}
    for sid in ("recent", "fresh"):
        assert remote.get_session(sid)["message_count"] == 2


def test_cleanup_with_nothing_old_deletes_nothing(remote, run_remote):
    chat(remote, "today", "Hello.")

    out = run_remote("cleanup_old_sessions.py").stdout

    assert out == ""
    assert remote.get_session("today")["message_count"] == 2


# ---------------------------------------------------------------------------- Delete After Commit


def test_delete_after_commit_keeps_the_extracted_memories(remote, run_remote):
    chat(
        remote,
        "a1b2c3d4",
        "Hi, my name is Ada.",
        "I love hiking.",
        "I don't like meetings before 10am.",
    )

    out = run_remote("delete_after_commit.py").stdout

    kept = memories(remote)
    assert not remote.session_exists("a1b2c3d4")
    with pytest.raises(skald.NotFoundError):
        remote.read("viking://session/a1b2c3d4/messages.jsonl")
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


def test_batch_delete_reports_each_id(remote, run_remote):
    for sid in ("abc123", "def456", "bystander"):
        chat(remote, sid, f"Session {sid} talking.")

    out = run_remote("batch_delete.py").stdout

    assert out.splitlines() == [
        "Deleted: abc123",
        "Deleted: def456",
        "Failed to delete ghi789: Session not found: ghi789",
    ]
    assert [s["session_id"] for s in remote.list_sessions()] == ["bystander"]
    assert remote.get_session("bystander")["message_count"] == 2
    assert not remote.session_exists("ghi789")


# ---------------------------------------------------------------------------- Safe Delete


@pytest.fixture
def session_with_history(remote):
    """``a1b2c3d4``: two turns committed into one archive, then one more live turn."""
    chat(remote, "a1b2c3d4", "First question.", "Second question.")
    remote.commit_session("a1b2c3d4", wait=True)
    chat(remote, "a1b2c3d4", "A follow-up.")
    return "a1b2c3d4"


def _shows_details(out: str) -> None:
    assert out.splitlines()[:4] == [
        "Session: a1b2c3d4",
        "Messages: 2",
        "Turns: 3",
        "Archives: 1",
    ]
    assert "Are you sure you want to delete this session? (yes/no): " in out


def test_safe_delete_deletes_on_yes(session_with_history, remote, run_remote):
    out = run_remote("safe_delete_with_confirmation.py", stdin="yes\n").stdout

    _shows_details(out)
    assert out.rstrip().endswith("Session deleted")
    assert not remote.session_exists(session_with_history)
    with pytest.raises(skald.NotFoundError):
        remote.stat("viking://session/a1b2c3d4/history/archive_001")


def test_safe_delete_keeps_the_session_on_no(session_with_history, remote, run_remote):
    before = remote.get_session(session_with_history)

    out = run_remote("safe_delete_with_confirmation.py", stdin="no\n").stdout

    _shows_details(out)
    assert out.rstrip().endswith("Deletion cancelled")
    assert remote.get_session(session_with_history) == before
    assert remote.ls("viking://session/a1b2c3d4/history") != []


# ---------------------------------------------------------------------------- Check Content First


def test_check_content_first_commits_on_yes_then_deletes(remote, run_remote):
    chat(remote, "a1b2c3d4", "My name is Grace.", "I love sailing.")

    out = run_remote("check_content_first.py", stdin="yes\n").stdout

    assert out.startswith("Warning: No memories extracted yet\nCommit before deleting? (yes/no): ")
    assert not remote.session_exists("a1b2c3d4")
    assert sorted(memories(remote).values()) == [
        "The user likes sailing.",
        "The user's name is Grace.",
    ]


def test_check_content_first_deletes_without_commit_on_no(remote, run_remote):
    chat(remote, "a1b2c3d4", "My name is Grace.")

    out = run_remote("check_content_first.py", stdin="no\n").stdout

    assert out.startswith("Warning: No memories extracted yet")
    assert not remote.session_exists("a1b2c3d4")
    assert memories(remote) == {}


def test_check_content_first_does_not_ask_when_memories_exist(remote, run_remote):
    chat(remote, "a1b2c3d4", "My name is Grace.")
    remote.commit_session("a1b2c3d4", wait=True)
    kept = memories(remote)
    assert kept

    # No stdin: a prompt would hit EOF and fail the script.
    out = run_remote("check_content_first.py").stdout

    assert out == ""
    assert not remote.session_exists("a1b2c3d4")
    assert memories(remote) == kept


# ---------------------------------------------------------------------------- Soft Delete


def test_soft_delete_marker_then_purge_of_marked_sessions(server, remote, run_remote):
    for sid in ("a1b2c3d4", "marked-earlier", "keep-1", "keep-2"):
        chat(remote, sid, f"Session {sid} talking.")
    remote._viking_fs.write_file(
        "viking://session/marked-earlier/.deleted.json", '{"deleted": true}', ctx=remote.ctx
    )
    remote.write("viking://session/keep-1/notes.md", "not a marker", mode="create")

    out = run_remote("soft_delete_marker.py").stdout

    lines = out.splitlines()
    assert lines[0] == "Session marked as deleted"
    assert sorted(lines[1:]) == [
        "Permanently deleted: a1b2c3d4",
        "Permanently deleted: marked-earlier",
    ]
    assert {s["session_id"] for s in remote.list_sessions()} == {"keep-1", "keep-2"}
    assert remote.read("viking://session/keep-1/notes.md") == "not a marker"
    for sid in ("a1b2c3d4", "marked-earlier"):
        with pytest.raises(skald.NotFoundError):
            remote.read(f"viking://session/{sid}/.deleted.json")
    with sqlite3.connect(server.path / "skald.db") as db:
        markers = db.execute("SELECT path FROM files WHERE path LIKE '%.deleted.json'").fetchall()
    db.close()
    assert markers == []


def test_soft_delete_marker_is_the_seeds_json(remote, run_remote):
    """The marker itself, seen by running only the script's first half (before the purge)."""
    chat(remote, "a1b2c3d4", "Hello.")

    out = run_remote(
        "soft_delete_marker.py", cut_at="# Later: Permanently delete marked sessions"
    ).stdout

    assert out == "Session marked as deleted\n"
    marker = json.loads(remote.read("viking://session/a1b2c3d4/.deleted.json"))
    assert marker["deleted"] is True
    assert datetime.fromisoformat(marker["deleted_at"])
    assert remote.get_session("a1b2c3d4")["message_count"] == 2
