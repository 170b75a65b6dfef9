"""The published OpenViking client's whole public surface against a Skald server (issue 11).

Every public method of ``openviking_sdk.SyncHTTPClient`` and ``AsyncHTTPClient`` 0.1.17 is
either **exercised** here — called against a real server, with an assertion on its result —
or listed in ``UNSUPPORTED`` with the reason (the README's "not supported" table is this
dict). ``tests/contract/test_openviking_surface.py`` enumerates the classes by introspection,
so a method nobody listed fails the test.

Each exercise gets ``call(name, *args, **kwargs)`` (the sync or the async client behind it)
and a ``World`` of names to work on. Run by hand against any server for the figures::

    uv run python tests/contract/ov_surface.py http://127.0.0.1:1933 [API_KEY] [USER]
"""

from __future__ import annotations

import asyncio
import inspect
import json
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import openviking_sdk
from openviking_sdk._utils import run_async as sdk_run
from openviking_sdk.errors import FailedPreconditionError, NotFoundError, OpenVikingError

Call = Callable[..., Any]

#: Methods of the published client Skald does not serve, and why. Shown in the README.
UNSUPPORTED: dict[str, str] = {
    **{
        name: "access-control lists: Skald's access rule is the key's account and user (§3)"
        for name in ("acl_get", "acl_set", "acl_grant", "acl_revoke", "acl_delete")
    },
    **{
        name: "OpenViking's account, user, group and role administration: Skald manages keys "
        "with `skald keys` and erases users with DELETE /api/v1/admin/accounts/{a}/users/{u}"
        for name in (
            "admin_create_account",
            "admin_delete_account",
            "admin_get_account",
            "admin_list_accounts",
            "admin_get_account_settings",
            "admin_register_user",
            "admin_get_user",
            "admin_list_users",
            "admin_remove_user",
            "admin_set_role",
            "admin_regenerate_key",
            "admin_create_group",
            "admin_delete_group",
            "admin_list_groups",
            "admin_add_group_member",
            "admin_remove_group_member",
            "admin_list_group_members",
            "admin_migrate",
        )
    },
    **{
        name: "agent evolution and experience trajectories: not part of the session store"
        for name in (
            "admin_get_agent_evolution",
            "admin_set_agent_evolution",
            "admin_set_account_agent_evolution",
            "get_experience_outcomes",
            "list_experience_trajectories",
        )
    },
    **{
        name: "resource and skill ingestion (parsing, embedding): Skald stores sessions and "
        "memories; write files with `write`"
        for name in (
            "add_resource",
            "add_skill",
            "get_skill",
            "list_skills",
            "update_skill",
            "delete_skill",
            "find_skills",
            "validate_skill",
            "compile",
            "preflight_openviking_asset",
            "resolve_openviking_assets",
        )
    },
    **{
        name: "watches (scheduled re-ingestion of sources): no ingestion in Skald"
        for name in (
            "list_watches",
            "get_watch",
            "update_watch",
            "delete_watch",
            "trigger_watch",
        )
    },
    **{
        name: "ovpack export/import and backups: use `skald backup` / `skald restore` "
        "(SQLite) or pg_dump (PostgreSQL)"
        for name in ("export_ovpack", "import_ovpack", "backup_ovpack", "restore_ovpack")
    },
    **{
        name: "snapshots (git history of the tree): Skald keeps no file history"
        for name in (
            "git_commit",
            "git_log",
            "git_show",
            "git_diff",
            "git_diff_paths",
            "git_restore",
            "git_get_ignore",
            "git_set_ignore",
            "git_delete_ignore",
        )
    },
    "check_consistency": "vector-index consistency: Skald has no vector index",
    "vikingdb_status": "vector database status: Skald has no vector index",
    "models_status": "embedding/VLM model status: Skald calls no embedding model",
}


@dataclass
class World:
    """Names one run works on (fresh per run, so runs never collide)."""

    user: str = "default"
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def sid(self) -> str:
        return f"surface-{self.tag}"

    @property
    def res(self) -> str:
        return f"viking://user/{self.user}/resources/surface-{self.tag}"


def _raises(call: Call, error: type[BaseException], name: str, *args: Any, **kw: Any) -> Any:
    try:
        call(name, *args, **kw)
    except error as exc:
        return exc
    raise AssertionError(f"{name} did not raise {error.__name__}")


def _wait_task(call: Call, task_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        task = call("get_task", task_id)
        assert task is not None and task["task_id"] == task_id, task
        if task["status"] in ("completed", "failed", "cancelled"):
            return dict(task)
        assert time.monotonic() < deadline, task
        time.sleep(0.05)


# ------------------------------------------------------------------------------ exercises
# In the order they run: later ones use what earlier ones made.


def x_health(call: Call, w: World) -> None:
    assert call("health") is True


def x_is_healthy(call: Call, w: World) -> None:
    assert call("is_healthy") is True


def x_get_status(call: Call, w: World) -> None:
    status = call("get_status")
    assert status["is_healthy"] is True and "queue" in status["components"], status


def x_queue_status(call: Call, w: World) -> None:
    queue = call("queue_status")
    assert queue["name"] == "queue" and queue["is_healthy"] is True, queue


def x_create_session(call: Call, w: World) -> None:
    created = call("create_session", w.sid)
    assert created["session_id"] == w.sid
    assert created["uri"] == f"viking://user/{w.user}/sessions/{w.sid}"


def x_session_exists(call: Call, w: World) -> None:
    assert call("session_exists", w.sid) is True
    assert call("session_exists", w.sid + "-none") is False


def x_session(call: Call, w: World) -> None:
    session = call("session", w.sid)
    assert session.session_id == w.sid


def x_add_message(call: Call, w: World) -> None:
    from openviking_sdk.message import ImagePart, TextPart

    added = call("add_message", w.sid, "user", content="My name is Ada. I love hiking.")
    assert added["message_count"] == 1
    parts = [TextPart(text="look"), ImagePart(url="https://example.com/a.png", detail="low")]
    added = call("add_message", w.sid, "user", parts=[*parts, {"type": "future", "x": [1]}])
    assert added["message_count"] == 2


def x_batch_add_messages(call: Call, w: World) -> None:
    batch = call(
        "batch_add_messages",
        w.sid,
        [{"role": "assistant", "content": "Noted."}, {"role": "user", "content": "Thanks"}],
    )
    assert batch["added"] == 2 and batch["message_count"] == 4


def x_get_session(call: Call, w: World) -> None:
    meta = call("get_session", w.sid)
    assert meta["message_count"] == 4 and meta["min_raw_tail_steps"] == 1, meta


def x_list_sessions(call: Call, w: World) -> None:
    listed = call("list_sessions")
    assert w.sid in {s["session_id"] for s in listed}


def x_update_session_config(call: Call, w: World) -> None:
    config = call("update_session_config", w.sid, {"auto_commit_policy": None})
    assert config["session_id"] == w.sid and config["auto_commit_policy"] is None


def x_get_session_context(call: Call, w: World) -> None:
    context = call("get_session_context", w.sid)
    parts = context["messages"][1]["parts"]
    assert parts == [
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}},
        {"type": "future", "x": [1]},
    ], parts


def x_commit_session(call: Call, w: World) -> None:
    committed = call("commit_session", w.sid)
    assert committed["archived"] is True and committed["budget_exceeded"] is False
    w.task_id = committed["task_id"]  # type: ignore[attr-defined]


def x_get_task(call: Call, w: World) -> None:
    task = _wait_task(call, w.task_id)  # type: ignore[attr-defined]
    assert task["status"] == "completed", task
    assert call("get_task", "no-such-task") is None


def x_wait_processed(call: Call, w: World) -> None:
    waited = call("wait_processed")
    assert waited["SessionCommit"]["error_count"] == 0, waited


def x_list_tasks(call: Call, w: World) -> None:
    tasks = call("list_tasks", resource_id=w.sid)
    assert [t["task_id"] for t in tasks] == [w.task_id], tasks  # type: ignore[attr-defined]


def x_cancel_task(call: Call, w: World) -> None:
    _raises(call, FailedPreconditionError, "cancel_task", w.task_id)  # type: ignore[attr-defined]


def x_get_session_archive(call: Call, w: World) -> None:
    archive = call("get_session_archive", w.sid, "archive_001")
    assert archive["archive_id"] == "archive_001" and len(archive["messages"]) == 4


def x_write(call: Call, w: World) -> None:
    written = call("write", f"{w.res}/notes.md", "one\n")
    assert written["mode"] == "replace" and written["written_bytes"] == 4
    call("write", f"{w.res}/notes.md", "two\n", mode="append")


def x_read(call: Call, w: World) -> None:
    assert call("read", f"{w.res}/notes.md") == "one\ntwo\n"
    assert call("read", f"{w.res}/notes.md", offset=1, limit=1) == "two\n"


def x_find(call: Call, w: World) -> None:
    found = call("find", "two", target_uri=w.res)
    assert [h["uri"] for h in found["resources"]] == [f"{w.res}/notes.md"], found
    assert found["total"] == 1 and found["search_mode"] == "full_text"


def x_search(call: Call, w: World) -> None:
    found = call("search", "two", target_uri=w.res, limit=3)
    assert [h["uri"] for h in found["resources"]] == [f"{w.res}/notes.md"], found


def x_search_context(call: Call, w: World) -> None:
    found = call("search_context", "two", target_uri=w.res)
    assert [h["uri"] for h in found["resources"]] == [f"{w.res}/notes.md"], found


def x_grep(call: Call, w: World) -> None:
    grepped = call("grep", w.res, "^TW", case_insensitive=True)
    assert grepped["count"] == 1, grepped
    assert grepped["matches"][0] == {"line": 2, "uri": f"{w.res}/notes.md", "content": "two"}


def x_glob(call: Call, w: World) -> None:
    assert call("glob", "*.md", uri=w.res)["matches"] == [f"{w.res}/notes.md"]


def x_read_raw(call: Call, w: World) -> None:
    meta = json.loads(call("read_raw", f"viking://session/{w.sid}/.meta.json"))
    assert meta["commit_count"] == 1


def x_batch_write(call: Call, w: World) -> None:
    ops = [{"uri": f"{w.res}/b1.md", "content": "b1"}, {"uri": f"{w.res}/b2.md", "content": "b2"}]
    result = call("batch_write", w.res, ops)
    assert result["created"] == [f"{w.res}/b1.md", f"{w.res}/b2.md"], result


def x_mkdir(call: Call, w: World) -> None:
    assert call("mkdir", f"{w.res}/dir") is None


def x_mv(call: Call, w: World) -> None:
    assert call("mv", f"{w.res}/b2.md", f"{w.res}/dir/b2.md") is None


def x_ls(call: Call, w: World) -> None:
    nodes = call("ls", w.res)
    assert [n["name"] for n in nodes] == ["b1.md", "dir", "notes.md"], nodes
    assert {"mode", "isDir", "size", "uri"} <= set(nodes[0])


def x_ls_page(call: Call, w: World) -> None:
    page = call("ls_page", w.res, limit=1)
    assert page["has_more"] is True and len(page["result"]) == 1, page
    deep = call("ls", w.res, recursive=True)
    assert "dir/b2.md" in {n["rel_path"] for n in deep}


def x_tree(call: Call, w: World) -> None:
    nodes = call("tree", w.res)
    assert f"{w.res}/dir/b2.md" in {n["uri"] for n in nodes}


def x_tree_page(call: Call, w: World) -> None:
    page = call("tree_page", w.res, node_limit=2)
    assert page["has_more"] is True and len(page["result"]) == 2, page


def x_stat(call: Call, w: World) -> None:
    node = call("stat", f"{w.res}/notes.md")
    assert node["size"] == 8 and node["isLocked"] is False and node["mode"] == 0o644


def x_attrs(call: Call, w: World) -> None:
    assert call("attrs", f"{w.res}/notes.md")["attrs"] == {"tags": []}


def x_set_tags(call: Call, w: World) -> None:
    assert call("set_tags", f"{w.res}/notes.md", ["t"])["tags_updated"] is False


def x_reindex(call: Call, w: World) -> None:
    assert call("reindex", w.res)["status"] == "completed"


def x_download_bytes(call: Call, w: World) -> None:
    assert call("download_bytes", f"{w.res}/notes.md") == b"one\ntwo\n"


def x_abstract(call: Call, w: World) -> None:
    session = f"viking://session/{w.sid}"
    assert call("abstract", session) == call("read", f"{session}/.abstract.md")


def x_overview(call: Call, w: World) -> None:
    session = f"viking://session/{w.sid}"
    assert call("overview", session) == call("read", f"{session}/.overview.md")


def x_rm(call: Call, w: World) -> None:
    assert call("rm", f"{w.res}/notes.md") is None
    _raises(call, NotFoundError, "read", f"{w.res}/notes.md")
    call("rm", w.res, recursive=True)


def x_delete_session(call: Call, w: World) -> None:
    assert call("delete_session", w.sid) is None
    _raises(call, NotFoundError, "get_session", w.sid)


EXERCISES: dict[str, Callable[[Call, World], None]] = {
    name[2:]: fn for name, fn in list(globals().items()) if name.startswith("x_")
}
#: Methods the harness itself exercises (every run starts and ends with them).
LIFECYCLE = ("initialize", "close")


def public_methods(cls: type) -> set[str]:
    return {n for n, v in inspect.getmembers(cls) if not n.startswith("_") and callable(v)}


def run_sync(url: str, api_key: str | None, w: World) -> dict[str, BaseException | None]:
    client = openviking_sdk.SyncHTTPClient(url=url, api_key=api_key)
    client.initialize()
    try:
        return _run(lambda name, *a, **k: getattr(client, name)(*a, **k), w)
    finally:
        client.close()


def run_async(url: str, api_key: str | None, w: World) -> dict[str, BaseException | None]:
    """The same exercises through ``AsyncHTTPClient``, on one event loop (in a thread of its
    own, so that the exercises stay plain functions)."""
    loop = asyncio.new_event_loop()
    client = openviking_sdk.AsyncHTTPClient(url=url, api_key=api_key)

    def call(name: str, *args: Any, **kwargs: Any) -> Any:
        method = getattr(client, name)
        if inspect.iscoroutinefunction(method):
            return loop.run_until_complete(method(*args, **kwargs))
        if name == "session":
            return method(*args, **kwargs)
        # The async client's few synchronous methods (is_healthy, get_status, queue_status)
        # run on the SDK's own event loop, so they need a client that lives there: called on
        # one used from another loop they fail ("bound to a different event loop") against
        # any server. A client of their own, initialized on that loop.
        own = openviking_sdk.AsyncHTTPClient(url=url, api_key=api_key)
        sdk_run(own.initialize())
        try:
            return getattr(own, name)(*args, **kwargs)
        finally:
            sdk_run(own.close())

    try:
        loop.run_until_complete(client.initialize())
        return _run(call, w)
    finally:
        loop.run_until_complete(client.close())
        loop.close()


def _run(call: Call, w: World) -> dict[str, BaseException | None]:
    outcome: dict[str, BaseException | None] = {}
    for name, exercise in EXERCISES.items():
        try:
            exercise(call, w)
            outcome[name] = None
        except (AssertionError, OpenVikingError, Exception) as exc:
            outcome[name] = exc
    return outcome


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else "http://127.0.0.1:1933"
    key = argv[2] if len(argv) > 2 else None
    user = argv[3] if len(argv) > 3 else "default"
    total = public_methods(openviking_sdk.SyncHTTPClient) | public_methods(
        openviking_sdk.AsyncHTTPClient
    )
    outcome = run_sync(url, key, World(user=user))
    for name, exc in outcome.items():
        print(
            f"{'ok  ' if exc is None else 'FAIL'} {name}"
            + ("" if exc is None else f": {exc!r}"[:200])
        )
    passed = sum(exc is None for exc in outcome.values()) + len(LIFECYCLE)
    listed = len(set(UNSUPPORTED) & total)
    print(f"exercised and passing: {passed}/{len(total)} public methods ({listed} not supported)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
