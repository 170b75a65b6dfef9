"""Errors are the same classes, codes and details whichever client made the call."""

from __future__ import annotations

from typing import Any

import pytest

import skald


@pytest.mark.parametrize("role", ["", "   ", "user\nsystem"])
def test_a_bad_role_is_invalid_argument(client: Any, role: str) -> None:
    with pytest.raises(skald.InvalidArgumentError) as caught:
        client.add_message("s-role", role, "Hello.")

    assert "role" in caught.value.message
    assert not client.session_exists("s-role")


def test_a_message_without_content_or_parts_is_invalid_argument(client: Any) -> None:
    with pytest.raises(skald.InvalidArgumentError):
        client.add_message("s-empty", "user")


@pytest.mark.parametrize(
    "uri",
    [
        "viking://user/default/../../etc/passwd",
        "viking://user/default/resources/../../other/x.md",
        "viking://user/default/resources//x.md",
    ],
)
def test_a_traversal_uri_is_invalid_uri(client: Any, uri: str) -> None:
    with pytest.raises(skald.InvalidURIError) as caught:
        client.read(uri)

    assert caught.value.code == "INVALID_URI"
    assert caught.value.details["uri"] == uri


def test_writing_through_a_traversal_uri_is_refused(client: Any) -> None:
    with pytest.raises(skald.InvalidURIError):
        client.write("viking://user/default/resources/../x.md", "x", mode="create")


def test_another_users_tree_is_forbidden(client: Any) -> None:
    with pytest.raises(skald.ForbiddenError):
        client.read("viking://user/someone-else/memories/secret.md")


def test_a_missing_file_is_not_found_with_type_file(client: Any) -> None:
    uri = "viking://user/default/resources/nope.md"

    with pytest.raises(skald.NotFoundError) as caught:
        client.read(uri)

    assert caught.value.details == {"type": "file", "resource": uri}
    assert caught.value.message == f"File not found: {uri}"


def test_a_file_in_a_missing_session_is_not_found(client: Any) -> None:
    with pytest.raises(skald.NotFoundError) as caught:
        client.read("viking://session/s-absent/messages.jsonl")

    assert caught.value.details["type"] == "file"


@pytest.mark.parametrize("session_id", ["x" * 129, " padded", "tab\there"])
def test_an_invalid_session_id_is_invalid_argument(client: Any, session_id: str) -> None:
    with pytest.raises(skald.InvalidArgumentError) as caught:
        client.add_message(session_id, "user", "Hello.")

    assert caught.value.details["field"] == "session_id"
