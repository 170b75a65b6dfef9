"""Contract (issue 14): the published OpenViking client's ``find``, ``search``, ``grep`` and
``glob`` (``openviking-sdk==0.1.17``, unchanged) against a real ``skald serve``, on SQLite
and PostgreSQL, with the shapes recorded from OpenViking 0.5.2
(``fixtures/openviking_search_0.5.2.json``) and results asserted: the memory built to match
a query comes first.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import openviking_sdk
import pytest
from openviking_sdk.errors import InvalidArgumentError, OpenVikingError
from support.server import SkaldServer

REFERENCE = json.loads(
    (Path(__file__).parent / "fixtures" / "openviking_search_0.5.2.json").read_text()
)
RESULT_KEYS = set(REFERENCE["search"]["result_keys"])
HIT_KEYS = set(REFERENCE["hit_keys"])
SERVERS = {"sqlite": "dev_server", "postgres": "dev_server_postgres"}


@pytest.fixture(params=list(SERVERS))
def server(request: pytest.FixtureRequest) -> SkaldServer:
    result: SkaldServer = request.getfixturevalue(SERVERS[request.param])
    return result


def check_shape(result: dict[str, Any]) -> None:
    assert set(result) >= RESULT_KEYS, result
    hits = result["memories"] + result["resources"] + result["skills"]
    assert result["total"] == len(hits)
    for hit in hits:
        assert set(hit) >= HIT_KEYS, hit
        assert isinstance(hit["score"], float) and 0 < hit["score"] <= 1


def test_find_search_grep_glob_with_the_real_client(server: SkaldServer) -> None:
    client = openviking_sdk.SyncHTTPClient(url=server.url, api_key=server.api_key)
    client.initialize()
    try:
        run(client, server)
    except (Exception, pytest.fail.Exception) as exc:  # attach the server's log
        raise AssertionError(f"{exc!r}\n{server.describe()}") from exc
    finally:
        client.close()


def run(client: Any, server: SkaldServer) -> None:
    marker = "wombat" + uuid.uuid4().hex[:8]
    me = f"viking://user/{server.user}"
    mem = f"{me}/memories/preferences"
    hiking = f"{mem}/{marker}-hiking.md"
    client.write(hiking, f"The user loves hiking in the Alps; {marker} trail mix.", mode="create")
    client.write(f"{mem}/{marker}-tea.md", f"Prefers green tea ({marker}).", mode="create")
    client.write(f"{mem}/{marker}-walks.md", "Short walks, no hiking at all.", mode="create")

    found = client.find(f"hiking {marker}", limit=5)
    check_shape(found)
    assert found["memories"][0]["uri"] == hiking
    assert found["memories"][0]["context_type"] == "memory"
    assert found["memories"][0]["level"] == 2
    assert marker in found["memories"][0]["abstract"]
    assert found["search_mode"] == "full_text"
    narrowed = client.find(marker, target_uri=f"{me}/memories", limit=1)
    assert narrowed["total"] == 1 and narrowed["memories"][0]["uri"].startswith(f"{mem}/{marker}")
    assert client.find(marker, target_uri="viking://resources")["total"] == 0
    assert client.find(marker, options={"context_type": "skill"})["total"] == 0
    assert client.find(marker, options={"score_threshold": 0.9999})["total"] == 0

    searched = client.search(f"alps hiking {marker}", limit=3)
    check_shape(searched)
    assert searched["memories"][0]["uri"] == hiking

    # Conversations: find what the user said, in their sessions only.
    sid = client.create_session()["session_id"]
    client.add_message(sid, "user", content=f"Last month I walked the {marker} ridge.")
    said = client.find(f"{marker} ridge", target_uri=f"{me}/sessions")
    check_shape(said)
    assert said["total"] == 1
    hit = said["resources"][0]
    assert hit["session_id"] == sid and hit["role"] == "user"
    assert hit["uri"] == f"{me}/sessions/{sid}/messages.jsonl"
    assert client.search(marker, session_id="other", target_uri=f"{me}/sessions")["total"] == 0

    grepped = client.grep(f"{me}/memories", f"{marker.upper()} TRAIL", case_insensitive=True)
    assert set(grepped) == set(REFERENCE["grep"]["result"])
    assert grepped["count"] == grepped["match_count"] == 1
    assert grepped["matches"][0] == {
        "line": 1,
        "uri": hiking,
        "content": f"The user loves hiking in the Alps; {marker} trail mix.",
    }
    assert grepped["files_scanned"] >= 3
    assert client.grep(f"{me}/memories", f"{marker.upper()} TRAIL")["count"] == 0
    in_talk = client.grep(f"{me}/sessions/{sid}", f"{marker} ridge")
    assert in_talk["count"] == 1 and in_talk["matches"][0]["uri"].endswith("/messages.jsonl")

    globbed = client.glob(f"**/{marker}-*.md", uri=f"{me}/memories")
    assert set(globbed) == set(REFERENCE["glob"]["result"])
    assert globbed["matches"] == sorted(
        [hiking, f"{mem}/{marker}-tea.md", f"{mem}/{marker}-walks.md"]
    )
    assert globbed["count"] == 3
    assert client.glob(f"{marker}-*.md", uri=mem)["count"] == 3
    assert client.glob(f"{marker}-*.md", uri=f"{me}/memories")["count"] == 0

    with pytest.raises(InvalidArgumentError):
        client.find("")
    with pytest.raises(InvalidArgumentError):
        client.grep(f"{me}/memories", "((")
    with pytest.raises(OpenVikingError) as denied:
        client.find(marker, target_uri="viking://user/somebody-else/memories")
    assert denied.value.code == "FORBIDDEN"

    # Deleted: nothing of it is found any more.
    client.delete_session(sid)
    assert client.find(marker, target_uri=f"{me}/sessions")["total"] == 0
    client.rm(hiking)
    assert all(h["uri"] != hiking for h in client.find(marker)["memories"])


def test_async_client_find_and_search(apikey_server: SkaldServer) -> None:
    async def main() -> None:
        client = openviking_sdk.AsyncHTTPClient(
            url=apikey_server.url, api_key=apikey_server.api_key
        )
        await client.initialize()
        try:
            marker = "numbat" + uuid.uuid4().hex[:8]
            uri = f"viking://user/{apikey_server.user}/memories/events/{marker}.md"
            await client.write(uri, f"Ran a {marker} marathon", mode="create")
            found = await client.find(marker)
            check_shape(found)
            assert [h["uri"] for h in found["memories"]] == [uri]
            assert (await client.search(f"{marker} marathon"))["memories"][0]["uri"] == uri
            assert (await client.glob(f"**/{marker}.md"))["matches"] == [uri]
        finally:
            await client.close()

    try:
        asyncio.run(main())
    except (Exception, pytest.fail.Exception) as exc:
        raise AssertionError(f"{exc!r}\n{apikey_server.describe()}") from exc
