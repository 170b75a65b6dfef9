"""Factories for the server suite: apps in dev mode and in api-key mode, and API keys.

``make_server(**config)`` builds the services itself (``build_services(config, now=clock)``,
with a ``TestClock`` of its own) and hands them to ``create_app(config, services=services)``,
so tests can mint keys through ``services.keys``, monkeypatch services, and write in the past
(``with server.clock.days_ago(40): ...``). The Litestar ``TestClient`` is entered (startup
runs, the task worker starts) and closed again after the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from support.clock import TestClock

from skald_core import clock
from skald_server.app import build_services, create_app
from skald_server.config import ServerConfig
from skald_server.context import Services

from .helpers import Caller

ROOT_KEY = "root-secret-key-for-tests"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Litestar 2.x deprecation chatter about inferred parameters is not what we test here."""
    quiet = pytest.mark.filterwarnings("ignore::DeprecationWarning:litestar")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(quiet)


class Server:
    def __init__(
        self,
        config: ServerConfig,
        services: Services,
        client: TestClient[Any],
        clock: TestClock,
    ) -> None:
        self.config = config
        self.services = services
        self.client = client
        self.clock = clock

    def caller(
        self,
        key: str | None = None,
        *,
        account: str | None = None,
        user: str | None = None,
        bearer: bool = False,
    ) -> Caller:
        headers: dict[str, str] = {}
        if key is not None:
            if bearer:
                headers["Authorization"] = f"Bearer {key}"
            else:
                headers["X-API-Key"] = key
        if account is not None:
            headers["X-OpenViking-Account"] = account
        if user is not None:
            headers["X-OpenViking-User"] = user
        return Caller(self.client, headers)

    def mint(self, account: str, user: str, role: str = "user", *, read_only: bool = False) -> str:
        """A new API key (the secret) via ``services.keys.create_key``."""
        return self.services.keys.create_key(account, user, role, read_only, clock.now()).key  # type: ignore[arg-type]

    def mint_id(
        self, account: str, user: str, role: str = "user", *, read_only: bool = False
    ) -> tuple[str, str]:
        new = self.services.keys.create_key(account, user, role, read_only, clock.now())  # type: ignore[arg-type]
        return new.key, new.record.key_id

    @property
    def root(self) -> Caller:
        return self.caller(self.config.root_api_key)


MakeServer = Callable[..., Server]


class _Factory:
    """Starts apps under ``base`` and closes them all when the owning fixture ends."""

    def __init__(self, base: Path, stack: ExitStack) -> None:
        self.base, self.stack, self.count = base, stack, 0

    def __call__(self, **overrides: Any) -> Server:
        self.count += 1
        options: dict[str, Any] = {
            "path": str(self.base / f"data{self.count}"),
            "task_poll_seconds": 0.05,
            "commit_wait_timeout": 60.0,  # a wait=True commit returns as soon as it is done
        }
        options.update(overrides)
        config = ServerConfig(**options)
        test_clock = TestClock()
        services = build_services(config, now=test_clock)
        client = self.stack.enter_context(TestClient(create_app(config, services=services)))
        return Server(config, services, client, test_clock)


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[MakeServer]:
    """``make_server(root_api_key=..., max_body_bytes=..., ...)`` → a fresh running app."""
    with ExitStack() as stack:
        yield _Factory(tmp_path, stack)


@pytest.fixture(scope="module")
def shared_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One dev-mode app per module; tests isolate themselves by account (see ``client``)."""
    with ExitStack() as stack:
        yield _Factory(tmp_path_factory.mktemp("dev"), stack)()


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One api-key-mode app per module; tests mint keys in their own fresh account."""
    with ExitStack() as stack:
        yield _Factory(tmp_path_factory.mktemp("api"), stack)(root_api_key=ROOT_KEY)


@pytest.fixture
def account() -> str:
    """A fresh account name: a namespace no other test touches."""
    return "acct-" + uuid.uuid4().hex[:12]


@pytest.fixture
def dev(make_server: MakeServer) -> Server:
    """A fresh dev-mode app (no root key): every caller is root, identity from headers."""
    return make_server()


@pytest.fixture
def api(make_server: MakeServer) -> Server:
    """A fresh api-key-mode app with the root key ``ROOT_KEY``."""
    return make_server(root_api_key=ROOT_KEY)


@pytest.fixture
def client(shared_dev: Server, account: str) -> Caller:
    """A dev-mode caller acting as user ``default`` of a fresh account (so URIs under
    ``viking://user/default/`` are this test's own and every listing starts empty)."""
    return shared_dev.caller(account=account)
