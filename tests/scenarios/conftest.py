"""One behavioural suite, three clients (contract §1.3 and §6), two storage backends.

The ``client`` fixture gives the same SDK surface six ways, and every scenario runs on each:

* ``embedded``        – ``skald.OpenViking(path=...)``, in this process, fresh data dir per test;
* ``http-inprocess``  – ``SyncHTTPClient`` on ``create_app(ServerConfig(path=...))``: the real
                        server app in this process (``support.asgi.sync_client``, Litestar's
                        ``TestClient``), fresh data dir per test;
* ``http-server``     – ``SyncHTTPClient(url=...)`` against a real ``skald serve`` subprocess on a
                        free loopback port, started once per test session and stopped with
                        SIGTERM (it must exit cleanly). The server runs in dev mode, where the
                        identity comes from headers, so each test acts as user ``default`` of
                        its own fresh account: the same ``viking://user/default/...`` URIs as
                        the other two clients, and every listing starts empty;
* ``embedded-postgres`` and ``http-inprocess-postgres`` – the first two on the PostgreSQL
                        backend (``database_url=``), each test in a schema of its own, dropped
                        after it (``tests/postgres/support.py``: skipped without a database,
                        failed in CI);
* ``http-server-postgres`` – ``http-server`` with the server process on PostgreSQL
                        (``--database-url``, one fresh schema for the session, dropped after).

``SKALD_TEST_SERVER_WORKERS=N`` runs both server processes with ``--workers N``, so the whole
suite can be pointed at a multi-process server (``tests/server/test_workers.py`` checks what
must hold across workers on every run):

    SKALD_TEST_SERVER_WORKERS=2 uv run pytest tests/scenarios -k http-server
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.asgi import sync_client
from support.server import running_skald

import skald
from skald_server.app import create_app
from skald_server.config import ServerConfig

CLIENT_KINDS = [
    "embedded",
    "http-inprocess",
    "http-server",
    "embedded-postgres",
    "http-inprocess-postgres",
    "http-server-postgres",
]
HERE = Path(__file__).resolve().parent
#: Read once at import: the per-test fixture below takes SKALD_* out of the environment.
SERVER_ARGS = (
    ["--workers", os.environ["SKALD_TEST_SERVER_WORKERS"]]
    if os.environ.get("SKALD_TEST_SERVER_WORKERS")
    else []
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Litestar 2.x deprecation chatter (building the app per test) is not what we test here."""
    quiet = pytest.mark.filterwarnings("ignore::DeprecationWarning:litestar")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(quiet)


@pytest.fixture(autouse=True)
def no_client_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's SKALD_* / OPENVIKING_* client settings must not change who we are."""
    for name in list(os.environ):
        if name.startswith(("SKALD_", "OPENVIKING_")):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def skald_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real ``skald serve`` process for the whole test session (dev mode, loopback)."""
    data = tmp_path_factory.mktemp("scenario-server") / "data"
    with running_skald(data, extra_args=SERVER_ARGS) as server:
        yield server


@pytest.fixture(scope="session")
def skald_server_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real ``skald serve`` process on PostgreSQL (a fresh schema) for the whole session."""
    from postgres.support import DATABASE_URL, fresh_schema

    data = tmp_path_factory.mktemp("scenario-server-pg") / "unused"
    with fresh_schema("skald_scn_srv") as schema:
        args = ["--database-url", DATABASE_URL, "--database-schema", schema, *SERVER_ARGS]
        with running_skald(data, extra_args=args) as server:
            yield server


@pytest.fixture(params=CLIENT_KINDS)
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """The SDK client under test: ``OpenViking`` or ``SyncHTTPClient`` (same surface)."""
    kind = request.param
    if kind.startswith("http-server"):
        fixture = "skald_server_postgres" if kind.endswith("-postgres") else "skald_server"
        server = request.getfixturevalue(fixture)
        account = "scn-" + uuid.uuid4().hex[:12]
        with skald.SyncHTTPClient(url=server.url, account=account) as remote:
            yield remote
    elif kind.endswith("-postgres"):
        from postgres.support import DATABASE_URL, fresh_schema

        with fresh_schema("skald_scn") as schema:
            if kind == "embedded-postgres":
                with skald.OpenViking(database_url=DATABASE_URL, database_schema=schema) as pg:
                    yield pg
            else:
                config = ServerConfig(
                    path=str(tmp_path / "unused"),
                    database_url=DATABASE_URL,
                    database_schema=schema,
                    database_pool_max_size=4,
                )
                with sync_client(create_app(config)) as inprocess:
                    yield inprocess
    elif kind == "embedded":
        with skald.OpenViking(path=tmp_path / "data") as embedded:
            yield embedded
    elif kind == "http-inprocess":
        app = create_app(ServerConfig(path=str(tmp_path / "data")))
        with sync_client(app) as inprocess:
            yield inprocess
    else:
        raise AssertionError(f"unknown client kind {kind}")
