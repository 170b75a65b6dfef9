"""The deletion routes of issue 5 over HTTP: restore, batch delete, cleanup, user erasure and the
audit log — envelopes, status codes, validation, read-only keys, cross-tenant isolation and who
may see the audit log; and an erasure by a root key that leaves no byte of the user on disk."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from skald_server.app import build_services, create_app
from skald_server.config import ServerConfig

from .conftest import ROOT_KEY, Server
from .helpers import Caller, assert_error, assert_not_found, assert_ok

SESSIONS = "/api/v1/sessions"
BATCH = f"{SESSIONS}/batch-delete"
CLEANUP = f"{SESSIONS}/cleanup"
AUDIT = "/api/v1/audit"
RESULT_KEYS = {"deleted", "not_found", "forbidden", "failed"}
AUDIT_KEYS = {
    "id",
    "at",
    "actor",
    "action",
    "account_id",
    "user_id",
    "session_id",
    "counts",
    "key_id",
}


def of_sessions(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit entries about sessions (not the key creations the test setup made)."""
    return [e for e in entries if e["key_id"] is None]


def erase(account: str, user: str) -> str:
    return f"/api/v1/admin/accounts/{account}/users/{user}"


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["session_id"] for i in items]


def listed(c: Caller, *, include_deleted: bool = False) -> list[str]:
    params = {"include_deleted": "true"} if include_deleted else {}
    return ids(assert_ok(c.get(SESSIONS, params=params)))


# ------------------------------------------------------------------------------------ restore
def test_restore_answers_the_session_meta(client: Caller) -> None:
    client.add("s1", "hello")
    assert_ok(client.delete(f"{SESSIONS}/s1", params={"mode": "soft"}))

    meta = assert_ok(client.post(f"{SESSIONS}/s1/restore"))

    assert meta["session_id"] == "s1" and meta["message_count"] == 1
    assert listed(client) == ["s1"]


def test_restore_errors(client: Caller) -> None:
    assert_not_found(client.post(f"{SESSIONS}/ghost/restore"), "session", "ghost")
    client.add("live", "x")
    assert_error(
        client.post(f"{SESSIONS}/live/restore"),
        412,
        "FAILED_PRECONDITION",
        {"reason": "not_deleted"},
    )
    assert_error(client.post(f"{SESSIONS}/{'x' * 129}/restore"), 400, "INVALID_ARGUMENT")
    assert_ok(client.delete(f"{SESSIONS}/live", params={"mode": "soft"}))
    assert_ok(client.delete(f"{SESSIONS}/live"))  # purged
    assert_not_found(client.post(f"{SESSIONS}/live/restore"), "session", "live")


def test_a_trashed_id_refuses_appends_and_creation(client: Caller) -> None:
    client.add("s1", "x")
    assert_ok(client.delete(f"{SESSIONS}/s1", params={"mode": "soft"}))
    assert_error(
        client.post(f"{SESSIONS}/s1/messages", json={"role": "user", "content": "y"}),
        412,
        "FAILED_PRECONDITION",
        {"reason": "soft_deleted"},
    )
    assert_error(
        client.post(SESSIONS, json={"session_id": "s1"}),
        409,
        "ALREADY_EXISTS",
        {"reason": "in_trash"},
    )


# ------------------------------------------------------------------------------------ delete
@pytest.mark.parametrize("mode", ["bogus", "HARD", ""])
def test_delete_with_a_bad_mode_is_400(client: Caller, mode: str) -> None:
    client.add("s1", "x")
    assert_error(client.delete(f"{SESSIONS}/s1", params={"mode": mode}), 400, "INVALID_ARGUMENT")
    assert listed(client) == ["s1"]


def test_soft_delete_cannot_forget_memories(client: Caller) -> None:
    client.add("s1", "x")
    resp = client.delete(f"{SESSIONS}/s1", params={"mode": "soft", "forget_memories": "true"})
    assert_error(resp, 400, "INVALID_ARGUMENT", {"field": "forget_memories"})


def test_commit_first_over_http(client: Caller) -> None:
    client.add("s1", "I love hiking.")
    receipt = assert_ok(client.delete(f"{SESSIONS}/s1", params={"commit_first": "true"}))
    assert receipt["deleted"]["archives"] == 1 and receipt["kept"]["memories"] == 1
    assert listed(client, include_deleted=True) == []


# ------------------------------------------------------------------------------------ batch
def test_batch_delete_envelope_and_per_id_outcome(client: Caller) -> None:
    for sid in ("a", "b", "keep"):
        client.add(sid, "x")
    assert_ok(client.delete(f"{SESSIONS}/b", params={"mode": "soft"}))  # trashed ones purge too

    result = assert_ok(client.post(BATCH, json={"session_ids": ["a", "ghost", "b", "a", "b/c"]}))

    assert set(result) == RESULT_KEYS
    assert ids(result["deleted"]) == ["a", "b"]
    assert {r["mode"] for r in result["deleted"]} == {"hard"}
    assert result["not_found"] == ["ghost", "a"]  # the second "a" was already gone
    assert result["forbidden"] == []
    (failure,) = result["failed"]
    assert failure["session_id"] == "b/c" and failure["code"] == "INVALID_ARGUMENT"
    assert failure["message"]
    assert listed(client, include_deleted=True) == ["keep"]


def test_batch_soft_delete_and_require_committed(client: Caller) -> None:
    client.add("committed", "x")
    client.commit("committed", wait=True)
    client.add("pending", "x")

    result = assert_ok(
        client.post(
            BATCH,
            json={
                "session_ids": ["committed", "pending"],
                "mode": "soft",
                "require_committed": True,
            },
        )
    )

    assert ids(result["deleted"]) == ["committed"] and result["deleted"][0]["mode"] == "soft"
    (failure,) = result["failed"]
    assert failure["session_id"] == "pending" and failure["code"] == "FAILED_PRECONDITION"
    assert listed(client) == ["pending"]
    assert sorted(listed(client, include_deleted=True)) == ["committed", "pending"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"session_ids": [f"s{i}" for i in range(1001)]}, "session_ids"),
        ({"session_ids": []}, "session_ids"),
        ({}, "session_ids"),
        ({"session_ids": "s1"}, "session_ids"),
        ({"session_ids": ["s1"], "mode": "bogus"}, "mode"),
        ({"session_ids": ["s1"], "commit_first": "yes"}, "commit_first"),
    ],
)
def test_batch_delete_validation(client: Caller, body: dict[str, Any], field: str) -> None:
    client.add("s1", "x")
    err = assert_error(client.post(BATCH, json=body), 400, "INVALID_ARGUMENT")
    assert field in repr(err)
    assert listed(client) == ["s1"]


def test_batch_delete_of_a_thousand_ids_is_accepted(client: Caller) -> None:
    client.add("s999", "x")
    result = assert_ok(client.post(BATCH, json={"session_ids": [f"s{i}" for i in range(1000)]}))
    assert ids(result["deleted"]) == ["s999"] and len(result["not_found"]) == 999


def test_batch_delete_with_broken_json_is_400(client: Caller) -> None:
    resp = client.post(BATCH, content=b"{not json", headers={"Content-Type": "application/json"})
    assert_error(resp, 400, "INVALID_ARGUMENT")


# ------------------------------------------------------------------------------------ cleanup
def test_cleanup_dry_run_then_delete_by_age(client: Caller, shared_dev: Server) -> None:
    sid_old, sid_new = f"old-{uuid.uuid4().hex[:8]}", f"new-{uuid.uuid4().hex[:8]}"
    with shared_dev.clock.days_ago(40):
        assert_ok(client.post(SESSIONS, json={"session_id": sid_old}))
    client.add(sid_old, "x")  # created 40 days ago, active today: created_at is what counts
    client.add(sid_new, "x")

    dry = assert_ok(client.post(CLEANUP, json={"older_than_days": 30, "dry_run": True}))
    assert dry["dry_run"] is True and dry["by"] == "created_at" and dry["cutoff"]
    assert ids(dry["matched"]) == [sid_old] and dry["matched"][0]["message_count"] == 1
    assert dry["deleted"] == [] and dry["failed"] == []
    assert sorted(listed(client)) == sorted([sid_old, sid_new])

    done = assert_ok(client.post(CLEANUP, json={"older_than_days": 30}))
    assert done["dry_run"] is False and ids(done["deleted"]) == [sid_old]
    assert listed(client, include_deleted=True) == [sid_new]


def test_cleanup_by_updated_at_in_soft_mode(client: Caller, shared_dev: Server) -> None:
    sid = f"idle-{uuid.uuid4().hex[:8]}"
    with shared_dev.clock.days_ago(10):
        client.add(sid, "x")
        assert_ok(client.post(SESSIONS, json={"session_id": "busy"}))
    client.add("busy", "x")  # as old as the idle one, but active today

    result = assert_ok(
        client.post(CLEANUP, json={"older_than_days": 5, "by": "updated_at", "mode": "soft"})
    )

    assert ids(result["deleted"]) == [sid] and result["deleted"][0]["mode"] == "soft"
    assert listed(client) == ["busy"]
    assert sorted(listed(client, include_deleted=True)) == sorted(["busy", sid])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"older_than_days": -1}, "older_than_days"),
        ({"older_than_days": -0.001}, "older_than_days"),
        ({"older_than_days": 40_000}, "older_than_days"),
        ({"older_than_days": "soon"}, "older_than_days"),
        ({}, "older_than_days"),
        ({"older_than_days": 1, "by": "deleted_at"}, "by"),
        ({"older_than_days": 1, "mode": "bogus"}, "mode"),
    ],
)
def test_cleanup_validation(client: Caller, body: dict[str, Any], field: str) -> None:
    err = assert_error(client.post(CLEANUP, json=body), 400, "INVALID_ARGUMENT")
    assert field in repr(err)


# ------------------------------------------------------------------------------------ read-only
@pytest.fixture
def ro(shared_api: Server, account: str) -> tuple[Caller, Caller]:
    """(read-write, read-only) callers of user ``u``: ``live`` and ``trashed`` sessions."""
    rw = shared_api.caller(shared_api.mint(account, "u"))
    rw.add("live", "x")
    rw.add("trashed", "x")
    assert_ok(rw.delete(f"{SESSIONS}/trashed", params={"mode": "soft"}))
    return rw, shared_api.caller(shared_api.mint(account, "u", read_only=True))


MUTATIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("DELETE", f"{SESSIONS}/live", {}),
    ("DELETE", f"{SESSIONS}/live", {"params": {"mode": "soft"}}),
    ("DELETE", f"{SESSIONS}/live", {"params": {"commit_first": "true"}}),
    ("DELETE", f"{SESSIONS}/trashed", {}),
    ("POST", f"{SESSIONS}/trashed/restore", {}),
    ("POST", BATCH, {"json": {"session_ids": ["live", "trashed"]}}),
    ("POST", CLEANUP, {"json": {"older_than_days": 0}}),
    ("POST", CLEANUP, {"json": {"older_than_days": 0, "dry_run": True}}),
    ("DELETE", erase("{account}", "u"), {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), MUTATIONS)
def test_read_only_key_gets_403_on_every_deletion_route(
    ro: tuple[Caller, Caller], account: str, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    rw, reader = ro
    resp = reader.request(method, path.format(account=account), **kwargs)
    assert_error(resp, 403, "FORBIDDEN", {"reason": "read_only"})
    assert listed(rw) == ["live"]
    assert sorted(listed(rw, include_deleted=True)) == ["live", "trashed"]


def test_read_only_admin_cannot_erase(shared_api: Server, account: str) -> None:
    shared_api.caller(shared_api.mint(account, "u")).add("s1", "x")
    reader = shared_api.caller(shared_api.mint(account, "boss", "admin", read_only=True))
    assert_error(reader.delete(erase(account, "u")), 403, "FORBIDDEN", {"reason": "read_only"})
    audit = assert_ok(reader.get(AUDIT))  # reading the audit log is fine
    assert {e["action"] for e in audit} == {"create_key"}  # the two keys minted, no erasure


# ------------------------------------------------------------------------------------ tenants
def test_user_b_cannot_touch_user_a_sessions(shared_api: Server, account: str) -> None:
    a = shared_api.caller(shared_api.mint(account, "alice"))
    b = shared_api.caller(shared_api.mint(account, "bob"))
    a.add("live", "alice's")
    a.add("trashed", "alice's")
    assert_ok(a.delete(f"{SESSIONS}/trashed", params={"mode": "soft"}))

    assert_not_found(b.delete(f"{SESSIONS}/live"), "session", "live")
    assert_not_found(b.delete(f"{SESSIONS}/live", params={"mode": "soft"}), "session", "live")
    assert_not_found(b.delete(f"{SESSIONS}/trashed"), "session", "trashed")
    assert_not_found(b.post(f"{SESSIONS}/trashed/restore"), "session", "trashed")
    result = assert_ok(b.post(BATCH, json={"session_ids": ["live", "trashed"]}))
    assert result["deleted"] == [] and result["not_found"] == ["live", "trashed"]
    swept = assert_ok(b.post(CLEANUP, json={"older_than_days": 0}))
    assert swept["matched"] == [] and swept["deleted"] == []
    assert listed(b, include_deleted=True) == []
    assert_error(b.delete(erase(account, "alice")), 403, "FORBIDDEN")

    assert listed(a) == ["live"]
    assert sorted(listed(a, include_deleted=True)) == ["live", "trashed"]
    assert a.meta("live")["message_count"] == 1


# ------------------------------------------------------------------------------------ erasure
def test_erase_route_permissions_and_result(shared_api: Server, account: str) -> None:
    other = account + "-other"
    alice_key = shared_api.mint(account, "alice")
    alice = shared_api.caller(alice_key)
    alice.add("s1", "My name is Alice.")
    alice.commit("s1", wait=True)
    path = erase(account, "alice")

    for key in (
        alice_key,
        shared_api.mint(account, "bob"),
        shared_api.mint(other, "boss", "admin"),
    ):
        assert_error(shared_api.caller(key).delete(path), 403, "FORBIDDEN")
    assert alice.meta("s1")["total_message_count"] == 1

    admin = shared_api.caller(shared_api.mint(account, "boss", "admin"))
    result = assert_ok(admin.delete(path))
    assert result == {
        "account_id": account,
        "user_id": "alice",
        "deleted": {
            "sessions": 1,
            "messages": 1,
            "archives": 1,
            "files": 0,
            "memories": 1,
            "tasks": 1,
            "keys": 1,
        },
    }
    assert_error(alice.get(SESSIONS), 401, "UNAUTHENTICATED")
    again = assert_ok(shared_api.root.delete(path))  # nothing left: zero counts, still 200
    assert set(again["deleted"].values()) == {0}
    assert_error(shared_api.root.delete(erase(account, "x" * 129)), 400, "INVALID_ARGUMENT")


def test_erasure_by_root_leaves_no_byte_on_disk(tmp_path: Path) -> None:
    """Root erases a user of an account through the app; once the app stopped, no file of the
    data directory holds the marker that was in the user's messages, files and memories."""
    marker = "zqxj" + uuid.uuid4().hex[:12]
    data = tmp_path / "data"
    config = ServerConfig(path=str(data), root_api_key=ROOT_KEY, task_poll_seconds=0.05)
    services = build_services(config)
    with TestClient(create_app(config, services=services)) as http:
        root = Caller(http, {"X-API-Key": ROOT_KEY, "X-OpenViking-Account": "acme"})
        alice = Caller(http, {**root.headers, "X-OpenViking-User": "alice"})
        bob = Caller(http, {**root.headers, "X-OpenViking-User": "bob"})
        alice.add("s1", f"I love {marker} tea.")
        task_id = alice.commit("s1", wait=True)["task_id"]
        alice.add("s1", f"Still {marker}.")
        alice.add("s2", f"Trash {marker}.")
        assert_ok(alice.delete(f"{SESSIONS}/s2", params={"mode": "soft"}))
        alice.write("viking://user/alice/resources/cv.md", f"CV of {marker}")
        memory = f"viking://user/alice/memories/preferences/likes-{marker}-tea.md"
        assert marker in alice.read(memory)
        bob.add("b1", "bob's")

        result = assert_ok(root.delete(erase("acme", "alice")))

        assert result["deleted"]["sessions"] == 2 and result["deleted"]["memories"] == 1
        assert listed(alice, include_deleted=True) == []
        for sid in ("s1", "s2"):
            assert_not_found(alice.get(f"{SESSIONS}/{sid}"), "session", sid)
        for uri in ("viking://user/alice/resources/cv.md", memory):
            assert_error(alice.get("/api/v1/content/read", params={"uri": uri}), 404, "NOT_FOUND")
        assert_not_found(alice.get(f"/api/v1/tasks/{task_id}"), "task", task_id)
        nodes = assert_ok(
            alice.get("/api/v1/fs/ls", params={"uri": "viking://user/alice", "recursive": "true"})
        )
        assert [n for n in nodes if not n["isDir"]] == []
        assert listed(bob) == ["b1"]
        audit = assert_ok(root.get(AUDIT, params={"action": "erase_user"}))
        assert [(e["account_id"], e["user_id"]) for e in audit] == [("acme", "alice")]
        assert marker not in repr(audit)
    holding = [p.name for p in data.rglob("*") if p.is_file() and marker.encode() in p.read_bytes()]
    assert holding == []


# ------------------------------------------------------------------------------------ audit
def test_audit_visibility(shared_api: Server, account: str) -> None:
    other = account + "-other"
    for acct in (account, other):
        user = shared_api.caller(shared_api.mint(acct, "u"))
        user.add("s1", "secret words")
        assert_ok(user.delete(f"{SESSIONS}/s1", params={"mode": "soft"}))
        assert_ok(user.post(f"{SESSIONS}/s1/restore"))
        assert_ok(user.delete(f"{SESSIONS}/s1"))
    admin = shared_api.caller(shared_api.mint(account, "boss", "admin"))
    user = shared_api.caller(shared_api.mint(account, "u"))

    everything = assert_ok(admin.get(AUDIT))
    assert {e["action"] for e in everything if e["key_id"]} == {"create_key"}  # minted above
    entries = of_sessions(everything)
    assert [e["action"] for e in entries] == ["delete", "restore", "soft_delete"]
    assert all(set(e) == AUDIT_KEYS and e["account_id"] == account for e in entries)
    actor = entries[0]["actor"]
    assert (actor["account_id"], actor["role"]) == (account, "user")
    assert actor["user_id"] == "u" or f"{account}/u" in actor["user_id"]  # may name the key
    assert entries[0]["session_id"] == "s1" and entries[0]["counts"]["messages"] == 1
    assert "secret" not in repr(entries)
    assert assert_ok(admin.get(AUDIT, params={"account": account})) == everything
    assert_error(admin.get(AUDIT, params={"account": other}), 403, "FORBIDDEN")
    assert_error(user.get(AUDIT), 403, "FORBIDDEN")
    assert_error(user.get(AUDIT, params={"account": account}), 403, "FORBIDDEN")

    root = shared_api.root
    both = {e["account_id"] for e in assert_ok(root.get(AUDIT, params={"limit": 1000}))}
    assert {account, other} <= both
    theirs = of_sessions(assert_ok(root.get(AUDIT, params={"account": other})))
    assert [e["action"] for e in theirs] == ["delete", "restore", "soft_delete"]
    page = assert_ok(root.get(AUDIT, params={"account": other, "limit": 1}))
    older = assert_ok(
        root.get(AUDIT, params={"account": other, "before": page[0]["id"], "action": "restore"})
    )
    assert [e["action"] for e in older] == ["restore"]


@pytest.mark.parametrize("limit", ["0", "1001", "x"])
def test_audit_bad_limit_is_400(shared_api: Server, limit: str) -> None:
    assert_error(shared_api.root.get(AUDIT, params={"limit": limit}), 400, "INVALID_ARGUMENT")
