"""Store contract — idempotency keys: a retried append or commit is stored once, and a key belongs
to one owner and one request.

Scenarios told through ``skald_core.store.protocol.Store`` alone, on every backend; see
``conftest.py``.
"""

from __future__ import annotations

import pytest

from skald_core.errors import ConflictError
from skald_core.ids import new_task_id
from skald_core.store.protocol import Store

from .helpers import ALICE, BOB, T0, add, message, texts_of


def test_a_retried_append_with_the_same_key_is_stored_once(store: Store) -> None:
    first = store.append_messages(
        ALICE, "s1", [message("hello")], T0, auto_create=True, idempotency_key="k-1"
    )
    again = store.append_messages(
        ALICE, "s1", [message("hello")], T0 + 1, auto_create=True, idempotency_key="k-1"
    )

    assert again.message_count == first.message_count == 1
    assert texts_of(store, ALICE, "s1") == ["hello"]


def test_an_idempotency_key_belongs_to_its_owner(store: Store) -> None:
    store.append_messages(ALICE, "s1", [message("a")], T0, auto_create=True, idempotency_key="k")
    store.append_messages(
        BOB, "s1", [message("b", owner=BOB)], T0, auto_create=True, idempotency_key="k"
    )

    assert texts_of(store, BOB, "s1") == ["b"]


def test_reusing_a_key_for_another_request_is_a_conflict(store: Store) -> None:
    store.append_messages(ALICE, "s1", [message("a")], T0, auto_create=True, idempotency_key="k")

    with pytest.raises(ConflictError):
        store.commit(ALICE, "s1", 0, T0, new_task_id(), idempotency_key="k")

    assert store.archives(ALICE, "s1") == []


def test_a_retried_commit_with_the_same_key_archives_once(store: Store) -> None:
    add(store, ALICE, "s1", "one", "two")
    first = store.commit(ALICE, "s1", 0, T0, new_task_id(), idempotency_key="c")
    add(store, ALICE, "s1", "three")
    again = store.commit(ALICE, "s1", 0, T0, new_task_id(), idempotency_key="c")

    assert again.archive_no == first.archive_no == 1
    assert again.task_id == first.task_id
    assert [a.archive_no for a in store.archives(ALICE, "s1")] == [1]
    assert texts_of(store, ALICE, "s1") == ["three"]


def test_reusing_a_key_for_another_message_is_a_conflict_and_stores_nothing(store: Store) -> None:
    store.append_messages(ALICE, "s1", [message("a")], T0, auto_create=True, idempotency_key="k")

    for other in (message("b"), message("a", role="assistant")):
        with pytest.raises(ConflictError, match="Idempotency-Key"):
            store.append_messages(
                ALICE, "s1", [other], T0 + 1, auto_create=True, idempotency_key="k"
            )
    with pytest.raises(ConflictError):  # the same message to another session
        store.append_messages(
            ALICE, "s2", [message("a")], T0 + 1, auto_create=True, idempotency_key="k"
        )

    assert texts_of(store, ALICE, "s1") == ["a"]
    assert store.get_session(ALICE, "s2") is None


def test_a_retry_is_the_same_request_whatever_id_and_time_the_server_chose(store: Store) -> None:
    first = message("a", now=T0)
    again = message("a", now=T0 + 5)  # another message id, another created_at
    assert first.message_id != again.message_id and first.body != again.body

    store.append_messages(ALICE, "s1", [first], T0, auto_create=True, idempotency_key="k")
    store.append_messages(ALICE, "s1", [again], T0 + 5, auto_create=True, idempotency_key="k")

    assert texts_of(store, ALICE, "s1") == ["a"]
