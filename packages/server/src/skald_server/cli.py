"""The ``skald`` command line: ``skald serve``, ``skald keys create|list|revoke`` and
``skald db upgrade`` (schema migrations)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from skald_core import clock, ids
from skald_core.errors import SkaldError
from skald_core.keys import KeyStore
from skald_core.store.backends import open_store
from skald_core.store.protocol import Store

from . import config as config_mod


def _database_overrides(args: argparse.Namespace) -> dict[str, object]:
    return {
        "path": getattr(args, "path", None),
        "database_url": getattr(args, "database_url", None),
        "database_schema": getattr(args, "database_schema", None),
    }


def _open_store(args: argparse.Namespace) -> Store:
    """The store a maintenance command works on (never lazy: it must reach the database)."""
    cfg = config_mod.load(args.config, {**_database_overrides(args), "host": "127.0.0.1"})
    return open_store(
        path=cfg.path,
        database_url=cfg.database_url,
        database_schema=cfg.database_schema,
        pool_min_size=0,
        pool_max_size=2,
        pool_timeout=cfg.database_pool_timeout,
    )


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .connections import fit_to_open_files, protocol_class

    try:
        cfg = config_mod.load(
            args.config,
            {
                **_database_overrides(args),
                "database_pool_min_size": args.database_pool_min_size,
                "database_pool_max_size": args.database_pool_max_size,
                "database_pool_timeout": args.database_pool_timeout,
                "host": args.host,
                "port": args.port,
                "root_api_key": args.root_api_key,
                "log_level": args.log_level,
                "retention_days": args.retention_days,
                "trash_days": args.trash_days,
                "max_body_bytes": args.max_body_bytes,
                "llm_base_url": args.llm_base_url,
                "llm_model": args.llm_model,
                "llm_timeout": args.llm_timeout,
                "llm_max_retries": args.llm_max_retries,
                "llm_max_concurrency": args.llm_max_concurrency,
                "cors_origins": args.cors_origins,
                "header_timeout": args.header_timeout,
                "body_timeout": args.body_timeout,
                "keep_alive_timeout": args.keep_alive_timeout,
                "max_connections": args.max_connections,
            },
        )
        llm = cfg.llm
        app = create_app(cfg)
    except SkaldError as exc:
        print(f"skald serve: {exc.message}", file=sys.stderr)
        return 2
    logging.basicConfig(level=cfg.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    mode = "dev mode (no API key needed, loopback only)" if cfg.dev_mode else "api-key mode"
    print(
        f"Skald serving {_where(cfg)} on http://{cfg.host}:{cfg.port} in {mode}",
        flush=True,
    )
    if llm is not None:
        print(f"Memory extraction: language model {llm.model} at {llm.endpoint}", flush=True)
    else:
        print("Memory extraction: built-in extractor (set SKALD_LLM_* for a model)", flush=True)
    limits = fit_to_open_files(cfg.max_connections, cfg.header_timeout, cfg.body_timeout)
    if limits.max_connections < cfg.max_connections:
        print(
            f"Connections: at most {limits.max_connections} (max_connections "
            f"{cfg.max_connections} lowered to fit the open-file limit, ulimit -n)",
            flush=True,
        )
    uvicorn.run(
        app,
        host=cfg.host,
        port=cfg.port,
        http=protocol_class(limits),
        backlog=limits.backlog,
        # uvicorn declares an int but only hands it to loop.call_later: seconds as a float work.
        timeout_keep_alive=cfg.keep_alive_timeout,  # type: ignore[arg-type]
        log_level=cfg.log_level.lower(),
        timeout_graceful_shutdown=30,
        access_log=False,
    )
    return 0


def _where(cfg: config_mod.ServerConfig) -> str:
    if cfg.database_url:
        from skald_core.store.postgres import describe_url

        schema = f" schema {cfg.database_schema}" if cfg.database_schema else ""
        return f"PostgreSQL {describe_url(cfg.database_url)}{schema}"
    return os.path.abspath(cfg.path)


def _key_store(args: argparse.Namespace) -> tuple[Store, KeyStore]:
    store = _open_store(args)
    return store, store.key_store()


def _db(args: argparse.Namespace) -> int:
    try:
        store = _open_store(args)  # opening applies the pending migrations
        try:
            print(f"{store.describe()} is up to date at schema version {store.schema_version()}")
        finally:
            store.close()
    except SkaldError as exc:
        print(f"skald db: {exc.message}", file=sys.stderr)
        return 2
    return 0


def _add_database_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--database-url",
        help="PostgreSQL URL (postgresql://user:password@host:5432/db) instead of the SQLite "
        "file under --path; several servers may share one (env SKALD_DATABASE_URL)",
    )
    p.add_argument(
        "--database-schema",
        help="PostgreSQL schema for Skald's tables, created if missing (default: the "
        "search_path's, normally public; env SKALD_DATABASE_SCHEMA)",
    )


def _keys(args: argparse.Namespace) -> int:
    try:
        store, keys = _key_store(args)
        try:
            if args.keys_command == "create":
                ids.check_id(args.account, "account")
                ids.check_id(args.user, "user")
                new = keys.create_key(
                    args.account, args.user, args.role, args.read_only, clock.now()
                )
                r = new.record
                print(new.key)
                print(
                    f"created key {r.key_id} for {r.account}/{r.user} role={r.role}"
                    f"{' read-only' if r.read_only else ''} (shown once; store it now)",
                    file=sys.stderr,
                )
            elif args.keys_command == "list":
                for r in keys.list_keys(args.account):
                    state = "revoked" if r.revoked_at else "active"
                    print(
                        f"{r.key_id}\t{r.account}\t{r.user}\t{r.role}"
                        f"\t{'read-only' if r.read_only else 'read-write'}\t{state}"
                    )
            else:
                if not keys.revoke_key(args.key_id, clock.now()):
                    print(f"no active key with id {args.key_id}", file=sys.stderr)
                    return 1
                print(f"revoked {args.key_id}")
        finally:
            store.close()
    except SkaldError as exc:
        print(f"skald keys: {exc.message}", file=sys.stderr)
        return 2
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="skald", description="Skald session and memory store")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--path", help="data directory (default ./data; env SKALD_PATH)")
    serve.add_argument("--host", help="bind address (default 127.0.0.1; env SKALD_HOST)")
    serve.add_argument("--port", type=int, help="port (default 1933; env SKALD_PORT)")
    serve.add_argument(
        "--root-api-key",
        help="root key; without one the server runs in dev mode "
        "(loopback only; env SKALD_ROOT_API_KEY)",
    )
    _add_database_args(serve)
    serve.add_argument(
        "--database-pool-min-size",
        type=int,
        help="PostgreSQL connections kept open (default 1; env SKALD_DATABASE_POOL_MIN_SIZE)",
    )
    serve.add_argument(
        "--database-pool-max-size",
        type=int,
        help="most PostgreSQL connections (default 10; env SKALD_DATABASE_POOL_MAX_SIZE)",
    )
    serve.add_argument(
        "--database-pool-timeout",
        type=float,
        help="seconds a request waits for a connection before 503 (default 5; "
        "env SKALD_DATABASE_POOL_TIMEOUT)",
    )
    serve.add_argument(
        "--cors-origins",
        help="comma-separated origins (https://app.example.com, or *) whose web pages may "
        "call the server; key mode only (default none; env SKALD_CORS_ORIGINS)",
    )
    limits = serve.add_argument_group("connections")
    limits.add_argument(
        "--header-timeout",
        type=float,
        help="seconds to send a whole request head (default 10; env SKALD_HEADER_TIMEOUT)",
    )
    limits.add_argument(
        "--body-timeout",
        type=float,
        help="seconds between two pieces of a request body (default 30; env SKALD_BODY_TIMEOUT)",
    )
    limits.add_argument(
        "--keep-alive-timeout",
        type=float,
        help="seconds an idle connection stays open after an answer (default 5; "
        "env SKALD_KEEP_ALIVE_TIMEOUT)",
    )
    limits.add_argument(
        "--max-connections",
        type=int,
        help="open connections at most; more are closed at once (default 1000, lowered to "
        "fit ulimit -n; env SKALD_MAX_CONNECTIONS)",
    )
    serve.add_argument("--config", help="TOML config file (env SKALD_CONFIG)")
    serve.add_argument("--log-level", help="debug, info, warning, error")
    serve.add_argument(
        "--retention-days",
        type=float,
        help="purge sessions idle this many days (off by default; env SKALD_RETENTION_DAYS)",
    )
    serve.add_argument(
        "--trash-days",
        type=float,
        help="purge soft-deleted sessions this many "
        "days after deletion (off by default; env SKALD_TRASH_DAYS)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        help="largest request body; a bigger one is 413 PAYLOAD_TOO_LARGE (default 8388608, "
        "8 MiB; env SKALD_MAX_BODY_BYTES)",
    )
    llm = serve.add_argument_group(
        "memory extraction with a language model (OpenAI-compatible; the API key only by "
        "env SKALD_LLM_API_KEY or the config file)"
    )
    llm.add_argument(
        "--llm-base-url", help="API root, e.g. https://api.openai.com/v1 (env SKALD_LLM_BASE_URL)"
    )
    llm.add_argument("--llm-model", help="model name, e.g. gpt-4o-mini (env SKALD_LLM_MODEL)")
    llm.add_argument(
        "--llm-timeout", type=float, help="seconds per request (default 60; env SKALD_LLM_TIMEOUT)"
    )
    llm.add_argument(
        "--llm-max-retries",
        type=int,
        help="retries of a failed request or an unusable answer (default 3; "
        "env SKALD_LLM_MAX_RETRIES)",
    )
    llm.add_argument(
        "--llm-max-concurrency",
        type=int,
        help="extractions at the same time (default 4; env SKALD_LLM_MAX_CONCURRENCY)",
    )
    serve.set_defaults(func=_serve)

    keys = sub.add_parser("keys", help="manage API keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    for name in ("create", "list", "revoke"):
        k = ksub.add_parser(name)
        k.add_argument("--path", help="data directory (default ./data; env SKALD_PATH)")
        _add_database_args(k)
        k.add_argument("--config", help="TOML config file")
        if name == "create":
            k.add_argument("--account", required=True)
            k.add_argument("--user", required=True)
            k.add_argument("--role", choices=["user", "admin"], default="user")
            k.add_argument("--read-only", action="store_true")
        elif name == "list":
            k.add_argument("--account")
        else:
            k.add_argument("key_id")
        k.set_defaults(func=_keys)

    db = sub.add_parser("db", help="database schema migrations")
    dsub = db.add_subparsers(dest="db_command", required=True)
    d = dsub.add_parser(
        "upgrade",
        help="apply pending schema migrations (servers also do this when they start; safe "
        "while other servers run)",
    )
    d.add_argument("--path", help="data directory (default ./data; env SKALD_PATH)")
    _add_database_args(d)
    d.add_argument("--config", help="TOML config file")
    d.set_defaults(func=_db)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
