"""The six examples of the seed's delete-session page, plus the demo, run as real scripts.

Each test arranges ``./my_data`` with an in-process client (closed before the script runs),
runs the script in a subprocess with its prompts answered on stdin, then checks both what the
script printed and what the store holds afterwards.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime
from pathlib import Path

import pytest

import skald

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
MEMORIES = "viking://user/default/memories"
DAY = 24 * 60 * 60


def memories(client: skald.OpenViking) -> dict[str, str]:
    """Every memory file the user has, by URI, with its content."""
    return {
        node["uri"]: client.read(node["uri"])
        for node in client.ls(MEMORIES, recursive=True)
        if not node["isDir"]
    }


def chat(client: skald.OpenViking, session_id: str, *user_lines: str) -> None:
    """A short conversation: each user line gets an assistant reply."""
    for line in user_lines:
        client.add_message(session_id, "user", line)
        client.add_message(session_id, "assistant", "Noted.")


def make_old(data_dir: Path, session_id: str, days: float) -> None:
    """Arrange step for age-based scenarios: backdate a session's creation time.

    Sessions have no public "created at" setter, so the test rewrites the stored value
    directly: ``sessions.created_at`` holds UTC epoch seconds in ``my_data/skald.db``.
    """
    with sqlite3.connect(data_dir / "skald.db") as db:
        changed = db.execute(
            "UPDATE sessions SET created_at = ? WHERE session_id = ?",
            (time.time() - days * DAY, session_id),
        ).rowcount
    db.close()
    assert changed == 1, f"no session {session_id} to backdate"


# ---------------------------------------------------------------------------- Clean Up Old Sessions


def test_cleanup_deletes_only_sessions_older_than_30_days(data_dir, open_data, run_example):
    with open_data() as client:
        for sid in ("ancient", "old", "recent", "fresh"):
            chat(client, sid, f"This is session {sid}.")
    make_old(data_dir, "ancient", 400)
    make_old(data_dir, "old", 31)
    make_old(data_dir, "recent", 29)

    out = run_example("cleanup_old_sessions.py").stdout

    assert sorted(out.splitlines()) == [
        "Deleting old session: ancient",
        "Deleting old session: old",
    ]
    with open_data() as client:
        assert not client.session_exists("ancient")
        assert not client.session_exists("old")
        assert {s["session_id"] for s in client.list_sessions()} == {"recent", "fresh"}
        for sid in ("recent", "fresh"):
            assert client.get_session(sid)["message_count"] == 2


def test_cleanup_with_nothing_old_deletes_nothing(open_data, run_example):
    with open_data() as client:
        chat(client, "today", "Hello.")

    out = run_example("cleanup_old_sessions.py").stdout

    assert out == ""
    with open_data() as client:
        assert client.get_session("today")["message_count"] == 2


# ---------------------------------------------------------------------------- Delete After Commit


def test_delete_after_commit_keeps_the_extracted_memories(open_data, run_example):
    with open_data() as client:
        chat(
            client,
            "a1b2c3d4",
            "Hi, my name is Ada.",
            "I love hiking.",
            "I don't like meetings before 10am.",
        )

    out = run_example("delete_after_commit.py").stdout

    with open_data() as client:
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


def test_batch_delete_reports_each_id(open_data, run_example):
    with open_data() as client:
        for sid in ("abc123", "def456", "bystander"):
            chat(client, sid, f"Session {sid} talking.")

    out = run_example("batch_delete.py").stdout

    assert out.splitlines() == [
        "Deleted: abc123",
        "Deleted: def456",
        "Failed to delete ghi789: Session not found: ghi789",
    ]
    with open_data() as client:
        assert [s["session_id"] for s in client.list_sessions()] == ["bystander"]
        assert client.get_session("bystander")["message_count"] == 2
        assert not client.session_exists("ghi789")


# ---------------------------------------------------------------------------- Safe Delete


@pytest.fixture
def session_with_history(open_data):
    """``a1b2c3d4``: two turns committed into one archive, then one more live turn."""
    with open_data() as client:
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


def test_safe_delete_deletes_on_yes(session_with_history, open_data, run_example):
    out = run_example("safe_delete_with_confirmation.py", stdin="yes\n").stdout

    _shows_details(out)
    assert out.rstrip().endswith("Session deleted")
    with open_data() as client:
        assert not client.session_exists(session_with_history)
        with pytest.raises(skald.NotFoundError):
            client.stat("viking://session/a1b2c3d4/history/archive_001")


def test_safe_delete_keeps_the_session_on_no(session_with_history, open_data, run_example):
    with open_data() as client:
        before = client.get_session(session_with_history)

    out = run_example("safe_delete_with_confirmation.py", stdin="no\n").stdout

    _shows_details(out)
    assert out.rstrip().endswith("Deletion cancelled")
    with open_data() as client:
        assert client.get_session(session_with_history) == before
        assert client.ls("viking://session/a1b2c3d4/history") != []


# ---------------------------------------------------------------------------- Check Content First


def test_check_content_first_commits_on_yes_then_deletes(open_data, run_example):
    with open_data() as client:
        chat(client, "a1b2c3d4", "My name is Grace.", "I love sailing.")

    out = run_example("check_content_first.py", stdin="yes\n").stdout

    assert out.startswith("Warning: No memories extracted yet\nCommit before deleting? (yes/no): ")
    with open_data() as client:
        assert not client.session_exists("a1b2c3d4")
        assert sorted(memories(client).values()) == [
            "The user likes sailing.",
            "The user's name is Grace.",
        ]


def test_check_content_first_deletes_without_commit_on_no(open_data, run_example):
    with open_data() as client:
        chat(client, "a1b2c3d4", "My name is Grace.")

    out = run_example("check_content_first.py", stdin="no\n").stdout

    assert out.startswith("Warning: No memories extracted yet")
    with open_data() as client:
        assert not client.session_exists("a1b2c3d4")
        assert memories(client) == {}


def test_check_content_first_does_not_ask_when_memories_exist(open_data, run_example):
    with open_data() as client:
        chat(client, "a1b2c3d4", "My name is Grace.")
        client.commit_session("a1b2c3d4", wait=True)
        kept = memories(client)
    assert kept

    # No stdin: a prompt would hit EOF and fail the script.
    out = run_example("check_content_first.py").stdout

    assert out == ""
    with open_data() as client:
        assert not client.session_exists("a1b2c3d4")
        assert memories(client) == kept


# ---------------------------------------------------------------------------- Soft Delete


def test_soft_delete_marker_then_purge_of_marked_sessions(data_dir, open_data, run_example):
    with open_data() as client:
        for sid in ("a1b2c3d4", "marked-earlier", "keep-1", "keep-2"):
            chat(client, sid, f"Session {sid} talking.")
        client._viking_fs.write_file(
            "viking://session/marked-earlier/.deleted.json", '{"deleted": true}', ctx=client.ctx
        )
        client.write("viking://session/keep-1/notes.md", "not a marker", mode="create")

    out = run_example("soft_delete_marker.py").stdout

    lines = out.splitlines()
    assert lines[0] == "Session marked as deleted"
    assert sorted(lines[1:]) == [
        "Permanently deleted: a1b2c3d4",
        "Permanently deleted: marked-earlier",
    ]
    with open_data() as client:
        assert {s["session_id"] for s in client.list_sessions()} == {"keep-1", "keep-2"}
        assert client.read("viking://session/keep-1/notes.md") == "not a marker"
        for sid in ("a1b2c3d4", "marked-earlier"):
            with pytest.raises(skald.NotFoundError):
                client.read(f"viking://session/{sid}/.deleted.json")
    with sqlite3.connect(data_dir / "skald.db") as db:
        markers = db.execute("SELECT path FROM files WHERE path LIKE '%.deleted.json'").fetchall()
    db.close()
    assert markers == []


def test_soft_delete_marker_is_the_seeds_json(open_data, run_example, tmp_path):
    """The marker itself, seen by running only the script's first half (before the purge)."""
    with open_data() as client:
        chat(client, "a1b2c3d4", "Hello.")
    script = (EXAMPLES / "soft_delete_marker.py").read_text()
    mark_only = tmp_path / "mark_only.py"
    mark_only.write_text(script.split("# Later: Permanently delete marked sessions")[0])

    out = run_example(mark_only).stdout

    assert out == "Session marked as deleted\n"
    with open_data() as client:
        marker = json.loads(client.read("viking://session/a1b2c3d4/.deleted.json"))
        assert marker["deleted"] is True
        assert datetime.fromisoformat(marker["deleted_at"])
        assert client.get_session("a1b2c3d4")["message_count"] == 2


# ---------------------------------------------------------------------------- demo


def test_demo(tmp_path, run_example):
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
