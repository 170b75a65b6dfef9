"""Fixtures for the storage contract suite: the behavioural contract of
``skald_core.store.protocol.Store``, one file per capability (``test_sessions.py``,
``test_messages.py``, ``test_commit.py``, ``test_deletion.py``, ``test_tasks.py``,
``test_files.py``, ``test_isolation.py``, ``test_idempotency.py``).

Each test is one scenario told through the protocol alone: arrange with the helpers of
``helpers.py``, act, and assert on what the protocol shows afterwards. Every test that takes
the ``store`` fixture runs once per backend in ``BACKENDS``. A backend is a factory taking a
fresh, empty temporary directory and returning an empty ``Store``. Adding a backend means
appending one ``pytest.param`` here (for example a factory that creates a throw-away schema
and skips when no server is reachable); the tests stay untouched.

The PostgreSQL backend (``postgres``) runs every test in a schema of its own, dropped after the
test; without a reachable database it skips, or fails when ``CI`` is set
(``tests/postgres/support.py``).

After every test the store must still pass its own consistency check: each scenario ends with
``check_integrity() == []``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skald_core.store.protocol import Store
from skald_core.store.sqlite import SQLiteStore

StoreFactory = Callable[[Path], Store]


def _sqlite(tmp_path: Path) -> Store:
    return SQLiteStore(tmp_path)


def _postgres(tmp_path: Path) -> Store:
    from postgres.support import throwaway_store

    store: Store = throwaway_store()
    return store


BACKENDS: list[object] = [
    pytest.param(_sqlite, id="sqlite"),
    pytest.param(_postgres, id="postgres"),
]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = request.param
    backend = factory(tmp_path)
    try:
        yield backend
        problems = backend.check_integrity()
        assert problems == [], f"store inconsistent after the scenario: {problems}"
    finally:
        backend.close()
