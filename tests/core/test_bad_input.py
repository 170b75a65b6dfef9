"""Bad input through the embedded client: refused with the documented error, and nothing changes.

Every refusal is checked twice: the exception (class and ``exc.code``) and a snapshot of
everything a user can see — the session list with message counts and every file under the
caller's tree, the agent tree and the shared resources, with their contents — taken before and
after the call.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import skald as ov
from skald_core.store.sqlite import SQLiteStore

Action = Callable[[ov.OpenViking], Any]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[ov.OpenViking]:
    """A client holding one committed session, a live message, a session file and a memory."""
    with ov.OpenViking(path=tmp_path) as c:
        c.add_message("s1", "user", "My name is Ada.")
        c.add_message("s1", "assistant", "Nice to meet you, Ada.")
        c.commit_session("s1", wait=True)
        c.add_message("s1", "user", "Still here.")
        c.write("viking://session/s1/notes.md", "session notes", mode="create")
        c.write("viking://user/default/memories/notes.md", "my notes", mode="create")
        c.write("viking://resources/guide.md", "shared guide", mode="create")
        yield c


def snapshot(client: ov.OpenViking) -> tuple[list[tuple[str, int]], dict[str, str | None]]:
    sessions = [(s["session_id"], s["message_count"]) for s in client.list_sessions()]
    files: dict[str, str | None] = {}
    for root in ("viking://user/default", "viking://agent", "viking://resources"):
        for node in client.ls(root, recursive=True):
            files[node["uri"]] = None if node["isDir"] else client.read(node["uri"])
    return sessions, files


def assert_refused_without_change(
    client: ov.OpenViking, action: Action, error: type[ov.SkaldError], code: str
) -> ov.SkaldError:
    before = snapshot(client)

    with pytest.raises(error) as caught:
        action(client)

    assert caught.value.code == code
    assert snapshot(client) == before
    return caught.value


def test_the_snapshot_sees_what_the_fixture_wrote(client: ov.OpenViking) -> None:
    sessions, files = snapshot(client)

    assert sessions == [("s1", 1)]
    assert files["viking://user/default/sessions/s1/notes.md"] == "session notes"
    assert files["viking://user/default/memories/notes.md"] == "my notes"
    assert files["viking://user/default/memories/profile/name.md"] == "The user's name is Ada."
    assert files["viking://resources/guide.md"] == "shared guide"


# ---------------------------------------------------------------------------- messages

INVALID_MESSAGES: dict[str, Action] = {
    "empty role": lambda c: c.add_message("s1", "", "hi"),
    "blank role": lambda c: c.add_message("s1", "   ", "hi"),
    "role with a control character": lambda c: c.add_message("s1", "us\x00er", "hi"),
    "neither content nor parts": lambda c: c.add_message("s1", "user"),
    "part without a type": lambda c: c.add_message("s1", "user", parts=[{"text": "untagged"}]),
    "part with an empty type": lambda c: c.add_message("s1", "user", parts=[{"type": ""}]),
    "part that is not an object": lambda c: c.add_message("s1", "user", parts=["text"]),
    "text part without text": lambda c: c.add_message("s1", "user", parts=[{"type": "text"}]),
    "tool part without tool_id": lambda c: c.add_message(
        "s1", "assistant", parts=[{"type": "tool", "tool_name": "search"}]
    ),
    "tool part with an empty tool_id": lambda c: c.add_message(
        "s1", "assistant", parts=[{"type": "tool", "tool_id": ""}]
    ),
    "created_at that is not a timestamp": lambda c: c.add_message(
        "s1", "user", "hi", created_at="yesterday"
    ),
    "unknown message_kind": lambda c: c.add_message("s1", "user", "hi", message_kind="gossip"),
    "bad message into a new session": lambda c: c.add_message("new-session", ""),
    "batch with one bad message": lambda c: c.batch_add_messages(
        "s1", [{"role": "user", "content": "fine"}, {"role": "user"}]
    ),
    "batch with a bad message into a new session": lambda c: c.batch_add_messages(
        "new-session", [{"role": "user", "content": "fine"}, {"role": ""}]
    ),
    "batch over 100 messages": lambda c: c.batch_add_messages(
        "s1", [{"role": "user", "content": "x"}] * 101
    ),
}


@pytest.mark.parametrize("action", INVALID_MESSAGES.values(), ids=INVALID_MESSAGES.keys())
def test_invalid_messages_are_refused(client: ov.OpenViking, action: Action) -> None:
    err = assert_refused_without_change(client, action, ov.InvalidArgumentError, "INVALID_ARGUMENT")

    assert err.details.get("validation_errors") or err.details.get("field")


def test_a_refused_message_names_the_field_in_its_validation_errors(
    client: ov.OpenViking,
) -> None:
    err = assert_refused_without_change(
        client, lambda c: c.add_message("s1", "", "hi"), ov.InvalidArgumentError, "INVALID_ARGUMENT"
    )

    assert err.details["validation_errors"] == [
        {"loc": ["body", "role"], "message": "must not be empty", "type": "value_error"}
    ]


@pytest.mark.parametrize(
    "uri",
    [
        "viking://user/default/../bob/memories/secret.md",
        "viking://session/../../etc/passwd",
        "viking://user/default//memories/x.md",
        "https://example.com/x",
        "viking://user/default/memories/\x07bell.md",
    ],
)
def test_a_context_part_with_an_escaping_uri_is_refused(client: ov.OpenViking, uri: str) -> None:
    part = {"type": "context", "uri": uri, "abstract": "a reference"}

    assert_refused_without_change(
        client,
        lambda c: c.add_message("s1", "user", parts=[part]),
        ov.InvalidURIError,
        "INVALID_URI",
    )


@pytest.mark.parametrize("role", ["banana", "system", "tool", "Narrator #2"])
def test_unknown_roles_are_accepted_and_stored_as_given(client: ov.OpenViking, role: str) -> None:
    result = client.add_message("s1", role, "peel me")

    assert result["message_count"] == 2
    stored = client.session("s1").messages[-1]
    assert (stored.role, stored.parts) == (role, [ov.TextPart(text="peel me")])


# ---------------------------------------------------------------------------- ids

BAD_IDS = {
    "empty": "",
    "slash": "a/b",
    "backslash": "a\\b",
    "NUL": "a\x00b",
    "newline": "a\nb",
    "C1 control": "a\x85b",
    "129 characters": "x" * 129,
    "dot-dot": "..",
    "dot": ".",
    "padded": " s1 ",
}

ID_OPERATIONS: dict[str, Callable[[ov.OpenViking, str], Any]] = {
    "add_message": lambda c, sid: c.add_message(sid, "user", "hi"),
    "batch_add_messages": lambda c, sid: c.batch_add_messages(
        sid, [{"role": "user", "content": "hi"}]
    ),
    "get_session": lambda c, sid: c.get_session(sid),
    "get_session auto_create": lambda c, sid: c.get_session(sid, auto_create=True),
    "session": lambda c, sid: c.session(sid),
    "commit_session": lambda c, sid: c.commit_session(sid),
    "delete_session": lambda c, sid: c.delete_session(sid),
    "delete_session missing_ok": lambda c, sid: c.delete_session(sid, missing_ok=True),
}


@pytest.mark.parametrize("operation", ID_OPERATIONS.values(), ids=ID_OPERATIONS.keys())
@pytest.mark.parametrize("bad_id", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_bad_session_ids_are_refused(
    client: ov.OpenViking, bad_id: str, operation: Callable[[ov.OpenViking, str], Any]
) -> None:
    err = assert_refused_without_change(
        client, lambda c: operation(c, bad_id), ov.InvalidArgumentError, "INVALID_ARGUMENT"
    )

    assert err.details["field"] == "session_id"


@pytest.mark.parametrize(
    "bad_id", [v for v in BAD_IDS.values() if v], ids=[k for k, v in BAD_IDS.items() if v]
)
def test_creating_a_session_with_a_bad_id_is_refused(client: ov.OpenViking, bad_id: str) -> None:
    assert_refused_without_change(
        client, lambda c: c.create_session(bad_id), ov.InvalidArgumentError, "INVALID_ARGUMENT"
    )


def test_the_longest_allowed_id_is_accepted(client: ov.OpenViking) -> None:
    longest = "x" * 128

    client.add_message(longest, "user", "hi")

    assert client.get_session(longest)["message_count"] == 1


# ---------------------------------------------------------------------------- URIs

ESCAPING_URIS: list[tuple[str, Action, type[ov.SkaldError], str]] = [
    (
        "write through ..",
        lambda c: c.write("viking://user/default/memories/../../bob/memories/x.md", "x", "create"),
        ov.InvalidURIError,
        "INVALID_URI",
    ),
    (
        "write into another user's tree",
        lambda c: c.write("viking://user/bob/memories/x.md", "x", "create"),
        ov.ForbiddenError,
        "FORBIDDEN",
    ),
    (
        "raw write into another user's tree",
        lambda c: c._viking_fs.write_file("viking://user/bob/sessions/s1/.deleted.json", "{}"),
        ov.ForbiddenError,
        "FORBIDDEN",
    ),
    (
        "read another user's file",
        lambda c: c.read("viking://user/bob/memories/x.md"),
        ov.ForbiddenError,
        "FORBIDDEN",
    ),
    (
        "list another user's tree",
        lambda c: c.ls("viking://user/bob", recursive=True),
        ov.ForbiddenError,
        "FORBIDDEN",
    ),
    (
        "remove another user's tree",
        lambda c: c.rm("viking://user/bob", recursive=True),
        ov.ForbiddenError,
        "FORBIDDEN",
    ),
    (
        "move a memory to another user",
        lambda c: c.mv("viking://user/default/memories/notes.md", "viking://user/bob/notes.md"),
        ov.ForbiddenError,
        "FORBIDDEN",
    ),
    (
        "move a memory out through ..",
        lambda c: c.mv("viking://user/default/memories/notes.md", "viking://resources/../x.md"),
        ov.InvalidURIError,
        "INVALID_URI",
    ),
    (
        "session alias escaping its session",
        lambda c: c.write("viking://session/s1/../s2/x.md", "x", "create"),
        ov.InvalidURIError,
        "INVALID_URI",
    ),
    (
        "tilde escaping the user",
        lambda c: c.mkdir("viking://~/../bob"),
        ov.InvalidURIError,
        "INVALID_URI",
    ),
    (
        "empty segment",
        lambda c: c.write("viking://session/s1//notes.md", "x", "replace"),
        ov.InvalidURIError,
        "INVALID_URI",
    ),
    (
        "dot segment",
        lambda c: c.rm("viking://session/s1/./notes.md"),
        ov.InvalidURIError,
        "INVALID_URI",
    ),
    (
        "control character",
        lambda c: c.write("viking://resources/guide\r.md", "x", "create"),
        ov.InvalidURIError,
        "INVALID_URI",
    ),
    (
        "another scheme",
        lambda c: c.write("file:///etc/passwd", "x", "replace"),
        ov.InvalidURIError,
        "INVALID_URI",
    ),
    (
        "unknown root",
        lambda c: c.write("viking://etc/passwd", "x", "create"),
        ov.InvalidURIError,
        "INVALID_URI",
    ),
    (
        "overwrite a generated session file",
        lambda c: c.write("viking://session/s1/messages.jsonl", "forged", "replace"),
        ov.InvalidArgumentError,
        "INVALID_ARGUMENT",
    ),
    (
        "write into a session that does not exist",
        lambda c: c.write("viking://session/ghost/notes.md", "x", "create"),
        ov.NotFoundError,
        "NOT_FOUND",
    ),
]


@pytest.mark.parametrize(
    ("action", "error", "code"),
    [case[1:] for case in ESCAPING_URIS],
    ids=[case[0] for case in ESCAPING_URIS],
)
def test_uris_that_escape_their_tree_are_refused(
    client: ov.OpenViking, action: Action, error: type[ov.SkaldError], code: str
) -> None:
    assert_refused_without_change(client, action, error, code)


# ---------------------------------------------------------------------------- the database


def test_a_corrupt_database_gives_a_clear_storage_error(tmp_path: Path) -> None:
    garbage = b"this is not a database\n" * 200
    (tmp_path / "skald.db").write_bytes(garbage)

    with pytest.raises(ov.StorageUnavailableError) as caught:
        ov.OpenViking(path=tmp_path)

    err = caught.value
    assert not isinstance(err, sqlite3.Error)
    assert err.code == "UNAVAILABLE" and err.http_status == 503
    assert "corrupt" in err.message and str(tmp_path / "skald.db") in err.message
    assert (tmp_path / "skald.db").read_bytes() == garbage  # the user's file is left alone


def test_a_database_locked_by_another_connection_gives_a_storage_error(tmp_path: Path) -> None:
    client = ov.OpenViking(store=SQLiteStore(tmp_path, busy_timeout_ms=100))
    client.add_message("s1", "user", "before the lock")
    locker = sqlite3.connect(tmp_path / "skald.db", isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        started = time.monotonic()

        with pytest.raises(ov.StorageUnavailableError) as caught:
            client.add_message("s1", "user", "during the lock")

        assert time.monotonic() - started < 5
        assert caught.value.code == "UNAVAILABLE"
        assert "locked" in caught.value.message
        with pytest.raises(ov.StorageUnavailableError):
            SQLiteStore(tmp_path, busy_timeout_ms=100)  # opening waits for the lock too
        locker.execute("ROLLBACK")

        assert client.get_session("s1")["message_count"] == 1
        client.add_message("s1", "user", "after the lock")
        assert [m.parts[0].text for m in client.session("s1").messages] == [
            "before the lock",
            "after the lock",
        ]
    finally:
        locker.close()
        client.close()
