"""Delete (contract §8): everything of the session goes, its memories stay."""

from __future__ import annotations

import json
from typing import Any

import pytest

import skald

from .helpers import chat, memories

SESSION_DIR = "viking://session/s-del"


@pytest.fixture
def committed_session(client: Any) -> dict[str, str]:
    """``s-del``: two turns committed into archive_001 (memories extracted), then one more live
    turn, a tool call and a caller-written note. Returns the memories it produced."""
    chat(client, "s-del", "My name is Ada.", "I love hiking.")
    client.commit_session("s-del", wait=True)
    chat(client, "s-del", "See you tomorrow.")
    client.add_message(
        "s-del", "assistant", parts=[{"type": "tool", "tool_id": "call_9", "tool_name": "clock"}]
    )
    client.write(f"{SESSION_DIR}/notes.md", "remember the trail", mode="create")
    kept = memories(client)
    assert len(kept) == 2
    return kept


def test_delete_returns_what_it_removed_and_kept(client: Any, committed_session: Any) -> None:
    receipt = client.delete_session("s-del")

    assert receipt["session_id"] == "s-del"
    assert receipt["mode"] == "hard"
    assert receipt["deleted"]["messages"] == 7  # 4 archived + 3 live
    assert receipt["deleted"]["archives"] == 1
    assert receipt["deleted"]["files"] == 1
    assert receipt["deleted"]["tool_records"] == 1
    assert receipt["kept"]["memories"] == 2
    assert receipt["kept"]["memory_uris"] == [
        "viking://user/default/memories/preferences/likes-hiking.md",
        "viking://user/default/memories/profile/name.md",
    ]
    assert "forget_memories" in receipt["kept"]["reason"]


def test_memories_stay_readable_after_delete(client: Any, committed_session: Any) -> None:
    client.delete_session("s-del")

    assert memories(client) == committed_session


def test_nothing_of_the_session_is_left(client: Any, committed_session: Any) -> None:
    client.delete_session("s-del")

    assert not client.session_exists("s-del")
    assert client.list_sessions() == []
    for path in ("messages.jsonl", "notes.md", "history/archive_001/messages.jsonl"):
        with pytest.raises(skald.NotFoundError):
            client.read(f"{SESSION_DIR}/{path}")
    with pytest.raises(skald.NotFoundError):
        client.ls(SESSION_DIR)


def test_get_after_delete_is_not_found(client: Any, committed_session: Any) -> None:
    client.delete_session("s-del")

    with pytest.raises(skald.NotFoundError) as caught:
        client.get_session("s-del")

    assert caught.value.details == {"type": "session", "resource": "s-del"}


def test_deleting_twice_is_not_found(client: Any, committed_session: Any) -> None:
    client.delete_session("s-del")

    with pytest.raises(skald.NotFoundError) as caught:
        client.delete_session("s-del")

    assert caught.value.message == "Session not found: s-del"


def test_delete_missing_ok_is_idempotent(client: Any) -> None:
    receipt = client.delete_session("s-never", missing_ok=True)

    assert receipt == {"session_id": "s-never", "mode": "hard", "deleted": None, "kept": None}


def test_delete_keeps_other_sessions(client: Any, committed_session: Any) -> None:
    chat(client, "s-bystander", "I am still here.")

    client.delete_session("s-del")

    assert [s["session_id"] for s in client.list_sessions()] == ["s-bystander"]
    assert client.get_session("s-bystander")["message_count"] == 2


def test_require_committed_refuses_uncommitted_messages(client: Any) -> None:
    chat(client, "s-uncommitted", "Not saved yet.")

    with pytest.raises(skald.FailedPreconditionError) as caught:
        client.delete_session("s-uncommitted", require_committed=True)

    assert caught.value.details["uncommitted_messages"] == 2
    assert client.get_session("s-uncommitted")["message_count"] == 2


def test_require_committed_deletes_a_committed_session(client: Any) -> None:
    chat(client, "s-saved", "My name is Ada.")
    client.commit_session("s-saved", wait=True)

    receipt = client.delete_session("s-saved", require_committed=True)

    assert receipt["deleted"]["archives"] == 1
    assert not client.session_exists("s-saved")


def test_a_deleted_id_can_be_used_again_from_scratch(client: Any, committed_session: Any) -> None:
    client.delete_session("s-del")

    client.add_message("s-del", "user", "A fresh start.")

    session = client.session("s-del")
    assert [m.parts[0].text for m in session.messages] == ["A fresh start."]
    assert session.stats.compression_count == 0
    assert session.stats.memories_extracted == 0
    with pytest.raises(skald.NotFoundError):
        client.stat(f"{SESSION_DIR}/history/archive_001")
    with pytest.raises(skald.NotFoundError):
        client.read(f"{SESSION_DIR}/notes.md")


def _readme_round(client: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The README's curl block once: append to ``demo``, commit with wait, delete. Returns the
    commit answer, that archive's memory_diff.json and the delete receipt."""
    client.add_message("demo", "user", "Hi, my name is Ada and I love hiking.")
    committed = client.commit_session("demo", wait=True)
    diff = json.loads(client.read(committed["archive_uri"] + "/memory_diff.json"))
    return committed, diff, client.delete_session("demo")


def test_repeating_the_readme_block_counts_what_the_diff_shows(client: Any) -> None:
    """Issue 16 item 5: the second round re-states the same two memories. Its commit reports
    what it wrote (nothing: the diff is empty), its task says two were confirmed unchanged,
    and its receipt keeps the two memories the second session supports, naming them."""
    names = [
        "viking://user/default/memories/preferences/likes-hiking.md",
        "viking://user/default/memories/profile/name.md",
    ]
    first, diff1, receipt1 = _readme_round(client)
    assert first["memories_extracted"] == 2 == diff1["summary"]["total_adds"]
    assert receipt1["kept"]["memories"] == 2 and receipt1["kept"]["memory_uris"] == names

    second, diff2, receipt2 = _readme_round(client)
    assert diff2["summary"] == {"total_adds": 0, "total_updates": 0, "total_deletes": 0}
    assert second["memories_extracted"] == 0
    task = client.get_task(second["task_id"])
    assert task["result"]["memories_extracted"] == {"total": 0}
    assert task["result"]["memories_unchanged"] == 2
    assert task["result"]["memory_uris"] == []
    assert receipt2["kept"]["memories"] == 2 and receipt2["kept"]["memory_uris"] == names
    assert "forget_memories" in receipt2["kept"]["reason"]
    assert (
        sorted(
            n["uri"]
            for n in client.ls("viking://user/default/memories", recursive=True)
            if not n["isDir"]
        )
        == names
    )

    # A third round that says something new: one memory written, one confirmed.
    client.add_message("demo", "user", "Hi, my name is Ada and I love climbing.")
    third = client.commit_session("demo", wait=True)
    diff3 = json.loads(client.read(third["archive_uri"] + "/memory_diff.json"))
    assert third["memories_extracted"] == 1 == diff3["summary"]["total_adds"]
    assert client.get_task(third["task_id"])["result"]["memories_unchanged"] == 1
    assert client.get_session("demo")["memories_extracted"]["total"] == 1
    # forget_memories removes only what this session alone supports: climbing, not the name
    # (which the earlier, deleted "demo" sessions support too).
    receipt3 = client.delete_session("demo", forget_memories=True)
    assert receipt3["deleted"]["memories"] == 1
    assert receipt3["kept"]["memories"] == 1
    assert receipt3["kept"]["memory_uris"] == [names[1]]
    assert "another session" in receipt3["kept"]["reason"]
