"""Commit: archive now, extract memories in the background; context and archives afterwards."""

from __future__ import annotations

from typing import Any

from .helpers import chat, memories, wait_until


def test_session_commit_waits_for_the_memories(client: Any) -> None:
    chat(client, "s-commit", "My name is Ada.", "I love hiking.")
    session = client.session("s-commit")

    result = session.commit()

    assert result["status"] == "completed"
    assert result["archived"] is True
    assert result["archive_uri"] == "viking://user/default/sessions/s-commit/history/archive_001"
    assert isinstance(result["memories_extracted"], int)
    assert result["memories_extracted"] == len(memories(client)) == 2
    assert sorted(memories(client).values()) == [
        "The user likes hiking.",
        "The user's name is Ada.",
    ]


def test_commit_without_wait_is_accepted_and_its_task_completes(client: Any) -> None:
    chat(client, "s-async-commit", "My name is Grace.")

    accepted = client.commit_session("s-async-commit", wait=False)

    assert accepted["status"] == "accepted"
    assert accepted["archived"] is True
    assert accepted["task_id"]

    def completed_task() -> Any:
        task = client.get_task(accepted["task_id"])
        return task if task and task["status"] == "completed" else None

    task = wait_until(completed_task, what="the extraction task to complete")
    assert task["task_id"] == accepted["task_id"]
    assert task["result"]["memories_extracted"]["total"] == 1
    assert client.get_session("s-async-commit")["stats"]["memories_extracted"] == 1


def test_get_task_of_an_unknown_id_is_none(client: Any) -> None:
    assert client.get_task("00000000-0000-0000-0000-000000000000") is None


def test_commit_moves_live_messages_into_an_archive(client: Any) -> None:
    chat(client, "s-archive", "My name is Ada.")

    client.commit_session("s-archive", wait=True)

    meta = client.get_session("s-archive")
    assert meta["message_count"] == 0
    assert meta["total_message_count"] == 2
    assert meta["commit_count"] == 1
    archive = client.get_session_archive("s-archive", "archive_001")
    assert archive["archive_id"] == "archive_001"
    assert [m["role"] for m in archive["messages"]] == ["user", "assistant"]
    assert archive["messages"][0]["parts"] == [{"type": "text", "text": "My name is Ada."}]
    assert archive["abstract"]
    assert archive["overview"]


def test_committing_nothing_is_skipped(client: Any) -> None:
    client.create_session("s-empty-commit")

    result = client.commit_session("s-empty-commit", wait=True)

    assert result["status"] == "skipped"
    assert result["archived"] is False
    assert result["task_id"] is None


def test_context_has_the_archive_overview_and_the_live_messages(client: Any) -> None:
    chat(client, "s-context", "My name is Ada.")
    client.commit_session("s-context", wait=True)
    client.add_message("s-context", "user", "What's my name?")

    context = client.session("s-context").context()

    assert "My name is Ada." in context["latest_archive_overview"]
    assert [m["parts"] for m in context["messages"]] == [
        [{"type": "text", "text": "What's my name?"}]
    ]
    assert context["stats"]["totalArchives"] == 1
    assert context["estimatedTokens"] > 0
