"""Finding what was remembered (issue 14): ``find``, ``search``, ``grep`` and ``glob`` through
every client kind and backend (see ``conftest.py``)."""

from __future__ import annotations

from typing import Any

import pytest

import skald

ME = "viking://user/default"
MEM = f"{ME}/memories/preferences"


def uris_of(hits: list[dict[str, Any]]) -> list[str]:
    return [h["uri"] for h in hits]


def test_find_ranks_the_matching_memory_first(client: Any) -> None:
    client.write(f"{MEM}/hiking.md", "Loves hiking in the Alps, mostly in July.", mode="create")
    client.write(f"{MEM}/tea.md", "Prefers green tea in July.", mode="create")
    client.write(f"{ME}/resources/alps.md", "A guide to the Alps.", mode="create")

    found = client.find("hiking alps july")
    assert uris_of(found["memories"]) == [f"{MEM}/hiking.md", f"{MEM}/tea.md"]
    assert uris_of(found["resources"]) == [f"{ME}/resources/alps.md"]
    assert found["skills"] == [] and found["total"] == 3
    assert found["search_mode"] == "full_text"
    assert found["memories"][0]["score"] > found["memories"][1]["score"]
    assert found["memories"][0]["abstract"] == "Loves hiking in the Alps, mostly in July."

    only = client.find("alps", target_uri=f"{ME}/resources", limit=5)
    assert uris_of(only["resources"]) == [f"{ME}/resources/alps.md"] and only["total"] == 1
    assert client.find("alps", limit=1)["total"] == 1
    assert client.find("alps", context_type="memory")["resources"] == []
    searched = client.search("green tea", target_uri=[f"{ME}/memories", f"{ME}/resources"])
    assert uris_of(searched["memories"]) == [f"{MEM}/tea.md"]


def test_conversations_are_searched_and_deletion_hides_them(client: Any) -> None:
    client.create_session("trip")
    client.add_message("trip", "user", content="We camped by Lake Oeschinen in August.")
    client.add_message("trip", "assistant", content="Noted.")
    client.commit_session("trip", wait=True)
    client.add_message("trip", "user", content="Next year: Oeschinen again.")

    said = client.find("oeschinen", target_uri=f"{ME}/sessions")
    assert said["total"] == 2
    assert {h["uri"] for h in said["resources"]} == {
        f"{ME}/sessions/trip/messages.jsonl",
        f"{ME}/sessions/trip/history/archive_001/messages.jsonl",
    }
    assert {h["role"] for h in said["resources"]} == {"user"}
    assert client.find("oeschinen")["total"] == 0  # conversations only when asked for
    assert client.find("oeschinen", target_uri=f"{ME}/sessions/other")["total"] == 0

    client.delete_session("trip", mode="soft")
    assert client.find("oeschinen", target_uri=f"{ME}/sessions")["total"] == 0
    client.restore_session("trip")
    assert client.find("oeschinen", target_uri=f"{ME}/sessions")["total"] == 2
    client.delete_session("trip")
    assert client.find("oeschinen", target_uri=f"{ME}/sessions")["total"] == 0


def test_grep_and_glob(client: Any) -> None:
    client.write(f"{MEM}/a.md", "line one\nHiking two\n", mode="create")
    client.write(f"{MEM}/b.txt", "no match\n", mode="create")

    grepped = client.grep(f"{ME}/memories", "hiking", case_insensitive=True)
    assert grepped == {
        "matches": [{"line": 2, "uri": f"{MEM}/a.md", "content": "Hiking two"}],
        "count": 1,
        "match_count": 1,
        "files_scanned": 2,
    }
    assert client.grep(f"{ME}/memories", "hiking")["count"] == 0
    assert client.grep(f"{ME}/memories", "o", node_limit=1)["match_count"] == 3
    assert client.grep(f"{ME}/memories", "o", exclude_uri=f"{MEM}/b.txt")["match_count"] == 2

    assert client.glob("**/*.md", uri=f"{ME}/memories") == {
        "matches": [f"{MEM}/a.md"],
        "count": 1,
    }
    assert client.glob("preferences/?.*", uri=f"{ME}/memories")["count"] == 2


def test_bad_search_input_is_a_typed_error(client: Any) -> None:
    with pytest.raises(skald.InvalidArgumentError):
        client.find("   ")
    with pytest.raises(skald.InvalidArgumentError):
        client.find("x", limit=0)
    with pytest.raises(skald.InvalidArgumentError):
        client.grep(f"{ME}/memories", "([")
    with pytest.raises(skald.InvalidArgumentError):
        client.find("x", target_uri="https://elsewhere")
    with pytest.raises(skald.ForbiddenError):
        client.find("x", target_uri="viking://user/mallory/memories")
    with pytest.raises(skald.ForbiddenError):
        client.glob("*", uri="viking://user/mallory")
