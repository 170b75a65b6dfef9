"""Quotas an append or a creation checks inside its transaction (issue 12, section 3): past
one, ``ResourceExhaustedError`` naming the setting, and nothing written — for each path an
append takes (the one-statement fast path, the keyed transaction, the creating one)."""

from __future__ import annotations

import pytest

from skald_core.errors import ResourceExhaustedError
from skald_core.schemas import DeleteOptions
from skald_core.store.model import Quota
from skald_core.store.protocol import Store

from .helpers import ALICE, T0, message, texts_of


def _quota_error(exc: pytest.ExceptionInfo[ResourceExhaustedError], name: str) -> None:
    assert exc.value.code == "RESOURCE_EXHAUSTED"
    assert exc.value.details == {
        "reason": "quota_exceeded",
        "quota": name,
        "limit": exc.value.details["limit"],
    }
    assert name in exc.value.message


@pytest.mark.parametrize("keyed", [False, True])
def test_messages_per_session(store: Store, keyed: bool) -> None:
    q = Quota(session_messages=3)
    key = (lambda i: f"k{i}") if keyed else (lambda i: None)
    store.append_messages(
        ALICE,
        "s",
        [message("a"), message("b")],
        T0,
        auto_create=True,
        quota=q,
        idempotency_key=key(1),
    )
    with pytest.raises(ResourceExhaustedError) as exc:
        store.append_messages(
            ALICE,
            "s",
            [message("c"), message("d")],
            T0,
            auto_create=True,
            quota=q,
            idempotency_key=key(2),
        )
    _quota_error(exc, "max_session_messages")
    assert texts_of(store, ALICE, "s") == ["a", "b"]
    store.append_messages(
        ALICE, "s", [message("c")], T0, auto_create=True, quota=q, idempotency_key=key(3)
    )
    assert texts_of(store, ALICE, "s") == ["a", "b", "c"]
    with pytest.raises(ResourceExhaustedError):
        store.append_messages(ALICE, "s", [message("d")], T0, auto_create=True, quota=q)


def test_bytes_per_session_count_archived_messages_too(store: Store) -> None:
    one = message("x" * 1000)
    q = Quota(session_bytes=3 * len(one.body) + 10)
    for _ in range(3):
        store.append_messages(ALICE, "s", [message("x" * 1000)], T0, auto_create=True, quota=q)
    store.commit(ALICE, "s", 0, T0, "task-1")
    with pytest.raises(ResourceExhaustedError) as exc:
        store.append_messages(ALICE, "s", [message("y" * 20)], T0, auto_create=True, quota=q)
    _quota_error(exc, "max_session_bytes")
    assert texts_of(store, ALICE, "s") == []


def test_a_new_session_larger_than_the_quota_is_not_created(store: Store) -> None:
    q = Quota(session_messages=1)
    with pytest.raises(ResourceExhaustedError):
        store.append_messages(
            ALICE, "new", [message("a"), message("b")], T0, auto_create=True, quota=q
        )
    assert store.get_session(ALICE, "new") is None


def test_sessions_per_user_trashed_ones_count(store: Store) -> None:
    q = Quota(user_sessions=2)
    store.create_session(ALICE, "one", T0, quota=q)
    store.append_messages(ALICE, "two", [message("a")], T0, auto_create=True, quota=q)
    with pytest.raises(ResourceExhaustedError) as exc:
        store.create_session(ALICE, "three", T0, quota=q)
    _quota_error(exc, "max_user_sessions")
    with pytest.raises(ResourceExhaustedError):
        store.append_messages(ALICE, "three", [message("a")], T0, auto_create=True, quota=q)
    assert store.get_session(ALICE, "three") is None
    # Appending to an existing session is no creation.
    store.append_messages(ALICE, "two", [message("b")], T0, auto_create=True, quota=q)
    store.delete_session(ALICE, "one", T0, DeleteOptions(mode="soft"))
    with pytest.raises(ResourceExhaustedError):
        store.create_session(ALICE, "three", T0, quota=q)
    store.delete_session(ALICE, "one", T0)  # purged
    store.create_session(ALICE, "three", T0, quota=q)


def test_a_file_grows_by_appends_up_to_its_quota_and_no_further(store: Store) -> None:
    """``max_file_bytes``: an append (or a batch of writes) that would take a shared file past
    it is refused whole; what the file held stays, and a smaller append still fits."""
    from skald_core.store.model import FileWrite

    q = Quota(file_bytes=10)
    path = "agent/notes/log.md"

    def write(data: bytes, mode: str = "append") -> None:
        store.write_file(
            "acme",
            path,
            data,
            mode,
            T0,
            session=None,
            stop_at=1,
            writer="alice",
            quota=q,  # type: ignore[arg-type]
        )

    write(b"123456")
    write(b"7890")  # exactly 10 bytes
    with pytest.raises(ResourceExhaustedError) as exc:
        write(b"x")
    _quota_error(exc, "max_file_bytes")
    assert exc.value.details["limit"] == 10
    with pytest.raises(ResourceExhaustedError):
        write(b"y" * 11, "replace")
    with pytest.raises(ResourceExhaustedError):  # a batch: neither write lands
        store.write_files(
            "acme",
            [
                FileWrite("resources/other.md", b"ok", "create", None, 1),
                FileWrite(path, b"z", "append", None, 1),
            ],
            T0,
            writer="bob",
            quota=q,
        )
    row = store.get_file("acme", path)
    assert row is not None and row.content == b"1234567890"
    assert store.get_file("acme", "resources/other.md") is None
    write(b"abc", "replace")
    write(b"defg")
    got = store.get_file("acme", path)
    assert got is not None and got.content == b"abcdefg"
