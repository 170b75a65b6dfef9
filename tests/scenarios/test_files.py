"""Files under ``viking://``: write, read, ls, stat, mkdir, rm, mv, and ``_viking_fs``."""

from __future__ import annotations

from typing import Any

import pytest

import skald

NOTES = "viking://user/default/resources/notes"


def written(result: dict) -> dict:
    """A write's answer without OpenViking's extra fields (root_uri, statuses, ...)."""
    return {k: result[k] for k in ("uri", "mode", "written_bytes")}


def names(nodes: list[dict[str, Any]]) -> list[str]:
    return [n["name"] for n in nodes]


def test_write_create_then_read(client: Any) -> None:
    result = client.write(f"{NOTES}/trail.md", "Ridge trail, 12 km.", mode="create")

    assert written(result) == {"uri": f"{NOTES}/trail.md", "mode": "create", "written_bytes": 19}
    assert client.read(f"{NOTES}/trail.md") == "Ridge trail, 12 km."


def test_write_replace_and_append(client: Any) -> None:
    client.write(f"{NOTES}/log.md", "first\n", mode="create")

    client.write(f"{NOTES}/log.md", "second\n", mode="append")
    assert client.read(f"{NOTES}/log.md") == "first\nsecond\n"

    client.write(f"{NOTES}/log.md", "only\n")
    assert client.read(f"{NOTES}/log.md") == "only\n"


def test_read_a_slice_of_lines(client: Any) -> None:
    client.write(f"{NOTES}/lines.md", "a\nb\nc\nd\n", mode="create")

    assert client.read(f"{NOTES}/lines.md", offset=1, limit=2) == "b\nc\n"


def test_create_refuses_an_existing_file(client: Any) -> None:
    client.write(f"{NOTES}/once.md", "1", mode="create")

    with pytest.raises(skald.AlreadyExistsError):
        client.write(f"{NOTES}/once.md", "2", mode="create")

    assert client.read(f"{NOTES}/once.md") == "1"


def test_replace_and_append_create_a_missing_file_and_its_parents(client: Any) -> None:
    replaced = client.write(f"{NOTES}/new/replaced.md", "x")
    appended = client.write(f"{NOTES}/other/appended.md", "y", mode="append")

    assert written(replaced) == {
        "uri": f"{NOTES}/new/replaced.md",
        "mode": "replace",
        "written_bytes": 1,
    }
    assert appended["mode"] == "append"
    assert client.read(f"{NOTES}/new/replaced.md") == "x"
    assert client.read(f"{NOTES}/other/appended.md") == "y"
    assert client.stat(f"{NOTES}/other")["isDir"] is True


def test_ls_lists_children_and_recursive_lists_descendants(client: Any) -> None:
    client.write(f"{NOTES}/a.md", "a", mode="create")
    client.write(f"{NOTES}/deep/b.md", "bb", mode="create")

    assert names(client.ls(NOTES)) == ["a.md", "deep"]
    nodes = client.ls(NOTES, recursive=True)
    assert [n["uri"] for n in nodes] == [f"{NOTES}/a.md", f"{NOTES}/deep", f"{NOTES}/deep/b.md"]
    assert [n["isDir"] for n in nodes] == [False, True, False]
    assert nodes[2]["size"] == 2


def test_stat_describes_one_node(client: Any) -> None:
    client.write(f"{NOTES}/s.md", "12345", mode="create")

    node = client.stat(f"{NOTES}/s.md")

    assert node["name"] == "s.md"
    assert node["uri"] == f"{NOTES}/s.md"
    assert node["size"] == 5
    assert node["isDir"] is False
    assert node["modTime"].endswith("Z")
    assert client.stat(NOTES)["isDir"] is True


def test_mkdir_makes_an_empty_directory(client: Any) -> None:
    client.mkdir(f"{NOTES}/empty")

    assert client.stat(f"{NOTES}/empty")["isDir"] is True
    assert client.ls(f"{NOTES}/empty") == []


def test_rm_removes_a_file_and_recursive_a_tree(client: Any) -> None:
    client.write(f"{NOTES}/gone.md", "x", mode="create")
    client.write(f"{NOTES}/tree/leaf.md", "x", mode="create")

    client.rm(f"{NOTES}/gone.md")
    client.rm(f"{NOTES}/tree", recursive=True)

    assert client.ls(NOTES) == []
    with pytest.raises(skald.NotFoundError):
        client.stat(f"{NOTES}/tree/leaf.md")


def test_mv_moves_a_file(client: Any) -> None:
    client.write(f"{NOTES}/draft.md", "text", mode="create")

    moved = client.mv(f"{NOTES}/draft.md", f"{NOTES}/final.md")

    assert moved == {"from": f"{NOTES}/draft.md", "to": f"{NOTES}/final.md"}
    assert client.read(f"{NOTES}/final.md") == "text"
    assert names(client.ls(NOTES)) == ["final.md"]


def test_files_can_be_written_into_a_session_directory(client: Any) -> None:
    client.add_message("s-files", "user", "Hello.")

    client.write("viking://session/s-files/notes.md", "a note", mode="create")

    assert client.read("viking://user/default/sessions/s-files/notes.md") == "a note"
    assert "notes.md" in names(client.ls("viking://session/s-files"))


def test_viking_fs_write_file_creates_then_replaces(client: Any) -> None:
    client.add_message("s-marker", "user", "Hello.")
    marker = "viking://session/s-marker/.deleted.json"

    client._viking_fs.write_file(marker, '{"deleted": true}', ctx=client.ctx)
    client._viking_fs.write_file(marker, '{"deleted": false}', ctx=client.ctx)

    assert client.read(marker) == '{"deleted": false}'
    assert ".deleted.json" in names(client.ls("viking://session/s-marker", show_all_hidden=True))
    assert ".deleted.json" not in names(client.ls("viking://session/s-marker"))


def test_generated_session_files_are_read_only(client: Any) -> None:
    client.add_message("s-ro", "user", "Hello.")

    with pytest.raises(skald.InvalidArgumentError):
        client.write("viking://session/s-ro/messages.jsonl", "forged", mode="replace")

    assert len(client.session("s-ro").messages) == 1
