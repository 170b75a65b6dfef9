"""Cross-tenant isolation (contract §3): user B, with its own key in A's account, tries every
session, content and fs route against user A's data.

* By session id, A's session is simply not in B's namespace: 404 NOT_FOUND, A unchanged.
  Routes that auto-create (add message, batch, ``auto_create``, create) act on B's own,
  separate session of the same id and leave A alone.
* By A's canonical URIs (``viking://user/alice/...``): 403 FORBIDDEN, A unchanged.
* By the caller-relative aliases (``viking://session/{id}``, ``viking://~/...``): they resolve
  to B's own tree, where nothing exists: 404.

Each route is its own test case; every case starts from a fresh account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from .conftest import ROOT_KEY, Server
from .helpers import Caller, assert_error, assert_not_found, assert_ok, snapshot

SID = "secret-chat"
A_SESSION = f"viking://user/alice/sessions/{SID}"
A_NOTE = f"{A_SESSION}/notes.md"
A_MEMORY = "viking://user/alice/memories/profile/name.md"
A_RESOURCE = "viking://user/alice/resources/doc.md"
B_FILE = "viking://user/bob/resources/mine.md"


@dataclass
class Tenants:
    server: Server
    account: str
    a: Caller
    b: Caller
    task_id: str

    def a_snapshot(self) -> dict[str, Any]:
        snap = snapshot(self.a, "alice")
        snap["task"] = assert_ok(self.a.get(f"/api/v1/tasks/{self.task_id}"))
        snap["archive"] = assert_ok(self.a.get(f"/api/v1/sessions/{SID}/archives/archive_001"))
        snap["context"] = assert_ok(self.a.get(f"/api/v1/sessions/{SID}/context"))
        return snap


@pytest.fixture
def tenants(shared_api: Server, account: str) -> Tenants:
    a = shared_api.caller(shared_api.mint(account, "alice"))
    b = shared_api.caller(shared_api.mint(account, "bob"))
    a.add(SID, "My name is Alice. I love hiking.")
    a.add(SID, "Nice to meet you, Alice.", role="assistant")
    task_id = a.commit(SID, wait=True)["task_id"]
    assert_ok(
        a.post(
            f"/api/v1/sessions/{SID}/messages",
            json={
                "role": "assistant",
                "parts": [
                    {"type": "tool", "tool_id": "t1", "tool_name": "search", "tool_output": "ok"},
                    {"type": "context", "uri": A_MEMORY, "abstract": "name"},
                ],
            },
        )
    )
    a.add(SID, "still live")
    a.write(A_NOTE, "alice's private note")
    a.write(A_RESOURCE, "alice's document")
    assert "Alice" in a.read(A_MEMORY)
    b.write(B_FILE, "bob's file")
    return Tenants(shared_api, account, a, b, task_id)


def _session_routes(task: str) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, request kwargs, NOT_FOUND type) — every by-id route that must not find A."""
    return [
        ("GET", f"/api/v1/sessions/{SID}", {}, "session"),
        ("GET", f"/api/v1/sessions/{SID}", {"params": {"auto_create": "false"}}, "session"),
        ("GET", f"/api/v1/sessions/{SID}/context", {}, "session"),
        ("GET", f"/api/v1/sessions/{SID}/context", {"params": {"token_budget": 10}}, "session"),
        ("GET", f"/api/v1/sessions/{SID}/archives/archive_001", {}, "session"),
        ("POST", f"/api/v1/sessions/{SID}/commit", {"json": {}}, "session"),
        ("POST", f"/api/v1/sessions/{SID}/commit", {}, "session"),
        ("POST", f"/api/v1/sessions/{SID}/commit", {"json": {"wait": True}}, "session"),
        (
            "POST",
            f"/api/v1/sessions/{SID}/commit",
            {"json": {"keep_recent_count": 1}},
            "session",
        ),
        ("DELETE", f"/api/v1/sessions/{SID}", {}, "session"),
        ("DELETE", f"/api/v1/sessions/{SID}", {"params": {"mode": "hard"}}, "session"),
        (
            "DELETE",
            f"/api/v1/sessions/{SID}",
            {"params": {"require_committed": "true"}},
            "session",
        ),
        ("GET", f"/api/v1/tasks/{task}", {}, "task"),
    ]


SESSION_ROUTE_IDS = [
    f"{m} {p.replace('/api/v1', '')} {k}" for m, p, k, _ in _session_routes("TASK")
]


@pytest.mark.parametrize("index", range(len(SESSION_ROUTE_IDS)), ids=SESSION_ROUTE_IDS)
def test_session_route_by_id_is_404(tenants: Tenants, index: int) -> None:
    method, path, kwargs, kind = _session_routes(tenants.task_id)[index]
    before = tenants.a_snapshot()
    resp = tenants.b.request(method, path, **kwargs)
    resource = tenants.task_id if kind == "task" else SID
    assert_not_found(resp, kind, resource)
    assert tenants.a_snapshot() == before
    assert assert_ok(tenants.b.get("/api/v1/sessions")) == []


AUTO_CREATE: list[tuple[str, str, dict[str, Any], int]] = [
    ("POST", f"/api/v1/sessions/{SID}/messages", {"json": {"role": "user", "content": "b"}}, 1),
    (
        "POST",
        f"/api/v1/sessions/{SID}/messages/batch",
        {
            "json": {
                "messages": [{"role": "user", "content": "b1"}, {"role": "user", "content": "b2"}]
            }
        },
        2,
    ),
    ("GET", f"/api/v1/sessions/{SID}", {"params": {"auto_create": "true"}}, 0),
    ("POST", "/api/v1/sessions", {"json": {"session_id": SID}}, 0),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "count"),
    AUTO_CREATE,
    ids=[f"{m} {p.replace('/api/v1', '')} {k}" for m, p, k, _ in AUTO_CREATE],
)
def test_auto_creating_route_acts_on_bs_own_session(
    tenants: Tenants, method: str, path: str, kwargs: dict, count: int
) -> None:
    """Same id, separate namespace: B gets its own session (no 409, no leak), A is untouched."""
    before = tenants.a_snapshot()
    assert_ok(tenants.b.request(method, path, **kwargs))
    mine = tenants.b.meta(SID)
    assert mine["uri"] == f"viking://user/bob/sessions/{SID}"
    assert mine["user"] == {"account_id": tenants.account, "user_id": "bob"}
    assert mine["message_count"] == count
    assert mine["total_message_count"] == count
    assert mine["commit_count"] == 0
    assert mine["memories_extracted"]["total"] == 0
    assert tenants.a_snapshot() == before
    # and B's session goes without touching A's
    assert_ok(tenants.b.delete(f"/api/v1/sessions/{SID}"))
    assert tenants.a_snapshot() == before


def test_bs_list_does_not_contain_as_sessions(tenants: Tenants) -> None:
    assert assert_ok(tenants.b.get("/api/v1/sessions")) == []
    assert assert_ok(tenants.b.get("/api/v1/sessions", params={"limit": 100})) == []
    tenants.b.add("bob-chat", "hi")
    listed = assert_ok(tenants.b.get("/api/v1/sessions"))
    assert [s["session_id"] for s in listed] == ["bob-chat"]
    # a cursor naming A's session is not a valid cursor for B
    assert_error(tenants.b.get("/api/v1/sessions", params={"cursor": SID}), 400, "INVALID_ARGUMENT")
    assert [s["session_id"] for s in assert_ok(tenants.a.get("/api/v1/sessions"))] == [SID]


def test_bs_delete_of_as_id_leaves_a_complete(tenants: Tenants) -> None:
    before = tenants.a_snapshot()
    assert_not_found(tenants.b.delete(f"/api/v1/sessions/{SID}"), "session", SID)
    assert_not_found(tenants.b.delete(f"/api/v1/sessions/{SID}"), "session", SID)
    after = tenants.a_snapshot()
    assert after == before
    meta = after["metas"][SID]
    assert meta["message_count"] == 2 and meta["total_message_count"] == 4
    assert meta["commit_count"] == 1 and meta["memories_extracted"]["total"] == 2
    assert tenants.a.read(A_NOTE) == "alice's private note"
    # A can still delete it normally, with the full receipt
    receipt = assert_ok(tenants.a.delete(f"/api/v1/sessions/{SID}"))
    assert receipt["deleted"]["messages"] == 4 and receipt["deleted"]["archives"] == 1
    assert receipt["kept"]["memories"] == 2


# ------------------------------------------------------------------------------ A's canonical URIs
A_URIS_READ = [
    f"{A_SESSION}/messages.jsonl",
    f"{A_SESSION}/.meta.json",
    f"{A_SESSION}/.abstract.md",
    f"{A_SESSION}/history/archive_001/messages.jsonl",
    f"{A_SESSION}/tools/t1/tool.json",
    f"{A_SESSION}/.relations.json",
    A_NOTE,
    A_MEMORY,
    A_RESOURCE,
    "viking://user/alice/missing.md",
]
A_DIRS = [
    "viking://user/alice",
    "viking://user/alice/sessions",
    A_SESSION,
    f"{A_SESSION}/history",
    "viking://user/alice/memories",
    "viking://user/alice/resources",
]

FILE_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    *[("GET", "/api/v1/content/read", {"params": {"uri": u}}) for u in A_URIS_READ],
    ("GET", "/api/v1/content/read", {"params": {"uri": A_NOTE, "offset": 0, "limit": 1}}),
    *[
        (
            "POST",
            "/api/v1/content/write",
            {"json": {"uri": u, "content": "pwned", "mode": mode}},
        )
        for u, mode in [
            (A_NOTE, "replace"),
            (A_NOTE, "append"),
            (A_NOTE, "create"),
            (A_MEMORY, "replace"),
            (A_RESOURCE, "append"),
            ("viking://user/alice/resources/new.md", "create"),
            (f"{A_SESSION}/new.md", "create"),
            ("viking://user/alice/top.md", "create"),
        ]
    ],
    *[("GET", "/api/v1/fs/ls", {"params": {"uri": u}}) for u in A_DIRS],
    ("GET", "/api/v1/fs/ls", {"params": {"uri": "viking://user/alice", "recursive": "true"}}),
    ("GET", "/api/v1/fs/ls", {"params": {"uri": A_SESSION, "simple": "true"}}),
    ("GET", "/api/v1/fs/tree", {"params": {"uri": "viking://user/alice", "level_limit": 10}}),
    ("GET", "/api/v1/fs/tree", {"params": {"uri": A_SESSION}}),
    ("GET", "/api/v1/fs/stat", {"params": {"uri": A_SESSION}}),
    ("GET", "/api/v1/fs/stat", {"params": {"uri": A_MEMORY}}),
    ("GET", "/api/v1/fs/stat", {"params": {"uri": "viking://user/alice"}}),
    ("POST", "/api/v1/fs/mkdir", {"json": {"uri": "viking://user/alice/resources/d"}}),
    ("POST", "/api/v1/fs/mkdir", {"json": {"uri": f"{A_SESSION}/d"}}),
    ("DELETE", "/api/v1/fs", {"params": {"uri": A_SESSION, "recursive": "true"}}),
    ("DELETE", "/api/v1/fs", {"params": {"uri": A_NOTE}}),
    ("DELETE", "/api/v1/fs", {"params": {"uri": A_MEMORY}}),
    (
        "DELETE",
        "/api/v1/fs",
        {"params": {"uri": "viking://user/alice/memories", "recursive": "true"}},
    ),
    ("DELETE", "/api/v1/fs", {"params": {"uri": A_RESOURCE}}),
    ("POST", "/api/v1/fs/mv", {"json": {"from_uri": A_NOTE, "to_uri": B_FILE + ".stolen"}}),
    ("POST", "/api/v1/fs/mv", {"json": {"from_uri": A_MEMORY, "to_uri": "viking://user/bob/x.md"}}),
    ("POST", "/api/v1/fs/mv", {"json": {"from_uri": A_RESOURCE, "to_uri": A_RESOURCE + ".moved"}}),
    ("POST", "/api/v1/fs/mv", {"json": {"from_uri": B_FILE, "to_uri": f"{A_SESSION}/planted.md"}}),
    ("POST", "/api/v1/fs/mv", {"json": {"from_uri": B_FILE, "to_uri": A_MEMORY}}),
]


def _route_id(method: str, path: str, kwargs: dict[str, Any]) -> str:
    args = kwargs.get("params") or kwargs.get("json")
    return f"{method} {path.replace('/api/v1', '')} {args}"


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    FILE_ROUTES,
    ids=[_route_id(*r) for r in FILE_ROUTES],
)
def test_content_and_fs_on_as_tree_is_403(
    tenants: Tenants, method: str, path: str, kwargs: dict
) -> None:
    before = tenants.a_snapshot()
    bob_before = tenants.b.read(B_FILE)
    err = assert_error(tenants.b.request(method, path, **kwargs), 403, "FORBIDDEN")
    assert "another user" in err["message"]
    assert "alice's" not in tenants.b.request(method, path, **kwargs).text
    assert tenants.a_snapshot() == before
    assert tenants.b.read(B_FILE) == bob_before


ALIAS_ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/v1/content/read", {"params": {"uri": f"viking://session/{SID}/messages.jsonl"}}),
    ("GET", "/api/v1/content/read", {"params": {"uri": f"viking://session/{SID}/notes.md"}}),
    ("GET", "/api/v1/content/read", {"params": {"uri": f"viking://~/sessions/{SID}/.meta.json"}}),
    ("GET", "/api/v1/content/read", {"params": {"uri": "viking://~/memories/profile/name.md"}}),
    ("GET", "/api/v1/content/read", {"params": {"uri": "viking://~/resources/doc.md"}}),
    (
        "POST",
        "/api/v1/content/write",
        {"json": {"uri": f"viking://session/{SID}/notes.md", "content": "x", "mode": "replace"}},
    ),
    (
        "POST",
        "/api/v1/content/write",
        {"json": {"uri": f"viking://session/{SID}/new.md", "content": "x", "mode": "create"}},
    ),
    ("GET", "/api/v1/fs/ls", {"params": {"uri": f"viking://session/{SID}"}}),
    ("GET", "/api/v1/fs/tree", {"params": {"uri": f"viking://session/{SID}"}}),
    ("GET", "/api/v1/fs/stat", {"params": {"uri": f"viking://session/{SID}"}}),
    ("GET", "/api/v1/fs/stat", {"params": {"uri": f"viking://session/{SID}/history"}}),
    ("POST", "/api/v1/fs/mkdir", {"json": {"uri": f"viking://session/{SID}/d"}}),
    ("DELETE", "/api/v1/fs", {"params": {"uri": f"viking://session/{SID}", "recursive": "true"}}),
    ("DELETE", "/api/v1/fs", {"params": {"uri": f"viking://session/{SID}/notes.md"}}),
    (
        "POST",
        "/api/v1/fs/mv",
        {"json": {"from_uri": f"viking://session/{SID}/notes.md", "to_uri": B_FILE + ".x"}},
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    ALIAS_ROUTES,
    ids=[_route_id(*r) for r in ALIAS_ROUTES],
)
def test_aliases_resolve_to_bs_own_tree(
    tenants: Tenants, method: str, path: str, kwargs: dict
) -> None:
    before = tenants.a_snapshot()
    resp = tenants.b.request(method, path, **kwargs)
    assert_error(resp, 404, "NOT_FOUND")
    assert "user/alice" not in resp.text
    assert tenants.a_snapshot() == before


# ------------------------------------------------------------------------------ B's own view
@pytest.mark.parametrize("uri", ["viking://", "viking://user"])
def test_bs_listings_never_show_alice(tenants: Tenants, uri: str) -> None:
    for route, params in [
        ("/api/v1/fs/ls", {"recursive": "true", "show_all_hidden": "true"}),
        ("/api/v1/fs/ls", {"simple": "true", "recursive": "true"}),
        ("/api/v1/fs/tree", {"level_limit": 64, "show_all_hidden": "true"}),
    ]:
        resp = tenants.b.get(route, params={"uri": uri, **params})
        assert_ok(resp)
        assert "user/alice" not in resp.text, resp.text
        assert "bob" in resp.text


def test_shared_agent_space_is_not_a_back_door(tenants: Tenants) -> None:
    """``viking://agent`` is account-wide; it must not expose A's user tree."""
    resp = tenants.b.get(
        "/api/v1/fs/ls",
        params={"uri": "viking://agent", "recursive": "true", "show_all_hidden": "true"},
    )
    assert_ok(resp)
    assert "user/alice" not in resp.text


# ------------------------------------------------------------------------------ other accounts
@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", f"/api/v1/sessions/{SID}", {}),
        ("GET", f"/api/v1/sessions/{SID}/context", {}),
        ("POST", f"/api/v1/sessions/{SID}/commit", {"json": {}}),
        ("DELETE", f"/api/v1/sessions/{SID}", {}),
        ("GET", "/api/v1/content/read", {"params": {"uri": A_NOTE}}),
        ("GET", "/api/v1/content/read", {"params": {"uri": A_MEMORY}}),
        ("GET", "/api/v1/fs/stat", {"params": {"uri": A_SESSION}}),
        ("DELETE", "/api/v1/fs", {"params": {"uri": A_RESOURCE}}),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_same_user_name_in_another_account_sees_nothing(
    tenants: Tenants, method: str, path: str, kwargs: dict
) -> None:
    """``alice`` of another account has her own (empty) tree: 404, never A's data."""
    server = tenants.server
    twin = server.caller(server.mint(tenants.account + "-twin", "alice"))
    before = tenants.a_snapshot()
    resp = twin.request(method, path, **kwargs)
    assert_error(resp, 404, "NOT_FOUND")
    assert "private" not in resp.text
    assert tenants.a_snapshot() == before
    # root acting for the twin sees the same emptiness
    root_twin = server.caller(ROOT_KEY, account=tenants.account + "-twin", user="alice")
    assert assert_ok(root_twin.get("/api/v1/sessions")) == []
