"""Store contract — the file tree: create / replace / append / upsert, directories in the way,
remove, move, and per-account scoping.

Scenarios told through ``skald_core.store.protocol.Store`` alone, on every backend; see
``conftest.py``.
"""

from __future__ import annotations

import pytest

from skald_core.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError
from skald_core.store.model import FileWrite
from skald_core.store.protocol import Store

from .helpers import ALICE, T0, content, session_key, write_session_file


def test_create_makes_the_missing_parent_directories(store: Store) -> None:
    row = store.write_file(
        "acme", "user/alice/memories/a/b/c.md", b"deep", "create", T0, session=None, stop_at=3
    )

    assert (row.path, row.is_dir, row.size) == ("user/alice/memories/a/b/c.md", False, 4)
    for directory in ("user/alice/memories/a", "user/alice/memories/a/b"):
        parent = store.get_file("acme", directory)
        assert parent is not None and parent.is_dir
    assert store.get_file("acme", "user/alice/memories") is None  # above stop_at: a fixed dir
    assert [r.path for r in store.list_children("acme", "user/alice/memories/a")] == [
        "user/alice/memories/a/b"
    ]


def test_create_refuses_an_existing_file(store: Store) -> None:
    store.write_file("acme", "resources/x.md", b"first", "create", T0, session=None, stop_at=1)

    with pytest.raises(AlreadyExistsError):
        store.write_file("acme", "resources/x.md", b"second", "create", T0, session=None, stop_at=1)

    assert content(store, "acme", "resources/x.md") == b"first"


@pytest.mark.parametrize("mode", ["replace", "append"])
def test_replace_and_append_create_a_missing_file(store: Store, mode: str) -> None:
    store.write_file("acme", "resources/d/x.md", b"text", mode, T0, session=None, stop_at=1)  # type: ignore[arg-type]

    row = store.get_file("acme", "resources/d/x.md")
    assert row is not None and row.content == b"text"
    parent = store.get_file("acme", "resources/d")
    assert parent is not None and parent.is_dir


def test_write_files_is_all_or_nothing(store: Store) -> None:
    store.write_file("acme", "resources/taken.md", b"t", "create", T0, session=None, stop_at=1)
    items = [
        FileWrite("resources/new.md", b"n", "create", None, 1),
        FileWrite("resources/taken.md", b"x", "create", None, 1),
    ]

    with pytest.raises(AlreadyExistsError):
        store.write_files("acme", items, T0 + 1)

    assert store.get_file("acme", "resources/new.md") is None
    ok = [
        FileWrite("resources/new.md", b"n", "create", None, 1),
        FileWrite("resources/taken.md", b"t", "replace", None, 1),
        FileWrite("resources/taken.md", b"+", "append", None, 1),
    ]
    assert store.write_files("acme", ok, T0 + 2) == ["created", "unchanged", "updated"]
    row = store.get_file("acme", "resources/taken.md")
    assert row is not None and row.content == b"t+"


def test_replace_overwrites_and_append_adds_to_the_end(store: Store) -> None:
    store.write_file("acme", "resources/x.md", b"one", "create", T0, session=None, stop_at=1)

    store.write_file(
        "acme", "resources/x.md", "twö".encode(), "replace", T0 + 1, session=None, stop_at=1
    )
    row = store.write_file(
        "acme", "resources/x.md", "+thrée".encode(), "append", T0 + 2, session=None, stop_at=1
    )

    assert content(store, "acme", "resources/x.md") == "twö+thrée".encode()
    assert (row.size, row.created_at, row.updated_at) == (11, T0, T0 + 2)
    store.write_file("acme", "resources/x.md", b"!", "append", T0 + 3, session=None, stop_at=1)
    assert content(store, "acme", "resources/x.md") == "twö+thrée!".encode()


def test_upsert_creates_then_replaces(store: Store) -> None:
    store.write_file("acme", "resources/u/x.md", b"v1", "upsert", T0, session=None, stop_at=1)
    assert content(store, "acme", "resources/u/x.md") == b"v1"

    store.write_file("acme", "resources/u/x.md", b"v2", "upsert", T0, session=None, stop_at=1)

    assert content(store, "acme", "resources/u/x.md") == b"v2"


def test_writes_refuse_directories_in_the_way(store: Store) -> None:
    store.write_file("acme", "resources/d/f.md", b"f", "create", T0, session=None, stop_at=1)

    with pytest.raises(InvalidArgumentError):  # the target is a directory
        store.write_file("acme", "resources/d", b"x", "upsert", T0, session=None, stop_at=1)
    with pytest.raises(InvalidArgumentError):  # a parent is a file
        store.write_file("acme", "resources/d/f.md/g", b"x", "create", T0, session=None, stop_at=1)

    assert store.get_file("acme", "resources/d/f.md/g") is None
    assert content(store, "acme", "resources/d/f.md") == b"f"


def test_a_session_file_belongs_to_its_session(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)

    path = write_session_file(store, ALICE, "s1", "sub/notes.md", "hi")

    assert [f.path for f in store.session_files(ALICE, "s1")] == [
        session_key(ALICE, "s1", "sub"),
        path,
    ]
    with pytest.raises(NotFoundError):
        write_session_file(store, ALICE, "ghost", "notes.md", "nobody home")
    assert store.get_file("acme", session_key(ALICE, "ghost", "notes.md")) is None


def test_removing_a_file_and_a_missing_file(store: Store) -> None:
    store.write_file("acme", "resources/x.md", b"x", "create", T0, session=None, stop_at=1)

    store.remove("acme", "resources/x.md", recursive=False)

    assert store.get_file("acme", "resources/x.md") is None
    with pytest.raises(NotFoundError):
        store.remove("acme", "resources/x.md", recursive=False)


def test_a_non_empty_directory_needs_recursive_remove(store: Store) -> None:
    store.write_file("acme", "resources/d/a/b.md", b"b", "create", T0, session=None, stop_at=1)

    with pytest.raises(InvalidArgumentError):
        store.remove("acme", "resources/d", recursive=False)
    assert content(store, "acme", "resources/d/a/b.md") == b"b"

    store.remove("acme", "resources/d", recursive=True)

    assert store.get_file("acme", "resources/d") is None
    assert store.list_descendants("acme", "resources") == []


def test_recursive_remove_spares_siblings_sharing_a_name_prefix(store: Store) -> None:
    for path in ("resources/notes/a.md", "resources/notes2.md", "resources/notes-old/b.md"):
        store.write_file("acme", path, b"x", "create", T0, session=None, stop_at=1)
    store.write_file("acme", "resources/notes.md", b"x", "create", T0, session=None, stop_at=1)

    store.remove("acme", "resources/notes", recursive=True)

    assert [r.path for r in store.list_descendants("acme", "resources")] == [
        "resources/notes-old",
        "resources/notes-old/b.md",
        "resources/notes.md",
        "resources/notes2.md",
    ]


def test_removing_an_empty_directory_needs_no_recursion(store: Store) -> None:
    store.make_dir("acme", "resources/empty", T0, session=None, stop_at=1)

    store.remove("acme", "resources/empty", recursive=False)

    assert store.get_file("acme", "resources/empty") is None


def test_moving_a_directory_carries_its_descendants(store: Store) -> None:
    store.write_file("acme", "resources/a/x.md", b"x", "create", T0, session=None, stop_at=1)
    store.write_file("acme", "resources/a/sub/y.md", b"y", "create", T0, session=None, stop_at=1)

    store.move("acme", "resources/a", "resources/new/b", T0 + 1, session=None, stop_at=1)

    assert [r.path for r in store.list_descendants("acme", "resources")] == [
        "resources/new",
        "resources/new/b",
        "resources/new/b/sub",
        "resources/new/b/sub/y.md",
        "resources/new/b/x.md",
    ]
    assert content(store, "acme", "resources/new/b/sub/y.md") == b"y"
    assert [r.path for r in store.list_children("acme", "resources/new/b")] == [
        "resources/new/b/sub",
        "resources/new/b/x.md",
    ]


def test_move_refuses_missing_sources_taken_targets_and_moves_into_itself(store: Store) -> None:
    store.write_file("acme", "resources/a/x.md", b"x", "create", T0, session=None, stop_at=1)
    store.write_file("acme", "resources/b.md", b"b", "create", T0, session=None, stop_at=1)
    before = store.list_descendants("acme", "resources")

    with pytest.raises(NotFoundError):
        store.move("acme", "resources/ghost", "resources/c", T0, session=None, stop_at=1)
    with pytest.raises(AlreadyExistsError):
        store.move("acme", "resources/a/x.md", "resources/b.md", T0, session=None, stop_at=1)
    with pytest.raises(InvalidArgumentError):
        store.move("acme", "resources/a", "resources/a/inner", T0, session=None, stop_at=1)

    assert store.list_descendants("acme", "resources") == before


def test_a_file_moved_out_of_a_session_survives_its_deletion(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)
    src = write_session_file(store, ALICE, "s1", "keep.md", "precious")

    store.move("acme", src, "user/alice/resources/keep.md", T0, session=None, stop_at=3)
    counts = store.delete_session(ALICE, "s1", T0 + 1)

    assert counts.deleted.files == 0
    assert content(store, "acme", "user/alice/resources/keep.md") == b"precious"


def test_files_are_scoped_per_account(store: Store) -> None:
    store.write_file("acme", "agent/memories/x.md", b"acme", "create", T0, session=None, stop_at=2)
    store.write_file(
        "globex", "agent/memories/x.md", b"globex", "create", T0, session=None, stop_at=2
    )

    store.remove("acme", "agent/memories/x.md", recursive=False)

    assert store.get_file("acme", "agent/memories/x.md") is None
    assert content(store, "globex", "agent/memories/x.md") == b"globex"
