"""Reads that serve a session's context and its tool records without loading its messages
whole (issue 12, section 3): token estimates without bodies, the tool and context messages in
bounded batches (live and archived, in order), one body by its key; owner-scoped."""

from __future__ import annotations

import pytest

from skald_core.errors import NotFoundError
from skald_core.schemas import message_decoder
from skald_core.store.protocol import Store

from .helpers import ALICE, BOB, T0, add, commit, message, tool_message


def test_message_tokens_per_archive_without_bodies(store: Store) -> None:
    add(store, ALICE, "s", "a" * 40, "b" * 8)
    commit(store, ALICE, "s")
    add(store, ALICE, "s", "c" * 400)
    assert store.message_tokens(ALICE, "s", 1) == [10, 2]
    assert store.message_tokens(ALICE, "s") == [100]
    assert store.message_tokens(ALICE, "s", 7) == []
    with pytest.raises(NotFoundError):
        store.message_tokens(BOB, "s")


def test_tool_and_context_batches_and_one_body_by_key(store: Store) -> None:
    store.append_messages(ALICE, "s", [tool_message("t1"), message("plain")], T0, auto_create=True)
    commit(store, ALICE, "s")
    store.append_messages(
        ALICE, "s", [tool_message("t2"), tool_message("t3")], T0, auto_create=True
    )
    batches = list(store.tool_and_context_batches(ALICE, "s", batch_bytes=1))
    assert [len(b) for b in batches] == [1, 1, 1]  # one message per batch at 1 byte
    keys = [k for b in batches for k, _ in b]
    ids = [message_decoder.decode(body).parts[1].tool_id for b in batches for _, body in b]  # type: ignore[union-attr]
    assert ids == ["t1", "t2", "t3"]
    whole = list(store.tool_and_context_batches(ALICE, "s"))
    assert [[k for k, _ in b] for b in whole] == [keys]
    body = store.message_body(ALICE, "s", keys[1])
    assert body is not None and b"t2" in body
    assert store.message_body(BOB, "s", keys[1]) is None
    with pytest.raises(NotFoundError):
        store.tool_and_context_batches(BOB, "s")
    add(store, ALICE, "empty", "no tools")
    assert list(store.tool_and_context_batches(ALICE, "empty")) == []
