"""Hostile input against the real app on both backends (issue 12, sections 2 and 6).

``app`` is one running app per module and backend (``sqlite``: a data directory; ``postgres``:
a schema of its own, dropped after — skipped without a database, failed in CI). Tests that
write isolate themselves by account (dev mode: identity from headers), so one app serves many
Hypothesis examples without a fixture per example.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from skald_server.app import create_app
from skald_server.config import ServerConfig

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Litestar 2.x deprecation chatter about inferred parameters is not what we test here."""
    quiet = pytest.mark.filterwarnings("ignore::DeprecationWarning:litestar")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(quiet)


@dataclass
class App:
    backend: str
    config: ServerConfig
    app: Litestar
    http: TestClient[Any]

    def as_account(self, account: str | None = None) -> dict[str, str]:
        """Headers acting as user ``default`` of ``account`` (default: a fresh one)."""
        return {"X-OpenViking-Account": account or "acct-" + uuid.uuid4().hex[:12]}

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)


def config_for(backend: str, stack: ExitStack, tmp: Path) -> ServerConfig:
    if backend == "sqlite":
        return ServerConfig(path=str(tmp / "data"), task_poll_seconds=0.05)
    from postgres.support import DATABASE_URL, fresh_schema

    schema = stack.enter_context(fresh_schema("skald_hostile"))
    return ServerConfig(
        path=str(tmp / "unused"),
        database_url=DATABASE_URL,
        database_schema=schema,
        task_poll_seconds=0.05,
    )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    backend: str = request.param
    with ExitStack() as stack:
        config = config_for(backend, stack, tmp_path_factory.mktemp(f"hostile-{backend}"))
        litestar_app = create_app(config)
        http = stack.enter_context(TestClient(litestar_app, raise_server_exceptions=False))
        yield App(backend, config, litestar_app, http)
