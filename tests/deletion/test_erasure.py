"""User erasure (issue 5, point 6): a unique marker written into a user's messages (live, archived
and trashed), a caller file, a session file and a memory; the user is erased; then

* nothing of that user is readable by any route: sessions (also with ``include_deleted``),
  files, memories, tasks by id; the user's own key stops working; other users keep their data;
* no file of the data directory (``skald.db``, ``-wal``, ``-shm``) holds the marker's bytes —
  checked once the client is closed or the server stopped (and, for the embedded client, also
  while it is still open);
* only root or an admin of the account may erase (403 for a user key and for an admin of
  another account); the audit row of the erasure survives and holds no marker.

Embedded here, and through a real ``skald serve`` process with an admin key; the in-process app
with a root key is in ``tests/server/test_erasure_api.py``.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from support.server import mint_key, running_skald

import skald

ROOT_KEY = "erasure-root-key-for-tests"


def new_marker() -> str:
    return "zqxj" + uuid.uuid4().hex[:12]


def files_holding(data: Path, marker: str) -> list[str]:
    """Every file under the data directory whose bytes contain the marker."""
    needle = marker.encode()
    return sorted(p.name for p in data.rglob("*") if p.is_file() and needle in p.read_bytes())


def plant(client: Any, user: str, marker: str) -> dict[str, str]:
    """The marker in every kind of place a user's data lives; returns where to look for it."""
    client.add_message("s1", "user", f"I love {marker} tea.")
    client.add_message("s1", "assistant", f"Noted: {marker}.")
    task_id = client.commit_session("s1", wait=True)["task_id"]  # archive + a memory
    client.add_message("s1", "user", f"Still {marker}.")  # a live message too
    client.add_message("s2", "user", f"Trash {marker}.")
    client.delete_session("s2", mode="soft")
    resource = f"viking://user/{user}/resources/cv.md"
    client.write(resource, f"CV of {marker}", mode="create")
    notes = "viking://session/s1/notes.md"
    client.write(notes, f"notes on {marker}", mode="create")
    (memory,) = [
        n["uri"]
        for n in client.ls(f"viking://user/{user}/memories", recursive=True)
        if not n["isDir"]
    ]
    assert marker in memory and marker in client.read(memory)
    return {"task": task_id, "resource": resource, "notes": notes, "memory": memory}


def assert_nothing_readable(client: Any, user: str, planted: dict[str, str]) -> None:
    assert client.list_sessions(include_deleted=True) == []
    assert client.list_sessions() == []
    for sid in ("s1", "s2"):
        assert not client.session_exists(sid)
        with pytest.raises(skald.NotFoundError):
            client.get_session(sid)
        with pytest.raises(skald.NotFoundError):
            client.restore_session(sid)
        with pytest.raises(skald.NotFoundError):
            client.get_session_context(sid)
    for uri in (planted["resource"], planted["notes"], planted["memory"]):
        with pytest.raises(skald.NotFoundError):
            client.read(uri)
    for tree in ("memories", "resources", "sessions"):
        nodes = client.ls(f"viking://user/{user}/{tree}", recursive=True)
        assert [n for n in nodes if not n["isDir"]] == [], nodes
    assert client.get_task(planted["task"]) is None


def assert_audited(entries: list[dict[str, Any]], user: str, marker: str) -> None:
    (entry,) = [e for e in entries if e["action"] == "erase_user" and e["user_id"] == user]
    assert entry["counts"]["sessions"] == 2 and entry["counts"]["memories"] == 1
    assert marker not in repr(entries)


ERASED = {
    "sessions": 2,
    "messages": 4,
    "archives": 1,
    "files": 2,  # the resource and the session's notes
    "memories": 1,
    "tasks": 1,
}


def test_embedded_erasure_leaves_no_byte_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    marker = new_marker()
    with skald.OpenViking(path=data) as client:
        planted = plant(client, "default", marker)
        assert files_holding(data, marker), "control: the marker is on disk before erasure"

        result = client.erase_user("default")

        assert {k: result["deleted"][k] for k in ERASED} == ERASED
        assert_nothing_readable(client, "default", planted)
        assert_audited(client.list_audit(action="erase_user"), "default", marker)
        assert client.services.store.check_integrity() == []
        assert files_holding(data, marker) == [], "the marker is still on disk (client open)"
    assert files_holding(data, marker) == [], "the marker is still on disk (client closed)"


@pytest.mark.timeout(300)  # a hang guard
def test_erasure_by_an_admin_key_through_a_real_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    marker = new_marker()
    account = "acme"
    with running_skald(data, root_api_key=ROOT_KEY) as server:

        def key(acct: str, user: str, role: str = "user") -> str:
            return mint_key(data, acct, user, role)

        def as_(api_key: str, **kw: Any) -> skald.SyncHTTPClient:
            return skald.SyncHTTPClient(url=server.url, api_key=api_key, **kw)

        alice_key = key(account, "alice")
        admin_key = key(account, "boss", "admin")
        with (
            as_(alice_key) as alice,
            as_(key(account, "bob")) as bob,
            as_(admin_key) as admin,
            as_(admin_key, user="alice") as admin_as_alice,
            as_(key("other", "carol", "admin")) as foreign_admin,
        ):
            planted = plant(alice, "alice", marker)
            bob.add_message("b1", "user", "Bob's own conversation.")
            bob.write("viking://user/bob/resources/mine.md", "bob's file", mode="create")

            # Who may not erase, or read the audit log.
            with pytest.raises(skald.ForbiddenError):
                alice.erase_user("alice", account=account)
            with pytest.raises(skald.ForbiddenError):
                bob.erase_user("alice", account=account)
            with pytest.raises(skald.ForbiddenError):
                foreign_admin.erase_user("alice", account=account)
            with pytest.raises(skald.ForbiddenError):
                bob.list_audit()
            assert alice.list_sessions(include_deleted=True)  # nothing happened yet

            # The client cannot know its key's account: name it (else it means "default").
            result = admin.erase_user("alice", account=account)

            assert {k: result["deleted"][k] for k in ERASED} == ERASED
            assert result["deleted"]["keys"] == 1
            assert_nothing_readable(admin_as_alice, "alice", planted)
            with pytest.raises(skald.UnauthenticatedError):
                alice.list_sessions()  # her key went with her
            assert [s["session_id"] for s in bob.list_sessions()] == ["b1"]
            assert bob.read("viking://user/bob/resources/mine.md") == "bob's file"
            assert_audited(admin.list_audit(action="erase_user"), "alice", marker)
            with as_(ROOT_KEY) as root:
                assert_audited(root.list_audit(account=account), "alice", marker)
    assert files_holding(data, marker) == [], "the marker is still on disk after the server"
