"""Memory extraction: what the built-in extractor finds, and the durable task around it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import skald as ov
from skald_core.schemas import ContextPart, Message, MessageKind, TextPart
from skald_core.service.extraction import BuiltinExtractor
from skald_core.store.sqlite import SQLiteStore

MEMORIES = "viking://user/default/memories"


def said(role: str, text: str, kind: MessageKind | None = None) -> Message:
    return Message(
        id="msg_" + "0" * 32,
        role=role,
        parts=[TextPart(text=text)],
        created_at="2026-01-01T00:00:00+00:00",
        message_kind=kind,
    )


def facts(*messages: Message) -> dict[str, str]:
    """``{"category/slug": content}`` for what the built-in extractor finds."""
    found = BuiltinExtractor().extract(list(messages), "default")
    return {f"{f.category}/{f.slug}": f.content for f in found}


# ---------------------------------------------------------------------------- the extractor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi, my name is Ada Lovelace.", {"profile/name": "The user's name is Ada Lovelace."}),
        ("Please call me Grace", {"profile/name": "The user's name is Grace."}),
        (
            "I work as a data scientist.",
            {"profile/profession": "The user works as a data scientist."},
        ),
        (
            "By the way, I'm a software engineer in Lisbon.",
            {"profile/profession": "The user works as a software engineer."},
        ),
        ("I love hiking.", {"preferences/likes-hiking": "The user likes hiking."}),
        (
            "I really like Thai food!",
            {"preferences/likes-thai-food": "The user likes Thai food."},
        ),
        ("I don't like olives.", {"preferences/dislikes-olives": "The user dislikes olives."}),
        (
            "I can't stand loud music",
            {"preferences/dislikes-loud-music": "The user dislikes loud music."},
        ),
        (
            "I prefer tea over coffee.",
            {"preferences/prefers-tea-over-coffee": "The user prefers tea over coffee."},
        ),
        (
            "Remember that my flight leaves at 9",
            {"facts/my-flight-leaves-at-9": "Remember: my flight leaves at 9."},
        ),
        ("What is the weather like today?", {}),
        ("", {}),
    ],
)
def test_the_builtin_extractor_recognises_each_kind_of_fact(
    text: str, expected: dict[str, str]
) -> None:
    assert facts(said("user", text)) == expected


def test_one_message_can_hold_several_facts() -> None:
    found = facts(
        said("user", "My name is Ada and I love hiking but I hate rain. I work as a nurse.")
    )

    assert found == {
        "profile/name": "The user's name is Ada.",
        "preferences/likes-hiking": "The user likes hiking.",
        "preferences/dislikes-rain": "The user dislikes rain.",
        "profile/profession": "The user works as a nurse.",
    }


def test_only_the_users_own_words_count() -> None:
    found = facts(
        said("assistant", "My name is HAL and I love chess."),
        said("system", "Remember that the user is an admin."),
        said("user", "I love jazz", kind="tool_transport"),
        said("user", "I enjoy sailing."),
    )

    assert found == {"preferences/likes-sailing": "The user likes sailing."}


def test_non_text_parts_are_ignored() -> None:
    message = Message(
        id="msg_1",
        role="user",
        parts=[ContextPart(uri="viking://resources/my name is Bob.md", abstract="I love spam")],
        created_at="2026-01-01T00:00:00+00:00",
    )

    assert facts(message) == {}


def test_extraction_is_deterministic() -> None:
    conversation = [
        said("user", "My name is Ada. I love hiking and I prefer mornings."),
        said("assistant", "Noted!"),
        said("user", "Remember that I am allergic to peanuts. I dislike crowds."),
    ]

    runs = [BuiltinExtractor().extract(conversation, "default") for _ in range(3)]

    assert runs[0] == runs[1] == runs[2]
    assert len(runs[0]) == 5


def test_a_fact_stated_twice_is_one_memory_and_the_later_wording_wins() -> None:
    found = facts(
        said("user", "My name is Ada."),
        said("user", "I love hiking."),
        said("user", "Actually, call me Grace. I love hiking!"),
    )

    assert found == {
        "profile/name": "The user's name is Grace.",
        "preferences/likes-hiking": "The user likes hiking.",
    }


# ---------------------------------------------------------------------------- through the client


def wait_for_task(client: ov.OpenViking, task_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task = client.get_task(task_id)
        assert task is not None, f"task {task_id} vanished"
        if task["status"] in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
            return task
        time.sleep(0.02)


def memory_files(client: ov.OpenViking) -> dict[str, str]:
    return {
        node["uri"][len(MEMORIES) + 1 :]: client.read(node["uri"])
        for node in client.ls(MEMORIES, recursive=True)
        if not node["isDir"]
    }


def test_the_same_fact_in_two_commits_updates_one_memory_file(tmp_path: Path) -> None:
    with ov.OpenViking(path=tmp_path) as client:
        client.add_message("s1", "user", "I love hiking.")
        first = client.session("s1").commit()
        client.add_message("s1", "user", "Did I mention that I love Hiking?")
        second = client.session("s1").commit()

        assert (first["memories_extracted"], second["memories_extracted"]) == (1, 1)
        assert memory_files(client) == {"preferences/likes-hiking.md": "The user likes Hiking."}


def test_extraction_resumes_after_a_restart(tmp_path: Path) -> None:
    first = ov.OpenViking(path=tmp_path)  # never initialised: no background worker
    first.add_message("s1", "user", "My name is Ada and I love hiking.")
    accepted = first.commit_session("s1")
    assert accepted["status"] == "accepted"
    assert first.get_task(accepted["task_id"])["status"] == "pending"  # type: ignore[index]
    first.close()

    with ov.OpenViking(path=tmp_path) as second:  # initialize() starts the worker
        task = wait_for_task(second, accepted["task_id"])

        assert task["status"] == "completed"
        assert task["result"]["memories_extracted"]["total"] == 2
        assert memory_files(second) == {
            "profile/name.md": "The user's name is Ada.",
            "preferences/likes-hiking.md": "The user likes hiking.",
        }
        assert second.session("s1").stats.memories_extracted == 2


def test_a_task_held_by_a_dead_worker_is_retaken_once_its_lease_expires(tmp_path: Path) -> None:
    first = ov.OpenViking(path=tmp_path)
    first.add_message("s1", "user", "Call me Grace.")
    task_id = first.commit_session("s1")["task_id"]
    first.close()
    dead_worker = SQLiteStore(tmp_path)
    assert dead_worker.claim_task(task_id, time.time(), lease_seconds=0.3) is not None
    dead_worker.close()  # the worker dies holding the task

    with ov.OpenViking(path=tmp_path) as second:
        task = wait_for_task(second, task_id)

        assert task["status"] == "completed"
        assert memory_files(second) == {"profile/name.md": "The user's name is Grace."}


def test_deleting_before_extraction_runs_cancels_it_and_writes_no_memory(tmp_path: Path) -> None:
    client = ov.OpenViking(path=tmp_path)  # no worker yet
    client.add_message("s1", "user", "My name is Ada.")
    task_id = client.commit_session("s1")["task_id"]

    receipt = client.delete_session("s1")

    assert receipt["deleted"]["pending_tasks"] == 1
    client.initialize()  # now the worker runs; it must not resurrect anything
    client.add_message("s2", "user", "I enjoy chess.")
    later = client.commit_session("s2")["task_id"]
    assert wait_for_task(client, later)["status"] == "completed"  # the worker has had its turn

    task = client.get_task(task_id)
    assert task is not None and task["status"] == "cancelled"
    assert memory_files(client) == {"preferences/likes-chess.md": "The user likes chess."}
    assert not client.session_exists("s1")
    client.close()


def test_session_stats_count_the_memories_of_completed_commits(tmp_path: Path) -> None:
    client = ov.OpenViking(path=tmp_path)  # no worker: only waited-for commits complete
    session = client.session("s1")
    session.add_message("user", "My name is Ada and I love hiking.")
    first = session.commit()
    session.add_message("user", "I work as a nurse.")
    second = session.commit()
    session.add_message("user", "I prefer window seats.")
    queued = client.commit_session("s1")  # accepted, not yet extracted

    completed = first["memories_extracted"] + second["memories_extracted"]
    assert (first["memories_extracted"], second["memories_extracted"]) == (2, 1)
    assert session.load().stats.memories_extracted == completed
    assert client.get_session("s1")["memories_extracted"]["total"] == completed

    client.initialize()
    assert wait_for_task(client, queued["task_id"])["status"] == "completed"

    stats = session.load().stats
    assert stats.memories_extracted == completed + 1
    assert stats.compression_count == 3
    assert stats.total_turns == 3
    client.close()
