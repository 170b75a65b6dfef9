"""Delete (contract §8): everything of the session goes, its memories stay."""

from __future__ import annotations

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
    assert receipt["kept"] == {"memories": 2}


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
