"""The server's log: one format (text or JSON lines), an access line per request with the route
template, status, duration and request id (never ids from the path, bodies or keys), and
repeated warnings rate-limited."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient
from support.server import running_skald

from skald_server import logs
from skald_server.app import create_app
from skald_server.config import ServerConfig

SECRET = "CONTENT-THAT-MUST-NOT-BE-LOGGED"
KEY = "root-key-that-must-not-be-logged-0123456789"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The server's log configuration on a buffer, in JSON; the previous one restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    logs.configure("info", "json", stream=buffer)
    try:
        yield buffer
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])


def records(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_an_access_line_per_request(tmp_path: Path, captured: io.StringIO) -> None:
    app = create_app(ServerConfig(path=str(tmp_path), root_api_key=KEY))
    with TestClient(app) as http:
        keyed = {"X-API-Key": KEY, "X-OpenViking-User": "u1"}
        sent = http.post(
            "/api/v1/sessions/sess-42/messages",
            json={"role": "user", "content": SECRET},
            headers={**keyed, "X-Request-Id": "req-from-caller"},
        )
        assert sent.status_code == 200
        assert sent.headers["x-request-id"] == "req-from-caller"
        missing = http.get(
            "/api/v1/sessions/sess-42x", headers={**keyed, "X-Request-Id": "bad id!"}
        )
        assert missing.status_code == 404
        generated = missing.headers["x-request-id"]
        assert generated != "bad id!" and len(generated) == 32
        assert http.get("/no/such/route").status_code == 404

    access = [r for r in records(captured) if r["logger"] == "skald.access"]
    assert [(r["method"], r["route"], r["status"]) for r in access] == [
        ("POST", "/api/v1/sessions/{session_id}/messages", 200),
        ("GET", "/api/v1/sessions/{session_id}", 404),
        ("GET", "unmatched", 404),
    ]
    assert access[0]["request_id"] == "req-from-caller"
    assert access[1]["request_id"] == generated
    assert all(isinstance(r["duration_ms"], float) and r["duration_ms"] >= 0 for r in access)
    text = captured.getvalue()
    assert SECRET not in text and KEY not in text and "sess-42" not in text


def test_repeated_warnings_are_rate_limited() -> None:
    now = [0.0]
    limit = logs.RepeatFilter(window=60, clock=lambda: now[0])

    def record(msg: str, level: int = logging.WARNING) -> logging.LogRecord:
        return logging.LogRecord("skald.tasks", level, __file__, 1, msg, ("x",), None)

    passed = [limit.filter(record("task worker: %s")) for _ in range(120)]
    assert passed.count(True) == 1
    assert limit.filter(record("another warning: %s"))  # a different warning is its own
    assert all(limit.filter(record("task worker: %s", logging.INFO)) for _ in range(5))
    now[0] = 61.0
    after = record("task worker: %s")
    assert limit.filter(after)
    assert "(and 119 more like it in the last 60s)" in after.getMessage()


def test_text_format_is_one_readable_line() -> None:
    line = logs.TextFormatter().format(
        logging.LogRecord("skald.server", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    )
    assert line.endswith(" INFO skald.server: hello there") and "\n" not in line


def test_skald_serve_json_logs_are_json_lines_only(tmp_path: Path) -> None:
    with running_skald(tmp_path / "data", extra_args=["--log-format", "json"]) as server:
        assert httpx.get(server.url + "/health", headers={"X-Request-Id": "probe-1"}).is_success
        assert httpx.post(
            server.url + "/api/v1/sessions/s/messages", json={"role": "user", "content": SECRET}
        ).is_success
    lines = [line for line in server.log().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line, banner included
    assert {"time", "level", "logger", "message"} <= set(parsed[0])
    assert any(p["logger"] == "skald.server" and "serving" in str(p["message"]) for p in parsed)
    probe = [p for p in parsed if p.get("request_id") == "probe-1"]
    assert [(p["route"], p["status"]) for p in probe] == [("/health", 200)]
    assert SECRET not in server.log()


def test_skald_serve_text_logs_have_one_format(tmp_path: Path) -> None:
    with running_skald(tmp_path / "data") as server:
        assert httpx.get(server.url + "/ready").is_success
    for line in server.log().splitlines():
        if line.strip():
            stamp, level, name = line.split(" ", 3)[:3]
            assert stamp.endswith("Z") and level in ("DEBUG", "INFO", "WARNING", "ERROR"), line
            assert name.endswith(":"), line
    assert "skald.access: GET /ready 200" in server.log()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_direct_access_line_is_the_line_logging_would_write(fmt: str) -> None:
    """``logs.access`` skips ``logging`` while the configured handler is the only one: its line
    must be exactly the one the handler would have formatted from the record."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    direct, through_logging = io.StringIO(), io.StringIO()
    try:
        logs.configure("info", fmt, stream=direct)
        logs.access("POST", "/api/v1/sessions/{session_id}/messages", 201, 0.0012345, "rid-1")
        # configuring again writes the access lines the first handler held
        handler = logs.configure("info", fmt, stream=through_logging)
        extra = logging.StreamHandler(io.StringIO())  # a second handler: the logging path
        root.addHandler(extra)
        logs.access("POST", "/api/v1/sessions/{session_id}/messages", 201, 0.0012345, "rid-1")
        root.removeHandler(extra)
        assert handler.stream is through_logging
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
    mine, theirs = direct.getvalue(), through_logging.getvalue()
    assert mine.count("\n") == theirs.count("\n") == 1
    # the same line but for the time stamp (taken twice)
    if fmt == "json":
        a, b = json.loads(mine), json.loads(theirs)
        assert a.pop("time").endswith("Z") and b.pop("time").endswith("Z")
        assert a == b and a["duration_ms"] == 1.23 and a["status"] == 201
    else:
        assert mine.split(" ", 1)[1] == theirs.split(" ", 1)[1]
        assert mine.split(" ", 1)[1] == (
            "INFO skald.access: POST /api/v1/sessions/{session_id}/messages 201 1.23ms "
            "request_id=rid-1\n"
        )


def test_timestamps_are_utc_with_milliseconds() -> None:
    assert logs._timestamp(0.5) == "1970-01-01T00:00:00.500Z"
    assert logs._timestamp(86400.25) == "1970-01-02T00:00:00.250Z"
    assert logs._timestamp(86401.75) == "1970-01-02T00:00:01.750Z"


def test_access_lines_are_written_in_batches_and_never_after_a_later_record() -> None:
    """Access lines wait in memory (one write for many requests) but are written within
    ``ACCESS_FLUSH_SECONDS``, before any other record, and at ``flush``."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    out = io.StringIO()
    try:
        handler = logs.configure("info", "text", stream=out)
        for i in range(3):
            logs.access("GET", "/health", 200, 0.001, f"rid-{i}")
        assert out.getvalue() == ""  # waiting, not written one by one
        logging.getLogger("skald.server").warning("something happened")
        lines = out.getvalue().splitlines()
        assert [line.split(" ", 1)[1] for line in lines] == [
            *(f"INFO skald.access: GET /health 200 1.00ms request_id=rid-{i}" for i in range(3)),
            "WARNING skald.server: something happened",
        ]
        logs.access("GET", "/health", 200, 0.001, "rid-late")
        deadline = time.monotonic() + 5
        while "rid-late" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "rid-late" in out.getvalue()  # written by the handler's own writer thread
        logs.access("GET", "/health", 200, 0.001, "rid-flushed")
        handler.flush()
        assert out.getvalue().endswith("request_id=rid-flushed\n")
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[0]:
            root.addHandler(h)
        root.setLevel(saved[1])
