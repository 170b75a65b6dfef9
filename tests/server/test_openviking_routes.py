"""The routes the published OpenViking client calls beyond the seed's (issue 11): each
answers in OpenViking 0.5.2's shape (recorded in ``tests/contract/reference/``), never 404
"Route not found"."""

from __future__ import annotations

from .conftest import MakeServer
from .helpers import Caller, assert_error, assert_not_found, assert_ok

ME = "viking://user/default"


def test_session_config_stats_and_tool_results(make_server: MakeServer) -> None:
    c: Caller = make_server().caller()
    c.add("s1", "hello")
    c.add("s1", "again")

    config = assert_ok(c.patch("/api/v1/sessions/s1/config", json={"auto_commit_policy": None}))
    assert config == {
        "session_id": "s1",
        "auto_commit_policy": None,
        "memory_extraction_config": {"events": {"tags": []}},
    }
    stats = assert_ok(c.get("/api/v1/stats/sessions/s1"))
    assert stats == {"session_id": "s1", "total_turns": 2, "memories_extracted": 0}
    assert assert_ok(c.get("/api/v1/sessions/s1/tool-results")) == {"tool_results": []}
    assert_error(c.get("/api/v1/sessions/s1/tool-results/t1"), 404, "NOT_FOUND")
    assert_error(c.get("/api/v1/sessions/s1/tool-results/t1/search?q=x"), 404, "NOT_FOUND")
    for path in ("/api/v1/stats/sessions/nope", "/api/v1/sessions/nope/tool-results"):
        assert_not_found(c.get(path), "session", "nope")
    assert_not_found(c.patch("/api/v1/sessions/nope/config", json={}), "session", "nope")


def test_tasks_are_listed_waited_for_and_not_cancelled(make_server: MakeServer) -> None:
    c = make_server().caller()
    c.add("s1", "My name is Ada.")
    committed = assert_ok(c.post("/api/v1/sessions/s1/commit", json={}))

    waited = assert_ok(c.post("/api/v1/system/wait", json={}))
    assert "SessionCommit" in waited and waited["Embedding"]["processed"] == 0
    assert waited["SessionCommit"]["error_count"] == 0
    tasks = assert_ok(c.get("/api/v1/tasks", params={"limit": 10}))
    assert [t["task_id"] for t in tasks] == [committed["task_id"]]
    assert tasks[0]["status"] == "completed" and tasks[0]["resource_id"] == "s1"
    assert assert_ok(c.get("/api/v1/tasks", params={"resource_id": "other"})) == []
    assert assert_ok(c.get("/api/v1/tasks", params={"status": "failed"})) == []
    refused = assert_error(
        c.post(f"/api/v1/tasks/{committed['task_id']}/cancel"), 412, "FAILED_PRECONDITION"
    )
    assert "does not support cancellation" in refused["message"]
    assert_not_found(c.post("/api/v1/tasks/nope/cancel"), "task", "nope")


def test_abstract_overview_and_download(make_server: MakeServer) -> None:
    c = make_server().caller()
    c.add("s1", "My name is Ada.")
    assert_ok(c.post("/api/v1/sessions/s1/commit", json={"wait": True}))
    c.write(f"{ME}/resources/a.md", "héllo\n")

    session = "viking://session/s1"
    abstract = assert_ok(c.get("/api/v1/content/abstract", params={"uri": session}))
    assert abstract == c.read(f"{session}/.abstract.md") and abstract
    overview = assert_ok(c.get("/api/v1/content/overview", params={"uri": session}))
    assert overview == c.read(f"{session}/.overview.md") and overview
    assert assert_ok(c.get("/api/v1/content/abstract", params={"uri": f"{ME}/resources"})) == ""
    resp = c.get("/api/v1/content/download", params={"uri": f"{ME}/resources/a.md"})
    assert resp.status_code == 200 and resp.content == "héllo\n".encode()
    missing = c.get("/api/v1/content/download", params={"uri": f"{ME}/resources/no.md"})
    assert_not_found(missing, "file", f"{ME}/resources/no.md")


def test_batch_write_is_all_or_nothing(make_server: MakeServer) -> None:
    c = make_server().caller()
    c.write(f"{ME}/resources/d/old.md", "old")
    root = f"{ME}/resources/d"

    result = assert_ok(
        c.post(
            "/api/v1/content/batch-write",
            json={
                "root_uri": root,
                "operations": [
                    {"uri": f"{root}/new.md", "content": "new"},
                    {"uri": f"{root}/old.md", "content": "+", "mode": "append"},
                    {"uri": f"{root}/deep/x.md", "content": "x"},
                ],
                "wait": True,
            },
        )
    )
    assert result["created"] == [f"{root}/new.md", f"{root}/deep/x.md"]
    assert result["updated"] == [f"{root}/old.md"] and result["unchanged"] == []
    assert c.read(f"{root}/old.md") == "old+"
    same = {"root_uri": root, "operations": [{"uri": f"{root}/new.md", "content": "new"}]}
    assert assert_ok(c.post("/api/v1/content/batch-write", json=same))["unchanged"] == [
        f"{root}/new.md"
    ]
    bad = {
        "root_uri": root,
        "operations": [
            {"uri": f"{root}/first.md", "content": "1"},
            {"uri": f"{root}/new.md", "content": "2", "mode": "create"},
        ],
    }
    assert_error(c.post("/api/v1/content/batch-write", json=bad), 409, "ALREADY_EXISTS")
    assert_not_found(
        c.get("/api/v1/content/read", params={"uri": f"{root}/first.md"}),
        "file",
        f"{root}/first.md",
    )
    outside = {"root_uri": root, "operations": [{"uri": f"{ME}/resources/x.md", "content": "1"}]}
    assert_error(c.post("/api/v1/content/batch-write", json=outside), 400, "INVALID_ARGUMENT")
    missing = {"root_uri": f"{ME}/resources/none", "operations": []}
    assert_error(c.post("/api/v1/content/batch-write", json=missing), 404, "NOT_FOUND")


def test_copy_attrs_tags_and_reindex(make_server: MakeServer) -> None:
    c = make_server().caller()
    c.write(f"{ME}/resources/d/a.md", "A")
    c.write(f"{ME}/resources/d/sub/b.md", "B")

    copied = assert_ok(
        c.post(
            "/api/v1/fs/cp",
            json={"from_uri": f"{ME}/resources/d/a.md", "to_uri": f"{ME}/resources/c.md"},
        )
    )
    assert copied["operation"] == "copy" and copied["files_created"] == 1
    assert (copied["from"], copied["to"]) == (f"{ME}/resources/d/a.md", f"{ME}/resources/c.md")
    assert c.read(f"{ME}/resources/c.md") == "A"
    tree = {"from_uri": f"{ME}/resources/d", "to_uri": f"{ME}/resources/e", "recursive": True}
    assert assert_ok(c.post("/api/v1/fs/cp", json=tree))["files_created"] == 2
    assert c.read(f"{ME}/resources/e/sub/b.md") == "B"
    assert_error(c.post("/api/v1/fs/cp", json=tree), 409, "ALREADY_EXISTS")
    no_flag = {"from_uri": f"{ME}/resources/d", "to_uri": f"{ME}/resources/f"}
    assert_error(c.post("/api/v1/fs/cp", json=no_flag), 400, "INVALID_ARGUMENT")

    uri = f"{ME}/resources/c.md"
    attrs = assert_ok(c.get("/api/v1/fs/attrs", params={"uri": uri}))
    assert attrs == {"uri": uri, "context_type": "resource", "attrs": {"tags": []}}
    tagged = assert_ok(c.post("/api/v1/fs/attrs/set_tags", json={"uri": uri, "tags": ["x"]}))
    assert tagged["tags_updated"] is False and tagged["skipped_count"] == 1
    reindexed = assert_ok(c.post("/api/v1/content/reindex", json={"uri": f"{ME}/resources"}))
    assert reindexed["status"] == "completed" and reindexed["rebuilt_records"] == 0
    gone = f"{ME}/resources/none.md"
    assert_not_found(c.get("/api/v1/fs/attrs", params={"uri": gone}), "file", gone)
    assert_not_found(c.post("/api/v1/content/reindex", json={"uri": gone}), "file", gone)
