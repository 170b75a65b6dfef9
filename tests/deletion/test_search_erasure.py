"""The search index obeys deletion (issue 14, point 5), through the embedded client on SQLite:
a marker word is found, then after each delete path no search by any user finds it (full text
and hybrid: embeddings come from the fake endpoint of ``support/embeddings.py``), no
embedding vector of the removed memories remains, and once the client is closed no file under
the data directory holds the marker's bytes.

(The same paths on both backends, through the store alone: ``tests/store/test_search.py``.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.embeddings import FakeEmbeddings, running_embeddings

import skald
from skald_core.identity import Identity
from skald_core.schemas import FindRequest
from skald_core.service.embeddings import make_config

ME = "viking://user/default"


def new_marker() -> str:
    return "zqvk" + uuid.uuid4().hex[:12]


def files_holding(data: Path, marker: str) -> list[str]:
    needle = marker.encode()
    return sorted(p.name for p in data.rglob("*") if p.is_file() and needle in p.read_bytes())


def found_by_anyone(client: Any, marker: str) -> dict[str, int]:
    """Hits for the marker per user (this one, another of the account, the same name in
    another account), in their memories/resources and in their conversations."""
    me: Identity = client.ctx
    out: dict[str, int] = {}
    for who in (me, Identity(account=me.account, user="bob"), Identity(account="x", user=me.user)):
        total = 0
        for target in ("", f"viking://user/{who.user}/sessions"):
            request = FindRequest(query=marker, target_uri=target)
            total += client.services.search.find(who, request).total
        out[f"{who.account}/{who.user}"] = total
    return out


def plant(client: Any, marker: str, *, extract: bool = True) -> None:
    """The marker in an archived and a live message, a memory and a resource."""
    if extract:
        client.add_message("s1", "user", f"I love {marker} tea.")
        client.commit_session("s1", wait=True)  # an archive and a memory holding the marker
    else:
        client.add_message("s1", "user", "Hello.")
        client.commit_session("s1", wait=True)
        client.add_message("s1", "user", f"I love {marker} tea.")
        client.write(f"{ME}/memories/preferences/tea.md", f"likes {marker} tea", mode="create")
    client.add_message("s1", "user", f"Still {marker}.")
    client.write(f"{ME}/resources/cv.md", f"CV of {marker}", mode="create")


def hard_delete(client: Any, marker: str) -> None:
    """Hard delete with forget_memories; the resource removed."""
    client.delete_session("s1", forget_memories=True)
    client.rm(f"{ME}/resources/cv.md")


def purge(client: Any, marker: str) -> None:
    """Soft delete (hidden at once), then the trash purge; the memory removed as a file, the
    resource replaced.

    A purge keeps the session's memories and so the completed extraction task, whose result
    lists the memories' URIs; the built-in extractor names a memory after the words it holds
    (``likes-<marker>-tea.md``). Those URIs are not the index's to remove: this path is
    planted with a memory written as a file, and its session's archive holds no marker."""
    client.delete_session("s1", mode="soft")
    assert client.find(marker, target_uri=f"{ME}/sessions")["total"] == 0
    assert client.services.deletion.sweep(retention_days=None, trash_days=-1) == 1
    for node in client.ls(f"{ME}/memories", recursive=True):
        if not node["isDir"]:
            client.rm(node["uri"])
    client.write(f"{ME}/resources/cv.md", "replaced", mode="replace")


def erase(client: Any, marker: str) -> None:
    client.erase_user("default")


PATHS: dict[str, Callable[[Any, str], None]] = {
    "hard-delete": hard_delete,
    "purge": purge,
    "erase-user": erase,
}


@pytest.fixture(scope="module")
def fake() -> Any:
    with running_embeddings() as server:
        yield server


def wait_for_vectors(client: Any, at_least: int) -> None:
    deadline = time.monotonic() + 30
    while client.services.store.vector_count() < at_least:
        assert time.monotonic() < deadline, "the memories were not embedded"
        time.sleep(0.02)


@pytest.mark.parametrize("path", list(PATHS))
def test_after_each_delete_path_nobody_finds_the_marker_and_no_file_holds_it(
    tmp_path: Path, path: str, fake: FakeEmbeddings
) -> None:
    data = tmp_path / "data"
    marker = new_marker()
    embeddings = make_config({"base_url": fake.base_url, "model": "fake-1"})
    with skald.OpenViking(path=data, embeddings=embeddings) as client:
        plant(client, marker, extract=path != "purge")
        wait_for_vectors(client, 1)  # the memory's vector
        assert client.find(marker)["search_mode"] == "hybrid"
        assert client.find(marker)["total"] == 2  # the memory and the resource
        assert client.find(marker, target_uri=f"{ME}/sessions")["total"] == 2
        assert found_by_anyone(client, marker) == {
            "default/default": 4,
            "default/bob": 0,
            "x/default": 0,
        }
        assert files_holding(data, marker), "control: the marker is on disk before deletion"

        PATHS[path](client, marker)

        assert found_by_anyone(client, marker) == {
            "default/default": 0,
            "default/bob": 0,
            "x/default": 0,
        }
        assert client.services.store.vector_count() == 0
        assert client.services.store.check_integrity() == []
    assert files_holding(data, marker) == [], "the marker is still on disk (client closed)"
