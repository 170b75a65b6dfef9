"""The console's guards, in process (no browser): sign-in, CSRF, same-origin posts, the
API's rule for who may see what, revoked keys, read-only keys, and that the console neither
opens the API to its cookie nor loads anything from another host."""

from __future__ import annotations

import datetime
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from skald_core import clock
from skald_core.identity import Identity
from skald_core.schemas import AddMessageRequest
from skald_core.service.session_view import task_view
from skald_core.store.model import Owner, TaskRow
from skald_server.app import build_services, create_app
from skald_server.config import ServerConfig
from skald_server.context import Services
from skald_server.shared_state import SharedState
from skald_server.workers import Worker

ROOT = "console-http-root-key"
BASE = "http://console.test"
SAME = {"Origin": BASE}

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:litestar")


class Browser:
    """Requests carrying one console sign-in's cookie (and nothing else)."""

    def __init__(self, client: TestClient[Any], token: str) -> None:
        self.client, self.token = client, token

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Cookie": f"skald_console={self.token}", **kw.pop("headers", {})}
        r = self.client.request(method, path, headers=headers, **kw)
        self.client.cookies.clear()
        return r

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)


class App:
    def __init__(self, services: Services, client: TestClient[Any]) -> None:
        self.services, self.client = services, client

    def key(self, user: str, role: str = "user", *, read_only: bool = False) -> str:
        return self.services.keys.create_key("acme", user, role, read_only, clock.now()).key  # type: ignore[arg-type]

    def browser(self, key: str | None) -> tuple[Browser, str]:
        """A signed-in browser (its own cookie) and the page's CSRF token."""
        r = self.client.post("/console/signin", data={"key": key or ""}, headers=SAME)
        assert r.status_code == 200 and "/console/sessions" in str(r.url), r.text
        token = self.client.cookies["skald_console"]
        self.client.cookies.clear()
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.text)
        assert csrf is not None
        return Browser(self.client, token), csrf.group(1)

    def api(self, key: str, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.client.request(method, "/api/v1" + path, headers={"X-API-Key": key}, **kw)


@pytest.fixture(scope="module", params=["one-process", "workers"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The console app; ``workers``: as a worker of ``skald serve --workers N`` builds it, with
    sign-ins and cleanup runs in the file the workers share (``shared_state``)."""
    config = ServerConfig(path=str(tmp_path_factory.mktemp("console")), root_api_key=ROOT)
    services = build_services(config)
    worker = None
    if request.param == "workers":
        shared = tmp_path_factory.mktemp("runtime")
        SharedState(str(shared))
        worker = Worker(index=0, count=2, runtime_dir=str(shared))
    with TestClient(create_app(config, services=services, worker=worker), base_url=BASE) as client:
        yield App(services, client)


@pytest.fixture
def alice(app: App) -> str:
    key = app.key("alice")
    assert app.api(key, "POST", "/sessions", json={"session_id": "keep-me"}).status_code in (
        200,
        409,
    )
    return key


def _exists(app: App, key: str, sid: str) -> bool:
    return app.api(key, "GET", f"/sessions/{sid}").status_code == 200


def test_a_form_post_needs_the_csrf_token(app: App, alice: str) -> None:
    http, csrf = app.browser(alice)
    for token in (None, "wrong"):
        data = {"mode": "hard"} | ({"csrf": token} if token else {})
        r = http.post("/console/sessions/keep-me/delete", data=data, headers=SAME)
        assert r.status_code == 403 and "CSRF" in r.text
    assert _exists(app, alice, "keep-me")
    r = http.post(
        "/console/sessions/keep-me/delete", data={"mode": "soft", "csrf": csrf}, headers=SAME
    )
    assert r.status_code == 200 and "Moved to trash" in r.text
    assert not _exists(app, alice, "keep-me")
    r = http.post(
        "/console/sessions/keep-me/restore",
        data={"csrf": csrf},
        headers=SAME,
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Restored" in http.get(r.headers["location"]).text
    assert _exists(app, alice, "keep-me")


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {},  # neither header: not provably from a console page
    ],
)
def test_a_cross_site_post_is_refused_even_with_the_token(
    app: App, alice: str, headers: dict[str, str]
) -> None:
    http, csrf = app.browser(alice)
    r = http.post(
        "/console/sessions/keep-me/delete", data={"mode": "hard", "csrf": csrf}, headers=headers
    )
    assert r.status_code == 403
    assert _exists(app, alice, "keep-me")
    r = http.post("/console/signin", data={"key": alice}, headers=headers)  # no login CSRF
    assert r.status_code == 403


def test_a_same_origin_post_without_origin_header_is_accepted(app: App, alice: str) -> None:
    http, csrf = app.browser(alice)
    r = http.post(
        "/console/signout", data={"csrf": csrf}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert r.status_code == 200 and "Sign in" in r.text
    assert http.get("/console/sessions", follow_redirects=False).status_code == 303  # signed out


def test_the_cookie_is_httponly_strict_scoped_and_not_the_key(app: App, alice: str) -> None:
    r = app.client.post(
        "/console/signin", data={"key": alice}, headers=SAME, follow_redirects=False
    )
    app.client.cookies.clear()
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert (
        "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/console" in cookie
    )
    assert alice not in cookie


def test_the_console_cookie_does_not_open_the_api(app: App, alice: str) -> None:
    http, _ = app.browser(alice)
    assert http.get("/api/v1/sessions").status_code == 401


def test_a_bad_key_is_refused_at_sign_in(app: App) -> None:
    r = app.client.post("/console/signin", data={"key": "sk-nope-nope"}, headers=SAME)
    assert r.status_code == 401 and "Invalid API key" in r.text
    assert app.client.get("/console/sessions", follow_redirects=False).status_code == 303


def test_a_revoked_key_is_signed_out_at_the_next_click(app: App) -> None:
    new = app.services.keys.create_key("acme", "carol", "user", False, clock.now())
    http, _ = app.browser(new.key)
    assert http.get("/console/sessions").status_code == 200
    app.services.keys.revoke_key(new.record.key_id, clock.now())
    r = http.get("/console/sessions")
    assert r.status_code == 401 and "Invalid API key" in r.text


def test_a_read_only_key_can_look_but_not_delete(app: App, alice: str) -> None:
    reader = app.key("alice", read_only=True)
    http, csrf = app.browser(reader)
    assert http.get("/console/sessions/keep-me").status_code == 200
    assert http.get("/console/sessions/keep-me/delete?mode=hard").status_code == 403
    r = http.post(
        "/console/sessions/keep-me/delete", data={"mode": "hard", "csrf": csrf}, headers=SAME
    )
    assert r.status_code == 403 and "read-only" in r.text
    assert _exists(app, alice, "keep-me")


def test_users_see_only_their_own_and_admins_their_accounts(app: App, alice: str) -> None:
    bob, _ = app.browser(app.key("bob"))
    assert bob.get("/console/sessions/keep-me").status_code == 404
    # a user key is its own user whoever the URL names (as over the API): bob's own list
    for query in ("?user=alice", "?account=other", "?account=other&user=alice"):
        page = bob.get("/console/sessions" + query)
        assert page.status_code == 200 and "keep-me" not in page.text, query
    assert bob.get("/console/audit").status_code == 403
    admin, _ = app.browser(app.key("boss", "admin"))
    assert admin.get("/console/sessions/keep-me?user=alice").status_code == 200
    assert admin.get("/console/sessions?account=other").status_code == 403
    assert admin.get("/console/audit").status_code == 200
    root, _ = app.browser(ROOT)
    assert root.get("/console/sessions/keep-me?account=acme&user=alice").status_code == 200


def test_every_user_view_matches_the_api_and_is_for_admins(app: App, alice: str) -> None:
    """``/console/sessions?user=*`` is ``GET /api/v1/sessions?user=*``: admins and root see
    every user's sessions of the account (with the owner, linking to that user's page), a
    user key gets 403 as from the API."""
    boss = app.key("boss2", "admin")
    api_rows = app.api(boss, "GET", "/sessions", params={"user": "*"}).json()["result"]
    assert ("alice", "keep-me") in {(r["user"], r["session_id"]) for r in api_rows}
    admin, _ = app.browser(boss)
    page = admin.get("/console/sessions?user=*")
    assert page.status_code == 200
    for r in api_rows:
        link = f"/console/sessions/{r['session_id']}?user={r['user']}"
        assert link in page.text
    assert 'name="ids"' not in page.text  # no batch actions across users
    root, _ = app.browser(ROOT)
    assert (
        "/console/sessions/keep-me?account=acme&amp;user=alice"
        in root.get("/console/sessions?account=acme&user=*").text
    )
    user, _ = app.browser(alice)
    assert user.get("/console/sessions?user=*").status_code == 403
    assert app.api(alice, "GET", "/sessions", params={"user": "*"}).status_code == 403


def test_the_preview_changes_nothing_and_audits_nothing(app: App, alice: str) -> None:
    http, _ = app.browser(alice)
    before = app.api(ROOT, "GET", "/audit", params={"account": "acme"}).json()["result"]
    r = http.get("/console/sessions/keep-me/delete?mode=hard&forget_memories=1")
    assert r.status_code == 200 and "Dry run" in r.text
    after = app.api(ROOT, "GET", "/audit", params={"account": "acme"}).json()["result"]
    assert after == before
    assert _exists(app, alice, "keep-me")


def test_pages_load_nothing_from_another_host(app: App, alice: str) -> None:
    http, _ = app.browser(alice)
    for path in ("/console/signin", "/console/sessions", "/console/sessions/keep-me", "/schema"):
        html = http.get(path).text
        refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", html)
        assert refs, path
        remote = [u for u in refs if re.match(r"(?i)^(https?:)?//", u)]
        assert remote == [], (path, remote)
        for ref in refs:
            if ref.startswith("/console/static/"):
                assert http.get(ref).status_code == 200, ref


def test_unknown_state_or_bad_ids_are_clear_errors(app: App, alice: str) -> None:
    http, _ = app.browser(alice)
    r = http.get("/console/sessions?state=gone")
    assert r.status_code == 400 and "state must be" in r.text
    r = http.get("/console/sessions?user=a/b")
    assert r.status_code == 400 and "must not contain" in r.text


def test_a_user_cannot_read_another_users_memory(app: App) -> None:
    carol = app.key("carol2")
    app.services.files.write(
        Identity(account="acme", user="carol2", role="user"),
        "viking://user/carol2/memories/profile/name.md",
        "Carol",
        "upsert",
    )
    mine, _ = app.browser(carol)
    assert (
        "Carol"
        in mine.get("/console/memory?uri=viking://user/carol2/memories/profile/name.md").text
    )
    dave, _ = app.browser(app.key("dave"))
    r = dave.get("/console/memory?uri=viking://user/carol2/memories/profile/name.md")
    assert r.status_code == 403 and "Carol" not in r.text
    app.services.sessions.add_message(
        Identity(account="acme", user="dave", role="user"),
        "d1",
        AddMessageRequest(role="user", content="hello"),
    )
    r = dave.get("/console/memory?uri=viking://user/dave/sessions/d1/messages.jsonl")
    assert r.status_code == 400 and "Only memory files" in r.text


def test_keys_are_managed_by_admins_of_their_own_account(app: App) -> None:
    user, _ = app.browser(app.key("erin"))
    assert user.get("/console/keys").status_code == 403
    admin, csrf = app.browser(app.key("chief", "admin"))
    page = admin.get("/console/keys").text
    assert "acme/erin" in page
    r = admin.post(
        "/console/keys", data={"csrf": csrf, "account": "other", "user": "x"}, headers=SAME
    )
    assert r.status_code == 403
    assert app.services.keys.list_keys("other") == []
    r = admin.post(
        "/console/keys", data={"csrf": csrf, "user": "frank", "role": "root"}, headers=SAME
    )
    assert r.status_code == 400
    r = admin.post(
        "/console/keys",
        data={"csrf": csrf, "user": "frank", "read_only": "1"},
        headers=SAME,
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    secret = re.search(r'id="new-key" readonly value="([^"]+)"', r.text)
    assert secret is not None
    found = app.services.keys.find_key(secret.group(1))
    assert found is not None and (found.user, found.read_only) == ("frank", True)
    reader, reader_csrf = app.browser(app.key("boss2", "admin", read_only=True))
    r = reader.post("/console/keys", data={"csrf": reader_csrf, "user": "gus"}, headers=SAME)
    assert r.status_code == 403


def test_content_is_escaped(app: App) -> None:
    key = app.key("mallory")
    body = {"role": "user", "content": "<script>alert(1)</script>"}
    assert app.api(key, "POST", "/sessions/x1/messages", json=body).status_code == 200
    http, _ = app.browser(key)
    html = http.get("/console/sessions/x1").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def _run_page(http: Browser, location: str, *, until_finished: bool = True) -> str:
    """The run page at ``location``; with ``until_finished``, polled (as the page's HTMX
    does) until the run has ended (a guard against hanging, not a measurement)."""
    deadline = time.monotonic() + 60
    while True:
        r = http.get(location)
        assert r.status_code == 200, r.text
        state = re.search(r'data-state="(\w+)"', r.text)
        assert state is not None
        if not until_finished or state.group(1) in ("done", "stopped", "failed"):
            return r.text
        assert time.monotonic() < deadline, "the cleanup run never ended"
        time.sleep(0.05)


def test_cleanup_lists_first_then_deletes_what_it_listed(app: App) -> None:
    key = app.key("oldie")
    for sid in ("o1", "o2"):
        assert app.api(key, "POST", "/sessions", json={"session_id": sid}).status_code == 200
    http, csrf = app.browser(key)
    r = http.get("/console/cleanup?older_than_days=0&by=created_at")
    assert r.status_code == 200 and "Dry run" in r.text
    assert "<code>o1</code>" in r.text and "<code>o2</code>" in r.text
    assert _exists(app, key, "o1") and _exists(app, key, "o2")
    form = {"csrf": csrf, "older_than_days": "0", "by": "created_at", "mode": "soft"}
    r = http.post("/console/cleanup", data=form, headers=SAME, follow_redirects=False)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/console/cleanup/runs/")
    page = _run_page(http, location)
    assert "<strong>Done</strong>: all 2 sessions dealt with: 2 deleted, 0 failed" in page
    assert 'id="run-bar" max="2" value="2"' in page
    assert "hx-trigger" not in page  # an ended run is not polled any more
    assert not _exists(app, key, "o1") and not _exists(app, key, "o2")
    assert location in http.get("/console/cleanup").text  # listed under the sign-in's runs
    r = http.post("/console/cleanup", data=form | {"csrf": "nope"}, headers=SAME)
    assert r.status_code == 403
    other, _ = app.browser(app.key("nosy"))
    assert other.get(location).status_code == 404  # another user's run is not theirs to see


def test_a_cleanup_run_shows_its_progress_and_stops_when_asked(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = app.key("slowpoke")
    for n in range(5):
        sid = f"p{n}"
        assert app.api(key, "POST", "/sessions", json={"session_id": sid}).status_code == 200
    deletion = app.services.deletion
    real_delete = deletion.delete
    reached, release = threading.Event(), threading.Event()

    def delete(identity: Identity, session_id: str, *args: Any, **kw: Any) -> Any:
        if session_id == "p2":  # the third: hold the run here until the test has looked
            reached.set()
            assert release.wait(30)
        return real_delete(identity, session_id, *args, **kw)

    monkeypatch.setattr(deletion, "delete", delete)
    http, csrf = app.browser(key)
    form = {"csrf": csrf, "older_than_days": "0", "by": "created_at", "mode": "hard"}
    r = http.post("/console/cleanup", data=form, headers=SAME, follow_redirects=False)
    location = r.headers["location"]
    assert reached.wait(30)
    poll = {"HX-Request": "true", "HX-Target": "run-progress"}
    partial = http.get(location, headers=poll).text  # what the page's poll swaps in
    assert "<html" not in partial
    assert 'data-state="running"' in partial and 'hx-trigger="every 1s"' in partial
    assert "<strong>2 of 5</strong> sessions dealt with (40%): 2 deleted" in partial
    assert 'id="run-bar" max="5" value="2"' in partial
    r = http.post(location + "/stop", data={"csrf": csrf}, headers=SAME, follow_redirects=False)
    assert r.status_code == 303
    assert "Stopping after the current session" in http.get(location, headers=poll).text
    release.set()
    page = _run_page(http, location)
    assert "Stopped at your request</strong> after 3 of 5 sessions: 3 deleted" in page
    assert "The other <strong>2</strong> sessions were not touched" in page
    assert [_exists(app, key, f"p{n}") for n in range(5)] == [False] * 3 + [True] * 2


def test_a_cleanup_run_cut_short_by_an_error_says_what_is_left(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = app.key("unlucky")
    for n in range(3):
        assert app.api(key, "POST", "/sessions", json={"session_id": f"u{n}"}).status_code == 200
    deletion = app.services.deletion
    real_delete = deletion.delete

    def delete(identity: Identity, session_id: str, *args: Any, **kw: Any) -> Any:
        if session_id == "u1":
            raise RuntimeError("the disk went away")
        return real_delete(identity, session_id, *args, **kw)

    monkeypatch.setattr(deletion, "delete", delete)
    http, csrf = app.browser(key)
    form = {"csrf": csrf, "older_than_days": "0", "by": "created_at", "mode": "soft"}
    r = http.post("/console/cleanup", data=form, headers=SAME, follow_redirects=False)
    page = _run_page(http, r.headers["location"])
    assert "Stopped by an error</strong> after 1 of 3 sessions: 1 deleted" in page
    assert "internal error (RuntimeError)" in page and "the disk went away" not in page
    assert "The other <strong>2</strong> sessions were not touched" in page
    assert [_exists(app, key, f"u{n}") for n in range(3)] == [False, True, True]


def test_an_unknown_cleanup_run_is_explained_not_left_blank(app: App) -> None:
    http, _ = app.browser(app.key("restarted"))
    r = http.get("/console/cleanup/runs/gone-after-restart")
    assert r.status_code == 404
    assert "does not know cleanup run <code>gone-after-restart</code>" in r.text
    assert "deleted whole or not at all" in r.text
    poll = {"HX-Request": "true", "HX-Target": "run-progress"}
    r = http.get("/console/cleanup/runs/gone-after-restart", headers=poll)
    assert r.status_code == 200 and "does not know" in r.text  # the poll swaps it in, stops
    assert "hx-trigger" not in r.text


def test_a_read_only_key_cannot_start_a_cleanup(app: App) -> None:
    http, csrf = app.browser(app.key("oldie", read_only=True))
    form = {"csrf": csrf, "older_than_days": "0", "by": "created_at", "mode": "soft"}
    r = http.post("/console/cleanup", data=form, headers=SAME)
    assert r.status_code == 403 and "read-only" in r.text


def test_a_batch_needs_a_selection_and_the_token(app: App, alice: str) -> None:
    http, _ = app.browser(alice)
    assert http.get("/console/batch?mode=soft").status_code == 400
    r = http.post("/console/batch", data={"ids": ["keep-me"], "mode": "hard"}, headers=SAME)
    assert r.status_code == 403
    assert _exists(app, alice, "keep-me")
    r = http.get("/console/batch?mode=hard&ids=keep-me&ids=nope")
    assert r.status_code == 200 and "NOT_FOUND" in r.text


def test_dev_mode_signs_in_without_a_key_on_loopback_only(tmp_path: Path) -> None:
    config = ServerConfig(path=str(tmp_path))
    app = create_app(config, services=build_services(config), start_worker=False)
    with TestClient(app, base_url="http://127.0.0.1:1933") as local:
        r = local.post("/console/signin", headers={"Origin": "http://127.0.0.1:1933"})
        assert r.status_code == 200 and "default/default · root" in r.text
    # A rebinding DNS name pointing at 127.0.0.1 is same-origin for the browser: refused.
    with TestClient(app, base_url="http://rebind.example:1933") as rebound:
        r = rebound.post("/console/signin", headers={"Origin": "http://rebind.example:1933"})
        assert r.status_code == 403 and "loopback" in r.text
        assert rebound.get("/console/sessions").status_code == 403


def test_the_list_filters_by_creation_date(app: App) -> None:
    key = app.key("dated")
    owner = Owner("acme", "dated")
    day = 86_400.0
    jan1 = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC).timestamp()
    for n in range(5):  # d0 on Jan 1st ... d4 on Jan 5th, at noon
        app.services.store.create_session(owner, f"d{n}", jan1 + n * day + day / 2)
    http, _ = app.browser(key)

    def listed(query: str) -> list[str]:
        r = http.get("/console/sessions?" + query)
        assert r.status_code == 200, r.text
        return re.findall(r">(d\d)</a>", r.text)

    assert listed("since=2020-01-02&until=2020-01-04") == ["d3", "d2", "d1"]
    assert listed("since=2020-01-04") == ["d4", "d3"]
    assert listed("until=2020-01-01") == ["d0"]
    assert listed("since=2020-01-02&until=2020-01-04&limit=25&state=all") == ["d3", "d2", "d1"]
    assert http.get("/console/sessions?since=yesterday").status_code == 400
    me = Identity(account="acme", user="dated", role="user")
    ascending = app.services.sessions.list_sessions(
        me, order="asc", created_since=jan1 + day, created_before=jan1 + 3 * day, limit=1
    )
    assert [s.session_id for s in ascending] == ["d1"]
    nxt = app.services.sessions.list_sessions(
        me, order="asc", cursor="d1", created_since=jan1 + day, created_before=jan1 + 3 * day
    )
    assert [s.session_id for s in nxt] == ["d2"]


def test_pages_cannot_be_framed_and_run_only_local_scripts(app: App, alice: str) -> None:
    http, _ = app.browser(alice)
    for path in ("/console/signin", "/console/sessions", "/console/sessions/nope"):
        r = http.get(path)
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert r.headers["x-frame-options"] == "DENY"
        assert "<script>" not in r.text  # no inline script: the policy would block it


def test_a_session_named_like_a_console_page_still_opens(app: App) -> None:
    key = app.key("namer")
    for sid in ("batch", "cleanup-old"):
        assert app.api(key, "POST", "/sessions", json={"session_id": sid}).status_code == 200
    http, _ = app.browser(key)
    for sid in ("batch", "cleanup-old"):
        r = http.get(f"/console/sessions/{sid}")
        assert r.status_code == 200 and f"<code>{sid}</code>" in r.text


def test_only_console_routes_take_form_bodies(app: App, alice: str) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded", "X-API-Key": alice}
    r = app.client.post("/api/v1/sessions", content=b"session_id=x", headers=form)
    assert r.status_code == 415  # the API stays JSON-only
    http, csrf = app.browser(alice)
    plain = {"Content-Type": "text/plain", **SAME}
    r = http.post("/console/signout", content=f"csrf={csrf}".encode(), headers=plain)
    assert r.status_code == 415  # forms only, not any simple-request body


def _commit(app: App, key: str, sid: str, *texts: str) -> None:
    for text in texts:
        body = {"role": "user", "content": text}
        assert app.api(key, "POST", f"/sessions/{sid}/messages", json=body).status_code == 200
    r = app.api(key, "POST", f"/sessions/{sid}/commit", json={"wait": True})
    assert r.status_code == 200, r.text


def test_the_sessions_list_says_how_many_in_all(app: App) -> None:
    key = app.key("counted")
    for n in range(4):
        assert app.api(key, "POST", "/sessions", json={"session_id": f"c{n}"}).status_code == 200
    assert app.api(key, "DELETE", "/sessions/c0", params={"mode": "soft"}).status_code == 200
    http, _ = app.browser(key)

    def total(query: str) -> int:
        r = http.get("/console/sessions?" + query)
        found = re.search(r'data-total="(\d+)"', r.text)
        assert r.status_code == 200 and found is not None, r.text
        return int(found.group(1))

    assert total("") == 3
    assert total("state=trash") == 1
    assert total("state=all&limit=25") == 4
    assert total("since=2000-01-01&until=2000-01-02") == 0
    assert "3 sessions</strong> · 3 on this page" in http.get("/console/sessions").text


def test_the_session_page_lists_its_commit_tasks(app: App) -> None:
    key = app.key("tasker")
    _commit(app, key, "t1", "My name is Tess.")
    http, _ = app.browser(key)
    html = http.get("/console/sessions/t1").text
    assert "Commit tasks (1)" in html
    row = re.search(r'<tr id="task-([^"]+)">(.*?)</tr>', html, re.S)
    assert row is not None, html
    record = app.api(key, "GET", f"/tasks/{row.group(1)}").json()["result"]
    assert record["resource_id"] == "t1" and record["status"] == "completed"
    assert 'href="#archive_001"' in row.group(2)
    assert "st-completed" in row.group(2) and "not yet" not in row.group(2)
    failed = task_view(
        TaskRow("t-x", "acme", "u", "commit", "s", 2, "failed", None, "LLM said no", 1.0, 2.0, 3)
    )
    assert (failed.archive_id, failed.error, failed.attempts) == ("archive_002", "LLM said no", 3)
    assert failed.finished_at is not None
    pending = task_view(
        TaskRow("t-y", "acme", "u", "commit", "s", 3, "pending", None, None, 1, 1, 0)
    )
    assert pending.finished_at is None


def test_the_purge_preview_names_the_memories_forgetting_would_remove(app: App) -> None:
    key = app.key("forgetful")
    _commit(app, key, "f1", "Remember that my boat is called Kon-Tiki.", "My name is Fay.")
    _commit(app, key, "f2", "My name is Fay.")  # name.md now has two sources
    http, _ = app.browser(key)
    page = http.get("/console/sessions/f1/delete?mode=hard&forget_memories=1").text
    listed = re.findall(r'<li><a href="/console/memory\?uri=([^"]+)">([^<]+)</a></li>', page)
    uris = [u for _, u in listed]
    assert uris == ["viking://user/forgetful/memories/facts/my-boat-is-called-kon-tiki.md"]
    assert "These would be removed" in page
    count = re.search(r'data-k="memories">(\d+)<', page)
    assert count is not None and int(count.group(1)) == len(uris)  # names match the count
    unticked = http.get("/console/sessions/f1/delete?mode=hard").text
    assert "Tick “Also forget” below and these would be removed" in unticked
    assert uris[0] in unticked
    assert (
        "Memories only this session produced"
        not in http.get("/console/sessions/f1/delete?mode=soft").text
    )


def test_provenance_of_a_deleted_session_says_so_instead_of_linking(app: App) -> None:
    key = app.key("historian")
    _commit(app, key, "h1", "My name is Hal.")
    uri = "viking://user/historian/memories/profile/name.md"
    http, _ = app.browser(key)
    page = http.get(f"/console/memory?uri={uri}").text
    assert 'href="/console/sessions/h1#archive_001"' in page
    assert app.api(key, "DELETE", "/sessions/h1", params={"mode": "soft"}).status_code == 200
    page = http.get(f"/console/memory?uri={uri}").text
    assert 'href="/console/sessions/h1#archive_001"' in page and "(in the trash)" in page
    r = app.api(key, "DELETE", "/sessions/h1")  # purged: the memory stays
    assert r.status_code == 200, r.text
    page = http.get(f"/console/memory?uri={uri}").text
    assert "deleted session <code>h1</code> · archive_001" in page
    assert "/console/sessions/h1" not in page
    assert app.api(key, "POST", "/sessions", json={"session_id": "h1"}).status_code == 200
    page = http.get(f"/console/memory?uri={uri}").text  # a new h1 is not where it came from
    assert "deleted session <code>h1</code>" in page and "/console/sessions/h1" not in page


def test_key_changes_are_in_the_audit_log(app: App) -> None:
    admin, csrf = app.browser(app.key("keymaster", "admin"))
    r = admin.post("/console/keys", data={"csrf": csrf, "user": "kim"}, headers=SAME)
    assert r.status_code == 200
    secret = re.search(r'id="new-key" readonly value="([^"]+)"', r.text)
    assert secret is not None
    key_id = secret.group(1).split("-")[1]
    r = admin.post(f"/console/keys/{key_id}/revoke", data={"csrf": csrf}, headers=SAME)
    assert r.status_code == 200
    entries = app.api(ROOT, "GET", "/audit", params={"account": "acme"}).json()["result"]
    mine = [e for e in entries if e.get("key_id") == key_id]
    assert [(e["action"], e["user_id"], e["session_id"]) for e in mine] == [
        ("revoke_key", "kim", None),
        ("create_key", "kim", None),
    ]
    assert all(e["actor"]["role"] == "admin" and "keymaster" in e["actor"]["user_id"] for e in mine)
    page = admin.get("/console/audit?action=create_key").text
    assert f"key <code>{key_id}</code>" in page and "user key" in page
    assert secret.group(1) not in page


def test_the_sessions_list_finds_sessions_by_what_was_said(app: App) -> None:
    key = app.key("searcher")
    other = app.key("neighbour")
    said = {
        "hike": "We planned a hike up the quagga ridge.",
        "diet": "No more coffee after noon.",
        "both": "The quagga ridge, then coffee.",
    }
    for sid, text in said.items():
        body = {"role": "user", "content": text}
        assert app.api(key, "POST", f"/sessions/{sid}/messages", json=body).status_code == 200
    _commit(app, key, "archived", "An archived talk about quagga herds.")
    body = {"role": "user", "content": "quagga in someone else's session"}
    assert app.api(other, "POST", "/sessions/theirs/messages", json=body).status_code == 200
    assert app.api(key, "DELETE", "/sessions/diet", params={"mode": "soft"}).status_code == 200
    http, _ = app.browser(key)

    def found(query: str) -> set[str]:
        r = http.get("/console/sessions?" + query)
        assert r.status_code == 200, r.text
        return set(re.findall(r'name="ids" value="([^"]+)"', r.text))

    assert found("q=quagga") == {"hike", "both", "archived"}  # archived messages too
    assert found("q=coffee") == {"both"}  # "diet" is in the trash
    assert found("q=zebra") == set()
    assert found("q=quagga&until=2000-01-01") == set()  # the date range still applies
    page = http.get("/console/sessions?q=coffee").text
    assert 'data-total="1"' in page and "<q>coffee</q>" in page
    assert 'name="q" value="coffee"' in page  # the form keeps the filter
    assert http.get("/console/sessions?q=quagga&state=trash").status_code == 400


def test_a_memory_change_whose_memory_is_gone_is_not_a_link(app: App) -> None:
    key = app.key("changer")
    _commit(app, key, "m1", "My name is Mo.")
    uri = "viking://user/changer/memories/profile/name.md"
    http, _ = app.browser(key)
    link = f'<a href="/console/memory?uri={uri.replace(":", "%3A").replace("/", "%2F")}'
    page = http.get("/console/sessions/m1").text
    assert "added <code>profile</code>" in page and "(deleted since)" not in page
    assert link in page or f'<a href="/console/memory?uri={uri}' in page
    assert app.api(key, "DELETE", "/fs", params={"uri": uri}).status_code == 200
    page = http.get("/console/sessions/m1").text
    assert 'user/changer/memories/profile/name.md <span class="hint">(deleted since)</span>' in page
    assert link not in page and f'<a href="/console/memory?uri={uri}' not in page


def test_image_and_unknown_parts_are_shown(app: App) -> None:
    key = app.key("painter")
    parts = [
        {"type": "text", "text": "look at this"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "hologram", "frames": [1, 2]},
    ]
    body = {"role": "user", "parts": parts}
    assert app.api(key, "POST", "/sessions/pics/messages", json=body).status_code == 200
    http, _ = app.browser(key)
    page = http.get("/console/sessions/pics").text
    assert '<a href="https://example.com/cat.png" rel="noreferrer">' in page
    assert "inline data (26 characters)" in page and 'href="data:' not in page
    assert "Part of type <code>hologram</code>" in page and '"frames": [' in page


def test_a_large_session_page_shows_its_first_messages_only(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session page holds at most ``SHOWN_BYTES`` of each transcript (read batch by
    batch), says how many messages there are in all and where to read them."""
    from skald_core.service import session_view

    monkeypatch.setattr(session_view, "SHOWN_BYTES", 3000)
    key = app.key("hoarder")
    for i in range(4):
        body = {"role": "user", "content": f"big{i} " + "z" * 1200}
        assert app.api(key, "POST", "/sessions/big/messages", json=body).status_code == 200
    http, _ = app.browser(key)
    html = http.get("/console/sessions/big").text
    assert "Live messages (4)" in html
    assert "big0 " in html and "big1 " in html and "big3 " not in html
    assert "Showing the first 2" in html and "/sessions/big/messages.jsonl" in html
    monkeypatch.setattr(session_view, "SHOWN_BYTES", 10**6)
    html = http.get("/console/sessions/big").text
    assert "big3 " in html and "Showing the first" not in html
