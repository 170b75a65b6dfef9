"""Issue 12 §2: every malformed input is a 4xx with a clear message, never a 500 — on every
route of the app's own route table (so a route added later is covered too), on both backends.
"""

from __future__ import annotations

import json
import string
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import skald
from skald_core.ids import RESERVED_SESSION_IDS

from .conftest import App
from .routes import Route, action_collisions, routes

ENVELOPE = {"status", "result", "error", "time"}
FEW = settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])


def error_of(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, (resp.status_code, resp.text[:500])
    body = resp.json()
    assert set(body) == ENVELOPE and body["status"] == "error", body
    assert body["error"]["code"] == code, body
    assert "Traceback" not in resp.text
    return dict(body["error"])


def ok_of(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text[:500]
    return resp.json()["result"]


def post_routes(app: App) -> list[Route]:
    return [r for r in routes(app.app) if "POST" in r.methods]


def fill(route: Route, session_id: str = "s-hostile") -> str:
    return route.fill(
        session_id=session_id,
        archive_id="archive_001",
        task_id=str(uuid.uuid4()),
        tool_result_id="t1",
    )


def session_with_an_archive(app: App, headers: dict[str, str]) -> tuple[str, str, str]:
    """A session with one committed archive and one live message: (id, archive id, task id)."""
    sid = "s-" + uuid.uuid4().hex[:8]
    for text in ("one", "two"):
        ok_of(
            app.request(
                "POST",
                f"/api/v1/sessions/{sid}/messages",
                json={"role": "user", "content": text},
                headers=headers,
            )
        )
    done = ok_of(
        app.request("POST", f"/api/v1/sessions/{sid}/commit", json={"wait": True}, headers=headers)
    )
    ok_of(
        app.request(
            "POST",
            f"/api/v1/sessions/{sid}/messages",
            json={"role": "user", "content": "three"},
            headers=headers,
        )
    )
    return sid, done["archive_uri"].rsplit("/", 1)[1], done["task_id"]


# ---------------------------------------------------------------------------- invalid UTF-8

NOT_UTF8 = [
    b'{"session_id":"\xff"}',
    b'{"role":"user","content":"caf\xc3"}',  # truncated sequence
    b'{"role":"user","content":"\xed\xa0\x80"}',  # an encoded surrogate
    b'{"\xc0\xaf":1}',  # an overlong "/" in a key
    b'{"messages":[{"role":"user","content":"\xfe"}],"session_ids":["\xff"],"uri":"\xff"}',
]


@pytest.mark.parametrize("body", NOT_UTF8, ids=range(len(NOT_UTF8)))
def test_invalid_utf8_in_a_json_string_is_400_on_every_route_with_a_body(
    app: App, body: bytes
) -> None:
    headers = app.as_account()
    for route in post_routes(app):
        resp = app.request(
            "POST",
            fill(route),
            content=body,
            headers={**headers, "Content-Type": "application/json"},
        )
        err = error_of(resp, 400, "INVALID_ARGUMENT")
        assert "not valid UTF-8" in err["message"], (route.path, err)
    # nothing was written by any of them
    assert ok_of(app.request("GET", "/api/v1/sessions", headers=headers)) == []


def test_an_empty_body_says_a_body_is_required(app: App) -> None:
    headers = {**app.as_account(), "Content-Type": "application/json"}
    needs_body = []
    for route in post_routes(app):
        resp = app.request("POST", fill(route), content=b"", headers=headers)
        assert resp.status_code < 500, (route.path, resp.text)
        if resp.status_code == 400:
            err = error_of(resp, 400, "INVALID_ARGUMENT")
            assert "'data'" not in err["message"], (route.path, err)
            assert err["message"].startswith("Request body required"), (route.path, err)
            needs_body.append(route.path)
    assert "/api/v1/sessions/{session_id:str}/messages" in needs_body


# ---------------------------------------------------------------------------- HEAD


def test_head_answers_wherever_get_does(app: App) -> None:
    headers = app.as_account()
    sid, archive, task = session_with_an_archive(app, headers)
    query = {
        "/api/v1/content/read": {"uri": f"viking://session/{sid}/messages.jsonl"},
        "/api/v1/fs/ls": {"uri": f"viking://session/{sid}"},
        "/api/v1/fs/stat": {"uri": f"viking://session/{sid}"},
        "/api/v1/fs/tree": {"uri": f"viking://session/{sid}"},
        "/api/v1/fs/attrs": {"uri": f"viking://session/{sid}"},
        "/api/v1/content/abstract": {"uri": f"viking://session/{sid}"},
        "/api/v1/content/overview": {"uri": f"viking://session/{sid}"},
        "/api/v1/content/download": {"uri": f"viking://session/{sid}/messages.jsonl"},
    }
    # Skald never externalizes a tool output: reading one is always 404 (as for a missing one).
    missing = {
        "/api/v1/sessions/{session_id:str}/tool-results/{tool_result_id:str}",
        "/api/v1/sessions/{session_id:str}/tool-results/{tool_result_id:str}/search",
    }
    gets = [r for r in routes(app.app) if "GET" in r.methods]
    assert any(r.path == "/health" for r in gets)
    for route in gets:
        path = route.fill(session_id=sid, archive_id=archive, task_id=task, tool_result_id="t1")
        params = query.get(route.path)
        got = app.request("GET", path, params=params, headers=headers)
        head = app.request("HEAD", path, params=params, headers=headers)
        assert got.status_code == (404 if route.path in missing else 200), (path, got.text[:300])
        assert head.status_code == got.status_code, (path, head.status_code)
        assert head.content == b"", path
        assert head.headers["content-type"] == got.headers["content-type"], path
        if "content-length" in got.headers:
            assert int(head.headers["content-length"]) > 0, path
        else:  # a streamed answer (content/read, an archive): no length known up front
            assert "content-length" not in head.headers, path
    health = app.request("GET", "/health")
    assert app.request("HEAD", "/health").headers["content-length"] == str(len(health.content))
    # HEAD where only POST is answered stays a 405
    assert app.request("HEAD", "/api/v1/content/write").status_code == 405


# ---------------------------------------------------------------------------- action paths


def test_every_action_path_is_a_reserved_session_id(app: App) -> None:
    collisions = action_collisions(app.app)
    assert set(collisions) <= {"session_id"}, f"a path parameter collides: {collisions}"
    assert collisions["session_id"] <= RESERVED_SESSION_IDS, collisions


def reserved_ids(app: App) -> list[str]:
    return sorted(action_collisions(app.app)["session_id"])


def test_action_names_are_refused_as_session_ids_with_a_clear_error(app: App) -> None:
    headers = app.as_account()
    for name in reserved_ids(app):
        attempts = [
            ("POST", "/api/v1/sessions", {"session_id": name}),
            ("POST", f"/api/v1/sessions/{name}/messages", {"role": "user", "content": "x"}),
            (
                "POST",
                f"/api/v1/sessions/{name}/messages/batch",
                {"messages": [{"role": "user", "content": "x"}]},
            ),
            ("GET", f"/api/v1/sessions/{name}?auto_create=true", None),
            ("GET", f"/api/v1/sessions/{name}", None),
            ("DELETE", f"/api/v1/sessions/{name}", None),
            ("HEAD", f"/api/v1/sessions/{name}", None),
            (
                "POST",
                "/api/v1/content/write",
                {"uri": f"viking://session/{name}/notes.md", "content": "x"},
            ),
        ]
        for method, path, body in attempts:
            resp = app.request(method, path, json=body, headers=headers)
            if method == "HEAD":
                assert resp.status_code == 400, (path, resp.status_code)
                continue
            err = error_of(resp, 400, "INVALID_ARGUMENT")
            assert f"/api/v1/sessions/{name}" in err["message"], (method, path, err)
    assert ok_of(app.request("GET", "/api/v1/sessions", headers=headers)) == []


def test_the_embedded_client_refuses_action_names_too(app: App, tmp_path: Any) -> None:
    where: dict[str, Any] = {"path": tmp_path}
    if app.backend == "postgres":  # the app's own schema: a refusal writes nothing
        where.update(
            database_url=app.config.database_url, database_schema=app.config.database_schema
        )
    with skald.OpenViking(**where) as client:
        for name in reserved_ids(app):
            with pytest.raises(skald.InvalidArgumentError, match="action path"):
                client.create_session(name)
            with pytest.raises(skald.InvalidArgumentError, match="action path"):
                client.add_message(name, "user", "x")
            with pytest.raises(skald.InvalidArgumentError, match="action path"):
                client.session_exists(name)


# ---------------------------------------------------------------------------- JSONL pages

SEPARATORS = ["\u2028", "\u2029", "\u0085", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\r", "\r\n"]


def test_pages_of_messages_jsonl_split_only_at_the_files_line_ends(app: App) -> None:
    headers = app.as_account()
    sid = "s-lines"
    texts = [f"a{sep}b{sep}" for sep in SEPARATORS] + ["plain"]
    for text in texts:
        ok_of(
            app.request(
                "POST",
                f"/api/v1/sessions/{sid}/messages",
                json={"role": "user", "content": text},
                headers=headers,
            )
        )
    uri = f"viking://session/{sid}/messages.jsonl"
    whole = ok_of(app.request("GET", "/api/v1/content/read", params={"uri": uri}, headers=headers))
    for limit in (1, 2, 3):
        pages = []
        for offset in range(0, len(texts) + 1, limit):
            page = ok_of(
                app.request(
                    "GET",
                    "/api/v1/content/read",
                    params={"uri": uri, "offset": offset, "limit": limit},
                    headers=headers,
                )
            )
            lines = page.split("\n")
            assert lines[-1] == "" or page == "", page
            got = [json.loads(line) for line in lines[:-1]]  # never half a JSON line
            assert len(got) == min(limit, max(0, len(texts) - offset))
            pages.append(page)
        assert "".join(pages) == whole
    read_back = [json.loads(line)["parts"][0]["text"] for line in whole.split("\n")[:-1]]
    assert read_back == texts


# ---------------------------------------------------------------------------- tool ids

ANY_ID = st.one_of(
    st.text(max_size=40),
    st.sampled_from([".", "..", "a\\b", "a/b", " a", "a ", "x" * 129, "y" * 2000, "\x7f", "\x85"]),
    st.text(alphabet=string.printable, min_size=1, max_size=20),
)


def readable_everywhere(app: App, headers: dict[str, str], root: str) -> int:
    """Read every file and list every directory the tree of ``root`` lists; how many."""
    tree = ok_of(
        app.request(
            "GET",
            "/api/v1/fs/tree",
            params={"uri": root, "level_limit": 10, "show_all_hidden": True},
            headers=headers,
        )
    )
    for node in tree:
        if node["isDir"]:
            ok_of(app.request("GET", "/api/v1/fs/ls", params={"uri": node["uri"]}, headers=headers))
        else:
            ok_of(
                app.request(
                    "GET", "/api/v1/content/read", params={"uri": node["uri"]}, headers=headers
                )
            )
        ok_of(app.request("GET", "/api/v1/fs/stat", params={"uri": node["uri"]}, headers=headers))
    return len(tree)


@FEW
@given(tool_id=ANY_ID)
def test_every_listed_tool_record_is_readable_at_its_uri(app: App, tool_id: str) -> None:
    headers = app.as_account()
    sid = "s-tools"
    resp = app.request(
        "POST",
        f"/api/v1/sessions/{sid}/messages",
        json={"role": "assistant", "parts": [{"type": "tool", "tool_id": tool_id}]},
        headers=headers,
    )
    if resp.status_code != 200:
        err = error_of(resp, 400, "INVALID_ARGUMENT")
        assert "tool_id" in err["message"], err
        return
    root = f"viking://session/{sid}"
    assert readable_everywhere(app, headers, root) >= 3
    listed = ok_of(
        app.request(
            "GET",
            "/api/v1/fs/ls",
            # a tool id may start with a dot (".0"): listed as a hidden entry
            params={"uri": root + "/tools", "show_all_hidden": True},
            headers=headers,
        )
    )
    assert [n["name"] for n in listed] == [tool_id]


# ---------------------------------------------------------------------------- message fields

CONTROL = [chr(c) for c in [*range(0, 32), *range(127, 160)]]


@FEW
@given(
    field=st.sampled_from(["role", "peer_id", "turn_id"]),
    control=st.sampled_from(CONTROL),
    where=st.integers(0, 2),
)
def test_control_characters_are_refused_in_message_fields_as_in_ids(
    app: App, field: str, control: str, where: int
) -> None:
    value = ["", "us", "user"][where] + control + ["er", "", "x"][where]
    body = {"role": "user", "content": "x", field: value}
    headers = app.as_account()
    err = error_of(
        app.request("POST", "/api/v1/sessions/s1/messages", json=body, headers=headers),
        400,
        "INVALID_ARGUMENT",
    )
    assert f"'{field}'" in err["message"], err
    # the session id rules say the same of the same character
    err = error_of(
        app.request("POST", "/api/v1/sessions", json={"session_id": value}, headers=headers),
        400,
        "INVALID_ARGUMENT",
    )
    assert ok_of(app.request("GET", "/api/v1/sessions", headers=headers)) == []


@pytest.mark.parametrize("role", ["user", "assistant", "tool", "banana", "système", "🤖"])
def test_unknown_printable_roles_are_accepted_as_openviking_does(app: App, role: str) -> None:
    headers = app.as_account()
    ok_of(
        app.request(
            "POST",
            "/api/v1/sessions/s1/messages",
            json={"role": role, "content": "x"},
            headers=headers,
        )
    )
    page = ok_of(
        app.request(
            "GET",
            "/api/v1/content/read",
            params={"uri": "viking://session/s1/messages.jsonl"},
            headers=headers,
        )
    )
    assert json.loads(page)["role"] == role
