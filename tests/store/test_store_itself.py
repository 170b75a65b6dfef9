"""The store as a whole: where it lives, whether it answers, its schema version, and the API
keys it keeps — the same on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from skald_core.errors import StorageUnavailableError
from skald_core.keys import KeyStore
from skald_core.store import schema
from skald_core.store.protocol import Store

from .conftest import BACKENDS, StoreFactory
from .helpers import T0


def test_it_says_where_its_data_lives_without_secrets(store: Store) -> None:
    where = store.describe()
    assert where.split()[0] in ("sqlite", "postgresql")
    assert "password" not in where and "@" not in where


def test_it_answers_a_ping_and_is_at_the_current_schema_version(store: Store) -> None:
    store.ping()
    assert store.schema_version() == schema.SCHEMA_VERSION
    assert store.migrate() == schema.SCHEMA_VERSION  # nothing left to apply: idempotent
    assert store.check_integrity() == []


@pytest.mark.parametrize("factory", BACKENDS)
def test_a_closed_store_refuses_a_ping(factory: StoreFactory, tmp_path: Path) -> None:
    closed = factory(tmp_path)
    closed.close()
    with pytest.raises(StorageUnavailableError):
        closed.ping()


def test_its_key_store_keeps_hashes_and_revocations(store: Store) -> None:
    keys: KeyStore = store.key_store()
    made = keys.create_key("acme", "alice", "user", True, T0)
    other = keys.create_key("globex", "bob", "admin", False, T0 + 1)
    found = keys.find_key(made.key)
    assert found == made.record and found.read_only and found.revoked_at is None
    assert keys.find_key(made.key[:-1] + ("0" if made.key[-1] != "0" else "1")) is None
    assert [k.key_id for k in keys.list_keys()] == [made.record.key_id, other.record.key_id]
    assert [k.key_id for k in keys.list_keys("globex")] == [other.record.key_id]
    assert keys.revoke_key(made.record.key_id, T0 + 2) is True
    assert keys.revoke_key(made.record.key_id, T0 + 3) is False  # already revoked
    assert keys.find_key(made.key) is None
    assert keys.list_keys("acme")[0].revoked_at == T0 + 2


def test_a_keys_last_use_is_written_at_most_once_a_minute(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``find_key`` notes the use in ``last_used_at``, but writes it only when the stored time
    is a minute old: many requests a minute cost one write, not one each."""
    from skald_core import clock

    keys = store.key_store()
    made = keys.create_key("acme", "alice", "user", False, T0)
    now = [T0 + 10.0]
    monkeypatch.setattr(clock, "now", lambda: now[0])
    writes: list[str] = []
    real_tx = store._tx  # type: ignore[attr-defined]

    def counting_tx(fn: object, *, write: bool = True, single: bool = False) -> object:
        if write:
            writes.append("w")
        return real_tx(fn, write=write, single=single)

    monkeypatch.setattr(store, "_tx", counting_tx)

    def last_used() -> float | None:
        return keys.list_keys("acme")[0].last_used_at

    assert last_used() is None
    assert keys.find_key(made.key) is not None
    assert last_used() == T0 + 10 and len(writes) == 1
    for step in (1.0, 30.0, 59.0):  # within the minute: read, never written
        now[0] = T0 + 10 + step
        assert keys.find_key(made.key) is not None
    assert last_used() == T0 + 10 and len(writes) == 1
    now[0] = T0 + 71
    keys.find_key(made.key)
    assert last_used() == T0 + 71 and len(writes) == 2
    # Another process (a fresh key store) that sees a recent stored time does not write either.
    now[0] = T0 + 100
    assert store.key_store().find_key(made.key) is not None
    assert last_used() == T0 + 71 and len(writes) == 2
