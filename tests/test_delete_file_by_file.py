"""Delete removes a session file by file: everything under its directory, nothing else.

One rich session (text, tool and context parts, two commits, caller-written files) is listed
file by file before the delete; afterwards every one of those files is gone through the
public API and from the database tables, while memories and a second session are untouched.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import skald

SID = "rich-1"
OTHER = "other-1"
SESSION = f"viking://session/{SID}"
CANONICAL = f"viking://user/default/sessions/{SID}"
MEMORIES = "viking://user/default/memories"
ARCHIVE_FILES = (
    "messages.jsonl",
    ".meta.json",
    ".abstract.md",
    ".overview.md",
    ".done",
    "memory_diff.json",
)

EXPECTED_FILES = {
    "messages.jsonl",
    ".meta.json",
    ".abstract.md",
    ".overview.md",
    ".relations.json",
    *(f"history/archive_001/{name}" for name in ARCHIVE_FILES),
    *(f"history/archive_002/{name}" for name in ARCHIVE_FILES),
    "tools/call_search/tool.json",
    "tools/call_weather/tool.json",
    ".deleted.json",
    "notes/deep/todo.md",
}
EXPECTED_DIRS = {
    "history",
    "history/archive_001",
    "history/archive_002",
    "tools",
    "tools/call_search",
    "tools/call_weather",
    "notes",
    "notes/deep",
}


def tool_part(tool_id: str, name: str, output: str) -> dict[str, object]:
    return {
        "type": "tool",
        "tool_id": tool_id,
        "tool_name": name,
        "tool_input": {"query": name},
        "tool_output": output,
        "tool_status": "completed",
    }


def tree(client: skald.OpenViking, uri: str) -> dict[str, dict[str, object]]:
    """Every node below ``uri``, hidden ones included, by path relative to it."""
    nodes = client.ls(uri, recursive=True, show_all_hidden=True)
    base = client.stat(uri)["uri"] + "/"
    return {n["uri"].removeprefix(base): n for n in nodes}


def snapshot(client: skald.OpenViking, uri: str) -> dict[str, str | None]:
    """Path → content for files, None for directories."""
    return {
        rel: None if node["isDir"] else client.read(str(node["uri"]))
        for rel, node in tree(client, uri).items()
    }


def rows(db_file: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    db = sqlite3.connect(db_file)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


@pytest.fixture
def client(tmp_path):
    with skald.OpenViking(path=tmp_path) as c:
        yield c


@pytest.fixture
def rich_session(client) -> dict[str, int]:
    """Build ``rich-1`` and ``other-1``; return how many of each thing ``rich-1`` holds."""
    # Turn one, archived into archive_001.
    client.add_message(SID, "user", "Hi, my name is Ada. I love hiking.")
    client.add_message(SID, "assistant", "Let me look that up.")
    client.add_message(
        SID, "assistant", parts=[tool_part("call_search", "search", "Trails near you: 3")]
    )
    client.add_message(SID, "assistant", "There are three trails nearby.")
    assert client.commit_session(SID, wait=True)["status"] == "completed"
    # Turn two, with a context part and a second tool, archived into archive_002.
    client.add_message(
        SID,
        "user",
        parts=[
            {"type": "text", "text": "I work as a compiler engineer. What's the weather?"},
            {
                "type": "context",
                "uri": "viking://user/default/memories/profile/name.md",
                "context_type": "memory",
                "abstract": "The user's name",
            },
        ],
    )
    client.add_message(SID, "assistant", parts=[tool_part("call_weather", "weather", "Sunny, 21C")])
    client.add_message(SID, "assistant", "Sunny and 21C.")
    assert client.commit_session(SID, wait=True)["status"] == "completed"
    # Live, uncommitted turn.
    client.batch_add_messages(
        SID,
        [
            {"role": "user", "content": "Thanks, see you tomorrow."},
            {"role": "assistant", "content": "Bye!"},
        ],
    )
    # Files written by the caller: the seed's marker and a nested note.
    client._viking_fs.write_file(f"{SESSION}/.deleted.json", '{"deleted": true}', ctx=client.ctx)
    client.write(f"{SESSION}/notes/deep/todo.md", "- buy boots\n", mode="create")

    # A second session that must not be touched.
    client.add_message(OTHER, "user", "I prefer tea over coffee.")
    client.add_message(OTHER, "assistant", "Tea it is.")
    client.commit_session(OTHER, wait=True)
    client.add_message(OTHER, "user", "Still here.")
    client.write(f"viking://session/{OTHER}/notes.md", "other notes", mode="create")

    return {"messages": 9, "archives": 2, "files": 2, "tool_records": 2}


def test_ls_lists_every_file_of_the_session(client, rich_session):
    nodes = tree(client, SESSION)

    assert {rel for rel, n in nodes.items() if not n["isDir"]} == EXPECTED_FILES
    assert {rel for rel, n in nodes.items() if n["isDir"]} == EXPECTED_DIRS


def test_delete_removes_every_file_and_nothing_else(client, rich_session, tmp_path):
    before = snapshot(client, SESSION)
    assert {rel for rel, content in before.items() if content is not None} == EXPECTED_FILES
    assert before[".deleted.json"] == '{"deleted": true}'
    assert before["notes/deep/todo.md"] == "- buy boots\n"
    memories_before = snapshot(client, MEMORIES)
    assert sum(c is not None for c in memories_before.values()) >= 4
    other_before = snapshot(client, f"viking://session/{OTHER}")
    other_meta = client.get_session(OTHER)
    db_file = tmp_path / "skald.db"
    [(pk,)] = rows(db_file, "SELECT pk FROM sessions WHERE session_id = ?", SID)

    receipt = client.delete_session(SID)

    # The receipt counts what was there.
    assert receipt["session_id"] == SID
    assert receipt["mode"] == "hard"
    for key, count in rich_session.items():
        assert receipt["deleted"][key] == count, key
    assert receipt["deleted"]["pending_tasks"] == 0
    provenance = rows(
        db_file,
        "SELECT COUNT(DISTINCT file_pk) FROM memory_sources WHERE session_id = ?",
        SID,
    )[0][0]
    assert receipt["kept"]["memories"] == provenance > 0

    # Every file and directory is gone, through the alias and the canonical URI.
    for rel in sorted(before):
        for base in (SESSION, CANONICAL):
            with pytest.raises(skald.NotFoundError):
                client.stat(f"{base}/{rel}")
            if before[rel] is not None:
                with pytest.raises(skald.NotFoundError):
                    client.read(f"{base}/{rel}")
    for base in (SESSION, CANONICAL):
        with pytest.raises(skald.NotFoundError):
            client.stat(base)
        with pytest.raises(skald.NotFoundError):
            client.ls(base, recursive=True, show_all_hidden=True)
    with pytest.raises(skald.NotFoundError):
        client.get_session(SID)
    assert SID not in {s["session_id"] for s in client.list_sessions()}
    assert SID not in {n["name"] for n in client.ls("viking://user/default/sessions")}

    # Memories and the other session are exactly as they were.
    assert snapshot(client, MEMORIES) == memories_before
    assert snapshot(client, f"viking://session/{OTHER}") == other_before
    assert client.get_session(OTHER) == other_meta

    # Nothing is left in the tables either.
    assert rows(db_file, "SELECT * FROM sessions WHERE session_id = ?", SID) == []
    assert rows(db_file, "SELECT pk FROM messages WHERE session_pk = ?", pk) == []
    assert rows(db_file, "SELECT archive_no FROM archives WHERE session_pk = ?", pk) == []
    assert rows(db_file, "SELECT path FROM files WHERE session_pk = ?", pk) == []
    assert (
        rows(db_file, "SELECT path FROM files WHERE path LIKE ?", f"user/default/sessions/{SID}%")
        == []
    )
    assert (
        rows(
            db_file,
            "SELECT task_id FROM tasks WHERE session_id = ? AND status IN ('pending', 'running')",
            SID,
        )
        == []
    )
    assert client.services.store.check_integrity() == []


def test_delete_then_recreate_starts_empty(client, rich_session):
    client.delete_session(SID)

    client.create_session(SID)

    assert set(tree(client, SESSION)) == {"messages.jsonl", ".meta.json"}
    assert client.read(f"{SESSION}/messages.jsonl") == ""
    with pytest.raises(skald.NotFoundError):
        client.read(f"{SESSION}/.deleted.json")
    meta = client.get_session(SID)
    assert (meta["total_message_count"], meta["commit_count"]) == (0, 0)


def test_delete_twice_is_not_found_and_missing_ok(client, rich_session):
    client.delete_session(SID)

    with pytest.raises(skald.NotFoundError):
        client.delete_session(SID)
    assert client.delete_session(SID, missing_ok=True)["deleted"] is None
