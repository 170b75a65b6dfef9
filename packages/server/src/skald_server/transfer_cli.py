"""``skald export`` and ``skald import``: a user's (or one session's) data as NDJSON, in the
``skald-export`` format (``skald_core.export_format``, ``docs/export-format.md``), from and
into either backend (SQLite under ``--path``, PostgreSQL by ``--database-url``)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

from skald_core import __version__, clock, ids
from skald_core.export_format import FORMAT, VERSION, Header, read, writer
from skald_core.store.model import Owner

from . import config as config_mod
from .operator_cli import _identity, _run, open_for_maintenance


def _export(args: argparse.Namespace) -> int:
    owner = Owner(ids.check_id(args.account, "account"), ids.check_id(args.user, "user"))
    session_id = ids.check_id(args.session, "session") if args.session else None
    header = Header(
        format=FORMAT,
        version=VERSION,
        skald=__version__,
        exported_at=clock.iso_ms(clock.now()),
        account=owner.account,
        user=owner.user,
        session_id=session_id,
    )
    store = open_for_maintenance(args)
    try:
        if args.output in (None, "-"):
            _write(store, owner, session_id, header, sys.stdout.buffer)
            sys.stdout.flush()
            return 0
        dest = Path(args.output)
        if dest.exists() and not args.force:
            print(f"skald export: {dest} exists; add --force to replace it", file=sys.stderr)
            return 2
        # Written beside the destination and renamed: a failed export leaves no half file.
        fd, tmp = tempfile.mkstemp(dir=dest.parent or ".", prefix=".skald-export-")
        try:
            with os.fdopen(fd, "wb") as out:
                counts = _write(store, owner, session_id, header, out)
            os.replace(tmp, dest)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "nothing"
        what = f"session {session_id} of " if session_id else ""
        print(f"exported {what}{owner.account}/{owner.user} to {dest}: {summary}")
        return 0
    finally:
        store.close()


def _write(
    store: Any, owner: Owner, session_id: str | None, header: Header, out: IO[bytes]
) -> dict[str, int]:
    emit, finish = writer(out, header)
    store.export_records(owner, session_id, emit)
    return finish()


def _import(args: argparse.Namespace) -> int:
    if args.source == "-":
        header, records = read(sys.stdin.buffer)
    else:
        try:
            with open(args.source, "rb") as src:
                header, records = read(src)
        except OSError as exc:
            print(f"skald import: cannot read {args.source}: {exc.strerror}", file=sys.stderr)
            return 2
    owner = Owner(header.account, header.user)
    who = _identity(argparse.Namespace(account=owner.account, user=owner.user))
    store = open_for_maintenance(args)
    try:
        counts = store.import_records(
            owner, records, clock.now(), actor=who, new_task_id=ids.new_task_id
        )
    finally:
        store.close()
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing"
    print(f"imported into {owner.account}/{owner.user}: {summary}")
    return 0


def add_commands(sub: Any) -> None:
    summary = (
        "write a user's (or one session's) sessions, messages, archives, memories and files "
        f"as NDJSON ({FORMAT} version {VERSION})"
    )
    export = sub.add_parser("export", help=summary, description=summary + ".")
    config_mod.add_flags(export, ("store",))
    export.add_argument("--account", default="default", help="the account (default: default)")
    export.add_argument("--user", default="default", help="the user (default: default)")
    export.add_argument(
        "--session",
        metavar="ID",
        help="only this session (live or trashed) and the memories it supports",
    )
    export.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE (default: standard output)"
    )
    export.add_argument("--force", action="store_true", help="replace an existing FILE")
    export.set_defaults(func=_run("export", _export))

    summary = (
        "read a file written by skald export into this store, all or nothing (into the "
        "account and user named in its header)"
    )
    imp = sub.add_parser("import", help=summary, description=summary + ".")
    config_mod.add_flags(imp, ("store",))
    imp.add_argument("source", metavar="FILE", help="the export file ('-': standard input)")
    imp.set_defaults(func=_run("import", _import))
