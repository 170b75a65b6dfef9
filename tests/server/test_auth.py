"""Contract §3: API keys, roles, identity headers, read-only keys, dev mode and its guard."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from skald_core import clock
from skald_core.errors import InvalidArgumentError
from skald_server import config as config_mod

from .conftest import ROOT_KEY, Server
from .helpers import Caller, assert_error, assert_ok, snapshot

# Every authenticated route, with a request that would succeed for a user with data.
ROUTES: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/v1/system/status", {}),
    ("GET", "/api/v1/sessions", {}),
    ("POST", "/api/v1/sessions", {"json": {}}),
    ("GET", "/api/v1/sessions/s1", {}),
    ("DELETE", "/api/v1/sessions/s1", {}),
    ("POST", "/api/v1/sessions/s1/messages", {"json": {"role": "user", "content": "x"}}),
    (
        "POST",
        "/api/v1/sessions/s1/messages/batch",
        {"json": {"messages": [{"role": "user", "content": "x"}]}},
    ),
    ("POST", "/api/v1/sessions/s1/commit", {"json": {}}),
    ("GET", "/api/v1/sessions/s1/context", {}),
    ("GET", "/api/v1/sessions/s1/archives/archive_001", {}),
    ("GET", "/api/v1/tasks/t1", {}),
    ("GET", "/api/v1/content/read", {"params": {"uri": "viking://user/default/x.md"}}),
    (
        "POST",
        "/api/v1/content/write",
        {"json": {"uri": "viking://user/default/x.md", "content": "x", "mode": "create"}},
    ),
    ("GET", "/api/v1/fs/ls", {"params": {"uri": "viking://"}}),
    ("GET", "/api/v1/fs/tree", {"params": {"uri": "viking://"}}),
    ("GET", "/api/v1/fs/stat", {"params": {"uri": "viking://"}}),
    ("POST", "/api/v1/fs/mkdir", {"json": {"uri": "viking://user/default/resources/d"}}),
    ("DELETE", "/api/v1/fs", {"params": {"uri": "viking://user/default/x.md"}}),
    (
        "POST",
        "/api/v1/fs/mv",
        {"json": {"from_uri": "viking://user/default/x", "to_uri": "viking://user/default/y"}},
    ),
]
ROUTE_IDS = [f"{m} {p}" for m, p, _ in ROUTES]


# ------------------------------------------------------------------------------------ 401
@pytest.mark.parametrize(("method", "path", "kwargs"), ROUTES, ids=ROUTE_IDS)
def test_no_key_is_401(shared_api: Server, method: str, path: str, kwargs: dict) -> None:
    resp = shared_api.caller().request(method, path, **kwargs)
    err = assert_error(resp, 401, "UNAUTHENTICATED")
    assert "API key" in err["message"]


@pytest.mark.parametrize(("method", "path", "kwargs"), ROUTES, ids=ROUTE_IDS)
def test_wrong_key_is_401(shared_api: Server, method: str, path: str, kwargs: dict) -> None:
    resp = shared_api.caller("sk-000000000000-not-a-real-secret").request(method, path, **kwargs)
    assert_error(resp, 401, "UNAUTHENTICATED")


@pytest.mark.parametrize(
    "key",
    ["wrong", "sk-", "sk--x", ROOT_KEY + "x", ROOT_KEY[:-1], " ", "Bearer " + ROOT_KEY],
)
def test_malformed_or_near_miss_keys_are_401(shared_api: Server, key: str) -> None:
    assert_error(shared_api.caller(key).get("/api/v1/sessions"), 401, "UNAUTHENTICATED")


def test_right_key_id_wrong_secret_is_401(shared_api: Server, account: str) -> None:
    key = shared_api.mint(account, "u")
    prefix = "-".join(key.split("-", 2)[:2])  # sk-<key id>
    assert prefix.startswith("sk-") and len(prefix) > 3
    assert_error(
        shared_api.caller(prefix + "-tampered").get("/api/v1/sessions"), 401, "UNAUTHENTICATED"
    )
    assert_ok(shared_api.caller(key).get("/api/v1/sessions"))


def test_revoked_key_is_401(shared_api: Server, account: str) -> None:
    key, key_id = shared_api.mint_id(account, "u")
    c = shared_api.caller(key)
    c.add("s1", "before revocation")
    assert shared_api.services.keys.revoke_key(key_id, clock.now())
    err = assert_error(c.get("/api/v1/sessions"), 401, "UNAUTHENTICATED")
    assert "Invalid API key" in err["message"]
    assert_error(c.post("/api/v1/sessions", json={}), 401, "UNAUTHENTICATED")
    # the data is still there for a fresh key
    other = shared_api.caller(shared_api.mint(account, "u"))
    assert other.meta("s1")["message_count"] == 1


def test_unauthenticated_has_request_id(shared_api: Server) -> None:
    resp = shared_api.client.get("/api/v1/sessions", headers={"X-Request-ID": "auth-1"})
    assert_error(resp, 401, "UNAUTHENTICATED")
    assert resp.headers["x-request-id"] == "auth-1"


# ------------------------------------------------------------------------------------ key headers
def test_bearer_works(shared_api: Server, account: str) -> None:
    key = shared_api.mint(account, "u")
    c = shared_api.caller(key, bearer=True)
    me = c.whoami()
    assert (me["account"], me["user"], me["role"]) == (account, "u", "user")
    c.add("s1", "hi")
    lower = shared_api.client.get("/api/v1/sessions", headers={"Authorization": f"bearer {key}"})
    assert [s["session_id"] for s in assert_ok(lower)] == ["s1"]


def test_bearer_root_key(shared_api: Server) -> None:
    assert shared_api.caller(ROOT_KEY, bearer=True).whoami()["role"] == "root"


@pytest.mark.parametrize("scheme", ["Basic", "Token", ""])
def test_other_authorization_schemes_are_401(shared_api: Server, scheme: str) -> None:
    resp = shared_api.client.get(
        "/api/v1/sessions", headers={"Authorization": f"{scheme} {ROOT_KEY}".strip()}
    )
    assert_error(resp, 401, "UNAUTHENTICATED")


def test_x_api_key_wins_over_bearer(shared_api: Server, account: str) -> None:
    key_a = shared_api.mint(account, "alice")
    key_b = shared_api.mint(account, "bob")
    both = {"X-API-Key": key_a, "Authorization": f"Bearer {key_b}"}
    me = assert_ok(shared_api.client.get("/api/v1/system/status", headers=both))
    assert me["user"] == "alice"
    assert_ok(shared_api.client.post("/api/v1/sessions", json={"session_id": "s"}, headers=both))
    assert [
        s["session_id"] for s in assert_ok(shared_api.caller(key_a).get("/api/v1/sessions"))
    ] == ["s"]
    assert assert_ok(shared_api.caller(key_b).get("/api/v1/sessions")) == []
    # an invalid X-API-Key is not rescued by a valid bearer token
    bad = {"X-API-Key": "nonsense", "Authorization": f"Bearer {key_b}"}
    assert_error(shared_api.client.get("/api/v1/sessions", headers=bad), 401, "UNAUTHENTICATED")


# ------------------------------------------------------------------------------------ root
def test_root_key_defaults_to_default_user(shared_api: Server) -> None:
    me = shared_api.root.whoami()
    assert (me["account"], me["user"], me["role"], me["dev_mode"]) == (
        "default",
        "default",
        "root",
        False,
    )


def test_root_key_acts_for_the_named_user(shared_api: Server, account: str) -> None:
    root_as_u = shared_api.caller(ROOT_KEY, account=account, user="u1")
    me = root_as_u.whoami()
    assert (me["account"], me["user"], me["role"]) == (account, "u1", "root")
    created = assert_ok(root_as_u.post("/api/v1/sessions", json={"session_id": "by-root"}))
    assert created["uri"] == "viking://user/u1/sessions/by-root"
    assert created["user"] == {"account_id": account, "user_id": "u1"}
    root_as_u.add("by-root", "hello")
    root_as_u.write("viking://user/u1/resources/r.md", "r")
    # the user's own key sees exactly that
    u1 = shared_api.caller(shared_api.mint(account, "u1"))
    assert [s["session_id"] for s in assert_ok(u1.get("/api/v1/sessions"))] == ["by-root"]
    assert u1.meta("by-root")["message_count"] == 1
    assert u1.read("viking://user/u1/resources/r.md") == "r"
    # another user of the account does not
    u2 = shared_api.caller(shared_api.mint(account, "u2"))
    assert assert_ok(u2.get("/api/v1/sessions")) == []
    # and root as another account does not
    other = shared_api.caller(ROOT_KEY, account=account + "-x", user="u1")
    assert assert_ok(other.get("/api/v1/sessions")) == []


def test_root_key_with_only_user_header(shared_api: Server) -> None:
    me = shared_api.caller(ROOT_KEY, user="someone").whoami()
    assert (me["account"], me["user"]) == ("default", "someone")


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-OpenViking-User", "a/b"),
        ("X-OpenViking-User", ".."),
        ("X-OpenViking-Account", "x" * 200),
        ("X-OpenViking-Account", " lead"),
    ],
)
def test_invalid_identity_headers_are_400(shared_api: Server, header: str, value: str) -> None:
    resp = shared_api.client.get("/api/v1/sessions", headers={"X-API-Key": ROOT_KEY, header: value})
    err = assert_error(resp, 400, "INVALID_ARGUMENT")
    assert header.lower() in err["message"].lower()


# ------------------------------------------------------------------------------------ admin
def test_admin_acts_for_any_user_of_its_account(shared_api: Server, account: str) -> None:
    admin = shared_api.mint(account, "boss", "admin")
    me = shared_api.caller(admin).whoami()
    assert (me["account"], me["user"], me["role"]) == (account, "boss", "admin")
    as_u = shared_api.caller(admin, user="worker")
    assert as_u.whoami()["user"] == "worker"
    as_u.add("w1", "work")
    as_u.write("viking://user/worker/resources/w.md", "w")
    worker = shared_api.caller(shared_api.mint(account, "worker"))
    assert [s["session_id"] for s in assert_ok(worker.get("/api/v1/sessions"))] == ["w1"]
    assert worker.read("viking://user/worker/resources/w.md") == "w"
    # naming its own account explicitly is fine
    assert shared_api.caller(admin, account=account, user="worker").meta("w1")["message_count"] == 1
    # its own data is separate
    assert assert_ok(shared_api.caller(admin).get("/api/v1/sessions")) == []


def test_admin_cannot_act_for_another_account(shared_api: Server, account: str) -> None:
    admin = shared_api.mint(account, "boss", "admin")
    victim = shared_api.caller(ROOT_KEY, account="victim-" + account, user="v")
    victim.add("v1", "secret")
    for user in (None, "v"):
        c = shared_api.caller(admin, account="victim-" + account, user=user)
        err = assert_error(c.get("/api/v1/sessions"), 403, "FORBIDDEN")
        assert "account" in err["message"]
        assert_error(c.get("/api/v1/sessions/v1"), 403, "FORBIDDEN")
        assert_error(c.delete("/api/v1/sessions/v1"), 403, "FORBIDDEN")
        assert_error(
            c.post("/api/v1/sessions/v1/messages", json={"role": "user", "content": "x"}),
            403,
            "FORBIDDEN",
        )
    assert victim.meta("v1")["message_count"] == 1


# ------------------------------------------------------------------------------------ user keys
def test_user_key_naming_itself_is_fine(shared_api: Server, account: str) -> None:
    key = shared_api.mint(account, "u")
    me = shared_api.caller(key, account=account, user="u").whoami()
    assert (me["account"], me["user"], me["role"]) == (account, "u", "user")


@pytest.mark.parametrize(("method", "path", "kwargs"), ROUTES, ids=ROUTE_IDS)
def test_user_key_naming_another_user_is_served_as_itself(
    shared_api: Server, account: str, method: str, path: str, kwargs: dict
) -> None:
    """As OpenViking 0.5.2: the headers are ignored, the key's own user is served."""
    other = shared_api.caller(shared_api.mint(account, "other"))
    other.add("s1", "theirs")
    key = shared_api.mint(account, "u")
    impostor = shared_api.caller(key, user="other")
    resp = impostor.request(method, path, **kwargs)
    if resp.status_code == 403:  # only a URI of another user's tree (the route's own rule)
        assert resp.json()["error"]["details"]["reason"] == "foreign user tree", resp.text
    assert other.meta("s1")["message_count"] == 1
    assert other.read("viking://session/s1/messages.jsonl").count("theirs") == 1
    me = impostor.whoami()
    assert (me["account"], me["user"], me["role"]) == (account, "u", "user")


def test_user_key_naming_another_account_is_served_as_itself(
    shared_api: Server, account: str
) -> None:
    key = shared_api.mint(account, "u")
    shared_api.caller(key).add("mine", "hello")
    for user in (None, "u", "someone"):
        c = shared_api.caller(key, account=account + "-other", user=user)
        listed = assert_ok(c.get("/api/v1/sessions"))
        assert [s["session_id"] for s in listed] == ["mine"]
        assert (c.whoami()["account"], c.whoami()["user"]) == (account, "u")


# ------------------------------------------------------------------------------------ read-only
@pytest.fixture
def ro_setup(shared_api: Server, account: str) -> tuple[Caller, Caller, str]:
    """(read-write caller, read-only caller, task id) for user ``u`` with a full data set."""
    rw = shared_api.caller(shared_api.mint(account, "u"))
    ro = shared_api.caller(shared_api.mint(account, "u", read_only=True))
    rw.add("s1", "My name is Ada.")
    task_id = rw.commit("s1", wait=True)["task_id"]
    rw.add("s1", "live")
    rw.write("viking://user/u/resources/x.md", "x")
    rw.write("viking://session/s1/note.md", "note")
    return rw, ro, task_id


READS = [
    ("/api/v1/system/status", {}),
    ("/api/v1/sessions", {}),
    ("/api/v1/sessions", {"limit": 1}),
    ("/api/v1/sessions/s1", {}),
    ("/api/v1/sessions/s1", {"auto_create": "true"}),
    ("/api/v1/sessions/s1/context", {}),
    ("/api/v1/sessions/s1/archives/archive_001", {}),
    ("/api/v1/content/read", {"uri": "viking://user/u/resources/x.md"}),
    ("/api/v1/content/read", {"uri": "viking://session/s1/messages.jsonl"}),
    ("/api/v1/content/read", {"uri": "viking://user/u/memories/profile/name.md"}),
    ("/api/v1/fs/ls", {"uri": "viking://user/u", "recursive": "true"}),
    ("/api/v1/fs/tree", {"uri": "viking://user/u"}),
    ("/api/v1/fs/stat", {"uri": "viking://session/s1"}),
]


@pytest.mark.parametrize(("path", "params"), READS, ids=[f"GET {p} {q}" for p, q in READS])
def test_read_only_key_can_read(
    ro_setup: tuple[Caller, Caller, str], path: str, params: dict
) -> None:
    rw, ro, _ = ro_setup
    assert assert_ok(ro.get(path, params=params)) == assert_ok(rw.get(path, params=params))


def test_read_only_key_can_read_task(ro_setup: tuple[Caller, Caller, str]) -> None:
    _, ro, task_id = ro_setup
    assert assert_ok(ro.get(f"/api/v1/tasks/{task_id}"))["status"] == "completed"


WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/sessions", {}),
    ("POST", "/api/v1/sessions", {"json": {"session_id": "new"}}),
    ("POST", "/api/v1/sessions/s1/messages", {"json": {"role": "user", "content": "x"}}),
    ("POST", "/api/v1/sessions/new/messages", {"json": {"role": "user", "content": "x"}}),
    (
        "POST",
        "/api/v1/sessions/s1/messages/batch",
        {"json": {"messages": [{"role": "user", "content": "x"}]}},
    ),
    ("POST", "/api/v1/sessions/s1/commit", {"json": {}}),
    ("POST", "/api/v1/sessions/s1/commit", {"json": {"wait": True}}),
    ("DELETE", "/api/v1/sessions/s1", {}),
    ("DELETE", "/api/v1/sessions/s1", {"params": {"require_committed": "true"}}),
    (
        "POST",
        "/api/v1/content/write",
        {"json": {"uri": "viking://user/u/resources/x.md", "content": "y", "mode": "replace"}},
    ),
    (
        "POST",
        "/api/v1/content/write",
        {"json": {"uri": "viking://user/u/resources/x.md", "content": "y", "mode": "append"}},
    ),
    (
        "POST",
        "/api/v1/content/write",
        {"json": {"uri": "viking://user/u/resources/new.md", "content": "y", "mode": "create"}},
    ),
    (
        "POST",
        "/api/v1/content/write",
        {"json": {"uri": "viking://session/s1/note.md", "content": "y", "mode": "replace"}},
    ),
    ("POST", "/api/v1/fs/mkdir", {"json": {"uri": "viking://user/u/resources/d"}}),
    ("DELETE", "/api/v1/fs", {"params": {"uri": "viking://user/u/resources/x.md"}}),
    ("DELETE", "/api/v1/fs", {"params": {"uri": "viking://session/s1", "recursive": "true"}}),
    (
        "DELETE",
        "/api/v1/fs",
        {"params": {"uri": "viking://user/u/memories/profile/name.md"}},
    ),
    (
        "POST",
        "/api/v1/fs/mv",
        {
            "json": {
                "from_uri": "viking://user/u/resources/x.md",
                "to_uri": "viking://user/u/resources/y.md",
            }
        },
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"), WRITES, ids=[f"{m} {p} {k}" for m, p, k in WRITES]
)
def test_read_only_key_cannot_write(
    ro_setup: tuple[Caller, Caller, str], method: str, path: str, kwargs: dict
) -> None:
    rw, ro, _ = ro_setup
    before = snapshot(rw, "u")
    err = assert_error(ro.request(method, path, **kwargs), 403, "FORBIDDEN")
    assert "read-only" in err["message"]
    assert err["details"].get("reason") == "read_only"
    assert snapshot(rw, "u") == before


def test_read_only_get_auto_create_of_missing_session_is_403(
    ro_setup: tuple[Caller, Caller, str],
) -> None:
    rw, ro, _ = ro_setup
    before = snapshot(rw, "u")
    resp = ro.get("/api/v1/sessions/fresh", params={"auto_create": "true"})
    assert_error(resp, 403, "FORBIDDEN")
    assert snapshot(rw, "u") == before


def test_read_only_admin_acting_for_a_user_stays_read_only(
    shared_api: Server, account: str
) -> None:
    rw = shared_api.caller(shared_api.mint(account, "u"))
    rw.add("s1", "x")
    admin_ro = shared_api.caller(
        shared_api.mint(account, "boss", "admin", read_only=True), user="u"
    )
    assert admin_ro.meta("s1")["message_count"] == 1
    assert_error(admin_ro.delete("/api/v1/sessions/s1"), 403, "FORBIDDEN")
    assert rw.meta("s1")["message_count"] == 1


# ------------------------------------------------------------------------------------ dev mode
def test_dev_mode_default_identity(shared_dev: Server) -> None:
    me = shared_dev.caller().whoami()
    assert (me["account"], me["user"], me["role"], me["dev_mode"]) == (
        "default",
        "default",
        "root",
        True,
    )


def test_dev_mode_identity_from_headers(shared_dev: Server, account: str) -> None:
    c = shared_dev.caller(account=account, user="alice")
    me = c.whoami()
    assert (me["account"], me["user"], me["role"]) == (account, "alice", "root")
    created = assert_ok(c.post("/api/v1/sessions", json={"session_id": "s1"}))
    assert created["uri"] == "viking://user/alice/sessions/s1"
    c.add("s1", "hi")
    assert "hi" in c.read("viking://session/s1/messages.jsonl")
    assert "hi" in c.read("viking://user/alice/sessions/s1/messages.jsonl")
    assert assert_ok(shared_dev.caller(account=account, user="bob").get("/api/v1/sessions")) == []


@pytest.mark.parametrize("bearer", [False, True])
def test_dev_mode_ignores_presented_keys(shared_dev: Server, account: str, bearer: bool) -> None:
    c = shared_dev.caller("totally-invalid-key", account=account, bearer=bearer)
    me = c.whoami()
    assert (me["account"], me["user"], me["role"]) == (account, "default", "root")
    c.add("s1", "x")
    assert shared_dev.caller(account=account).meta("s1")["message_count"] == 1
    assert shared_dev.caller(ROOT_KEY, account=account).meta("s1")["message_count"] == 1


def test_dev_mode_health(shared_dev: Server) -> None:
    assert shared_dev.client.get("/health", headers={"X-API-Key": "x"}).json()["healthy"] is True


# ------------------------------------------------------------------------------------ config
@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SKALD_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_dev_mode_refused_off_loopback(host: str) -> None:
    with pytest.raises(InvalidArgumentError, match="dev mode"):
        config_mod.load(overrides={"host": host})


@pytest.mark.usefixtures("clean_env")
def test_dev_mode_refused_off_loopback_exact_brief_call() -> None:
    with pytest.raises(InvalidArgumentError):
        config_mod.load(overrides={"host": "0.0.0.0"})


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_dev_mode_allowed_on_loopback(host: str) -> None:
    cfg = config_mod.load(overrides={"host": host})
    assert cfg.dev_mode and cfg.host == host


@pytest.mark.usefixtures("clean_env")
def test_root_key_allows_any_host() -> None:
    cfg = config_mod.load(overrides={"host": "0.0.0.0", "root_api_key": "k"})
    assert not cfg.dev_mode
    cfg = config_mod.load(overrides={"host": "0.0.0.0"}, environ={"SKALD_ROOT_API_KEY": "k"})
    assert cfg.root_api_key == "k"
    with pytest.raises(InvalidArgumentError):
        config_mod.load(environ={"SKALD_HOST": "0.0.0.0"})


@pytest.mark.usefixtures("clean_env")
def test_bad_config_values() -> None:
    with pytest.raises(InvalidArgumentError):
        config_mod.load(overrides={"port": 0})
    with pytest.raises(InvalidArgumentError):
        config_mod.load(overrides={"port": "abc"})
    with pytest.raises(InvalidArgumentError):
        config_mod.load(overrides={"no_such_option": 1})


# ------------------------------------------------------------------------------------ where
def _on_an_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@pytest.mark.parametrize("in_process_store", [True, False], ids=["sqlite-inline", "threaded"])
def test_a_key_is_looked_up_where_store_calls_run(
    api: Server, account: str, monkeypatch: pytest.MonkeyPatch, in_process_store: bool
) -> None:
    """A key lookup is a store call: on the event loop only for a store that runs calls
    inline (SQLite); otherwise (PostgreSQL: a round trip, maybe a wait for a pooled
    connection) in a thread, never stalling the loop that serves every other request."""
    keys = api.services.keys
    find_key = keys.find_key
    seen: list[bool] = []

    def noting_where(key: str) -> Any:
        seen.append(_on_an_event_loop())
        return find_key(key)

    monkeypatch.setattr(keys, "find_key", noting_where)
    monkeypatch.setattr(api.services.store, "inline_capable", in_process_store)
    c = api.caller(api.mint(account, "u"))
    assert_ok(c.get("/api/v1/sessions"))
    assert seen == [in_process_store]
    seen.clear()
    assert_ok(api.root.get("/api/v1/sessions"))  # the root key needs no lookup
    assert seen == []
