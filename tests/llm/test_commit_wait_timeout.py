"""``commit_wait_timeout`` (here from the TOML file, as an operator writes it) bounds how long a
``wait=true`` commit waits for a slow extraction: it answers 504 at the deadline, and the
extraction goes on in the background and completes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from support.server import running_skald

from .fake_provider import FakeProvider, Reply, answer

SLOW = 3.0


def test_a_waiting_commit_gives_up_at_commit_wait_timeout(tmp_path: Path) -> None:
    provider = FakeProvider()

    def slow(body: dict[str, Any]) -> Reply:
        time.sleep(SLOW)
        return 200, answer([{"category": "facts", "name": "x", "content": "remembered"}]), {}

    provider.handler = slow
    with provider.running():
        toml = tmp_path / "skald.toml"
        toml.write_text(
            f'commit_wait_timeout = 1\ntask_poll_seconds = 0.1\n\n[llm]\nbase_url = "'
            f'{provider.base_url}"\nmodel = "fake-model"\ntimeout = 30\n'
        )
        with (
            running_skald(tmp_path / "data", extra_args=["--config", str(toml)]) as server,
            httpx.Client(base_url=server.url, timeout=30) as http,
        ):
            base = "/api/v1/sessions/s1"
            assert http.post(base + "/messages", json={"role": "user", "content": "hi"}).is_success
            started = time.monotonic()
            answered = http.post(base + "/commit", json={"wait": True})
            took = time.monotonic() - started
            assert answered.status_code == 504, answered.text
            assert answered.json()["error"]["code"] == "DEADLINE_EXCEEDED"
            assert 0.9 <= took < SLOW, f"answered after {took:.1f}s"
            task_id = answered.json()["error"]["details"]["task_id"]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                task = http.get(f"/api/v1/tasks/{task_id}").json()["result"]
                if task["status"] in ("completed", "failed"):
                    break
                time.sleep(0.1)
            assert task["status"] == "completed", task
