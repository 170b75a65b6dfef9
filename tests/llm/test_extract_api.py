"""``POST /api/v1/sessions/{id}/extract`` and ``extract_session`` on the clients.

The extractor here is an old-style one (``extract`` returning facts), which also checks that
such extractors still work: it fails while ``broken`` is set, like a provider that is down.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

import skald
from skald_core.schemas import Message
from skald_core.service.extraction import BuiltinExtractor, Fact
from skald_server.app import build_services, create_app
from skald_server.config import ServerConfig

JSON = {"Content-Type": "application/json"}
API = "/api/v1/sessions"
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:litestar")


class Flaky:
    name = "flaky"

    def __init__(self) -> None:
        self.broken = True

    def extract(self, messages: Sequence[Message], user: str) -> list[Fact]:
        if self.broken:
            raise RuntimeError("provider unavailable")
        return BuiltinExtractor().extract(messages, user)


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
def http(tmp_path: Path, flaky: Flaky) -> Iterator[TestClient[Any]]:
    config = ServerConfig(path=str(tmp_path), task_poll_seconds=0.05)
    services = build_services(config, extractor=flaky)
    with TestClient(create_app(config, services=services)) as client:
        yield client


def result(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()["result"]


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] == code, body
    return body


def commit_failed(http: TestClient[Any], sid: str, text: str) -> dict[str, Any]:
    result(http.post(f"{API}/{sid}/messages", json={"role": "user", "content": text}))
    committed: dict[str, Any] = result(http.post(f"{API}/{sid}/commit", json={"wait": True}))
    assert committed["status"] == "failed"
    assert committed["error"] == "RuntimeError: provider unavailable"
    return committed


def wait_task(http: TestClient[Any], task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60  # a wait: it ends as soon as the task finished
    while True:
        task: dict[str, Any] = result(http.get(f"/api/v1/tasks/{task_id}"))
        if task["status"] in ("completed", "failed", "cancelled"):
            return task
        assert time.monotonic() < deadline, task
        time.sleep(0.02)


def test_every_failed_archive_is_extracted_again(http: TestClient[Any], flaky: Flaky) -> None:
    commit_failed(http, "s1", "My name is Ada.")
    commit_failed(http, "s1", "I love tea.")
    flaky.broken = False

    queued = result(http.post(f"{API}/s1/extract"))

    assert queued["status"] == "accepted"
    assert [t["archive_id"] for t in queued["tasks"]] == ["archive_001", "archive_002"]
    for t in queued["tasks"]:
        assert wait_task(http, t["task_id"])["status"] == "completed"
    meta = result(http.get(f"{API}/s1"))
    assert meta["memories_extracted"] == {"total": 2, "preferences": 1, "profile": 1}
    diff = result(
        http.get(
            "/api/v1/content/read",
            params={
                "uri": "viking://user/default/sessions/s1/history/archive_002/memory_diff.json"
            },
        )
    )
    assert '"total_adds": 1' in diff


def test_one_named_archive_is_extracted_again(http: TestClient[Any], flaky: Flaky) -> None:
    commit_failed(http, "s1", "My name is Ada.")
    commit_failed(http, "s1", "I love tea.")
    flaky.broken = False

    queued = result(http.post(f"{API}/s1/extract", json={"archive_id": "archive_002"}))

    (only,) = queued["tasks"]
    assert only["archive_id"] == "archive_002"
    assert wait_task(http, only["task_id"])["status"] == "completed"
    archives = result(http.get(f"{API}/s1/context"))["stats"]
    assert archives["failedArchives"] == 1
    error(
        http.post(f"{API}/s1/extract", json={"archive_id": "archive_002"}),
        412,
        "FAILED_PRECONDITION",
    )


def test_extract_errors(http: TestClient[Any]) -> None:
    error(http.post(f"{API}/nope/extract"), 404, "NOT_FOUND")
    result(http.post(f"{API}/s1/messages", json={"role": "user", "content": "hi"}))
    assert result(http.post(f"{API}/s1/extract")) == {
        "session_id": "s1",
        "status": "skipped",
        "tasks": [],
        "reason": "no_failed_archives",
    }
    assert (
        error(http.post(f"{API}/s1/extract", json={"archive_id": "archive_009"}), 404, "NOT_FOUND")[
            "details"
        ]["type"]
        == "archive"
    )
    error(http.post(f"{API}/s1/extract", json={"archive_id": "latest"}), 400, "INVALID_ARGUMENT")
    error(http.post(f"{API}/s1/extract", json={"archive_id": 1}), 400, "INVALID_ARGUMENT")
    not_json = http.post(f"{API}/s1/extract", content=b"{not json", headers=JSON)
    error(not_json, 400, "INVALID_ARGUMENT")


def test_the_http_clients_extract_sessions(http: TestClient[Any], flaky: Flaky) -> None:
    commit_failed(http, "s1", "My name is Ada.")
    flaky.broken = False
    client = skald.SyncHTTPClient(http_client=http)  # type: ignore[arg-type]

    queued = client.extract_session("s1", archive_id="archive_001")

    assert queued["status"] == "accepted"
    assert wait_task(http, queued["tasks"][0]["task_id"])["status"] == "completed"
    assert client.extract_session("s1")["status"] == "skipped"
