"""Deletion users can trust (issue 5): concurrency, delete during extraction, user erasure and
the retention sweep, against the embedded client, the in-process app and real processes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Litestar 2.x deprecation chatter (building the app per test) is not what we test here."""
    quiet = pytest.mark.filterwarnings("ignore::DeprecationWarning:litestar")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(quiet)


@pytest.fixture(autouse=True)
def no_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's SKALD_* / OPENVIKING_* settings must not change who we are."""
    for name in list(os.environ):
        if name.startswith(("SKALD_", "OPENVIKING_")):
            monkeypatch.delenv(name)
