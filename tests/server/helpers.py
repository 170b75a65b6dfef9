"""Assertions on the contract's envelope (§2) and a small per-caller request helper."""

from __future__ import annotations

import time
from typing import Any

import httpx
from litestar.testing import TestClient

ENVELOPE_KEYS = {"status", "result", "error", "time"}
#: Listings (``fs/ls``, ``fs/tree``) also say whether they were cut short, as OpenViking does.
PAGE_KEYS = {"has_more"}


def assert_headers(resp: httpx.Response) -> None:
    """Every response carries a request id and the processing time (contract §2)."""
    assert resp.headers.get("x-request-id"), resp.headers
    float(resp.headers["x-process-time"])


def assert_ok(resp: httpx.Response, status: int = 200) -> Any:
    """A success envelope; returns ``result``."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert ENVELOPE_KEYS <= set(body) <= ENVELOPE_KEYS | PAGE_KEYS, body
    assert isinstance(body.get("has_more", False), bool), body
    assert body["status"] == "ok", body
    assert body["error"] is None, body
    assert isinstance(body["time"], float), body
    assert body["time"] >= 0
    assert_headers(resp)
    return body["result"]


def assert_error(
    resp: httpx.Response, status: int, code: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An error envelope with the given HTTP status and code; returns ``error``.

    ``details``, when given, must be a subset of the error's details.
    """
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == ENVELOPE_KEYS, body
    assert body["status"] == "error", body
    assert body["result"] is None, body
    assert isinstance(body["time"], float), body
    err = body["error"]
    assert set(err) == {"code", "message", "details"}, err
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"], err
    assert isinstance(err["details"], dict), err
    assert "Traceback" not in resp.text
    if details is not None:
        assert {k: err["details"].get(k) for k in details} == details, err
    assert_headers(resp)
    return err


def assert_not_found(resp: httpx.Response, kind: str, resource: str) -> dict[str, Any]:
    err = assert_error(resp, 404, "NOT_FOUND", {"type": kind, "resource": resource})
    assert err["message"] == f"{kind.capitalize()} not found: {resource}", err
    return err


def assert_validation(resp: httpx.Response, field: str) -> dict[str, Any]:
    """400 INVALID_ARGUMENT whose message and validation_errors name ``field``."""
    err = assert_error(resp, 400, "INVALID_ARGUMENT")
    assert field in err["message"], err
    problems = err["details"]["validation_errors"]
    assert problems, err
    for p in problems:
        assert set(p) == {"loc", "message", "type"}, p
        assert isinstance(p["loc"], list) and p["loc"], p
    assert any(field in p["loc"] for p in problems), problems
    return err


class Caller:
    """One client of the app with fixed headers (a key and/or identity headers)."""

    def __init__(self, client: TestClient[Any], headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = dict(headers or {})

    def _h(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {**self.headers, **(extra or {})}

    def get(self, url: str, *, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.client.get(url, headers=self._h(headers), **kw)

    def post(self, url: str, *, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.client.post(url, headers=self._h(headers), **kw)

    def patch(
        self, url: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return self.client.patch(url, headers=self._h(headers), **kw)

    def delete(
        self, url: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return self.client.delete(url, headers=self._h(headers), **kw)

    def request(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return self.client.request(method, url, headers=self._h(headers), **kw)

    # -- shortcuts for arranging data -------------------------------------------------------
    def add(self, sid: str, content: str, role: str = "user") -> Any:
        return assert_ok(
            self.post(f"/api/v1/sessions/{sid}/messages", json={"role": role, "content": content})
        )

    def commit(self, sid: str, **body: Any) -> Any:
        return assert_ok(self.post(f"/api/v1/sessions/{sid}/commit", json=body))

    def meta(self, sid: str) -> Any:
        return assert_ok(self.get(f"/api/v1/sessions/{sid}"))

    def write(self, uri: str, content: str, mode: str = "create") -> Any:
        return assert_ok(
            self.post("/api/v1/content/write", json={"uri": uri, "content": content, "mode": mode})
        )

    def read(self, uri: str) -> str:
        result = assert_ok(self.get("/api/v1/content/read", params={"uri": uri}))
        assert isinstance(result, str)
        return result

    def whoami(self) -> Any:
        return assert_ok(self.get("/api/v1/system/status"))

    def wait_task(self, task_id: str, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            task = assert_ok(self.get(f"/api/v1/tasks/{task_id}"))
            if task["status"] in ("completed", "failed", "cancelled"):
                return task
            assert time.monotonic() < deadline, f"task {task_id} stuck in {task['status']}"
            time.sleep(0.02)


def snapshot(c: Caller, user: str) -> dict[str, Any]:
    """Everything ``c`` can see of ``user``'s data: sessions, their meta, every file's content."""
    sessions = assert_ok(c.get("/api/v1/sessions"))
    metas = {s["session_id"]: c.meta(s["session_id"]) for s in sessions}
    nodes = assert_ok(
        c.get(
            "/api/v1/fs/ls",
            params={"uri": f"viking://user/{user}", "recursive": "true", "show_all_hidden": "true"},
        )
    )
    files = {n["uri"]: None if n["isDir"] else c.read(n["uri"]) for n in nodes}
    return {"sessions": sessions, "metas": metas, "files": files}
