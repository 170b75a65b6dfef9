"""Issue 12 §6: an Idempotency-Key reused with a different body is 409 CONFLICT, over HTTP, on
both backends; the same body again is replayed; nothing of the second request is stored."""

from __future__ import annotations

import json

import pytest

from .conftest import App
from .test_bytes import error_of, ok_of

BODIES = [
    {"role": "user", "content": "second"},
    {"role": "assistant", "content": "first"},
    {"role": "user", "content": "first", "peer_id": "bob"},
    {"role": "user", "parts": [{"type": "text", "text": "first"}, {"type": "text", "text": "x"}]},
]


def jsonl(app: App, headers: dict[str, str], sid: str) -> list[dict[str, object]]:
    page = ok_of(
        app.request(
            "GET",
            "/api/v1/content/read",
            params={"uri": f"viking://session/{sid}/messages.jsonl"},
            headers=headers,
        )
    )
    return [json.loads(line) for line in page.split("\n")[:-1]]


@pytest.mark.parametrize("other", BODIES, ids=range(len(BODIES)))
def test_a_key_reused_with_another_body_is_409_conflict(app: App, other: dict[str, object]) -> None:
    headers = {**app.as_account(), "Idempotency-Key": "key-1"}
    path = "/api/v1/sessions/s1/messages"
    first = ok_of(
        app.request("POST", path, json={"role": "user", "content": "first"}, headers=headers)
    )
    # the same body again (a retry, telemetry aside): the first answer, nothing stored twice
    again = app.request(
        "POST",
        path,
        json={"role": "user", "content": "first", "telemetry": {"x": 1}},
        headers=headers,
    )
    assert ok_of(again) == first
    err = error_of(app.request("POST", path, json=other, headers=headers), 409, "CONFLICT")
    assert "Idempotency-Key" in err["message"]
    # and in a batch, or to another session
    batch = {"messages": [other]}
    error_of(app.request("POST", path + "/batch", json=batch, headers=headers), 409, "CONFLICT")
    error_of(
        app.request(
            "POST",
            "/api/v1/sessions/s2/messages",
            json={"role": "user", "content": "first"},
            headers=headers,
        ),
        409,
        "CONFLICT",
    )
    assert [m["parts"] for m in jsonl(app, headers, "s1")] == [[{"type": "text", "text": "first"}]]
