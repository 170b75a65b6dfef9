"""The web console in a real headless Chromium against a real ``skald serve`` (api-key mode).

One server and one browser for the module (the tests run in file order and build on each
other's state, as a person clicking through would). Playwright drives Debian's system
Chromium (``/usr/bin/chromium``; ``.ci/run`` installs it, ``playwright install`` is never run).
Outside CI the module skips when Chromium or Playwright is missing; in CI it fails.

Every request the pages make goes through ``_guard``: one to any host other than loopback
is aborted and recorded, and ``test_no_request_left_the_machine`` fails on any.

Screenshots of each page land in ``artifacts/console/`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from support.server import SkaldServer, mint_key, running_skald

CHROMIUM = "/usr/bin/chromium"
ROOT_KEY = "console-root-key-for-browser-tests"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
SESSIONS = 250  # alice's, the tool session included
OLD_SESSIONS = 40  # olga's, all cleaned up
PHONE = {"width": 390, "height": 844}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

try:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        Page,
        Route,
        expect,
        sync_playwright,
    )
except ImportError:  # pragma: no cover - the dev group installs it
    sync_playwright = None  # type: ignore[assignment]


def _require_browser() -> None:
    missing = []
    if sync_playwright is None:
        missing.append("the playwright package (uv sync)")
    if not Path(CHROMIUM).exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    if not missing:
        return
    message = "browser tests need " + " and ".join(missing)
    if os.environ.get("CI"):
        pytest.fail(f"CI: {message}; .ci/run installs them", pytrace=False)
    pytest.skip(message)


class World:
    """The server, its keys and the browser of the module."""

    def __init__(self, server: SkaldServer, browser: Browser, keys: dict[str, str]) -> None:
        self.server = server
        self.browser = browser
        self.keys = keys
        self.left_the_machine: list[str] = []

    @property
    def url(self) -> str:
        return self.server.url

    def _guard(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOOPBACK:
            route.continue_()
        else:
            self.left_the_machine.append(route.request.url)
            route.abort()

    def context(self, *, width: int = 1280, height: int = 800) -> BrowserContext:
        ctx = self.browser.new_context(viewport={"width": width, "height": height})
        ctx.route("**/*", self._guard)
        return ctx

    def signed_in(self, role: str, **viewport: int) -> tuple[BrowserContext, Page]:
        return self.signed_in_with(self.keys[role], **viewport)

    def signed_in_with(self, key: str, **viewport: int) -> tuple[BrowserContext, Page]:
        ctx = self.context(**viewport)
        page = ctx.new_page()
        sign_in(page, self.url, key)
        return ctx, page


def sign_in(page: Page, url: str, key: str) -> None:
    page.goto(url + "/console/signin")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/sessions")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _seed(url: str, alice: str) -> None:
    """Alice's 250 sessions: ``tools`` (tool calls, a context reference, two archives with
    memories) and ``purge-me`` among them."""
    headers = {"X-API-Key": alice, "Content-Type": "application/json"}
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=60) as http:

        def post(path: str, body: dict[str, Any]) -> Any:
            r = http.post(path, json=body)
            assert r.status_code == 200, r.text
            return r.json()["result"]

        for n in range(SESSIONS - 2):
            post("/sessions", {"session_id": f"s-{n:03d}"})
        post(
            "/sessions/purge-me/messages",
            {"role": "user", "content": "Remember that my boat is called Kon-Tiki."},
        )
        post("/sessions/purge-me/commit", {"wait": True})
        tools = "/sessions/tools"
        post(f"{tools}/messages", {"role": "user", "content": "My name is Ada. I love hiking."})
        post(
            f"{tools}/messages",
            {
                "role": "assistant",
                "parts": [
                    {"type": "text", "text": "Let me look that up."},
                    {
                        "type": "tool",
                        "tool_id": "call-1",
                        "tool_name": "web_search",
                        "tool_input": {"query": "trails near Oslo"},
                        "tool_output": "Nordmarka: 12 km loop",
                        "tool_status": "completed",
                    },
                    {
                        "type": "context",
                        "uri": "viking://user/alice/memories/preferences/hiking.md",
                        "abstract": "likes hiking",
                    },
                ],
            },
        )
        post(f"{tools}/commit", {"wait": True})
        post(f"{tools}/messages", {"role": "user", "content": "Remember that I prefer tea."})
        post(f"{tools}/commit", {"wait": True})
        post(f"{tools}/messages", {"role": "user", "content": "Still here, not committed."})
        # A memory whose session is gone (purged, the memory kept): its provenance says so.
        post(
            "/sessions/gone/messages",
            {"role": "user", "content": "Remember that the old boat was red."},
        )
        post("/sessions/gone/commit", {"wait": True})
        assert http.delete("/sessions/gone").status_code == 200


def _seed_old(url: str, olga: str) -> None:
    """Olga's sessions, for a cleanup run."""
    headers = {"X-API-Key": olga, "Content-Type": "application/json"}
    with httpx.Client(base_url=url + "/api/v1", headers=headers, timeout=60) as http:
        for n in range(OLD_SESSIONS):
            r = http.post("/sessions", json={"session_id": f"old-{n:02d}"})
            assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    _require_browser()
    base = tmp_path_factory.mktemp("console")
    data = base / "data"
    data.mkdir()
    keys = {
        "root": ROOT_KEY,
        "admin": mint_key(data, "acme", "boss", "admin"),
        "alice": mint_key(data, "acme", "alice"),
        "bob": mint_key(data, "acme", "bob"),
        "olga": mint_key(data, "acme", "olga"),
    }
    with running_skald(data, root_api_key=ROOT_KEY) as server:
        _seed(server.url, keys["alice"])
        _seed_old(server.url, keys["olga"])
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            try:
                yield World(server, browser, keys)
            finally:
                browser.close()


# ----------------------------------------------------------------------------- the tests


def test_sign_in_with_each_role_and_out_again(world: World) -> None:
    ctx = world.context()
    page = ctx.new_page()
    page.goto(world.url + "/console/sessions")
    page.wait_for_url("**/console/signin")  # not signed in: the sign-in form
    shot(page, "01-signin")
    page.get_by_label("API key").fill("sk-not-a-key")
    page.get_by_role("button", name="Sign in").click()
    assert "Invalid API key" in page.get_by_role("alert").inner_text()
    for role, who in [
        ("root", "default/default · root"),
        ("admin", "acme/boss · admin"),
        ("alice", "acme/alice · user"),
    ]:
        sign_in(page, world.url, world.keys[role])
        assert who in page.locator("header").inner_text()
        assert page.get_by_role("link", name="Audit log").count() == (role != "alice")
    cookie = next(c for c in ctx.cookies() if c["name"] == "skald_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert world.keys["alice"] not in cookie["value"]
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/signin")
    page.goto(world.url + "/console/sessions")
    page.wait_for_url("**/console/signin")
    ctx.close()


def test_keyboard_alone_signs_in(world: World) -> None:
    ctx = world.context()
    page = ctx.new_page()
    page.goto(world.url + "/console/signin")
    assert page.evaluate("document.activeElement.id") == "key"  # the key field has focus
    page.keyboard.type(world.keys["alice"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/sessions")
    page.keyboard.press("Tab")  # first stop: the skip link, which moves focus to the page
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(30):  # onwards through the filters and a checkbox to a session's link
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('table.list a')"):
            break
    else:
        raise AssertionError("Tab never reached the sessions table")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/sessions/*")
    ctx.close()


def test_page_through_250_sessions(world: World) -> None:
    ctx, page = world.signed_in("alice")
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        ids = page.locator("table.list tbody td a").all_inner_texts()
        assert ids, f"page {pages} is empty"
        seen += ids
        if pages == 1:
            assert page.locator("#total").get_attribute("data-total") == str(SESSIONS)
            assert f"{SESSIONS} sessions · 50 on this page" in page.locator("caption").inner_text()
            shot(page, "02-sessions")
        nxt = page.get_by_role("link", name="Next page")
        if nxt.count() == 0:
            break
        first = ids[0]
        nxt.click()  # HTMX swaps the table in place and pushes the URL
        page.wait_for_function(
            "f => document.querySelector('table.list tbody td a').textContent !== f", arg=first
        )
        assert "cursor=" in page.url
    assert pages == 5  # 50 a page
    assert len(seen) == len(set(seen)) == SESSIONS
    assert {"tools", "purge-me", "s-000", "s-247"} <= set(seen)
    ctx.close()


def test_find_a_session_by_what_was_said(world: World) -> None:
    ctx, page = world.signed_in("alice")
    page.get_by_label("Messages containing").fill("hiking")  # said in "tools", archived since
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**q=hiking**")
    assert page.locator("table.list tbody td a").all_inner_texts() == ["tools"]
    assert "whose messages contain" in page.locator("caption").inner_text()
    shot(page, "17-sessions-search")
    ctx.close()


def test_a_session_with_tool_calls_and_two_archives(world: World) -> None:
    ctx, page = world.signed_in("alice")
    page.get_by_role("link", name="Next page").wait_for()
    page.goto(world.url + "/console/sessions/tools")
    archives = page.locator("article.archive")
    assert archives.count() == 2
    assert archives.nth(0).locator(".badge").inner_text() == "extraction done"
    first = archives.nth(0)
    assert "added" in first.locator(".diff").inner_text()  # memories of the first commit
    memory_link = first.locator(".diff a").first
    assert memory_link.get_attribute("href", timeout=1000)
    first.locator("summary", has_text="Transcript").click()
    tool = first.locator("details.tool")
    tool.locator("summary").click()
    assert "web_search" in tool.locator("summary").inner_text()
    assert "trails near Oslo" in tool.inner_text()
    assert "Nordmarka: 12 km loop" in tool.inner_text()
    assert "viking://user/alice/memories/preferences/hiking.md" in first.inner_text()
    assert "Still here, not committed." in page.locator("#h-live + .transcript").inner_text()
    tasks = page.get_by_role("table", name="Commit tasks (2)").locator("tbody tr")
    assert tasks.count() == 2  # one commit task per archive, as records
    for n in range(2):
        cells = tasks.nth(n).locator("td").all_inner_texts()
        assert cells[1:3] == [f"archive_00{n + 1}", "completed"], cells
        assert cells[3] and cells[4] != "not yet" and cells[6] == "", cells  # times, no error
    shot(page, "03-session")
    # The README's picture (docs/console.png is a copy): what fits in 1280×800, small.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / "readme.png"))
    ctx.close()
    ctx, phone = world.signed_in("alice", width=390, height=844)
    phone.goto(world.url + "/console/sessions/tools")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the session page scrolls sideways at phone width ({width}px)"
    shot(phone, "04-session-phone")
    phone.goto(world.url + "/console/sessions")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "05-sessions-phone")
    ctx.close()


def test_memories_by_category_with_provenance_and_edit(world: World) -> None:
    ctx, page = world.signed_in("alice")
    page.goto(world.url + "/console/sessions/tools")
    page.locator("article.archive").nth(0).get_by_role("link", name="name.md").click()
    page.wait_for_url("**/console/memory?*")
    assert "tools · archive_001" in page.locator(".facts").inner_text()
    assert page.get_by_label("Content").input_value() == "The user's name is Ada."
    page.get_by_label("Content").fill("The user's name is Ada Lovelace.")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_role("status").inner_text() == "Saved."
    assert page.get_by_label("Content").input_value() == "The user's name is Ada Lovelace."
    shot(page, "11-memory")
    page.get_by_role("link", name="Memories", exact=True).click()
    page.wait_for_url("**/console/memories")
    headings = page.locator("main h2").all_inner_texts()
    assert {"facts (3)", "preferences (2)", "profile (1)"} <= set(headings), headings  # + gone's
    shot(page, "12-memories")
    ctx.close()


def test_trash_and_restore(world: World) -> None:
    ctx, page = world.signed_in("alice")
    page.goto(world.url + "/console/sessions/tools")
    page.get_by_role("link", name="Move to trash…").click()
    page.wait_for_url("**/delete?mode=soft")
    assert "Dry run" in page.get_by_role("status").inner_text()
    assert page.locator("td[data-k=messages]").inner_text() == "4"
    assert page.locator("td[data-k=archives]").inner_text() == "2"
    shot(page, "06-trash-preview")
    page.goto(world.url + "/console/sessions?state=trash")  # the preview changed nothing
    assert page.locator("table.list tbody td a").count() == 0
    page.go_back()
    page.get_by_role("button", name="Confirm: move to trash").click()
    expect(page.locator("h1")).to_contain_text("Moved to trash")
    page.goto(world.url + "/console/sessions?state=trash")
    assert page.locator("table.list tbody td a").all_inner_texts() == ["tools"]
    page.get_by_role("link", name="tools").click()
    page.wait_for_url("**/console/sessions/tools")
    assert "in the trash" in page.locator(".facts").inner_text()
    shot(page, "07-trashed")
    page.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("status")).to_contain_text("Restored from the trash")
    assert page.locator("article.archive").count() == 2
    ctx.close()


def test_purge_with_preview(world: World) -> None:
    ctx, page = world.signed_in("alice")
    page.goto(world.url + "/console/sessions/purge-me")
    page.get_by_role("link", name="Delete for good…").click()
    page.wait_for_url("**/delete?mode=hard")
    assert page.locator("td[data-k=memories]").inner_text() == "0"
    assert page.locator("td[data-k=kept]").inner_text() == "1"
    page.get_by_label("Also forget the memories only this session produced").check()
    page.get_by_role("button", name="Update preview").click()
    page.wait_for_url("**forget_memories=1*")
    assert page.locator("td[data-k=memories]").inner_text() == "1"  # forget_memories would
    assert page.locator("td[data-k=kept]").inner_text() == "0"
    assert page.locator("#forgettable li").all_inner_texts() == [  # which one, by name
        "viking://user/alice/memories/facts/my-boat-is-called-kon-tiki.md"
    ]
    shot(page, "08-purge-preview")
    page.get_by_role("button", name="Confirm: delete for good").click()
    expect(page.locator("h1")).to_contain_text("Deleted:")
    assert "1 memories removed" in page.get_by_role("status").inner_text()
    response = page.goto(world.url + "/console/sessions/purge-me")
    assert response is not None and response.status == 404
    ctx.close()


def test_batch_trash_of_a_selection_with_preview(world: World) -> None:
    ctx, page = world.signed_in("alice")
    page.get_by_label("Select s-247").check()
    page.get_by_label("Select s-246").check()
    page.get_by_role("button", name="Trash selected…").click()
    page.wait_for_url("**/console/batch?*")
    assert "Dry run" in page.get_by_role("status").inner_text()
    table = page.get_by_role("table", name="Dry-run receipts")
    assert table.locator("tbody tr").count() == 2
    shot(page, "14-batch-preview")
    page.get_by_role("button", name="Confirm: move to trash").click()
    expect(page.get_by_role("status")).to_contain_text("2 deleted, 0 not found")
    page.goto(world.url + "/console/sessions?state=trash")
    trashed = page.locator("table.list tbody td a").all_inner_texts()
    assert sorted(trashed) == ["s-246", "s-247"]
    ctx.close()


def test_the_admin_sees_the_audit_entries(world: World) -> None:
    ctx, page = world.signed_in("admin")
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/console/audit")
    rows = page.locator("table.list tbody tr")
    text = rows.all_inner_texts()
    purge = "\tacme/alice (key {}) (user)\tdelete\tacme/alice\tpurge-me\t"
    assert any(purge.format(world.keys["alice"].split("-")[1]) in r for r in text), text
    assert any("\trestore\tacme/alice\ttools" in r for r in text), text
    assert any("\tsoft_delete\tacme/alice\ttools" in r for r in text), text
    shot(page, "09-audit")
    page.get_by_label("Action").select_option("restore")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**action=restore*")
    assert all("\trestore\t" in r for r in rows.all_inner_texts())
    # The admin looks at alice's sessions through the same rule as X-OpenViking-User.
    page.goto(world.url + "/console/sessions?user=alice")
    assert page.locator("table.list tbody td a").count() == 50
    ctx.close()


def test_the_admin_creates_and_revokes_a_key(world: World) -> None:
    ctx, page = world.signed_in("admin")
    page.get_by_role("link", name="API keys").click()
    page.wait_for_url("**/console/keys")
    page.get_by_label("User", exact=True).fill("carol")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("Secret").input_value()
    assert secret.startswith("sk-")
    shot(page, "13-keys")
    carol_ctx, carol = world.signed_in_with(secret)
    assert "acme/carol · user" in carol.locator("header").inner_text()
    key_id = secret.split("-")[1]
    page.goto(world.url + "/console/keys")  # the secret is never shown again
    assert secret not in page.content()
    page.get_by_role("button", name=f"Revoke key {key_id}").click()
    expect(page.locator("tr", has_text=key_id)).to_contain_text("revoked")
    response = carol.goto(world.url + "/console/sessions")  # signed out at the next click
    assert response is not None and response.status == 401
    carol_ctx.close()
    page.get_by_role("link", name="Audit log").click()  # both changes are audited
    page.get_by_label("Action").select_option("create_key")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**action=create_key*")
    row = page.locator("table.list tbody tr", has_text=key_id)
    assert "acme/boss" in row.inner_text()
    assert f"\tcreate_key\tacme/carol\tkey {key_id}\tuser key" in row.inner_text()
    page.get_by_label("Action").select_option("revoke_key")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**action=revoke_key*")
    expect(page.locator("table.list tbody tr", has_text=key_id)).to_contain_text("revoke_key")
    assert secret not in page.content()
    shot(page, "15-audit-keys")
    ctx.close()


def test_a_memory_of_a_deleted_session_says_so(world: World) -> None:
    ctx, page = world.signed_in("alice")
    page.get_by_role("link", name="Memories", exact=True).click()
    page.get_by_role("link", name="the-old-boat-was-red.md").click()
    page.wait_for_url("**/console/memory?*")
    came_from = page.locator(".facts dd").nth(2)
    expect(came_from).to_contain_text("deleted session gone · archive_001")
    assert came_from.locator("a").count() == 0  # nothing to link to (it would be a 404)
    ctx.close()


def test_a_long_cleanup_shows_its_progress_to_the_end(world: World) -> None:
    ctx, page = world.signed_in("olga")
    page.get_by_role("link", name="Clean up old sessions…").click()
    page.wait_for_url("**/console/cleanup*")
    page.get_by_label("Older than (days)").fill("0")
    page.get_by_label("By").select_option(label="creation")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**older_than_days=0*")
    table = page.get_by_role("table", name="Matched sessions")
    assert table.locator("tbody tr").count() == OLD_SESSIONS
    page.get_by_role("button", name=f"Confirm: move {OLD_SESSIONS} sessions to the trash").click()
    page.wait_for_url("**/console/cleanup/runs/*")
    progress = page.locator("#run-progress")
    # The block polls itself (HTMX, every second) until the run has ended.
    expect(progress).to_have_attribute("data-state", "done", timeout=60_000)
    bar = page.locator("#run-bar")
    assert bar.get_attribute("max") == bar.get_attribute("value") == str(OLD_SESSIONS)
    expect(page.get_by_role("status")).to_contain_text(
        f"Done: all {OLD_SESSIONS} sessions dealt with: {OLD_SESSIONS} deleted, 0 failed"
    )
    shot(page, "16-cleanup-done")
    page.get_by_role("link", name="Back to the sessions").click()
    page.wait_for_url("**/console/sessions")
    assert page.locator("#total").get_attribute("data-total") == "0"
    page.goto(world.url + "/console/sessions?state=trash")
    assert page.locator("#total").get_attribute("data-total") == str(OLD_SESSIONS)
    page.goto(world.url + "/console/cleanup")  # the run stays listed for this sign-in
    expect(page.get_by_role("table", name="Cleanup runs")).to_contain_text(
        f"{OLD_SESSIONS} of {OLD_SESSIONS}"
    )
    ctx.close()


def test_a_user_key_cannot_open_another_users_session(world: World) -> None:
    ctx, page = world.signed_in("bob")
    response = page.goto(world.url + "/console/sessions/tools")
    assert response is not None and response.status == 404  # bob has no session "tools"
    # naming alice is ignored (a user key is its own user, as over the API): still bob's 404
    response = page.goto(world.url + "/console/sessions/tools?user=alice")
    assert response is not None and response.status == 404
    response = page.goto(world.url + "/console/audit")
    assert response is not None and response.status == 403
    ctx.close()


def test_a_cross_site_form_post_is_refused(world: World) -> None:
    ctx, page = world.signed_in("alice")
    port = world.server.port
    evil = f"http://localhost:{port}/evil"  # another origin (and site) on loopback
    target = f"{world.url}/console/sessions/tools/delete"
    ctx.route(
        evil,
        lambda route: route.fulfill(
            content_type="text/html",
            body=f"<form id=f method=post action='{target}'>"
            "<input name=mode value=hard><input name=csrf value=guess></form>"
            "<script>document.getElementById('f').submit()</script>",
        ),
    )
    with page.expect_response(target) as posted:
        page.goto(evil)
    assert posted.value.status == 403
    assert "Cross-site request refused" in page.get_by_role("alert").inner_text()
    page.goto(world.url + "/console/sessions/tools")  # still there
    assert page.locator("article.archive").count() == 2
    ctx.close()


def test_the_api_docs_page_works_offline(world: World) -> None:
    ctx, page = world.signed_in("alice")
    page.get_by_role("link", name="API docs").click()
    page.wait_for_url("**/schema")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Skald" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 10
    shot(page, "10-api-docs")
    ctx.close()


UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button, progress')]
  .filter(e => e.checkVisibility())
  .filter(e => !(e.getAttribute('aria-label') || e.getAttribute('aria-labelledby')
    || (e.tagName === 'BUTTON' && e.textContent.trim())
    || [...(e.labels || [])].some(l => l.textContent.trim())))
  .map(e => e.outerHTML.slice(0, 120))"""

FOCUSABLE = """() => {
  const all = [...document.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary')]
    .filter(e => e.checkVisibility() && !e.disabled);
  all.forEach((e, i) => e.dataset.tabCheck = String(i));
  return all.length;
}"""


def _tab_through(page: Page, name: str) -> None:
    """Tab alone reaches every visible control of the page, each with a visible focus ring."""
    count = page.evaluate(FOCUSABLE)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    reached: set[str] = set()
    for _ in range(2 * count + 10):  # a date field takes three stops (day, month, year)
        if len(reached) == count:
            break
        page.keyboard.press("Tab")
        got = page.evaluate(
            "() => { const e = document.activeElement; return e && e.dataset.tabCheck"
            " !== undefined ? [e.dataset.tabCheck, getComputedStyle(e).outlineStyle,"
            " e.outerHTML.slice(0, 100)] : null }"
        )
        if got is not None:
            reached.add(got[0])
            assert got[1] != "none", f"{name}: no focus ring on {got[2]}"
    missing = {str(i) for i in range(count)} - reached
    unreached = page.evaluate(
        "m => m.map(i => document.querySelector(`[data-tab-check='${i}']`).outerHTML.slice(0, 100))",
        sorted(missing),
    )
    assert not missing, f"{name}: Tab never reached {unreached}"


def test_pages_work_by_keyboard_are_labelled_and_fit_desktop_and_phone(world: World) -> None:
    """The accessible basics of every page, at 1280×800 and at a phone's 390×844: each form
    control has a label, one h1, Tab reaches every control (with a focus ring), nothing
    scrolls sideways; and a screenshot of each at both sizes."""
    memory = "/console/memory?uri=viking://user/alice/memories/profile/name.md"
    pages = {
        "alice": [
            ("sessions", "/console/sessions?limit=25"),
            ("session", "/console/sessions/tools"),
            ("delete-preview", "/console/sessions/tools/delete?mode=hard&forget_memories=1"),
            ("cleanup", "/console/cleanup?older_than_days=30&by=updated_at"),
            ("memories", "/console/memories"),
            ("memory", memory),
        ],
        "admin": [("audit", "/console/audit"), ("keys", "/console/keys")],
        "olga": [("cleanup-runs", "/console/cleanup")],
    }
    for role, paths in pages.items():
        for size, viewport in (("1280x800", {"width": 1280, "height": 800}), ("390x844", PHONE)):
            ctx, page = world.signed_in(role, **viewport)
            for name, path in paths:
                response = page.goto(world.url + path)
                assert response is not None and response.status == 200, (name, response)
                if name == "cleanup-runs":  # olga's finished run
                    page.get_by_role("table", name="Cleanup runs").locator("a").first.click()
                    page.wait_for_url("**/console/cleanup/runs/*")
                    name = "cleanup-run"
                assert page.evaluate(UNLABELLED) == [], name
                assert page.locator("h1").count() == 1, name
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], f"{name} scrolls sideways at {size}: {width}px"
                shot(page, f"a11y-{name}-{size}")
                if size == "1280x800":
                    _tab_through(page, name)
            ctx.close()


def test_no_request_left_the_machine(world: World) -> None:
    assert world.left_the_machine == []
    assert (SHOTS / "03-session.png").stat().st_size > 0


@pytest.fixture(scope="module", autouse=True)
def _clean_shots() -> Iterator[None]:
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    yield
