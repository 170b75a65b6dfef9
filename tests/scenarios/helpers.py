"""Arrange-and-observe helpers shared by the scenarios (any client of the SDK surface)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

MEMORIES = "viking://user/default/memories"


def chat(client: Any, session_id: str, *user_lines: str) -> None:
    """A short conversation: each user line gets an assistant reply."""
    for line in user_lines:
        client.add_message(session_id, "user", line)
        client.add_message(session_id, "assistant", "Noted.")


def memories(client: Any) -> dict[str, str]:
    """Every memory file of user ``default``, by URI, with its content."""
    return {
        node["uri"]: client.read(node["uri"])
        for node in client.ls(MEMORIES, recursive=True)
        if not node["isDir"]
    }


def wait_until(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
