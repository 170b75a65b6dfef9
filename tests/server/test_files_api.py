"""Contract §5: ``/api/v1/content`` and ``/api/v1/fs`` through the HTTP envelope."""

from __future__ import annotations

import pytest

from .helpers import Caller, assert_error, assert_not_found, assert_ok, assert_validation

ME = "viking://user/default"
NODE_KEYS = {"name", "uri", "size", "isDir", "modTime", "mode", "abstract"}
#: Recursive listings and trees also say where each node is below the listed directory.
TREE_KEYS = NODE_KEYS | {"rel_path"}
#: ``fs/stat``: a node, ``isLocked`` and a directory's ``count`` or a file's ``id``.
STAT_KEYS = NODE_KEYS | {"isLocked"}


def written(result: dict) -> dict:
    """A write's answer without OpenViking's extra fields (root_uri, statuses, ...)."""
    return {k: result[k] for k in ("uri", "mode", "written_bytes")}


def ls(c: Caller, uri: str, **params: object) -> list:
    return assert_ok(c.get("/api/v1/fs/ls", params={"uri": uri, **params}))


def write(c: Caller, uri: str, content: str, mode: str = "create"):
    return c.post("/api/v1/content/write", json={"uri": uri, "content": content, "mode": mode})


def read(c: Caller, uri: str, **params: object):
    return c.get("/api/v1/content/read", params={"uri": uri, **params})


# ------------------------------------------------------------------------------------ write
def test_write_create_makes_parents_and_reads_back(client: Caller) -> None:
    result = assert_ok(write(client, f"{ME}/resources/notes/a/b.md", "hello"))
    assert written(result) == {
        "uri": f"{ME}/resources/notes/a/b.md",
        "mode": "create",
        "written_bytes": 5,
    }
    assert client.read(f"{ME}/resources/notes/a/b.md") == "hello"
    assert client.read("viking://~/resources/notes/a/b.md") == "hello"
    node = assert_ok(client.get("/api/v1/fs/stat", params={"uri": f"{ME}/resources/notes/a"}))
    assert node["isDir"] is True


def test_write_create_on_existing_is_409(client: Caller) -> None:
    client.write(f"{ME}/x.md", "one")
    err = assert_error(write(client, f"{ME}/x.md", "two"), 409, "ALREADY_EXISTS")
    assert err["details"]["type"] == "file"
    assert client.read(f"{ME}/x.md") == "one"


def test_write_replace_and_append(client: Caller) -> None:
    client.write(f"{ME}/x.md", "one")
    assert assert_ok(write(client, f"{ME}/x.md", "two", "replace"))["mode"] == "replace"
    assert client.read(f"{ME}/x.md") == "two"
    result = assert_ok(write(client, f"{ME}/x.md", "+three", "append"))
    assert written(result) == {"uri": f"{ME}/x.md", "mode": "append", "written_bytes": 6}
    assert client.read(f"{ME}/x.md") == "two+three"


def test_write_default_mode_is_replace(client: Caller) -> None:
    client.write(f"{ME}/x.md", "one")
    resp = client.post("/api/v1/content/write", json={"uri": f"{ME}/x.md", "content": "two"})
    assert assert_ok(resp)["mode"] == "replace"
    assert client.read(f"{ME}/x.md") == "two"


@pytest.mark.parametrize("mode", ["replace", "append"])
def test_write_replace_or_append_creates_a_missing_file(client: Caller, mode: str) -> None:
    result = assert_ok(write(client, f"{ME}/resources/new/nope.md", "x", mode))
    assert written(result) == {
        "uri": f"{ME}/resources/new/nope.md",
        "mode": mode,
        "written_bytes": 1,
    }
    assert client.read(f"{ME}/resources/new/nope.md") == "x"
    assert ls(client, f"{ME}/resources/new")[0]["name"] == "nope.md"


def test_write_unicode_byte_count(client: Caller) -> None:
    assert assert_ok(write(client, f"{ME}/u.md", "héllo ✓"))["written_bytes"] == len(
        "héllo ✓".encode()
    )
    assert client.read(f"{ME}/u.md") == "héllo ✓"


def test_write_into_session_directory(client: Caller) -> None:
    client.add("s1", "hello")
    client.write("viking://session/s1/.deleted.json", '{"deleted": true}')
    assert client.read(f"{ME}/sessions/s1/.deleted.json") == '{"deleted": true}'
    names = [n["name"] for n in ls(client, f"{ME}/sessions/s1", show_all_hidden="true")]
    assert ".deleted.json" in names and "messages.jsonl" in names


def test_write_into_missing_session_is_404(client: Caller) -> None:
    err = assert_error(write(client, "viking://session/ghost/x.md", "x"), 404, "NOT_FOUND")
    assert err["details"]["type"] == "file"
    assert_not_found(client.get("/api/v1/sessions/ghost"), "session", "ghost")


@pytest.mark.parametrize(
    "uri",
    [
        "viking://session/s1/messages.jsonl",
        "viking://session/s1/.meta.json",
        "viking://session/s1/history/archive_001/messages.jsonl",
        "viking://session/s1",
        f"{ME}/sessions",
        f"{ME}/memories",
        "viking://",
    ],
)
def test_write_to_generated_or_fixed_paths_is_400(client: Caller, uri: str) -> None:
    client.add("s1", "hello")
    before = client.read("viking://session/s1/messages.jsonl")
    assert_error(write(client, uri, "x", "replace"), 400, "INVALID_ARGUMENT")
    assert client.read("viking://session/s1/messages.jsonl") == before


def test_write_onto_directory_is_400(client: Caller) -> None:
    client.write(f"{ME}/resources/d/f.md", "x")
    err = assert_error(write(client, f"{ME}/resources/d", "x", "replace"), 400, "INVALID_ARGUMENT")
    assert err["details"].get("expected") == "file"


# ------------------------------------------------------------------------------------ read
def test_read_offset_and_limit_are_lines(client: Caller) -> None:
    client.write(f"{ME}/lines.txt", "l0\nl1\nl2\nl3\n")
    assert assert_ok(read(client, f"{ME}/lines.txt", offset=1, limit=2)) == "l1\nl2\n"
    assert assert_ok(read(client, f"{ME}/lines.txt", offset=3)) == "l3\n"
    assert assert_ok(read(client, f"{ME}/lines.txt", limit=0)) == ""


def test_read_missing_is_404_file(client: Caller) -> None:
    assert_not_found(read(client, f"{ME}/memories/none.md"), "file", f"{ME}/memories/none.md")
    assert_not_found(
        read(client, "viking://session/ghost/messages.jsonl"),
        "file",
        f"{ME}/sessions/ghost",
    )


@pytest.mark.parametrize(
    "uri",
    [
        f"{ME}/../other/x.md",
        f"{ME}/./x.md",
        "viking://session/../x",
        "viking://user/default//x.md",
        "viking://user/default/a\x01b",
        "viking://user/default/a\\b",
        "file:///etc/passwd",
        "/etc/passwd",
        "viking://nowhere/x",
        "",
    ],
)
def test_bad_uri_is_400_invalid_uri(client: Caller, uri: str) -> None:
    err = assert_error(read(client, uri), 400, "INVALID_URI")
    assert "reason" in err["details"]


@pytest.mark.parametrize(
    "uri",
    [
        f"{ME}/../other/x.md",
        "viking://user/default/a\x01b",
        "http://example.com/x",
    ],
)
def test_bad_uri_on_write_and_fs(client: Caller, uri: str) -> None:
    assert_error(write(client, uri, "x"), 400, "INVALID_URI")
    assert_error(client.get("/api/v1/fs/ls", params={"uri": uri}), 400, "INVALID_URI")
    assert_error(client.get("/api/v1/fs/stat", params={"uri": uri}), 400, "INVALID_URI")
    assert_error(client.post("/api/v1/fs/mkdir", json={"uri": uri}), 400, "INVALID_URI")
    assert_error(client.delete("/api/v1/fs", params={"uri": uri}), 400, "INVALID_URI")


def test_overlong_uri_is_400(client: Caller) -> None:
    assert_error(read(client, f"{ME}/" + "a" * 3000), 400, "INVALID_URI")


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/v1/content/read", {"params": {"uri": "viking://user/other/x.md"}}),
        (
            "POST",
            "/api/v1/content/write",
            {"json": {"uri": "viking://user/other/x.md", "content": "x", "mode": "create"}},
        ),
        ("GET", "/api/v1/fs/ls", {"params": {"uri": "viking://user/other"}}),
        ("GET", "/api/v1/fs/tree", {"params": {"uri": "viking://user/other/memories"}}),
        ("GET", "/api/v1/fs/stat", {"params": {"uri": "viking://user/other/sessions"}}),
        ("POST", "/api/v1/fs/mkdir", {"json": {"uri": "viking://user/other/resources/d"}}),
        ("DELETE", "/api/v1/fs", {"params": {"uri": "viking://user/other/x.md"}}),
        (
            "POST",
            "/api/v1/fs/mv",
            {"json": {"from_uri": f"{ME}/x.md", "to_uri": "viking://user/other/x.md"}},
        ),
    ],
)
def test_another_users_tree_is_403(client: Caller, method: str, path: str, kwargs: dict) -> None:
    client.write(f"{ME}/x.md", "mine")
    err = assert_error(client.request(method, path, **kwargs), 403, "FORBIDDEN")
    assert "another user" in err["message"]
    assert client.read(f"{ME}/x.md") == "mine"


@pytest.mark.parametrize("uri", [f"{ME}/memories", ME, "viking://", "viking://agent"])
def test_read_directory_is_400(client: Caller, uri: str) -> None:
    err = assert_error(read(client, uri), 400, "INVALID_ARGUMENT")
    assert err["details"].get("expected") == "file"


def test_read_session_files(client: Caller) -> None:
    client.add("s1", "hello")
    assert '"hello"' in client.read("viking://session/s1/messages.jsonl")
    assert '"session_id"' in client.read(f"{ME}/sessions/s1/.meta.json")
    assert_error(read(client, "viking://session/s1"), 400, "INVALID_ARGUMENT")


def test_read_bad_offset_or_limit(client: Caller) -> None:
    assert_validation(read(client, f"{ME}/x", offset=-1), "offset")
    assert_validation(read(client, f"{ME}/x", limit=-2), "limit")


# ------------------------------------------------------------------------------------ ls
def test_ls_root_and_user_dirs(client: Caller) -> None:
    nodes = ls(client, "viking://")
    for n in nodes:
        assert set(n) == NODE_KEYS
    assert [n["uri"] for n in nodes] == ["viking://agent", "viking://resources", "viking://user"]
    assert all(n["isDir"] and n["size"] == 0 for n in nodes)
    mine = [n["uri"] for n in ls(client, ME)]
    assert mine == [f"{ME}/memories", f"{ME}/resources", f"{ME}/sessions"]


def test_ls_files_and_sessions(client: Caller) -> None:
    client.write(f"{ME}/resources/a.md", "abc")
    client.add("s1", "x")
    nodes = ls(client, f"{ME}/resources")
    assert nodes == [
        {
            "name": "a.md",
            "uri": f"{ME}/resources/a.md",
            "size": 3,
            "isDir": False,
            "modTime": nodes[0]["modTime"],
            "mode": 0o644,
            "abstract": "",
        }
    ]
    assert [n["name"] for n in ls(client, f"{ME}/sessions")] == ["s1"]


def test_ls_honours_limit_and_offset_and_says_has_more(client: Caller) -> None:
    for name in ("a", "b", "c"):
        client.write(f"{ME}/resources/{name}.md", name)

    def page(**params: object) -> tuple[list[str], bool]:
        resp = client.get("/api/v1/fs/ls", params={"uri": f"{ME}/resources", **params})
        body = resp.json()
        assert_ok(resp)
        return [n["name"] for n in body["result"]], body["has_more"]

    assert page() == (["a.md", "b.md", "c.md"], False)
    assert page(limit=1) == (["a.md"], True)
    assert page(node_limit=2) == (["a.md", "b.md"], True)
    assert page(limit=2, offset=1) == (["b.md", "c.md"], False)
    assert page(limit=3) == (["a.md", "b.md", "c.md"], False)
    recursive = assert_ok(
        client.get("/api/v1/fs/ls", params={"uri": ME, "recursive": "true", "limit": 2})
    )
    assert [n["rel_path"] for n in recursive] == ["memories", "resources"]


def test_ls_simple_gives_uris(client: Caller) -> None:
    client.write(f"{ME}/resources/a.md", "abc")
    client.write(f"{ME}/resources/b.md", "abc")
    assert ls(client, f"{ME}/resources", simple="true") == [
        f"{ME}/resources/a.md",
        f"{ME}/resources/b.md",
    ]


def test_ls_recursive_and_hidden(client: Caller) -> None:
    client.write(f"{ME}/resources/d/e/f.md", "x")
    client.write(f"{ME}/resources/d/.hidden", "x")
    flat = ls(client, f"{ME}/resources", simple="true")
    assert flat == [f"{ME}/resources/d"]
    deep = ls(client, f"{ME}/resources", simple="true", recursive="true")
    assert deep == [f"{ME}/resources/d", f"{ME}/resources/d/e", f"{ME}/resources/d/e/f.md"]
    everything = ls(
        client, f"{ME}/resources", simple="true", recursive="true", show_all_hidden="true"
    )
    assert f"{ME}/resources/d/.hidden" in everything


def test_ls_session_directory(client: Caller) -> None:
    client.add("s1", "My name is Ada.")
    client.commit("s1", wait=True)
    names = {n["name"] for n in ls(client, "viking://session/s1", show_all_hidden="true")}
    assert {"messages.jsonl", ".meta.json", ".abstract.md", ".overview.md", "history"} <= names
    archive = ls(client, f"{ME}/sessions/s1/history/archive_001", show_all_hidden="true")
    assert {n["name"] for n in archive} >= {"messages.jsonl", ".done", ".meta.json"}


def test_ls_errors(client: Caller) -> None:
    client.write(f"{ME}/f.md", "x")
    assert_not_found(
        client.get("/api/v1/fs/ls", params={"uri": f"{ME}/nope"}), "file", f"{ME}/nope"
    )
    err = assert_error(
        client.get("/api/v1/fs/ls", params={"uri": f"{ME}/f.md"}), 400, "INVALID_ARGUMENT"
    )
    assert err["details"].get("expected") == "directory"
    assert_error(
        client.get("/api/v1/fs/ls", params={"uri": "viking://session/ghost"}), 404, "NOT_FOUND"
    )


# ------------------------------------------------------------------------------------ tree
def test_tree_levels(client: Caller) -> None:
    client.write(f"{ME}/resources/a/b/c/d.md", "x")
    tree = assert_ok(client.get("/api/v1/fs/tree", params={"uri": f"{ME}/resources"}))
    assert [n["uri"] for n in tree] == [
        f"{ME}/resources/a",
        f"{ME}/resources/a/b",
        f"{ME}/resources/a/b/c",
    ]
    assert all(set(n) == TREE_KEYS for n in tree)
    assert [n["rel_path"] for n in tree] == ["a", "a/b", "a/b/c"]
    one = assert_ok(
        client.get("/api/v1/fs/tree", params={"uri": f"{ME}/resources", "level_limit": 1})
    )
    assert [n["uri"] for n in one] == [f"{ME}/resources/a"]
    deep = assert_ok(
        client.get("/api/v1/fs/tree", params={"uri": f"{ME}/resources", "level_limit": 10})
    )
    assert deep[-1]["uri"] == f"{ME}/resources/a/b/c/d.md"


def test_tree_errors(client: Caller) -> None:
    assert_not_found(
        client.get("/api/v1/fs/tree", params={"uri": f"{ME}/nope"}), "file", f"{ME}/nope"
    )
    for bad in ("0", "65", "x"):
        assert_validation(
            client.get("/api/v1/fs/tree", params={"uri": ME, "level_limit": bad}), "level_limit"
        )


# ------------------------------------------------------------------------------------ stat
def test_stat_file_and_dir(client: Caller) -> None:
    client.write(f"{ME}/resources/a.md", "abcd")
    node = assert_ok(client.get("/api/v1/fs/stat", params={"uri": f"{ME}/resources/a.md"}))
    assert set(node) == STAT_KEYS | {"id"}
    assert node["mode"] == 0o644 and node["isLocked"] is False and len(node["id"]) == 32
    assert node["name"] == "a.md" and node["size"] == 4 and node["isDir"] is False
    assert node["uri"] == f"{ME}/resources/a.md"
    d = assert_ok(client.get("/api/v1/fs/stat", params={"uri": f"{ME}/resources"}))
    assert d["isDir"] is True and d["name"] == "resources"
    assert set(d) == STAT_KEYS | {"count"} and d["count"] == 1 and d["mode"] == 0o755
    root = assert_ok(client.get("/api/v1/fs/stat", params={"uri": "viking://"}))
    assert root["isDir"] is True


def test_stat_session(client: Caller) -> None:
    client.add("s1", "hello")
    d = assert_ok(client.get("/api/v1/fs/stat", params={"uri": "viking://session/s1"}))
    assert d["isDir"] is True and d["uri"] == f"{ME}/sessions/s1"
    f = assert_ok(
        client.get("/api/v1/fs/stat", params={"uri": "viking://session/s1/messages.jsonl"})
    )
    assert f["isDir"] is False and f["size"] > 0


def test_stat_missing_is_404(client: Caller) -> None:
    assert_not_found(
        client.get("/api/v1/fs/stat", params={"uri": f"{ME}/nope.md"}), "file", f"{ME}/nope.md"
    )
    assert_error(
        client.get("/api/v1/fs/stat", params={"uri": "viking://session/ghost"}), 404, "NOT_FOUND"
    )


# ------------------------------------------------------------------------------------ mkdir
def test_mkdir(client: Caller) -> None:
    result = assert_ok(client.post("/api/v1/fs/mkdir", json={"uri": f"{ME}/resources/x/y"}))
    assert result == {"uri": f"{ME}/resources/x/y"}
    assert assert_ok(client.get("/api/v1/fs/stat", params={"uri": f"{ME}/resources/x/y"}))["isDir"]
    # idempotent on an existing directory
    assert_ok(client.post("/api/v1/fs/mkdir", json={"uri": f"{ME}/resources/x/y"}))
    assert_ok(
        client.post("/api/v1/fs/mkdir", json={"uri": f"{ME}/resources/x/y", "description": "d"})
    )


def test_mkdir_errors(client: Caller) -> None:
    client.write(f"{ME}/resources/f.md", "x")
    assert_error(
        client.post("/api/v1/fs/mkdir", json={"uri": f"{ME}/resources/f.md"}),
        400,
        "INVALID_ARGUMENT",
    )
    assert_error(
        client.post("/api/v1/fs/mkdir", json={"uri": f"{ME}/resources/f.md/sub"}),
        400,
        "INVALID_ARGUMENT",
    )
    for fixed in (f"{ME}/memories", "viking://agent", "viking://"):
        assert_error(client.post("/api/v1/fs/mkdir", json={"uri": fixed}), 400, "INVALID_ARGUMENT")
    assert_error(
        client.post("/api/v1/fs/mkdir", json={"uri": f"{ME}/sessions/new"}), 400, "INVALID_ARGUMENT"
    )
    assert_validation(client.post("/api/v1/fs/mkdir", json={"path": "x"}), "uri")


# ------------------------------------------------------------------------------------ rm
def test_rm_file(client: Caller) -> None:
    client.write(f"{ME}/resources/a.md", "x")
    removed = assert_ok(client.delete("/api/v1/fs", params={"uri": f"{ME}/resources/a.md"}))
    assert removed["uri"] == f"{ME}/resources/a.md"
    assert removed["estimated_deleted_count"] == 1
    assert removed["semantic_root_uri"] == f"{ME}/resources"
    assert_not_found(read(client, f"{ME}/resources/a.md"), "file", f"{ME}/resources/a.md")


def test_rm_directory_needs_recursive(client: Caller) -> None:
    client.write(f"{ME}/resources/d/a.md", "x")
    err = assert_error(
        client.delete("/api/v1/fs", params={"uri": f"{ME}/resources/d"}), 400, "INVALID_ARGUMENT"
    )
    assert "recursive" in err["message"]
    assert client.read(f"{ME}/resources/d/a.md") == "x"
    assert_ok(client.delete("/api/v1/fs", params={"uri": f"{ME}/resources/d", "recursive": "true"}))
    assert ls(client, f"{ME}/resources") == []


def test_rm_empty_directory(client: Caller) -> None:
    assert_ok(client.post("/api/v1/fs/mkdir", json={"uri": f"{ME}/resources/empty"}))
    assert_ok(client.delete("/api/v1/fs", params={"uri": f"{ME}/resources/empty"}))


def test_rm_missing_is_404(client: Caller) -> None:
    assert_not_found(
        client.delete("/api/v1/fs", params={"uri": f"{ME}/resources/nope"}),
        "file",
        f"{ME}/resources/nope",
    )


def test_rm_fixed_and_generated_paths_is_400(client: Caller) -> None:
    client.add("s1", "x")
    for uri in (f"{ME}/memories", "viking://", "viking://session/s1/messages.jsonl"):
        assert_error(
            client.delete("/api/v1/fs", params={"uri": uri, "recursive": "true"}),
            400,
            "INVALID_ARGUMENT",
        )
    assert client.meta("s1")["message_count"] == 1


def test_rm_session_file_and_session_directory(client: Caller) -> None:
    client.add("s1", "x")
    client.write("viking://session/s1/note.md", "n")
    assert_ok(client.delete("/api/v1/fs", params={"uri": "viking://session/s1/note.md"}))
    assert_error(read(client, "viking://session/s1/note.md"), 404, "NOT_FOUND")
    # a session directory goes only recursively, and then the session is gone
    assert_error(
        client.delete("/api/v1/fs", params={"uri": "viking://session/s1"}), 400, "INVALID_ARGUMENT"
    )
    client.meta("s1")
    assert_ok(
        client.delete("/api/v1/fs", params={"uri": "viking://session/s1", "recursive": "true"})
    )
    assert_not_found(client.get("/api/v1/sessions/s1"), "session", "s1")
    # NB: core answers details.type "session" here; §5 would say "file" (reported, not pinned)
    assert_error(
        client.delete("/api/v1/fs", params={"uri": "viking://session/s1", "recursive": "true"}),
        404,
        "NOT_FOUND",
    )


# ------------------------------------------------------------------------------------ mv
def test_mv_file(client: Caller) -> None:
    client.write(f"{ME}/resources/a.md", "content")
    resp = client.post(
        "/api/v1/fs/mv",
        json={"from_uri": f"{ME}/resources/a.md", "to_uri": f"{ME}/resources/sub/b.md"},
    )
    assert assert_ok(resp) == {"from": f"{ME}/resources/a.md", "to": f"{ME}/resources/sub/b.md"}
    assert client.read(f"{ME}/resources/sub/b.md") == "content"
    assert_not_found(read(client, f"{ME}/resources/a.md"), "file", f"{ME}/resources/a.md")


def test_mv_directory(client: Caller) -> None:
    client.write(f"{ME}/resources/d/x.md", "1")
    client.write(f"{ME}/resources/d/e/y.md", "2")
    assert_ok(
        client.post(
            "/api/v1/fs/mv", json={"from_uri": f"{ME}/resources/d", "to_uri": f"{ME}/resources/z"}
        )
    )
    assert client.read(f"{ME}/resources/z/e/y.md") == "2"
    assert_not_found(
        client.get("/api/v1/fs/stat", params={"uri": f"{ME}/resources/d"}),
        "file",
        f"{ME}/resources/d",
    )


def test_mv_errors(client: Caller) -> None:
    client.write(f"{ME}/resources/a.md", "a")
    client.write(f"{ME}/resources/b.md", "b")
    client.write(f"{ME}/resources/d/x.md", "x")

    def mv(src: str, dst: str):
        return client.post("/api/v1/fs/mv", json={"from_uri": src, "to_uri": dst})

    assert_not_found(
        mv(f"{ME}/resources/nope", f"{ME}/resources/c"), "file", f"{ME}/resources/nope"
    )
    err = assert_error(mv(f"{ME}/resources/a.md", f"{ME}/resources/b.md"), 409, "ALREADY_EXISTS")
    assert err["details"]["type"] == "file"
    assert_error(mv(f"{ME}/resources/d", f"{ME}/resources/d/inner"), 412, "FAILED_PRECONDITION")
    assert_error(mv(f"{ME}/memories", f"{ME}/resources/m"), 400, "INVALID_ARGUMENT")
    assert_error(mv(f"{ME}/resources/a.md", f"{ME}/memories"), 400, "INVALID_ARGUMENT")
    assert_error(mv(f"{ME}/resources/a.md", f"{ME}/../x"), 400, "INVALID_URI")
    assert client.read(f"{ME}/resources/a.md") == "a"
    assert client.read(f"{ME}/resources/b.md") == "b"


def test_mv_into_and_out_of_session(client: Caller) -> None:
    client.add("s1", "x")
    client.write(f"{ME}/resources/a.md", "a")
    assert_ok(
        client.post(
            "/api/v1/fs/mv",
            json={"from_uri": f"{ME}/resources/a.md", "to_uri": "viking://session/s1/a.md"},
        )
    )
    assert client.read("viking://session/s1/a.md") == "a"
    assert_error(
        client.post(
            "/api/v1/fs/mv",
            json={
                "from_uri": "viking://session/s1/messages.jsonl",
                "to_uri": f"{ME}/resources/m.jsonl",
            },
        ),
        400,
        "INVALID_ARGUMENT",
    )
    # a file moved into a session goes with the session
    receipt = assert_ok(client.delete("/api/v1/sessions/s1"))
    assert receipt["deleted"]["files"] >= 1
    assert_error(read(client, "viking://session/s1/a.md"), 404, "NOT_FOUND")
