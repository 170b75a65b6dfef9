"""The OpenViking routes Skald serves for the published client, called through Skald's own
clients (issue 11): batch writes, copies, downloads, session config, queue waits, task
cancellation, attributes, tags and reindexing. The async twins are in ``test_async.py``."""

from __future__ import annotations

from typing import Any

import pytest

import skald

ROOT = "viking://user/default/resources/batch"


def test_batch_write_then_read_back(client: Any) -> None:
    client.write(f"{ROOT}/kept.md", "old\n", mode="create")

    result = client.batch_write(
        ROOT,
        [
            {"uri": f"{ROOT}/new.md", "content": "fresh", "mode": "create"},
            {"uri": f"{ROOT}/kept.md", "content": "more\n", "mode": "append"},
            {"uri": f"{ROOT}/sub/deep.md", "content": "deep"},
        ],
    )

    assert result["root_uri"] == ROOT
    assert sorted(result["created"]) == [f"{ROOT}/new.md", f"{ROOT}/sub/deep.md"]
    assert result["updated"] == [f"{ROOT}/kept.md"]
    assert client.read(f"{ROOT}/new.md") == "fresh"
    assert client.read(f"{ROOT}/kept.md") == "old\nmore\n"
    assert client.read(f"{ROOT}/sub/deep.md") == "deep"


def test_batch_write_is_all_or_nothing(client: Any) -> None:
    client.write(f"{ROOT}/kept.md", "old", mode="create")
    operations = [
        {"uri": f"{ROOT}/a.md", "content": "a", "mode": "create"},
        {"uri": "viking://user/default/resources/elsewhere.md", "content": "x"},
    ]

    with pytest.raises(skald.InvalidArgumentError):
        client.batch_write(ROOT, operations)
    with pytest.raises(skald.NotFoundError):
        client.read(f"{ROOT}/a.md")


def test_cp_a_file_and_a_directory(client: Any) -> None:
    client.write(f"{ROOT}/one.md", "One.", mode="create")
    client.write(f"{ROOT}/sub/two.md", "Two.", mode="create")

    copied = client.cp(f"{ROOT}/one.md", f"{ROOT}/copy.md")
    assert (copied["from"], copied["to"], copied["files_created"]) == (
        f"{ROOT}/one.md",
        f"{ROOT}/copy.md",
        1,
    )
    assert client.read(f"{ROOT}/one.md") == client.read(f"{ROOT}/copy.md") == "One."

    with pytest.raises(skald.InvalidArgumentError):
        client.cp(ROOT, "viking://user/default/resources/mirror")
    tree = client.cp(ROOT, "viking://user/default/resources/mirror", recursive=True)
    assert tree["files_created"] == 3
    assert client.read("viking://user/default/resources/mirror/sub/two.md") == "Two."
    with pytest.raises(skald.AlreadyExistsError):
        client.cp(f"{ROOT}/one.md", f"{ROOT}/copy.md")


def test_download_bytes_returns_the_bytes_written(client: Any) -> None:
    text = "Grüße, 世界 — line one\nline two\n"
    client.write(f"{ROOT}/utf8.md", text, mode="create")

    data = client.download_bytes(f"{ROOT}/utf8.md")

    assert isinstance(data, bytes)
    assert data == text.encode()
    with pytest.raises(skald.NotFoundError):
        client.download_bytes(f"{ROOT}/missing.md")


def test_session_config_wait_and_cancel(client: Any) -> None:
    client.add_message("s-ov", "user", "My name is Ada.")
    committed = client.commit_session("s-ov")

    config = client.update_session_config("s-ov", {"auto_commit_policy": {"enabled": True}})
    assert config["session_id"] == "s-ov"
    assert config["auto_commit_policy"] is None
    with pytest.raises(skald.NotFoundError):
        client.update_session_config("s-missing")

    waited = client.wait_processed()
    assert waited["SessionCommit"]["error_count"] == 0
    assert client.get_task(committed["task_id"])["status"] == "completed"

    with pytest.raises(skald.FailedPreconditionError):
        client.cancel_task(committed["task_id"])
    with pytest.raises(skald.NotFoundError):
        client.cancel_task("no-such-task")


def test_attrs_set_tags_and_reindex(client: Any) -> None:
    uri = "viking://user/default/memories/events/run.md"
    client.write(uri, "Ran the Jungfrau marathon.", mode="create")

    assert client.attrs(uri) == {"uri": uri, "context_type": "memory", "attrs": {"tags": []}}
    tagged = client.set_tags(uri, ["sport"], mode="add")
    assert (tagged["uri"], tagged["mode"], tagged["tags_updated"]) == (uri, "add", False)
    assert client.attrs(uri)["attrs"]["tags"] == []
    rebuilt = client.reindex(uri)
    assert (rebuilt["uri"], rebuilt["mode"], rebuilt["status"]) == (
        uri,
        "vectors_only",
        "completed",
    )
    for call in (client.attrs, client.set_tags, client.reindex):
        with pytest.raises(skald.NotFoundError):
            call(f"{ROOT}/missing.md")
