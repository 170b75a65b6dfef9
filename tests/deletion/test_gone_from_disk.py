"""Deleted means gone from disk (issue 12, section 5): after a hard delete, a purge, a delete
with ``forget_memories`` or an ``rm``, no file under the data directory holds the deleted text
— while the store is still open (no clean shutdown has tidied the WAL), and after a ``kill -9``
of a real ``skald serve`` right after it acknowledged the delete.

A unique marker goes into the doomed data; other writes keep the WAL busy around it (kept text,
which must stay, is the control that the search finds what is there)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.server import skald_serve, start_server

import skald


def new_marker() -> str:
    return "qzvw" + uuid.uuid4().hex[:12]


def files_holding(data: Path, marker: str) -> list[str]:
    needle = marker.encode()
    return sorted(p.name for p in data.rglob("*") if p.is_file() and needle in p.read_bytes())


def _hard(c: Any) -> None:
    c.delete_session("doomed")


def _purge(c: Any) -> None:
    c.delete_session("doomed", mode="soft")
    c.add_message("other", "user", "more traffic after the soft delete")
    c.delete_session("doomed")


def _forget(c: Any) -> None:
    c.commit_session("doomed", wait=True)  # a memory of "I love <marker> tea"
    c.delete_session("doomed", forget_memories=True)


DELETES: dict[str, Callable[[Any], None]] = {"hard": _hard, "purge": _purge, "forget": _forget}


@pytest.mark.parametrize("how", sorted(DELETES))
def test_deleted_text_is_in_no_file_while_the_store_is_open(tmp_path: Path, how: str) -> None:
    data = tmp_path / "data"
    marker, kept = new_marker(), new_marker()
    with skald.OpenViking(path=data) as client:
        client.add_message("other", "user", f"kept {kept}")
        for i in range(30):
            client.add_message("doomed", "user", f"I love {marker} tea, number {i}.")
        client.write("viking://session/doomed/notes.md", f"notes on {marker}", mode="create")
        client.add_message("other", "user", "traffic")
        assert files_holding(data, marker), "control: the marker is on disk before the delete"

        DELETES[how](client)

        assert files_holding(data, marker) == [], f"{how}: the deleted text is still on disk"
        assert files_holding(data, kept), "control: kept text is still found"
        if how == "forget":
            memories = client.ls("viking://user/default/memories", recursive=True)
            assert [n for n in memories if not n["isDir"]] == []


def test_removed_file_text_is_in_no_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    marker = new_marker()
    with skald.OpenViking(path=data) as client:
        client.write("viking://resources/shared.md", f"secret {marker}", mode="create")
        client.add_message("s", "user", "traffic")
        assert files_holding(data, marker)
        client.rm("viking://resources/shared.md")
        assert files_holding(data, marker) == []


@pytest.mark.parametrize("how", ["hard", "purge"])
def test_deleted_text_is_gone_after_kill_9_right_after_the_ack(tmp_path: Path, how: str) -> None:
    data = tmp_path / "data"
    marker = new_marker()
    data.mkdir(parents=True)
    server = start_server("skald serve", skald_serve(data), tmp_path / "server.log")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for i in range(20):
                got = http.post(
                    "/api/v1/sessions/doomed/messages",
                    json={"role": "user", "content": f"I love {marker} tea, number {i}."},
                )
                assert got.status_code == 200, got.text
            assert files_holding(data, marker), "control: the marker is on disk"
            if how == "purge":
                got = http.delete("/api/v1/sessions/doomed", params={"mode": "soft"})
                assert got.status_code == 200, got.text
            got = http.delete("/api/v1/sessions/doomed")
            assert got.status_code == 200, got.text
        server.kill()  # SIGKILL: no shutdown tidies anything
        assert files_holding(data, marker) == [], "the deleted text survived the kill -9"
    finally:
        server.kill()
    # The killed server's files still open as a store, without the session.
    with skald.OpenViking(path=data) as client:
        assert not client.session_exists("doomed")
