"""Contract §1.1: the published OpenViking client (``openviking-sdk==0.1.17``) works against a
real ``skald serve`` process, with correct results, in dev mode and in api-key mode.

The lifecycle is written once, as a generator that yields the client calls it wants made
(``Call("create_session")``) and receives each call's result, or gets the call's exception
thrown in at the same point. ``drive_sync`` runs it with ``SyncHTTPClient``, ``drive_async``
with ``AsyncHTTPClient`` inside one event loop, so both clients go through exactly the same
steps and assertions.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import openviking_sdk
import pytest
from openviking_sdk.errors import (
    AlreadyExistsError,
    NotFoundError,
    OpenVikingError,
    PermissionDeniedError,
)
from support.server import SkaldServer, mint_key, running_skald

TASK_TIMEOUT = 60.0


@dataclass
class Call:
    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def call(method: str, *args: Any, **kwargs: Any) -> Call:
    return Call(method, args, kwargs)


Lifecycle = Generator[Call, Any, None]


def session_lifecycle(server: SkaldServer) -> Lifecycle:
    """create → add → get → list → commit → read → batch → context → ls/stat → write/read →
    delete → get-after-delete (NotFoundError) → delete-again (NotFoundError)."""
    user = {"account_id": server.account, "user_id": server.user}

    assert (yield call("health")) is True

    created = yield call("create_session")
    sid = created["session_id"]
    assert isinstance(sid, str) and sid
    assert created["user"] == user
    assert created["uri"] == f"viking://user/{server.user}/sessions/{sid}"

    added = yield call("add_message", sid, "user", content="Hello, I prefer concise answers.")
    assert added["session_id"] == sid
    assert added["message_count"] == 1
    added = yield call("add_message", sid, "assistant", content="Noted - I will keep it short.")
    assert added["message_count"] == 2
    assert added["pending_tokens"] > 0

    meta = yield call("get_session", sid)
    assert meta["session_id"] == sid
    assert meta["message_count"] == 2
    assert meta["commit_count"] == 0
    assert meta["user"] == user

    listed = yield call("list_sessions")
    assert isinstance(listed, list)
    mine = [item for item in listed if item["session_id"] == sid]
    assert len(mine) == 1, listed
    assert mine[0]["is_dir"] is True
    assert mine[0]["message_count"] == 2

    committed = yield call("commit_session", sid)
    assert committed["session_id"] == sid
    assert committed["archived"] is True
    assert committed["status"] in ("accepted", "completed")
    assert committed["archive_uri"].endswith("/history/archive_001")
    task_id = committed["task_id"]
    assert task_id

    deadline = time.monotonic() + TASK_TIMEOUT
    while True:
        task = yield call("get_task", task_id)
        assert task is not None, f"get_task({task_id}) gave None (404)"
        assert task["task_id"] == task_id
        if task["status"] in ("completed", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, f"task still {task['status']} after {TASK_TIMEOUT}s"
        time.sleep(0.05)
    assert task["status"] == "completed", task

    raw_meta = yield call("read", f"viking://session/{sid}/.meta.json")
    assert isinstance(raw_meta, str)
    stored = json.loads(raw_meta)
    assert stored["session_id"] == sid
    assert stored["commit_count"] == 1
    assert stored["message_count"] == 0
    assert stored["total_message_count"] == 2

    batch = yield call(
        "batch_add_messages",
        sid,
        [
            {"role": "user", "content": "What is the capital of Norway?"},
            {"role": "assistant", "content": "Oslo."},
        ],
    )
    assert batch["session_id"] == sid
    assert batch["added"] == 2
    assert batch["message_count"] == 2

    context = yield call("get_session_context", sid)
    texts = [part["text"] for m in context["messages"] for part in m["parts"]]
    assert texts == ["What is the capital of Norway?", "Oslo."]
    assert [m["role"] for m in context["messages"]] == ["user", "assistant"]
    assert all(m["id"].startswith("msg_") for m in context["messages"])
    assert context["stats"]["totalArchives"] == 1
    assert context["estimatedTokens"] > 0

    session_dir = f"viking://session/{sid}"
    nodes = yield call("ls", session_dir)
    names = {node["name"] for node in nodes}
    assert {"messages.jsonl", "history"} <= names, nodes
    for node in nodes:
        assert set(node) >= {"name", "uri", "size", "isDir", "modTime"}, node
    hidden = yield call("ls", session_dir, show_all_hidden=True)
    assert ".meta.json" in {node["name"] for node in hidden}, hidden
    info = yield call("stat", session_dir)
    assert info["isDir"] is True
    assert info["name"] == sid
    assert info["uri"] == created["uri"]

    resource = f"viking://user/{server.user}/resources/contract/{sid}/notes.md"
    written = yield call("write", resource, "kept after delete\n", mode="create")
    assert written["uri"] == resource
    assert (yield call("read", resource)) == "kept after delete\n"
    with pytest.raises(AlreadyExistsError) as exists:
        yield call("write", resource, "again", mode="create")
    assert exists.value.code == "ALREADY_EXISTS"

    assert (yield call("delete_session", sid)) is None

    with pytest.raises(NotFoundError) as missing:
        yield call("get_session", sid)
    assert missing.value.code == "NOT_FOUND"
    assert sid in str(missing.value)

    with pytest.raises(NotFoundError) as missing_again:
        yield call("delete_session", sid)
    assert missing_again.value.code == "NOT_FOUND"
    assert missing_again.value.details.get("type") == "session"

    # Delete keeps resources (contract §8).
    assert (yield call("read", resource)) == "kept after delete\n"
    listed = yield call("list_sessions")
    assert sid not in {item["session_id"] for item in listed}


def drive_sync(client: Any, steps: Lifecycle) -> None:
    step = next(steps)
    while True:
        try:
            result = getattr(client, step.method)(*step.args, **step.kwargs)
        except Exception as exc:
            try:
                step = steps.throw(exc)
            except StopIteration:
                return
            continue
        try:
            step = steps.send(result)
        except StopIteration:
            return


async def drive_async(client: Any, steps: Lifecycle) -> None:
    step = next(steps)
    while True:
        try:
            result = await getattr(client, step.method)(*step.args, **step.kwargs)
        except Exception as exc:
            try:
                step = steps.throw(exc)
            except StopIteration:
                return
            continue
        try:
            step = steps.send(result)
        except StopIteration:
            return


SERVERS = {"dev": "dev_server", "api-key": "apikey_server", "dev-postgres": "dev_server_postgres"}


@pytest.fixture(params=list(SERVERS))
def server(request: pytest.FixtureRequest) -> SkaldServer:
    name = SERVERS[request.param]
    result: SkaldServer = request.getfixturevalue(name)
    return result


def test_sync_client_lifecycle(server: SkaldServer) -> None:
    client = openviking_sdk.SyncHTTPClient(url=server.url, api_key=server.api_key)
    client.initialize()
    try:
        drive_sync(client, session_lifecycle(server))
    except (Exception, pytest.fail.Exception) as exc:  # attach the server's log
        raise AssertionError(f"{exc!r}\n{server.describe()}") from exc
    finally:
        client.close()


def test_async_client_lifecycle(apikey_server: SkaldServer) -> None:
    async def main() -> None:
        client = openviking_sdk.AsyncHTTPClient(
            url=apikey_server.url, api_key=apikey_server.api_key
        )
        await client.initialize()
        try:
            await drive_async(client, session_lifecycle(apikey_server))
        finally:
            await client.close()

    try:
        asyncio.run(main())
    except (Exception, pytest.fail.Exception) as exc:  # attach the server's log
        raise AssertionError(f"{exc!r}\n{apikey_server.describe()}") from exc


def test_dev_mode_ignores_a_presented_key(dev_server: SkaldServer) -> None:
    """Contract §3: in dev mode a configured key is ignored, not rejected."""
    client = openviking_sdk.SyncHTTPClient(url=dev_server.url, api_key="any-key-at-all")
    client.initialize()
    try:
        sid = f"stray-key-{uuid.uuid4().hex[:8]}"
        assert client.create_session(sid)["session_id"] == sid
        assert client.add_message(sid, "user", content="hi")["message_count"] == 1
        client.delete_session(sid)
    finally:
        client.close()


def test_api_key_mode_refusals_reach_the_client(apikey_server: SkaldServer) -> None:
    """Missing key → UNAUTHENTICATED; a user key naming another user is its own user (§3)."""
    anonymous = openviking_sdk.SyncHTTPClient(url=apikey_server.url, api_key=None)
    anonymous.initialize()
    try:
        assert anonymous.health() is True  # /health is unauthenticated
        with pytest.raises(OpenVikingError) as unauth:
            anonymous.list_sessions()
        assert unauth.value.code == "UNAUTHENTICATED"
    finally:
        anonymous.close()

    impostor = openviking_sdk.SyncHTTPClient(
        url=apikey_server.url,
        api_key=apikey_server.api_key,
        account="elsewhere",
        user="mallory",
    )
    impostor.initialize()
    try:
        created = impostor.create_session()
        assert created["user"] == {
            "account_id": apikey_server.account,
            "user_id": apikey_server.user,
        }
        impostor.delete_session(created["session_id"])
    finally:
        impostor.close()


@pytest.fixture(scope="module")
def openviking_codes_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SkaldServer]:
    """A key-mode server with ``SKALD_ERROR_CODES=openviking`` and two users' keys."""
    data = tmp_path_factory.mktemp("skald-ov-codes") / "data"
    data.mkdir()
    key = mint_key(data, "acme", "alice", "user")
    other = mint_key(data, "acme", "bob", "user")
    env = {"SKALD_ERROR_CODES": "openviking"}
    with running_skald(data, root_api_key="ov-codes-root-" + uuid.uuid4().hex, env=env) as server:
        server.api_key, server.account, server.user = key, "acme", "alice"
        server.other_key = other  # type: ignore[attr-defined]
        yield server


def test_permission_denied_is_caught_by_the_published_clients_class(
    openviking_codes_server: SkaldServer,
) -> None:
    """Under ``error_codes=openviking`` another user's file raises the real client's
    ``PermissionDeniedError`` (the seed's FORBIDDEN would be a bare ``OpenVikingError``)."""
    server = openviking_codes_server
    bob = openviking_sdk.SyncHTTPClient(url=server.url, api_key=server.other_key)  # type: ignore[attr-defined]
    bob.initialize()
    try:
        bob.write("viking://user/bob/resources/secret.md", "bob's")
    finally:
        bob.close()
    alice = openviking_sdk.SyncHTTPClient(url=server.url, api_key=server.api_key)
    alice.initialize()
    try:
        with pytest.raises(PermissionDeniedError) as denied:
            alice.read("viking://user/bob/resources/secret.md")
        assert denied.value.code == "PERMISSION_DENIED"
        with pytest.raises(PermissionDeniedError):
            alice.write("viking://user/bob/resources/secret.md", "alice's")
    finally:
        alice.close()
