"""The operator's commands of ``skald``: ``sessions ls|show|rm|restore|purge``, ``cleanup``,
``erase-user``, ``audit``, ``backup`` and ``restore``.

They work on the store directly (SQLite under ``--path`` or PostgreSQL by ``--database-url``,
safe while servers run), through the same core services the API uses, as root acting for
``--account``/``--user`` — so each does exactly what its API route does, audit row included.
``--json`` prints what the API would answer (one JSON document); without it, a table with a
header row or a one-line summary. Errors are one line on stderr and exit status 2 (1 for "not
found" where a script would branch on it).
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from skald_core import services as core
from skald_core.errors import InvalidArgumentError, NotFoundError, SkaldError
from skald_core.identity import Identity
from skald_core.schemas import DeleteOptions
from skald_core.store.backends import open_store
from skald_core.store.protocol import Store

from . import config as config_mod
from . import single_server
from .progress import Progress

DB_FILENAME = "skald.db"
CLI_PRINCIPAL = "skald command line"


def open_for_maintenance(args: argparse.Namespace) -> Store:
    """The store a maintenance command works on (never lazy: it must reach the database)."""
    cfg = config_mod.load(args.config, {**config_mod.flag_values(args), "host": "127.0.0.1"})
    return open_store(
        path=cfg.path,
        database_url=cfg.database_url,
        database_schema=cfg.database_schema,
        pool_min_size=0,
        pool_max_size=2,
        pool_timeout=cfg.database_pool_timeout,
    )


def _services(args: argparse.Namespace, store: Store) -> core.Services:
    from .app import configured_extractor

    cfg = config_mod.load(args.config, {**config_mod.flag_values(args), "host": "127.0.0.1"})
    return core.build_services(
        store, configured_extractor(cfg), extraction_timeout=cfg.commit_wait_timeout
    )


def _identity(args: argparse.Namespace) -> Identity:
    return Identity(
        account=getattr(args, "account", None) or "default",
        user=getattr(args, "user", None) or "default",
        role="root",
        principal=CLI_PRINCIPAL,
    )


def _json(value: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value), indent=2).decode() + "\n")


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [list(header)] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _run(
    name: str, body: Callable[[argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return body(args)
        except NotFoundError as exc:
            print(f"skald {name}: {exc.message}", file=sys.stderr)
            return 1
        except SkaldError as exc:
            print(f"skald {name}: {exc.message}", file=sys.stderr)
            return 2

    return run


def _with_services(args: argparse.Namespace, work: Callable[[core.Services, Identity], int]) -> int:
    store = open_for_maintenance(args)
    try:
        return work(_services(args, store), _identity(args))
    finally:
        store.close()


# ---------------------------------------------------------------------------- sessions


def _sessions(args: argparse.Namespace) -> int:
    def work(svc: core.Services, who: Identity) -> int:
        action = args.sessions_command
        if action == "ls":
            listed = svc.sessions.list_sessions(
                who,
                limit=args.limit,
                include_deleted=args.include_deleted,
                order=args.order,
            )
            if args.json:
                _json(listed.items())
            else:
                _table(
                    ["SESSION", "MESSAGES", "CREATED", "UPDATED", "DELETED"],
                    [
                        (
                            s.session_id,
                            s.message_count,
                            s.created_at,
                            s.updated_at,
                            s.deleted_at if isinstance(s.deleted_at, str) else "",
                        )
                        for s in listed
                    ],
                )
            return 0
        sid = args.session_id
        if action == "show":
            meta = svc.sessions.get(who, sid)
            if args.json:
                _json(meta)
            else:
                for key, value in msgspec.structs.asdict(meta).items():
                    print(f"{key}: {value}")
            return 0
        if action == "restore":
            meta = svc.deletion.restore(who, sid)
            _json(meta) if args.json else print(f"restored {sid}")
            return 0
        if action == "purge":
            # A trashed session's hard delete purges it; refuse a live one (use rm for that).
            listed = svc.sessions.list_sessions(who, include_deleted=True, limit=None)
            trashed = {s.session_id for s in listed if isinstance(s.deleted_at, str)}
            if sid not in trashed:
                raise NotFoundError(f"No soft-deleted session {sid} (purge empties the trash)")
            options = DeleteOptions(mode="hard")
        else:
            options = DeleteOptions(
                mode="soft" if args.soft else "hard",
                require_committed=args.require_committed,
                commit_first=args.commit_first,
                forget_memories=args.forget_memories,
            )
        receipt = svc.deletion.delete(who, sid, options)
        if args.json:
            _json(receipt)
        else:
            d = receipt.deleted
            print(
                f"{'soft-deleted' if receipt.mode == 'soft' else 'deleted'} {sid}: "
                f"{d.messages} messages, {d.archives} archives, {d.files} files removed; "
                f"{receipt.kept.memories} memories kept"
            )
        return 0

    return _with_services(args, work)


def _duration_days(text: str) -> float:
    """``30d``, ``12h``, ``90m``, ``2w`` or a plain number of days."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhmw]?)\s*", text)
    if not found:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 30d, 12h, 2w)")
    value = float(found.group(1))
    return value * {"": 1, "d": 1, "w": 7, "h": 1 / 24, "m": 1 / 1440}[found.group(2)]


def _cleanup(args: argparse.Namespace) -> int:
    def work(svc: core.Services, who: Identity) -> int:
        options = DeleteOptions(
            mode="soft" if args.soft else "hard", commit_first=args.commit_first
        )
        bar = Progress("cleanup (dry run)" if args.dry_run else "cleanup", force=args.progress)
        try:
            result = svc.deletion.cleanup(
                who,
                older_than_days=args.older_than,
                by=args.by,
                options=options,
                dry_run=args.dry_run,
                progress=lambda done, so_far: bar.step(done, len(so_far.matched)),
            )
            # A dry run previews each session's deletion (the same transaction, rolled back):
            # what it would remove and keep.
            previews: dict[str, str] = {}
            if result.dry_run and not args.json:
                for done, m in enumerate(result.matched):
                    bar(done, len(result.matched))
                    try:
                        r = svc.deletion.preview(who, m.session_id, options)
                    except SkaldError as exc:
                        previews[m.session_id] = f"would fail: {exc.wire_code} {exc.message}"
                        continue
                    previews[m.session_id] = (
                        f"{r.deleted.messages} messages, {r.deleted.archives} archives, "
                        f"{r.deleted.files} files; {r.kept.memories} memories kept"
                    )
                bar(len(result.matched), len(result.matched))
        finally:
            bar.close()
        if args.json:
            _json(result)
            return 0 if not result.failed else 1
        verb = "would delete" if result.dry_run else "deleted"
        count = len(result.matched) if result.dry_run else len(result.deleted)
        print(
            f"{verb} {count} sessions of {who.account}/{who.user} with {result.by} before "
            f"{result.cutoff}"
        )
        for m in result.matched if result.dry_run else []:
            print(f"  {m.session_id}: {previews.get(m.session_id, '')}".rstrip(": "))
        for f in result.failed:
            print(f"  failed {f.session_id}: {f.code} {f.message}", file=sys.stderr)
        return 0 if not result.failed else 1

    return _with_services(args, work)


def _erase_user(args: argparse.Namespace) -> int:
    if not args.yes:
        print(
            f"skald erase-user: this removes everything of {args.account}/{args.user} for good; "
            "add --yes to do it",
            file=sys.stderr,
        )
        return 2

    def work(svc: core.Services, who: Identity) -> int:
        result = svc.deletion.erase_user(who, args.account, args.user)
        if args.json:
            _json(result)
        else:
            counts = ", ".join(
                f"{v} {k}" for k, v in msgspec.structs.asdict(result.deleted).items()
            )
            print(f"erased {args.account}/{args.user}: {counts}")
        return 0

    return _with_services(args, work)


def _audit(args: argparse.Namespace) -> int:
    def work(svc: core.Services, who: Identity) -> int:
        entries = svc.deletion.audit(
            who, account=args.audit_account, limit=args.limit, action=args.action
        )
        if args.json:
            _json(entries)
        else:
            _table(
                ["ID", "AT", "ACTION", "ACCOUNT", "USER", "SESSION", "BY", "COUNTS"],
                [
                    (
                        e.id,
                        e.at,
                        e.action,
                        e.account_id,
                        e.user_id,
                        e.session_id or "",
                        f"{e.actor.account_id}/{e.actor.user_id} ({e.actor.role})",
                        " ".join(f"{k}={v}" for k, v in e.counts.items() if v),
                    )
                    for e in entries
                ],
            )
        return 0

    return _with_services(args, work)


# ---------------------------------------------------------------------------- backup / restore

PG_DUMP_GUIDANCE = """\
skald backup copies a SQLite store. For PostgreSQL use its own tools, which are consistent
while servers run:
  pg_dump --format=custom --file=skald.dump "$SKALD_DATABASE_URL"          # add --schema=NAME if you set database_schema
  pg_restore --clean --if-exists --no-owner --dbname="$SKALD_DATABASE_URL" skald.dump
(or continuous archiving / point-in-time recovery for a store that must lose nothing)."""


def _sqlite_file(args: argparse.Namespace) -> Path:
    cfg = config_mod.load(args.config, {**config_mod.flag_values(args), "host": "127.0.0.1"})
    if cfg.database_url:
        print(PG_DUMP_GUIDANCE, file=sys.stderr)
        raise InvalidArgumentError("the store is PostgreSQL: see above")
    return Path(cfg.path) / DB_FILENAME


def _check_skald_db(path: Path) -> int:
    """The schema version of a Skald SQLite file, after an integrity check; else an error."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("SELECT MAX(version) FROM skald_schema_migrations").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise InvalidArgumentError(f"{path} is not a Skald SQLite store: {exc}") from exc
    if ok != "ok":
        raise InvalidArgumentError(f"{path} fails SQLite's integrity check: {ok}")
    return int(version)


def _copy(src: Path, dest: Path) -> None:
    """SQLite's online backup API: a consistent snapshot of ``src`` (one step, so writers in
    other processes never restart it; in WAL mode they are not blocked meanwhile)."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        target.close()
        source.close()


def _backup(args: argparse.Namespace) -> int:
    src = _sqlite_file(args)
    if not src.exists():
        raise InvalidArgumentError(f"No Skald store at {src}")
    dest = Path(args.dest)
    if dest.exists() and not args.force:
        raise InvalidArgumentError(f"{dest} exists; choose another file or add --force")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".skald-backup-", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _copy(src, tmp)
        version = _check_skald_db(tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    print(f"backed up {src} to {dest} (schema version {version}, {dest.stat().st_size} bytes)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    dest = _sqlite_file(args)
    source = Path(args.source)
    version = _check_skald_db(source)
    # No server may run on the directory meanwhile: hold its serve lock while restoring.
    lock = single_server.acquire(dest.parent)
    try:
        if dest.exists() and not args.force:
            raise InvalidArgumentError(
                f"{dest} exists; add --force to replace it (take a backup of it first)"
            )
        fd, tmp_name = tempfile.mkstemp(prefix=".skald-restore-", dir=dest.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            _copy(source, tmp)
            for suffix in ("-wal", "-shm"):  # the old file's log must not be replayed on the new
                Path(str(dest) + suffix).unlink(missing_ok=True)
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        lock.release()
    print(f"restored {source} into {dest} (schema version {version}); start the server on it")
    return 0


# ---------------------------------------------------------------------------- the parser


def add_commands(sub: Any) -> None:
    def store_parser(parent: Any, name: str, summary: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=summary, description=summary)
        config_mod.add_flags(p, ("store",))
        return p

    def who(p: argparse.ArgumentParser) -> None:
        p.add_argument("--account", default="default", help="the account (default: default)")
        p.add_argument("--user", default="default", help="the user (default: default)")

    def as_json(p: argparse.ArgumentParser) -> None:
        p.add_argument("--json", action="store_true", help="print the API's JSON answer")

    sessions = sub.add_parser(
        "sessions",
        help="list, show, delete, restore and purge sessions",
        description="Sessions of one user, as the API's routes see them (safe while servers run).",
    )
    ssub = sessions.add_subparsers(dest="sessions_command", required=True, metavar="ACTION")
    ls = store_parser(ssub, "ls", "list a user's sessions, newest first")
    who(ls)
    as_json(ls)
    ls.add_argument("--limit", type=int, help="at most this many (1-1000; default: all)")
    ls.add_argument("--include-deleted", action="store_true", help="also soft-deleted sessions")
    ls.add_argument("--order", choices=["desc", "asc"], default="desc", help="by creation")
    for name, summary in (
        ("show", "a session's meta (counts, commits, memories extracted)"),
        ("rm", "delete a session (hard by default: its messages and archives go, memories stay)"),
        ("restore", "bring a soft-deleted session back"),
        ("purge", "delete a soft-deleted session for good"),
    ):
        p = store_parser(ssub, name, summary)
        who(p)
        as_json(p)
        p.add_argument("session_id", help="the session's id")
        if name == "rm":
            p.add_argument("--soft", action="store_true", help="into the trash (restorable)")
            p.add_argument(
                "--require-committed",
                action="store_true",
                help="refuse while there are messages never committed",
            )
            p.add_argument(
                "--commit-first",
                action="store_true",
                help="commit and wait for extraction, then delete",
            )
            p.add_argument(
                "--forget-memories",
                action="store_true",
                help="also delete memories only this session supports (hard only)",
            )
    for p in ssub.choices.values():
        p.set_defaults(func=_run("sessions", _sessions))

    cleanup = store_parser(sub, "cleanup", "delete a user's sessions older than a cutoff")
    who(cleanup)
    as_json(cleanup)
    cleanup.add_argument(
        "--older-than",
        type=_duration_days,
        required=True,
        help="age: 30d, 12h, 2w, or a number of days",
    )
    cleanup.add_argument(
        "--by",
        choices=["created_at", "updated_at"],
        default="created_at",
        help="which age (default created_at; updated_at: last activity)",
    )
    cleanup.add_argument(
        "--dry-run",
        action="store_true",
        help="only list what would go, with what each deletion would remove and keep",
    )
    cleanup.add_argument(
        "--progress",
        action="store_true",
        help="draw the progress bar on stderr even when it is not a terminal (on a terminal "
        "it is drawn anyway)",
    )
    cleanup.add_argument("--soft", action="store_true", help="into the trash instead")
    cleanup.add_argument(
        "--commit-first", action="store_true", help="commit and extract each one first"
    )
    cleanup.set_defaults(func=_run("cleanup", _cleanup))

    erase = store_parser(sub, "erase-user", "erase everything of one user, for good")
    erase.add_argument("--account", required=True, help="the user's account")
    erase.add_argument("--user", required=True, help="the user to erase")
    erase.add_argument("--yes", action="store_true", help="really do it (nothing is asked)")
    as_json(erase)
    erase.set_defaults(func=_run("erase-user", _erase_user))

    audit = store_parser(sub, "audit", "the audit log of deletions and erasures, newest first")
    audit.add_argument("--account", dest="audit_account", help="only this account")
    audit.add_argument("--action", help="only this action (delete, soft_delete, erase_user, ...)")
    audit.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    as_json(audit)
    audit.set_defaults(func=_run("audit", _audit))

    backup = store_parser(
        sub,
        "backup",
        "a consistent copy of the SQLite store, safe while the server runs (PostgreSQL: "
        "pg_dump, see the message)",
    )
    backup.add_argument("dest", metavar="FILE", help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="overwrite FILE")
    backup.set_defaults(func=_run("backup", _backup))

    restore = store_parser(
        sub,
        "restore",
        "replace the SQLite store under --path with a backup (no server may run on it)",
    )
    restore.add_argument("source", metavar="FILE", help="a file written by skald backup")
    restore.add_argument("--force", action="store_true", help="replace an existing store")
    restore.set_defaults(func=_run("restore", _restore))
