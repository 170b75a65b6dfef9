"""Deletion users can trust (issue 5), the same on every client: soft delete and restore, purge,
commit-before-delete, batch delete, retention cleanup, memory rollback, user erasure, audit."""

from __future__ import annotations

from typing import Any

import pytest

import skald

from .helpers import chat, memories


def ids(listing: list[dict[str, Any]]) -> list[str]:
    return [s["session_id"] for s in listing]


# ------------------------------------------------------------------ soft delete and restore


def test_soft_delete_hides_the_session_everywhere(client: Any) -> None:
    chat(client, "s1", "My name is Ada.")
    client.write("viking://session/s1/notes.md", "kept in the trash", mode="create")

    receipt = client.delete_session("s1", mode="soft")

    assert receipt["mode"] == "soft" and receipt["deleted"]["messages"] == 2
    assert not client.session_exists("s1")
    assert "s1" not in ids(client.list_sessions())
    with pytest.raises(skald.NotFoundError):
        client.read("viking://session/s1/notes.md")
    trashed = {s["session_id"]: s for s in client.list_sessions(include_deleted=True)}["s1"]
    assert trashed["deleted_at"] and trashed["deleted_by"]


def test_restore_brings_back_every_message_and_file(client: Any) -> None:
    chat(client, "s1", "My name is Ada.", "I love tea.")
    client.write("viking://session/s1/notes.md", "hello", mode="create")
    client.delete_session("s1", mode="soft")

    client.restore_session("s1")

    assert client.get_session("s1")["message_count"] == 4
    assert client.read("viking://session/s1/notes.md") == "hello"
    assert "s1" in ids(client.list_sessions())


def test_a_trashed_id_cannot_be_recreated_or_appended_to(client: Any) -> None:
    chat(client, "s1", "hi")
    client.delete_session("s1", mode="soft")

    with pytest.raises(skald.AlreadyExistsError) as created:
        client.create_session("s1")
    with pytest.raises(skald.FailedPreconditionError):
        client.add_message("s1", "user", "are you there?")

    assert created.value.details["reason"] == "in_trash"
    client.restore_session("s1")
    assert client.get_session("s1")["message_count"] == 2


def test_purging_a_trashed_session_removes_it_for_good(client: Any) -> None:
    chat(client, "s1", "hi")
    client.delete_session("s1", mode="soft")

    receipt = client.delete_session("s1")  # mode="hard" on a trashed session purges it

    assert receipt["deleted"]["messages"] == 2
    assert "s1" not in ids(client.list_sessions(include_deleted=True))
    with pytest.raises(skald.NotFoundError):
        client.restore_session("s1")
    client.create_session("s1")  # the id is free again


def test_restoring_a_live_session_is_refused(client: Any) -> None:
    chat(client, "s1", "hi")
    with pytest.raises(skald.FailedPreconditionError):
        client.restore_session("s1")


# ------------------------------------------------------------------ commit before delete


def test_require_committed_refuses_uncommitted_messages(client: Any) -> None:
    chat(client, "s1", "I love hiking.")

    with pytest.raises(skald.FailedPreconditionError) as refused:
        client.delete_session("s1", require_committed=True)

    assert refused.value.details["uncommitted_messages"] == 2
    assert client.get_session("s1")["message_count"] == 2


def test_commit_first_extracts_memories_then_deletes(client: Any) -> None:
    chat(client, "s1", "My name is Ada.", "I love hiking.")

    receipt = client.delete_session("s1", commit_first=True)

    assert receipt["deleted"]["archives"] == 1 and receipt["kept"]["memories"] == 2
    assert not client.session_exists("s1")
    assert any("hiking" in text for text in memories(client).values())


# ------------------------------------------------------------------ batch delete


def test_batch_delete_reports_each_id_on_its_own(client: Any) -> None:
    for sid in ("a", "b"):
        chat(client, sid, "hi")
    chat(client, "keep", "hi")

    result = client.delete_sessions(["a", "missing", "b", "bad/id"])

    assert ids(result["deleted"]) == ["a", "b"]
    assert result["not_found"] == ["missing"]
    assert [f["session_id"] for f in result["failed"]] == ["bad/id"]
    assert result["failed"][0]["code"] == "INVALID_ARGUMENT"
    assert ids(client.list_sessions()) == ["keep"]


def test_batch_delete_refuses_more_than_a_thousand_ids(client: Any) -> None:
    with pytest.raises(skald.InvalidArgumentError):
        client.delete_sessions([f"s{i}" for i in range(1001)])


# ------------------------------------------------------------------ memory rollback


def test_forget_memories_removes_what_only_this_session_taught(client: Any) -> None:
    chat(client, "one", "My name is Ada.", "I love hiking.")
    chat(client, "two", "I love hiking.")
    client.commit_session("one", wait=True)
    client.commit_session("two", wait=True)

    receipt = client.delete_session("one", forget_memories=True)

    left = memories(client)
    assert receipt["deleted"]["memories"] == 1  # the name came only from "one"
    assert receipt["kept"]["memories"] == 1  # hiking is also supported by "two"
    assert not any("Ada" in text for text in left.values())
    assert any("hiking" in text for text in left.values())
    client.delete_session("two", forget_memories=True)
    assert memories(client) == {}


# ------------------------------------------------------------------ retention cleanup


def test_cleanup_dry_run_lists_without_deleting(client: Any) -> None:
    chat(client, "s1", "hi")

    result = client.cleanup_sessions(0, dry_run=True)

    assert result["dry_run"] is True
    assert [m["session_id"] for m in result["matched"]] == ["s1"]
    assert result["deleted"] == []
    assert client.session_exists("s1")


def test_cleanup_deletes_what_is_older_than_the_cutoff(client: Any) -> None:
    chat(client, "old", "hi")

    assert client.cleanup_sessions(30)["matched"] == []  # nothing is 30 days old
    result = client.cleanup_sessions(0)

    assert ids(result["deleted"]) == ["old"]
    assert not client.session_exists("old")


# ------------------------------------------------------------------ user erasure and audit


def test_erasing_a_user_removes_everything_of_theirs(client: Any) -> None:
    chat(client, "s1", "My name is Ada.")
    client.commit_session("s1", wait=True)
    chat(client, "s2", "hi")
    client.delete_session("s2", mode="soft")
    client.write("viking://user/default/resources/cv.md", "Ada's CV", mode="create")

    result = client.erase_user("default")

    assert result["deleted"]["sessions"] == 2
    assert result["deleted"]["memories"] == 1
    assert result["deleted"]["files"] == 1
    assert client.list_sessions(include_deleted=True) == []
    assert memories(client) == {}
    with pytest.raises(skald.NotFoundError):
        client.read("viking://user/default/resources/cv.md")


def test_every_deletion_is_audited_without_content(client: Any) -> None:
    chat(client, "s1", "secret words")
    client.delete_session("s1", mode="soft")
    client.restore_session("s1")
    client.delete_session("s1")

    account = client.ctx.account
    entries = client.list_audit(session_id="s1", account=account)

    assert [e["action"] for e in entries] == ["delete", "restore", "soft_delete"]
    assert entries[0]["counts"]["messages"] == 2
    assert "secret" not in repr(entries)


def test_forget_memories_leaves_what_an_earlier_session_with_the_same_id_taught(
    client: Any,
) -> None:
    chat(client, "x", "My name is Ada.")
    client.commit_session("x", wait=True)
    client.delete_session("x")  # memories kept
    chat(client, "x", "I love tea.")  # the id, re-used
    client.commit_session("x", wait=True)

    receipt = client.delete_session("x", forget_memories=True)

    left = memories(client)
    assert receipt["deleted"]["memories"] == 1
    assert any("Ada" in text for text in left.values())
    assert not any("tea" in text for text in left.values())
