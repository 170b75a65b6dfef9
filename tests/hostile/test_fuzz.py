"""Raw-bytes fuzzing of every route of the app's route table, on both backends (issue 12 §2).

Hypothesis builds hostile requests (any method a route takes, plus HEAD and one it does not;
path parameters, query strings and bodies of arbitrary bytes, broken and mutated JSON, JSON
nested deep, numbers out of range, bodies that are not UTF-8, any content type) and sends
them to the in-process app. Every answer must be a 4xx or 2xx — never a 5xx — and, except for
HEAD, parse as the contract's envelope (``/health``: its bare JSON); afterwards the app must
still be healthy and a message written before the fuzzing still readable. The schema-driven
fuzzing (schemathesis, over the OpenAPI document) is tests/contract/test_schemathesis.py.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import App
from .routes import Route, routes
from .test_bytes import ok_of

EXAMPLES = 150

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "role", "content", "parts", "session_id", "session_ids", "messages", "uri", "mode",
        "wait", "keep_recent_count", "older_than_days", "by", "dry_run", "from_uri", "to_uri",
        "archive_id", "type", "text", "tool_id", "peer_id", "created_at", "message_kind",
    ]
)  # fmt: skip
OBJECTS = st.dictionaries(FIELDS, JSONISH, max_size=6)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 7))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:  # deep nesting or a huge number
        return draw(st.sampled_from([b"[" * 50_000, b'{"a":' * 20_000, b"1e99999", b"-" * 9]))
    text = json.dumps(draw(OBJECTS)).encode()
    if kind == 2:
        return text
    if kind == 3:  # a byte or two changed: broken JSON or broken UTF-8
        at = draw(st.integers(0, max(0, len(text) - 1)))
        junk = draw(st.binary(min_size=1, max_size=3))
        return text[:at] + junk + text[at + 1 :]
    if kind == 4:  # cut short
        return text[: draw(st.integers(0, len(text)))]
    if kind == 5:
        messages = {"messages": [draw(OBJECTS) for _ in range(draw(st.integers(0, 3)))]}
        return json.dumps(messages).encode()
    # a byte that is not UTF-8 (or a broken sequence) inside one of the JSON's strings
    quotes = [i for i, ch in enumerate(text) if ch == ord('"')] or [0]
    at = draw(st.sampled_from(quotes)) + 1
    junk = draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\x80"]))
    return text[:at] + junk + text[at:]


SEGMENT = st.one_of(
    st.just("s1"),
    st.sampled_from(["s1", "cleanup", "batch-delete", "archive_001", "default", "..", "%2F"]),
    st.binary(min_size=1, max_size=20).map(lambda b: quote(b, safe="")),
    st.text(min_size=1, max_size=20).map(lambda t: quote(t.encode("utf-8", "replace"), safe="")),
)
QUERY_NAMES = st.sampled_from(
    ["uri", "offset", "limit", "cursor", "order", "mode", "include_deleted", "token_budget",
     "level_limit", "recursive", "show_all_hidden", "auto_create", "action", "x"]
)  # fmt: skip
QUERY_VALUES = st.one_of(
    st.sampled_from(["viking://session/s1", "viking://user/default", "-1", "99999999999999999999"]),
    st.binary(max_size=20).map(lambda b: quote(b, safe="")),
    st.text(max_size=20).map(lambda t: quote(t.encode("utf-8", "replace"), safe="")),
)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=latin-1", "text/plain", "", "x/\x7f"]
)


@st.composite
def requests(draw: st.DrawFn, table: list[Route]) -> dict[str, Any]:
    route = draw(st.sampled_from(table))
    methods = sorted(route.methods)
    method = draw(st.sampled_from(methods * 4 + ["HEAD", "PUT"]))
    values = {
        name: draw(SEGMENT)
        for name in ("session_id", "archive_id", "task_id", "tool_result_id", "account", "user")
    }
    query = "&".join(
        f"{draw(QUERY_NAMES)}={draw(QUERY_VALUES)}" for _ in range(draw(st.integers(0, 3)))
    )
    path = route.fill(**values) + (f"?{query}" if query else "")
    headers: dict[str, str] = {"X-OpenViking-Account": "fuzz"}
    content_type = draw(CONTENT_TYPES)
    if content_type:
        headers["Content-Type"] = content_type
    if draw(st.booleans()):  # any bytes but CR/LF (which no HTTP client can send)
        key = draw(st.binary(min_size=1, max_size=10)).replace(b"\r", b"").replace(b"\n", b"")
        headers["Idempotency-Key"] = key.decode("latin-1")
    return {"method": method, "path": path, "headers": headers, "body": draw(bodies())}


def test_no_byte_sequence_makes_a_server_error(app: App) -> None:
    canary = app.as_account()
    ok_of(
        app.request(
            "POST",
            "/api/v1/sessions/canary/messages",
            json={"role": "user", "content": "before the fuzzing"},
            headers=canary,
        )
    )
    table = routes(app.app)

    @settings(
        max_examples=EXAMPLES,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(request=requests(table))
    def one(request: dict[str, Any]) -> None:
        headers = {k: v.encode("latin-1") for k, v in request["headers"].items()}
        resp = app.request(
            request["method"], request["path"], content=request["body"], headers=headers
        )
        assert resp.status_code < 500, (request, resp.status_code, resp.text[:500])
        if request["method"] == "HEAD":
            assert resp.content == b""
            return
        body = resp.json()
        if request["path"].split("?")[0] == "/health" and resp.status_code == 200:
            assert body["status"] == "ok"
            return
        assert set(body) == {"status", "result", "error", "time"}, body
        if resp.status_code >= 400:
            assert body["status"] == "error" and set(body["error"]) == {
                "code",
                "message",
                "details",
            }

    one()
    assert app.request("GET", "/health").status_code == 200
    ok_of(app.request("GET", "/ready"))
    page = ok_of(
        app.request(
            "GET",
            "/api/v1/content/read",
            params={"uri": "viking://session/canary/messages.jsonl"},
            headers=canary,
        )
    )
    assert json.loads(page)["parts"] == [{"type": "text", "text": "before the fuzzing"}]
