"""Store contract — appending messages: their order, the counters, auto-create, and batches that
are stored whole or not at all.

Scenarios told through ``skald_core.store.protocol.Store`` alone, on every backend; see
``conftest.py``.
"""

from __future__ import annotations

import msgspec
import pytest

from skald_core.errors import NotFoundError, SkaldError
from skald_core.store.protocol import Store

from .helpers import ALICE, T0, add, message, texts_of


def test_appended_messages_keep_their_order_and_update_the_counters(store: Store) -> None:
    store.create_session(ALICE, "s1", T0)
    question = message("What is the capital of France?")
    answer = message("Paris.", role="assistant")

    row = store.append_messages(ALICE, "s1", [question, answer], T0 + 1, auto_create=False)

    assert texts_of(store, ALICE, "s1") == ["What is the capital of France?", "Paris."]
    assert row.message_count == row.total_message_count == 2
    assert row.pending_tokens == row.total_tokens == question.tokens + answer.tokens > 0
    assert row.total_turns == 1  # the user's question starts a turn, the answer does not
    assert row.updated_at == row.last_message_at == T0 + 1
    assert store.get_session(ALICE, "s1") == row


def test_appending_to_a_missing_session_without_auto_create_changes_nothing(store: Store) -> None:
    with pytest.raises(NotFoundError):
        store.append_messages(ALICE, "ghost", [message("hi")], T0, auto_create=False)

    assert store.get_session(ALICE, "ghost") is None
    assert store.list_sessions(ALICE, limit=None, after=None) == []


def test_appending_with_auto_create_creates_the_session(store: Store) -> None:
    row = store.append_messages(ALICE, "fresh", [message("hi")], T0, auto_create=True)

    assert row.session_id == "fresh" and row.created_at == T0 and row.message_count == 1
    assert texts_of(store, ALICE, "fresh") == ["hi"]


def test_an_empty_append_with_auto_create_only_creates_the_session(store: Store) -> None:
    row = store.append_messages(ALICE, "empty", [], T0, auto_create=True)

    assert row.message_count == 0
    assert store.get_session(ALICE, "empty") is not None
    assert store.messages(ALICE, "empty") == []


def test_a_batch_with_one_bad_row_stores_none_of_it(store: Store) -> None:
    add(store, ALICE, "s1", "before")
    before = store.get_session(ALICE, "s1")
    unstorable = msgspec.structs.replace(message("three"), role=None)  # a NOT NULL column
    batch = [message("one"), message("two"), unstorable]

    with pytest.raises(SkaldError):  # never a raw driver exception
        store.append_messages(ALICE, "s1", batch, T0 + 1, auto_create=True)

    assert texts_of(store, ALICE, "s1") == ["before"]
    assert store.get_session(ALICE, "s1") == before


def test_a_failed_batch_does_not_auto_create_its_session(store: Store) -> None:
    unstorable = msgspec.structs.replace(message("two"), role=None)

    with pytest.raises(SkaldError):
        store.append_messages(ALICE, "new", [message("one"), unstorable], T0, auto_create=True)

    assert store.get_session(ALICE, "new") is None
