"""Sessions: create, get, list (newest first, paged), exists, and the ``Session`` object."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

import skald

from .helpers import chat


def test_create_returns_where_the_session_lives(client: Any) -> None:
    created = client.create_session("s-create")

    assert created["session_id"] == "s-create"
    assert created["uri"] == "viking://user/default/sessions/s-create"
    assert created["user"] == {"account_id": client.ctx.account, "user_id": "default"}
    assert created["created_at"].endswith("Z")


def test_create_without_an_id_makes_one_up(client: Any) -> None:
    created = client.create_session()

    meta = client.get_session(created["session_id"])
    assert meta["session_id"] == created["session_id"]
    assert meta["message_count"] == 0


def test_get_returns_the_session_meta(client: Any) -> None:
    client.create_session("s-meta")
    chat(client, "s-meta", "Hello there.")

    meta = client.get_session("s-meta")

    assert meta["session_id"] == "s-meta"
    assert meta["uri"] == "viking://user/default/sessions/s-meta"
    assert meta["message_count"] == 2
    assert meta["commit_count"] == 0
    assert meta["stats"]["total_turns"] == 1


def test_creating_an_existing_session_is_already_exists(client: Any) -> None:
    client.create_session("s-twice")

    with pytest.raises(skald.AlreadyExistsError):
        client.create_session("s-twice")


def test_getting_an_unknown_session_is_not_found(client: Any) -> None:
    with pytest.raises(skald.NotFoundError) as caught:
        client.get_session("s-nowhere")

    assert caught.value.details == {"type": "session", "resource": "s-nowhere"}
    assert caught.value.message == "Session not found: s-nowhere"


def test_list_is_newest_first(client: Any) -> None:
    for sid in ("s-first", "s-second", "s-third"):
        client.create_session(sid)

    listed = client.list_sessions()

    assert [s["session_id"] for s in listed] == ["s-third", "s-second", "s-first"]
    assert listed[0]["uri"] == "viking://user/default/sessions/s-third"
    assert listed[0]["is_dir"] is True
    assert listed[0]["message_count"] == 0


def test_list_pages_with_limit_and_cursor(client: Any) -> None:
    for n in range(5):
        client.create_session(f"s-page-{n}")

    page1 = client.list_sessions(limit=2)
    page2 = client.list_sessions(limit=2, cursor=page1[-1]["session_id"])
    page3 = client.list_sessions(limit=2, cursor=page2[-1]["session_id"])

    assert [s["session_id"] for s in page1] == ["s-page-4", "s-page-3"]
    assert [s["session_id"] for s in page2] == ["s-page-2", "s-page-1"]
    assert [s["session_id"] for s in page3] == ["s-page-0"]


def test_list_oldest_first_pages_with_the_same_cursor(client: Any) -> None:
    for n in range(5):
        client.create_session(f"s-asc-{n}")

    page1 = client.list_sessions(limit=3, order="asc")
    page2 = client.list_sessions(limit=3, order="asc", cursor=page1[-1]["session_id"])

    assert [s["session_id"] for s in page1] == ["s-asc-0", "s-asc-1", "s-asc-2"]
    assert [s["session_id"] for s in page2] == ["s-asc-3", "s-asc-4"]
    everything = client.list_sessions(order="desc")
    assert [s["session_id"] for s in everything] == [f"s-asc-{n}" for n in range(4, -1, -1)]


def test_list_refuses_an_unknown_order(client: Any) -> None:
    client.create_session("s-order")

    with pytest.raises(skald.InvalidArgumentError):
        client.list_sessions(order="newest")


def test_list_of_a_new_user_is_empty(client: Any) -> None:
    assert client.list_sessions() == []


def test_exists_tells_known_from_unknown(client: Any) -> None:
    client.create_session("s-here")

    assert client.session_exists("s-here") is True
    assert client.session_exists("s-not-here") is False


def test_session_object_holds_messages_and_stats(client: Any) -> None:
    chat(client, "s-obj", "My name is Ada.", "I love hiking.")

    session = client.session("s-obj")

    assert isinstance(session, skald.Session)
    assert session.session_id == "s-obj"
    assert session.uri == "viking://user/default/sessions/s-obj"
    assert [m.role for m in session.messages] == ["user", "assistant", "user", "assistant"]
    assert session.messages[0].parts == [skald.TextPart(text="My name is Ada.")]
    assert session.stats.total_turns == 2
    assert session.stats.compression_count == 0
    assert session.stats.memories_extracted == 0


def test_session_stats_count_commits_and_extracted_memories(client: Any) -> None:
    chat(client, "s-stats", "My name is Ada.")
    client.commit_session("s-stats", wait=True)
    chat(client, "s-stats", "I love hiking.")
    client.commit_session("s-stats", wait=True)

    session = client.session("s-stats")

    assert session.messages == []
    assert session.stats.total_turns == 2
    assert session.stats.compression_count == 2
    assert session.stats.memories_extracted == 2


def test_session_created_at_is_a_naive_local_datetime(client: Any) -> None:
    session = client.session("s-clock")

    assert isinstance(session.created_at, datetime)
    assert session.created_at.tzinfo is None
    assert abs(datetime.now() - session.created_at) < timedelta(seconds=60)


def test_session_creates_a_missing_session_unless_it_must_exist(client: Any) -> None:
    with pytest.raises(skald.NotFoundError):
        client.session("s-lazy", must_exist=True)
    assert not client.session_exists("s-lazy")

    session = client.session("s-lazy")

    assert session.messages == []
    assert client.session_exists("s-lazy")


def test_session_load_sees_messages_added_later(client: Any) -> None:
    session = client.session("s-reload")

    session.add_message("user", "Late news.")

    assert session.messages == []
    assert [m.parts for m in session.load().messages] == [[skald.TextPart(text="Late news.")]]


def test_list_sessions_all_users_names_each_owner(client: Any) -> None:
    """``list_sessions(all_users=True)`` (``?user=*``; every client here acts as root): the
    sessions of every user of the account, each naming its account and user."""
    client.add_message("mine", "user", "hello")
    rows = client.list_sessions(all_users=True)
    assert [(r["session_id"], r["user"]) for r in rows] == [("mine", "default")]
    assert rows[0]["account"]
    assert "user" not in client.list_sessions()[0]


def test_tasks_are_listed_and_summaries_read(client: Any) -> None:
    client.add_message("s-tasks", "user", "My name is Ada.")
    committed = client.commit_session("s-tasks", wait=True)

    tasks = client.list_tasks(resource_id="s-tasks")
    assert [t["task_id"] for t in tasks] == [committed["task_id"]]
    assert tasks[0]["status"] == "completed"
    assert client.list_tasks(resource_id="s-tasks", status="failed") == []
    session = "viking://session/s-tasks"
    assert client.abstract(session) == client.read(f"{session}/.abstract.md") != ""
    assert client.overview(session) == client.read(f"{session}/.overview.md") != ""
    assert client.abstract("viking://user/default/resources") == ""
