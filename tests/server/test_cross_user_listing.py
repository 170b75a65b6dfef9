"""Issue 16 item 8: root and admins list every user's sessions (``GET /api/v1/sessions?user=*``,
root also ``?account=*``); a user key gets 403 and never sees anyone else's."""

from __future__ import annotations

import uuid
from typing import Any

from .conftest import Server
from .helpers import assert_error, assert_ok

LIST = "/api/v1/sessions"


def _arrange(server: Server, account: str) -> tuple[Any, Any, Any, str]:
    alice = server.caller(server.mint(account, "alice"))
    bob = server.caller(server.mint(account, "bob"))
    admin = server.caller(server.mint(account, "boss", "admin"))
    other = "acct-" + uuid.uuid4().hex[:12]
    carol = server.caller(server.mint(other, "carol"))
    for caller, sid in ((alice, "a1"), (bob, "b1"), (alice, "a2"), (carol, "c1")):
        caller.add(sid, "hello")
    return alice, bob, admin, other


def _owned(rows: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(r["account"], r["user"], r["session_id"]) for r in rows}


def test_a_user_key_cannot_list_other_users(shared_api: Server, account: str) -> None:
    alice, _, _, _ = _arrange(shared_api, account)
    assert_error(alice.get(LIST, params={"user": "*"}), 403, "FORBIDDEN")
    assert_error(alice.get(LIST, params={"account": "*"}), 403, "FORBIDDEN")
    mine = assert_ok(alice.get(LIST))
    assert sorted(r["session_id"] for r in mine) == ["a1", "a2"]
    assert all("user" not in r for r in mine)  # the owner is named only in cross-user lists


def test_an_admin_lists_every_user_of_its_account_only(shared_api: Server, account: str) -> None:
    _, _, admin, other = _arrange(shared_api, account)
    rows = assert_ok(admin.get(LIST, params={"user": "*"}))
    assert _owned(rows) == {
        (account, "alice", "a1"),
        (account, "alice", "a2"),
        (account, "bob", "b1"),
    }
    assert {r["uri"] for r in rows} >= {"viking://user/bob/sessions/b1"}
    assert_error(admin.get(LIST, params={"account": "*"}), 403, "FORBIDDEN")
    # Another account's header is refused as for every route.
    assert_error(
        admin.get(LIST, params={"user": "*"}, headers={"X-OpenViking-Account": other}),
        403,
        "FORBIDDEN",
    )


def test_root_lists_an_account_or_every_account(shared_api: Server, account: str) -> None:
    _, _, _, other = _arrange(shared_api, account)
    root = shared_api.root
    # Without identity headers root is default/default and lists that user's (none of ours).
    assert not any(r["session_id"] in ("a1", "b1") for r in assert_ok(root.get(LIST)))
    rows = assert_ok(
        root.get(LIST, params={"user": "*"}, headers={"X-OpenViking-Account": account})
    )
    assert _owned(rows) == {
        (account, "alice", "a1"),
        (account, "alice", "a2"),
        (account, "bob", "b1"),
    }
    everyone = _owned(assert_ok(root.get(LIST, params={"account": "*", "limit": 1000})))
    assert {(account, "bob", "b1"), (other, "carol", "c1")} <= everyone


def test_cross_user_pages_visit_each_session_once(shared_api: Server, account: str) -> None:
    _, _, admin, _ = _arrange(shared_api, account)
    seen: list[tuple[str, str, str]] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"user": "*", "limit": 1, "order": "asc"}
        if cursor:
            params["cursor"] = cursor
        page = assert_ok(admin.get(LIST, params=params))
        if not page:
            break
        seen += [(r["account"], r["user"], r["session_id"]) for r in page]
        cursor = f"{page[-1]['user']}/{page[-1]['session_id']}"
    assert [s[2] for s in seen] == ["a1", "b1", "a2"]
    assert_error(admin.get(LIST, params={"user": "*", "cursor": "a1"}), 400, "INVALID_ARGUMENT")


def test_only_star_is_accepted(shared_api: Server, account: str) -> None:
    _, _, admin, _ = _arrange(shared_api, account)
    assert_error(admin.get(LIST, params={"user": "bob"}), 400, "INVALID_ARGUMENT")
