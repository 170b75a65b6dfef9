"""Semantic search (issue 14, point 3): hybrid ranking with an OpenAI-compatible embedding
endpoint (the fake of ``support/embeddings.py`` on loopback), through the embedded client,
the server app in process and a real ``skald serve`` (configured by flag and environment),
on both backends.

The fake maps words to concepts, so "mountain trail walking" is near "Loves hiking" without a
shared word: full text cannot find it, hybrid search does.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.asgi import sync_client
from support.embeddings import FakeEmbeddings, running_embeddings
from support.server import running_skald

import skald
from skald_core.identity import Identity
from skald_core.schemas import FindRequest
from skald_core.service.embeddings import make_config
from skald_server.app import create_app
from skald_server.config import ServerConfig

ME = "viking://user/default"
MEM = f"{ME}/memories/preferences"
KINDS = [
    "embedded",
    "http-inprocess",
    "http-server",
    "embedded-postgres",
    "http-inprocess-postgres",
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeEmbeddings]:
    with running_embeddings() as server:
        yield server


@pytest.fixture(scope="module")
def semantic_server(
    tmp_path_factory: pytest.TempPathFactory, fake: FakeEmbeddings
) -> Iterator[Any]:
    """``skald serve`` with the endpoint given by flag and the model by environment."""
    data = tmp_path_factory.mktemp("semantic-server") / "data"
    args = ["--embedding-base-url", fake.base_url, "--embedding-query-timeout", "2"]
    with running_skald(data, extra_args=args, env={"SKALD_EMBEDDING_MODEL": "fake-1"}) as s:
        yield s


@pytest.fixture(params=KINDS)
def client(request: pytest.FixtureRequest, tmp_path: Path, fake: FakeEmbeddings) -> Iterator[Any]:
    fake.up = True
    kind = request.param
    embeddings = make_config({"base_url": fake.base_url, "model": "fake-1", "query_timeout": 2})
    settings = {"embedding_base_url": fake.base_url, "embedding_model": "fake-1"}
    if kind == "http-server":
        server = request.getfixturevalue("semantic_server")
        account = "sem-" + uuid.uuid4().hex[:12]
        with skald.SyncHTTPClient(url=server.url, account=account) as remote:
            yield remote
    elif kind.endswith("-postgres"):
        from postgres.support import DATABASE_URL, fresh_schema

        with fresh_schema("skald_sem") as schema:
            if kind == "embedded-postgres":
                with skald.OpenViking(
                    database_url=DATABASE_URL, database_schema=schema, embeddings=embeddings
                ) as pg:
                    yield pg
            else:
                config = ServerConfig(
                    path=str(tmp_path / "unused"),
                    database_url=DATABASE_URL,
                    database_schema=schema,
                    database_pool_max_size=4,
                    task_poll_seconds=0.2,
                    **settings,
                )
                with sync_client(create_app(config)) as inprocess:
                    yield inprocess
    elif kind == "embedded":
        with skald.OpenViking(path=tmp_path / "data", embeddings=embeddings) as embedded:
            yield embedded
    else:
        config = ServerConfig(path=str(tmp_path / "data"), task_poll_seconds=0.2, **settings)
        with sync_client(create_app(config)) as inprocess:
            yield inprocess


def embed_tasks(client: Any) -> list[dict[str, Any]]:
    return [t for t in client.list_tasks(task_type="embed", limit=100)]


def wait_embedded(client: Any, timeout: float = 60.0) -> None:
    """Until no embed task of the caller waits or runs."""
    deadline = time.monotonic() + timeout
    while True:
        tasks = embed_tasks(client)
        if tasks and all(t["status"] == "completed" for t in tasks):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"embedding did not finish: {tasks}")
        time.sleep(0.05)


def uris_of(hits: list[dict[str, Any]]) -> list[str]:
    return [h["uri"] for h in hits]


def test_a_query_sharing_no_word_finds_the_memory_by_meaning(client: Any) -> None:
    client.write(f"{MEM}/outdoors.md", "Loves hiking in the Alps every summer.", mode="create")
    client.write(f"{MEM}/tea.md", "Prefers green tea, no sugar.", mode="create")
    client.write(f"{MEM}/dog.md", "Has a puppy called Rex.", mode="create")
    wait_embedded(client)

    found = client.find("mountain trail walking")
    assert found["search_mode"] == "hybrid"
    assert uris_of(found["memories"]) == [f"{MEM}/outdoors.md"]
    assert found["memories"][0]["abstract"] == "Loves hiking in the Alps every summer."
    # Full text alone cannot find it: no word is shared.
    keywords = client.search("mountain trail walking", search_type="keywords")
    assert keywords["search_mode"] == "full_text" and keywords["total"] == 0

    # Both rankings agree: first, with the highest score.
    both = client.find("hiking trail")
    assert uris_of(both["memories"])[0] == f"{MEM}/outdoors.md"
    assert both["memories"][0]["score"] == 1.0
    # A word match still counts where meaning does not reach: full text's hit is kept.
    rex = client.find("rex")
    assert uris_of(rex["memories"]) == [f"{MEM}/dog.md"] and rex["search_mode"] == "hybrid"


def test_an_update_re_embeds_and_a_removal_drops_the_vector(client: Any) -> None:
    client.write(f"{MEM}/likes.md", "Plays the guitar in a band.", mode="create")
    wait_embedded(client)
    assert uris_of(client.find("concert piano")["memories"]) == [f"{MEM}/likes.md"]

    client.write(f"{MEM}/likes.md", "Bakes bread on Sundays.", mode="replace")
    wait_embedded(client)
    assert client.find("concert piano")["total"] == 0
    assert uris_of(client.find("pizza recipe")["memories"]) == [f"{MEM}/likes.md"]

    client.rm(f"{MEM}/likes.md")
    assert client.find("pizza recipe")["total"] == 0


def test_endpoint_down_at_commit_then_back(client: Any, fake: FakeEmbeddings) -> None:
    """The commit succeeds and full text finds the memory at once; the embed task waits,
    retried with backoff, and completes once the endpoint answers: then hybrid finds it."""
    fake.up = False
    try:
        client.add_message("s1", "user", "I love hiking in the mountains.")
        done = client.commit_session("s1", wait=True)  # extraction never waits for vectors
        assert done["status"] == "completed" or done.get("task_id")
        # Found by full text at once; a query's embedding fails: full text, and it says so.
        now = client.find("hiking")
        assert now["total"] == 1 and now["search_mode"] == "full_text_embedding_unavailable"
        # The embed task waits for the endpoint, with its attempts and the reason.
        deadline = time.monotonic() + 60
        while True:
            tasks = embed_tasks(client)
            tried = [t for t in tasks if t["error"] and t["meta"].get("attempts", 0) >= 1]
            if tried:
                break
            assert time.monotonic() < deadline, tasks
            time.sleep(0.1)
        assert tried[0]["status"] in ("pending", "running")
        assert "503" in tried[0]["error"] and "next try" in tried[0]["error"]
    finally:
        fake.up = True
    wait_embedded(client, timeout=90)
    found = client.find("mountain trail walking")
    assert found["search_mode"] == "hybrid" and found["total"] == 1
    assert found["memories"][0]["uri"].startswith(f"{ME}/memories/")


def test_another_users_vectors_are_never_candidates(client: Any) -> None:
    """Through the services of the embedded kinds (the store-level test,
    ``tests/store/test_search.py``, covers the candidates statement on both backends)."""
    services = getattr(client, "services", None)
    if services is None:
        pytest.skip("acts as other users through the embedded client's services")
    client.write(f"{MEM}/outdoors.md", "Loves hiking.", mode="create")
    wait_embedded(client)
    assert client.find("mountain trail")["total"] == 1
    me = client.ctx
    for other in (Identity(account=me.account, user="bob"), Identity(account="x", user=me.user)):
        got = services.search.find(other, FindRequest(query="mountain trail walking"))
        assert got.total == 0 and got.search_mode == "hybrid"
