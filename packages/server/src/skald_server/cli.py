"""The ``skald`` command line: ``skald serve``, ``skald keys create|list|revoke`` and
``skald db upgrade`` (schema migrations). Settings and their flags come from ``config``."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from skald_core import __version__, clock, ids
from skald_core.errors import ERROR_CODE_SETS, InvalidArgumentError, SkaldError
from skald_core.identity import Role
from skald_core.keys import OPERATOR, KeyStore
from skald_core.store.protocol import Store

from . import config as config_mod
from . import logs, operator_cli, single_server, transfer_cli

if TYPE_CHECKING:
    from .connections import ConnectionLimits
    from .workers import Worker


def _open_store(args: argparse.Namespace) -> Store:
    """The store a maintenance command works on (never lazy: it must reach the database)."""
    return operator_cli.open_for_maintenance(args)


def _bind(cfg: config_mod.ServerConfig) -> socket.socket:
    """The listening socket, bound before anything says the server is up."""
    family = socket.AF_INET6 if ":" in cfg.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((cfg.host, cfg.port))
    except OSError as exc:
        sock.close()
        raise InvalidArgumentError(
            f"cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc} "
            "(is another server running there? choose another --port)"
        ) from exc
    sock.set_inheritable(True)
    return sock


def _serve(args: argparse.Namespace) -> int:
    from .app import create_app, open_configured_store

    try:
        cfg = config_mod.load(args.config, config_mod.flag_values(args))
        cfg.llm, cfg.embedding  # noqa: B018  # their settings refused here, before any fork
        logs.configure(cfg.log_level, cfg.log_format)
        lock = None if cfg.database_url else single_server.acquire(cfg.path)
        sock = _bind(cfg)
        if cfg.workers == 1:
            app = create_app(cfg)
        else:
            # The workers open the store after the fork; opening it here first applies any
            # migration once and stops a server whose store cannot work before any fork.
            open_configured_store(cfg).close()
    except SkaldError as exc:
        print(f"skald serve: {exc.message}", file=sys.stderr)
        return 2
    _announce(cfg, args)
    try:
        if cfg.workers == 1:
            return _run_server(cfg, sock, app)
        return _supervise(cfg, sock, lambda worker: _run_worker(cfg, sock, worker))
    finally:
        sock.close()
        if lock is not None:
            lock.release()


def _announce(cfg: config_mod.ServerConfig, args: argparse.Namespace) -> None:
    log = logging.getLogger("skald.server")
    weak = config_mod.weak_root_key(cfg.root_api_key)
    if weak:
        log.warning("weak root API key: %s", weak)
    if getattr(args, "root_api_key", None):
        log.warning(
            "the root API key was given on the command line, where `ps` shows it: prefer "
            "SKALD_ROOT_API_KEY or --root-api-key-file"
        )
    mode = "dev mode (no API key needed, loopback only)" if cfg.dev_mode else "api-key mode"
    processes = f" with {cfg.workers} worker processes" if cfg.workers > 1 else ""
    log.info(
        "Skald %s serving %s on http://%s:%d in %s%s",
        __version__,
        _where(cfg),
        cfg.host,
        cfg.port,
        mode,
        processes,
    )
    llm = cfg.llm
    if llm is not None:
        log.info("memory extraction: language model %s at %s", llm.model, llm.endpoint)
    else:
        log.info("memory extraction: built-in extractor (set SKALD_LLM_* for a model)")
    embedding = cfg.embedding
    if embedding is not None:
        log.info("search: hybrid (full text and %s at %s)", embedding.model, embedding.endpoint)
    else:
        log.info("search: full text (set SKALD_EMBEDDING_* for semantic search)")


def _supervise(
    cfg: config_mod.ServerConfig, sock: socket.socket, serve: Callable[[Worker], int]
) -> int:
    """Run ``serve`` in ``cfg.workers`` processes sharing ``sock`` (see ``workers``)."""
    import shutil

    from .shared_state import SharedState, runtime_dir
    from .workers import Supervisor

    # Listening before the fork: connections queue while the workers start.
    sock.listen(_connection_limits(cfg).backlog)
    shared = runtime_dir()
    try:
        SharedState(shared).close()  # its tables, made once before the workers open it
        return Supervisor(cfg.workers, serve, runtime_dir=shared).run()
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _run_worker(cfg: config_mod.ServerConfig, sock: socket.socket, worker: Worker) -> int:
    """One worker process of ``--workers N``, just forked: its own log handler (the inherited
    one's writer thread stayed in the supervisor), its own app and store, then serve."""
    from .app import create_app

    logs.configure(cfg.log_level, cfg.log_format)
    return _run_server(cfg, sock, create_app(cfg, worker=worker))


def _run_server(cfg: config_mod.ServerConfig, sock: socket.socket, app: Any) -> int:
    """Serve ``app`` on ``sock`` with uvicorn (httptools with Skald's timeouts, uvloop) until
    SIGTERM or SIGINT."""
    import uvicorn

    from .connections import protocol_class
    from .memory import return_large_blocks

    log = logging.getLogger("skald.server")
    return_large_blocks()
    limits = _connection_limits(cfg)
    if limits.max_connections < cfg.max_connections:
        log.warning(
            "connections: at most %d (max_connections %d lowered to fit the open-file limit, "
            "ulimit -n)",
            limits.max_connections,
            cfg.max_connections,
        )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=cfg.host,
            port=cfg.port,
            http=protocol_class(limits, ERROR_CODE_SETS[cfg.error_codes]),
            backlog=limits.backlog,
            # uvicorn declares an int but only hands it to loop.call_later: seconds as a float work.
            timeout_keep_alive=cfg.keep_alive_timeout,  # type: ignore[arg-type]
            log_level=cfg.log_level,
            timeout_graceful_shutdown=30,
            access_log=False,  # Skald writes its own (skald.access), with the route template
            log_config=None,  # and its own log format (logs.configure)
        )
    )
    server.run(sockets=[sock])
    return 0


def _connection_limits(cfg: config_mod.ServerConfig) -> ConnectionLimits:
    """The connection settings, fitted to the open-file limit (``connections``)."""
    from .connections import ConnectionLimits, fit_to_open_files

    return fit_to_open_files(
        ConnectionLimits(
            header_timeout=cfg.header_timeout,
            body_timeout=cfg.body_timeout,
            send_timeout=cfg.send_timeout,
            max_connections=cfg.max_connections,
        )
    )


def _where(cfg: config_mod.ServerConfig) -> str:
    if cfg.database_url:
        from skald_core.store.postgres import describe_url

        schema = f" schema {cfg.database_schema}" if cfg.database_schema else ""
        return f"PostgreSQL {describe_url(cfg.database_url)}{schema}"
    return os.path.abspath(cfg.path)


def _key_store(args: argparse.Namespace) -> tuple[Store, KeyStore]:
    store = _open_store(args)
    return store, store.key_store()


class _Applied(logging.Handler):
    """Collects the migrations a store reports applying while it opens."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.versions: list[int] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "applied schema migrations" in str(record.msg) and record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            if isinstance(args[-1], list):
                self.versions.extend(int(v) for v in args[-1])


def _db(args: argparse.Namespace) -> int:
    applied = _Applied()
    store_log = logging.getLogger("skald.store")
    store_log.addHandler(applied)
    level = store_log.level
    store_log.setLevel(logging.INFO)
    try:
        store = _open_store(args)  # opening applies the pending migrations
        try:
            version = store.migrate()
            where = store.describe()
        finally:
            store.close()
    except SkaldError as exc:
        print(f"skald db: {exc.message}", file=sys.stderr)
        return 2
    finally:
        store_log.removeHandler(applied)
        store_log.setLevel(level)
    done = sorted(set(applied.versions))
    if not done:
        print(f"{where} is up to date at schema version {version}; nothing to do")
    else:
        print(
            f"{where}: applied schema migrations {_versions(done)}; now at schema version {version}"
        )
    return 0


def _versions(done: list[int]) -> str:
    return f"{done[0]}-{done[-1]}" if len(done) > 1 else str(done[0])


def _keys(args: argparse.Namespace) -> int:
    try:
        store, keys = _key_store(args)
        try:
            if args.keys_command == "create":
                ids.check_id(args.account, "account")
                ids.check_id(args.user, "user")
                # --role read-only is --role user --read-only.
                role: Role = "user" if args.role == "read-only" else args.role
                read_only = args.read_only or args.role == "read-only"
                new = keys.create_key(
                    args.account, args.user, role, read_only, clock.now(), actor=OPERATOR
                )
                r = new.record
                print(new.key)
                print(
                    f"created key {r.key_id} for {r.account}/{r.user} role={r.role}"
                    f"{' read-only' if r.read_only else ''} (shown once; store it now)",
                    file=sys.stderr,
                )
            elif args.keys_command == "list":
                listed = keys.list_keys(args.account)
                if args.json:
                    import msgspec

                    print(msgspec.json.encode(listed).decode())
                    return 0
                print("KEY_ID\tACCOUNT\tUSER\tROLE\tACCESS\tSTATE\tCREATED\tLAST_USED\tREVOKED")

                def when(at: float | None) -> str:
                    return clock.iso_seconds(at) if at else "-"

                for r in listed:
                    state = "revoked" if r.revoked_at else "active"
                    print(
                        f"{r.key_id}\t{r.account}\t{r.user}\t{r.role}"
                        f"\t{'read-only' if r.read_only else 'read-write'}\t{state}"
                        f"\t{when(r.created_at)}\t{when(r.last_used_at)}\t{when(r.revoked_at)}"
                    )
            else:
                if not keys.revoke_key(args.key_id, clock.now(), actor=OPERATOR):
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
    p = argparse.ArgumentParser(
        prog="skald",
        description="Skald: a self-hosted session and memory store for AI agents, "
        "wire-compatible with OpenViking's session API.",
    )
    p.add_argument("--version", action="version", version=f"skald {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser(
        "serve",
        help="run the HTTP server",
        description="Run the HTTP server. Each setting is read from (last wins) its default, "
        "the TOML file (--config; top level or [server], the llm_* ones also as [llm], the embedding_* ones as [embedding]), the "
        "environment (SKALD_<NAME>) and the flag.",
    )
    config_mod.add_flags(
        serve,
        (
            "store",
            "server",
            "connections",
            "limits",
            "logging",
            "tasks",
            "retention",
            "llm",
            "embedding",
        ),
    )
    serve.set_defaults(func=_serve)

    keys = sub.add_parser(
        "keys",
        help="manage API keys",
        description="Create, list and revoke API keys in the store (works while servers run). "
        "A key acts as one user of one account (role user), or for any user of its account "
        "(role admin: also keys, audit and erasure there); either may be read-only. The root "
        "key is not stored: it is a server setting (root_api_key_file).",
    )
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    for name, summary in (
        ("create", "create a key and print it once (stdout); what it is goes to stderr"),
        (
            "list",
            "list keys with a header row: id, account, user, role, access, state, created, "
            "last-used and revoked dates (never the secrets; tab-separated; last use is "
            "recorded to the minute)",
        ),
        ("revoke", "revoke a key by its id: requests presenting it get 401 at once"),
    ):
        k = ksub.add_parser(name, help=summary, description=summary)
        config_mod.add_flags(k, ("store",))
        if name == "create":
            k.add_argument("--account", required=True, help="the account the key acts in")
            k.add_argument("--user", required=True, help="the user the key acts as")
            k.add_argument(
                "--role",
                choices=["user", "admin", "read-only"],
                default="user",
                help="user: its own sessions, memories and files; admin: any user of its "
                "account (X-OpenViking-User), its keys, audit log and erasures; read-only: "
                "a user key that may read but never write (default user)",
            )
            k.add_argument(
                "--read-only",
                action="store_true",
                help="the key may read but never write (with --role admin: a read-only admin)",
            )
        elif name == "list":
            k.add_argument("--account", help="only the keys of this account")
            k.add_argument("--json", action="store_true", help="print a JSON array of the keys")
        else:
            k.add_argument("key_id", help="the key's id (the part after sk-, as keys list shows)")
        k.set_defaults(func=_keys)

    db = sub.add_parser(
        "db", help="database schema migrations", description="Database schema migrations."
    )
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    d = dsub.add_parser(
        "upgrade",
        help="apply pending schema migrations (servers also do this when they start; safe "
        "while other servers run)",
        description="Create the schema, or apply the migrations it lacks, and say which.",
    )
    config_mod.add_flags(d, ("store",))
    d.set_defaults(func=_db)

    operator_cli.add_commands(sub)
    transfer_cli.add_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
