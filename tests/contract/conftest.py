"""Contract-test fixtures.

* ``dev_server``     – a real ``skald serve`` with no root key (dev mode), module-scoped;
  ``dev_server_postgres`` is the same on the PostgreSQL backend.
* ``apikey_server``  – ``--root-api-key`` set, plus a USER key minted with ``skald keys create``
                       on the same data dir before the server starts; module-scoped.
* ``isolated_openviking_env`` (autouse) – hides the machine's OpenViking client configuration
  (``OPENVIKING_*`` variables and ``~/.openviking/ovcli.conf``) from the real SDK.

Both servers are stopped with SIGTERM at teardown and must exit 0 within a timeout
(see ``support.server.running_skald``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.server import SkaldServer, mint_key, running_skald

KEY_ACCOUNT = "acme"
KEY_USER = "alice"


@pytest.fixture(autouse=True)
def isolated_openviking_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real SDK reads OPENVIKING_* and ~/.openviking/ovcli.conf: hide both."""
    for name in list(os.environ):
        if name.startswith("OPENVIKING_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENVIKING_CLI_CONFIG_FILE", str(tmp_path / "no-such-ovcli.conf"))


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SkaldServer]:
    base = tmp_path_factory.mktemp("skald-dev")
    with running_skald(base / "data") as server:
        yield server


@pytest.fixture(scope="module")
def dev_server_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SkaldServer]:
    """``dev_server`` with its store on PostgreSQL (a fresh schema, dropped after)."""
    from postgres.support import DATABASE_URL, fresh_schema

    base = tmp_path_factory.mktemp("skald-dev-pg")
    with fresh_schema("skald_contract") as schema:
        args = ["--database-url", DATABASE_URL, "--database-schema", schema]
        with running_skald(base / "unused", extra_args=args) as server:
            yield server


@pytest.fixture(scope="module")
def apikey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SkaldServer]:
    base = tmp_path_factory.mktemp("skald-apikey")
    data = base / "data"
    data.mkdir()
    user_key = mint_key(data, KEY_ACCOUNT, KEY_USER, "user")
    with running_skald(data, root_api_key="contract-root-key-" + os.urandom(8).hex()) as server:
        server.api_key = user_key
        server.account = KEY_ACCOUNT
        server.user = KEY_USER
        yield server
