"""Selecting PostgreSQL from the command line and the environment: ``skald db upgrade``,
``skald keys ... --database-url``, ``SKALD_DATABASE_URL``, and a server in api-key mode that
accepts a key another process created in the database."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from support.server import run_skald as skald

from skald_core.errors import InvalidArgumentError
from skald_core.store.schema import MIGRATIONS, SCHEMA_VERSION
from skald_server import config as config_mod

from .replicas import start_replica
from .support import DATABASE_URL, fresh_schema, query

ROOT = "root-key-for-tests-0123456789"


def test_db_upgrade_creates_the_schema_and_is_idempotent() -> None:
    with fresh_schema("skald_cli") as schema:
        for _ in range(2):
            done = skald(
                "db", "upgrade", "--database-url", DATABASE_URL, "--database-schema", schema
            )
            assert done.returncode == 0, done.stderr
            assert f"schema version {SCHEMA_VERSION}" in done.stdout
        assert "password" not in done.stdout
        assert query(schema, "SELECT version FROM skald_schema_migrations ORDER BY version") == [
            (m.version,) for m in MIGRATIONS
        ]


def test_db_upgrade_reports_an_unreachable_database() -> None:
    done = skald("db", "upgrade", "--database-url", "postgresql://nobody@127.0.0.1:9/none")
    assert done.returncode == 2
    assert "unreachable" in done.stderr


def test_keys_created_in_the_database_work_on_a_server(tmp_path: Path) -> None:
    with fresh_schema("skald_cli") as schema:
        db = ["--database-url", DATABASE_URL, "--database-schema", schema]
        made = skald("keys", "create", *db, "--account", "acme", "--user", "alice")
        assert made.returncode == 0, made.stderr
        key = made.stdout.strip().splitlines()[0]
        listed = skald("keys", "list", *db)
        assert "acme\talice" in listed.stdout

        server = start_replica(
            "keys", tmp_path, database_url=DATABASE_URL, schema=schema,
            extra_args=["--root-api-key", ROOT],
        )  # fmt: skip
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                r = http.post(
                    "/api/v1/sessions/s1/messages",
                    json={"role": "user", "content": "hi"},
                    headers={"X-API-Key": key},
                )
                assert r.status_code == 200, r.text
                key_id = key.split("-")[1]
                assert skald("keys", "revoke", *db, key_id).returncode == 0
                r = http.get("/api/v1/sessions", headers={"X-API-Key": key})
                assert r.status_code == 401
        finally:
            assert server.stop() in (0, -15), server.log()


def test_the_environment_selects_postgres() -> None:
    cfg = config_mod.load(
        environ={
            "SKALD_DATABASE_URL": "postgresql://u@db.example:5432/skald",
            "SKALD_DATABASE_SCHEMA": "tenant1",
            "SKALD_DATABASE_POOL_MAX_SIZE": "20",
        }
    )
    assert cfg.database_url == "postgresql://u@db.example:5432/skald"
    assert (cfg.database_schema, cfg.database_pool_max_size) == ("tenant1", 20)
    with pytest.raises(InvalidArgumentError):
        config_mod.load(environ={"SKALD_DATABASE_URL": "mysql://u@db/skald"})
    with pytest.raises(InvalidArgumentError):
        config_mod.load(
            environ={"SKALD_DATABASE_POOL_MIN_SIZE": "5", "SKALD_DATABASE_POOL_MAX_SIZE": "2"}
        )


def test_build_services_takes_any_store_and_key_store_pair(tmp_path: Path) -> None:
    from skald_core.store.postgres import PostgresStore
    from skald_core.store.sql_store import SQLKeyStore
    from skald_core.store.sqlite import SQLiteStore
    from skald_server.app import build_services
    from skald_server.config import ServerConfig

    config = ServerConfig(path=str(tmp_path / "data"))
    with fresh_schema("skald_cli") as schema:
        pg = PostgresStore(DATABASE_URL, schema=schema, max_size=2)
        try:
            services = build_services(config, store=pg)  # its keys: those in the database
            assert isinstance(services.keys, SQLKeyStore) and services.keys._store is pg
            # Any pair goes, e.g. sessions in PostgreSQL and keys in a SQLite file.
            sqlite = SQLiteStore(tmp_path / "keys")
            try:
                mixed = build_services(config, store=pg, keys=sqlite.key_store())
                assert mixed.store is pg and mixed.keys._store is sqlite  # type: ignore[attr-defined]
            finally:
                sqlite.close()
        finally:
            pg.close()
    with pytest.raises(AttributeError):  # not a Store: it has no key_store()
        build_services(config, store=object())  # type: ignore[arg-type]


def test_a_permanent_database_error_is_said_once_and_clearly(tmp_path: Path) -> None:
    """A database that does not exist will not come back by waiting: the log says so, /ready
    says so, and the repeating warnings are rate-limited instead of several a second."""
    import time

    from support.server import running_skald

    from .support import require_postgres

    require_postgres()
    missing = DATABASE_URL.rsplit("/", 1)[0] + "/skald_no_such_database"
    with running_skald(tmp_path / "data", extra_args=["--database-url", missing]) as server:
        ready = httpx.get(server.url + "/ready")
        assert ready.status_code == 503
        details = ready.json()["error"]["details"]
        assert details["reason"] == "unreachable" and "does not exist" in details["permanent"]
        time.sleep(3)  # the task worker polls every second
        log = server.log()
    assert "waiting will not fix this" in log
    assert log.count("task worker:") <= 1
